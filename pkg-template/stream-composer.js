// @ts-check
// chatseal/stream, sending: `encryptComposer` and the composer middleware it installs in
// every message composer of a client (the text and edits encrypted for the channel's
// members, drafts, link previews and shared locations off, uploads encrypted, a message
// opened for editing decrypted in place). Internal to the package (not in `exports`);
// stream.js re-exports `encryptComposer`.
import { isEncrypted } from "chatseal";
import { describeError } from "./labels.js";
import { DRAFT_ID, ENCRYPT_ID, isIdentity, shimFor } from "./stream-shim.js";
import { isEncryptingUpload, makeEncryptingUpload, sealAttachments } from "./stream-uploads.js";

/** @typedef {import("./index.js").ChatSeal} ChatSeal */
/** @typedef {import("./stream.js").EncryptComposerOptions} EncryptComposerOptions */
/** @typedef {import("./stream-shim.js").Shim} Shim */
/** @typedef {import("stream-chat").MessageComposer} MessageComposer */
/** @typedef {import("stream-chat").Channel} Channel */
/** @typedef {import("stream-chat").MessageComposerSetupState["setupFunction"]} SetupFunction */
/** @typedef {NonNullable<SetupFunction> & { appSetup: SetupFunction }} OurSetup */

/**
 * @param {unknown[]} list
 * @returns {string[]}
 */
function uniqueStrings(list) {
  return [...new Set(list.filter(isIdentity))];
}

/**
 * Makes every message composer of `client` encrypt the text of new messages and edits for
 * the channel's members (`recipients(channel)` overrides them), with the channel's `cid` as
 * the context. A setup function the app registers before or after runs inside chatseal's.
 * Returns `stop()`, which puts back the app's setup function.
 * @type {typeof import("./stream.js").encryptComposer}
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
      if (who && event.type === "member.removed") ids.delete(who);
      else if (who) ids.add(who);
      return [...ids];
    };
    members()
      .then((list) => seal.updateMembers({ to: uniqueStrings(list), context: channel.cid }))
      .catch(() => {});
  });

  let stopped = false;
  /** @type {WeakSet<object>} */
  const ours = new WeakSet();
  // Our setup function around the app's (`appSetup` runs first, then chatseal hardens).
  /**
   * @param {SetupFunction} appSetup
   * @returns {OurSetup}
   */
  const around = (appSetup) => {
    /** @param {{ composer: MessageComposer }} args */
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
  const removeHook = shim.interceptSetup(client, (fn) => (stopped || (fn && ours.has(fn)) ? fn : around(fn)));
  shim.setSetup(client, around(previous));

  return function stop() {
    if (stopped) return;
    stopped = true;
    removeHook();
    offMembership();
    const current = shim.currentSetup(client);
    if (current && ours.has(current)) shim.setSetup(client, /** @type {OurSetup} */ (current).appSetup);
  };
}

/**
 * Installs chatseal in one composer; returns its teardown (`stopped`: for good, not a re-setup).
 * @param {Shim} shim
 * @param {MessageComposer} composer
 * @param {ChatSeal} seal
 * @param {{ recipients: EncryptComposerOptions["recipients"], plaintextAttachments: boolean }} options
 * @returns {(stopped: boolean) => void}
 */
function sealComposer(shim, composer, seal, { recipients, plaintextAttachments }) {
  /**
   * @param {Channel} channel
   * @returns {Promise<string[]>}
   */
  const recipientsOf = async (channel) => {
    const list = recipients ? await recipients(channel) : shim.memberIds(channel);
    if (!Array.isArray(list)) throw new TypeError("recipients(channel) must return an array of identities");
    return uniqueStrings(list);
  };

  // Local preview URL → { url, descriptor } of each file uploaded through this composer.
  /** @type {import("./stream-uploads.js").Uploads} */
  const uploads = new Map();
  /** @param {string} local */
  const forget = (local) => {
    if (uploads.delete(local)) URL.revokeObjectURL(local);
  };

  /** @type {import("stream-chat").MessageCompositionMiddleware} */
  const encrypt = {
    id: ENCRYPT_ID,
    handlers: {
      compose: async ({ state, next, discard }) => {
        const channel = shim.channel(composer);
        const edited = shim.editedMessage(composer);
        const message = { ...state.message };
        const localMessage = { ...state.localMessage };
        const attachments = Array.isArray(message.attachments) ? message.attachments : [];
        const sealed = sealAttachments(shim, attachments, uploads, plaintextAttachments);
        if (sealed === null) {
          shim.notify(
            composer.client,
            "Message not sent: one of its attachments is not end-to-end encrypted",
            undefined,
            shim.channel(composer).cid,
          );
          return discard();
        }
        for (const target of [message, localMessage]) {
          if (Array.isArray(target.attachments) || sealed.length) target.attachments = sealed;
        }
        const sendOptions = { ...state.sendOptions, skip_enrich_url: true };
        const text = typeof message.text === "string" ? message.text : "";
        // An edit whose text field came back untouched from the stored message is already
        // ciphertext; anything else, even text that looks like `csp2.`, is what the user typed.
        const unchangedCiphertext = !!edited && isEncrypted(text) && text === edited.text;
        if (text !== "" && !unchangedCiphertext) {
          let ciphertext;
          try {
            ciphertext = await seal.encrypt(text, { to: await recipientsOf(channel), context: channel.cid });
          } catch (error) {
            shim.notify(composer.client, `Message not sent: ${whyNot(error)}`, error, channel.cid);
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

  /** @type {import("stream-chat").MessageDraftCompositionMiddleware} */
  const noDrafts = {
    id: DRAFT_ID,
    handlers: { compose: ({ discard }) => discard() },
  };

  const uploadBefore = shim.uploadFunction(composer);
  const previousUpload = isEncryptingUpload(uploadBefore) ? undefined : uploadBefore;
  const upload = plaintextAttachments
    ? null
    : makeEncryptingUpload(shim, composer, seal, recipientsOf, previousUpload, uploads);
  shim.harden(composer, upload);
  shim.install(composer, encrypt, noDrafts);
  // Whoever turns drafts or link previews back on later (an app's updateConfig) is undone.
  const unsubscribeConfig = shim.onUnhardened(composer, () => shim.harden(composer, null));

  // The composer shows plaintext: a message opened for editing arrives with its stored
  // ciphertext (again whenever an event about it re-initialises the composer), which is
  // decrypted in place. Text the user typed is left alone, whatever it looks like.
  /** @type {AbortController | null} */
  let controller = null;
  /** @type {string | null} */
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

/**
 * Why a message could not be encrypted, in words for a notification (never the bare code):
 * a member without keys, else the label of `describeError`.
 * @param {any} error
 * @returns {string}
 */
function whyNot(error) {
  if (error?.code === "Directory" && /has no card/i.test(`${error?.message ?? ""}`)) {
    return "not everyone in this conversation has set up encryption yet";
  }
  return `it could not be encrypted (${describeError(error)})`;
}
