// chatseal for browsers and bundlers (Vite, webpack 5, Next.js client): the API of the
// WebAssembly module, loaded on the first `ChatSeal.open` or an explicit `initAsync()`.
// Importing this file touches no `window` or `document` (server-side rendering works).
import init, * as wasm from "./web/chatseal.js";

let loading = null;
let loaded = false;

/**
 * Loads the WebAssembly module (once; later calls return the same promise). `input` is
 * optional: the URL of `chatseal_bg.wasm`, a `Response`, bytes or a `WebAssembly.Module`,
 * for setups that serve the file from elsewhere.
 */
export function initAsync(input) {
  if (!loading) {
    loading = init(input === undefined ? undefined : { module_or_path: input }).then(
      () => {
        loaded = true;
      },
      (cause) => {
        loading = null;
        throw new Error(
          `chatseal: cannot load its WebAssembly module (${cause && cause.message}). ` +
            "If your bundler serves chatseal_bg.wasm from another place, pass its URL to initAsync(url).",
          { cause },
        );
      },
    );
  }
  return loading;
}

/** True once the WebAssembly module is loaded. */
export function isReady() {
  return loaded;
}

function ready(what) {
  if (!loaded) {
    throw new Error(
      `chatseal: ${what} needs the WebAssembly module, which is not loaded yet; ` +
        "await initAsync() (or ChatSeal.open) first",
    );
  }
}

/** True when `text` is a chatseal message (`csm1.`); works before the module loads. */
export function isEncrypted(text) {
  return typeof text === "string" && text.startsWith("csm1.");
}

/** End-to-end encryption for one identity: `await ChatSeal.open(options)`. */
export class ChatSeal {
  constructor() {
    throw new TypeError("use `await ChatSeal.open({ identity, directoryUrl, getToken })`");
  }
  static async open(options) {
    await initAsync();
    return wasm.ChatSeal.open(options);
  }
  static [Symbol.hasInstance](value) {
    return loaded && value instanceof wasm.ChatSeal;
  }
}

/** Low-level keys, for offline and synchronous use (after `initAsync()`). */
export class Identity {
  constructor() {
    throw new TypeError("use Identity.generate(identity) or Identity.restore(backup, password)");
  }
  static generate(identity) {
    ready("Identity.generate");
    return wasm.Identity.generate(identity);
  }
  static restore(backupText, password) {
    ready("Identity.restore");
    return wasm.Identity.restore(backupText, password);
  }
  static [Symbol.hasInstance](value) {
    return loaded && value instanceof wasm.Identity;
  }
}

/** A public card (after `initAsync()`). */
export class Card {
  constructor() {
    throw new TypeError("use Card.parse(text)");
  }
  static parse(text) {
    ready("Card.parse");
    return wasm.Card.parse(text);
  }
  static [Symbol.hasInstance](value) {
    return loaded && value instanceof wasm.Card;
  }
}

/** The class of every error chatseal throws, with a stable `code`. */
export class ChatSealError extends Error {
  static [Symbol.hasInstance](value) {
    return loaded && value instanceof wasm.chatSealErrorClass();
  }
}
