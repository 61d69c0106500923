//! The directory client over `fetch` (PROTOCOL §7), with the app's `getToken` callback:
//! the token is cached, and asked for again once when the directory answers 401.
//!
//! Every request has its own `AbortController`: when the future waiting on it is dropped
//! (the caller's signal aborted, or the timeout passed) the `fetch` is aborted too. An
//! answer is read a chunk at a time and refused past [`MAX_RESPONSE_BYTES`], so a hostile
//! or broken directory cannot make the page hold an unbounded body.

use std::cell::RefCell;
use std::rc::Rc;

use futures_util::future::{select, Either};
use gloo_timers::future::TimeoutFuture;

use js_sys::{Array, Function, Object, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{spawn_local, JsFuture};

use super::js::{bytes_of, fetch_fn, get, resolve, set};
use crate::client::{Directory, Error, Publish, ShareOut};
use crate::proto::group::SessionId;
use crate::proto::CardId;

/// How long one request may take before it is aborted (ms), unless `ChatSeal.open`'s
/// `requestTimeout` says otherwise.
pub const REQUEST_TIMEOUT_MS: u32 = 30_000;

/// The largest answer read from the directory (bytes). The largest legitimate ones — a
/// lookup of 100 cards (~90 KB), a long card history, a page of shares — are far below
/// it; a larger one is refused (`Directory`) as soon as its `Content-Length` or the bytes
/// read so far pass it.
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// A `fetch`-backed [`Directory`]; clones share the token.
#[derive(Clone)]
pub struct FetchDirectory {
    inner: Rc<Inner>,
}

struct Inner {
    base: String,
    get_token: Function,
    token: RefCell<Option<String>>,
    /// How long one request may take (ms).
    timeout_ms: u32,
}

/// Aborts the request's `fetch` when dropped before it finished.
struct AbortOnDrop(Option<web_sys::AbortController>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(controller) = self.0.take() {
            controller.abort();
        }
    }
}

impl FetchDirectory {
    /// A client of the directory at `base` (e.g. `https://keys.example`) whose requests
    /// are aborted after `timeout_ms`.
    pub fn new(base: &str, get_token: Function, timeout_ms: u32) -> Self {
        FetchDirectory {
            inner: Rc::new(Inner {
                base: base.trim_end_matches('/').to_owned(),
                get_token,
                token: RefCell::new(None),
                timeout_ms,
            }),
        }
    }

    async fn token(&self, fresh: bool) -> Result<String, Error> {
        if !fresh {
            if let Some(token) = self.inner.token.borrow().clone() {
                return Ok(token);
            }
        }
        let value = self
            .inner
            .get_token
            .call0(&JsValue::UNDEFINED)
            .map_err(|e| Error::Unauthorized(format!("getToken threw: {}", describe(&e))))?;
        let token = resolve(value)
            .await
            .map_err(|e| Error::Unauthorized(format!("getToken rejected: {}", describe(&e))))?
            .as_string()
            .ok_or_else(|| {
                Error::Unauthorized("getToken must resolve to a string (the JWT)".into())
            })?;
        *self.inner.token.borrow_mut() = Some(token.clone());
        Ok(token)
    }

