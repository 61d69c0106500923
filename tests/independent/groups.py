"""PROTOCOL §9: group sessions, shares and the chain-key ratchet.

Part of the independent verifier (verify_vectors.py), written from PROTOCOL.md only."""

import hashlib
import hmac
import struct

from wire import *  # noqa: F401,F403 (the earlier layers)
from primitives import *  # noqa: F401,F403 (the earlier layers)
from cards import *  # noqa: F401,F403 (the earlier layers)
from envelope import *  # noqa: F401,F403 (the earlier layers)
from backup import *  # noqa: F401,F403 (the earlier layers)
from safety import *  # noqa: F401,F403 (the earlier layers)
from pairwise import *  # noqa: F401,F403 (the earlier layers)

# ------------------------------------------------------------------------------ §9

GROUP_SIG_CONTEXT = b"chatseal/v2/group\x00"
GROUP_MAGIC = b"CSG2"
GROUP_PREFIX = "csg2."
GHEADER_LEN = 4 + 16 + 16 + 4
SHARE_LEN = 4 + 16 + 4 + 32
SHARE_CONTENT_TYPE = 4
MAX_RATCHET_STEPS = 100000


def hmac_sha256(key, msg):
    return hmac.new(key, msg, hashlib.sha256).digest()


def message_key(ck):
    return hmac_sha256(ck, b"\x01")


def next_ck(ck):
    return hmac_sha256(ck, b"\x02")


def ratchet(ck, steps):
    for _ in range(steps):
        ck = next_ck(ck)
    return ck


def parse_group(text):
    """§9 (§3 step 1): text and gheader (Malformed); the body is everything after."""
    raw = b64u_decode(strip_prefix(text, GROUP_PREFIX))
    r = Reader(raw, "gheader")
    magic = r.take(4)
    if magic == b"CSG1":
        fail("Malformed", "v1 magic", "group magic CSG1 is version 1, Malformed in version 2")
    if magic != GROUP_MAGIC:
        fail("Malformed", "§9 bad magic", magic.hex())
    sender_card_id = r.take(16)
    session_id = r.take(16)
    index = r.u32()
    gheader = raw[:r.i]
    return {"raw": raw, "gheader": gheader, "body": r.rest(), "sender_card_id": sender_card_id,
            "session_id": session_id, "index": index}


def build_share(session_id, index, chain_key):
    return b"CSS1" + session_id + u32(index) + chain_key


# The rules by which find_session refused a share, for the coverage note.
SHARE_RULES_FIRED = set()


def find_session(g, shares, keyring, directory, expected_context=None):
    """§9 in place of §3 steps 2-3: the lowest-index share that is accepted. A share
    is accepted only if it passes §11's checks for this keyring (with the caller's
    expected context when it names one, and no SDK-named sender), has content type 4,
    data that is a well-formed 56-byte CSS1 share naming the gheader's session, and
    the gheader's sender_card_id as its §11 sender card. The last of §9's conditions,
    "its context is the channel's", is applied by decrypt_group once the message has
    opened (the channel's context is the message's when the caller names none)."""
    accepted, refused = [], []   # refused: (share number, §11 error name or None, rule, detail)
    for n, share_text in enumerate(shares):
        try:
            m = decrypt_pairwise(share_text, keyring, directory, None, expected_context)
        except ProtoError as e:
            refused.append((n, e.name, f"share fails §11 with {e.name}", e.rule))
            continue
        s, bad = None, None
        if m["content_type"] != SHARE_CONTENT_TYPE:
            bad = ("share content type is not 4", str(m["content_type"]))
        elif len(m["data"]) != SHARE_LEN:
            bad = ("share data is not 56 bytes", f"{len(m['data'])} bytes")
        elif m["data"][:4] != b"CSS1":
            bad = ("share data magic is not CSS1", repr(m["data"][:4]))
        else:
            s = {"session_id": m["data"][4:20], "index": struct.unpack(">I", m["data"][20:24])[0],
                 "chain_key": m["data"][24:56]}
            if s["session_id"] != g["session_id"]:
                bad = ("share names another session", f"{h(s['session_id'])} != {h(g['session_id'])}")
            elif m["sender_card_id"] != g["sender_card_id"]:
                bad = ("share's sender card is not the gheader's sender_card_id",
                       f"{h(m['sender_card_id'])} != {h(g['sender_card_id'])}")
        if bad is not None:
            refused.append((n, None) + bad)
            continue
        accepted.append((s["index"], n, s["chain_key"], m["context"]))
    for _, _, rule, _ in refused:
        SHARE_RULES_FIRED.add(rule)
    detail = "; ".join(f"share {n}: {rule} ({d})" for n, _, rule, d in refused)
    if not accepted:
        fail("NoSessionKey", "§9 no accepted share for the session", detail or "no shares")
    share_index, n, ck, context = min(accepted)
    return {"index": share_index, "share_number": n, "chain_key": ck, "context": context,
            "refused": refused}


