// "Who do you want to chat with?": a one-to-one conversation (Stream's distinct channel
// of two members, no id) or a named group (an id made from the name plus a random suffix).
import { useEffect, useId, useRef, useState } from "react";
import { describe } from "../errors.js";
import { idProblem, normalizeId } from "../Login.jsx";

/** A Stream channel id (a-z, 0-9, _ and -) from a group name, with a short random suffix. */
export function groupChannelId(name) {
  const slug =
    name
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/[^a-z0-9_-]+/g, "-")
      .replace(/-+/g, "-")
      .replace(/^-|-$/g, "")
      .slice(0, 40) || "group";
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  const suffix = Array.from(bytes, (b) => (b % 36).toString(36)).join("") + Date.now().toString(36).slice(-2);
  return `${slug}-${suffix}`;
}

/** Suggestions from `client.queryUsers` (`$autocomplete`), when the chat server supports it. */
function useSuggestions(client, me, query) {
  const [list, setList] = useState([]);
  const unsupported = useRef(false);
  useEffect(() => {
    const q = normalizeId(query);
    if (!q || unsupported.current) {
      setList([]);
      return undefined;
    }
    let alive = true;
    const timer = setTimeout(async () => {
      try {
        const { users } = await client.queryUsers({ id: { $autocomplete: q } }, [{ id: 1 }], { limit: 8 });
        if (alive) setList(users.map((u) => u.id).filter((id) => id !== me));
      } catch (error) {
        // A chat server without user search (404): plain input from now on.
        if (error?.status === 404 || error?.response?.status === 404) unsupported.current = true;
        if (alive) setList([]);
      }
    }, 200);
    return () => {
      alive = false;
      clearTimeout(timer);
    };
  }, [client, me, query]);
  return list;
}

export function NewConversation({ client, me, onOpen }) {
  return (
    <section className="new-chat" aria-labelledby="new-chat-title">
      <h2 id="new-chat-title">Who do you want to chat with?</h2>
      <DirectForm client={client} me={me} onOpen={onOpen} />
      <GroupForm client={client} me={me} onOpen={onOpen} />
    </section>
  );
}

function DirectForm({ client, me, onOpen }) {
  const [value, setValue] = useState("");
  const [problem, setProblem] = useState(null);
  const [busy, setBusy] = useState(false);
  const suggestions = useSuggestions(client, me, value);
  const ids = { input: useId(), list: useId(), error: useId() };

  const submit = async (event) => {
    event.preventDefault();
    const peer = normalizeId(value);
    let why = idProblem(peer);
    if (!why && peer === me) why = "That is you. Type the user name of someone else.";
    setProblem(why);
    if (why) return;
    setBusy(true);
    try {
      const channel = client.channel("messaging", { members: [me, peer] });
      await channel.watch();
      setValue("");
      onOpen(channel);
    } catch (error) {
      setProblem(`Could not open the conversation with ${peer}. ${describe(error)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="form form--compact" onSubmit={submit} noValidate aria-busy={busy}>
      <label htmlFor={ids.input}>User name</label>
      <div className="input-row">
        <input
          id={ids.input}
          data-testid="peer-input"
          list={suggestions.length ? ids.list : undefined}
          autoComplete="off"
          autoCapitalize="none"
          spellCheck="false"
          placeholder="e.g. dr-bob"
          value={value}
          onChange={(e) => setValue(e.target.value)}
          aria-invalid={problem ? "true" : undefined}
          aria-describedby={problem ? ids.error : undefined}
        />
        <button type="submit" className="button button--primary" data-testid="peer-open" disabled={busy}>
          {busy ? "Opening…" : "Open"}
        </button>
      </div>
      {suggestions.length > 0 && (
        <datalist id={ids.list}>
          {suggestions.map((id) => (
            <option key={id} value={id} />
          ))}
        </datalist>
      )}
      {problem && (
        <p id={ids.error} className="field-error" role="alert">
          {problem}
        </p>
      )}
    </form>
  );
}

function GroupForm({ client, me, onOpen }) {
  const [name, setName] = useState("");
  const [members, setMembers] = useState("");
  const [problem, setProblem] = useState(null);
  const [busy, setBusy] = useState(false);
  const details = useRef(null);
  const ids = { name: useId(), members: useId(), hint: useId(), error: useId() };

  const submit = async (event) => {
    event.preventDefault();
    const title = name.trim();
    const list = [...new Set(members.split(",").map(normalizeId).filter(Boolean))].filter((id) => id !== me);
    let why = null;
    if (!title) why = "Give the group a name.";
    else if (title.length > 64) why = "Use at most 64 characters for the name.";
    else if (list.length === 0) why = "Add at least one member besides you.";
    else {
      const bad = list.find((id) => idProblem(id));
      if (bad) why = `"${bad}" is not a user name: ${idProblem(bad)}`;
    }
    setProblem(why);
    if (why) return;
    setBusy(true);
    try {
      const channel = client.channel("messaging", groupChannelId(title), { name: title, members: [me, ...list] });
      await channel.watch();
      setName("");
      setMembers("");
      if (details.current) details.current.open = false;
      onOpen(channel);
    } catch (error) {
      setProblem(`The group was not created. ${describe(error)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <details className="new-group" ref={details}>
      <summary data-testid="group-toggle">New group</summary>
      <form className="form form--compact" onSubmit={submit} noValidate aria-busy={busy}>
        <label htmlFor={ids.name}>Group name</label>
        <input
          id={ids.name}
          data-testid="group-name"
          placeholder="e.g. Cardiology team"
          value={name}
          onChange={(e) => setName(e.target.value)}
          aria-invalid={problem ? "true" : undefined}
          aria-describedby={problem ? ids.error : undefined}
        />
        <label htmlFor={ids.members}>Members</label>
        <input
          id={ids.members}
          data-testid="group-members"
          autoCapitalize="none"
          spellCheck="false"
          placeholder="e.g. alice, dr-bob"
          value={members}
          onChange={(e) => setMembers(e.target.value)}
          aria-describedby={problem ? `${ids.hint} ${ids.error}` : ids.hint}
          aria-invalid={problem ? "true" : undefined}
        />
        <p id={ids.hint} className="hint">
          User names, separated by commas. You are added too.
        </p>
        {problem && (
          <p id={ids.error} className="field-error" role="alert">
            {problem}
          </p>
        )}
        <button type="submit" className="button button--primary" data-testid="group-create" disabled={busy}>
          {busy ? "Creating…" : "Create group"}
        </button>
      </form>
    </details>
  );
}
