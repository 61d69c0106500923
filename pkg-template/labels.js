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
