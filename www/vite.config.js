// The demo's Vite config. Nothing chatseal-specific is needed to bundle the package (it
// loads its .wasm through `new URL(…, import.meta.url)`); what is here is the dev wiring:
// `/v1` (the demo backend: authentication, credentials) and `/v2` (the key directory,
// PROTOCOL §7) are proxied to `chatseal-relay`, so the app talks to one origin exactly as when that server
// serves dist/. dev/dev.js sets the variables; `npm run dev` alone uses the defaults.
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

const demo = process.env.CHATSEAL_DEMO_URL || "http://127.0.0.1:8787";

function proxy() {
  return {
    "/v1": { target: demo, changeOrigin: true },
    "/v2": { target: demo, changeOrigin: true },
    // Stream's REST paths and its WebSocket, as the demo's chat relay serves them at its root.
    "^/(connect|channels|messages|users|app|og|devices|threads|drafts|moderation)(/|\\?|$)": {
      target: demo,
      changeOrigin: true,
      ws: true,
    },
  };
}

export default defineConfig({
  plugins: [react()],
  server: { proxy: proxy() },
  preview: { proxy: proxy() },
  build: {
    target: "es2022",
    sourcemap: true,
    // The chat (everything under src/chat/) is loaded only after the keys step, and its
    // libraries go in chunks of their own so that an app update does not re-download them.
    // The largest is stream-chat-react's own code (about 1 MB minified, 280 kB gzipped, of
    // which its bundled translations are a third): one library, not splittable from here.
    chunkSizeWarningLimit: 1100,
    rolldownOptions: {
      output: {
        codeSplitting: {
          // Higher priority captures first (with its dependencies), so stream-chat-react's
          // own chunk holds only its own code.
          groups: [
            // Vite's preload helper is shared by the entry and the chat: in a chunk of its own,
            // the sign-in screen does not pull stream-chat-react in with it.
            { name: "preload", test: /preload-helper/, priority: 5 },
            { name: "react", test: /node_modules[\\/](react|react-dom|scheduler)[\\/]/, priority: 4 },
            { name: "stream-chat", test: /node_modules[\\/]stream-chat[\\/]/, priority: 3 },
            { name: "chat-ui", test: /node_modules[\\/](?!stream-chat-react[\\/]|chatseal[\\/])/, priority: 2 },
            { name: "stream-chat-react", test: /node_modules[\\/]stream-chat-react[\\/]/, priority: 1 },
          ],
        },
      },
    },
  },
});
