// How long `ChatSeal.decrypt()` takes to queue a call (the synchronous part the caller
// pays): 1,000 calls in one task, 5 rounds, in Node on pkg/nodejs. No directory is
// reached: the texts are refused once the queue runs, after the timing.
// Usage: node benches/browser/calls.cjs   (after `make pkg`)
const path = require("node:path");
const { ChatSeal } = require(path.join(__dirname, "../../pkg/nodejs/chatseal.js"));

(async () => {
  const seal = await ChatSeal.open({
    identity: "a@bench",
    directoryUrl: "http://127.0.0.1:9",
    getToken: async () => "unused",
    storage: "memory",
  });
  // The length of a 200-byte pairwise message (PROTOCOL §11) with the benchmarks' 16-byte
  // context: 52-byte header, 271 bytes of fields padded to 288, a 16-byte tag.
  const text = "csp2." + "A".repeat(475);
  for (let round = 1; round <= 5; round++) {
    const start = performance.now();
    const pending = [];
    for (let i = 0; i < 1000; i++) pending.push(seal.decrypt(text, { from: "b@bench" }).catch(() => {}));
    const ms = performance.now() - start;
    await Promise.all(pending);
    console.log(`round ${round}: 1,000 decrypt() calls queued in ${ms.toFixed(2)} ms`);
  }
})();
