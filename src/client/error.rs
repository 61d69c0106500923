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
}

impl Error {
    /// The stable name: a PROTOCOL error name, or `NoLocalKey`, `AlreadyRegistered`,
    /// `Unauthorized`, `Directory`, `Storage`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Proto(e) => e.code(),
            Error::NoLocalKey => "NoLocalKey",
            Error::AlreadyRegistered => "AlreadyRegistered",
            Error::Unauthorized(_) => "Unauthorized",
            Error::Directory(_) => "Directory",
            Error::Storage(_) => "Storage",
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
        assert_eq!(
            Error::from(proto::Error::Malformed("card")).to_string(),
            "malformed card"
        );
    }
}
