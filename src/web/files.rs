//! `encryptFile` and `decryptFile` (PROTOCOL §10): files streamed through the chunk
//! encryptor a megabyte at a time, so a large file is never whole in WebAssembly memory,
//! and never twice in the page.
//!
//! Inputs: a `Blob` (a `File`), an `ArrayBuffer` or `Uint8Array`, a `ReadableStream` of
//! `Uint8Array`s, or a `Response` (its body). Outputs: a `Blob`, or for `decryptFile(…,
//! { stream: true })` a `ReadableStream`. Every call takes `{ signal, onProgress }`; an
//! abort stops the work before the next megabyte and cancels the input stream.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::{
    Blob, BlobPropertyBag, File, FilePropertyBag, ReadableStream, ReadableStreamDefaultController,
    ReadableStreamDefaultReader, Response,
};
use zeroize::Zeroizing;

use super::errors::{option_string, to_js, type_error};
use super::js::{abort_error, bytes_of, get, set, signal_of};
use crate::client::Error;
use crate::proto::file::{Descriptor, FileDecryptor, FileEncryptor, HashCheck, CHUNK_SIZE};
use crate::proto::{self, ContentType};

/// Plaintext read per step when encrypting: 16 chunks.
const READ_PLAIN: usize = 16 * CHUNK_SIZE;
/// Encrypted bytes read per step when decrypting: 16 sealed chunks.
const READ_SEALED: usize = 16 * (CHUNK_SIZE + 16);
/// Output parts are gathered into one `Blob` every 16 MiB, so that the browser can move
/// them out of the JS heap (Chromium keeps large blobs on disk).
const GATHER: usize = 16 * 1024 * 1024;

/// Where the bytes come from.
enum Source {
    Blob {
        blob: Blob,
        offset: f64,
    },
    Bytes {
        bytes: Uint8Array,
        offset: u32,
    },
    Stream {
        reader: ReadableStreamDefaultReader,
        /// The unread rest of a piece larger than one step.
        spare: Option<Uint8Array>,
    },
}

impl Source {
    /// `what` names the argument in a `TypeError`.
    fn from_js(value: &JsValue, what: &str) -> Result<Source, JsValue> {
        if let Some(blob) = value.dyn_ref::<Blob>() {
            return Ok(Source::Blob {
                blob: blob.clone(),
                offset: 0.0,
            });
        }
        if let Some(response) = value.dyn_ref::<Response>() {
            if !response.ok() {
                return Err(type_error(&format!(
                    "{what} is an HTTP {} response, not an encrypted file",
                    response.status()
                )));
            }
            if response.body_used() {
                return Err(type_error(&format!(
                    "{what}: the response body was already read"
                )));
            }
            return match response.body() {
                Some(stream) => Self::from_stream(&stream, what),
                None => Ok(Source::Bytes {
                    bytes: Uint8Array::new_with_length(0),
                    offset: 0,
                }),
            };
        }
        if let Some(stream) = value.dyn_ref::<ReadableStream>() {
            return Self::from_stream(stream, what);
        }
        if let Some(bytes) = bytes_of(value) {
            return Ok(Source::Bytes { bytes, offset: 0 });
        }
        Err(type_error(&format!(
            "{what} must be a Blob, File, ArrayBuffer, Uint8Array, ReadableStream or Response"
        )))
    }

    fn from_stream(stream: &ReadableStream, what: &str) -> Result<Source, JsValue> {
        if stream.locked() {
            return Err(type_error(&format!(
                "{what}: the stream is already being read"
            )));
        }
        Ok(Source::Stream {
            reader: stream.get_reader().unchecked_into(),
            spare: None,
        })
    }

    /// The length in bytes, when it is known before reading.
    fn len(&self) -> Option<f64> {
        match self {
            Source::Blob { blob, .. } => Some(blob.size()),
            Source::Bytes { bytes, .. } => Some(f64::from(bytes.length())),
            Source::Stream { .. } => None,
        }
    }

    /// The same bytes from the start again, when the source can be read twice.
    fn again(&self) -> Option<Source> {
        match self {
            Source::Blob { blob, .. } => Some(Source::Blob {
                blob: blob.clone(),
                offset: 0.0,
            }),
            Source::Bytes { bytes, .. } => Some(Source::Bytes {
                bytes: bytes.clone(),
                offset: 0,
            }),
            Source::Stream { .. } => None,
        }
    }

