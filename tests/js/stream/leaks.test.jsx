// Plaintext must not leave by the side doors stream-chat 9 has besides the message text:
// server drafts, link previews (`/og?url=`), attachment uploads and their metadata — and a
// failed encryption must not fall back to sending the text.
import React from "react";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { cleanup, fireEvent, render, waitFor } from "@testing-library/react";
import { encryptComposer, chatSealComponents } from "chatseal/stream";
import { isEncrypted } from "chatseal";
import { startRelay } from "./relay.js";
import { ChatView, closeAll, textarea, typeInto, uniqueId, user } from "./harness.jsx";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// What an app that wants drafts and link previews registers (stream-chat 9 has both off by
// default); encryptComposer must win over it.
const appSetup = ({ composer }) => {
  composer.updateConfig({
    drafts: { enabled: true },
    linkPreviews: { enabled: true, debounceURLEnrichmentMs: 0 },
  });
};

const ogRequests = (relay) => relay.requests.filter((r) => r.path === "/og");
const draftWrites = (relay) => relay.requests.filter((r) => r.path.endsWith("/draft") && r.method === "POST");
const uploads = (relay) => relay.requests.filter((r) => /\/(file|image)$/.test(r.path));

/** Types `text` into a fresh view of `u`, then unmounts it (which is when drafts are saved). */
async function typeAndLeave(u, text) {
  const { container, unmount } = render(<ChatView {...u} overrides={chatSealComponents} />);
  const input = await textarea(container);
  typeInto(fireEvent, input, text);
  await waitFor(() => expect(u.channel.messageComposer.textComposer.text).toBe(text));
  await sleep(150); // past the (zero) link-preview debounce
  unmount();
  await sleep(150);
}

