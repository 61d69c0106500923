// Browser bundle for the attachments measurement: two ChatSeal users against a real key
// directory; alice encrypts a large Blob to bob with `encryptFile`, bob decrypts it with
// `decryptFile`, once to a `File` (a Blob body: the SHA-256 over the whole ciphertext is
// checked first, then every chunk is decrypted) and once to a `ReadableStream` (the
// body as `blob.stream()`: chunks are decrypted as they are read, the hash is compared at
// the end). The runner calls the steps one by one (fresh browser, one page) and reads the
// processes' peak RSS from /proc between them. Correctness is checked outside the timings:
// sizes, and sampled 64 KiB windows compared with the source, which is regenerated.
import { ChatSeal } from "chatseal";
import { CONTEXT } from "../workloads.js";
import { tokenGetter } from "../../../tests/js/demo-backend.js";

const MiB = 1 << 20;
const WINDOW = 64 * 1024;

let state = null;

/** Fills `out` (a multiple of 4 bytes) with piece `index` of the source: deterministic,
 *  every byte non-zero (xorshift32, each byte's low bit set). */
function fillPiece(out, index) {
  const words = new Uint32Array(out.buffer, out.byteOffset, out.byteLength >>> 2);
  let x = (0x9e3779b9 ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x | 0x01010101;
  }
}

/** `size` bytes built from 1 MiB pieces, one piece in the page at a time. */
function sourceBlob(size) {
  const piece = new Uint8Array(MiB);
  let blob = new Blob([]);
  for (let i = 0; i * MiB < size; i++) {
    fillPiece(piece, i);
    const n = Math.min(MiB, size - i * MiB);
    // The Blob copies the bytes (Chromium moves them to the browser process): the piece
    // can be refilled at once.
    blob = new Blob([blob, n === MiB ? piece : piece.subarray(0, n)]);
  }
  return blob;
}

/** The source's bytes [offset, offset + length), regenerated. */
function sourceBytes(offset, length) {
  const out = new Uint8Array(length);
  const piece = new Uint8Array(MiB);
  let done = 0;
  while (done < length) {
    const at = offset + done;
    const index = Math.floor(at / MiB);
    fillPiece(piece, index);
    const from = at - index * MiB;
    const n = Math.min(MiB - from, length - done);
    out.set(piece.subarray(from, from + n), done);
    done += n;
  }
  return out;
}

/** Where to compare: the first and last 64 KiB and six windows across chunk boundaries. */
function windows(size) {
  const w = new Set([0, Math.max(0, size - WINDOW)]);
  for (let k = 1; k <= 6; k++) w.add(Math.min(size - WINDOW, Math.floor((size * k) / 7) - 12345));
  return [...w].filter((o) => o >= 0).sort((a, b) => a - b);
}

function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function check(ok, what) {
  if (!ok) throw new Error(`files: wrong result: ${what}`);
}

/** `promise`, its failure prefixed with `what`. */
async function labelled(what, promise) {
  try {
    return await promise;
  } catch (e) {
    throw new Error(`${what}: ${e?.name ?? "Error"}: ${e?.message ?? e}`);
  }
}

const heap = () => performance.memory?.usedJSHeapSize ?? 0;

/** onProgress that samples the JS heap and notes when the first event came. */
function tracker() {
  const t = { first: null, events: 0, heapPeak: heap() };
  t.onProgress = () => {
    if (t.first === null) t.first = performance.now();
    t.events++;
    const h = heap();
    if (h > t.heapPeak) t.heapPeak = h;
  };
  return t;
}

/** Opens and registers both users, warms the code paths up on 1 MiB, builds the source. */
export async function prepare(directoryUrl, mib) {
  const tag = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const aliceId = `alice-files-${tag}`;
  const bobId = `bob-files-${tag}`;
  const open = (identity) =>
    ChatSeal.open({ identity, directoryUrl, getToken: tokenGetter(directoryUrl, identity), storage: "memory" });
  const t0 = performance.now();
  const [alice, bob] = await Promise.all([open(aliceId), open(bobId)]);
  await Promise.all([alice.register(), bob.register()]);
  // The cards are fetched now, so that no directory round trip falls inside a timing.
  await Promise.all([alice.lookup([bobId]), bob.lookup([aliceId])]);
  // Warm-up on 1 MiB: each of the three calls once.
  const small = sourceBlob(MiB + 123);
  const warm = await alice.encryptFile(small, { to: [bobId], context: CONTEXT });
  const warmFile = await bob.decryptFile(warm.descriptor, warm.blob, { from: aliceId, context: CONTEXT });
  check(warmFile.size === small.size, "warm-up File size");
  const warmStream = await bob.decryptFile(warm.descriptor, warm.blob.stream(), { stream: true, from: aliceId, context: CONTEXT });
  const reader = warmStream.getReader();
  let warmBytes = 0;
  for (let r = await reader.read(); !r.done; r = await reader.read()) warmBytes += r.value.length;
  check(warmBytes === small.size, "warm-up stream size");
  const t1 = performance.now();
  const size = mib * MiB;
  const blob = sourceBlob(size);
  check(blob.size === size, "source size");
  const t2 = performance.now();
  state = { alice, bob, aliceId, bobId, blob, size, encrypted: null, heapPeak: heap() };
  return { prepareMs: t1 - t0, buildMs: t2 - t1, bytes: size, heap: heap() };
}

