// In the keys dialog: passkey backups (add, list, remove; PROTOCOL §4.1) and linking a new
// device (seal.link.accept with the new device's QR text, scanned by camera where the
// browser has BarcodeDetector, typed otherwise; §13).
import { useCallback, useEffect, useId, useRef, useState } from "react";
import { describe } from "../errors.js";

function passkeyProblem(error) {
  if (error?.code === "PasskeyUnsupported") return "This browser or security key cannot protect a backup with a passkey (it has no PRF support).";
  if (error?.code === "PasskeyCancelled") return "The passkey prompt was closed; nothing was saved.";
  return `The passkey backup was not saved. ${describe(error)}`;
}

function acceptProblem(error) {
  if (error?.code === "Malformed") return "That is not a link code from chatseal. Check the text on the new device.";
  if (error?.code === "LinkUsed") return "That link was already used. Start again on the new device.";
  return `The keys were not sent. ${describe(error)}`;
}

export function Passkeys({ seal }) {
  const [list, setList] = useState(null);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState(null);
  const [note, setNote] = useState(null);

  const refresh = useCallback(async () => {
    try {
      setList(await seal.backup.passkeys());
    } catch (error) {
      setProblem(`Your passkeys could not be listed. ${describe(error)}`);
    }
  }, [seal]);
  useEffect(() => {
    refresh();
  }, [refresh]);

  const add = async () => {
    setBusy(true);
    setProblem(null);
    setNote(null);
    try {
      await seal.backup.addPasskey({ rpName: "chatseal demo" });
      setNote("Passkey backup saved. A new browser can restore your keys with this passkey alone.");
      await refresh();
    } catch (error) {
      setProblem(passkeyProblem(error));
    } finally {
      setBusy(false);
    }
  };

  const remove = async (credentialId) => {
    setBusy(true);
    setProblem(null);
    try {
      await seal.backup.removePasskey(credentialId);
      await refresh();
    } catch (error) {
      setProblem(`The passkey backup was not removed. ${describe(error)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="passkeys-title" data-testid="passkeys">
      <h3 id="passkeys-title">Passkeys</h3>
      <p className="muted">A passkey (your phone, Touch ID, Windows Hello, a security key) can restore your keys without a password.</p>
      {list && list.length > 0 && (
        <ul className="passkey-list" data-testid="passkey-list">
          {list.map((p, i) => (
            <li key={p.credentialId}>
              Passkey {i + 1} <code>{p.credentialId.slice(0, 8)}…</code>{" "}
              <button type="button" className="button button--small" onClick={() => remove(p.credentialId)} disabled={busy}>
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      <button type="button" className="button" data-testid="add-passkey" onClick={add} disabled={busy}>
        {busy ? "Waiting for your passkey…" : "Add a passkey"}
      </button>
      {note && <p className="hint" role="status" data-testid="passkey-note">{note}</p>}
      {problem && (
        <p className="field-error" role="alert" data-testid="passkey-error">
          {problem}
        </p>
      )}
    </section>
  );
}

/** Reads a QR code from the camera with BarcodeDetector; resolves to its text. */
async function scan(video, signal) {
  const detector = new globalThis.BarcodeDetector({ formats: ["qr_code"] });
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
  try {
    video.srcObject = stream;
    await video.play();
    while (!signal.aborted) {
      const found = await detector.detect(video);
      const text = found.find((c) => c.rawValue.startsWith("chatseal:link:"))?.rawValue;
      if (text) return text;
      await new Promise((r) => setTimeout(r, 250));
    }
    return null;
  } finally {
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  }
}

export function LinkDevice({ seal }) {
  const [text, setText] = useState("");
  const [code, setCode] = useState(null);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState(null);
  const [scanning, setScanning] = useState(null);
  const video = useRef(null);
  const ids = { text: useId(), hint: useId() };
  const canScan = typeof globalThis.BarcodeDetector === "function" && !!navigator.mediaDevices?.getUserMedia;

  useEffect(() => () => scanning?.abort(), [scanning]);

  const send = async (qr) => {
    setBusy(true);
    setProblem(null);
    setCode(null);
    try {
      setCode(await seal.link.accept(qr.trim()));
      setText("");
    } catch (error) {
      setProblem(acceptProblem(error));
    } finally {
      setBusy(false);
    }
  };

  const startScan = async () => {
    const controller = new AbortController();
    setScanning(controller);
    try {
      const qr = await scan(video.current, controller.signal);
      if (qr) await send(qr);
    } catch (error) {
      setProblem(`The camera could not be used (${describe(error)}) Type the text instead.`);
    } finally {
      setScanning(null);
    }
  };

  return (
    <section aria-labelledby="link-device-title" data-testid="link-device">
      <h3 id="link-device-title">Link a new device</h3>
      <p className="muted">
        On the new device, sign in and choose <strong>Link from another device</strong>. Then scan its code here, or type
        the text under it.
      </p>
      <form
        className="form"
        onSubmit={(e) => {
          e.preventDefault();
          if (text.trim()) send(text);
        }}
      >
        <label htmlFor={ids.text}>Text under the new device's code</label>
        <input
          id={ids.text}
          value={text}
          onChange={(e) => setText(e.target.value)}
          placeholder="chatseal:link:…"
          autoComplete="off"
          spellCheck={false}
          data-testid="link-accept-text"
        />
        <div className="actions">
          <button type="submit" className="button button--primary" disabled={busy || !text.trim()} data-testid="link-accept">
            {busy ? "Sending your keys…" : "Send my keys"}
          </button>
          {canScan &&
            (scanning ? (
              <button type="button" className="button" onClick={() => scanning.abort()}>
                Stop camera
              </button>
            ) : (
              <button type="button" className="button" onClick={startScan} disabled={busy}>
                Scan with camera
              </button>
            ))}
        </div>
      </form>
      <video ref={video} className="scanner" hidden={!scanning} muted playsInline aria-label="Camera" />
      {code && (
        <p role="status" data-testid="link-accept-code">
          Sent. The new device should show <strong className="link-code">{code}</strong>. If it shows another code, tell
          it to cancel.
        </p>
      )}
      {problem && (
        <p className="field-error" role="alert" data-testid="link-accept-error">
          {problem}
        </p>
      )}
    </section>
  );
}
