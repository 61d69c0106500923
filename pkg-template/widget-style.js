// @ts-check
// chatseal/widget's stylesheet, adopted into each element's shadow root as a constructable
// stylesheet (no <style> element, no style attribute: nothing a strict CSP must allow).
// Theming: the --chatseal-* custom properties below, and ::part(…) for every block.
// Internal to the package.

/** The dark theme's values, for `prefers-color-scheme: dark` and for `theme="dark"`. */
const DARK = `
  --chatseal-bg: #16181d;
  --chatseal-fg: #e6e8eb;
  --chatseal-muted: #a4acb6;
  --chatseal-border: #6e7781;
  --chatseal-accent: #8ab4f8;
  --chatseal-accent-fg: #0b1a33;
  --chatseal-mine-bg: #1f3556;
  --chatseal-theirs-bg: #252930;
  --chatseal-warn-bg: #3d3200;
  --chatseal-warn-fg: #ffe8a3;
  --chatseal-error: #f2b8b5;
  --chatseal-focus: #8ab4f8;
  color-scheme: dark;
`;

export const CSS = `
:host {
  --chatseal-bg: #ffffff;
  --chatseal-fg: #1b1f24;
  --chatseal-muted: #57606a;
  --chatseal-border: #8c959f;
  --chatseal-accent: #0b57d0;
  --chatseal-accent-fg: #ffffff;
  --chatseal-mine-bg: #e8f0fe;
  --chatseal-theirs-bg: #f1f3f4;
  --chatseal-warn-bg: #fff4ce;
  --chatseal-warn-fg: #4d3800;
  --chatseal-error: #b3261e;
  --chatseal-focus: #0b57d0;
  --chatseal-radius: 0.75rem;
  --chatseal-font: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  display: block;
  height: var(--chatseal-height, 32rem);
  min-height: 16rem;
  color: var(--chatseal-fg);
  background: var(--chatseal-bg);
  font-family: var(--chatseal-font);
  font-size: 1rem;
  line-height: 1.4;
  color-scheme: light;
}
@media (prefers-color-scheme: dark) { :host(:not([theme="light"])) { ${DARK} } }
:host([theme="dark"]) { ${DARK} }
:host([hidden]) { display: none; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
.chat {
  display: flex;
  flex-direction: column;
  height: 100%;
  border: 1px solid var(--chatseal-border);
  border-radius: var(--chatseal-radius);
  overflow: hidden;
  background: var(--chatseal-bg);
}
.header {
  display: flex;
  flex-wrap: wrap;
  align-items: baseline;
  justify-content: space-between;
  gap: 0.25rem 1rem;
  padding: 0.625rem 0.875rem;
  border-bottom: 1px solid var(--chatseal-border);
}
.title { margin: 0; font-size: 1.0625rem; font-weight: 600; }
.status { margin: 0; font-size: 0.875rem; color: var(--chatseal-muted); }
.status[data-state="offline"], .status[data-state="failed"] { color: var(--chatseal-error); }
.banners:empty { display: none; }
.banner {
  display: flex;
  flex-wrap: wrap;
  align-items: center;
  gap: 0.5rem 1rem;
  margin: 0;
  padding: 0.625rem 0.875rem;
  background: var(--chatseal-warn-bg);
  color: var(--chatseal-warn-fg);
  border-bottom: 1px solid var(--chatseal-border);
}
.banner p { margin: 0; flex: 1 1 16rem; }
.log {
  flex: 1 1 auto;
  overflow-y: auto;
  padding: 0.75rem 0.875rem;
  display: flex;
  flex-direction: column;
  gap: 0.5rem;
}
.empty { margin: auto; max-width: 24rem; text-align: center; color: var(--chatseal-muted); }
.message {
  max-width: min(36rem, 85%);
  padding: 0.5rem 0.75rem;
  border-radius: var(--chatseal-radius);
  background: var(--chatseal-theirs-bg);
  align-self: flex-start;
  overflow-wrap: anywhere;
}
.message[data-mine] { background: var(--chatseal-mine-bg); align-self: flex-end; }
.meta { display: flex; gap: 0.5rem; font-size: 0.8125rem; color: var(--chatseal-muted); }
.author { font-weight: 600; }
.text { margin: 0.125rem 0 0; white-space: pre-wrap; }
.message[data-status="pending"] .text { color: var(--chatseal-muted); font-style: italic; }
.message[data-status="error"] .text { color: var(--chatseal-error); font-style: italic; }
.notice { display: block; margin-top: 0.125rem; font-size: 0.8125rem; color: var(--chatseal-muted); }
.message[data-key-changed] .notice { color: var(--chatseal-error); }
.composer {
  display: flex;
  gap: 0.5rem;
  align-items: flex-end;
  padding: 0.625rem 0.875rem;
  border-top: 1px solid var(--chatseal-border);
}
.composer-error:empty { display: none; }
.composer-error { margin: 0; padding: 0.5rem 0.875rem 0; color: var(--chatseal-error); font-size: 0.875rem; }
.field { flex: 1 1 auto; display: flex; flex-direction: column; min-width: 0; }
.visually-hidden {
  position: absolute;
  width: 1px;
  height: 1px;
  padding: 0;
  margin: -1px;
  overflow: hidden;
  clip: rect(0 0 0 0);
  white-space: nowrap;
  border: 0;
}
textarea, input {
  width: 100%;
  min-height: 2.75rem;
  padding: 0.5rem 0.75rem;
  font: inherit;
  color: var(--chatseal-fg);
  background: var(--chatseal-bg);
  border: 1px solid var(--chatseal-border);
  border-radius: 0.5rem;
}
textarea { max-height: 8rem; resize: vertical; }
textarea::placeholder, input::placeholder { color: var(--chatseal-muted); opacity: 1; }
button {
  font: inherit;
  font-weight: 600;
  min-height: 2.75rem;
  padding: 0.5rem 1rem;
  border: 1px solid var(--chatseal-accent);
  border-radius: 0.5rem;
  background: var(--chatseal-accent);
  color: var(--chatseal-accent-fg);
  cursor: pointer;
}
button:disabled { cursor: default; opacity: 0.7; }
.banner button { min-height: 2.25rem; }
.keys-toggle { min-height: 2.25rem; padding: 0.25rem 0.75rem; background: transparent; color: var(--chatseal-accent); }
.keys-panel {
  display: flex;
  flex-direction: column;
  gap: 0.625rem;
  padding: 0.75rem 0.875rem;
  overflow-y: auto;
  border-bottom: 1px solid var(--chatseal-border);
}
.keys-panel:not(.keys-menu) { flex: 1 1 auto; border-bottom: 0; }
.keys-menu { flex: 0 0 auto; max-height: 75%; }
.keys-title { margin: 0; font-size: 1rem; font-weight: 600; }
.keys-subtitle { margin: 0.25rem 0 0; font-size: 0.9375rem; font-weight: 600; }
.keys-panel p { margin: 0; }
.keys-intro, .keys-note { color: var(--chatseal-muted); font-size: 0.875rem; }
.keys-note:empty, .keys-error:empty { display: none; }
.keys-error { color: var(--chatseal-error); font-size: 0.875rem; }
.keys-row { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: flex-end; }
.keys-field { flex: 1 1 12rem; display: flex; flex-direction: column; gap: 0.25rem; min-width: 0; font-size: 0.875rem; }
.keys-panel > button { align-self: flex-start; }
.link-box { display: flex; flex-direction: column; gap: 0.5rem; align-items: flex-start; }
.link-box:empty { display: none; }
.link-box > label { font-size: 0.875rem; }
.qr { width: 10rem; height: 10rem; }
.link-code { font-size: 1.75rem; font-weight: 700; letter-spacing: 0.2em; font-variant-numeric: tabular-nums; }
.link-text { font-family: ui-monospace, monospace; font-size: 0.8125rem; }
input:focus-visible, textarea:focus-visible, button:focus-visible, .log:focus-visible {
  outline: 3px solid var(--chatseal-focus);
  outline-offset: 2px;
}
.log:focus-visible { outline-offset: -3px; }
@media (prefers-reduced-motion: no-preference) {
  .log { scroll-behavior: smooth; }
}
`;
