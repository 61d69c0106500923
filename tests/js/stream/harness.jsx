// Shared pieces of the chatseal/stream tests: a ChatSeal per user against the real
// directory (run.sh starts `chatseal-relay` and exports its URL), a stream-chat client
// per user against the demo's chat relay, and the stream-chat-react tree a user sees.
import React from "react";
import { waitFor } from "@testing-library/react";
import { StreamChat } from "stream-chat";
import { Channel, Chat, MessageComposer, MessageList, Thread, Window, WithComponents } from "stream-chat-react";
import { ChatSeal } from "chatseal";
import { ChatSealProvider } from "chatseal/react";
import { streamCredentials } from "./relay.js";
import { tokenGetter } from "../demo-backend.js";

export function directoryUrl() {
  const url = process.env.CHATSEAL_TEST_DIRECTORY;
  if (!url) throw new Error("CHATSEAL_TEST_DIRECTORY is not set: run the tests with run.sh");
  return url;
}

export { tokenGetter };

let counter = 0;
/** A fresh identity per test (the directory lives for the whole run). */
export function uniqueId(name) {
  counter += 1;
  return `${name}-${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** An open, registered ChatSeal for `identity` (keys in memory). */
export async function openSeal(identity, { register = true } = {}) {
  const base = directoryUrl();
  const seal = await ChatSeal.open({ identity, directoryUrl: base, getToken: tokenGetter(base, identity), storage: "memory" });
  if (register) await seal.register();
  return seal;
}

/** A stream-chat client connected as `id` to the relay (through the test's proxy), with the
 *  token the demo backend mints. */
export async function connectStream(relay, id) {
  const { apiKey, token } = await streamCredentials(id);
  const client = new StreamChat(apiKey, { baseURL: relay.url, timeout: 10_000 });
  await client.connectUser({ id, name: id }, token);
  return client;
}

/** One user: their seal, their stream client and the channel they share with `members`. */
export async function user(relay, id, { channelId, members, register = true } = {}) {
  const [seal, client] = await Promise.all([openSeal(id, { register }), connectStream(relay, id)]);
  const channel = client.channel("messaging", channelId, { members });
  await channel.watch();
  return { id, seal, client, channel };
}

/** What a user of stream-chat-react sees: the message list, the real composer, a thread. */
export function ChatView({ seal, client, channel, overrides }) {
  const inner = (
    <Channel channel={channel}>
      <Window>
        <MessageList />
        <MessageComposer />
      </Window>
      <Thread />
    </Channel>
  );
  return (
    <ChatSealProvider seal={seal}>
      <Chat client={client}>{overrides ? <WithComponents overrides={overrides}>{inner}</WithComponents> : inner}</Chat>
    </ChatSealProvider>
  );
}

export async function textarea(container) {
  return waitFor(() => {
    const el = container.querySelector("textarea");
    if (!el) throw new Error("no composer textarea yet");
    return el;
  });
}

/** Types `text` into the composer's textarea the way React sees a user type. */
export function typeInto(fireEvent, el, text) {
  fireEvent.change(el, { target: { value: text, selectionStart: text.length, selectionEnd: text.length } });
}

export async function closeAll(...users) {
  for (const u of users) {
    if (!u) continue;
    await u.client.disconnectUser().catch(() => {});
    u.seal.close?.();
  }
}
