//! The protocol's error type: the failure names of PROTOCOL.md, and nothing finer.
//!
//! Decryption failures are deliberately coarse (`Integrity` does not say whether the
//! password, the key or the ciphertext was wrong) so that an error cannot serve as an
//! oracle. `Malformed` carries a short static description of the structural rule that
//! failed; it never contains input bytes, let alone secret ones.

/// Every way the protocol layer can refuse an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input does not follow the wire format: bad text prefix, bad base64url, bad
    /// magic, a truncated or over-long field, trailing bytes, a value out of its range.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// An Ed25519 signature did not pass `verify_strict` (including a public key that
    /// cannot be decoded, or one of small order).
    #[error("bad signature: the data was not signed by the key it names")]
    BadSignature,
    /// No stanza of the message is addressed to a key in the local keyring.
    #[error("not a recipient: this message was not encrypted to any key on this device")]
    NotARecipient,
    /// An authenticated decryption failed: the data was altered, or the key or password
    /// is wrong. Which of these it was is deliberately not said.
    #[error("integrity check failed: the data was altered, or the key or password is wrong")]
    Integrity,
    /// The sender's card could not be resolved (or the directory answered with a card
    /// whose id is not the one the message names).
    #[error("unknown sender: the sender's public card could not be found")]
    UnknownSender,
    /// The message was signed by a card of another identity than the one the chat
    /// names as its sender.
    #[error("sender mismatch: the message was signed by a different identity than the chat says")]
    SenderMismatch,
    /// The message is bound to another context (e.g. another channel) than expected.
    #[error("context mismatch: the message belongs to a different conversation")]
    ContextMismatch,
    /// A group message (§9) names a session this device holds no share for, or an index
    /// before the one its share starts at: it was sent before this member joined, or the
    /// directory withheld the share.
    #[error("no session key: this device has no key for this group message (sent before this member joined, or its share is missing)")]
    NoSessionKey,
    /// The caller asked for something the format cannot express (too many recipients,
    /// an invalid identity string, a context over 65,535 bytes, a secret key that does
    /// not match its card, …). Never caused by received data.
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
}

impl Error {
    /// The stable name of the error, as PROTOCOL.md spells it (`"Malformed"`,
    /// `"BadSignature"`, …). Applications may match on it; it never changes.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Malformed(_) => "Malformed",
            Error::BadSignature => "BadSignature",
            Error::NotARecipient => "NotARecipient",
            Error::Integrity => "Integrity",
            Error::UnknownSender => "UnknownSender",
            Error::SenderMismatch => "SenderMismatch",
            Error::ContextMismatch => "ContextMismatch",
            Error::NoSessionKey => "NoSessionKey",
            Error::InvalidArgument(_) => "InvalidArgument",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_protocol_names() {
        assert_eq!(Error::Malformed("card").code(), "Malformed");
        assert_eq!(Error::Integrity.code(), "Integrity");
        assert_eq!(
            Error::Malformed("card: bad magic").to_string(),
            "malformed card: bad magic"
        );
    }
}
