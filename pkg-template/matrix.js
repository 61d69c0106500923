// @ts-check
// chatseal/matrix: end-to-end encryption for matrix-js-sdk 36 clients, in unencrypted
// Matrix rooms (chatseal is the encryption layer; Matrix's own E2EE stays off).
//
//   encryptMessages(client, seal)             every text message and edit the client sends
//                                             is encrypted for the room's joined members
//   decryptEvent(seal, event)                 the plaintext of one MatrixEvent
//   decryptTimeline(seal, room)               the plaintext of a room's loaded timeline
//                                             (after `client.scrollback(room)`, history too)
//   onDecryptedTimeline(client, seal, fn)     `Room.timeline`, decrypted
//
// What the homeserver sees of an `m.text`, `m.notice` or `m.emote` message: `body` is the
// ciphertext (`csp2.` in a room of two, else `csm2.` or `csg2.`) (bound to the room id and the sender), `"org.chatseal.encrypted": 1`
// marks it, and `formatted_body` is a fixed "🔒 encrypted with chatseal" that other clients
// show instead of the ciphertext. Every other content key (`formatted_body`, MSC1767 text,
// the app's own keys) is dropped: it could repeat the plaintext. Edits (`m.replace`) carry the ciphertext in `body` and `m.new_content.body`.
// Other message types (images, files, locations) are refused unless the app opts in to
// sending them as they are. What stays visible: who sends, when, in which room, reactions,
// replies' targets, mentions (`m.mentions` user ids) and the length of the ciphertext.
// What depends on the SDK's version (method and event names) lives in `matrixJsSdk36`.
import { isEncrypted } from "chatseal";
import { describeError } from "./labels.js";

/** @typedef {import("matrix-js-sdk").MatrixClient} MatrixClient */
/** @typedef {import("matrix-js-sdk").MatrixEvent} MatrixEvent */
/** @typedef {import("matrix-js-sdk").Room} Room */
/** @typedef {Record<string, any>} Content  an event's content, as the SDK hands it over */

/**
 * The content key that marks a chatseal message (its value is the format version).
 * @type {typeof import("./matrix.js").MARKER}
 */
export const MARKER = "org.chatseal.encrypted";
const FALLBACK = "🔒 encrypted with chatseal";
const TEXT_TYPES = new Set(["m.text", "m.notice", "m.emote"]);
const KEPT_KEYS = ["msgtype", "m.relates_to", "m.mentions"];
const WRAPPED = Symbol("chatseal/matrix");

// ---------------------------------------------------------------------------------------
// The version shim: what this file knows of matrix-js-sdk 36.
// ---------------------------------------------------------------------------------------
const matrixJsSdk36 = {
  name: "matrix-js-sdk 36",

  /** @param {any} client  whatever the app passed */
  supports(client) {
    return (
      !!client &&
      typeof client.sendCompleteEvent === "function" &&
      typeof client.getRoom === "function" &&
      typeof client.getJoinedRoomMembers === "function" &&
      typeof client.on === "function" &&
      typeof client.off === "function"
    );
  },

  /**
   * The one method every send goes through: `sendEvent`, `sendMessage`, `sendTextMessage`,
   * `sendNotice`, `sendEmoteMessage` and `sendHtml*` call `this.sendCompleteEvent(roomId,
   * threadId, { type, content }, delayOptsOrTxnId, txnId)`. (Resending a failed event reuses
   * the stored, already encrypted event.)
   */
  sendMethod: "sendCompleteEvent",

  timelineEvent: /** @type {import("matrix-js-sdk").RoomEvent.Timeline} */ (/** @type {unknown} */ ("Room.timeline")),

  /**
   * The joined members' user ids: from the client's copy of the room, else the server's list.
   * @param {MatrixClient} client
   * @param {string} roomId
   * @returns {Promise<string[]>}
   */
  async members(client, roomId) {
    const room = client.getRoom(roomId);
    if (room) {
      await room.loadMembersIfNeeded?.();
      return room.getJoinedMembers().map((member) => member.userId);
    }
    // Not synced yet (a send right after startClient): GET /rooms/{roomId}/joined_members.
    const { joined } = await client.getJoinedRoomMembers(roomId);
    return Object.keys(joined ?? {});
  },

  /**
   * The edit shown in place of `event`'s content (set by the SDK from sync or bundles).
   * @param {MatrixEvent} event
   */
  replacement(event) {
    return event.replacingEvent?.() ?? null;
  },
};

/** @param {MatrixClient} client */
function shimFor(client) {
  if (matrixJsSdk36.supports(client)) return matrixJsSdk36;
  throw new TypeError(`chatseal/matrix: this is not a matrix-js-sdk client; chatseal/matrix supports ${matrixJsSdk36.name}`);
}

/**
 * @param {any} seal  whatever the app passed
 * @param {string} caller
 */
function checkSeal(seal, caller) {
  if (!seal || typeof seal.encrypt !== "function" || typeof seal.decrypt !== "function") {
    throw new TypeError(`${caller}: seal must be an open ChatSeal`);
  }
}

