// The patient portal (www/portal/, served at /portal/ by the same `chatseal-relay` as the
// React demo): a plain HTML page with no framework and no bundler that embeds
// `<chatseal-chat>`. A patient and a clinician sign in in their own browsers (Playwright
// contexts on Debian's Chromium), write to each other — by mouse and by keyboard alone —
// and the relay's database holds only ciphertext. The page's CSP is strict and nothing
// violates it; axe-core finds nothing in the light and the dark theme. Screenshots at 320 px
// and 1280 px go to docs/ (and failures' to $E2E_ARTIFACTS).
import { after, before, describe } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { isEncrypted } from "chatseal";
import { authenticator, isLinkPollAnswer, launch, screenshotOnFailure } from "./browser.mjs";

const url = process.env.CHATSEAL_TEST_DIRECTORY;
const dbPath = process.env.CHATSEAL_TEST_DB;
const artifacts = process.env.E2E_ARTIFACTS;
if (!url || !dbPath || !artifacts) throw new Error("run these tests with www/e2e/run.sh");
const docs = fileURLToPath(new URL("../../docs/", import.meta.url));

const run = Math.random().toString(36).slice(2, 8);
const patient = `pat-${run}`;
const clinician = `dr-${run}`;
const cid = `messaging:care-${patient}`;
const texts = {
  question: `Is my blood test back? ${run}`,
  answer: `Yes, all values are in range ${run}`,
  keyboard: `Typed without a mouse ${run}`,
};

let browser;
/** Page errors, console errors and CSP violations, per person. */
const problems = [];
const open = new Set();

const e2e = screenshotOnFailure(open, artifacts, "portal-");

async function person(name, { width = 1280, height = 860 } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  // Before any of the page's scripts: what the page's CSP refuses, and what the widget tells
  // the page (its DOM events bubble out of the shadow root).
  await page.addInitScript(() => {
    window.__csp = [];
    window.__events = [];
    document.addEventListener("securitypolicyviolation", (e) =>
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`),
    );
    for (const type of ["chatseal-message", "chatseal-key-change", "chatseal-error"]) {
      document.addEventListener(type, (e) => window.__events.push({ type, detail: e.detail }));
    }
  });
  page.on("pageerror", (e) => problems.push(`${name}: pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !isLinkPollAnswer(m)) problems.push(`${name}: console: ${m.text()}`);
  });
  const entry = { name, page };
  open.add(entry);
  context.on("close", () => open.delete(entry));
  return { name, context, page };
}

/** Signs in on the portal's page as `me` (`role`), talking with `other`. */
async function signIn(page, role, me, other, path = "/portal/") {
  await fillSignIn(page, role, me, other, `${url}${path}`);
  await page.locator("chatseal-chat[data-state='online']").waitFor({ timeout: 30_000 });
}

/** The sign-in form only, at `address`: what follows is the widget's. */
async function fillSignIn(page, role, me, other, address) {
  await page.goto(address);
  await page.getByLabel(role === "patient" ? "a patient" : "a clinician").check();
  await page.getByTestId("portal-me").fill(me);
  await page.getByTestId("portal-other").fill(other);
  await page.getByTestId("portal-signin").click();
}

const chat = (page) => page.locator("chatseal-chat");
/** The "Your keys are in another browser" panel. */
const restorePanel = (page) => chat(page).getByRole("region", { name: "Your keys are in another browser" });

/** The message rows (Playwright's locators pierce the open shadow root). */
const rows = (page) => chat(page).locator("article.message");

async function expectText(page, text, timeout = 15_000) {
  await rows(page).locator(".text").getByText(text, { exact: true }).first().waitFor({ timeout });
}

async function send(page, text) {
  const input = chat(page).getByRole("textbox", { name: "Message" });
  await input.fill(text);
  await input.press("Enter");
  await expectText(page, text);
}