    /// The next piece of at most `max` bytes (copied into WebAssembly memory), or `None`
    /// at the end.
    async fn next(&mut self, max: usize) -> Result<Option<Zeroizing<Vec<u8>>>, JsValue> {
        let piece: Uint8Array = match self {
            Source::Blob { blob, offset } => {
                let size = blob.size();
                if *offset >= size {
                    return Ok(None);
                }
                let end = (*offset + max as f64).min(size);
                let piece = blob.slice_with_f64_and_f64(*offset, end)?;
                let buffer = JsFuture::from(array_buffer(&piece)?).await?;
                *offset = end;
                Uint8Array::new(&buffer)
            }
            Source::Bytes { bytes, offset } => {
                let len = bytes.length();
                if *offset >= len {
                    return Ok(None);
                }
                let end = offset.saturating_add(max as u32).min(len);
                let piece = bytes.subarray(*offset, end);
                *offset = end;
                piece
            }
            Source::Stream { reader, spare } => {
                let piece = match spare.take() {
                    Some(piece) => piece,
                    None => loop {
                        let read = JsFuture::from(reader.read()).await?;
                        if get(&read, "done").is_truthy() {
                            return Ok(None);
                        }
                        let value = get(&read, "value");
                        let piece = bytes_of(&value).ok_or_else(|| {
                            type_error("a stream given to chatseal must yield Uint8Array chunks")
                        })?;
                        if piece.length() > 0 {
                            break piece;
                        }
                    },
                };
                if piece.length() as usize > max {
                    *spare = Some(piece.subarray(max as u32, piece.length()));
                    piece.subarray(0, max as u32)
                } else {
                    piece
                }
            }
        };
        let mut out = Zeroizing::new(vec![0u8; piece.length() as usize]);
        piece.copy_to(&mut out);
        Ok(Some(out))
    }

    /// Stops reading: a stream is cancelled, so whoever feeds it stops too.
    fn cancel(&mut self) {
        if let Source::Stream { reader, .. } = self {
            let _ = reader.cancel();
        }
    }
}

/// `blob.arrayBuffer()`, called so that a Blob without it (an old engine, a DOM emulation)
/// is a `TypeError` here rather than an exception thrown through WebAssembly.
fn array_buffer(blob: &Blob) -> Result<Promise, JsValue> {
    get(blob, "arrayBuffer")
        .dyn_into::<Function>()
        .map_err(|_| type_error("this Blob cannot be read: it has no arrayBuffer()"))?
        .call0(blob)?
        .dyn_into::<Promise>()
        .map_err(|_| type_error("this Blob cannot be read: arrayBuffer() returned no Promise"))
}

/// `options.signal`, `options.onProgress` and the bookkeeping of one call.
struct Progress {
    signal: Option<web_sys::AbortSignal>,
    listener: Option<Function>,
    loaded: f64,
    total: Option<f64>,
}

impl Progress {
    fn from_options(options: &JsValue, total: Option<f64>) -> Result<Progress, JsValue> {
        let listener = match get(options, "onProgress") {
            v if v.is_undefined() || v.is_null() => None,
            v => Some(
                v.dyn_into::<Function>()
                    .map_err(|_| type_error("options.onProgress must be a function"))?,
            ),
        };
        Ok(Progress {
            signal: signal_of(options)?,
            listener,
            loaded: 0.0,
            total,
        })
    }

    /// `AbortError` when the signal has aborted.
    fn check(&self) -> Result<(), JsValue> {
        if self.signal.as_ref().is_some_and(|s| s.aborted()) {
            return Err(abort_error());
        }
        Ok(())
    }

    /// Counts `n` bytes read and tells the listener `{ loaded, total }` (a listener that
    /// throws is ignored: progress is a display).
    fn advance(&mut self, n: usize) {
        self.loaded += n as f64;
        if let Some(listener) = &self.listener {
            let event = Object::new();
            set(&event, "loaded", &JsValue::from_f64(self.loaded));
            set(
                &event,
                "total",
                &self.total.map_or(JsValue::NULL, JsValue::from_f64),
            );
            let _ = listener.call1(&JsValue::UNDEFINED, &event);
        }
    }
}

/// Output parts, gathered into a `Blob` every [`GATHER`] bytes.
struct Parts {
    parts: Array,
    since_gather: usize,
}

impl Parts {
    fn new() -> Self {
        Parts {
            parts: Array::new(),
            since_gather: 0,
        }
    }

    fn push(&mut self, bytes: &[u8]) -> Result<(), JsValue> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.parts.push(&Uint8Array::from(bytes));
        self.since_gather += bytes.len();
        if self.since_gather >= GATHER {
            let gathered = Blob::new_with_blob_sequence(&self.parts)?;
            self.parts = Array::of1(&gathered);
            self.since_gather = 0;
        }
        Ok(())
    }

    fn blob(self, media_type: &str) -> Result<Blob, JsValue> {
        let bag = BlobPropertyBag::new();
        bag.set_type(media_type);
        Blob::new_with_blob_sequence_and_options(&self.parts, &bag)
    }

    fn file(self, name: &str, media_type: &str) -> Result<File, JsValue> {
        let bag = FilePropertyBag::new();
        bag.set_type(media_type);
        File::new_with_blob_sequence_and_options(&self.parts, name, &bag)
    }
}

