"""The primitives: Ed25519 (strict verification), X25519, ChaCha20Poly1305, Argon2id, and HPKE (RFC 9180 mode_base) built from them.

Part of the independent verifier (verify_vectors.py), written from PROTOCOL.md only."""

import hashlib
import hmac
import unicodedata

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
import nacl.bindings
import nacl.exceptions

from wire import *  # noqa: F401,F403 (the earlier layers)

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
