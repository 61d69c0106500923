//! The low-level, synchronous API: `Identity` and `Card`, no storage, no directory.
//! For benchmarks, servers (Node) and custom flows.

use std::cell::RefCell;

use js_sys::{Array, JsString, Object, Reflect, Uint8Array};
use rand_core::OsRng;
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

use super::errors::{option_string, password_arg, string_arg, to_js, type_error};
use crate::client::groups::{Inbound, Outbound};
use crate::client::{self, CardCache, Decrypted};
use crate::proto::envelope::Content;
use crate::proto::group::{self, GroupMessage};
use crate::proto::{self, backup, ContentType};

thread_local! {
    /// Cards verified once per page, shared by every identity.
    static CARDS: RefCell<CardCache> = RefCell::new(CardCache::new());
}

/// Unix seconds and milliseconds by the JS clock.
fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// A public card (PROTOCOL §2), verified.
#[wasm_bindgen]
pub struct Card {
    inner: proto::Card,
}

#[wasm_bindgen]
impl Card {
    /// `Card.parse(text)`: the card of `csc2.` text, its signature checked.
    pub fn parse(text: &JsValue) -> Result<Card, JsValue> {
        let text = string_arg(text, "text")?;
        let inner = CARDS
            .with(|cache| cache.borrow_mut().parse(&text))
            .map_err(|e| to_js(&e.into()))?;
        Ok(Card { inner })
    }

    /// The `csc2.` text.
    #[wasm_bindgen(getter)]
    pub fn text(&self) -> String {
        self.inner.to_text()
    }

    /// The card id, 32 lowercase hex digits.
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> String {
        self.inner.id().to_string()
    }

    /// The identity the card is for.
    #[wasm_bindgen(getter)]
    pub fn identity(&self) -> String {
        self.inner.identity().to_owned()
    }

    /// When it was made (unix seconds).
    #[wasm_bindgen(getter, js_name = "createdAt")]
    pub fn created_at(&self) -> f64 {
        self.inner.created_at() as f64
    }

    /// The card this one rotates from, hex, or `undefined`.
    #[wasm_bindgen(getter, js_name = "prevCardId")]
    pub fn prev_card_id(&self) -> Option<String> {
        self.inner.prev_card_id().map(|id| id.to_string())
    }
}

/// An identity's keys, in memory only (`ChatSeal` keeps them in IndexedDB).
#[wasm_bindgen]
pub struct Identity {
    inner: client::Identity,
}

#[wasm_bindgen]
impl Identity {
    /// `Identity.generate(identity)`: new keys and their card.
    pub fn generate(identity: &JsValue) -> Result<Identity, JsValue> {
        let identity = string_arg(identity, "identity")?;
        let inner = client::Identity::generate(&mut OsRng, &identity, now_ms() / 1000)
            .map_err(|e| to_js(&e))?;
        Ok(Identity { inner })
    }

    /// `Identity.restore(backupText, password)`: the identity sealed in a backup.
    pub fn restore(backup_text: &JsValue, password: &JsValue) -> Result<Identity, JsValue> {
        let text = string_arg(backup_text, "backupText")?;
        let password = password_arg(password, "password")?;
        let inner = client::Identity::restore(&text, &password).map_err(|e| to_js(&e))?;
        Ok(Identity { inner })
    }

    /// The identity string.
    #[wasm_bindgen(getter)]
    pub fn identity(&self) -> String {
        self.inner.identity().to_owned()
    }

    /// The current card.
    pub fn card(&self) -> Card {
        Card {
            inner: self.inner.card().clone(),
        }
    }

    /// `identity.backup(password)` → `csb1.` text (Argon2id, 64 MiB, 3 passes).
    pub fn backup(&self, password: &JsValue) -> Result<String, JsValue> {
        let password = password_arg(password, "password")?;
        self.inner
            .backup(&mut OsRng, &password, backup::Params::default())
            .map_err(|e| to_js(&e))
    }

