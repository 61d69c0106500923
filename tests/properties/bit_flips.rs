//! Exhaustive single-bit flips: every flip of an envelope, in byte and in text form, is
//! refused with the error §3's decryption order names for its region; a keyring's only
//! accepted flips are the `enc_sk` bits that X25519 clamps.

use super::*;

/// Decrypts `text` as bob, turning a panic into a test failure that names the flip.
fn bob_reads_or_panic_report(text: &str, what: &str) -> Result<Message, Error> {
    let f = &*FIXTURE;
    match catch_unwind(AssertUnwindSafe(|| f.bob_reads(text))) {
        Ok(result) => result,
        Err(_) => panic!("decrypt panicked on {what}"),
    }
}

fn print_counts(title: &str, counts: &BTreeMap<&'static str, usize>) {
    println!("{title}:");
    for (code, n) in counts {
        println!("  {code:<14} {n:>6}");
    }
}

/// Every bit of every byte of an envelope from alice to [alice, bob], flipped, is refused
/// when bob decrypts it, with the error that §3's order names for where the bit is:
/// magic → `Malformed`; sender card id, msg id → `Integrity` (the HPKE info binds them);
/// stanza count → `Malformed` or `Integrity` (a count of 3 takes a stanza out of the
/// body); bob's recipient card id → `NotARecipient`; anything else of the header, the
/// body and the tag → `Integrity` (the header is the body's associated data).
#[test]
fn every_single_bit_flip_of_an_envelope_is_refused() {
    let f = &*FIXTURE;
    let bytes = &f.envelope_bytes;
    assert_eq!(f.bob_reads(&f.envelope_text).unwrap(), f.message);
    let header = Envelope::decode(bytes.clone()).unwrap().header().clone();
    assert_eq!(header.stanzas.len(), 2);
    let bob_index = header
        .stanzas
        .iter()
        .position(|s| s.recipient_card_id == f.bob.current().card().id())
        .unwrap();
    let bob_id_start = header_len(bob_index);
    let bob_id = bob_id_start..bob_id_start + 16;

    let expected = |offset: usize| -> &'static [&'static str] {
        match offset {
            0..=3 => &["Malformed"],
            36 | 37 => &["Malformed", "Integrity"],
            o if bob_id.contains(&o) => &["NotARecipient"],
            _ => &["Integrity"],
        }
    };

    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    for offset in 0..bytes.len() {
        for bit in 0..8 {
            let mut flipped = bytes.clone();
            flipped[offset] ^= 1 << bit;
            let what = format!("byte {offset} bit {bit}");
            match bob_reads_or_panic_report(&text_form("csm2.", &flipped), &what) {
                Ok(_) => panic!("{what}: accepted"),
                Err(e) => {
                    assert!(
                        expected(offset).contains(&e.code()),
                        "{what}: {e:?}, expected one of {:?}",
                        expected(offset)
                    );
                    *counts.entry(e.code()).or_default() += 1;
                }
            }
        }
    }
    println!(
        "bit flips of the {}-byte envelope (header {} bytes, 2 stanzas):",
        bytes.len(),
        header_len(2)
    );
    print_counts("  by error", &counts);
    assert_eq!(counts.values().sum::<usize>(), 8 * bytes.len());
    assert_eq!(counts.get("NotARecipient"), Some(&(8 * 16)));
}

