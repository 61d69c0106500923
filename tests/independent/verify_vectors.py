#!/usr/bin/env python3
"""Independent check of the chatseal v1 test vectors against PROTOCOL.md §1-§5,
§9 (group sessions: group_messages.json, and the "group" cases of invalid.json)
and §10 (attachments: files.json, and the "file" and "descriptor" cases of
invalid.json).

Written from /work/shared/spec/PROTOCOL.md (and RFC 9180 / RFC 8032 / RFC 7748 /
RFC 9106) only, without reading the Rust sources, so that a disagreement between
this file and the vectors points at a place where one of the two departs from the
spec.

Layout: one module per layer beside this file, each importing the ones before it:
wire.py (errors, encodings), primitives.py (Ed25519, X25519, ChaCha20Poly1305,
Argon2id, HPKE), cards.py (§1-§2), envelope.py (§3), backup.py (§4), safety.py
(§5), groups.py (§9) and files.py (§10). This file checks the vectors with them.

Usage:  python verify_vectors.py [VECTORS_DIR] [-v]
        VECTORS_DIR defaults to ../vectors relative to this file; -v prints the
        reason behind every expected rejection in invalid.json.

Environment this was written and run with (python3 -m venv /work/pyenv-verify;
pins in requirements.txt beside this file), CPython 3.11.7:
    cryptography==50.0.2         X25519, Ed25519 signing, ChaCha20Poly1305, SHA-2
    PyNaCl==1.6.2                XChaCha20Poly1305 (crypto_aead_xchacha20poly1305_ietf_*)
                                 and strict Ed25519 verification (bundled libsodium)
    argon2-cffi==25.1.0          Argon2id v0x13 (argon2.low_level.hash_secret_raw)
    argon2-cffi-bindings==26.2.0, cffi==2.1.1, pycparser==3.12 (dependencies)

Ed25519 verification ("verify_strict" in the spec) is libsodium's
crypto_sign_open, reached through nacl.bindings.crypto_sign_open. libsodium's
verifier (without ED25519_COMPAT, as PyNaCl builds it) rejects a non-canonical S
(S >= L), a small-order R, a small-order public key and a non-canonical public key
encoding, and checks the cofactorless equation by comparing the encoding of R: the
same acceptance set as ed25519-dalek's verify_strict for every input in the
vectors (libsodium is, if anything, stricter: it also rejects a non-canonical A).
PyNaCl 1.6 exposes no crypto_sign_verify_detached binding; crypto_sign_open calls
the same internal verify_detached routine. The self-test below shows that it
rejects what a non-strict verifier accepts.

HPKE (RFC 9180 mode_base, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
ChaCha20Poly1305) is implemented here from the RFC on top of HMAC-SHA256, X25519
and ChaCha20Poly1305, and self-tested against RFC 9180 Appendix A.2.1.

§9's chain-key ratchet is HMAC-SHA256 (Python's hmac/hashlib, self-tested against
RFC 4231 test cases 1 and 2). A group case of invalid.json is decrypted with the
shares it lists (what the directory returns for the session), each share opened
with this file's §3 decryption. One rule of the group decoder is not in §9's text:
when no share is accepted and one of them failed its §3 checks with BadSignature,
the error is BadSignature rather than NoSessionKey (the rule names say so, and -v
shows where it decides a case).

§10 (files.json, and the "file" and "descriptor" cases of invalid.json): a
files.json element's plaintext is encrypted here under its file_key with
ChaCha20Poly1305 and compared with its `encrypted` byte for byte; its descriptor
is rebuilt (size = the plaintext's length, hash = SHA-256 of `encrypted`) and
compared byte for byte; the vector's descriptor is decoded and the vector's file
decrypted back. A "file" case's from_file segments are cut from the `encrypted`
of the files.json element with that description. The reader checks the hash first
(Integrity), then the "CSF1" magic (Malformed: §10 names no error for it; the
§2-§4 magics are Malformed), then reads chunks as a stream does: the next 64 KiB
+ 16 bytes, opened as the final chunk exactly when nothing follows. The comments
at the §10 code below name the places where this file reads §10 rather than
quotes it (u88, the size, UTF-8 texts, canonical chunking).
"""

