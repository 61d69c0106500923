//! §10 attachments: files.json, and the file cases of invalid.json.

use super::*;

/// Plaintext byte `i` of a file vector of length `len` (a fixed pattern, so that the
/// vectors are reproducible; the files carry it in full as hex).
pub fn file_plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// A §8 `files.json` element: `file_key`, `plaintext`, `encrypted`, plus the descriptor's
/// other inputs and the descriptor itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileVector {
    pub description: String,
    pub file_key: String,
    pub plaintext: String,
    pub media_type: String,
    pub name: String,
    pub url: String,
    pub descriptor: String,
    pub encrypted: String,
}

/// A piece of an invalid encrypted file: a byte range of a `files.json` element's
/// `encrypted` (named by its description), or literal bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Segment {
    Range {
        from_file: String,
        start: usize,
        end: usize,
    },
    Bytes {
        hex: String,
    },
}

pub(crate) fn file_key_for(n: u8) -> [u8; 32] {
    let mut key = [0u8; 32];
    for (i, b) in key.iter_mut().enumerate() {
        *b = n.wrapping_mul(16).wrapping_add(i as u8);
    }
    key
}

pub fn make_file(v: &FileVector) -> (Vec<u8>, file::Descriptor) {
    file::encrypt(
        file::FileKey::from_bytes(hex32(&v.file_key)),
        &hex::decode(&v.plaintext).unwrap(),
        &v.media_type,
        &v.name,
        &v.url,
    )
    .unwrap()
}

pub fn files() -> Vec<FileVector> {
    const K: usize = file::CHUNK_SIZE;
    let cases: [(&str, usize, &str, &str, &str); 5] = [
        (
            "an empty file: one empty final chunk",
            0,
            "text/plain",
            "empty.txt",
            "",
        ),
        (
            "1 byte",
            1,
            "application/octet-stream",
            "one.bin",
            "https://cdn.example/uploads/0a1b",
        ),
        (
            "exactly 64 KiB: one full final chunk",
            K,
            "image/png",
            "scan.png",
            "",
        ),
        (
            "64 KiB + 1: a full chunk and a 1-byte final chunk",
            K + 1,
            "application/pdf",
            "lab results (2026).pdf",
            "http://127.0.0.1:8787/uploads/5f",
        ),
        (
            "1,000,000 bytes: 15 full chunks and a short final one; a non-ASCII name",
            1_000_000,
            "image/jpeg",
            "Röntgen – thorax.jpg",
            "",
        ),
    ];
    cases
        .into_iter()
        .enumerate()
        .map(|(n, (description, len, media_type, name, url))| {
            let mut v = FileVector {
                description: description.into(),
                file_key: hex::encode(file_key_for(n as u8 + 1)),
                plaintext: hex::encode(file_plaintext(len)),
                media_type: media_type.into(),
                name: name.into(),
                url: url.into(),
                descriptor: String::new(),
                encrypted: String::new(),
            };
            let (enc, d) = make_file(&v);
            v.descriptor = hex::encode(d.encode().unwrap());
            v.encrypted = hex::encode(enc);
            v
        })
        .collect()
}

/// The bytes `segments` stand for.
pub fn assemble(files: &[FileVector], segments: &[Segment]) -> Vec<u8> {
    let mut out = Vec::new();
    for s in segments {
        match s {
            Segment::Range {
                from_file,
                start,
                end,
            } => {
                let source = files.iter().find(|f| &f.description == from_file).unwrap();
                out.extend_from_slice(&hex::decode(&source.encrypted).unwrap()[*start..*end]);
            }
            Segment::Bytes { hex } => out.extend(hex::decode(hex).unwrap()),
        }
    }
    out
}

