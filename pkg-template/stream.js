// @ts-check
// chatseal/stream: end-to-end encryption for stream-chat-react 14 on stream-chat 9.
//
//   encryptComposer(client, seal)                      every composer of `client` encrypts
//   <WithComponents overrides={chatSealComponents}>    messages, quotes and the channel
//                                                      list show the decrypted text
//
// What a Stream server sees: the ciphertext (`csp2.`, `csm2.`, `csg2.`) of every text and edit, never a draft,
// never a link-preview lookup, and files only as ciphertext (PROTOCOL §10): uploads are
// encrypted before the SDK's own upload sends them, and a message's attachments are
// replaced by `{ type: "chatseal", asset_url, chatseal_file }`, the descriptor that
// carries the file's key, name and type sealed like the text.
// What depends on the SDK's version (names, stores, config keys) lives in `streamChat9`
// (stream-shim.js). The adapter, by responsibility:
//   stream-composer.js     encryptComposer: the composer middleware (sending)
//   stream-uploads.js      files encrypted before they are uploaded
//   stream-attachments.js  the encrypted attachment's shape, written and read
//   stream-messages.js     decrypted messages, previews and the channel list (rendering)
//   stream-files.js        encrypted files shown decrypted (the Attachment override)
//   stream-shim.js         what chatseal knows of stream-chat 9 / stream-chat-react 14
// The public names are all here (stream.d.ts); the other files are internal.
import { EncryptedAttachment } from "./stream-files.js";
import {
  EncryptedChannelListItemUI,
  EncryptedEditedMessagePreview,
  EncryptedMessageUI,
  EncryptedQuotedMessagePreview,
} from "./stream-messages.js";

export { encryptComposer } from "./stream-composer.js";
export { FILE_ATTACHMENT_TYPE, isEncryptedAttachment } from "./stream-attachments.js";
export {
  useDecryptedMessage,
  createEncryptedMessageUI,
  EncryptedMessageUI,
  EncryptedQuotedMessagePreview,
  EncryptedEditedMessagePreview,
  createEncryptedChannelListItemUI,
  EncryptedChannelListItemUI,
  getEncryptedLatestMessagePreview,
} from "./stream-messages.js";
export { createEncryptedAttachment, EncryptedAttachment } from "./stream-files.js";

/**
 * Every override chatseal needs, for `<WithComponents overrides={chatSealComponents}>`.
 * @type {typeof import("./stream.js").chatSealComponents}
 */
export const chatSealComponents = Object.freeze({
  Attachment: EncryptedAttachment,
  MessageUI: EncryptedMessageUI,
  VirtualMessage: EncryptedMessageUI,
  QuotedMessagePreview: EncryptedQuotedMessagePreview,
  EditedMessagePreview: EncryptedEditedMessagePreview,
  ChannelListItemUI: EncryptedChannelListItemUI,
});
