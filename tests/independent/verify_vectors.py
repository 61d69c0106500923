#!/usr/bin/env python3
"""Independent check of the chatseal v1 test vectors against PROTOCOL.md §1-§5,
§9 (group sessions: group_messages.json, and the "group" cases of invalid.json)
and §10 (attachments: files.json, and the "file" and "descriptor" cases of
invalid.json).

Written from /work/shared/spec/PROTOCOL.md (and RFC 9180 / RFC 8032 / RFC 7748 /
RFC 9106) only, without reading the Rust sources, so that a disagreement between
this file and the vectors points at a place where one of the two departs from the
spec.

Usage:  python verify_vectors.py [VECTORS_DIR] [-v]
        VECTORS_DIR defaults to ../vectors relative to this file; -v prints the
        reason behind every expected rejection in invalid.json.

Environment this was written and run with (python3 -m venv /work/pyenv-verify;
pins in requirements.txt beside this file), CPython 3.11.7:
    cryptography==50.0.2         X25519, Ed25519 signing, ChaCha20Poly1305, SHA-2
    PyNaCl==1.6.2                XChaCha20Poly1305 (crypto_aead_xchacha20poly1305_ietf_*)
                                 and strict Ed25519 verification (bundled libsodium)
    argon2-cffi==25.1.0          Argon2id v0x13 (argon2.low_level.hash_secret_raw)
    argon2-cffi-bindings==26.2.0, cffi==2.1.1, pycparser==3.12 (dependencies)

Ed25519 verification ("verify_strict" in the spec) is libsodium's
crypto_sign_open, reached through nacl.bindings.crypto_sign_open. libsodium's
verifier (without ED25519_COMPAT, as PyNaCl builds it) rejects a non-canonical S
(S >= L), a small-order R, a small-order public key and a non-canonical public key
encoding, and checks the cofactorless equation by comparing the encoding of R: the
same acceptance set as ed25519-dalek's verify_strict for every input in the
vectors (libsodium is, if anything, stricter: it also rejects a non-canonical A).
PyNaCl 1.6 exposes no crypto_sign_verify_detached binding; crypto_sign_open calls
the same internal verify_detached routine. The self-test below shows that it
rejects what a non-strict verifier accepts.

HPKE (RFC 9180 mode_base, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
ChaCha20Poly1305) is implemented here from the RFC on top of HMAC-SHA256, X25519
and ChaCha20Poly1305, and self-tested against RFC 9180 Appendix A.2.1.

§9's chain-key ratchet is HMAC-SHA256 (Python's hmac/hashlib, self-tested against
RFC 4231 test cases 1 and 2). A group case of invalid.json is decrypted with the
shares it lists (what the directory returns for the session), each share opened
with this file's §3 decryption. One rule of the group decoder is not in §9's text:
when no share is accepted and one of them failed its §3 checks with BadSignature,
the error is BadSignature rather than NoSessionKey (the rule names say so, and -v
shows where it decides a case).

§10 (files.json, and the "file" and "descriptor" cases of invalid.json): a
files.json element's plaintext is encrypted here under its file_key with
ChaCha20Poly1305 and compared with its `encrypted` byte for byte; its descriptor
is rebuilt (size = the plaintext's length, hash = SHA-256 of `encrypted`) and
compared byte for byte; the vector's descriptor is decoded and the vector's file
decrypted back. A "file" case's from_file segments are cut from the `encrypted`
of the files.json element with that description. The reader checks the hash first
(Integrity), then the "CSF1" magic (Malformed: §10 names no error for it; the
§2-§4 magics are Malformed), then reads chunks as a stream does: the next 64 KiB
+ 16 bytes, opened as the final chunk exactly when nothing follows. The comments
at the §10 code below name the places where this file reads §10 rather than
quotes it (u88, the size, UTF-8 texts, canonical chunking).
"""

import base64
import hashlib
import hmac
import json
import os
import struct
import sys
import time
import traceback
import unicodedata

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
import nacl.bindings
import nacl.exceptions

VERBOSE = False

# --------------------------------------------------------------------------- errors


ERROR_NAMES = ("Malformed", "BadSignature", "NotARecipient", "Integrity",
               "UnknownSender", "SenderMismatch", "ContextMismatch",
               "NoSessionKey")  # §9


class ProtoError(Exception):
    """A rejection with one of the spec's error names, plus the rule that fired."""

    def __init__(self, name, rule, detail=""):
        assert name in ERROR_NAMES, name
        super().__init__(f"{name} [{rule}] {detail}".rstrip())
        self.name = name
        self.rule = rule
        self.detail = detail


def fail(name, rule, detail=""):
    raise ProtoError(name, rule, detail)


# Every rule this decoder can reject with, so that invalid.json's coverage can be
# reported (§8: "invalid.json holds at least one case for every rejection rule
# named in §2-§4"; §9's are reported the same way).
RULES_FIRED = set()

# ----------------------------------------------------------------- encoding helpers


def u16(n):
    return struct.pack(">H", n)


def u32(n):
    return struct.pack(">I", n)


def u64(n):
    return struct.pack(">Q", n)


B64U_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
B64U_SET = frozenset(B64U_ALPHABET)


def b64u_encode(raw):
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def b64u_decode(text):
    """Strict base64url without padding (Notation): no '=', nothing outside the
    alphabet, no whitespace, no non-zero trailing bits."""
    for ch in text:
        if ch == "=":
            fail("Malformed", "b64u: padding '='")
        if ch not in B64U_SET:
            fail("Malformed", "b64u: character outside the alphabet", repr(ch))
    if len(text) % 4 == 1:
        fail("Malformed", "b64u: impossible length (len % 4 == 1)")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64u_encode(raw) != text:
        fail("Malformed", "b64u: non-zero trailing bits")
    return raw


def strip_prefix(text, prefix):
    if not isinstance(text, str) or not text.startswith(prefix):
        fail("Malformed", "text: wrong prefix", f"expected {prefix!r}")
    return text[len(prefix):]


class Reader:
    """Big-endian reader; any length that runs past the end is Malformed."""

    def __init__(self, data, what):
        self.d = data
        self.i = 0
        self.what = what

    def take(self, n):
        if n > len(self.d) - self.i:
            fail("Malformed", "length runs past the end",
                 f"{self.what}: need {n} bytes at offset {self.i}, have {len(self.d) - self.i}")
        b = self.d[self.i:self.i + n]
        self.i += n
        return b

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def u64(self):
        return struct.unpack(">Q", self.take(8))[0]

    def vec16(self):
        return self.take(self.u16())

    def vec32(self):
        return self.take(self.u32())

    def rest(self):
        b = self.d[self.i:]
        self.i = len(self.d)
        return b

    def end(self):
        if self.i != len(self.d):
            fail("Malformed", "trailing bytes", f"{self.what}: {len(self.d) - self.i} byte(s) after the last field")


def h(b):
    return b.hex()


# ------------------------------------------------------------------ primitive layer


def ed25519_public(seed):
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()


def ed25519_sign(seed, msg):
    return Ed25519PrivateKey.from_private_bytes(seed).sign(msg)  # RFC 8032: deterministic


def ed25519_verify_strict(pk, msg, sig):
    if len(pk) != 32 or len(sig) != 64:
        return False
    try:
        nacl.bindings.crypto_sign_open(bytes(sig) + bytes(msg), bytes(pk))
        return True
    except (nacl.exceptions.CryptoError, ValueError):
        return False


def x25519_public(sk):
    return X25519PrivateKey.from_private_bytes(sk).public_key().public_bytes_raw()


def x25519(sk, pk):
    """X25519(sk, pk), or None when the output is all zero (low-order pk)."""
    try:
        out = X25519PrivateKey.from_private_bytes(sk).exchange(X25519PublicKey.from_public_bytes(pk))
    except ValueError:  # OpenSSL refuses the all-zero shared secret
        return None
    return None if out == bytes(32) else out


# Any clamped scalar is a multiple of 8 and below 8*L, so X25519 with it is all zero
# exactly when the point has order dividing 8: a fixed scalar decides §2's low-order rule.
LOW_ORDER_PROBE = hashlib.sha256(b"chatseal independent verifier: low-order probe").digest()


def is_low_order(pk):
    return x25519(LOW_ORDER_PROBE, pk) is None


def chacha_seal(key, aad, pt):
    return ChaCha20Poly1305(key).encrypt(bytes(12), pt, aad)


