//! PROTOCOL §6: the app's EdDSA JWTs — verification for the directory, minting for the
//! `token` command and the demo backend.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use chatseal::proto::{b64u_decode, b64u_encode, keys::validate_identity};
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::{SigningKey, VerifyingKey};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// The audience every directory token must name.
pub const AUDIENCE: &str = "chatseal-directory";
/// Clock skew tolerated on `exp` and `iat`, in seconds.
pub const LEEWAY: u64 = 60;
/// The longest lifetime a token may claim (`exp - iat`), in seconds.
pub const MAX_LIFETIME: u64 = 24 * 3600;

/// One app public key: `KID=PUBKEY`, PUBKEY being the 32-byte Ed25519 key in b64u.
#[derive(Clone)]
pub struct AppKey {
    /// The key id that tokens name in their header.
    pub kid: String,
    /// The Ed25519 public key.
    pub public: VerifyingKey,
}

impl fmt::Debug for AppKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.kid, b64u_encode(self.public.as_bytes()))
    }
}

impl FromStr for AppKey {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (kid, public) = text
            .split_once('=')
            .ok_or("an app key is KID=PUBKEY (the 32-byte Ed25519 public key in base64url)")?;
        let kid = kid.trim();
        if kid.is_empty() {
            return Err("an app key needs a key id before the '='".into());
        }
        let bytes = b64u_decode(public.trim())
            .map_err(|_| format!("app key {kid:?}: the public key is not base64url"))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| format!("app key {kid:?}: an Ed25519 public key is 32 bytes"))?;
        let public = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| format!("app key {kid:?}: not a valid Ed25519 public key"))?;
        Ok(AppKey {
            kid: kid.to_owned(),
            public,
        })
    }
}

/// The claims of a directory token (PROTOCOL §6).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The app id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// The identity the token speaks for.
    pub sub: String,
    /// Always [`AUDIENCE`].
    pub aud: String,
    /// Issued at (unix seconds).
    pub iat: u64,
    /// Expires at (unix seconds).
    pub exp: u64,
}

/// Why a token was refused; the `Display` text goes into the 401 answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No `Authorization: Bearer` header.
    #[error("missing token: send `Authorization: Bearer <JWT>` (PROTOCOL §6)")]
    Missing,
    /// Not a compact JWS, or its header or claims are not the JSON §6 describes.
    #[error("malformed token: {0}")]
    Malformed(String),
    /// `alg` is not `EdDSA`.
    #[error("token algorithm must be EdDSA")]
    Algorithm,
    /// No `kid`, or one this server was not given.
    #[error("unknown token key id: the server has no app key with this kid")]
    UnknownKid,
    /// The signature does not verify with the app key.
    #[error("token signature does not verify with the app key")]
    Signature,
    /// `exp` is in the past (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// `iat` is in the future (beyond the leeway).
    #[error("token issued in the future: check the app backend's clock")]
    NotYetValid,
    /// `exp - iat` is over 24 h.
    #[error("token lifetime over 24 h (exp - iat)")]
    TooLong,
    /// `aud` is not `chatseal-directory`.
    #[error("wrong token audience (directory tokens have aud \"chatseal-directory\")")]
    Audience,
    /// `sub` is not a valid identity (PROTOCOL §1).
    #[error(
        "token subject is not a valid identity (1 to 256 bytes of UTF-8, no control characters)"
    )]
    Subject,
}

/// The app keys this directory trusts, by `kid`.
#[derive(Clone)]
pub struct Verifier {
    keys: HashMap<String, DecodingKey>,
    validation: Validation,
    audience: String,
}

impl Verifier {
    /// A verifier of directory tokens signed by the given app keys.
    pub fn new(keys: &[AppKey]) -> Self {
        Self::with_audience(keys, AUDIENCE)
    }

