"""Errors and the encoding helpers every section uses (u16/u32/u64, base64url, Reader).

Part of the independent verifier (verify_vectors.py), written from PROTOCOL.md only."""

import base64
import json
import struct

# --------------------------------------------------------------------------- errors


ERROR_NAMES = ("Malformed", "BadSignature", "NotARecipient", "Integrity",
               "UnknownSender", "SenderMismatch", "ContextMismatch",
               "NoSessionKey",  # §9
               "BadProof", "SplitView")  # §12 (named only: §12 is not checked here)


class ProtoError(Exception):
    """A rejection with one of the spec's error names, plus the rule that fired."""

    def __init__(self, name, rule, detail=""):
        assert name in ERROR_NAMES, name
        super().__init__(f"{name} [{rule}] {detail}".rstrip())
        self.name = name
        self.rule = rule
        self.detail = detail


def fail(name, rule, detail=""):
    raise ProtoError(name, rule, detail)


# Every rule this decoder can reject with, so that invalid.json's coverage can be
# reported (§8: "invalid.json holds at least one case for every rejection rule
# of §2-§13 that an invalid kind can express").
RULES_FIRED = set()

# ----------------------------------------------------------------- encoding helpers


def u16(n):
    return struct.pack(">H", n)


def u32(n):
    return struct.pack(">I", n)


def u64(n):
    return struct.pack(">Q", n)


def vec16(b):
    if len(b) > 0xFFFF:
        raise ValueError(f"vec16 of {len(b)} bytes")
    return u16(len(b)) + b


def vec32(b):
    return u32(len(b)) + b


B64U_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
B64U_SET = frozenset(B64U_ALPHABET)


def b64u_encode(raw):
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def b64u_decode(text):
    """Strict base64url without padding (Notation): no '=', nothing outside the
    alphabet, no whitespace, no non-zero trailing bits."""
    for ch in text:
        if ch == "=":
            fail("Malformed", "b64u: padding '='")
        if ch not in B64U_SET:
            fail("Malformed", "b64u: character outside the alphabet", repr(ch))
    if len(text) % 4 == 1:
        fail("Malformed", "b64u: impossible length (len % 4 == 1)")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64u_encode(raw) != text:
        fail("Malformed", "b64u: non-zero trailing bits")
    return raw


# Version 2's opening paragraph: "every v1-only magic (`csc1.`, `csm1.`, `csg1.`,
# `CSK1`) is `Malformed`, never read". Named apart so that a v1 input says so.
V1_TEXT_PREFIXES = ("csc1.", "csm1.", "csg1.")


def strip_prefix(text, prefix):
    if isinstance(text, str) and text[:5] in V1_TEXT_PREFIXES and prefix not in V1_TEXT_PREFIXES:
        fail("Malformed", "v1 magic", f"{text[:5]!r} is a version 1 text, Malformed in version 2 "
             f"(expected {prefix!r})")
    if not isinstance(text, str) or not text.startswith(prefix):
        fail("Malformed", "text: wrong prefix", f"expected {prefix!r}")
    return text[len(prefix):]


class Reader:
    """Big-endian reader; any length that runs past the end is Malformed."""

    def __init__(self, data, what):
        self.d = data
        self.i = 0
        self.what = what

    def take(self, n):
        if n > len(self.d) - self.i:
            fail("Malformed", "length runs past the end",
                 f"{self.what}: need {n} bytes at offset {self.i}, have {len(self.d) - self.i}")
        b = self.d[self.i:self.i + n]
        self.i += n
        return b

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def u64(self):
        return struct.unpack(">Q", self.take(8))[0]

    def vec16(self):
        return self.take(self.u16())

    def vec32(self):
        return self.take(self.u32())

    def rest(self):
        b = self.d[self.i:]
        self.i = len(self.d)
        return b

    def end(self):
        if self.i != len(self.d):
            fail("Malformed", "trailing bytes", f"{self.what}: {len(self.d) - self.i} byte(s) after the last field")


def h(b):
    return b.hex()
