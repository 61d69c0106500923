// Where the chat client connects. The demo backend says so in `baseUrl` of
// /v1/stream-credentials: the local chat relay (normally this origin), or null for
// Stream's own cloud (the server has real Stream keys; no baseURL is passed then).
//
// Developers may point the app at another relay with `?streamBase=URL` (kept for the tab;
// `?streamBase=` clears it). That is honoured by the dev server and on loopback hosts only,
// so a link cannot send a real user's chat traffic elsewhere.
import { session } from "./storage.js";

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

function allowed() {
  return import.meta.env.DEV || LOOPBACK.test(window.location.hostname);
}

function validUrl(text) {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href.replace(/\/$/, "") : null;
  } catch {
    return null;
  }
}

/** The developer's override, if any (and allowed here). */
export function streamBaseOverride() {
  if (!allowed()) return null;
  const asked = new URLSearchParams(window.location.search).get("streamBase");
  if (asked !== null) session.set("streamBase", asked === "" ? null : validUrl(asked));
  return session.get("streamBase") ?? (import.meta.env.DEV ? validUrl(import.meta.env.VITE_STREAM_BASE ?? "") : null);
}

/** The `baseURL` option for `new StreamChat`, or undefined for Stream's cloud. */
export function resolveStreamBase(baseUrl) {
  const override = streamBaseOverride();
  if (override) return override;
  if (typeof baseUrl !== "string" || baseUrl === "") return undefined;
  if (import.meta.env.DEV && import.meta.env.VITE_PROXY_STREAM === "1") {
    // `node dev/dev.js --relay`: Vite proxies the relay's paths, so stay on this origin.
    const path = new URL(baseUrl, window.location.origin).pathname.replace(/\/$/, "");
    return window.location.origin + path;
  }
  return baseUrl;
}
