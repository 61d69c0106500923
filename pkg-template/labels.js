// @ts-check
// What a UI shows for a message chatseal could not decrypt, by error code (shared by
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
};

/**
 * A short label for a decrypt error, for the UI ("can't verify sender", …).
 * @type {typeof import("./react.js").describeError}
 */
export function describeError(error) {
  const code = error && typeof error === "object" && "code" in error ? error.code : undefined;
  return (typeof code === "string" && Object.hasOwn(LABELS, code) && LABELS[code]) || "can't decrypt";
}
