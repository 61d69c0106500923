//! The extractors that turn every bad request into the §7 error shape: the bearer
//! token (`Auth`), JSON bodies (`ApiJson`), paths, queries and identities.

use super::*;

/// The identity of a request's valid token (PROTOCOL §6), rate-limited per identity.
pub struct Auth {
    /// The token's `sub`.
    pub identity: String,
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(|| ApiError::unauthorized(crate::auth::TokenError::Missing.to_string()))?;
        let claims = state
            .verifier
            .verify(token, unix_now())
            .map_err(|e| ApiError::unauthorized(e.to_string()))?;
        if let Err(wait) = state.limits.per_identity.check(&claims.sub) {
            return Err(ApiError::rate_limited("identity", wait));
        }
        Ok(Auth {
            identity: claims.sub,
        })
    }
}

/// `Json<T>` whose rejections are §7 errors: 400 `Malformed` for bad JSON or wrong
/// types, 413 over the body limit, 415 without `Content-Type: application/json`.
/// `LIMIT` is the body limit the route enforces, named in the 413 message.
pub struct ApiJson<T, const LIMIT: usize = BODY_LIMIT>(pub T);

impl<S: Send + Sync, T: DeserializeOwned, const LIMIT: usize> FromRequest<S> for ApiJson<T, LIMIT> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UnsupportedMediaType",
                "send the body as JSON with `Content-Type: application/json`",
            )),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::too_large(LIMIT))
            }
            Err(rejection) => {
                let mut detail = rejection.body_text();
                if detail.len() > 200 {
                    let cut = (0..=200)
                        .rev()
                        .find(|&i| detail.is_char_boundary(i))
                        .unwrap_or(0);
                    detail.truncate(cut);
                    detail.push('…');
                }
                Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "Malformed",
                    format!("the body is not the JSON this endpoint takes: {detail}"),
                ))
            }
        }
    }
}

pub(super) fn path_error(rejection: PathRejection) -> ApiError {
    ApiError::invalid(format!("bad path: {}", rejection.body_text()))
}

pub(super) fn query_error(rejection: QueryRejection) -> ApiError {
    ApiError::invalid(format!("bad query string: {}", rejection.body_text()))
}

pub(super) fn checked_identity(identity: &str, what: &str) -> Result<(), ApiError> {
    validate_identity(identity).map_err(|_| {
        ApiError::invalid(format!(
            "{what} is not a valid identity: 1 to 256 bytes of UTF-8 without control characters"
        ))
    })
}
