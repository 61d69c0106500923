// The demo end to end, as its users meet it: people sign in in their own browsers
// (Playwright contexts on Debian's Chromium), make or restore keys, open a conversation,
// write, edit, reload — against a real `chatseal-relay` (directory, chat relay and the
// built app on one port; run.sh starts it). What leaves the browsers is captured (every
// WebSocket frame and request body) and the server's SQLite database is read directly: the
// texts people typed must appear in neither. Screenshots go to $E2E_ARTIFACTS.
import { after, before, describe } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";
import { ChatSeal, ChatSealError } from "chatseal";
import { streamCredentials, tokenGetter } from "../../tests/js/demo-backend.js";
import { authenticator, isLinkPollAnswer, launch, screenshotOnFailure } from "./browser.mjs";

const url = process.env.CHATSEAL_TEST_DIRECTORY;
const dbPath = process.env.CHATSEAL_TEST_DB;
const uploadsDir = process.env.CHATSEAL_TEST_UPLOADS;
const artifacts = process.env.E2E_ARTIFACTS;
if (!url || !dbPath || !uploadsDir || !artifacts) throw new Error("run these tests with www/e2e/run.sh");

const run = Math.random().toString(36).slice(2, 8);
const alice = `alice-${run}`;
const bob = `bob-${run}`;
const carol = `carol-${run}`;
const dave = `dave-${run}`;
const frank = `frank-${run}`; // never signs in: no keys in the directory
const password = "correct horse battery staple";
const texts = {
  first: `Your MRI results are ready ${run}`,
  edited: `Your MRI results are ready, no findings ${run}`,
  reply: `Thank you, doctor ${run}`,
  group: `Care team: bed 4 needs a review ${run}`,
  withFiles: `Your x-ray and the lab report ${run}`,
  imageName: `x-ray ${run}.png`,
  pdfName: `lab results (${run}).pdf`,
  pdfLine: `Lab results for the patient ${run}: all values in range`,
  unsent: `For frank, who has no keys yet ${run}`,
  typed: `One more thing, doctor ${run}`,
};

let browser;
/** Everything every page sent or received: WebSocket frames and HTTP request bodies. */
const wire = [];
/** Page errors and console errors, per page name. */
const problems = [];

/** The pages open now, screenshotted when a test fails. */
const open = new Set();

/** A test whose failure leaves a screenshot of every open page in $E2E_ARTIFACTS. */
const e2e = screenshotOnFailure(open, artifacts);

