//! `/v2/cards`: publish, lookup, history, by-id and revoke (PROTOCOL §7).

use super::*;

/// `POST /v2/cards` body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// The card, `csc2.` text.
    pub card: String,
}

/// `POST /v2/cards` query.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PublishQuery {
    /// Start a new chain (a card with `prev_flag = 0`) over the current card, when its
    /// key is lost; history records it (`replaced`). A rotation is judged by its link
    /// whatever this says.
    #[serde(default)]
    pub replace: bool,
}

/// A card id answer.
#[derive(Serialize, ToSchema)]
pub struct CardIdBody {
    /// The card id, lowercase hex.
    pub card_id: String,
    /// The §12 log epoch that holds the card. Always 0: this directory does not keep
    /// the §12 log yet (a later issue), so no epoch is published.
    pub epoch: u64,
}

/// Publishes the caller's card.
#[utoipa::path(post, path = "/v2/cards", tag = "cards",
    params(PublishQuery), request_body = PublishRequest,
    responses(
        (status = 201, description = "stored as the current card", body = CardIdBody),
        (status = 200, description = "this card was already current", body = CardIdBody),
        (status = 400, description = "not a valid card", body = ErrorBody),
        (status = 403, description = "the card is for another identity", body = ErrorBody),
        (status = 400, description = "`bad_rotation`: names the current card but does not link to it (PROTOCOL §2)", body = ErrorBody),
        (status = 409, description = "`not_current`: a rotation from a card that is not current; `Conflict`: a new chain over a current card without ?replace=true, or a card published before", body = ErrorBody)),
    security(("bearer" = [])))]
pub(super) async fn publish_card(
    State(state): State<AppState>,
    auth: Auth,
    query: Result<Query<PublishQuery>, QueryRejection>,
    ApiJson(body): ApiJson<PublishRequest>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(query_error)?;
    let card = Card::parse(&body.card)?;
    if card.identity() != auth.identity {
        return Err(ApiError::forbidden(format!(
            "the card is for identity {:?} but the token is for {:?}",
            card.identity(),
            auth.identity
        )));
    }
    let card_id = card.id().to_string();
    let new = NewCard {
        card: &card,
        text: &body.card,
    };
    let now = unix_now() as i64;
    let status = match state.store.publish(&new, query.replace, now).await? {
        Published::Created => StatusCode::CREATED,
        Published::AlreadyCurrent => StatusCode::OK,
        Published::NotChained { current } => {
            return Err(ApiError::conflict(format!(
                "a current card ({current}) exists and this card starts a new chain \
                 (prev_flag = 0); rotate from the current card, or publish with \
                 ?replace=true if its key is lost"
            )))
        }
        Published::NotCurrent {
            current: Some(current),
        } => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "not_current",
                format!(
                    "the card rotates from {}, which is not this identity's current card \
                     ({current}); fetch the current card and rotate from it (PROTOCOL §2)",
                    card.prev_card_id()
                        .map(|id| id.to_string())
                        .unwrap_or_default()
                ),
            ))
        }
        Published::NotCurrent { current: None } => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "not_current",
                "the card is a rotation, but this identity has no current card to rotate \
                 from; publish a card that starts a new chain (prev_flag = 0)",
            ))
        }
        Published::BadRotation(e) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_rotation",
                format!(
                    "the card names the current card but does not link to it (PROTOCOL §2: \
                     created_at not older, rotation_sig by the current card's key): {e} ({})",
                    e.code()
                ),
            ))
        }
        Published::Republished => {
            return Err(ApiError::conflict(
                "a card with this card_id was published before and is no longer current, \
                 or differs from the current card only in its signatures; make a new card",
            ))
        }
    };
    // `epoch` is §12's (the log epoch holding the card); this directory has no log yet,
    // so it is always 0 until key transparency lands.
    Ok((status, Json(CardIdBody { card_id, epoch: 0 })).into_response())
}

/// `POST /v2/cards/lookup` body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupRequest {
    /// Up to 100 identities.
    pub identities: Vec<String>,
}

/// `POST /v2/cards/lookup` answer (PROTOCOL §7): one result per identity asked for.
/// The §12 `head` and per-result `proof` come with key transparency.
#[derive(Serialize, ToSchema)]
pub struct LookupResponse {
    /// Each identity asked for → its result.
    pub results: BTreeMap<String, LookupResult>,
}

/// One identity's lookup result.
#[derive(Serialize, ToSchema)]
pub struct LookupResult {
    /// The identity's current card, `csc2.` text, or null when it has none.
    pub card: Option<String>,
}

