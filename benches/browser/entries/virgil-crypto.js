// Browser bundle: virgil-crypto's browser ES build (its "browser" field), WebAssembly as a file.
import * as virgil from "virgil-crypto";
import { virgilAdapter } from "../adapters.js";
import { runGroup, PLAN } from "../workloads.js";

const lib = virgilAdapter(virgil);
export const init = () => lib.init();
export const run = (group, mode) => runGroup(lib, group, PLAN[mode]);
