// The workloads, the same for every library and for the browser and Node: each group
// runs in a fresh page (or a fresh Node process), warms up, then takes `samples` timed
// samples with performance.now(). Nothing here knows which library it drives.

export const CONTEXT = "channel-bench-42";
export const GROUPS = ["small", "history", "group50", "mib", "group500", "historyGroup"];

/** How many warm-ups and samples each group takes in one page; --quick divides.
 *  group500: `warmup` + `samples` messages; with group sessions also `setupWarmup` +
 *  `setupSamples` shares of a fresh session to all the members (the last one is kept). */
export const PLAN = {
  full: {
    small: { warmup: 30, samples: 120 },
    history: { warmup: 1, samples: 3, messages: 1000 },
    group50: { warmup: 5, samples: 25 },
    mib: { warmup: 2, samples: 6 },
    group500: { warmup: 2, samples: 10, setupWarmup: 1, setupSamples: 3, members: 500 },
    historyGroup: { warmup: 1, samples: 3, messages: 1000 },
  },
  quick: {
    small: { warmup: 5, samples: 20 },
    history: { warmup: 0, samples: 1, messages: 1000 },
    group50: { warmup: 2, samples: 5 },
    mib: { warmup: 1, samples: 2 },
    group500: { warmup: 1, samples: 3, setupWarmup: 1, setupSamples: 1, members: 500 },
    historyGroup: { warmup: 0, samples: 1, messages: 1000 },
  },
};

const utf8 = new TextEncoder();
// Two-, three- and four-byte UTF-8 in every message, like real chat text.
const BASE = "Résultats prêts — the lab says “all clear” 👍; see you Thursday at 10:30. ";

/** The i-th distinct chat message: exactly `bytes` bytes of UTF-8. */
export function message(i, bytes = 200) {
  let text = `#${i} ${BASE}`;
  while (utf8.encode(text).length < bytes) text += "abcdefghijklmnopqrstuvwxyz0123456789 "[(text.length + i) % 37];
  while (utf8.encode(text).length > bytes) text = text.slice(0, -1);
  if (utf8.encode(text).length !== bytes) throw new Error(`message ${i}: not ${bytes} bytes`);
  return text;
}

/** 1 MiB of deterministic bytes (not all zero, not all random). */
export function mebibyte() {
  const data = new Uint8Array(1 << 20);
  let x = 0x12345678;
  for (let i = 0; i < data.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    data[i] = x & 0xff;
  }
  return data;
}

function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function check(ok, what) {
  if (!ok) throw new Error(`wrong result: ${what}`);
}

/** Times `op(i)` for warmup + samples iterations; returns the samples in ms. */
function timeEach(warmup, samples, op) {
  const out = [];
  for (let i = 0; i < warmup + samples; i++) {
    const t0 = performance.now();
    op(i);
    const t = performance.now() - t0;
    if (i >= warmup) out.push(t);
  }
  return out;
}

/**
 * Runs one group against an initialised adapter. Returns
 * { metrics: { name: number[] (ms) }, info: { ... } }.
 */
