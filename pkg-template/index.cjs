// chatseal for Node (CommonJS): the WebAssembly module loads synchronously on require.
"use strict";
const wasm = require("./nodejs/chatseal.js");

module.exports = {
  ChatSeal: wasm.ChatSeal,
  Identity: wasm.Identity,
  Card: wasm.Card,
  ChatSealError: wasm.chatSealErrorClass(),
  isEncrypted: wasm.isEncrypted,
  initAsync: () => Promise.resolve(),
  isReady: () => true,
};