    /// A new key generation; returns the new card (to publish). Old keys stay.
    pub fn rotate(&mut self) -> Result<Card, JsValue> {
        let card = self
            .inner
            .rotate(&mut OsRng, now_ms() / 1000)
            .map_err(|e| to_js(&e))?;
        Ok(Card {
            inner: card.clone(),
        })
    }

    /// `identity.encrypt(text, cards, { context })` → `csp2.` text when `cards` (Card
    /// objects or card texts) hold exactly one card other than this identity's own,
    /// else `csm2.` text for the `cards` and this identity's own card.
    pub fn encrypt(
        &self,
        text: &JsValue,
        cards: &JsValue,
        options: &JsValue,
    ) -> Result<String, JsValue> {
        let text = Zeroizing::new(string_arg(text, "text")?);
        self.seal(ContentType::Text, text.as_bytes(), cards, options)
    }

    /// `identity.encryptBytes(bytes, cards, { context })` → `csp2.` or `csm2.` text, as
    /// `encrypt`.
    #[wasm_bindgen(js_name = "encryptBytes")]
    pub fn encrypt_bytes(
        &self,
        bytes: &JsValue,
        cards: &JsValue,
        options: &JsValue,
    ) -> Result<String, JsValue> {
        let bytes = bytes
            .dyn_ref::<Uint8Array>()
            .ok_or_else(|| type_error("bytes must be a Uint8Array"))?;
        let data = Zeroizing::new(bytes.to_vec());
        self.seal(ContentType::Bytes, &data, cards, options)
    }

    /// `identity.decrypt(text, senderCards, { from, context })` → `{ text, contentType,
    /// sender, senderCardId, sentAt, msgId, context, keyChanged }`, for `csm2.` and
    /// `csp2.` text (for a `csp2.` message this identity sent, `senderCards` holds the
    /// recipient's card).
    pub fn decrypt(
        &self,
        text: &JsValue,
        sender_cards: &JsValue,
        options: &JsValue,
    ) -> Result<JsValue, JsValue> {
        let message = self.open(text, sender_cards, options)?;
        result_object(&message, false)
    }

    /// `identity.decryptBytes(text, senderCards, { from, context })` → the same object
    /// with `data` (a `Uint8Array`) for any content type.
    #[wasm_bindgen(js_name = "decryptBytes")]
    pub fn decrypt_bytes(
        &self,
        text: &JsValue,
        sender_cards: &JsValue,
        options: &JsValue,
    ) -> Result<JsValue, JsValue> {
        let message = self.open(text, sender_cards, options)?;
        result_object(&message, true)
    }
}

impl Identity {
    fn seal(
        &self,
        content_type: ContentType,
        data: &[u8],
        cards: &JsValue,
        options: &JsValue,
    ) -> Result<String, JsValue> {
        let context = option_string(options, "context", "options")?.unwrap_or_default();
        let cards = parse_cards(cards, "cards")?;
        let to: Vec<&proto::Card> = cards.iter().collect();
        self.inner
            .encrypt(&mut OsRng, &to, content_type, data, &context, now_ms())
            .map_err(|e| to_js(&e))
    }

    fn open(
        &self,
        text: &JsValue,
        sender_cards: &JsValue,
        options: &JsValue,
    ) -> Result<Decrypted, JsValue> {
        let text = string_arg(text, "text")?;
        let from = option_string(options, "from", "options")?;
        let context = option_string(options, "context", "options")?;
        let cards = parse_cards(sender_cards, "senderCards")?;
        let resolve = |id: &proto::CardId| cards.iter().find(|c| c.id() == *id).cloned();
        self.inner
            .decrypt(&text, resolve, from.as_deref(), context.as_deref())
            .map_err(|e| to_js(&e))
    }
}