/// Every rule of §10 broken once. A `file` case's `input` is the descriptor (hex); it
/// carries the hash of the altered file unless the hash is what it breaks, so that each
/// case fails for its one named reason. A `descriptor` case is a descriptor that does
/// not decode.
pub fn invalid_file_vectors(files: &[FileVector]) -> Vec<InvalidVector> {
    use sha2::Digest as _;
    const K: usize = file::CHUNK_SIZE;
    let sealed = K + 16;
    let by_len = |len: usize| files.iter().find(|f| f.plaintext.len() / 2 == len).unwrap();
    let (full, two, many) = (by_len(K), by_len(K + 1), by_len(1_000_000));
    let descriptor_of =
        |f: &FileVector| file::Descriptor::parse(&hex::decode(&f.descriptor).unwrap()).unwrap();
    let len_of = |f: &FileVector| f.encrypted.len() / 2;
    let range = |f: &FileVector, start: usize, end: usize| Segment::Range {
        from_file: f.description.clone(),
        start,
        end,
    };
    let sealed_chunk = |f: &FileVector, index: u64, last: bool, plain: &[u8]| {
        use chacha20poly1305::aead::{Aead as _, KeyInit as _};
        let mut nonce = [0u8; 12];
        nonce[3..11].copy_from_slice(&index.to_be_bytes());
        nonce[11] = u8::from(last);
        let bytes = chacha20poly1305::ChaCha20Poly1305::new((&hex32(&f.file_key)).into())
            .encrypt((&nonce).into(), plain)
            .unwrap();
        Segment::Bytes {
            hex: hex::encode(bytes),
        }
    };
    let mut out = Vec::new();
    let mut add =
        |description: &str, f: &FileVector, size: u64, segments: Vec<Segment>, error: &str| {
            let mut d = descriptor_of(f);
            d.size = size;
            d.hash = sha2::Sha256::digest(assemble(files, &segments)).into();
            out.push(InvalidVector {
                kind: "file".into(),
                description: description.into(),
                input: hex::encode(d.encode().unwrap()),
                error: error.into(),
                with: Needs::File {
                    encrypted: segments,
                },
            });
        };
    let size = |f: &FileVector| (f.plaintext.len() / 2) as u64;
    add(
        "truncated: the final chunk lost its last byte",
        two,
        size(two),
        vec![range(two, 0, len_of(two) - 1)],
        "Integrity",
    );
    add(
        "truncated inside the first chunk",
        two,
        size(two),
        vec![range(two, 0, 4 + 1000)],
        "Integrity",
    );
    add(
        "reordered: chunks 0 and 1 swapped",
        many,
        size(many),
        vec![
            range(many, 0, 4),
            range(many, 4 + sealed, 4 + 2 * sealed),
            range(many, 4, 4 + sealed),
            range(many, 4 + 2 * sealed, len_of(many)),
        ],
        "Integrity",
    );
    add(
        "missing final chunk (the size says so too)",
        many,
        15 * K as u64,
        vec![range(many, 0, 4 + 15 * sealed)],
        "Integrity",
    );
    add(
        "an extra chunk after a full final chunk",
        full,
        size(full),
        vec![
            range(full, 0, len_of(full)),
            sealed_chunk(full, 1, true, b"x"),
        ],
        "Integrity",
    );
    add(
        "an extra chunk after a short final chunk",
        two,
        size(two),
        vec![range(two, 0, len_of(two)), range(two, 4, 4 + sealed)],
        "Integrity",
    );
    add(
        "the size one byte more than the file",
        two,
        size(two) + 1,
        vec![range(two, 0, len_of(two))],
        "Integrity",
    );
    add(
        "the size one byte less than the file",
        two,
        size(two) - 1,
        vec![range(two, 0, len_of(two))],
        "Integrity",
    );
    let mut flipped = hex::decode(&two.encrypted).unwrap()[4 + 100..4 + 101].to_vec();
    flipped[0] ^= 0x01;
    add(
        "one bit flipped in the first chunk",
        two,
        size(two),
        vec![
            range(two, 0, 4 + 100),
            Segment::Bytes {
                hex: hex::encode(&flipped),
            },
            range(two, 4 + 101, len_of(two)),
        ],
        "Integrity",
    );
    add(
        "bad magic CSF2",
        two,
        size(two),
        vec![
            Segment::Bytes {
                hex: hex::encode(b"CSF2"),
            },
            range(two, 4, len_of(two)),
        ],
        "Malformed",
    );
    // The first chunk of the 64 KiB + 1 file is a full non-final chunk of 64 KiB.
    add(
        "64 KiB as a full chunk and an empty final chunk (only an empty file has an empty chunk)",
        two,
        K as u64,
        vec![range(two, 0, 4 + sealed), sealed_chunk(two, 1, true, b"")],
        "Integrity",
    );
    // The valid file, its descriptor's hash altered.
    let mut d = descriptor_of(two);
    d.hash[31] ^= 0x80;
    out.push(InvalidVector {
        kind: "file".into(),
        description: "wrong hash in the descriptor".into(),
        input: hex::encode(d.encode().unwrap()),
        error: "Integrity".into(),
        with: Needs::File {
            encrypted: vec![range(two, 0, len_of(two))],
        },
    });
    // Descriptors that do not decode.
    let good = hex::decode(&two.descriptor).unwrap();
    let fixed = 4 + 32 + 8 + 32;
    let mut wrong_magic = good.clone();
    wrong_magic[3] = b'2';
    let mut trailing = good.clone();
    trailing.push(0);
    let not_utf8 = |field: usize| {
        let mut bytes = good[..fixed].to_vec();
        for i in 0..3 {
            bytes.extend_from_slice(if i == field {
                &[0, 2, 0xc3, 0x28]
            } else {
                &[0, 0]
            });
        }
        bytes
    };
    for (description, bytes) in [
        ("bad magic CSD2", wrong_magic),
        ("truncated inside the hash", good[..60].to_vec()),
        ("a trailing byte", trailing),
        ("a media type that is not UTF-8", not_utf8(0)),
        ("a file name that is not UTF-8", not_utf8(1)),
        ("a url that is not UTF-8", not_utf8(2)),
    ] {
        out.push(InvalidVector {
            kind: "descriptor".into(),
            description: description.into(),
            input: hex::encode(bytes),
            error: "Malformed".into(),
            with: Needs::Nothing {},
        });
    }
    out
}

