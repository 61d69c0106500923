"""What invalid.json should cover: every rejection rule of this verifier's decoders
that an invalid kind can express (§8), and every reason §9 gives to refuse a share.

Part of the independent verifier (verify_vectors.py), written from PROTOCOL.md only."""

_TEXT = ("text: wrong prefix", "length runs past the end")
_PAYLOAD = ("§3 unknown content_type", "§3 context not UTF-8", "§3 padding over 255 bytes",
            "§3 non-zero padding")

# §4's keyring, inside every format that carries one (§4, §4.1, §13).
_KEYRING = ("§4 keyring bad magic", "v1 magic", "§4 keyring count 0", "trailing bytes",
            "§4 keyring card does not match sign_sk", "§4 keyring card does not match enc_sk",
            "§2 card signature fails verify_strict")

EXPECTED_RULES = [
    ("card", "b64u: padding '='"), ("card", "b64u: character outside the alphabet"),
    ("card", "b64u: non-zero trailing bits"), ("card", "text: wrong prefix"), ("card", "v1 magic"),
    ("card", "trailing bytes"), ("card", "length runs past the end"),
    ("card", "§2 bad magic"), ("card", "§1 identity length"), ("card", "§1 identity not UTF-8"),
    ("card", "§1 identity control character"), ("card", "§2 prev_flag not 0/1"),
    ("card", "§2 low-order enc_pk"), ("card", "§2 card signature fails verify_strict"),
    # §2's link rule, through a card case's "previous"
    ("card", "§2 link: card starts a new chain (prev_flag = 0)"),
    ("card", "§2 link: prev_card_id is not the previous card's card_id"),
    ("card", "§2 link: identity differs from the previous card's"),
    ("card", "§2 link: created_at before the previous card's"),
    ("card", "§2 link: rotation_sig fails verify_strict under the previous sign_pk"),
    ("message", "v1 magic"), ("message", "§3 bad magic"),
    ("message", "§3 stanza count outside 1..=1000"), ("message", "§3 duplicate recipient_card_id"),
    ("message", "§3 no stanza for the local keyring"), ("message", "§3 HPKE open of the CEK failed"),
    ("message", "§3 body open failed"), ("message", "§3 sender_card_id not in the directory"),
    ("message", "§3 sender card's identity is not the named sender"),
    ("message", "§3 message signature fails verify_strict"), ("message", "§3 context differs from the expected one"),
    ] + [("message", r) for r in _TEXT + _PAYLOAD] + [
    ("pairwise", "§11 bad magic"),
    ("pairwise", "§11 neither card_id of the pheader is in the local keyring"),
    ("pairwise", "§11 the other card cannot be resolved"), ("pairwise", "§11 body open failed"),
    ("pairwise", "§11 sender card's identity is not the named sender"),
    ("pairwise", "§11 context differs from the expected one"),
    ] + [("pairwise", r) for r in _TEXT + _PAYLOAD] + [
    ("backup", "text: wrong prefix"), ("backup", "§4 bad magic"), ("backup", "length runs past the end"),
    ("backup", "§4 m_kib out of bounds"), ("backup", "§4 t out of bounds"), ("backup", "§4 p out of bounds"),
    ("backup", "§4 backup does not open (wrong password or tampered)"), ("backup", "§4 keyring bad magic"),
    ("backup", "v1 magic"), ("backup", "§4 keyring count 0"), ("backup", "trailing bytes"),
    ("backup", "§4 keyring card does not match sign_sk"), ("backup", "§4 keyring card does not match enc_sk"),
    # §4.1: the "backup" cases that carry a prf_output, filed as "passkey".
    ("passkey", "text: wrong prefix"), ("passkey", "b64u: padding '='"), ("passkey", "§4.1 bad magic"),
    ("passkey", "length runs past the end"), ("passkey", "§4.1 ciphertext shorter than its 16-byte tag"),
    ("passkey", "§4.1 passkey backup does not open (wrong PRF output or tampered)"),
    ] + [("passkey", r) for r in _KEYRING] + [
    ("link", "text: wrong prefix"), ("link", "b64u: character outside the alphabet"),
    ("link", "§13 offer shorter than its 32-byte enc"), ("link", "§13 ciphertext shorter than its 16-byte tag"),
    ("link", "§13 enc of low order (DH output all zero)"),
    ("link", "§13 offer does not open (another key or link_id, or tampered)"),
    ] + [("link", r) for r in _KEYRING] + [
    ("group", "v1 magic"), ("group", "§9 bad magic"),
    ("group", "§9 no accepted share for the session"), ("group", "§9 index below the share's"),
    ("group", "§9 jump of more than 100000 steps"), ("group", "§9 body open failed"),
    ("group", "§9 sender_card_id not in the directory"),
    ("group", "§9 sender card's identity is not the named sender"),
    ("group", "§9 message signature fails verify_strict"), ("group", "§9 context differs from the expected one"),
    ("group", "§9 the share's context is not the channel's"),
    ] + [("group", r) for r in _TEXT + _PAYLOAD] + [
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
# Not listed: §13's QR rules (a "link" case carries an offer, not a QR; links.json
# parses every QR, the self-test refuses a bad one), and the check that an offer's
# newest card is the identity's current card (it needs the directory). Nor §11's
# all-zero pair_secret (Integrity): a directory card built from a key object has
# enc_pk = X25519(enc_sk, 9), never low order, so no invalid case can express it; the
# self-test exercises it with a hand-made card.

# The reasons §9 gives a receiver to refuse a share; the group cases of invalid.json
# should make each one decide some case.
EXPECTED_SHARE_RULES = [
    "share fails §11 with NotARecipient", "share fails §11 with UnknownSender",
    "share fails §11 with Integrity", "share fails §11 with Malformed",
    "share fails §11 with ContextMismatch",
    "share content type is not 4", "share data is not 56 bytes",
    "share data magic is not CSS1", "share names another session",
    "share's sender card is not the gheader's sender_card_id", "share's context is not the channel's",
]
