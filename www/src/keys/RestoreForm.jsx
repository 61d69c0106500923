// A new browser for an identity the directory already knows: restore the keys from the
// password backup (seal.restore), or without it (OtherWays: a passkey, a linked device).
// Starting over with new keys is offered last, behind a confirm.
import { useId, useRef, useState } from "react";
import { describe, isNoBackup } from "../errors.js";
import { backupMade } from "../storage.js";
import { OtherWays } from "./OtherWays.jsx";

function restoreProblem(error) {
  if (error?.code === "Integrity") return "That password does not open your backup. Check it and try again.";
  if (isNoBackup(error)) {
    return "The directory has no backup of your keys, so they cannot be restored in this browser. Use the browser where you made them, or start over with new keys.";
  }
  return `Your keys were not restored. ${describe(error)}`;
}

export function RestoreForm({ seal, identity, onRestored, onStartedOver }) {
  const [password, setPassword] = useState("");
  const [problem, setProblem] = useState(null);
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const input = useRef(null);
  const ids = { pw: useId(), error: useId(), hint: useId() };

  const submit = async (event) => {
    event.preventDefault();
    if (busy) return;
    if (!password) {
      setProblem("Type your backup password.");
      input.current?.focus();
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      await seal.restore(password);
      backupMade.set(identity);
      onRestored();
    } catch (error) {
      setProblem(restoreProblem(error));
      input.current?.select();
      input.current?.focus();
    } finally {
      setBusy(false);
    }
  };

  const startOver = async () => {
    setBusy(true);
    setProblem(null);
    try {
      await seal.unregister(); // revokes the old card, forgets local keys
      await seal.register();
      onStartedOver();
    } catch (error) {
      setProblem(`Could not make new keys. ${describe(error)}`);
      setBusy(false);
    }
  };

  return (
    <>
      <form className="form" onSubmit={submit} noValidate aria-busy={busy}>
        <label htmlFor={ids.pw}>Backup password</label>
        <input
          ref={input}
          id={ids.pw}
          type="password"
          autoComplete="current-password"
          data-testid="restore-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          aria-describedby={problem ? `${ids.hint} ${ids.error}` : ids.hint}
          aria-invalid={problem ? "true" : undefined}
          autoFocus
        />
        <p id={ids.hint} className="hint">
          The password you chose when you backed up your keys in your other browser.
        </p>
        {problem && (
          <p id={ids.error} className="field-error" role="alert" data-testid="restore-error">
            {problem}
          </p>
        )}
        <div className="actions">
          <button type="submit" className="button button--primary" data-testid="restore-submit" disabled={busy}>
            {busy && !confirming ? "Restoring…" : "Restore keys"}
          </button>
        </div>
      </form>

      <OtherWays seal={seal} onRestored={onRestored} />

      <section className="danger-zone" aria-labelledby="start-over-title">
        <h2 id="start-over-title">Lost your password?</h2>
        {!confirming ? (
          <>
            <p className="muted">You can make new keys instead. Old messages will stay unreadable here.</p>
            <button type="button" className="button" data-testid="start-over" onClick={() => setConfirming(true)} disabled={busy}>
              Start over with new keys…
            </button>
          </>
        ) : (
          <div role="group" aria-labelledby="start-over-confirm">
            <p id="start-over-confirm">
              <strong>Make new keys for {identity}?</strong> Your old key is revoked: messages sent to it can never be
              read again, anywhere, and the people you talk to will see a warning that your key changed.
            </p>
            <div className="actions">
              <button type="button" className="button button--danger" data-testid="start-over-confirm" onClick={startOver} disabled={busy}>
                {busy ? "Making new keys…" : "Yes, make new keys"}
              </button>
              <button type="button" className="button" onClick={() => setConfirming(false)} disabled={busy} autoFocus>
                Cancel
              </button>
            </div>
          </div>
        )}
      </section>
    </>
  );
}
