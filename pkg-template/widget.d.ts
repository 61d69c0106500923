import type { ChatSeal } from "./index.js";
import type { Channel, StreamChat } from "stream-chat";

/** Every word `<chatseal-chat>` shows. `{name}` and `{reason}` are filled in. */
export interface WidgetLabels {
  title: string;
  loading: string;
  connecting: string;
  online: string;
  offline: string;
  failed: string;
  anotherDevice: string;
  empty: string;
  log: string;
  message: string;
  placeholder: string;
  send: string;
  sending: string;
  notSent: string;
  decrypting: string;
  you: string;
  deleted: string;
  unencrypted: string;
  keyChangedMark: string;
  keyChanged: string;
  accept: string;
  /** The "Your keys are in another browser" panel (restore by password, passkey or device link). */
  restoreTitle: string;
  restoreIntro: string;
  password: string;
  restore: string;
  restoring: string;
  restorePasskey: string;
  waitingPasskey: string;
  linkStart: string;
  linkQr: string;
  linkHelp: string;
  linkText: string;
  linkCompare: string;
  linkMatch: string;
  cancel: string;
  /** The header's keys menu. */
  keys: string;
  close: string;
  addPasskey: string;
  passkeyAdded: string;
  linkDevice: string;
  linkDeviceText: string;
  sendKeys: string;
  /** `{code}`: the six-digit code the new device should show. */
  linkSent: string;
  /** A keys failure without its own words in `codes`; `{reason}`. */
  keyFailed: string;
  /** Error codes of the keys flows (NoBackup, PasskeyUnsupported, PasskeyCancelled, LinkExpired, LinkUsed, LinkRejected, Integrity, Malformed) → what to show. */
  codes: Record<string, string>;
  /** The labels of `describeError` ("can't verify sender", …) → what to show instead. */
  errors: Record<string, string>;
}

/** The shipped labels: English and Spanish. */
export declare const LABELS: Readonly<{ en: WidgetLabels; es: WidgetLabels }>;

/**
 * What `token-url` answers (JSON, to a POST sent with the page's cookies) and what the
 * `getToken` property resolves to: the directory JWT (PROTOCOL §6) and the chat user token
 * of the same identity. Asked again whenever either token is needed.
 */
export interface WidgetTokens {
  token: string;
  streamToken: string;
}

/**
 * "loading" (keys), "restoring" (the keys are in another browser: the restore panel shows),
 * "connecting" (chat), "online", "offline" (reconnecting), "failed", "idle" (not connected to the page).
 */
export type WidgetState = "idle" | "loading" | "restoring" | "connecting" | "online" | "offline" | "failed";

/** `chatseal-message`: one per message shown; `text` only when the element has `expose-plaintext`. */
export interface ChatSealMessageDetail {
  id: string;
  cid: string;
  sender: string;
  mine: boolean;
  sentAt: string;
  status: "ok" | "error";
  encrypted: boolean;
  keyChanged: boolean;
  /** The error code when `status` is "error". */
  code?: string;
  text?: string;
}

/** `chatseal-error`: what failed ("open", "send", "accept-key-change"), never with message text. */
export interface ChatSealErrorDetail {
  phase: string;
  code: string;
  label: string;
}

/**
 * `<chatseal-chat api-key user channel="type:id" directory token-url [base-url] [members]
 * [storage] [lang] [theme] [expose-plaintext]>`.
 */
export interface ChatSealChatElement extends HTMLElement {
  /** Used instead of `token-url` when set. */
  getToken: (() => WidgetTokens | Promise<WidgetTokens>) | null;
  /** Overrides of the words shown, on top of the element's language. */
  labels: Partial<WidgetLabels> | null;
  readonly state: WidgetState;
  readonly seal: ChatSeal | null;
  readonly client: StreamChat | null;
  readonly channel: Channel | null;
}

export interface DefineOptions {
  /** The tag name (default "chatseal-chat"). */
  name?: string;
  /** Label overrides per language ("en", "es", or a new one), under each element's own `labels`. */
  labels?: Record<string, Partial<WidgetLabels>>;
}

/** Registers `<chatseal-chat>` (or `options.name`); returns the element class. */
export declare function define(options?: DefineOptions): { new (): ChatSealChatElement; prototype: ChatSealChatElement };

declare global {
  interface HTMLElementTagNameMap {
    "chatseal-chat": ChatSealChatElement;
  }
}
