// The floor under chatseal's per-message times and download (issue 7), in one Node
// process, libraries interleaved in rounds:
//   - a whole 1:1 decrypt+verify of a 200-byte message to 2, through chatseal's low-level
//     API and through libsodium-wrappers (the benchmark's adapters, benches/browser);
//   - the two public-key operations PROTOCOL §3 requires of every message, from the same
//     crates and release profile as chatseal's wasm (benches/floor/lib.rs): the HPKE open
//     of the content key and an Ed25519 verify_strict (the sender's key parsed once);
//   - libsodium's own three (crypto_box_seal_open, crypto_sign_verify_detached, and the
//     X25519 inside the first);
//   - gzip -9 of what a browser downloads: chatseal's package against the floor's wasm
//     and glue.
// Usage: node benches/floor/run.mjs FLOOR_NODE_PKG FLOOR_WEB_PKG   (make bench-floor)
import { createRequire } from "node:module";
import { copyFileSync, readFileSync, readdirSync, statSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const [nodePkg, webPkg] = process.argv.slice(2);
if (!nodePkg || !webPkg) throw new Error("usage: node run.mjs FLOOR_NODE_PKG FLOOR_WEB_PKG");
const browserDir = join(here, "../browser");
const requireThere = createRequire(join(browserDir, "package.json"));
const { chatsealAdapter, sodiumAdapter } = await import(join(browserDir, "adapters.js"));
// chatseal as `import "chatseal"` gets it in Node (the package's node/import entry).
const cs = chatsealAdapter(await import(join(dirname(requireThere.resolve("chatseal/package.json")), "index.mjs")));
const sodium = requireThere("libsodium-wrappers");
const na = sodiumAdapter(sodium);
const floor = createRequire(import.meta.url)(join(nodePkg, "chatseal_floor.js"));
await cs.init();
await na.init();

// ---------------------------------------------------------------- inputs
const text = "x".repeat(200);
const context = "dm:alice:bob";
const csAlice = cs.keygen("alice@floor");
const csBob = cs.keygen("bob@floor");
const csWire = cs.encrypt(csAlice, text, [csBob.pub], context);
const naAlice = na.keygen("alice@floor");
const naBob = na.keygen("bob@floor");
const naWire = na.encrypt(naAlice, text, [naBob.pub], context);

const xSecret = floor.random(32);
const xPublic = floor.x25519_public(xSecret);
const info = floor.random(60); // about the size of chatseal's cek_info
const aad = floor.random(32);
const sealedCek = floor.hpke_seal(xPublic, info, aad, floor.random(32));
const seed = floor.random(32);
const signed = floor.random(560); // what §3 signs for a 200-byte message to 2
const signature = floor.ed25519_sign(seed, signed);
const verifier = new floor.Verifier(floor.ed25519_public(seed));
const peer = floor.random(32);
const cek = floor.random(32);

const naSealed = sodium.crypto_box_seal(floor.random(32), naBob.box.publicKey);
const naSig = sodium.crypto_sign_detached(signed, naAlice.sign.privateKey);
const naPeer = sodium.crypto_scalarmult_base(sodium.randombytes_buf(32));

const check = (ok, what) => { if (!ok) throw new Error(`${what} failed`); };
check(cs.decrypt(csBob, csWire, csAlice.pub, "alice@floor", context) === text, "chatseal decrypt");
check(na.decrypt(naBob, naWire, naAlice.pub, "alice@floor", context) === text, "libsodium decrypt");
check(verifier.verify(signed, signature), "floor verify");
check(floor.hpke_open(xSecret, info, aad, sealedCek).length === 32, "floor hpke open");

// ---------------------------------------------------------------- workloads
const workloads = {
  "chatseal: decrypt+verify 200 B (1:1), whole": () => cs.decrypt(csBob, csWire, csAlice.pub, "alice@floor", context),
  "floor: HPKE open of the CEK + Ed25519 verify_strict": () => {
    floor.hpke_open(xSecret, info, aad, sealedCek);
    verifier.verify(signed, signature);
  },
  "floor: HPKE open of the CEK": () => floor.hpke_open(xSecret, info, aad, sealedCek),
  "floor: Ed25519 verify_strict (key parsed once)": () => verifier.verify(signed, signature),
  "floor: X25519 (one scalar multiplication)": () => floor.x25519(xSecret, peer),
  "floor: X25519 public key of a secret (fixed base)": () => floor.x25519_public(xSecret),
  "floor: HPKE seal of a CEK (one recipient stanza, §3)": () => floor.hpke_seal(xPublic, info, aad, cek),
  "floor: Ed25519 sign (§3: one per message)": () => floor.ed25519_sign(seed, signed),
  "libsodium: decrypt+verify 200 B (1:1), whole": () => na.decrypt(naBob, naWire, naAlice.pub, "alice@floor", context),
  "libsodium: crypto_box_seal_open + crypto_sign_verify_detached": () => {
    sodium.crypto_box_seal_open(naSealed, naBob.box.publicKey, naBob.box.privateKey);
    sodium.crypto_sign_verify_detached(naSig, signed, naAlice.sign.publicKey);
  },
  "libsodium: crypto_box_seal_open": () => sodium.crypto_box_seal_open(naSealed, naBob.box.publicKey, naBob.box.privateKey),
  "libsodium: crypto_sign_verify_detached": () => sodium.crypto_sign_verify_detached(naSig, signed, naAlice.sign.publicKey),
  "libsodium: crypto_scalarmult (X25519)": () => sodium.crypto_scalarmult(naBob.box.privateKey, naPeer),
};
const ROUNDS = 7;
const BATCH = 100;
const samples = Object.fromEntries(Object.keys(workloads).map((k) => [k, []]));
for (const f of Object.values(workloads)) for (let i = 0; i < BATCH; i++) f(); // warm-up
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, f] of Object.entries(workloads)) {
    const start = performance.now();
    for (let i = 0; i < BATCH; i++) f();
    samples[name].push((performance.now() - start) / BATCH);
  }
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const ms = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
const naWhole = ms["libsodium: decrypt+verify 200 B (1:1), whole"];
const csWhole = ms["chatseal: decrypt+verify 200 B (1:1), whole"];
console.log(`Node ${process.version}, ${ROUNDS} rounds of ${BATCH} calls each, interleaved; median ms per call\n`);
console.log(`${"workload".padEnd(64)} ${"ms".padStart(7)}  ÷ libsodium whole  ÷ chatseal whole`);
for (const [name, v] of Object.entries(ms)) {
  console.log(`${name.padEnd(64)} ${v.toFixed(4).padStart(7)}  ${(v / naWhole).toFixed(2).padStart(15)}×  ${(v / csWhole).toFixed(2).padStart(14)}×`);
}

