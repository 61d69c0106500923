// Types of the `chatseal` entry (browser, bundler and Node builds share them).

/** The stable `code` of a {@link ChatSealError}. */
export type ErrorCode =
  | "Malformed"
  | "BadSignature"
  | "NotARecipient"
  | "Integrity"
  | "UnknownSender"
  | "SenderMismatch"
  | "ContextMismatch"
  | "NoSessionKey"
  | "InvalidArgument"
  | "NoLocalKey"
  | "AlreadyRegistered"
  | "Unauthorized"
  | "Directory"
  | "Storage"
  | "NoBackup"
  | "PasskeyUnsupported"
  | "PasskeyCancelled"
  | "LinkExpired"
  | "LinkUsed"
  | "LinkRejected";

/** Every failure chatseal reports (wrong argument types are `TypeError`s, aborts are `AbortError`s). */
export declare class ChatSealError extends Error {
  readonly name: "ChatSealError";
  readonly code: ErrorCode;
}

export interface OpenOptions {
  /** This user's identity (PROTOCOL §1), e.g. `"alice@clinic-a"`. */
  identity: string;
  /** The chatseal-server key directory, e.g. `"https://keys.example"`. */
  directoryUrl: string;
  /** Returns the directory JWT your backend signed for this identity; called again once on 401. */
  getToken: () => string | Promise<string>;
  /** `"indexeddb"` (default where IndexedDB exists: keys sealed under a non-extractable WebCrypto key) or `"memory"`. */
  storage?: "indexeddb" | "memory";
  /** The IndexedDB database name (default `"chatseal"`). */
  database?: string;
  /**
   * Channels with more other members than this (default 10) are encrypted
   * through a group session (PROTOCOL §9: one share per member through the directory,
   * then messages of constant size); a channel with one other member by pairwise messages
   * (§11, `csp2.`); the others per message (§3, `csm2.`).
   */
  groupThreshold?: number;
  /**
   * How long one request to the directory may take before it is aborted and the call
   * fails with a `Directory` error, in ms (100 to 600000; default 30000).
   */
  requestTimeout?: number;
}

export interface MembersOptions extends Signal {
  /** Everyone now in the channel. */
  to: string[];
  /** The channel's context, as given to `encrypt`. */
  context: string;
}

export interface Signal {
  signal?: AbortSignal;
}

export interface EncryptOptions extends Signal {
  /** Recipients' identities (this device's identity is always a recipient too). */
  to: string[];
  /** What binds the message to its conversation, e.g. the channel id. */
  context?: string;
}

export interface DecryptOptions extends Signal {
  /** The sender the chat says it is; refused (`SenderMismatch`) when the sender's card says otherwise. */
  from?: string;
  /** The conversation it was shown in; refused (`ContextMismatch`) when it was sealed for another. */
  context?: string;
}

/** What a file descriptor says (PROTOCOL §10); the key stays inside chatseal. */
export interface FileInfo {
  /** The file name the sender gave: a display name, never a path. */
  name: string;
  /**
   * The media type the decrypted file is labelled with: the sender's when it cannot act
   * in the page (images, audio, video, PDF, plain text), else `application/octet-stream`.
   */
  type: string;
  /** The media type exactly as the sender gave it. */
  mediaType: string;
  /** Plaintext size in bytes. */
  size: number;
  /** Where the sender said the encrypted file is; may be empty (the chat's attachment has it). */
  url: string;
}

export interface Progress {
  /** Bytes read so far (plaintext when encrypting, ciphertext when decrypting). */
  loaded: number;
  /** Bytes in all, when known. */
  total: number | null;
}

export interface EncryptFileOptions extends EncryptOptions {
  /** The file name (default: the `File`'s). */
  name?: string;
  /** The media type (default: the `Blob`'s). */
  type?: string;
  onProgress?: (progress: Progress) => void;
}

export interface EncryptedFile extends FileInfo {
  /** The encrypted file (`application/octet-stream`): upload it as it is. */
  blob: Blob;
  /** The `csp2.`/`csm2.`/`csg2.` message that carries the file's key: send it in the chat message. */
  descriptor: string;
}

export interface DecryptFileOptions extends DecryptOptions {
  onProgress?: (progress: Progress) => void;
  /** Resolve to a `ReadableStream` of the plaintext instead of a `File`. */
  stream?: boolean;
}

/** What `encryptFile` reads and `decryptFile` takes as the fetched upload. */
export type FileBody = Blob | ArrayBuffer | ArrayBufferView | ReadableStream<Uint8Array> | Response;

export interface Decrypted {
  /** The text (null for non-text content read with `decryptBytes`, and for file descriptors). */
  text: string | null;
  /** Present on `decryptBytes` results. */
  data?: Uint8Array;
  /** Present when `contentType` is `"fileDescriptor"`: what the file is. */
  file?: FileInfo;
  contentType: "text" | "json" | "bytes" | "sessionShare" | "fileDescriptor";
  sender: string;
  senderCardId: string;
  /** Milliseconds since the epoch, as the sender's clock said. */
  sentAt: number;
  msgId: string;
  context: string;
  /** The sender's card does not follow the one this client trusted (a new chain, or a rotation whose link fails, PROTOCOL §2): warn the user. */
  keyChanged: boolean;
}