    /// One request; on 401, a fresh token and one retry. Returns the status and the JSON
    /// body (`null` when empty).
    async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&JsValue>,
    ) -> Result<(u16, JsValue), Error> {
        let mut fresh = false;
        loop {
            let token = self.token(fresh).await?;
            let (status, json) = self.send(method, path, body, &token).await?;
            match status {
                401 if !fresh => fresh = true,
                401 => {
                    let message = get(&get(&json, "error"), "message")
                        .as_string()
                        .unwrap_or_default();
                    return Err(Error::Unauthorized(message));
                }
                429 => {
                    return Err(Error::Directory(
                        "rate limited by the directory; try again shortly".into(),
                    ))
                }
                500.. => {
                    return Err(Error::Directory(format!(
                        "the directory failed (HTTP {status})"
                    )))
                }
                _ => return Ok((status, json)),
            }
        }
    }

    /// One request, aborted after the timeout (or when dropped).
    async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&JsValue>,
        token: &str,
    ) -> Result<(u16, JsValue), Error> {
        let controller = web_sys::AbortController::new().ok();
        let signal = controller.as_ref().map(|c| c.signal());
        let mut guard = AbortOnDrop(controller);
        let request = std::pin::pin!(self.exchange(method, path, body, token, signal));
        let ms = self.inner.timeout_ms;
        match select(request, TimeoutFuture::new(ms)).await {
            Either::Left((outcome, _)) => {
                guard.0 = None; // finished: nothing to abort
                outcome
            }
            Either::Right(_) => {
                let within = if ms % 1000 == 0 {
                    format!("{} s", ms / 1000)
                } else {
                    format!("{ms} ms")
                };
                Err(Error::Directory(format!(
                    "the directory at {} did not answer within {within}",
                    self.inner.base
                )))
            }
        }
    }

    async fn exchange(
        &self,
        method: &str,
        path: &str,
        body: Option<&JsValue>,
        token: &str,
        signal: Option<web_sys::AbortSignal>,
    ) -> Result<(u16, JsValue), Error> {
        let init = Object::new();
        if let Some(signal) = signal {
            set(&init, "signal", &signal);
        }
        set(&init, "method", &JsValue::from_str(method));
        let headers = Object::new();
        set(
            &headers,
            "authorization",
            &JsValue::from_str(&format!("Bearer {token}")),
        );
        if let Some(body) = body {
            set(
                &headers,
                "content-type",
                &JsValue::from_str("application/json"),
            );
            let text = js_sys::JSON::stringify(body)
                .map_err(|_| Error::Directory("cannot encode the request".into()))?;
            set(&init, "body", &text.into());
        }
        set(&init, "headers", &headers);
        let url = format!("{}{}", self.inner.base, path);
        let fetch = fetch_fn().map_err(|e| Error::Directory(describe(&e)))?;
        let response = fetch
            .call2(&JsValue::UNDEFINED, &JsValue::from_str(&url), &init)
            .map_err(|e| Error::Directory(describe(&e)))?;
        let response = resolve(response).await.map_err(|e| {
            Error::Directory(format!(
                "cannot reach the directory at {}: {}",
                self.inner.base,
                describe(&e)
            ))
        })?;
        let status = get(&response, "status").as_f64().unwrap_or(0.0) as u16;
        let text = read_body(&response, status).await?;
        let json = if text.is_empty() {
            JsValue::NULL
        } else {
            js_sys::JSON::parse(&text).map_err(|_| {
                Error::Directory(format!(
                    "the directory answered HTTP {status} with something that is not JSON"
                ))
            })?
        };
        Ok((status, json))
    }
}

