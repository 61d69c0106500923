// chatseal/react: a provider for the ChatSeal instance and `useDecrypted`, which turns a
// message text into something a UI can show — never an endless "Loading…".
import { createContext, createElement, useContext, useEffect, useState } from "react";
import { isEncrypted } from "chatseal";
import { describeError } from "./labels.js";

export { describeError };

const SealContext = createContext(null);

/** `<ChatSealProvider seal={seal}>`: makes `seal` available to `useChatSeal` and `useDecrypted`. */
export function ChatSealProvider({ seal, children }) {
  return createElement(SealContext.Provider, { value: seal ?? null }, children);
}

/** The `ChatSeal` of the nearest provider (null outside one, or while it is opening). */
export function useChatSeal() {
  return useContext(SealContext);
}

function plain(text) {
  return { status: "ok", text, error: null, result: null, label: null, keyChanged: false };
}

const PENDING = { status: "pending", text: null, error: null, result: null, label: null, keyChanged: false };

/**
 * `useDecrypted(text, { from, context })` → `{ status, text, error, result, label, keyChanged }`.
 * `status` is "pending", then "ok" or "error" (with `label`, e.g. "can't verify sender").
 * Plain text (not `csm1.`) passes through as "ok" at once. The decrypt is aborted when the
 * component unmounts or the inputs change.
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
    seal.decrypt(text, { from, context, signal: controller.signal }).then(
      (result) => {
        if (controller.signal.aborted) return;
        setState({
          key,
          value: {
            status: "ok",
            text: result.text,
            error: null,
            result,
            label: result.keyChanged ? "key changed" : null,
            keyChanged: result.keyChanged,
          },
        });
      },
      (error) => {
        if (controller.signal.aborted) return;
        setState({
          key,
          value: { ...PENDING, status: "error", error, label: describeError(error) },
        });
      },
    );
    return () => controller.abort();
  }, [seal, key]);

  if (state.key !== key) return isEncrypted(text) ? PENDING : plain(text);
  return state.value;
}
