//! The notation of PROTOCOL.md made code: big-endian integers, fixed byte strings,
//! `vec16`/`vec32`, and the `prefix.b64u` text form shared by every object.
//!
//! [`Reader`] never panics and never reads past its input: every length is checked
//! before it is used, and [`Reader::finish`] rejects trailing bytes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::Error;

/// A cursor over an input, for decoders. Errors are `Malformed(what)` where `what`
/// names the object being decoded (e.g. `"card"`), so the message says where it failed.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Self {
        Reader { buf, what }
    }

    fn malformed(&self) -> Error {
        Error::Malformed(self.what)
    }

    /// The next `n` bytes.
    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if n > self.buf.len() {
            return Err(self.malformed());
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// The next `N` bytes, as an array.
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Error> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    pub(crate) fn u16(&mut self) -> Result<u16, Error> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, Error> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// `vec16(x)`: a u16 length, then that many bytes.
    pub(crate) fn vec16(&mut self) -> Result<&'a [u8], Error> {
        let n = self.u16()?;
        self.bytes(usize::from(n))
    }

    /// `vec32(x)`: a u32 length, then that many bytes.
    pub(crate) fn vec32(&mut self) -> Result<&'a [u8], Error> {
        let n = usize::try_from(self.u32()?).map_err(|_| self.malformed())?;
        self.bytes(n)
    }

    /// Checks that the input starts with `magic` and consumes it.
    pub(crate) fn magic(&mut self, magic: &[u8; 4]) -> Result<(), Error> {
        if self.bytes(4)? == magic {
            Ok(())
        } else {
            Err(self.malformed())
        }
    }

    /// Everything that is left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }

    /// How many bytes are left.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// Succeeds only at the end of the input: a decoder rejects trailing bytes.
    pub(crate) fn finish(self) -> Result<(), Error> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(self.malformed())
        }
    }
}

/// Appends `vec16(x)`.
pub(crate) fn put_vec16(out: &mut Vec<u8>, x: &[u8], what: &'static str) -> Result<(), Error> {
    let n = u16::try_from(x.len()).map_err(|_| Error::InvalidArgument(what))?;
    out.extend_from_slice(&n.to_be_bytes());
    out.extend_from_slice(x);
    Ok(())
}

/// Appends `vec32(x)`.
pub(crate) fn put_vec32(out: &mut Vec<u8>, x: &[u8], what: &'static str) -> Result<(), Error> {
    let n = u32::try_from(x.len()).map_err(|_| Error::InvalidArgument(what))?;
    out.extend_from_slice(&n.to_be_bytes());
    out.extend_from_slice(x);
    Ok(())
}

/// `b64u(x)`: base64url without padding (RFC 4648 §5).
pub fn b64u_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Strict base64url decoding: rejects `=`, characters outside the alphabet,
/// whitespace, and non-zero trailing bits (so every byte string has one text form).
pub fn b64u_decode(text: &str) -> Result<Vec<u8>, Error> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| Error::Malformed("base64url"))
}

/// `prefix || b64u(bytes)`, the text form of every object.
pub(crate) fn to_text(prefix: &str, bytes: &[u8]) -> String {
    let mut text = String::with_capacity(prefix.len() + bytes.len().div_ceil(3) * 4);
    text.push_str(prefix);
    URL_SAFE_NO_PAD.encode_string(bytes, &mut text);
    text
}

/// The bytes of a text form, after checking its prefix (e.g. `"csc1."`).
pub(crate) fn from_text(
    text: &str,
    prefix: &'static str,
    what: &'static str,
) -> Result<Vec<u8>, Error> {
    let body = text.strip_prefix(prefix).ok_or(Error::Malformed(what))?;
    b64u_decode(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn b64u_is_strict() {
        assert_eq!(b64u_encode(&[0xfb, 0xff]), "-_8");
        assert_eq!(b64u_decode("-_8").as_deref(), Ok(&[0xfb, 0xff][..]));
        for bad in ["-_8=", "+/8", "-_ 8", "-_8\n", "-_9", "A", "AB=="] {
            assert_eq!(
                b64u_decode(bad),
                Err(Error::Malformed("base64url")),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn reader_rejects_short_and_trailing_input() {
        let mut r = Reader::new(&[0, 3, 1, 2], "thing");
        assert_eq!(r.vec16(), Err(Error::Malformed("thing")));
        let mut r = Reader::new(&[0, 1, 7, 9], "thing");
        assert_eq!(r.vec16(), Ok(&[7u8][..]));
        assert_eq!(r.finish(), Err(Error::Malformed("thing")));
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff], "thing");
        assert!(r.vec32().is_err());
    }

    proptest! {
        #[test]
        fn b64u_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let text = b64u_encode(&bytes);
            prop_assert_eq!(b64u_decode(&text)?, bytes);
        }

        #[test]
        fn vecs_round_trip(a in proptest::collection::vec(any::<u8>(), 0..300),
                           b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut out = Vec::new();
            put_vec16(&mut out, &a, "a")?;
            put_vec32(&mut out, &b, "b")?;
            let mut r = Reader::new(&out, "x");
            prop_assert_eq!(r.vec16()?, &a[..]);
            prop_assert_eq!(r.vec32()?, &b[..]);
            r.finish()?;
        }
    }
}
