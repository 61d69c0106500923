#!/usr/bin/env node
// `npm run dev`: the demo backend, a chat server and Vite, wired together on loopback.
//
//   node dev/dev.js                 chatseal-relay (backend, key directory and chat
//                                   relay) + Vite's dev server, which proxies the server's
//                                   paths so the app sees one origin
//   node dev/dev.js --preview       `vite preview` of dist/ (run `npm run build` first)
//                                   instead of the dev server
//   --port N (default 5173), --host ADDR (default 127.0.0.1), --db URL
//   (default sqlite:///tmp/www-dev.db); CHATSEAL_SERVER=path overrides the binary
//   (default ../target/debug/chatseal-relay: `cargo build -p chatseal-relay`).
//
// Prints the URL to open. Ctrl-C stops everything it started.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const www = resolve(here, "..");
const root = resolve(www, "..");

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};

const port = Number(option("--port", "5173"));
const host = option("--host", "127.0.0.1");
const db = option("--db", "sqlite:///tmp/www-dev.db");
const server = process.env.CHATSEAL_SERVER || resolve(root, "target/debug/chatseal-relay");

const stops = [];
let stopping = false;
async function stopAll(code) {
  if (stopping) return;
  stopping = true;
  for (const stop of stops.reverse()) {
    try {
      await stop();
    } catch {
      // already gone
    }
  }
  process.exit(code);
}
process.on("SIGINT", () => stopAll(0));
process.on("SIGTERM", () => stopAll(0));

function fail(message) {
  console.error(`dev: ${message}`);
  stopAll(1);
}

/** Starts `chatseal-relay` on a free loopback port; resolves to its URL. */
function startDemo() {
  if (!existsSync(server)) {
    throw new Error(`no ${server}: build it with \`cd ${root} && cargo build -p chatseal-relay\``);
  }
  const child = spawn(server, ["--listen", "127.0.0.1:0", "--db", db], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  stops.push(
    () =>
      new Promise((done) => {
        if (child.exitCode !== null) return done();
        child.once("exit", done);
        child.kill("SIGTERM");
      }),
  );
  return new Promise((resolveUrl, reject) => {
    let seen = "";
    const look = (chunk) => {
      const text = chunk.toString("utf8");
      seen += text;
      const m = seen.match(/listening on (http:\/\/\S+)/);
      if (m) resolveUrl(m[1]);
      if (process.env.DEV_VERBOSE) process.stderr.write(`[demo] ${text}`);
    };
    child.stdout.on("data", look);
    child.stderr.on("data", look);
    child.once("exit", (code) => {
      if (!stopping) reject(new Error(`chatseal-relay exited (${code}):\n${seen}`));
    });
  });
}

async function main() {
  const demo = await startDemo();
  console.log(`dev: chatseal-relay on ${demo} (database ${db})`);

  // vite.config.js proxies `/v1`, `/v2` and the relay's paths to the demo server; the app stays on
  // Vite's origin (VITE_PROXY_STREAM).
  process.env.CHATSEAL_DEMO_URL = demo;
  process.env.VITE_PROXY_STREAM = "1";

  const vite = await import("vite");
  if (flag("--preview")) {
    if (!existsSync(resolve(www, "dist/index.html"))) throw new Error("no dist/: run `npm run build` first");
    const preview = await vite.preview({ root: www, preview: { host, port, strictPort: true } });
    stops.push(() => preview.close());
    console.log(`dev: open http://${host}:${port}/`);
  } else {
    const dev = await vite.createServer({ root: www, server: { host, port, strictPort: true } });
    await dev.listen();
    stops.push(() => dev.close());
    console.log(`dev: open http://${host}:${port}/`);
  }
}

main().catch((e) => fail(e.message));
