"""How the verifier reports a mismatch: Vec (the problems of one vector), show,
first_diff, and the name of the field at a byte offset of each object.

Part of the independent verifier (verify_vectors.py), written from PROTOCOL.md only."""

import struct

from envelope import STANZA_LEN
from groups import GHEADER_LEN
from files import FILE_SEALED_CHUNK


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
    rot = 64 if tbs[78 + n] == 1 else 0
    bounds = [(4, "magic"), (6, "identity length"), (6 + n, "identity"), (14 + n, "created_at"),
              (46 + n, "sign_pk"), (78 + n, "enc_pk"), (79 + n, "prev_flag"),
              (len(tbs), "prev_card_id"), (len(tbs) + rot, "rotation_sig"),
              (len(tbs) + rot + 64, "card_sig")]
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


def pmessage_region(offset):
    for end, name in ((4, "magic"), (20, "sender_card_id"), (36, "recipient_card_id"), (52, "msg_id")):
        if offset < end:
            return name
    return "body"


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