/// The current cards of up to 100 identities.
#[utoipa::path(post, path = "/v2/cards/lookup", tag = "cards",
    request_body = LookupRequest,
    responses((status = 200, body = LookupResponse), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub(super) async fn lookup_cards(
    State(state): State<AppState>,
    _auth: Auth,
    ApiJson(body): ApiJson<LookupRequest>,
) -> Result<Json<LookupResponse>, ApiError> {
    if body.identities.len() > MAX_LOOKUP {
        return Err(ApiError::invalid(format!(
            "at most {MAX_LOOKUP} identities per lookup; this one asks for {}",
            body.identities.len()
        )));
    }
    let mut seen = HashSet::new();
    let mut wanted = Vec::with_capacity(body.identities.len());
    for (i, identity) in body.identities.into_iter().enumerate() {
        checked_identity(&identity, &format!("identities[{i}]"))?;
        if seen.insert(identity.clone()) {
            wanted.push(identity);
        }
    }
    let mut cards: BTreeMap<String, String> =
        state.store.lookup(&wanted).await?.into_iter().collect();
    let results = wanted
        .into_iter()
        .map(|identity| {
            let card = cards.remove(&identity);
            (identity, LookupResult { card })
        })
        .collect();
    Ok(Json(LookupResponse { results }))
}

/// One card of a history, with what the directory knows about it.
#[derive(Serialize, ToSchema)]
pub struct HistoryItem {
    /// The card id, hex.
    pub card_id: String,
    /// When the directory accepted it (unix seconds).
    pub published_at: i64,
    /// Published with `?replace=true`: a new chain over the card that was current.
    pub replaced: bool,
    /// When its identity revoked it, if it did.
    pub revoked_at: Option<i64>,
    /// The card lookups answer with.
    pub current: bool,
}

/// `GET /v2/cards/{identity}/history` answer.
#[derive(Serialize, ToSchema)]
pub struct HistoryResponse {
    /// Every card the identity published, oldest first.
    pub cards: Vec<String>,
    /// The same cards' metadata, in the same order.
    pub entries: Vec<HistoryItem>,
}

/// Every card an identity has published, oldest first (revoked ones flagged).
#[utoipa::path(get, path = "/v2/cards/{identity}/history", tag = "cards",
    params(("identity" = String, Path, description = "the identity, percent-encoded")),
    responses((status = 200, body = HistoryResponse), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub(super) async fn card_history(
    State(state): State<AppState>,
    _auth: Auth,
    identity: Result<Path<String>, PathRejection>,
) -> Result<Json<HistoryResponse>, ApiError> {
    let Path(identity) = identity.map_err(path_error)?;
    checked_identity(&identity, "the path's identity")?;
    let rows = state.store.history(&identity).await?;
    let mut cards = Vec::with_capacity(rows.len());
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows {
        cards.push(row.card);
        entries.push(HistoryItem {
            card_id: row.card_id,
            published_at: row.published_at,
            replaced: row.replaced,
            revoked_at: row.revoked_at,
            current: row.current,
        });
    }
    Ok(Json(HistoryResponse { cards, entries }))
}

/// `GET /v2/cards/by-id/{card_id}` answer, and the `{"card": text}` shape.
#[derive(Serialize, ToSchema)]
pub struct CardBody {
    /// The card, `csc2.` text.
    pub card: String,
}

/// A card by its id, current or not.
#[utoipa::path(get, path = "/v2/cards/by-id/{card_id}", tag = "cards",
    params(("card_id" = String, Path, description = "32 hex digits")),
    responses((status = 200, body = CardBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(super) async fn card_by_id(
    State(state): State<AppState>,
    _auth: Auth,
    card_id: Result<Path<String>, PathRejection>,
) -> Result<Json<CardBody>, ApiError> {
    let Path(card_id) = card_id.map_err(path_error)?;
    let id =
        CardId::from_hex(&card_id).map_err(|_| ApiError::invalid("a card id is 32 hex digits"))?;
    match state.store.card_by_id(&id.to_string()).await? {
        Some(card) => Ok(Json(CardBody { card })),
        None => Err(ApiError::not_found("no card has this id")),
    }
}

/// `DELETE /v2/cards` answer.
#[derive(Serialize, ToSchema)]
pub struct RevokedBody {
    /// The id of the card revoked.
    pub revoked: String,
}

/// Revokes the caller's current card (its history keeps it, flagged).
#[utoipa::path(delete, path = "/v2/cards", tag = "cards",
    responses((status = 200, body = RevokedBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(super) async fn revoke_card(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<RevokedBody>, ApiError> {
    match state
        .store
        .revoke(&auth.identity, unix_now() as i64)
        .await?
    {
        Some(revoked) => Ok(Json(RevokedBody { revoked })),
        None => Err(ApiError::not_found("this identity has no current card")),
    }
}