// ---------------------------------------------------------------- browser init
// The benchmark's own page and static server (benches/browser): a fresh page per load,
// the time from importing the bundle to a library ready to use (fetch, compile and
// instantiate the wasm). chatseal as the benchmark bundles it; the floor as wasm-bindgen
// emits it (its glue is a few kB).
{
  const { buildAll } = await import(join(browserDir, "build.mjs"));
  const { startServer } = await import(join(browserDir, "server.mjs"));
  const { chromium } = requireThere("playwright-core");
  const out = join(here, "../../target/floor/browser-build");
  const { dist } = await buildAll(out);
  for (const f of ["chatseal_floor.js", "chatseal_floor_bg.wasm"]) copyFileSync(join(webPkg, f), join(dist, f));
  copyFileSync(join(here, "page.js"), join(dist, "floor.js"));
  const server = await startServer(dist);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic"],
  });
  const libs = ["chatseal", "floor", "libsodium-wrappers"];
  const PAGES = 12;
  const inits = Object.fromEntries(libs.map((l) => [l, []]));
  const perCall = {}; // name → per-call samples (ms) in Chromium
  const add = (name, values) => (perCall[name] ||= []).push(...values);
  try {
    for (let round = 0; round < PAGES; round++) {
      // Each library goes first in turn (a page after another may pay for its clean-up).
      for (const lib of [...libs.slice(round % libs.length), ...libs.slice(0, round % libs.length)]) {
        const context = await browser.newContext();
        const page = await context.newPage();
        await page.goto(`${server.url}/bench.html?lib=${lib}`);
        inits[lib].push((await page.evaluate(() => window.benchReady)).initMs);
        // Every third page of each library also times the per-message work.
        if (round % 3 === 0) {
          if (lib === "floor") {
            const m = await page.evaluate(() => window.bench.measure());
            add("floor: HPKE open of the CEK + Ed25519 verify_strict", m.openVerify);
            add("floor: HPKE open of the CEK", m.open);
            add("floor: Ed25519 verify_strict (key parsed once)", m.verify);
            add("floor: X25519 (one scalar multiplication)", m.x25519);
            add("floor: HPKE seal of a CEK (one recipient stanza, §3)", m.seal);
          } else {
            const res = await page.evaluate(() => window.bench.run("small", "full"));
            add(`${lib}: decrypt+verify 200 B (1:1), whole`, res.metrics.decrypt2);
          }
        }
        await context.close();
      }
    }
  } finally {
    await browser.close();
    await server.close();
  }
  console.log(`\nChromium ${browser.version()}: init (import the bundle, fetch + compile + instantiate the wasm), ${PAGES} fresh pages each, median [min–max] ms`);
  for (const lib of libs) {
    const v = inits[lib];
    console.log(`${lib.padEnd(20)} ${median(v).toFixed(1).padStart(7)} [${Math.min(...v).toFixed(1)}–${Math.max(...v).toFixed(1)}]`);
  }
  const sodiumWhole = median(perCall["libsodium-wrappers: decrypt+verify 200 B (1:1), whole"]);
  const chatsealWhole = median(perCall["chatseal: decrypt+verify 200 B (1:1), whole"]);
  console.log(`\nChromium: per call, ${perCall["chatseal: decrypt+verify 200 B (1:1), whole"].length} samples each (4 pages), median ms`);
  console.log(`${"workload".padEnd(64)} ${"ms".padStart(7)}  ÷ libsodium whole  ÷ chatseal whole`);
  for (const [name, v] of Object.entries(perCall)) {
    const m = median(v);
    console.log(`${name.padEnd(64)} ${m.toFixed(4).padStart(7)}  ${(m / sodiumWhole).toFixed(2).padStart(15)}×  ${(m / chatsealWhole).toFixed(2).padStart(14)}×`);
  }
}