def chacha_open(key, aad, ct):
    try:
        return ChaCha20Poly1305(key).decrypt(bytes(12), ct, aad)
    except (InvalidTag, ValueError):
        return None


def argon2id(password, salt, m_kib, t, p):
    secret = unicodedata.normalize("NFC", password).encode("utf-8")
    return hash_secret_raw(secret=secret, salt=salt, time_cost=t, memory_cost=m_kib,
                           parallelism=p, hash_len=32, type=Type.ID, version=19)


# --------------------------------------------------------------- HPKE (RFC 9180)

KEM_ID, KDF_ID, AEAD_ID = 0x0020, 0x0001, 0x0003
SUITE_KEM = b"KEM" + u16(KEM_ID)
SUITE_HPKE = b"HPKE" + u16(KEM_ID) + u16(KDF_ID) + u16(AEAD_ID)
N_SECRET, N_SK, N_K, N_N = 32, 32, 32, 12


def hkdf_extract(salt, ikm):
    # RFC 5869: an empty salt is HashLen zero bytes; HMAC pads a short key with zeros.
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def hkdf_expand(prk, info, length):
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:length]


def labeled_extract(suite, salt, label, ikm):
    return hkdf_extract(salt, b"HPKE-v1" + suite + label + ikm)


def labeled_expand(suite, prk, label, info, length):
    return hkdf_expand(prk, u16(length) + b"HPKE-v1" + suite + label + info, length)


def derive_key_pair(ikm):
    """RFC 9180 §7.1.3 for X25519: the expand output is the secret key as-is
    (X25519 clamps it when used)."""
    dkp_prk = labeled_extract(SUITE_KEM, b"", b"dkp_prk", ikm)
    sk = labeled_expand(SUITE_KEM, dkp_prk, b"sk", b"", N_SK)
    return sk, x25519_public(sk)


def extract_and_expand(dh, kem_context):
    eae_prk = labeled_extract(SUITE_KEM, b"", b"eae_prk", dh)
    return labeled_expand(SUITE_KEM, eae_prk, b"shared_secret", kem_context, N_SECRET)


def encap_with(pk_r, sk_e):
    dh = x25519(sk_e, pk_r)
    if dh is None:
        raise ValueError("DH output all zero")
    enc = x25519_public(sk_e)
    return extract_and_expand(dh, enc + pk_r), enc


def decap(enc, sk_r):
    dh = x25519(sk_r, enc)
    if dh is None:
        return None
    return extract_and_expand(dh, enc + x25519_public(sk_r))


def key_schedule_base(shared_secret, info):
    psk_id_hash = labeled_extract(SUITE_HPKE, b"", b"psk_id_hash", b"")
    info_hash = labeled_extract(SUITE_HPKE, b"", b"info_hash", info)
    ksc = bytes([0]) + psk_id_hash + info_hash  # mode_base = 0x00
    secret = labeled_extract(SUITE_HPKE, shared_secret, b"secret", b"")  # psk = ""
    key = labeled_expand(SUITE_HPKE, secret, b"key", ksc, N_K)
    base_nonce = labeled_expand(SUITE_HPKE, secret, b"base_nonce", ksc, N_N)
    return key, base_nonce, ksc, secret


def hpke_seal_base(pk_r, info, aad, pt, sk_e):
    shared, enc = encap_with(pk_r, sk_e)
    key, base_nonce, _, _ = key_schedule_base(shared, info)
    # sequence number 0: nonce = base_nonce XOR I2OSP(0, Nn) = base_nonce
    return enc, ChaCha20Poly1305(key).encrypt(base_nonce, pt, aad)


def hpke_open_base(enc, sk_r, info, aad, ct):
    shared = decap(enc, sk_r)
    if shared is None:
        return None
    key, base_nonce, _, _ = key_schedule_base(shared, info)
    try:
        return ChaCha20Poly1305(key).decrypt(base_nonce, ct, aad)
    except (InvalidTag, ValueError):
        return None


# ------------------------------------------------------------------------- §1 / §2

CARD_SIG_CONTEXT = b"chatseal/v1/card\x00"


def check_identity(raw):
    """§1: 1..=256 bytes of UTF-8, no U+0000..U+001F, no U+007F."""
    if not 1 <= len(raw) <= 256:
        fail("Malformed", "§1 identity length", f"{len(raw)} bytes")
    try:
        s = raw.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        fail("Malformed", "§1 identity not UTF-8")
    for ch in s:
        if ord(ch) <= 0x1F or ord(ch) == 0x7F:
            fail("Malformed", "§1 identity control character", f"U+{ord(ch):04X}")
    return s


def card_tbs_from_key(key):
    ident = key["identity"].encode("utf-8")
    seed = bytes.fromhex(key["sign_seed"])
    enc_sk = bytes.fromhex(key["enc_sk"])
    tbs = (b"CSC1" + u16(len(ident)) + ident + u64(key["created_at"])
           + ed25519_public(seed) + x25519_public(enc_sk))
    if key["prev_card_id"] is None:
        tbs += b"\x00"
    else:
        prev = bytes.fromhex(key["prev_card_id"])
        assert len(prev) == 16
        tbs += b"\x01" + prev
    return tbs


def card_from_key(key):
    tbs = card_tbs_from_key(key)
    sig = ed25519_sign(bytes.fromhex(key["sign_seed"]), CARD_SIG_CONTEXT + tbs)
    return tbs + sig


def card_id_of_tbs(tbs):
    return hashlib.sha256(tbs).digest()[:16]


def decode_card_bytes(raw):
    """§2. Structure, identity, prev_flag and low-order enc_pk are Malformed; a
    failed verify_strict is BadSignature. The Malformed rules are applied before
    the signature (the spec does not order them; the vectors' cases are signed)."""
    r = Reader(raw, "card")
    if r.take(4) != b"CSC1":
        fail("Malformed", "§2 bad magic")
    identity = check_identity(r.vec16())
    created_at = r.u64()
    sign_pk = r.take(32)
    enc_pk = r.take(32)
    prev_flag = r.u8()
    if prev_flag not in (0, 1):
        fail("Malformed", "§2 prev_flag not 0/1", str(prev_flag))
    prev_card_id = r.take(16) if prev_flag == 1 else None
    tbs = raw[:r.i]
    sig = r.take(64)
    r.end()
    if is_low_order(enc_pk):
        fail("Malformed", "§2 low-order enc_pk", h(enc_pk))
    if not ed25519_verify_strict(sign_pk, CARD_SIG_CONTEXT + tbs, sig):
        fail("BadSignature", "§2 card signature fails verify_strict")
    return {"identity": identity, "created_at": created_at, "sign_pk": sign_pk,
            "enc_pk": enc_pk, "prev_card_id": prev_card_id, "tbs": tbs, "sig": sig,
            "card_id": card_id_of_tbs(tbs), "raw": raw}


def decode_card_text(text):
    return decode_card_bytes(b64u_decode(strip_prefix(text, "csc1.")))


# ------------------------------------------------------------------------------ §3

MSG_SIG_CONTEXT = b"chatseal/v1/msg\x00"
CEK_INFO = b"chatseal/v1/cek"
STANZA_LEN = 16 + 32 + 48


def parse_envelope(text):
    """Step 1: text and header (Malformed)."""
    raw = b64u_decode(strip_prefix(text, "csm1."))
    r = Reader(raw, "envelope header")
    if r.take(4) != b"CSM1":
        fail("Malformed", "§3 bad magic")
    sender_card_id = r.take(16)
    msg_id = r.take(16)
    n = r.u16()
    if not 1 <= n <= 1000:
        fail("Malformed", "§3 stanza count outside 1..=1000", str(n))
    stanzas = []
    seen = set()
    for _ in range(n):
        rcid = r.take(16)
        enc = r.take(32)
        wrapped = r.take(48)
        if rcid in seen:
            fail("Malformed", "§3 duplicate recipient_card_id", h(rcid))
        seen.add(rcid)
        stanzas.append((rcid, enc, wrapped))
    header = raw[:r.i]
    body = r.rest()
    return {"raw": raw, "header": header, "body": body, "sender_card_id": sender_card_id,
            "msg_id": msg_id, "stanzas": stanzas}


