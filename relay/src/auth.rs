//! Who is calling: the relay's user tokens (HS256 with `user_id`, as a Stream backend mints them) and the [`StreamUser`] extractor that checks them.

use super::*;

#[derive(Serialize, Deserialize)]
struct StreamClaims {
    user_id: String,
    iat: u64,
}

/// The user of a request's token (`Authorization: <jwt>`, as stream-chat sends it).
pub(crate) struct StreamUser(pub(crate) String);

impl FromRequestParts<Arc<Relay>> for StreamUser {
    type Rejection = StreamError;

    async fn from_request_parts(
        parts: &mut Parts,
        relay: &Arc<Relay>,
    ) -> Result<Self, StreamError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim())
            .ok_or_else(|| StreamError::auth("send the user's token in `Authorization`"))?;
        relay.verify(token).map(StreamUser)
    }
}

impl Relay {
    /// A user token for the relay, like the ones a Stream backend mints (HS256, `user_id`).
    pub fn token_for(&self, user_id: &str) -> Result<String, jsonwebtoken::errors::Error> {
        let claims = StreamClaims {
            user_id: user_id.to_owned(),
            iat: chatseal_server::auth::unix_now(),
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&self.secret),
        )
    }

    pub(crate) fn verify(&self, token: &str) -> Result<String, StreamError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.required_spec_claims = HashSet::new();
        validation.validate_aud = false;
        let data = jsonwebtoken::decode::<StreamClaims>(
            token,
            &DecodingKey::from_secret(&self.secret),
            &validation,
        )
        .map_err(|_| {
            StreamError::auth(
                "the token is not one this relay signed: get one from /v1/stream-credentials",
            )
        })?;
        Ok(data.claims.user_id)
    }
}
