//! Attachments (PROTOCOL §10): a file encrypted once under its own key, in 64 KiB chunks,
//! and the descriptor that carries that key inside a §3 or §9 message (content type 5).
//!
//! Both directions stream: [`FileEncryptor`] and [`FileDecryptor`] take the input in
//! pieces of any size and hand back output as chunks complete, so neither the file nor
//! its ciphertext ever has to sit in memory whole.
//!
//! What a reader may release, and when:
//! - every chunk is sealed with its index and a "final" flag in the nonce, so a chunk
//!   moved, dropped, repeated or altered fails its own authentication;
//! - [`FileDecryptor::update`] releases only chunks that are known not to be the final
//!   one, each authenticated under the key of the signed descriptor;
//! - [`FileDecryptor::finish`] compares the SHA-256 of everything read with the
//!   descriptor's before it opens the final chunk, and checks the size.
//!
//! A reader that holds the whole ciphertext before it decrypts (a `Blob`) checks the hash
//! first, as §10 says, with [`HashCheck`]: only the [`FileDecryptor`] it returns on a
//! match decrypts, so the order cannot be skipped.

use chacha20poly1305::aead::{AeadInPlace as _, KeyInit as _};
use chacha20poly1305::{ChaCha20Poly1305, Nonce, Tag};
use rand_core::CryptoRngCore;
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use super::wire::{put_vec16, Reader};
use super::Error;

/// Plaintext bytes per chunk; the last chunk may be shorter (an empty file is one empty
/// chunk).
pub const CHUNK_SIZE: usize = 64 * 1024;
const TAG_LEN: usize = 16;
/// A non-final chunk as stored: 64 KiB of ciphertext and its tag.
const SEALED_CHUNK: usize = CHUNK_SIZE + TAG_LEN;
const FILE_MAGIC: &[u8; 4] = b"CSF1";
const DESCRIPTOR_MAGIC: &[u8; 4] = b"CSD1";

/// What the encrypted file is called in errors.
const FILE: &str = "encrypted file";
const DESCRIPTOR: &str = "file descriptor";

/// The 32-byte key of one file. Zeroized on drop; `Debug` shows no byte of it.
#[derive(Clone)]
pub struct FileKey(Zeroizing<[u8; 32]>);

impl FileKey {
    /// A fresh key from `rng`.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(key.as_mut());
        FileKey(key)
    }

    /// A key from its bytes (test vectors, a descriptor being decoded).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        FileKey(Zeroizing::new(bytes))
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(self.0.as_ref().into())
    }
}

impl std::fmt::Debug for FileKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileKey(<redacted>)")
    }
}

/// `CSD1 || file_key || u64 size || SHA-256(encrypted_file) || vec16(media type) ||
/// vec16(file name) || vec16(url)`.
#[derive(Clone, Debug)]
pub struct Descriptor {
    /// The key every chunk is sealed under.
    pub key: FileKey,
    /// The plaintext size in bytes.
    pub size: u64,
    /// SHA-256 of the whole encrypted file, `CSF1` included.
    pub hash: [u8; 32],
    /// The media type the sender gave (not trusted: see [`Descriptor::safe_media_type`]).
    pub media_type: String,
    /// The file name the sender gave (not trusted: a display name, never a path).
    pub name: String,
    /// Where the encrypted file was uploaded, when the sender knew it; may be empty.
    pub url: String,
}

/// Media types a browser may be handed for a decrypted file as they are: they display
/// as images, media, a PDF or plain text and cannot run script in the app's origin.
/// Anything else (HTML, SVG, XML, JavaScript, unknown) is served as
/// `application/octet-stream`, so that opening the file can only download it.
const PASSIVE_MEDIA_TYPES: &[&str] = &[
    "application/pdf",
    "audio/mpeg",
    "audio/ogg",
    "audio/wav",
    "audio/webm",
    "image/avif",
    "image/gif",
    "image/jpeg",
    "image/png",
    "image/webp",
    "text/plain",
    "video/mp4",
    "video/webm",
];

