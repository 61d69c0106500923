// The page-side helpers of the browser tests (tests/web/), in one module: the test page
// then loads one snippet besides wasm-bindgen's glue. (wasm-bindgen-test-runner 0.2.130
// serves the page with tiny_http 0.12, whose thread pool can leave a connection unserved
// when Chromium opens more than four at once; with six snippets the page intermittently
// never finished loading, and the runner gave up after 300 s.)
export function tokenGetter(base, identity, counter) {
  return async () => {
    counter.calls = (counter.calls || 0) + 1;
    const post = (path, token, body) => fetch(base + path, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: "Bearer " + token } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    }).then((r) => r.json());
    const { authToken } = await post("/v1/authenticate", null, { identity });
    const { token } = await post("/v1/chatseal-credentials", authToken);
    return token;
  };
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export async function authedFetch(base, identity, method, path, body) {
  const token = await tokenGetter(base, identity, {})();
  const r = await fetch(base + path, {
    method,
    headers: { "content-type": "application/json", authorization: "Bearer " + token },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, body: await r.json().catch(() => null) };
}
// Every record of every object store of `name`: binary parts concatenated, strings
// joined, and what the CryptoKeys say about themselves.
export async function dumpDatabase(name) {
  const db = await new Promise((ok, fail) => {
    const req = indexedDB.open(name);
    req.onsuccess = () => ok(req.result);
    req.onerror = () => fail(req.error);
  });
  const chunks = [], strings = [], keys = [];
  const walk = (v) => {
    if (v instanceof CryptoKey) { keys.push({ extractable: v.extractable, algorithm: v.algorithm.name, usages: v.usages.join(",") }); return; }
    if (v instanceof ArrayBuffer) { chunks.push(new Uint8Array(v)); return; }
    if (ArrayBuffer.isView(v)) { chunks.push(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)); return; }
    if (typeof v === "string") { strings.push(v); return; }
    if (v && typeof v === "object") { for (const k of Object.keys(v)) { strings.push(k); walk(v[k]); } }
  };
  let records = 0;
  for (const store of db.objectStoreNames) {
    const all = await new Promise((ok, fail) => {
      const req = db.transaction(store).objectStore(store).getAll();
      req.onsuccess = () => ok(req.result);
      req.onerror = () => fail(req.error);
    });
    for (const v of all) { records += 1; walk(v); }
  }
  db.close();
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) { bytes.set(c, at); at += c.length; }
  return { records, bytes, text: strings.join("\n"), keys };
}
// Flips one byte of the sealed keyring of `identity` in database `name`.
export async function tamper(name, identity) {
  const db = await new Promise((ok) => { const r = indexedDB.open(name); r.onsuccess = () => ok(r.result); });
  const store = (mode) => db.transaction("keyrings", mode).objectStore("keyrings");
  const record = await new Promise((ok) => { const r = store("readonly").get(identity); r.onsuccess = () => ok(r.result); });
  record.sealed[5] ^= 1;
  await new Promise((ok) => { const r = store("readwrite").put(record, identity); r.onsuccess = ok; });
  db.close();
}
export async function until(check, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (check()) return true; await sleep(10); }
  return check();
}
// Replaces fetch: records each request and delays it, so that calls overlap and
// aborts land while it is in flight. Returns the log; `restoreFetch()` undoes it.
let realFetch = null;
export function slowFetch(delayMs) {
  realFetch = realFetch || globalThis.fetch;
  const log = [];
  globalThis.fetch = async (url, init) => {
    const entry = { url: String(url), signal: init && init.signal };
    log.push(entry);
    await sleep(delayMs);
    return realFetch(url, init);
  };
  return log;
}
export function restoreFetch() { if (realFetch) globalThis.fetch = realFetch; realFetch = null; }
export async function settle(promise) {
  const start = performance.now();
  try { const value = await promise; return { ok: true, value, ms: performance.now() - start }; }
  catch (e) { return { ok: false, name: e.name, code: e.code, message: String(e.message), ms: performance.now() - start }; }
}
export function controller() { return new AbortController(); }
export function recorder() {
  const calls = [];
  const fn = function (...args) { calls.push(args); return "sent"; };
  fn.calls = calls;
  return fn;
}
export async function timeHistory(seal, texts, from) {
  const start = performance.now();
  const all = await Promise.all(texts.map((t) => seal.decrypt(t, { from })));
  return { ms: performance.now() - start, ok: all.filter((m) => typeof m.text === "string").length };
}
// A database as chatseal 0.1 (IndexedDB version 1) left it, with one marker record.
export async function makeV1Database(name) {
  const db = await new Promise((ok, fail) => {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => {
      for (const s of ["keyrings", "pins", "wrapping"]) req.result.createObjectStore(s);
    };
    req.onsuccess = () => ok(req.result);
    req.onerror = () => fail(req.error);
  });
  await new Promise((ok) => { const r = db.transaction("pins", "readwrite").objectStore("pins").put("v1 marker", "marker"); r.onsuccess = ok; });
  db.close();
}
export async function databaseInfo(name) {
  const db = await new Promise((ok) => { const r = indexedDB.open(name); r.onsuccess = () => ok(r.result); });
  const marker = await new Promise((ok) => { const r = db.transaction("pins").objectStore("pins").get("marker"); r.onsuccess = () => ok(r.result); });
  const info = { version: db.version, stores: [...db.objectStoreNames].join(","), marker };
  db.close();
  return info;
}
export function unique(name) { return name + "-" + Math.random().toString(36).slice(2, 10) + "@clinic"; }
export function abortedSignal() { const c = new AbortController(); c.abort(); return c.signal; }
export async function queueAndAbort(seal, texts, from, keep) {
  const controllers = texts.map(() => new AbortController());
  const order = [];
  const promises = texts.map((t, i) =>
    seal.decrypt(t, { from, signal: controllers[i].signal }).then(
      (m) => { order.push(i); return "ok"; },
      (e) => (e.name === "AbortError" ? "aborted" : "error:" + (e.code || e.message)),
    ));
  // Abort all but the last `keep` (the newest) right after queueing them.
  controllers.slice(0, texts.length - keep).forEach((c) => c.abort());
  const outcomes = await Promise.all(promises);
  const count = (x) => outcomes.filter((o) => o === x).length;
  return { ok: count("ok"), aborted: count("aborted"), errors: outcomes.filter((o) => o.startsWith("error")), order, stats: seal.stats() };
}

