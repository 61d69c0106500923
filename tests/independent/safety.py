"""PROTOCOL §5: safety numbers.

Part of the independent verifier (verify_vectors.py), written from PROTOCOL.md only."""

import hashlib

from wire import *  # noqa: F401,F403 (the earlier layers)
from primitives import *  # noqa: F401,F403 (the earlier layers)
from cards import *  # noqa: F401,F403 (the earlier layers)
from envelope import *  # noqa: F401,F403 (the earlier layers)
from backup import *  # noqa: F401,F403 (the earlier layers)

# ------------------------------------------------------------------------------ §5


def fingerprint_digits(identity, sign_pk):
    x = u16(0) + sign_pk + identity.encode("utf-8")
    for _ in range(5200):
        x = hashlib.sha512(x + sign_pk).digest()
    return "".join(f"{int.from_bytes(x[5 * i:5 * i + 5], 'big') % 100000:05d}" for i in range(6))


def safety_number(id_a, pk_a, id_b, pk_b):
    a, b = fingerprint_digits(id_a, pk_a), fingerprint_digits(id_b, pk_b)
    return min(a, b) + max(a, b)
