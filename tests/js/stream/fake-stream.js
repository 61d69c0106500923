// A small local stand-in for the part of Stream Chat's REST + WebSocket API that
// stream-chat 9 and stream-chat-react 14 use in these tests (test-only; never shipped).
// It keeps what clients send — messages, drafts, link-preview lookups — so that a test
// can look at exactly what a Stream server would have stored or seen.
import { createServer } from "node:http";
import { randomUUID } from "node:crypto";
import { WebSocketServer } from "ws";

const now = () => new Date().toISOString();

// The channel-type configuration the server announces. `url_enrichment` is on so that a
// composer with link previews enabled really would ask `/og` (see the leak tests).
const CHANNEL_CONFIG = {
  name: "messaging",
  typing_events: true,
  read_events: true,
  connect_events: true,
  reactions: true,
  replies: true,
  quotes: true,
  uploads: true,
  url_enrichment: true,
  custom_events: true,
  mutes: true,
  push_notifications: false,
  shared_locations: false,
  polls: false,
  message_retention: "infinite",
  max_message_length: 5000,
  automod: "disabled",
  automod_behavior: "flag",
  commands: [],
};

const CAPABILITIES = [
  "read-events",
  "send-message",
  "send-reply",
  "quote-message",
  "update-own-message",
  "delete-own-message",
  "send-reaction",
  "send-typing-events",
  "typing-events",
  "upload-file",
  "send-links",
  "pin-message",
  "flag-message",
  "mute-channel",
];

function userFromToken(token) {
  // Dev tokens (client.devToken) are `header.payload.devtoken`: the payload names the user.
  try {
    const payload = String(token).split(".")[1];
    const json = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    return typeof json.user_id === "string" ? json.user_id : null;
  } catch {
    return null;
  }
}

