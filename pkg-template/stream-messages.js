// @ts-check
// chatseal/stream, rendering messages: stream-chat-react's own components fed decrypted
// copies of the messages (the message list, the composer's reply and edit previews, the
// channel list's latest message). Internal to the package (not in `exports`); stream.js
// re-exports the public names.
import { createElement, Fragment, useCallback, useMemo } from "react";
import {
  ChannelListItemUI as StreamChannelListItemUI,
  MessageProvider,
  MessageUI as StreamMessageUI,
  QuotedMessagePreviewUI,
  getLatestMessagePreview,
  renderText as streamRenderText,
  useChannelStateContext,
  useMessageComposerController,
  useMessageContext,
  useStateStore,
  useTranslationContext,
} from "stream-chat-react";
import { isEncrypted } from "chatseal";
import { useDecrypted } from "chatseal/react";
import { streamChat9 } from "./stream-shim.js";

/** @typedef {import("./react.js").DecryptedState} DecryptedState */
/** @typedef {import("stream-chat-react").TranslationContextValue["t"]} Translate */

/**
 * A status line in place of, or after, a message's text (`kind`: pending, error, …).
 * @param {"pending" | "error" | "key-changed" | "unencrypted"} kind
 * @param {string | undefined} text
 */
export function notice(kind, text) {
  return createElement(
    "span",
    { className: `str-chat__chatseal-notice str-chat__chatseal-notice--${kind}`, "data-chatseal": kind },
    text,
  );
}

/**
 * What `useDecryptedMessage` shows for a state that has no plaintext.
 * @param {DecryptedState} state
 * @param {Translate} t
 * @returns {string}
 */
function placeholder(state, t) {
  if (state.status === "pending") return t("Decrypting…");
  return `🔒 ${t(state.label || "can't decrypt")}`;
}

/**
 * `useDecryptedMessage(message, { context })` → `{ message, state }`: a copy of a Stream
 * message whose `text` is the plaintext (or, until then, a short placeholder), without the
 * server's `html` and `i18n` (both derived from ciphertext). `state` is `useDecrypted`'s.
 */
/** @type {typeof import("./stream.js").useDecryptedMessage} */
export function useDecryptedMessage(message, options = {}) {
  const { t } = useTranslationContext("chatseal");
  const context = options.context ?? message?.cid;
  const state = useDecrypted(message?.text, { from: message?.user?.id, context });
  const shown = useMemo(() => {
    if (!message || !isEncrypted(message.text)) return message;
    const { html: _html, i18n: _i18n, ...rest } = message;
    // A copy of the caller's message type (less two optional fields), as declared.
    return /** @type {typeof message} */ ({
      ...rest,
      text: state.status === "ok" ? (state.text ?? "") : placeholder(state, t),
    });
  }, [message, state, t]);
  return { message: shown, state };
}

/**
 * A `MessageUI` for `<WithComponents overrides={{ MessageUI }}>` that decrypts the message
 * (and the message it quotes) and renders it with `MessageUI` (stream-chat-react's own by
 * default). Edits started from it open with the plaintext; "Resend" resends the ciphertext.
 */
/** @type {typeof import("./stream.js").createEncryptedMessageUI} */
export function createEncryptedMessageUI({ MessageUI = StreamMessageUI } = {}) {
  /** @param {import("stream-chat-react").MessageUIComponentProps} props */
  function EncryptedMessageUI(props) {
    const messageContext = useMessageContext("EncryptedMessageUI");
    const { channel } = useChannelStateContext("EncryptedMessageUI");
    const { t } = useTranslationContext("EncryptedMessageUI");
    const original = messageContext.message;
    const context = original?.cid ?? channel?.cid;
    const main = useDecryptedMessage(original, { context });
    const quoted = useDecryptedMessage(original?.quoted_message, { context });

    const shown = useMemo(() => {
      if (!original || (main.message === original && quoted.message === original.quoted_message)) return original;
      return { ...main.message, quoted_message: quoted.message };
    }, [original, main.message, quoted.message]);

    const encrypted = isEncrypted(original?.text);
    const { status, keyChanged } = main.state;
    const unencrypted = !encrypted && original?.type === "regular" && !!original?.text;
    const baseRenderText = props.renderText ?? messageContext.renderText ?? streamRenderText;
    const renderText = useCallback(
      /** @type {typeof baseRenderText} */ (
        (text, mentionedUsers, renderOptions) => {
          if (encrypted && status !== "ok") return notice(status === "pending" ? "pending" : "error", text);
          const rendered = baseRenderText(text, mentionedUsers, renderOptions);
          if (encrypted && keyChanged) return createElement(Fragment, null, rendered, notice("key-changed", t("key changed")));
          if (unencrypted) {
            return createElement(Fragment, null, rendered, notice("unencrypted", t("not end-to-end encrypted")));
          }
          return rendered;
        }
      ),
      [baseRenderText, encrypted, status, keyChanged, unencrypted, t],
    );

    const handleRetry = messageContext.handleRetry;
    const retryOriginal = useCallback(
      /** @param {import("stream-chat").LocalMessage} message */
      (message) => handleRetry?.(message && original && message.id === original.id ? original : message),
      [handleRetry, original],
    );

    const value = useMemo(
      () => ({ ...messageContext, message: shown, handleRetry: retryOriginal }),
      [messageContext, shown, retryOriginal],
    );
    return createElement(MessageProvider, { value }, createElement(MessageUI, { ...props, renderText }));
  }
  return EncryptedMessageUI;
}