// ---------------------------------------------------------------------------------------
// Sending
// ---------------------------------------------------------------------------------------

/** @param {string} text */
function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Content with `body` = `ciphertext`, the marker and the fallback. Only the keys that carry
 * no text are kept (`msgtype`, `m.relates_to`, `m.mentions`): `formatted_body`, MSC1767
 * `org.matrix.msc1767.text` and an app's own keys could all repeat the plaintext.
 * @param {Content} content
 * @param {string} ciphertext
 * @param {string | null} fallback
 */
function sealedContent(content, ciphertext, fallback) {
  /** @type {Content} */
  const out = {};
  for (const key of KEPT_KEYS) if (key in content) out[key] = content[key];
  out.body = ciphertext;
  out[MARKER] = 1;
  if (fallback !== null) {
    out.format = "org.matrix.custom.html";
    out.formatted_body = escapeHtml(fallback);
  }
  return out;
}

/**
 * Makes every `m.room.message` that `client` sends encrypted: the text of `m.text`,
 * `m.notice` and `m.emote` messages and of edits, for the room's joined members
 * (`recipients(room)` overrides them), with the room id as context. A message that cannot
 * be encrypted is not sent: the send rejects with chatseal's error. Returns `stop()`.
 * @type {typeof import("./matrix.js").encryptMessages}
 */
export function encryptMessages(client, seal, options = {}) {
  const shim = shimFor(client);
  checkSeal(seal, "encryptMessages(client, seal)");
  const { recipients, plaintextMedia = false } = options;
  if (recipients !== undefined && typeof recipients !== "function") {
    throw new TypeError("encryptMessages: options.recipients must be a function(room) → identities");
  }
  const fallback = options.fallback === undefined ? FALLBACK : options.fallback;
  if (fallback !== null && typeof fallback !== "string") {
    throw new TypeError("encryptMessages: options.fallback must be a string or null");
  }
  const userId = client.getUserId?.();
  if (userId && seal.identity !== undefined && seal.identity !== userId) {
    throw new TypeError(
      `encryptMessages: the seal is for "${seal.identity}" but the client is "${userId}" (the Matrix user id is the identity)`,
    );
  }
  const method = shim.sendMethod;
  // The send method is replaced on the client object itself.
  const patched = /** @type {Record<string, any>} */ (/** @type {unknown} */ (client));
  const original = patched[method];
  if (original[WRAPPED]) throw new Error("encryptMessages: this client already encrypts its messages");
  const hadOwn = Object.prototype.hasOwnProperty.call(client, method);

  /** @param {string} roomId */
  const recipientsOf = async (roomId) => {
    /** @type {unknown} */
    let list;
    if (recipients) {
      const room = client.getRoom(roomId);
      if (!room) throw new Error(`chatseal/matrix: room ${roomId} is not known to this client yet (no sync)`);
      list = await recipients(room);
    } else {
      list = await shim.members(client, roomId);
    }
    if (!Array.isArray(list)) throw new TypeError("recipients(room) must return an array of identities");
    return [...new Set(list.filter((id) => typeof id === "string" && id !== ""))];
  };

  /**
   * @param {string} roomId
   * @param {Content} content
   */
  const seals = async (roomId, content) => {
    const edit = content["m.relates_to"]?.rel_type === "m.replace" ? content["m.new_content"] : undefined;
    const shown = edit && typeof edit === "object" ? edit : content;
    if (!TEXT_TYPES.has(shown.msgtype)) {
      if (plaintextMedia) return content;
      throw new Error(
        `chatseal/matrix: "${shown.msgtype}" messages are not end-to-end encrypted, so they are not sent ` +
          "(encryptMessages(client, seal, { plaintextMedia: true }) sends them as they are)",
      );
    }
    if (typeof shown.body !== "string") throw new TypeError("chatseal/matrix: a text message needs a string body");
    const ciphertext = await seal.encrypt(shown.body, { to: await recipientsOf(roomId), context: roomId });
    const sealed = sealedContent(content, ciphertext, fallback);
    if (shown !== content) sealed["m.new_content"] = sealedContent(shown, ciphertext, fallback);
    return sealed;
  };

  /**
   * @this {unknown}
   * @param {string} roomId
   * @param {string | null} threadId
   * @param {any} eventObject
   * @param {...unknown} rest
   */
  const wrapped = async function (roomId, threadId, eventObject, ...rest) {
    if (eventObject?.type !== "m.room.message" || !eventObject.content || typeof eventObject.content !== "object") {
      return original.call(this, roomId, threadId, eventObject, ...rest);
    }
    const content = await seals(roomId, eventObject.content);
    return original.call(this, roomId, threadId, { ...eventObject, content }, ...rest);
  };
  /** @type {any} */ (wrapped)[WRAPPED] = true;
  patched[method] = wrapped;

  let stopped = false;
  return function stop() {
    if (stopped) return;
    stopped = true;
    if (patched[method] !== wrapped) return; // someone wrapped it after us: leave theirs
    if (hadOwn) patched[method] = original;
    else delete patched[method];
  };
}