impl Descriptor {
    /// The descriptor's bytes. Fails with `InvalidArgument` when a text field is over
    /// 65,535 bytes.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::with_capacity(4 + 32 + 8 + 32 + 6 + self.text_len());
        out.extend_from_slice(DESCRIPTOR_MAGIC);
        out.extend_from_slice(self.key.as_bytes());
        out.extend_from_slice(&self.size.to_be_bytes());
        out.extend_from_slice(&self.hash);
        put_vec16(&mut out, self.media_type.as_bytes(), "media type too long")?;
        put_vec16(&mut out, self.name.as_bytes(), "file name too long")?;
        put_vec16(&mut out, self.url.as_bytes(), "url too long")?;
        Ok(out)
    }

    fn text_len(&self) -> usize {
        self.media_type.len() + self.name.len() + self.url.len()
    }

    /// Decodes a descriptor (`Malformed` on any structural fault, including text that is
    /// not UTF-8).
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes, DESCRIPTOR);
        r.magic(DESCRIPTOR_MAGIC)?;
        let key = FileKey::from_bytes(r.array()?);
        let size = r.u64()?;
        let hash = r.array()?;
        let mut text = || {
            std::str::from_utf8(r.vec16()?)
                .map(str::to_owned)
                .map_err(|_| Error::Malformed(DESCRIPTOR))
        };
        let media_type = text()?;
        let name = text()?;
        let url = text()?;
        r.finish()?;
        Ok(Descriptor {
            key,
            size,
            hash,
            media_type,
            name,
            url,
        })
    }

    /// The media type to label the decrypted file with: the sender's, lower-cased and
    /// without parameters, when it is one that cannot act in the page (images, audio,
    /// video, PDF, plain text); otherwise `application/octet-stream`.
    pub fn safe_media_type(&self) -> String {
        let essence = self
            .media_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if PASSIVE_MEDIA_TYPES.contains(&essence.as_str()) {
            essence
        } else {
            "application/octet-stream".to_owned()
        }
    }

    /// The length of the encrypted file for this descriptor's size, or `None` when it
    /// would not fit a u64.
    pub fn encrypted_len(&self) -> Option<u64> {
        encrypted_len(self.size)
    }
}

/// The length of the encrypted file of a `size`-byte plaintext: `CSF1`, the plaintext,
/// and a tag per chunk (at least one chunk).
pub fn encrypted_len(size: u64) -> Option<u64> {
    let chunk = CHUNK_SIZE as u64;
    let chunks = size.div_ceil(chunk).max(1);
    size.checked_add(4)?
        .checked_add(chunks.checked_mul(TAG_LEN as u64)?)
}

/// `u88(i) big-endian || last`.
fn nonce(index: u64, last: bool) -> Nonce {
    let mut n = [0u8; 12];
    n[3..11].copy_from_slice(&index.to_be_bytes());
    n[11] = u8::from(last);
    Nonce::from(n)
}

/// Encrypts a file given in pieces of any size. Output lags the input by up to one chunk,
/// because a chunk is sealed only once it is known whether it is the last.
pub struct FileEncryptor {
    key: FileKey,
    cipher: ChaCha20Poly1305,
    index: u64,
    /// Plaintext not sealed yet, at most one chunk.
    pending: Zeroizing<Vec<u8>>,
    hasher: Sha256,
    size: u64,
    started: bool,
}

impl FileEncryptor {
    /// An encryptor under a fresh key.
    pub fn new(rng: &mut impl CryptoRngCore) -> Self {
        Self::with_key(FileKey::generate(rng))
    }

    /// An encryptor under `key` (test vectors; a key must never encrypt two files).
    pub fn with_key(key: FileKey) -> Self {
        FileEncryptor {
            cipher: key.cipher(),
            key,
            index: 0,
            pending: Zeroizing::new(Vec::with_capacity(CHUNK_SIZE)),
            hasher: Sha256::new(),
            size: 0,
            started: false,
        }
    }

    /// Plaintext bytes taken so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Takes the next piece of plaintext; returns the encrypted bytes that are complete.
    pub fn update(&mut self, mut data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() + TAG_LEN * (data.len() / CHUNK_SIZE + 1) + 4);
        if !self.started {
            out.extend_from_slice(FILE_MAGIC);
            self.started = true;
        }
        self.size = self.size.saturating_add(data.len() as u64);
        while !data.is_empty() {
            if self.pending.len() == CHUNK_SIZE {
                self.seal_pending(&mut out, false);
            }
            let take = (CHUNK_SIZE - self.pending.len()).min(data.len());
            let (head, tail) = data.split_at(take);
            self.pending.extend_from_slice(head);
            data = tail;
        }
        self.hasher.update(&out);
        out
    }

    /// Seals what is left as the final chunk. Returns the last encrypted bytes and the
    /// descriptor (`InvalidArgument` when a text field is over 65,535 bytes).
    pub fn finish(
        mut self,
        media_type: &str,
        name: &str,
        url: &str,
    ) -> Result<(Vec<u8>, Descriptor), Error> {
        let mut out = Vec::with_capacity(self.pending.len() + TAG_LEN + 4);
        if !self.started {
            out.extend_from_slice(FILE_MAGIC);
        }
        self.seal_pending(&mut out, true);
        self.hasher.update(&out);
        let descriptor = Descriptor {
            key: self.key,
            size: self.size,
            hash: self.hasher.finalize().into(),
            media_type: media_type.to_owned(),
            name: name.to_owned(),
            url: url.to_owned(),
        };
        descriptor.encode()?;
        Ok((out, descriptor))
    }

    fn seal_pending(&mut self, out: &mut Vec<u8>, last: bool) {
        let start = out.len();
        out.extend_from_slice(&self.pending);
        self.pending.clear();
        // A chunk of at most 64 KiB is far below ChaCha20Poly1305's length limit.
        let tag = out
            .get_mut(start..)
            .and_then(|chunk| {
                self.cipher
                    .encrypt_in_place_detached(&nonce(self.index, last), b"", chunk)
                    .ok()
            })
            .unwrap_or_default();
        out.extend_from_slice(&tag);
        self.index += 1;
    }
}

