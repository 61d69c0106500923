// Small, failure-proof wrappers around localStorage/sessionStorage (private modes and
// blocked storage throw): what the demo remembers between visits, all under one prefix.
const PREFIX = "chatseal-demo:";

function safe(store) {
  return {
    get(key) {
      try {
        return store().getItem(PREFIX + key);
      } catch {
        return null;
      }
    },
    set(key, value) {
      try {
        if (value === null || value === undefined) store().removeItem(PREFIX + key);
        else store().setItem(PREFIX + key, String(value));
      } catch {
        // not remembered: the demo still works for this visit
      }
    },
  };
}

export const local = safe(() => window.localStorage);
export const session = safe(() => window.sessionStorage);

/** The identity this browser signed in as last (reconnects on reload). */
export const lastIdentity = {
  get: () => local.get("identity"),
  set: (identity) => local.set("identity", identity),
};

/** When this browser last saved a key backup for `identity` (a hint only; the directory knows). */
export const backupMade = {
  get: (identity) => local.get(`backup:${identity}`),
  set: (identity) => local.set(`backup:${identity}`, new Date().toISOString()),
};

/** The card id of `peer` that `me` marked as verified (a new key unsets it). */
export const verifiedCard = {
  get: (me, peer) => local.get(`verified:${me}:${peer}`),
  set: (me, peer, cardId) => local.set(`verified:${me}:${peer}`, cardId),
};

/** The id of the channel `identity` had open last (a reload reopens it). */
export const openChannel = {
  get: (identity) => local.get(`open-channel:${identity}`),
  set: (identity, channelId) => local.set(`open-channel:${identity}`, channelId),
};
