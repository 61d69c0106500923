// Bundles what the benchmark pages load, the way an app ships it: esbuild, ES modules,
// minified, for browsers. Two sets:
//   dist/  the page bundles (library + adapters.js + workloads.js), and the .wasm files;
//   size/  the library alone (only what the workloads import), for the download sizes.
// chatseal's browser build loads chatseal_bg.wasm through `new URL(…, import.meta.url)`,
// which esbuild leaves as it is, so the .wasm is copied next to the bundle (what an app's
// build does for it; Vite and webpack 5 do it themselves).
import { build as esbuild } from "esbuild";
import { copyFileSync, mkdirSync, rmSync, writeFileSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

export const LIBS = ["chatseal", "virgil-crypto", "libsodium-wrappers"];

/** libsodium-wrappers 0.7.16's ES build imports "./libsodium.mjs", which the package
 *  does not ship (it is in the `libsodium` package): point it there, as apps do. */
const sodiumEsmFix = {
  name: "libsodium-esm",
  setup(b) {
    b.onResolve({ filter: /^\.\/libsodium\.mjs$/ }, (args) =>
      args.importer.includes("libsodium-wrappers")
        ? { path: join(dirname(require.resolve("libsodium")), "../modules-esm/libsodium.mjs") }
        : undefined,
    );
  },
};

const common = {
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  minify: true,
  legalComments: "none",
  loader: { ".wasm": "file" },
  assetNames: "[name]-[hash]",
  plugins: [sodiumEsmFix],
  logLevel: "warning",
};

function chatsealWasm() {
  return join(dirname(require.resolve("chatseal/package.json")), "web/chatseal_bg.wasm");
}

/** Builds both sets into `out` (removed first); returns { dist, size }. */
export async function buildAll(out) {
  rmSync(out, { recursive: true, force: true });
  const dist = join(out, "dist");
  const size = join(out, "size");
  mkdirSync(dist, { recursive: true });
  mkdirSync(size, { recursive: true });

  await esbuild({
    ...common,
    entryPoints: Object.fromEntries(
      [...LIBS, "longtask", "files"].map((name) => [name, join(here, "entries", `${name}.js`)]),
    ),
    outdir: dist,
    publicPath: "/dist/",
  });
  copyFileSync(chatsealWasm(), join(dist, "chatseal_bg.wasm"));

  // The library alone: one entry per library that imports what the pages use.
  const stubs = {
    chatseal: 'export { initAsync, Identity, Card, ChatSeal } from "chatseal";',
    "virgil-crypto": 'export { initCrypto, VirgilCrypto } from "virgil-crypto";',
    "libsodium-wrappers": 'export { default } from "libsodium-wrappers";',
  };
  for (const lib of LIBS) {
    const dir = join(size, lib);
    mkdirSync(dir, { recursive: true });
    await esbuild({
      ...common,
      stdin: { contents: stubs[lib], resolveDir: here, sourcefile: `${lib}-size.js` },
      outfile: join(dir, `${lib}.js`),
      publicPath: `/size/${lib}/`,
    });
    if (lib === "chatseal") copyFileSync(chatsealWasm(), join(dir, "chatseal_bg.wasm"));
  }
  return { dist, size };
}

/** Files under `dir` (recursively), as paths relative to it. */
export function listFiles(dir, prefix = "") {
  const out = [];
  for (const name of readdirSync(join(dir, prefix)).sort()) {
    const rel = prefix ? `${prefix}/${name}` : name;
    if (statSync(join(dir, rel)).isDirectory()) out.push(...listFiles(dir, rel));
    else out.push(rel);
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] || join(here, "../../target/bench/browser-build");
  const r = await buildAll(out);
  writeFileSync(join(out, "built.txt"), new Date().toISOString() + "\n");
  for (const d of [r.dist, r.size]) for (const f of listFiles(d)) console.log(join(d, f), statSync(join(d, f)).size);
}
