// Side-by-side benchmark: chatseal (low-level API), virgil-crypto 5.1.2 (e3kit's
// signThenEncrypt / decryptThenVerify) and libsodium-wrappers (sealed box per recipient +
// XChaCha20-Poly1305 + Ed25519), the same workloads in headless Chromium (a fresh page per
// library per workload group) and in Node (a fresh process per library per group),
// libraries interleaved in rounds; the group workloads (group-500, history-group) use
// chatseal's group sessions and the peers' multi-recipient messages (see adapters.js).
// Also: the longest main-thread task while ChatSeal
// decrypts a 1,000-message history through its queue (needs a key directory:
// CHATSEAL_TEST_DIRECTORY, see run.sh); ChatSeal's encryptFile/decryptFile on a 100 MiB
// attachment, with the renderer's and the browser process's peak RSS (the same directory;
// a fresh browser per run); and the download sizes.
//
// Usage: node run.mjs [--quick] [--rounds N] [--no-browser] [--no-node] [--no-longtask]
//                     [--no-files] [--groups small,mib,…] [--files-mib N] [--files-runs N]
//                     [--directory URL] [--out DIR]
// --groups limits the workload groups of the browser and Node phases (init always runs).
// Writes DIR/browser.json and DIR/browser.md (default DIR: target/bench at the repo root).
import { chromium } from "playwright-core";
import { spawn, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync } from "node:fs";
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
const FILES_RUNS = Number(option("--files-runs", QUICK ? 1 : 3)); // each in a fresh browser
const FILES_MIB = Number(option("--files-mib", 100)); // the attachment's size
const SELECTED = option("--groups", "") ? option("--groups", "").split(",").filter(Boolean) : GROUPS;
for (const g of SELECTED) if (!GROUPS.includes(g)) throw new Error(`--groups: no group "${g}" (${GROUPS.join(", ")})`);
const LAUNCH_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic"];
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
    for (const group of ["init", ...SELECTED]) {
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
    for (const group of ["init", ...SELECTED]) {
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

// ---------------------------------------------------------------- attachments
const MIB = 1 << 20;

/** The process `pid` and its descendants: [{ pid, ppid, cmdline, type, hwmKiB, rssKiB,
 *  cpuTicks }], type from Chromium's --type= ("browser" when there is none). */
function processTree(pid) {
  const parent = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      // pid (comm) state ppid …: comm may hold spaces and parentheses.
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parent.set(Number(name), { ppid: Number(rest[1]), cpuTicks: Number(rest[11]) + Number(rest[12]) });
    } catch {
      // gone meanwhile
    }
  }
  const tree = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [p, { ppid }] of parent) if (!tree.has(p) && tree.has(ppid)) (tree.add(p), (grew = true));
  }
  const out = [];
  for (const p of tree) {
    try {
      // Zygote-forked processes (renderers, …) rewrite their title: one space-joined string.
      const cmdline = readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
      const status = readFileSync(`/proc/${p}/status`, "utf8");
      const kib = (key) => Number(status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"))?.[1] ?? NaN);
      const type = cmdline.match(/(?:^| )--type=(\S+)/)?.[1] ?? "browser";
      out.push({ pid: p, ppid: parent.get(p)?.ppid, cmdline, type, hwmKiB: kib("VmHWM"), rssKiB: kib("VmRSS"), cpuTicks: parent.get(p)?.cpuTicks ?? 0 });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Chromium browser processes started by this runner (Playwright spawns them as children). */
function ourChromiums() {
  return processTree(process.pid)
    .filter((p) => p.pid !== process.pid && p.type === "browser" && / --remote-debugging-pipe( |$)/.test(p.cmdline))
    .map((p) => p.pid);
}

/** Peak and current RSS in MiB of the browser process `pid` and of the page's renderer
 *  `pagePid` in a snapshot of processTree(pid); the other processes' figures beside. */
function chromiumMemory(procs, pid, pagePid) {
  const mib = (k) => k / 1024;
  const browserProc = procs.find((p) => p.pid === pid);
  const page = procs.find((p) => p.pid === pagePid);
  const renderers = procs.filter((p) => p.type === "renderer");
  const others = procs.filter((p) => p !== browserProc && p !== page);
  return {
    rendererHwmMiB: page ? mib(page.hwmKiB) : NaN,
    rendererRssMiB: page ? mib(page.rssKiB) : NaN,
    browserHwmMiB: browserProc ? mib(browserProc.hwmKiB) : NaN,
    browserRssMiB: browserProc ? mib(browserProc.rssKiB) : NaN,
    renderers: renderers.length,
    others: others.map((p) => ({ type: p.type, hwmMiB: +mib(p.hwmKiB).toFixed(1), rssMiB: +mib(p.rssKiB).toFixed(1) })),
  };
}

async function filesPhase(base) {
  const runs = [];
  let chromiumVersion = null;
  for (let i = 0; i < FILES_RUNS; i++) {
    // A browser of its own with only this page, so that the peaks are this run's.
    const before = new Set(ourChromiums());
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [...LAUNCH_ARGS, "--enable-precise-memory-info"],
    });
    const fresh = ourChromiums().filter((p) => !before.has(p));
    if (fresh.length !== 1) {
      await browser.close();
      throw new Error(`files: cannot tell the new Chromium's browser process (${fresh.length} candidates)`);
    }
    const pid = fresh[0];
    chromiumVersion = browser.version();
    const { page, problems } = await newPage(browser);
    let step = "load";
    try {
      await page.goto(`${base}/files.html`);
      await page.evaluate(() => window.filesReady);
      const snaps = { start: processTree(pid) };
      step = "prepare";
      const prep = await page.evaluate(([d, n]) => window.files.prepare(d, n), [DIRECTORY, FILES_MIB]);
      snaps.prepared = processTree(pid);
      step = "encrypt";
      const enc = await page.evaluate(() => window.files.encrypt());
      snaps.encrypted = processTree(pid);
      step = "decrypt to File";
      const file = await page.evaluate(() => window.files.decryptToFile());
      snaps.decryptedToFile = processTree(pid);
      step = "decrypt to stream";
      const stream = await page.evaluate(() => window.files.decryptToStream());
      snaps.decryptedToStream = processTree(pid);
      step = "finish";
      const fin = await page.evaluate(() => window.files.finish());
      // The page's renderer: the one that used the most CPU by the end (Chromium also
      // keeps a spare renderer and one for its own WebUI).
      const pagePid = snaps.decryptedToStream
        .filter((p) => p.type === "renderer")
        .sort((a, b) => b.cpuTicks - a.cpuTicks)[0]?.pid;
      const memory = Object.fromEntries(Object.entries(snaps).map(([k, procs]) => [k, chromiumMemory(procs, pid, pagePid)]));
      const mibs = (ms) => FILES_MIB / (ms / 1000);
      const run = {
        prepareMs: prep.prepareMs,
        buildMs: prep.buildMs,
        bytes: prep.bytes,
        encrypt: { ...enc, mibPerS: mibs(enc.ms) },
        decryptToFile: { ...file, mibPerS: mibs(file.ms) },
        decryptToStream: { ...stream, mibPerS: mibs(stream.ms) },
        jsHeapPeakMiB: fin.heapSampled ? fin.heapPeak / MIB : null,
        jsHeapAfterSetupMiB: fin.heapSampled ? prep.heap / MIB : null,
        stats: fin.stats,
        memory,
      };
      runs.push(run);
      const m = memory.decryptedToStream;
      log(
        `files run ${i + 1}/${FILES_RUNS} (${FILES_MIB} MiB): encrypt ${run.encrypt.mibPerS.toFixed(1)} MiB/s, ` +
          `decrypt → File ${run.decryptToFile.mibPerS.toFixed(1)} MiB/s, → stream ${run.decryptToStream.mibPerS.toFixed(1)} MiB/s; ` +
          `peak RSS renderer ${m.rendererHwmMiB.toFixed(0)} MiB, browser process ${m.browserHwmMiB.toFixed(0)} MiB`,
      );
    } catch (e) {
      throw new Error(`files (${FILES_MIB} MiB), run ${i + 1}, ${step}: ${e.message}\n${problems.join("\n")}`);
    } finally {
      await browser.close();
    }
    if (problems.length) log(`files: ${problems.join("; ")}`);
  }
  const at = (stage, key) => summary(runs.map((r) => r.memory[stage][key]));
  const heaps = runs.map((r) => r.jsHeapPeakMiB).filter((x) => x !== null);
  return {
    directory: DIRECTORY,
    chromium: chromiumVersion,
    mib: FILES_MIB,
    bytes: FILES_MIB * MIB,
    encryptedBytes: runs[0].encrypt.encryptedBytes,
    runs: runs.length,
    encryptMiBs: summary(runs.map((r) => r.encrypt.mibPerS)),
    decryptFileMiBs: summary(runs.map((r) => r.decryptToFile.mibPerS)),
    decryptStreamMiBs: summary(runs.map((r) => r.decryptToStream.mibPerS)),
    encryptMs: summary(runs.map((r) => r.encrypt.ms)),
    decryptFileMs: summary(runs.map((r) => r.decryptToFile.ms)),
    decryptFileUntilFirstProgressMs: summary(runs.map((r) => r.decryptToFile.untilFirstProgressMs)),
    decryptStreamMs: summary(runs.map((r) => r.decryptToStream.ms)),
    streamChunks: runs[0].decryptToStream.chunks,
    streamLargestChunk: runs[0].decryptToStream.largestChunk,
    // After the whole run (VmHWM: the peak since the process started).
    rendererHwmMiB: at("decryptedToStream", "rendererHwmMiB"),
    browserHwmMiB: at("decryptedToStream", "browserHwmMiB"),
    // The same peaks read after each step: which step raised them.
    hwmByStep: Object.fromEntries(
      ["start", "prepared", "encrypted", "decryptedToFile", "decryptedToStream"].map((s) => [
        s,
        { rendererHwmMiB: at(s, "rendererHwmMiB").median, browserHwmMiB: at(s, "browserHwmMiB").median, rendererRssMiB: at(s, "rendererRssMiB").median, browserRssMiB: at(s, "browserRssMiB").median },
      ]),
    ),
    jsHeapPeakMiB: heaps.length ? summary(heaps) : null,
    jsHeapAfterSetupMiB: heaps.length ? summary(runs.map((r) => r.jsHeapAfterSetupMiB)) : null,
    samples: {
      encryptMiBs: runs.map((r) => round4(r.encrypt.mibPerS)),
      decryptFileMiBs: runs.map((r) => round4(r.decryptToFile.mibPerS)),
      decryptStreamMiBs: runs.map((r) => round4(r.decryptToStream.mibPerS)),
      rendererHwmMiB: runs.map((r) => round4(r.memory.decryptedToStream.rendererHwmMiB)),
      browserHwmMiB: runs.map((r) => round4(r.memory.decryptedToStream.browserHwmMiB)),
      jsHeapPeakMiB: heaps.map(round4),
    },
    detail: runs,
  };
}

/** The `mib` workload's medians (headless Chromium, low-level API) as MiB/s per library. */
function oneMiB(browserResult) {
  if (!browserResult) return null;
  const out = {};
  for (const lib of LIBS) {
    const s = browserResult.stats[lib];
    if (!s?.mibEncrypt) continue;
    out[lib] = {
      encryptMs: s.mibEncrypt.median,
      decryptMs: s.mibDecrypt.median,
      bothMs: s.mib.median,
      encryptMiBs: 1000 / s.mibEncrypt.median,
      decryptMiBs: 1000 / s.mibDecrypt.median,
      samples: s.mibEncrypt.n,
    };
  }
  return Object.keys(out).length ? out : null;
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
  if (result.files) {
    const f = result.files;
    const one = f.oneMiB || {};
    const all = (s, xs) => (s ? (xs.length > 1 ? `${fmt(s.median)} (${xs.map((x) => fmt(x)).join(", ")})` : fmt(s.median)) : "–");
    const peer = (lib, key) => (one[lib] ? `${fmt(one[lib][`${key}MiBs`])} (${fmt(one[lib][`${key}Ms`], "ms")} ms)` : "–");
    add(
      `ChatSeal attachments: encryptFile / decryptFile of ${f.mib} MiB, headless Chromium, ${f.runs} run(s), a fresh browser each; beside the 1 MiB workload of this run`,
      ["MiB/s: median (each run)", `chatseal ChatSeal, ${f.mib} MiB file`, "chatseal 1 MiB (low-level)", "virgil-crypto 1 MiB", "libsodium-wrappers 1 MiB"],
      [
        ["encrypt", all(f.encryptMiBs, f.samples.encryptMiBs), peer("chatseal", "encrypt"), peer("virgil-crypto", "encrypt"), peer("libsodium-wrappers", "encrypt")],
        ["decrypt → File (Blob body: SHA-256 over the whole ciphertext first, then the decrypt)", all(f.decryptFileMiBs, f.samples.decryptFileMiBs), peer("chatseal", "decrypt"), peer("virgil-crypto", "decrypt"), peer("libsodium-wrappers", "decrypt")],
        ["decrypt → stream (blob.stream() in, read to the end; hash compared at the end)", all(f.decryptStreamMiBs, f.samples.decryptStreamMiBs), "–", "–", "–"],
      ],
      `MiB/s = ${f.mib} MiB ÷ the call's wall time (encrypt: until the EncryptedFile; File: until the File; stream: until the reader's last read). ` +
        `The 1 MiB columns are the "1 MiB" workload's medians of this run (encrypt alone, decrypt+verify alone; one call on bytes in memory; median ms in brackets), converted: 1 ÷ seconds. ` +
        `decrypt → File reads the ciphertext twice (hash pass ${fmt(f.decryptFileUntilFirstProgressMs?.median, "ms")} ms median until the first progress event, which also includes the first MiB's decrypt). ` +
        `The stream read ${f.streamChunks} chunks of at most ${f.streamLargestChunk} bytes.`,
    );
    const step = (s, k) => fmt(f.hwmByStep[s]?.[k]);
    add(
      `ChatSeal attachments: Chromium memory during the ${f.mib} MiB run (MiB = 2^20 bytes)`,
      ["memory (MiB)", "median (each run)", "after set-up (before the big file's calls)", "after encrypt / → File / → stream"],
      [
        ["peak RSS of the page's renderer (VmHWM)", all(f.rendererHwmMiB, f.samples.rendererHwmMiB), step("prepared", "rendererHwmMiB"), ["encrypted", "decryptedToFile", "decryptedToStream"].map((s) => step(s, "rendererHwmMiB")).join(" / ")],
        ["peak RSS of the browser process (VmHWM)", all(f.browserHwmMiB, f.samples.browserHwmMiB), step("prepared", "browserHwmMiB"), ["encrypted", "decryptedToFile", "decryptedToStream"].map((s) => step(s, "browserHwmMiB")).join(" / ")],
        ["RSS at that moment (VmRSS), renderer; browser process", "–", `${step("prepared", "rendererRssMiB")}; ${step("prepared", "browserRssMiB")}`, ["encrypted", "decryptedToFile", "decryptedToStream"].map((s) => `${step(s, "rendererRssMiB")}; ${step(s, "browserRssMiB")}`).join(" / ")],
        ["JS heap peak (performance.memory.usedJSHeapSize, sampled each MiB)", f.jsHeapPeakMiB ? all(f.jsHeapPeakMiB, f.samples.jsHeapPeakMiB) : "–", f.jsHeapAfterSetupMiB ? `${fmt(f.jsHeapAfterSetupMiB.median)} (now)` : "–", "–"],
      ],
      `VmHWM from /proc/<pid>/status: the highest resident set since the process started (the renderer: the page's; the browser process: Chromium's main process, ` +
        `which holds the Blob data — the source, the encrypted Blob and the decrypted File — in its blob storage: in memory up to Chromium's limit, on disk past it where it may page). ` +
        `"After set-up" is read once the two users are registered, the 1 MiB warm-up is done and the ${f.mib} MiB source Blob is built from 1 MiB pieces.`,
    );
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
    const wantFiles = !flag("--no-files") && DIRECTORY;
    if (!flag("--no-browser") || (!flag("--no-longtask") && DIRECTORY) || wantFiles) server = await startServer(dist);
    if (!flag("--no-browser") || (!flag("--no-longtask") && DIRECTORY)) {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: LAUNCH_ARGS,
      });
      meta.chromium = browser.version();
      log(`chromium ${meta.chromium} at ${server.url}`);
    }
    if (!flag("--no-browser")) result.browser = await browserPhase(browser, server.url);
    if (!flag("--no-longtask")) {
      if (DIRECTORY) result.longtask = await longtaskPhase(browser, server.url);
      else log("no key directory (CHATSEAL_TEST_DIRECTORY or --directory; run.sh starts one): long-task measurement skipped");
    }
    // The attachments run in a browser of their own (per run): close the shared one first.
    if (browser) await browser.close();
    browser = null;
    if (!flag("--no-files")) {
      if (DIRECTORY) result.files = await filesPhase(server.url);
      else log("no key directory (CHATSEAL_TEST_DIRECTORY or --directory; run.sh starts one): attachments measurement (encryptFile/decryptFile) skipped");
    }
  } finally {
    if (browser) await browser.close();
    if (server) await server.close();
  }
  if (!flag("--no-node")) result.node = await nodePhase();
  if (result.files) {
    result.files.oneMiB = oneMiB(result.browser);
    meta.chromium ??= result.files.chromium;
  }

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