// A value handed back as it came: a `ChatSeal` object, taken back as the Rust type.
export function same(x) { return x; }

const pattern = (n, seed) => { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 255; return b; };
const sameBytes = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const contains = (hay, needle) => { outer: for (let i = 0; i + needle.length <= hay.length; i++) { for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer; return true; } return false; };
const check = (cond, what) => { if (!cond) throw new Error("file scenario failed: " + what); };
const codeOf = async (promise) => { try { await promise; return "resolved"; } catch (e) { return e instanceof DOMException ? e.name : e.code ?? e.name; } };
const streamOf = (bytes, piece) => new ReadableStream({
  start(c) { for (let i = 0; i < bytes.length; i += piece) c.enqueue(bytes.slice(i, i + piece)); c.close(); },
});
// Everything `encryptFile`/`decryptFile` promise, between two people. Returns a log of
// what was checked; throws on the first failure.
export async function fileScenarios(alice, bob, aliceId, bobId) {
  const log = [];
  const opts = { to: [bobId], context: "files-1" };
  const read = { from: aliceId, context: "files-1" };

  // A File: name and type taken from it; progress; ciphertext only in the upload.
  const plain = pattern(200 * 1024 + 5, 3);
  const progress = [];
  const enc = await alice.encryptFile(new File([plain], "scan.png", { type: "image/png" }), { ...opts, onProgress: (p) => progress.push(p) });
  check(enc.blob instanceof Blob && enc.blob.type === "application/octet-stream", "the upload is an opaque Blob");
  check(enc.blob.size === 4 + plain.length + 16 * 4, "4 chunks: " + enc.blob.size);
  check(enc.descriptor.startsWith("csp2."), "the descriptor is a one-to-one message");
  check(enc.name === "scan.png" && enc.type === "image/png" && enc.size === plain.length && enc.url === "", "metadata");
  check(progress.length >= 1 && progress.at(-1).loaded === plain.length && progress.at(-1).total === plain.length, "progress " + JSON.stringify(progress));
  const cipher = new Uint8Array(await enc.blob.arrayBuffer());
  check(!contains(cipher, plain.subarray(1000, 1032)), "no plaintext in the upload");
  log.push("encrypted 200 KiB + 5 into 4 chunks");

  const info = await bob.decrypt(enc.descriptor, read);
  check(info.contentType === "fileDescriptor" && info.text === null, "decrypt: a file descriptor");
  check(info.file.name === "scan.png" && info.file.type === "image/png" && info.file.size === plain.length, "decrypt: file info");
  check(Object.keys(info.file).sort().join() === "mediaType,name,size,type,url", "no key in what decrypt returns: " + Object.keys(info.file));

  // Read back from a Blob, a Response, bytes and a stream; as a File or a stream.
  const asFile = await bob.decryptFile(enc.descriptor, enc.blob, read);
  check(asFile instanceof File && asFile.name === "scan.png" && asFile.type === "image/png", "a File named and typed");
  check(sameBytes(new Uint8Array(await asFile.arrayBuffer()), plain), "Blob round trip");
  const url = URL.createObjectURL(enc.blob);
  check(sameBytes(new Uint8Array(await (await bob.decryptFile(enc.descriptor, await fetch(url), read)).arrayBuffer()), plain), "Response round trip");
  check(sameBytes(new Uint8Array(await (await bob.decryptFile(enc.descriptor, cipher, read)).arrayBuffer()), plain), "bytes round trip");
  check(sameBytes(new Uint8Array(await (await bob.decryptFile(enc.descriptor, cipher.buffer, read)).arrayBuffer()), plain), "ArrayBuffer round trip");
  const stream = await bob.decryptFile(enc.descriptor, streamOf(cipher, 10000), { ...read, stream: true });
  check(stream instanceof ReadableStream, "stream: true gives a ReadableStream");
  check(sameBytes(new Uint8Array(await new Response(stream).arrayBuffer()), plain), "stream round trip");
  const fromBlobStream = await bob.decryptFile(enc.descriptor, enc.blob, { ...read, stream: true });
  check(sameBytes(new Uint8Array(await new Response(fromBlobStream).arrayBuffer()), plain), "Blob → stream round trip");
  check(sameBytes(new Uint8Array(await (await alice.decryptFile(enc.descriptor, enc.blob, { from: aliceId })).arrayBuffer()), plain), "the sender reads its own file");
  log.push("read back from Blob, Response, Uint8Array, ArrayBuffer and ReadableStream, as a File and as a stream; the sender too");

  // A stream in: odd piece sizes, unknown length; an empty file.
  const streamed = await alice.encryptFile(streamOf(plain, 777), { ...opts, name: "s.bin" });
  check(streamed.mediaType === "" && streamed.type === "application/octet-stream" && streamed.name === "s.bin", "options name; no type");
  const back = await bob.decryptFile(streamed.descriptor, streamed.blob, read);
  check(sameBytes(new Uint8Array(await back.arrayBuffer()), plain) && back.type === "application/octet-stream", "stream in, File out");
  const empty = await alice.encryptFile(new Blob([]), opts);
  check(empty.blob.size === 20 && (await bob.decryptFile(empty.descriptor, empty.blob, read)).size === 0, "an empty file");
  log.push("encrypted from a ReadableStream in 777-byte pieces; an empty file");

  // What could run in the page is never labelled as such.
  const html = await alice.encryptFile(new Blob(["<script>alert(1)</script>"], { type: "text/html" }), { ...opts, name: "x.html" });
  check((await bob.decryptFile(html.descriptor, html.blob, read)).type === "application/octet-stream", "text/html → octet-stream");
  const svg = await alice.encryptFile(new Blob(["<svg/>"]), { ...opts, type: "image/svg+xml" });
  check((await bob.decrypt(svg.descriptor, read)).file.type === "application/octet-stream", "SVG → octet-stream");
  log.push("HTML and SVG come back as application/octet-stream");

  // Tampering: every altered upload fails with Integrity and yields nothing.
  const flipped = cipher.slice(); flipped[5000] ^= 1;
  check(await codeOf(bob.decryptFile(enc.descriptor, new Blob([flipped]), read)) === "Integrity", "a flipped bit (Blob)");
  check(await codeOf(bob.decryptFile(enc.descriptor, new Blob([flipped]), { ...read, stream: true })) === "Integrity", "a flipped bit is caught before a stream is handed out (Blob: hash first)");
  const tail = cipher.slice(); tail[tail.length - 1] ^= 1;
  const s2 = await bob.decryptFile(enc.descriptor, streamOf(tail, 65536), { ...read, stream: true });
  let released = 0, streamError = null;
  try { for await (const piece of s2) released += piece.length; } catch (e) { streamError = e.code; }
  check(streamError === "Integrity" && released < plain.length && released % 65536 === 0, `a stream errors before the final chunk (released ${released}, ${streamError})`);
  check(await codeOf(bob.decryptFile(enc.descriptor, cipher.subarray(0, cipher.length - 100), read)) === "Integrity", "truncated");
  check(await codeOf(bob.decryptFile(enc.descriptor, new Blob([cipher, cipher.subarray(4, 4 + 65552)]), read)) === "Integrity", "an extra chunk");
  check(await codeOf(bob.decryptFile(enc.descriptor, streamOf(cipher.subarray(0, cipher.length - 100), 4096), read)) === "Integrity", "truncated stream");
  check(await codeOf(bob.decryptFile(streamed.descriptor, enc.blob, read)) === "Integrity", "another file's upload");
  log.push("flipped, truncated, extended and swapped uploads: Integrity, nothing released (a stream stops before the final chunk)");

  // The descriptor is checked like any message.
  check(await codeOf(bob.decryptFile(enc.descriptor, enc.blob, { from: aliceId, context: "another" })) === "ContextMismatch", "context");
  check(await codeOf(bob.decryptFile(enc.descriptor, enc.blob, { from: bobId })) === "SenderMismatch", "sender");
  const text = await alice.encrypt("hi", opts);
  check(await codeOf(bob.decryptFile(text, enc.blob, read)) === "Malformed", "a text message is not a descriptor");
  check(await codeOf(bob.decryptFile(enc.descriptor, 42, read)) === "TypeError", "a number is not a body");
  check(await codeOf(bob.decryptFile(enc.descriptor, new Response("nope", { status: 404 }), read)) === "TypeError", "an HTTP error response");
  check(await codeOf(alice.encryptFile(new Blob(["x"]), { to: "bob", context: "c" })) === "TypeError", "to must be a list");
  log.push("descriptor checks: ContextMismatch, SenderMismatch, Malformed; bad arguments: TypeError");

  // Abort midway, both ways: the work stops between megabytes.
  const big = new Blob([pattern(8 * 1024 * 1024, 1)]);
  const c1 = new AbortController();
  let steps = 0;
  const aborted = await codeOf(alice.encryptFile(big, { ...opts, signal: c1.signal, onProgress: () => { if (++steps === 2) c1.abort(); } }));
  check(aborted === "AbortError" && steps === 2, `encrypt aborted after 2 MiB (${aborted}, ${steps} steps)`);
  const bigEnc = await alice.encryptFile(big, opts);
  const c2 = new AbortController();
  steps = 0;
  const aborted2 = await codeOf(bob.decryptFile(bigEnc.descriptor, bigEnc.blob, { ...read, signal: c2.signal, onProgress: () => { if (++steps === 3) c2.abort(); } }));
  check(aborted2 === "AbortError" && steps === 3, `decrypt aborted (${aborted2}, ${steps})`);
  let cancelled = false;
  const source = new ReadableStream({
    pull: (c) => new Promise((r) => setTimeout(() => { c.enqueue(pattern(65536, 2)); r(); }, 0)),
    cancel() { cancelled = true; },
  });
  const c3 = new AbortController();
  setTimeout(() => c3.abort(), 50);
  check(await codeOf(alice.encryptFile(source, { ...opts, signal: c3.signal })) === "AbortError" && cancelled, "an endless stream is cancelled on abort");
  log.push("aborts stop encrypt and decrypt midway and cancel an input stream");
  return log;
}
const abortReason = (signal) =>
  signal && signal.reason instanceof DOMException ? signal.reason : new DOMException("The operation was aborted.", "AbortError");
