// The three libraries behind one small interface, so that every workload runs the same
// code around them. Each factory takes the library's module (loaded by the page bundle or
// by the Node child), so this file imports nothing and runs unchanged in both places.
//
// Every adapter does what an app on that library sends through a text chat:
//   encrypt(sender, text, otherPubs, context) → the message as text (what the chat carries)
//   decrypt(recipient, wire, senderPub, senderId, context, otherPubs) → the plaintext string,
//     after authenticating the sender (chatseal's message to one other person is a §11
//     pairwise message, authenticated by the pair's shared key and not signed; the peers
//     check a signature); `otherPubs`, optional and untimed, are the keys a sender reading
//     its own copy may need besides its own (chatseal's pairwise copy needs the recipient's)
//   encryptBytes / decryptBytes: the same for a Uint8Array.
// `otherPubs` are the recipients other than the sender; every adapter also encrypts to
// the sender's own key (chatseal always does; e3kit adds the user's own key the same way),
// so "2 recipients" is {bob, sender} and "50 recipients" is 49 others + the sender.
//
// Channels (the group workloads): one sender's messages to the members `otherPubs` + itself.
//   openChannel(sender, otherPubs, context) → channel   set-up, once per channel
//   channelEncrypt(sender, channel, text) → the message as text
//   joinChannel(member, channel, senderPub) → reader     what a member does once to read
//   channelDecrypt(reader, wire, senderPub, senderId, context) → the plaintext string
//   closeChannel(channel), leaveChannel(reader)          free what the library allocated
// chatseal (`groupSessions: true`) does it with a group session (PROTOCOL §9): openChannel
// starts one and shares it to every member, the sender included (one `csp2.` share per
// card, PROTOCOL §11); every message is then one `csg2.` text; a member opens its share once. The peers
// have no group sessions: their channel is the member list, every message is their
// multi-recipient encrypt to all members (the same as `encrypt`), joining is nothing.

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: true });

/** chatseal's low-level API (`Identity`, cards, `csp2.` text to one other, else `csm2.`). */
export function chatsealAdapter(cs) {
  return {
    name: "chatseal",
    async init() {
      await cs.initAsync();
    },
    keygen(id) {
      const identity = cs.Identity.generate(id);
      return { id, identity, pub: identity.card() };
    },
    free(user) {
      user.pub.free();
      user.identity.free();
    },
    encrypt(sender, text, others, context) {
      return sender.identity.encrypt(text, others, { context });
    },
    decrypt(recipient, wire, senderPub, senderId, context, otherPubs) {
      const cards = otherPubs ? [senderPub, ...otherPubs] : [senderPub]; // the timed path: one card
      return recipient.identity.decrypt(wire, cards, { from: senderId, context }).text;
    },
    encryptBytes(sender, bytes, others, context) {
      return sender.identity.encryptBytes(bytes, others, { context });
    },
    decryptBytes(recipient, wire, senderPub, senderId, context) {
      return recipient.identity.decryptBytes(wire, [senderPub], { from: senderId, context }).data;
    },
    /** Bytes of the binary envelope inside the text form (`csp2.`, `csm2.` or `csg2.`: five characters). */
    binaryLength(wire) {
      return base64Length(wire.slice("csp2.".length));
    },
    groupSessions: true,
    openChannel(sender, others, context) {
      const cards = [...others, sender.pub];
      const session = sender.identity.startGroupSession(context);
      const shares = sender.identity.shareGroupSession(session, cards);
      if (shares.length !== cards.length) throw new Error("shareGroupSession: one share per card expected");
      return { session, cards, shares };
    },
    channelEncrypt(sender, channel, text) {
      return sender.identity.groupEncrypt(channel.session, text);
    },
    joinChannel(member, channel, senderPub) {
      const share = channel.shares[channel.cards.indexOf(member.pub)];
      if (share === undefined) throw new Error("not a member of the channel");
      return member.identity.acceptShare(share, [senderPub]);
    },
    channelDecrypt(inbound, wire, senderPub, senderId, context) {
      return inbound.decrypt(wire, [senderPub], { from: senderId, context }).text;
    },
    closeChannel(channel) {
      channel.session.free();
    },
    leaveChannel(inbound) {
      inbound.free();
    },
  };
}

/** The channel methods of a library without group sessions: every message is its
 *  multi-recipient `encrypt` to all the members (and the sender), as the group-50 workload. */
function perMessageChannels(adapter) {
  return Object.assign(adapter, {
    groupSessions: false,
    openChannel(_sender, others, context) {
      return { others, context };
    },
    channelEncrypt(sender, channel, text) {
      return adapter.encrypt(sender, text, channel.others, channel.context);
    },
    joinChannel(member) {
      return member;
    },
    channelDecrypt(member, wire, senderPub, senderId, context) {
      return adapter.decrypt(member, wire, senderPub, senderId, context);
    },
    closeChannel() {},
    leaveChannel() {},
  });
}

/** virgil-crypto 5 the way e3kit uses it: signThenEncrypt to the recipients and the
 *  sender's own key, base64 text; decryptThenVerify with the sender's public key. */
