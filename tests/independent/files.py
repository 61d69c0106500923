"""PROTOCOL §10: encrypted attachments and their descriptors.

Part of the independent verifier (verify_vectors.py), written from PROTOCOL.md only."""

import hashlib
import json

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from wire import *  # noqa: F401,F403 (the earlier layers)
from primitives import *  # noqa: F401,F403 (the earlier layers)
from cards import *  # noqa: F401,F403 (the earlier layers)
from envelope import *  # noqa: F401,F403 (the earlier layers)
from backup import *  # noqa: F401,F403 (the earlier layers)
from safety import *  # noqa: F401,F403 (the earlier layers)
from groups import *  # noqa: F401,F403 (the earlier layers)

# ----------------------------------------------------------------------------- §10

FILE_CHUNK = 64 * 1024                 # plaintext bytes per chunk ("64 KiB")
FILE_TAG = 16                          # ChaCha20Poly1305 tag
FILE_SEALED_CHUNK = FILE_CHUNK + FILE_TAG
FILE_MAGIC = b"CSF1"
DESCRIPTOR_MAGIC = b"CSD1"


def file_nonce(i, last):
    """nonce = u88(i) big-endian || last (0x01 for the final chunk, else 0x00).
    u88 is not in Notation; read as u8..u64 are: 11 bytes, big-endian."""
    if not 0 <= i < 2 ** 88:
        raise ValueError(f"chunk index {i} does not fit u88")
    return i.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def file_chunk_open(key, i, last, sealed):
    try:
        return ChaCha20Poly1305(key).decrypt(file_nonce(i, last), sealed, b"")
    except (InvalidTag, ValueError):
        return None


def encrypt_file(file_key, plaintext):
    """The writer: chunks of 64 KiB, the last may be shorter, an empty file is one
    empty chunk; each sealed with aad = "" and the chunk's nonce."""
    chunks = [plaintext[k:k + FILE_CHUNK] for k in range(0, len(plaintext), FILE_CHUNK)] or [b""]
    aead = ChaCha20Poly1305(file_key)
    out = [FILE_MAGIC]
    for i, c in enumerate(chunks):
        out.append(aead.encrypt(file_nonce(i, i == len(chunks) - 1), c, b""))
    return b"".join(out)


def build_descriptor(file_key, size, encrypted_file, media_type, name, url):
    """§10 says "u64 size" without saying of what: it is taken as the plaintext's
    length in bytes (the vectors agree). The texts are written as UTF-8."""
    return (DESCRIPTOR_MAGIC + file_key + u64(size) + hashlib.sha256(encrypted_file).digest()
            + vec16(media_type.encode("utf-8")) + vec16(name.encode("utf-8")) + vec16(url.encode("utf-8")))


def decode_descriptor(raw):
    """§10 descriptor (Malformed): magic, the fixed fields, three vec16 texts, nothing
    after. §10 does not say the texts are UTF-8; they are decoded strictly here as
    §3's context is (they are a media type, a file name and a URL)."""
    r = Reader(raw, "descriptor")
    if r.take(4) != DESCRIPTOR_MAGIC:
        fail("Malformed", "§10 descriptor bad magic")
    file_key = r.take(32)
    size = r.u64()
    sha = r.take(32)
    texts = []
    for what in ("media type", "file name", "url"):
        b = r.vec16()
        try:
            texts.append(b.decode("utf-8", errors="strict"))
        except UnicodeDecodeError:
            fail("Malformed", f"§10 descriptor {what} not UTF-8", b.hex())
    r.end()
    return {"file_key": file_key, "size": size, "sha256": sha,
            "media_type": texts[0], "name": texts[1], "url": texts[2]}


def decrypt_file(desc, encrypted):
    """§10 reader. The hash first (Integrity), then the "CSF1" magic (Malformed),
    then chunk by chunk as a stream would see it: a chunk is the next 64 KiB + 16
    bytes, or what is left; it is opened as the final chunk exactly when nothing
    follows it. A chunk that opens only with the other `last` flag is a missing
    final chunk (nothing follows a non-final one) or a chunk after the final one
    (something follows a final one); an empty final chunk that is not chunk 0 is
    non-canonical (a 64 KiB multiple ends with a full final chunk); the total
    plaintext must equal the descriptor's size. All of those are Integrity.
    The empty-final-chunk rule is this file's reading of §10: "an empty file is one
    empty chunk" and "64 KiB of plaintext" per chunk make the chunking canonical, so
    a 64 KiB multiple written as full chunks plus an empty final one is refused."""
    if hashlib.sha256(encrypted).digest() != desc["sha256"]:
        fail("Integrity", "§10 hash of the encrypted file differs")
    if encrypted[:4] != FILE_MAGIC:
        fail("Malformed", "§10 encrypted file bad magic", encrypted[:4].hex())
    key, pos, i, out, total = desc["file_key"], 4, 0, [], 0
    while True:
        piece = encrypted[pos:pos + FILE_SEALED_CHUNK]
        pos += len(piece)
        at_end = pos == len(encrypted)
        if not piece:
            fail("Integrity", "§10 missing final chunk", f"the stream ends before chunk {i}")
        pt = file_chunk_open(key, i, at_end, piece)
        if pt is None:
            if file_chunk_open(key, i, not at_end, piece) is not None:
                if at_end:
                    fail("Integrity", "§10 missing final chunk", f"chunk {i} is the last and not final")
                fail("Integrity", "§10 chunk after the final one", f"chunk {i} is final, {len(encrypted) - pos} bytes follow")
            fail("Integrity", "§10 chunk does not open", f"chunk {i}, {len(piece)} bytes")
        if at_end and not pt and i > 0:
            fail("Integrity", "§10 empty final chunk after a full one (non-canonical chunking)", f"chunk {i}")
        total += len(pt)
        if total > desc["size"]:
            fail("Integrity", "§10 size differs", f"more than {desc['size']} bytes")
        out.append(pt)
        if at_end:
            break
        i += 1
    if total != desc["size"]:
        fail("Integrity", "§10 size differs", f"{total} bytes, descriptor says {desc['size']}")
    return b"".join(out)


def open_attachment(descriptor, encrypted):
    return decrypt_file(decode_descriptor(descriptor), encrypted)


# files.json's `encrypted` by description, filled as files.json is checked (before
# invalid.json), for the from_file segments of invalid.json's "file" cases.
FILES_BY_DESC = {}
