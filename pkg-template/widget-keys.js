// @ts-check
// chatseal/widget's keys: the "Your keys are in another browser" panel (restore with the
// backup password, with a passkey, or link this browser from one that has the keys by QR
// code, PROTOCOL §4, §4.1, §13) and the header's keys menu (add a passkey, link a new
// device). Internal to the package; widget.js uses both.
import { describeError } from "./labels.js";
import { fill } from "./widget-labels.js";

/** @typedef {import("./widget.js").WidgetLabels} WidgetLabels */
/** @typedef {import("./index.js").ChatSeal} ChatSeal */

const SVG = "http://www.w3.org/2000/svg";

/**
 * An element with attributes and text (the widget's DOM is built with this, never innerHTML).
 * @param {string} tag
 * @param {Record<string, string>} [attributes]
 * @param {string} [text]
 * @returns {HTMLElement}
 */
export function el(tag, attributes = {}, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** @param {string} text */
const button = (text, part = "key-action") => /** @type {HTMLButtonElement} */ (el("button", { type: "button", part }, text));

/**
 * The words for `error`: its code's, else "That did not work: …".
 * @param {WidgetLabels} t
 * @param {unknown} error
 */
export function problem(t, error) {
  const code = /** @type {any} */ (error)?.code;
  if (typeof code === "string" && Object.hasOwn(t.codes, code)) return t.codes[code];
  return fill(t.keyFailed, { reason: describeError(error) });
}

/**
 * `qrPath` in a `qrSize` square: a white box and the black modules (attributes only, no style).
 * @param {string} path
 * @param {number} size
 * @param {string} label
 */
function qrCode(path, size, label) {
  const svg = document.createElementNS(SVG, "svg");
  const attributes = { viewBox: `0 0 ${size} ${size}`, role: "img", "aria-label": label, "shape-rendering": "crispEdges", class: "qr", part: "qr" };
  for (const [name, value] of Object.entries(attributes)) svg.setAttribute(name, value);
  const rect = document.createElementNS(SVG, "rect");
  rect.setAttribute("width", `${size}`);
  rect.setAttribute("height", `${size}`);
  rect.setAttribute("fill", "#fff");
  const modules = document.createElementNS(SVG, "path");
  modules.setAttribute("d", path);
  modules.setAttribute("fill", "#000");
  svg.append(rect, modules);
  return svg;
}

/**
 * The restore panel; resolves once this browser has the keys. `signal` (the widget leaving
 * the page, or starting over) aborts a link's wait and rejects.
 * @param {{ seal: ChatSeal, t: () => WidgetLabels, signal: AbortSignal, mount: (panel: HTMLElement) => void }} options
 * @returns {Promise<void>}
 */
export function restoreKeys({ seal, t, signal, mount }) {
  return new Promise((resolve, reject) => {
    const words = t();
    const panel = el("section", { class: "keys-panel", part: "restore", "aria-labelledby": "restore-title" });
    const title = el("h3", { id: "restore-title", class: "keys-title" }, words.restoreTitle);
    const intro = el("p", { class: "keys-intro" }, words.restoreIntro);
    const form = /** @type {HTMLFormElement} */ (el("form", { class: "keys-row" }));
    const password = /** @type {HTMLInputElement} */ (
      el("input", { id: "restore-password", type: "password", autocomplete: "current-password", part: "restore-password" })
    );
    const submit = /** @type {HTMLButtonElement} */ (el("button", { type: "submit", part: "restore-submit" }, words.restore));
    const field = el("div", { class: "keys-field" });
    field.append(el("label", { for: "restore-password" }, words.password), password);
    form.append(field, submit);
    const passkey = button(words.restorePasskey, "restore-passkey");
    const linkStart = button(words.linkStart, "link-start");
    const others = el("div", { class: "keys-row" });
    others.append(passkey, linkStart);
    const linkBox = el("div", { class: "link-box", part: "link" });
    const error = el("p", { class: "keys-error", part: "keys-error", role: "alert" });
    panel.append(title, intro, form, others, linkBox, error);
    mount(panel);

    /** @type {import("./index.js").DeviceLink | null} */
    let link = null;
    /** @type {AbortController | null} */
    let waiting = null;
    const endLink = () => {
      waiting?.abort();
      waiting = null;
      if (link) {
        try {
          link.cancel();
          link.free();
        } catch {
          // already freed
        }
      }
      link = null;
      linkBox.replaceChildren();
      linkStart.hidden = false;
    };
    const done = () => {
      endLink();
      signal.removeEventListener("abort", gone);
      panel.remove();
      resolve();
    };
    const gone = () => {
      endLink();
      panel.remove();
      reject(Object.assign(new Error("aborted"), { name: "AbortError", code: "AbortError" }));
    };
    if (signal.aborted) return gone();
    signal.addEventListener("abort", gone, { once: true });
    /** @param {boolean} on */
    const busy = (on) => {
      for (const b of [submit, passkey, linkStart]) b.disabled = on;
    };
    /** @param {unknown} e */
    const failed = (e) => {
      if (signal.aborted) return;
      error.textContent = problem(t(), e);
      busy(false);
    };

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!password.value) return password.focus();
      error.textContent = "";
      busy(true);
      submit.textContent = t().restoring;
      try {
        await seal.restore(password.value, { signal });
        done();
      } catch (e) {
        failed(e);
      } finally {
        submit.textContent = t().restore;
      }
    });
    passkey.addEventListener("click", async () => {
      error.textContent = "";
      busy(true);
      passkey.textContent = t().waitingPasskey;
      try {
        await seal.backup.restoreWithPasskey({ signal });
        done();
      } catch (e) {
        failed(e);
      } finally {
        passkey.textContent = t().restorePasskey;
      }
    });
    linkStart.addEventListener("click", async () => {
      error.textContent = "";
      endLink();
      const w = t();
      const started = seal.link.start();
      link = started;
      const controller = new AbortController();
      waiting = controller;
      linkStart.hidden = true;
      const text = /** @type {HTMLInputElement} */ (
        el("input", { id: "link-qr", class: "link-text", readonly: "", part: "link-qr" })
      );
      text.value = started.qr;
      text.addEventListener("focus", () => text.select());
      const cancel = button(w.cancel, "link-cancel");
      cancel.addEventListener("click", () => {
        endLink();
        linkStart.focus();
      });
      linkBox.replaceChildren(
        qrCode(started.qrPath, started.qrSize, w.linkQr),
        el("p", { class: "keys-intro" }, w.linkHelp),
        el("label", { for: "link-qr" }, w.linkText),
        text,
        cancel,
      );
      try {
        const code = await started.waitForOffer({ signal: controller.signal });
        if (link !== started) return;
        const words2 = t();
        const match = button(words2.linkMatch, "link-confirm");
        const no = button(words2.cancel, "link-cancel");
        const row = el("div", { class: "keys-row" });
        row.append(match, no);
        const group = el("div", { role: "group", "aria-labelledby": "link-code-title" });
        group.append(
          el("p", { id: "link-code-title" }, words2.linkCompare),
          el("p", { class: "link-code", part: "link-code" }, code),
          row,
        );
        linkBox.replaceChildren(group);
        no.addEventListener("click", () => {
          endLink();
          linkStart.focus();
        });
        match.addEventListener("click", async () => {
          match.disabled = true;
          try {
            await started.confirm({ signal });
            done();
          } catch (e) {
            endLink();
            failed(e);
          }
        });
        match.focus();
      } catch (e) {
        if (link !== started || controller.signal.aborted) return;
        endLink();
        failed(e);
      }
    });
  });
}