/// The group-session half of the low-level API (PROTOCOL §9), for benchmarks and custom
/// flows; `ChatSeal` does all of this itself, with the directory.
#[wasm_bindgen]
impl Identity {
    /// `identity.startGroupSession(context)`: a new session for the channel `context`
    /// (random id and chain key, index 0), sent from this identity's current card.
    #[wasm_bindgen(js_name = "startGroupSession")]
    pub fn start_group_session(&self, context: &JsValue) -> Result<GroupSession, JsValue> {
        let context = string_arg(context, "context")?;
        Ok(GroupSession {
            outbound: Outbound::start(&mut OsRng, self.inner.card().id(), now_ms()),
            context,
        })
    }

    /// `identity.shareGroupSession(session, cards)` → one `csp2.` share per card (Card
    /// objects or card texts), each readable by that card only: the chain key at the
    /// session's current index, for the directory's `POST /v1/shares`.
    #[wasm_bindgen(js_name = "shareGroupSession")]
    pub fn share_group_session(
        &self,
        session: &GroupSession,
        cards: &JsValue,
    ) -> Result<Array, JsValue> {
        let cards = parse_cards(cards, "cards")?;
        let share = session.outbound.share();
        let sender = self.inner.keyring().current();
        cards
            .iter()
            .map(|card| {
                share
                    .seal_to(&mut OsRng, sender, card, &session.context, now_ms())
                    .map(|t| JsValue::from_str(&t))
                    .map_err(|e| to_js(&e.into()))
            })
            .collect()
    }

    /// `identity.groupEncrypt(session, text)` → `csg2.` text: the session's next message.
    #[wasm_bindgen(js_name = "groupEncrypt")]
    pub fn group_encrypt(
        &self,
        session: &mut GroupSession,
        text: &JsValue,
    ) -> Result<String, JsValue> {
        let text = Zeroizing::new(string_arg(text, "text")?);
        let content = Content {
            content_type: ContentType::Text,
            sent_at: now_ms(),
            context: &session.context,
            // No directory head yet (§12): epoch 0, a zero root.
            head_epoch: 0,
            head_root: [0; 32],
            data: text.as_bytes(),
        };
        session
            .outbound
            .seal(self.inner.keyring().current(), &content)
            .map_err(|e| to_js(&e.into()))
    }

    /// `identity.acceptShare(shareText, senderCards)` → the `InboundSession` a share
    /// opens, after §11's checks and §9's (content type 4, a well-formed `CSS1`).
    #[wasm_bindgen(js_name = "acceptShare")]
    pub fn accept_share(
        &self,
        share: &JsValue,
        sender_cards: &JsValue,
    ) -> Result<InboundSession, JsValue> {
        let text = string_arg(share, "share")?;
        let cards = parse_cards(sender_cards, "senderCards")?;
        let resolve = |id: &proto::CardId| cards.iter().find(|c| c.id() == *id).cloned();
        let accepted = group::open_share(&text, self.inner.keyring(), resolve)
            .map_err(|e| to_js(&e.into()))?;
        Ok(InboundSession {
            inner: Inbound::new(accepted),
        })
    }
}

/// This identity's side of a group session: `identity.groupEncrypt(session, text)`.
#[wasm_bindgen]
pub struct GroupSession {
    outbound: Outbound,
    context: String,
}

#[wasm_bindgen]
impl GroupSession {
    /// The session id, 32 hex digits.
    #[wasm_bindgen(getter, js_name = "sessionId")]
    pub fn session_id(&self) -> String {
        self.outbound.session_id.to_string()
    }

    /// The index of the next message.
    #[wasm_bindgen(getter)]
    pub fn index(&self) -> u32 {
        self.outbound.index
    }
}

/// A session another identity shared with this one (`identity.acceptShare`).
#[wasm_bindgen]
pub struct InboundSession {
    inner: Inbound,
}

