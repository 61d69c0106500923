// @ts-check
// chatseal/widget's words, English and Spanish; `define({ labels })` and the element's
// `labels` property override any of them. Internal to the package; widget.js re-exports
// `LABELS`. `{name}`, `{reason}` and `{code}` are filled in by the widget.

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
  restoreTitle: "Your keys are in another browser",
  restoreIntro: "Bring them to this browser with your backup password, with a passkey, or from a device that has them.",
  password: "Backup password",
  restore: "Restore",
  restoring: "Restoring…",
  restorePasskey: "Restore with a passkey",
  waitingPasskey: "Waiting for your passkey…",
  linkStart: "Link from another device",
  linkQr: "QR code to scan from your other device",
  linkHelp: "On a device that has your keys, open Keys → Link a new device, and scan this code or type the text below there. Waiting for it…",
  linkText: "Link text",
  linkCompare: "Does your other device show this code?",
  linkMatch: "The codes match",
  cancel: "Cancel",
  keys: "Keys",
  close: "Close",
  addPasskey: "Add a passkey",
  passkeyAdded: "Passkey saved. A new browser can restore your keys with this passkey alone.",
  linkDevice: "Link a new device",
  linkDeviceText: "The new device's link text",
  sendKeys: "Send my keys",
  linkSent: "Sent. The new device should show {code}. If it shows another code, cancel there.",
  keyFailed: "That did not work: {reason}",
  codes: {
    NoBackup: "There is no backup to restore yet. Add a passkey, or link this browser, from a browser that has your keys.",
    PasskeyUnsupported: "This browser or security key cannot protect your keys with a passkey. Use your password or link this browser instead.",
    PasskeyCancelled: "The passkey prompt was closed; nothing changed. Try again when you are ready.",
    LinkExpired: "Nothing arrived within five minutes. Start again.",
    LinkUsed: "That link was already used. Start again on the new device.",
    LinkRejected: "The keys that arrived are not your current ones, so nothing was stored. Start again from your newest browser.",
    Integrity: "That did not open your keys: a wrong password or passkey, or what arrived was not sealed for this browser.",
    Malformed: "That is not a chatseal link text. Check the text on the new device.",
  },
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
  restoreTitle: "Sus claves están en otro navegador",
  restoreIntro: "Tráigalas a este navegador con su contraseña de respaldo, con una llave de acceso o desde un dispositivo que las tenga.",
  password: "Contraseña de respaldo",
  restore: "Restaurar",
  restoring: "Restaurando…",
  restorePasskey: "Restaurar con una llave de acceso",
  waitingPasskey: "Esperando su llave de acceso…",
  linkStart: "Vincular desde otro dispositivo",
  linkQr: "Código QR para escanear desde su otro dispositivo",
  linkHelp: "En un dispositivo que tenga sus claves, abra Claves → Vincular un dispositivo nuevo y escanee este código o escriba allí el texto de abajo. Esperando…",
  linkText: "Texto del vínculo",
  linkCompare: "¿Su otro dispositivo muestra este código?",
  linkMatch: "Los códigos coinciden",
  cancel: "Cancelar",
  keys: "Claves",
  close: "Cerrar",
  addPasskey: "Añadir una llave de acceso",
  passkeyAdded: "Llave de acceso guardada. Un navegador nuevo puede restaurar sus claves solo con ella.",
  linkDevice: "Vincular un dispositivo nuevo",
  linkDeviceText: "El texto del vínculo del dispositivo nuevo",
  sendKeys: "Enviar mis claves",
  linkSent: "Enviado. El dispositivo nuevo debería mostrar {code}. Si muestra otro código, cancele allí.",
  keyFailed: "No funcionó: {reason}",
  codes: {
    NoBackup: "Todavía no hay un respaldo que restaurar. Añada una llave de acceso, o vincule este navegador, desde un navegador que tenga sus claves.",
    PasskeyUnsupported: "Este navegador o llave de seguridad no puede proteger sus claves con una llave de acceso. Use su contraseña o vincule este navegador.",
    PasskeyCancelled: "Se cerró la solicitud de la llave de acceso; nada cambió. Inténtelo de nuevo cuando quiera.",
    LinkExpired: "No llegó nada en cinco minutos. Empiece de nuevo.",
    LinkUsed: "Ese vínculo ya se usó. Empiece de nuevo en el dispositivo nuevo.",
    LinkRejected: "Las claves que llegaron no son las actuales, así que no se guardó nada. Empiece de nuevo desde su navegador más reciente.",
    Integrity: "Eso no abrió sus claves: una contraseña o llave de acceso equivocada, o lo que llegó no estaba sellado para este navegador.",
    Malformed: "Eso no es un texto de vínculo de chatseal. Revise el texto en el dispositivo nuevo.",
  },
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
  merged.codes = Object.assign({}, ...layers.map((l) => l.codes ?? {}));
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