    /// A verifier of the same rules for another audience (the demo's session tokens).
    pub fn with_audience(keys: &[AppKey], audience: &str) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = LEEWAY;
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "aud", "sub"]);
        validation.validate_exp = true;
        validation.validate_nbf = false;
        let keys = keys
            .iter()
            .map(|k| {
                let key = DecodingKey::from_ed_der(k.public.as_bytes());
                (k.kid.clone(), key)
            })
            .collect();
        Verifier {
            keys,
            validation,
            audience: audience.to_owned(),
        }
    }

    /// The number of trusted keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when no key is trusted (every token fails).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Verifies `token` at time `now` (unix seconds) against every rule of §6.
    pub fn verify(&self, token: &str, now: u64) -> Result<Claims, TokenError> {
        use jsonwebtoken::errors::ErrorKind;
        // Read `alg` ourselves first, so that `none` and names the JWT crate does not know
        // are reported as the wrong algorithm rather than as a malformed header.
        let malformed = || TokenError::Malformed("not a compact JWS with a JSON header".into());
        let (header_b64, _) = token.split_once('.').ok_or_else(malformed)?;
        let raw_header: serde_json::Value = b64u_decode(header_b64)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(malformed)?;
        if raw_header.get("alg").and_then(serde_json::Value::as_str) != Some("EdDSA") {
            return Err(TokenError::Algorithm);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| malformed())?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Algorithm);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.get(kid))
            .ok_or(TokenError::UnknownKid)?;
        let data =
            jsonwebtoken::decode::<Claims>(token, key, &self.validation).map_err(|e| {
                match e.kind() {
                    ErrorKind::InvalidSignature => TokenError::Signature,
                    ErrorKind::ExpiredSignature => TokenError::Expired,
                    ErrorKind::InvalidAudience => TokenError::Audience,
                    ErrorKind::InvalidAlgorithm => TokenError::Algorithm,
                    ErrorKind::MissingRequiredClaim(claim) => {
                        TokenError::Malformed(format!("missing claim `{claim}`"))
                    }
                    ErrorKind::Json(_) => TokenError::Malformed(
                        "claims must include sub (string), aud (string), iat and exp (integers)"
                            .into(),
                    ),
                    _ => TokenError::Malformed("cannot be decoded".into()),
                }
            })?;
        let claims = data.claims;
        // The crate checks exp against its own clock; check again against ours so the
        // rule is testable and explicit.
        if claims.exp.saturating_add(LEEWAY) < now {
            return Err(TokenError::Expired);
        }
        if claims.iat > now.saturating_add(LEEWAY) {
            return Err(TokenError::NotYetValid);
        }
        if claims.exp.saturating_sub(claims.iat) > MAX_LIFETIME {
            return Err(TokenError::TooLong);
        }
        if claims.aud != self.audience {
            return Err(TokenError::Audience);
        }
        validate_identity(&claims.sub).map_err(|_| TokenError::Subject)?;
        Ok(claims)
    }
}

/// An app signing key: the 32-byte Ed25519 seed. Never printed by `Debug`.
pub struct AppSecret {
    key: SigningKey,
}

impl fmt::Debug for AppSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppSecret")
            .field("kid", &self.kid())
            .finish_non_exhaustive()
    }
}

impl AppSecret {
    /// A fresh random key.
    pub fn generate() -> Self {
        AppSecret {
            key: SigningKey::generate(&mut rand_core::OsRng),
        }
    }

    /// The key from its b64u seed, as `keygen` prints it.
    pub fn from_b64u(text: &str) -> Result<Self, String> {
        let seed = Zeroizing::new(
            b64u_decode(text.trim()).map_err(|_| "the private key is not base64url")?,
        );
        let seed: &[u8; 32] = seed
            .as_slice()
            .try_into()
            .map_err(|_| "the private key is the 32-byte Ed25519 seed")?;
        Ok(AppSecret {
            key: SigningKey::from_bytes(seed),
        })
    }

    /// The seed in b64u (secret: for `keygen` output only).
    pub fn to_b64u(&self) -> Zeroizing<String> {
        Zeroizing::new(b64u_encode(self.key.as_bytes()))
    }

    /// The public key in b64u, as `--app-key` takes it.
    pub fn public_b64u(&self) -> String {
        b64u_encode(self.key.verifying_key().as_bytes())
    }

    /// A key id derived from the public key: 16 hex digits of its SHA-256.
    pub fn kid(&self) -> String {
        let digest = Sha256::digest(self.key.verifying_key().as_bytes());
        hex::encode(digest.get(..8).unwrap_or_default())
    }

    /// The public half, as the directory is configured with it.
    pub fn app_key(&self, kid: &str) -> AppKey {
        AppKey {
            kid: kid.to_owned(),
            public: self.key.verifying_key(),
        }
    }

