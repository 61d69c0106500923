// @ts-check
// chatseal/stream, uploads: the composer's upload function, which encrypts each file before
// the app's or the SDK's own upload sends it, and the step that swaps a composed message's
// attachments for their encrypted descriptors. Internal to the package (not in `exports`).
import { encryptedAttachment, isEncryptedAttachment, DESCRIPTOR_FIELD } from "./stream-attachments.js";

/** @typedef {import("./index.js").ChatSeal} ChatSeal */
/** @typedef {import("./stream-shim.js").Shim} Shim */
/** @typedef {import("stream-chat").MessageComposer} MessageComposer */
/** @typedef {import("stream-chat").Channel} Channel */
/** @typedef {import("stream-chat").Attachment} Attachment */
/** @typedef {import("stream-chat").UploadRequestFn} UploadRequestFn */
/** @typedef {import("stream-chat").UploadRequestOptions} UploadRequestOptions */
/** @typedef {Map<string, { url: string, descriptor: string }>} Uploads  local preview URL → the upload */

// Our upload functions (so that a second setup does not take one for the app's own).
/** @type {WeakSet<UploadRequestFn>} */
const ourUploads = new WeakSet();

/**
 * True for an upload function chatseal made (an earlier setup's, not the app's own).
 * @param {UploadRequestFn | undefined} upload
 */
export function isEncryptingUpload(upload) {
  return !!upload && ourUploads.has(upload);
}

/**
 * The composer's upload function: encrypts the file (PROTOCOL §10) for the channel, then
 * uploads the ciphertext, named `encrypted.bin` as `application/octet-stream` (so even
 * whether it is an image stays private), through the app's own upload function when it
 * had one, else the SDK's. The composer is handed a local object URL of the plaintext, for
 * its preview; `uploads` maps it to the uploaded URL and the descriptor until the message
 * is composed.
 * @param {Shim} shim
 * @param {MessageComposer} composer
 * @param {ChatSeal} seal
 * @param {(channel: Channel) => Promise<string[]>} recipientsOf
 * @param {UploadRequestFn | undefined} appUpload
 * @param {Uploads} uploads
 * @returns {UploadRequestFn}
 */
export function makeEncryptingUpload(shim, composer, seal, recipientsOf, appUpload, uploads) {
  /** @type {UploadRequestFn} */
  const upload = async (fileLike, options = {}) => {
    if (!(fileLike instanceof Blob)) {
      throw new TypeError("chatseal: only a File or Blob can be encrypted and uploaded");
    }
    const channel = shim.channel(composer);
    const report = typeof options.onProgress === "function" ? options.onProgress : null;
    // Encrypting is the first 30 % of the progress bar, the upload the rest.
    const encrypted = await seal.encryptFile(fileLike, {
      to: await recipientsOf(channel),
      context: channel.cid,
      signal: options.abortSignal,
      onProgress: report ? ({ loaded, total }) => total && report(Math.round((30 * loaded) / total)) : undefined,
    });
    const sealedFile = new File([encrypted.blob], "encrypted.bin", { type: "application/octet-stream" });
    /** @type {UploadRequestOptions} */
    const uploadOptions = {
      ...options,
      onProgress: report ? (percent) => report(percent === undefined ? undefined : 30 + Math.round(0.7 * percent)) : undefined,
    };
    const response = await (appUpload ? appUpload(sealedFile, uploadOptions) : shim.defaultUpload(composer, sealedFile, uploadOptions));
    if (!response || typeof response.file !== "string" || response.file === "") {
      throw new Error("chatseal: the upload returned no URL for the encrypted file");
    }
    const local = URL.createObjectURL(fileLike);
    uploads.set(local, { url: response.file, descriptor: encrypted.descriptor });
    return { file: local };
  };
  ourUploads.add(upload);
  return upload;
}

/**
 * The message's attachments with every file uploaded through `uploads` (local preview URL
 * → `{ url, descriptor }`) replaced by its encrypted form, link previews dropped; null when
 * one of them is not an encrypted upload (it would go out in plaintext). With
 * `plaintextAttachments` they are kept as they are.
 * @param {Shim} shim
 * @param {Attachment[]} attachments
 * @param {Uploads} uploads
 * @param {boolean} plaintextAttachments
 * @returns {Attachment[] | null}
 */
export function sealAttachments(shim, attachments, uploads, plaintextAttachments) {
  /** @type {Attachment[]} */
  const out = [];
  for (const attachment of attachments) {
    if (shim.isLinkPreview(attachment)) continue;
    if (plaintextAttachments) {
      out.push(attachment);
      continue;
    }
    const local = shim.uploadedUrls(attachment).find((url) => uploads.has(url));
    const uploaded = local === undefined ? undefined : uploads.get(local);
    if (uploaded) {
      out.push(encryptedAttachment(uploaded.url, uploaded.descriptor));
    } else if (isEncryptedAttachment(attachment)) {
      // Kept from the message being edited.
      out.push(encryptedAttachment(attachment.asset_url, attachment[DESCRIPTOR_FIELD]));
    } else {
      return null;
    }
  }
  return out;
}
