// The status line: one polite live region that says, in words, what the app is doing or
// what went wrong, with a retry button for a failed step. Every screen reports here.
import { createContext, useCallback, useContext, useMemo, useState } from "react";

const StatusContext = createContext(null);

/** `{ text, tone: "info" | "busy" | "ok" | "error", retry?: () => void, retryLabel? }` */
export function StatusProvider({ children }) {
  const [status, setStatus] = useState({ text: "", tone: "info" });
  const report = useCallback((next) => setStatus(typeof next === "string" ? { text: next, tone: "info" } : next), []);
  const value = useMemo(() => ({ status, report }), [status, report]);
  return <StatusContext.Provider value={value}>{children}</StatusContext.Provider>;
}

/** `report(status)` for the status line. */
export function useReport() {
  return useContext(StatusContext).report;
}

export function StatusLine() {
  const { status } = useContext(StatusContext);
  return (
    <footer className={`status status--${status.tone}`}>
      <p className="status__text" role="status" aria-live="polite" data-testid="status" data-tone={status.tone}>
        {status.tone === "busy" && <span className="spinner" aria-hidden="true" />}
        {status.tone === "error" && <span className="visually-hidden">Error: </span>}
        {status.text}
      </p>
      {status.retry && (
        <button type="button" className="button button--small" onClick={status.retry} data-testid="status-retry">
          {status.retryLabel ?? "Try again"}
        </button>
      )}
    </footer>
  );
}
