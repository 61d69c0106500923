//! Stream's error answers: [`StreamError`], the body and status stream-chat expects.

use super::*;

/// A refusal in Stream's error shape (`{"code", "message", "StatusCode"}`), which
/// stream-chat turns into its `Error` with that message.
#[derive(Debug)]
pub struct StreamError {
    pub(crate) status: StatusCode,
    pub(crate) code: u32,
    pub(crate) message: String,
}

impl StreamError {
    pub(crate) fn input(message: impl Into<String>) -> Self {
        StreamError {
            status: StatusCode::BAD_REQUEST,
            code: 4,
            message: message.into(),
        }
    }

    pub(crate) fn auth(message: impl Into<String>) -> Self {
        StreamError {
            status: StatusCode::UNAUTHORIZED,
            code: 5,
            message: message.into(),
        }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        StreamError {
            status: StatusCode::NOT_FOUND,
            code: 16,
            message: message.into(),
        }
    }

    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        StreamError {
            status: StatusCode::FORBIDDEN,
            code: 17,
            message: message.into(),
        }
    }

    /// Stream's "Payload Too Big" (413, code 22).
    pub(crate) fn too_large(limit: u64) -> Self {
        StreamError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: 22,
            message: format!("the upload is larger than this relay's limit of {limit} bytes"),
        }
    }

    /// The uploads folder failed (logged; the answer does not say how).
    pub(crate) fn storage(err: &std::io::Error) -> Self {
        tracing::error!(cause = %err, "relay: cannot store or remove an upload");
        StreamError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: 0,
            message: "the demo chat relay's uploads folder failed; it has been logged".into(),
        }
    }
}

impl From<sqlx::Error> for StreamError {
    fn from(err: sqlx::Error) -> Self {
        tracing::error!(cause = %err, "relay: database error");
        StreamError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: 0,
            message: "the demo chat relay could not reach its database; it has been logged".into(),
        }
    }
}

impl From<FilterError> for StreamError {
    fn from(err: FilterError) -> Self {
        StreamError::input(err.0)
    }
}

impl IntoResponse for StreamError {
    fn into_response(self) -> Response {
        let body = json!({
            "code": self.code,
            "message": self.message,
            "StatusCode": self.status.as_u16(),
            "duration": "0.00ms",
            "more_info": "",
        });
        (self.status, Json(body)).into_response()
    }
}
