// The JavaScript side of chatseal's WebAssembly module, in one file so that a page loads
// one snippet: `ChatSealError` (src/web/errors.rs), and the Web Locks and `wrapSend`
// helpers (src/web/js.rs).
export class ChatSealError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "ChatSealError";
    this.code = code;
  }
}
export function chatSealError(code, message) {
  return new ChatSealError(code, message);
}

export function withLock(name, run) {
  const locks = globalThis.navigator && globalThis.navigator.locks;
  return locks ? locks.request(name, { mode: "exclusive" }, () => run()) : run();
}
export function wrapSend(encrypt, send, opts) {
  if (typeof send !== "function") {
    throw new TypeError("wrapSend(send, { to, context }): send must be the chat SDK's send function");
  }
  if (!opts || typeof opts !== "object") {
    throw new TypeError("wrapSend(send, { to, context }): options are required");
  }
  return async function sealedSend(message, ...rest) {
    const text = typeof message === "string" ? message
      : message && typeof message.text === "string" ? message.text : null;
    if (text === null) {
      throw new TypeError("the wrapped send takes a string, or a message object with a string `text`");
    }
    const to = typeof opts.to === "function" ? await opts.to(message) : opts.to;
    const context = typeof opts.context === "function" ? await opts.context(message) : opts.context;
    const sealed = await encrypt(text, { to, context, signal: opts.signal });
    const out = typeof message === "string" ? sealed : { ...message, text: sealed };
    return send.call(this, out, ...rest);
  };
}

// Passkeys (PROTOCOL §4.1): the WebAuthn `prf` extension's 32-byte output for a salt, from
// a new credential (`passkeyCreate`) or one of the backups' credentials (`passkeyGet`).
// Nothing here is sent anywhere: the challenge is random because no server checks the
// assertion; only the PRF output is used, as a key, and only by the WebAssembly module.
function webauthn() {
  const credentials = globalThis.navigator && globalThis.navigator.credentials;
  if (typeof globalThis.PublicKeyCredential !== "function" || !credentials) {
    throw new ChatSealError("PasskeyUnsupported",
      "passkeys are not available: this browser has no WebAuthn (a secure context, https or localhost, is needed)");
  }
  return credentials;
}
function random(n) {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}
function b64u(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
function prfOf(credential, want) {
  const prf = credential.getClientExtensionResults().prf;
  const first = prf && prf.results && prf.results.first;
  if (first) return new Uint8Array(first instanceof ArrayBuffer ? first : first.buffer.slice(first.byteOffset, first.byteOffset + first.byteLength));
  if (want === "maybe" && prf && prf.enabled) return null;
  throw new ChatSealError("PasskeyUnsupported",
    "this passkey's authenticator has no PRF (the WebAuthn prf extension), so it cannot protect a backup; use another authenticator or a password backup");
}
function webauthnError(cause, doing, signal) {
  if (cause instanceof ChatSealError || (signal && signal.aborted)) return cause;
  const name = cause && cause.name;
  if (name === "NotAllowedError" || name === "AbortError") {
    return new ChatSealError("PasskeyCancelled", `${doing} was cancelled or timed out, or no matching passkey was chosen`);
  }
  if (name === "NotSupportedError") {
    return new ChatSealError("PasskeyUnsupported", `${doing}: this authenticator does not support what a passkey backup needs`);
  }
  return new ChatSealError("PasskeyUnsupported", `${doing} failed: ${cause && cause.message}`);
}
async function evaluate(credentials, rpId, allow, salts, signal) {
  const publicKey = {
    challenge: random(32),
    allowCredentials: allow.map((id) => ({ type: "public-key", id })),
    userVerification: "required",
    extensions: { prf: { evalByCredential: Object.fromEntries(allow.map((id, i) => [b64u(id), { first: salts[i] }])) } },
  };
  if (rpId) publicKey.rpId = rpId;
  const credential = await credentials.get({ publicKey, signal });
  return { credentialId: new Uint8Array(credential.rawId), prfOutput: prfOf(credential, "must") };
}
export async function passkeyCreate(identity, salt, opts) {
  const credentials = webauthn();
  const caps = typeof PublicKeyCredential.getClientCapabilities === "function"
    ? await PublicKeyCredential.getClientCapabilities().catch(() => ({})) : {};
  if (caps["extension:prf"] === false) {
    throw new ChatSealError("PasskeyUnsupported", "this browser has no WebAuthn prf extension, which a passkey backup needs");
  }
  const rp = { name: (opts && opts.rpName) || globalThis.location.hostname };
  if (opts && opts.rpId) rp.id = opts.rpId;
  let credential;
  try {
    credential = await credentials.create({
      publicKey: {
        rp,
        user: { id: random(16), name: identity, displayName: identity },
        challenge: random(32),
        pubKeyCredParams: [{ type: "public-key", alg: -7 }, { type: "public-key", alg: -257 }],
        authenticatorSelection: { residentKey: "preferred", userVerification: "required" },
        extensions: { prf: { eval: { first: salt } } },
      },
      signal: opts && opts.signal,
    });
  } catch (cause) {
    throw webauthnError(cause, "creating the passkey", opts && opts.signal);
  }
  const credentialId = new Uint8Array(credential.rawId);
  const output = prfOf(credential, "maybe");
  if (output) return { credentialId, prfOutput: output };
  // Many authenticators enable PRF at creation and evaluate it only on a later get.
  try {
    return await evaluate(credentials, opts && opts.rpId, [credentialId], [salt], opts && opts.signal);
  } catch (cause) {
    throw webauthnError(cause, "using the new passkey", opts && opts.signal);
  }
}
export async function passkeyGet(ids, salts, opts) {
  const credentials = webauthn();
  try {
    return await evaluate(credentials, opts && opts.rpId, ids, salts, opts && opts.signal);
  } catch (cause) {
    throw webauthnError(cause, "using the passkey", opts && opts.signal);
  }
}
