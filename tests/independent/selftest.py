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
from passkey import *  # noqa: F401,F403 (the layers)
from link import *  # noqa: F401,F403 (the layers)
import cards
import envelope
import groups
import pairwise

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


def primitives_self_test():
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


# ------------------------------------------------------- the version 2 rules, built here


class Checks:
    """Collects the self-test's problems: `ok` for a condition, `rejects` for an input
    that must fail with one error name (and, when given, a rule whose name contains
    `rule`), `accepts` for one that must pass."""

    def __init__(self):
        self.problems = []

    def ok(self, what, cond, detail=""):
        if not cond:
            self.problems.append(f"{what}{': ' + str(detail) if detail != '' else ''}")

    def rejects(self, what, name, fn, rule=None):
        try:
            fn()
        except ProtoError as e:
            if e.name != name or (rule is not None and rule not in e.rule):
                self.problems.append(f"{what}: expected {name}{f' [{rule}]' if rule else ''}, got {e}")
            return e
        self.problems.append(f"{what}: expected {name}, got success")
        return None

    def accepts(self, what, fn):
        try:
            return fn()
        except ProtoError as e:
            self.problems.append(f"{what}: expected success, got {e}")
            return None


def key(identity, created_at, n, prev=None):
    """A key object (§8) with seeds made of byte n and n + 1; prev: the previous key."""
    k = {"identity": identity, "created_at": created_at, "sign_seed": bytes([n]).hex() * 32,
         "enc_sk": bytes([n + 1]).hex() * 32, "prev_card_id": None, "prev_sign_seed": None}
    if prev is not None:
        k["prev_card_id"] = card_id_of_key(prev).hex()
        k["prev_sign_seed"] = prev["sign_seed"]
    return k


def raw_card(identity, created_at, seed, enc_pk, prev_id=None, rot_seed=None, magic=CARD_MAGIC,
             prev_flag=None, bad_sig=False, bad_rot=False):
    """A card laid out by hand, for the inputs key objects cannot express."""
    ident = identity.encode("utf-8") if isinstance(identity, str) else identity
    flag = (0 if prev_id is None else 1) if prev_flag is None else prev_flag
    tbs = magic + vec16(ident) + u64(created_at) + ed25519_public(seed) + enc_pk + bytes([flag])
    tbs += prev_id or b""
    rot = ed25519_sign(rot_seed, ROTATE_SIG_CONTEXT + tbs) if prev_id is not None else b""
    if bad_rot:
        rot = rot[:-1] + bytes([rot[-1] ^ 1])
    sig = ed25519_sign(seed, CARD_SIG_CONTEXT + tbs + rot)
    if bad_sig:
        sig = sig[:-1] + bytes([sig[-1] ^ 1])
    return tbs + rot + sig


def flip(text, prefix, pos):
    raw = bytearray(b64u_decode(text[len(prefix):]))
    raw[pos] ^= 1
    return prefix + b64u_encode(bytes(raw))


def with_constant(module, name, value, fn):
    """fn() with module.name temporarily set to value (a v1 label, to show the v2 one is used)."""
    old = getattr(module, name)
    setattr(module, name, value)
    try:
        return fn()
    finally:
        setattr(module, name, old)


A0 = key("alice@clinic-a", 1000, 0x10)
A1 = key("alice@clinic-a", 2000, 0x20, prev=A0)
B = key("bob@clinic-a", 1500, 0x30)
C = key("carol@clinic-a", 1600, 0x40)
ROOT = bytes([0x11]) * 32


