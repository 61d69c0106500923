// @ts-check
// chatseal/widget's words, English and Spanish; `define({ labels })` and the element's
// `labels` property override any of them. Internal to the package; widget.js re-exports
// `LABELS`. `{name}` and `{reason}` are filled in by the widget.

/** @typedef {import("./widget.js").WidgetLabels} WidgetLabels */

/** @type {WidgetLabels} */
const en = {
  title: "Secure messages",
  loading: "Opening your secure messages…",
  connecting: "Connecting…",
  online: "Connected · end-to-end encrypted",
  offline: "Connection lost. Reconnecting…",
  failed: "The conversation could not be opened: {reason}",
  anotherDevice: "your keys were made in another browser",
  empty: "No messages yet. Messages here are end-to-end encrypted.",
  log: "Messages",
  message: "Message",
  placeholder: "Write a message",
  send: "Send",
  sending: "Sending…",
  notSent: "Message not sent: {reason}",
  decrypting: "Decrypting…",
  you: "You",
  deleted: "This message was deleted",
  unencrypted: "not end-to-end encrypted",
  keyChangedMark: "key changed",
  keyChanged: "{name}'s security key changed. Messages to {name} are not sent until you accept the new key. Compare safety numbers with {name} first, in person or on a call.",
  accept: "I checked, accept",
  errors: {
    "can't decrypt": "can't decrypt",
    "can't verify sender": "can't verify sender",
    "not for this device": "not for this device",
    "from another conversation": "from another conversation",
    "damaged message": "damaged message",
    "can't reach the key directory": "can't reach the key directory",
    "this device's key storage failed": "this device's key storage failed",
  },
};

/** @type {WidgetLabels} */
const es = {
  title: "Mensajes seguros",
  loading: "Abriendo sus mensajes seguros…",
  connecting: "Conectando…",
  online: "Conectado · cifrado de extremo a extremo",
  offline: "Se perdió la conexión. Reconectando…",
  failed: "No se pudo abrir la conversación: {reason}",
  anotherDevice: "sus claves se crearon en otro navegador",
  empty: "Todavía no hay mensajes. Los mensajes aquí están cifrados de extremo a extremo.",
  log: "Mensajes",
  message: "Mensaje",
  placeholder: "Escriba un mensaje",
  send: "Enviar",
  sending: "Enviando…",
  notSent: "Mensaje no enviado: {reason}",
  decrypting: "Descifrando…",
  you: "Usted",
  deleted: "Este mensaje fue eliminado",
  unencrypted: "sin cifrado de extremo a extremo",
  keyChangedMark: "la clave cambió",
  keyChanged: "La clave de seguridad de {name} cambió. Los mensajes para {name} no se envían hasta que acepte la nueva clave. Compare antes los números de seguridad con {name}, en persona o por teléfono.",
  accept: "Lo comprobé, aceptar",
  errors: {
    "can't decrypt": "no se puede descifrar",
    "can't verify sender": "no se puede verificar el remitente",
    "not for this device": "no es para este dispositivo",
    "from another conversation": "de otra conversación",
    "damaged message": "mensaje dañado",
    "can't reach the key directory": "no se puede contactar el directorio de claves",
    "this device's key storage failed": "falló el almacén de claves de este dispositivo",
  },
};

/** @type {typeof import("./widget.js").LABELS} */
export const LABELS = Object.freeze({ en, es });

/**
 * The labels for `lang` ("es-MX" → Spanish, anything unknown → English), with `overrides`
 * (per language, from `define`) and then `own` (the element's `labels`) on top.
 * @param {string} lang
 * @param {Record<string, Partial<WidgetLabels>>} overrides
 * @param {Partial<WidgetLabels> | null} own
 * @returns {WidgetLabels}
 */
export function labelsFor(lang, overrides, own) {
  const base = lang.toLowerCase().split("-")[0] || "en";
  const shipped = base === "es" ? es : en;
  const layers = [shipped, overrides[base] ?? {}, own ?? {}];
  /** @type {WidgetLabels} */
  const merged = Object.assign({}, ...layers);
  merged.errors = Object.assign({}, ...layers.map((l) => l.errors ?? {}));
  return merged;
}

/**
 * `template` with `{name}`-style fields filled in (as text: the result goes into textContent).
 * @param {string} template
 * @param {Record<string, string>} fields
 */
export function fill(template, fields) {
  return template.replace(/\{(\w+)\}/g, (whole, key) => (Object.hasOwn(fields, key) ? fields[key] : whole));
}
