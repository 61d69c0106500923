// Side-by-side benchmark: chatseal (low-level API), virgil-crypto 5.1.2 (e3kit's
// signThenEncrypt / decryptThenVerify) and libsodium-wrappers (sealed box per recipient +
// XChaCha20-Poly1305 + Ed25519), the same workloads in headless Chromium (a fresh page per
// library per workload group) and in Node (a fresh process per library per group),
// libraries interleaved in rounds; the group workloads (group-500, history-group) use
// chatseal's group sessions and the peers' multi-recipient messages (see adapters.js).
// Also: the longest main-thread task while ChatSeal
// decrypts a 1,000-message history through its queue (needs a key directory:
// CHATSEAL_TEST_DIRECTORY, see run.sh), and the download sizes.
//
// Usage: node run.mjs [--quick] [--rounds N] [--no-browser] [--no-node] [--no-longtask]
//                     [--directory URL] [--out DIR]
// Writes DIR/browser.json and DIR/browser.md (default DIR: target/bench at the repo root).
import { chromium } from "playwright-core";
import { spawn, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildAll, LIBS } from "./build.mjs";
import { startServer } from "./server.mjs";
import { downloadSizes } from "./sizes.mjs";
import { GROUPS } from "./workloads.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const require = createRequire(import.meta.url);

// ---------------------------------------------------------------- options
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] ? argv[i + 1] : fallback;
};
const QUICK = flag("--quick");
const MODE = QUICK ? "quick" : "full";
const ROUNDS = Number(option("--rounds", QUICK ? 1 : 3));
const INIT_PAGES = QUICK ? 1 : 3; // extra load-and-init-only pages per library per round
const LONGTASK_RUNS = QUICK ? 1 : 3; // history runs, each in a fresh page, each traced
const DIRECTORY = option("--directory", process.env.CHATSEAL_TEST_DIRECTORY || "");
const OUT = resolve(option("--out", join(root, "target/bench")));
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const PEERS = LIBS.filter((l) => l !== "chatseal");
const SHORT = { chatseal: "chatseal", "virgil-crypto": "virgil", "libsodium-wrappers": "sodium" };