import hashlib
import json
import os
import struct
import sys
import time
import traceback
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from wire import *  # noqa: F401,F403 (the layers, §1-§10)
from primitives import *  # noqa: F401,F403 (the layers, §1-§10)
from cards import *  # noqa: F401,F403 (the layers, §1-§10)
from envelope import *  # noqa: F401,F403 (the layers, §1-§10)
from backup import *  # noqa: F401,F403 (the layers, §1-§10)
from safety import *  # noqa: F401,F403 (the layers, §1-§10)
from groups import *  # noqa: F401,F403 (the layers, §1-§10)
from files import *  # noqa: F401,F403 (the layers, §1-§10)

VERBOSE = False

# ------------------------------------------------------------------------- checking


REBUILT = ("vector", "rebuilt here")


class Vec:
    """Collects mismatches for one vector."""

    def __init__(self, label):
        self.label = label
        self.problems = []

    def eq(self, what, expected, got, names=("expected", "got")):
        """expected: what the vector's inputs say (or the vector's own text, for a
        rebuilt object); got: what was decoded from it (or rebuilt here)."""
        if expected != got:
            where = ""
            if isinstance(expected, (str, bytes)) and type(expected) is type(got):
                where = f" (first difference at {'character' if isinstance(got, str) else 'byte'} {first_diff(expected, got)})"
            self.problems.append(f"{what}: {names[0]} {show(expected)}, {names[1]} {show(got)}{where}")

    def true(self, what, cond, detail=""):
        if not cond:
            self.problems.append(f"{what}{': ' + detail if detail else ''}")


def show(v):
    if isinstance(v, (bytes, bytearray)):
        s = v.hex()
        return s if len(s) <= 120 else s[:120] + f"...({len(v)} bytes)"
    s = repr(v)
    return s if len(s) <= 160 else s[:160] + "..."


def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b)) if len(a) != len(b) else None


def card_region(offset, tbs):
    """Names the card field at a byte offset, laid out as `tbs` (the rebuilt card_tbs)."""
    n = struct.unpack(">H", tbs[4:6])[0]
    bounds = [(4, "magic"), (6, "identity length"), (6 + n, "identity"), (14 + n, "created_at"),
              (46 + n, "sign_pk"), (78 + n, "enc_pk"), (79 + n, "prev_flag"),
              (len(tbs), "prev_card_id"), (len(tbs) + 64, "card_sig")]
    for end, name in bounds:
        if offset < end:
            return name
    return "past the signature"


def envelope_region(offset, n):
    if offset < 4:
        return "magic"
    if offset < 20:
        return "sender_card_id"
    if offset < 36:
        return "msg_id"
    if offset < 38:
        return "n"
    if offset < 38 + n * STANZA_LEN:
        k, o = divmod(offset - 38, STANZA_LEN)
        part = "recipient_card_id" if o < 16 else "enc" if o < 48 else "wrapped"
        return f"stanza {k} {part}"
    return "body"


def gmessage_region(offset):
    if offset < 4:
        return "magic"
    if offset < 20:
        return "sender_card_id"
    if offset < 36:
        return "session_id"
    if offset < GHEADER_LEN:
        return "index"
    return "body"


def run_file(path, fn, name):
    with open(path, encoding="utf-8") as f:
        items = json.load(f)
    return run_items(items, fn, name)


def run_items(items, fn, name, *extra):
    ok = bad = 0
    lines = []
    for i, item in enumerate(items):
        label = fn.label(i, item)
        v = Vec(label)
        try:
            fn(v, item, *extra)
        except ProtoError as e:
            v.problems.append(f"rejected by this decoder: {e}")
        except Exception as e:  # a bug here, or an input the checker did not expect
            v.problems.append(f"checker exception: {e!r}\n      " + traceback.format_exc().replace("\n", "\n      "))
        if v.problems:
            bad += 1
            for p in v.problems:
                lines.append(f"  MISMATCH {name}[{i}] {label}: {p}")
        else:
            ok += 1
    print(f"{name}: {ok} ok" + (f", {bad} failed" if bad else ""))
    for l in lines:
        print(l)
    return ok, bad


def labelled(labeler):
    def deco(fn):
        fn.label = labeler
        return fn
    return deco