    /// Mints a compact JWS with `alg: EdDSA`, `kid` in the header, signing `claims`.
    pub fn sign<T: Serialize>(&self, kid: &str, claims: &T) -> Result<String, String> {
        let der = self
            .key
            .to_pkcs8_der()
            .map_err(|_| "cannot encode the key as PKCS#8")?;
        let key = EncodingKey::from_ed_der(der.as_bytes());
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &key).map_err(|e| format!("cannot sign: {e}"))
    }

    /// Mints a directory token for `sub`, valid from `now` for `ttl` seconds.
    pub fn directory_token(
        &self,
        kid: &str,
        iss: &str,
        sub: &str,
        now: u64,
        ttl: u64,
    ) -> Result<String, String> {
        self.token_for(AUDIENCE, kid, iss, sub, now, ttl)
    }

    /// Mints a token with the claims of §6 for audience `aud`.
    pub fn token_for(
        &self,
        aud: &str,
        kid: &str,
        iss: &str,
        sub: &str,
        now: u64,
        ttl: u64,
    ) -> Result<String, String> {
        validate_identity(sub)
            .map_err(|_| "--sub must be 1 to 256 bytes of UTF-8 without control characters")?;
        if ttl == 0 || ttl > MAX_LIFETIME {
            return Err(format!(
                "--ttl must be 1 to {MAX_LIFETIME} seconds (PROTOCOL §6)"
            ));
        }
        let claims = Claims {
            iss: Some(iss.to_owned()),
            sub: sub.to_owned(),
            aud: aud.to_owned(),
            iat: now,
            exp: now + ttl,
        };
        self.sign(kid, &claims)
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (AppSecret, Verifier) {
        let secret = AppSecret::generate();
        let verifier = Verifier::new(&[secret.app_key("k1")]);
        (secret, verifier)
    }

    #[test]
    fn a_minted_token_verifies() {
        let (secret, verifier) = setup();
        let now = unix_now();
        let token = secret
            .directory_token("k1", "app", "alice", now, 3600)
            .unwrap();
        let claims = verifier.verify(&token, now).unwrap();
        assert_eq!(claims.sub, "alice");
        assert_eq!(claims.aud, AUDIENCE);
    }

    #[test]
    fn each_rule_has_its_error() {
        let (secret, verifier) = setup();
        let now = unix_now();
        let sign = |c: serde_json::Value| secret.sign("k1", &c).unwrap();
        let ok = |sub: &str, iat: u64, exp: u64| serde_json::json!({"sub": sub, "aud": AUDIENCE, "iat": iat, "exp": exp});
        assert_eq!(
            verifier
                .verify(&sign(ok("a", now - 7200, now - 61)), now)
                .unwrap_err(),
            TokenError::Expired
        );
        assert!(verifier
            .verify(&sign(ok("a", now - 7200, now - 59)), now)
            .is_ok());
        assert_eq!(
            verifier
                .verify(&sign(ok("a", now, now + MAX_LIFETIME + 1)), now)
                .unwrap_err(),
            TokenError::TooLong
        );
        assert_eq!(
            verifier
                .verify(&sign(ok("a", now + 120, now + 600)), now)
                .unwrap_err(),
            TokenError::NotYetValid
        );
        assert_eq!(
            verifier
                .verify(&sign(ok("a\nb", now, now + 60)), now)
                .unwrap_err(),
            TokenError::Subject
        );
        assert_eq!(
            verifier
                .verify(&sign(ok("", now, now + 60)), now)
                .unwrap_err(),
            TokenError::Subject
        );
        let wrong_aud =
            serde_json::json!({"sub": "a", "aud": "other", "iat": now, "exp": now + 60});
        assert_eq!(
            verifier.verify(&sign(wrong_aud), now).unwrap_err(),
            TokenError::Audience
        );
        let no_exp = serde_json::json!({"sub": "a", "aud": AUDIENCE, "iat": now});
        assert!(matches!(
            verifier.verify(&sign(no_exp), now),
            Err(TokenError::Malformed(_))
        ));
        let other = AppSecret::generate();
        let forged = other.directory_token("k1", "app", "a", now, 60).unwrap();
        assert_eq!(
            verifier.verify(&forged, now).unwrap_err(),
            TokenError::Signature
        );
        let unknown = secret.directory_token("k2", "app", "a", now, 60).unwrap();
        assert_eq!(
            verifier.verify(&unknown, now).unwrap_err(),
            TokenError::UnknownKid
        );
        let claims = b64u_encode(ok("a", now, now + 60).to_string().as_bytes());
        let none = format!("{}.{claims}.", b64u_encode(br#"{"alg":"none","kid":"k1"}"#));
        assert_eq!(
            verifier.verify(&none, now).unwrap_err(),
            TokenError::Algorithm
        );
        let hs = format!(
            "{}.{claims}.AAAA",
            b64u_encode(br#"{"alg":"HS256","kid":"k1"}"#)
        );
        assert_eq!(
            verifier.verify(&hs, now).unwrap_err(),
            TokenError::Algorithm
        );
        for junk in ["", "abc", "abc.def", "!!.e30.e30"] {
            let err = verifier.verify(junk, now).unwrap_err();
            assert!(matches!(err, TokenError::Malformed(_)), "{junk}: {err:?}");
        }
    }

    #[test]
    fn app_keys_parse_and_refuse_clearly() {
        let secret = AppSecret::generate();
        let key: AppKey = format!("k1={}", secret.public_b64u()).parse().unwrap();
        assert_eq!(key.kid, "k1");
        assert!("k1".parse::<AppKey>().unwrap_err().contains("KID=PUBKEY"));
        assert!("=abc".parse::<AppKey>().is_err());
        assert!("k1=!!".parse::<AppKey>().unwrap_err().contains("base64url"));
        assert!("k1=AAAA"
            .parse::<AppKey>()
            .unwrap_err()
            .contains("32 bytes"));
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let secret = AppSecret::generate();
        let seed = secret.to_b64u();
        let shown = format!("{secret:?}");
        assert!(!shown.contains(seed.as_str()), "{shown}");
        assert!(shown.contains(&secret.kid()));
        let back = AppSecret::from_b64u(&seed).unwrap();
        assert_eq!(back.public_b64u(), secret.public_b64u());
    }
}
