// What the chatseal/matrix tests share: the homeserver and directory that run.sh started,
// logged-in matrix-js-sdk clients, registered seals, and waiting for what a sync brings.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ChatSeal } from "chatseal";
import { ClientEvent, createClient } from "matrix-js-sdk";
import loglevel from "loglevel";
import { tokenGetter as directoryTokenGetter } from "../demo-backend.js";

// matrix-js-sdk logs through loglevel, one logger per module: all of them quiet.
for (const log of Object.values(loglevel.getLoggers())) log.setLevel("silent", false);

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests with tests/js/matrix/run.sh`);
  return value;
}

export const homeserver = env("MATRIX_TEST_HOMESERVER");
export const directory = env("CHATSEAL_TEST_DIRECTORY");
export const database = env("MATRIX_TEST_DB");
const password = env("MATRIX_TEST_PASSWORD");

/** The Matrix user id of a user run.sh registered (alice, bob, carol, dave, erin). */
export const userId = (name) => `@${name}:localhost`;

/** The directory token for `identity` (the demo backend's two steps). */
export const tokenGetter = (identity) => directoryTokenGetter(directory, identity);

/** An open ChatSeal for a Matrix user (keys in memory), registered unless told not to. */
export async function openSeal(name, { register = true } = {}) {
  const identity = userId(name);
  const seal = await ChatSeal.open({ identity, directoryUrl: directory, getToken: tokenGetter(identity), storage: "memory" });
  if (register) await seal.register();
  return seal;
}

/** Logs `name` in with the password (a new device each time): `{ userId, accessToken, deviceId }`. */
export async function login(name) {
  const response = await createClient({ baseUrl: homeserver }).loginRequest({
    type: "m.login.password",
    identifier: { type: "m.id.user", user: name },
    password,
  });
  return { userId: response.user_id, accessToken: response.access_token, deviceId: response.device_id };
}

/** A started client (no Matrix E2EE), resolved once its first sync is done. */
export async function startClient(credentials) {
  const client = createClient({ baseUrl: homeserver, ...credentials });
  const prepared = new Promise((resolve, reject) => {
    const onSync = (state) => {
      if (state === "PREPARED" || state === "SYNCING") {
        client.off(ClientEvent.Sync, onSync);
        resolve();
      } else if (state === "ERROR") reject(new Error("the first sync failed"));
    };
    client.on(ClientEvent.Sync, onSync);
  });
  await client.startClient({ initialSyncLimit: 5 });
  await prepared;
  return client;
}

/** Polls `check()` until it returns something truthy (or throws after `ms`). */
export async function waitFor(check, { ms = 10_000, what = "the condition" } = {}) {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until `client` sees `members` joined in `roomId`. */
export function waitForJoined(client, roomId, members) {
  return waitFor(
    () => {
      const joined = client.getRoom(roomId)?.getJoinedMembers().map((m) => m.userId) ?? [];
      return members.every((id) => joined.includes(id));
    },
    { what: `${members.join(", ")} to be joined in ${roomId}` },
  );
}

/** Waits until `client`'s copy of `roomId` has the event `eventId` (from sync). */
export function waitForEvent(client, roomId, eventId) {
  return waitFor(() => client.getRoom(roomId)?.findEventById(eventId), { what: `event ${eventId}` });
}

/** Sends an event as `credentials` straight through the client-server API (no chatseal). */
export async function sendRaw(credentials, roomId, content) {
  const txn = `raw-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const r = await fetch(
    `${homeserver}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txn}`,
    {
      method: "PUT",
      headers: { "content-type": "application/json", authorization: `Bearer ${credentials.accessToken}` },
      body: JSON.stringify(content),
    },
  );
  if (!r.ok) throw new Error(`send: HTTP ${r.status} ${await r.text()}`);
  return (await r.json()).event_id;
}

/** The content of every `m.room.message` event in the homeserver's database (`event_json`). */
export function storedMessages() {
  const script = `
import json, sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
rows = db.execute("SELECT e.event_id, e.room_id, j.json FROM events e JOIN event_json j USING (event_id) WHERE e.type = 'm.room.message'")
print(json.dumps([{"event_id": r[0], "room_id": r[1], "event": json.loads(r[2])} for r in rows]))
`;
  return JSON.parse(execFileSync("python3", ["-c", script, database], { encoding: "utf8" }));
}

/** Every file under `dir` (the database, its WAL, the media store, the logs), recursively. */
export function filesUnder(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** The files under `dir` whose raw bytes contain `text` (as UTF-8). */
export function filesContaining(dir, text) {
  const needle = Buffer.from(text, "utf8");
  return filesUnder(dir).filter((path) => readFileSync(path).includes(needle));
}

/** A plaintext no other test uses (so a hit in the database is this test's). */
export function secret(words) {
  return `${words} ${Math.random().toString(36).slice(2, 10)}`;
}
