// The floor in a benchmark page (served as /dist/floor.js by run.mjs next to the
// wasm-bindgen web glue): `init` as the other libraries' entries, and `measure`, which
// times the primitives one call at a time (as workloads.js times the libraries).
import start, * as floor from "./chatseal_floor.js";

export const init = () => start();

function timeEach(warmup, samples, f) {
  const out = [];
  for (let i = 0; i < warmup + samples; i++) {
    const t0 = performance.now();
    f();
    const ms = performance.now() - t0;
    if (i >= warmup) out.push(ms);
  }
  return out;
}

/** Per-call samples (ms) of each primitive: { name: [ms, …] }. */
export function measure(warmup = 30, samples = 120) {
  const secret = floor.random(32);
  const pub = floor.x25519_public(secret);
  const info = floor.random(60);
  const aad = floor.random(32);
  const cek = floor.random(32);
  const sealed = floor.hpke_seal(pub, info, aad, cek);
  const seed = floor.random(32);
  const signed = floor.random(560);
  const sig = floor.ed25519_sign(seed, signed);
  const verifier = new floor.Verifier(floor.ed25519_public(seed));
  const peer = floor.random(32);
  if (!verifier.verify(signed, sig)) throw new Error("floor verify failed");
  return {
    openVerify: timeEach(warmup, samples, () => {
      floor.hpke_open(secret, info, aad, sealed);
      verifier.verify(signed, sig);
    }),
    open: timeEach(warmup, samples, () => floor.hpke_open(secret, info, aad, sealed)),
    verify: timeEach(warmup, samples, () => verifier.verify(signed, sig)),
    x25519: timeEach(warmup, samples, () => floor.x25519(secret, peer)),
    seal: timeEach(warmup, samples, () => floor.hpke_seal(pub, info, aad, cek)),
  };
}