export interface Looked {
  card: string;
  cardId: string;
  keyChanged: boolean;
}

export interface Stats {
  decrypted: number;
  cancelled: number;
  lookups: number;
  cacheHits: number;
  keyChanges: number;
  /** Group-session shares sent to the directory. */
  sharesSent: number;
  /** Group-session shares received and accepted. */
  sharesAccepted: number;
  /** Requests made to the directory for shares. */
  shareRequests: number;
}

export interface KeyChangedDetail {
  identity: string;
  cardId: string;
  previousCardId: string;
}

export interface WrapSendOptions extends Signal {
  to: string[] | ((message: unknown) => string[] | Promise<string[]>);
  context?: string | ((message: unknown) => string | Promise<string>);
}

/** End-to-end encryption for one identity on this device. */
export declare class ChatSeal {
  private constructor();
  static open(options: OpenOptions): Promise<ChatSeal>;
  readonly identity: string;
  hasLocalKey(): boolean;
  /** Creates keys and publishes the card; resolves to the card text. */
  register(options?: Signal): Promise<string>;
  lookup(identities: string[], options?: Signal): Promise<Record<string, Looked>>;
  encrypt(text: string, options: EncryptOptions): Promise<string>;
  encryptBytes(bytes: Uint8Array, options: EncryptOptions): Promise<string>;
  decrypt(text: string, options?: DecryptOptions): Promise<Decrypted>;
  decryptBytes(text: string, options?: DecryptOptions): Promise<Decrypted & { data: Uint8Array }>;
  /**
   * Encrypts a file a megabyte at a time (PROTOCOL §10): `blob` is what to upload,
   * `descriptor` the message that carries its key to `to` and this device.
   */
  encryptFile(file: FileBody, options: EncryptFileOptions): Promise<EncryptedFile>;
  /**
   * Checks and decrypts a fetched upload against its descriptor (verified like
   * `decrypt`). Altered, truncated or extended uploads fail with `Integrity` and give
   * no plaintext.
   */
  decryptFile(descriptor: string, body: FileBody, options?: DecryptFileOptions & { stream?: false }): Promise<File>;
  decryptFile(descriptor: string, body: FileBody, options: DecryptFileOptions & { stream: true }): Promise<ReadableStream<Uint8Array>>;
  acceptKeyChange(identity: string): Promise<boolean>;
  /**
   * The user compared safety numbers with `identity` and they matched. The contact stays
   * verified across its rotations, until a key change clears it; false when no card of
   * `identity` is pinned yet (look it up first).
   */
  markVerified(identity: string): Promise<boolean>;
  /** True when `identity` was verified (`markVerified`) and no key change was seen since. */
  isVerified(identity: string): boolean;
  /**
   * The channel `context` now has the members `to`: a member who left ends this device's
   * group session there (the next message starts one the leaver cannot read); a member
   * who joined is given it now. Chat adapters call it on membership events.
   */
  updateMembers(options: MembersOptions): Promise<void>;
  /** Pulls the group-session shares sent to this identity since the last pull (`open` does it once); resolves to the number of new sessions. */
  syncShares(options?: Signal): Promise<number>;
  rotate(options?: Signal): Promise<string>;
  /**
   * `backup(password)` seals the keys under a password and stores the backup at the
   * directory (§4); `backup.addPasskey()` and the rest keep passkey backups (§4.1) beside it.
   */
  readonly backup: Backups;
  /** Linking a new device by QR code (§13): `link.start()` on the new one, `link.accept(qr)` on one that has the keys. */
  readonly link: Links;
  restore(password: string, options?: Signal): Promise<string>;
  changePassword(oldPassword: string, newPassword: string, options?: Signal): Promise<void>;
  deleteBackup(options?: Signal): Promise<void>;
  unregister(options?: Signal): Promise<void>;
  wipeLocal(options?: Signal): Promise<void>;
  safetyNumber(identity: string, options?: Signal): Promise<string>;
  /** Wraps a chat SDK's send function so that the text it sends is encrypted first. */
  wrapSend<F extends (message: any, ...rest: any[]) => any>(send: F, options: WrapSendOptions): (
    ...args: Parameters<F>
  ) => Promise<Awaited<ReturnType<F>>>;
  addEventListener(type: "keychanged", listener: (event: CustomEvent<KeyChangedDetail>) => void): void;
  removeEventListener(type: "keychanged", listener: (event: CustomEvent<KeyChangedDetail>) => void): void;
  stats(): Stats;
  close(): void;
  free(): void;
}

/** Where the passkey lives (WebAuthn relying party); both default to this page's host. */
export interface PasskeyOptions extends Signal {
  /** The name the authenticator shows beside the passkey. */
  rpName?: string;
  /** The WebAuthn relying-party id (a registrable suffix of the page's host). */
  rpId?: string;
}

