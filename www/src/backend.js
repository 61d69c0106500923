// The demo backend (`chatseal-relay`, same origin): the tutorial's three endpoints
// and the relay's stored rows. No passwords: this is a demo. Every failure becomes an
// `ApiError` whose message says what went wrong in words.

export class ApiError extends Error {
  constructor(message, status = 0) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

async function errorText(response) {
  try {
    const body = await response.json();
    const detail = body?.error?.message ?? body?.error ?? body?.message;
    if (typeof detail === "string" && detail) return detail;
  } catch {
    // not JSON
  }
  return response.statusText || "no details";
}

async function call(path, { method = "POST", token, body, signal } = {}) {
  let response;
  try {
    response = await fetch(path, {
      method,
      signal,
      headers: {
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  } catch (error) {
    if (error?.name === "AbortError") throw error;
    throw new ApiError("The demo server cannot be reached. Is `chatseal-relay` running?");
  }
  if (!response.ok) {
    const what = response.status >= 500 ? "could not answer" : "refused";
    throw new ApiError(`The demo server ${what} ${path} (HTTP ${response.status}: ${await errorText(response)}).`, response.status);
  }
  try {
    return await response.json();
  } catch {
    throw new ApiError(`The demo server's answer to ${path} was not JSON.`, response.status);
  }
}

/** One signed-in identity's view of the demo backend. */
export class Backend {
  constructor(identity) {
    this.identity = identity;
    this.authToken = null;
    this.signing = null;
  }

  /** `POST /v1/authenticate`: a session token (the demo asks no password). */
  authenticate() {
    this.signing ??= call("/v1/authenticate", { body: { identity: this.identity } })
      .then(({ authToken }) => {
        if (typeof authToken !== "string") throw new ApiError("The demo server sent no authToken.");
        this.authToken = authToken;
        return authToken;
      })
      .finally(() => {
        this.signing = null;
      });
    return this.signing;
  }

  /** A call with the session token; an expired session is renewed once. */
  async authed(path, options = {}) {
    if (!this.authToken) await this.authenticate();
    try {
      return await call(path, { ...options, token: this.authToken });
    } catch (error) {
      if (error?.status !== 401) throw error;
      await this.authenticate();
      return call(path, { ...options, token: this.authToken });
    }
  }

  /** `getToken` for `ChatSeal.open`: a fresh directory JWT on every call. */
  chatsealToken = async () => {
    const { token } = await this.authed("/v1/chatseal-credentials");
    if (typeof token !== "string") throw new ApiError("The demo server sent no directory token.");
    return token;
  };

  /** `{ apiKey, token, user, baseUrl }` for the chat client. */
  streamCredentials() {
    return this.authed("/v1/stream-credentials");
  }

  /** The relay's stored rows of a channel (404 when the relay is not in use). */
  storedMessages(type, id, signal) {
    const path = `/v1/relay/channels/${encodeURIComponent(type)}/${encodeURIComponent(id)}/stored`;
    return this.authed(path, { method: "GET", signal });
  }
}
