// chatseal/matrix end to end: matrix-js-sdk 36.2.0 clients of a real Synapse (run.sh), a
// real chatseal-server directory, the built package. The tests run in order and share the
// users' clients and seals; each room is made by the test that needs it.
import assert from "node:assert/strict";
import { basename, dirname } from "node:path";
import { after, before, describe, test } from "node:test";
import { ChatSealError, isEncrypted } from "chatseal";
import { MARKER, decryptEvent, decryptTimeline, encryptMessages, onDecryptedTimeline } from "chatseal/matrix";
import { EventType, MatrixEvent, MsgType, Preset, createClient } from "matrix-js-sdk";
import {
  database,
  filesContaining,
  filesUnder,
  homeserver,
  login,
  openSeal,
  secret,
  sendRaw,
  startClient,
  storedMessages,
  userId,
  waitFor,
  waitForEvent,
  waitForJoined,
} from "./harness.js";

const ALICE = userId("alice");
const BOB = userId("bob");
const DAVE = userId("dave");

/** Every plaintext a test sent or edited in: none may reach the homeserver. */
const plaintexts = [];
function says(words) {
  const text = secret(words);
  plaintexts.push(text);
  return text;
}

/** One user: credentials, a started client that encrypts its sends, a seal, what it read. */
async function user(name, { seal } = {}) {
  const credentials = await login(name);
  const client = await startClient(credentials);
  seal ??= await openSeal(name);
  const stop = encryptMessages(client, seal);
  const read = new Map(); // event id → onDecryptedTimeline's message
  const stopListening = onDecryptedTimeline(client, seal, (message) => read.set(message.eventId, message));
  return {
    name,
    id: credentials.userId,
    credentials,
    client,
    seal,
    read,
    /** Waits until this user's timeline listener has decrypted `eventId`. */
    sees: (eventId) => waitFor(() => read.get(eventId), { what: `${name} to read ${eventId}` }),
    close() {
      stopListening();
      stop();
      client.stopClient();
    },
  };
}

/** A private room of `owner` with `members` invited and joined. */
async function room(owner, members) {
  const { room_id: roomId } = await owner.client.createRoom({
    preset: Preset.PrivateChat,
    invite: members.map((m) => m.id),
  });
  for (const member of members) {
    await waitFor(() => member.client.getRoom(roomId), { what: `${member.name}'s invite` });
    await member.client.joinRoom(roomId);
  }
  const everyone = [owner, ...members];
  for (const u of everyone) await waitForJoined(u.client, roomId, everyone.map((m) => m.id));
  return roomId;
}

function assertSealed(content) {
  assert.ok(isEncrypted(content.body), `body is ciphertext: ${content.body}`);
  assert.equal(content[MARKER], 1);
  assert.equal(content.format, "org.matrix.custom.html");
  assert.equal(content.formatted_body, "🔒 encrypted with chatseal");
}

let alice;
let bob;
let shared; // alice and bob's room

before(async () => {
  [alice, bob] = await Promise.all([user("alice"), user("bob")]);
  shared = await room(alice, [bob]);
});

after(() => {
  alice?.close();
  bob?.close();
});

