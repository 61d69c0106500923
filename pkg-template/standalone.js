// chatseal as one ES module for pages without a bundler:
//   <script type="module"> import { ChatSeal, define } from "./chatseal.standalone.js"; </script>
// The WebAssembly module is inside this file and starts loading when it is imported.
import { initAsync } from "./index.js";
import wasmBase64 from "./wasm-base64.js";

export * from "./index.js";
export { define } from "./element.js";
export { describeError } from "./labels.js";

const bytes = Uint8Array.from(atob(wasmBase64), (c) => c.charCodeAt(0));
initAsync(bytes).catch(() => {
  // Reported again by the first ChatSeal.open or initAsync call.
});