export function virgilAdapter(vc) {
  let crypto;
  return perMessageChannels({
    name: "virgil-crypto",
    async init() {
      await vc.initCrypto();
      crypto = new vc.VirgilCrypto();
    },
    keygen(id) {
      const keys = crypto.generateKeys();
      return { id, keys, pub: keys.publicKey };
    },
    free() {},
    encrypt(sender, text, others, _context) {
      return crypto.signThenEncrypt(text, sender.keys.privateKey, [...others, sender.pub]).toString("base64");
    },
    decrypt(recipient, wire, senderPub, _senderId, _context) {
      return crypto
        .decryptThenVerify({ value: wire, encoding: "base64" }, recipient.keys.privateKey, senderPub)
        .toString("utf8");
    },
    encryptBytes(sender, bytes, others, _context) {
      return crypto.signThenEncrypt(bytes, sender.keys.privateKey, [...others, sender.pub]).toString("base64");
    },
    decryptBytes(recipient, wire, senderPub, _senderId, _context) {
      return crypto.decryptThenVerify({ value: wire, encoding: "base64" }, recipient.keys.privateKey, senderPub);
    },
    binaryLength(wire) {
      return base64Length(wire);
    },
  });
}

/** libsodium-wrappers: per message a random XChaCha20-Poly1305 key, that key sealed
 *  (crypto_box_seal) to each recipient's X25519 key, and an Ed25519 detached signature
 *  over the whole envelope; URL-safe base64 text. Envelope:
 *  nonce(24) | count(2) | count × (key id(8) | sealed key(80)) | ciphertext+tag | signature(64)
 *  with the header and the context as the AEAD's associated data. */
export function sodiumAdapter(sodium) {
  const NONCE = 24;
  const STANZA = 8 + 32 + 48; // key id, sealed 32-byte key (crypto_box_SEALBYTES = 48)
  const SIG = 64;

  function seal(sender, plaintext, others, context) {
    const recipients = [...others, sender.pub];
    const key = sodium.crypto_aead_xchacha20poly1305_ietf_keygen();
    const headerLen = NONCE + 2 + recipients.length * STANZA;
    const ad = new Uint8Array(headerLen + context.length * 3);
    ad.set(sodium.randombytes_buf(NONCE), 0);
    ad[NONCE] = recipients.length >> 8;
    ad[NONCE + 1] = recipients.length & 0xff;
    let at = NONCE + 2;
    for (const r of recipients) {
      ad.set(r.kid, at);
      ad.set(sodium.crypto_box_seal(key, r.box), at + 8);
      at += STANZA;
    }
    const adLen = headerLen + utf8.encodeInto(context, ad.subarray(headerLen)).written;
    const ct = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
      plaintext,
      ad.subarray(0, adLen),
      null,
      ad.subarray(0, NONCE),
      key,
    );
    sodium.memzero(key);
    const out = new Uint8Array(headerLen + ct.length + SIG);
    out.set(ad.subarray(0, headerLen), 0);
    out.set(ct, headerLen);
    const body = out.subarray(0, headerLen + ct.length);
    out.set(sodium.crypto_sign_detached(body, sender.sign.privateKey), body.length);
    return sodium.to_base64(out, sodium.base64_variants.URLSAFE_NO_PADDING);
  }

  function open(recipient, wire, senderPub, context) {
    const bytes = sodium.from_base64(wire, sodium.base64_variants.URLSAFE_NO_PADDING);
    if (bytes.length < NONCE + 2 + SIG) throw new Error("malformed");
    const body = bytes.subarray(0, bytes.length - SIG);
    if (!sodium.crypto_sign_verify_detached(bytes.subarray(body.length), body, senderPub.sign)) {
      throw new Error("bad signature");
    }
    const count = (body[NONCE] << 8) | body[NONCE + 1];
    const headerLen = NONCE + 2 + count * STANZA;
    if (body.length < headerLen + 16) throw new Error("malformed");
    let sealed = null;
    for (let at = NONCE + 2; at < headerLen; at += STANZA) {
      if (sodium.memcmp(body.subarray(at, at + 8), recipient.pub.kid)) {
        sealed = body.subarray(at + 8, at + STANZA);
        break;
      }
    }
    if (!sealed) throw new Error("not a recipient");
    const key = sodium.crypto_box_seal_open(sealed, recipient.box.publicKey, recipient.box.privateKey);
    const ctx = utf8.encode(context);
    const ad = new Uint8Array(headerLen + ctx.length);
    ad.set(body.subarray(0, headerLen), 0);
    ad.set(ctx, headerLen);
    const plaintext = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
      null,
      body.subarray(headerLen),
      ad,
      body.subarray(0, NONCE),
      key,
    );
    sodium.memzero(key);
    return plaintext;
  }

  return perMessageChannels({
    name: "libsodium-wrappers",
    async init() {
      await sodium.ready;
    },
    keygen(id) {
      const sign = sodium.crypto_sign_keypair();
      const box = sodium.crypto_box_keypair();
      // The key id is the first 8 bytes of the X25519 public key (as a directory would index it).
      const pub = { sign: sign.publicKey, box: box.publicKey, kid: box.publicKey.slice(0, 8) };
      return { id, sign, box, pub };
    },
    free() {},
    encrypt(sender, text, others, context) {
      return seal(sender, utf8.encode(text), others, context);
    },
    decrypt(recipient, wire, senderPub, _senderId, context) {
      return fromUtf8.decode(open(recipient, wire, senderPub, context));
    },
    encryptBytes(sender, bytes, others, context) {
      return seal(sender, bytes, others, context);
    },
    decryptBytes(recipient, wire, senderPub, _senderId, context) {
      return open(recipient, wire, senderPub, context);
    },
    binaryLength(wire) {
      return base64Length(wire);
    },
  });
}

/** Decoded length of base64 / base64url text (with or without padding). */
export function base64Length(text) {
  const body = text.replace(/=+$/, "");
  return Math.floor((body.length * 3) / 4);
}
