// The low-level API of the built package (pkg/, installed here as `chatseal` from
// tests/node/package.json), as a Node 20 user loads it: run by `make node-test`
// (node --test). Both `import` and `require` must work.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import * as esm from "chatseal";

const require = createRequire(import.meta.url);
const cjs = require("chatseal");
const { Identity, Card, isEncrypted, ChatSealError } = cjs;

function rejects(fn, code) {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ChatSealError, `expected a ChatSealError, got ${e}`);
    assert.ok(e instanceof Error);
    assert.equal(e.name, "ChatSealError");
    assert.equal(e.code, code, e.message);
    assert.ok(e.message.length > 10, "a message a stranger can read");
    return e;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

function typeError(fn, fragment) {
  assert.throws(fn, (e) => e instanceof TypeError && e.message.includes(fragment));
}

test("import and require load the same API", () => {
  assert.equal(typeof esm.Identity.generate, "function");
  assert.equal(esm.Identity, cjs.Identity, "one module instance behind both");
  assert.equal(esm.ChatSealError, cjs.ChatSealError);
  assert.equal(typeof esm.initAsync, "function");
});

test("two users exchange a message; the result object is complete", () => {
  const alice = Identity.generate("alice@clinic-a");
  const bob = Identity.generate("bob@clinic-a");
  const card = alice.card();
  assert.equal(card.identity, "alice@clinic-a");
  assert.match(card.id, /^[0-9a-f]{32}$/);
  assert.ok(card.text.startsWith("csc2."));
  assert.equal(Card.parse(card.text).id, card.id);
  assert.equal(card.prevCardId, undefined);

  const before = Date.now();
  const text = alice.encrypt("Your results are ready. 🩺", [bob.card()], { context: "channel-42" });
  // One other person: a pairwise message (PROTOCOL §11).
  assert.ok(text.startsWith("csp2."));
  assert.ok(isEncrypted(text));
  // Version 1 was never deployed: its forms are not messages.
  assert.ok(!isEncrypted("csm1.AAAA") && !isEncrypted("csg1.AAAA"));
  assert.ok(!isEncrypted("hello") && !isEncrypted(42) && !isEncrypted(undefined));
  // Cards may also be passed as text.
  const msg = bob.decrypt(text, [card.text], { from: "alice@clinic-a", context: "channel-42" });
  assert.deepEqual(
    { ...msg, sentAt: 0, msgId: "" },
    {
      text: "Your results are ready. 🩺",
      contentType: "text",
      sender: "alice@clinic-a",
      senderCardId: card.id,
      sentAt: 0,
      msgId: "",
      context: "channel-42",
      keyChanged: false,
    },
  );
  assert.ok(msg.sentAt >= before - 1000 && msg.sentAt <= Date.now() + 1000);
  assert.match(msg.msgId, /^[0-9a-f]{32}$/);
  // The sender reads her own message; a pairwise one needs the other side's card (§11 step 3).
  assert.equal(alice.decrypt(text, [card, bob.card()], { context: "channel-42" }).text, msg.text);
  rejects(() => alice.decrypt(text, [card], {}), "UnknownSender");
  // Passing cards does not consume them.
  assert.equal(card.identity, "alice@clinic-a");
});

test("every protocol error reaches JS as a ChatSealError with its code", () => {
  const alice = Identity.generate("alice");
  const bob = Identity.generate("bob");
  const carol = Identity.generate("carol");
  const text = alice.encrypt("hi", [bob.card()], { context: "c1" });
  const cards = [alice.card()];
  rejects(() => bob.decrypt(text, cards, { context: "c2" }), "ContextMismatch");
  rejects(() => bob.decrypt(text, cards, { from: "mallory" }), "SenderMismatch");
  rejects(() => carol.decrypt(text, cards, {}), "NotARecipient");
  rejects(() => bob.decrypt(text, [], {}), "UnknownSender");
  rejects(() => bob.decrypt(text, [carol.card()], {}), "UnknownSender");
  rejects(() => bob.decrypt("csp2.AAAA", cards, {}), "Malformed");
  rejects(() => bob.decrypt("csm2.AAAA", cards, {}), "Malformed");
  rejects(() => bob.decrypt("csm1.AAAA", cards, {}), "Malformed");
  rejects(() => bob.decrypt("hello", cards, {}), "Malformed");
  // Flip one character of the body: the AEAD refuses it.
  const i = text.length - 20;
  const flipped = text.slice(0, i) + (text[i] === "A" ? "B" : "A") + text.slice(i + 1);
  rejects(() => bob.decrypt(flipped, cards, {}), "Integrity");
  rejects(() => Card.parse("csc2.AAAA"), "Malformed");
  rejects(() => Card.parse("csc1.AAAA"), "Malformed");
  const sig = alice.card().text;
  const j = sig.length - 3;
  rejects(() => Card.parse(sig.slice(0, j) + (sig[j] === "A" ? "B" : "A") + sig.slice(j + 1)), "BadSignature");
  rejects(() => Identity.generate(""), "InvalidArgument");
  rejects(() => Identity.generate("a\nb"), "InvalidArgument");
  const bytes = alice.encryptBytes(new Uint8Array([1, 2, 3]), [bob.card()], {});
  rejects(() => bob.decrypt(bytes, cards, {}), "Malformed");
});

