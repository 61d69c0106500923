//! §5 Safety number: Signal's numeric fingerprint over a card's `sign_pk`, compared out
//! of band to detect a swapped key.

use sha2::{Digest as _, Sha512};

use super::card::Card;

const ITERATIONS: usize = 5200;

/// The 30 digits of one party: `h = u16 0 || sign_pk || identity`, then 5200 times
/// `h = SHA-512(h || sign_pk)`; each of the first six 5-byte chunks of `h`, as a u40
/// mod 100000, gives 5 zero-padded digits.
pub fn digits(identity: &str, sign_pk: &[u8; 32]) -> String {
    let mut hasher = Sha512::new();
    hasher.update([0u8, 0u8]);
    hasher.update(sign_pk);
    hasher.update(identity.as_bytes());
    hasher.update(sign_pk);
    let mut h = hasher.finalize();
    for _ in 1..ITERATIONS {
        let mut hasher = Sha512::new();
        hasher.update(h);
        hasher.update(sign_pk);
        h = hasher.finalize();
    }
    let mut out = String::with_capacity(30);
    for chunk in h.chunks_exact(5).take(6) {
        let value = chunk.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        out.push_str(&format!("{:05}", value % 100_000));
    }
    out
}

/// The 60-digit safety number of two cards: both parties' digits, the smaller first,
/// so that both sides see the same number.
pub fn safety_number(a: &Card, b: &Card) -> String {
    let da = digits(a.identity(), &a.sign_pk());
    let db = digits(b.identity(), &b.sign_pk());
    if da <= db {
        da + &db
    } else {
        db + &da
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::IdentityKeys;

    #[test]
    fn symmetric_and_key_bound() {
        let a = Card::create(
            &IdentityKeys::from_secrets(&[1; 32], &[2; 32]),
            "a",
            0,
            None,
        )
        .unwrap();
        let b = Card::create(
            &IdentityKeys::from_secrets(&[3; 32], &[4; 32]),
            "b",
            0,
            None,
        )
        .unwrap();
        let b2 = Card::create(
            &IdentityKeys::from_secrets(&[5; 32], &[4; 32]),
            "b",
            0,
            None,
        )
        .unwrap();
        let n = safety_number(&a, &b);
        assert_eq!(n.len(), 60);
        assert!(n.bytes().all(|c| c.is_ascii_digit()));
        assert_eq!(n, safety_number(&b, &a));
        assert_ne!(n, safety_number(&a, &b2));
    }

    #[test]
    fn first_iteration_hashes_the_initial_block() {
        // h0 = 0x0000 || pk || id; h1 = SHA-512(h0 || pk): the first round must hash both.
        let pk = [9u8; 32];
        let mut h0 = vec![0u8, 0];
        h0.extend_from_slice(&pk);
        h0.extend_from_slice(b"x");
        let mut h = h0;
        for _ in 0..ITERATIONS {
            h.extend_from_slice(&pk);
            h = Sha512::digest(&h).to_vec();
        }
        let expect: String = h
            .chunks_exact(5)
            .take(6)
            .map(|c| {
                format!(
                    "{:05}",
                    c.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b)) % 100_000
                )
            })
            .collect();
        assert_eq!(digits("x", &pk), expect);
    }
}
