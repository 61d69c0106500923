// Browser bundle: libsodium-wrappers' ES build (its WebAssembly is inside the JS).
import sodium from "libsodium-wrappers";
import { sodiumAdapter } from "../adapters.js";
import { runGroup, PLAN } from "../workloads.js";

const lib = sodiumAdapter(sodium);
export const init = () => lib.init();
export const run = (group, mode) => runGroup(lib, group, PLAN[mode]);
