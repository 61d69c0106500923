// The bar under the channel header: that the conversation is end-to-end encrypted, its
// members' key state (not registered yet, key changed), the safety number of a one-to-one
// conversation with its "verified" mark, and the "What the server sees" toggle.
import { useCallback, useEffect, useId, useMemo, useState } from "react";
import { useChannelStateContext, useChatContext } from "stream-chat-react";
import { describe, isNoCard } from "../errors.js";
import { verifiedCard } from "../storage.js";
import { useKeyChanges } from "./keyChanges.jsx";

/** The member ids of the current channel other than `me`. */
function useOthers(me) {
  const { members } = useChannelStateContext("ConversationTools");
  return useMemo(
    () =>
      Object.values(members ?? {})
        .map((m) => m.user_id ?? m.user?.id)
        .filter((id) => typeof id === "string" && id !== me)
        .sort(),
    [members, me],
  );
}

/** Looks up each member's card: who has none yet, each card id; key changes go to the banner. */
function useMemberKeys(seal, others) {
  const { add, changes } = useKeyChanges();
  const [state, setState] = useState({ missing: [], cards: {}, problem: null, checked: null });
  const [attempt, setAttempt] = useState(0);
  const key = others.join("\n");
  const pending = changes.size; // a settled key change re-reads the card ids

  useEffect(() => {
    if (!others.length) {
      setState({ missing: [], cards: {}, problem: null, checked: key });
      return undefined;
    }
    const controller = new AbortController();
    Promise.allSettled(others.map((id) => seal.lookup([id], { signal: controller.signal }))).then((results) => {
      if (controller.signal.aborted) return;
      const missing = [];
      const cards = {};
      let problem = null;
      results.forEach((result, i) => {
        const id = others[i];
        if (result.status === "fulfilled") {
          const looked = result.value[id];
          cards[id] = looked.cardId;
          if (looked.keyChanged) add(id, looked.cardId);
        } else if (isNoCard(result.reason)) missing.push(id);
        else if (result.reason?.name !== "AbortError") problem = describe(result.reason);
      });
      setState({ missing, cards, problem, checked: key });
    });
    return () => controller.abort();
    // `others` is keyed by `key`
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [seal, key, add, attempt, pending]);

  const retry = useCallback(() => setAttempt((n) => n + 1), []);
  // Until the lookup for these members answers, nothing is known about their keys.
  if (state.checked !== key) return { missing: [], cards: {}, problem: null, checking: true, retry };
  return { ...state, checking: false, retry };
}

/**
 * chatseal's "Message not sent…" errors about the conversation `cid` (their
 * `origin.context.cid`), shown here rather than as toasts, so that they stay with their
 * conversation: hidden while another one is open, until dismissed or a message goes out.
 */
function useSendErrors(cid) {
  const { client } = useChatContext("ConversationTools");
  const store = client.notifications.store;
  const pick = useCallback(
    ({ notifications }) => notifications.filter((n) => isSendError(n) && n.origin.context?.cid === cid),
    [cid],
  );
  const [errors, setErrors] = useState(() => pick(store.getLatestValue()));
  useEffect(() => {
    setErrors(pick(store.getLatestValue()));
    return store.subscribe((state) => setErrors(pick(state)));
  }, [store, pick]);
  const dismiss = useCallback(() => errors.forEach((n) => client.notifications.remove(n.id)), [client, errors]);
  // A message of this user that reached the conversation: the errors before it are moot.
  const { channel } = useChannelStateContext("ConversationTools");
  useEffect(() => {
    if (!errors.length) return undefined;
    const subscription = channel.on("message.new", (event) => {
      if (event.user?.id === client.userID) dismiss();
    });
    return () => subscription.unsubscribe();
  }, [channel, client, errors, dismiss]);
  return { errors, dismiss };
}

/** A chatseal error about one conversation (the app shows it there, not as a toast). */
export function isSendError(notification) {
  return notification.origin?.emitter === "chatseal" && typeof notification.origin.context?.cid === "string";
}

export function ConversationTools({ seal, me, nameOf, serverOpen, onToggleServer, safetyFor, onSafetyShown }) {
  const others = useOthers(me);
  const peer = others.length === 1 ? others[0] : null;
  const { missing, cards, problem, checking, retry } = useMemberKeys(seal, others);
  const { channel } = useChannelStateContext("ConversationTools");
  const sendErrors = useSendErrors(channel?.cid);
  const [safetyOpen, setSafetyOpen] = useState(false);
  const panelId = useId();
  const cardId = peer ? cards[peer] : undefined;
  const [verifiedFor, setVerifiedFor] = useState(() => (peer ? verifiedCard.get(me, peer) : null));

  useEffect(() => setVerifiedFor(peer ? verifiedCard.get(me, peer) : null), [me, peer]);
  // Another conversation closes the panel; "Compare safety numbers" on a banner opens it.
  useEffect(() => setSafetyOpen(false), [peer]);
  useEffect(() => {
    if (peer && safetyFor === peer) {
      setSafetyOpen(true);
      onSafetyShown?.();
    }
  }, [peer, safetyFor, onSafetyShown]);

  const verified = !!cardId && verifiedFor === cardId;
  const setVerified = (on) => {
    if (!cardId) return;
    verifiedCard.set(me, peer, on ? cardId : null);
    setVerifiedFor(on ? cardId : null);
  };

  const names = (list) => list.map(nameOf).join(", ");
  return (
    <div className="tools">
      <div className="tools__bar">
        {missing.length > 0 ? (
          <span className="tools__badge tools__badge--off" data-testid="e2ee-badge" data-state="no-keys">
            <OpenLockIcon /> Not encrypted yet: {names(missing)} {missing.length === 1 ? "has" : "have"} no keys
          </span>
        ) : checking ? (
          <span className="tools__badge tools__badge--checking" data-testid="e2ee-badge" data-state="checking">
            <LockIcon /> Checking keys…
          </span>
        ) : (
          <span className="tools__badge" data-testid="e2ee-badge" data-state="encrypted">
            <LockIcon /> End-to-end encrypted
            {peer && verified && (
              <span className="tag tag--ok" data-testid="verified-badge">
                verified
              </span>
            )}
          </span>
        )}
        <span className="tools__actions">
          {peer && cardId && (
            <button
              type="button"
              className="button button--small"
              aria-expanded={safetyOpen}
              aria-controls={panelId}
              data-testid="safety-toggle"
              onClick={() => setSafetyOpen((open) => !open)}
            >
              Safety number
            </button>
          )}
          <button
            type="button"
            className="button button--small"
            aria-pressed={serverOpen}
            data-testid="server-sees-toggle"
            onClick={onToggleServer}
          >
            What the server sees
          </button>
        </span>
      </div>
      {peer && cardId && safetyOpen && (
        <SafetyNumber
          id={panelId}
          seal={seal}
          peer={peer}
          name={nameOf(peer)}
          cardId={cardId}
          verified={verified}
          staleVerification={!!verifiedFor && !!cardId && verifiedFor !== cardId}
          onVerified={setVerified}
        />
      )}
      {missing.length > 0 && (
        <p className="notice" data-testid="member-notice">
          {names(missing)} {missing.length === 1 ? "has" : "have"} not set up encryption yet, so messages cannot be
          sent to {missing.length === 1 ? "them" : "this group"}. They need to sign in to this demo once.{" "}
          <button type="button" className="link-button" onClick={retry}>
            Check again
          </button>
        </p>
      )}
      {sendErrors.errors.length > 0 && (
        <p className="notice notice--error" data-testid="send-error" role="alert">
          {sendErrors.errors.at(-1).message}.{" "}
          <button type="button" className="link-button" onClick={sendErrors.dismiss}>
            Dismiss
          </button>
        </p>
      )}
      {problem && (
        <p className="notice notice--error">
          Could not look up the members' keys. {problem}{" "}
          <button type="button" className="link-button" onClick={retry}>
            Try again
          </button>
        </p>
      )}
    </div>
  );
}

function SafetyNumber({ id, seal, peer, name, cardId, verified, staleVerification, onVerified }) {
  const [state, setState] = useState({ status: "loading", number: null, problem: null });
  const [attempt, setAttempt] = useState(0);
  const switchId = useId();

  useEffect(() => {
    const controller = new AbortController();
    setState({ status: "loading", number: null, problem: null });
    seal.safetyNumber(peer, { signal: controller.signal }).then(
      (number) => !controller.signal.aborted && setState({ status: "ok", number, problem: null }),
      (error) => !controller.signal.aborted && setState({ status: "error", number: null, problem: describe(error) }),
    );
    return () => controller.abort();
  }, [seal, peer, cardId, attempt]);

  const groups = state.number ? (state.number.match(/\d{1,5}/g) ?? []) : [];
  return (
    <section id={id} className="safety" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Safety number with {name}</h3>
      {state.status === "loading" && <p className="muted">Computing…</p>}
      {state.status === "error" && (
        <p className="field-error">
          The safety number could not be computed. {state.problem}{" "}
          <button type="button" className="link-button" onClick={() => setAttempt((n) => n + 1)}>
            Try again
          </button>
        </p>
      )}
      {state.status === "ok" && (
        <>
          <p className="muted">
            {name} sees the same 60 digits in this conversation. Compare them in person or on a call: if they match, no
            one is in between.
          </p>
          <p className="safety__digits" data-testid="safety-number" aria-label={`Safety number: ${groups.join(" ")}`}>
            {groups.map((group, i) => (
              <span key={i}>
                {group}
                {i < groups.length - 1 ? " " : ""}
              </span>
            ))}
          </p>
          {staleVerification && (
            <p className="notice">You verified an earlier key of {name}. Their key changed since: compare again.</p>
          )}
          <div className="switch">
            <input
              id={switchId}
              type="checkbox"
              role="switch"
              checked={verified}
              disabled={!cardId}
              onChange={(e) => onVerified(e.target.checked)}
              data-testid="verified-toggle"
            />
            <label htmlFor={switchId}>I compared our numbers: {name} is verified</label>
          </div>
        </>
      )}
    </section>
  );
}

function OpenLockIcon() {
  return (
    <svg className="icon" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true" focusable="false">
      <path
        fill="currentColor"
        d="M11 1a3.5 3.5 0 0 0-3.5 3.5V6H4a1.5 1.5 0 0 0-1.5 1.5v6A1.5 1.5 0 0 0 4 15h8a1.5 1.5 0 0 0 1.5-1.5v-6A1.5 1.5 0 0 0 12 6H9V4.5a2 2 0 1 1 4 0V5h1.5v-.5A3.5 3.5 0 0 0 11 1Z"
      />
    </svg>
  );
}

export function LockIcon() {
  return (
    <svg className="icon" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true" focusable="false">
      <path
        fill="currentColor"
        d="M8 1a3.5 3.5 0 0 0-3.5 3.5V6H4a1.5 1.5 0 0 0-1.5 1.5v6A1.5 1.5 0 0 0 4 15h8a1.5 1.5 0 0 0 1.5-1.5v-6A1.5 1.5 0 0 0 12 6h-.5V4.5A3.5 3.5 0 0 0 8 1Zm-2 3.5a2 2 0 1 1 4 0V6H6V4.5Z"
      />
    </svg>
  );
}