/// Checks the SHA-256 of an encrypted file against its descriptor before anything is
/// decrypted (§10): feed it the whole file, then [`HashCheck::finish`] gives the
/// decryptor.
pub struct HashCheck {
    descriptor: Descriptor,
    hasher: Sha256,
    read: u64,
}

impl HashCheck {
    /// Starts a check for the file of `descriptor`.
    pub fn new(descriptor: Descriptor) -> Self {
        HashCheck {
            descriptor,
            hasher: Sha256::new(),
            read: 0,
        }
    }

    /// Takes the next piece of the encrypted file.
    pub fn update(&mut self, data: &[u8]) {
        self.read = self.read.saturating_add(data.len() as u64);
        self.hasher.update(data);
    }

    /// `Integrity` unless the file read has the descriptor's length and hash; else a
    /// decryptor that does not hash again.
    pub fn finish(self) -> Result<FileDecryptor, Error> {
        let hash: [u8; 32] = self.hasher.finalize().into();
        if Some(self.read) != self.descriptor.encrypted_len() || hash != self.descriptor.hash {
            return Err(Error::Integrity);
        }
        let mut decryptor = FileDecryptor::new(&self.descriptor);
        decryptor.hasher = None;
        Ok(decryptor)
    }
}

/// Decrypts an encrypted file given in pieces of any size.
///
/// After the first error every further call fails too (`Integrity`), so a caller that
/// ignores one cannot go on to be handed plaintext from a file already known to be bad.
pub struct FileDecryptor {
    cipher: ChaCha20Poly1305,
    index: u64,
    /// Encrypted bytes not opened yet (the magic included until it has been checked).
    pending: Vec<u8>,
    /// `None` once a [`HashCheck`] has already compared the hash.
    hasher: Option<Sha256>,
    hash: [u8; 32],
    size: u64,
    produced: u64,
    magic_checked: bool,
    failed: bool,
}

impl FileDecryptor {
    /// A decryptor for the file of `descriptor`; it hashes what it reads and compares
    /// in [`FileDecryptor::finish`], before the final chunk is opened.
    pub fn new(descriptor: &Descriptor) -> Self {
        FileDecryptor {
            cipher: descriptor.key.cipher(),
            index: 0,
            pending: Vec::with_capacity(SEALED_CHUNK + 4),
            hasher: Some(Sha256::new()),
            hash: descriptor.hash,
            size: descriptor.size,
            produced: 0,
            magic_checked: false,
            failed: false,
        }
    }

    /// Plaintext bytes released so far.
    pub fn produced(&self) -> u64 {
        self.produced
    }

    /// Takes the next piece of the encrypted file; returns the plaintext of every chunk
    /// now known to be complete and not the final one.
    pub fn update(&mut self, data: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        if self.failed {
            return Err(Error::Integrity);
        }
        let result = self.update_inner(data);
        self.failed = result.is_err();
        result
    }

    fn update_inner(&mut self, data: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        if let Some(h) = self.hasher.as_mut() {
            h.update(data);
        }
        self.pending.extend_from_slice(data);
        if !self.magic_checked {
            if self.pending.len() < FILE_MAGIC.len() {
                return Ok(Zeroizing::new(Vec::new()));
            }
            self.check_magic()?;
        }
        // A chunk followed by at least one more byte is not the final one.
        let whole = self.pending.len().saturating_sub(1) / SEALED_CHUNK;
        let mut out = Zeroizing::new(Vec::with_capacity(whole * CHUNK_SIZE));
        for sealed in self.pending.chunks_exact(SEALED_CHUNK).take(whole) {
            open_chunk(&self.cipher, self.index, false, sealed, &mut out)?;
            self.index += 1;
        }
        self.pending.drain(..whole * SEALED_CHUNK);
        self.produced = self.produced.saturating_add(out.len() as u64);
        if self.produced > self.size {
            return Err(Error::Integrity);
        }
        Ok(out)
    }

