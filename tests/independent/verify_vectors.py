#!/usr/bin/env python3
"""Independent check of the chatseal version 2 test vectors against PROTOCOL.md
§1-§5, §9 (group sessions: group_messages.json, and the "group" cases of
invalid.json), §10 (attachments: files.json, and the "file" and "descriptor" cases
of invalid.json) and §11 (pairwise messages: pairwise.json, and the "pairwise"
cases), §4.1 (passkey backups: passkey_backups.json, and the "backup" cases that
carry a prf_output) and §13 (device links: links.json, and the "link" cases). §12 is
not implemented yet: heads.json is reported as absent or present-but-unchecked, and
the "head" cases of invalid.json as skipped. Every v1-only magic
(csc1., csm1., csg1., CSC1, CSM1, CSG1, CSK1) is Malformed, with the rule "v1 magic",
so a run against version 1 vectors fails and says why.

Written from /work/shared/spec/PROTOCOL.md (and RFC 9180 / RFC 8032 / RFC 7748 /
RFC 9106) only, without reading the Rust sources, so that a disagreement between
this file and the vectors points at a place where one of the two departs from the
spec.

Layout: one module per layer beside this file, each importing the ones before it:
wire.py (errors, encodings), primitives.py (Ed25519, X25519, ChaCha20Poly1305,
Argon2id, HPKE), cards.py (§1-§2), envelope.py (§3), backup.py (§4), safety.py
(§5), pairwise.py (§11), groups.py (§9, whose shares are §11 messages), files.py
(§10), passkey.py (§4.1) and link.py (§13); report.py names the field where a
mismatch starts, coverage.py lists what invalid.json should exercise, selftest.py holds the self-test (the RFC test vectors,
then every v2 rule on objects built there, then synthetic §8 elements for the
checkers of this file). This file checks the vectors with them.

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
with §11's decryption (no SDK-named sender; the caller's expected context). A share
that fails acceptance is ignored; with none accepted the error is NoSessionKey, and
its detail names each share's reason. §9's "its context is the channel's" is read,
when the caller names no context, as: the share's context must equal the group
message's (checked once the message has opened; else NoSessionKey).

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
from pairwise import *  # noqa: F401,F403 (§11)
from passkey import *  # noqa: F401,F403 (§4.1)
from link import *  # noqa: F401,F403 (§13)
from selftest import self_test, synthetic_vectors
from coverage import EXPECTED_RULES, EXPECTED_SHARE_RULES
from report import *  # noqa: F401,F403 (Vec, show, first_diff, regions)

VERBOSE = False

# ------------------------------------------------------------------------- checking


# How many vectors (element, invalid case expecting another error) carry a v1 magic.
V1_SEEN = [0, 0]


class Skip(Exception):
    """An element of a later section (§12), which this verifier does not implement."""


def run_items(items, fn, name, *extra):
    ok = bad = 0
    skipped = {}
    lines = []
    for i, item in enumerate(items):
        try:
            label = fn.label(i, item)
        except (KeyError, TypeError, IndexError) as e:
            label = f"(unlabelled: {e!r} missing)"
        v = Vec(label)
        try:
            fn(v, item, *extra)
        except Skip as e:
            skipped[str(e)] = skipped.get(str(e), 0) + 1
            continue
        except ProtoError as e:
            V1_SEEN[0] += e.rule == "v1 magic"
            v.problems.append(f"rejected by this decoder: {e}")
        except Exception as e:  # a bug here, or an input the checker did not expect
            v.problems.append(f"checker exception: {e!r}\n      " + traceback.format_exc().replace("\n", "\n      "))
        if v.problems:
            bad += 1
            for p in v.problems:
                lines.append(f"  MISMATCH {name}[{i}] {label}: {p}")
        else:
            ok += 1
    skip = "".join(f", {n} skipped ({why})" for why, n in skipped.items())
    print(f"{name}: {ok} ok" + (f", {bad} failed" if bad else "") + skip)
    for l in lines:
        print(l)
    return ok, bad


def require(v, item, fields, what="element"):
    """§8's fields of an element, and §8's key object for each key among them."""
    missing = [f for f in fields if f not in item]
    if missing:
        v.problems.append(f"{what} lacks {', '.join(missing)} (§8 version 2 fields; a v1 vector?)")
    for f in fields:
        if f in ("sender", "recipient", "a", "b", "previous") and isinstance(item.get(f), dict):
            v.problems.extend(key_object_problems(item[f], f"{f} key object"))
        elif f in ("recipients", "keyring", "directory") and isinstance(item.get(f), list):
            seen = {}  # one line per problem, naming the keys that have it
            for j, k in enumerate(item[f]):
                for p in key_object_problems(k, "key object"):
                    seen.setdefault(p, []).append(j)
            for p, js in seen.items():
                which = f"all {len(js)}" if len(js) == len(item[f]) > 1 else ", ".join(map(str, js))
                v.problems.append(f"{f}[{which}] {p}")
    if "head_root" in item and "head_root" in fields:
        hr = item["head_root"]
        v.true("head_root is lowercase hex32", isinstance(hr, str) and len(hr) == 64 and hr == hr.lower(), repr(hr))
    return not v.problems


def labelled(labeler):
    def deco(fn):
        fn.label = labeler
        return fn
    return deco


@labelled(lambda i, it: f"({it['identity']!r}, created_at {it['created_at']})")
def check_card(v, item, items=()):
    ok = require(v, item, KEY_FIELDS + ("card", "card_id"), "card element")
    c = decode_card_text(item["card"])
    if not ok:
        return
    tbs = card_tbs_from_key(item)
    built = card_from_key(item)
    v.eq("card text (rebuilt from the key object)", item["card"], CARD_PREFIX + b64u_encode(built), REBUILT)
    if c["raw"] != built:
        off = first_diff(c["raw"], built)
        v.problems.append(f"card bytes: first difference at byte {off} ({card_region(off, tbs)}); "
                          f"vector {len(c['raw'])} bytes, rebuilt {len(built)} bytes")
    v.eq("card_id = SHA-256(card_tbs)[0..16]", item["card_id"], card_id_of_tbs(tbs).hex(), REBUILT)
    v.eq("decoded identity", item["identity"], c["identity"])
    v.eq("decoded created_at", item["created_at"], c["created_at"])
    v.eq("decoded sign_pk", ed25519_public(bytes.fromhex(item["sign_seed"])), c["sign_pk"])
    v.eq("decoded enc_pk", x25519_public(bytes.fromhex(item["enc_sk"])), c["enc_pk"])
    v.eq("decoded prev_card_id", item["prev_card_id"], c["prev_card_id"].hex() if c["prev_card_id"] else None)
    v.eq("decoded card_id", item["card_id"], c["card_id"].hex())
    if c["prev_card_id"] is None:
        v.eq("rotation_sig absent (prev_flag = 0)", b"", c["rotation_sig"])
        return
    prev_pk = ed25519_public(bytes.fromhex(item["prev_sign_seed"]))
    v.true("§2 rotation_sig verifies under the public key of prev_sign_seed",
           ed25519_verify_strict(prev_pk, ROTATE_SIG_CONTEXT + c["tbs"], c["rotation_sig"]))
    # When the previous card is in the file too, the link of §2 must hold in full.
    for p_item in items:
        if p_item.get("card_id") == item["prev_card_id"] and p_item is not item:
            v.eq("previous card's sign_seed (the element whose card_id is prev_card_id)",
                 item["prev_sign_seed"], p_item.get("sign_seed"))
            try:
                links_to(c, decode_card_text(p_item["card"]))
            except ProtoError as e:
                v.problems.append(f"§2 link to the previous card in cards.json fails: {e}")


MESSAGE_FIELDS = ("sender", "recipients", "cek", "msg_id", "ikm_e", "content_type", "sent_at", "context",
                  "head_epoch", "head_root", "data", "envelope")


def check_result_fields(v, who, item, res, data):
    for f in ("content_type", "sent_at", "context", "head_epoch"):
        v.eq(f"{who}: {f}", item[f], res[f])
    v.eq(f"{who}: head_root", bytes.fromhex(item["head_root"]), res["head_root"])
    v.eq(f"{who}: data", data, res["data"])
    v.eq(f"{who}: sender identity", item["sender"]["identity"], res["sender_identity"])


def check_padding(v, res):
    plen, pad = len(res["payload"]), res["pad"]
    v.true("§3 len(payload) is a multiple of 32", plen % 32 == 0, f"len(payload) = {plen}")
    v.true("§3 the fewest zero bytes (0-31)", len(pad) <= 31 and not any(pad), f"{len(pad)} bytes")


@labelled(lambda i, it: f"({it['sender']['identity']!r} -> {len(it['recipients'])} recipient(s), context {it['context']!r})")
def check_message(v, item):
    ok = require(v, item, MESSAGE_FIELDS, "messages element")
    env = parse_envelope(item["envelope"])
    if not ok:
        return
    sender, recips = item["sender"], item["recipients"]
    cek = bytes.fromhex(item["cek"])
    msg_id = bytes.fromhex(item["msg_id"])
    data = bytes.fromhex(item["data"])
    s_id = card_id_of_key(sender)
    v.eq("header sender_card_id", s_id, env["sender_card_id"])
    v.eq("header msg_id", msg_id, env["msg_id"])
    v.eq("header n", len(recips), len(env["stanzas"]))
    v.eq("len(ikm_e)", len(recips), len(item["ikm_e"]))
    v.true("§3: the sender's own card is among the recipients", s_id in {card_id_of_key(r) for r in recips})
    directory = directory_of([sender])
    info = CEK_INFO + s_id + msg_id
    for j, (rk, st) in enumerate(zip(recips, env["stanzas"])):
        rcid, enc, wrapped = st
        rid = card_id_of_key(rk)
        v.eq(f"stanza {j} recipient_card_id ({rk['identity']})", rid, rcid)
        _, pk_e = derive_key_pair(bytes.fromhex(item["ikm_e"][j]))
        v.eq(f"stanza {j} enc = pk of DeriveKeyPair(ikm_e[{j}])", pk_e, enc)
        got_cek = hpke_open_base(enc, bytes.fromhex(rk["enc_sk"]), info, rid, wrapped)
        v.eq(f"stanza {j} HPKE-opened CEK", cek, got_cek)
        res = decrypt_message(item["envelope"], keyring_of([rk]), directory,
                              sender["identity"], item["context"])
        who = f"decrypt as recipient {j} ({rk['identity']})"
        v.eq(f"{who}: stanza used", j, res["stanza_index"])
        check_result_fields(v, who, item, res, data)
        if j == 0:
            check_padding(v, res)
    rebuilt = build_envelope(sender, recips, cek, msg_id, [bytes.fromhex(x) for x in item["ikm_e"]],
                             item["content_type"], item["sent_at"], item["context"], item["head_epoch"],
                             bytes.fromhex(item["head_root"]), data)
    if rebuilt != item["envelope"]:
        a, b = env["raw"], b64u_decode(strip_prefix(rebuilt, MSG_PREFIX))
        off = first_diff(a, b)
        v.problems.append(
            f"re-encrypted envelope differs: first differing byte at offset {off} "
            f"({envelope_region(off, len(recips))}); vector {len(a)} bytes, rebuilt {len(b)} bytes; "
            f"vector bytes there {a[off:off + 16].hex()}, rebuilt {b[off:off + 16].hex()}")


PAIRWISE_FIELDS = ("sender", "recipient", "msg_id", "content_type", "sent_at", "context", "head_epoch",
                   "head_root", "data", "text")


@labelled(lambda i, it: f"({it['sender']['identity']!r} -> {it['recipient']['identity']!r}, context {it['context']!r})")
def check_pairwise(v, item):
    """§11 both ways: rebuild the text from the inputs (equal text), parse it (equal
    fields), decrypt it as the recipient and as the sender (§8)."""
    ok = require(v, item, PAIRWISE_FIELDS, "pairwise element")
    m = parse_pairwise(item["text"])
    if not ok:
        return
    sender, recip = item["sender"], item["recipient"]
    msg_id, data = bytes.fromhex(item["msg_id"]), bytes.fromhex(item["data"])
    v.eq("pheader sender_card_id", card_id_of_key(sender), m["sender_card_id"])
    v.eq("pheader recipient_card_id", card_id_of_key(recip), m["recipient_card_id"])
    v.eq("pheader msg_id", msg_id, m["msg_id"])
    rebuilt = build_pairwise(sender, recip, msg_id, item["content_type"], item["sent_at"], item["context"],
                             item["head_epoch"], bytes.fromhex(item["head_root"]), data)
    v.eq("csp2. text (rebuilt from the inputs)", item["text"], rebuilt, REBUILT)
    if rebuilt != item["text"]:
        b = b64u_decode(strip_prefix(rebuilt, PAIR_PREFIX))
        off = first_diff(m["raw"], b)
        v.problems.append(
            f"rebuilt pairwise message differs: first differing byte at offset {off} "
            f"({pmessage_region(off)}); vector {len(m['raw'])} bytes, rebuilt {len(b)} bytes")
    self_note = card_id_of_key(sender) == card_id_of_key(recip)
    for side, reader, other in (("recipient", recip, sender), ("sender", sender, recip)):
        who = f"decrypt as the {side} ({reader['identity']})"
        res = decrypt_pairwise(item["text"], keyring_of([reader]), directory_of([other]),
                               sender["identity"], item["context"])
        v.eq(f"{who}: side found by §11 step 2", "recipient" if self_note else side, res["as"])
        v.eq(f"{who}: msg_id", msg_id, res["msg_id"])
        check_result_fields(v, who, item, res, data)
        if side == "recipient":
            check_padding(v, res)


def check_entries(v, keys, entries):
    """A decoded §4 keyring holds exactly the element's key objects, newest card first."""
    v.eq("keyring count", len(keys), len(entries))
    for j, (k, e) in enumerate(zip(keys, entries)):
        v.eq(f"keyring[{j}] card (rebuilt from the key object)", e["card"]["raw"], card_from_key(k), REBUILT)
        v.eq(f"keyring[{j}] sign_sk", bytes.fromhex(k["sign_seed"]), e["sign_sk"])
        v.eq(f"keyring[{j}] enc_sk", bytes.fromhex(k["enc_sk"]), e["enc_sk"])
    created = [k["created_at"] for k in keys]
    v.true("§4 keyring newest card first", created == sorted(created, reverse=True), str(created))


