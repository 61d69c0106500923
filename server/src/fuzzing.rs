//! What the server's fuzz target in `fuzz/` runs (`jwt`), also replayed over
//! `tests/fuzz-regressions/jwt/` by `server/tests/fuzz_regressions.rs`: §6 token
//! verification must refuse any input with an error, never panic.
#![doc(hidden)]

use std::sync::OnceLock;

use crate::auth::{AppSecret, Verifier};

/// The fixed clock of the target (unix seconds).
pub const NOW: u64 = 1_800_000_000;
const KID: &str = "fuzz-key";

fn secret() -> &'static AppSecret {
    static SECRET: OnceLock<AppSecret> = OnceLock::new();
    // 32 bytes of 0x07 in base64url: a valid Ed25519 seed.
    SECRET.get_or_init(|| {
        AppSecret::from_b64u("BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc")
            .unwrap_or_else(|_| unreachable!("a fixed 32-byte seed"))
    })
}

fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| Verifier::new(&[secret().app_key(KID)]))
}

/// §6: a token, verified with the fixed app key at [`NOW`].
pub fn jwt(data: &[u8]) {
    if let Ok(token) = std::str::from_utf8(data) {
        let _ = verifier().verify(token, NOW);
    }
}

/// Valid tokens of the fixed key, and near misses (another audience, expired).
pub fn seeds() -> Vec<Vec<u8>> {
    let s = secret();
    [
        s.directory_token(KID, "fuzz-app", "alice@fuzz", NOW - 10, 3600),
        s.token_for("another-audience", KID, "fuzz-app", "bob@fuzz", NOW, 60),
        s.directory_token(KID, "fuzz-app", "carol@fuzz", NOW - 7200, 60),
    ]
    .into_iter()
    .filter_map(Result::ok)
    .map(String::into_bytes)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_seed_verifies_and_the_others_do_not() {
        let seeds = seeds();
        assert_eq!(seeds.len(), 3);
        let verify = |b: &[u8]| verifier().verify(std::str::from_utf8(b).unwrap_or(""), NOW);
        assert!(seeds.first().is_some_and(|t| verify(t).is_ok()));
        assert!(seeds.iter().skip(1).all(|t| verify(t).is_err()));
    }
}
