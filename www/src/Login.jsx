// "Who are you?": the demo's sign-in. No password (the demo backend trusts anyone); the
// identity is both the chat user id and the chatseal identity.
import { useEffect, useId, useState } from "react";
import { useReport } from "./status.jsx";

// Stream user ids allow letters, digits, @, _, - and .; lower case keeps "Bob" and "bob" one person.
const VALID = /^[a-z0-9@_.-]{1,64}$/;

export function normalizeId(text) {
  return text.trim().toLowerCase();
}

export function idProblem(id) {
  if (id === "") return "Type a name.";
  if (id.length > 64) return "Use at most 64 characters.";
  if (!VALID.test(id)) return "Use letters, digits and @ _ - . only (no spaces).";
  return null;
}

export function Login({ onSignIn }) {
  const report = useReport();
  const [value, setValue] = useState("");
  const [problem, setProblem] = useState(null);
  const inputId = useId();
  const hintId = useId();
  const errorId = useId();

  useEffect(() => report({ text: "Not signed in.", tone: "info" }), [report]);

  const submit = (event) => {
    event.preventDefault();
    const id = normalizeId(value);
    const why = idProblem(id);
    setProblem(why);
    if (!why) onSignIn(id);
  };

  return (
    <main className="screen screen--narrow" aria-labelledby="login-title">
      <Brand />
      <form className="card" onSubmit={submit} noValidate>
        <h1 id="login-title">Who are you?</h1>
        <p className="muted">
          Secure messages between patients and their clinic. Messages are encrypted in your browser: the chat
          server stores only ciphertext.
        </p>
        <label htmlFor={inputId}>Your user name</label>
        <input
          id={inputId}
          name="identity"
          data-testid="login-input"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck="false"
          placeholder="e.g. alice or dr-bob"
          value={value}
          onChange={(e) => setValue(e.target.value)}
          aria-describedby={problem ? `${hintId} ${errorId}` : hintId}
          aria-invalid={problem ? "true" : undefined}
          autoFocus
        />
        <p id={hintId} className="hint">
          This demo asks no password: anyone can sign in as anyone. To try it, open a second window (or a private
          one) and sign in there as someone else.
        </p>
        {problem && (
          <p id={errorId} className="field-error" role="alert">
            {problem}
          </p>
        )}
        <button type="submit" className="button button--primary" data-testid="login-submit">
          Continue
        </button>
      </form>
    </main>
  );
}

export function Brand() {
  return (
    <p className="brand">
      <span className="brand__mark" aria-hidden="true">
        ◆
      </span>{" "}
      chatseal <span className="brand__sub">demo</span>
    </p>
  );
}