def resealed_differs(v, what, text, rebuilt, prefix):
    if rebuilt != text:
        a, b = b64u_decode(strip_prefix(text, prefix)), b64u_decode(strip_prefix(rebuilt, prefix))
        off = first_diff(a, b)
        v.problems.append(f"{what} differs at byte {off}; vector {len(a)} bytes, rebuilt {len(b)} bytes")


@labelled(lambda i, it: f"({len(it['keyring'])} key(s), credential_id of {len(it['credential_id']) // 2} bytes)")
def check_passkey_backup(v, item):
    """§4.1 both ways: re-seal from the inputs (equal text), open it with prf_output
    (equal fields)."""
    ok = require(v, item, ("credential_id", "prf_salt", "prf_output", "nonce", "keyring", "backup"),
                 "passkey_backups element")
    b = decode_passkey_backup(item["backup"], bytes.fromhex(item["prf_output"]))
    if not ok:
        return
    cid, salt, nonce = (bytes.fromhex(item[f]) for f in ("credential_id", "prf_salt", "nonce"))
    v.eq("credential_id", cid, b["credential_id"])
    v.eq("prf_salt", salt, b["prf_salt"])
    v.eq("nonce", nonce, b["nonce"])
    check_entries(v, item["keyring"], b["entries"])
    rebuilt = build_passkey_backup(cid, salt, bytes.fromhex(item["prf_output"]), nonce, item["keyring"])
    v.eq("csw1. text (re-sealed from the inputs)", item["backup"], rebuilt, REBUILT)
    resealed_differs(v, "re-sealed passkey backup", item["backup"], rebuilt, PASSKEY_PREFIX)


