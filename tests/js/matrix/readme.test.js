// The README's chatseal/matrix example (README.md, the marked block), run as it is written: frank's
// client runs it in a room he shares with grace, who reads his message with her own seal.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { test } from "node:test";
import { ChatSeal, isEncrypted } from "chatseal";
import { encryptMessages, onDecryptedTimeline, decryptEvent } from "chatseal/matrix";
import { Preset, createClient } from "matrix-js-sdk";
import {
  database,
  directory,
  filesContaining,
  homeserver,
  login,
  openSeal,
  startClient,
  storedMessages,
  tokenGetter,
  userId,
  waitFor,
  waitForJoined,
} from "./harness.js";

const MARK = "<!-- tests/js/matrix/readme.test.js runs the next code block";

/** The example's code, without its imports (the test passes those names in). */
function example() {
  const text = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
  const after = text.slice(text.indexOf(MARK));
  const code = /```js\n([\s\S]*?)```/.exec(after)?.[1];
  assert.ok(text.includes(MARK) && code, "README.md has the marked chatseal/matrix example");
  assert.ok(code.split("\n").length <= 25, "the example fits in 25 lines");
  return code
    .split("\n")
    .filter((line) => !line.startsWith("import "))
    .join("\n");
}

test("the README example sends ciphertext that a room member reads", async () => {
  const FRANK = userId("frank");
  const grace = await startClient(await login("grace"));
  const graceSeal = await openSeal("grace");
  const frankSetup = await startClient(await login("frank"));
  let frank;
  try {
    const { room_id: roomId } = await grace.createRoom({ preset: Preset.PrivateChat, invite: [FRANK] });
    await waitFor(() => frankSetup.getRoom(roomId), { what: "frank's invite" });
    await frankSetup.joinRoom(roomId);
    await waitForJoined(grace, roomId, [FRANK, userId("grace")]);
    frankSetup.stopClient();

    const shown = [];
    const names = ["ChatSeal", "encryptMessages", "onDecryptedTimeline", "createClient"];
    const given = ["baseUrl", "userId", "accessToken", "deviceId", "directoryUrl", "getToken", "roomId", "show"];
    const AsyncFunction = (async () => {}).constructor;
    const run = new AsyncFunction(...names, ...given, `${example()}\nreturn { client, seal };`);
    const credentials = await login("frank");
    frank = await run(
      ChatSeal,
      encryptMessages,
      onDecryptedTimeline,
      createClient,
      homeserver,
      credentials.userId,
      credentials.accessToken,
      credentials.deviceId,
      directory,
      tokenGetter(credentials.userId),
      roomId,
      (room, sender, text) => shown.push({ room, sender, text }),
    );

    const plaintext = "Lab results are in: see you at 11";
    // frank's own client shows his message decrypted (local echo, then the server's copy).
    await waitFor(() => shown.some((s) => s.room === roomId && s.sender === FRANK && s.text === plaintext), {
      what: "frank's client to show his message",
    });
    // grace reads it with her own keys.
    const event = await waitFor(
      () => grace.getRoom(roomId)?.getLiveTimeline().getEvents().find((e) => e.getType() === "m.room.message"),
      { what: "grace to receive the message" },
    );
    assert.ok(isEncrypted(event.getOriginalContent().body));
    const read = await decryptEvent(graceSeal, event);
    assert.deepEqual([read.status, read.text, read.sender], ["ok", plaintext, FRANK]);
    // What Synapse stored is ciphertext only.
    const stored = storedMessages().filter((m) => m.room_id === roomId);
    assert.equal(stored.length, 1);
    assert.ok(isEncrypted(stored[0].event.content.body));
    assert.deepEqual(filesContaining(dirname(dirname(database)), plaintext), []);
  } finally {
    frank?.client.stopClient();
    frankSetup.stopClient();
    grace.stopClient();
  }
});
