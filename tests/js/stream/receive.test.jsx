// Reading: stream-chat-react's own message UI, through chatSealComponents, shows the
// plaintext of what arrives (live over the WebSocket, in quotes, in the channel list), and
// shows what it cannot trust as such.
import React from "react";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { cleanup, fireEvent, render, waitFor, within } from "@testing-library/react";
import { ChannelListItem, Chat, WithComponents } from "stream-chat-react";
import { ChatSealProvider } from "chatseal/react";
import { isEncrypted } from "chatseal";
import {
  EncryptedMessageUI,
  chatSealComponents,
  encryptComposer,
  getEncryptedLatestMessagePreview,
} from "chatseal/stream";
import { startRelay } from "./relay.js";
import { ChatView, closeAll, textarea, typeInto, uniqueId, user } from "./harness.jsx";

// The text of each message bubble (without the visually hidden "Message from …" label).
const texts = (container) =>
  [...container.querySelectorAll("[data-testid='message-text-inner-wrapper']")].map((el) => el.textContent);

async function send(u, container, text) {
  const input = await textarea(container);
  typeInto(fireEvent, input, text);
  await waitFor(() => expect(u.channel.messageComposer.textComposer.text).toBe(text));
  fireEvent.keyDown(input, { key: "Enter" });
}

async function messageAction(container, bubbleText, label) {
  const bubble = await waitFor(() => {
    const found = [...container.querySelectorAll(".str-chat__message")].find((el) =>
      el.querySelector(".str-chat__message-text")?.textContent.includes(bubbleText),
    );
    if (!found) throw new Error(`no message showing "${bubbleText}"`);
    return found;
  });
  fireEvent.click(within(bubble).getByLabelText(/open message actions/i));
  fireEvent.click(await waitFor(() => within(container.ownerDocument.body).getByLabelText(label)));
}

describe("EncryptedMessageUI", () => {
  let relay, alice, bob, cid, stops;
  const hello = "the results came back negative";
  const reply = "good news, thanks";

  beforeAll(async () => {
    relay = await startRelay();
    const channelId = uniqueId("room");
    const a = uniqueId("alice");
    const b = uniqueId("bob");
    alice = await user(relay, a, { channelId, members: [a, b] });
    bob = await user(relay, b, { channelId, members: [a, b] });
    cid = alice.channel.cid;
    stops = [encryptComposer(alice.client, alice.seal), encryptComposer(bob.client, bob.seal)];
  });

  afterEach(() => cleanup());
  afterAll(async () => {
    stops?.forEach((stop) => stop());
    await closeAll(alice, bob);
    await relay?.close();
  });

  test("the receiver's MessageUI shows the plaintext of a message that arrives live", async () => {
    const bobView = render(<ChatView {...bob} overrides={chatSealComponents} />);
    const bobStock = render(<ChatView {...bob} />); // stream-chat-react without chatseal's UI
    const aliceView = render(<ChatView {...alice} overrides={chatSealComponents} />);
    await textarea(bobView.container);
    await send(alice, aliceView.container, hello);

    await waitFor(() => expect(texts(bobView.container)).toEqual([hello]));
    expect(bobView.container.textContent).not.toContain("csp2.");
    // The server holds ciphertext, and that is all the stock UI has to show.
    const stored = (await relay.messages(cid))[0];
    expect(isEncrypted(stored.text)).toBe(true);
    // (markdown rendering may eat the odd `_` of the base64url, so not compared verbatim)
    await waitFor(() => expect(texts(bobStock.container)).toEqual([expect.stringMatching(/^csp2\./)]));
    expect(bobStock.container.textContent).not.toContain(hello);
    // It is rendered by stream-chat-react's own message UI: its classes, its sender, its bubble.
    const row = bobView.container.querySelector(".str-chat__message--other");
    expect(row).not.toBeNull();
    expect(within(row.querySelector(".str-chat__message-bubble")).getByTestId("message-text-inner-wrapper").textContent).toBe(hello);
  });

  test("a quoted reply: the composer preview and the quote in the list show plaintext; the server sees neither", async () => {
    const bobView = render(<ChatView {...bob} overrides={chatSealComponents} />);
    const aliceView = render(<ChatView {...alice} overrides={chatSealComponents} />);
    await messageAction(bobView.container, hello, /quote message/i);

    const preview = await waitFor(() => {
      const el = bobView.container.querySelector(".str-chat__message-composer [data-testid='quoted-message-preview']");
      if (!el) throw new Error("no quote preview in the composer yet");
      return el;
    });
    expect(preview.textContent).toContain(hello);
    const before = relay.requests.length;
    await send(bob, bobView.container, reply);
    await waitFor(async () => expect((await relay.messages(cid))).toHaveLength(2));

    const stored = (await relay.messages(cid))[1];
    expect(isEncrypted(stored.text)).toBe(true);
    expect(stored.quoted_message_id).toBe((await relay.messages(cid))[0].id);
    const sent = relay.requests.slice(before).map((r) => r.raw).join("\n");
    expect(sent).not.toContain(reply);
    expect(sent).not.toContain(hello);

    // Alice sees Bob's reply, and inside it the message it quotes, both decrypted.
    await waitFor(() => expect(texts(aliceView.container)).toContain(reply));
    const quote = await waitFor(() => {
      const el = aliceView.container.querySelector(".str-chat__message-list [data-testid='quoted-message-preview']");
      if (!el?.textContent.includes(hello)) throw new Error("quote not decrypted yet");
      return el;
    });
    expect(quote.textContent).not.toContain("csp2.");
  });

  test("the channel list's latest-message summary and its accessible name show the plaintext", async () => {
    const row = (overrides, props = {}) =>
      render(
        <ChatSealProvider seal={alice.seal}>
          <Chat client={alice.client}>
            <WithComponents overrides={overrides}>
              <ChannelListItem channel={alice.channel} {...props} />
            </WithComponents>
          </Chat>
        </ChatSealProvider>,
      );
    const summary = (container) => container.querySelector(".str-chat__summarized-message-preview__text")?.textContent;
    const label = (container) => container.querySelector("[data-testid='channel-list-item-button']").getAttribute("aria-label");

    const stock = row({});
    await waitFor(() => expect(summary(stock.container)).toContain("csp2."));
    expect(label(stock.container)).not.toContain(reply); // (its markdown stripping mangles ciphertext)
    cleanup();

    const sealed = row(chatSealComponents);
    await waitFor(() => expect(summary(sealed.container)).toBe(reply));
    expect(label(sealed.container)).toContain(reply);
    expect(sealed.container.innerHTML).not.toContain("csp2.");
    cleanup();

    // An app with its own row that shows `latestMessagePreview` uses getEncryptedLatestMessagePreview.
    const OwnRow = ({ latestMessagePreview }) => <div className="own-row">{latestMessagePreview}</div>;
    const own = row({ ChannelListItemUI: OwnRow }, { getLatestMessagePreview: getEncryptedLatestMessagePreview });
    await waitFor(() => expect(own.container.querySelector(".own-row").textContent).toBe(reply));
  });

  test("a message the server replays into another channel, or forges in plaintext, is not shown as genuine", async () => {
    const otherId = uniqueId("other-room");
    const bobOther = bob.client.channel("messaging", otherId, { members: [alice.id, bob.id] });
    await bobOther.watch();
    const view = render(<ChatView {...bob} channel={bobOther} overrides={chatSealComponents} />);
    await textarea(view.container);

    // The ciphertext Alice sealed for the first channel, replayed here under her name.
    await relay.inject(bobOther.cid, alice.id, (await relay.messages(cid))[0].text);
    const refused = await waitFor(() => {
      const el = view.container.querySelector("[data-chatseal='error']");
      if (!el) throw new Error("no refusal shown yet");
      return el;
    });
    expect(refused.textContent).toContain("from another conversation");
    expect(view.container.textContent).not.toContain(hello);

    // A plaintext message under Alice's name is shown, but marked.
    await relay.inject(bobOther.cid, alice.id, "please send me your password");
    const marked = await waitFor(() => {
      const el = view.container.querySelector("[data-chatseal='unencrypted']");
      if (!el) throw new Error("no plaintext marker yet");
      return el;
    });
    expect(marked.closest("[data-testid='message-text-inner-wrapper']").textContent).toContain("please send me your password");
  });

  test("Resend on a failed message sends the stored ciphertext again, never the plaintext on screen", async () => {
    const text = "resend me, encrypted";
    const view = render(<ChatView {...alice} overrides={chatSealComponents} />);
    relay.failNext("POST", new RegExp(`^/channels/messaging/${alice.channel.id}/message$`));
    const before = relay.requests.length;
    await send(alice, view.container, text);
    await waitFor(() => expect(view.container.querySelector(".str-chat__message--failed")).not.toBeNull());
    expect((await relay.messages(cid)).some((m) => m.text === text)).toBe(false);

    await messageAction(view.container, text, /resend message/i);
    await waitFor(async () => expect((await relay.messages(cid))).toHaveLength(3));
    const stored = (await relay.messages(cid))[2];
    expect(isEncrypted(stored.text)).toBe(true);
    expect((await bob.seal.decrypt(stored.text, { from: alice.id, context: cid })).text).toBe(text);
    const sends = relay.requests.slice(before).filter((r) => r.path === `/channels/messaging/${alice.channel.id}/message`);
    expect(sends).toHaveLength(2);
    for (const r of sends) expect(r.raw).not.toContain(text);
  });
});