@labelled(lambda i, it: f"({it['identity']!r}, created_at {it['created_at']})")
def check_card(v, item):
    tbs = card_tbs_from_key(item)
    built = card_from_key(item)
    v.eq("card text (rebuilt from the key object)", item["card"], "csc1." + b64u_encode(built), REBUILT)
    if item["card"] != "csc1." + b64u_encode(built):
        try:
            raw = b64u_decode(strip_prefix(item["card"], "csc1."))
            off = first_diff(raw, built)
            v.problems.append(f"card bytes: first difference at byte {off} ({card_region(off, tbs)}); "
                              f"vector {len(raw)} bytes, rebuilt {len(built)} bytes")
        except ProtoError:
            pass
    v.eq("card_id = SHA-256(card_tbs)[0..16]", item["card_id"], card_id_of_tbs(tbs).hex(), REBUILT)
    c = decode_card_text(item["card"])
    v.eq("decoded identity", item["identity"], c["identity"])
    v.eq("decoded created_at", item["created_at"], c["created_at"])
    v.eq("decoded sign_pk", ed25519_public(bytes.fromhex(item["sign_seed"])), c["sign_pk"])
    v.eq("decoded enc_pk", x25519_public(bytes.fromhex(item["enc_sk"])), c["enc_pk"])
    v.eq("decoded prev_card_id", item["prev_card_id"], c["prev_card_id"].hex() if c["prev_card_id"] else None)
    v.eq("decoded card_id", item["card_id"], c["card_id"].hex())


@labelled(lambda i, it: f"({it['sender']['identity']!r} -> {len(it['recipients'])} recipient(s), context {it['context']!r})")
def check_message(v, item):
    sender, recips = item["sender"], item["recipients"]
    cek = bytes.fromhex(item["cek"])
    msg_id = bytes.fromhex(item["msg_id"])
    data = bytes.fromhex(item["data"])
    s_id = card_id_of_tbs(card_tbs_from_key(sender))
    env = parse_envelope(item["envelope"])
    v.eq("header sender_card_id", s_id, env["sender_card_id"])
    v.eq("header msg_id", msg_id, env["msg_id"])
    v.eq("header n", len(recips), len(env["stanzas"]))
    v.eq("len(ikm_e)", len(recips), len(item["ikm_e"]))
    v.true("§3: the sender's own card is among the recipients",
           s_id in {card_id_of_tbs(card_tbs_from_key(r)) for r in recips})
    directory = directory_of([sender])
    info = CEK_INFO + s_id + msg_id
    for j, (rk, st) in enumerate(zip(recips, env["stanzas"])):
        rcid, enc, wrapped = st
        rid = card_id_of_tbs(card_tbs_from_key(rk))
        v.eq(f"stanza {j} recipient_card_id ({rk['identity']})", rid, rcid)
        _, pk_e = derive_key_pair(bytes.fromhex(item["ikm_e"][j]))
        v.eq(f"stanza {j} enc = pk of DeriveKeyPair(ikm_e[{j}])", pk_e, enc)
        got_cek = hpke_open_base(enc, bytes.fromhex(rk["enc_sk"]), info, rid, wrapped)
        v.eq(f"stanza {j} HPKE-opened CEK", cek, got_cek)
        res = decrypt_message(item["envelope"], keyring_of([rk]), directory,
                              sender["identity"], item["context"])
        who = f"decrypt as recipient {j} ({rk['identity']})"
        v.eq(f"{who}: stanza used", j, res["stanza_index"])
        v.eq(f"{who}: content_type", item["content_type"], res["content_type"])
        v.eq(f"{who}: sent_at", item["sent_at"], res["sent_at"])
        v.eq(f"{who}: context", item["context"], res["context"])
        v.eq(f"{who}: data", data, res["data"])
        v.eq(f"{who}: sender identity", sender["identity"], res["sender_identity"])
        if j == 0:
            plen, pad = len(res["payload"]), res["pad"]
            v.true("§3 len(payload) is a multiple of 32", plen % 32 == 0, f"len(payload) = {plen}")
            v.true("§3 padding is zero bytes, at most 255", len(pad) <= 255 and not any(pad), f"{len(pad)} bytes")
    rebuilt = build_envelope(sender, recips, cek, msg_id, [bytes.fromhex(x) for x in item["ikm_e"]],
                             item["content_type"], item["sent_at"], item["context"], data)
    if rebuilt != item["envelope"]:
        a, b = env["raw"], b64u_decode(strip_prefix(rebuilt, "csm1."))
        off = first_diff(a, b)
        v.problems.append(
            f"re-encrypted envelope differs: first differing byte at offset {off} "
            f"({envelope_region(off, len(recips))}); vector {len(a)} bytes, rebuilt {len(b)} bytes; "
            f"vector bytes there {a[off:off + 16].hex()}, rebuilt {b[off:off + 16].hex()}")


