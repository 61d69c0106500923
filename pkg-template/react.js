// @ts-check
// chatseal/react: a provider for the ChatSeal instance and `useDecrypted`, which turns a
// message text into something a UI can show — never an endless "Loading…".
// Checked against react.d.ts (tests/types): each export is typed by its declaration.
import { createContext, createElement, useCallback, useContext, useEffect, useRef, useState } from "react";
import { isEncrypted } from "chatseal";
import { decryptForDisplay, describeError } from "./labels.js";

/** @typedef {import("./index.js").ChatSeal} ChatSeal */
/** @typedef {import("./react.js").DecryptedState} DecryptedState */
/** @typedef {import("./react.js").DecryptedFileState} DecryptedFileState */
/** @typedef {import("./index.js").FileInfo} FileInfo */
/** @typedef {import("./index.js").DeviceLink} DeviceLink */
/** @typedef {import("./react.js").DeviceLinkState} DeviceLinkState */

export { describeError };

const SealContext = createContext(/** @type {ChatSeal | null} */ (null));

/**
 * `<ChatSealProvider seal={seal}>`: makes `seal` available to `useChatSeal` and `useDecrypted`.
 * @type {typeof import("./react.js").ChatSealProvider}
 */
export function ChatSealProvider({ seal, children }) {
  return createElement(SealContext.Provider, { value: seal ?? null }, children);
}

/**
 * The `ChatSeal` of the nearest provider (null outside one, or while it is opening).
 * @type {typeof import("./react.js").useChatSeal}
 */
export function useChatSeal() {
  return useContext(SealContext);
}

/**
 * @param {string | null | undefined} text
 * @returns {DecryptedState}
 */
function plain(text) {
  return { status: "ok", text: text ?? null, error: null, result: null, label: null, keyChanged: false };
}

/** @type {DecryptedState} */
const PENDING = { status: "pending", text: null, error: null, result: null, label: null, keyChanged: false };

/**
 * `useDecrypted(text, { from, context })` → `{ status, text, error, result, label, keyChanged }`.
 * `status` is "pending", then "ok" or "error" (with `label`, e.g. "can't verify sender").
 * Plain text (not `csp2.`, `csm2.` or `csg2.`) passes through as "ok" at once. The decrypt is aborted when the
 * component unmounts or the inputs change.
 * @type {typeof import("./react.js").useDecrypted}
 */
export function useDecrypted(text, options) {
  const seal = useChatSeal();
  const from = options && options.from;
  const context = options && options.context;
  const key = `${from}\u0000${context}\u0000${text}`;
  const [state, setState] = useState(() => ({ key, value: isEncrypted(text) ? PENDING : plain(text) }));

  useEffect(() => {
    if (!isEncrypted(text)) {
      setState({ key, value: plain(text) });
      return undefined;
    }
    if (!seal) {
      const error = new Error("useDecrypted needs a <ChatSealProvider seal={…}> around it");
      setState({ key, value: { ...PENDING, status: "error", error, label: "can't decrypt" } });
      return undefined;
    }
    const controller = new AbortController();
    setState((s) => (s.key === key ? s : { key, value: PENDING }));
    decryptForDisplay(seal, text, { from, context, signal: controller.signal }).then(
      (value) => {
        if (!controller.signal.aborted) setState({ key, value });
      },
      () => {}, // aborted
    );
    return () => controller.abort();
  }, [seal, key]);

  if (state.key !== key) return isEncrypted(text) ? PENDING : plain(text);
  return state.value;
}

/** @typedef {Omit<DecryptedFileState, "start">} FileValue */
/** @typedef {{ key: string, value: FileValue, wanted: boolean }} FileHookState */

/** @type {Readonly<FileValue>} */
const FILE_IDLE = Object.freeze({
  status: "idle",
  info: null,
  file: null,
  url: null,
  progress: null,
  error: null,
  label: null,
  keyChanged: false,
});

/**
 * `useDecryptedFile(descriptor, { url, from, context, auto })` → `{ status, info, file, url,
 * progress, error, label, keyChanged, start }` for an encrypted attachment (PROTOCOL §10).
 *
 * The descriptor (the `csp2.`/`csm2.`/`csg2.` message from `encryptFile`) is decrypted at once, so
 * `info` (`{ name, type, size }`) is known before any download. The upload is then
 * fetched from `url` (or the descriptor's own) and decrypted when `auto(info)` says so
 * (default: images up to 25 MB), or when `start()` is called. `url` is then an object URL
 * of the decrypted `File`, revoked when the component unmounts or the inputs change;
 * every fetch and decrypt is aborted then too. `status`: "pending" (`progress` 0–1 once
 * known), "idle" (waiting for `start()`), "ok", or "error" (with `label`, as `useDecrypted`).
 * @type {typeof import("./react.js").useDecryptedFile}
 */
