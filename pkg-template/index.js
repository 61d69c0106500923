// @ts-check
// chatseal for browsers and bundlers (Vite, webpack 5, Next.js client): the wasm-bindgen
// `web` build, fetched and compiled on the first `ChatSeal.open` or `initAsync()`.
import init, * as wasm from "./web/chatseal.js";
import { makeApi } from "./facade.js";

export const { ChatSeal, Identity, Card, ChatSealError, isEncrypted, initAsync, isReady } = makeApi(
  async (input) => {
    await init(input === undefined ? undefined : { module_or_path: input });
    return wasm;
  },
  () => undefined,
);
