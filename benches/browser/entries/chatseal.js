// Browser bundle: chatseal's browser entry (web build; loads chatseal_bg.wasm next to this file).
import * as chatseal from "chatseal";
import { chatsealAdapter } from "../adapters.js";
import { runGroup, PLAN } from "../workloads.js";

const lib = chatsealAdapter(chatseal);
export const init = () => lib.init();
export const run = (group, mode) => runGroup(lib, group, PLAN[mode]);
