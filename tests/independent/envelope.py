"""PROTOCOL §3: envelopes, their decryption and their building.

Part of the independent verifier (verify_vectors.py), written from PROTOCOL.md only."""

from wire import *  # noqa: F401,F403 (the earlier layers)
from primitives import *  # noqa: F401,F403 (the earlier layers)
from cards import *  # noqa: F401,F403 (the earlier layers)

# ------------------------------------------------------------------------------ §3

MSG_SIG_CONTEXT = b"chatseal/v2/msg\x00"
CEK_INFO = b"chatseal/v2/cek"
MSG_MAGIC = b"CSM2"
MSG_PREFIX = "csm2."
STANZA_LEN = 16 + 32 + 48
SIG_LEN = 64


def parse_envelope(text):
    """Step 1: text and header (Malformed)."""
    raw = b64u_decode(strip_prefix(text, MSG_PREFIX))
    r = Reader(raw, "envelope header")
    magic = r.take(4)
    if magic == b"CSM1":
        fail("Malformed", "v1 magic", "envelope magic CSM1 is version 1, Malformed in version 2")
    if magic != MSG_MAGIC:
        fail("Malformed", "§3 bad magic", magic.hex())
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


def parse_payload(payload, signed=True):
    """Step 4 (Malformed): fields (content_type, sent_at, context, head_epoch,
    head_root, data), the signature when `signed` (§3, §9; §11 has none), then the
    padding: at most 255 zero bytes."""
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
    head_epoch = r.u64()
    head_root = r.take(32)
    data = r.vec32()
    fields_len = r.i
    sig = r.take(SIG_LEN) if signed else b""
    pad = r.rest()
    if len(pad) > 255:
        fail("Malformed", "§3 padding over 255 bytes", str(len(pad)))
    if any(pad):
        fail("Malformed", "§3 non-zero padding")
    return {"content_type": content_type, "sent_at": sent_at, "context": context,
            "head_epoch": head_epoch, "head_root": head_root,
            "data": data, "fields": payload[:fields_len], "sig": sig, "pad": pad}


def build_fields(content_type, sent_at, context, head_epoch, head_root, data):
    assert len(head_root) == 32
    return (bytes([content_type]) + u64(sent_at) + vec16(context.encode("utf-8"))
            + u64(head_epoch) + head_root + vec32(data))


def pad_to_32(unpadded):
    """§3: the fewest zero bytes (0-31) that make len(payload) a multiple of 32."""
    return unpadded + bytes(-len(unpadded) % 32)


def resolve(card_id, keyring, directory):
    """§3 "Resolving": the reader's own cards locally, any other through the directory."""
    for cid, _, card in keyring:
        if cid == card_id and card is not None:
            return card
    return directory.get(card_id)


def check_sender(section, signed_prefix, sender_card_id, p, keyring, directory, sender_name,
                 expected_context):
    """Steps 5-7 of §3's decryption, which §9 repeats for a group message: the sender card
    (resolved), the named sender, the signature over `signed_prefix` + the payload's
    fields, and the context. Returns the sender card."""
    card = resolve(sender_card_id, keyring, directory)                     # 5
    if card is None:
        fail("UnknownSender", f"{section} sender_card_id not in the directory")
    if sender_name is not None and card["identity"] != sender_name:
        fail("SenderMismatch", f"{section} sender card's identity is not the named sender",
             f"{card['identity']!r} != {sender_name!r}")
    if not ed25519_verify_strict(card["sign_pk"], signed_prefix + p["fields"], p["sig"]):
        fail("BadSignature", f"{section} message signature fails verify_strict")  # 6
    check_context(section, p, expected_context)                            # 7
    return card


def check_context(section, p, expected_context):
    if expected_context is not None and p["context"] != expected_context:
        fail("ContextMismatch", f"{section} context differs from the expected one",
             f"{p['context']!r} != {expected_context!r}")


def result_fields(p):
    """What every result carries from the payload (§3: head fields too)."""
    return {"content_type": p["content_type"], "sent_at": p["sent_at"], "context": p["context"],
            "head_epoch": p["head_epoch"], "head_root": p["head_root"], "data": p["data"],
            "pad": p["pad"], "fields": p["fields"], "sig": p["sig"]}


def decrypt_message(text, keyring, directory, sender_name=None, expected_context=None):
    """§3 steps 1-7. keyring: [(card_id, enc_sk, card or None)] current and older keys;
    directory: {card_id: decoded card}."""
    env = parse_envelope(text)                                             # 1
    mine = {cid: sk for cid, sk, _ in keyring}
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
    card = check_sender("§3", MSG_SIG_CONTEXT + env["header"], env["sender_card_id"], p,
                        keyring, directory, sender_name, expected_context)  # 5-7
    res = {"env": env, "payload": payload, "stanza_index": idx, "cek": cek,
           "sender_identity": card["identity"], "sender_card_id": env["sender_card_id"],
           "msg_id": env["msg_id"]}
    res.update(result_fields(p))
    return res


def keyring_of(keys):
    """[(card_id, enc_sk, decoded card)] from key objects (the card None when it does
    not decode: an invalid case may hold such a key, and it still names a card_id)."""
    out = []
    for k in keys:
        try:
            card = decode_card_bytes(card_from_key(k))
        except ProtoError:
            card = None
        out.append((card_id_of_key(k), bytes.fromhex(k["enc_sk"]), card))
    return out


def directory_of(keys):
    d = {}
    for k in keys:
        c = decode_card_bytes(card_from_key(k))
        d[c["card_id"]] = c
    return d


def build_envelope(sender, recipients, cek, msg_id, ikm_e, content_type, sent_at, context,
                   head_epoch, head_root, data):
    """The sender side, independently: every input fixed, pad the minimum that
    makes len(payload) a multiple of 32."""
    s_id = card_id_of_key(sender)
    info = CEK_INFO + s_id + msg_id
    header = MSG_MAGIC + s_id + msg_id + u16(len(recipients))
    for rk, ikm in zip(recipients, ikm_e):
        rid = card_id_of_key(rk)
        sk_e, _ = derive_key_pair(ikm)
        enc, wrapped = hpke_seal_base(x25519_public(bytes.fromhex(rk["enc_sk"])), info, rid, cek, sk_e)
        header += rid + enc + wrapped
    fields = build_fields(content_type, sent_at, context, head_epoch, head_root, data)
    sig = ed25519_sign(bytes.fromhex(sender["sign_seed"]), MSG_SIG_CONTEXT + header + fields)
    payload = pad_to_32(fields + sig)
    return MSG_PREFIX + b64u_encode(header + chacha_seal(cek, header, payload))
