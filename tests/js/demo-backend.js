// The demo backend of `chatseal-relay`, as the JS tests reach it (one copy for
// tests/js/stream, tests/js/matrix and www/e2e): a session for any identity, then the
// directory token or the chat credentials for it. Plain ESM with no dependencies.

/** POST `path` to `base` with an optional bearer token and JSON body; the JSON answer. */
export async function post(base, path, token, body) {
  const r = await fetch(base + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status} ${await r.text()}`);
  return r.json();
}

/** A demo session token for `identity` (the demo backend signs anyone in). */
export async function sessionToken(base, identity) {
  return (await post(base, "/v1/authenticate", null, { identity })).authToken;
}

/** `getToken` for `ChatSeal.open`: a fresh directory token for `identity` on every call. */
export function tokenGetter(base, identity) {
  return async () => (await post(base, "/v1/chatseal-credentials", await sessionToken(base, identity))).token;
}

/** `{ apiKey, token, user, baseUrl }` for the chat SDK, as an app gets them. */
export async function streamCredentials(base, identity) {
  return post(base, "/v1/stream-credentials", await sessionToken(base, identity));
}
