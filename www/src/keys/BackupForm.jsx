// Back up the keys under a password (seal.backup): the only way to read this account's
// messages in another browser. Used right after registering ("skip for now") and from the
// keys dialog later.
import { useId, useRef, useState } from "react";
import { describe } from "../errors.js";
import { backupMade } from "../storage.js";

export const MIN_PASSWORD = 8;

export function BackupForm({ seal, identity, onDone, onSkip, skipLabel = "Skip for now", submitLabel = "Save backup" }) {
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [problem, setProblem] = useState(null);
  const [busy, setBusy] = useState(false);
  const first = useRef(null);
  const ids = { pw: useId(), confirm: useId(), hint: useId(), error: useId() };

  const submit = async (event) => {
    event.preventDefault();
    if (busy) return;
    let why = null;
    if (password.length < MIN_PASSWORD) why = `Use at least ${MIN_PASSWORD} characters.`;
    else if (password !== confirm) why = "The two passwords are not the same.";
    setProblem(why);
    if (why) {
      first.current?.focus();
      return;
    }
    setBusy(true);
    try {
      await seal.backup(password);
      backupMade.set(identity);
      setPassword("");
      setConfirm("");
      onDone?.();
    } catch (error) {
      setProblem(`The backup was not saved. ${describe(error)}`);
    } finally {
      setBusy(false);
    }
  };

  const describedBy = problem ? `${ids.hint} ${ids.error}` : ids.hint;
  return (
    <form className="form" onSubmit={submit} noValidate aria-busy={busy}>
      <label htmlFor={ids.pw}>Backup password</label>
      <input
        ref={first}
        id={ids.pw}
        type="password"
        autoComplete="new-password"
        data-testid="backup-password"
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        aria-describedby={describedBy}
        aria-invalid={problem ? "true" : undefined}
        minLength={MIN_PASSWORD}
        required
      />
      <label htmlFor={ids.confirm}>Type it again</label>
      <input
        id={ids.confirm}
        type="password"
        autoComplete="new-password"
        data-testid="backup-password-confirm"
        value={confirm}
        onChange={(e) => setConfirm(e.target.value)}
        aria-describedby={describedBy}
        aria-invalid={problem ? "true" : undefined}
        required
      />
      <p id={ids.hint} className="hint">
        At least {MIN_PASSWORD} characters. The directory stores your keys sealed under this password; it never sees
        the password. If you forget it, nobody can recover your messages.
      </p>
      {problem && (
        <p id={ids.error} className="field-error" role="alert">
          {problem}
        </p>
      )}
      <div className="actions">
        <button type="submit" className="button button--primary" data-testid="backup-submit" disabled={busy}>
          {busy ? "Saving…" : submitLabel}
        </button>
        {onSkip && (
          <button type="button" className="button" data-testid="backup-skip" onClick={onSkip} disabled={busy}>
            {skipLabel}
          </button>
        )}
      </div>
    </form>
  );
}