test("wrong argument types are TypeErrors", () => {
  const alice = Identity.generate("alice");
  typeError(() => Identity.generate(5), "identity must be a string");
  typeError(() => alice.encrypt(5, [], {}), "text must be a string");
  typeError(() => alice.encrypt("x", "not an array", {}), "cards must be an array");
  typeError(() => alice.encrypt("x", [5], {}), "cards must hold");
  typeError(() => alice.encrypt("x", [], { context: 7 }), "options.context must be a string");
  typeError(() => alice.encrypt("x", [], "ctx"), "options must be an object");
  typeError(() => alice.decrypt(null, [], {}), "text must be a string");
  typeError(() => alice.encryptBytes("x", [], {}), "bytes must be a Uint8Array");
  typeError(() => Card.parse({}), "text must be a string");
});

test("bytes round trip", () => {
  const alice = Identity.generate("alice");
  const bob = Identity.generate("bob");
  const data = new Uint8Array(1000).map((_, i) => i & 0xff);
  const text = alice.encryptBytes(data, [bob.card()], { context: "files" });
  const msg = bob.decryptBytes(text, [alice.card()], { from: "alice", context: "files" });
  assert.equal(msg.contentType, "bytes");
  assert.equal(msg.text, null);
  assert.deepEqual(msg.data, data);
});

test("after a rotation, old messages still verify with the old card", () => {
  const alice = Identity.generate("alice");
  const bob = Identity.generate("bob");
  const oldCard = alice.card();
  const old = alice.encrypt("before", [bob.card()], { context: "c" });
  const newCard = alice.rotate();
  assert.equal(newCard.prevCardId, oldCard.id);
  const fresh = alice.encrypt("after", [bob.card()], { context: "c" });
  const history = [oldCard, newCard];
  assert.equal(bob.decrypt(old, history, { from: "alice" }).text, "before");
  assert.equal(bob.decrypt(fresh, history, { from: "alice" }).senderCardId, newCard.id);
  // Alice still reads what she sent before rotating (to Bob: his card is the other side).
  assert.equal(alice.decrypt(old, [...history, bob.card()], {}).text, "before");
});

test("backup and restore, with the default Argon2id cost", () => {
  const alice = Identity.generate("alice");
  const bob = Identity.generate("bob");
  const text = bob.encrypt("for alice", [alice.card()], {});
  const started = performance.now();
  const backup = alice.backup("correct horse battery staple");
  const sealMs = performance.now() - started;
  assert.ok(backup.startsWith("csb1."));
  const restored = Identity.restore(backup, "correct horse battery staple");
  assert.equal(restored.card().id, alice.card().id);
  assert.equal(restored.decrypt(text, [bob.card()], {}).text, "for alice");
  rejects(() => Identity.restore(backup, "wrong"), "Integrity");
  rejects(() => Identity.restore("csb1.AAAA", "x"), "Malformed");
  console.log(`backup seal (64 MiB, t=3) in Node: ${sealMs.toFixed(0)} ms`);
});