@labelled(lambda i, it: f"({len(it['keyring'])} key(s), m_kib {it['m_kib']}, t {it['t']}, p {it['p']}, password {it['password']!r})")
def check_backup(v, item):
    salt, nonce = bytes.fromhex(item["salt"]), bytes.fromhex(item["nonce"])
    b = decode_backup(item["backup"], item["password"])
    v.eq("m_kib", item["m_kib"], b["m_kib"])
    v.eq("t", item["t"], b["t"])
    v.eq("p", item["p"], b["p"])
    v.eq("salt", salt, b["salt"])
    v.eq("nonce", nonce, b["nonce"])
    v.eq("keyring count", len(item["keyring"]), len(b["entries"]))
    for j, (k, e) in enumerate(zip(item["keyring"], b["entries"])):
        v.eq(f"keyring[{j}] card (rebuilt from the key object)", e["card"]["raw"], card_from_key(k), REBUILT)
        v.eq(f"keyring[{j}] sign_sk", bytes.fromhex(k["sign_seed"]), e["sign_sk"])
        v.eq(f"keyring[{j}] enc_sk", bytes.fromhex(k["enc_sk"]), e["enc_sk"])
    created = [k["created_at"] for k in item["keyring"]]
    v.true("§4 keyring newest card first", created == sorted(created, reverse=True), str(created))
    rebuilt = build_backup(item["password"], item["m_kib"], item["t"], item["p"], salt, nonce, item["keyring"])
    if rebuilt != item["backup"]:
        a, bb = b64u_decode(item["backup"][5:]), b64u_decode(rebuilt[5:])
        off = first_diff(a, bb)
        v.problems.append(f"re-sealed backup differs at byte {off} (header is {BACKUP_HEADER_LEN} bytes); "
                          f"vector {len(a)} bytes, rebuilt {len(bb)} bytes")


@labelled(lambda i, it: f"({it['a']['identity']!r} / {it['b']['identity']!r})")
def check_safety(v, item):
    a, b = item["a"], item["b"]
    got = safety_number(a["identity"], ed25519_public(bytes.fromhex(a["sign_seed"])),
                        b["identity"], ed25519_public(bytes.fromhex(b["sign_seed"])))
    v.eq("safety_number", item["safety_number"], got, ("vector", "computed here"))
    got_ba = safety_number(b["identity"], ed25519_public(bytes.fromhex(b["sign_seed"])),
                           a["identity"], ed25519_public(bytes.fromhex(a["sign_seed"])))
    v.eq("safety_number with the parties swapped", got, got_ba)


@labelled(lambda i, it: f"({it['sender']['identity']!r}, session {it['session_id'][:8]}.., index {it['index']}, context {it['context']!r})")
def check_group(v, item):
    sender = item["sender"]
    session_id = bytes.fromhex(item["session_id"])
    ck0 = bytes.fromhex(item["chain_key"])
    data = bytes.fromhex(item["data"])
    index = item["index"]
    tbs = card_tbs_from_key(sender)
    s_id = card_id_of_tbs(tbs)
    rebuilt = build_group(sender, session_id, ck0, index, item["content_type"], item["sent_at"],
                          item["context"], data)
    v.eq("csg1. text (rebuilt from the inputs)", item["text"], rebuilt, REBUILT)
    g = parse_group(item["text"])
    if rebuilt != item["text"]:
        b = b64u_decode(strip_prefix(rebuilt, "csg1."))
        off = first_diff(g["raw"], b)
        v.problems.append(
            f"rebuilt group message differs: first differing byte at offset {off} "
            f"({gmessage_region(off)}); vector {len(g['raw'])} bytes, rebuilt {len(b)} bytes; "
            f"vector bytes there {g['raw'][off:off + 16].hex()}, rebuilt {b[off:off + 16].hex()}")
    v.eq("gheader sender_card_id = SHA-256(card_tbs)[0..16]", s_id, g["sender_card_id"])
    v.eq("gheader session_id", session_id, g["session_id"])
    v.eq("gheader index", index, g["index"])
    v.true("§9 index within 100000 steps of the chain key at index 0", index <= MAX_RATCHET_STEPS, str(index))
    # Open it as a receiver holding the chain key at index 0 (a share of index 0),
    # with the sender's card resolvable, the sender named and the context expected.
    res = open_group(g, 0, ck0, directory_of([sender]), sender["identity"], item["context"])
    v.eq("decrypted content_type", item["content_type"], res["content_type"])
    v.eq("decrypted sent_at", item["sent_at"], res["sent_at"])
    v.eq("decrypted context", item["context"], res["context"])
    v.eq("decrypted data", data, res["data"])
    v.eq("decrypted sender identity", sender["identity"], res["sender_identity"])
    v.true("§9 signature over \"chatseal/v1/group\\x00\" || gheader || fields (verify_strict)",
           ed25519_verify_strict(ed25519_public(bytes.fromhex(sender["sign_seed"])),
                                 GROUP_SIG_CONTEXT + g["gheader"] + res["fields"], res["sig"]))
    plen, pad = len(res["payload"]), res["pad"]
    v.true("§3 len(payload) is a multiple of 32", plen % 32 == 0, f"len(payload) = {plen}")
    v.true("§3 padding is zero bytes, at most 255", len(pad) <= 255 and not any(pad), f"{len(pad)} bytes")


