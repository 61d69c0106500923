// The chat server of these tests: the real local relay of `chatseal-relay` (run.sh
// starts it; CHATSEAL_TEST_DIRECTORY is its URL), reached through a recording proxy so a test
// can see every request a client sent and make one fail. The proxy knows nothing of Stream's
// protocol: it copies bytes, and keeps a copy of each HTTP request.
import { createServer, request as httpRequest } from "node:http";
import { connect } from "node:net";
import * as backend from "../demo-backend.js";

const base = () => {
  const url = process.env.CHATSEAL_TEST_DIRECTORY;
  if (!url) throw new Error("CHATSEAL_TEST_DIRECTORY is not set: run the tests with run.sh");
  return url;
};

/** A demo session token for `identity`. */
export const sessionToken = (identity) => backend.sessionToken(base(), identity);

/** `{ apiKey, token, user, baseUrl }` from the demo backend, as an app gets them. */
export const streamCredentials = (identity) => backend.streamCredentials(base(), identity);

export async function startRelay() {
  const upstream = new URL(base());
  /** Every request, in order: `{ method, path, query, body, raw }`. */
  const requests = [];
  const failures = []; // { method, path: RegExp } answered 500 once
  const sockets = new Set();

  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const url = new URL(req.url, "http://proxy");
      let body = null;
      try {
        body = raw.length ? JSON.parse(raw.toString("utf8")) : null;
      } catch {
        body = null;
      }
      if (req.method !== "OPTIONS") {
        requests.push({ method: req.method, path: url.pathname, query: url.searchParams, body, raw: raw.toString("utf8") });
      }
      const failure = failures.findIndex((f) => f.method === req.method && f.path.test(url.pathname));
      if (failure >= 0) {
        failures.splice(failure, 1);
        res.writeHead(500, { "content-type": "application/json", "access-control-allow-origin": "*" });
        res.end(JSON.stringify({ code: -1, message: "test proxy: failing on purpose", StatusCode: 500 }));
        return;
      }
      const headers = { ...req.headers, host: upstream.host };
      const forward = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
        (answer) => {
          res.writeHead(answer.statusCode, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on("error", (e) => {
        res.writeHead(502).end(String(e));
      });
      forward.end(raw);
    });
  });
  // WebSocket upgrades: a byte pipe to the relay.
  server.on("upgrade", (req, socket, head) => {
    const out = connect(Number(upstream.port), upstream.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i];
        lines.push(`${name}: ${name.toLowerCase() === "host" ? upstream.host : req.rawHeaders[i + 1]}`);
      }
      out.write(lines.join("\r\n") + "\r\n\r\n");
      if (head.length) out.write(head);
      socket.pipe(out).pipe(socket);
    });
    sockets.add(socket).add(out);
    const done = () => {
      socket.destroy();
      out.destroy();
      sockets.delete(socket);
      sockets.delete(out);
    };
    socket.on("error", done).on("close", done);
    out.on("error", done).on("close", done);
  });

  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  const stored = async (cid) => {
    const [type, id] = cid.split(":");
    const r = await fetch(`${base()}/v1/relay/channels/${type}/${encodeURIComponent(id)}/stored`, {
      headers: { authorization: `Bearer ${await sessionToken("test-inspector")}` },
    });
    if (r.status === 404) return { messages: [], drafts: [] };
    if (!r.ok) throw new Error(`stored ${cid}: HTTP ${r.status}`);
    return r.json();
  };

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    /** The messages the relay's database holds for `cid`, oldest first. */
    messages: async (cid) => (await stored(cid)).messages,
    /** The drafts the relay's database holds for `cid`. */
    drafts: async (cid) => (await stored(cid)).drafts,
    /** Sends `text` into `cid` as `userId` (a member), as a hostile server could store it. */
    async inject(cid, userId, text) {
      const [type, id] = cid.split(":");
      const { token } = await streamCredentials(userId);
      const r = await fetch(`${base()}/channels/${type}/${encodeURIComponent(id)}/message`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: token, "stream-auth-type": "jwt" },
        body: JSON.stringify({ message: { text } }),
      });
      if (!r.ok) throw new Error(`inject: HTTP ${r.status} ${await r.text()}`);
      return (await r.json()).message;
    },
    /** The next `method` request whose path matches `path` gets a 500. */
    failNext(method, path) {
      failures.push({ method, path });
    },
    /** Everything a client sent, as text (bodies and query strings), to search for plaintext. */
    everythingSent: () => requests.map((r) => `${r.method} ${r.path}?${r.query} ${r.raw}`).join("\n"),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}