pub fn check_file(v: &FileVector) {
    let (enc, d) = make_file(v);
    assert_eq!(
        hex::encode(d.encode().unwrap()),
        v.descriptor,
        "{}: inputs → descriptor",
        v.description
    );
    assert!(
        hex::encode(&enc) == v.encrypted,
        "{}: inputs → encrypted file",
        v.description
    );
    // Bytes → fields, and the file back, whole and streamed.
    let parsed = file::Descriptor::parse(&hex::decode(&v.descriptor).unwrap()).unwrap();
    let plain = hex::decode(&v.plaintext).unwrap();
    assert_eq!(
        (
            parsed.size as usize,
            parsed.name.as_str(),
            parsed.media_type.as_str(),
            parsed.url.as_str()
        ),
        (
            plain.len(),
            v.name.as_str(),
            v.media_type.as_str(),
            v.url.as_str()
        )
    );
    assert_eq!(hex::encode(parsed.key.as_bytes()), v.file_key);
    {
        use sha2::Digest as _;
        assert_eq!(
            parsed.hash,
            <[u8; 32]>::from(sha2::Sha256::digest(&enc)),
            "the descriptor carries the file's hash"
        );
    }
    assert!(
        *file::decrypt(&parsed, &enc).unwrap() == plain,
        "{}",
        v.description
    );
    let mut dec = file::FileDecryptor::new(&parsed);
    let mut back = Vec::new();
    for piece in enc.chunks(10_000) {
        back.extend_from_slice(&dec.update(piece).unwrap());
    }
    back.extend_from_slice(&dec.finish().unwrap());
    assert!(back == plain, "{}: streamed", v.description);
}

/// The error a reader gives for a `file` case, read whole (hash first) and streamed in
/// pieces; the two must agree.
pub(crate) fn decode_invalid_file(
    descriptor: &str,
    segments: &[Segment],
) -> Result<(), chatseal::proto::Error> {
    let descriptor = file::Descriptor::parse(&hex::decode(descriptor).unwrap())?;
    let bytes = assemble(&files(), segments);
    let whole = file::decrypt(&descriptor, &bytes).map(drop);
    let mut dec = file::FileDecryptor::new(&descriptor);
    let streamed = bytes
        .chunks(7_000)
        .try_for_each(|piece| dec.update(piece).map(drop))
        .and_then(|()| dec.finish().map(drop));
    assert_eq!(whole, streamed, "whole and streamed reads agree");
    whole
}
