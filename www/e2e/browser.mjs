// What the end-to-end tests share: Debian's Chromium, launched as they all launch it, a
// test whose failure leaves a screenshot of every page still open, a virtual passkey
// authenticator, and which console errors are the protocol working.
import { test } from "node:test";
import { join } from "node:path";
import { chromium } from "playwright-core";

/** Headless Chromium (Debian's, or $CHROMIUM). */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic"],
  });
}

/**
 * `test(name, fn)` for pages in `open` (a Set of `{ name, page }`): when `fn` fails, each
 * page's screenshot goes to `dir` as `<prefix>failed-<test>-<page>.png`.
 * @param {Set<{ name: string, page: import("playwright-core").Page }>} open
 * @param {string} dir
 * @param {string} [prefix]
 */
export function screenshotOnFailure(open, dir, prefix = "") {
  return (name, fn) =>
    test(name, async () => {
      try {
        await fn();
      } catch (error) {
        const slug = name.replace(/[^a-z0-9]+/gi, "-").slice(0, 40);
        for (const p of open) {
          await p.page.screenshot({ path: join(dir, `${prefix}failed-${slug}-${p.name}.png`), fullPage: false }).catch(() => {});
        }
        throw error;
      }
    });
}

/**
 * A virtual authenticator (DevTools protocol) in `page`, as a platform passkey; with the
 * WebAuthn `prf` extension unless told. Resolves to its CDP session.
 * @param {import("playwright-core").Page} page
 */
export async function authenticator(page, { prf = true } = {}) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      ctap2Version: "ctap2_1",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      hasPrf: prf,
      automaticPresenceSimulation: true,
    },
  });
  return cdp;
}

/**
 * True for a console error that is the protocol working. Chromium logs every 4xx answer;
 * two are expected: a new device polls GET /v2/link/{id}, which is 404 until the offer is
 * there (PROTOCOL §7), and a replayed link is 409 (LinkUsed, tested).
 * @param {import("playwright-core").ConsoleMessage} message
 */
export function isLinkPollAnswer(message) {
  return /\/v2\/link\/[0-9a-f]{32}$/.test(message.location().url) && /status of (404|409)/.test(message.text());
}
