// "What the server sees": the current conversation's messages exactly as the chat relay's
// database stores them (GET /v1/relay/channels/{type}/{id}/stored). Where the relay is not
// in use (Stream's cloud, or an older server), the raw `text` this browser received from
// the chat server stands in, and the panel says so.
import { useCallback, useEffect, useId, useRef, useState } from "react";
import { isEncrypted } from "chatseal";
import { describe } from "../errors.js";

const iso = (value) => {
  if (!value) return null;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
};

/** The messages of `channel` this browser received, main list and threads, as rows. */
function receivedRows(channel) {
  const state = channel.state;
  const all = [...(state.messages ?? []), ...Object.values(state.threads ?? {}).flat()];
  const seen = new Set();
  return all
    .filter((m) => m && !seen.has(m.id) && seen.add(m.id))
    .filter((m) => !m.status || m.status === "received") // not the ones still on their way
    .filter((m) => m.type !== "system" && m.type !== "error")
    .map((m) => ({
      id: m.id,
      user_id: m.user?.id ?? m.user_id ?? "",
      text: m.text ?? "",
      parent_id: m.parent_id ?? null,
      created_at: iso(m.created_at),
      updated_at: iso(m.updated_at),
    }))
    .sort((a, b) => String(a.created_at).localeCompare(String(b.created_at)));
}

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

export function ServerSees({ channel, backend, relayMissing, onClose }) {
  // drafts: the relay's stored drafts (null when unknown: chatseal turns drafts off anyway)
  const [state, setState] = useState({ status: "loading", rows: [], drafts: null, source: null, note: null });
  const [attempt, setAttempt] = useState(0);
  const titleId = useId();
  const closeButton = useRef(null);

  const load = useCallback(
    async (signal) => {
      let note = null;
      if (!relayMissing.current.has(channel.cid)) {
        try {
          const { messages, drafts } = await backend.storedMessages(channel.type, channel.id, signal);
          if (signal.aborted) return;
          const rows = (Array.isArray(messages) ? messages : []).slice().sort((a, b) =>
            String(a.created_at).localeCompare(String(b.created_at)),
          );
          setState({ status: "ok", rows, drafts: Array.isArray(drafts) ? drafts : null, source: "relay", note: null });
          return;
        } catch (error) {
          if (signal.aborted || error?.name === "AbortError") return;
          if (error?.status === 404) relayMissing.current.add(channel.cid);
          note =
            error?.status === 404
              ? "This server has no chat relay of its own (or does not store this conversation)."
              : `The relay's stored copy could not be read. ${describe(error)}`;
        }
      }
      setState({
        status: "ok",
        rows: receivedRows(channel),
        drafts: null,
        source: "client",
        note: note ?? "This server has no chat relay of its own (or does not store this conversation).",
      });
    },
    [channel, backend, relayMissing],
  );

  // Load now, and again whenever a message arrives or changes (debounced).
  useEffect(() => {
    let controller = new AbortController();
    setState((s) => ({ ...s, status: "loading" }));
    load(controller.signal);
    let timer = null;
    const refresh = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        controller.abort();
        controller = new AbortController();
        load(controller.signal);
      }, 250);
    };
    const subscriptions = ["message.new", "message.updated", "message.deleted"].map((type) => channel.on(type, refresh));
    return () => {
      clearTimeout(timer);
      controller.abort();
      subscriptions.forEach((s) => s.unsubscribe());
    };
  }, [channel, load, attempt]);

  useEffect(() => {
    const onKey = (event) => event.key === "Escape" && onClose();
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);

  const plain = state.rows.filter((r) => r.text && !isEncrypted(r.text)).length;
  return (
    <aside className="server-panel" aria-labelledby={titleId} data-testid="server-panel" data-source={state.source ?? ""}>
      <header className="server-panel__header">
        <h2 id={titleId}>What the server sees</h2>
        <div className="server-panel__buttons">
          <button type="button" className="button button--small" onClick={() => setAttempt((n) => n + 1)} data-testid="server-refresh">
            Refresh
          </button>
          <button ref={closeButton} type="button" className="button button--small" onClick={onClose} data-testid="server-close">
            Close
          </button>
        </div>
      </header>
      <p className="server-panel__source" data-testid="server-source">
        {state.source === "relay" && "Rows of this conversation exactly as the chat relay's database stores them."}
        {state.source === "client" && (
          <>
            What this browser received from the chat server, before decryption. <span className="muted">{state.note}</span>
          </>
        )}
        {state.source === null && "Reading…"}
      </p>
      {state.status === "ok" && (
        <p className={`server-panel__summary ${plain ? "server-panel__summary--warn" : ""}`} aria-live="polite">
          {state.rows.length === 0
            ? "No messages yet."
            : plain === 0
              ? `${state.rows.length} message${state.rows.length === 1 ? "" : "s"}, all ciphertext: the server cannot read them.`
              : `${plain} of ${state.rows.length} messages are not encrypted.`}
          {state.drafts && (state.drafts.length === 0 ? " No drafts stored." : ` ${state.drafts.length} draft${state.drafts.length === 1 ? "" : "s"} stored.`)}
        </p>
      )}
      <ol className="stored-list">
        {state.rows.map((row) => {
          const edited = row.updated_at && row.created_at && row.updated_at !== row.created_at;
          const at = row.created_at ? new Date(row.created_at) : null;
          return (
            <li key={row.id} className="stored" data-testid="stored-row" data-message-id={row.id}>
              <p className="stored__meta">
                <span className="stored__sender">{row.user_id}</span>
                {at && <time dateTime={row.created_at}>{timeFormat.format(at)}</time>}
                {row.parent_id && <span className="tag">thread reply</span>}
                {edited && <span className="tag">edited</span>}
                {row.deleted && <span className="tag">deleted</span>}
                {row.text && !isEncrypted(row.text) && <span className="tag tag--warn">not encrypted</span>}
              </p>
              <code className="stored__text" data-testid="stored-message">
                {row.text}
              </code>
            </li>
          );
        })}
      </ol>
    </aside>
  );
}
