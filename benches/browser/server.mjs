// A tiny static server for the benchmark pages: 127.0.0.1, a random port, no caching,
// and cross-origin isolation (COOP/COEP) so that performance.now() has its fine
// resolution in Chromium (5 µs rather than 100 µs).
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { join, normalize, extname } from "node:path";

const TYPES = {
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".html": "text/html; charset=utf-8",
};

// One page for every library: it times the import of the library's bundle and its
// initialisation (fetch, compile and instantiate the WebAssembly), then waits for the runner.
const BENCH_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>chatseal benchmark</title></head><body>
<script type="module">
const lib = new URL(location.href).searchParams.get("lib");
window.benchReady = (async () => {
  const t0 = performance.now();
  const m = await import("/dist/" + lib + ".js");
  await m.init();
  const initMs = performance.now() - t0;
  window.bench = m;
  return { initMs, crossOriginIsolated: self.crossOriginIsolated, userAgent: navigator.userAgent };
})();
</script></body></html>`;

const LONGTASK_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>chatseal history long tasks</title></head><body>
<p id="status">loading</p>
<script type="module">
window.longtaskReady = import("/dist/longtask.js").then((m) => { window.longtask = m; return true; });
</script></body></html>`;

const FILES_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>chatseal attachments</title></head><body>
<p id="status">loading</p>
<script type="module">
window.filesReady = import("/dist/files.js").then((m) => { window.files = m; return true; });
</script></body></html>`;

/** Serves `dist` under /dist/; resolves to { url, close }. */
export function startServer(dist) {
  const server = createServer(async (req, res) => {
    const headers = {
      "cache-control": "no-store",
      "cross-origin-opener-policy": "same-origin",
      "cross-origin-embedder-policy": "require-corp",
      "cross-origin-resource-policy": "same-origin",
    };
    try {
      const path = new URL(req.url, "http://x").pathname;
      let body;
      let type;
      if (path === "/bench.html") [body, type] = [BENCH_PAGE, TYPES[".html"]];
      else if (path === "/longtask.html") [body, type] = [LONGTASK_PAGE, TYPES[".html"]];
      else if (path === "/files.html") [body, type] = [FILES_PAGE, TYPES[".html"]];
      else if (path.startsWith("/dist/")) {
        const rel = normalize(decodeURIComponent(path.slice("/dist/".length)));
        if (rel.startsWith("..") || rel.includes("\0")) throw Object.assign(new Error("bad path"), { code: "ENOENT" });
        body = await readFile(join(dist, rel));
        type = TYPES[extname(rel)] || "application/octet-stream";
      } else if (path === "/favicon.ico") {
        res.writeHead(204, headers).end();
        return;
      } else throw Object.assign(new Error("not found"), { code: "ENOENT" });
      res.writeHead(200, { ...headers, "content-type": type, "content-length": Buffer.byteLength(body) });
      res.end(body);
    } catch (e) {
      res.writeHead(e.code === "ENOENT" ? 404 : 500, { ...headers, "content-type": "text/plain" });
      res.end(String(e.message));
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}
