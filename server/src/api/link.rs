//! `/v2/link/{link_id}`: device-link offers (PROTOCOL §7, §13), handed from the old
//! device to the new one through the directory, each read at most once and kept at
//! most 5 minutes.

use super::*;
use crate::store::{LinkPut, LINK_TTL, MAX_PENDING_LINKS};

/// The longest offer text stored, in bytes.
pub const MAX_OFFER_LEN: usize = 60 * 1024;
/// The shortest decoded offer: a 32-byte HPKE `enc` and a 16-byte AEAD tag.
pub const MIN_OFFER_BYTES: usize = 32 + 16;

/// `POST /v2/link/{link_id}` body and `GET /v2/link/{link_id}` answer.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    /// The offer, `csl1.` text (§13): the keyring sealed to the new device; stored as it
    /// is.
    pub offer: String,
}

/// Stores an offer for the new device that shows `link_id`. Refused (409) when the id
/// is taken or the caller has 8 offers waiting.
#[utoipa::path(post, path = "/v2/link/{link_id}", tag = "link",
    params(("link_id" = String, Path, description = "32 lowercase hex digits (16 bytes)")),
    request_body = LinkBody,
    responses((status = 201, description = "stored"), (status = 400, body = ErrorBody),
              (status = 409, description = "`Conflict`: the link id is taken; `TooManyLinks`: 8 offers waiting", body = ErrorBody)),
    security(("bearer" = [])))]
pub(super) async fn post_link(
    State(state): State<AppState>,
    auth: Auth,
    link_id: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson<LinkBody>,
) -> Result<StatusCode, ApiError> {
    let link_id = checked_link_id(link_id)?;
    let offer = body.offer;
    if offer.len() > MAX_OFFER_LEN {
        return Err(ApiError::invalid(format!(
            "an offer is at most {MAX_OFFER_LEN} bytes"
        )));
    }
    // Opaque, but it must at least be an offer: the prefix, base64url, room for enc and tag.
    let payload = offer
        .strip_prefix("csl1.")
        .ok_or_else(|| ApiError::invalid("an offer is csl1. text (PROTOCOL §13)"))?;
    let bytes =
        b64u_decode(payload).map_err(|_| ApiError::invalid("the offer is not valid base64url"))?;
    if bytes.len() < MIN_OFFER_BYTES {
        return Err(ApiError::invalid(format!(
            "an offer is at least {MIN_OFFER_BYTES} bytes (HPKE enc and tag)"
        )));
    }
    match state
        .store
        .put_link(&link_id, &auth.identity, &offer, unix_now() as i64)
        .await?
    {
        LinkPut::Created => Ok(StatusCode::CREATED),
        LinkPut::Taken => Err(ApiError::conflict(
            "an offer with this link id is already waiting; the new device picks another",
        )),
        LinkPut::TooMany => Err(ApiError::too_many_links(format!(
            "this identity already has {MAX_PENDING_LINKS} offers waiting; they expire \
             {LINK_TTL} s after they were stored"
        ))),
    }
}

/// The caller's offer under `link_id`, once: reading it deletes it. 404 before it is
/// stored, after it was read, once it expired, and for a token of another identity.
#[utoipa::path(get, path = "/v2/link/{link_id}", tag = "link",
    params(("link_id" = String, Path, description = "32 lowercase hex digits (16 bytes)")),
    responses((status = 200, body = LinkBody), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(super) async fn get_link(
    State(state): State<AppState>,
    auth: Auth,
    link_id: Result<Path<String>, PathRejection>,
) -> Result<Json<LinkBody>, ApiError> {
    let link_id = checked_link_id(link_id)?;
    match state
        .store
        .take_link(&link_id, &auth.identity, unix_now() as i64)
        .await?
    {
        Some(offer) => Ok(Json(LinkBody { offer })),
        None => Err(ApiError::not_found(
            "no offer is waiting under this link id",
        )),
    }
}

fn checked_link_id(link_id: Result<Path<String>, PathRejection>) -> Result<Vec<u8>, ApiError> {
    let Path(link_id) = link_id.map_err(path_error)?;
    let lowercase_hex = link_id
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    match hex::decode(&link_id) {
        Ok(bytes) if lowercase_hex && bytes.len() == 16 => Ok(bytes),
        _ => Err(ApiError::invalid(
            "a link id is 32 lowercase hex digits (16 bytes)",
        )),
    }
}