/**
 * The header's keys menu: a button that opens a panel (Escape closes it) with "Add a
 * passkey" and "Link a new device". `seal()` is the current ChatSeal, or null (then the
 * button is disabled by the widget).
 * @param {{ seal: () => ChatSeal | null, t: () => WidgetLabels, rpName: () => string }} options
 */
export function keysMenu({ seal, t, rpName }) {
  const toggle = /** @type {HTMLButtonElement} */ (
    el("button", { type: "button", class: "keys-toggle", part: "keys-toggle", "aria-expanded": "false", "aria-controls": "keys-menu" })
  );
  const panel = el("section", { id: "keys-menu", class: "keys-panel keys-menu", part: "keys-menu", "aria-labelledby": "keys-menu-title" });
  panel.hidden = true;
  const title = el("h3", { id: "keys-menu-title", class: "keys-title" });
  const add = button("", "add-passkey");
  const addNote = el("p", { class: "keys-note", part: "keys-note", role: "status" });
  const linkTitle = el("h4", { class: "keys-subtitle" });
  const form = /** @type {HTMLFormElement} */ (el("form", { class: "keys-row" }));
  const label = el("label", { for: "link-accept-text" });
  const text = /** @type {HTMLInputElement} */ (
    el("input", { id: "link-accept-text", autocomplete: "off", spellcheck: "false", placeholder: "chatseal:link:…", part: "link-accept-text" })
  );
  const field = el("div", { class: "keys-field" });
  field.append(label, text);
  const send = /** @type {HTMLButtonElement} */ (el("button", { type: "submit", part: "link-accept" }));
  form.append(field, send);
  const linkNote = el("p", { class: "keys-note", part: "link-accept-code", role: "status" });
  const error = el("p", { class: "keys-error", part: "keys-error", role: "alert" });
  const close = button("", "keys-close");
  panel.append(title, add, addNote, linkTitle, form, linkNote, error, close);

  const words = () => {
    const w = t();
    toggle.textContent = w.keys;
    title.textContent = w.keys;
    add.textContent = w.addPasskey;
    linkTitle.textContent = w.linkDevice;
    label.textContent = w.linkDeviceText;
    send.textContent = w.sendKeys;
    close.textContent = w.close;
  };
  /** @param {boolean} open */
  const show = (open) => {
    panel.hidden = !open;
    toggle.setAttribute("aria-expanded", `${open}`);
    if (open) add.focus();
  };
  const hide = () => {
    if (toggle.getAttribute("aria-expanded") !== "true") return;
    show(false);
    toggle.focus();
  };
  toggle.addEventListener("click", () => show(toggle.getAttribute("aria-expanded") !== "true"));
  close.addEventListener("click", hide);
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      hide();
    }
  });
  toggle.addEventListener("keydown", (event) => {
    if (event.key === "Escape") hide();
  });
  add.addEventListener("click", async () => {
    const s = seal();
    if (!s) return;
    addNote.textContent = "";
    error.textContent = "";
    add.disabled = true;
    add.textContent = t().waitingPasskey;
    try {
      await s.backup.addPasskey({ rpName: rpName() });
      addNote.textContent = t().passkeyAdded;
    } catch (e) {
      error.textContent = problem(t(), e);
    } finally {
      add.disabled = false;
      add.textContent = t().addPasskey;
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const s = seal();
    const qr = text.value.trim();
    if (!s || !qr) return text.focus();
    linkNote.textContent = "";
    error.textContent = "";
    send.disabled = true;
    try {
      const code = await s.link.accept(qr);
      linkNote.textContent = fill(t().linkSent, { code });
      text.value = "";
    } catch (e) {
      error.textContent = problem(t(), e);
    } finally {
      send.disabled = false;
    }
  });
  words();
  return {
    toggle,
    panel,
    words,
    /** Closed, with nothing left from before. */
    reset() {
      panel.hidden = true;
      toggle.setAttribute("aria-expanded", "false");
      for (const note of [addNote, linkNote, error]) note.textContent = "";
      text.value = "";
    },
  };
}