def parse_payload(payload):
    """Step 4 (Malformed)."""
    r = Reader(payload, "payload")
    content_type = r.u8()
    if not 1 <= content_type <= 5:
        fail("Malformed", "§3 unknown content_type", str(content_type))
    sent_at = r.u64()
    ctx_raw = r.vec16()
    try:
        context = ctx_raw.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        fail("Malformed", "§3 context not UTF-8")
    data = r.vec32()
    fields_len = r.i
    sig = r.take(64)
    pad = r.rest()
    if len(pad) > 255:
        fail("Malformed", "§3 padding over 255 bytes", str(len(pad)))
    if any(pad):
        fail("Malformed", "§3 non-zero padding")
    return {"content_type": content_type, "sent_at": sent_at, "context": context,
            "data": data, "fields": payload[:fields_len], "sig": sig, "pad": pad}


def decrypt_message(text, keyring, directory, sender_name=None, expected_context=None):
    """§3 steps 1-7. keyring: [(card_id, enc_sk)] current and older keys;
    directory: {card_id: decoded card}."""
    env = parse_envelope(text)                                             # 1
    mine = {cid: sk for cid, sk in keyring}
    idx = next((i for i, s in enumerate(env["stanzas"]) if s[0] in mine), None)
    if idx is None:                                                         # 2
        fail("NotARecipient", "§3 no stanza for the local keyring")
    rcid, enc, wrapped = env["stanzas"][idx]
    info = CEK_INFO + env["sender_card_id"] + env["msg_id"]
    cek = hpke_open_base(enc, mine[rcid], info, rcid, wrapped)             # 3
    if cek is None:
        fail("Integrity", "§3 HPKE open of the CEK failed")
    payload = chacha_open(cek, env["header"], env["body"])
    if payload is None:
        fail("Integrity", "§3 body open failed")
    p = parse_payload(payload)                                              # 4
    card = directory.get(env["sender_card_id"])                            # 5
    if card is None:
        fail("UnknownSender", "§3 sender_card_id not in the directory")
    if sender_name is not None and card["identity"] != sender_name:
        fail("SenderMismatch", "§3 sender card's identity is not the named sender",
             f"{card['identity']!r} != {sender_name!r}")
    if not ed25519_verify_strict(card["sign_pk"], MSG_SIG_CONTEXT + env["header"] + p["fields"], p["sig"]):
        fail("BadSignature", "§3 message signature fails verify_strict")  # 6
    if expected_context is not None and p["context"] != expected_context:
        fail("ContextMismatch", "§3 context differs from the expected one",  # 7
             f"{p['context']!r} != {expected_context!r}")
    return {"env": env, "payload": payload, "stanza_index": idx, "cek": cek,
            "sender_identity": card["identity"], "sender_card_id": env["sender_card_id"],
            "msg_id": env["msg_id"], "content_type": p["content_type"], "sent_at": p["sent_at"],
            "context": p["context"], "data": p["data"], "pad": p["pad"]}


def keyring_of(keys):
    out = []
    for k in keys:
        out.append((card_id_of_tbs(card_tbs_from_key(k)), bytes.fromhex(k["enc_sk"])))
    return out


def directory_of(keys):
    d = {}
    for k in keys:
        c = decode_card_bytes(card_from_key(k))
        d[c["card_id"]] = c
    return d


def build_envelope(sender, recipients, cek, msg_id, ikm_e, content_type, sent_at, context, data):
    """The sender side, independently: every input fixed, pad the minimum that
    makes len(payload) a multiple of 32."""
    s_id = card_id_of_tbs(card_tbs_from_key(sender))
    info = CEK_INFO + s_id + msg_id
    header = b"CSM1" + s_id + msg_id + u16(len(recipients))
    for rk, ikm in zip(recipients, ikm_e):
        rid = card_id_of_tbs(card_tbs_from_key(rk))
        sk_e, _ = derive_key_pair(ikm)
        enc, wrapped = hpke_seal_base(x25519_public(bytes.fromhex(rk["enc_sk"])), info, rid, cek, sk_e)
        header += rid + enc + wrapped
    ctx = context.encode("utf-8")
    fields = bytes([content_type]) + u64(sent_at) + u16(len(ctx)) + ctx + u32(len(data)) + data
    sig = ed25519_sign(bytes.fromhex(sender["sign_seed"]), MSG_SIG_CONTEXT + header + fields)
    unpadded = len(fields) + len(sig)
    payload = fields + sig + bytes(-unpadded % 32)
    return "csm1." + b64u_encode(header + chacha_seal(cek, header, payload))


# ------------------------------------------------------------------------------ §4

BACKUP_HEADER_LEN = 4 + 12 + 16 + 24


def decode_backup(text, password):
    raw = b64u_decode(strip_prefix(text, "csb1."))
    r = Reader(raw, "backup header")
    if r.take(4) != b"CSB1":
        fail("Malformed", "§4 bad magic")
    m_kib, t, p = r.u32(), r.u32(), r.u32()
    salt = r.take(16)
    nonce = r.take(24)
    aad = raw[:r.i]
    ct = r.rest()
    if not 19456 <= m_kib <= 262144:
        fail("Malformed", "§4 m_kib out of bounds", str(m_kib))
    if not 2 <= t <= 10:
        fail("Malformed", "§4 t out of bounds", str(t))
    if not 1 <= p <= 4:
        fail("Malformed", "§4 p out of bounds", str(p))
    key = argon2id(password, salt, m_kib, t, p)
    try:
        pt = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(ct, aad, nonce, key)
    except (nacl.exceptions.CryptoError, ValueError, TypeError):
        fail("Integrity", "§4 backup does not open (wrong password or tampered)")
    kr = Reader(pt, "keyring")
    if kr.take(4) != b"CSK1":
        fail("Malformed", "§4 keyring bad magic")
    count = kr.u16()
    if count < 1:
        fail("Malformed", "§4 keyring count 0")
    entries = []
    for _ in range(count):
        card_raw = kr.vec32()
        sign_sk = kr.take(32)
        enc_sk = kr.take(32)
        entries.append((card_raw, sign_sk, enc_sk))
    kr.end()
    out = []
    for card_raw, sign_sk, enc_sk in entries:
        card = decode_card_bytes(card_raw)  # §2's own errors for a card that is not a card
        if card["sign_pk"] != ed25519_public(sign_sk):
            fail("Malformed", "§4 keyring card does not match sign_sk")
        if card["enc_pk"] != x25519_public(enc_sk):
            fail("Malformed", "§4 keyring card does not match enc_sk")
        out.append({"card": card, "sign_sk": sign_sk, "enc_sk": enc_sk})
    return {"m_kib": m_kib, "t": t, "p": p, "salt": salt, "nonce": nonce, "entries": out}


def build_backup(password, m_kib, t, p, salt, nonce, keys):
    keyring = b"CSK1" + u16(len(keys))
    for k in keys:
        c = card_from_key(k)
        keyring += u32(len(c)) + c + bytes.fromhex(k["sign_seed"]) + bytes.fromhex(k["enc_sk"])
    head = b"CSB1" + u32(m_kib) + u32(t) + u32(p) + salt + nonce
    key = argon2id(password, salt, m_kib, t, p)
    ct = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(keyring, head, nonce, key)
    return "csb1." + b64u_encode(head + ct)


# ------------------------------------------------------------------------------ §5


def fingerprint_digits(identity, sign_pk):
    x = u16(0) + sign_pk + identity.encode("utf-8")
    for _ in range(5200):
        x = hashlib.sha512(x + sign_pk).digest()
    return "".join(f"{int.from_bytes(x[5 * i:5 * i + 5], 'big') % 100000:05d}" for i in range(6))


def safety_number(id_a, pk_a, id_b, pk_b):
    a, b = fingerprint_digits(id_a, pk_a), fingerprint_digits(id_b, pk_b)
    return min(a, b) + max(a, b)


# ------------------------------------------------------------------------------ §9

GROUP_SIG_CONTEXT = b"chatseal/v1/group\x00"
GHEADER_LEN = 4 + 16 + 16 + 4
SHARE_LEN = 4 + 16 + 4 + 32
SHARE_CONTENT_TYPE = 4
MAX_RATCHET_STEPS = 100000


def hmac_sha256(key, msg):
    return hmac.new(key, msg, hashlib.sha256).digest()


def message_key(ck):
    return hmac_sha256(ck, b"\x01")


def next_ck(ck):
    return hmac_sha256(ck, b"\x02")