const json = (value, status) => new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json" } });
async function answer(rule, real, url, init) {
  if (rule.cards) {
    const honest = await real(url, init);
    const body = await honest.json();
    for (const [identity, card] of Object.entries(rule.cards)) {
      const proof = body.results?.[identity]?.proof ?? "";
      body.results[identity] = { card, proof };
    }
    return json(body, honest.status);
  }
  if (rule.never) {
    return new Promise((_, fail) => {
      const stop = () => { rule.aborted = true; fail(abortReason(init.signal)); };
      if (!init.signal) return;
      if (init.signal.aborted) stop(); else init.signal.addEventListener("abort", stop, { once: true });
    });
  }
  if (rule.endless) {
    const body = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode('{"results": {"'));
        if (init.signal) init.signal.addEventListener("abort", () => { rule.aborted = true; c.error(abortReason(init.signal)); }, { once: true });
      },
      cancel() { rule.cancelled = true; },
    });
    return new Response(body, { status: 200, headers: { "content-type": "application/json" } });
  }
  if (rule.huge) {
    const piece = new Uint8Array(64 * 1024).fill(0x20);
    rule.read = 0;
    const body = new ReadableStream({
      pull(c) {
        if (rule.read >= rule.huge) { c.close(); return; }
        const n = Math.min(piece.length, rule.huge - rule.read);
        rule.read += n;
        c.enqueue(piece.slice(0, n));
      },
      cancel() { rule.cancelled = true; },
    });
    const headers = { "content-type": "application/json" };
    if (rule.declared) headers["content-length"] = String(rule.huge);
    return new Response(body, { status: 200, headers });
  }
  if (rule.hugeText) {
    return new Response('{"results": {}, "padding": "' + "x".repeat(rule.hugeText - 32) + '"}', { status: 200 });
  }
  return new Response(rule.body ?? null, { status: rule.status ?? 200, headers: rule.headers ?? {} });
}
let honest = null;
export function hostileFetch(rules) {
  honest = honest || globalThis.fetch;
  const real = honest;
  const log = [];
  globalThis.fetch = async (url, init = {}) => {
    const method = (init.method || "GET").toUpperCase();
    const where = new URL(String(url));
    const path = where.pathname + where.search;
    const rule = rules.find((r) => r.method === method && path.includes(r.path));
    if (!rule) return real(url, init);
    log.push({ method, path, signal: init.signal });
    rule.hits = (rule.hits || 0) + 1;
    return answer(rule, real, url, init);
  };
  return log;
}
export function honestFetch() { if (honest) globalThis.fetch = honest; honest = null; }

