"""PROTOCOL §4.1: passkey backups (the §4 keyring sealed under a key derived from a
WebAuthn PRF output).

Part of the independent verifier (verify_vectors.py), written from PROTOCOL.md only."""

from wire import *  # noqa: F401,F403 (the earlier layers)
from primitives import *  # noqa: F401,F403 (the earlier layers)
from backup import *  # noqa: F401,F403 (the earlier layers)

# ---------------------------------------------------------------------------- §4.1

PASSKEY_PREFIX = "csw1."
PASSKEY_MAGIC = b"CSW1"
PASSKEY_HKDF_SALT = b"chatseal/v2/passkey"


def passkey_key(prf_output, credential_id):
    """HKDF-SHA256(salt = "chatseal/v2/passkey", ikm = the PRF output, info = credential_id, 32)."""
    return hkdf_expand(hkdf_extract(PASSKEY_HKDF_SALT, prf_output), credential_id, 32)


def decode_passkey_backup(text, prf_output):
    """A bad layout is Malformed; a wrong credential (PRF output) and a tampered blob
    are Integrity; then §4's keyring rules."""
    raw = b64u_decode(strip_prefix(text, PASSKEY_PREFIX))
    r = Reader(raw, "passkey backup header")
    if r.take(4) != PASSKEY_MAGIC:
        fail("Malformed", "§4.1 bad magic")
    credential_id = r.vec16()
    prf_salt = r.take(32)
    nonce = r.take(24)
    aad = raw[:r.i]
    ct = r.rest()
    if len(ct) < 16:  # Notation: an AEAD ciphertext shorter than its tag is Integrity
        fail("Integrity", "§4.1 ciphertext shorter than its 16-byte tag", f"{len(ct)} bytes")
    pt = xchacha_open(passkey_key(prf_output, credential_id), nonce, aad, ct)
    if pt is None:
        fail("Integrity", "§4.1 passkey backup does not open (wrong PRF output or tampered)")
    return {"credential_id": credential_id, "prf_salt": prf_salt, "nonce": nonce,
            "entries": decode_keyring(pt)}


def build_passkey_backup(credential_id, prf_salt, prf_output, nonce, keys):
    head = PASSKEY_MAGIC + vec16(credential_id) + prf_salt + nonce
    ct = xchacha_seal(passkey_key(prf_output, credential_id), nonce, head, build_keyring(keys))
    return PASSKEY_PREFIX + b64u_encode(head + ct)