describe("cancellation", () => {
  let relay, alice, carol, cid;

  beforeAll(async () => {
    relay = await startRelay();
    const channelId = uniqueId("room");
    const a = uniqueId("alice");
    const c = uniqueId("carol");
    alice = await user(relay, a, { channelId, members: [a, c] });
    carol = await user(relay, c, { channelId, members: [a, c] });
    cid = alice.channel.cid;
  });

  afterAll(async () => {
    cleanup();
    await closeAll(alice, carol);
    await relay?.close();
  });

  test("unmounting messages while they decrypt aborts the decrypts (seal.stats().cancelled grows)", async () => {
    const count = 6;
    for (let i = 0; i < count; i += 1) {
      const text = await alice.seal.encrypt(`note ${i}`, { to: [carol.id], context: cid });
      await alice.channel.sendMessage({ text });
    }
    // A fresh channel object for Carol, so that her first render has every message at once.
    await carol.channel.query({ messages: { limit: 50 } });
    const before = carol.seal.stats();

    const view = render(<ChatView {...carol} overrides={chatSealComponents} />);
    const pending = view.container.querySelectorAll("[data-chatseal='pending']");
    expect(pending).toHaveLength(count); // Carol's seal has never seen Alice's card: all wait on it
    view.unmount();

    await waitFor(() => expect(carol.seal.stats().cancelled - before.cancelled).toBeGreaterThanOrEqual(count));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(carol.seal.stats().decrypted).toBe(before.decrypted);

    // Mounted again, and left mounted, the same messages decrypt.
    const again = render(<ChatView {...carol} overrides={{ MessageUI: EncryptedMessageUI }} />);
    await waitFor(() => expect(texts(again.container)).toEqual(Array.from({ length: count }, (_, i) => `note ${i}`)));
    expect(carol.seal.stats().decrypted - before.decrypted).toBeGreaterThanOrEqual(count);
  });
});
