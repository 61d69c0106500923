// "Keys & backup": make or replace the password backup later, add or remove passkey
// backups, link a new device, or forget this browser's keys (behind a confirm).
import { useEffect, useRef, useState } from "react";
import { describe } from "../errors.js";
import { BackupForm } from "../keys/BackupForm.jsx";
import { LinkDevice, Passkeys } from "../keys/DeviceSettings.jsx";
import { backupMade } from "../storage.js";
import { useReport } from "../status.jsx";

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function KeysDialog({ open, onClose, seal, identity, onForgotten }) {
  const dialog = useRef(null);
  const report = useReport();
  const [made, setMade] = useState(() => backupMade.get(identity));
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState(null);

  useEffect(() => {
    const el = dialog.current;
    if (!el) return;
    if (open && !el.open) {
      setConfirming(false);
      setProblem(null);
      setMade(backupMade.get(identity));
      el.showModal();
    } else if (!open && el.open) el.close();
  }, [open, identity]);

  const saved = () => {
    setMade(backupMade.get(identity));
    report({ text: "Your key backup is saved at the directory, sealed under your password.", tone: "ok" });
    onClose();
  };

  const forget = async () => {
    setBusy(true);
    setProblem(null);
    try {
      await seal.wipeLocal();
      onForgotten();
    } catch (error) {
      setProblem(`The keys were not removed. ${describe(error)}`);
      setBusy(false);
    }
  };

  return (
    <dialog ref={dialog} className="dialog" aria-labelledby="keys-dialog-title" onClose={onClose} data-testid="keys-dialog">
      <div className="dialog__head">
        <h2 id="keys-dialog-title">Keys &amp; backup</h2>
        <button type="button" className="button button--small" onClick={onClose} data-testid="keys-close">
          Close
        </button>
      </div>
      <p className="muted">
        Your keys for <strong>{identity}</strong> are sealed in this browser.{" "}
        {made
          ? `A backup was saved from this browser on ${dateFormat.format(new Date(made))}; saving again replaces it.`
          : "No backup was saved from this browser yet."}
      </p>
      <h3>{made ? "Change your backup password" : "Back up your keys"}</h3>
      {open && <BackupForm seal={seal} identity={identity} onDone={saved} submitLabel="Save backup" />}
      {open && <Passkeys seal={seal} />}
      {open && <LinkDevice seal={seal} />}

      <section className="danger-zone" aria-labelledby="forget-title">
        <h3 id="forget-title">Remove keys from this browser</h3>
        {!confirming ? (
          <>
            <p className="muted">For a shared computer. You can bring them back with your backup password.</p>
            <button type="button" className="button" onClick={() => setConfirming(true)} data-testid="forget-keys">
              Remove keys…
            </button>
          </>
        ) : (
          <div role="group" aria-labelledby="forget-confirm">
            <p id="forget-confirm">
              <strong>Remove your keys from this browser and sign out?</strong>{" "}
              {made
                ? "You will need your backup password to read your messages here again."
                : "You have no backup: unless another browser still has your keys, your messages can never be read again."}
            </p>
            {problem && <p className="field-error">{problem}</p>}
            <div className="actions">
              <button type="button" className="button button--danger" onClick={forget} disabled={busy} data-testid="forget-keys-confirm">
                {busy ? "Removing…" : "Remove and sign out"}
              </button>
              <button type="button" className="button" onClick={() => setConfirming(false)} disabled={busy}>
                Cancel
              </button>
            </div>
          </div>
        )}
      </section>
    </dialog>
  );
}
