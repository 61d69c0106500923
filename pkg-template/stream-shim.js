// chatseal/stream, the version shim: everything chatseal/stream knows of stream-chat 9 /
// stream-chat-react 14 internals (setup-function slot, middleware executors, composer config
// keys, stores), in one object. The rest of the adapter calls only `shimFor(client)`'s
// methods, so supporting another SDK version means another object like `streamChat9`.
// Internal to the package (not in `exports`).

/** The ids of chatseal's composer middleware (the encryption and the draft blocker). */
export const ENCRYPT_ID = "chatseal/message-composer-middleware/encrypt";
export const DRAFT_ID = "chatseal/message-composer-middleware/no-drafts";

// stream-chat 10 (stream-chat-react 15) reorganises setup functions and the composer's
// configuration under `client.config`; supporting it means another object like this one.
export const streamChat9 = {
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

/** The shim for `client`'s SDK version; a TypeError for a client chatseal does not support. */
export function shimFor(client) {
  if (streamChat9.supports(client)) return streamChat9;
  throw new TypeError(
    "chatseal/stream: this client has no setMessageComposerSetupFunction; chatseal/stream supports " +
      `${streamChat9.name}`,
  );
}