describe("drafts and link previews", () => {
  let relay, plain, sealed, others;
  const typed = "the plan is at https://example.com/plan-b-secret";

  beforeAll(async () => {
    relay = await startRelay();
    const b = uniqueId("bob");
    const a1 = uniqueId("plain-alice");
    const a2 = uniqueId("sealed-alice");
    plain = await user(relay, a1, { channelId: uniqueId("room"), members: [a1, b] });
    sealed = await user(relay, a2, { channelId: uniqueId("room"), members: [a2, b] });
    others = await user(relay, b, { channelId: uniqueId("room"), members: [b] });
  });

  afterEach(() => cleanup());
  afterAll(async () => {
    await closeAll(plain, sealed, others);
    await relay?.close();
  });

  test("control: without encryptComposer the same app leaks the text in a draft and the URL to /og", async () => {
    plain.client.setMessageComposerSetupFunction(appSetup);
    await typeAndLeave(plain, typed);
    await waitFor(() => expect(ogRequests(relay).length).toBeGreaterThan(0));
    expect(ogRequests(relay)[0].query.get("url")).toContain("plan-b-secret");
    await waitFor(() => expect(draftWrites(relay)).toHaveLength(1));
    expect(draftWrites(relay)[0].raw).toContain("the plan is at");
    expect((await relay.drafts(plain.channel.cid))[0].message.text).toBe(typed);
  });

  test("with encryptComposer after the app's setup: no draft and no /og request, and the message is ciphertext", async () => {
    const before = relay.requests.length;
    sealed.client.setMessageComposerSetupFunction(appSetup);
    const stop = encryptComposer(sealed.client, sealed.seal);
    try {
      await typeAndLeave(sealed, typed);
      const sent = relay.requests.slice(before);
      expect(sent.filter((r) => r.path === "/og")).toEqual([]);
      expect(sent.filter((r) => r.path.endsWith("/draft") && r.method === "POST")).toEqual([]);
      expect((await relay.drafts(sealed.channel.cid))).toEqual([]);
      const composer = sealed.channel.messageComposer;
      expect(composer.config.drafts.enabled).toBe(false);
      expect(composer.config.linkPreviews.enabled).toBe(false);

      // Unmounted, the app turns drafts back on: the composer still composes no draft.
      composer.updateConfig({ drafts: { enabled: true } });
      composer.textComposer.setText(typed);
      expect(composer.config.drafts.enabled).toBe(true);
      expect(await composer.composeDraft()).toBeUndefined();
      await composer.createDraft();
      expect(draftWrites(relay).slice(1)).toEqual([]);
      composer.clear();

      // Sending the same text: ciphertext only, no scraped preview attached.
      const { container } = render(<ChatView {...sealed} overrides={chatSealComponents} />);
      const input = await textarea(container);
      // Mounted again, the composer is hardened again, and stays so while it is in use.
      expect(composer.config.drafts.enabled).toBe(false);
      composer.updateConfig({ drafts: { enabled: true }, linkPreviews: { enabled: true } });
      expect(composer.config.drafts.enabled).toBe(false);
      expect(composer.config.linkPreviews.enabled).toBe(false);
      typeInto(fireEvent, input, typed);
      await waitFor(() => expect(composer.textComposer.text).toBe(typed));
      fireEvent.keyDown(input, { key: "Enter" });
      await waitFor(async () => expect((await relay.messages(sealed.channel.cid))).toHaveLength(1));
      const stored = (await relay.messages(sealed.channel.cid))[0];
      expect(isEncrypted(stored.text)).toBe(true);
      expect(stored.attachments).toEqual([]);
      const all = relay.requests.slice(before).map((r) => `${r.path}?${r.query} ${r.raw}`).join("\n");
      expect(all).not.toContain("plan-b-secret");
      expect(all).not.toContain("the plan is at");
      const send = relay.requests.slice(before).find((r) => r.path.endsWith("/message"));
      expect(send.body.skip_enrich_url).toBe(true);
    } finally {
      stop();
    }
  });
  test("a setup function the app registers after encryptComposer runs inside it and cannot switch encryption off", async () => {
    const stop = encryptComposer(sealed.client, sealed.seal);
    const ran = [];
    try {
      sealed.client.setMessageComposerSetupFunction((args) => {
        ran.push(args.composer.id);
        appSetup(args);
      });
      const { container } = render(<ChatView {...sealed} overrides={chatSealComponents} />);
      const before = relay.requests.length;
      const cid = sealed.channel.cid;
      for (const [i, text] of ["late setup: https://example.com/late-secret", "after null: the vault code"].entries()) {
        if (i === 1) sealed.client.setMessageComposerSetupFunction(null);
        const count = (await relay.messages(cid)).length;
        const input = await textarea(container);
        typeInto(fireEvent, input, text);
        await waitFor(() => expect(sealed.channel.messageComposer.textComposer.text).toBe(text));
        await sleep(100); // past the app's zero link-preview debounce
        fireEvent.keyDown(input, { key: "Enter" });
        await waitFor(async () => expect((await relay.messages(cid))).toHaveLength(count + 1));
        expect(isEncrypted((await relay.messages(cid)).at(-1).text)).toBe(true);
      }
      expect(ran.length).toBeGreaterThan(0);
      const sent = relay.requests.slice(before);
      expect(sent.filter((r) => r.path === "/og")).toEqual([]);
      const all = sent.map((r) => `${r.path}?${r.query} ${r.raw}`).join("\n");
      expect(all).not.toContain("late-secret");
      expect(all).not.toContain("vault code");
    } finally {
      stop();
      sealed.client.setMessageComposerSetupFunction(null);
    }
  });

  test("a link preview already in a composer's state is not attached to the message", async () => {
    const stop = encryptComposer(sealed.client, sealed.seal);
    try {
      const { container } = render(<ChatView {...sealed} overrides={chatSealComponents} />);
      const input = await textarea(container);
      const composer = sealed.channel.messageComposer;
      const url = "https://example.com/leaked-preview";
      // As if scraped before chatseal was set up (or by code that bypasses the config).
      composer.linkPreviewsManager.state.next({
        previews: new Map([[url, { og_scrape_url: url, status: "loaded", title: "Quarterly layoffs list", type: "article" }]]),
      });
      expect(composer.linkPreviewsManager.loadedPreviews).toHaveLength(1);
      const count = (await relay.messages(sealed.channel.cid)).length;
      typeInto(fireEvent, input, "see the link");
      await waitFor(() => expect(composer.textComposer.text).toBe("see the link"));
      fireEvent.keyDown(input, { key: "Enter" });
      await waitFor(async () => expect((await relay.messages(sealed.channel.cid))).toHaveLength(count + 1));
      expect((await relay.messages(sealed.channel.cid)).at(-1).attachments).toEqual([]);
      expect(relay.everythingSent()).not.toContain("layoffs");
      expect(relay.everythingSent()).not.toContain("leaked-preview");
    } finally {
      stop();
    }
  });
});

