// chatseal/stream: end-to-end encryption for stream-chat-react 14 on stream-chat 9.
//
//   encryptComposer(client, seal)                      every composer of `client` encrypts
//   <WithComponents overrides={chatSealComponents}>    messages, quotes and the channel
//                                                      list show the decrypted text
//
// What a Stream server sees: the `csm1.` ciphertext of every text and edit, never a draft,
// never a link-preview lookup, and files only as ciphertext (PROTOCOL §10): uploads are
// encrypted before the SDK's own upload sends them, and a message's attachments are
// replaced by `{ type: "chatseal", asset_url, chatseal_file }`, the descriptor that
// carries the file's key, name and type sealed like the text.
// What depends on the SDK's version (names, stores, config keys) lives in `streamChat9`.
import { createElement, Fragment, useCallback, useEffect, useMemo, useRef } from "react";
import {
  Attachment as StreamAttachment,
  ChannelListItemUI as StreamChannelListItemUI,
  FileIcon,
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
import { useDecrypted, useDecryptedFile } from "chatseal/react";

const ENCRYPT_ID = "chatseal/message-composer-middleware/encrypt";
const DRAFT_ID = "chatseal/message-composer-middleware/no-drafts";
/** The attachment type of an encrypted file, and the field that holds its descriptor. */
export const FILE_ATTACHMENT_TYPE = "chatseal";
const DESCRIPTOR_FIELD = "chatseal_file";

// ---------------------------------------------------------------------------------------
// The version shim: what this file knows of stream-chat 9 / stream-chat-react 14 internals.
// stream-chat 10 (stream-chat-react 15) reorganises setup functions and the composer's
// configuration under `client.config`; supporting it means another object like this one.
// ---------------------------------------------------------------------------------------
const streamChat9 = {
  name: "stream-chat 9 (stream-chat-react 14)",

  supports(client) {
    return (
      !!client &&
      typeof client.setMessageComposerSetupFunction === "function" &&
      !!client._messageComposerSetupState &&
      typeof client._messageComposerSetupState.getLatestValue === "function" &&
      typeof client._messageComposerSetupState.addPreprocessor === "function"
    );
  },

  /** The setup function the app registered before us (there is one slot per client). */
  currentSetup(client) {
    return client._messageComposerSetupState.getLatestValue().setupFunction ?? null;
  },

  setSetup(client, setup) {
    client.setMessageComposerSetupFunction(setup);
  },

  /**
   * Lets `replace(setupFunction)` swap a setup function someone registers for another before
   * any composer sees it. Returns the function that removes the hook.
   */
  interceptSetup(client, replace) {
    return client._messageComposerSetupState.addPreprocessor((next) => {
      next.setupFunction = replace(next.setupFunction ?? null);
    });
  },

  /**
   * Appends `middleware` to the composition chain (after `data-cleanup`, which fills an
   * edit's payload from the edited message), so nothing after it can put text back.
   */
  useLast(executor, middleware) {
    executor.remove(middleware.id);
    executor.use(middleware);
  },

  install(composer, encrypt, noDrafts) {
    this.useLast(composer.compositionMiddlewareExecutor, encrypt);
    this.useLast(composer.draftCompositionMiddlewareExecutor, noDrafts);
  },

  uninstall(composer) {
    composer.compositionMiddlewareExecutor.remove(ENCRYPT_ID);
    composer.draftCompositionMiddlewareExecutor.remove(DRAFT_ID);
  },

  /**
   * Turns off what would send plaintext outside a message: server drafts (their text is
   * stored as typed), link previews (`/og?url=` asks the server to fetch a URL from the
   * text) and shared locations. Left off on teardown: the composer fails closed.
   */
  harden(composer, upload) {
    composer.linkPreviewsManager.cancelURLEnrichment?.();
    composer.updateConfig({
      drafts: { enabled: false },
      linkPreviews: { enabled: false },
      location: { enabled: false },
      ...(upload ? { attachments: { doUploadRequest: upload } } : {}),
    });
    if (composer.linkPreviewsManager.previews?.size) composer.linkPreviewsManager.clearPreviews();
  },

  /** Calls `listener()` whenever the composer's config turns one of those back on. */
  onUnhardened(composer, listener) {
    return composer.configState.subscribeWithSelector(
      (config) => ({
        drafts: !!config.drafts?.enabled,
        linkPreviews: !!config.linkPreviews?.enabled,
        location: !!config.location?.enabled,
      }),
      ({ drafts, linkPreviews, location }) => {
        if (drafts || linkPreviews || location) listener();
      },
    );
  },

  uploadFunction(composer) {
    return composer.config.attachments?.doUploadRequest;
  },

  /** The SDK's own upload (`channel.sendFile`, with progress and abort). */
  defaultUpload(composer, file, options) {
    return composer.attachmentManager.doDefaultUploadRequest(file, options);
  },

  /** The URL an uploaded attachment of the composer points at. */
  uploadedUrls(attachment) {
    return [attachment?.image_url, attachment?.asset_url].filter((u) => typeof u === "string");
  },

  /** (`updateConfig` merges and so cannot set a value back to undefined.) */
  restoreUpload(composer, upload) {
    const config = composer.config;
    composer.configState.partialNext({ attachments: { ...config.attachments, doUploadRequest: upload } });
  },

  editedMessage(composer) {
    return composer.editedMessage ?? null;
  },

  channel(composer) {
    return composer.channel;
  },

  text(composer) {
    return composer.textComposer.text;
  },

  setText(composer, text) {
    composer.textComposer.setText(text);
  },

  /**
   * Calls `listener()` when the text or the edited message changes (`initState` sets the
   * text before the edited message, so both are watched).
   */
  onTextOrEdit(composer, listener) {
    const offText = composer.textComposer.state.subscribeWithSelector(({ text }) => ({ text }), () => listener());
    const offEdit = composer.state.subscribeWithSelector(
      ({ editedMessage }) => ({ editedMessage }),
      () => listener(),
    );
    return () => {
      offText();
      offEdit();
    };
  },

  /**
   * Calls `listener(channel, event)` for `member.added` and `member.removed` events of a
   * channel this client holds. Returns the function that stops listening.
   */
  onMembership(client, listener) {
    const subscriptions = ["member.added", "member.removed"].map((type) =>
      client.on(type, (event) => {
        const channel = event?.cid ? client.activeChannels?.[event.cid] : undefined;
        if (channel) listener(channel, event);
      }),
    );
    return () => subscriptions.forEach((s) => s.unsubscribe());
  },

  /** The user a membership event is about (Stream's `user` of these events is that member). */
  memberOf(event) {
    return event?.member?.user_id ?? event?.member?.user?.id ?? event?.user?.id;
  },

  memberIds(channel) {
    return Object.values(channel.state?.members ?? {})
      .map((member) => member.user_id ?? member.user?.id)
      .filter((id) => typeof id === "string" && id !== "");
  },

  notify(client, message, error) {
    client.notifications?.addError?.({
      message,
      origin: { emitter: "chatseal" },
      options: { type: "chatseal:encrypt:failed", originalError: error instanceof Error ? error : undefined },
    });
  },

  /** Scraped link previews (they carry the linked page's URL and title). */
  isLinkPreview(attachment) {
    return !!attachment && (!!attachment.og_scrape_url || attachment.type === "link");
  },

  latestMessage(channel) {
    const list = channel?.state?.latestMessages ?? [];
    return list[list.length - 1];
  },

  /** The composer's reply target, as a store and selector for `useStateStore`. */
  quotedMessageStore(composer) {
    return composer.state;
  },

  quotedMessageSelector(state) {
    return { quotedMessage: state.quotedMessage };
  },

  clearQuote(composer) {
    composer.setQuotedMessage(null);
  },

  /** The wrapper stream-chat-react 14's composer lays the reply preview in. */
  quotedPreviewSlotClass: "str-chat__message-composer__quoted-message-preview-slot",
};

function shimFor(client) {
  if (streamChat9.supports(client)) return streamChat9;
  throw new TypeError(
    "chatseal/stream: this client has no setMessageComposerSetupFunction; chatseal/stream supports " +
      `${streamChat9.name}`,
  );
}

// ---------------------------------------------------------------------------------------
// Sending: composer middleware
// ---------------------------------------------------------------------------------------

function uniqueStrings(list) {
  return [...new Set(list.filter((id) => typeof id === "string" && id !== ""))];
}

/**
 * Makes every message composer of `client` encrypt the text of new messages and edits for
 * the channel's members (`recipients(channel)` overrides them), with the channel's `cid` as
 * the context. A setup function the app registers before or after runs inside chatseal's.
 * Returns `stop()`, which puts back the app's setup function.
 */
export function encryptComposer(client, seal, options = {}) {
  const shim = shimFor(client);
  if (
    !seal ||
    typeof seal.encrypt !== "function" ||
    typeof seal.decrypt !== "function" ||
    typeof seal.updateMembers !== "function"
  ) {
    throw new TypeError("encryptComposer(client, seal): seal must be an open ChatSeal");
  }
  const recipients = options.recipients;
  if (recipients !== undefined && typeof recipients !== "function") {
    throw new TypeError("encryptComposer: options.recipients must be a function(channel) → identities");
  }
  const plaintextAttachments = !!options.plaintextAttachments;

  // Membership changes reach the seal at once, so that a group session (PROTOCOL §9) is
  // ended when someone leaves and given to whoever joins. A failure here costs nothing
  // lasting: the next message checks the members again before it is encrypted.
  const offMembership = shim.onMembership(client, (channel, event) => {
    const members = async () => {
      if (recipients) return recipients(channel);
      // The event may reach us before or after the channel's state has taken it in.
      const ids = new Set(shim.memberIds(channel));
      const who = shim.memberOf(event);
      if (event.type === "member.removed") ids.delete(who);
      else if (who) ids.add(who);
      return [...ids];
    };
    members()
      .then((list) => seal.updateMembers({ to: uniqueStrings(list), context: channel.cid }))
      .catch(() => {});
  });

  let stopped = false;
  const ours = new WeakSet();
  // Our setup function around the app's (`appSetup` runs first, then chatseal hardens).
  const around = (appSetup) => {
    const setup = ({ composer }) => {
      const undoApp = appSetup ? appSetup({ composer }) : null;
      const undo = sealComposer(shim, composer, seal, { recipients, plaintextAttachments });
      return () => {
        undo(stopped);
        if (typeof undoApp === "function") undoApp();
      };
    };
    setup.appSetup = appSetup;
    ours.add(setup);
    return setup;
  };

  const previous = shim.currentSetup(client);
  // There is one setup slot per client: a setup function the app registers later is wrapped
  // (before any composer sees it) instead of silently switching encryption off.
  const removeHook = shim.interceptSetup(client, (fn) => (stopped || ours.has(fn) ? fn : around(fn)));
  shim.setSetup(client, around(previous));

  return function stop() {
    if (stopped) return;
    stopped = true;
    removeHook();
    offMembership();
    const current = shim.currentSetup(client);
    if (ours.has(current)) shim.setSetup(client, current.appSetup);
  };
}

// Our upload functions (so that a second setup does not take one for the app's own).
const ourUploads = new WeakSet();

/**
 * The composer's upload function: encrypts the file (PROTOCOL §10) for the channel, then
 * uploads the ciphertext, named `encrypted.bin` as `application/octet-stream` (so even
 * whether it is an image stays private), through the app's own upload function when it
 * had one, else the SDK's. The composer is handed a local object URL of the plaintext, for
 * its preview; `uploads` maps it to the uploaded URL and the descriptor until the message
 * is composed.
 */
function makeEncryptingUpload(shim, composer, seal, recipientsOf, appUpload, uploads) {
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

/** An attachment that is an encrypted file chatseal sent (or a copy of one). */
export function isEncryptedAttachment(attachment) {
  return (
    !!attachment &&
    attachment.type === FILE_ATTACHMENT_TYPE &&
    typeof attachment.asset_url === "string" &&
    isEncrypted(attachment[DESCRIPTOR_FIELD])
  );
}

function encryptedAttachment(url, descriptor) {
  return { type: FILE_ATTACHMENT_TYPE, asset_url: url, [DESCRIPTOR_FIELD]: descriptor };
}

function sealComposer(shim, composer, seal, { recipients, plaintextAttachments }) {
  const recipientsOf = async (channel) => {
    const list = recipients ? await recipients(channel) : shim.memberIds(channel);
    if (!Array.isArray(list)) throw new TypeError("recipients(channel) must return an array of identities");
    return uniqueStrings(list);
  };

  // Local preview URL → { url, descriptor } of each file uploaded through this composer.
  const uploads = new Map();
  const forget = (local) => {
    if (uploads.delete(local)) URL.revokeObjectURL(local);
  };

  /**
   * The message's attachments with every uploaded file replaced by its encrypted form;
   * null when one of them is not an encrypted upload (it would go out in plaintext).
   */
  const sealAttachments = (attachments) => {
    const out = [];
    for (const attachment of attachments) {
      if (shim.isLinkPreview(attachment)) continue;
      if (plaintextAttachments) {
        out.push(attachment);
        continue;
      }
      const local = shim.uploadedUrls(attachment).find((url) => uploads.has(url));
      if (local) {
        const { url, descriptor } = uploads.get(local);
        out.push(encryptedAttachment(url, descriptor));
      } else if (isEncryptedAttachment(attachment)) {
        // Kept from the message being edited.
        out.push(encryptedAttachment(attachment.asset_url, attachment[DESCRIPTOR_FIELD]));
      } else {
        return null;
      }
    }
    return out;
  };

  const encrypt = {
    id: ENCRYPT_ID,
    handlers: {
      compose: async ({ state, next, discard }) => {
        const channel = shim.channel(composer);
        const edited = shim.editedMessage(composer);
        const message = { ...state.message };
        const localMessage = { ...state.localMessage };
        const attachments = Array.isArray(message.attachments) ? message.attachments : [];
        const sealed = sealAttachments(attachments);
        if (sealed === null) {
          shim.notify(composer.client, "Message not sent: one of its attachments is not end-to-end encrypted");
          return discard();
        }
        for (const target of [message, localMessage]) {
          if (Array.isArray(target.attachments) || sealed.length) target.attachments = sealed;
        }
        const sendOptions = { ...state.sendOptions, skip_enrich_url: true };
        const text = typeof message.text === "string" ? message.text : "";
        // An edit whose text field came back untouched from the stored message is already
        // ciphertext; anything else, even text that looks like `csm1.`, is what the user typed.
        const unchangedCiphertext = !!edited && isEncrypted(text) && text === edited.text;
        if (text !== "" && !unchangedCiphertext) {
          let ciphertext;
          try {
            ciphertext = await seal.encrypt(text, { to: await recipientsOf(channel), context: channel.cid });
          } catch (error) {
            shim.notify(
              composer.client,
              `Message not sent: it could not be encrypted (${error?.code ?? error?.message ?? error})`,
              error,
            );
            return discard();
          }
          message.text = ciphertext;
          localMessage.text = ciphertext;
          delete localMessage.html;
          delete localMessage.i18n;
        }
        // The composer's previews are done with once the message is composed.
        for (const attachment of attachments) shim.uploadedUrls(attachment).forEach(forget);
        return next({ ...state, message, localMessage, sendOptions });
      },
    },
  };

  const noDrafts = {
    id: DRAFT_ID,
    handlers: { compose: ({ discard }) => discard() },
  };

  const uploadBefore = shim.uploadFunction(composer);
  const previousUpload = ourUploads.has(uploadBefore) ? undefined : uploadBefore;
  const upload = plaintextAttachments
    ? null
    : makeEncryptingUpload(shim, composer, seal, recipientsOf, previousUpload, uploads);
  shim.harden(composer, upload);
  shim.install(composer, encrypt, noDrafts);
  // Whoever turns drafts or link previews back on later (an app's updateConfig) is undone.
  const unsubscribeConfig = shim.onUnhardened(composer, () => shim.harden(composer, null));

  // The composer shows plaintext: a message opened for editing arrives with its stored
  // `csm1.` text (again whenever an event about it re-initialises the composer), which is
  // decrypted in place. Text the user typed is left alone, whatever it looks like.
  let controller = null;
  let decrypting = null;
  const unsubscribe = shim.onTextOrEdit(composer, () => {
    const text = shim.text(composer);
    const edited = shim.editedMessage(composer);
    if (!edited || !isEncrypted(text) || text !== edited.text || text === decrypting) return;
    decrypting = text;
    controller?.abort();
    const current = new AbortController();
    controller = current;
    const channel = shim.channel(composer);
    seal.decrypt(text, { from: edited.user?.id, context: channel.cid, signal: current.signal }).then(
      (result) => {
        if (controller === current) decrypting = null;
        if (!current.signal.aborted && shim.text(composer) === text) shim.setText(composer, result.text ?? "");
      },
      () => {
        if (controller === current) decrypting = null;
        // Unreadable ciphertext is nothing to edit; the user starts from an empty text.
        if (!current.signal.aborted && shim.text(composer) === text) shim.setText(composer, "");
      },
    );
  });

  return (stopped) => {
    unsubscribe();
    unsubscribeConfig();
    controller?.abort();
    [...uploads.keys()].forEach(forget);
    if (stopped) {
      shim.uninstall(composer);
      if (upload && shim.uploadFunction(composer) === upload) shim.restoreUpload(composer, previousUpload);
    }
  };
}

// ---------------------------------------------------------------------------------------
// Rendering: decrypted messages through stream-chat-react's own pieces
// ---------------------------------------------------------------------------------------

function notice(kind, text) {
  return createElement(
    "span",
    { className: `str-chat__chatseal-notice str-chat__chatseal-notice--${kind}`, "data-chatseal": kind },
    text,
  );
}

/** What `useDecryptedMessage` shows for a state that has no plaintext. */
function placeholder(state, t) {
  if (state.status === "pending") return t("Decrypting…");
  return `🔒 ${t(state.label || "can't decrypt")}`;
}

/**
 * `useDecryptedMessage(message, { context })` → `{ message, state }`: a copy of a Stream
 * message whose `text` is the plaintext (or, until then, a short placeholder), without the
 * server's `html` and `i18n` (both derived from ciphertext). `state` is `useDecrypted`'s.
 */
export function useDecryptedMessage(message, options = {}) {
  const { t } = useTranslationContext("chatseal");
  const context = options.context ?? message?.cid;
  const state = useDecrypted(message?.text, { from: message?.user?.id, context });
  const shown = useMemo(() => {
    if (!message || !isEncrypted(message.text)) return message;
    const { html: _html, i18n: _i18n, ...rest } = message;
    return { ...rest, text: state.status === "ok" ? (state.text ?? "") : placeholder(state, t) };
  }, [message, state, t]);
  return { message: shown, state };
}

/**
 * A `MessageUI` for `<WithComponents overrides={{ MessageUI }}>` that decrypts the message
 * (and the message it quotes) and renders it with `MessageUI` (stream-chat-react's own by
 * default). Edits started from it open with the plaintext; "Resend" resends the ciphertext.
 */
export function createEncryptedMessageUI({ MessageUI = StreamMessageUI } = {}) {
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
      (text, mentionedUsers, renderOptions) => {
        if (encrypted && status !== "ok") return notice(status === "pending" ? "pending" : "error", text);
        const rendered = baseRenderText(text, mentionedUsers, renderOptions);
        if (encrypted && keyChanged) return createElement(Fragment, null, rendered, notice("key-changed", t("key changed")));
        if (unencrypted) {
          return createElement(Fragment, null, rendered, notice("unencrypted", t("not end-to-end encrypted")));
        }
        return rendered;
      },
      [baseRenderText, encrypted, status, keyChanged, unencrypted, t],
    );

    const handleRetry = messageContext.handleRetry;
    const retryOriginal = useCallback(
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
export const EncryptedMessageUI = createEncryptedMessageUI();

/** The composer's reply preview (`QuotedMessagePreview` override), decrypted. */
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
export function createEncryptedChannelListItemUI({ ChannelListItemUI = StreamChannelListItemUI } = {}) {
  function EncryptedChannelListItemUI(props) {
    const { message } = useDecryptedMessage(props.lastMessage, { context: props.channel?.cid });
    return createElement(ChannelListItemUI, { ...props, lastMessage: message });
  }
  return EncryptedChannelListItemUI;
}

/** `createEncryptedChannelListItemUI()` around stream-chat-react's own row. */
export const EncryptedChannelListItemUI = createEncryptedChannelListItemUI();

function formatSize(bytes) {
  if (!(bytes >= 1024)) return `${bytes ?? 0} B`;
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
  const link = useRef(null);
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
  if (state.status === "ok" && info.type.startsWith("image/")) {
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
      { className: "str-chat__chatseal-file", "data-chatseal": "file", href: state.url, download: info.name || "file", ref: link },
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
export function createEncryptedAttachment({ Attachment = StreamAttachment } = {}) {
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
export const EncryptedAttachment = createEncryptedAttachment();

/** Every override chatseal needs, for `<WithComponents overrides={chatSealComponents}>`. */
export const chatSealComponents = Object.freeze({
  Attachment: EncryptedAttachment,
  MessageUI: EncryptedMessageUI,
  VirtualMessage: EncryptedMessageUI,
  QuotedMessagePreview: EncryptedQuotedMessagePreview,
  EditedMessagePreview: EncryptedEditedMessagePreview,
  ChannelListItemUI: EncryptedChannelListItemUI,
});

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