/** (a) alice.encryptFile(blob, { to: [bob], context }). */
export async function encrypt() {
  const p = tracker();
  const t0 = performance.now();
  const encrypted = await labelled("encryptFile", state.alice.encryptFile(state.blob, { to: [state.bobId], context: CONTEXT, onProgress: p.onProgress }));
  const ms = performance.now() - t0;
  state.heapPeak = Math.max(state.heapPeak, p.heapPeak, heap());
  check(encrypted.size === state.size, "descriptor size");
  // 64 KiB chunks, 16 bytes of tag each (plus whatever header §10 puts in front).
  check(encrypted.blob.size >= state.size + 16 * Math.ceil(state.size / WINDOW), "encrypted size");
  state.encrypted = encrypted;
  return { ms, bytes: state.size, encryptedBytes: encrypted.blob.size, descriptorChars: encrypted.descriptor.length, progressEvents: p.events };
}

/** (b) bob.decryptFile(descriptor, blob, { from, context }) → File: the hash pass, then the decrypt. */
export async function decryptToFile() {
  const { descriptor, blob } = state.encrypted;
  const p = tracker();
  const t0 = performance.now();
  let file = await labelled("decryptFile", state.bob.decryptFile(descriptor, blob, { from: state.aliceId, context: CONTEXT, onProgress: p.onProgress }));
  const ms = performance.now() - t0;
  state.heapPeak = Math.max(state.heapPeak, p.heapPeak, heap());
  // Outside the timing: the size and sampled windows against the regenerated source.
  check(file instanceof File, "not a File");
  check(file.size === state.size, `File size ${file.size} ≠ ${state.size}`);
  const at = windows(state.size);
  for (const o of at) {
    const got = new Uint8Array(await labelled(`reading the decrypted File at ${o}`, file.slice(o, o + WINDOW).arrayBuffer()));
    check(sameBytes(got, sourceBytes(o, WINDOW)), `File bytes at ${o}`);
  }
  file = null;
  return {
    ms,
    // Progress counts only the decrypt pass: the first event comes after the SHA-256 pass
    // over the whole ciphertext and the first megabyte's decrypt.
    untilFirstProgressMs: p.first === null ? null : p.first - t0,
    progressEvents: p.events,
    windowsChecked: at.length,
  };
}

/** (c) bob.decryptFile(descriptor, blob.stream(), { stream: true, … }) read to the end. */
export async function decryptToStream() {
  const { descriptor, blob } = state.encrypted;
  const at = windows(state.size);
  const seen = at.map(() => new Uint8Array(WINDOW));
  const p = tracker();
  let bytes = 0;
  let chunks = 0;
  let largest = 0;
  const t0 = performance.now();
  const stream = await labelled(
    "decryptFile({ stream: true })",
    state.bob.decryptFile(descriptor, blob.stream(), { stream: true, from: state.aliceId, context: CONTEXT, onProgress: p.onProgress }),
  );
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read().catch((e) => {
      throw new Error(`reading the decrypted stream at byte ${bytes}: ${e?.name ?? "Error"}: ${e?.message ?? e}`);
    });
    if (done) break;
    // Copy what falls into a sampled window (a few 64 KiB in all); the rest is dropped.
    const end = bytes + value.length;
    for (let k = 0; k < at.length; k++) {
      const lo = Math.max(at[k], bytes);
      const hi = Math.min(at[k] + WINDOW, end);
      if (lo < hi) seen[k].set(value.subarray(lo - bytes, hi - bytes), lo - at[k]);
    }
    bytes = end;
    chunks++;
    if (value.length > largest) largest = value.length;
  }
  const ms = performance.now() - t0;
  state.heapPeak = Math.max(state.heapPeak, p.heapPeak, heap());
  check(bytes === state.size, `stream size ${bytes} ≠ ${state.size}`);
  at.forEach((o, k) => check(sameBytes(seen[k], sourceBytes(o, WINDOW)), `stream bytes at ${o}`));
  return { ms, chunks, largestChunk: largest, progressEvents: p.events, windowsChecked: at.length };
}

/** Closes both users; the JS heap's peak as sampled (performance.memory, per megabyte). */
export function finish() {
  const out = {
    heapPeak: Math.max(state.heapPeak, heap()),
    heapSampled: !!performance.memory,
    stats: state.bob.stats(),
  };
  state.alice.close();
  state.bob.close();
  state = null;
  return out;
}
