"""PROTOCOL §11: pairwise messages (csp2.), keyed by the static X25519 secret of a pair of cards.

Part of the independent verifier (verify_vectors.py), written from PROTOCOL.md only."""

from wire import *  # noqa: F401,F403 (the earlier layers)
from primitives import *  # noqa: F401,F403 (the earlier layers)
from cards import *  # noqa: F401,F403 (the earlier layers)
from envelope import *  # noqa: F401,F403 (the earlier layers)

# ----------------------------------------------------------------------------- §11

PAIR_SALT = b"chatseal/v2/pair"
PAIR_MAGIC = b"CSP2"
PAIR_PREFIX = "csp2."
PHEADER_LEN = 4 + 16 + 16 + 16


def pair_key(own_enc_sk, other_enc_pk, pheader):
    """pair_secret = X25519(own enc_sk, other enc_pk); prk = HKDF-Extract(salt =
    "chatseal/v2/pair", pair_secret); key = HKDF-Expand(prk, pheader, 32). None when
    pair_secret is all zero (step 4: Integrity)."""
    secret = x25519(own_enc_sk, other_enc_pk)
    if secret is None:
        return None
    return hkdf_expand(hkdf_extract(PAIR_SALT, secret), pheader, 32)


def parse_pairwise(text):
    """Step 1: text and pheader (Malformed); the body is everything after it."""
    raw = b64u_decode(strip_prefix(text, PAIR_PREFIX))
    r = Reader(raw, "pheader")
    magic = r.take(4)
    if magic != PAIR_MAGIC:
        fail("Malformed", "§11 bad magic", magic.hex())
    sender_card_id = r.take(16)
    recipient_card_id = r.take(16)
    msg_id = r.take(16)
    return {"raw": raw, "pheader": raw[:r.i], "body": r.rest(), "sender_card_id": sender_card_id,
            "recipient_card_id": recipient_card_id, "msg_id": msg_id}


def decrypt_pairwise(text, keyring, directory, sender_name=None, expected_context=None):
    """§11 steps 1-7. keyring: [(card_id, enc_sk, card)]; directory: {card_id: card}.
    Returns the result plus `as` ("recipient" or "sender": which side read it)."""
    m = parse_pairwise(text)                                                # 1
    mine = {cid: (sk, card) for cid, sk, card in keyring}
    if m["recipient_card_id"] in mine:                                      # 2
        side, own_id, other_id = "recipient", m["recipient_card_id"], m["sender_card_id"]
    elif m["sender_card_id"] in mine:
        side, own_id, other_id = "sender", m["sender_card_id"], m["recipient_card_id"]
    else:
        fail("NotARecipient", "§11 neither card_id of the pheader is in the local keyring")
    own_sk = mine[own_id][0]
    other = resolve(other_id, keyring, directory)                           # 3
    if other is None:
        fail("UnknownSender", "§11 the other card cannot be resolved", f"{side} side, card {h(other_id)}")
    key = pair_key(own_sk, other["enc_pk"], m["pheader"])                   # 4
    if key is None:
        fail("Integrity", "§11 all-zero pair_secret")
    payload = chacha_open(key, m["pheader"], m["body"])
    if payload is None:
        fail("Integrity", "§11 body open failed", f"body {len(m['body'])} bytes")
    p = parse_payload(payload, signed=False)                                # 5
    sender_card = other if side == "recipient" else resolve(own_id, keyring, directory)
    if sender_card is None:  # an own key whose card does not decode: it names no identity
        fail("UnknownSender", "§11 the sender card cannot be resolved", h(own_id))
    if sender_name is not None and sender_card["identity"] != sender_name:  # 6
        fail("SenderMismatch", "§11 sender card's identity is not the named sender",
             f"{sender_card['identity']!r} != {sender_name!r}")
    check_context("§11", p, expected_context)                               # 7
    res = {"m": m, "payload": payload, "as": side, "key": key,
           "sender_identity": sender_card["identity"], "sender_card_id": m["sender_card_id"],
           "recipient_card_id": m["recipient_card_id"], "msg_id": m["msg_id"]}
    res.update(result_fields(p))
    return res


def build_pairwise(sender, recipient, msg_id, content_type, sent_at, context, head_epoch,
                   head_root, data):
    """The sender side, independently, from the two key objects: the sender's enc_sk
    and the recipient's enc_pk, payload = fields || the minimum zero pad to 32."""
    pheader = PAIR_MAGIC + card_id_of_key(sender) + card_id_of_key(recipient) + msg_id
    key = pair_key(bytes.fromhex(sender["enc_sk"]), x25519_public(bytes.fromhex(recipient["enc_sk"])), pheader)
    fields = build_fields(content_type, sent_at, context, head_epoch, head_root, data)
    return PAIR_PREFIX + b64u_encode(pheader + chacha_seal(key, pheader, pad_to_32(fields)))
