"""PROTOCOL §1 and §2: identities and cards.

Part of the independent verifier (verify_vectors.py), written from PROTOCOL.md only."""

import hashlib

from wire import *  # noqa: F401,F403 (the earlier layers)
from primitives import *  # noqa: F401,F403 (the earlier layers)

# ------------------------------------------------------------------------- §1 / §2

CARD_SIG_CONTEXT = b"chatseal/v2/card\x00"
ROTATE_SIG_CONTEXT = b"chatseal/v2/rotate\x00"
CARD_MAGIC = b"CSC2"
CARD_PREFIX = "csc2."
KEY_FIELDS = ("identity", "created_at", "sign_seed", "enc_sk", "prev_card_id", "prev_sign_seed")


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


def key_object_problems(key, what="key object"):
    """§8's key object: exactly its six fields, hex of the right lengths, and
    `prev_sign_seed` given exactly when `prev_card_id` is."""
    out = []
    if not isinstance(key, dict):
        return [f"{what} is not an object: {key!r}"]
    missing = [f for f in KEY_FIELDS if f not in key]
    extra = sorted(set(key) - set(KEY_FIELDS))
    if missing:
        out.append(f"{what} lacks {', '.join(missing)} (§8 v2 key object; a v1 vector?)")
    if extra:
        out.append(f"{what} has fields §8 does not list: {', '.join(extra)}")
    for f, n, nullable in (("sign_seed", 32, False), ("enc_sk", 32, False),
                           ("prev_card_id", 16, True), ("prev_sign_seed", 32, True)):
        x = key.get(f)
        if x is None and (nullable or f not in key):
            continue
        if not (isinstance(x, str) and x == x.lower() and len(x) == 2 * n
                and all(c in "0123456789abcdef" for c in x)):
            out.append(f"{what} {f} is not lowercase hex of {n} bytes: {x!r}")
    if ("prev_card_id" in key and "prev_sign_seed" in key
            and (key["prev_card_id"] is None) != (key["prev_sign_seed"] is None)):
        out.append(f"{what}: prev_sign_seed must be given exactly when prev_card_id is (§8)")
    return out


def card_tbs_from_key(key):
    ident = key["identity"].encode("utf-8")
    seed = bytes.fromhex(key["sign_seed"])
    enc_sk = bytes.fromhex(key["enc_sk"])
    tbs = (CARD_MAGIC + u16(len(ident)) + ident + u64(key["created_at"])
           + ed25519_public(seed) + x25519_public(enc_sk))
    if key.get("prev_card_id") is None:
        tbs += b"\x00"
    else:
        prev = bytes.fromhex(key["prev_card_id"])
        assert len(prev) == 16
        tbs += b"\x01" + prev
    return tbs


def rotation_sig_of(tbs, prev_sign_seed):
    return ed25519_sign(prev_sign_seed, ROTATE_SIG_CONTEXT + tbs)


def card_from_key(key):
    """card_tbs || rotation_sig || card_sig; rotation_sig (by the previous card's
    seed, prev_sign_seed) only when prev_flag = 1."""
    tbs = card_tbs_from_key(key)
    rot = b""
    if key.get("prev_card_id") is not None:
        if key.get("prev_sign_seed") is None:
            raise ValueError("key object has prev_card_id but no prev_sign_seed: rotation_sig cannot be made")
        rot = rotation_sig_of(tbs, bytes.fromhex(key["prev_sign_seed"]))
    sig = ed25519_sign(bytes.fromhex(key["sign_seed"]), CARD_SIG_CONTEXT + tbs + rot)
    return tbs + rot + sig


def card_text_from_key(key):
    return CARD_PREFIX + b64u_encode(card_from_key(key))


def card_id_of_tbs(tbs):
    return hashlib.sha256(tbs).digest()[:16]


def card_id_of_key(key):
    return card_id_of_tbs(card_tbs_from_key(key))


def decode_card_bytes(raw):
    """§2, in the order it lists: bad magic, identity (§1), prev_flag not 0/1, a wrong
    length (past the end or trailing bytes), card_sig (BadSignature), then a low-order
    enc_pk. All Malformed but the signature. rotation_sig is only split off here:
    it is checked by links_to, against the previous card."""
    r = Reader(raw, "card")
    magic = r.take(4)
    if magic == b"CSC1":
        fail("Malformed", "v1 magic", "card magic CSC1 is version 1, Malformed in version 2")
    if magic != CARD_MAGIC:
        fail("Malformed", "§2 bad magic", magic.hex())
    identity = check_identity(r.vec16())
    created_at = r.u64()
    sign_pk = r.take(32)
    enc_pk = r.take(32)
    prev_flag = r.u8()
    if prev_flag not in (0, 1):
        fail("Malformed", "§2 prev_flag not 0/1", str(prev_flag))
    prev_card_id = r.take(16) if prev_flag == 1 else None
    tbs = raw[:r.i]
    rotation_sig = r.take(64) if prev_flag == 1 else b""
    sig = r.take(64)
    r.end()
    if not ed25519_verify_strict(sign_pk, CARD_SIG_CONTEXT + tbs + rotation_sig, sig):
        fail("BadSignature", "§2 card signature fails verify_strict")
    if is_low_order(enc_pk):
        fail("Malformed", "§2 low-order enc_pk", h(enc_pk))
    return {"identity": identity, "created_at": created_at, "sign_pk": sign_pk,
            "enc_pk": enc_pk, "prev_card_id": prev_card_id, "tbs": tbs,
            "rotation_sig": rotation_sig, "sig": sig, "card_id": card_id_of_tbs(tbs), "raw": raw}


def decode_card_text(text):
    return decode_card_bytes(b64u_decode(strip_prefix(text, CARD_PREFIX)))


def links_to(c, p):
    """§2 rotation: decoded card c links to decoded card p, checked in the spec's
    order; a failed rotation_sig is BadSignature, anything else Malformed. A card
    with prev_flag = 0 starts a new chain and so links to nothing."""
    if c["prev_card_id"] is None:
        fail("Malformed", "§2 link: card starts a new chain (prev_flag = 0)")
    if c["prev_card_id"] != p["card_id"]:
        fail("Malformed", "§2 link: prev_card_id is not the previous card's card_id",
             f"{h(c['prev_card_id'])} != {h(p['card_id'])}")
    if c["identity"] != p["identity"]:
        fail("Malformed", "§2 link: identity differs from the previous card's",
             f"{c['identity']!r} != {p['identity']!r}")
    if c["created_at"] < p["created_at"]:
        fail("Malformed", "§2 link: created_at before the previous card's",
             f"{c['created_at']} < {p['created_at']}")
    if not ed25519_verify_strict(p["sign_pk"], ROTATE_SIG_CONTEXT + c["tbs"], c["rotation_sig"]):
        fail("BadSignature", "§2 link: rotation_sig fails verify_strict under the previous sign_pk")
    return True