def ratchet(ck, steps):
    for _ in range(steps):
        ck = next_ck(ck)
    return ck


def parse_group(text):
    """§9 (§3 step 1): text and gheader (Malformed); the body is everything after."""
    raw = b64u_decode(strip_prefix(text, "csg1."))
    r = Reader(raw, "gheader")
    if r.take(4) != b"CSG1":
        fail("Malformed", "§9 bad magic")
    sender_card_id = r.take(16)
    session_id = r.take(16)
    index = r.u32()
    gheader = raw[:r.i]
    return {"raw": raw, "gheader": gheader, "body": r.rest(), "sender_card_id": sender_card_id,
            "session_id": session_id, "index": index}


# The rules by which find_session refused a share, for the coverage note.
SHARE_RULES_FIRED = set()


def find_session(g, shares, keyring, directory):
    """§9 in place of §3 steps 2-3: the lowest-index share that is accepted.
    A share is accepted only if it decrypts as a §3 message for this keyring with
    every §3 check passing (steps 1-6: no sender name is imposed on the share, its
    sender card is compared with the gheader's below; its context is compared with
    the message's at the very end), has content type 4, exactly one stanza, data
    that is a 56-byte share, the gheader's session id and the gheader's
    sender_card_id."""
    accepted, refused = [], []   # refused: (share number, §3 error name or None, rule, detail)
    for n, share_text in enumerate(shares):
        try:
            m = decrypt_message(share_text, keyring, directory, None, None)
        except ProtoError as e:
            refused.append((n, e.name, f"share fails §3 with {e.name}", e.rule))
            continue
        s, bad = None, None
        if m["content_type"] != SHARE_CONTENT_TYPE:
            bad = ("share content type is not 4", str(m["content_type"]))
        elif len(m["env"]["stanzas"]) != 1:
            bad = ("share has more than one stanza", f"{len(m['env']['stanzas'])} stanzas")
        elif len(m["data"]) != SHARE_LEN:
            bad = ("share data is not 56 bytes", f"{len(m['data'])} bytes")
        elif m["data"][:4] != b"CSS1":
            bad = ("share data magic is not CSS1", repr(m["data"][:4]))
        else:
            s = {"session_id": m["data"][4:20], "index": struct.unpack(">I", m["data"][20:24])[0],
                 "chain_key": m["data"][24:56]}
            if s["session_id"] != g["session_id"]:
                bad = ("share names another session", f"{h(s['session_id'])} != {h(g['session_id'])}")
            elif m["sender_card_id"] != g["sender_card_id"]:
                bad = ("share's sender card is not the gheader's sender_card_id",
                       f"{h(m['sender_card_id'])} != {h(g['sender_card_id'])}")
        if bad is not None:
            refused.append((n, None) + bad)
            continue
        accepted.append((s["index"], n, s["chain_key"], m["context"]))
    for _, _, rule, _ in refused:
        SHARE_RULES_FIRED.add(rule)
    detail = "; ".join(f"share {n}: {rule} ({d})" for n, _, rule, d in refused)
    if not accepted:
        fail("NoSessionKey", "§9 no accepted share for the session", detail or "no shares")
    share_index, n, ck, context = min(accepted)
    return {"index": share_index, "share_number": n, "chain_key": ck, "context": context,
            "refused": refused}


def open_group(g, share_index, share_ck, directory, sender_name=None, expected_context=None):
    """§9 from the session's chain key at share_index on: the index rules, the
    message key, the body, then §3 steps 4-7 with the group signature."""
    if g["index"] < share_index:
        fail("NoSessionKey", "§9 index below the share's", f"{g['index']} < {share_index}")
    if g["index"] - share_index > MAX_RATCHET_STEPS:
        fail("Malformed", "§9 jump of more than 100000 steps", f"{g['index']} - {share_index}")
    mk = message_key(ratchet(share_ck, g["index"] - share_index))
    payload = chacha_open(mk, g["gheader"], g["body"])
    if payload is None:
        fail("Integrity", "§9 body open failed", f"body {len(g['body'])} bytes")
    p = parse_payload(payload)                                              # 4
    card = directory.get(g["sender_card_id"])                              # 5
    if card is None:
        fail("UnknownSender", "§9 sender_card_id not in the directory")
    if sender_name is not None and card["identity"] != sender_name:
        fail("SenderMismatch", "§9 sender card's identity is not the named sender",
             f"{card['identity']!r} != {sender_name!r}")
    if not ed25519_verify_strict(card["sign_pk"], GROUP_SIG_CONTEXT + g["gheader"] + p["fields"], p["sig"]):
        fail("BadSignature", "§9 message signature fails verify_strict")  # 6
    if expected_context is not None and p["context"] != expected_context:
        fail("ContextMismatch", "§9 context differs from the expected one",  # 7
             f"{p['context']!r} != {expected_context!r}")
    return {"g": g, "payload": payload, "message_key": mk, "sender_identity": card["identity"],
            "sender_card_id": g["sender_card_id"], "session_id": g["session_id"], "index": g["index"],
            "content_type": p["content_type"], "sent_at": p["sent_at"], "context": p["context"],
            "data": p["data"], "sig": p["sig"], "fields": p["fields"], "pad": p["pad"]}


def decrypt_group(text, keyring, directory, shares, sender_name=None, expected_context=None):
    """§9 decryption: shares are the §3 texts the directory returns for the session."""
    g = parse_group(text)                                                   # 1
    s = find_session(g, shares, keyring, directory)                        # in place of 2-3
    res = open_group(g, s["index"], s["chain_key"], directory, sender_name, expected_context)
    if res["context"] != s["context"]:
        fail("ContextMismatch", "§9 context differs from the share's",
             f"message {res['context']!r}, share {s['context']!r}")
    res["share"] = s
    return res


def build_group(sender, session_id, ck0, index, content_type, sent_at, context, data):
    """The sender side, independently: chain key at index 0 ratcheted `index` times,
    the minimum zero pad that makes len(payload) a multiple of 32."""
    s_id = card_id_of_tbs(card_tbs_from_key(sender))
    gheader = b"CSG1" + s_id + session_id + u32(index)
    ctx = context.encode("utf-8")
    fields = bytes([content_type]) + u64(sent_at) + u16(len(ctx)) + ctx + u32(len(data)) + data
    sig = ed25519_sign(bytes.fromhex(sender["sign_seed"]), GROUP_SIG_CONTEXT + gheader + fields)
    unpadded = len(fields) + len(sig)
    payload = fields + sig + bytes(-unpadded % 32)
    mk = message_key(ratchet(ck0, index))
    return "csg1." + b64u_encode(gheader + chacha_seal(mk, gheader, payload))


# ----------------------------------------------------------------------------- §10

FILE_CHUNK = 64 * 1024                 # plaintext bytes per chunk ("64 KiB")
FILE_TAG = 16                          # ChaCha20Poly1305 tag
FILE_SEALED_CHUNK = FILE_CHUNK + FILE_TAG
FILE_MAGIC = b"CSF1"
DESCRIPTOR_MAGIC = b"CSD1"


def file_nonce(i, last):
    """nonce = u88(i) big-endian || last (0x01 for the final chunk, else 0x00).
    u88 is not in Notation; read as u8..u64 are: 11 bytes, big-endian."""
    if not 0 <= i < 2 ** 88:
        raise ValueError(f"chunk index {i} does not fit u88")
    return i.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def file_chunk_open(key, i, last, sealed):
    try:
        return ChaCha20Poly1305(key).decrypt(file_nonce(i, last), sealed, b"")
    except (InvalidTag, ValueError):
        return None


def encrypt_file(file_key, plaintext):
    """The writer: chunks of 64 KiB, the last may be shorter, an empty file is one
    empty chunk; each sealed with aad = "" and the chunk's nonce."""
    chunks = [plaintext[k:k + FILE_CHUNK] for k in range(0, len(plaintext), FILE_CHUNK)] or [b""]
    aead = ChaCha20Poly1305(file_key)
    out = [FILE_MAGIC]
    for i, c in enumerate(chunks):
        out.append(aead.encrypt(file_nonce(i, i == len(chunks) - 1), c, b""))
    return b"".join(out)


def vec16(b):
    if len(b) > 0xFFFF:
        raise ValueError(f"vec16 of {len(b)} bytes")
    return u16(len(b)) + b