@labelled(lambda i, it: f"({it['kind']}: {it['description']})")
def check_invalid(v, item):
    kind, want = item["kind"], item["error"]
    v.true("error is one of the spec's names", want in ERROR_NAMES, repr(want))
    try:
        if kind == "card":
            decode_card_text(item["input"])
        elif kind == "message":
            decrypt_message(item["input"], keyring_of(item["keyring"]), directory_of(item["directory"]),
                            item["from"], item["context"])
        elif kind == "backup":
            decode_backup(item["input"], item["password"])
        elif kind == "group":
            decrypt_group(item["input"], keyring_of(item["keyring"]), directory_of(item["directory"]),
                          item["shares"], item["from"], item["context"])
        elif kind == "descriptor":
            decode_descriptor(bytes.fromhex(item["input"]))
        elif kind == "file":
            enc = assemble_encrypted(v, item["encrypted"])
            if enc is None:
                return
            open_attachment(bytes.fromhex(item["input"]), enc)
        else:
            v.problems.append(f"unknown kind {kind!r}")
            return
    except ProtoError as e:
        RULES_FIRED.add((kind, e.name, e.rule))
        if VERBOSE:
            print(f"    invalid ({kind}: {item['description']}) -> {e}")
        v.eq("error", want, e.name + f"  [{e.rule}{': ' + e.detail if e.detail else ''}]"
             if e.name != want else e.name)
        return
    v.problems.append(f"error: expected {want}, got success (the input was accepted)")


def descriptor_region(offset, raw):
    """Names the descriptor field at a byte offset, laid out as `raw`."""
    for end, name in ((4, "magic"), (36, "file_key"), (44, "size"), (76, "sha256")):
        if offset < end:
            return name
    pos = 76
    for name in ("media type", "file name", "url"):
        if offset < pos + 2:
            return f"{name} length"
        n = struct.unpack(">H", raw[pos:pos + 2])[0] if pos + 2 <= len(raw) else 0
        if offset < pos + 2 + n:
            return name
        pos += 2 + n
    return "past the url"


def encrypted_region(offset):
    """Names the part of an encrypted_file at a byte offset."""
    if offset is None:
        return "none"
    if offset < 4:
        return "magic"
    k, o = divmod(offset - 4, FILE_SEALED_CHUNK)
    return f"chunk {k}, byte {o} of the sealed chunk"


