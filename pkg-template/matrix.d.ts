// Types of `chatseal/matrix` (matrix-js-sdk 36, unencrypted rooms).
import type { MatrixClient, MatrixEvent, Room } from "matrix-js-sdk";
import type { ChatSeal, ChatSealError } from "./index.js";

/** The content key that marks a chatseal message: `"org.chatseal.encrypted": 1`. */
export declare const MARKER: "org.chatseal.encrypted";

export interface EncryptMessagesOptions {
  /**
   * The identities a message in `room` is encrypted to (the sender is always added).
   * Default: the room's joined members (`room.getJoinedMembers()`, or the homeserver's
   * `joined_members` before the client has synced the room), whose Matrix user ids are
   * their chatseal identities.
   */
  recipients?: (room: Room) => string[] | Promise<string[]>;
  /**
   * What other clients show instead of the ciphertext (sent as `formatted_body`, HTML-escaped).
   * Default `"🔒 encrypted with chatseal"`; `null` sends no `formatted_body`.
   */
  fallback?: string | null;
  /**
   * Send `m.room.message` types other than `m.text`, `m.notice` and `m.emote` (images,
   * files, locations…) as they are, not end-to-end encrypted. Default `false`: refused.
   */
  plaintextMedia?: boolean;
}

/**
 * Wraps `client.sendCompleteEvent` (which `sendEvent`, `sendMessage`, `sendTextMessage`,
 * `sendNotice`, `sendEmoteMessage` and `sendHtml*` go through) so that the text of every
 * `m.text`, `m.notice` and `m.emote` message, and of edits (`m.replace`: `body` and
 * `m.new_content.body`), is sent as ciphertext (`csp2.`, `csm2.` or `csg2.`) for the room's joined members, with
 * the room id as context, `"org.chatseal.encrypted": 1`, and a fixed `formatted_body`
 * fallback. Only `msgtype`, `m.relates_to` and `m.mentions` are kept of the app's content
 * (`formatted_body`, MSC1767 text or the app's own keys could repeat the plaintext). A message that cannot be encrypted is not sent: the send
 * rejects with chatseal's error. The seal's identity must be the client's user id.
 * Returns `stop()`, which puts back the client's own method.
 */
export declare function encryptMessages(
  client: MatrixClient,
  seal: ChatSeal,
  options?: EncryptMessagesOptions,
): () => void;

export interface DecryptedEvent {
  /**
   * `"ok"`: chatseal ciphertext, decrypted. `"plain"`: a message that is not chatseal's
   * (`text` is its body as sent: show it as not encrypted). `"error"`: chatseal ciphertext
   * that this identity cannot read or that is not bound to this room and sender.
   */
  status: "ok" | "plain" | "error";
  text: string | null;
  eventId: string | undefined;
  /** The Matrix sender, which chatseal checked against the sender's card when `status` is "ok". */
  sender: string | null;
  /** The text is that of the latest edit the SDK applied to this event. */
  edited: boolean;
  /** For an edit event (`m.replace`): the id of the event it edits. */
  replaces: string | null;
  /** The sender's key changed since this client last trusted it: warn the user. */
  keyChanged: boolean;
  error: ChatSealError | Error | null;
  /** A short label for the error ("not for this device", "from another conversation", …). */
  label: string | null;
}

/**
 * The plaintext of `event` (`null` when it is not an `m.room.message`), decrypted with
 * `from` = the event's sender and `context` = its room id. Rejects only when aborted.
 */
export declare function decryptEvent(
  seal: ChatSeal,
  event: MatrixEvent,
  options?: { signal?: AbortSignal },
): Promise<DecryptedEvent | null>;

export interface TimelineMessage extends DecryptedEvent {
  event: MatrixEvent;
}

/**
 * Every `m.room.message` in `room`'s live timeline, oldest first, decrypted (call
 * `client.scrollback(room)` first for older history). Edit events are left out unless
 * `includeEdits`: the messages they edit read as their latest edit.
 */
export declare function decryptTimeline(
  seal: ChatSeal,
  room: Room,
  options?: { signal?: AbortSignal; includeEdits?: boolean },
): Promise<TimelineMessage[]>;

export interface DecryptedTimelineEvent extends TimelineMessage {
  room: Room;
  /** The event came from history (`scrollback`), not live. */
  toStartOfTimeline: boolean;
}

/**
 * Calls `listener` for every `m.room.message` the client adds to a room's timeline (live,
 * local echoes, history from `scrollback`), once decrypted. Returns `stop()`, which also
 * aborts the decryptions still running.
 */
export declare function onDecryptedTimeline(
  client: MatrixClient,
  seal: ChatSeal,
  listener: (message: DecryptedTimelineEvent) => void,
): () => void;
