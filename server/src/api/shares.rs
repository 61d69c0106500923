//! `/v2/shares`: group-session shares stored for their recipients (PROTOCOL §7, §9).

use super::*;

/// One share to store: `POST /v2/shares` body entry.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareItem {
    /// The identity that may read it.
    pub to: String,
    /// The group session it is for: 32 lowercase hex digits.
    pub session_id: String,
    /// The share, `csp2.` text (PROTOCOL §11, content type 4) sent from a card of the
    /// caller's identity; at most 4096 bytes.
    pub share: String,
}

/// `POST /v2/shares` body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SharesRequest {
    /// 1 to 1000 shares.
    pub shares: Vec<ShareItem>,
}

/// `POST /v2/shares` answer.
#[derive(Serialize, ToSchema)]
pub struct StoredBody {
    /// How many shares were new (a share already stored for its recipient is not
    /// counted: a retry stores 0).
    pub stored: u64,
}

/// Stores group-session shares (PROTOCOL §7, §9) for their recipients, all or none.
///
/// Each share must be a `csp2.` pairwise message (PROTOCOL §11) whose header parses and
/// whose sender card is one the caller's identity published (current, older or
/// revoked); the server cannot read its body (content type 4 is inside it). The same share for the same recipient is stored once. Refusals name
/// the entry (`shares[i]`) and never repeat the share text.
#[utoipa::path(post, path = "/v2/shares", tag = "shares",
    request_body = SharesRequest,
    responses(
        (status = 201, description = "stored (or already there)", body = StoredBody),
        (status = 400, description = "an entry is invalid, or not 1 to 1000 entries", body = ErrorBody),
        (status = 403, description = "a share's sender card is not the caller's", body = ErrorBody),
        (status = 413, description = "the body is over 1 MiB", body = ErrorBody)),
    security(("bearer" = [])))]
pub(super) async fn post_shares(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<SharesRequest, SHARES_BODY_LIMIT>,
) -> Result<Response, ApiError> {
    if !(1..=MAX_SHARES).contains(&body.shares.len()) {
        return Err(ApiError::invalid(format!(
            "send 1 to {MAX_SHARES} shares per request; this one has {}",
            body.shares.len()
        )));
    }
    // Each sender card once, with the first entry that names it.
    let mut sender_cards: Vec<(usize, String)> = Vec::new();
    let mut seen_cards = HashSet::new();
    let mut new = Vec::with_capacity(body.shares.len());
    for (i, item) in body.shares.iter().enumerate() {
        checked_identity(&item.to, &format!("shares[{i}].to"))?;
        checked_session_id(&item.session_id, &format!("shares[{i}].session_id"))?;
        if item.share.len() > MAX_SHARE_LEN {
            return Err(ApiError::invalid(format!(
                "shares[{i}].share is {} bytes; a share is at most {MAX_SHARE_LEN}",
                item.share.len()
            )));
        }
        let header = PairwiseHeader::parse(&item.share).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                e.code(),
                format!("shares[{i}].share is not a csp2. message (PROTOCOL §11): {e}"),
            )
        })?;
        let card_id = header.sender_card_id;
        if seen_cards.insert(card_id) {
            sender_cards.push((i, card_id.to_string()));
        }
        new.push(NewShare {
            recipient: &item.to,
            session_id: &item.session_id,
            share: &item.share,
            share_hash: hex::encode(Sha256::digest(item.share.as_bytes())),
        });
    }
    for (i, card_id) in &sender_cards {
        match state.store.card_identity(card_id).await? {
            Some(identity) if identity == auth.identity => {}
            Some(_) => {
                return Err(ApiError::forbidden(format!(
                    "shares[{i}].share was sent from card {card_id}, which belongs to another \
                     identity than the token's"
                )))
            }
            None => {
                return Err(ApiError::forbidden(format!(
                    "shares[{i}].share was sent from card {card_id}, which is not in the \
                     directory; publish your card before sharing"
                )))
            }
        }
    }
    let stored = state
        .store
        .put_shares(&auth.identity, &new, unix_now() as i64)
        .await?;
    Ok((StatusCode::CREATED, Json(StoredBody { stored })).into_response())
}

