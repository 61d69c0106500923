// The demo's screens, in the tutorial's order: who are you → your keys → chat.
import { useCallback, useState } from "react";
import { Login } from "./Login.jsx";
import { Session } from "./Session.jsx";
import { StatusLine, StatusProvider } from "./status.jsx";
import { lastIdentity } from "./storage.js";

export function App() {
  // Reconnect as the last identity without asking again (demo: no password).
  const [identity, setIdentity] = useState(() => lastIdentity.get());

  const signIn = useCallback((id) => {
    lastIdentity.set(id);
    setIdentity(id);
  }, []);
  const signOut = useCallback(() => {
    lastIdentity.set(null);
    setIdentity(null);
  }, []);

  return (
    <StatusProvider>
      <div className="app">
        {identity ? <Session key={identity} identity={identity} onSignOut={signOut} /> : <Login onSignIn={signIn} />}
        <StatusLine />
      </div>
    </StatusProvider>
  );
}