    fn check_magic(&mut self) -> Result<(), Error> {
        if self.pending.get(..4) != Some(FILE_MAGIC.as_slice()) {
            return Err(Error::Malformed(FILE));
        }
        self.pending.drain(..4);
        self.magic_checked = true;
        Ok(())
    }

    /// The end of the file: checks the hash (unless a [`HashCheck`] did), then opens
    /// the final chunk and checks the size. `Integrity` when the final chunk is
    /// missing, altered, not final, or followed by more bytes, or when the size or
    /// hash differs from the descriptor's.
    pub fn finish(mut self) -> Result<Zeroizing<Vec<u8>>, Error> {
        if self.failed {
            return Err(Error::Integrity);
        }
        if !self.magic_checked {
            self.check_magic()?;
        }
        if let Some(hasher) = self.hasher.take() {
            let hash: [u8; 32] = hasher.finalize().into();
            if hash != self.hash {
                return Err(Error::Integrity);
            }
        }
        // The final chunk is a tag and at most 64 KiB; only an empty file has an empty one.
        let n = self.pending.len();
        if !(TAG_LEN..=SEALED_CHUNK).contains(&n) || (n == TAG_LEN && self.index > 0) {
            return Err(Error::Integrity);
        }
        let mut out = Zeroizing::new(Vec::with_capacity(n - TAG_LEN));
        open_chunk(&self.cipher, self.index, true, &self.pending, &mut out)?;
        if self.produced.checked_add(out.len() as u64) != Some(self.size) {
            return Err(Error::Integrity);
        }
        Ok(out)
    }
}

/// Appends the plaintext of one sealed chunk (`ciphertext || tag`) to `out`, or fails
/// with `Integrity` and leaves `out` as it was.
fn open_chunk(
    cipher: &ChaCha20Poly1305,
    index: u64,
    last: bool,
    sealed: &[u8],
    out: &mut Zeroizing<Vec<u8>>,
) -> Result<(), Error> {
    let split = sealed.len().checked_sub(TAG_LEN).ok_or(Error::Integrity)?;
    let (ciphertext, tag) = sealed.split_at(split);
    let start = out.len();
    out.extend_from_slice(ciphertext);
    let opened = out.get_mut(start..).is_some_and(|chunk| {
        cipher
            .decrypt_in_place_detached(&nonce(index, last), b"", chunk, Tag::from_slice(tag))
            .is_ok()
    });
    if !opened {
        // Zeroizing clears the whole vector's bytes on drop; the failed chunk is not
        // plaintext, but nothing half-opened is left in what the caller sees.
        out.truncate(start);
        return Err(Error::Integrity);
    }
    Ok(())
}

/// Encrypts a whole file in memory (tests, vectors, small files).
pub fn encrypt(
    key: FileKey,
    plaintext: &[u8],
    media_type: &str,
    name: &str,
    url: &str,
) -> Result<(Vec<u8>, Descriptor), Error> {
    let mut encryptor = FileEncryptor::with_key(key);
    let mut out = encryptor.update(plaintext);
    let (tail, descriptor) = encryptor.finish(media_type, name, url)?;
    out.extend_from_slice(&tail);
    Ok((out, descriptor))
}