/// The clear part of a §11 pairwise message: what the directory can check of a share
/// without its keys (its body, content type 4 included, is sealed for the two cards).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairwiseHeader {
    /// The card that sent it.
    pub sender_card_id: CardId,
    /// The card it is for (the sender's own for the sender's own share).
    pub recipient_card_id: CardId,
}

impl PairwiseHeader {
    /// `"CSP2"` (PROTOCOL §11).
    const MAGIC: &'static [u8; 4] = b"CSP2";
    /// The text prefix.
    const PREFIX: &'static str = "csp2.";
    /// `pheader`: magic, sender and recipient card ids, msg_id.
    const LEN: usize = 4 + 16 + 16 + 16;
    /// The ChaCha20Poly1305 tag.
    const TAG: usize = 16;

    /// Parses `"csp2." || b64u(pheader || body)`, in §11's order: the text and the
    /// header (`Malformed`), then a body shorter than its tag (`Integrity`, as the
    /// Notation section says). Never panics.
    pub fn parse(text: &str) -> Result<Self, chatseal::proto::Error> {
        use chatseal::proto::Error;
        let b64 = text
            .strip_prefix(Self::PREFIX)
            .ok_or(Error::Malformed("pairwise message: not csp2. text"))?;
        let bytes = b64u_decode(b64)?;
        if bytes.get(..4) != Some(&Self::MAGIC[..]) {
            return Err(Error::Malformed("pairwise message: bad magic"));
        }
        let id = |at: usize| -> Result<CardId, Error> {
            bytes
                .get(at..at + 16)
                .and_then(|b| b.try_into().ok())
                .map(CardId)
                .ok_or(Error::Malformed("pairwise message: header too short"))
        };
        let sender_card_id = id(4)?;
        let recipient_card_id = id(20)?;
        id(36)?; // msg_id
        if bytes.len() - Self::LEN < Self::TAG {
            return Err(Error::Integrity);
        }
        Ok(PairwiseHeader {
            sender_card_id,
            recipient_card_id,
        })
    }
}

pub(super) fn checked_session_id(session_id: &str, what: &str) -> Result<(), ApiError> {
    let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    if session_id.len() == 32 && session_id.bytes().all(hex) {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "{what} is not a session id: 32 lowercase hex digits (16 bytes)"
        )))
    }
}

/// `GET /v2/shares` query: exactly one of the two.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SharesQuery {
    /// The caller's shares for this session (32 lowercase hex digits).
    pub session_id: Option<String>,
    /// The caller's shares stored after this cursor (a `cursor` or `next` of an earlier
    /// answer; empty or `0` for the beginning).
    pub after: Option<String>,
}

/// `GET /v2/shares?session_id=HEX` answer.
#[derive(Serialize, ToSchema)]
pub struct SessionSharesBody {
    /// The shares addressed to the caller for the session, `csp2.` text, oldest first,
    /// at most 100.
    pub shares: Vec<String>,
}

/// One share of the `after` feed.
#[derive(Serialize, ToSchema)]
pub struct FeedShare {
    /// The session it is for.
    pub session_id: String,
    /// The share, `csp2.` text.
    pub share: String,
    /// Its position: `after=` this continues behind it.
    pub cursor: String,
}

/// `GET /v2/shares?after=CURSOR` answer.
#[derive(Serialize, ToSchema)]
pub struct ShareFeedBody {
    /// The shares addressed to the caller stored after the cursor, oldest first, at most
    /// 100.
    pub shares: Vec<FeedShare>,
    /// The cursor of the last share here, or the one asked with when there is none: the
    /// `after` of the next call.
    pub next: String,
}

/// `GET /v2/shares` answer: the shape depends on the query.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum SharesBody {
    /// For `?session_id=`.
    Session(SessionSharesBody),
    /// For `?after=`.
    Feed(ShareFeedBody),
}