// ---------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------

/** @param {any} error */
function isAbort(error) {
  return error?.name === "AbortError";
}

/**
 * The plaintext of a MatrixEvent: `null` for events that are not `m.room.message`;
 * `{ status: "plain", text }` for messages that are not chatseal's (`text` is their body);
 * `{ status: "ok", text, sender, keyChanged, … }`; or `{ status: "error", error, label }`.
 * An edited message reads as its latest edit (as the SDK applied it); an edit event itself
 * reads as its new text, with `replaces` set to the edited event's id.
 * @type {typeof import("./matrix.js").decryptEvent}
 */
export async function decryptEvent(seal, event, options = {}) {
  checkSeal(seal, "decryptEvent(seal, event)");
  if (!event || typeof event.getType !== "function") throw new TypeError("decryptEvent: event must be a MatrixEvent");
  if (event.getType() !== "m.room.message") return null;
  const shim = matrixJsSdk36;
  /** @type {Content} */
  let content = event.getOriginalContent();
  // (`getSender()` is undefined for an event without one; the declared field is null then.)
  let sender = event.getSender() ?? null;
  let replaces = null;
  let edited = false;
  const replacement = shim.replacement(event);
  // (The SDK applies an edit only from the original's sender; checked again here.)
  if (replacement && replacement.getSender() === sender && !event.isRedacted()) {
    content = event.getContent();
    edited = true;
  } else if (content["m.relates_to"]?.rel_type === "m.replace" && content["m.new_content"]) {
    replaces = content["m.relates_to"].event_id ?? null;
    content = content["m.new_content"];
  }
  const base = { eventId: event.getId(), sender, edited, replaces };
  const body = typeof content.body === "string" ? content.body : null;
  if (!isEncrypted(body)) return { ...base, status: "plain", text: body, error: null, label: null, keyChanged: false };
  try {
    const result = await seal.decrypt(body, { from: sender ?? undefined, context: event.getRoomId(), signal: options.signal });
    if (typeof result.text !== "string") {
      const error = new TypeError("chatseal/matrix: the message is not text");
      return { ...base, status: "error", text: null, error, label: "can't decrypt", keyChanged: false };
    }
    return { ...base, status: "ok", text: result.text, error: null, label: null, keyChanged: result.keyChanged };
  } catch (error) {
    if (isAbort(error)) throw error;
    return {
      ...base,
      status: "error",
      text: null,
      error: /** @type {Error} */ (error),
      label: describeError(error),
      keyChanged: false,
    };
  }
}

/**
 * Every `m.room.message` in `room`'s live timeline (oldest first; call `client.scrollback`
 * for more history), decrypted, each `{ event, ...decryptEvent(…) }`. Edit events are left
 * out unless `includeEdits`: the messages they edit read as their latest edit.
 * @type {typeof import("./matrix.js").decryptTimeline}
 */
export async function decryptTimeline(seal, room, options = {}) {
  checkSeal(seal, "decryptTimeline(seal, room)");
  if (!room || typeof room.getLiveTimeline !== "function") throw new TypeError("decryptTimeline: room must be a Room");
  const events = room
    .getLiveTimeline()
    .getEvents()
    .filter((event) => event.getType() === "m.room.message")
    .filter((event) => options.includeEdits || !event.isRelation("m.replace"));
  const results = await Promise.all(events.map((event) => decryptEvent(seal, event, options)));
  return results.flatMap((result, i) => (result ? [{ event: events[i], ...result }] : []));
}

/**
 * Calls `listener({ event, room, toStartOfTimeline, ...decryptEvent(…) })` for every
 * `m.room.message` the client adds to a room's timeline (live, local echoes of its own
 * sends, and history loaded by `scrollback`), as each is decrypted. Returns `stop()`, which
 * also aborts the decryptions still running.
 * @type {typeof import("./matrix.js").onDecryptedTimeline}
 */
export function onDecryptedTimeline(client, seal, listener) {
  const shim = shimFor(client);
  checkSeal(seal, "onDecryptedTimeline(client, seal, listener)");
  if (typeof listener !== "function") throw new TypeError("onDecryptedTimeline: listener must be a function");
  const controller = new AbortController();
  /** @type {import("matrix-js-sdk").RoomEventHandlerMap[import("matrix-js-sdk").RoomEvent.Timeline]} */
  const onTimeline = (event, room, toStartOfTimeline, removed) => {
    if (removed || !room || event.getType() !== "m.room.message") return;
    decryptEvent(seal, event, { signal: controller.signal }).then(
      (result) => {
        if (result && !controller.signal.aborted) listener({ event, room, toStartOfTimeline: !!toStartOfTimeline, ...result });
      },
      () => {}, // aborted
    );
  };
  client.on(shim.timelineEvent, onTimeline);
  return function stop() {
    client.off(shim.timelineEvent, onTimeline);
    controller.abort();
  };
}
