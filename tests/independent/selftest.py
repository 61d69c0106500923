"""Self-test of the independent verifier: the primitives against their RFCs, then
every version 2 rule of §2, §3, §4, §9 and §11 exercised on objects built here from
fixed inputs, without the project's vectors (so that it can pass while the project's
vectors are still version 1, and fail when a rule here is broken).

Part of the independent verifier (verify_vectors.py), written from PROTOCOL.md only."""

from wire import *  # noqa: F401,F403 (the layers)
from primitives import *  # noqa: F401,F403 (the layers)
from cards import *  # noqa: F401,F403 (the layers)
from envelope import *  # noqa: F401,F403 (the layers)
from backup import *  # noqa: F401,F403 (the layers)
from pairwise import *  # noqa: F401,F403 (the layers)
from groups import *  # noqa: F401,F403 (the layers)

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
