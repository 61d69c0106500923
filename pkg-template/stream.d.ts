// Types of `chatseal/stream` (stream-chat-react 14 on stream-chat 9).
import type { ComponentType, ReactElement, ReactNode } from "react";
import type { Channel, LocalMessage, LocalMessageBase, StreamChat } from "stream-chat";
import type {
  AttachmentProps,
  ChannelListItemUIProps,
  ChatContextValue,
  ComponentContextValue,
  MessageUIComponentProps,
  QuotedMessagePreviewProps,
  TranslationContextValue,
} from "stream-chat-react";
import type { ChatSeal } from "./index.js";
import type { DecryptedState } from "./react.js";

export interface EncryptComposerOptions {
  /**
   * The identities a message in `channel` is encrypted to (the sender is always added).
   * Default: the channel's members as the client knows them (`channel.state.members`),
   * whose Stream user ids are their chatseal identities.
   */
  recipients?: (channel: Channel) => string[] | Promise<string[]>;
  /**
   * Let the composer upload attachments as they are (not end-to-end encrypted). Default
   * `false`: every file is encrypted (PROTOCOL §10) before it is uploaded, through the app's
   * own `attachments.doUploadRequest` when it set one, else the SDK's; a message with an
   * attachment that did not go through that upload is not sent.
   */
  plaintextAttachments?: boolean;
}

/**
 * Registers (through `client.setMessageComposerSetupFunction`) composer middleware that
 * encrypts the text of new messages and of edits for the channel's members, with the
 * channel's `cid` as context; turns off server drafts, link previews and shared locations
 * (for good: `stop()` does not turn them back on); encrypts uploads and replaces the
 * message's attachments by their encrypted descriptors; and decrypts
 * the stored ciphertext of a message opened for editing. A setup function the app
 * registers, before or after, runs inside chatseal's. A message that cannot be encrypted is
 * not sent: it stays in the composer and a `client.notifications` error says why, in words
 * (`origin: { emitter: "chatseal", context: { cid } }`, the channel it was written in, so an
 * app can show it with that conversation only; `type: "chatseal:encrypt:failed"`).
 * Returns `stop()`, which removes chatseal's middleware and puts back the app's setup function.
 */
export declare function encryptComposer(
  client: StreamChat,
  seal: ChatSeal,
  options?: EncryptComposerOptions,
): () => void;

/**
 * A copy of `message` whose `text` is the plaintext (or, until then, a short placeholder:
 * "Decrypting…", or "🔒 " and `state.label`), without the server's `html` and `i18n`.
 * Messages that are not ciphertext (`csp2.`, `csm2.`, `csg2.`) come back as they are.
 */
export declare function useDecryptedMessage<M extends LocalMessageBase | LocalMessage | null | undefined>(
  message: M,
  options?: { context?: string },
): { message: M; state: DecryptedState };

/** Builds a `MessageUI` that decrypts and renders with `MessageUI` (stream-chat-react's by default). */
export declare function createEncryptedMessageUI(options?: {
  MessageUI?: ComponentType<MessageUIComponentProps>;
}): ComponentType<MessageUIComponentProps>;

/** For `<WithComponents overrides={{ MessageUI: EncryptedMessageUI }}>`. */
export declare const EncryptedMessageUI: ComponentType<MessageUIComponentProps>;

/** For the `QuotedMessagePreview` override (the composer's reply preview). */
export declare function EncryptedQuotedMessagePreview(props: QuotedMessagePreviewProps): ReactElement | null;

/** For the `EditedMessagePreview` override (the composer's "editing" preview). */
export declare function EncryptedEditedMessagePreview(props: {
  message: LocalMessage;
  onCancel: () => void;
}): ReactElement | null;

/** Builds a `ChannelListItemUI` whose latest-message summary uses the decrypted text. */
export declare function createEncryptedChannelListItemUI(options?: {
  ChannelListItemUI?: ComponentType<ChannelListItemUIProps>;
}): ComponentType<ChannelListItemUIProps>;

/** For the `ChannelListItemUI` override. */
export declare const EncryptedChannelListItemUI: ComponentType<ChannelListItemUIProps>;

/** The attachment type of an encrypted file (`"chatseal"`). */
export declare const FILE_ATTACHMENT_TYPE: "chatseal";

/** An encrypted file attachment: the upload's URL and the descriptor message. */
export interface EncryptedAttachmentData {
  type: "chatseal";
  asset_url: string;
  chatseal_file: string;
}

/** True for an attachment that is an encrypted file chatseal sent. */
export declare function isEncryptedAttachment(attachment: unknown): attachment is EncryptedAttachmentData;

/**
 * Builds an `Attachment` that shows encrypted files decrypted (images inline, other files
 * as a download) and hands every other attachment to `Attachment`.
 */
export declare function createEncryptedAttachment(options?: {
  Attachment?: ComponentType<AttachmentProps>;
}): ComponentType<AttachmentProps>;

/** For the `Attachment` override. */
export declare const EncryptedAttachment: ComponentType<AttachmentProps>;

/**
 * All of the above, for `<WithComponents overrides={chatSealComponents}>`: `Attachment`, `MessageUI`,
 * `VirtualMessage`, `QuotedMessagePreview`, `EditedMessagePreview`, `ChannelListItemUI`.
 */
export declare const chatSealComponents: Readonly<Partial<ComponentContextValue>>;

/** Drop-in for `ChannelList`'s `getLatestMessagePreview`, for rows that show `latestMessagePreview`. */
export declare function getEncryptedLatestMessagePreview(
  channel: Channel,
  t: TranslationContextValue["t"],
  userLanguage?: TranslationContextValue["userLanguage"],
  isMessageAIGenerated?: ChatContextValue["isMessageAIGenerated"],
): ReactNode;