def build_descriptor(file_key, size, encrypted_file, media_type, name, url):
    """§10 says "u64 size" without saying of what: it is taken as the plaintext's
    length in bytes (the vectors agree). The texts are written as UTF-8."""
    return (DESCRIPTOR_MAGIC + file_key + u64(size) + hashlib.sha256(encrypted_file).digest()
            + vec16(media_type.encode("utf-8")) + vec16(name.encode("utf-8")) + vec16(url.encode("utf-8")))


def decode_descriptor(raw):
    """§10 descriptor (Malformed): magic, the fixed fields, three vec16 texts, nothing
    after. §10 does not say the texts are UTF-8; they are decoded strictly here as
    §3's context is (they are a media type, a file name and a URL)."""
    r = Reader(raw, "descriptor")
    if r.take(4) != DESCRIPTOR_MAGIC:
        fail("Malformed", "§10 descriptor bad magic")
    file_key = r.take(32)
    size = r.u64()
    sha = r.take(32)
    texts = []
    for what in ("media type", "file name", "url"):
        b = r.vec16()
        try:
            texts.append(b.decode("utf-8", errors="strict"))
        except UnicodeDecodeError:
            fail("Malformed", f"§10 descriptor {what} not UTF-8", b.hex())
    r.end()
    return {"file_key": file_key, "size": size, "sha256": sha,
            "media_type": texts[0], "name": texts[1], "url": texts[2]}


def decrypt_file(desc, encrypted):
    """§10 reader. The hash first (Integrity), then the "CSF1" magic (Malformed),
    then chunk by chunk as a stream would see it: a chunk is the next 64 KiB + 16
    bytes, or what is left; it is opened as the final chunk exactly when nothing
    follows it. A chunk that opens only with the other `last` flag is a missing
    final chunk (nothing follows a non-final one) or a chunk after the final one
    (something follows a final one); an empty final chunk that is not chunk 0 is
    non-canonical (a 64 KiB multiple ends with a full final chunk); the total
    plaintext must equal the descriptor's size. All of those are Integrity.
    The empty-final-chunk rule is this file's reading of §10: "an empty file is one
    empty chunk" and "64 KiB of plaintext" per chunk make the chunking canonical, so
    a 64 KiB multiple written as full chunks plus an empty final one is refused."""
    if hashlib.sha256(encrypted).digest() != desc["sha256"]:
        fail("Integrity", "§10 hash of the encrypted file differs")
    if encrypted[:4] != FILE_MAGIC:
        fail("Malformed", "§10 encrypted file bad magic", encrypted[:4].hex())
    key, pos, i, out, total = desc["file_key"], 4, 0, [], 0
    while True:
        piece = encrypted[pos:pos + FILE_SEALED_CHUNK]
        pos += len(piece)
        at_end = pos == len(encrypted)
        if not piece:
            fail("Integrity", "§10 missing final chunk", f"the stream ends before chunk {i}")
        pt = file_chunk_open(key, i, at_end, piece)
        if pt is None:
            if file_chunk_open(key, i, not at_end, piece) is not None:
                if at_end:
                    fail("Integrity", "§10 missing final chunk", f"chunk {i} is the last and not final")
                fail("Integrity", "§10 chunk after the final one", f"chunk {i} is final, {len(encrypted) - pos} bytes follow")
            fail("Integrity", "§10 chunk does not open", f"chunk {i}, {len(piece)} bytes")
        if at_end and not pt and i > 0:
            fail("Integrity", "§10 empty final chunk after a full one (non-canonical chunking)", f"chunk {i}")
        total += len(pt)
        if total > desc["size"]:
            fail("Integrity", "§10 size differs", f"more than {desc['size']} bytes")
        out.append(pt)
        if at_end:
            break
        i += 1
    if total != desc["size"]:
        fail("Integrity", "§10 size differs", f"{total} bytes, descriptor says {desc['size']}")
    return b"".join(out)


def open_attachment(descriptor, encrypted):
    return decrypt_file(decode_descriptor(descriptor), encrypted)


# files.json's `encrypted` by description, filled as files.json is checked (before
# invalid.json), for the from_file segments of invalid.json's "file" cases.
FILES_BY_DESC = {}


# ------------------------------------------------------------------------- checking


REBUILT = ("vector", "rebuilt here")


class Vec:
    """Collects mismatches for one vector."""

    def __init__(self, label):
        self.label = label
        self.problems = []

    def eq(self, what, expected, got, names=("expected", "got")):
        """expected: what the vector's inputs say (or the vector's own text, for a
        rebuilt object); got: what was decoded from it (or rebuilt here)."""
        if expected != got:
            where = ""
            if isinstance(expected, (str, bytes)) and type(expected) is type(got):
                where = f" (first difference at {'character' if isinstance(got, str) else 'byte'} {first_diff(expected, got)})"
            self.problems.append(f"{what}: {names[0]} {show(expected)}, {names[1]} {show(got)}{where}")

    def true(self, what, cond, detail=""):
        if not cond:
            self.problems.append(f"{what}{': ' + detail if detail else ''}")


def show(v):
    if isinstance(v, (bytes, bytearray)):
        s = v.hex()
        return s if len(s) <= 120 else s[:120] + f"...({len(v)} bytes)"
    s = repr(v)
    return s if len(s) <= 160 else s[:160] + "..."


def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b)) if len(a) != len(b) else None


def card_region(offset, tbs):
    """Names the card field at a byte offset, laid out as `tbs` (the rebuilt card_tbs)."""
    n = struct.unpack(">H", tbs[4:6])[0]
    bounds = [(4, "magic"), (6, "identity length"), (6 + n, "identity"), (14 + n, "created_at"),
              (46 + n, "sign_pk"), (78 + n, "enc_pk"), (79 + n, "prev_flag"),
              (len(tbs), "prev_card_id"), (len(tbs) + 64, "card_sig")]
    for end, name in bounds:
        if offset < end:
            return name
    return "past the signature"


def envelope_region(offset, n):
    if offset < 4:
        return "magic"
    if offset < 20:
        return "sender_card_id"
    if offset < 36:
        return "msg_id"
    if offset < 38:
        return "n"
    if offset < 38 + n * STANZA_LEN:
        k, o = divmod(offset - 38, STANZA_LEN)
        part = "recipient_card_id" if o < 16 else "enc" if o < 48 else "wrapped"
        return f"stanza {k} {part}"
    return "body"


def gmessage_region(offset):
    if offset < 4:
        return "magic"
    if offset < 20:
        return "sender_card_id"
    if offset < 36:
        return "session_id"
    if offset < GHEADER_LEN:
        return "index"
    return "body"


def run_file(path, fn, name):
    with open(path, encoding="utf-8") as f:
        items = json.load(f)
    return run_items(items, fn, name)


def run_items(items, fn, name, *extra):
    ok = bad = 0
    lines = []
    for i, item in enumerate(items):
        label = fn.label(i, item)
        v = Vec(label)
        try:
            fn(v, item, *extra)
        except ProtoError as e:
            v.problems.append(f"rejected by this decoder: {e}")
        except Exception as e:  # a bug here, or an input the checker did not expect
            v.problems.append(f"checker exception: {e!r}\n      " + traceback.format_exc().replace("\n", "\n      "))
        if v.problems:
            bad += 1
            for p in v.problems:
                lines.append(f"  MISMATCH {name}[{i}] {label}: {p}")
        else:
            ok += 1
    print(f"{name}: {ok} ok" + (f", {bad} failed" if bad else ""))
    for l in lines:
        print(l)
    return ok, bad


def labelled(labeler):
    def deco(fn):
        fn.label = labeler
        return fn
    return deco


@labelled(lambda i, it: f"({it['identity']!r}, created_at {it['created_at']})")
def check_card(v, item):
    tbs = card_tbs_from_key(item)
    built = card_from_key(item)
    v.eq("card text (rebuilt from the key object)", item["card"], "csc1." + b64u_encode(built), REBUILT)
    if item["card"] != "csc1." + b64u_encode(built):
        try:
            raw = b64u_decode(strip_prefix(item["card"], "csc1."))
            off = first_diff(raw, built)
            v.problems.append(f"card bytes: first difference at byte {off} ({card_region(off, tbs)}); "
                              f"vector {len(raw)} bytes, rebuilt {len(built)} bytes")
        except ProtoError:
            pass
    v.eq("card_id = SHA-256(card_tbs)[0..16]", item["card_id"], card_id_of_tbs(tbs).hex(), REBUILT)
    c = decode_card_text(item["card"])
    v.eq("decoded identity", item["identity"], c["identity"])
    v.eq("decoded created_at", item["created_at"], c["created_at"])
    v.eq("decoded sign_pk", ed25519_public(bytes.fromhex(item["sign_seed"])), c["sign_pk"])
    v.eq("decoded enc_pk", x25519_public(bytes.fromhex(item["enc_sk"])), c["enc_pk"])
    v.eq("decoded prev_card_id", item["prev_card_id"], c["prev_card_id"].hex() if c["prev_card_id"] else None)
    v.eq("decoded card_id", item["card_id"], c["card_id"].hex())