def card_self_test(t):
    a0, a1, b = (decode_card_bytes(card_from_key(k)) for k in (A0, A1, B))
    t.ok("§2 CSC2 card without prev: card_tbs || card_sig", len(a0["raw"]) == len(a0["tbs"]) + 64
         and a0["rotation_sig"] == b"" and a0["raw"][:4] == b"CSC2")
    t.ok("§2 rotated card: card_tbs || rotation_sig || card_sig", len(a1["raw"]) == len(a1["tbs"]) + 128)
    t.ok("§2 card_id names card_tbs only", a1["card_id"] == hashlib.sha256(a1["tbs"]).digest()[:16])
    t.accepts("§2 A1 links to A0", lambda: links_to(a1, a0))
    t.ok("§2 text round trip", decode_card_text(card_text_from_key(A1))["raw"] == a1["raw"])
    seed, enc_pk = bytes.fromhex(A0["sign_seed"]), a0["enc_pk"]
    # v1 magics, and the decoder's order.
    t.rejects("csc1. text", "Malformed", lambda: decode_card_text("csc1." + card_text_from_key(A0)[5:]), "v1 magic")
    t.rejects("CSC1 magic", "Malformed", lambda: decode_card_bytes(raw_card("a", 1, seed, enc_pk, magic=b"CSC1")),
              "v1 magic")
    t.rejects("CSC3 magic", "Malformed", lambda: decode_card_bytes(raw_card("a", 1, seed, enc_pk, magic=b"CSC3")),
              "§2 bad magic")
    t.rejects("identity with U+0007 (and a bad card_sig): §1 comes first", "Malformed",
              lambda: decode_card_bytes(raw_card("a\x07", 1, seed, enc_pk, bad_sig=True)), "§1")
    t.rejects("prev_flag 2 (and a bad card_sig): prev_flag comes first", "Malformed",
              lambda: decode_card_bytes(raw_card("a", 1, seed, enc_pk, prev_flag=2, bad_sig=True)), "prev_flag")
    t.rejects("prev_flag 1 without rotation_sig: a wrong length", "Malformed",
              lambda: decode_card_bytes(raw_card("a", 1, seed, enc_pk, prev_id=bytes(16), rot_seed=seed)[:-64]),
              "length runs past the end")
    t.rejects("trailing byte (and so a bad card_sig): the length comes first", "Malformed",
              lambda: decode_card_bytes(card_from_key(A0) + b"\x00"), "trailing bytes")
    t.rejects("low-order enc_pk and a bad card_sig: the signature comes first", "BadSignature",
              lambda: decode_card_bytes(raw_card("a", 1, seed, bytes(32), bad_sig=True)), "card signature")
    t.rejects("low-order enc_pk, good card_sig", "Malformed",
              lambda: decode_card_bytes(raw_card("a", 1, seed, bytes(32))), "low-order")
    bad = bytearray(a1["raw"])
    bad[len(a1["tbs"])] ^= 1
    t.rejects("card_sig covers rotation_sig (one bit of it flipped)", "BadSignature",
              lambda: decode_card_bytes(bytes(bad)), "card signature")
    t.rejects("card_sig under the v1 label", "BadSignature",
              lambda: decode_card_bytes(with_constant(cards, "CARD_SIG_CONTEXT", b"chatseal/v1/card\x00",
                                                      lambda: cards.card_from_key(A0))), "card signature")
    # The link rule, in its order.
    def card(identity, created_at, prev_id, rot_seed, bad_rot=False, n=0x50):
        return decode_card_bytes(raw_card(identity, created_at, bytes([n]) * 32, x25519_public(bytes([n + 1]) * 32),
                                          prev_id, rot_seed, bad_rot=bad_rot))
    t.rejects("a new chain links to nothing", "Malformed", lambda: links_to(a0, a0), "new chain")
    t.rejects("prev_card_id of another card", "Malformed", lambda: links_to(a1, b), "prev_card_id")
    t.rejects("identity differs (and rotation_sig by another key): identity comes first", "Malformed",
              lambda: links_to(card("mallory", 2000, a0["card_id"], bytes.fromhex(B["sign_seed"])), a0), "identity")
    t.rejects("created_at before the previous card's", "Malformed",
              lambda: links_to(card("alice@clinic-a", 999, a0["card_id"], seed), a0), "created_at")
    t.accepts("created_at equal to the previous card's (>=)",
              lambda: links_to(card("alice@clinic-a", 1000, a0["card_id"], seed), a0))
    t.rejects("rotation_sig by another key", "BadSignature",
              lambda: links_to(card("alice@clinic-a", 2000, a0["card_id"], bytes.fromhex(B["sign_seed"])), a0), "rotation_sig")
    t.rejects("rotation_sig with one bit flipped", "BadSignature",
              lambda: links_to(card("alice@clinic-a", 2000, a0["card_id"], seed, bad_rot=True), a0), "rotation_sig")
    t.rejects("rotation_sig under the v1-style label", "BadSignature",
              lambda: links_to(decode_card_bytes(with_constant(cards, "ROTATE_SIG_CONTEXT", b"chatseal/v1/rotate\x00",
                                                               lambda: cards.card_from_key(A1))), a0), "rotation_sig")
    # §8 key objects.
    t.ok("§8 key object A1 is well formed", key_object_problems(A1) == [], key_object_problems(A1))
    t.ok("§8 prev_card_id without prev_sign_seed is flagged",
         key_object_problems(dict(A1, prev_sign_seed=None)) != [])
    t.ok("§8 a v1 key object (no prev_sign_seed) is flagged",
         key_object_problems({k: x for k, x in A0.items() if k != "prev_sign_seed"}) != [])


