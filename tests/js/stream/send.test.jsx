// Sending through stream-chat-react's real MessageComposer (channel and thread): what reaches
// the (relay) Stream server is ciphertext, for new messages and for edits, readable by members.
import React from "react";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { cleanup, fireEvent, render, waitFor, within } from "@testing-library/react";
import { encryptComposer, chatSealComponents } from "chatseal/stream";
import { isEncrypted } from "chatseal";
import { startRelay } from "./relay.js";
import { ChatView, closeAll, textarea, typeInto, uniqueId, user } from "./harness.jsx";

describe("encryptComposer", () => {
  let relay, alice, bob, cid, stop;
  const secret = "meet me at 5 in room 12";

  beforeAll(async () => {
    relay = await startRelay();
    const channelId = uniqueId("room");
    const a = uniqueId("alice");
    const b = uniqueId("bob");
    alice = await user(relay, a, { channelId, members: [a, b] });
    bob = await user(relay, b, { channelId, members: [a, b] });
    cid = alice.channel.cid;
    stop = encryptComposer(alice.client, alice.seal);
  });

  afterEach(() => cleanup());
  afterAll(async () => {
    stop?.();
    await closeAll(alice, bob);
    await relay?.close();
  });

  test("a message sent with the real MessageComposer reaches the server as csp2. ciphertext (a channel of two: PROTOCOL §11)", async () => {
    const { container } = render(<ChatView {...alice} overrides={chatSealComponents} />);
    const input = await textarea(container);
    typeInto(fireEvent, input, secret);
    await waitFor(() => expect(alice.channel.messageComposer.textComposer.text).toBe(secret));
    fireEvent.keyDown(input, { key: "Enter" });

    await waitFor(async () => expect((await relay.messages(cid))).toHaveLength(1));
    const stored = (await relay.messages(cid))[0];
    expect(stored.text.startsWith("csp2.")).toBe(true);
    expect(stored.text).not.toContain(secret);
    expect(relay.everythingSent()).not.toContain(secret);
    expect(relay.everythingSent()).not.toContain("room 12");

    // Bob (a member) reads it, bound to this channel and to Alice.
    const opened = await bob.seal.decrypt(stored.text, { from: alice.id, context: cid });
    expect(opened.text).toBe(secret);
    expect(opened.sender).toBe(alice.id);
    expect(opened.context).toBe(cid);
    // Alice's own list shows the plaintext once her copy is decrypted, and the composer is empty.
    await waitFor(() => expect(container.querySelector(".str-chat__message-text")?.textContent).toContain(secret));
    expect(alice.channel.messageComposer.textComposer.text).toBe("");
    cleanup();
  });

  test("an edit made through the message's Edit action reaches the server as new ciphertext", async () => {
    const before = (await relay.messages(cid))[0];
    const { container } = render(<ChatView {...alice} overrides={chatSealComponents} />);
    const bubble = await waitFor(() => {
      const el = container.querySelector(".str-chat__message--me");
      if (!el || !el.textContent.includes(secret)) throw new Error("message not decrypted yet");
      return el;
    });
    fireEvent.click(within(bubble).getByLabelText(/open message actions/i));
    fireEvent.click(await waitFor(() => within(container.ownerDocument.body).getByLabelText(/edit message/i)));

    // The composer opens with the plaintext, not the stored ciphertext.
    const input = await textarea(container);
    await waitFor(() => expect(input.value).toBe(secret));
    expect(alice.channel.messageComposer.editedMessage?.id).toBe(before.id);

    const edited = "meet me at 6 in room 14";
    typeInto(fireEvent, input, edited);
    await waitFor(() => expect(alice.channel.messageComposer.textComposer.text).toBe(edited));
    fireEvent.keyDown(input, { key: "Enter" });

    await waitFor(async () => expect((await relay.messages(cid))[0].text).not.toBe(before.text));
    const after = (await relay.messages(cid))[0];
    expect((await relay.messages(cid))).toHaveLength(1);
    expect(after.id).toBe(before.id);
    expect(isEncrypted(after.text)).toBe(true);
    expect(after.text).not.toContain(edited);
    const update = relay.requests.filter((r) => r.method === "POST" && r.path === `/messages/${before.id}`);
    expect(update).toHaveLength(1);
    expect(update[0].raw).not.toContain(edited);
    expect(update[0].raw).not.toContain(secret);
    expect(relay.everythingSent()).not.toContain("room 14");
    expect((await bob.seal.decrypt(after.text, { from: alice.id, context: cid })).text).toBe(edited);
    await waitFor(() => expect(container.querySelector(".str-chat__message-text")?.textContent).toContain(edited));
    cleanup();
  });

  test("a composer filled with stored ciphertext (an edit re-initialised by a message.updated event) shows plaintext", async () => {
    const stored = (await relay.messages(cid))[0];
    const plain = (await bob.seal.decrypt(stored.text, { from: alice.id, context: cid })).text;
    const { container } = render(<ChatView {...alice} overrides={chatSealComponents} />);
    const input = await textarea(container);
    const composer = alice.channel.messageComposer;

    // What the SDK does with the message being edited when an event about it arrives.
    composer.initState({ composition: alice.channel.state.findMessage(stored.id) ?? stored });
    expect(isEncrypted(composer.textComposer.text)).toBe(true);
    await waitFor(() => expect(input.value).toBe(plain));
    // The "editing" preview above the input (EncryptedEditedMessagePreview) decrypts its copy too.
    const editing = await waitFor(() => {
      const el = container.querySelector("[data-testid='quoted-message-preview']");
      if (!el?.textContent.includes(plain)) throw new Error("edit preview not decrypted yet");
      return el;
    });
    expect(editing.textContent).not.toContain("csp2.");
    alice.client.dispatchEvent({ type: "message.updated", cid, message: stored });
    await waitFor(() => expect(composer.textComposer.text).toBe(plain));

    // Saved unchanged, it is encrypted once (not the ciphertext encrypted again).
    fireEvent.keyDown(input, { key: "Enter" });
    await waitFor(async () => expect((await relay.messages(cid))[0].text).not.toBe(stored.text));
    const again = (await relay.messages(cid))[0].text;
    expect((await bob.seal.decrypt(again, { from: alice.id, context: cid })).text).toBe(plain);
  });

  test("a reply in a thread, through the thread's own composer, is ciphertext too", async () => {
    const parent = (await relay.messages(cid))[0];
    const { container } = render(<ChatView {...alice} overrides={chatSealComponents} />);
    const bubble = await waitFor(() => {
      const el = container.querySelector(`[data-message-id='${parent.id}'] .str-chat__message`);
      if (!el) throw new Error("no message yet");
      return el;
    });
    fireEvent.click(within(bubble).getAllByLabelText(/open thread/i)[0]);
    const threadInput = await waitFor(() => {
      const el = container.querySelector(".str-chat__thread textarea");
      if (!el) throw new Error("no thread composer yet");
      return el;
    });
    const text = "thread reply: bring the signed consent form";
    typeInto(fireEvent, threadInput, text);
    await waitFor(() => expect(threadInput.value).toBe(text));
    fireEvent.keyDown(threadInput, { key: "Enter" });

    await waitFor(async () => expect((await relay.messages(cid)).filter((m) => m.parent_id === parent.id)).toHaveLength(1));
    const replyStored = (await relay.messages(cid)).find((m) => m.parent_id === parent.id);
    expect(isEncrypted(replyStored.text)).toBe(true);
    expect(relay.everythingSent()).not.toContain("consent form");
    expect((await bob.seal.decrypt(replyStored.text, { from: alice.id, context: cid })).text).toBe(text);
    await waitFor(() => expect(container.querySelector(".str-chat__thread")?.textContent).toContain(text));
  });

  test("text a user types that merely looks like a chatseal message is encrypted like any other", async () => {
    const typed = "csp2.not-a-ciphertext, just my pin 4321";
    const { container } = render(<ChatView {...alice} overrides={chatSealComponents} />);
    const count = (await relay.messages(cid)).length;
    const input = await textarea(container);
    typeInto(fireEvent, input, typed);
    await waitFor(() => expect(alice.channel.messageComposer.textComposer.text).toBe(typed));
    fireEvent.keyDown(input, { key: "Enter" });
    await waitFor(async () => expect((await relay.messages(cid))).toHaveLength(count + 1));
    const stored = (await relay.messages(cid)).at(-1);
    expect(stored.text).not.toContain("4321");
    expect((await bob.seal.decrypt(stored.text, { from: alice.id, context: cid })).text).toBe(typed);
  });
});