@labelled(lambda i, it: f"({len(it['keyring'])} key(s), link_id {it['link_id'][:8]}..)")
def check_link(v, item):
    """§13 both ways: the QR from link_id and e_sk, the offer and code from the QR,
    ikm_e and the keyring (equal texts); the QR parsed and the offer opened with
    e_sk (equal fields, the same code on both screens)."""
    if not require(v, item, ("link_id", "e_sk", "ikm_e", "keyring", "qr", "offer", "code"), "links element"):
        return
    link_id, e_sk, ikm_e = (bytes.fromhex(item[f]) for f in ("link_id", "e_sk", "ikm_e"))
    e_pk = x25519_public(e_sk)
    v.eq("qr (rebuilt from link_id and e_sk)", item["qr"], build_qr(link_id, e_pk), REBUILT)
    q_id, q_pk = parse_qr(item["qr"])
    v.eq("QR link_id", link_id, q_id)
    v.eq("QR e_pk = X25519(e_sk, 9)", e_pk, q_pk)
    offer, code = build_offer(q_id, q_pk, ikm_e, item["keyring"])
    v.eq("csl1. offer (sealed from the QR, ikm_e and the keyring)", item["offer"], offer, REBUILT)
    resealed_differs(v, "re-sealed offer", item["offer"], offer, OFFER_PREFIX)
    v.eq("code (the old device's screen)", item["code"], code, REBUILT)
    v.true("code is six digits", len(item["code"]) == 6 and item["code"].isdigit(), repr(item["code"]))
    o = open_offer(item["offer"], link_id, e_sk)
    v.eq("offer enc = pk of DeriveKeyPair(ikm_e)", derive_key_pair(ikm_e)[1], o["enc"])
    v.eq("code (the new device's screen)", item["code"], o["code"])
    check_entries(v, item["keyring"], o["entries"])