/// The body of `response` as text (UTF-8, as `Response.text()` decodes it), refused with
/// `Directory` when it is longer than [`MAX_RESPONSE_BYTES`]: by its `Content-Length`
/// before anything is read, else as soon as the chunks read pass the limit. The rest of
/// the body is then cancelled (the download stops).
async fn read_body(response: &JsValue, status: u16) -> Result<String, Error> {
    let too_long = || {
        Error::Directory(format!(
            "the directory answered HTTP {status} with more than {} MiB; refused",
            MAX_RESPONSE_BYTES >> 20
        ))
    };
    let failed = |e: JsValue| {
        Error::Directory(format!(
            "reading the directory's answer failed: {}",
            describe(&e)
        ))
    };
    let body = get(response, "body");
    let declared = content_length(response);
    if declared.is_some_and(|n| n > MAX_RESPONSE_BYTES as f64) {
        cancel(&body, "cancel");
        return Err(too_long());
    }
    if body.is_null() {
        return Ok(String::new()); // no body (e.g. 204)
    }
    let Ok(get_reader) = get(&body, "getReader").dyn_into::<Function>() else {
        // Not a streaming Response (a polyfill): its text, checked once read.
        let text_fn = get(response, "text")
            .dyn_into::<Function>()
            .map_err(|_| Error::Directory("not a fetch Response".into()))?;
        let text = resolve(text_fn.call0(response).map_err(failed)?)
            .await
            .map_err(failed)?
            .as_string()
            .unwrap_or_default();
        return if text.len() > MAX_RESPONSE_BYTES {
            Err(too_long())
        } else {
            Ok(text)
        };
    };
    let reader = get_reader.call0(&body).map_err(failed)?;
    let read = get(&reader, "read")
        .dyn_into::<Function>()
        .map_err(|_| Error::Directory("not a fetch Response".into()))?;
    let mut bytes: Vec<u8> = Vec::new();
    loop {
        let step = resolve(read.call0(&reader).map_err(failed)?)
            .await
            .map_err(failed)?;
        if get(&step, "done").is_truthy() {
            break;
        }
        let chunk = bytes_of(&get(&step, "value"))
            .ok_or_else(|| Error::Directory("the directory's answer is not bytes".into()))?;
        let at = bytes.len();
        let end = at.saturating_add(chunk.length() as usize);
        if end > MAX_RESPONSE_BYTES {
            cancel(&reader, "cancel");
            return Err(too_long());
        }
        bytes.resize(end, 0);
        if let Some(into) = bytes.get_mut(at..end) {
            chunk.copy_to(into);
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    Ok(text.strip_prefix('\u{feff}').unwrap_or(&text).to_owned())
}

/// The `Content-Length` of `response`, when it declares one.
fn content_length(response: &JsValue) -> Option<f64> {
    let headers = get(response, "headers");
    let get_header = get(&headers, "get").dyn_into::<Function>().ok()?;
    let value = get_header
        .call1(&headers, &JsValue::from_str("content-length"))
        .ok()?
        .as_string()?;
    value.trim().parse::<f64>().ok()
}

/// Calls `target[method]()` (a stream's or reader's `cancel`) without waiting for it and
/// without leaving a rejection unhandled.
fn cancel(target: &JsValue, method: &str) {
    let Ok(f) = get(target, method).dyn_into::<Function>() else {
        return;
    };
    if let Ok(outcome) = f.call0(target) {
        let settled = JsFuture::from(Promise::resolve(&outcome));
        spawn_local(async move {
            let _ = settled.await;
        });
    }
}

/// A short description of a thrown JS value, for error messages.
pub fn describe(value: &JsValue) -> String {
    value
        .as_string()
        .or_else(|| get(value, "message").as_string())
        .unwrap_or_else(|| "unknown error".into())
}

fn strings(value: &JsValue) -> Vec<String> {
    value
        .dyn_ref::<Array>()
        .map(|a| a.iter().filter_map(|v| v.as_string()).collect())
        .unwrap_or_default()
}

fn expect(status: u16, ok: &[u16], what: &str, json: &JsValue) -> Result<(), Error> {
    if ok.contains(&status) {
        return Ok(());
    }
    let message = get(&get(json, "error"), "message")
        .as_string()
        .unwrap_or_default();
    Err(Error::Directory(format!("{what}: HTTP {status} {message}")))
}

impl Directory for FetchDirectory {
    async fn lookup(&self, identities: &[String]) -> Result<Vec<(String, String)>, Error> {
        let body = Object::new();
        let list: Array = identities.iter().map(|i| JsValue::from_str(i)).collect();
        set(&body, "identities", &list);
        let (status, json) = self.call("POST", "/v2/cards/lookup", Some(&body)).await?;
        expect(status, &[200], "lookup", &json)?;
        // §7: {"head", "results": {identity: {"card": text or null, "proof"}}}. The §12
        // proofs are not checked here yet.
        let results = get(&json, "results");
        if !results.is_object() {
            return Err(Error::Directory(
                "lookup: the directory's answer has no \"results\" object".into(),
            ));
        }
        let mut out = Vec::new();
        for identity in identities {
            if let Some(text) = get(&get(&results, identity), "card").as_string() {
                out.push((identity.clone(), text));
            }
        }
        Ok(out)
    }

    async fn history(&self, identity: &str) -> Result<Vec<String>, Error> {
        let path = format!(
            "/v2/cards/{}/history",
            String::from(js_sys::encode_uri_component(identity))
        );
        let (status, json) = self.call("GET", &path, None).await?;
        expect(status, &[200], "history", &json)?;
        let cards = get(&json, "cards");
        if !Array::is_array(&cards) {
            return Err(Error::Directory(
                "history: the directory's answer has no \"cards\" list".into(),
            ));
        }
        Ok(strings(&cards))
    }

    async fn card_by_id(&self, id: &CardId) -> Result<Option<String>, Error> {
        let (status, json) = self
            .call("GET", &format!("/v2/cards/by-id/{id}"), None)
            .await?;
        if status == 404 {
            return Ok(None);
        }
        expect(status, &[200], "card by id", &json)?;
        match get(&json, "card").as_string() {
            Some(text) => Ok(Some(text)),
            None => Err(Error::Directory(
                "card by id: the directory's answer has no \"card\" text".into(),
            )),
        }
    }

    async fn publish(&self, card: &str, replace: bool) -> Result<Publish, Error> {
        let body = Object::new();
        set(&body, "card", &JsValue::from_str(card));
        let path = if replace {
            "/v2/cards?replace=true"
        } else {
            "/v2/cards"
        };
        let (status, json) = self.call("POST", path, Some(&body)).await?;
        if status == 409 {
            return Ok(Publish::Conflict);
        }
        expect(status, &[200, 201], "publish", &json)?;
        Ok(Publish::Stored)
    }

    async fn revoke(&self) -> Result<(), Error> {
        let (status, json) = self.call("DELETE", "/v2/cards", None).await?;
        expect(status, &[200, 404], "revoke", &json)
    }

    async fn put_backup(&self, backup: &str) -> Result<(), Error> {
        let body = Object::new();
        set(&body, "backup", &JsValue::from_str(backup));
        let (status, json) = self.call("PUT", "/v2/backup", Some(&body)).await?;
        expect(status, &[200, 201, 204], "backup", &json)
    }

    async fn backups(&self) -> Result<Vec<String>, Error> {
        let (status, json) = self.call("GET", "/v2/backup", None).await?;
        if status == 404 {
            return Ok(Vec::new());
        }
        expect(status, &[200], "backups", &json)?;
        // §7: {"backups": [text, ..]}, the password backup first, then one per passkey.
        Ok(strings(&get(&json, "backups")))
    }

    async fn delete_backup(&self, credential: Option<&[u8]>) -> Result<(), Error> {
        let path = match credential {
            None => "/v2/backup".to_owned(),
            Some(id) => format!("/v2/backup?credential={}", crate::proto::b64u_encode(id)),
        };
        let (status, json) = self.call("DELETE", &path, None).await?;
        expect(status, &[204, 404], "delete backup", &json)
    }

    async fn post_link(&self, link_id: &[u8; 16], offer: &str) -> Result<(), Error> {
        let body = Object::new();
        set(&body, "offer", &JsValue::from_str(offer));
        let path = format!("/v2/link/{}", hex::encode(link_id));
        let (status, json) = self.call("POST", &path, Some(&body)).await?;
        // 409 `Conflict`: an offer is already waiting under this id (409 `TooManyLinks`
        // is a plain directory refusal).
        if status == 409
            && get(&get(&json, "error"), "code").as_string().as_deref() == Some("Conflict")
        {
            return Err(Error::LinkUsed);
        }
        expect(status, &[200, 201], "device link offer", &json)
    }

    async fn take_link(&self, link_id: &[u8; 16]) -> Result<Option<String>, Error> {
        let path = format!("/v2/link/{}", hex::encode(link_id));
        let (status, json) = self.call("GET", &path, None).await?;
        if status == 404 {
            return Ok(None);
        }
        expect(status, &[200], "device link offer", &json)?;
        match get(&json, "offer").as_string() {
            Some(text) => Ok(Some(text)),
            None => Err(Error::Directory(
                "device link offer: the directory's answer has no \"offer\" text".into(),
            )),
        }
    }

    async fn post_shares(&self, shares: &[ShareOut]) -> Result<(), Error> {
        let list: Array = shares
            .iter()
            .map(|(to, session, share)| {
                let entry = Object::new();
                set(&entry, "to", &JsValue::from_str(to));
                set(
                    &entry,
                    "session_id",
                    &JsValue::from_str(&session.to_string()),
                );
                set(&entry, "share", &JsValue::from_str(share));
                JsValue::from(entry)
            })
            .collect();
        let body = Object::new();
        set(&body, "shares", &list);
        let (status, json) = self.call("POST", "/v2/shares", Some(&body)).await?;
        expect(status, &[200, 201], "storing group-session shares", &json)
    }

    async fn session_shares(&self, session: &SessionId) -> Result<Vec<String>, Error> {
        let (status, json) = self
            .call("GET", &format!("/v2/shares?session_id={session}"), None)
            .await?;
        expect(status, &[200], "fetching a group session's shares", &json)?;
        Ok(strings(&get(&json, "shares")))
    }

    async fn shares_after(&self, cursor: &str) -> Result<(Vec<String>, String), Error> {
        let path = format!(
            "/v2/shares?after={}",
            String::from(js_sys::encode_uri_component(cursor))
        );
        let (status, json) = self.call("GET", &path, None).await?;
        expect(status, &[200], "fetching group-session shares", &json)?;
        let shares = get(&json, "shares")
            .dyn_ref::<Array>()
            .map(|a| {
                a.iter()
                    .filter_map(|s| get(&s, "share").as_string())
                    .collect()
            })
            .unwrap_or_default();
        let next = get(&json, "next")
            .as_string()
            .unwrap_or_else(|| cursor.to_owned());
        Ok((shares, next))
    }
}