def envelope_self_test(t):
    msg_id = bytes(range(16))
    ikm = [bytes([0x60 + j]) * 32 for j in range(2)]

    def build(**kw):
        a = dict(sender=A0, recipients=[A0, B], cek=bytes([0x77]) * 32, msg_id=msg_id, ikm_e=ikm,
                 content_type=1, sent_at=1700000000000, context="dm:1", head_epoch=7, head_root=ROOT, data=b"hi")
        a.update(kw)
        return build_envelope(**a)
    text = build()
    d_a0 = directory_of([A0])
    r = t.accepts("§3 CSM2 round trip", lambda: decrypt_message(text, keyring_of([B]), d_a0, "alice@clinic-a", "dm:1"))
    if r:
        t.ok("§3 head_epoch and head_root come back", (r["head_epoch"], r["head_root"]) == (7, ROOT))
        t.ok("§3 senders pad to a multiple of 32", len(r["payload"]) % 32 == 0 and len(r["pad"]) < 32)
        t.ok("§3 fields layout: ... context, u64 head_epoch, head_root, vec32(data)",
             r["fields"] == b"\x01" + u64(1700000000000) + vec16(b"dm:1") + u64(7) + ROOT + vec32(b"hi"))
    t.ok("§3 text starts csm2., header CSM2", text.startswith("csm2.") and b64u_decode(text[5:])[:4] == b"CSM2")
    t.accepts("§3 the reader's own card resolves locally (empty directory)",
              lambda: decrypt_message(text, keyring_of([A0]), {}, "alice@clinic-a", "dm:1"))
    t.rejects("§3 another reader with an empty directory", "UnknownSender",
              lambda: decrypt_message(text, keyring_of([B]), {}, None, None))
    t.rejects("csm1. text", "Malformed", lambda: decrypt_message("csm1." + text[5:], keyring_of([B]), d_a0), "v1 magic")
    raw = b64u_decode(text[5:])
    t.rejects("CSM1 magic", "Malformed",
              lambda: decrypt_message("csm2." + b64u_encode(b"CSM1" + raw[4:]), keyring_of([B]), d_a0), "v1 magic")
    t.rejects("§3 signature under the v1 label", "BadSignature",
              lambda: decrypt_message(with_constant(envelope, "MSG_SIG_CONTEXT", b"chatseal/v1/msg\x00", build),
                                      keyring_of([B]), d_a0), "signature")
    t.rejects("§3 CEK wrapped under the v1 HPKE info", "Integrity",
              lambda: decrypt_message(with_constant(envelope, "CEK_INFO", b"chatseal/v1/cek", build),
                                      keyring_of([B]), d_a0), "HPKE")
    t.accepts("§3 epoch 0 with a non-zero root (no head, whatever the root)",
              lambda: decrypt_message(build(head_epoch=0), keyring_of([B]), d_a0))
    # A v1 payload (no head fields) inside a v2 envelope is Malformed: built by hand.
    fields = b"\x01" + u64(1) + vec16(b"") + vec32(b"hi")
    t.rejects("§3 a v1-layout payload (no head fields)", "Malformed",
              lambda: parse_payload(pad_to_32(fields + bytes(64))))
    t.rejects("§3 content type 6", "Malformed",
              lambda: parse_payload(pad_to_32(build_fields(6, 1, "", 0, bytes(32), b"") + bytes(64))), "content_type")
    t.rejects("§3 256 bytes of padding", "Malformed",
              lambda: parse_payload(build_fields(1, 1, "", 0, bytes(32), b"") + bytes(64) + bytes(256)), "padding")
    t.accepts("§3 255 bytes of padding",
              lambda: parse_payload(build_fields(1, 1, "", 0, bytes(32), b"") + bytes(64) + bytes(255)))


