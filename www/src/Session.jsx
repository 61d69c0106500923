// One signed-in identity: authenticate with the demo backend, open chatseal's key store
// (IndexedDB) and make sure this browser has keys — from before, restored from the
// password or a passkey backup, linked from another device, or new (then a backup is
// offered) — then the chat.
import { Component, lazy, Suspense, useCallback, useEffect, useMemo, useState } from "react";
import { ChatSeal } from "chatseal";
import { Backend } from "./backend.js";
import { describe, isNoCard } from "./errors.js";
import { BackupForm } from "./keys/BackupForm.jsx";
import { RestoreForm } from "./keys/RestoreForm.jsx";
import { Brand } from "./Login.jsx";
import { useReport } from "./status.jsx";

// The chat (stream-chat-react and its CSS) loads only once the keys are ready.
const ChatScreen = lazy(() => import("./chat/ChatScreen.jsx"));

export function Session({ identity, onSignOut }) {
  const report = useReport();
  const backend = useMemo(() => new Backend(identity), [identity]);
  const [phase, setPhase] = useState("starting"); // starting | restore | backup | ready | failed
  const [seal, setSeal] = useState(null);
  const [attempt, setAttempt] = useState(0);
  const retry = useCallback(() => setAttempt((n) => n + 1), []);

  useEffect(() => {
    let alive = true;
    let opened = null;
    let failed = "You could not be signed in.";
    setPhase("starting");
    setSeal(null);
    (async () => {
      report({ text: `Signing in as ${identity}…`, tone: "busy" });
      await backend.authenticate();
      if (!alive) return;
      failed = "This browser's key store could not be opened.";
      report({ text: "Opening this browser's key store…", tone: "busy" });
      opened = await ChatSeal.open({
        identity,
        directoryUrl: window.location.origin,
        getToken: backend.chatsealToken,
        storage: "indexeddb",
        // Channels with two or more other members go through group sessions (PROTOCOL §9)
        // and one-to-one chats through pairwise messages (§11), so the demo shows both.
        // Apps keep the default (10 other members) or choose their own.
        groupThreshold: 1,
      });
      if (!alive) return;
      if (opened.hasLocalKey()) {
        setSeal(opened);
        setPhase("ready");
        return;
      }
      failed = "Your keys could not be looked up in the directory.";
      report({ text: "Looking for your keys in the directory…", tone: "busy" });
      let known = true;
      try {
        await opened.lookup([identity]);
      } catch (error) {
        if (!isNoCard(error)) throw error;
        known = false;
      }
      if (!alive) return;
      if (!known) {
        failed = "Your keys could not be created.";
        report({ text: "Creating your keys…", tone: "busy" });
        try {
          await opened.register();
        } catch (error) {
          if (error?.code !== "AlreadyRegistered") throw error;
          known = true; // another tab or browser registered meanwhile
        }
        if (!alive) return;
      }
      setSeal(opened);
      setPhase(known ? "restore" : "backup");
      report(
        known
          ? { text: "Your keys were made in another browser: restore them with your backup password.", tone: "info" }
          : { text: "Your keys are ready. Back them up so that you can read your messages in another browser.", tone: "ok" },
      );
    })().catch((error) => {
      if (!alive) return;
      setPhase("failed");
      report({ text: `${failed} ${describe(error)}`, tone: "error", retry });
    });
    return () => {
      alive = false;
      opened?.close();
    };
  }, [identity, backend, attempt, report, retry]);

  const ready = useCallback(() => setPhase("ready"), []);
  const toBackup = useCallback(() => {
    report({ text: "New keys made. Back them up so that you can read your messages in another browser.", tone: "ok" });
    setPhase("backup");
  }, [report]);

  if (phase === "ready" && seal) {
    return (
      <ChunkBoundary onRetry={retry}>
        <Suspense fallback={<Waiting text="Loading the chat…" />}>
          <ChatScreen identity={identity} backend={backend} seal={seal} onSignOut={onSignOut} />
        </Suspense>
      </ChunkBoundary>
    );
  }

  return (
    <main className="screen screen--narrow" aria-labelledby="keys-title">
      <Brand />
      <div className="card">
        <p className="signed-in">
          Signed in as <strong data-testid="identity">{identity}</strong>{" "}
          <button type="button" className="link-button" data-testid="sign-out" onClick={onSignOut}>
            Not you? Sign out
          </button>
        </p>
        {phase === "restore" && seal && (
          <>
            <h1 id="keys-title">Restore your keys</h1>
            <p className="muted">
              You have used this demo in another browser. Your messages can only be read with the keys made there: type
              the backup password you chose to bring them here.
            </p>
            <RestoreForm seal={seal} identity={identity} onRestored={ready} onStartedOver={toBackup} />
          </>
        )}
        {phase === "backup" && seal && (
          <>
            <h1 id="keys-title">Back up your keys</h1>
            <p className="muted">
              Your keys live in this browser. A password backup lets you read your messages in another browser too.
            </p>
            <BackupForm seal={seal} identity={identity} onDone={ready} onSkip={ready} />
          </>
        )}
        {(phase === "starting" || phase === "failed") && (
          <>
            <h1 id="keys-title">Your keys</h1>
            <p className="muted">
              {phase === "starting"
                ? "Getting your encryption keys ready…"
                : "That did not work. The status line below says why."}
            </p>
            {phase === "failed" && (
              <button type="button" className="button button--primary" onClick={retry}>
                Try again
              </button>
            )}
          </>
        )}
      </div>
    </main>
  );
}

function Waiting({ text }) {
  return (
    <main className="screen screen--narrow">
      <p className="muted waiting">{text}</p>
    </main>
  );
}

/** A failed download of the chat's code (a new deployment, a dropped connection) gets a retry. */
class ChunkBoundary extends Component {
  state = { error: null };
  static getDerivedStateFromError(error) {
    return { error };
  }
  render() {
    if (!this.state.error) return this.props.children;
    return (
      <main className="screen screen--narrow">
        <div className="card" role="alert">
          <h1>The chat did not load</h1>
          <p className="muted">{describe(this.state.error)}</p>
          <button type="button" className="button button--primary" onClick={() => window.location.reload()}>
            Reload
          </button>
        </div>
      </main>
    );
  }
}
