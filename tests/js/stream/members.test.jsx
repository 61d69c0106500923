// Group sessions through the adapter: a channel above the member threshold is sent as csg2.
// group messages, and stream-chat's member.removed / member.added events reach
// seal.updateMembers, so a member who leaves cannot read on and one who joins reads from then.
import React from "react";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { cleanup, fireEvent, render, waitFor } from "@testing-library/react";
import { encryptComposer, chatSealComponents } from "chatseal/stream";
import { startRelay } from "./relay.js";
import { ChatView, closeAll, textarea, typeInto, uniqueId, user } from "./harness.jsx";

describe("membership changes and group sessions", () => {
  let relay, people, alice, cid, stop;
  const calls = [];

  beforeAll(async () => {
    relay = await startRelay();
    const channelId = uniqueId("ward");
    // 14 people; the channel starts with the first 13: alice and 12 others, above the
    // default threshold of 10 other members (PROTOCOL §11), and still above it after one
    // member leaves.
    const ids = Array.from({ length: 14 }, (_, i) => uniqueId(`m${i}`));
    const members = ids.slice(0, 13);
    people = [];
    for (const id of members) people.push(await user(relay, id, { channelId, members }));
    // The 14th has keys and a stream connection, and a channel of their own until added.
    people.push(await user(relay, ids[13], { channelId: uniqueId("own"), members: [ids[13]] }));
    alice = people[0];
    cid = alice.channel.cid;
    const update = alice.seal.updateMembers.bind(alice.seal);
    alice.seal.updateMembers = (options) => {
      calls.push(options);
      return update(options);
    };
    stop = encryptComposer(alice.client, alice.seal);
  }, 60_000);

  afterEach(() => cleanup());
  afterAll(async () => {
    stop?.();
    await closeAll(...(people ?? []));
    await relay?.close();
  });

  async function sendThroughComposer(text) {
    const before = (await relay.messages(cid)).length;
    const { container } = render(<ChatView {...alice} overrides={chatSealComponents} />);
    const input = await textarea(container);
    typeInto(fireEvent, input, text);
    await waitFor(() => expect(alice.channel.messageComposer.textComposer.text).toBe(text));
    fireEvent.keyDown(input, { key: "Enter" });
    await waitFor(async () => expect((await relay.messages(cid)).length).toBe(before + 1));
    cleanup();
    return (await relay.messages(cid)).at(-1).text;
  }

  const readAs = (person, text) => person.seal.decrypt(text, { from: alice.id, context: cid });

  test("a channel of 13 is sent as a group message that every member reads", async () => {
    const text = await sendThroughComposer("handover at seven");
    expect(text.startsWith("csg2.")).toBe(true);
    // About 340 characters by PROTOCOL §9 with this cid (the head fields count 40 bytes);
    // a §3 message to these 13 cards would be over 1,800.
    expect(text.length).toBeLessThan(400);
    for (const p of people.slice(1, 13)) expect((await readAs(p, text)).text).toBe("handover at seven");
    expect(alice.seal.stats().sharesSent).toBe(13);
  });

  test("member.removed: the next message starts a session the removed member cannot read", async () => {
    const gone = people[5];
    const before = await sendThroughComposer("before m5 left");
    await alice.channel.removeMembers([gone.id]);
    await waitFor(() => expect(calls.some((c) => !c.to.includes(gone.id))).toBe(true));
    // stream-chat applied the event to the channel's members: the removed one, only.
    await waitFor(() => expect(Object.keys(alice.channel.state.members)).toHaveLength(12));
    expect(alice.channel.state.members[alice.id]).toBeDefined();
    expect(people[1].channel.state.members[alice.id]).toBeDefined();
    const call = calls.find((c) => !c.to.includes(gone.id));
    expect(call.context).toBe(cid);
    expect(call.to).toHaveLength(12);
    const after = await sendThroughComposer("after m5 left");
    await expect(readAs(gone, after)).rejects.toMatchObject({ code: "NoSessionKey" });
    expect((await readAs(gone, before)).text).toBe("before m5 left");
    expect((await readAs(people[6], after)).text).toBe("after m5 left");
  });

  test("member.added: the newcomer reads from the join on, not before", async () => {
    const newcomer = people[13];
    const before = await sendThroughComposer("before m13 joined");
    const sent = alice.seal.stats().sharesSent;
    await alice.channel.addMembers([newcomer.id]);
    await waitFor(() => expect(calls.some((c) => c.to.includes(newcomer.id))).toBe(true));
    await waitFor(() => expect(alice.seal.stats().sharesSent).toBe(sent + 1));
    const after = await sendThroughComposer("after m13 joined");
    expect((await readAs(newcomer, after)).text).toBe("after m13 joined");
    await expect(readAs(newcomer, before)).rejects.toMatchObject({ code: "NoSessionKey" });
  });
});