async function person(name, { width = 1280, height = 860 } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  const entry = { name, page };
  open.add(entry);
  context.on("close", () => open.delete(entry));
  page.on("websocket", (ws) => {
    ws.on("framesent", (f) => wire.push({ who: name, dir: "sent", data: String(f.payload) }));
    ws.on("framereceived", (f) => wire.push({ who: name, dir: "received", data: String(f.payload) }));
  });
  page.on("request", (r) => {
    const body = r.postData();
    wire.push({ who: name, dir: "http", data: `${r.method()} ${r.url()} ${body ?? ""}` });
  });
  page.on("pageerror", (e) => problems.push(`${name}: pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !isLinkPollAnswer(m)) problems.push(`${name}: console: ${m.text()}`);
  });
  return { name, context, page };
}

async function shot(page, file) {
  await page.screenshot({ path: join(artifacts, file), fullPage: false });
}

/** Signs in as `identity` on the login screen. */
async function signIn(page, identity) {
  await page.goto(url);
  await page.getByTestId("login-input").fill(identity);
  await page.getByTestId("login-submit").click();
}

/** Waits for the chat (the "who do you want to chat with" form). */
async function inChat(page) {
  await page.getByTestId("peer-input").waitFor({ timeout: 30_000 });
}

async function openConversation(page, peer) {
  // On a phone the conversation list is a drawer: open it unless it is open.
  const listToggle = page.getByTestId("list-toggle");
  if ((await listToggle.isVisible()) && (await listToggle.getAttribute("aria-expanded")) !== "true") {
    await listToggle.click();
  }
  await page.getByTestId("peer-input").fill(peer);
  await page.getByTestId("peer-open").click();
  await opened(page, peer);
}

/** Waits until the conversation shown is `title` (not the one before it) and can be written in. */
async function opened(page, title) {
  await page.locator(".str-chat__channel-header__data__title").getByText(title, { exact: true }).waitFor({ timeout: 15_000 });
  await composer(page).waitFor({ timeout: 15_000 });
}

const composer = (page) => page.locator("textarea.str-chat__message-textarea").first();
/** The text of the messages shown in the conversation (not the channel list's previews). */
const messageTexts = (page) => page.locator(".str-chat__message-text");

async function send(page, text) {
  const input = composer(page);
  await input.fill(text);
  await input.press("Enter");
  await expectText(page, text);
}

async function expectText(page, text, timeout = 15_000) {
  await messageTexts(page).getByText(text, { exact: true }).first().waitFor({ timeout });
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** axe-core's serious and critical findings on the page as it is now (WCAG 2 A/AA rules). */
async function accessibility(page) {
  // Let fade-ins finish first (stream-chat-react fades a header subtitle in over 0.2 s; halfway
  // through, its text is paler than it will be). Endless ones (the typing dots) are skipped.
  await page.waitForFunction(
    () =>
      document
        .getAnimations()
        .every((a) => a.playState !== "running" || a.effect?.getComputedTiming().iterations === Infinity),
    null,
    { timeout: 5_000 },
  );
  await page.addScriptTag({ content: axeSource });
  const found = await page.evaluate(async () => {
    const result = await window.axe.run(document, {
      runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"],
      // An experimental rule: stream-chat-react's channel row is named in words ("bob. 1 unread
      // message. Last message from bob: …") and leaves out the avatar's initials and the badge.
      rules: { "label-content-name-mismatch": { enabled: false } },
    });
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => {
        const node = v.nodes[0];
        const why = node?.any?.[0]?.message ?? node?.all?.[0]?.message ?? "";
        return `${v.id} (${v.impact}): ${v.nodes.length} × ${node?.target.join(" ")}: ${why}`;
      });
  });
  return found;
}

/** The stored rows of the relay's messages table, read from the database file. */
function storedMessages() {
  const out = execFileSync("python3", [
    "-c",
    "import json,sqlite3,sys; c=sqlite3.connect(sys.argv[1]); " +
      "print(json.dumps([dict(zip(('id','cid','user_id','text','extra'),r)) for r in " +
      "c.execute('SELECT id, cid, user_id, text, extra FROM relay_messages ORDER BY cid, seq')]))",
    dbPath,
  ]);
  return JSON.parse(out.toString("utf8"));
}

/** The backups the directory keeps for `identity`: the password one and each passkey's. */
function storedBackups(identity) {
  const out = execFileSync("python3", [
    "-c",
    "import json,sqlite3,sys; c=sqlite3.connect(sys.argv[1]); i=sys.argv[2]; " +
      "print(json.dumps([r[0] for r in c.execute('SELECT backup FROM backups WHERE identity=?', (i,))] + " +
      "[r[0] for r in c.execute('SELECT backup FROM passkey_backups WHERE identity=?', (i,))]))",
    dbPath,
    identity,
  ]);
  return JSON.parse(out.toString("utf8"));
}

/** Every upload the relay stored: name → bytes. */
function storedUploads() {
  return readdirSync(uploadsDir)
    .filter((name) => /^[0-9a-f]{32}$/.test(name))
    .map((name) => ({ name, bytes: readFileSync(join(uploadsDir, name)) }));
}

/** A PDF whose text is `line` (enough of one for a download and a byte comparison). */
function pdfWith(line) {
  return Buffer.from(
    `%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n` +
      `% ${line}\n${"% padding to more than one 64 KiB chunk\n".repeat(2000)}trailer <</Root 1 0 R>>\n%%EOF\n`,
  );
}

/** The database files' raw bytes (main file and write-ahead log). */
function databaseBytes() {
  return [dbPath, `${dbPath}-wal`].filter(existsSync).map((p) => readFileSync(p).toString("latin1")).join("");
}

/** The resolved font family of the first element `locator` finds. */
const fontOf = (locator) => locator.first().evaluate((el) => getComputedStyle(el).fontFamily);

/**
 * What is wrong with the avatars inside `locator` (a conversation's row or header): any two
 * circles that overlap, and any initials that their circle cuts off. Empty when none.
 */
function avatarProblems(locator) {
  return locator.first().evaluate((root) => {
    const found = [];
    const circles = [...root.querySelectorAll(".str-chat__avatar")];
    if (circles.length === 0) found.push("no avatar");
    const boxes = circles.map((c) => c.getBoundingClientRect());
    for (let i = 0; i < boxes.length; i += 1) {
      for (let j = i + 1; j < boxes.length; j += 1) {
        const [p, q] = [boxes[i], boxes[j]];
        const across = Math.min(p.right, q.right) - Math.max(p.left, q.left);
        const down = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
        if (across > 0.5 && down > 0.5) found.push(`avatars ${i} and ${j} overlap`);
      }
    }
    for (const [i, circle] of circles.entries()) {
      const text = circle.querySelector(".str-chat__avatar-initials");
      if (!text) continue;
      const t = text.getBoundingClientRect();
      const c = boxes[i];
      const inside = t.left >= c.left - 0.5 && t.right <= c.right + 0.5 && t.top >= c.top - 0.5 && t.bottom <= c.bottom + 0.5;
      if (!inside || text.scrollWidth > text.clientWidth + 1) found.push(`initials "${text.textContent}" of avatar ${i} are cut off`);
    }
    return found;
  });
}

describe("the demo", () => {
  let a, b;

  before(async () => {
    browser = await launch();
    a = await person("alice");
    b = await person("bob", { width: 375, height: 780 }); // a phone
  });

  after(async () => {
    await browser?.close();
    // What went over the wire, for whoever wants to look (an artifact like the screenshots).
    writeFileSync(join(artifacts, "wire.jsonl"), wire.map((w) => JSON.stringify(w)).join("\n") + "\n");
  });

  e2e("two people register, one makes a backup; both reach the chat", async () => {
    await signIn(a.page, alice);
    await a.page.getByTestId("backup-password").fill(password);
    await a.page.getByTestId("backup-password-confirm").fill(password);
    await shot(a.page, "01-alice-backup.png");
    await a.page.getByTestId("backup-submit").click();
    await inChat(a.page);

    await signIn(b.page, bob);
    await b.page.getByTestId("backup-skip").click();
    await inChat(b.page);
    await shot(b.page, "02-bob-phone-empty.png");
  });

  e2e("on a phone the top bar shows the whole name, and the empty states use the app's font", async () => {
    const who = b.page.locator(".topbar__who");
    assert.equal((await b.page.getByTestId("identity").textContent()).trim(), bob);
    const [scroll, client] = await who.evaluate((el) => [el.scrollWidth, el.clientWidth]);
    assert.ok(scroll <= client, `the name is cut off: ${scroll} px of it in ${client} px`);
    // Nothing in the bar is pushed out of the screen either.
    const right = await b.page.locator(".topbar").evaluate((bar) => Math.max(...[...bar.querySelectorAll("button")].map((x) => x.getBoundingClientRect().right)));
    assert.ok(right <= 375, `a top bar button ends at ${right} px`);
    // The list toggle keeps its name for screen readers and touch users.
    assert.equal(await b.page.getByRole("button", { name: "Chats" }).count(), 1);
    const app = await fontOf(b.page.getByText("Who do you want to chat with?"));
    assert.equal(await fontOf(b.page.getByText("No conversations yet")), app, "the empty list's font");
  });

  e2e("they exchange messages both ways and edit one; each sees the other's plaintext", async () => {
    await openConversation(a.page, bob);
    await send(a.page, texts.first);
    await openConversation(b.page, alice);
    await expectText(b.page, texts.first);
    await send(b.page, texts.reply);
    await expectText(a.page, texts.reply);

    // Alice edits her message through stream-chat-react's message actions.
    const mine = a.page.locator(".str-chat__message", { has: messageTexts(a.page).getByText(texts.first, { exact: true }) });
    await mine.hover();
    await mine.getByTestId("message-actions-toggle-button").click();
    await a.page.getByText(/^edit message$/i).click();
    const editor = composer(a.page);
    // The composer opens the edit with the plaintext, not the stored ciphertext.
    await a.page.waitForFunction(
      (t) => [...document.querySelectorAll("textarea.str-chat__message-textarea")].some((e) => e.value === t),
      texts.first,
      { timeout: 10_000 },
    );
    await editor.fill(texts.edited);
    await editor.press("Enter");
    await expectText(a.page, texts.edited);
    await expectText(b.page, texts.edited);
    await shot(a.page, "03-alice-conversation.png");
    await shot(b.page, "04-bob-phone-conversation.png");
  });

  e2e("bob sees alice typing, and the dots go when her message arrives", async () => {
    const dots = b.page.getByTestId("typing-indicator");
    const input = composer(a.page);
    await input.pressSequentially(texts.typed.slice(0, 12));
    await dots.waitFor({ timeout: 15_000 });
    await input.fill(texts.typed);
    await input.press("Enter");
    await expectText(b.page, texts.typed);
    // The message is there: no one is typing it any more.
    assert.equal(await dots.count(), 0, "typing dots after the message arrived");
  });

  e2e("the conversation list and the bubbles write a time the same way, in the browser's locale", async () => {
    const row = a.page.locator(".str-chat__channel-list [data-testid='channel-list-item-button']", { hasText: bob });
    const listed = (await row.locator(".str-chat__channel-list-item-timestamp").textContent()).trim();
    const bubble = a.page.locator(".str-chat__message", { has: messageTexts(a.page).getByText(texts.typed, { exact: true }) });
    const time = bubble.locator("time").first();
    const shown = (await time.textContent()).trim();
    const expected = await time.evaluate((el) =>
      new Intl.DateTimeFormat(navigator.language, { hour: "numeric", minute: "2-digit" }).format(new Date(el.dateTime)),
    );
    assert.equal(shown, expected, "the bubble's time");
    assert.equal(listed, expected, "the list's time of the same, latest message");
  });

  e2e("alice attaches an image and a PDF; bob sees the image and saves the PDF; the relay stores only ciphertext", async () => {
    // A real PNG (a piece of her own screen) and a PDF of two chunks and more.
    const png = await a.page.screenshot({ clip: { x: 0, y: 0, width: 160, height: 120 } });
    const pdf = pdfWith(texts.pdfLine);
    const before = new Set(storedUploads().map((u) => u.name));
    await a.page.locator('input[data-testid="file-input"]').first().setInputFiles([
      { name: texts.imageName, mimeType: "image/png", buffer: png },
      { name: texts.pdfName, mimeType: "application/pdf", buffer: pdf },
    ]);
    // Both previews are there and uploaded (no progress indicator left), then send.
    await a.page.locator(".str-chat__attachment-preview-media, .str-chat__attachment-preview-file").nth(1).waitFor({ timeout: 15_000 });
    await a.page.waitForFunction(() => !document.querySelector(".str-chat__attachment-preview-list [class*='uploading']"), null, { timeout: 30_000 });
    const input = composer(a.page);
    await input.fill(texts.withFiles);
    await input.press("Enter");
    await expectText(a.page, texts.withFiles);

    // Bob sees the image decrypted, and saves the PDF with one click.
    await expectText(b.page, texts.withFiles);
    const image = b.page.locator('img[data-chatseal="image"]').last();
    await image.waitFor({ timeout: 20_000 });
    await b.page.waitForFunction((el) => el.complete && el.naturalWidth === 160, await image.elementHandle(), { timeout: 10_000 });
    assert.equal(await image.getAttribute("alt"), texts.imageName);
    const button = b.page.locator('[data-chatseal="file-download"]').last();
    assert.match(await button.textContent(), new RegExp(texts.pdfName.replace(/[().]/g, "\\$&")));
    const [download] = await Promise.all([b.page.waitForEvent("download", { timeout: 20_000 }), button.click()]);
    assert.equal(download.suggestedFilename(), texts.pdfName);
    assert.ok(readFileSync(await download.path()).equals(pdf), "the saved PDF is the one alice attached");
    await shot(b.page, "05-bob-attachments.png");
    await shot(a.page, "05-alice-attachments.png");

    // What the relay stored: two new uploads, each a CSF1 encrypted file holding neither file.
    const added = storedUploads().filter((u) => !before.has(u.name));
    assert.equal(added.length, 2, `new uploads: ${added.map((u) => u.name)}`);
    for (const { name, bytes } of added) {
      assert.equal(bytes.subarray(0, 4).toString("latin1"), "CSF1", `${name} is an encrypted file`);
      assert.ok(!bytes.includes(png.subarray(64, 128)) && !bytes.includes(pdf.subarray(0, 64)), `${name} holds no plaintext`);
    }
    // The stored message names no file: its attachments are the sealed descriptors.
    const row = storedMessages().find((r) => r.user_id === alice && JSON.parse(r.extra ?? "{}").attachments?.length);
    const attachments = JSON.parse(row.extra).attachments;
    assert.equal(attachments.length, 2);
    for (const att of attachments) {
      assert.deepEqual(Object.keys(att).sort(), ["asset_url", "chatseal_file", "type"]);
      assert.equal(att.type, "chatseal");
      assert.match(att.chatseal_file, /^csp2\./); // sent in alice and bob's one-to-one chat
    }
  });

  e2e("an upload altered on the server shows as damaged, and nothing of it is displayed", async () => {
    const row = storedMessages().find((r) => r.user_id === alice && JSON.parse(r.extra ?? "{}").attachments?.length);
    const imageUpload = JSON.parse(row.extra).attachments.map((a) => a.asset_url.split("/").pop());
    // Flip one byte in the middle of each stored file of that message.
    for (const name of imageUpload) {
      const path = join(uploadsDir, name);
      const bytes = readFileSync(path);
      bytes[Math.floor(bytes.length / 2)] ^= 0x01;
      writeFileSync(path, bytes);
    }
    const cdp = await b.context.newCDPSession(b.page);
    // The uploads are served as immutable: bypass the copies bob's browser cached.
    await cdp.send("Network.enable");
    await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
    await b.page.reload();
    // On the phone the reloaded app reopens the conversation with its list closed.
    await b.page.locator('[data-testid="peer-input"]:visible, [data-testid="list-toggle"]:visible').first().waitFor({ timeout: 30_000 });
    await openConversation(b.page, alice);
    await expectText(b.page, texts.withFiles);
    const message = b.page.locator(".str-chat__message", { has: messageTexts(b.page).getByText(texts.withFiles, { exact: true }) });
    await message.locator('[data-chatseal="error"]').first().waitFor({ timeout: 20_000 });
    assert.equal(await message.locator('img[data-chatseal="image"]').count(), 0, "no image shown from a damaged upload");
    await message.locator('[data-chatseal="file-download"]').click();
    await assert.rejects(b.page.waitForEvent("download", { timeout: 3_000 }));
    assert.equal(await message.locator('[data-chatseal="error"]').count(), 2, "both files say they are damaged");
    await shot(b.page, "05-bob-damaged-attachments.png");
    await cdp.send("Network.setCacheDisabled", { cacheDisabled: false });
  });

  e2e("a group of three: everyone in it reads the message", async () => {
    const d = await person("dave");
    try {
      await signIn(d.page, dave);
      await d.page.getByTestId("backup-skip").click();
      await inChat(d.page);
      await a.page.getByTestId("group-toggle").click();
      await a.page.getByTestId("group-name").fill("Care team");
      await a.page.getByTestId("group-members").fill(`${bob}, ${dave}`);
      await a.page.getByTestId("group-create").click();
      await opened(a.page, "Care team");
      await send(a.page, texts.group);
      // Its avatar, in alice's list and in the header: initials in full, no circles on top of each other.
      const row = a.page.locator(".str-chat__channel-list [data-testid='channel-list-item-button']", { hasText: "Care team" });
      assert.deepEqual(await avatarProblems(row), [], "the group's avatar in the list");
      assert.deepEqual(await avatarProblems(a.page.locator(".str-chat__channel-header")), [], "the group's avatar in the header");
      // Dave is told of the new channel (notification.added_to_channel) and opens it from his list.
      await d.page.locator(".str-chat__channel-list").getByText("Care team").first().click();
      await opened(d.page, "Care team");
      await expectText(d.page, texts.group);
      await shot(d.page, "05-dave-group.png");
    } finally {
      await d.context.close();
    }
    await openConversation(a.page, bob);
  });

  e2e("bob reads the group's message: its unread badge in his list goes away without a reload", async () => {
    // Bob (on the phone) was added to the group and never opened it: his list says 1 unread.
    await b.page.getByTestId("list-toggle").click();
    const row = b.page.locator(".str-chat__channel-list [data-testid='channel-list-item-button']", { hasText: "Care team" });
    const badge = row.getByTestId("unread-badge");
    await badge.waitFor({ timeout: 15_000 });
    assert.equal((await badge.textContent()).trim(), "1");
    await row.click();
    await opened(b.page, "Care team");
    await expectText(b.page, texts.group);
    // Back in the list: the conversation he just read has no badge (the relay's
    // notification.mark_read), with no reload in between.
    await b.page.getByTestId("list-toggle").click();
    await row.waitFor();
    await badge.waitFor({ state: "detached", timeout: 15_000 });
    // The drawer has finished sliding in (for the screenshot).
    await b.page.waitForFunction(() => document.querySelector("#sidebar").getBoundingClientRect().left >= 0, null, { timeout: 5_000 });
    await shot(b.page, "05-bob-phone-read.png");
    await b.page.keyboard.press("Escape");
  });

  e2e("a conversation with someone without keys says it is not encrypted yet, and offers no safety number", async () => {
    await openConversation(a.page, frank);
    const badge = a.page.getByTestId("e2ee-badge");
    await badge.filter({ hasText: /not encrypted yet/i }).waitFor({ timeout: 15_000 });
    assert.equal((await badge.textContent()).trim(), `Not encrypted yet: ${frank} has no keys`);
    assert.equal(await a.page.getByTestId("safety-toggle").count(), 0, "no safety number without a key");
    assert.equal(await a.page.getByTestId("verified-badge").count(), 0);
    // The empty conversation's invitation is in the app's font.
    const app = await fontOf(a.page.getByText("Who do you want to chat with?"));
    assert.equal(await fontOf(a.page.getByText("Send a message to start the conversation")), app);
    // With bob, who has keys: encrypted, and his safety number is there.
    await openConversation(a.page, bob);
    await badge.filter({ hasText: /End-to-end encrypted/ }).waitFor({ timeout: 15_000 });
    await a.page.getByTestId("safety-toggle").waitFor();
  });

  e2e("a message to someone without keys is not sent; the notice says why in words and stays with its conversation", async () => {
    await openConversation(a.page, frank);
    const input = composer(a.page);
    await input.fill(texts.unsent);
    await input.press("Enter");
    const notice = a.page.getByTestId("send-error");
    await notice.waitFor({ timeout: 15_000 });
    const said = await notice.textContent();
    assert.match(said, /^Message not sent: not everyone in this conversation has set up encryption yet\./);
    assert.doesNotMatch(said, /Directory|\(.*[A-Z][a-z]+[A-Z].*\)/, "no internal error code");
    assert.equal(await input.inputValue(), texts.unsent, "the text stays in the composer");
    await shot(a.page, "05-alice-not-sent.png");
    // Another conversation: neither the notice nor a toast about it.
    await openConversation(a.page, bob);
    assert.equal(await a.page.getByTestId("send-error").count(), 0);
    assert.equal(await a.page.locator(".str-chat__notification", { hasText: /not sent/i }).count(), 0);
    // Back in frank's, it is there again until dismissed.
    await openConversation(a.page, frank);
    await notice.waitFor();
    await notice.getByRole("button", { name: "Dismiss" }).click();
    await notice.waitFor({ state: "detached" });
    await composer(a.page).fill("");
    await openConversation(a.page, bob);
  });

  e2e("a reload reopens the conversation that was open, not the newest one", async () => {
    // Frank's conversation has no message at all: the list's last; the group is its newest.
    await openConversation(a.page, frank);
    await a.page.reload();
    await opened(a.page, frank);
    await openConversation(a.page, bob);
  });

  e2e("the server's database and every frame on the wire hold only ciphertext (csp2. one-to-one, csg2. in the group)", async () => {
    const rows = storedMessages().filter((r) => r.user_id === alice || r.user_id === bob);
    assert.ok(rows.length >= 3, `rows: ${JSON.stringify(rows)}`);
    const groupRows = rows.filter((r) => !r.cid.includes("!members-"));
    assert.ok(groupRows.length >= 1, "the group's message is stored");
    for (const row of rows) {
      // One-to-one chats are pairwise messages (§11); the group of three, a group session (§9)
      // (the demo's groupThreshold is 1, so no channel here is sent per message, §3).
      const form = groupRows.includes(row) ? /^csg2\./ : /^csp2\./;
      assert.match(row.text, form, `stored text of ${row.id} in ${row.cid}`);
    }
    const bytes = databaseBytes();
    const all = wire.map((w) => w.data).join("\n");
    for (const text of Object.values(texts)) {
      assert.ok(!bytes.includes(text), `the database file contains "${text}"`);
      assert.ok(!all.includes(text), `something on the wire contains "${text}"`);
    }
    // Every message event on the sockets carries ciphertext.
    let events = 0;
    for (const w of wire.filter((x) => x.dir === "received")) {
      let event;
      try {
        event = JSON.parse(w.data);
      } catch {
        continue;
      }
      if (event?.message?.text) {
        events += 1;
        assert.match(event.message.text, /^cs[pg]2\./, `${w.who} received ${event.type}`);
      }
    }
    assert.ok(events >= 4, `message events seen on the sockets: ${events}`);
  });

  e2e("the \"what the server sees\" panel shows the stored ciphertext", async () => {
    await a.page.getByTestId("server-sees-toggle").click();
    const rows = a.page.getByTestId("stored-message");
    await rows.first().waitFor();
    const shown = await rows.allTextContents();
    assert.ok(shown.length >= 2, `panel rows: ${shown.length}`);
    // The panel is alice and bob's one-to-one channel: pairwise messages (§11).
    for (const text of shown) assert.match(text.trim(), /^csp2\./);
    await shot(a.page, "06-alice-server-sees.png");
    await a.page.getByTestId("server-close").click();
  });

  e2e("someone who is not a member can neither fetch the channel nor decrypt its messages", async () => {
    const cid = storedMessages().find((r) => r.user_id === bob).cid;
    const [type, id] = cid.split(":");
    const stream = await streamCredentials(url, carol);
    const r = await fetch(`${url}/channels/${type}/${encodeURIComponent(id)}/query`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: stream.token },
      body: "{}",
    });
    assert.equal(r.status, 403, "the relay refuses a non-member");
    // Carol with keys of her own, handed the ciphertext (as a curious server could):
    const seal = await ChatSeal.open({
      identity: carol,
      directoryUrl: url,
      getToken: tokenGetter(url, carol),
      storage: "memory",
    });
    await seal.register();
    const row = storedMessages().find((x) => x.user_id === bob);
    await assert.rejects(seal.decrypt(row.text, { from: bob, context: cid }), (e) => {
      assert.ok(e instanceof ChatSealError);
      assert.equal(e.code, "NotARecipient");
      return true;
    });
    // The group's message: the directory gives her no share of its session.
    const groupRow = storedMessages().find((x) => x.text.startsWith("csg2."));
    await assert.rejects(seal.decrypt(groupRow.text, { from: alice, context: groupRow.cid }), (e) => {
      assert.equal(e.code, "NoSessionKey");
      return true;
    });
    seal.close();
  });

  e2e("after a reload the history decrypts with the keys kept in IndexedDB", async () => {
    await a.page.reload();
    await inChat(a.page);
    await openConversation(a.page, bob);
    await expectText(a.page, texts.edited);
    await expectText(a.page, texts.reply);
    assert.equal(await a.page.getByTestId("restore-password").count(), 0);
  });

  e2e("clearing the site's data loses the keys here; the backup brings them and the history back", async () => {
    const cdp = await a.context.newCDPSession(a.page);
    await cdp.send("Storage.clearDataForOrigin", { origin: new URL(url).origin, storageTypes: "all" });
    await a.page.reload();
    // The name was forgotten with the rest: sign in again, then restore.
    await a.page.getByTestId("login-input").fill(alice);
    await a.page.getByTestId("login-submit").click();
    await a.page.getByTestId("restore-password").fill(password);
    await a.page.getByTestId("restore-submit").click();
    await inChat(a.page);
    await openConversation(a.page, bob);
    await expectText(a.page, texts.edited);
    await expectText(a.page, texts.reply);
  });

  e2e("a new browser restores the keys from the backup and reads the history", async () => {
    const fresh = await person("alice-new-browser");
    try {
      await signIn(fresh.page, alice);
      await fresh.page.getByTestId("restore-password").waitFor();
      await fresh.page.getByTestId("restore-password").fill("not the password");
      await fresh.page.getByTestId("restore-submit").click();
      await fresh.page.getByTestId("restore-error").waitFor();
      await shot(fresh.page, "07-restore-wrong-password.png");
      await fresh.page.getByTestId("restore-password").fill(password);
      await fresh.page.getByTestId("restore-submit").click();
      await inChat(fresh.page);
      await openConversation(fresh.page, bob);
      await expectText(fresh.page, texts.edited);
      await expectText(fresh.page, texts.reply);
      await shot(fresh.page, "08-restored-history.png");
      // Her own group message too: through the share of the session she gave herself.
      await fresh.page.locator(".str-chat__channel-list").getByText("Care team").first().click();
      await opened(fresh.page, "Care team");
      await expectText(fresh.page, texts.group);
    } finally {
      await fresh.context.close();
    }
  });

  // WebAuthn needs a domain as its relying-party id (an IP address is refused), so the
  // passkey tests use the same server as localhost: another origin, hence a new browser.
  const local = url.replace("127.0.0.1", "localhost");

  async function openKeys(page) {
    await page.getByTestId("keys-open").click();
    await page.getByTestId("keys-dialog").waitFor();
  }

  e2e("a passkey backup brings the keys and the history back after the browser's data is wiped", async () => {
    const p = await person("alice-passkey");
    try {
      const cdp = await authenticator(p.page);
      await p.page.goto(local);
      await p.page.getByTestId("login-input").fill(alice);
      await p.page.getByTestId("login-submit").click();
      await p.page.getByTestId("restore-password").fill(password);
      await p.page.getByTestId("restore-submit").click();
      await inChat(p.page);
      await openKeys(p.page);
      await p.page.getByTestId("add-passkey").click();
      await p.page.getByTestId("passkey-note").waitFor();
      assert.equal(await p.page.getByTestId("passkey-list").locator("li").count(), 1);
      await shot(p.page, "09-passkey-added.png");
      // Wipe this browser's data (the passkey stays in the authenticator), then restore
      // with the passkey alone.
      await cdp.send("Storage.clearDataForOrigin", { origin: new URL(local).origin, storageTypes: "all" });
      await p.page.reload();
      await p.page.getByTestId("login-input").fill(alice);
      await p.page.getByTestId("login-submit").click();
      await p.page.getByTestId("restore-passkey").click();
      await inChat(p.page);
      await openConversation(p.page, bob);
      await expectText(p.page, texts.edited);
      await expectText(p.page, texts.reply);
      const stored = storedBackups(alice);
      assert.ok(stored.some((t) => t.startsWith("csw1.")), "a csw1. backup is at the directory");
      assert.ok(stored.some((t) => t.startsWith("csb1.")), "the password backup stays");
    } finally {
      await p.context.close();
    }
  });

  e2e("a passkey without PRF is refused before anything is stored", async () => {
    const p = await person("alice-no-prf");
    try {
      await authenticator(p.page, { prf: false });
      const before = storedBackups(alice).length;
      await p.page.goto(local);
      await p.page.getByTestId("login-input").fill(alice);
      await p.page.getByTestId("login-submit").click();
      await p.page.getByTestId("restore-password").fill(password);
      await p.page.getByTestId("restore-submit").click();
      await inChat(p.page);
      await openKeys(p.page);
      await p.page.getByTestId("add-passkey").click();
      const error = await p.page.getByTestId("passkey-error").textContent({ timeout: 15_000 });
      assert.match(error, /no PRF support/);
      assert.equal(storedBackups(alice).length, before, "no backup was written");
    } finally {
      await p.context.close();
    }
  });

  e2e("a new browser is linked by QR text: the codes match, it reads the history and sends", async () => {
    const fresh = await person("alice-linked");
    try {
      await signIn(fresh.page, alice);
      await fresh.page.getByTestId("link-start").click();
      const qr = await fresh.page.getByTestId("link-qr").inputValue();
      assert.match(qr, /^chatseal:link:[A-Za-z0-9_-]{64}$/);
      await shot(fresh.page, "10-link-qr.png");
      await openKeys(a.page);
      // Typed by hand, with stray spaces around it.
      await a.page.getByTestId("link-accept-text").fill(`  ${qr} `);
      await a.page.getByTestId("link-accept").click();
      const sent = await a.page.getByTestId("link-accept-code").locator(".link-code").textContent();
      assert.match(sent, /^\d{6}$/);
      const shown = await fresh.page.getByTestId("link-code").textContent({ timeout: 15_000 });
      assert.equal(shown, sent, "both screens show the same code");
      await fresh.page.getByTestId("link-confirm").click();
      await inChat(fresh.page);
      await openConversation(fresh.page, bob);
      await expectText(fresh.page, texts.edited);
      const linked = `Sent from the linked browser ${run}`;
      await send(fresh.page, linked);
      await openConversation(b.page, alice);
      await expectText(b.page, linked, 30_000);
      // The same QR text again: the link is used up.
      await a.page.getByTestId("link-accept-text").fill(qr);
      await a.page.getByTestId("link-accept").click();
      assert.match(await a.page.getByTestId("link-accept-error").textContent(), /already used/);
      await a.page.getByTestId("keys-close").click();
    } finally {
      await fresh.context.close();
    }
  });

  e2e("an offer the directory altered is refused and nothing is stored", async () => {
    const fresh = await person("alice-link-altered");
    try {
      // A hostile directory: flips one character of the offer it hands over.
      await fresh.page.route("**/v2/link/*", async (route) => {
        if (route.request().method() !== "GET") return route.continue();
        const response = await route.fetch();
        if (response.status() !== 200) return route.fulfill({ response });
        const body = await response.json();
        const i = body.offer.length - 10;
        body.offer = body.offer.slice(0, i) + (body.offer[i] === "A" ? "B" : "A") + body.offer.slice(i + 1);
        return route.fulfill({ response, json: body });
      });
      await signIn(fresh.page, alice);
      await fresh.page.getByTestId("link-start").click();
      const qr = await fresh.page.getByTestId("link-qr").inputValue();
      await openKeys(a.page);
      await a.page.getByTestId("link-accept-text").fill(qr);
      await a.page.getByTestId("link-accept").click();
      await a.page.getByTestId("link-accept-code").waitFor();
      await a.page.getByTestId("keys-close").click();
      const error = await fresh.page.getByTestId("link-error").textContent({ timeout: 15_000 });
      assert.match(error, /not sealed for this browser/);
      assert.equal(await fresh.page.getByTestId("link-code").count(), 0, "no code to confirm");
      // Still on the restore screen, with no keys: a reload asks for them again.
      await fresh.page.reload();
      await fresh.page.getByTestId("restore-password").waitFor();
    } finally {
      await fresh.context.close();
    }
  });

  e2e("a link that gets no offer expires after five minutes with a clear error", async () => {
    const fresh = await person("alice-link-expired");
    try {
      await fresh.page.clock.install();
      await signIn(fresh.page, alice);
      await fresh.page.getByTestId("link-start").click();
      await fresh.page.getByTestId("link-qr").waitFor();
      await fresh.page.clock.fastForward("05:05");
      const error = await fresh.page.getByTestId("link-error").textContent({ timeout: 15_000 });
      assert.match(error, /five minutes/);
    } finally {
      await fresh.context.close();
    }
  });

  e2e("no serious accessibility problem on the sign-in, keys and chat screens (axe-core, WCAG 2.1 AA)", async () => {
    const p = await person("accessibility", { width: 375, height: 780 });
    try {
      await p.page.goto(url);
      await p.page.getByTestId("login-input").waitFor();
      const found = { login: await accessibility(p.page) };
      await p.page.getByTestId("login-input").fill(`erin-${run}`);
      await p.page.getByTestId("login-submit").click();
      await p.page.getByTestId("backup-password").waitFor();
      found.backup = await accessibility(p.page);
      await p.page.getByTestId("backup-skip").click();
      await inChat(p.page);
      await openConversation(p.page, bob);
      found.chatPhone = await accessibility(p.page);
      found.chatDesktop = await accessibility(a.page);
      assert.deepEqual(found, { login: [], backup: [], chatPhone: [], chatDesktop: [] });
    } finally {
      await p.context.close();
    }
  });

  e2e("no page error and no console error in any browser", () => {
    assert.deepEqual(problems, []);
  });
});
