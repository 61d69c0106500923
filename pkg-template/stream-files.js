// @ts-check
// chatseal/stream, rendering encrypted files: the `Attachment` override, which shows the
// files of a message decrypted (images inline, other files as a download) and hands every
// other attachment to stream-chat-react's own. Internal to the package (not in `exports`);
// stream.js re-exports the public names.
import { createElement, useEffect, useRef } from "react";
import {
  Attachment as StreamAttachment,
  FileIcon,
  useChannelStateContext,
  useMessageContext,
  useTranslationContext,
} from "stream-chat-react";
import { useDecryptedFile } from "chatseal/react";
import { DESCRIPTOR_FIELD, isEncryptedAttachment } from "./stream-attachments.js";
import { notice } from "./stream-messages.js";

/** @param {number | undefined} bytes */
function formatSize(bytes) {
  if (bytes === undefined || !(bytes >= 1024)) return `${bytes ?? 0} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/**
 * One encrypted file of a message: an image is fetched, decrypted and shown; another file
 * is a button that fetches and decrypts it, then saves it. Everything is aborted and the
 * object URL revoked when the message leaves the screen.
 * @param {{ attachment: import("./stream.js").EncryptedAttachmentData }} props
 */
function EncryptedFile({ attachment }) {
  const { message } = useMessageContext("EncryptedAttachment");
  const { channel } = useChannelStateContext("EncryptedAttachment");
  const { t } = useTranslationContext("chatseal");
  const state = useDecryptedFile(attachment[DESCRIPTOR_FIELD], {
    url: attachment.asset_url,
    from: message?.user?.id,
    context: message?.cid ?? channel?.cid,
  });
  const save = useRef(false);
  const link = useRef(/** @type {HTMLAnchorElement | null} */ (null));
  useEffect(() => {
    if (state.status === "ok" && save.current && link.current) {
      save.current = false;
      link.current.click();
    }
  }, [state.status]);

  const info = state.info;
  if (state.status === "error") {
    return notice("error", `🔒 ${info?.name ? `${info.name}: ` : ""}${t(state.label || "can't decrypt")}`);
  }
  const label = info ? `${info.name || t("file")} · ${formatSize(info.size)}` : "";
  if (state.status === "ok" && info?.type.startsWith("image/")) {
    return createElement("img", {
      className: "str-chat__chatseal-image",
      "data-chatseal": "image",
      src: state.url,
      alt: info.name,
    });
  }
  const icon = createElement(FileIcon, { fileName: info?.name, mimeType: info?.type, size: "sm" });
  if (state.status === "ok") {
    return createElement(
      "a",
      { className: "str-chat__chatseal-file", "data-chatseal": "file", href: state.url, download: info?.name || "file", ref: link },
      icon,
      createElement("span", null, label),
    );
  }
  if (state.status === "idle") {
    const start = () => {
      save.current = true;
      state.start();
    };
    return createElement(
      "button",
      {
        type: "button",
        className: "str-chat__chatseal-file",
        "data-chatseal": "file-download",
        "aria-label": `${t("Download")} ${label}`,
        onClick: start,
      },
      icon,
      createElement("span", null, label),
    );
  }
  const percent = state.progress == null ? "" : ` ${Math.round(state.progress * 100)} %`;
  return notice("pending", `${t("Decrypting…")}${info ? ` ${info.name}` : ""}${percent}`);
}

/**
 * An `Attachment` (override) that shows chatseal's encrypted files decrypted, and hands
 * every other attachment to `Attachment` (stream-chat-react's own by default).
 */
/** @type {typeof import("./stream.js").createEncryptedAttachment} */
export function createEncryptedAttachment({ Attachment = StreamAttachment } = {}) {
  /** @param {import("stream-chat-react").AttachmentProps} props */
  function EncryptedAttachment(props) {
    const all = props.attachments ?? [];
    const files = all.filter(isEncryptedAttachment);
    if (files.length === 0) return createElement(Attachment, props);
    const rest = all.filter((a) => !isEncryptedAttachment(a));
    return createElement(
      "div",
      { className: "str-chat__chatseal-attachments" },
      rest.length ? createElement(Attachment, { ...props, attachments: rest }) : null,
      ...files.map((a, i) => createElement(EncryptedFile, { key: `${i}:${a.asset_url}`, attachment: a })),
    );
  }
  return EncryptedAttachment;
}

/** `createEncryptedAttachment()` around stream-chat-react's own `Attachment`. */
/** @type {typeof import("./stream.js").EncryptedAttachment} */
export const EncryptedAttachment = createEncryptedAttachment();
