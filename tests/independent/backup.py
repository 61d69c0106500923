"""PROTOCOL §4: keyring backups.

Part of the independent verifier (verify_vectors.py), written from PROTOCOL.md only."""

import nacl.bindings
import nacl.exceptions

from wire import *  # noqa: F401,F403 (the earlier layers)
from primitives import *  # noqa: F401,F403 (the earlier layers)
from cards import *  # noqa: F401,F403 (the earlier layers)
from envelope import *  # noqa: F401,F403 (the earlier layers)

# ------------------------------------------------------------------------------ §4

BACKUP_HEADER_LEN = 4 + 12 + 16 + 24
KEYRING_MAGIC = b"CSK2"


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
    pt = xchacha_open(argon2id(password, salt, m_kib, t, p), nonce, aad, ct)
    if pt is None:
        fail("Integrity", "§4 backup does not open (wrong password or tampered)")
    out = decode_keyring(pt)
    return {"m_kib": m_kib, "t": t, "p": p, "salt": salt, "nonce": nonce, "entries": out}


def xchacha_seal(key, nonce, aad, pt):
    return nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(pt, aad, nonce, key)


def xchacha_open(key, nonce, aad, ct):
    """XChaCha20Poly1305-Open, or None when it fails (a ciphertext shorter than its tag too)."""
    try:
        return nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(ct, aad, nonce, key)
    except (nacl.exceptions.CryptoError, ValueError, TypeError):
        return None


def decode_keyring(pt):
    """§4's keyring (also the plaintext of §4.1's passkey backups and §13's offers):
    [{"card", "sign_sk", "enc_sk"}], newest card first."""
    kr = Reader(pt, "keyring")
    kmagic = kr.take(4)
    if kmagic == b"CSK1":
        fail("Malformed", "v1 magic", "keyring magic CSK1 is version 1, Malformed in version 2")
    if kmagic != KEYRING_MAGIC:
        fail("Malformed", "§4 keyring bad magic", kmagic.hex())
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
    return out


def build_keyring(keys, keyring_magic=KEYRING_MAGIC):
    keyring = keyring_magic + u16(len(keys))
    for k in keys:
        c = card_from_key(k)
        keyring += u32(len(c)) + c + bytes.fromhex(k["sign_seed"]) + bytes.fromhex(k["enc_sk"])
    return keyring


def build_backup(password, m_kib, t, p, salt, nonce, keys, keyring_magic=KEYRING_MAGIC):
    keyring = build_keyring(keys, keyring_magic)
    head = b"CSB1" + u32(m_kib) + u32(t) + u32(p) + salt + nonce
    ct = xchacha_seal(argon2id(password, salt, m_kib, t, p), nonce, head, keyring)
    return "csb1." + b64u_encode(head + ct)
