// @ts-check
// What a UI shows for a failure, by error code: a message chatseal could not decrypt, a
// backup or device link that did not work (shared by
// chatseal/react and chatseal/element).
/** @type {Readonly<Record<string, string>>} */
const LABELS = {
  BadSignature: "can't verify sender",
  UnknownSender: "can't verify sender",
  SenderMismatch: "can't verify sender",
  NotARecipient: "not for this device",
  NoLocalKey: "not for this device",
  ContextMismatch: "from another conversation",
  Malformed: "damaged message",
  Integrity: "damaged message",
  InvalidArgument: "damaged message",
  Directory: "can't reach the key directory",
  Unauthorized: "can't reach the key directory",
  Storage: "this device's key storage failed",
  NoBackup: "no backup to restore",
  PasskeyUnsupported: "this browser can't use a passkey for backups",
  PasskeyCancelled: "the passkey prompt was closed",
  LinkExpired: "the link expired: start again",
  LinkUsed: "this link was already used",
  LinkRejected: "those keys are not this account's current ones",
};

/**
 * A short label for a decrypt error, for the UI ("can't verify sender", …).
 * @type {typeof import("./react.js").describeError}
 */
export function describeError(error) {
  const code = error && typeof error === "object" && "code" in error ? error.code : undefined;
  return (typeof code === "string" && Object.hasOwn(LABELS, code) && LABELS[code]) || "can't decrypt";
}

/** @typedef {import("./react.js").DecryptedState} DecryptedState */

/**
 * Decrypts `text` into what a UI shows (chatseal/react's `useDecrypted`, chatseal/element and
 * chatseal/widget share it): "ok" with the plaintext, the result and "key changed" as the
 * label when the sender's key changed; or "error" with the label of `describeError`. It
 * rejects only when `options.signal` is aborted (with the `AbortError`).
 * @param {import("./index.js").ChatSeal} seal
 * @param {string} text
 * @param {import("./index.js").DecryptOptions} options
 * @returns {Promise<DecryptedState>}
 */
export async function decryptForDisplay(seal, text, options) {
  try {
    const result = await seal.decrypt(text, options);
    const keyChanged = !!result.keyChanged;
    return { status: "ok", text: result.text ?? null, error: null, result, label: keyChanged ? "key changed" : null, keyChanged };
  } catch (error) {
    if (options.signal?.aborted) throw error;
    const failure = error instanceof Error ? error : new Error(String(error));
    return { status: "error", text: null, error: failure, result: null, label: describeError(error), keyChanged: false };
  }
}
