// @ts-check
// The API every entry exports, over a WebAssembly module that is loaded only when first
// needed: `ChatSeal.open` and `initAsync()` load it; the synchronous low-level calls need
// it loaded (in Node it loads on demand; in browsers, await initAsync() first). Importing
// an entry therefore costs nothing and touches no `window` (server-side rendering works).

/** @typedef {typeof import("./index.js")} Api  the declarations (index.d.ts) */
/** @typedef {typeof import("./web/chatseal.js")} Wasm  the wasm-bindgen module (web and nodejs alike) */

/**
 * `load()` resolves to the wasm-bindgen module, once; `now()` returns it when it can be
 * had synchronously (already loaded, or loadable on the spot), else undefined.
 * @param {(input?: Parameters<Api["initAsync"]>[0]) => Promise<Wasm>} load
 * @param {() => Wasm | undefined} now
 */
export function makeApi(load, now) {
  /** @type {Promise<void> | null} */
  let loading = null;
  /** @type {Wasm | undefined} */
  let wasm;

  /** @type {Api["initAsync"]} */
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

  /**
   * @param {string} what
   * @returns {Wasm}
   */
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

  /** @param {"ChatSeal" | "Identity" | "Card"} name */
  const is = (name) => (/** @type {unknown} */ value) => !!wasm && value instanceof wasm[name];

  /** End-to-end encryption for one identity: `await ChatSeal.open(options)`. */
  class ChatSeal {
    constructor() {
      throw new TypeError("use `await ChatSeal.open({ identity, directoryUrl, getToken })`");
    }
    /** @type {Api["ChatSeal"]["open"]} */
    static async open(options) {
      await initAsync();
      return withDevices(await ready("ChatSeal.open").ChatSeal.open(options));
    }
    /** @param {unknown} value */
    static [Symbol.hasInstance](value) {
      return is("ChatSeal")(value);
    }
  }

  /**
   * Gives `seal` its two namespaces: `seal.backup` (still the password backup when called)
   * with the passkey backups (§4.1) beside it, and `seal.link` for linking a device (§13).
   * @param {any} seal the wasm-bindgen ChatSeal
   * @returns {ReturnType<Api["ChatSeal"]["open"]>}
   */
  function withDevices(seal) {
    const password = seal.backup;
    /** @type {any} */
    const backup = (/** @type {string} */ pw, /** @type {unknown} */ o) => password.call(seal, pw, o);
    backup.addPasskey = (/** @type {unknown} */ o) => seal.addPasskey(o);
    backup.passkeys = (/** @type {unknown} */ o) => seal.passkeys(o);
    backup.restoreWithPasskey = (/** @type {unknown} */ o) => seal.restoreWithPasskey(o);
    backup.removePasskey = (/** @type {string} */ id, /** @type {unknown} */ o) => seal.removePasskey(id, o);
    const link = {
      start: () => seal.linkStart(),
      accept: (/** @type {string} */ qr, /** @type {unknown} */ o) => seal.linkAccept(qr, o),
    };
    Object.defineProperty(seal, "backup", { value: Object.freeze(backup) });
    Object.defineProperty(seal, "link", { value: Object.freeze(link) });
    return seal;
  }

  /** Low-level keys, for offline and synchronous use. */
  class Identity {
    constructor() {
      throw new TypeError("use Identity.generate(identity) or Identity.restore(backup, password)");
    }
    /** @type {Api["Identity"]["generate"]} */
    static generate(identity) {
      return ready("Identity.generate").Identity.generate(identity);
    }
    /** @type {Api["Identity"]["restore"]} */
    static restore(backupText, password) {
      return ready("Identity.restore").Identity.restore(backupText, password);
    }
    /** @param {unknown} value */
    static [Symbol.hasInstance](value) {
      return is("Identity")(value);
    }
  }

  /** A verified public card. */
  class Card {
    constructor() {
      throw new TypeError("use Card.parse(text)");
    }
    /** @type {Api["Card"]["parse"]} */
    static parse(text) {
      return ready("Card.parse").Card.parse(text);
    }
    /** @param {unknown} value */
    static [Symbol.hasInstance](value) {
      return is("Card")(value);
    }
  }

  /** The class of every error chatseal throws, with a stable `code`. */
  class ChatSealError extends Error {
    /** @param {unknown} value */
    static [Symbol.hasInstance](value) {
      return !!wasm && value instanceof wasm.chatSealErrorClass();
    }
  }

  /**
   * True when `text` is a chatseal message (`csp2.`, `csm2.` or `csg2.`); works before the
   * module loads. Version 1 forms are not messages: they never open.
   * @type {Api["isEncrypted"]}
   */
  function isEncrypted(text) {
    return (
      typeof text === "string" &&
      (text.startsWith("csp2.") || text.startsWith("csm2.") || text.startsWith("csg2."))
    );
  }

  // The classes are stand-ins: their statics make the wasm-bindgen objects (the instances
  // the declarations describe), and `instanceof` asks those. So the statics and functions
  // above are checked against index.d.ts one by one, and the classes cast here.
  /** @type {Api["isReady"]} */
  const isReady = () => !!wasm;
  return {
    ChatSeal: /** @type {Api["ChatSeal"]} */ (/** @type {unknown} */ (ChatSeal)),
    Identity: /** @type {Api["Identity"]} */ (/** @type {unknown} */ (Identity)),
    Card: /** @type {Api["Card"]} */ (/** @type {unknown} */ (Card)),
    ChatSealError: /** @type {Api["ChatSealError"]} */ (/** @type {unknown} */ (ChatSealError)),
    isEncrypted,
    initAsync,
    isReady,
  };
}
