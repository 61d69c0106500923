// Riverside Family Clinic's messages page: plain JavaScript, no framework, no bundler.
// The import map in index.html points `chatseal/widget`, `chatseal` and `stream-chat` at
// files the server serves (vendor/, copied there by build.sh); the WebAssembly is its own
// file, compiled while it downloads.
//
// A real portal knows who is signed in and renders the chat's attributes into the page;
// this demo asks for a name, signs in at the demo backend (which sets a session cookie),
// and then `<chatseal-chat token-url>` fetches its tokens with that cookie.
import { define } from "chatseal/widget";

define();

const form = /** @type {HTMLFormElement} */ (document.getElementById("signin"));
const otherLabel = document.getElementById("other-label");
const otherInput = /** @type {HTMLInputElement} */ (document.getElementById("other"));
const problem = document.getElementById("signin-error");
const events = document.getElementById("events");

/** The channel of one patient and their clinician: the same id from both sides. */
const channelOf = (patient) => `messaging:care-${patient}`;

form.addEventListener("change", () => {
  const clinician = form.elements.namedItem("role").value === "clinician";
  otherLabel.textContent = clinician ? "Your patient" : "Your clinician";
  if (clinician && otherInput.value === "dr-lee") otherInput.value = "";
});

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    credentials: "include",
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path} answered HTTP ${response.status}`);
  return response.json();
}

function log(text) {
  const item = document.createElement("li");
  item.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  events.append(item);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  problem.textContent = "";
  const me = form.elements.namedItem("me").value.trim();
  const other = otherInput.value.trim();
  const role = form.elements.namedItem("role").value;
  const patient = role === "patient" ? me : other;
  try {
    await post("/v1/authenticate", { identity: me });
    // Where the chat is (the demo's local relay) and its API key: a real portal's server
    // writes these into the page.
    const chat = await post("/v1/stream-credentials");
    const element = document.createElement("chatseal-chat");
    element.setAttribute("api-key", chat.apiKey);
    if (chat.baseUrl) element.setAttribute("base-url", chat.baseUrl);
    element.setAttribute("user", me);
    element.setAttribute("channel", channelOf(patient));
    element.setAttribute("members", [me, other].join(","));
    element.setAttribute("directory", window.location.origin);
    element.setAttribute("token-url", "/v1/chatseal-credentials");
    element.addEventListener("chatseal-message", (e) => {
      const d = e.detail;
      log(`${d.mine ? "sent" : "received"} ${d.encrypted ? "an encrypted" : "a plain"} message (${d.status}${d.code ? `: ${d.code}` : ""})`);
    });
    element.addEventListener("chatseal-key-change", (e) => log(`${e.detail.identity}'s key changed`));
    element.addEventListener("chatseal-error", (e) => log(`error while ${e.detail.phase}: ${e.detail.label}`));
    document.getElementById("who").textContent =
      role === "patient" ? `You (${me}) and your clinician ${other}.` : `You (${me}) and your patient ${other}.`;
    document.getElementById("signin-card").hidden = true;
    document.getElementById("about").hidden = false;
    document.getElementById("main").classList.add("signed-in");
    const slot = document.getElementById("chat-slot");
    slot.hidden = false;
    slot.append(element);
  } catch (error) {
    problem.textContent = `Could not sign in: ${error.message}`;
  }
});
