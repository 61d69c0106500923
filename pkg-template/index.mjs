// @ts-check
// chatseal for Node (ES modules, and CommonJS through index.cjs): the wasm-bindgen
// `nodejs` build, loaded on first use — so a server-side render that never encrypts
// (React components on the server) never loads it.
import { createRequire } from "node:module";
import { makeApi } from "./facade.js";

const require = createRequire(import.meta.url);
const load = () => require("./nodejs/chatseal.js");

export const { ChatSeal, Identity, Card, ChatSealError, isEncrypted, initAsync, isReady } = makeApi(
  async () => load(),
  load,
);
