// @ts-check
// chatseal/widget: `<chatseal-chat>`, a whole end-to-end encrypted conversation for pages
// without React, on the `stream-chat` core client. Nothing happens on import; `define()`
// registers the element. Sending goes through chatseal/stream's composer middleware
// (stream-composer.js, the same code as the React adapter), rendering through the same
// `decryptForDisplay` as `useDecrypted`, with one AbortController per row.
import { StreamChat } from "stream-chat";
import { ChatSeal, isEncrypted } from "chatseal";
import { decryptForDisplay, describeError } from "./labels.js";
import { encryptComposer } from "./stream-composer.js";
import { el, keysMenu, restoreKeys } from "./widget-keys.js";
import { LABELS, fill, labelsFor } from "./widget-labels.js";
import { CSS } from "./widget-style.js";

export { LABELS };

/** @typedef {import("./widget.js").WidgetLabels} WidgetLabels */
/** @typedef {import("./widget.js").WidgetTokens} WidgetTokens */
/** @typedef {import("./widget.js").ChatSealChatElement} ChatSealChatElement */
/** @typedef {import("./widget.js").ChatSealMessageDetail} ChatSealMessageDetail */
/** @typedef {import("./widget.js").WidgetState} WidgetState */
/** @typedef {import("stream-chat").Channel} Channel */
/** @typedef {import("stream-chat").LocalMessage} LocalMessage */
/** @typedef {{ el: HTMLElement, text: HTMLElement, source: string, controller: AbortController | null }} Row */

const ATTRIBUTES = ["api-key", "base-url", "user", "channel", "members", "directory", "token-url", "storage", "lang"];

/**
 * What a token source answered, checked: `{ token, streamToken }`.
 * @param {unknown} answer
 * @returns {WidgetTokens}
 */
function tokensFrom(answer) {
  const a = /** @type {Partial<WidgetTokens> | null} */ (answer && typeof answer === "object" ? answer : null);
  if (!a || typeof a.token !== "string" || typeof a.streamToken !== "string") {
    throw Object.assign(new TypeError("the token source must answer { token, streamToken } (two strings)"), {
      code: "Unauthorized",
    });
  }
  return { token: a.token, streamToken: a.streamToken };
}

/**
 * @param {unknown} error
 * @returns {string}
 */
function codeOf(error) {
  const code = error && typeof error === "object" && "code" in error ? error.code : undefined;
  return typeof code === "string" && code ? code : error instanceof Error ? error.name : "Error";
}

/**
 * Registers `<chatseal-chat>` (or `options.name`); returns its class. Calling it again
 * returns the class already registered.
 * @type {typeof import("./widget.js").define}
 */
