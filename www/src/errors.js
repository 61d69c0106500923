// Errors in words, for the status line and forms.

const CHATSEAL = {
  Unauthorized: "The key directory did not accept this session.",
  Directory: "The key directory could not be reached or refused the request.",
  Storage: "This browser's key storage (IndexedDB) failed. Private windows and full disks can cause this.",
  NoLocalKey: "This browser has no keys for you yet.",
  AlreadyRegistered: "The directory already has keys for you, made in another browser.",
  NoBackup: "The key directory has no backup of that kind for you.",
  PasskeyUnsupported: "This browser or security key cannot protect a backup with a passkey.",
  PasskeyCancelled: "The passkey prompt was closed before it finished.",
  LinkExpired: "No keys arrived from your other device within 5 minutes.",
  LinkUsed: "That QR code was already used; show a new one on the new device.",
  LinkRejected: "The keys sent are not your current keys; link from a device that is up to date.",
  Integrity: "That does not open it: the password is wrong, or the backup was changed.",
  Malformed: "The data is damaged.",
  InvalidArgument: "Something the app passed was not valid.",
};

function sentence(text) {
  const t = text.trim();
  const first = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?)]$/.test(first) ? first : `${first}.`;
}

/** A sentence for any error (ChatSealError, ApiError, stream-chat's, or anything else). */
export function describe(error) {
  if (!error) return "Something went wrong.";
  if (error.name === "ChatSealError" && error.code) {
    const base = CHATSEAL[error.code] ?? `chatseal reported ${error.code}.`;
    return error.message && error.code !== "Integrity" ? `${base} (${error.message})` : base;
  }
  if (error.name === "ApiError") return error.message;
  if (typeof error.message === "string" && error.message) {
    // stream-chat sometimes puts a JSON object in the message (WebSocket failures).
    if (error.message.startsWith("{")) {
      try {
        const inner = JSON.parse(error.message);
        if (typeof inner?.message === "string" && inner.message) return sentence(inner.message);
      } catch {
        // not JSON after all
      }
    }
    return sentence(error.message);
  }
  return String(error);
}

/** True when a `lookup` failed because the identity has no card (not registered). */
export function isNoCard(error) {
  return error?.code === "Directory" && /has no card/i.test(error?.message ?? "");
}

/** True when `restore` failed because there is no backup to restore. */
export function isNoBackup(error) {
  return error?.code === "NoBackup";
}