export function runGroup(lib, group, plan) {
  const p = plan[group];
  const metrics = {};
  const info = {};
  const alice = lib.keygen("alice@bench");
  const bob = lib.keygen("bob@bench");
  const users = [alice, bob];
  try {
    if (group === "small") {
      metrics.keygen = timeEach(p.warmup, p.samples, (i) => {
        const u = lib.keygen(`user${i}@bench`);
        lib.free(u);
      });
      const n = p.warmup + p.samples;
      const texts = Array.from({ length: n }, (_, i) => message(i));
      const sealed = new Array(n);
      metrics.encrypt2 = timeEach(p.warmup, p.samples, (i) => {
        sealed[i] = lib.encrypt(alice, texts[i], [bob.pub], CONTEXT);
      });
      metrics.decrypt2 = timeEach(p.warmup, p.samples, (i) => {
        const got = lib.decrypt(bob, sealed[i], alice.pub, alice.id, CONTEXT);
        check(got === texts[i], "decrypt2");
      });
      // The sender reads its own copy too (the second recipient; a pairwise copy needs Bob's key).
      check(lib.decrypt(alice, sealed[0], alice.pub, alice.id, CONTEXT, [bob.pub]) === texts[0], "own copy");
      info.ciphertext = {
        plaintextBytes: utf8.encode(texts[0]).length,
        wireChars: sealed[0].length,
        binaryBytes: lib.binaryLength(sealed[0]),
      };
    } else if (group === "history") {
      const texts = Array.from({ length: p.messages }, (_, i) => message(i));
      const history = texts.map((t) => lib.encrypt(alice, t, [bob.pub], CONTEXT));
      const pass = (count) => {
        for (let i = 0; i < count; i++) {
          const got = lib.decrypt(bob, history[i], alice.pub, alice.id, CONTEXT);
          if (got !== texts[i]) check(false, `history ${i}`);
        }
      };
      for (let w = 0; w < p.warmup; w++) pass(texts.length);
      if (p.warmup === 0) pass(50);
      metrics.history1000 = timeEach(0, p.samples, () => pass(texts.length));
    } else if (group === "group50") {
      const others = [bob];
      for (let i = 0; i < 48; i++) {
        const u = lib.keygen(`member${i}@bench`);
        users.push(u);
        others.push(u);
      }
      const pubs = others.map((u) => u.pub); // 49 others + the sender = 50 recipients
      const n = p.warmup + p.samples;
      const texts = Array.from({ length: n }, (_, i) => message(i));
      let last = null;
      metrics.encrypt50 = timeEach(p.warmup, p.samples, (i) => {
        last = lib.encrypt(alice, texts[i], pubs, CONTEXT);
      });
      check(lib.decrypt(others[48], last, alice.pub, alice.id, CONTEXT) === texts[n - 1], "group50 last member");
      info.ciphertext50 = { wireChars: last.length, binaryBytes: lib.binaryLength(last) };
    } else if (group === "mib") {
      const data = mebibyte();
      const enc = [];
      const dec = [];
      const both = timeEach(p.warmup, p.samples, (i) => {
        const t0 = performance.now();
        const wire = lib.encryptBytes(alice, data, [bob.pub], CONTEXT);
        const t1 = performance.now();
        const back = lib.decryptBytes(bob, wire, alice.pub, alice.id, CONTEXT);
        const t2 = performance.now();
        if (i >= p.warmup) {
          enc.push(t1 - t0);
          dec.push(t2 - t1);
        }
        check(back.length === data.length, "mib length");
      });
      // Checked once outside the timing (a byte loop over 1 MiB).
      const wire = lib.encryptBytes(alice, data, [bob.pub], CONTEXT);
      check(equalBytes(lib.decryptBytes(bob, wire, alice.pub, alice.id, CONTEXT), data), "mib bytes");
      metrics.mib = both;
      metrics.mibEncrypt = enc;
      metrics.mibDecrypt = dec;
      info.ciphertextMib = { wireChars: wire.length, binaryBytes: lib.binaryLength(wire) };
    } else if (group === "group500") {
      // One message for a channel of `members` (the sender included), steady state: the
      // channel is set up first (chatseal: a group session shared to every member).
      const others = [bob];
      for (let i = 0; i < p.members - 2; i++) {
        const u = lib.keygen(`member${i}@bench`);
        users.push(u);
        others.push(u);
      }
      const pubs = others.map((u) => u.pub); // members − 1 others + the sender
      let channel = null;
      try {
        if (lib.groupSessions) {
          // The one-off set-up, timed on its own: a fresh session shared to all members
          // each time (the first call also verifies the members' cards once: a warm-up).
          metrics.share500 = [];
          for (let i = 0; i < p.setupWarmup + p.setupSamples; i++) {
            if (channel) lib.closeChannel(channel);
            channel = null;
            const t0 = performance.now();
            channel = lib.openChannel(alice, pubs, CONTEXT);
            const t = performance.now() - t0;
            if (i >= p.setupWarmup) metrics.share500.push(t);
          }
          check(channel.shares.length === p.members, "group500 one share per member");
          info.share500 = { shares: channel.shares.length, shareChars: channel.shares[0].length };
        } else {
          channel = lib.openChannel(alice, pubs, CONTEXT);
        }
        const n = p.warmup + p.samples;
        const texts = Array.from({ length: n }, (_, i) => message(i));
        let last = null;
        metrics.encrypt500 = timeEach(p.warmup, p.samples, (i) => {
          last = lib.channelEncrypt(alice, channel, texts[i]);
        });
        // The last member and the sender read the last message.
        for (const member of [others[others.length - 1], alice]) {
          const reader = lib.joinChannel(member, channel, alice.pub);
          try {
            check(lib.channelDecrypt(reader, last, alice.pub, alice.id, CONTEXT) === texts[n - 1], "group500 member");
          } finally {
            lib.leaveChannel(reader);
          }
        }
        info.ciphertext500 = { wireChars: last.length, binaryBytes: lib.binaryLength(last) };
      } finally {
        if (channel) lib.closeChannel(channel);
      }
    } else if (group === "historyGroup") {
      // 1,000 distinct messages of one channel of {bob, sender}, read by bob newest first
      // (as a chat UI renders them). Each pass joins the channel once (chatseal: opens its
      // share, acceptShare) and reads all the messages with what it joined.
      const channel = lib.openChannel(alice, [bob.pub], CONTEXT);
      try {
        const texts = Array.from({ length: p.messages }, (_, i) => message(i));
        const history = texts.map((t) => lib.channelEncrypt(alice, channel, t));
        const joins = [];
        const pass = (count) => {
          const t0 = performance.now();
          const reader = lib.joinChannel(bob, channel, alice.pub);
          joins.push(performance.now() - t0);
          try {
            for (let i = history.length - 1; i >= history.length - count; i--) {
              const got = lib.channelDecrypt(reader, history[i], alice.pub, alice.id, CONTEXT);
              if (got !== texts[i]) check(false, `history-group ${i}`);
            }
          } finally {
            lib.leaveChannel(reader);
          }
        };
        for (let w = 0; w < p.warmup; w++) pass(texts.length);
        if (p.warmup === 0) pass(50);
        joins.length = 0;
        metrics.historyGroup = timeEach(0, p.samples, () => pass(texts.length));
        if (lib.groupSessions) metrics.historyGroupJoin = joins;
        info.ciphertextHistoryGroup = { wireChars: history[0].length, binaryBytes: lib.binaryLength(history[0]) };
      } finally {
        lib.closeChannel(channel);
      }
    } else {
      throw new Error(`unknown group ${group}`);
    }
  } finally {
    for (const u of users) lib.free(u);
  }
  return { metrics, info };
}
