//! The engine between the protocol and the browser: identities, a cache of verified
//! cards, the results and errors the JS API returns. Platform-neutral (no browser, no
//! clock, no randomness of its own): `crate::web` supplies those, and native tests
//! drive it directly.

pub mod cards;
pub mod engine;
pub mod error;
pub mod groups;
pub mod identity;
pub mod qr;
pub mod trust;

pub use cards::CardCache;
pub use engine::{
    Clock, Directory, Engine, KeyChange, KeyChangeListener, Link, Looked, MemoryStore,
    PasskeyBackup, PendingLink, Publish, Record, ShareOut, Stats, Store, LINK_TTL_MS,
};
pub use error::Error;
pub use identity::{Decrypted, Identity};
pub use trust::{Observation, Trust};

/// True when `text` looks like a chatseal message (`csm2.`, `csp2.` or `csg2.` text), so that a
/// chat UI can pass plaintext of mixed histories through untouched. It does not check the
/// message; `decrypt` does.
pub fn is_encrypted(text: &str) -> bool {
    text.starts_with(crate::proto::envelope::TEXT_PREFIX)
        || text.starts_with(crate::proto::pairwise::TEXT_PREFIX)
        || text.starts_with(crate::proto::group::TEXT_PREFIX)
}

#[cfg(test)]
mod tests {
    #[test]
    fn is_encrypted_is_a_prefix_check() {
        assert!(super::is_encrypted("csm2.AAAA"));
        assert!(super::is_encrypted("csg2.AAAA"));
        assert!(super::is_encrypted("csp2.AAAA"));
        assert!(!super::is_encrypted("hello"));
        assert!(!super::is_encrypted("csc2.AAAA"));
        // Version 1 was never deployed: its texts are not chatseal messages.
        assert!(!super::is_encrypted("csm1.AAAA"));
        assert!(!super::is_encrypted("csg1.AAAA"));
        assert!(!super::is_encrypted("csp1.AAAA"));
        assert!(!super::is_encrypted(""));
    }
}
