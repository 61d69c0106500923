//! The one error shape of PROTOCOL §7: `{"error": {"code": "...", "message": "..."}}`.
//!
//! Every refusal the server makes, from a handler, an extractor, a middleware or the
//! router's fallbacks, goes through [`ApiError`], so a client never has to parse anything
//! else. Messages are written for the developer reading a network log; they never contain
//! a token, a card or a backup.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A refusal: an HTTP status, a stable machine-readable `code` and a human message.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable name a client may match on (e.g. `"Unauthorized"`, `"Malformed"`).
    pub code: &'static str,
    /// What went wrong and, where it helps, what to do about it.
    pub message: String,
    /// Seconds to wait, for 429 answers (`Retry-After`).
    pub retry_after: Option<u64>,
}

/// The body of every error answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error itself.
    pub error: ErrorDetail,
}

/// `code` and `message` of an error answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable error name: `Malformed`, `BadSignature`, `InvalidArgument`, `Unauthorized`,
    /// `Forbidden`, `NotFound`, `Conflict`, `TooManyBackups`, `TooManyLinks`,
    /// `PayloadTooLarge`, `UnsupportedMediaType`, `MethodNotAllowed`, `RateLimited`,
    /// `Internal`; and PROTOCOL §2's own two for `POST /v2/cards`, `bad_rotation` (400)
    /// and `not_current` (409).
    pub code: String,
    /// A sentence for the developer.
    pub message: String,
}

impl ApiError {
    /// An error with the given status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400 `InvalidArgument`: the request is well-formed JSON but asks for something invalid.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidArgument", message)
    }

    /// 401 `Unauthorized`: the token is missing or fails PROTOCOL §6.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Unauthorized", message)
    }

    /// 403 `Forbidden`: a valid token for another identity.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden", message)
    }

    /// 404 `NotFound`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFound", message)
    }

    /// 409 `Conflict`.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "Conflict", message)
    }

    /// 409 `TooManyBackups`: the identity keeps the most passkey backups allowed.
    pub fn too_many_backups(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "TooManyBackups", message)
    }

    /// 409 `TooManyLinks`: the identity has the most device-link offers waiting allowed.
    pub fn too_many_links(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "TooManyLinks", message)
    }

    /// 413 `PayloadTooLarge`.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLarge",
            format!("the request body is larger than the {limit}-byte limit of this endpoint"),
        )
    }

    /// 429 `RateLimited`, with the seconds to wait.
    pub fn rate_limited(what: &str, retry_after: u64) -> Self {
        ApiError {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "RateLimited",
                format!("too many requests from this {what}; retry after {retry_after} s"),
            )
        }
    }

    /// 500 `Internal`. The cause goes to the log, not to the client.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal",
            "the server failed to complete the request; it has been logged",
        )
    }
}

impl From<chatseal::proto::Error> for ApiError {
    /// A card or backup that fails the protocol's checks: 400 with the PROTOCOL name.
    fn from(err: chatseal::proto::Error) -> Self {
        Self::new(StatusCode::BAD_REQUEST, err.code(), err.to_string())
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        Self::internal(&err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"chatseal-directory\""),
            );
        }
        response
    }
}