test("backup passwords are NFC-normalised (by JS: the package's wasm has no Unicode tables)", () => {
  const alice = Identity.generate("alice");
  const decomposed = "cafe\u0301 cre\u0300me", composed = "caf\u00e9 cr\u00e8me";
  assert.notEqual(decomposed, composed);
  const backup = alice.backup(decomposed);
  assert.equal(Identity.restore(backup, composed).card().id, alice.card().id);
  rejects(() => Identity.restore(backup, "cafe creme"), "Integrity");
  // The same rule as the native build: the vectors' backups open here with their password
  // in either form (one of them is "Café au lait").
  const vectors = JSON.parse(readFileSync(new URL("../vectors/backups.json", import.meta.url), "utf8"));
  assert.equal(vectors.length, 3);
  for (const v of vectors) {
    for (const form of ["NFC", "NFD"]) {
      assert.ok(Identity.restore(v.backup, v.password.normalize(form)).card().id.length > 0);
    }
  }
});

test("decrypt timing of a 1,000-message one-to-one history (prints, asserts nothing about time)", () => {
  const alice = Identity.generate("alice");
  const bob = Identity.generate("bob");
  const cards = [alice.card()];
  const texts = Array.from({ length: 1000 }, (_, i) =>
    alice.encrypt(`message ${i} `.padEnd(200, "x"), [bob.card()], { context: "c" }),
  );
  const started = performance.now();
  for (const t of texts) bob.decrypt(t, cards, { from: "alice", context: "c" });
  const ms = performance.now() - started;
  console.log(`Node 20, wasm: pairwise decrypt ${(ms).toFixed(0)} ms for 1,000 messages (${ms.toFixed(0)} µs each)`);
});

test("group sessions (PROTOCOL §9): shares, csg2. messages, a late member, a history in any order", () => {
  const alice = Identity.generate("alice@ward-7");
  const bob = Identity.generate("bob@ward-7");
  const carol = Identity.generate("carol@ward-7");
  const session = alice.startGroupSession("team:ward-7");
  assert.match(session.sessionId, /^[0-9a-f]{32}$/);
  assert.equal(session.index, 0);
  const [toAlice, toBob] = alice.shareGroupSession(session, [alice.card(), bob.card().text]);
  // Every share is a pairwise message (§11), the sender's own too.
  assert.ok(toBob.startsWith("csp2.") && toAlice.startsWith("csp2."));
  const history = Array.from({ length: 200 }, (_, i) => alice.groupEncrypt(session, `message ${i}`));
  assert.equal(session.index, 200);
  assert.ok(history.every((t) => t.startsWith("csg2.") && isEncrypted(t)));
  // Constant size: the 200th message is as long as the first of the same length.
  assert.equal(history[0].length, history[9].length);

  const inbound = bob.acceptShare(toBob, [alice.card()]);
  const options = { from: "alice@ward-7", context: "team:ward-7" };
  for (const i of [199, 0, 150, 151, 3]) {
    assert.equal(inbound.decrypt(history[i], [alice.card()], options).text, `message ${i}`);
  }
  // The sender reads its own history through its own share.
  const own = alice.acceptShare(toAlice, [alice.card()]);
  assert.equal(own.decrypt(history[5], [alice.card()], options).text, "message 5");

  // A member who joins gets the chain key at the current index: nothing before it.
  const [toCarol] = alice.shareGroupSession(session, [carol.card()]);
  const late = carol.acceptShare(toCarol, [alice.card()]);
  const after = alice.groupEncrypt(session, "after carol joined");
  assert.equal(late.decrypt(after, [alice.card()], options).text, "after carol joined");
  rejects(() => late.decrypt(history[199], [alice.card()], options), "NoSessionKey");

  // The share and message checks, each with its named error.
  rejects(() => carol.acceptShare(toBob, [alice.card()]), "NotARecipient");
  rejects(() => bob.acceptShare(toBob, []), "UnknownSender");
  rejects(() => inbound.decrypt(history[1], [alice.card()], { ...options, context: "team:other" }), "ContextMismatch");
  rejects(() => inbound.decrypt(history[1], [alice.card()], { ...options, from: "mallory@ward-7" }), "SenderMismatch");
  const other = alice.startGroupSession("team:ward-7");
  rejects(() => inbound.decrypt(alice.groupEncrypt(other, "x"), [alice.card()], options), "NoSessionKey");
  const flipped = history[1].slice(0, -8) + (history[1].at(-8) === "A" ? "B" : "A") + history[1].slice(-7);
  rejects(() => inbound.decrypt(flipped, [alice.card()], options), "Integrity");
  rejects(() => inbound.decrypt("csg2.AAAA", [alice.card()], options), "Malformed");
  rejects(() => inbound.decrypt("csg1.AAAA", [alice.card()], options), "Malformed");
  typeError(() => alice.startGroupSession(42), "context");
});