/** `createEncryptedMessageUI()` with stream-chat-react's `MessageUI` inside. */
/** @type {typeof import("./stream.js").EncryptedMessageUI} */
export const EncryptedMessageUI = createEncryptedMessageUI();

/** The composer's reply preview (`QuotedMessagePreview` override), decrypted. */
/** @type {typeof import("./stream.js").EncryptedQuotedMessagePreview} */
export function EncryptedQuotedMessagePreview(props) {
  const shim = streamChat9;
  const composer = useMessageComposerController();
  const { quotedMessage } = useStateStore(shim.quotedMessageStore(composer), shim.quotedMessageSelector);
  const { message } = useDecryptedMessage(quotedMessage ?? undefined);
  if (!message) return null;
  return createElement(
    "div",
    { className: shim.quotedPreviewSlotClass },
    createElement(QuotedMessagePreviewUI, {
      ...props,
      onRemove: () => shim.clearQuote(composer),
      quotedMessage: message,
    }),
  );
}

/** The composer's "editing" preview (`EditedMessagePreview` override), decrypted. */
/** @type {typeof import("./stream.js").EncryptedEditedMessagePreview} */
export function EncryptedEditedMessagePreview({ message, onCancel }) {
  const { t } = useTranslationContext("chatseal");
  const shown = useDecryptedMessage(message).message;
  return createElement(QuotedMessagePreviewUI, {
    authorLabel: t("Edit Message"),
    onRemove: onCancel,
    quotedMessage: shown,
  });
}

/**
 * A channel-list row (`ChannelListItemUI` override) whose latest-message summary and
 * accessible name use the decrypted text. (stream-chat-react 14's own row summarises
 * `lastMessage` itself and does not show `latestMessagePreview`.)
 */
/** @type {typeof import("./stream.js").createEncryptedChannelListItemUI} */
export function createEncryptedChannelListItemUI({ ChannelListItemUI = StreamChannelListItemUI } = {}) {
  /** @param {import("stream-chat-react").ChannelListItemUIProps} props */
  function EncryptedChannelListItemUI(props) {
    const { message } = useDecryptedMessage(props.lastMessage, { context: props.channel?.cid });
    return createElement(ChannelListItemUI, { ...props, lastMessage: message });
  }
  return EncryptedChannelListItemUI;
}

/** `createEncryptedChannelListItemUI()` around stream-chat-react's own row. */
/** @type {typeof import("./stream.js").EncryptedChannelListItemUI} */
export const EncryptedChannelListItemUI = createEncryptedChannelListItemUI();

/**
 * @param {{
 *   channel: import("stream-chat").Channel,
 *   message: import("stream-chat").LocalMessage,
 *   t: Translate,
 *   userLanguage?: import("stream-chat-react").TranslationContextValue["userLanguage"],
 *   isMessageAIGenerated?: import("stream-chat-react").ChatContextValue["isMessageAIGenerated"],
 * }} props
 */
function LatestMessagePreview({ channel, message, t, userLanguage, isMessageAIGenerated }) {
  const { message: shown, state } = useDecryptedMessage(message, { context: channel.cid });
  if (state.status !== "ok") return notice(state.status === "pending" ? "pending" : "error", shown.text);
  return getLatestMessagePreview(channel, t, userLanguage, isMessageAIGenerated, shown);
}

/**
 * Drop-in for `ChannelList`'s `getLatestMessagePreview` (same arguments), for apps whose own
 * `ChannelListItemUI` shows `latestMessagePreview`: the latest message's plaintext, rendered
 * by stream-chat-react's own preview function.
 */
/** @type {typeof import("./stream.js").getEncryptedLatestMessagePreview} */
export function getEncryptedLatestMessagePreview(channel, t, userLanguage, isMessageAIGenerated) {
  const latest = streamChat9.latestMessage(channel);
  if (!latest || !isEncrypted(latest.text) || latest.deleted_at || latest.type === "deleted") {
    return getLatestMessagePreview(channel, t, userLanguage, isMessageAIGenerated);
  }
  return createElement(LatestMessagePreview, {
    key: `${latest.id}:${latest.text}`,
    channel,
    message: latest,
    t,
    userLanguage,
    isMessageAIGenerated,
  });
}