@labelled(lambda i, it: f"({it['sender']['identity']!r} -> {len(it['recipients'])} recipient(s), context {it['context']!r})")
def check_message(v, item):
    sender, recips = item["sender"], item["recipients"]
    cek = bytes.fromhex(item["cek"])
    msg_id = bytes.fromhex(item["msg_id"])
    data = bytes.fromhex(item["data"])
    s_id = card_id_of_tbs(card_tbs_from_key(sender))
    env = parse_envelope(item["envelope"])
    v.eq("header sender_card_id", s_id, env["sender_card_id"])
    v.eq("header msg_id", msg_id, env["msg_id"])
    v.eq("header n", len(recips), len(env["stanzas"]))
    v.eq("len(ikm_e)", len(recips), len(item["ikm_e"]))
    v.true("§3: the sender's own card is among the recipients",
           s_id in {card_id_of_tbs(card_tbs_from_key(r)) for r in recips})
    directory = directory_of([sender])
    info = CEK_INFO + s_id + msg_id
    for j, (rk, st) in enumerate(zip(recips, env["stanzas"])):
        rcid, enc, wrapped = st
        rid = card_id_of_tbs(card_tbs_from_key(rk))
        v.eq(f"stanza {j} recipient_card_id ({rk['identity']})", rid, rcid)
        _, pk_e = derive_key_pair(bytes.fromhex(item["ikm_e"][j]))
        v.eq(f"stanza {j} enc = pk of DeriveKeyPair(ikm_e[{j}])", pk_e, enc)
        got_cek = hpke_open_base(enc, bytes.fromhex(rk["enc_sk"]), info, rid, wrapped)
        v.eq(f"stanza {j} HPKE-opened CEK", cek, got_cek)
        res = decrypt_message(item["envelope"], keyring_of([rk]), directory,
                              sender["identity"], item["context"])
        who = f"decrypt as recipient {j} ({rk['identity']})"
        v.eq(f"{who}: stanza used", j, res["stanza_index"])
        v.eq(f"{who}: content_type", item["content_type"], res["content_type"])
        v.eq(f"{who}: sent_at", item["sent_at"], res["sent_at"])
        v.eq(f"{who}: context", item["context"], res["context"])
        v.eq(f"{who}: data", data, res["data"])
        v.eq(f"{who}: sender identity", sender["identity"], res["sender_identity"])
        if j == 0:
            plen, pad = len(res["payload"]), res["pad"]
            v.true("§3 len(payload) is a multiple of 32", plen % 32 == 0, f"len(payload) = {plen}")
            v.true("§3 padding is zero bytes, at most 255", len(pad) <= 255 and not any(pad), f"{len(pad)} bytes")
    rebuilt = build_envelope(sender, recips, cek, msg_id, [bytes.fromhex(x) for x in item["ikm_e"]],
                             item["content_type"], item["sent_at"], item["context"], data)
    if rebuilt != item["envelope"]:
        a, b = env["raw"], b64u_decode(strip_prefix(rebuilt, "csm1."))
        off = first_diff(a, b)
        v.problems.append(
            f"re-encrypted envelope differs: first differing byte at offset {off} "
            f"({envelope_region(off, len(recips))}); vector {len(a)} bytes, rebuilt {len(b)} bytes; "
            f"vector bytes there {a[off:off + 16].hex()}, rebuilt {b[off:off + 16].hex()}")


@labelled(lambda i, it: f"({len(it['keyring'])} key(s), m_kib {it['m_kib']}, t {it['t']}, p {it['p']}, password {it['password']!r})")
def check_backup(v, item):
    salt, nonce = bytes.fromhex(item["salt"]), bytes.fromhex(item["nonce"])
    b = decode_backup(item["backup"], item["password"])
    v.eq("m_kib", item["m_kib"], b["m_kib"])
    v.eq("t", item["t"], b["t"])
    v.eq("p", item["p"], b["p"])
    v.eq("salt", salt, b["salt"])
    v.eq("nonce", nonce, b["nonce"])
    v.eq("keyring count", len(item["keyring"]), len(b["entries"]))
    for j, (k, e) in enumerate(zip(item["keyring"], b["entries"])):
        v.eq(f"keyring[{j}] card (rebuilt from the key object)", e["card"]["raw"], card_from_key(k), REBUILT)
        v.eq(f"keyring[{j}] sign_sk", bytes.fromhex(k["sign_seed"]), e["sign_sk"])
        v.eq(f"keyring[{j}] enc_sk", bytes.fromhex(k["enc_sk"]), e["enc_sk"])
    created = [k["created_at"] for k in item["keyring"]]
    v.true("§4 keyring newest card first", created == sorted(created, reverse=True), str(created))
    rebuilt = build_backup(item["password"], item["m_kib"], item["t"], item["p"], salt, nonce, item["keyring"])
    if rebuilt != item["backup"]:
        a, bb = b64u_decode(item["backup"][5:]), b64u_decode(rebuilt[5:])
        off = first_diff(a, bb)
        v.problems.append(f"re-sealed backup differs at byte {off} (header is {BACKUP_HEADER_LEN} bytes); "
                          f"vector {len(a)} bytes, rebuilt {len(bb)} bytes")


@labelled(lambda i, it: f"({it['a']['identity']!r} / {it['b']['identity']!r})")
def check_safety(v, item):
    a, b = item["a"], item["b"]
    got = safety_number(a["identity"], ed25519_public(bytes.fromhex(a["sign_seed"])),
                        b["identity"], ed25519_public(bytes.fromhex(b["sign_seed"])))
    v.eq("safety_number", item["safety_number"], got, ("vector", "computed here"))
    got_ba = safety_number(b["identity"], ed25519_public(bytes.fromhex(b["sign_seed"])),
                           a["identity"], ed25519_public(bytes.fromhex(a["sign_seed"])))
    v.eq("safety_number with the parties swapped", got, got_ba)


@labelled(lambda i, it: f"({it['sender']['identity']!r}, session {it['session_id'][:8]}.., index {it['index']}, context {it['context']!r})")
def check_group(v, item):
    sender = item["sender"]
    session_id = bytes.fromhex(item["session_id"])
    ck0 = bytes.fromhex(item["chain_key"])
    data = bytes.fromhex(item["data"])
    index = item["index"]
    tbs = card_tbs_from_key(sender)
    s_id = card_id_of_tbs(tbs)
    rebuilt = build_group(sender, session_id, ck0, index, item["content_type"], item["sent_at"],
                          item["context"], data)
    v.eq("csg1. text (rebuilt from the inputs)", item["text"], rebuilt, REBUILT)
    g = parse_group(item["text"])
    if rebuilt != item["text"]:
        b = b64u_decode(strip_prefix(rebuilt, "csg1."))
        off = first_diff(g["raw"], b)
        v.problems.append(
            f"rebuilt group message differs: first differing byte at offset {off} "
            f"({gmessage_region(off)}); vector {len(g['raw'])} bytes, rebuilt {len(b)} bytes; "
            f"vector bytes there {g['raw'][off:off + 16].hex()}, rebuilt {b[off:off + 16].hex()}")
    v.eq("gheader sender_card_id = SHA-256(card_tbs)[0..16]", s_id, g["sender_card_id"])
    v.eq("gheader session_id", session_id, g["session_id"])
    v.eq("gheader index", index, g["index"])
    v.true("§9 index within 100000 steps of the chain key at index 0", index <= MAX_RATCHET_STEPS, str(index))
    # Open it as a receiver holding the chain key at index 0 (a share of index 0),
    # with the sender's card resolvable, the sender named and the context expected.
    res = open_group(g, 0, ck0, directory_of([sender]), sender["identity"], item["context"])
    v.eq("decrypted content_type", item["content_type"], res["content_type"])
    v.eq("decrypted sent_at", item["sent_at"], res["sent_at"])
    v.eq("decrypted context", item["context"], res["context"])
    v.eq("decrypted data", data, res["data"])
    v.eq("decrypted sender identity", sender["identity"], res["sender_identity"])
    v.true("§9 signature over \"chatseal/v1/group\\x00\" || gheader || fields (verify_strict)",
           ed25519_verify_strict(ed25519_public(bytes.fromhex(sender["sign_seed"])),
                                 GROUP_SIG_CONTEXT + g["gheader"] + res["fields"], res["sig"]))
    plen, pad = len(res["payload"]), res["pad"]
    v.true("§3 len(payload) is a multiple of 32", plen % 32 == 0, f"len(payload) = {plen}")
    v.true("§3 padding is zero bytes, at most 255", len(pad) <= 255 and not any(pad), f"{len(pad)} bytes")