/// The same over the text form: every bit of every character of `csm2.<b64u>` flipped
/// (skipping the flips that leave UTF-8, i.e. bit 7 of an ASCII character) is refused.
#[test]
fn every_single_bit_flip_of_an_envelope_text_is_refused() {
    let f = &*FIXTURE;
    let text = f.envelope_text.as_bytes();
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut not_utf8 = 0usize;
    for offset in 0..text.len() {
        for bit in 0..8 {
            let mut flipped = text.to_vec();
            flipped[offset] ^= 1 << bit;
            let Ok(flipped) = String::from_utf8(flipped) else {
                not_utf8 += 1;
                continue;
            };
            let what = format!("text char {offset} bit {bit}");
            match bob_reads_or_panic_report(&flipped, &what) {
                Ok(_) => panic!("{what}: accepted"),
                Err(e) => {
                    assert!(RECEIVED.contains(&e.code()), "{what}: {e:?}");
                    if offset < 5 {
                        assert_eq!(e.code(), "Malformed", "{what}: the prefix");
                    }
                    *counts.entry(e.code()).or_default() += 1;
                }
            }
        }
    }
    println!(
        "bit flips of the {}-character envelope text ({not_utf8} not UTF-8, skipped):",
        text.len()
    );
    print_counts("  by error", &counts);
    assert_eq!(
        not_utf8,
        text.len(),
        "the text is ASCII: only bit 7 leaves UTF-8"
    );
    assert_eq!(counts.values().sum::<usize>() + not_utf8, 8 * text.len());
}

/// Every bit of every byte of a two-generation keyring, flipped, is refused
/// (`Malformed`, or §2's `BadSignature` for a flip inside a card), except the five bits of each `enc_sk` that X25519 clamps (bits 0–2 of
/// byte 0, bits 6–7 of byte 31): with them flipped the secret still gives the card's
/// `enc_pk`, so §4's "cards match their secret keys" holds and the keyring decodes, to
/// the same cards and public keys (the `CSK2` encoding is not canonical in those bits).
#[test]
fn every_single_bit_flip_of_a_keyring_is_refused_but_clamped_bits() {
    let f = &*FIXTURE;
    let bytes = &f.keyring_bytes;
    // Where each entry's enc_sk starts: "CSK2" u16, then vec32(card) sign_sk enc_sk.
    let mut enc_sk_starts = Vec::new();
    let mut cards = Vec::new();
    let mut at = 6;
    for entry in f.alice.entries() {
        let card_len = entry.card().to_bytes().len();
        cards.push(at + 4..at + 4 + card_len);
        at += 4 + card_len + 32;
        enc_sk_starts.push(at);
        at += 32;
    }
    assert_eq!(at, bytes.len());
    let clamped = |offset: usize, bit: u32| {
        enc_sk_starts
            .iter()
            .any(|&start| (offset == start && bit <= 2) || (offset == start + 31 && bit >= 6))
    };

    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    for offset in 0..bytes.len() {
        for bit in 0..8u32 {
            let mut flipped = bytes.clone();
            flipped[offset] ^= 1 << bit;
            let what = format!("keyring byte {offset} bit {bit}");
            let result = catch_unwind(|| Keyring::decode(&flipped))
                .unwrap_or_else(|_| panic!("{what}: panicked"));
            match result {
                Ok(decoded) => {
                    assert!(clamped(offset, bit), "{what}: accepted");
                    for (x, y) in decoded.entries().zip(f.alice.entries()) {
                        assert_eq!(x.card(), y.card(), "{what}");
                        assert_eq!(x.keys().enc_pk(), y.keys().enc_pk(), "{what}");
                    }
                    // The flipped secret is kept as it is, not clamped.
                    assert_eq!(decoded.encode().unwrap().as_slice(), &flipped[..], "{what}");
                    *counts.entry("Ok (clamped bit)").or_default() += 1;
                }
                Err(e) => {
                    assert!(!clamped(offset, bit), "{what}: {e:?}");
                    // A card inside a keyring that fails §2 gives §2's error (§4).
                    let in_card = cards.iter().any(|r| r.contains(&offset));
                    match e.code() {
                        "BadSignature" => assert!(in_card, "{what}"),
                        code => assert_eq!(code, "Malformed", "{what}"),
                    }
                    *counts.entry(e.code()).or_default() += 1;
                }
            }
        }
    }
    println!(
        "bit flips of the {}-byte keyring (2 generations):",
        bytes.len()
    );
    print_counts("  by result", &counts);
    assert_eq!(counts.get("Ok (clamped bit)"), Some(&10));
    assert_eq!(counts.values().sum::<usize>(), 8 * bytes.len());
}