export function define(options = {}) {
  if (typeof customElements === "undefined") {
    throw new Error("chatseal/widget needs a browser (customElements)");
  }
  const name = options.name ?? "chatseal-chat";
  const existing = customElements.get(name);
  if (existing) return /** @type {ReturnType<typeof define>} */ (/** @type {unknown} */ (existing));
  const overrides = options.labels ?? {};
  /** @type {CSSStyleSheet | null} */
  let sheet = null;

  class ChatSealChat extends HTMLElement {
    static observedAttributes = ATTRIBUTES;
    /** @type {ChatSealChatElement["getToken"]} */
    getToken = null;
    /** @type {Partial<WidgetLabels> | null} */
    _labels = null;
    /** @type {ChatSeal | null} */
    _seal = null;
    /** @type {StreamChat | null} */
    _client = null;
    /** @type {Channel | null} */
    _channel = null;
    /** @type {WidgetState} */
    _state = "idle";
    /** A new number for every start; async work of an older one stops where it is. */
    _run = 0;
    /** @type {Array<() => void>} */
    _cleanups = [];
    /** @type {Map<string, Row>} */
    _rows = new Map();
    /** Message ids already reported by a `chatseal-message` event. */
    _reported = new Set();
    /** @type {Map<string, HTMLElement>} identity → its key-change banner */
    _banners = new Map();
    /** @type {string | null} */
    _failure = null;
    _restartQueued = false;
    _constructed = false;

    constructor() {
      super();
      const root = this.attachShadow({ mode: "open" });
      sheet ??= (() => {
        const made = new CSSStyleSheet();
        made.replaceSync(CSS);
        return made;
      })();
      root.adoptedStyleSheets = [sheet];
      const ids = { title: "title", input: "input", status: "status" };
      this._status = el("p", { class: "status", part: "status", role: "status", id: ids.status });
      this._title = el("h2", { class: "title", part: "title", id: ids.title });
      const header = el("header", { class: "header", part: "header" });
      this._keys = keysMenu({ seal: () => this._seal, t: () => this._t, rpName: () => this._t.title });
      header.append(this._title, this._status, this._keys.toggle);
      this._bannerList = el("div", { class: "banners", part: "banners" });
      this._log = el("div", {
        class: "log",
        part: "log",
        role: "log",
        "aria-live": "polite",
        "aria-relevant": "additions",
        tabindex: "0",
      });
      this._empty = el("p", { class: "empty", part: "empty" });
      this._label = el("label", { class: "visually-hidden", for: ids.input });
      this._input = /** @type {HTMLTextAreaElement} */ (
        el("textarea", { id: ids.input, part: "input", rows: "1", autocomplete: "off", enterkeyhint: "send" })
      );
      this._button = /** @type {HTMLButtonElement} */ (el("button", { type: "submit", part: "send" }));
      const field = el("div", { class: "field" });
      field.append(this._label, this._input);
      this._form = /** @type {HTMLFormElement} */ (el("form", { class: "composer", part: "composer" }));
      this._form.append(field, this._button);
      this._sendError = el("p", { class: "composer-error", part: "composer-error", role: "alert" });
      const chat = el("section", { class: "chat", part: "chat", "aria-labelledby": ids.title });
      chat.append(header, this._keys.panel, this._bannerList, this._log, this._sendError, this._form);
      root.append(chat);

      this._form.addEventListener("submit", (event) => {
        event.preventDefault();
        this._send();
      });
      this._input.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          this._form.requestSubmit();
        }
      });
      this._applyLabels();
      this._constructed = true;
    }

    get seal() {
      return this._seal;
    }
    get client() {
      return this._client;
    }
    get channel() {
      return this._channel;
    }
    get state() {
      return this._state;
    }
    get labels() {
      return this._labels;
    }
    set labels(value) {
      this._labels = value ?? null;
      this._applyLabels();
    }

    /** @returns {WidgetLabels} */
    get _t() {
      const lang = this.getAttribute("lang") || this.closest("[lang]")?.getAttribute("lang") || "en";
      return labelsFor(lang, overrides, this._labels);
    }

    connectedCallback() {
      this._start();
    }

    disconnectedCallback() {
      this._stop();
    }

    /**
     * @param {string} attribute
     * @param {string | null} before
     * @param {string | null} after
     */
    attributeChangedCallback(attribute, before, after) {
      if (before === after || !this.isConnected) return;
      if (attribute === "lang") {
        this._applyLabels();
        return;
      }
      if (this._restartQueued) return;
      // Several attributes set one after another restart the conversation once.
      this._restartQueued = true;
      queueMicrotask(() => {
        this._restartQueued = false;
        if (!this.isConnected) return;
        this._stop();
        this._start();
      });
    }

    _applyLabels() {
      const t = this._t;
      this._title.textContent = t.title;
      this._log.setAttribute("aria-label", t.log);
      this._empty.textContent = t.empty;
      this._label.textContent = t.message;
      this._input.placeholder = t.placeholder;
      this._button.textContent = t.send;
      this._keys.words();
      this._showState(this._state);
    }

    /**
     * @param {WidgetState} state
     */
    _showState(state) {
      this._state = state;
      // (Not from the constructor: a new element must not gain attributes there.)
      if (this._constructed) this.dataset.state = state;
      const t = this._t;
      const words = {
        idle: "",
        loading: t.loading,
        connecting: t.connecting,
        online: t.online,
        offline: t.offline,
        restoring: t.restoreTitle,
        failed: fill(t.failed, { reason: this._failure ?? "" }),
      };
      this._status.textContent = words[state];
      this._status.dataset.state = state;
      const usable = state === "online" || state === "offline";
      this._input.disabled = !usable;
      this._button.disabled = !usable;
      this._keys.toggle.disabled = !usable;
      if (!usable) this._keys.reset();
      // While the restore panel shows, it takes the message list's and the composer's place.
      this._log.hidden = this._form.hidden = state === "restoring";
      this._log.setAttribute("aria-busy", state === "loading" || state === "connecting" ? "true" : "false");
    }

    /**
     * @param {string} type
     * @param {object} detail
     */
    _emit(type, detail) {
      this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
    }

    /**
     * @param {string} phase
     * @param {unknown} error
     */
    _error(phase, error) {
      this._emit("chatseal-error", { phase, code: codeOf(error), label: describeError(error) });
    }

    /** The directory and chat tokens: `getToken()`, else a POST to `token-url` with the page's cookies. */
    async _tokens() {
      if (typeof this.getToken === "function") return tokensFrom(await this.getToken());
      const url = this.getAttribute("token-url");
      if (!url) throw new TypeError("<chatseal-chat> needs a token-url attribute or a getToken property");
      const response = await fetch(url, { method: "POST", credentials: "include", headers: { accept: "application/json" } });
      if (!response.ok) {
        throw Object.assign(new Error(`token-url answered HTTP ${response.status}`), {
          code: response.status === 401 || response.status === 403 ? "Unauthorized" : "Directory",
        });
      }
      return tokensFrom(await response.json());
    }

    _start() {
      const run = ++this._run;
      const alive = () => run === this._run;
      this._failure = null;
      this._showState("loading");
      this._renderEmpty();
      const need = (/** @type {string} */ attribute) => {
        const value = this.getAttribute(attribute);
        if (!value) throw new TypeError(`<chatseal-chat> needs a ${attribute} attribute`);
        return value;
      };
      (async () => {
        const user = need("user");
        const apiKey = need("api-key");
        const directoryUrl = need("directory");
        const [type, ...rest] = need("channel").split(":");
        const id = rest.join(":");
        if (!type || !id) throw new TypeError('<chatseal-chat channel> must be "type:id"');
        const members = (this.getAttribute("members") ?? "")
          .split(",")
          .map((m) => m.trim())
          .filter(Boolean);
        const storage = this.getAttribute("storage") === "memory" ? "memory" : "indexeddb";

        // One answer gives both tokens; the chat's first token comes from the first answer.
        /** @type {string | null} */
        let firstStreamToken = null;
        const seal = await ChatSeal.open({
          identity: user,
          directoryUrl,
          storage,
          getToken: async () => {
            const tokens = await this._tokens();
            firstStreamToken ??= tokens.streamToken;
            return tokens.token;
          },
        });
        if (!alive()) return seal.close();
        this._seal = seal;
        this._cleanups.push(() => seal.close());
        /** @param {Event} event */
        const onKeyChange = (event) => {
          const detail = /** @type {CustomEvent<import("./index.js").KeyChangedDetail>} */ (event).detail;
          this._banner(detail.identity);
          this._emit("chatseal-key-change", { ...detail });
        };
        seal.addEventListener("keychanged", onKeyChange);
        this._cleanups.push(() => seal.removeEventListener("keychanged", onKeyChange));
        if (!seal.hasLocalKey()) {
          try {
            await seal.register();
          } catch (error) {
            if (codeOf(error) !== "AlreadyRegistered") throw error;
            // The directory has this identity's card: bring the keys here from elsewhere.
            const leaving = new AbortController();
            this._cleanups.push(() => leaving.abort());
            this._showState("restoring");
            await restoreKeys({
              seal,
              t: () => this._t,
              signal: leaving.signal,
              mount: (panel) => this._log.before(panel),
            });
          }
          if (!alive()) return;
        }

        this._showState("connecting");
        const baseURL = this.getAttribute("base-url");
        const client = new StreamChat(apiKey, { ...(baseURL ? { baseURL } : {}), timeout: 15000 });
        this._client = client;
        this._cleanups.push(() => {
          // After the composer's own teardown, which still uses the client.
          setTimeout(() => client.disconnectUser().catch(() => {}), 0);
        });
        const tokenProvider = async () => {
          const token = firstStreamToken;
          firstStreamToken = null;
          return token ?? (await this._tokens()).streamToken;
        };
        await client.connectUser({ id: user }, tokenProvider);
        if (!alive()) return;
        const stopComposer = encryptComposer(client, seal);
        this._cleanups.push(stopComposer);

        const channel = client.channel(type, id, members.length ? { members } : {});
        this._channel = channel;
        this._cleanups.push(channel.messageComposer.registerSubscriptions());
        await channel.watch();
        if (!alive()) return;

        const render = () => this._render();
        for (const name of ["message.new", "message.updated", "message.deleted", "channel.truncated"]) {
          const subscription = channel.on(/** @type {any} */ (name), render);
          this._cleanups.push(() => subscription.unsubscribe());
        }
        const connection = client.on("connection.changed", (event) => {
          if (alive()) this._showState(event.online ? "online" : "offline");
        });
        const recovered = client.on("connection.recovered", () => {
          if (alive()) this._showState("online");
        });
        this._cleanups.push(() => connection.unsubscribe(), () => recovered.unsubscribe());
        // The browser's own word, when the socket has not noticed yet (or never dropped).
        const offline = () => this._showState("offline");
        const online = () => {
          if (alive()) this._showState(client.wsConnection?.isHealthy === false ? "offline" : "online");
        };
        window.addEventListener("offline", offline);
        window.addEventListener("online", online);
        this._cleanups.push(() => {
          window.removeEventListener("offline", offline);
          window.removeEventListener("online", online);
        });
        this._showState(navigator.onLine === false ? "offline" : "online");
        this._render();
      })().catch((error) => {
        if (!alive()) return;
        this._failure = error?.shown ? `${error.message}` : describeError(error);
        this._showState("failed");
        this._error("open", error);
      });
    }

    _stop() {
      this._run += 1;
      for (const row of this._rows.values()) row.controller?.abort();
      this._rows.clear();
      for (const banner of this._banners.values()) banner.remove();
      this._banners.clear();
      const cleanups = this._cleanups.splice(0).reverse();
      for (const cleanup of cleanups) {
        try {
          cleanup();
        } catch {
          // keep tearing down
        }
      }
      this._seal = null;
      this._client = null;
      this._channel = null;
      this._log.replaceChildren();
      this._showState("idle");
    }

    _renderEmpty() {
      if (this._rows.size === 0 && !this._empty.isConnected) this._log.replaceChildren(this._empty);
      if (this._rows.size > 0) this._empty.remove();
    }

    /** The rows follow the channel's messages: new ones decrypted, gone ones aborted. */
    _render() {
      const channel = this._channel;
      if (!channel) return;
      const log = this._log;
      const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 48;
      const messages = /** @type {LocalMessage[]} */ (channel.state.messages).filter(
        (m) => m.type === "regular" || m.type === "deleted" || m.type === "error",
      );
      const keep = new Set(messages.map((m) => m.id));
      for (const [id, row] of this._rows) {
        if (keep.has(id)) continue;
        row.controller?.abort();
        row.el.remove();
        this._rows.delete(id);
      }
      /** @type {Element | null} */
      let previous = null;
      for (const message of messages) {
        let row = this._rows.get(message.id);
        const source = message.type === "deleted" || message.deleted_at ? "\u0000deleted" : (message.text ?? "");
        if (!row) {
          row = this._row(message);
          this._rows.set(message.id, row);
        }
        if (row.source !== source) {
          row.source = source;
          this._fill(row, message, source);
        }
        /** @type {Element | null} */
        const wanted = previous ? previous.nextElementSibling : log.firstElementChild;
        if (wanted !== row.el) {
          if (previous) previous.after(row.el);
          else log.prepend(row.el);
        }
        previous = row.el;
      }
      this._renderEmpty();
      if (atBottom) log.scrollTop = log.scrollHeight;
    }

    /**
     * @param {LocalMessage} message
     * @returns {Row}
     */
    _row(message) {
      const mine = message.user?.id === this.getAttribute("user");
      const row = el("article", { class: "message", part: mine ? "message mine" : "message theirs" });
      if (mine) row.dataset.mine = "";
      row.dataset.id = message.id;
      const meta = el("div", { class: "meta" });
      const who = message.user?.name || message.user?.id || "";
      meta.append(el("span", { class: "author", part: "author" }, mine ? this._t.you : who));
      const at = message.created_at instanceof Date ? message.created_at : new Date(message.created_at ?? Date.now());
      const lang = this.getAttribute("lang") || document.documentElement.lang || undefined;
      const time = el("time", { class: "time", part: "time", datetime: at.toISOString() });
      time.textContent = new Intl.DateTimeFormat(lang, { hour: "numeric", minute: "2-digit" }).format(at);
      meta.append(time);
      const text = el("p", { class: "text", part: "text" });
      row.append(meta, text);
      return { el: row, text, source: "", controller: null };
    }

    /**
     * Shows `source` in `row`: decrypted (aborting the decrypt of what was there before).
     * @param {Row} row
     * @param {LocalMessage} message
     * @param {string} source
     */
    _fill(row, message, source) {
      row.controller?.abort();
      row.controller = null;
      row.el.querySelector(".notice")?.remove();
      delete row.el.dataset.keyChanged;
      const t = this._t;
      const sender = message.user?.id ?? "";
      const mine = sender === this.getAttribute("user");
      if (source === "\u0000deleted") {
        this._show(row, "ok", t.deleted);
        return;
      }
      if (!isEncrypted(source)) {
        this._show(row, "ok", source, t.unencrypted);
        this._report(message, { status: "ok", encrypted: false, keyChanged: false, mine, text: source });
        return;
      }
      const seal = this._seal;
      const channel = this._channel;
      if (!seal || !channel) return;
      const controller = new AbortController();
      row.controller = controller;
      this._show(row, "pending", t.decrypting);
      decryptForDisplay(seal, source, { from: sender, context: channel.cid, signal: controller.signal }).then(
        (state) => {
          if (controller.signal.aborted) return;
          row.controller = null;
          const words = this._t;
          if (state.status === "ok") {
            this._show(row, "ok", state.text ?? "", state.keyChanged ? words.keyChangedMark : undefined);
            if (state.keyChanged) row.el.dataset.keyChanged = "";
          } else {
            const label = state.label ?? "can't decrypt";
            this._show(row, "error", words.errors[label] ?? label);
            row.el.dataset.code = codeOf(state.error);
          }
          this._report(message, {
            status: state.status === "ok" ? "ok" : "error",
            encrypted: true,
            keyChanged: state.keyChanged,
            mine,
            text: state.text,
            code: state.status === "ok" ? undefined : codeOf(state.error),
          });
        },
        () => {}, // aborted: the row is gone or shows something else now
      );
    }

    /**
     * @param {Row} row
     * @param {"pending" | "ok" | "error"} status
     * @param {string} text
     * @param {string} [notice]
     */
    _show(row, status, text, notice) {
      row.el.dataset.status = status;
      row.el.setAttribute("aria-busy", status === "pending" ? "true" : "false");
      row.text.textContent = text;
      if (notice) row.el.append(el("span", { class: "notice", part: "notice" }, notice));
    }

    /**
     * One `chatseal-message` per message; its text only with `expose-plaintext`.
     * @param {LocalMessage} message
     * @param {{ status: "ok" | "error", encrypted: boolean, keyChanged: boolean, mine: boolean, text: string | null, code?: string }} what
     */
    _report(message, what) {
      const key = `${message.id}\u0000${message.updated_at ?? ""}`;
      if (this._reported.has(key)) return;
      this._reported.add(key);
      /** @type {ChatSealMessageDetail} */
      const detail = {
        id: message.id,
        cid: this._channel?.cid ?? "",
        sender: message.user?.id ?? "",
        mine: what.mine,
        sentAt: new Date(message.created_at ?? Date.now()).toISOString(),
        status: what.status,
        encrypted: what.encrypted,
        keyChanged: what.keyChanged,
      };
      if (what.code) detail.code = what.code;
      if (this.hasAttribute("expose-plaintext") && what.text !== null) detail.text = what.text;
      this._emit("chatseal-message", detail);
    }

    /**
     * The banner for a contact whose key changed, with "accept" (as the demo's).
     * @param {string} identity
     */
    _banner(identity) {
      if (this._banners.has(identity)) return;
      const t = this._t;
      const banner = el("div", { class: "banner", part: "banner", role: "alert" });
      banner.dataset.identity = identity;
      const accept = /** @type {HTMLButtonElement} */ (el("button", { type: "button", part: "accept" }, t.accept));
      banner.append(el("p", {}, fill(t.keyChanged, { name: identity })), accept);
      accept.addEventListener("click", async () => {
        const seal = this._seal;
        if (!seal) return;
        accept.disabled = true;
        try {
          let accepted = await seal.acceptKeyChange(identity);
          if (!accepted) {
            await seal.lookup([identity]);
            accepted = await seal.acceptKeyChange(identity);
          }
          if (!accepted) throw Object.assign(new Error("no card"), { code: "Directory" });
          banner.remove();
          this._banners.delete(identity);
        } catch (error) {
          accept.disabled = false;
          this._error("accept-key-change", error);
        }
      });
      this._banners.set(identity, banner);
      this._bannerList.append(banner);
    }

    /** Encrypts and sends the composer's text (chatseal/stream's composer middleware). */
    async _send() {
      const channel = this._channel;
      const client = this._client;
      const text = this._input.value;
      if (!channel || !client || text.trim() === "" || this._button.disabled) return;
      const t = this._t;
      const run = this._run;
      this._sendError.textContent = "";
      this._button.disabled = true;
      this._button.textContent = t.sending;
      try {
        const composer = channel.messageComposer;
        composer.textComposer.setText(text);
        const before = client.notifications?.error?.length ?? 0;
        const composed = await composer.compose();
        if (!composed) {
          const notes = client.notifications?.error ?? [];
          const why = notes.length > before ? notes[notes.length - 1]?.message : undefined;
          throw Object.assign(new Error(why ?? "not sent"), { shown: !!why });
        }
        if (run !== this._run) return;
        this._input.value = "";
        composer.clear();
        await channel.sendMessage(composed.message, composed.sendOptions);
        this._render();
      } catch (error) {
        if (run !== this._run) return;
        if (this._input.value === "") this._input.value = text; // nothing typed is lost
        const e = /** @type {any} */ (error);
        // The middleware's notification is already in words ("Message not sent: …").
        this._sendError.textContent = e?.shown ? `${e.message}` : fill(t.notSent, { reason: describeError(error) });
        this._error("send", error);
      } finally {
        if (run === this._run) {
          this._button.textContent = t.send;
          this._showState(this._state);
          this._input.focus();
        }
      }
    }
  }
  customElements.define(name, ChatSealChat);
  return /** @type {ReturnType<typeof define>} */ (/** @type {unknown} */ (ChatSealChat));
}
