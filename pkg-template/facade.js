// The API every entry exports, over a WebAssembly module that is loaded only when first
// needed: `ChatSeal.open` and `initAsync()` load it; the synchronous low-level calls need
// it loaded (in Node it loads on demand; in browsers, await initAsync() first). Importing
// an entry therefore costs nothing and touches no `window` (server-side rendering works).

/**
 * `load()` resolves to the wasm-bindgen module, once; `now()` returns it when it can be
 * had synchronously (already loaded, or loadable on the spot), else undefined.
 */
export function makeApi(load, now) {
  let loading = null;
  let wasm;

  function initAsync(input) {
    if (!loading) {
      loading = load(input).then(
        (module) => {
          wasm = module;
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

  function ready(what) {
    if (!wasm) wasm = now();
    if (!wasm) {
      throw new Error(
        `chatseal: ${what} needs the WebAssembly module, which is not loaded yet; ` +
          "await initAsync() (or ChatSeal.open) first",
      );
    }
    return wasm;
  }

  const is = (name) => (value) => !!wasm && value instanceof wasm[name];

  /** End-to-end encryption for one identity: `await ChatSeal.open(options)`. */
  class ChatSeal {
    constructor() {
      throw new TypeError("use `await ChatSeal.open({ identity, directoryUrl, getToken })`");
    }
    static async open(options) {
      await initAsync();
      return wasm.ChatSeal.open(options);
    }
    static [Symbol.hasInstance](value) {
      return is("ChatSeal")(value);
    }
  }

  /** Low-level keys, for offline and synchronous use. */
  class Identity {
    constructor() {
      throw new TypeError("use Identity.generate(identity) or Identity.restore(backup, password)");
    }
    static generate(identity) {
      return ready("Identity.generate").Identity.generate(identity);
    }
    static restore(backupText, password) {
      return ready("Identity.restore").Identity.restore(backupText, password);
    }
    static [Symbol.hasInstance](value) {
      return is("Identity")(value);
    }
  }

  /** A verified public card. */
  class Card {
    constructor() {
      throw new TypeError("use Card.parse(text)");
    }
    static parse(text) {
      return ready("Card.parse").Card.parse(text);
    }
    static [Symbol.hasInstance](value) {
      return is("Card")(value);
    }
  }

  /** The class of every error chatseal throws, with a stable `code`. */
  class ChatSealError extends Error {
    static [Symbol.hasInstance](value) {
      return !!wasm && value instanceof wasm.chatSealErrorClass();
    }
  }

  /** True when `text` is a chatseal message (`csm1.` or `csg1.`); works before the module loads. */
  function isEncrypted(text) {
    return typeof text === "string" && (text.startsWith("csm1.") || text.startsWith("csg1."));
  }

  return {
    ChatSeal,
    Identity,
    Card,
    ChatSealError,
    isEncrypted,
    initAsync,
    isReady: () => !!wasm,
  };
}
