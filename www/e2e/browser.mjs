// What the end-to-end tests share: Debian's Chromium, launched as they all launch it, and a
// test whose failure leaves a screenshot of every page still open.
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
