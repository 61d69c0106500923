// Key changes: chatseal reports a contact's new key that does not follow from the one this
// browser trusted (the `keychanged` event, and `keyChanged` in lookups). Until the user
// accepts it, chatseal refuses to encrypt to that contact; the banner says so by name.
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from "react";
import { describe } from "../errors.js";
import { useReport } from "../status.jsx";

const KeyChangesContext = createContext(null);

export function KeyChangesProvider({ seal, children }) {
  const [changes, setChanges] = useState(() => new Map()); // identity -> { cardId }

  const add = useCallback((identity, cardId) => {
    setChanges((current) => {
      if (current.has(identity) && current.get(identity).cardId === cardId) return current;
      const next = new Map(current);
      next.set(identity, { cardId });
      return next;
    });
  }, []);

  const settle = useCallback((identity) => {
    setChanges((current) => {
      if (!current.has(identity)) return current;
      const next = new Map(current);
      next.delete(identity);
      return next;
    });
  }, []);

  useEffect(() => {
    const listener = (event) => add(event.detail.identity, event.detail.cardId);
    seal.addEventListener("keychanged", listener);
    return () => seal.removeEventListener("keychanged", listener);
  }, [seal, add]);

  const value = useMemo(() => ({ changes, add, settle }), [changes, add, settle]);
  return <KeyChangesContext.Provider value={value}>{children}</KeyChangesContext.Provider>;
}

export function useKeyChanges() {
  return useContext(KeyChangesContext);
}

/** One banner per contact whose key changed, each with "I checked, accept". */
export function KeyChangeBanners({ seal, nameOf, onCompare }) {
  const { changes } = useKeyChanges();
  if (changes.size === 0) return null;
  return (
    <div className="banners">
      {[...changes.keys()].map((identity) => (
        <KeyChangeBanner key={identity} identity={identity} name={nameOf(identity)} seal={seal} onCompare={onCompare} />
      ))}
    </div>
  );
}

function KeyChangeBanner({ identity, name, seal, onCompare }) {
  const { settle } = useKeyChanges();
  const report = useReport();
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState(null);

  const accept = async () => {
    setBusy(true);
    setProblem(null);
    try {
      let accepted = await seal.acceptKeyChange(identity);
      if (!accepted) {
        await seal.lookup([identity]); // the current card must be known to pin it
        accepted = await seal.acceptKeyChange(identity);
      }
      if (!accepted) throw new Error(`${name} has no key in the directory any more.`);
      settle(identity);
      report({ text: `You accepted ${name}'s new key. Messages to ${name} are encrypted to it from now on.`, tone: "ok" });
    } catch (error) {
      setProblem(`The new key was not accepted. ${describe(error)}`);
      setBusy(false);
    }
  };

  return (
    <div className="banner banner--warn" role="alert" data-testid="key-change-banner" data-identity={identity}>
      <div className="banner__text">
        <p>
          <strong>{name}'s security key changed.</strong> Messages to {name} are not sent until you accept the new
          key.
        </p>
        <p className="muted">
          That is expected if {name} started over without their backup password, but it could also be someone trying
          to read your messages: compare safety numbers with {name} first, in person or on a call.
        </p>
        {problem && <p className="field-error">{problem}</p>}
      </div>
      <div className="banner__actions">
        {onCompare && (
          <button type="button" className="button button--small" onClick={() => onCompare(identity)}>
            Compare safety numbers
          </button>
        )}
        <button
          type="button"
          className="button button--small button--primary"
          data-testid="key-change-accept"
          onClick={accept}
          disabled={busy}
        >
          {busy ? "Accepting…" : "I checked, accept"}
        </button>
      </div>
    </div>
  );
}