/** The relay's stored rows of `cid`, read from its database file. */
function storedMessages(channel) {
  const out = execFileSync("python3", [
    "-c",
    "import json,sqlite3,sys; c=sqlite3.connect(sys.argv[1]); " +
      "print(json.dumps([dict(zip(('id','user_id','text'),r)) for r in " +
      "c.execute('SELECT id, user_id, text FROM relay_messages WHERE cid = ? ORDER BY seq', (sys.argv[2],))]))",
    dbPath,
    channel,
  ]);
  return JSON.parse(out.toString("utf8"));
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** Every axe-core finding (WCAG 2.0–2.2 A and AA rules) on the page as it is now. */
async function accessibility(page) {
  // Evaluated through the DevTools protocol, not a <script> the page's CSP would refuse.
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const result = await window.axe.run(document, {
      runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"],
    });
    return result.violations.map((v) => {
      const node = v.nodes[0];
      const why = node?.any?.[0]?.message ?? node?.all?.[0]?.message ?? node?.none?.[0]?.message ?? "";
      return `${v.id} (${v.impact}): ${v.nodes.length} × ${JSON.stringify(node?.target)}: ${why}`;
    });
  });
}

describe("the patient portal", () => {
  let p, c;

  before(async () => {
    browser = await launch();
    p = await person("patient");
    c = await person("clinician");
  });

  after(async () => {
    await browser?.close();
  });

  e2e("patient and clinician open the conversation on /portal/, without React or a bundler", async () => {
    await signIn(p.page, "patient", patient, clinician);
    await signIn(c.page, "clinician", clinician, patient, "/portal"); // without the slash too
    // The page loads ES modules by an import map, and the WebAssembly as its own file.
    const loaded = await p.page.evaluate(() => performance.getEntriesByType("resource").map((e) => e.name));
    assert.ok(loaded.some((n) => n.endsWith("/portal/vendor/chatseal/web/chatseal_bg.wasm")), "the .wasm file");
    assert.ok(!loaded.some((n) => /react/i.test(n)), "no React on the page");
    assert.equal(await p.page.evaluate(() => document.querySelectorAll("script:not([type=importmap]):not([src])").length), 0);
  });

  e2e("they write both ways; each sees the other's plaintext; the relay stores ciphertext", async () => {
    await send(p.page, texts.question);
    await expectText(c.page, texts.question);
    await send(c.page, texts.answer);
    await expectText(p.page, texts.answer);
    // Who wrote what, as each side sees it.
    const mine = rows(c.page).filter({ hasText: texts.answer });
    assert.equal(await mine.getAttribute("data-status"), "ok");
    assert.equal(await mine.evaluate((el) => el.hasAttribute("data-mine")), true);
    assert.equal(await rows(p.page).filter({ hasText: texts.answer }).evaluate((el) => el.hasAttribute("data-mine")), false);

    const stored = storedMessages(cid);
    assert.ok(stored.length >= 2, `stored rows of ${cid}: ${stored.length}`);
    for (const row of stored) {
      assert.ok(isEncrypted(row.text), `stored text is not ciphertext: ${row.text.slice(0, 40)}`);
      for (const t of Object.values(texts)) assert.ok(!row.text.includes(t), "plaintext in the relay's database");
    }
    assert.deepEqual(new Set(stored.map((r) => r.user_id)), new Set([patient, clinician]));
  });

  e2e("the widget's DOM events carry no plaintext (the page did not ask for it)", async () => {
    const events = await p.page.evaluate(() => window.__events);
    const messages = events.filter((e) => e.type === "chatseal-message");
    assert.ok(messages.length >= 2, `chatseal-message events: ${messages.length}`);
    assert.ok(messages.some((e) => e.detail.mine && e.detail.encrypted && e.detail.status === "ok"));
    assert.ok(messages.some((e) => !e.detail.mine && e.detail.sender === clinician));
    const json = JSON.stringify(events);
    for (const t of Object.values(texts)) assert.ok(!json.includes(t), "plaintext in a DOM event");
    assert.ok(messages.every((e) => !("text" in e.detail)));
    assert.deepEqual(events.filter((e) => e.type === "chatseal-error"), []);
  });

  e2e("keyboard only: Tab to the message field, type, Enter sends", async () => {
    const page = p.page;
    await page.evaluate(() => document.activeElement?.blur());
    let reached = false;
    for (let i = 0; i < 20 && !reached; i += 1) {
      await page.keyboard.press("Tab");
      reached = await page.evaluate(() => {
        const host = document.activeElement;
        return host?.localName === "chatseal-chat" && host.shadowRoot.activeElement?.localName === "textarea";
      });
    }
    assert.ok(reached, "Tab never reached the message field");
    // The focus is visible: an outline drawn around the field.
    const outline = await page.evaluate(() => {
      const field = document.querySelector("chatseal-chat").shadowRoot.activeElement;
      const style = getComputedStyle(field);
      return { style: style.outlineStyle, width: parseFloat(style.outlineWidth) };
    });
    assert.notEqual(outline.style, "none");
    assert.ok(outline.width >= 2, `outline ${outline.width}px`);
    await page.keyboard.type(texts.keyboard);
    await page.keyboard.press("Enter");
    await expectText(page, texts.keyboard);
    await expectText(c.page, texts.keyboard);
    // The field is empty again and keeps the focus for the next message.
    assert.equal(await chat(page).getByRole("textbox", { name: "Message" }).inputValue(), "");
    assert.ok(await page.evaluate(() => document.querySelector("chatseal-chat").shadowRoot.activeElement?.localName === "textarea"));
  });

  e2e("the message list is a polite live region, labelled", async () => {
    const log = chat(p.page).getByRole("log", { name: "Messages" });
    assert.equal(await log.getAttribute("aria-live"), "polite");
    assert.ok((await log.locator("article.message").count()) >= 3);
  });

  e2e("the page's CSP is strict and nothing on the page violates it", async () => {
    for (const { page } of [p, c]) {
      const csp = await page.evaluate(() => document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.content);
      assert.ok(csp, "no CSP on the page");
      const directives = Object.fromEntries(csp.split(";").map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
      assert.ok(directives["script-src"].includes("'self'"));
      for (const dir of ["script-src", "style-src", "default-src"]) {
        for (const bad of ["'unsafe-inline'", "'unsafe-eval'", "*", "data:"]) {
          assert.ok(!directives[dir].includes(bad), `${dir} allows ${bad}`);
        }
      }
      assert.deepEqual(directives["style-src"], ["'self'"]);
      // The widget styles itself by constructable stylesheets only.
      const inline = await page.evaluate(() => {
        const root = document.querySelector("chatseal-chat").shadowRoot;
        return {
          adopted: root.adoptedStyleSheets.length,
          styleElements: root.querySelectorAll("style").length + document.querySelectorAll("style").length,
          styleAttributes: root.querySelectorAll("[style]").length + document.querySelectorAll("[style]").length,
        };
      });
      assert.deepEqual(inline, { adopted: 1, styleElements: 0, styleAttributes: 0 });
      assert.deepEqual(await page.evaluate(() => window.__csp), []);
    }
  });

  e2e("Spanish labels, and labels the page overrides", async () => {
    const page = c.page;
    await page.evaluate(() => document.querySelector("chatseal-chat").setAttribute("lang", "es"));
    await chat(page).getByRole("button", { name: "Enviar" }).waitFor();
    await chat(page).getByRole("textbox", { name: "Mensaje" }).waitFor();
    await page.evaluate(() => {
      document.querySelector("chatseal-chat").labels = { send: "Mandar" };
    });
    await chat(page).getByRole("button", { name: "Mandar" }).waitFor();
    await page.evaluate(() => {
      const el = document.querySelector("chatseal-chat");
      el.labels = null;
      el.removeAttribute("lang");
    });
    await chat(page).getByRole("button", { name: "Send" }).waitFor();
    // Nothing restarted: the conversation is still there.
    await expectText(page, texts.answer);
  });

  e2e("axe-core finds no WCAG 2.2 A/AA violation, light and dark", async () => {
    for (const scheme of ["light", "dark"]) {
      for (const { name, page } of [p, c]) {
        await page.emulateMedia({ colorScheme: scheme });
        const found = await accessibility(page);
        assert.deepEqual(found, [], `${name}, ${scheme}`);
      }
      await p.page.screenshot({ path: join(artifacts, `portal-${scheme}.png`) });
    }
    await p.page.emulateMedia({ colorScheme: "light" });
  });

  e2e("screenshots at 320 px and 1280 px (docs/)", async () => {
    const page = p.page;
    await page.setViewportSize({ width: 320, height: 720 });
    // Nothing wider than the screen.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(overflow <= 320, `the page is ${overflow} px wide at 320 px`);
    await page.screenshot({ path: join(docs, "widget-320.png") });
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.screenshot({ path: join(docs, "widget-1280.png") });
  });

  e2e("offline, the chat says it is reconnecting; back online, it sends again", async () => {
    const status = chat(p.page).getByRole("status");
    await p.context.setOffline(true);
    await chat(p.page).and(p.page.locator("[data-state='offline']")).waitFor({ timeout: 15_000 });
    assert.equal((await status.textContent()).trim(), "Connection lost. Reconnecting…");
    await p.context.setOffline(false);
    await chat(p.page).and(p.page.locator("[data-state='online']")).waitFor({ timeout: 30_000 });
    assert.equal((await status.textContent()).trim(), "Connected · end-to-end encrypted");
    // The clinician's page asks for the plaintext in its events from now on.
    await c.page.evaluate(() => document.querySelector("chatseal-chat").setAttribute("expose-plaintext", ""));
    const back = `Back online ${run}`;
    await send(p.page, back);
    await expectText(c.page, back);
    const told = (await c.page.evaluate(() => window.__events)).filter((e) => e.type === "chatseal-message");
    assert.equal(told.at(-1)?.detail.text, back, "expose-plaintext puts the text in the event");
    assert.ok(told.slice(0, -1).every((e) => !("text" in e.detail)), "and only from then on");
  });

  e2e("a message that cannot be decrypted shows its label, and is reported by code", async () => {
    // Straight through the chat client, past chatseal's composer: what a broken or hostile
    // client could post.
    const id = await c.page.evaluate(async () => {
      const sent = await document.querySelector("chatseal-chat").channel.sendMessage({ text: "csp2.AAAA" });
      return sent.message.id;
    });
    const row = rows(p.page).and(p.page.locator(`[data-id="${id}"]`));
    await row.locator(".text").getByText("damaged message", { exact: true }).waitFor({ timeout: 15_000 });
    assert.equal(await row.getAttribute("data-status"), "error");
    const reported = (await p.page.evaluate(() => window.__events)).find((e) => e.detail.id === id);
    assert.equal(reported?.detail.status, "error");
    assert.equal(reported?.detail.code, "Malformed");
  });

  e2e("the clinician starts over with new keys: the patient sees the key-change banner, and accepts", async () => {
    // New keys that do not follow from the old ones (unregister, then register again).
    await c.page.evaluate(() => document.querySelector("chatseal-chat").seal.unregister());
    await signIn(c.page, "clinician", clinician, patient);
    const after = `Sent with my new keys ${run}`;
    await send(c.page, after);
    await expectText(p.page, after);
    const banner = chat(p.page).getByRole("alert").filter({ hasText: `${clinician}'s security key changed` });
    await banner.waitFor({ timeout: 15_000 });
    await p.page.screenshot({ path: join(artifacts, "portal-key-change.png") });
    assert.equal(await rows(p.page).filter({ hasText: after }).getAttribute("data-key-changed"), "");
    const changes = (await p.page.evaluate(() => window.__events)).filter((e) => e.type === "chatseal-key-change");
    assert.equal(changes.at(-1)?.detail.identity, clinician);
    // Nothing goes to the new key until the patient accepts it.
    const input = chat(p.page).getByRole("textbox", { name: "Message" });
    const reply = `Thanks, I compared the numbers ${run}`;
    await input.fill(reply);
    await input.press("Enter");
    await chat(p.page).locator(".composer-error").getByText(/not sent/i).waitFor({ timeout: 15_000 });
    assert.equal(await input.inputValue(), reply, "the text stays in the field");
    await banner.getByRole("button", { name: "I checked, accept" }).click();
    await banner.waitFor({ state: "detached", timeout: 15_000 });
    await input.press("Enter");
    await expectText(p.page, reply);
    await expectText(c.page, reply);
    // The failed send was reported to the page, without the text.
    const errors = (await p.page.evaluate(() => window.__events)).filter((e) => e.type === "chatseal-error");
    assert.ok(errors.some((e) => e.detail.phase === "send"));
    assert.ok(!JSON.stringify(errors).includes(reply));
  });

  e2e("a row removed while it decrypts aborts its decrypt (and the directory request under it)", async () => {
    // The patient's browser cannot reach the directory's cards for now: the decrypt of a
    // message from a new card waits on that request.
    let held = 0;
    await p.page.route("**/v2/cards**", () => {
      held += 1; // never answered
    });
    const stats = () => p.page.evaluate(() => document.querySelector("chatseal-chat").seal.stats());
    const before = await stats();
    await c.page.evaluate(() => document.querySelector("chatseal-chat").seal.unregister());
    await signIn(c.page, "clinician", clinician, patient);
    const gone = `Sent by mistake ${run}`;
    await send(c.page, gone);
    const id = await rows(c.page).filter({ hasText: gone }).getAttribute("data-id");
    const row = p.page.locator(`chatseal-chat article.message[data-id="${id}"]`);
    await row.and(p.page.locator("[data-status='pending']")).waitFor({ timeout: 15_000 });
    assert.ok(held > 0, "the decrypt did not ask the directory");
    // The clinician deletes it for good: the row goes, and its decrypt is cancelled.
    await c.page.evaluate((messageId) => document.querySelector("chatseal-chat").client.deleteMessage(messageId, true), id);
    await row.waitFor({ state: "detached", timeout: 15_000 });
    await p.page.waitForFunction(
      (cancelled) => document.querySelector("chatseal-chat").seal.stats().cancelled > cancelled,
      before.cancelled,
      { timeout: 10_000 },
    );
    assert.equal((await stats()).decrypted, before.decrypted, "nothing was decrypted meanwhile");
    await p.page.unrouteAll({ behavior: "ignoreErrors" });
  });

  e2e("a second browser: the restore panel (axe-clean), linked from the first by QR text and code", async () => {
    const n = await person("patient-new");
    try {
      await fillSignIn(n.page, "patient", patient, clinician, `${url}/portal/`);
      const panel = restorePanel(n.page);
      await panel.waitFor({ timeout: 30_000 });
      assert.equal(await chat(n.page).getAttribute("data-state"), "restoring");
      assert.equal(await chat(n.page).getByRole("textbox", { name: "Message" }).isVisible(), false);
      await panel.getByLabel("Backup password").waitFor();
      assert.deepEqual(await accessibility(n.page), [], "the restore panel");
      await n.page.screenshot({ path: join(artifacts, "portal-restore.png") });

      await panel.getByRole("button", { name: "Link from another device" }).click();
      const qr = await panel.getByRole("textbox", { name: "Link text" }).inputValue();
      assert.match(qr, /^chatseal:link:/);
      const svg = panel.getByRole("img", { name: "QR code to scan from your other device" });
      const box = await svg.evaluate((el) => ({
        viewBox: el.getAttribute("viewBox"),
        rect: el.querySelector("rect")?.getAttribute("fill"),
        path: el.querySelector("path")?.getAttribute("d")?.length ?? 0,
      }));
      assert.match(box.viewBox, /^0 0 \d+ \d+$/);
      assert.equal(box.rect, "#fff");
      assert.ok(box.path > 0);
      assert.deepEqual(await accessibility(n.page), [], "the restore panel, linking");
      await n.page.screenshot({ path: join(artifacts, "portal-restore-link.png") });

      // The first browser sends its keys from the keys menu, by keyboard.
      const toggle = chat(p.page).getByRole("button", { name: "Keys", exact: true });
      await toggle.focus();
      await p.page.keyboard.press("Enter");
      assert.equal(await toggle.getAttribute("aria-expanded"), "true");
      const menu = chat(p.page).getByRole("region", { name: "Keys", exact: true });
      const field = menu.getByRole("textbox", { name: "The new device's link text" });
      await field.fill(qr);
      await menu.getByRole("button", { name: "Send my keys" }).click();
      const sent = menu.getByRole("status").filter({ hasText: "Sent." });
      await sent.waitFor({ timeout: 30_000 });
      const code = (await sent.textContent()).match(/\b\d{6}\b/)?.[0];
      assert.ok(code, `no code in "${await sent.textContent()}"`);
      assert.deepEqual(await accessibility(p.page), [], "the keys menu");
      await p.page.screenshot({ path: join(artifacts, "portal-keys-menu.png") });
      const shown = panel.locator(".link-code");
      await shown.waitFor({ timeout: 30_000 });
      assert.equal((await shown.textContent()).trim(), code, "both browsers show the same code");
      await n.page.screenshot({ path: join(artifacts, "portal-restore-code.png") });

      // The same link text again: already used.
      await field.fill(qr);
      await menu.getByRole("button", { name: "Send my keys" }).click();
      await menu.getByRole("alert").getByText("That link was already used", { exact: false }).waitFor({ timeout: 15_000 });
      // Escape closes the menu and gives the focus back to its button.
      await field.press("Escape");
      assert.equal(await toggle.getAttribute("aria-expanded"), "false");
      assert.equal(await menu.isVisible(), false);
      assert.ok(await p.page.evaluate(() => document.querySelector("chatseal-chat").shadowRoot.activeElement?.getAttribute("part") === "keys-toggle"));

      await panel.getByRole("button", { name: "The codes match" }).click();
      await n.page.locator("chatseal-chat[data-state='online']").waitFor({ timeout: 30_000 });
      await expectText(n.page, texts.question);
      await expectText(n.page, texts.answer);
      // The history holds the clinician's older keys (they started over twice above): this
      // browser warns about the change, and sends once the patient accepts it.
      const linked = `From my linked browser ${run}`;
      const input = chat(n.page).getByRole("textbox", { name: "Message" });
      await input.fill(linked);
      await input.press("Enter");
      const banner = chat(n.page).getByRole("alert").filter({ hasText: "security key changed" });
      const sentText = rows(n.page).locator(".text").getByText(linked, { exact: true }).first();
      await sentText.or(banner.first()).waitFor({ timeout: 15_000 });
      if (!(await sentText.isVisible())) {
        while ((await banner.count()) > 0) {
          await banner.first().getByRole("button", { name: "I checked, accept" }).click();
          await n.page.waitForTimeout(200);
        }
        if ((await input.inputValue()) === linked) await input.press("Enter");
        await expectText(n.page, linked);
      }
      await expectText(c.page, linked);
      assert.deepEqual(await n.page.evaluate(() => window.__csp), []);
    } finally {
      await n.context.close();
    }
  });

  e2e("a passkey from the keys menu restores the keys after the browser's data is wiped", async () => {
    // WebAuthn needs a domain as its relying-party id (an IP address is refused): the same
    // server as localhost, another origin, so a new browser. A password backup first.
    const password = `correct horse ${run}`;
    await p.page.evaluate((pw) => document.querySelector("chatseal-chat").seal.backup(pw), password);
    const local = url.replace("127.0.0.1", "localhost");
    const n = await person("patient-passkey");
    try {
      const cdp = await authenticator(n.page);
      await fillSignIn(n.page, "patient", patient, clinician, `${local}/portal/`);
      const panel = restorePanel(n.page);
      await panel.getByLabel("Backup password").fill(`wrong ${run}`);
      await panel.getByRole("button", { name: "Restore", exact: true }).click();
      await panel.getByRole("alert").getByText("That did not open your keys", { exact: false }).waitFor({ timeout: 30_000 });
      await panel.getByLabel("Backup password").fill(password);
      await panel.getByRole("button", { name: "Restore", exact: true }).click();
      await n.page.locator("chatseal-chat[data-state='online']").waitFor({ timeout: 30_000 });
      await expectText(n.page, texts.answer);

      await chat(n.page).getByRole("button", { name: "Keys", exact: true }).click();
      const menu = chat(n.page).getByRole("region", { name: "Keys", exact: true });
      await menu.getByRole("button", { name: "Add a passkey" }).click();
      await menu.getByRole("status").getByText("Passkey saved", { exact: false }).waitFor({ timeout: 30_000 });

      await cdp.send("Storage.clearDataForOrigin", { origin: new URL(local).origin, storageTypes: "all" });
      await fillSignIn(n.page, "patient", patient, clinician, `${local}/portal/`);
      await restorePanel(n.page).getByRole("button", { name: "Restore with a passkey" }).click();
      await n.page.locator("chatseal-chat[data-state='online']").waitFor({ timeout: 30_000 });
      await expectText(n.page, texts.question);
      await expectText(n.page, texts.answer);
    } finally {
      await n.context.close();
    }
  });

  e2e("no page errors, console errors or CSP violations anywhere", async () => {
    for (const { page } of [p, c]) assert.deepEqual(await page.evaluate(() => window.__csp), []);
    assert.deepEqual(problems, []);
  });
});