export async function startFakeStream() {
  const users = new Map(); // id -> { id, name }
  const channels = new Map(); // cid -> { type, id, members: [ids], messages: [], drafts: Map }
  /** Every request, in order: `{ method, path, query, body, user }`. */
  const requests = [];
  /** Requests the fake did not know (answered 404). */
  const unknown = [];
  const sockets = new Set(); // { ws, user, connectionId }
  const failures = []; // { method, path: RegExp } answered 500 once

  const userObject = (id) => users.get(id) ?? { id, name: id };

  function channelOf(type, id, create) {
    const cid = `${type}:${id}`;
    let ch = channels.get(cid);
    if (!ch && create) {
      ch = { type, id, cid, members: [], messages: [], drafts: new Map(), created_at: now() };
      channels.set(cid, ch);
    }
    return ch;
  }

  function channelResponse(ch, me) {
    return {
      channel: {
        id: ch.id,
        type: ch.type,
        cid: ch.cid,
        created_at: ch.created_at,
        updated_at: ch.created_at,
        created_by: userObject(ch.members[0] ?? me),
        frozen: false,
        disabled: false,
        member_count: ch.members.length,
        config: CHANNEL_CONFIG,
        own_capabilities: CAPABILITIES,
        last_message_at: ch.messages.length ? ch.messages[ch.messages.length - 1].created_at : undefined,
      },
      members: ch.members.map((uid) => ({
        user_id: uid,
        user: userObject(uid),
        role: "member",
        channel_role: "channel_member",
        created_at: ch.created_at,
        updated_at: ch.created_at,
      })),
      messages: ch.messages.filter((m) => !m.parent_id).map((m) => ({ ...m })),
      pinned_messages: [],
      read: [],
      watchers: [],
      watcher_count: 0,
      duration: "1ms",
    };
  }

  function messageResponse(ch, input, user, previous) {
    const at = now();
    const quoted = input.quoted_message_id
      ? ch.messages.find((m) => m.id === input.quoted_message_id)
      : undefined;
    return {
      ...(previous ?? {}),
      id: input.id ?? previous?.id ?? randomUUID(),
      text: input.text ?? "",
      html: input.text ? `<p>${input.text}</p>\n` : "",
      type: "regular",
      cid: ch.cid,
      user: userObject(user),
      attachments: input.attachments ?? [],
      mentioned_users: (input.mentioned_users ?? []).map((u) => userObject(typeof u === "string" ? u : u.id)),
      latest_reactions: [],
      own_reactions: [],
      reaction_counts: {},
      reaction_scores: {},
      reply_count: 0,
      silent: false,
      pinned: false,
      parent_id: input.parent_id,
      quoted_message_id: input.quoted_message_id,
      quoted_message: quoted ? { ...quoted, quoted_message: undefined } : undefined,
      created_at: previous?.created_at ?? at,
      updated_at: at,
      message_text_updated_at: previous ? at : undefined,
    };
  }

  function broadcast(ch, event) {
    const data = JSON.stringify({ cid: ch.cid, channel_id: ch.id, channel_type: ch.type, created_at: now(), ...event });
    for (const s of sockets) {
      if (ch.members.includes(s.user) && s.ws.readyState === 1) s.ws.send(data);
    }
  }

  const routes = [
    // queryChannels
    ["POST", /^\/channels$/, ({ body, user }) => {
      const list = [...channels.values()].filter((ch) => ch.members.includes(user));
      return { channels: list.map((ch) => channelResponse(ch, user)), duration: "1ms" };
    }],
    // channel.watch() / channel.query() / channel.create()
    ["POST", /^\/channels\/([^/]+)\/([^/]+)\/query$/, ({ m, body, user }) => {
      const ch = channelOf(m[1], m[2], true);
      for (const uid of body?.data?.members ?? []) {
        const id = typeof uid === "string" ? uid : uid.user_id;
        if (!ch.members.includes(id)) ch.members.push(id);
      }
      if (!ch.members.includes(user)) ch.members.push(user);
      return channelResponse(ch, user);
    }],
    ["POST", /^\/channels\/([^/]+)\/([^/]+)\/message$/, ({ m, body, user }) => {
      const ch = channelOf(m[1], m[2], false);
      if (!ch) return [404, { code: 16, message: "channel not found" }];
      if (ch.messages.some((x) => x.id === body.message.id)) {
        return [400, { code: 4, message: `a message with ID ${body.message.id} already exists` }];
      }
      const message = messageResponse(ch, body.message, user);
      ch.messages.push(message);
      const parent = message.parent_id && ch.messages.find((x) => x.id === message.parent_id);
      if (parent) parent.reply_count = ch.messages.filter((x) => x.parent_id === parent.id).length;
      broadcast(ch, { type: "message.new", message, user: userObject(user) });
      return { message, duration: "1ms" };
    }],
    // client.updateMessage
    ["POST", /^\/messages\/([^/]+)$/, ({ m, body, user }) => {
      for (const ch of channels.values()) {
        const i = ch.messages.findIndex((x) => x.id === m[1]);
        if (i < 0) continue;
        const message = messageResponse(ch, { ...body.message, id: m[1] }, ch.messages[i].user.id, ch.messages[i]);
        ch.messages[i] = message;
        broadcast(ch, { type: "message.updated", message, user: userObject(user) });
        return { message, duration: "1ms" };
      }
      return [404, { code: 16, message: "message not found" }];
    }],
    // thread replies
    ["GET", /^\/messages\/([^/]+)\/replies$/, ({ m }) => {
      for (const ch of channels.values()) {
        if (ch.messages.some((x) => x.id === m[1])) {
          return { messages: ch.messages.filter((x) => x.parent_id === m[1]), duration: "1ms" };
        }
      }
      return [404, { code: 16, message: "message not found" }];
    }],
    ["GET", /^\/messages\/([^/]+)$/, ({ m }) => {
      for (const ch of channels.values()) {
        const found = ch.messages.find((x) => x.id === m[1]);
        if (found) return { message: found, duration: "1ms" };
      }
      return [404, { code: 16, message: "message not found" }];
    }],
    // drafts
    ["POST", /^\/channels\/([^/]+)\/([^/]+)\/draft$/, ({ m, body, user }) => {
      const ch = channelOf(m[1], m[2], true);
      const draft = { channel_cid: ch.cid, created_at: now(), message: body.message, parent_id: body.message?.parent_id };
      ch.drafts.set(user, draft);
      return { draft, duration: "1ms" };
    }],
    ["GET", /^\/channels\/([^/]+)\/([^/]+)\/draft$/, ({ m, user }) => {
      const ch = channelOf(m[1], m[2], false);
      const draft = ch?.drafts.get(user);
      return draft ? { draft, duration: "1ms" } : [404, { code: 16, message: "draft not found" }];
    }],
    ["DELETE", /^\/channels\/([^/]+)\/([^/]+)\/draft$/, ({ m, user }) => {
      channelOf(m[1], m[2], false)?.drafts.delete(user);
      return { duration: "1ms" };
    }],
    // link previews (server-side scraping of a URL typed in the composer)
    ["GET", /^\/og$/, ({ query }) => ({
      og_scrape_url: query.get("url"),
      title: "A page",
      text: "scraped",
      type: "article",
      duration: "1ms",
    })],
    // uploads (the bytes are not kept; the test only needs to know one happened)
    ["POST", /^\/channels\/([^/]+)\/([^/]+)\/(file|image)$/, ({ m }) => ({
      file: `http://files.invalid/${randomUUID()}`,
      duration: "1ms",
    })],
    // app settings (read before an upload, for the allowed file types)
    ["GET", /^\/app$/, () => ({
      app: { name: "fake", file_upload_config: {}, image_upload_config: {} },
      duration: "1ms",
    })],
    ["POST", /^\/channels\/([^/]+)\/([^/]+)\/read$/, ({ user }) => ({
      event: { type: "message.read", user: userObject(user), created_at: now() },
      duration: "1ms",
    })],
    ["POST", /^\/channels\/([^/]+)\/([^/]+)\/event$/, ({ body, user }) => ({
      event: { ...(body?.event ?? {}), user: userObject(user), created_at: now() },
      duration: "1ms",
    })],
    ["POST", /^\/channels\/([^/]+)\/([^/]+)\/stop-watching$/, () => ({ duration: "1ms" })],
  ];

  function readBody(req) {
    return new Promise((resolve) => {
      const chunks = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => resolve(Buffer.concat(chunks)));
    });
  }

  const server = createServer(async (req, res) => {
    const url = new URL(req.url, "http://fake");
    const raw = await readBody(req);
    let body = null;
    if ((req.headers["content-type"] || "").includes("application/json") && raw.length) {
      try {
        body = JSON.parse(raw.toString("utf8"));
      } catch {
        body = null;
      }
    }
    const user = userFromToken(req.headers.authorization);
    const entry = { method: req.method, path: url.pathname, query: url.searchParams, body, raw: raw.toString("utf8"), user };
    if (req.method !== "OPTIONS") requests.push(entry); // (jsdom's XHR sends CORS preflights)
    res.setHeader("access-control-allow-origin", "*");
    res.setHeader("access-control-allow-headers", "*");
    res.setHeader("access-control-allow-methods", "GET,POST,PUT,PATCH,DELETE,OPTIONS");
    if (req.method === "OPTIONS") {
      res.writeHead(204).end();
      return;
    }
    const failure = failures.findIndex((f) => f.method === req.method && f.path.test(url.pathname));
    if (failure >= 0) {
      failures.splice(failure, 1);
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ code: -1, message: "fake stream server: failing on purpose", StatusCode: 500 }));
      return;
    }
    let status = 404;
    let out = { code: 4, message: `fake stream server: no route for ${req.method} ${url.pathname}`, StatusCode: 404 };
    const route = routes.find(([method, re]) => method === req.method && re.test(url.pathname));
    if (route) {
      if (!user) {
        status = 401;
        out = { code: 5, message: "no token", StatusCode: 401 };
      } else {
        const result = route[2]({ m: url.pathname.match(route[1]), body, query: url.searchParams, user });
        [status, out] = Array.isArray(result) ? result : [200, result];
        if (status !== 200) out = { StatusCode: status, ...out };
      }
    } else {
      unknown.push(`${req.method} ${url.pathname}`);
    }
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(out));
  });

  const wss = new WebSocketServer({ noServer: true });
  server.on("upgrade", (req, socket, head) => {
    const url = new URL(req.url, "http://fake");
    if (url.pathname !== "/connect") {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      let payload = {};
      try {
        payload = JSON.parse(url.searchParams.get("json") || "{}");
      } catch {
        payload = {};
      }
      const user = userFromToken(url.searchParams.get("authorization"));
      if (!user || user !== payload.user_id) {
        ws.send(JSON.stringify({ error: { code: 5, message: "bad token", StatusCode: 401 } }));
        ws.close(1000, "bad token");
        return;
      }
      users.set(user, { id: user, name: payload.user_details?.name ?? user });
      const entry = { ws, user, connectionId: randomUUID() };
      sockets.add(entry);
      ws.on("close", () => sockets.delete(entry));
      ws.on("message", () => {
        // the client's health-check ping: answer like Stream does
        if (ws.readyState === 1) ws.send(JSON.stringify({ type: "health.check", connection_id: entry.connectionId, created_at: now() }));
      });
      ws.send(
        JSON.stringify({
          type: "health.check",
          connection_id: entry.connectionId,
          cid: "*",
          created_at: now(),
          me: {
            id: user,
            name: users.get(user).name,
            role: "user",
            created_at: now(),
            updated_at: now(),
            banned: false,
            online: true,
            devices: [],
            mutes: [],
            channel_mutes: [],
            unread_count: 0,
            total_unread_count: 0,
            unread_channels: 0,
            invisible: false,
          },
        }),
      );
    });
  });

  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    unknown,
    /** The messages stored for `cid`, as the server keeps them. */
    messages: (cid) => channels.get(cid)?.messages ?? [],
    drafts: (cid) => [...(channels.get(cid)?.drafts.values() ?? [])],
    /** Stores and delivers a message as the server would (what a malicious server can do). */
    inject(cid, userId, text) {
      const ch = channels.get(cid);
      const message = messageResponse(ch, { id: randomUUID(), text }, userId);
      ch.messages.push(message);
      broadcast(ch, { type: "message.new", message, user: userObject(userId) });
      return message;
    },
    /** The next `method` request whose path matches `path` gets a 500. */
    failNext(method, path) {
      failures.push({ method, path });
    },
    /** Everything a client sent, as text (bodies and query strings), to search for plaintext. */
    everythingSent: () => requests.map((r) => `${r.method} ${r.path}?${r.query} ${r.raw}`).join("\n"),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.ws.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}
