//! PROTOCOL's primitives, each behind one wasm-bindgen function, for `make bench-floor`:
//! what one message costs at the least (an HPKE open of the content key, §3, and an
//! Ed25519 `verify_strict`, §3 step 6) and what a download of these crates weighs at the
//! least (every primitive of §2–§4 and §9–§10 reachable, nothing else).
use base64::Engine as _;
use hpke::{Deserializable as _, OpModeR, OpModeS, Serializable as _};
use wasm_bindgen::prelude::*;

type Kem = hpke::kem::X25519HkdfSha256;
type Kdf = hpke::kdf::HkdfSha256;
type HpkeAead = hpke::aead::ChaCha20Poly1305;

fn array<const N: usize>(bytes: &[u8], what: &str) -> Result<[u8; N], JsError> {
    bytes
        .try_into()
        .map_err(|_| JsError::new(&format!("{what}: {N} bytes expected")))
}

/// X25519 public key of a secret (§2 `enc_pk`).
#[wasm_bindgen]
pub fn x25519_public(secret: &[u8]) -> Result<Vec<u8>, JsError> {
    let secret = x25519_dalek::StaticSecret::from(array::<32>(secret, "secret")?);
    Ok(x25519_dalek::PublicKey::from(&secret).as_bytes().to_vec())
}

/// X25519 shared secret.
#[wasm_bindgen]
pub fn x25519(secret: &[u8], public: &[u8]) -> Result<Vec<u8>, JsError> {
    let secret = x25519_dalek::StaticSecret::from(array::<32>(secret, "secret")?);
    let public = x25519_dalek::PublicKey::from(array::<32>(public, "public")?);
    Ok(secret.diffie_hellman(&public).as_bytes().to_vec())
}

/// Ed25519 public key of a seed.
#[wasm_bindgen]
pub fn ed25519_public(seed: &[u8]) -> Result<Vec<u8>, JsError> {
    let key = ed25519_dalek::SigningKey::from_bytes(&array::<32>(seed, "seed")?);
    Ok(key.verifying_key().as_bytes().to_vec())
}

/// Ed25519 signature.
#[wasm_bindgen]
pub fn ed25519_sign(seed: &[u8], message: &[u8]) -> Result<Vec<u8>, JsError> {
    use ed25519_dalek::Signer as _;
    let key = ed25519_dalek::SigningKey::from_bytes(&array::<32>(seed, "seed")?);
    Ok(key.sign(message).to_bytes().to_vec())
}

/// Ed25519 `verify_strict`, the public key parsed on every call.
#[wasm_bindgen]
pub fn ed25519_verify_strict(public: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let (Ok(public), Ok(signature)) =
        (array::<32>(public, "public"), array::<64>(signature, "sig"))
    else {
        return false;
    };
    ed25519_dalek::VerifyingKey::from_bytes(&public).is_ok_and(|key| {
        key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(&signature))
            .is_ok()
    })
}

/// An Ed25519 public key parsed once (decompressed), as chatseal caches sender cards.
#[wasm_bindgen]
pub struct Verifier(ed25519_dalek::VerifyingKey);

#[wasm_bindgen]
impl Verifier {
    /// Parses `public`.
    #[wasm_bindgen(constructor)]
    pub fn new(public: &[u8]) -> Result<Verifier, JsError> {
        ed25519_dalek::VerifyingKey::from_bytes(&array::<32>(public, "public")?)
            .map(Verifier)
            .map_err(|_| JsError::new("not an Ed25519 public key"))
    }

    /// `verify_strict` with the parsed key.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        array::<64>(signature, "sig").is_ok_and(|signature| {
            self.0
                .verify_strict(message, &ed25519_dalek::Signature::from_bytes(&signature))
                .is_ok()
        })
    }
}

