//! `/v2/backup`: the caller's opaque key backups (PROTOCOL §4, §4.1, §7): one password
//! backup (`csb1.`) and one passkey backup (`csw1.`) per WebAuthn credential.

use chatseal::proto::passkey;

use super::*;
use crate::store::{PasskeyPut, MAX_PASSKEY_BACKUPS};

/// The longest WebAuthn credential id a passkey backup may be keyed by, in bytes.
pub const MAX_CREDENTIAL_ID_LEN: usize = 1023;

/// `PUT /v2/backup` body.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupBody {
    /// The backup: `csb1.` text (the password backup, §4) or `csw1.` text (a passkey
    /// backup, §4.1); stored as it is.
    pub backup: String,
}

/// `GET /v2/backup` answer (PROTOCOL §7): the caller's backups.
#[derive(Serialize, ToSchema)]
pub struct BackupsBody {
    /// The backups, texts stored as they came: the password backup first, if there is
    /// one, then the passkey backups in the order they were first stored.
    pub backups: Vec<String>,
}

/// `DELETE /v2/backup` query.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeleteBackupQuery {
    /// The credential id (base64url) of the passkey backup to delete; without it, the
    /// password backup is deleted.
    pub credential: Option<String>,
}

/// Stores one of the caller's key backups: the password backup (`csb1.`), or the
/// passkey backup (`csw1.`) of the credential it names, replacing any earlier one of
/// the same kind (and credential). At most 16 passkey backups per identity.
#[utoipa::path(put, path = "/v2/backup", tag = "backup",
    request_body = BackupBody,
    responses((status = 201, description = "created"), (status = 204, description = "replaced"),
              (status = 400, body = ErrorBody),
              (status = 409, description = "`TooManyBackups`: 16 passkey backups already", body = ErrorBody)),
    security(("bearer" = [])))]
pub(super) async fn put_backup(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<BackupBody>,
) -> Result<StatusCode, ApiError> {
    let backup = body.backup;
    if backup.len() > MAX_BACKUP_LEN {
        return Err(ApiError::invalid(format!(
            "a backup is at most {MAX_BACKUP_LEN} bytes"
        )));
    }
    let now = unix_now() as i64;
    let created = if backup.starts_with(passkey::TEXT_PREFIX) {
        // The layout is checked (§4.1) for the credential id it is keyed by; the
        // keyring stays sealed.
        let sealed = passkey::Sealed::parse(&backup)?;
        let credential_id = sealed.credential_id();
        checked_credential_id(credential_id)?;
        match state
            .store
            .put_passkey_backup(&auth.identity, credential_id, &backup, now)
            .await?
        {
            PasskeyPut::Created => true,
            PasskeyPut::Replaced => false,
            PasskeyPut::TooMany => {
                return Err(ApiError::too_many_backups(format!(
                    "this identity already keeps {MAX_PASSKEY_BACKUPS} passkey backups; \
                     delete one (DELETE /v2/backup?credential=...) first"
                )))
            }
        }
    } else {
        // Opaque, but it must at least be a backup: the csb1. prefix and base64url.
        let payload = backup.strip_prefix("csb1.").ok_or_else(|| {
            ApiError::invalid("a backup is csb1. (PROTOCOL §4) or csw1. (§4.1) text")
        })?;
        b64u_decode(payload).map_err(|_| ApiError::invalid("the backup is not valid base64url"))?;
        state.store.put_backup(&auth.identity, &backup, now).await?
    };
    Ok(if created {
        StatusCode::CREATED
    } else {
        StatusCode::NO_CONTENT
    })
}

/// The caller's key backups: the password backup first, then the passkey backups
/// (404 when there is none at all).
#[utoipa::path(get, path = "/v2/backup", tag = "backup",
    responses((status = 200, body = BackupsBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(super) async fn get_backup(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<BackupsBody>, ApiError> {
    let mut backups: Vec<String> = state
        .store
        .get_backup(&auth.identity)
        .await?
        .into_iter()
        .collect();
    backups.extend(state.store.passkey_backups(&auth.identity).await?);
    if backups.is_empty() {
        return Err(ApiError::not_found("this identity has no backup"));
    }
    Ok(Json(BackupsBody { backups }))
}

/// Deletes the caller's password backup, or with `?credential=` that credential's
/// passkey backup.
#[utoipa::path(delete, path = "/v2/backup", tag = "backup",
    params(DeleteBackupQuery),
    responses((status = 204, description = "deleted"), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(super) async fn delete_backup(
    State(state): State<AppState>,
    auth: Auth,
    query: Result<Query<DeleteBackupQuery>, QueryRejection>,
) -> Result<StatusCode, ApiError> {
    let Query(query) = query.map_err(query_error)?;
    let Some(credential) = query.credential else {
        return if state.store.delete_backup(&auth.identity).await? {
            Ok(StatusCode::NO_CONTENT)
        } else {
            Err(ApiError::not_found("this identity has no password backup"))
        };
    };
    let credential_id = b64u_decode(&credential)
        .map_err(|_| ApiError::invalid("credential is a WebAuthn credential id in base64url"))?;
    checked_credential_id(&credential_id)?;
    if state
        .store
        .delete_passkey_backup(&auth.identity, &credential_id)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(
            "this identity has no passkey backup for this credential",
        ))
    }
}

fn checked_credential_id(credential_id: &[u8]) -> Result<(), ApiError> {
    if credential_id.is_empty() || credential_id.len() > MAX_CREDENTIAL_ID_LEN {
        return Err(ApiError::invalid(format!(
            "a credential id is 1 to {MAX_CREDENTIAL_ID_LEN} bytes"
        )));
    }
    Ok(())
}
