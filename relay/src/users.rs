//! Users and app settings: query users, link previews (answered without fetching) and `/app`'s upload limits.

use super::*;

#[derive(Deserialize)]
pub(crate) struct PayloadParams {
    payload: Option<String>,
}

pub(crate) async fn query_users(
    State(relay): State<Arc<Relay>>,
    StreamUser(_): StreamUser,
    Query(params): Query<PayloadParams>,
) -> Answer {
    let payload: Value = match params.payload.as_deref() {
        Some(p) => serde_json::from_str(p)
            .map_err(|e| StreamError::input(format!("payload is not JSON: {e}")))?,
        None => Value::Null,
    };
    let filter = payload
        .get("filter_conditions")
        .cloned()
        .unwrap_or(Value::Null);
    let limit = payload
        .get("limit")
        .and_then(Value::as_u64)
        .unwrap_or(30)
        .min(100) as usize;
    let offset = payload.get("offset").and_then(Value::as_u64).unwrap_or(0) as usize;
    let mut users: Vec<(String, String)> = relay
        .users
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .map(|(id, name)| (id.clone(), name.clone()))
        .collect();
    users.sort();
    let mut found = Vec::new();
    for (id, name) in &users {
        let lookup = |field: &str| -> Option<Option<Field<'_>>> {
            Some(match field {
                "id" => Some(Field::One(id.as_str())),
                "name" => Some(Field::One(name.as_str())),
                "role" => Some(Field::One("user")),
                _ => return None,
            })
        };
        let empty = filter.is_null() || filter.as_object().is_some_and(Map::is_empty);
        if empty || filter::matches(&filter, &lookup)? {
            found.push(relay.user_json(id));
        }
    }
    let users: Vec<Value> = found.into_iter().skip(offset).take(limit).collect();
    Ok(Json(json!({ "users": users, "duration": "0.00ms" })))
}

#[derive(Deserialize)]
pub(crate) struct OgParams {
    url: Option<String>,
}

/// A link preview without the page: the relay never fetches what it is asked to.
pub(crate) async fn og(StreamUser(_): StreamUser, Query(params): Query<OgParams>) -> Answer {
    let url = params
        .url
        .ok_or_else(|| StreamError::input("url is required"))?;
    Ok(Json(json!({ "og_scrape_url": url, "duration": "0.00ms" })))
}

/// The largest file clients are told they may pick (stream-chat checks it before
/// uploading): the upload limit less 1/11 for encryption overhead, so 100 MiB of the
/// default 110 MiB.
fn file_size_limit(upload_limit: u64) -> u64 {
    upload_limit - upload_limit / 11
}

pub(crate) async fn app_settings(
    State(relay): State<Arc<Relay>>,
    StreamUser(_): StreamUser,
) -> Answer {
    let mut config = json!({
        "allowed_file_extensions": [],
        "blocked_file_extensions": [],
        "allowed_mime_types": [],
        "blocked_mime_types": [],
    });
    if let Some(uploads) = relay.uploads() {
        set(
            &mut config,
            "size_limit",
            json!(file_size_limit(uploads.limit())),
        );
    }
    Ok(Json(json!({
        "app": {
            "name": "chatseal demo relay",
            "file_upload_config": config,
            "image_upload_config": config,
        },
        "duration": "0.00ms",
    })))
}
