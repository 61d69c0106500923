"""PROTOCOL §13: linking a new device (the QR code, the csl1. offer HPKE-sealed to the
new device's key, the six-digit code).

Part of the independent verifier (verify_vectors.py), written from PROTOCOL.md only."""

import hashlib

from wire import *  # noqa: F401,F403 (the earlier layers)
from primitives import *  # noqa: F401,F403 (the earlier layers)
from backup import *  # noqa: F401,F403 (the earlier layers)

# ----------------------------------------------------------------------------- §13

QR_PREFIX = "chatseal:link:"
OFFER_PREFIX = "csl1."
LINK_INFO = b"chatseal/v2/link"
LINK_CODE_LABEL = b"chatseal/v2/link-code"


def build_qr(link_id, e_pk):
    return QR_PREFIX + b64u_encode(link_id + e_pk)


def parse_qr(text):
    """(link_id, e_pk) from "chatseal:link:" || b64u(link_id || e_pk)."""
    raw = b64u_decode(strip_prefix(text, QR_PREFIX))
    if len(raw) != 48:
        fail("Malformed", "§13 QR payload is not link_id (16) || e_pk (32)", f"{len(raw)} bytes")
    return raw[:16], raw[16:]


def link_code(link_id, e_pk, enc):
    """u32(SHA-256("chatseal/v2/link-code" || link_id || e_pk || enc)[0..4]) mod 1,000,000, six digits."""
    d = hashlib.sha256(LINK_CODE_LABEL + link_id + e_pk + enc).digest()
    return f"{int.from_bytes(d[:4], 'big') % 1_000_000:06d}"


def build_offer(link_id, e_pk, ikm_e, keys):
    """The old device's side: (offer text, code), the HPKE ephemeral key DeriveKeyPair(ikm_e)."""
    sk_e, _ = derive_key_pair(ikm_e)
    enc, ct = hpke_seal_base(e_pk, LINK_INFO + link_id, link_id, build_keyring(keys), sk_e)
    return OFFER_PREFIX + b64u_encode(enc + ct), link_code(link_id, e_pk, enc)


def open_offer(text, link_id, e_sk):
    """The new device's side: the keyring entries and the code. A bad layout is
    Malformed; an offer that does not open is Integrity; then §4's keyring rules."""
    raw = b64u_decode(strip_prefix(text, OFFER_PREFIX))
    if len(raw) < 32:
        fail("Malformed", "§13 offer shorter than its 32-byte enc", f"{len(raw)} bytes")
    enc, ct = raw[:32], raw[32:]
    if len(ct) < 16:  # Notation: an AEAD ciphertext shorter than its tag is Integrity
        fail("Integrity", "§13 ciphertext shorter than its 16-byte tag", f"{len(ct)} bytes")
    if is_low_order(enc):  # RFC 9180 §7.1.4: an all-zero DH output fails Decap
        fail("Integrity", "§13 enc of low order (DH output all zero)")
    pt = hpke_open_base(enc, e_sk, LINK_INFO + link_id, link_id, ct)
    if pt is None:
        fail("Integrity", "§13 offer does not open (another key or link_id, or tampered)")
    return {"enc": enc, "entries": decode_keyring(pt),
            "code": link_code(link_id, x25519_public(e_sk), enc)}