@labelled(lambda i, it: f"({len(it['keyring'])} key(s), m_kib {it['m_kib']}, t {it['t']}, p {it['p']}, password {it['password']!r})")
def check_backup(v, item):
    ok = require(v, item, ("password", "m_kib", "t", "p", "salt", "nonce", "keyring", "backup"), "backups element")
    b = decode_backup(item["backup"], item["password"])
    if not ok:
        return
    salt, nonce = bytes.fromhex(item["salt"]), bytes.fromhex(item["nonce"])
    v.eq("m_kib", item["m_kib"], b["m_kib"])
    v.eq("t", item["t"], b["t"])
    v.eq("p", item["p"], b["p"])
    v.eq("salt", salt, b["salt"])
    v.eq("nonce", nonce, b["nonce"])
    check_entries(v, item["keyring"], b["entries"])
    rebuilt = build_backup(item["password"], item["m_kib"], item["t"], item["p"], salt, nonce, item["keyring"])
    resealed_differs(v, f"re-sealed backup (header of {BACKUP_HEADER_LEN} bytes)", item["backup"], rebuilt, "csb1.")


@labelled(lambda i, it: f"({it['a']['identity']!r} / {it['b']['identity']!r})")
def check_safety(v, item):
    if not require(v, item, ("a", "b", "safety_number"), "safety_numbers element"):
        return
    a, b = item["a"], item["b"]
    got = safety_number(a["identity"], ed25519_public(bytes.fromhex(a["sign_seed"])),
                        b["identity"], ed25519_public(bytes.fromhex(b["sign_seed"])))
    v.eq("safety_number", item["safety_number"], got, ("vector", "computed here"))
    got_ba = safety_number(b["identity"], ed25519_public(bytes.fromhex(b["sign_seed"])),
                           a["identity"], ed25519_public(bytes.fromhex(a["sign_seed"])))
    v.eq("safety_number with the parties swapped", got, got_ba)


