// Browser bundle for the long-task measurement: two ChatSeal users against a real key
// directory; bob decrypts alice's 1,000-message history through ChatSeal's decrypt queue
// while a PerformanceObserver records long tasks (the runner also traces the main thread).
import { ChatSeal } from "chatseal";
import { message, CONTEXT } from "../workloads.js";
import { tokenGetter } from "../../../tests/js/demo-backend.js";

let state = null;

export async function prepare(directoryUrl, count) {
  const tag = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const aliceId = `alice-bench-${tag}`;
  const bobId = `bob-bench-${tag}`;
  const open = (identity) =>
    ChatSeal.open({ identity, directoryUrl, getToken: tokenGetter(directoryUrl, identity), storage: "memory" });
  const t0 = performance.now();
  const [alice, bob] = await Promise.all([open(aliceId), open(bobId)]);
  await Promise.all([alice.register(), bob.register()]);
  const texts = [];
  const sealed = [];
  for (let i = 0; i < count; i++) {
    texts.push(message(i));
    sealed.push(await alice.encrypt(texts[i], { to: [bobId], context: CONTEXT }));
  }
  state = { alice, bob, aliceId, texts, sealed };
  return { prepareMs: performance.now() - t0, messages: count };
}

export async function run() {
  const entries = [];
  let supported = PerformanceObserver.supportedEntryTypes.includes("longtask");
  const observer = new PerformanceObserver((list) => entries.push(...list.getEntries()));
  if (supported) observer.observe({ type: "longtask", buffered: true });
  performance.mark("chatseal-history-start");
  const t0 = performance.now();
  const pending = state.sealed.map((text) => state.bob.decrypt(text, { from: state.aliceId, context: CONTEXT }));
  const enqueueMs = performance.now() - t0; // the caller's synchronous part: 1,000 decrypt() calls
  const results = await Promise.all(pending);
  const t1 = performance.now();
  performance.mark("chatseal-history-end");
  // Long-task entries are delivered after the task ends: give them time to arrive.
  await new Promise((resolve) => setTimeout(resolve, 200));
  if (supported) {
    for (const e of observer.takeRecords()) entries.push(e);
    observer.disconnect();
  }
  results.forEach((r, i) => {
    if (r.text !== state.texts[i] || r.sender !== state.aliceId) throw new Error(`history ${i}: wrong result`);
  });
  const during = entries.filter((e) => e.startTime < t1 && e.startTime + e.duration > t0);
  const stats = state.bob.stats();
  state.alice.close();
  state.bob.close();
  state = null;
  return {
    wallMs: t1 - t0,
    enqueueMs,
    decrypted: results.length,
    longtaskSupported: supported,
    longtasks: during.map((e) => ({ startMs: e.startTime - t0, durationMs: e.duration })),
    longestLongtaskMs: during.reduce((m, e) => Math.max(m, e.duration), 0),
    stats,
  };
}
