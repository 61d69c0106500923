// The stream-chat-react example of the README, run as written: its code block is read from
// README.md, given the free names it uses (apiKey, userId, streamToken, directoryUrl,
// getToken), imported, and used by a real MessageComposer. If the README drifts from the
// API, this fails.
import React from "react";
import { readFileSync, writeFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { cleanup, fireEvent, render, waitFor } from "@testing-library/react";
import { StreamChat } from "stream-chat";
import { startRelay, streamCredentials } from "./relay.js";
import { closeAll, directoryUrl, textarea, tokenGetter, typeInto, uniqueId, user } from "./harness.jsx";

// (run.sh runs vitest from this folder; jsdom's import.meta.url is not a file URL.)
const readme = readFileSync(join(process.cwd(), "../../../README.md"), "utf8");
const marker = "<!-- This block is run as written by tests/js/stream/readme.test.jsx. -->";
const generated = join(process.cwd(), "readme-example.generated.jsx");

let relay, bob, alice, module;

beforeAll(async () => {
  const at = readme.indexOf(marker);
  expect(at, "the README marks its stream-chat-react example").toBeGreaterThan(-1);
  const block = readme.slice(at).match(/```jsx\n([\s\S]*?)```/)[1];
  expect(block.split("\n").length).toBeLessThanOrEqual(30);
  relay = await startRelay();
  const [a, b] = [uniqueId("alice"), uniqueId("bob")];
  const channelId = uniqueId("room");
  bob = await user(relay, b, { channelId, members: [a, b] });
  // The README's client is the StreamChat singleton: created here first so that it talks to
  // the relay through the test's proxy (getInstance ignores options once the instance exists).
  const credentials = await streamCredentials(a);
  StreamChat.getInstance(credentials.apiKey, { baseURL: relay.url, timeout: 10_000 });
  const base = directoryUrl();
  globalThis.__readme = {
    apiKey: credentials.apiKey,
    userId: a,
    streamToken: credentials.token,
    directoryUrl: base,
    getToken: tokenGetter(base, a),
  };
  const prelude = "const { apiKey, userId, streamToken, directoryUrl, getToken } = globalThis.__readme;\n";
  writeFileSync(generated, block.replace(/^((?:import[^\n]*\n)+)/, `$1${prelude}`));
  module = await import(/* @vite-ignore */ generated);
  alice = { id: a, client: StreamChat.getInstance(credentials.apiKey) };
  alice.channel = alice.client.channel("messaging", channelId, { members: [a, b] });
  await alice.channel.watch();
});

afterAll(async () => {
  cleanup();
  rmSync(generated, { force: true });
  await closeAll(bob);
  await alice?.client?.disconnectUser();
  await relay?.close();
});

test("the README's example sends ciphertext and shows the plaintext", async () => {
  const secret = "your lab results are in";
  const { container } = render(<module.EncryptedChannel channel={alice.channel} />);
  const input = await textarea(container);
  typeInto(fireEvent, input, secret);
  await waitFor(() => expect(alice.channel.messageComposer.textComposer.text).toBe(secret));
  fireEvent.keyDown(input, { key: "Enter" });
  await waitFor(async () => expect((await relay.messages(alice.channel.cid))).toHaveLength(1));
  const stored = (await relay.messages(alice.channel.cid))[0].text;
  expect(stored.startsWith("csp2.")).toBe(true); // a channel of two: pairwise (PROTOCOL §11)
  expect(relay.everythingSent()).not.toContain(secret);
  // The sender's own list shows the plaintext; the member decrypts it with the channel bound.
  await waitFor(() => expect(container.querySelector(".str-chat__message-text")?.textContent).toContain(secret));
  const opened = await bob.seal.decrypt(stored, { from: alice.id, context: alice.channel.cid });
  expect(opened.text).toBe(secret);
});