/// Decrypts a whole encrypted file in memory: the hash first, then every chunk.
pub fn decrypt(descriptor: &Descriptor, encrypted: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
    let mut check = HashCheck::new(descriptor.clone());
    check.update(encrypted);
    let mut decryptor = check.finish()?;
    let mut out = decryptor.update(encrypted)?;
    out.extend_from_slice(&decryptor.finish()?);
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn key() -> FileKey {
        FileKey::from_bytes([7; 32])
    }

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn lengths_follow_the_chunking() {
        for size in [
            0,
            1,
            CHUNK_SIZE - 1,
            CHUNK_SIZE,
            CHUNK_SIZE + 1,
            3 * CHUNK_SIZE + 5,
        ] {
            let (enc, d) = encrypt(key(), &pattern(size), "text/plain", "a.txt", "").unwrap();
            assert_eq!(
                enc.len() as u64,
                encrypted_len(size as u64).unwrap(),
                "{size}"
            );
            assert_eq!(d.size, size as u64);
            assert_eq!(&enc[..4], b"CSF1");
            assert_eq!(*decrypt(&d, &enc).unwrap(), pattern(size));
        }
        assert_eq!(encrypted_len(u64::MAX), None);
    }

    #[test]
    fn any_split_of_the_input_gives_the_same_bytes() {
        let plain = pattern(2 * CHUNK_SIZE + 300);
        let (whole, d) = encrypt(key(), &plain, "", "", "").unwrap();
        for step in [1usize, 7, 4096, CHUNK_SIZE, CHUNK_SIZE + 1, 200_000] {
            let mut e = FileEncryptor::with_key(key());
            let mut out = Vec::new();
            for piece in plain.chunks(step) {
                out.extend(e.update(piece));
            }
            out.extend(e.finish("", "", "").unwrap().0);
            assert_eq!(out, whole, "encrypt in steps of {step}");

            let mut dec = FileDecryptor::new(&d);
            let mut back = Vec::new();
            for piece in whole.chunks(step) {
                back.extend_from_slice(&dec.update(piece).unwrap());
            }
            back.extend_from_slice(&dec.finish().unwrap());
            assert_eq!(back, plain, "decrypt in steps of {step}");
        }
    }

    #[test]
    fn the_final_chunk_is_held_until_the_hash_matches() {
        let plain = pattern(CHUNK_SIZE + 10);
        let (enc, mut d) = encrypt(key(), &plain, "", "", "").unwrap();
        d.hash[0] ^= 1;
        let mut dec = FileDecryptor::new(&d);
        // The first chunk is authentic and released; the rest waits for the hash.
        assert_eq!(dec.update(&enc).unwrap().len(), CHUNK_SIZE);
        assert_eq!(dec.finish().unwrap_err(), Error::Integrity);
        // With a check first, nothing at all is released.
        assert_eq!(decrypt(&d, &enc).unwrap_err(), Error::Integrity);
    }

    #[test]
    fn an_error_poisons_the_decryptor() {
        let (mut enc, d) = encrypt(key(), &pattern(3 * CHUNK_SIZE), "", "", "").unwrap();
        enc[10] ^= 1;
        let mut dec = FileDecryptor::new(&d);
        assert_eq!(
            dec.update(&enc[..SEALED_CHUNK + 5]).unwrap_err(),
            Error::Integrity
        );
        assert_eq!(
            dec.update(&enc[SEALED_CHUNK + 5..]).unwrap_err(),
            Error::Integrity
        );
        assert_eq!(dec.finish().unwrap_err(), Error::Integrity);
    }

    #[test]
    fn descriptors_round_trip_and_reject_every_truncation() {
        let (_, d) = encrypt(
            key(),
            b"hi",
            "image/png",
            "scan é.png",
            "http://x/uploads/1",
        )
        .unwrap();
        let bytes = d.encode().unwrap();
        let back = Descriptor::parse(&bytes).unwrap();
        assert_eq!(back.encode().unwrap(), bytes);
        assert_eq!((back.name.as_str(), back.size), ("scan é.png", 2));
        for n in 0..bytes.len() {
            assert!(Descriptor::parse(&bytes[..n]).is_err(), "{n}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            Descriptor::parse(&longer).unwrap_err(),
            Error::Malformed(DESCRIPTOR)
        );
        assert!(
            !format!("{d:?}").contains("7, 7"),
            "the key is not in Debug"
        );
    }

    #[test]
    fn only_passive_media_types_are_kept() {
        let with = |t: &str| Descriptor {
            media_type: t.into(),
            ..Descriptor::parse(&encrypt(key(), b"", "", "", "").unwrap().1.encode().unwrap())
                .unwrap()
        };
        assert_eq!(with("image/PNG").safe_media_type(), "image/png");
        assert_eq!(
            with("text/plain; charset=utf-8").safe_media_type(),
            "text/plain"
        );
        for active in [
            "text/html",
            "image/svg+xml",
            "application/javascript",
            "",
            "text/xml",
        ] {
            assert_eq!(
                with(active).safe_media_type(),
                "application/octet-stream",
                "{active}"
            );
        }
    }

    #[test]
    fn a_text_field_over_64_kib_is_refused() {
        let long = "a".repeat(65_536);
        let e = FileEncryptor::with_key(key());
        assert_eq!(
            e.finish("", &long, "").unwrap_err(),
            Error::InvalidArgument("file name too long")
        );
    }
}
