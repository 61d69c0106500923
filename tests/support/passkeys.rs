//! §4.1 passkey backups: passkey_backups.json, and the passkey cases of invalid.json
//! (kind "backup" with a `prf_output`).

use super::*;
use chatseal::proto::passkey;

/// Computes `backup` from the other fields of `v`.
pub fn make_passkey_backup(v: &PasskeyVector) -> String {
    let keyring = Keyring::from_entries(v.keyring.iter().map(Key::entry).collect()).unwrap();
    passkey::seal_with(
        &keyring,
        &hex::decode(&v.credential_id).unwrap(),
        hex_n(&v.prf_salt),
        &hex32(&v.prf_output),
        hex_n(&v.nonce),
    )
    .unwrap()
}

/// The valid passkey backups: a keyring of three generations (two rotations) under a
/// 16-byte credential id, one generation under a long (WebAuthn's largest, 1023 bytes)
/// one, and a one-byte id.
pub fn passkey_backups(c: &Cast) -> Vec<PasskeyVector> {
    let mut g = Gen::new(9);
    let short_id: [u8; 16] = g.bytes();
    let long_id: Vec<u8> = (0..1023u16).map(|i| (i % 251) as u8).collect();
    let mut make = |credential_id: &[u8], keyring: Vec<Key>| {
        let mut v = PasskeyVector {
            credential_id: hex::encode(credential_id),
            prf_salt: hex::encode(g.bytes::<32>()),
            prf_output: hex::encode(g.bytes::<32>()),
            nonce: hex::encode(g.bytes::<24>()),
            keyring,
            backup: String::new(),
        };
        v.backup = make_passkey_backup(&v);
        v
    };
    let rotated = vec![c.alice3.clone(), c.alice2.clone(), c.alice.clone()];
    vec![
        make(&short_id, rotated),
        make(&long_id, vec![c.bob.clone()]),
        make(&[0x2a], vec![c.zoe.clone()]),
    ]
}

pub fn check_passkey_backup(v: &PasskeyVector) {
    assert_eq!(make_passkey_backup(v), v.backup, "inputs → passkey backup");
    let sealed = passkey::Sealed::parse(&v.backup).unwrap();
    assert_eq!(hex::encode(sealed.credential_id()), v.credential_id);
    assert_eq!(hex::encode(sealed.prf_salt()), v.prf_salt);
    check_keyring(&sealed.open(&hex32(&v.prf_output)).unwrap(), &v.keyring);
    let bytes = unb64(&v.backup, passkey::TEXT_PREFIX);
    let nonce_at = 4 + 2 + v.credential_id.len() / 2 + 32;
    assert_eq!(hex::encode(&bytes[nonce_at..nonce_at + 24]), v.nonce);
}

/// Invalid passkey backups: every layout rule of §4.1 on the first vector, the
/// associated data and key derivation through flipped bytes and a wrong PRF output,
/// and every keyring §4 refuses, sealed with the code that seals valid ones.
pub fn invalid_passkey_vectors(c: &Cast, pks: &[PasskeyVector]) -> Vec<InvalidVector> {
    let mut g = Gen::new(11);
    let mut out = Vec::new();
    let p = &pks[0];
    let bytes = unb64(&p.backup, passkey::TEXT_PREFIX);
    let id_len = p.credential_id.len() / 2;
    let (salt_at, nonce_at) = (6 + id_len, 6 + id_len + 32);
    let ct_at = nonce_at + 24;
    let prf = || Needs::Passkey {
        prf_output: p.prf_output.clone(),
    };
    let text = |b: &[u8]| format!("{}{}", passkey::TEXT_PREFIX, b64(b));
    let mut v = |d: &str, input: String, e: &str| {
        out.push(invalid("backup", d, input, e, prf()));
    };
    v(
        "passkey: a password backup's prefix (csb1.)",
        p.backup.replacen("csw1.", "csb1.", 1),
        "Malformed",
    );
    v(
        "passkey: base64url with padding",
        format!("{}=", &p.backup[..p.backup.len() - 1]),
        "Malformed",
    );
    let mut bad = bytes.clone();
    bad[3] = b'2';
    v("passkey: wrong magic (CSW2)", text(&bad), "Malformed");
    v(
        "passkey: truncated inside the prf_salt",
        text(&bytes[..salt_at + 10]),
        "Malformed",
    );
    let mut long = bytes.clone();
    long[4..6].copy_from_slice(&u16::MAX.to_be_bytes());
    v(
        "passkey: credential_id length runs past the end",
        text(&long),
        "Malformed",
    );
    v(
        "passkey: header only, no ciphertext",
        text(&bytes[..ct_at]),
        "Integrity",
    );
    v(
        "passkey: shorter than a tag",
        text(&bytes[..ct_at + 15]),
        "Integrity",
    );
    v(
        "passkey: a trailing byte after the tag",
        text(&[bytes.as_slice(), &[0]].concat()),
        "Integrity",
    );
    let mut shorter = bytes.clone();
    shorter[5] -= 1;
    v(
        "passkey: credential_id length one short (the header shifts)",
        text(&shorter),
        "Integrity",
    );
    for (what, at) in [
        ("credential_id", 6),
        ("prf_salt", salt_at),
        ("nonce", nonce_at),
        ("ciphertext", ct_at + 3),
        ("tag", bytes.len() - 1),
    ] {
        v(
            &format!("passkey: tampered {what}"),
            text(&flip(&bytes, at)),
            "Integrity",
        );
    }
    out.push(invalid(
        "backup",
        "passkey: the PRF output of another credential",
        p.backup.clone(),
        "Integrity",
        Needs::Passkey {
            prf_output: pks[1].prf_output.clone(),
        },
    ));
    let credential_id = b"keyring tests";
    for (d, keyring, e) in bad_keyrings(c) {
        let prf_output: [u8; 32] = g.bytes();
        let sealed =
            passkey::seal_bytes(&keyring, credential_id, g.bytes(), &prf_output, g.bytes())
                .unwrap();
        out.push(invalid(
            "backup",
            &format!("passkey: {d}"),
            sealed,
            e,
            Needs::Passkey {
                prf_output: hex::encode(prf_output),
            },
        ));
    }
    out
}
