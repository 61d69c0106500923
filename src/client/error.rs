//! The errors of the JS API: the protocol's names plus what the client itself can hit.

use crate::proto;

/// Every way a client operation can fail. [`Error::code`] is the stable string that JS
/// sees as `ChatSealError.code`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A protocol failure (`Malformed`, `BadSignature`, `NotARecipient`, `Integrity`,
    /// `UnknownSender`, `SenderMismatch`, `ContextMismatch`, `InvalidArgument`).
    #[error(transparent)]
    Proto(#[from] proto::Error),
    /// This device has no keys for the identity: register or restore first.
    #[error("no local key: register this identity or restore it from a backup first")]
    NoLocalKey,
    /// The identity already has a card in the directory.
    #[error("already registered: this identity already has a card in the directory; restore it from a backup, or rotate")]
    AlreadyRegistered,
    /// The directory refused the app's token, twice.
    #[error("unauthorized: the directory refused the token from getToken ({0})")]
    Unauthorized(String),
    /// The directory could not be reached or answered something unexpected.
    #[error("directory: {0}")]
    Directory(String),
    /// Local storage (IndexedDB, WebCrypto) failed.
    #[error("storage: {0}")]
    Storage(String),
    /// The directory holds no backup of the kind asked for (the password backup, or the
    /// passkey backup of that credential).
    #[error("no backup: the directory holds no backup of this kind for this identity; make one on a device that has the keys")]
    NoBackup,
    /// The browser or the authenticator does not offer WebAuthn's `prf` extension, which a
    /// passkey backup needs (§4.1).
    #[error("passkey unsupported: this browser or authenticator cannot derive a key from a passkey (WebAuthn PRF); use a password backup or link a device instead")]
    PasskeyUnsupported,
    /// The user dismissed the passkey prompt (or it timed out).
    #[error("passkey cancelled: the passkey prompt was dismissed before it finished")]
    PasskeyCancelled,
    /// No offer arrived for a device link within 5 minutes (§13).
    #[error(
        "link expired: no offer arrived from the other device within 5 minutes; show a new QR code"
    )]
    LinkExpired,
    /// The link (its QR code) was already used for an offer (§13).
    #[error("link used: this QR code was already used to link a device; show a new QR code on the new device")]
    LinkUsed,
    /// The offered keys are not this identity's current keys (§13): the other device is
    /// out of date, or the offer is another identity's.
    #[error("link rejected: the keys offered are not this identity's current keys; link from a device that is up to date")]
    LinkRejected,
}

impl Error {
    /// The stable name: a PROTOCOL error name, or `NoLocalKey`, `AlreadyRegistered`,
    /// `Unauthorized`, `Directory`, `Storage`, `NoBackup`, `PasskeyUnsupported`,
    /// `PasskeyCancelled`, `LinkExpired`, `LinkUsed`, `LinkRejected`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Proto(e) => e.code(),
            Error::NoLocalKey => "NoLocalKey",
            Error::AlreadyRegistered => "AlreadyRegistered",
            Error::Unauthorized(_) => "Unauthorized",
            Error::Directory(_) => "Directory",
            Error::Storage(_) => "Storage",
            Error::NoBackup => "NoBackup",
            Error::PasskeyUnsupported => "PasskeyUnsupported",
            Error::PasskeyCancelled => "PasskeyCancelled",
            Error::LinkExpired => "LinkExpired",
            Error::LinkUsed => "LinkUsed",
            Error::LinkRejected => "LinkRejected",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_names() {
        assert_eq!(Error::from(proto::Error::Integrity).code(), "Integrity");
        assert_eq!(Error::NoLocalKey.code(), "NoLocalKey");
        assert_eq!(Error::Directory("x".into()).code(), "Directory");
        for (error, code) in [
            (Error::NoBackup, "NoBackup"),
            (Error::PasskeyUnsupported, "PasskeyUnsupported"),
            (Error::PasskeyCancelled, "PasskeyCancelled"),
            (Error::LinkExpired, "LinkExpired"),
            (Error::LinkUsed, "LinkUsed"),
            (Error::LinkRejected, "LinkRejected"),
        ] {
            assert_eq!(error.code(), code);
            // The message starts with the code in words ("NoBackup" → "no backup: ").
            let mut words = String::new();
            for c in code.chars() {
                if c.is_ascii_uppercase() && !words.is_empty() {
                    words.push(' ');
                }
                words.push(c.to_ascii_lowercase());
            }
            let message = error.to_string();
            assert!(message.starts_with(&format!("{words}: ")), "{message}");
        }
        assert_eq!(
            Error::from(proto::Error::Malformed("card")).to_string(),
            "malformed card"
        );
    }
}