def pairwise_self_test(t):
    msg_id = bytes([0xA5]) * 16

    def build(sender=A0, recipient=B, content_type=1, context="dm:1", data=b"hello", head_epoch=3):
        return build_pairwise(sender, recipient, msg_id, content_type, 1700000000001, context, head_epoch, ROOT, data)
    text = build()
    d_a0, d_b = directory_of([A0]), directory_of([B])
    raw = b64u_decode(text[5:])
    t.ok("§11 pheader: CSP2 || sender_card_id || recipient_card_id || msg_id",
         raw[:PHEADER_LEN] == b"CSP2" + card_id_of_key(A0) + card_id_of_key(B) + msg_id)
    r = t.accepts("§11 decrypt as the recipient", lambda: decrypt_pairwise(text, keyring_of([B]), d_a0, "alice@clinic-a", "dm:1"))
    if r:
        t.ok("§11 recipient side, fields back", (r["as"], r["data"], r["head_epoch"], r["head_root"], r["context"])
             == ("recipient", b"hello", 3, ROOT, "dm:1"))
        t.ok("§11 payload = fields || pad, no signature, to a multiple of 32",
             len(r["payload"]) % 32 == 0 and r["payload"][:len(r["fields"])] == r["fields"] and not any(r["pad"]))
    r = t.accepts("§11 decrypt as the sender (its history)",
                  lambda: decrypt_pairwise(text, keyring_of([A0]), d_b, "alice@clinic-a", "dm:1"))
    t.ok("§11 sender side found by step 2", r is not None and r["as"] == "sender" and r["data"] == b"hello")
    own = build(recipient=A0)
    t.accepts("§11 a note to oneself, own card resolved locally", lambda: decrypt_pairwise(own, keyring_of([A0]), {}))
    t.ok("§11 the key is the same on both sides",
         pair_key(bytes.fromhex(A0["enc_sk"]), x25519_public(bytes.fromhex(B["enc_sk"])), raw[:PHEADER_LEN])
         == pair_key(bytes.fromhex(B["enc_sk"]), x25519_public(bytes.fromhex(A0["enc_sk"])), raw[:PHEADER_LEN]))
    kb = keyring_of([B])
    t.rejects("§11 prefix csp1.", "Malformed", lambda: decrypt_pairwise("csp1." + text[5:], kb, d_a0), "prefix")
    t.rejects("§11 magic CSP1", "Malformed",
              lambda: decrypt_pairwise("csp2." + b64u_encode(b"CSP1" + raw[4:]), kb, d_a0), "bad magic")
    t.rejects("§11 truncated pheader", "Malformed",
              lambda: decrypt_pairwise("csp2." + b64u_encode(raw[:40]), kb, d_a0), "length")
    t.rejects("§11 a third party", "NotARecipient", lambda: decrypt_pairwise(text, keyring_of([C]), d_a0))
    t.rejects("§11 the sender card unresolvable", "UnknownSender", lambda: decrypt_pairwise(text, kb, {}))
    t.rejects("§11 the recipient card unresolvable, read by the sender", "UnknownSender",
              lambda: decrypt_pairwise(text, keyring_of([A0]), {}))
    t.rejects("§11 the other card is another card under the sender's card_id", "Integrity",
              lambda: decrypt_pairwise(text, kb, {card_id_of_key(A0): decode_card_bytes(card_from_key(C))}), "body")
    fake = dict(decode_card_bytes(card_from_key(A0)), enc_pk=bytes(32))
    t.rejects("§11 an all-zero pair_secret", "Integrity",
              lambda: decrypt_pairwise(text, kb, {card_id_of_key(A0): fake}), "all-zero")
    t.rejects("§11 msg_id bit flipped (the key depends on the pheader)", "Integrity",
              lambda: decrypt_pairwise(flip(text, "csp2.", 40), kb, d_a0), "body")
    t.rejects("§11 body bit flipped", "Integrity", lambda: decrypt_pairwise(flip(text, "csp2.", 60), kb, d_a0), "body")
    t.rejects("§11 body under the v1-style salt", "Integrity",
              lambda: decrypt_pairwise(with_constant(pairwise, "PAIR_SALT", b"chatseal/v1/pair", build), kb, d_a0))
    t.rejects("§11 named sender differs (and the context too): step 6 first", "SenderMismatch",
              lambda: decrypt_pairwise(text, kb, d_a0, "mallory", "other"))
    t.rejects("§11 read by the sender, another sender named", "SenderMismatch",
              lambda: decrypt_pairwise(text, keyring_of([A0]), d_b, "bob@clinic-a"))
    t.rejects("§11 context differs", "ContextMismatch", lambda: decrypt_pairwise(text, kb, d_a0, None, "other"))
    pheader = raw[:PHEADER_LEN]
    key_ab = pair_key(bytes.fromhex(A0["enc_sk"]), x25519_public(bytes.fromhex(B["enc_sk"])), pheader)

    def sealed(payload):
        return "csp2." + b64u_encode(pheader + chacha_seal(key_ab, pheader, payload))
    f = build_fields(1, 1, "", 0, bytes(32), b"x")
    t.rejects("§11 a §3-style payload (fields || sig): non-zero padding", "Malformed",
              lambda: decrypt_pairwise(sealed(f + bytes([1]) * 64), kb, d_a0), "non-zero padding")
    t.rejects("§11 256 zero bytes of padding", "Malformed", lambda: decrypt_pairwise(sealed(f + bytes(256)), kb, d_a0),
              "over 255")
    t.accepts("§11 255 zero bytes of padding", lambda: decrypt_pairwise(sealed(f + bytes(255)), kb, d_a0))
    t.rejects("§11 content type 0", "Malformed",
              lambda: decrypt_pairwise(sealed(build_fields(0, 1, "", 0, bytes(32), b"")), kb, d_a0), "content_type")