/// What `encryptFile` needs besides the input: the file's name and media type from the
/// options or the `File` itself.
pub struct FileMeta {
    pub name: String,
    pub media_type: String,
}

impl FileMeta {
    pub fn from_options(input: &JsValue, options: &JsValue) -> Result<FileMeta, JsValue> {
        let name = match option_string(options, "name", "options")? {
            Some(name) => name,
            None => input.dyn_ref::<File>().map(File::name).unwrap_or_default(),
        };
        let media_type = match option_string(options, "type", "options")? {
            Some(t) => t,
            None => input.dyn_ref::<Blob>().map(Blob::type_).unwrap_or_default(),
        };
        if name.len() > 1024 || media_type.len() > 255 {
            return Err(type_error(
                "options.name must be at most 1024 bytes and options.type at most 255",
            ));
        }
        Ok(FileMeta { name, media_type })
    }
}

/// Encrypts `input` to a `Blob` of `application/octet-stream`; returns it with the
/// descriptor's bytes (key included: the caller seals them at once).
pub async fn encrypt(
    input: &JsValue,
    meta: &FileMeta,
    options: &JsValue,
) -> Result<(Blob, Zeroizing<Vec<u8>>, Descriptor), JsValue> {
    let mut source = Source::from_js(input, "the file")?;
    let mut progress = Progress::from_options(options, source.len())?;
    let mut encryptor = FileEncryptor::new(&mut rand_core::OsRng);
    let mut parts = Parts::new();
    let outcome: Result<(), JsValue> = async {
        progress.check()?;
        while let Some(piece) = source.next(READ_PLAIN).await? {
            progress.check()?;
            parts.push(&encryptor.update(&piece))?;
            progress.advance(piece.len());
        }
        Ok(())
    }
    .await;
    if let Err(error) = outcome {
        source.cancel();
        return Err(error);
    }
    let (tail, descriptor) = encryptor
        .finish(&meta.media_type, &meta.name, "")
        .map_err(|e| to_js(&e.into()))?;
    parts.push(&tail)?;
    let bytes = Zeroizing::new(descriptor.encode().map_err(|e| to_js(&e.into()))?);
    Ok((parts.blob("application/octet-stream")?, bytes, descriptor))
}

/// The descriptor carried by a decrypted message of content type 5.
pub fn descriptor_of(content_type: ContentType, data: &[u8]) -> Result<Descriptor, Error> {
    if content_type != ContentType::FileDescriptor {
        return Err(
            proto::Error::Malformed("message: not a file descriptor (content type 5)").into(),
        );
    }
    Ok(Descriptor::parse(data)?)
}

/// `{ name, type, mediaType, size, url }` of a descriptor: what a UI shows before it
/// fetches the file (`type` is the one a decrypted file is labelled with).
pub fn descriptor_object(descriptor: &Descriptor) -> Object {
    let out = Object::new();
    set(&out, "name", &JsValue::from_str(&descriptor.name));
    set(
        &out,
        "type",
        &JsValue::from_str(&descriptor.safe_media_type()),
    );
    set(
        &out,
        "mediaType",
        &JsValue::from_str(&descriptor.media_type),
    );
    set(&out, "size", &JsValue::from_f64(descriptor.size as f64));
    set(&out, "url", &JsValue::from_str(&descriptor.url));
    out
}

fn integrity() -> JsValue {
    to_js(&proto::Error::Integrity.into())
}

/// Reads the whole encrypted file once to check its length and hash (§10: before any
/// chunk is decrypted); returns the decryptor and the source rewound.
async fn check_hash(
    source: &mut Source,
    descriptor: &Descriptor,
    progress: &mut Progress,
) -> Result<(FileDecryptor, Source), JsValue> {
    let rewound = source.again().ok_or_else(integrity)?;
    if source.len().map(|n| n as u64) != descriptor.encrypted_len() {
        return Err(integrity());
    }
    let mut check = HashCheck::new(descriptor.clone());
    while let Some(piece) = source.next(READ_SEALED).await? {
        progress.check()?;
        check.update(&piece);
    }
    let decryptor = check.finish().map_err(|e| to_js(&e.into()))?;
    Ok((decryptor, rewound))
}