def open_group(g, share_index, share_ck, keyring, directory, sender_name=None, expected_context=None):
    """§9 from the session's chain key at share_index on: the index rules, the
    message key, the body, then §3 steps 4-7 with the group signature."""
    if g["index"] < share_index:
        fail("NoSessionKey", "§9 index below the share's", f"{g['index']} < {share_index}")
    if g["index"] - share_index > MAX_RATCHET_STEPS:
        fail("Malformed", "§9 jump of more than 100000 steps", f"{g['index']} - {share_index}")
    mk = message_key(ratchet(share_ck, g["index"] - share_index))
    payload = chacha_open(mk, g["gheader"], g["body"])
    if payload is None:
        fail("Integrity", "§9 body open failed", f"body {len(g['body'])} bytes")
    p = parse_payload(payload)                                              # 4
    card = check_sender("§9", GROUP_SIG_CONTEXT + g["gheader"], g["sender_card_id"], p,
                        keyring, directory, sender_name, expected_context)  # 5-7
    res = {"g": g, "payload": payload, "message_key": mk, "sender_identity": card["identity"],
           "sender_card_id": g["sender_card_id"], "session_id": g["session_id"], "index": g["index"]}
    res.update(result_fields(p))
    return res


def decrypt_group(text, keyring, directory, shares, sender_name=None, expected_context=None):
    """§9 decryption: shares are the §11 texts the directory returns for the session."""
    g = parse_group(text)                                                   # 1
    s = find_session(g, shares, keyring, directory, expected_context)      # in place of 2-3
    res = open_group(g, s["index"], s["chain_key"], keyring, directory, sender_name, expected_context)
    if res["context"] != s["context"]:
        # "its context is the channel's": a share whose context is not the message's
        # was not a share for this channel; refused shares are ignored, so NoSessionKey.
        SHARE_RULES_FIRED.add("share's context is not the channel's")
        fail("NoSessionKey", "§9 the share's context is not the channel's",
             f"message {res['context']!r}, share {s['context']!r}")
    res["share"] = s
    return res


def build_group(sender, session_id, ck0, index, content_type, sent_at, context, head_epoch,
                head_root, data):
    """The sender side, independently: chain key at index 0 ratcheted `index` times,
    the minimum zero pad that makes len(payload) a multiple of 32."""
    gheader = GROUP_MAGIC + card_id_of_key(sender) + session_id + u32(index)
    fields = build_fields(content_type, sent_at, context, head_epoch, head_root, data)
    sig = ed25519_sign(bytes.fromhex(sender["sign_seed"]), GROUP_SIG_CONTEXT + gheader + fields)
    mk = message_key(ratchet(ck0, index))
    return GROUP_PREFIX + b64u_encode(gheader + chacha_seal(mk, gheader, pad_to_32(fields + sig)))