GROUP_FIELDS = ("sender", "session_id", "chain_key", "index", "content_type", "sent_at", "context",
                "head_epoch", "head_root", "data", "text")


@labelled(lambda i, it: f"({it['sender']['identity']!r}, session {it['session_id'][:8]}.., index {it['index']}, context {it['context']!r})")
def check_group(v, item):
    ok = require(v, item, GROUP_FIELDS, "group_messages element")
    g = parse_group(item["text"])
    if not ok:
        return
    sender = item["sender"]
    session_id = bytes.fromhex(item["session_id"])
    ck0 = bytes.fromhex(item["chain_key"])
    data = bytes.fromhex(item["data"])
    index = item["index"]
    s_id = card_id_of_key(sender)
    rebuilt = build_group(sender, session_id, ck0, index, item["content_type"], item["sent_at"],
                          item["context"], item["head_epoch"], bytes.fromhex(item["head_root"]), data)
    v.eq("csg2. text (rebuilt from the inputs)", item["text"], rebuilt, REBUILT)
    if rebuilt != item["text"]:
        b = b64u_decode(strip_prefix(rebuilt, GROUP_PREFIX))
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
    res = open_group(g, 0, ck0, [], directory_of([sender]), sender["identity"], item["context"])
    check_result_fields(v, "decrypted", item, res, data)
    v.true("§9 signature over \"chatseal/v2/group\\x00\" || gheader || fields (verify_strict)",
           ed25519_verify_strict(ed25519_public(bytes.fromhex(sender["sign_seed"])),
                                 GROUP_SIG_CONTEXT + g["gheader"] + res["fields"], res["sig"]))
    check_padding(v, res)
    # And as the sender's own device would (§9): through a §11 share to itself, built here.
    share = build_pairwise(sender, sender, bytes(16), SHARE_CONTENT_TYPE, item["sent_at"], item["context"],
                           0, bytes(32), build_share(session_id, 0, ck0))
    res2 = decrypt_group(item["text"], keyring_of([sender]), {}, [share], sender["identity"], item["context"])
    v.eq("decrypted through a §11 share of index 0 to the sender itself: data", data, res2["data"])


