// @ts-check
// chatseal for Node as CommonJS: the same objects as the ES module entry (require of an
// ES module, Node >= 20.19).
"use strict";
module.exports = require("./index.mjs");