#[wasm_bindgen]
impl InboundSession {
    /// `inbound.decrypt(text, senderCards, { from, context })` → the result object of
    /// `identity.decrypt`, for a `csg2.` message of this session at or after the share's
    /// index (`NoSessionKey` otherwise). Reading a history in any order costs at most 32
    /// ratchet steps a message once its checkpoints exist.
    pub fn decrypt(
        &mut self,
        text: &JsValue,
        sender_cards: &JsValue,
        options: &JsValue,
    ) -> Result<JsValue, JsValue> {
        let text = string_arg(text, "text")?;
        let from = option_string(options, "from", "options")?;
        let context = option_string(options, "context", "options")?;
        let cards = parse_cards(sender_cards, "senderCards")?;
        let mut open = || -> Result<Decrypted, client::Error> {
            let message = GroupMessage::parse(&text)?;
            let opened = self.inner.open(&message)?;
            let card = cards.iter().find(|c| c.id() == opened.sender_card_id());
            let verified = opened.verify(card, from.as_deref(), context.as_deref())?;
            group::check_session_context(&verified, &self.inner.share)?;
            Decrypted::from_message(verified)
        };
        let message = open().map_err(|e| to_js(&e))?;
        result_object(&message, false)
    }
}

/// Cards from a JS array of `Card` objects or `csc2.` texts, each verified once per page.
fn parse_cards(value: &JsValue, what: &str) -> Result<Vec<proto::Card>, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(Vec::new());
    }
    let array = value.dyn_ref::<Array>().ok_or_else(|| {
        type_error(&format!(
            "{what} must be an array of Card objects or card texts"
        ))
    })?;
    let text_key = JsString::from("text");
    let mut cards = Vec::with_capacity(array.length() as usize);
    for item in array.iter() {
        let text = match item.as_string() {
            Some(text) => text,
            None if item.is_object() => {
                Reflect::get(&item, &text_key)?.as_string().ok_or_else(|| {
                    type_error(&format!("{what} must hold Card objects or card texts"))
                })?
            }
            None => {
                return Err(type_error(&format!(
                    "{what} must hold Card objects or card texts"
                )))
            }
        };
        let card = CARDS
            .with(|cache| cache.borrow_mut().parse(&text))
            .map_err(|e| to_js(&e.into()))?;
        cards.push(card);
    }
    Ok(cards)
}

/// The result object shared by `decrypt`, `decryptBytes` and `ChatSeal.decrypt`.
/// Without `with_data` (the text API) the content must be text or a file descriptor
/// (whose `file` says what the file is, key left out); bytes need `decryptBytes`.
pub fn result_object(message: &Decrypted, with_data: bool) -> Result<JsValue, JsValue> {
    let file = match message.content_type {
        ContentType::FileDescriptor => Some(
            super::files::descriptor_of(message.content_type, &message.data)
                .map_err(|e| to_js(&e))?,
        ),
        _ => None,
    };
    if !with_data && message.text.is_none() && file.is_none() {
        return Err(to_js(&client::Error::Proto(proto::Error::Malformed(
            "message: not text; use decryptBytes",
        ))));
    }
    let object = Object::new();
    let set = |key: &str, value: JsValue| Reflect::set(&object, &JsString::from(key), &value);
    set(
        "text",
        message
            .text
            .as_deref()
            .map_or(JsValue::NULL, JsValue::from_str),
    )?;
    if with_data {
        set("data", Uint8Array::from(message.data.as_slice()).into())?;
    }
    if let Some(file) = &file {
        set("file", super::files::descriptor_object(file).into())?;
    }
    set(
        "contentType",
        JsValue::from_str(message.content_type_name()),
    )?;
    set("sender", JsValue::from_str(&message.sender))?;
    set("senderCardId", JsValue::from_str(&message.sender_card_id))?;
    set("sentAt", JsValue::from_f64(message.sent_at as f64))?;
    set("msgId", JsValue::from_str(&message.msg_id))?;
    set("context", JsValue::from_str(&message.context))?;
    set("keyChanged", JsValue::from_bool(message.key_changed))?;
    Ok(object.into())
}
