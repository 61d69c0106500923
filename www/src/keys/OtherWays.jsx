// A new browser for an identity the directory knows, without the backup password: restore
// with a passkey (seal.backup.restoreWithPasskey, PROTOCOL §4.1), or link this browser to
// one that has the keys by QR code (useDeviceLink, §13).
import { useEffect, useState } from "react";
import { QrCode, useDeviceLink } from "chatseal/react";
import { describe } from "../errors.js";

function passkeyProblem(error) {
  if (error?.code === "NoBackup") return "You have no passkey backup yet. Add one from the Keys menu in a browser that has your keys.";
  if (error?.code === "PasskeyCancelled") return "The passkey prompt was closed. Try again when you are ready.";
  if (error?.code === "PasskeyUnsupported") return "This browser cannot use a passkey for backups. Use your password or link this browser instead.";
  if (error?.code === "Integrity") return "That passkey does not open your backup. Choose the passkey you added for this account.";
  return `Your keys were not restored. ${describe(error)}`;
}

function linkProblem(error) {
  if (error?.code === "LinkExpired") return "Nothing arrived within five minutes. Start again.";
  if (error?.code === "Integrity") return "What arrived was not sealed for this browser, so nothing was stored. Start again.";
  if (error?.code === "LinkRejected") return "The keys that arrived are not your current ones, so nothing was stored. Start again from your newest browser.";
  return `The link did not work. ${describe(error)}`;
}

export function OtherWays({ seal, onRestored }) {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState(null);
  const link = useDeviceLink(seal);

  const withPasskey = async () => {
    setBusy(true);
    setProblem(null);
    try {
      await seal.backup.restoreWithPasskey();
      onRestored();
    } catch (error) {
      setProblem(passkeyProblem(error));
      setBusy(false);
    }
  };

  const done = link.status === "done";
  useEffect(() => {
    if (done) onRestored();
  }, [done, onRestored]);

  return (
    <section className="other-ways" aria-labelledby="other-ways-title">
      <h2 id="other-ways-title">No password at hand?</h2>
      <div className="actions">
        <button type="button" className="button" data-testid="restore-passkey" onClick={withPasskey} disabled={busy}>
          {busy ? "Waiting for your passkey…" : "Restore with a passkey"}
        </button>
        {link.status === "idle" || link.status === "error" ? (
          <button type="button" className="button" data-testid="link-start" onClick={link.start} disabled={busy}>
            Link from another device
          </button>
        ) : (
          <button type="button" className="button" data-testid="link-cancel" onClick={link.cancel}>
            Cancel linking
          </button>
        )}
      </div>
      {problem && (
        <p className="field-error" role="alert" data-testid="restore-passkey-error">
          {problem}
        </p>
      )}
      {link.status === "waiting" && (
        <div className="link-box" data-testid="link-waiting">
          <QrCode path={link.qrPath} size={link.qrSize} label="QR code to scan from your other device" className="qr" />
          <p className="muted">
            On a device where you are signed in, open <strong>Keys</strong> → <strong>Link a new device</strong> and scan
            this code, or type the text below there. Waiting for it…
          </p>
          <input className="link-text" readOnly value={link.qr} aria-label="Link text" data-testid="link-qr" onFocus={(e) => e.target.select()} />
        </div>
      )}
      {link.status === "confirm" && (
        <div className="link-box" role="group" aria-labelledby="link-code-title">
          <p id="link-code-title">Does your other device show this code?</p>
          <p className="link-code" data-testid="link-code">
            {link.code}
          </p>
          <div className="actions">
            <button type="button" className="button button--primary" data-testid="link-confirm" onClick={link.confirm}>
              Yes, the codes match
            </button>
            <button type="button" className="button" onClick={link.cancel}>
              No — cancel
            </button>
          </div>
        </div>
      )}
      {link.status === "error" && (
        <p className="field-error" role="alert" data-testid="link-error">
          {linkProblem(link.error)}
        </p>
      )}
    </section>
  );
}