export function useDecryptedFile(descriptor, options = {}) {
  const seal = useChatSeal();
  const { url: fetchUrl, from, context } = options;
  const auto = options.auto ?? defaultAuto;
  const key = `${from}\u0000${context}\u0000${fetchUrl}\u0000${descriptor}`;
  /** @type {(wanted: boolean) => FileHookState} */
  const pending = (wanted) => ({ key, value: { ...FILE_IDLE, status: "pending" }, wanted });
  const [state, setState] = useState(() => pending(false));
  const current = state.key === key ? state : pending(false);
  const start = useCallback(() => setState((s) => (s.key === key ? { ...s, wanted: true } : s)), [key]);
  const wanted = current.wanted;

  useEffect(() => {
    if (!seal) {
      const error = new Error("useDecryptedFile needs a <ChatSealProvider seal={…}> around it");
      setState({ key, wanted, value: { ...FILE_IDLE, status: "error", error, label: "can't decrypt" } });
      return undefined;
    }
    const controller = new AbortController();
    const signal = controller.signal;
    /** @type {string | null} */
    let objectUrl = null;
    /** @param {Partial<FileValue>} value */
    const update = (value) => {
      if (signal.aborted) return;
      setState((s) => {
        const base = s.key === key ? s : pending(wanted);
        return { ...base, value: { ...base.value, ...value } };
      });
    };
    (async () => {
      if (typeof descriptor !== "string") throw Object.assign(new Error("no file descriptor"), { code: "Malformed" });
      const message = await seal.decrypt(descriptor, { from, context, signal });
      if (!message.file) throw Object.assign(new Error("not a file descriptor"), { code: "Malformed" });
      const info = message.file;
      update({ info, keyChanged: message.keyChanged });
      if (!wanted && !auto(info)) {
        update({ status: "idle" });
        return;
      }
      update({ status: "pending", progress: 0 });
      const source = fetchUrl || info.url;
      if (!source) throw Object.assign(new Error("the attachment has no URL"), { code: "Malformed" });
      const response = await fetch(source, { signal });
      const file = await seal.decryptFile(descriptor, response, {
        from,
        context,
        signal,
        onProgress: ({ loaded, total }) => total && update({ progress: loaded / total }),
      });
      if (signal.aborted) return;
      objectUrl = URL.createObjectURL(file);
      update({ status: "ok", file, url: objectUrl, progress: 1 });
    })().catch((error) => {
      if (signal.aborted) return;
      const fetchFailed = !error?.code && error?.name !== "AbortError";
      update({
        status: "error",
        error,
        label: fetchFailed
          ? "can't download the attachment"
          : error?.code === "Integrity"
            ? "damaged file"
            : describeError(error),
      });
    });
    return () => {
      controller.abort();
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [seal, key, wanted]);

  return { ...current.value, start };
}

/**
 * Images up to 25 MB are fetched and decrypted on sight; other files wait for `start()`.
 * @param {FileInfo} info
 */
function defaultAuto(info) {
  return typeof info?.type === "string" && info.type.startsWith("image/") && info.size <= 25_000_000;
}

/** @type {Omit<DeviceLinkState, "start" | "confirm" | "cancel">} */
const NO_LINK = { status: "idle", qr: null, qrPath: null, qrSize: 0, code: null, card: null, error: null };

/**
 * `useDeviceLink(seal?)` on the new device (PROTOCOL §13) → `{ status, qr, qrPath, qrSize,
 * code, card, error, start, confirm, cancel }`, with `seal` or the provider's. `start()` makes a link ("waiting": show the QR
 * code); when the other device has sent its keys, "confirm" with the `code` to compare;
 * `confirm()` stores them ("done", with the `card`). An expired link, an offer that is not
 * for this device, or keys that are not the identity's current ones give "error". The
 * wait is aborted on `cancel()` and on unmount; nothing is stored before `confirm()`.
 * @type {typeof import("./react.js").useDeviceLink}
 */
export function useDeviceLink(seal) {
  const provided = useChatSeal();
  seal = seal ?? provided;
  const [state, setState] = useState(NO_LINK);
  const current = useRef(/** @type {{ link: DeviceLink, controller: AbortController } | null} */ (null));

  const drop = useCallback(() => {
    const was = current.current;
    current.current = null;
    if (was) {
      was.controller.abort();
      was.link.cancel();
      was.link.free();
    }
  }, []);

  const start = useCallback(() => {
    if (!seal) return;
    drop();
    const link = seal.link.start();
    const controller = new AbortController();
    const mine = { link, controller };
    current.current = mine;
    setState({ ...NO_LINK, status: "waiting", qr: link.qr, qrPath: link.qrPath, qrSize: link.qrSize });
    link.waitForOffer({ signal: controller.signal }).then(
      (code) => {
        if (current.current === mine) setState((s) => ({ ...s, status: "confirm", code }));
      },
      (error) => {
        if (current.current === mine && !controller.signal.aborted) setState((s) => ({ ...s, status: "error", error }));
      },
    );
  }, [seal, drop]);

  const confirm = useCallback(async () => {
    const mine = current.current;
    if (!mine) return;
    try {
      const card = await mine.link.confirm();
      if (current.current === mine) setState((s) => ({ ...s, status: "done", card }));
    } catch (error) {
      if (current.current === mine) setState((s) => ({ ...s, status: "error", error: /** @type {Error} */ (error) }));
    }
  }, []);

  const cancel = useCallback(() => {
    drop();
    setState(NO_LINK);
  }, [drop]);

  useEffect(() => drop, [drop]);
  return { ...state, start, confirm, cancel };
}

/**
 * `<QrCode path={link.qrPath} size={link.qrSize} label="…" />`: the QR code of a device link
 * (or any `qrPath`) as an SVG, dark on white whatever the theme, so that cameras read it.
 * @type {typeof import("./react.js").QrCode}
 */
export function QrCode({ path, size, label, ...rest }) {
  return createElement(
    "svg",
    { viewBox: `0 0 ${size} ${size}`, role: "img", "aria-label": label, shapeRendering: "crispEdges", ...rest },
    createElement("rect", { width: size, height: size, fill: "#fff" }),
    createElement("path", { d: path, fill: "#000" }),
  );
}