def later_section(kind, item):
    """invalid.json kinds of §12: not implemented here (later work)."""
    if kind == "head":
        raise Skip("§12 head: later work")


INVALID_NEEDS = {"card": ("input",), "message": ("input", "keyring", "directory", "from", "context"),
                 "pairwise": ("input", "keyring", "directory", "from", "context"),
                 "group": ("input", "keyring", "directory", "from", "context", "shares"),
                 "backup": ("input", "password"), "descriptor": ("input",), "file": ("input", "encrypted"),
                 "link": ("input", "link_id", "e_sk")}


def coverage_kind(item):
    """The kind coverage.py files a case's rules under: a "backup" case with a
    prf_output is a §4.1 passkey backup."""
    return "passkey" if item["kind"] == "backup" and "prf_output" in item else item["kind"]


@labelled(lambda i, it: f"({it['kind']}: {it['description']})")
def check_invalid(v, item):
    kind, want = item["kind"], item["error"]
    v.true("error is one of the spec's names", want in ERROR_NAMES, repr(want))
    later_section(kind, item)
    if kind not in INVALID_NEEDS:
        v.problems.append(f"unknown kind {kind!r}")
        return
    # Missing fields are reported, and the input is still decoded: a v1 case then
    # also says which v1 magic it carries.
    needs = ("input", "prf_output") if coverage_kind(item) == "passkey" else INVALID_NEEDS[kind]
    require(v, item, needs + (("previous",) if "previous" in item else ()), f"invalid {kind} element")
    try:
        if kind == "card":
            c = decode_card_text(item["input"])
            if "previous" in item:
                links_to(c, decode_card_bytes(card_from_key(item["previous"])))
        elif kind in ("message", "pairwise", "group"):
            kr, d = keyring_of(item["keyring"]), directory_of(item["directory"])
            if kind == "message":
                decrypt_message(item["input"], kr, d, item["from"], item["context"])
            elif kind == "pairwise":
                decrypt_pairwise(item["input"], kr, d, item["from"], item["context"])
            else:
                decrypt_group(item["input"], kr, d, item["shares"], item["from"], item["context"])
        elif kind == "backup" and "prf_output" in item:
            decode_passkey_backup(item["input"], bytes.fromhex(item["prf_output"]))
        elif kind == "backup":
            decode_backup(item["input"], item["password"])
        elif kind == "link":
            open_offer(item["input"], bytes.fromhex(item["link_id"]), bytes.fromhex(item["e_sk"]))
        elif kind == "descriptor":
            decode_descriptor(bytes.fromhex(item["input"]))
        elif kind == "file":
            enc = assemble_encrypted(v, item["encrypted"])
            if enc is None:
                return
            open_attachment(bytes.fromhex(item["input"]), enc)
    except ProtoError as e:
        RULES_FIRED.add((coverage_kind(item), e.name, e.rule))
        V1_SEEN[1] += e.rule == "v1 magic" and want != "Malformed"
        if VERBOSE:
            print(f"    invalid ({kind}: {item['description']}) -> {e}")
        v.eq("error", want, e.name + f"  [{e.rule}{': ' + e.detail if e.detail else ''}]"
             if e.name != want else e.name)
        return
    v.problems.append(f"error: expected {want}, got success (the input was accepted)")


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


