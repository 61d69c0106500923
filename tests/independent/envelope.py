"""PROTOCOL §3: envelopes, their decryption and their building.

Part of the independent verifier (verify_vectors.py), written from PROTOCOL.md only."""

from wire import *  # noqa: F401,F403 (the earlier layers)
from primitives import *  # noqa: F401,F403 (the earlier layers)
from cards import *  # noqa: F401,F403 (the earlier layers)

# ------------------------------------------------------------------------------ §3

MSG_SIG_CONTEXT = b"chatseal/v1/msg\x00"
CEK_INFO = b"chatseal/v1/cek"
STANZA_LEN = 16 + 32 + 48


def parse_envelope(text):
    """Step 1: text and header (Malformed)."""
    raw = b64u_decode(strip_prefix(text, "csm1."))
    r = Reader(raw, "envelope header")
    if r.take(4) != b"CSM1":
        fail("Malformed", "§3 bad magic")
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


def parse_payload(payload):
    """Step 4 (Malformed)."""
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
    data = r.vec32()
    fields_len = r.i
    sig = r.take(64)
    pad = r.rest()
    if len(pad) > 255:
        fail("Malformed", "§3 padding over 255 bytes", str(len(pad)))
    if any(pad):
        fail("Malformed", "§3 non-zero padding")
    return {"content_type": content_type, "sent_at": sent_at, "context": context,
            "data": data, "fields": payload[:fields_len], "sig": sig, "pad": pad}


def check_sender(section, signed_prefix, sender_card_id, p, directory, sender_name,
                 expected_context):
    """Steps 5-7 of §3's decryption, which §9 repeats for a group message: the sender card
    from the directory, the named sender, the signature over `signed_prefix` + the
    payload's fields, and the context. Returns the sender card."""
    card = directory.get(sender_card_id)                                    # 5
    if card is None:
        fail("UnknownSender", f"{section} sender_card_id not in the directory")
    if sender_name is not None and card["identity"] != sender_name:
        fail("SenderMismatch", f"{section} sender card's identity is not the named sender",
             f"{card['identity']!r} != {sender_name!r}")
    if not ed25519_verify_strict(card["sign_pk"], signed_prefix + p["fields"], p["sig"]):
        fail("BadSignature", f"{section} message signature fails verify_strict")  # 6
    if expected_context is not None and p["context"] != expected_context:
        fail("ContextMismatch", f"{section} context differs from the expected one",  # 7
             f"{p['context']!r} != {expected_context!r}")
    return card


def decrypt_message(text, keyring, directory, sender_name=None, expected_context=None):
    """§3 steps 1-7. keyring: [(card_id, enc_sk)] current and older keys;
    directory: {card_id: decoded card}."""
    env = parse_envelope(text)                                             # 1
    mine = {cid: sk for cid, sk in keyring}
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
                        directory, sender_name, expected_context)          # 5-7
    return {"env": env, "payload": payload, "stanza_index": idx, "cek": cek,
            "sender_identity": card["identity"], "sender_card_id": env["sender_card_id"],
            "msg_id": env["msg_id"], "content_type": p["content_type"], "sent_at": p["sent_at"],
            "context": p["context"], "data": p["data"], "pad": p["pad"]}


def keyring_of(keys):
    out = []
    for k in keys:
        out.append((card_id_of_tbs(card_tbs_from_key(k)), bytes.fromhex(k["enc_sk"])))
    return out


def directory_of(keys):
    d = {}
    for k in keys:
        c = decode_card_bytes(card_from_key(k))
        d[c["card_id"]] = c
    return d


def build_envelope(sender, recipients, cek, msg_id, ikm_e, content_type, sent_at, context, data):
    """The sender side, independently: every input fixed, pad the minimum that
    makes len(payload) a multiple of 32."""
    s_id = card_id_of_tbs(card_tbs_from_key(sender))
    info = CEK_INFO + s_id + msg_id
    header = b"CSM1" + s_id + msg_id + u16(len(recipients))
    for rk, ikm in zip(recipients, ikm_e):
        rid = card_id_of_tbs(card_tbs_from_key(rk))
        sk_e, _ = derive_key_pair(ikm)
        enc, wrapped = hpke_seal_base(x25519_public(bytes.fromhex(rk["enc_sk"])), info, rid, cek, sk_e)
        header += rid + enc + wrapped
    ctx = context.encode("utf-8")
    fields = bytes([content_type]) + u64(sent_at) + u16(len(ctx)) + ctx + u32(len(data)) + data
    sig = ed25519_sign(bytes.fromhex(sender["sign_seed"]), MSG_SIG_CONTEXT + header + fields)
    unpadded = len(fields) + len(sig)
    payload = fields + sig + bytes(-unpadded % 32)
    return "csm1." + b64u_encode(header + chacha_seal(cek, header, payload))