const started = performance.now();
const log = (...a) => console.error(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(4)}s]`, ...a);

// ---------------------------------------------------------------- statistics
function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}
function summary(samples) {
  const s = [...samples].sort((a, b) => a - b);
  return {
    median: quantile(s, 0.5),
    p25: quantile(s, 0.25),
    p75: quantile(s, 0.75),
    min: s[0],
    max: s[s.length - 1],
    n: s.length,
  };
}
const round4 = (x) => Math.round(x * 1e4) / 1e4;

// The rows of the tables: [key, label, unit].
const ROWS = [
  ["init", "init (load + instantiate)", "ms"],
  ["keygen", "keygen", "ms"],
  ["encrypt2", "encrypt 200 B → 2 recipients", "ms"],
  ["decrypt2", "decrypt+verify 200 B (1:1)", "ms"],
  ["history1000", "history: decrypt+verify 1,000 msgs", "ms"],
  ["historyGroup", "history-group: decrypt+verify 1,000 group msgs, newest first", "ms"],
  ["encrypt50", "encrypt 200 B → 50 recipients", "ms"],
  ["encrypt500", "group-500: encrypt 200 B for a 500-member channel", "ms"],
  ["share500", "group-500 setup (shares): a session shared to 500 cards", "ms"],
  ["mib", "1 MiB encrypt+decrypt", "ms"],
  ["mibEncrypt", "1 MiB: the encrypt alone", "ms"],
  ["mibDecrypt", "1 MiB: the decrypt+verify alone", "ms"],
  ["wire", "ciphertext, 200 B → 2 (text as sent)", "B"],
  ["binary", "ciphertext, 200 B → 2 (binary)", "B"],
  ["wire50", "ciphertext, 200 B → 50 (text as sent)", "B"],
  ["wire500", "ciphertext, 200 B → 500-member channel (text as sent)", "B"],
];

/** Collects samples per library per metric, plus the info objects. */
function collector() {
  const samples = Object.fromEntries(LIBS.map((l) => [l, {}]));
  const info = Object.fromEntries(LIBS.map((l) => [l, {}]));
  return {
    samples,
    info,
    add(lib, metric, values) {
      (samples[lib][metric] ||= []).push(...values);
    },
    addInfo(lib, obj) {
      Object.assign(info[lib], obj);
    },
  };
}

function rotate(list, by) {
  const k = by % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

/** The per-environment result: summaries, ratios chatseal/peer, sizes of ciphertext. */
function finish(col) {
  const stats = {};
  for (const lib of LIBS) {
    stats[lib] = {};
    for (const [metric, values] of Object.entries(col.samples[lib])) stats[lib][metric] = summary(values);
    const one = (x) => ({ median: x, p25: x, p75: x, n: 1 });
    const ct = col.info[lib].ciphertext;
    if (ct) {
      stats[lib].wire = one(ct.wireChars);
      stats[lib].binary = one(ct.binaryBytes);
    }
    if (col.info[lib].ciphertext50) stats[lib].wire50 = one(col.info[lib].ciphertext50.wireChars);
    if (col.info[lib].ciphertext500) stats[lib].wire500 = one(col.info[lib].ciphertext500.wireChars);
  }
  const ratios = {};
  for (const peer of PEERS) {
    ratios[peer] = {};
    for (const [key] of ROWS) {
      const a = stats.chatseal[key];
      const b = stats[peer][key];
      if (a && b) ratios[peer][key] = a.median / b.median;
    }
  }
  const samples = {};
  for (const lib of LIBS) {
    samples[lib] = Object.fromEntries(Object.entries(col.samples[lib]).map(([k, v]) => [k, v.map(round4)]));
  }
  return { stats, ratios, info: col.info, samples };
}

// ---------------------------------------------------------------- browser
async function newPage(browser) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
  return { context, page, problems };
}

async function browserPhase(browser, base) {
  const col = collector();
  let isolated = null;
  let userAgent = null;
  for (let r = 0; r < ROUNDS; r++) {
    for (const group of ["init", ...GROUPS]) {
      const pages = group === "init" ? INIT_PAGES : 1;
      for (let k = 0; k < pages; k++) {
        for (const lib of rotate(LIBS, r + k)) {
          const { context, page, problems } = await newPage(browser);
          try {
            await page.goto(`${base}/bench.html?lib=${lib}`);
            const ready = await page.evaluate(() => window.benchReady);
            isolated = ready.crossOriginIsolated;
            userAgent = ready.userAgent;
            col.add(lib, "init", [ready.initMs]);
            if (group !== "init") {
              const res = await page.evaluate(([g, m]) => window.bench.run(g, m), [group, MODE]);
              for (const [metric, values] of Object.entries(res.metrics)) col.add(lib, metric, values);
              col.addInfo(lib, res.info);
            }
          } catch (e) {
            throw new Error(`browser ${lib} ${group}: ${e.message}\n${problems.join("\n")}`);
          } finally {
            await context.close();
          }
          if (problems.length) log(`browser ${lib} ${group}: ${problems.join("; ")}`);
        }
      }
      log(`browser round ${r + 1}/${ROUNDS} ${group} done`);
    }
  }
  return { ...finish(col), crossOriginIsolated: isolated, userAgent };
}

// ---------------------------------------------------------------- node
function nodeChild(lib, group) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(here, "node-child.mjs"), lib, group, MODE], {
      cwd: here,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`node ${lib} ${group}: exit ${code}\n${err}`));
      else resolvePromise(JSON.parse(out.trim().split("\n").pop()));
    });
  });
}

async function nodePhase() {
  const col = collector();
  for (let r = 0; r < ROUNDS; r++) {
    for (const group of ["init", ...GROUPS]) {
      const runs = group === "init" ? INIT_PAGES : 1;
      for (let k = 0; k < runs; k++) {
        for (const lib of rotate(LIBS, r + k)) {
          const res = await nodeChild(lib, group);
          col.add(lib, "init", [res.initMs]);
          for (const [metric, values] of Object.entries(res.metrics)) col.add(lib, metric, values);
          col.addInfo(lib, res.info);
        }
      }
      log(`node round ${r + 1}/${ROUNDS} ${group} done`);
    }
  }
  return finish(col);
}

// ---------------------------------------------------------------- long tasks
/** The longest top-level tasks on the page's main thread between the two marks. */
function tasksFromTrace(buffer) {
  const trace = JSON.parse(buffer.toString("utf8"));
  const events = Array.isArray(trace) ? trace : trace.traceEvents;
  const marks = events.filter((e) => e.name === "chatseal-history-start" || e.name === "chatseal-history-end");
  const start = marks.find((e) => e.name === "chatseal-history-start");
  const end = marks.find((e) => e.name === "chatseal-history-end");
  if (!start || !end) return { error: "the user-timing marks are not in the trace" };
  const tasks = events
    .filter(
      (e) =>
        e.ph === "X" &&
        (e.name === "RunTask" || e.name === "ThreadControllerImpl::RunTask") &&
        e.pid === start.pid &&
        e.tid === start.tid &&
        e.ts < end.ts &&
        e.ts + (e.dur || 0) > start.ts,
    )
    .map((e) => ({
      name: e.name,
      startMs: (e.ts - start.ts) / 1000,
      durationMs: (e.dur || 0) / 1000,
      // The thread's CPU time in the task: the duration less the time the OS ran others.
      cpuMs: e.tdur === undefined ? null : e.tdur / 1000,
    }));
  // RunTask and ThreadControllerImpl::RunTask describe the same task when both are present.
  const runTask = tasks.filter((t) => t.name === "RunTask");
  const list = (runTask.length ? runTask : tasks).sort((a, b) => b.durationMs - a.durationMs);
  // The task that holds the start mark is the caller's: it makes the 1,000 decrypt() calls.
  const first = list.find((t) => t.startMs <= 0 && t.startMs + t.durationMs >= 0);
  const rest = list.filter((t) => t !== first);
  return {
    windowMs: (end.ts - start.ts) / 1000,
    callerTaskMs: first ? first.durationMs : null,
    longestAfterCallerMs: rest.length ? rest[0].durationMs : 0,
    mostCpuAfterCallerMs: rest.reduce((m, t) => Math.max(m, t.cpuMs ?? 0), 0),
    callerTaskCpuMs: first ? first.cpuMs : null,
    tasks: list.length,
    longestMs: list.length ? list[0].durationMs : 0,
    over16ms: list.filter((t) => t.durationMs > 16).length,
    longestCpuMs: list.reduce((m, t) => Math.max(m, t.cpuMs ?? 0), 0),
    cpuOver16ms: list.filter((t) => (t.cpuMs ?? 0) > 16).length,
    over8ms: list.filter((t) => t.durationMs > 8).length,
    top: list.slice(0, 5),
  };
}

async function longtaskPhase(browser, base) {
  const runs = [];
  for (let i = 0; i < LONGTASK_RUNS; i++) {
    const { context, page, problems } = await newPage(browser);
    try {
      await page.goto(`${base}/longtask.html`);
      await page.evaluate(() => window.longtaskReady);
      const prep = await page.evaluate(([d, n]) => window.longtask.prepare(d, n), [DIRECTORY, 1000]);
      await browser.startTracing(page, {
        categories: ["toplevel", "disabled-by-default-devtools.timeline", "blink.user_timing", "__metadata"],
      });
      const res = await page.evaluate(() => window.longtask.run());
      const trace = await browser.stopTracing();
      mkdirSync(OUT, { recursive: true });
      // The last run's trace, to open in DevTools' Performance panel.
      writeFileSync(join(OUT, "browser-longtask-trace.json"), trace);
      const run = { prepareMs: prep.prepareMs, ...res, trace: tasksFromTrace(trace) };
      runs.push(run);
      log(
        `long tasks run ${i + 1}/${LONGTASK_RUNS}: wall ${res.wallMs.toFixed(0)} ms, longtask entries ` +
          `${res.longtasks.length}, longest task ${run.trace.longestMs?.toFixed(1)} ms ` +
          `(most CPU in one task ${run.trace.longestCpuMs?.toFixed(1)} ms)`,
      );
    } catch (e) {
      throw new Error(`long tasks: ${e.message}\n${problems.join("\n")}`);
    } finally {
      await context.close();
    }
  }
  const max = (f) => Math.max(...runs.map(f));
  return {
    directory: DIRECTORY,
    messages: 1000,
    runs: runs.length,
    wallMs: summary(runs.map((r) => r.wallMs)),
    enqueueMs: summary(runs.map((r) => r.enqueueMs)),
    longestTaskMs: summary(runs.map((r) => r.trace.longestMs)),
    longestTaskMaxMs: max((r) => r.trace.longestMs),
    callerTaskMs: summary(runs.map((r) => r.trace.callerTaskMs)),
    longestQueueTaskMs: summary(runs.map((r) => r.trace.longestAfterCallerMs)),
    callerTaskCpuMs: summary(runs.map((r) => r.trace.callerTaskCpuMs)),
    mostCpuInQueueTaskMs: summary(runs.map((r) => r.trace.mostCpuAfterCallerMs)),
    mostCpuInOneTaskMs: summary(runs.map((r) => r.trace.longestCpuMs)),
    mostCpuInOneTaskMaxMs: max((r) => r.trace.longestCpuMs),
    tasksOver16ms: runs.reduce((n, r) => n + r.trace.over16ms, 0),
    tasksCpuOver16ms: runs.reduce((n, r) => n + r.trace.cpuOver16ms, 0),
    longtaskEntries: runs.reduce((n, r) => n + r.longtasks.length, 0),
    longestLongtaskEntryMs: max((r) => r.longestLongtaskMs),
    detail: runs,
  };
}

// ---------------------------------------------------------------- report
const fmt = (x, unit) =>
  x === undefined || Number.isNaN(x)
    ? "–"
    : unit === "B"
      ? String(Math.round(x))
      : x >= 100
        ? x.toFixed(0)
        : x >= 10
          ? x.toFixed(1)
          : x >= 1
            ? x.toFixed(2)
            : x.toFixed(3);
const cell = (s, unit) => (s ? (s.n > 1 ? `${fmt(s.median, unit)} [${fmt(s.p25, unit)}–${fmt(s.p75, unit)}]` : fmt(s.median, unit)) : "–");
// Two decimals; below 0.01 two significant digits and the inverse (group-500: ~1/5000).
const ratio = (x) =>
  x === undefined || Number.isNaN(x)
    ? "–"
    : x >= 0.01
      ? `${x.toFixed(2)}×`
      : `${x.toPrecision(2)}× (1/${Math.round(1 / x)})`;

function envRows(env) {
  return ROWS.map(([key, label, unit]) => [
    `${label} (${unit})`,
    ...LIBS.map((l) => cell(env.stats[l][key], unit)),
    ...PEERS.map((p) => ratio(env.ratios[p][key])),
  ]);
}
const HEAD = ["workload", ...LIBS.map((l) => `${l} median [p25–p75]`), ...PEERS.map((p) => `chatseal/${SHORT[p]}`)];

function textTable(head, rows) {
  const widths = head.map((h, i) => Math.max([...h].length, ...rows.map((r) => [...r[i]].length)));
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
function mdTable(head, rows) {
  return [`| ${head.join(" | ")} |`, `|${head.map((_, i) => (i ? " ---: " : " --- ")).join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

function goals(result) {
  const b = result.browser;
  const g = [];
  const r = (peer, key) => b?.ratios[peer]?.[key];
  const add = (goal, value, pass, shown) => g.push({ goal, value, shown, pass: value === undefined || Number.isNaN(value) ? null : pass });
  if (b) {
    add("history(1000) ≤ 0.4× virgil-crypto", r("virgil-crypto", "history1000"), r("virgil-crypto", "history1000") <= 0.4, ratio(r("virgil-crypto", "history1000")));
    add("history(1000) ≤ 0.6× libsodium", r("libsodium-wrappers", "history1000"), r("libsodium-wrappers", "history1000") <= 0.6, ratio(r("libsodium-wrappers", "history1000")));
    add("decrypt 1:1 ≤ 0.5× libsodium", r("libsodium-wrappers", "decrypt2"), r("libsodium-wrappers", "decrypt2") <= 0.5, ratio(r("libsodium-wrappers", "decrypt2")));
    add("group-50 encrypt ≤ 0.5× virgil-crypto", r("virgil-crypto", "encrypt50"), r("virgil-crypto", "encrypt50") <= 0.5, ratio(r("virgil-crypto", "encrypt50")));
    add("1 MiB ≤ 0.7× virgil-crypto", r("virgil-crypto", "mib"), r("virgil-crypto", "mib") <= 0.7, ratio(r("virgil-crypto", "mib")));
  }
  const dl = result.sizes.chatseal.total.gzip;
  add("download ≤ 100 KB gzip (JS + WASM)", dl, dl <= 100_000, `${(dl / 1000).toFixed(1)} kB (${(dl / 1024).toFixed(1)} KiB)`);
  if (b) {
    const init = b.stats.chatseal.init.median;
    add("init ≤ 30 ms", init, init <= 30, `${init.toFixed(1)} ms`);
  }
  if (result.longtask) {
    const lt = result.longtask.longestTaskMaxMs;
    const cpu = result.longtask.mostCpuInOneTaskMaxMs;
    add(
      "no main-thread task over 16 ms during the history decrypt",
      lt,
      lt <= 16,
      `longest ${lt.toFixed(1)} ms (most CPU in one task ${cpu.toFixed(1)} ms)`,
    );
  }
  return g;
}

function sizeRows(sizes) {
  const kb = (x) => (x / 1000).toFixed(1);
  const rows = [];
  const names = { chatseal: "chatseal (pkg files as published)", chatsealBundled: "chatseal (esbuild-minified JS + wasm)" };
  for (const [name, s] of Object.entries(sizes)) {
    rows.push([
      names[name] || `${name} (esbuild-minified${s.wasm.raw ? " JS + wasm" : ", wasm inside the JS"})`,
      kb(s.js.raw),
      kb(s.wasm.raw),
      kb(s.total.raw),
      kb(s.js.gzip),
      kb(s.wasm.gzip),
      kb(s.total.gzip),
      kb(s.total.brotli),
    ]);
  }
  return rows;
}
const SIZE_HEAD = ["library (files)", "JS raw", "wasm raw", "total raw", "JS gzip", "wasm gzip", "total gzip -9", "total brotli 11"];

function report(result) {
  const out = [];
  const m = result.meta;
  out.push(`chatseal side-by-side benchmark (${m.mode}, ${m.rounds} round(s)), ${m.date}`);
  out.push(`machine: ${m.machine.cpu} × ${m.machine.cpus}; load average ${m.machine.loadStart.map((x) => x.toFixed(2)).join(" ")} at start, ${m.machine.loadEnd.map((x) => x.toFixed(2)).join(" ")} at end`);
  out.push(`chromium ${m.chromium ?? "–"}, node ${m.node}; ${LIBS.map((l) => `${l} ${m.versions[l]}`).join(", ")}`);
  const sections = { text: [...out], md: out.map((l) => l + "  ") };
  const add = (title, head, rows, note) => {
    sections.text.push("", title, textTable(head, rows));
    sections.md.push("", `### ${title}`, "", mdTable(head, rows));
    if (note) {
      sections.text.push(note);
      sections.md.push("", note);
    }
  };
  const note = "Times in ms, median [p25–p75] over all samples; ratios are chatseal's median ÷ the peer's (below 1: chatseal faster or smaller).";
  if (result.browser) add(`Headless Chromium (crossOriginIsolated: ${result.browser.crossOriginIsolated})`, HEAD, envRows(result.browser), note);
  if (result.node) add(`Node ${m.node}`, HEAD, envRows(result.node), note);
  const envs = [
    ["Chromium", result.browser],
    ["Node", result.node],
  ].filter(([, e]) => e);
  if (envs.length) {
    const c = (e, key) => e.stats.chatseal[key];
    const per = (e, a, b) => (c(e, a) && c(e, b) ? ratio(c(e, a).median / c(e, b).median) : "–");
    add(
      "chatseal: a group session (§9) against per-message stanzas (§3)",
      ["figure (chatseal)", ...envs.map(([n]) => n)],
      [
        ["encrypt 200 B → 50 recipients, one stanza each (ms)", ...envs.map(([, e]) => cell(c(e, "encrypt50"), "ms"))],
        ["group-500: encrypt 200 B through the session (ms)", ...envs.map(([, e]) => cell(c(e, "encrypt500"), "ms"))],
        ["↳ group-500 session ÷ group-50 stanzas", ...envs.map(([, e]) => per(e, "encrypt500", "encrypt50"))],
        ["group-500 setup: shares to 500 cards (ms)", ...envs.map(([, e]) => cell(c(e, "share500"), "ms"))],
        ["↳ setup ÷ one group-50 message", ...envs.map(([, e]) => per(e, "share500", "encrypt50"))],
        ["ciphertext → 50, stanzas / → 500, session (chars)", ...envs.map(([, e]) => `${fmt(c(e, "wire50")?.median, "B")} / ${fmt(c(e, "wire500")?.median, "B")}`)],
        ["history-group(1000) (ms)", ...envs.map(([, e]) => cell(c(e, "historyGroup"), "ms"))],
        ["↳ of which the one acceptShare (ms)", ...envs.map(([, e]) => cell(c(e, "historyGroupJoin"), "ms"))],
        ["↳ history-group ÷ history(1000)", ...envs.map(([, e]) => per(e, "historyGroup", "history1000"))],
      ],
    );
  }
  if (result.longtask) {
    const lt = result.longtask;
    add(`ChatSeal queue: bob decrypts a 1,000-message history (Promise.all), headless Chromium, ${lt.runs} traced run(s)`, ["measure", "value"], [
      ["wall time (ms, median [p25–p75])", cell(lt.wallMs, "ms")],
      ["longest main-thread task per run, from the trace (ms)", `${cell(lt.longestTaskMs, "ms")}, max ${fmt(lt.longestTaskMaxMs, "ms")}`],
      ["↳ the caller's task: 1,000 decrypt() calls (ms; its CPU time)", `${cell(lt.callerTaskMs, "ms")}; ${cell(lt.callerTaskCpuMs, "ms")}`],
      ["↳ the longest task after it: queue slices (ms; most CPU in one)", `${cell(lt.longestQueueTaskMs, "ms")}; ${cell(lt.mostCpuInQueueTaskMs, "ms")}`],
      ["most CPU time in one task (thread time, ms)", `${cell(lt.mostCpuInOneTaskMs, "ms")}, max ${fmt(lt.mostCpuInOneTaskMaxMs, "ms")}`],
      ["tasks over 16 ms / with over 16 ms of CPU, all runs", `${lt.tasksOver16ms} / ${lt.tasksCpuOver16ms}`],
      ["synchronous time of the 1,000 decrypt() calls (ms)", cell(lt.enqueueMs, "ms")],
      ["PerformanceObserver longtask entries (≥ 50 ms), all runs", String(lt.longtaskEntries)],
      ["longest longtask entry (ms)", lt.longtaskEntries ? fmt(lt.longestLongtaskEntryMs, "ms") : "none"],
    ]);
  }
  add("Download size (kB = 1000 bytes; each file compressed on its own)", SIZE_HEAD, sizeRows(result.sizes));
  add(
    "Goals (browser figures)",
    ["goal", "measured", "result"],
    result.goals.map((g) => [g.goal, g.shown ?? "–", g.pass === null ? "n/a" : g.pass ? "PASS" : "FAIL"]),
  );
  sections.text.push("", `run took ${m.durationS.toFixed(0)} s`);
  sections.md.push("", `Run took ${m.durationS.toFixed(0)} s.`);
  return { text: sections.text.join("\n"), md: sections.md.join("\n") + "\n" };
}

// ---------------------------------------------------------------- main
function versionOf(name) {
  return JSON.parse(readFileSync(join(here, "node_modules", name, "package.json"), "utf8")).version;
}
function sha256(path) {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}
function gitDescribe() {
  try {
    const head = execFileSync("git", ["-C", root, "rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["-C", root, "status", "--porcelain", "--untracked-files=no"], { encoding: "utf8" }).trim();
    return dirty ? `${head} (with uncommitted changes)` : head;
  } catch {
    return "unknown";
  }
}

async function main() {
  const installed = join(dirname(require.resolve("chatseal/package.json")), "web/chatseal_bg.wasm");
  const built = join(root, "pkg/web/chatseal_bg.wasm");
  let pkgMatches = null;
  if (existsSync(built)) {
    pkgMatches = sha256(installed) === sha256(built);
    if (!pkgMatches) log("WARNING: node_modules/chatseal differs from pkg/ (run `npm install` in benches/browser to take the new build)");
  }
  if (!process.version.startsWith("v20.")) log(`note: the issue asks for Node 20; this is ${process.version}`);

  const meta = {
    date: new Date().toISOString(),
    mode: MODE,
    rounds: ROUNDS,
    plan: (await import("./workloads.js")).PLAN[MODE],
    initPagesPerRound: INIT_PAGES,
    node: process.version,
    chromium: null,
    versions: Object.fromEntries(LIBS.map((l) => [l, versionOf(l)])),
    playwrightCore: versionOf("playwright-core"),
    esbuild: versionOf("esbuild"),
    chatsealCommit: gitDescribe(),
    chatsealPkgMatchesInstalled: pkgMatches,
    machine: { cpu: os.cpus()[0]?.model ?? "?", cpus: os.cpus().length, memGiB: +(os.totalmem() / 2 ** 30).toFixed(1), loadStart: os.loadavg() },
  };
  log(`building the pages (esbuild ${meta.esbuild})`);
  const { dist, size } = await buildAll(join(OUT, "browser-build"));
  const result = { meta };

  let browser = null;
  let server = null;
  try {
    if (!flag("--no-browser") || (!flag("--no-longtask") && DIRECTORY)) {
      server = await startServer(dist);
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic"],
      });
      meta.chromium = browser.version();
      log(`chromium ${meta.chromium} at ${server.url}`);
    }
    if (!flag("--no-browser")) result.browser = await browserPhase(browser, server.url);
    if (!flag("--no-longtask")) {
      if (DIRECTORY) result.longtask = await longtaskPhase(browser, server.url);
      else log("no key directory (CHATSEAL_TEST_DIRECTORY or --directory; run.sh starts one): long-task measurement skipped");
    }
  } finally {
    if (browser) await browser.close();
    if (server) await server.close();
  }
  if (!flag("--no-node")) result.node = await nodePhase();

  log("download sizes");
  result.sizes = downloadSizes(size);
  meta.machine.loadEnd = os.loadavg();
  meta.durationS = (performance.now() - started) / 1000;
  result.goals = goals(result);

  const { text, md } = report(result);
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, "browser.json"), JSON.stringify(result, null, 1) + "\n");
  writeFileSync(join(OUT, "browser.md"), md);
  console.log(text);
  log(`wrote ${join(OUT, "browser.json")} and ${join(OUT, "browser.md")}`);
}

main().catch((e) => {
  console.error(e.stack || e.message);
  process.exit(1);
});
