// The JavaScript side of chatseal's WebAssembly module, in one file so that a page loads
// one snippet: `ChatSealError` (src/web/errors.rs), and the Web Locks and `wrapSend`
// helpers (src/web/js.rs).
export class ChatSealError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "ChatSealError";
    this.code = code;
  }
}
export function chatSealError(code, message) {
  return new ChatSealError(code, message);
}

export function withLock(name, run) {
  const locks = globalThis.navigator && globalThis.navigator.locks;
  return locks ? locks.request(name, { mode: "exclusive" }, () => run()) : run();
}
export function wrapSend(encrypt, send, opts) {
  if (typeof send !== "function") {
    throw new TypeError("wrapSend(send, { to, context }): send must be the chat SDK's send function");
  }
  if (!opts || typeof opts !== "object") {
    throw new TypeError("wrapSend(send, { to, context }): options are required");
  }
  return async function sealedSend(message, ...rest) {
    const text = typeof message === "string" ? message
      : message && typeof message.text === "string" ? message.text : null;
    if (text === null) {
      throw new TypeError("the wrapped send takes a string, or a message object with a string `text`");
    }
    const to = typeof opts.to === "function" ? await opts.to(message) : opts.to;
    const context = typeof opts.context === "function" ? await opts.context(message) : opts.context;
    const sealed = await encrypt(text, { to, context, signal: opts.signal });
    const out = typeof message === "string" ? sealed : { ...message, text: sealed };
    return send.call(this, out, ...rest);
  };
}