def group_self_test(t):
    sid, ck0 = bytes([0x5E]) * 16, bytes([0xC0]) * 32
    ctx = "team:nurses"

    def share(to=B, sender=A0, index=0, content_type=SHARE_CONTENT_TYPE, context=ctx, data=None, n=0):
        data = build_share(sid, index, ratchet(ck0, index)) if data is None else data
        return build_pairwise(sender, to, bytes([0x90 + n]) * 16, content_type, 1, context, 0, bytes(32), data)

    def gmsg(index=3, sender=A0, context=ctx):
        return build_group(sender, sid, ck0, index, 1, 1700000000002, context, 9, ROOT, b"group hello")
    kb, d_a0 = keyring_of([B]), directory_of([A0])
    text = gmsg()
    t.ok("§9 csg2. text, CSG2 gheader", text.startswith("csg2.") and b64u_decode(text[5:])[:4] == b"CSG2")
    r = t.accepts("§9 CSG2 through a §11 share", lambda: decrypt_group(text, kb, d_a0, [share()], "alice@clinic-a", ctx))
    t.ok("§9 data and head fields back", r is not None and (r["data"], r["head_epoch"], r["head_root"])
         == (b"group hello", 9, ROOT))
    t.accepts("§9 the sender's own share (to itself), empty directory",
              lambda: decrypt_group(text, keyring_of([A0]), {}, [share(to=A0)], "alice@clinic-a", ctx))
    r = t.accepts("§9 of several shares the smallest index wins",
                  lambda: decrypt_group(gmsg(index=1), kb, d_a0, [share(index=2, n=1), share(index=0)]))
    t.ok("§9 the index-0 share was used", r is not None and r["share"]["index"] == 0)
    t.rejects("§9 an index below the share's", "NoSessionKey",
              lambda: decrypt_group(gmsg(index=1), kb, d_a0, [share(index=2)]), "below")
    t.rejects("§9 no shares", "NoSessionKey", lambda: decrypt_group(text, kb, d_a0, []))
    t.rejects("§9 named sender differs: the group message's check, not the share's", "SenderMismatch",
              lambda: decrypt_group(text, kb, d_a0, [share()], "mallory"))
    refusals = [
        ("a share to someone else", share(to=C), "share fails §11 with NotARecipient"),
        ("a share whose sender card is not resolvable", share(sender=C), "share fails §11 with UnknownSender", d_a0),
        ("a §3 message as the share", build_envelope(A0, [B], bytes(32), bytes(16), [bytes(32)], 4, 1, ctx, 0,
                                                      bytes(32), build_share(sid, 0, ck0)),
         "share fails §11 with Malformed"),
        ("a share of content type 1", share(content_type=1), "share content type is not 4"),
        ("share data of 57 bytes", share(data=build_share(sid, 0, ck0) + b"\x00"), "share data is not 56 bytes"),
        ("share data with magic CSS2", share(data=b"CSS2" + build_share(sid, 0, ck0)[4:]), "share data magic is not CSS1"),
        ("a share of another session", share(data=build_share(bytes(16), 0, ck0)), "share names another session"),
        ("a share from another card (C, for A0's session)", share(sender=C), "share's sender card is not"),
        ("a share in another context (expected context named)", share(context="other"),
         "share fails §11 with ContextMismatch"),
        ("a share with its body altered", flip(share(), "csp2.", 60), "share fails §11 with Integrity"),
    ]
    d_a0c = directory_of([A0, C])
    for what, sh, rule, *d in refusals:
        d = d[0] if d else d_a0c
        e = t.rejects(f"§9 refused: {what}", "NoSessionKey", lambda: decrypt_group(text, kb, d, [sh], None, ctx))
        t.ok(f"§9 refused for the right reason: {what}", e is not None and rule in e.detail, e and e.detail)
        t.accepts(f"§9 a refused share is ignored, not an error: {what}",
                  lambda: decrypt_group(text, kb, d, [sh, share(n=2)], None, ctx))
    t.rejects("§9 a share in another context, no expected context: not the channel's", "NoSessionKey",
              lambda: decrypt_group(text, kb, d_a0, [share(context="other")]), "channel")
    t.accepts("§9 a jump of exactly 100000 steps", lambda: decrypt_group(gmsg(index=100000), kb, d_a0, [share()]))
    t.rejects("§9 a jump of 100001 steps", "Malformed",
              lambda: decrypt_group(flip(gmsg(index=100000), "csg2.", 39), kb, d_a0, [share()]), "100000")
    raw = b64u_decode(text[5:])
    t.rejects("csg1. text", "Malformed", lambda: decrypt_group("csg1." + text[5:], kb, d_a0, [share()]), "v1 magic")
    t.rejects("CSG1 magic", "Malformed",
              lambda: decrypt_group("csg2." + b64u_encode(b"CSG1" + raw[4:]), kb, d_a0, [share()]), "v1 magic")
    t.rejects("§9 signature under the v1 label", "BadSignature",
              lambda: decrypt_group(with_constant(groups, "GROUP_SIG_CONTEXT", b"chatseal/v1/group\x00", gmsg),
                                    kb, d_a0, [share()]), "signature")


