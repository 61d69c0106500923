// Opens a fixture app in headless Chromium and checks that it shows the decrypted
// message and the plain one. Usage: node browser-check.mjs URL
import { chromium } from "playwright-core";

const url = process.argv[2];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic"],
});
let failed = false;
let page = null;
const problems = [];
try {
  page = await browser.newPage();
  page.on("pageerror", (e) => problems.push("pageerror: " + e.message));
  // csp.html probes eval once; the browser reports the refusal it must make on the console.
  const strict = /\/csp\.html/.test(url);
  const probe = /Refused to evaluate a string as JavaScript because 'unsafe-eval' is not an allowed source/;
  page.on("console", (m) => m.type() === "error" && !(strict && probe.test(m.text())) && problems.push("console: " + m.text()));
  await page.goto(url);
  await page.waitForSelector("#after, #status[data-error]", { timeout: 30000 });
  const status = await page.$eval("#status", (e) => ({ ...e.dataset, text: e.textContent.trim() }));
  const messages = await page.$$eval(".message", (ps) => ps.map((p) => [p.dataset.status, p.textContent]));
  const after = await page.$eval("#after", (e) => ({ cancelled: +e.dataset.cancelled, decrypted: +e.dataset.decrypted }));
  const expected = [
    ["ok", "Hello from the fixture app"],
    ["ok", "plain text passes through"],
    ["ok", "sent through wrapSend"],
    ["error", "can't verify sender"],
    ["error", "from another conversation"],
  ];
  const ok =
    status.encrypted === "true" &&
    status.leak === "false" &&
    // Under csp.html eval must be refused; the other pages do not probe it.
    (!strict || status.eval === "false") &&
    JSON.stringify(messages) === JSON.stringify(expected) &&
    after.cancelled > 0 &&
    after.cancelled + after.decrypted === 40 + 2 && // the history, and the two messages above it that decrypt
    problems.length === 0;
  console.log(JSON.stringify({ url: url.replace(/\?.*/, ""), status, messages, history: after, problems, ok }));
  failed = !ok;
} catch (e) {
  console.error("browser-check:", e.message.split("\n")[0], JSON.stringify({ problems, body: await page.textContent("body").catch(() => "?") }));
  failed = true;
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