@labelled(lambda i, it: f"({it['kind']}: {it['description']})")
def check_invalid(v, item):
    kind, want = item["kind"], item["error"]
    v.true("error is one of the spec's names", want in ERROR_NAMES, repr(want))
    try:
        if kind == "card":
            decode_card_text(item["input"])
        elif kind == "message":
            decrypt_message(item["input"], keyring_of(item["keyring"]), directory_of(item["directory"]),
                            item["from"], item["context"])
        elif kind == "backup":
            decode_backup(item["input"], item["password"])
        elif kind == "group":
            decrypt_group(item["input"], keyring_of(item["keyring"]), directory_of(item["directory"]),
                          item["shares"], item["from"], item["context"])
        elif kind == "descriptor":
            decode_descriptor(bytes.fromhex(item["input"]))
        elif kind == "file":
            enc = assemble_encrypted(v, item["encrypted"])
            if enc is None:
                return
            open_attachment(bytes.fromhex(item["input"]), enc)
        else:
            v.problems.append(f"unknown kind {kind!r}")
            return
    except ProtoError as e:
        RULES_FIRED.add((kind, e.name, e.rule))
        if VERBOSE:
            print(f"    invalid ({kind}: {item['description']}) -> {e}")
        v.eq("error", want, e.name + f"  [{e.rule}{': ' + e.detail if e.detail else ''}]"
             if e.name != want else e.name)
        return
    v.problems.append(f"error: expected {want}, got success (the input was accepted)")


def descriptor_region(offset, raw):
    """Names the descriptor field at a byte offset, laid out as `raw`."""
    for end, name in ((4, "magic"), (36, "file_key"), (44, "size"), (76, "sha256")):
        if offset < end:
            return name
    pos = 76
    for name in ("media type", "file name", "url"):
        if offset < pos + 2:
            return f"{name} length"
        n = struct.unpack(">H", raw[pos:pos + 2])[0] if pos + 2 <= len(raw) else 0
        if offset < pos + 2 + n:
            return name
        pos += 2 + n
    return "past the url"


def encrypted_region(offset):
    """Names the part of an encrypted_file at a byte offset."""
    if offset is None:
        return "none"
    if offset < 4:
        return "magic"
    k, o = divmod(offset - 4, FILE_SEALED_CHUNK)
    return f"chunk {k}, byte {o} of the sealed chunk"


@labelled(lambda i, it: f"({it['description']})")
def check_file(v, item):
    """A §10 vector: encrypt the plaintext here and compare with `encrypted`, rebuild
    the descriptor and compare, then decode the vector's descriptor and decrypt the
    vector's file back (the hash is checked first)."""
    desc = item["description"]
    enc = bytes.fromhex(item["encrypted"])
    if desc in FILES_BY_DESC:
        v.problems.append("two files.json elements share this description (from_file is ambiguous)")
    FILES_BY_DESC[desc] = enc
    key = bytes.fromhex(item["file_key"])
    pt = bytes.fromhex(item["plaintext"])
    v.eq("file_key length", 32, len(key))
    built_enc = encrypt_file(key, pt)
    if built_enc != enc:
        off = first_diff(enc, built_enc)
        v.problems.append(f"encrypted (encrypted here from plaintext and file_key): first difference at byte "
                          f"{off} ({encrypted_region(off)}); vector {len(enc)} bytes, encrypted here "
                          f"{len(built_enc)} bytes; vector bytes there {enc[off:off + 16].hex()}, "
                          f"here {built_enc[off:off + 16].hex()}")
    want = bytes.fromhex(item["descriptor"])
    built = build_descriptor(key, len(pt), enc, item["media_type"], item["name"], item["url"])
    v.eq("descriptor (rebuilt from the inputs)", want, built, REBUILT)
    if built != want:
        off = first_diff(want, built)
        v.problems.append(f"descriptor: first difference at byte {off} ({descriptor_region(off, built)}); "
                          f"vector {len(want)} bytes, rebuilt {len(built)} bytes")
    d = decode_descriptor(want)
    v.eq("decoded file_key", key, d["file_key"])
    v.eq("decoded size (the plaintext's length)", len(pt), d["size"])
    v.eq("decoded sha256 (SHA-256 of encrypted)", hashlib.sha256(enc).digest(), d["sha256"])
    v.eq("decoded media type", item["media_type"], d["media_type"])
    v.eq("decoded file name", item["name"], d["name"])
    v.eq("decoded url", item["url"], d["url"])
    v.eq("decrypted plaintext (vector's descriptor and encrypted)", pt, decrypt_file(d, enc))


def assemble_encrypted(v, segments):
    """A "file" case's encrypted file: hex segments and byte ranges of a files.json
    element's `encrypted`. None (with a problem recorded) when a segment is bad."""
    if not isinstance(segments, list):
        v.problems.append(f"encrypted is not a list of segments: {show(segments)}")
        return None
    parts = []
    for k, seg in enumerate(segments):
        if "hex" in seg:
            parts.append(bytes.fromhex(seg["hex"]))
        elif "from_file" in seg:
            src = FILES_BY_DESC.get(seg["from_file"])
            if src is None:
                v.problems.append(f"segment {k}: from_file {seg['from_file']!r} names no files.json element")
                return None
            a, b = seg["start"], seg["end"]
            if not 0 <= a <= b <= len(src):
                v.problems.append(f"segment {k}: range {a}..{b} outside the {len(src)}-byte file")
                return None
            parts.append(src[a:b])
        else:
            v.problems.append(f"segment {k}: neither hex nor from_file: {seg!r}")
            return None
    return b"".join(parts)


# Rejection rules named in §2-§4 (and Notation) that this decoder implements,
# for the coverage note on invalid.json.
EXPECTED_RULES = [
    ("card", "b64u: padding '='"), ("card", "b64u: character outside the alphabet"),
    ("card", "b64u: non-zero trailing bits"), ("card", "text: wrong prefix"),
    ("card", "trailing bytes"), ("card", "length runs past the end"),
    ("card", "§2 bad magic"), ("card", "§1 identity length"), ("card", "§1 identity not UTF-8"),
    ("card", "§1 identity control character"), ("card", "§2 prev_flag not 0/1"),
    ("card", "§2 low-order enc_pk"), ("card", "§2 card signature fails verify_strict"),
    ("message", "text: wrong prefix"), ("message", "§3 bad magic"), ("message", "length runs past the end"),
    ("message", "§3 stanza count outside 1..=1000"), ("message", "§3 duplicate recipient_card_id"),
    ("message", "§3 no stanza for the local keyring"), ("message", "§3 HPKE open of the CEK failed"),
    ("message", "§3 body open failed"), ("message", "§3 unknown content_type"),
    ("message", "§3 context not UTF-8"), ("message", "§3 padding over 255 bytes"),
    ("message", "§3 non-zero padding"), ("message", "§3 sender_card_id not in the directory"),
    ("message", "§3 sender card's identity is not the named sender"),
    ("message", "§3 message signature fails verify_strict"), ("message", "§3 context differs from the expected one"),
    ("backup", "text: wrong prefix"), ("backup", "§4 bad magic"), ("backup", "length runs past the end"),
    ("backup", "§4 m_kib out of bounds"), ("backup", "§4 t out of bounds"), ("backup", "§4 p out of bounds"),
    ("backup", "§4 backup does not open (wrong password or tampered)"), ("backup", "§4 keyring bad magic"),
    ("backup", "§4 keyring count 0"), ("backup", "trailing bytes"),
    ("backup", "§4 keyring card does not match sign_sk"), ("backup", "§4 keyring card does not match enc_sk"),
    ("group", "text: wrong prefix"), ("group", "§9 bad magic"), ("group", "length runs past the end"),
    ("group", "§9 no accepted share for the session"), ("group", "§9 index below the share's"),
    ("group", "§9 jump of more than 100000 steps"), ("group", "§9 body open failed"),
    ("group", "§3 unknown content_type"), ("group", "§3 context not UTF-8"),
    ("group", "§3 padding over 255 bytes"), ("group", "§3 non-zero padding"),
    ("group", "§9 sender_card_id not in the directory"),
    ("group", "§9 sender card's identity is not the named sender"),
    ("group", "§9 message signature fails verify_strict"), ("group", "§9 context differs from the expected one"),
    ("group", "§9 context differs from the share's"),
    # §10: the descriptor's rules (the UTF-8 ones are this file's reading of §10),
    # then the reader's: hash, magic, chunks, size.
    ("descriptor", "§10 descriptor bad magic"), ("descriptor", "length runs past the end"),
    ("descriptor", "trailing bytes"), ("descriptor", "§10 descriptor media type not UTF-8"),
    ("descriptor", "§10 descriptor file name not UTF-8"), ("descriptor", "§10 descriptor url not UTF-8"),
    ("file", "§10 hash of the encrypted file differs"), ("file", "§10 encrypted file bad magic"),
    ("file", "§10 chunk does not open"), ("file", "§10 missing final chunk"),
    ("file", "§10 chunk after the final one"),
    ("file", "§10 empty final chunk after a full one (non-canonical chunking)"),
    ("file", "§10 size differs"),
]

