// @ts-check
// chatseal/stream, the version shim: everything chatseal/stream knows of stream-chat 9 /
// stream-chat-react 14 internals (setup-function slot, middleware executors, composer config
// keys, stores), in one object. The rest of the adapter calls only `shimFor(client)`'s
// methods, so supporting another SDK version means another object like `streamChat9`.
// Internal to the package (not in `exports`).

/** @typedef {import("stream-chat").StreamChat} StreamChat */
/** @typedef {import("stream-chat").MessageComposer} MessageComposer */
/** @typedef {import("stream-chat").Channel} Channel */
/** @typedef {import("stream-chat").Event} StreamEvent */
/** @typedef {import("stream-chat").Attachment} Attachment */
/** @typedef {import("stream-chat").LocalMessage} LocalMessage */
/** @typedef {import("stream-chat").UploadRequestFn} UploadRequestFn */
/** @typedef {import("stream-chat").UploadRequestOptions} UploadRequestOptions */
/** @typedef {import("stream-chat").MessageCompositionMiddleware} MessageCompositionMiddleware */
/** @typedef {import("stream-chat").MessageDraftCompositionMiddleware} MessageDraftCompositionMiddleware */
/** @typedef {import("stream-chat").MessageComposerSetupState["setupFunction"]} SetupFunction */
/** @typedef {import("stream-chat").MessageComposerState} ComposerState */
/** @typedef {typeof streamChat9} Shim  what the rest of the adapter calls */

/**
 * A Stream user id (chatseal's identity): a non-empty string.
 * @param {unknown} id
 * @returns {id is string}
 */
export function isIdentity(id) {
  return typeof id === "string" && id !== "";
}

/** The ids of chatseal's composer middleware (the encryption and the draft blocker). */
export const ENCRYPT_ID = "chatseal/message-composer-middleware/encrypt";
export const DRAFT_ID = "chatseal/message-composer-middleware/no-drafts";