describe("attachments and failures", () => {
  let relay, alice, bob, ghost, ghostRoom, cid;

  beforeAll(async () => {
    relay = await startRelay();
    const a = uniqueId("alice");
    const b = uniqueId("bob");
    const g = uniqueId("ghost"); // a member with no chatseal keys
    const channelId = uniqueId("room");
    alice = await user(relay, a, { channelId, members: [a, b] });
    bob = await user(relay, b, { channelId, members: [a, b] });
    ghost = await user(relay, g, { channelId: uniqueId("room"), members: [g, a], register: false });
    ghostRoom = alice.client.channel("messaging", ghost.channel.id);
    await ghostRoom.watch();
    cid = alice.channel.cid;
  });

  afterEach(() => cleanup());
  afterAll(async () => {
    await closeAll(alice, bob, ghost);
    await relay?.close();
  });

  test("a file goes up only as ciphertext, the message names no file, and the other member opens it", async () => {
    // The app's own upload function (here a plain multipart POST to the relay, as stream-chat's
    // default upload cannot send a jsdom File from Node; the e2e test covers that one in
    // Chromium): chatseal encrypts first and hands it the ciphertext.
    const handed = [];
    const appUpload = async (file) => {
      handed.push({ name: file.name, type: file.type });
      const bytes = Buffer.from(await file.arrayBuffer());
      const boundary = "chatseal-test-boundary";
      const body = Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.name}"\r\nContent-Type: ${file.type}\r\n\r\n`),
        bytes,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      const r = await fetch(`${relay.url}/channels/messaging/${alice.channel.id}/file`, {
        method: "POST",
        headers: {
          authorization: alice.client.tokenManager.getToken(),
          "stream-auth-type": "jwt",
          "content-type": `multipart/form-data; boundary=${boundary}`,
        },
        body,
      });
      if (!r.ok) throw new Error(`upload: HTTP ${r.status}`);
      return r.json();
    };
    alice.client.setMessageComposerSetupFunction(({ composer: c }) => {
      c.updateConfig({ attachments: { doUploadRequest: appUpload } });
    });
    const stop = encryptComposer(alice.client, alice.seal);
    const secret = "contents of the secret file";
    const { container } = render(<ChatView {...alice} overrides={chatSealComponents} />);
    const input = await textarea(container);
    const composer = alice.channel.messageComposer;
    try {
      await composer.attachmentManager.uploadFiles([new File([secret], "secret-plan.txt", { type: "text/plain" })]);
      await waitFor(() => expect(composer.attachmentManager.attachments[0]?.localMetadata.uploadState).toBe("finished"));
      // The upload carried the ciphertext, as an opaque file.
      expect(handed).toEqual([{ name: "encrypted.bin", type: "application/octet-stream" }]);
      expect(uploads(relay)).toHaveLength(1);
      expect(uploads(relay)[0].raw).toContain("CSF1");
      expect(relay.everythingSent()).not.toContain(secret);
      expect(relay.everythingSent()).not.toContain("secret-plan");
      // The composer previews the plaintext from a local object URL, not the upload.
      expect(composer.attachmentManager.attachments[0].asset_url).toMatch(/^blob:/);

      typeInto(fireEvent, input, "the plan, attached");
      await waitFor(() => expect(composer.textComposer.text).toBe("the plan, attached"));
      fireEvent.keyDown(input, { key: "Enter" });
      const stored = await waitFor(async () => {
        const [message] = (await relay.messages(cid)).filter((m) => m.attachments?.length);
        if (!message) throw new Error("not stored yet");
        return message;
      });
      expect(isEncrypted(stored.text)).toBe(true);
      expect(stored.attachments).toHaveLength(1);
      const [attachment] = stored.attachments;
      expect(Object.keys(attachment).sort()).toEqual(["asset_url", "chatseal_file", "type"]);
      expect(attachment.type).toBe("chatseal");
      expect(isEncrypted(attachment.chatseal_file)).toBe(true);
      expect(relay.everythingSent()).not.toContain("secret-plan");

      // Bob: the descriptor says what the file is; the upload decrypts to the file.
      const info = await bob.seal.decrypt(attachment.chatseal_file, { from: alice.id, context: cid });
      expect(info.file).toMatchObject({ name: "secret-plan.txt", type: "text/plain", size: secret.length });
      const opened = await bob.seal.decryptFile(attachment.chatseal_file, await fetch(attachment.asset_url), {
        from: alice.id,
        context: cid,
      });
      expect(new TextDecoder().decode(await opened.arrayBuffer())).toBe(secret);
      // …and his message list offers it for download by name and size.
      const view = render(<ChatView {...bob} overrides={chatSealComponents} />);
      await waitFor(() => expect(view.container.querySelector('[data-chatseal="file-download"]')?.textContent).toMatch(/secret-plan\.txt · 27 B/), {
        timeout: 10_000,
      });
      // A click fetches and decrypts it into an object URL, revoked when the list unmounts.
      const urls = globalThis.__objectUrls;
      const before = urls.size;
      fireEvent.click(view.container.querySelector('[data-chatseal="file-download"]'));
      const link = await waitFor(() => {
        const a = view.container.querySelector('a[data-chatseal="file"]');
        if (!a) throw new Error("not decrypted yet");
        return a;
      });
      expect(link.getAttribute("download")).toBe("secret-plan.txt");
      expect(urls.size).toBe(before + 1);
      expect(new TextDecoder().decode(await urls.get(link.getAttribute("href")).arrayBuffer())).toBe(secret);
      view.unmount();
      expect(urls.size).toBe(before);
    } finally {
      stop();
      alice.client.setMessageComposerSetupFunction(null);
      composer.attachmentManager.initState();
      cleanup();
    }
  });

  test("an attachment that did not go through the encrypting upload is not sent", async () => {
    const stop = encryptComposer(alice.client, alice.seal);
    const { container } = render(<ChatView {...alice} overrides={chatSealComponents} />);
    const input = await textarea(container);
    const composer = alice.channel.messageComposer;
    const before = (await relay.messages(cid)).length;
    const errorsBefore = alice.client.notifications.notifications.length;
    try {
      composer.attachmentManager.upsertAttachments([
        { type: "file", asset_url: "https://files.invalid/plain.pdf", title: "plain-report.pdf", localMetadata: { id: "x1", uploadState: "finished" } },
      ]);
      typeInto(fireEvent, input, "with a plaintext attachment");
      await waitFor(() => expect(composer.textComposer.text).toBe("with a plaintext attachment"));
      fireEvent.keyDown(input, { key: "Enter" });
      await waitFor(() => expect(alice.client.notifications.notifications.length).toBeGreaterThan(errorsBefore));
      expect(alice.client.notifications.notifications.at(-1).message).toMatch(/not sent.*not end-to-end encrypted/i);
      await sleep(200);
      expect(await relay.messages(cid)).toHaveLength(before);
      expect(relay.everythingSent()).not.toContain("plain-report");
    } finally {
      composer.attachmentManager.initState();
      stop();
      cleanup();
    }
  });

  test("removing a file while it is encrypted aborts it: nothing is uploaded", async () => {
    const stop = encryptComposer(alice.client, alice.seal);
    render(<ChatView {...alice} overrides={chatSealComponents} />);
    const composer = alice.channel.messageComposer;
    const before = uploads(relay).length;
    const cancelledBefore = alice.seal.stats().cancelled;
    try {
      const big = new File([new Uint8Array(24 * 1024 * 1024)], "big.bin");
      const uploading = composer.attachmentManager.uploadFiles([big]);
      const id = await waitFor(() => {
        const attachment = composer.attachmentManager.attachments[0];
        if (attachment?.localMetadata.uploadState !== "uploading") throw new Error("not uploading yet");
        return attachment.localMetadata.id;
      });
      composer.attachmentManager.removeAttachments([id]);
      await uploading.catch(() => {});
      await sleep(300);
      expect(uploads(relay)).toHaveLength(before);
      // The abort reached encryptFile (counted as a cancelled call), before any upload.
      expect(alice.seal.stats().cancelled).toBeGreaterThan(cancelledBefore);
    } finally {
      composer.attachmentManager.initState();
      stop();
      cleanup();
    }
  });

  test("with plaintextAttachments the app's own upload function is left in place", async () => {
    const appUploads = [];
    const appUpload = async (fileLike) => {
      appUploads.push(fileLike.name);
      return { file: "http://files.invalid/app-upload" };
    };
    alice.client.setMessageComposerSetupFunction(({ composer: c }) => {
      c.updateConfig({ attachments: { doUploadRequest: appUpload } });
    });
    const stopWithFiles = encryptComposer(alice.client, alice.seal, { plaintextAttachments: true });
    const composer = alice.channel.messageComposer;
    try {
      const view = render(<ChatView {...alice} overrides={chatSealComponents} />);
      await textarea(view.container);
      composer.attachmentManager.initState();
      await composer.attachmentManager.uploadFiles([new File(["x"], "plain.txt")]);
      await waitFor(() => expect(appUploads).toEqual(["plain.txt"]));
    } finally {
      stopWithFiles();
      alice.client.setMessageComposerSetupFunction(null);
      composer.attachmentManager.initState();
    }
  });

  test("when a member has no keys the message is not sent, the text stays in the composer and the user is told", async () => {
    const stop = encryptComposer(alice.client, alice.seal);
    const text = "this must not go out in clear";
    try {
      const errorsBefore = alice.client.notifications.notifications.length;
      const { container } = render(<ChatView {...alice} channel={ghostRoom} overrides={chatSealComponents} />);
      const input = await textarea(container);
      typeInto(fireEvent, input, text);
      await waitFor(() => expect(ghostRoom.messageComposer.textComposer.text).toBe(text));
      fireEvent.keyDown(input, { key: "Enter" });
      await waitFor(() => expect(alice.client.notifications.notifications.length).toBeGreaterThan(errorsBefore));
      const note = alice.client.notifications.notifications.at(-1);
      expect(note.message).toMatch(/not sent/i);
      // In words, never the bare code; tied to the conversation it was written in.
      expect(note.message).toMatch(/not everyone in this conversation has set up encryption/);
      expect(note.message).not.toMatch(/UnknownSender|Directory/);
      expect(note.origin).toEqual({ emitter: "chatseal", context: { cid: ghostRoom.cid } });
      expect(note.originalError?.code).toBe("Directory");
      expect((await relay.messages(ghostRoom.cid))).toEqual([]);
      expect(relay.requests.filter((r) => r.path === `/channels/messaging/${ghostRoom.id}/message`)).toEqual([]);
      expect(relay.everythingSent()).not.toContain("must not go out");
      expect(ghostRoom.messageComposer.textComposer.text).toBe(text);
    } finally {
      stop();
    }
  });

  test("stop() puts back the app's own setup function, and the client checks its arguments", async () => {
    const own = () => {};
    alice.client.setMessageComposerSetupFunction(own);
    const stop = encryptComposer(alice.client, alice.seal);
    const current = () => alice.client._messageComposerSetupState.getLatestValue().setupFunction;
    expect(current()).not.toBe(own);
    stop();
    expect(current()).toBe(own);
    alice.client.setMessageComposerSetupFunction(null);
    expect(() => encryptComposer({}, alice.seal)).toThrow(TypeError);
    expect(() => encryptComposer(alice.client, {})).toThrow(TypeError);
    expect(() => encryptComposer(alice.client, alice.seal, { recipients: ["bob"] })).toThrow(TypeError);
  });
});