def backup_self_test(t):
    salt, nonce = bytes([3]) * 16, bytes([4]) * 24
    text = build_backup("pw", 19456, 2, 1, salt, nonce, [A1, A0])
    b = t.accepts("§4 CSK2 keyring round trip (rotated card first)", lambda: decode_backup(text, "pw"))
    t.ok("§4 the rotated card comes back with its rotation_sig", b is not None
         and b["entries"][0]["card"]["raw"] == card_from_key(A1) and len(b["entries"][0]["card"]["rotation_sig"]) == 64)
    t.rejects("§4 a CSK1 keyring", "Malformed",
              lambda: decode_backup(build_backup("pw", 19456, 2, 1, salt, nonce, [A0], b"CSK1"), "pw"), "v1 magic")


def passkey_self_test(t):
    cid, salt, prf, nonce = b"cred-1", bytes([5]) * 32, bytes([6]) * 32, bytes([7]) * 24
    text = build_passkey_backup(cid, salt, prf, nonce, [A1, A0])
    b = t.accepts("§4.1 passkey round trip", lambda: decode_passkey_backup(text, prf))
    t.ok("§4.1 credential_id and prf_salt read back", b is not None and (b["credential_id"], b["prf_salt"]) == (cid, salt))
    t.rejects("§4.1 another PRF output", "Integrity", lambda: decode_passkey_backup(text, bytes(32)), "does not open")
    # The credential id is both the HKDF info and part of the associated data.
    t.rejects("§4.1 another credential id of the same length", "Integrity",
              lambda: decode_passkey_backup(flip(text, PASSKEY_PREFIX, 7), prf), "does not open")
    t.rejects("§4.1 a csb1. text", "Malformed", lambda: decode_passkey_backup("csb1." + text[5:], prf), "prefix")
    t.rejects("§4.1 magic CSB1", "Malformed",
              lambda: decode_passkey_backup(PASSKEY_PREFIX + b64u_encode(b"CSB1" + b64u_decode(text[5:])[4:]), prf),
              "bad magic")


