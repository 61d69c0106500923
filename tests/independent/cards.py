"""PROTOCOL §1 and §2: identities and cards.

Part of the independent verifier (verify_vectors.py), written from PROTOCOL.md only."""

import hashlib

from wire import *  # noqa: F401,F403 (the earlier layers)
from primitives import *  # noqa: F401,F403 (the earlier layers)

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
