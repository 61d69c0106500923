//! The upload routes: `POST`/`DELETE /channels/{type}/{id}/file` and `/image` (members only, streamed to the uploads folder) and `GET /uploads/{name}` (the capability URL, served as a download).

use super::*;

/// Room in an upload's body, beyond the file, for the multipart framing and the other parts
/// (stream-chat adds `user`, the uploader as JSON).
const UPLOAD_SLACK: u64 = 64 * 1024;

/// `POST` (upload) and `DELETE` (remove) of `/channels/{type}/{id}/file` and `/image`; the
/// uploads get a body limit of their own instead of the server's 64 KiB.
pub(crate) fn upload_routes(relay: &Relay) -> axum::routing::MethodRouter<Arc<Relay>> {
    let post_upload = post(upload);
    let post_upload = match relay.uploads() {
        Some(uploads) => {
            let limit = uploads.limit().saturating_add(UPLOAD_SLACK);
            post_upload.layer(DefaultBodyLimit::max(
                usize::try_from(limit).unwrap_or(usize::MAX),
            ))
        }
        None => post_upload,
    };
    post_upload.delete(delete_upload)
}

/// Stores the `file` part of a multipart upload, as Stream's CDN would, and answers
/// `{"file": URL}`. The bytes go to a temporary file as they arrive (never all in memory),
/// which becomes the upload only once the whole body has been read.
pub(crate) async fn upload(
    State(relay): State<Arc<Relay>>,
    StreamUser(user): StreamUser,
    Path((kind, id)): Path<(String, String)>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Answer {
    let started = std::time::Instant::now();
    let (channel, _) = relay.member_channel(&kind, &id, &user).await?;
    let uploads = relay
        .uploads()
        .ok_or_else(|| StreamError::input("this demo chat relay does not accept uploads"))?;
    let mut multipart = multipart.map_err(|_| {
        StreamError::input("send the upload as multipart/form-data, in a part named `file`")
    })?;
    let mut received = None;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_refusal(&e, uploads))?
    {
        // Other parts (stream-chat's `user`) and any second `file` are skipped.
        if received.is_none() && field.name() == Some("file") {
            received = Some(receive_file(uploads, &mut field).await?);
        }
    }
    let (temp, size) =
        received.ok_or_else(|| StreamError::input("the upload has no part named `file`"))?;
    let name = temp
        .keep(uploads)
        .await
        .map_err(|e| StreamError::storage(&e))?;
    let size = i64::try_from(size).unwrap_or(i64::MAX);
    let recorded = relay
        .db()
        .insert_upload(&name, &channel.cid, &user, size, now_ms())
        .await;
    if let Err(e) = recorded {
        if let Err(removed) = tokio::fs::remove_file(uploads.path(&name)).await {
            tracing::warn!(cause = %removed, "relay: cannot remove an unrecorded upload");
        }
        return Err(e.into());
    }
    Ok(Json(json!({
        "file": upload_url(&headers, &name),
        "duration": format!("{}ms", started.elapsed().as_millis()),
    })))
}

/// Writes a `file` part to a new temporary file; refused past the limit (the temporary file
/// is removed when the returned guard, or the error, drops it).
async fn receive_file(
    uploads: &Uploads,
    field: &mut axum::extract::multipart::Field<'_>,
) -> Result<(uploads::Temp, u64), StreamError> {
    let (mut file, temp) = uploads.temp().await.map_err(|e| StreamError::storage(&e))?;
    let mut size: u64 = 0;
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| multipart_refusal(&e, uploads))?
    {
        size = size.saturating_add(u64::try_from(chunk.len()).unwrap_or(u64::MAX));
        if size > uploads.limit() {
            drop(file);
            drop(temp);
            // Read the rest of the part (at most the route's body limit, discarded) so the
            // client, still sending, reads the 413 rather than a reset connection.
            while let Ok(Some(_)) = field.chunk().await {}
            return Err(StreamError::too_large(uploads.limit()));
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| StreamError::storage(&e))?;
    }
    file.sync_all()
        .await
        .map_err(|e| StreamError::storage(&e))?;
    Ok((temp, size))
}

fn multipart_refusal(
    err: &axum::extract::multipart::MultipartError,
    uploads: &Uploads,
) -> StreamError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        StreamError::too_large(uploads.limit())
    } else {
        StreamError::input(format!("cannot read the upload: {}", err.body_text()))
    }
}

/// The URL of an upload: absolute on the host the request reached (as the client must
/// fetch it from there), relative when the request named no usable host.
fn upload_url(headers: &HeaderMap, name: &str) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.contains('@')
                && h.parse::<axum::http::uri::Authority>()
                    .is_ok_and(|a| a.as_str() == *h)
        });
    match host {
        Some(host) => format!("http://{host}/uploads/{name}"),
        None => format!("/uploads/{name}"),
    }
}

#[derive(Deserialize)]
pub(crate) struct UrlParams {
    url: Option<String>,
}

/// Stream's "delete file/image": removes an upload of this channel. An unknown URL, or one
/// of another channel, is answered the same way and removes nothing.
async fn delete_upload(
    State(relay): State<Arc<Relay>>,
    StreamUser(user): StreamUser,
    Path((kind, id)): Path<(String, String)>,
    Query(params): Query<UrlParams>,
) -> Answer {
    let (channel, _) = relay.member_channel(&kind, &id, &user).await?;
    let url = params
        .url
        .ok_or_else(|| StreamError::input("url is required"))?;
    if let (Some(uploads), Some(name)) = (relay.uploads(), uploads::name_in_url(&url)) {
        let owner = relay.db().upload_channel(name).await?;
        if owner.as_deref() == Some(channel.cid.as_str()) {
            match tokio::fs::remove_file(uploads.path(name)).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StreamError::storage(&e)),
            }
            relay.db().delete_upload(name, &channel.cid).await?;
        }
    }
    Ok(Json(json!({ "duration": "0ms" })))
}

/// `GET /uploads/{name}`: the stored bytes, streamed from disk, as a download. No token:
/// see the module's documentation.
pub(crate) async fn download(
    State(relay): State<Arc<Relay>>,
    name: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    use tower::ServiceExt;
    let not_found = || StreamError::not_found("no such upload").into_response();
    let (Some(uploads), Ok(Path(name))) = (relay.uploads(), name) else {
        return not_found();
    };
    if !uploads::valid_name(&name) {
        return not_found();
    }
    let served = tower_http::services::ServeFile::new(uploads.path(&name))
        .oneshot(request)
        .await;
    let mut response = match served {
        Ok(response) => response.map(HttpBody::new),
        Err(never) => match never {},
    };
    if response.status() == StatusCode::NOT_FOUND {
        return not_found();
    }
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "application/octet-stream"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (
            header::CACHE_CONTROL,
            "private, max-age=31536000, immutable",
        ),
        (header::CONTENT_DISPOSITION, "attachment"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}
