// One library, one workload group, in a fresh Node process (the runner starts one per
// library per group per round). Times the import and initialisation of the library like
// the browser page does, runs the group, prints one JSON line.
// Usage: node node-child.mjs LIB GROUP|init full|quick
import { createRequire } from "node:module";
import { chatsealAdapter, virgilAdapter, sodiumAdapter } from "./adapters.js";
import { runGroup, PLAN } from "./workloads.js";

const [lib, group, mode = "full"] = process.argv.slice(2);
const require = createRequire(import.meta.url);

const t0 = performance.now();
let adapter;
if (lib === "chatseal") adapter = chatsealAdapter(await import("chatseal"));
else if (lib === "virgil-crypto") adapter = virgilAdapter(await import("virgil-crypto"));
// libsodium-wrappers 0.7.16's ES build does not load in Node (it imports a file the
// package does not ship); its CommonJS build is what Node apps use.
else if (lib === "libsodium-wrappers") adapter = sodiumAdapter(require("libsodium-wrappers"));
else throw new Error(`unknown library ${lib}`);
await adapter.init();
const initMs = performance.now() - t0;

const result = group === "init" ? { metrics: {}, info: {} } : runGroup(adapter, group, PLAN[mode]);
process.stdout.write(JSON.stringify({ lib, group, initMs, ...result }) + "\n");
