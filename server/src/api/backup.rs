//! `/v2/backup`: the caller's opaque key backup (PROTOCOL §7).

use super::*;

/// `PUT /v2/backup` body.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupBody {
    /// The backup, `csb1.` text; stored as it is.
    pub backup: String,
}

/// `GET /v2/backup` answer (PROTOCOL §7): the caller's backups. Today one password
/// backup (`csb1.`); passkey backups (`csw1.`, §4.1) join it with that issue.
#[derive(Serialize, ToSchema)]
pub struct BackupsBody {
    /// The backups, texts stored as they came.
    pub backups: Vec<String>,
}

/// Stores the caller's key backup, replacing any earlier one.
#[utoipa::path(put, path = "/v2/backup", tag = "backup",
    request_body = BackupBody,
    responses((status = 201, description = "created"), (status = 204, description = "replaced"),
              (status = 400, body = ErrorBody)),
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
    // Opaque, but it must at least be a backup: the csb1. prefix and base64url.
    let payload = backup
        .strip_prefix("csb1.")
        .ok_or_else(|| ApiError::invalid("a backup is csb1. text (PROTOCOL §4)"))?;
    b64u_decode(payload).map_err(|_| ApiError::invalid("the backup is not valid base64url"))?;
    let created = state
        .store
        .put_backup(&auth.identity, &backup, unix_now() as i64)
        .await?;
    Ok(if created {
        StatusCode::CREATED
    } else {
        StatusCode::NO_CONTENT
    })
}

/// The caller's key backups (404 when there is none).
#[utoipa::path(get, path = "/v2/backup", tag = "backup",
    responses((status = 200, body = BackupsBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(super) async fn get_backup(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<BackupsBody>, ApiError> {
    match state.store.get_backup(&auth.identity).await? {
        Some(backup) => Ok(Json(BackupsBody {
            backups: vec![backup],
        })),
        None => Err(ApiError::not_found("this identity has no backup")),
    }
}

/// Deletes the caller's key backup.
#[utoipa::path(delete, path = "/v2/backup", tag = "backup",
    responses((status = 204, description = "deleted"), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(super) async fn delete_backup(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<StatusCode, ApiError> {
    if state.store.delete_backup(&auth.identity).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("this identity has no backup"))
    }
}