@labelled(lambda i, it: f"({it['description']})")
def check_file(v, item):
    """A §10 vector: encrypt the plaintext here and compare with `encrypted`, rebuild
    the descriptor and compare, then decode the vector's descriptor and decrypt the
    vector's file back (the hash is checked first)."""
    desc = item["description"]
    enc = bytes.fromhex(item["encrypted"])
    if desc in FILES_BY_DESC:
        v.problems.append("two files.json elements share this description (from_file is ambiguous)")
    FILES_BY_DESC[desc] = enc
    key = bytes.fromhex(item["file_key"])
    pt = bytes.fromhex(item["plaintext"])
    v.eq("file_key length", 32, len(key))
    built_enc = encrypt_file(key, pt)
    if built_enc != enc:
        off = first_diff(enc, built_enc)
        v.problems.append(f"encrypted (encrypted here from plaintext and file_key): first difference at byte "
                          f"{off} ({encrypted_region(off)}); vector {len(enc)} bytes, encrypted here "
                          f"{len(built_enc)} bytes; vector bytes there {enc[off:off + 16].hex()}, "
                          f"here {built_enc[off:off + 16].hex()}")
    want = bytes.fromhex(item["descriptor"])
    built = build_descriptor(key, len(pt), enc, item["media_type"], item["name"], item["url"])
    v.eq("descriptor (rebuilt from the inputs)", want, built, REBUILT)
    if built != want:
        off = first_diff(want, built)
        v.problems.append(f"descriptor: first difference at byte {off} ({descriptor_region(off, built)}); "
                          f"vector {len(want)} bytes, rebuilt {len(built)} bytes")
    d = decode_descriptor(want)
    v.eq("decoded file_key", key, d["file_key"])
    v.eq("decoded size (the plaintext's length)", len(pt), d["size"])
    v.eq("decoded sha256 (SHA-256 of encrypted)", hashlib.sha256(enc).digest(), d["sha256"])
    v.eq("decoded media type", item["media_type"], d["media_type"])
    v.eq("decoded file name", item["name"], d["name"])
    v.eq("decoded url", item["url"], d["url"])
    v.eq("decrypted plaintext (vector's descriptor and encrypted)", pt, decrypt_file(d, enc))


def assemble_encrypted(v, segments):
    """A "file" case's encrypted file: hex segments and byte ranges of a files.json
    element's `encrypted`. None (with a problem recorded) when a segment is bad."""
    if not isinstance(segments, list):
        v.problems.append(f"encrypted is not a list of segments: {show(segments)}")
        return None
    parts = []
    for k, seg in enumerate(segments):
        if "hex" in seg:
            parts.append(bytes.fromhex(seg["hex"]))
        elif "from_file" in seg:
            src = FILES_BY_DESC.get(seg["from_file"])
            if src is None:
                v.problems.append(f"segment {k}: from_file {seg['from_file']!r} names no files.json element")
                return None
            a, b = seg["start"], seg["end"]
            if not 0 <= a <= b <= len(src):
                v.problems.append(f"segment {k}: range {a}..{b} outside the {len(src)}-byte file")
                return None
            parts.append(src[a:b])
        else:
            v.problems.append(f"segment {k}: neither hex nor from_file: {seg!r}")
            return None
    return b"".join(parts)


# Rejection rules named in §2-§4 (and Notation) that this decoder implements,
# for the coverage note on invalid.json.
EXPECTED_RULES = [
    ("card", "b64u: padding '='"), ("card", "b64u: character outside the alphabet"),
    ("card", "b64u: non-zero trailing bits"), ("card", "text: wrong prefix"),
    ("card", "trailing bytes"), ("card", "length runs past the end"),
    ("card", "§2 bad magic"), ("card", "§1 identity length"), ("card", "§1 identity not UTF-8"),
    ("card", "§1 identity control character"), ("card", "§2 prev_flag not 0/1"),
    ("card", "§2 low-order enc_pk"), ("card", "§2 card signature fails verify_strict"),
    ("message", "text: wrong prefix"), ("message", "§3 bad magic"), ("message", "length runs past the end"),
    ("message", "§3 stanza count outside 1..=1000"), ("message", "§3 duplicate recipient_card_id"),
    ("message", "§3 no stanza for the local keyring"), ("message", "§3 HPKE open of the CEK failed"),
    ("message", "§3 body open failed"), ("message", "§3 unknown content_type"),
    ("message", "§3 context not UTF-8"), ("message", "§3 padding over 255 bytes"),
    ("message", "§3 non-zero padding"), ("message", "§3 sender_card_id not in the directory"),
    ("message", "§3 sender card's identity is not the named sender"),
    ("message", "§3 message signature fails verify_strict"), ("message", "§3 context differs from the expected one"),
    ("backup", "text: wrong prefix"), ("backup", "§4 bad magic"), ("backup", "length runs past the end"),
    ("backup", "§4 m_kib out of bounds"), ("backup", "§4 t out of bounds"), ("backup", "§4 p out of bounds"),
    ("backup", "§4 backup does not open (wrong password or tampered)"), ("backup", "§4 keyring bad magic"),
    ("backup", "§4 keyring count 0"), ("backup", "trailing bytes"),
    ("backup", "§4 keyring card does not match sign_sk"), ("backup", "§4 keyring card does not match enc_sk"),
    ("group", "text: wrong prefix"), ("group", "§9 bad magic"), ("group", "length runs past the end"),
    ("group", "§9 no accepted share for the session"), ("group", "§9 index below the share's"),
    ("group", "§9 jump of more than 100000 steps"), ("group", "§9 body open failed"),
    ("group", "§3 unknown content_type"), ("group", "§3 context not UTF-8"),
    ("group", "§3 padding over 255 bytes"), ("group", "§3 non-zero padding"),
    ("group", "§9 sender_card_id not in the directory"),
    ("group", "§9 sender card's identity is not the named sender"),
    ("group", "§9 message signature fails verify_strict"), ("group", "§9 context differs from the expected one"),
    ("group", "§9 context differs from the share's"),
    # §10: the descriptor's rules (the UTF-8 ones are this file's reading of §10),
    # then the reader's: hash, magic, chunks, size.
    ("descriptor", "§10 descriptor bad magic"), ("descriptor", "length runs past the end"),
    ("descriptor", "trailing bytes"), ("descriptor", "§10 descriptor media type not UTF-8"),
    ("descriptor", "§10 descriptor file name not UTF-8"), ("descriptor", "§10 descriptor url not UTF-8"),
    ("file", "§10 hash of the encrypted file differs"), ("file", "§10 encrypted file bad magic"),
    ("file", "§10 chunk does not open"), ("file", "§10 missing final chunk"),
    ("file", "§10 chunk after the final one"),
    ("file", "§10 empty final chunk after a full one (non-canonical chunking)"),
    ("file", "§10 size differs"),
]