describe("chatseal/matrix with matrix-js-sdk 36 and Synapse", () => {
  test("messages both ways: each side sends csp2. ciphertext (a room of two: PROTOCOL §11) and reads the other's plaintext", async () => {
    const hello = says("hello bob, the results are in");
    const { event_id: first } = await alice.client.sendTextMessage(shared, hello);
    const read = await bob.sees(first);
    assert.equal(read.status, "ok");
    assert.equal(read.text, hello);
    assert.equal(read.sender, ALICE);
    assert.equal(read.keyChanged, false);
    // What bob's client holds is what the server relayed: ciphertext and the marker.
    assertSealed(bob.client.getRoom(shared).findEventById(first).getOriginalContent());
    assert.match(bob.client.getRoom(shared).findEventById(first).getOriginalContent().body, /^csp2\./);

    // bob answers with HTML and MSC1767 text: neither is sent, the fallback is.
    const reply = says("thanks alice, reading them now");
    const { event_id: second } = await bob.client.sendMessage(shared, {
      msgtype: MsgType.Text,
      body: reply,
      format: "org.matrix.custom.html",
      formatted_body: `<b>${reply}</b>`,
      "org.matrix.msc1767.text": reply,
      "m.mentions": { user_ids: [ALICE] },
    });
    const got = await alice.sees(second);
    assert.deepEqual([got.status, got.text, got.sender], ["ok", reply, BOB]);
    const wire = alice.client.getRoom(shared).findEventById(second).getOriginalContent();
    assertSealed(wire);
    // Only keys that carry no text are kept of the app's content.
    assert.deepEqual(Object.keys(wire).sort(), ["body", "format", "formatted_body", "m.mentions", "msgtype", MARKER].sort());
    assert.deepEqual(wire["m.mentions"], { user_ids: [ALICE] });

    // A notice and an emote go the same way.
    const notice = says("notice: the lab is closed today");
    const { event_id: third } = await alice.client.sendNotice(shared, notice);
    assert.equal((await bob.sees(third)).text, notice);
    const emote = says("waves from the lab");
    const { event_id: fourth } = await bob.client.sendEmoteMessage(shared, emote);
    const emoted = await alice.sees(fourth);
    assert.equal(emoted.text, emote);
    assert.equal(emoted.event.getOriginalContent().msgtype, MsgType.Emote);
  });

  test("an edit (m.replace) reads as the new text, on the edit and on the edited message", async () => {
    const draft = says("the meeting is at 10");
    const fixed = says("the meeting is at 11");
    const { event_id: original } = await alice.client.sendTextMessage(shared, draft);
    await bob.sees(original);
    const { event_id: edit } = await alice.client.sendEvent(shared, EventType.RoomMessage, {
      msgtype: MsgType.Text,
      body: `* ${fixed}`,
      "m.new_content": { msgtype: MsgType.Text, body: fixed },
      "m.relates_to": { rel_type: "m.replace", event_id: original },
    });
    const editRead = await bob.sees(edit);
    assert.deepEqual([editRead.status, editRead.text, editRead.replaces], ["ok", fixed, original]);
    const wire = bob.client.getRoom(shared).findEventById(edit).getOriginalContent();
    assertSealed(wire);
    assertSealed(wire["m.new_content"]);
    assert.equal(wire.body, wire["m.new_content"].body);

    // The SDK applies the edit to the original; decryptTimeline shows it edited.
    const messages = await waitFor(async () => {
      const list = await decryptTimeline(bob.seal, bob.client.getRoom(shared));
      const shown = list.find((m) => m.eventId === original);
      return shown?.edited ? list : null;
    }, { what: "the edit to be applied" });
    const shown = messages.find((m) => m.eventId === original);
    assert.deepEqual([shown.status, shown.text, shown.edited], ["ok", fixed, true]);
    assert.ok(!messages.some((m) => m.eventId === edit), "edit events are left out by default");
  });

  test("history after a restart of the client: scrollback decrypts, edits included", async () => {
    const early = says("before the restart");
    const { event_id: earlyId } = await bob.client.sendTextMessage(shared, early);
    await alice.sees(earlyId);

    // alice's client stops; a new one logs in (a new device, the same chatseal keys) and
    // starts with a short initial sync, so the old messages come from /messages.
    const seal = alice.seal;
    alice.close();
    alice = await user("alice", { seal });
    const room = alice.client.getRoom(shared);
    while (room.oldState.paginationToken !== null) await alice.client.scrollback(room, 10);
    const history = await decryptTimeline(alice.seal, room);
    // hello, reply, notice, emote, the edited message (once), early.
    assert.equal(history.length, 6, `whole history: ${history.map((m) => m.text).join(" | ")}`);
    for (const message of history) assert.equal(message.status, "ok", `${message.eventId}: ${message.label}`);
    const texts = history.map((m) => m.text);
    for (const text of plaintexts.filter((t) => !t.includes("the meeting is at 10"))) {
      assert.ok(texts.includes(text), `history has "${text}"`);
    }
    assert.ok(!texts.some((t) => t.includes("the meeting is at 10")), "the edited message reads as its edit");
    // The listener saw the same history arrive (toStartOfTimeline).
    const fromListener = [...alice.read.values()].filter((m) => m.toStartOfTimeline && m.status === "ok");
    assert.ok(fromListener.some((m) => m.text === plaintexts[0]), "onDecryptedTimeline got history too");
  });

  test("a member who joined later cannot read what was sent before (NotARecipient)", async () => {
    const dave = await user("dave");
    try {
      const before = says("only for alice and bob");
      const { event_id: beforeId } = await alice.client.sendTextMessage(shared, before);
      await bob.sees(beforeId);
      await alice.client.invite(shared, DAVE);
      await waitFor(() => dave.client.getRoom(shared), { what: "dave's invite" });
      await dave.client.joinRoom(shared);
      await waitForJoined(alice.client, shared, [DAVE]);

      const room = dave.client.getRoom(shared);
      await waitFor(async () => {
        if (!room.findEventById(beforeId) && room.oldState.paginationToken !== null) await dave.client.scrollback(room, 20);
        return room.findEventById(beforeId);
      }, { what: "dave to see the earlier message in history" });
      const old = await decryptEvent(dave.seal, room.findEventById(beforeId));
      assert.equal(old.status, "error");
      assert.equal(old.error.code, "NotARecipient");
      assert.equal(old.label, "not for this device");

      // Sent after he joined, it is his to read.
      const after = says("welcome dave");
      const { event_id: afterId } = await alice.client.sendTextMessage(shared, after);
      const afterRead = await dave.sees(afterId);
      assert.deepEqual([afterRead.status, afterRead.text], ["ok", after]);
    } finally {
      dave.close();
    }
  });

  test("a registered user who is not in the room cannot decrypt its ciphertext (NotARecipient)", async () => {
    const text = says("not for carol");
    const { event_id: eventId } = await alice.client.sendTextMessage(shared, text);
    const event = await waitForEvent(bob.client, shared, eventId);
    // carol gets the event as the server stored it (she is no member, so she gets it out of band).
    const carolSeal = await openSeal("carol");
    const raw = storedMessages().find((m) => m.event_id === eventId);
    assert.ok(raw, "the event is in the database");
    const result = await decryptEvent(carolSeal, new MatrixEvent(raw.event));
    assert.equal(result.status, "error");
    assert.equal(result.error.code, "NotARecipient");
    await assert.rejects(carolSeal.decrypt(event.getOriginalContent().body, { from: ALICE, context: shared }), {
      name: "ChatSealError",
      code: "NotARecipient",
    });
  });

  test("ciphertext moved to another room (ContextMismatch) or re-sent by another user (SenderMismatch)", async () => {
    const text = says("stays in the first room");
    const { event_id: eventId } = await alice.client.sendTextMessage(shared, text);
    const content = (await waitForEvent(bob.client, shared, eventId)).getOriginalContent();
    const other = await room(alice, [bob]);
    // alice's ciphertext posted as it is into another room that has the same members.
    const moved = await sendRaw(alice.credentials, other, content);
    const movedRead = await bob.sees(moved);
    assert.equal(movedRead.status, "error");
    assert.equal(movedRead.error.code, "ContextMismatch");
    assert.equal(movedRead.label, "from another conversation");
    // bob posting alice's ciphertext as his own, in the same room.
    const copied = await sendRaw(bob.credentials, shared, content);
    const copiedRead = await alice.sees(copied);
    assert.equal(copiedRead.status, "error");
    assert.equal(copiedRead.error.code, "SenderMismatch");
  });

  test("plain messages read as plain; a message that cannot be encrypted is not sent", async () => {
    const plain = await sendRaw(bob.credentials, shared, { msgtype: MsgType.Text, body: "sent without chatseal" });
    const plainRead = await alice.sees(plain);
    assert.deepEqual([plainRead.status, plainRead.text], ["plain", "sent without chatseal"]);

    // erin has no chatseal key: a room with her cannot be encrypted for, so nothing is sent.
    const erin = await user("erin", { seal: await openSeal("erin", { register: false }) });
    try {
      const withErin = await room(alice, [erin]);
      const count = () => storedMessages().filter((m) => m.room_id === withErin).length;
      const text = says("erin cannot have this");
      await assert.rejects(alice.client.sendTextMessage(withErin, text), (error) => {
        assert.ok(error instanceof ChatSealError);
        assert.equal(error.code, "Directory"); // erin has no card in the directory
        return true;
      });
      // Not even a local echo: the SDK never saw the message.
      const local = alice.client.getRoom(withErin).getLiveTimeline().getEvents();
      assert.ok(!local.some((e) => e.getType() === EventType.RoomMessage), "no local echo");
      // Images are not end-to-end encrypted: refused unless the app opts in.
      await assert.rejects(
        alice.client.sendMessage(withErin, { msgtype: MsgType.Image, body: "scan.png", url: "mxc://localhost/x" }),
        /not end-to-end encrypted/,
      );
      assert.equal(count(), 0);
    } finally {
      erin.close();
    }
  });

  test("encryptMessages refuses a second wrap and another identity; stop() puts the send back", () => {
    assert.throws(() => encryptMessages(bob.client, bob.seal), /already encrypts/);
    const client = createClient({ baseUrl: homeserver, ...bob.credentials }); // not started
    assert.throws(() => encryptMessages(client, alice.seal), TypeError);
    const own = client.sendCompleteEvent;
    const stop = encryptMessages(client, bob.seal);
    assert.notEqual(client.sendCompleteEvent, own);
    stop();
    assert.equal(client.sendCompleteEvent, own);
    assert.ok(!Object.hasOwn(client, "sendCompleteEvent"));
  });

  test("the homeserver's database holds only ciphertext for message bodies", () => {
    const stored = storedMessages();
    assert.ok(stored.length >= plaintexts.length, `${stored.length} messages stored`);
    for (const { event } of stored) {
      const content = event.content ?? {};
      if (content.body === "sent without chatseal") continue; // the deliberate plain one
      assert.ok(isEncrypted(content.body), `stored body: ${content.body}`);
      if (content["m.new_content"]) assert.ok(isEncrypted(content["m.new_content"].body));
    }
    const json = JSON.stringify(stored);
    for (const text of plaintexts) assert.ok(!json.includes(text), `event_json holds "${text}"`);
    // And the raw files: the SQLite database, its WAL, the media store and Synapse's log.
    const files = dirname(dirname(database));
    const names = filesUnder(files).map((path) => basename(path));
    assert.ok(names.includes("homeserver.db") && names.includes("homeserver.log"), names.join(", "));
    for (const text of plaintexts) assert.deepEqual(filesContaining(files, text), [], `"${text}" on disk`);
  });
});