/// HPKE base-mode seal of `plaintext` (PROTOCOL §3's suite): `enc || ciphertext || tag`.
#[wasm_bindgen]
pub fn hpke_seal(
    public: &[u8],
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, JsError> {
    let public = <Kem as hpke::Kem>::PublicKey::from_bytes(public)
        .map_err(|_| JsError::new("not an X25519 public key"))?;
    let mut rng = rand_core::OsRng;
    let (enc, ciphertext) = hpke::single_shot_seal::<HpkeAead, Kdf, Kem, _>(
        &OpModeS::Base,
        &public,
        info,
        plaintext,
        aad,
        &mut rng,
    )
    .map_err(|_| JsError::new("hpke seal"))?;
    Ok([enc.to_bytes().as_slice(), &ciphertext].concat())
}

/// HPKE base-mode open of [`hpke_seal`]'s output.
#[wasm_bindgen]
pub fn hpke_open(
    secret: &[u8],
    info: &[u8],
    aad: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, JsError> {
    let secret = <Kem as hpke::Kem>::PrivateKey::from_bytes(secret)
        .map_err(|_| JsError::new("not an X25519 secret"))?;
    let (enc, ciphertext) = sealed
        .split_at_checked(32)
        .ok_or_else(|| JsError::new("too short"))?;
    let enc =
        <Kem as hpke::Kem>::EncappedKey::from_bytes(enc).map_err(|_| JsError::new("bad enc"))?;
    hpke::single_shot_open::<HpkeAead, Kdf, Kem>(
        &OpModeR::Base,
        &secret,
        &enc,
        info,
        ciphertext,
        aad,
    )
    .map_err(|_| JsError::new("hpke open failed"))
}

/// ChaCha20-Poly1305 (the body, §3; file chunks, §10).
#[wasm_bindgen]
pub fn aead_seal(
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, JsError> {
    use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
    let cipher = chacha20poly1305::ChaCha20Poly1305::new(&array::<32>(key, "key")?.into());
    cipher
        .encrypt(
            &array::<12>(nonce, "nonce")?.into(),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| JsError::new("aead seal"))
}

/// ChaCha20-Poly1305 open.
#[wasm_bindgen]
pub fn aead_open(key: &[u8], nonce: &[u8], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, JsError> {
    use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
    let cipher = chacha20poly1305::ChaCha20Poly1305::new(&array::<32>(key, "key")?.into());
    cipher
        .decrypt(
            &array::<12>(nonce, "nonce")?.into(),
            Payload { msg: sealed, aad },
        )
        .map_err(|_| JsError::new("aead open failed"))
}

/// SHA-256 (card ids, §2; files, §10).
#[wasm_bindgen]
pub fn sha256(data: &[u8]) -> Vec<u8> {
    use sha2::Digest as _;
    sha2::Sha256::digest(data).to_vec()
}

/// HMAC-SHA256 (the group chain, §9).
#[wasm_bindgen]
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    use hmac::Mac as _;
    let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::digest::KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Argon2id (the backup, §4).
#[wasm_bindgen]
pub fn argon2id(
    password: &[u8],
    salt: &[u8],
    m_kib: u32,
    t: u32,
    p: u32,
) -> Result<Vec<u8>, JsError> {
    let params =
        argon2::Params::new(m_kib, t, p, Some(32)).map_err(|e| JsError::new(&e.to_string()))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = vec![0u8; 32];
    argon
        .hash_password_into(password, salt, &mut out)
        .map_err(|e| JsError::new(&e.to_string()))?;
    Ok(out)
}

/// base64url without padding (every text form).
#[wasm_bindgen]
pub fn b64u_encode(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

/// base64url decode.
#[wasm_bindgen]
pub fn b64u_decode(text: &str) -> Result<Vec<u8>, JsError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|e| JsError::new(&e.to_string()))
}

/// Random bytes from the platform (keys, nonces).
#[wasm_bindgen]
pub fn random(n: usize) -> Result<Vec<u8>, JsError> {
    let mut out = vec![0u8; n];
    getrandom::getrandom(&mut out).map_err(|e| JsError::new(&e.to_string()))?;
    Ok(out)
}