/** `seal.backup`: the password backup, and the passkey backups beside it. */
export interface Backups {
  (password: string, options?: Signal): Promise<void>;
  /**
   * Creates a passkey with the WebAuthn `prf` extension and stores a backup sealed by it.
   * `PasskeyUnsupported` without PRF, `PasskeyCancelled` when the user dismisses the
   * prompt; nothing is stored then.
   */
  addPasskey(options?: PasskeyOptions): Promise<{ credentialId: string }>;
  /** The passkey backups at the directory. */
  passkeys(options?: Signal): Promise<{ credentialId: string }[]>;
  /** Restores the keys with one of the identity's passkeys (`NoBackup` without any); resolves to the card text. */
  restoreWithPasskey(options?: PasskeyOptions): Promise<string>;
  /** Deletes that passkey's backup at the directory. */
  removePasskey(credentialId: string, options?: Signal): Promise<void>;
}

/** `seal.link`: linking a new device (§13). */
export interface Links {
  /** On the new device: show `qr`, then `await waitForOffer()` and `confirm()` once both screens show the same code. */
  start(): DeviceLink;
  /** On a device that has the keys: sends them to the device whose QR text this is; resolves to the six-digit code. */
  accept(qrText: string, options?: Signal): Promise<string>;
}

/** A device link in progress on the new device. */
export declare class DeviceLink {
  private constructor();
  /** The QR payload (`chatseal:link:…`), to show as a QR code or type on the other device. */
  readonly qr: string;
  /** `qr` as an SVG path in a `qrSize` × `qrSize` box, quiet zone included. */
  readonly qrPath: string;
  readonly qrSize: number;
  /** When the link stops being usable (unix ms). */
  readonly expiresAt: number;
  /** The six-digit code, once the offer arrived. */
  readonly code: string | undefined;
  /** Waits for the other device's offer and checks it; resolves to the code. `LinkExpired` after five minutes. */
  waitForOffer(options?: Signal): Promise<string>;
  /** Stores the keys on this device, after the user saw the same code on both screens; resolves to the card text. */
  confirm(options?: Signal): Promise<string>;
  /** Forgets the offer; nothing was stored. */
  cancel(): void;
  free(): void;
}

/** A verified public card. */
export declare class Card {
  private constructor();
  static parse(text: string): Card;
  readonly text: string;
  readonly id: string;
  readonly identity: string;
  readonly createdAt: number;
  readonly prevCardId: string | undefined;
  free(): void;
}

/** Low-level keys for offline, synchronous use (benchmarks, servers, custom flows). */
export declare class Identity {
  private constructor();
  static generate(identity: string): Identity;
  static restore(backupText: string, password: string): Identity;
  readonly identity: string;
  card(): Card;
  backup(password: string): string;
  rotate(): Card;
  encrypt(text: string, cards: Array<Card | string>, options?: { context?: string }): string;
  encryptBytes(bytes: Uint8Array, cards: Array<Card | string>, options?: { context?: string }): string;
  /**
   * `senderCards`: the cards the message may need, the sender's; for this identity's own
   * pairwise message (`csp2.`, PROTOCOL §11), the recipient's as well.
   */
  decrypt(text: string, senderCards: Array<Card | string>, options?: { from?: string; context?: string }): Decrypted;
  decryptBytes(
    text: string,
    senderCards: Array<Card | string>,
    options?: { from?: string; context?: string },
  ): Decrypted & { data: Uint8Array };
  /** A new group session (PROTOCOL §9) for the channel `context`. */
  startGroupSession(context: string): GroupSession;
  /** One `csp2.` share (a §11 pairwise message) per card: the session's chain key at its current index. */
  shareGroupSession(session: GroupSession, cards: Array<Card | string>): string[];
  /** The session's next message, as `csg2.` text. */
  groupEncrypt(session: GroupSession, text: string): string;
  /** The session a share (sent by one of `senderCards`) opens. */
  acceptShare(share: string, senderCards: Array<Card | string>): InboundSession;
  free(): void;
}

/** This identity's side of a group session (from `identity.startGroupSession`). */
export interface GroupSession {
  readonly sessionId: string;
  /** The index of the next message. */
  readonly index: number;
  free(): void;
}

/** A group session shared with this identity (from `identity.acceptShare`). */
export interface InboundSession {
  decrypt(text: string, senderCards: Array<Card | string>, options?: { from?: string; context?: string }): Decrypted;
  free(): void;
}

/** True when `text` is a chatseal message (`csp2.`, `csm2.` or `csg2.`); works before the module loads. */
export declare function isEncrypted(text: unknown): text is string;
/** Loads the WebAssembly module (optional: `ChatSeal.open` does it). */
export declare function initAsync(input?: string | URL | Request | Response | BufferSource | WebAssembly.Module): Promise<void>;
export declare function isReady(): boolean;