# The reasons §9 gives a receiver to refuse a share; the group cases of invalid.json
# should make each one decide some case.
EXPECTED_SHARE_RULES = [
    "share fails §3 with NotARecipient", "share fails §3 with BadSignature",
    "share content type is not 4", "share has more than one stanza", "share data is not 56 bytes",
    "share data magic is not CSS1", "share names another session",
    "share's sender card is not the gheader's sender_card_id",
]


# ------------------------------------------------------------------------ self-test

# RFC 9180 Appendix A.2.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305, base.
RFC9180_A21 = {
    "info": "4f6465206f6e2061204772656369616e2055726e",
    "ikmE": "909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b",
    "pkEm": "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a",
    "skEm": "f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600",
    "pkRm": "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a",
    "skRm": "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb",
    "shared_secret": "0bbe78490412b4bbea4812666f7916932b828bba79942424abb65244930d69a7",
    "key": "ad2744de8e17f4ebba575b3f5f5a8fa1f69c2a07f6e7500bc60ca6e3e3ec1c91",
    "base_nonce": "5c4d98150661b848853b547f",
    "pt": "4265617574792069732074727574682c20747275746820626561757479",
    "aad": "436f756e742d30",
    "ct": "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28",
}


# RFC 4231 §4.2 and §4.3, HMAC-SHA-256.
RFC4231 = [
    ("0b" * 20, b"Hi There".hex(), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (b"Jefe".hex(), b"what do ya want for nothing?".hex(),
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
]


def self_test():
    problems = []
    for n, (key, data, mac) in enumerate(RFC4231, 1):
        if hmac_sha256(bytes.fromhex(key), bytes.fromhex(data)).hex() != mac:
            problems.append(f"RFC 4231 test case {n}, HMAC-SHA-256")
    t = {k: bytes.fromhex(x) for k, x in RFC9180_A21.items()}
    sk_e, pk_e = derive_key_pair(t["ikmE"])
    if sk_e != t["skEm"] or pk_e != t["pkEm"]:
        problems.append("RFC 9180 A.2.1 DeriveKeyPair(ikmE)")
    if x25519_public(t["skRm"]) != t["pkRm"]:
        problems.append("RFC 9180 A.2.1 pkR")
    shared, enc = encap_with(t["pkRm"], sk_e)
    if shared != t["shared_secret"] or enc != t["pkEm"]:
        problems.append("RFC 9180 A.2.1 Encap shared_secret")
    key, nonce, _, _ = key_schedule_base(shared, t["info"])
    if key != t["key"] or nonce != t["base_nonce"]:
        problems.append("RFC 9180 A.2.1 key schedule")
    enc, ct = hpke_seal_base(t["pkRm"], t["info"], t["aad"], t["pt"], sk_e)
    if ct != t["ct"]:
        problems.append("RFC 9180 A.2.1 seal, sequence 0")
    if hpke_open_base(t["pkEm"], t["skRm"], t["info"], t["aad"], t["ct"]) != t["pt"]:
        problems.append("RFC 9180 A.2.1 open, sequence 0")
    # The strict verifier must refuse a small-order key with the identity as R and S = 0
    # (a cofactorless, non-strict verifier accepts it for every message).
    ident = bytes([1]) + bytes(31)
    if ed25519_verify_strict(ident, b"any message", ident + bytes(32)):
        problems.append("Ed25519 verifier accepts a small-order public key (not strict)")
    # ...and a non-canonical S (S + L) on an otherwise valid signature.
    seed = bytes(range(32))
    pk, sig = ed25519_public(seed), ed25519_sign(seed, b"m")
    L = 2 ** 252 + 27742317777372353535851937790883648493
    s_big = (int.from_bytes(sig[32:], "little") + L).to_bytes(32, "little")
    if not ed25519_verify_strict(pk, b"m", sig) or ed25519_verify_strict(pk, b"m", sig[:32] + s_big):
        problems.append("Ed25519 verifier: valid signature refused, or S + L accepted")
    # Low-order detection: u = 0 and u = 1 are low order; the base point u = 9 is not.
    if not is_low_order(bytes(32)) or not is_low_order(bytes([1]) + bytes(31)) or is_low_order(bytes([9]) + bytes(31)):
        problems.append("X25519 low-order detection")
    # Strict base64url.
    for bad in ("QQ=", "Q Q", "QR", "Q+", "Q"):
        try:
            b64u_decode(bad)
            problems.append(f"b64u accepted {bad!r}")
        except ProtoError:
            pass
    if b64u_decode("QQ") != b"A":
        problems.append("b64u refused 'QQ'")
    return problems


# ----------------------------------------------------------------------------- main


def main(argv):
    global VERBOSE
    args = [a for a in argv[1:] if a != "-v"]
    VERBOSE = "-v" in argv[1:]
    vdir = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vectors")
    start = time.monotonic()
    passed = failed = 0

    st = self_test()
    print(f"self-test (RFC 9180 A.2.1, RFC 4231, Ed25519 strictness, low-order, base64url): "
          f"{'1 ok' if not st else '0 ok, 1 failed'}")
    for p in st:
        print(f"  MISMATCH self-test: {p}")
    passed, failed = (1, 0) if not st else (0, 1)

    # files.json before invalid.json: the "file" cases cut segments from its files.
    for name, fn in (("cards.json", check_card), ("messages.json", check_message),
                     ("backups.json", check_backup), ("safety_numbers.json", check_safety),
                     ("group_messages.json", check_group), ("files.json", check_file),
                     ("invalid.json", check_invalid)):
        path = os.path.join(vdir, name)
        if not os.path.exists(path):
            print(f"{name}: missing")
            failed += 1
            continue
        ok, bad = run_file(path, fn, name)
        passed += ok
        failed += bad

    fired = {(k, r) for k, _, r in RULES_FIRED}
    missing = [f"{k}: {r}" for k, r in EXPECTED_RULES if (k, r) not in fired]
    print(f"invalid.json coverage: {len(EXPECTED_RULES) - len(missing)} of {len(EXPECTED_RULES)} "
          f"rejection rules of this decoder exercised")
    for m in missing:
        print(f"  NOTE not exercised by any invalid.json case: {m}")
    missing_sr = [r for r in EXPECTED_SHARE_RULES if r not in SHARE_RULES_FIRED]
    print(f"invalid.json share coverage: {len(EXPECTED_SHARE_RULES) - len(missing_sr)} of "
          f"{len(EXPECTED_SHARE_RULES)} §9 reasons to refuse a share exercised")
    for m in missing_sr:
        print(f"  NOTE no group case refuses a share because: {m}")
    print(f"runtime: {time.monotonic() - start:.2f} s")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