def link_self_test(t):
    link_id, e_sk, ikm = bytes([8]) * 16, bytes([9]) * 32, bytes([10]) * 32
    e_pk = x25519_public(e_sk)
    t.ok("§13 QR round trip", parse_qr(build_qr(link_id, e_pk)) == (link_id, e_pk))
    t.rejects("§13 QR of 47 bytes", "Malformed", lambda: parse_qr(QR_PREFIX + b64u_encode(bytes(47))), "QR payload")
    offer, code = build_offer(link_id, e_pk, ikm, [B])
    o = t.accepts("§13 offer round trip", lambda: open_offer(offer, link_id, e_sk))
    t.ok("§13 both screens show one six-digit code", o is not None and o["code"] == code and len(code) == 6
         and code.isdigit(), code)
    t.rejects("§13 another link_id", "Integrity", lambda: open_offer(offer, bytes(16), e_sk), "does not open")
    t.rejects("§13 another e_sk", "Integrity", lambda: open_offer(offer, link_id, bytes([1]) * 32), "does not open")
    low = OFFER_PREFIX + b64u_encode(bytes([1]) + bytes(31) + b64u_decode(offer[5:])[32:])
    t.rejects("§13 enc of low order", "Integrity", lambda: open_offer(low, link_id, e_sk), "low order")
    t.rejects("§13 31 bytes", "Malformed", lambda: open_offer(OFFER_PREFIX + b64u_encode(bytes(31)), link_id, e_sk),
              "shorter than its 32-byte enc")


def self_test():
    problems = primitives_self_test()
    t = Checks()
    for part in (card_self_test, envelope_self_test, pairwise_self_test, group_self_test, backup_self_test,
                 passkey_self_test, link_self_test):
        try:
            part(t)
        except Exception as e:  # a bug in the self-test itself is a failure too
            t.problems.append(f"{part.__name__}: exception {e!r}")
    SHARE_RULES_FIRED.clear()  # the self-test's refusals are not invalid.json's coverage
    return problems + t.problems


# ----------------------------------------- synthetic §8 elements, for the checkers themselves


