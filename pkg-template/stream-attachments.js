// @ts-check
// chatseal/stream, the encrypted attachment: the shape a file takes in a Stream message
// once it is encrypted (PROTOCOL §10), `{ type: "chatseal", asset_url, chatseal_file }`:
// the URL of the uploaded ciphertext and the descriptor message that carries the file's
// key, name and type sealed like the text. Written by the composer, read by the renderer.
// Internal to the package (not in `exports`); stream.js re-exports the public names.
import { isEncrypted } from "chatseal";

/** @typedef {import("./stream.js").EncryptedAttachmentData} EncryptedAttachmentData */

/**
 * The attachment type of an encrypted file.
 * @type {typeof import("./stream.js").FILE_ATTACHMENT_TYPE}
 */
export const FILE_ATTACHMENT_TYPE = "chatseal";
/** The field that holds its descriptor. */
export const DESCRIPTOR_FIELD = "chatseal_file";

/**
 * An attachment that is an encrypted file chatseal sent (or a copy of one).
 * @type {typeof import("./stream.js").isEncryptedAttachment}
 */
export function isEncryptedAttachment(attachment) {
  return (
    !!attachment &&
    typeof attachment === "object" &&
    "type" in attachment &&
    "asset_url" in attachment &&
    DESCRIPTOR_FIELD in attachment &&
    attachment.type === FILE_ATTACHMENT_TYPE &&
    typeof attachment.asset_url === "string" &&
    isEncrypted(attachment[DESCRIPTOR_FIELD])
  );
}

/**
 * @param {string} url
 * @param {string} descriptor
 * @returns {EncryptedAttachmentData}
 */
export function encryptedAttachment(url, descriptor) {
  return { type: FILE_ATTACHMENT_TYPE, asset_url: url, [DESCRIPTOR_FIELD]: descriptor };
}