/// Decrypts the whole file to a `File` named and typed by the descriptor. Nothing is
/// returned unless every byte checked out.
pub async fn decrypt_to_file(
    descriptor: &Descriptor,
    body: &JsValue,
    options: &JsValue,
) -> Result<File, JsValue> {
    let mut source = Source::from_js(body, "the encrypted file")?;
    let mut progress =
        Progress::from_options(options, descriptor.encrypted_len().map(|n| n as f64))?;
    let outcome: Result<File, JsValue> = async {
        progress.check()?;
        let (mut decryptor, mut source) = match source.again() {
            // A Blob or bytes: the hash first, as §10 says.
            Some(_) => check_hash(&mut source, descriptor, &mut progress).await?,
            // A stream can be read once: the hash is compared at its end, before the
            // final chunk is opened, and nothing is handed out before then either.
            None => (
                FileDecryptor::new(descriptor),
                std::mem::replace(
                    &mut source,
                    Source::Bytes {
                        bytes: Uint8Array::new_with_length(0),
                        offset: 0,
                    },
                ),
            ),
        };
        let mut parts = Parts::new();
        let result: Result<(), JsValue> = async {
            while let Some(piece) = source.next(READ_SEALED).await? {
                progress.check()?;
                parts.push(&decryptor.update(&piece).map_err(|e| to_js(&e.into()))?)?;
                progress.advance(piece.len());
            }
            Ok(())
        }
        .await;
        if let Err(error) = result {
            source.cancel();
            return Err(error);
        }
        parts.push(&decryptor.finish().map_err(|e| to_js(&e.into()))?)?;
        parts.file(&descriptor.name, &descriptor.safe_media_type())
    }
    .await;
    if outcome.is_err() {
        source.cancel();
    }
    outcome
}

/// What a decrypting stream holds between pulls.
struct Pump {
    source: Source,
    decryptor: Option<FileDecryptor>,
    progress: Progress,
}

impl Pump {
    /// The next plaintext to hand out, and whether it is the last.
    async fn step(&mut self) -> Result<(Zeroizing<Vec<u8>>, bool), JsValue> {
        loop {
            self.progress.check()?;
            let decryptor = self.decryptor.as_mut().ok_or_else(integrity)?;
            match self.source.next(READ_SEALED).await? {
                Some(piece) => {
                    self.progress.check()?;
                    let out = decryptor.update(&piece).map_err(|e| to_js(&e.into()))?;
                    self.progress.advance(piece.len());
                    if !out.is_empty() {
                        return Ok((out, false));
                    }
                }
                None => {
                    let decryptor = self.decryptor.take().ok_or_else(integrity)?;
                    let out = decryptor.finish().map_err(|e| to_js(&e.into()))?;
                    return Ok((out, true));
                }
            }
        }
    }
}

/// Decrypts to a `ReadableStream` of `Uint8Array`s, a megabyte at a time as the reader
/// pulls. For a Blob or bytes the hash is checked before the stream is returned; for a
/// stream it is checked at the end, before the final chunk is released, and every chunk
/// released before it has been authenticated under the descriptor's key. A failure
/// errors the stream with the `ChatSealError` (or `AbortError`).
pub async fn decrypt_to_stream(
    descriptor: &Descriptor,
    body: &JsValue,
    options: &JsValue,
) -> Result<ReadableStream, JsValue> {
    let mut source = Source::from_js(body, "the encrypted file")?;
    let mut progress =
        Progress::from_options(options, descriptor.encrypted_len().map(|n| n as f64))?;
    let (decryptor, source) = match source.again() {
        Some(_) => check_hash(&mut source, descriptor, &mut progress).await?,
        None => (FileDecryptor::new(descriptor), source),
    };
    let pump = Rc::new(RefCell::new(Some(Pump {
        source,
        decryptor: Some(decryptor),
        progress,
    })));

    let pulling = Rc::clone(&pump);
    let pull = Closure::<dyn FnMut(JsValue) -> Promise>::new(move |controller: JsValue| {
        let pump = Rc::clone(&pulling);
        future_to_promise(async move {
            let controller: ReadableStreamDefaultController = controller.unchecked_into();
            // The stream calls pull again only after this promise settles.
            let Some(mut current) = pump.borrow_mut().take() else {
                return Ok(JsValue::UNDEFINED);
            };
            match current.step().await {
                Ok((bytes, last)) => {
                    if !bytes.is_empty() {
                        controller.enqueue_with_chunk(&Uint8Array::from(bytes.as_slice()))?;
                    }
                    if last {
                        controller.close()?;
                    } else {
                        *pump.borrow_mut() = Some(current);
                    }
                }
                Err(error) => {
                    current.source.cancel();
                    controller.error_with_e(&error);
                }
            }
            Ok(JsValue::UNDEFINED)
        })
    });
    let cancel = Closure::<dyn FnMut(JsValue)>::new(move |_reason: JsValue| {
        if let Some(mut current) = pump.borrow_mut().take() {
            current.source.cancel();
        }
    });
    let underlying = Object::new();
    set(&underlying, "pull", &pull.into_js_value());
    set(&underlying, "cancel", &cancel.into_js_value());
    ReadableStream::new_with_underlying_source(&underlying)
}