/// The caller's group-session shares: those of one session, or all of them in pages.
///
/// With `session_id`: `{"shares": [text, ..]}`. With `after`: `{"shares": [{"session_id",
/// "share", "cursor"}, ..], "next"}`; cursors are opaque strings. Only the shares
/// addressed to the token's identity are ever answered.
#[utoipa::path(get, path = "/v2/shares", tag = "shares",
    params(SharesQuery),
    responses(
        (status = 200, description = "the shares addressed to the caller; the shape depends on the query", body = SharesBody),
        (status = 400, description = "not exactly one of session_id and after, or a bad value", body = ErrorBody)),
    security(("bearer" = [])))]
pub(super) async fn get_shares(
    State(state): State<AppState>,
    auth: Auth,
    query: Result<Query<SharesQuery>, QueryRejection>,
) -> Result<Json<SharesBody>, ApiError> {
    let Query(query) = query.map_err(query_error)?;
    match (query.session_id, query.after) {
        (Some(session_id), None) => {
            checked_session_id(&session_id, "session_id")?;
            let shares = state
                .store
                .session_shares(&auth.identity, &session_id)
                .await?;
            Ok(Json(SharesBody::Session(SessionSharesBody { shares })))
        }
        (None, Some(after)) => {
            let after = parse_cursor(&after)?;
            let rows = state.store.shares_after(&auth.identity, after).await?;
            let next = rows.last().map_or(after, |row| row.id).to_string();
            let shares = rows
                .into_iter()
                .map(|row| FeedShare {
                    session_id: row.session_id,
                    share: row.share,
                    cursor: row.id.to_string(),
                })
                .collect();
            Ok(Json(SharesBody::Feed(ShareFeedBody { shares, next })))
        }
        _ => Err(ApiError::invalid(
            "give exactly one of session_id (one session's shares) and after (all shares, paged)",
        )),
    }
}

/// A feed cursor: a decimal row id from 0 to 2^63 - 1; empty is 0.
pub(super) fn parse_cursor(cursor: &str) -> Result<i64, ApiError> {
    if cursor.is_empty() {
        return Ok(0);
    }
    cursor
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| cursor.parse::<i64>().ok())
        .flatten()
        .ok_or_else(|| {
            ApiError::invalid(
                "after is not a cursor: use a `cursor` or `next` from an earlier answer, \
                 or 0 (or nothing) for the beginning",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::PairwiseHeader;
    use chatseal::proto::{b64u_encode, CardId, Error};

    fn text(magic: &[u8], tail: usize) -> String {
        let mut bytes = magic.to_vec();
        bytes.extend_from_slice(&[1; 16]);
        bytes.extend_from_slice(&[2; 16]);
        bytes.resize(bytes.len() + tail, 3);
        format!("csp2.{}", b64u_encode(&bytes))
    }

    #[test]
    fn the_header_is_read_and_every_cut_is_refused() {
        let good = text(b"CSP2", 16 + 16);
        assert_eq!(
            PairwiseHeader::parse(&good),
            Ok(PairwiseHeader {
                sender_card_id: CardId([1; 16]),
                recipient_card_id: CardId([2; 16]),
            })
        );
        // Every shorter header is Malformed, every short body Integrity; nothing panics.
        for tail in 0..32 {
            let want = if tail < 16 { "Malformed" } else { "Integrity" };
            let got = PairwiseHeader::parse(&text(b"CSP2", tail)).map_err(|e| e.code());
            assert_eq!(got, Err(want), "tail {tail}");
        }
        for cut in 0..good.len() {
            let _ = PairwiseHeader::parse(good.get(..cut).unwrap_or_default());
        }
        for bad in [
            text(b"CSP1", 32).as_str(),
            &good.replacen("csp2.", "csm2.", 1),
            &good.replacen("csp2.", "CSP2.", 1),
            &format!("{good}="),
            "csp2.",
            "",
        ] {
            assert!(
                matches!(PairwiseHeader::parse(bad), Err(Error::Malformed(_))),
                "{bad}"
            );
        }
    }
}