// Everything the page prints (console.*), uncaught errors and unhandled rejections, from
// `watchConsole()` until `unwatchConsole()`, which returns it as lines.
let originals = null;
const lines = [];
const show = (v) => {
  if (typeof v === "string") return v;
  if (v instanceof Error || v instanceof DOMException) return `${v.name}: ${v.message} ${v.code ?? ""}\n${v.stack ?? ""}`;
  try { return JSON.stringify(v); } catch { return String(v); }
};
const onError = (e) => lines.push("uncaught: " + show(e.error ?? e.message));
const onRejection = (e) => lines.push("unhandled rejection: " + show(e.reason));
export function watchConsole() {
  if (originals) return;
  originals = {};
  for (const level of ["error", "warn", "log", "info", "debug"]) {
    const original = console[level];
    originals[level] = original;
    console[level] = function (...args) {
      lines.push(level + ": " + args.map(show).join(" "));
      return original.apply(this, args);
    };
  }
  addEventListener("error", onError);
  addEventListener("unhandledrejection", onRejection);
}
export function unwatchConsole() {
  if (originals) for (const [level, original] of Object.entries(originals)) console[level] = original;
  originals = null;
  removeEventListener("error", onError);
  removeEventListener("unhandledrejection", onRejection);
  return lines.splice(0);
}

export function waitMs(ms) { return sleep(ms); }
// Settles every promise (decrypts queued at once); one outcome per promise, in order.
export async function attemptAll(promises) {
  const start = performance.now();
  const outcomes = await Promise.all(promises.map(settle));
  return { outcomes, ms: performance.now() - start };
}
// A timer due `ms` from now; `lateness(timer)` waits for it and says how late it fired,
// which tells whether the page stayed responsive meanwhile.
export function timer(ms) {
  const t = { due: performance.now() + ms, fired: null };
  setTimeout(() => { t.fired = performance.now(); }, ms);
  return t;
}
export async function lateness(t) {
  while (t.fired === null) await sleep(5);
  return t.fired - t.due;
}