// stream-chat 10 (stream-chat-react 15) reorganises setup functions and the composer's
// configuration under `client.config`; supporting it means another object like this one.
export const streamChat9 = {
  name: "stream-chat 9 (stream-chat-react 14)",

  /**
   * @param {any} client  whatever the app passed
   * @returns {client is StreamChat}
   */
  supports(client) {
    return (
      !!client &&
      typeof client.setMessageComposerSetupFunction === "function" &&
      !!client._messageComposerSetupState &&
      typeof client._messageComposerSetupState.getLatestValue === "function" &&
      typeof client._messageComposerSetupState.addPreprocessor === "function"
    );
  },

  /**
   * The setup function the app registered before us (there is one slot per client).
   * @param {StreamChat} client
   * @returns {SetupFunction}
   */
  currentSetup(client) {
    return client._messageComposerSetupState.getLatestValue().setupFunction ?? null;
  },

  /**
   * @param {StreamChat} client
   * @param {SetupFunction} setup
   */
  setSetup(client, setup) {
    client.setMessageComposerSetupFunction(setup);
  },

  /**
   * Lets `replace(setupFunction)` swap a setup function someone registers for another before
   * any composer sees it. Returns the function that removes the hook.
   * @param {StreamChat} client
   * @param {(setup: SetupFunction) => SetupFunction} replace
   * @returns {() => void}
   */
  interceptSetup(client, replace) {
    return client._messageComposerSetupState.addPreprocessor((next) => {
      next.setupFunction = replace(next.setupFunction ?? null);
    });
  },

  /**
   * Appends `middleware` to the composition chain (after `data-cleanup`, which fills an
   * edit's payload from the edited message), so nothing after it can put text back.
   * @template M
   * @param {{ remove(id: string): unknown, use(middleware: M): unknown }} executor
   * @param {M & { id: string }} middleware
   */
  useLast(executor, middleware) {
    executor.remove(middleware.id);
    executor.use(middleware);
  },

  /**
   * @param {MessageComposer} composer
   * @param {MessageCompositionMiddleware} encrypt
   * @param {MessageDraftCompositionMiddleware} noDrafts
   */
  install(composer, encrypt, noDrafts) {
    this.useLast(composer.compositionMiddlewareExecutor, encrypt);
    this.useLast(composer.draftCompositionMiddlewareExecutor, noDrafts);
  },

  /** @param {MessageComposer} composer */
  uninstall(composer) {
    composer.compositionMiddlewareExecutor.remove(ENCRYPT_ID);
    composer.draftCompositionMiddlewareExecutor.remove(DRAFT_ID);
  },

  /**
   * Turns off what would send plaintext outside a message: server drafts (their text is
   * stored as typed), link previews (`/og?url=` asks the server to fetch a URL from the
   * text) and shared locations. Left off on teardown: the composer fails closed.
   * @param {MessageComposer} composer
   * @param {UploadRequestFn | null} upload
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

  /**
   * Calls `listener()` whenever the composer's config turns one of those back on.
   * @param {MessageComposer} composer
   * @param {() => void} listener
   * @returns {() => void}
   */
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

  /**
   * @param {MessageComposer} composer
   * @returns {UploadRequestFn | undefined}
   */
  uploadFunction(composer) {
    return composer.config.attachments?.doUploadRequest;
  },

  /**
   * The SDK's own upload (`channel.sendFile`, with progress and abort).
   * @param {MessageComposer} composer
   * @param {File} file
   * @param {UploadRequestOptions} [options]
   */
  defaultUpload(composer, file, options) {
    return composer.attachmentManager.doDefaultUploadRequest(file, options);
  },

  /**
   * The URL an uploaded attachment of the composer points at.
   * @param {Attachment | undefined} attachment
   * @returns {string[]}
   */
  uploadedUrls(attachment) {
    return [attachment?.image_url, attachment?.asset_url].filter((u) => typeof u === "string");
  },

  /**
   * (`updateConfig` merges and so cannot set a value back to undefined.)
   * @param {MessageComposer} composer
   * @param {UploadRequestFn | undefined} upload
   */
  restoreUpload(composer, upload) {
    const config = composer.config;
    composer.configState.partialNext({ attachments: { ...config.attachments, doUploadRequest: upload } });
  },

  /**
   * @param {MessageComposer} composer
   * @returns {LocalMessage | null}
   */
  editedMessage(composer) {
    return composer.editedMessage ?? null;
  },

  /** @param {MessageComposer} composer */
  channel(composer) {
    return composer.channel;
  },

  /** @param {MessageComposer} composer */
  text(composer) {
    return composer.textComposer.text;
  },

  /**
   * @param {MessageComposer} composer
   * @param {string} text
   */
  setText(composer, text) {
    composer.textComposer.setText(text);
  },

  /**
   * Calls `listener()` when the text or the edited message changes (`initState` sets the
   * text before the edited message, so both are watched).
   * @param {MessageComposer} composer
   * @param {() => void} listener
   * @returns {() => void}
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
   * @param {StreamChat} client
   * @param {(channel: Channel, event: StreamEvent) => void} listener
   * @returns {() => void}
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

  /**
   * The user a membership event is about (Stream's `user` of these events is that member).
   * @param {StreamEvent} event
   * @returns {string | undefined}
   */
  memberOf(event) {
    return event?.member?.user_id ?? event?.member?.user?.id ?? event?.user?.id;
  },

  /**
   * @param {Channel} channel
   * @returns {string[]}
   */
  memberIds(channel) {
    return Object.values(channel.state?.members ?? {})
      .map((member) => member.user_id ?? member.user?.id)
      .filter(isIdentity);
  },

  /**
   * @param {StreamChat} client
   * @param {string} message
   * @param {unknown} [error]
   * @param {string} [cid] the conversation it is about (`origin.context.cid`)
   */
  notify(client, message, error, cid) {
    client.notifications?.addError?.({
      message,
      origin: cid ? { emitter: "chatseal", context: { cid } } : { emitter: "chatseal" },
      options: { type: "chatseal:encrypt:failed", originalError: error instanceof Error ? error : undefined },
    });
  },

  /**
   * Scraped link previews (they carry the linked page's URL and title).
   * @param {Attachment | undefined} attachment
   */
  isLinkPreview(attachment) {
    return !!attachment && (!!attachment.og_scrape_url || attachment.type === "link");
  },

  /**
   * @param {Channel | undefined} channel
   * @returns {LocalMessage | undefined}
   */
  latestMessage(channel) {
    const list = channel?.state?.latestMessages ?? [];
    return list[list.length - 1];
  },

  /**
   * The composer's reply target, as a store and selector for `useStateStore`.
   * @param {MessageComposer} composer
   */
  quotedMessageStore(composer) {
    return composer.state;
  },

  /** @param {ComposerState} state */
  quotedMessageSelector(state) {
    return { quotedMessage: state.quotedMessage };
  },

  /** @param {MessageComposer} composer */
  clearQuote(composer) {
    composer.setQuotedMessage(null);
  },

  /** The wrapper stream-chat-react 14's composer lays the reply preview in. */
  quotedPreviewSlotClass: "str-chat__message-composer__quoted-message-preview-slot",
};

/**
 * The shim for `client`'s SDK version; a TypeError for a client chatseal does not support.
 * @param {unknown} client
 */
export function shimFor(client) {
  if (streamChat9.supports(client)) return streamChat9;
  throw new TypeError(
    "chatseal/stream: this client has no setMessageComposerSetupFunction; chatseal/stream supports " +
      `${streamChat9.name}`,
  );
}