# The reasons §9 gives a receiver to refuse a share; the group cases of invalid.json
# should make each one decide some case.
EXPECTED_SHARE_RULES = [
    "share fails §3 with NotARecipient", "share fails §3 with BadSignature",
    "share content type is not 4", "share has more than one stanza", "share data is not 56 bytes",
    "share data magic is not CSS1", "share names another session",
    "share's sender card is not the gheader's sender_card_id",
]


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


# ----------------------------------------------------------------------------- main


def main(argv):
    global VERBOSE
    args = [a for a in argv[1:] if a != "-v"]
    VERBOSE = "-v" in argv[1:]
    vdir = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vectors")
    start = time.monotonic()
    passed = failed = 0

    st = self_test()
    print(f"self-test (RFC 9180 A.2.1, RFC 4231, Ed25519 strictness, low-order, base64url): "
          f"{'1 ok' if not st else '0 ok, 1 failed'}")
    for p in st:
        print(f"  MISMATCH self-test: {p}")
    passed, failed = (1, 0) if not st else (0, 1)

    # files.json before invalid.json: the "file" cases cut segments from its files.
    for name, fn in (("cards.json", check_card), ("messages.json", check_message),
                     ("backups.json", check_backup), ("safety_numbers.json", check_safety),
                     ("group_messages.json", check_group), ("files.json", check_file),
                     ("invalid.json", check_invalid)):
        path = os.path.join(vdir, name)
        if not os.path.exists(path):
            print(f"{name}: missing")
            failed += 1
            continue
        ok, bad = run_file(path, fn, name)
        passed += ok
        failed += bad

    fired = {(k, r) for k, _, r in RULES_FIRED}
    missing = [f"{k}: {r}" for k, r in EXPECTED_RULES if (k, r) not in fired]
    print(f"invalid.json coverage: {len(EXPECTED_RULES) - len(missing)} of {len(EXPECTED_RULES)} "
          f"rejection rules of this decoder exercised")
    for m in missing:
        print(f"  NOTE not exercised by any invalid.json case: {m}")
    missing_sr = [r for r in EXPECTED_SHARE_RULES if r not in SHARE_RULES_FIRED]
    print(f"invalid.json share coverage: {len(EXPECTED_SHARE_RULES) - len(missing_sr)} of "
          f"{len(EXPECTED_SHARE_RULES)} §9 reasons to refuse a share exercised")
    for m in missing_sr:
        print(f"  NOTE no group case refuses a share because: {m}")
    print(f"runtime: {time.monotonic() - start:.2f} s")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
