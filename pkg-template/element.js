// @ts-check
// chatseal/element: `<chatseal-text from="bob" context="…">csp2.…</chatseal-text>` for
// pages without React. Nothing happens on import; `define(seal)` registers the element.
import { isEncrypted } from "chatseal";
import { decryptForDisplay } from "./labels.js";

/**
 * Registers `<chatseal-text>` (or `name`) decrypting with `seal`. The element decrypts its
 * text (or its `text` attribute) when connected and aborts when disconnected. It shows
 * the plaintext as text (never as HTML), or a label; `data-status` is "pending", "ok" or
 * "error" (with `data-code`), and `data-key-changed` is set when the sender's key changed.
 * Calling `define` again with another seal switches the seal used from then on.
 * @type {typeof import("./element.js").define}
 */
export function define(seal, name = "chatseal-text") {
  if (typeof customElements === "undefined") {
    throw new Error("chatseal/element needs a browser (customElements)");
  }
  const existing = /** @type {(CustomElementConstructor & { seal?: typeof seal }) | undefined} */ (
    customElements.get(name)
  );
  if (existing) {
    existing.seal = seal;
    return existing;
  }
  class ChatSealText extends HTMLElement {
    static seal = seal;
    static observedAttributes = ["text", "from", "context"];
    /** @type {string | undefined} */
    _source = undefined;
    /** @type {AbortController | null} */
    _controller = null;

    connectedCallback() {
      if (this._source === undefined) this._source = this.getAttribute("text") ?? (this.textContent ?? "").trim();
      this._run();
    }

    disconnectedCallback() {
      this._abort();
    }

    /**
     * @param {string} attribute
     * @param {string | null} before
     * @param {string | null} after
     */
    attributeChangedCallback(attribute, before, after) {
      if (attribute === "text" && after !== null) this._source = after;
      if (this.isConnected && before !== after) this._run();
    }

    _abort() {
      if (this._controller) this._controller.abort();
      this._controller = null;
    }

    /**
     * @param {"pending" | "ok" | "error"} status
     * @param {string} text
     * @param {{ code?: string, keyChanged?: boolean }} [extra]
     */
    _show(status, text, extra = {}) {
      this.dataset.status = status;
      this.textContent = text;
      this.setAttribute("aria-busy", status === "pending" ? "true" : "false");
      if (extra.code) this.dataset.code = extra.code;
      else delete this.dataset.code;
      if (extra.keyChanged) this.dataset.keyChanged = "";
      else delete this.dataset.keyChanged;
    }

    _run() {
      this._abort();
      const source = this._source ?? "";
      if (!isEncrypted(source)) {
        this._show("ok", source);
        return;
      }
      const controller = new AbortController();
      this._controller = controller;
      this._show("pending", this.getAttribute("pending-label") ?? "Decrypting…");
      /** @type {import("./index.js").DecryptOptions} */
      const options = { signal: controller.signal };
      const from = this.getAttribute("from");
      const context = this.getAttribute("context");
      if (from !== null) options.from = from;
      if (context !== null) options.context = context;
      decryptForDisplay(ChatSealText.seal, source, options).then(
        (state) => {
          if (controller.signal.aborted) return;
          if (state.status === "ok") this._show("ok", state.text ?? "", { keyChanged: state.keyChanged });
          else this._show("error", state.label ?? "can't decrypt", { code: errorCode(state.error) });
        },
        () => {}, // aborted
      );
    }
  }
  customElements.define(name, ChatSealText);
  return ChatSealText;
}

/**
 * @param {unknown} error
 * @returns {string}
 */
function errorCode(error) {
  const code = error && typeof error === "object" && "code" in error ? error.code : undefined;
  return typeof code === "string" && code ? code : "Error";
}