def synthetic_vectors():
    """One or more §8 elements per v2 file, built here (so the checkers of
    verify_vectors.py run on v2 data before the project's vectors are v2), and, per
    file, one element altered so that its checker must report a problem."""
    sid, ck0, head = bytes([0x5E]) * 16, bytes([0xC0]) * 32, {"head_epoch": 4, "head_root": ROOT.hex()}
    cards_ = [dict(k, card=card_text_from_key(k), card_id=card_id_of_key(k).hex()) for k in (A0, A1, B)]
    msg = dict(sender=A0, recipients=[A0, B], cek="77" * 32, msg_id="01" * 16, ikm_e=["61" * 32, "62" * 32],
               content_type=1, sent_at=5, context="dm:1", data="6869", **head)
    msg["envelope"] = build_envelope(A0, [A0, B], bytes.fromhex(msg["cek"]), bytes.fromhex(msg["msg_id"]),
                                     [bytes.fromhex(x) for x in msg["ikm_e"]], 1, 5, "dm:1", 4, ROOT, b"hi")
    pw = []
    for s, r in ((A1, B), (A0, A0)):
        e = dict(sender=s, recipient=r, msg_id="02" * 16, content_type=2, sent_at=6, context="", data="7b7d", **head)
        e["text"] = build_pairwise(s, r, bytes.fromhex(e["msg_id"]), 2, 6, "", 4, ROOT, b"{}")
        pw.append(e)
    grp = dict(sender=A0, session_id=sid.hex(), chain_key=ck0.hex(), index=2, content_type=1, sent_at=7,
               context="team", data="6869", **head)
    grp["text"] = build_group(A0, sid, ck0, 2, 1, 7, "team", 4, ROOT, b"hi")
    bk = dict(password="pw", m_kib=19456, t=2, p=1, salt="03" * 16, nonce="04" * 24, keyring=[A1, A0])
    bk["backup"] = build_backup("pw", 19456, 2, 1, bytes([3]) * 16, bytes([4]) * 24, [A1, A0])
    pk = dict(credential_id="c1" * 20, prf_salt="05" * 32, prf_output="06" * 32, nonce="07" * 24, keyring=[A1, A0])
    pk["backup"] = build_passkey_backup(bytes.fromhex(pk["credential_id"]), bytes([5]) * 32, bytes([6]) * 32,
                                        bytes([7]) * 24, [A1, A0])
    lk = dict(link_id="08" * 16, e_sk="09" * 32, ikm_e="0a" * 32, keyring=[B])
    lk["qr"] = build_qr(bytes([8]) * 16, x25519_public(bytes([9]) * 32))
    lk["offer"], lk["code"] = build_offer(bytes([8]) * 16, x25519_public(bytes([9]) * 32), bytes([10]) * 32, [B])
    sn = dict(a=A0, b=B, safety_number=safety_number(A0["identity"], ed25519_public(bytes.fromhex(A0["sign_seed"])),
                                                     B["identity"], ed25519_public(bytes.fromhex(B["sign_seed"]))))
    rogue = raw_card("alice@clinic-a", 3000, bytes([0x70]) * 32, x25519_public(bytes([0x71]) * 32),
                     card_id_of_key(A0), bytes.fromhex(B["sign_seed"]))
    inv = [
        {"kind": "card", "description": "rotation_sig by another key", "input": "csc2." + b64u_encode(rogue),
         "previous": A0, "error": "BadSignature"},
        {"kind": "card", "description": "a v1 text", "input": "csc1." + cards_[0]["card"][5:], "error": "Malformed"},
        {"kind": "pairwise", "description": "a third party", "input": pw[0]["text"], "keyring": [C],
         "directory": [A1, B], "from": None, "context": None, "error": "NotARecipient"},
        {"kind": "group", "description": "no share", "input": grp["text"], "keyring": [B], "directory": [A0],
         "from": None, "context": None, "shares": [], "error": "NoSessionKey"},
        {"kind": "backup", "description": "passkey: another PRF output", "input": pk["backup"],
         "prf_output": "00" * 32, "error": "Integrity"},
        {"kind": "link", "description": "another link_id", "input": lk["offer"], "link_id": "00" * 16,
         "e_sk": lk["e_sk"], "error": "Integrity"},
        {"kind": "head", "description": "a later section", "input": "csh1.", "error": "Malformed"},
    ]
    good = {"cards.json": cards_, "messages.json": [msg], "pairwise.json": pw, "group_messages.json": [grp],
            "backups.json": [bk], "passkey_backups.json": [pk], "links.json": [lk], "safety_numbers.json": [sn],
            "invalid.json": inv}
    bad = {"cards.json": dict(cards_[1], created_at=2001), "messages.json": dict(msg, head_epoch=5),
           "pairwise.json": dict(pw[0], head_root="22" * 32), "group_messages.json": dict(grp, index=3),
           "backups.json": dict(bk, keyring=[A0, A1]), "passkey_backups.json": dict(pk, nonce="08" * 24),
           "links.json": dict(lk, code="000000" if lk["code"] != "000000" else "000001"),
           "safety_numbers.json": dict(sn, b=C),
           "invalid.json": dict(inv[0], error="Malformed")}
    return good, bad
