// Download sizes: raw, gzip -9 and brotli (quality 11) of each file a browser fetches for
// a library's code, and their sums (a browser fetches, and a server compresses, each file
// on its own).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";
import { listFiles } from "./build.mjs";

const require = createRequire(import.meta.url);

function measure(path) {
  const data = readFileSync(path);
  return {
    raw: data.length,
    gzip: gzipSync(data, { level: 9 }).length,
    brotli: brotliCompressSync(data, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
      },
    }).length,
  };
}

function sum(files) {
  const total = { raw: 0, gzip: 0, brotli: 0 };
  const js = { raw: 0, gzip: 0, brotli: 0 };
  const wasm = { raw: 0, gzip: 0, brotli: 0 };
  for (const f of files) {
    for (const k of Object.keys(total)) {
      total[k] += f[k];
      (f.file.endsWith(".wasm") ? wasm : js)[k] += f[k];
    }
  }
  return { files, js, wasm, total };
}

/** { chatseal, chatsealBundled, "virgil-crypto", "libsodium-wrappers" } → { files, js, wasm, total }. */
export function downloadSizes(sizeDir) {
  const pkg = dirname(require.resolve("chatseal/package.json"));
  // What a browser fetches from the package as published (unbundled ES modules + wasm).
  const pkgFiles = ["index.js", "facade.js", "web/chatseal.js"]
    .concat(listFiles(join(pkg, "web/snippets")).map((f) => `web/snippets/${f}`))
    .concat(["web/chatseal_bg.wasm"]);
  const out = {
    chatseal: sum(pkgFiles.map((f) => ({ file: `pkg/${f}`, ...measure(join(pkg, f)) }))),
  };
  const bundled = (lib) =>
    sum(listFiles(join(sizeDir, lib)).map((f) => ({ file: `${lib}/${f}`, ...measure(join(sizeDir, lib, f)) })));
  out.chatsealBundled = bundled("chatseal");
  out["virgil-crypto"] = bundled("virgil-crypto");
  out["libsodium-wrappers"] = bundled("libsodium-wrappers");
  return out;
}