// ---------------------------------------------------------------- download
const files = (dir) => readdirSync(dir, { recursive: true }).map((f) => join(dir, f)).filter((f) => statSync(f).isFile());
const gz = (paths) => paths.reduce((n, f) => n + gzipSync(readFileSync(f), { level: 9 }).length, 0);
const pkgDir = dirname(requireThere.resolve("chatseal/package.json"));
const chatsealFiles = ["index.js", "facade.js", "web/chatseal.js", "web/chatseal_bg.wasm"]
  .map((f) => join(pkgDir, f))
  .concat(files(join(pkgDir, "web/snippets")).filter((f) => f.endsWith(".js")));
const floorFiles = files(webPkg).filter((f) => /\.(js|wasm)$/.test(f) && !f.endsWith(".d.ts"));
const floorWasm = floorFiles.filter((f) => f.endsWith(".wasm"));
console.log(`\ndownload, gzip -9 of each file, summed (bytes)`);
console.log(`chatseal package (JS + wasm)              ${String(gz(chatsealFiles)).padStart(8)}`);
console.log(`floor: the primitives alone (JS + wasm)   ${String(gz(floorFiles)).padStart(8)}   (wasm ${gz(floorWasm)}, raw ${statSync(floorWasm[0]).size})`);
console.log(`issue 7's goal                             ${String(100000).padStart(8)}`);