def checkers_self_test():
    """Each checker must pass the synthetic v2 elements and report the altered one."""
    good, bad = synthetic_vectors()
    problems = []
    for name, fn in CHECKERS:
        if name not in good:
            continue
        items = good[name]
        for i, item in enumerate(items + [bad[name]]):
            v = Vec(name)
            try:
                fn(v, item, *((items,) if fn is check_card else ()))
            except Skip:
                continue
            except Exception as e:
                v.problems.append(f"{e!r}")
            if i < len(items) and v.problems:
                problems.append(f"{name}[{i}] (synthetic): {'; '.join(v.problems)}")
            elif i == len(items) and not v.problems:
                problems.append(f"{name}: the altered element passed its checker")
    RULES_FIRED.clear()  # not invalid.json's coverage
    SHARE_RULES_FIRED.clear()
    return problems


# files.json before invalid.json: the "file" cases cut segments from its files.
CHECKERS = (("cards.json", check_card), ("messages.json", check_message), ("pairwise.json", check_pairwise),
            ("backups.json", check_backup), ("passkey_backups.json", check_passkey_backup),
            ("links.json", check_link), ("safety_numbers.json", check_safety),
            ("group_messages.json", check_group), ("files.json", check_file), ("invalid.json", check_invalid))


# ----------------------------------------------------------------------------- main


def main(argv):
    global VERBOSE
    args = [a for a in argv[1:] if a != "-v"]
    VERBOSE = "-v" in argv[1:]
    vdir = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vectors")
    start = time.monotonic()
    passed = failed = 0

    st = self_test()
    print(f"self-test (RFC 9180 A.2.1, RFC 4231, Ed25519 strictness, low-order, base64url, "
          f"the v2 rules of §2-§4, §4.1, §9, §11, §13): "
          f"{'1 ok' if not st else '0 ok, 1 failed'}")
    for p in st:
        print(f"  MISMATCH self-test: {p}")
    passed, failed = (1, 0) if not st else (0, 1)
    sp = checkers_self_test()
    print(f"self-test of the checkers (synthetic v2 elements of each §8 file, and one altered element "
          f"each): {'1 ok' if not sp else '0 ok, 1 failed'}")
    for p in sp:
        print(f"  MISMATCH checkers self-test: {p}")
    passed, failed = passed + (not sp), failed + bool(sp)

    for name, fn in CHECKERS:
        path = os.path.join(vdir, name)
        if not os.path.exists(path):
            print(f"{name}: missing")
            failed += 1
            continue
        with open(path, encoding="utf-8") as f:
            items = json.load(f)
        ok, bad = run_items(items, fn, name, *((items,) if fn is check_card else ()))
        passed += ok
        failed += bad
    # §8's file of §12, which this verifier does not implement yet.
    for name, sec in (("heads.json", "§12"),):
        present = os.path.exists(os.path.join(vdir, name))
        print(f"{name}: " + (f"present, not checked ({sec} is not implemented here)" if present
                             else "skipped (absent)"))

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
    if any(V1_SEEN):
        print(f"version 1 vectors: {V1_SEEN[0]} element(s) and {V1_SEEN[1]} invalid case(s) carry a v1 magic "
              f"(csc1./csm1./csg1./CSC1/CSM1/CSG1/CSK1), Malformed in version 2 (PROTOCOL.md, opening paragraph)")
    print(f"runtime: {time.monotonic() - start:.2f} s")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
