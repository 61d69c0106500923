//! Uploads: stored, served and removed, and where the uploads folder is by default.

use std::path::{Path, PathBuf};

use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

use super::support::{self, Backend, Server, TestDb};
use super::{demo_with, stream, stream_token, uploads_dir};

crate::on_both_databases!(
    uploads_are_stored_served_and_removed,
    uploads_folder_defaults,
);

/// Uploads a file as stream-chat's `sendFile` does: multipart with `file` and `user` parts.
async fn upload(s: &Server, token: &str, path: &str, bytes: &[u8]) -> (u16, Value) {
    let form = Form::new()
        .part(
            "file",
            Part::bytes(bytes.to_vec())
                .file_name("photo.jpg.sealed")
                .mime_str("application/octet-stream")
                .unwrap(),
        )
        .text("user", r#"{"id":"ignored"}"#);
    let resp = s
        .http
        .post(s.url(path))
        .header("authorization", token)
        .header("stream-auth-type", "jwt")
        .multipart(form)
        .send()
        .await
        .unwrap();
    support::read(resp).await
}

/// The names of the files in `dir`, sorted.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Bytes that are not text: every byte value, over and over, shifted by `seed`.
fn ciphertext(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

async fn uploads_are_stored_served_and_removed(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    const LIMIT: usize = 100_000;
    let folder = uploads_dir(&db);
    let folder_arg = folder.display().to_string();
    let limit_arg = LIMIT.to_string();
    let args = ["--uploads", &folder_arg, "--upload-limit", &limit_arg];
    let s = demo_with(&db.url, &args).await;
    let (alice, _) = stream_token(&s, "alice").await;
    let (bob, _) = stream_token(&s, "bob").await;
    let (carol, _) = stream_token(&s, "carol").await;
    for (id, members) in [
        ("files", json!(["alice", "bob"])),
        ("other", json!(["alice", "carol"])),
    ] {
        let (status, created) = stream(
            &s,
            &alice,
            "POST",
            &format!("/channels/messaging/{id}/query"),
            Some(json!({"data": {"members": members}})),
        )
        .await;
        assert_eq!(status, 200, "{created}");
        // Offered to stream-chat-react, which shows its attachment button for it.
        assert_eq!(created["channel"]["config"]["uploads"], true);
        assert!(
            created["channel"]["own_capabilities"]
                .as_array()
                .unwrap()
                .contains(&json!("upload-file")),
            "{created}"
        );
    }
    let (status, app) = stream(&s, &alice, "GET", "/app", None).await;
    assert_eq!(status, 200, "{app}");
    let size_limit = app["app"]["file_upload_config"]["size_limit"]
        .as_u64()
        .unwrap();
    assert!(size_limit > 0 && size_limit < LIMIT as u64, "{app}");

    // Stored as sent, served to anyone with the URL (no token) as an opaque download.
    let sealed = ciphertext(LIMIT, 7);
    let (status, body) = upload(&s, &alice, "/channels/messaging/files/file", &sealed).await;
    assert_eq!(status, 200, "{body}");
    let url = body["file"].as_str().unwrap().to_owned();
    let name = url
        .strip_prefix(&format!("{}/uploads/", s.base))
        .unwrap_or_else(|| panic!("{url} is not on this server"))
        .to_owned();
    assert!(
        name.len() == 32
            && name
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{name}"
    );
    assert!(body["duration"].as_str().unwrap().ends_with("ms"), "{body}");
    let resp = s
        .http
        .get(&url)
        .header("origin", "http://elsewhere.example")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    assert_eq!(header("content-type"), "application/octet-stream");
    assert_eq!(header("content-length"), LIMIT.to_string());
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(
        header("cache-control"),
        "private, max-age=31536000, immutable"
    );
    assert_eq!(header("content-disposition"), "attachment");
    assert_eq!(header("access-control-allow-origin"), "*");
    assert!(
        resp.bytes().await.unwrap() == sealed,
        "the bytes come back as stored"
    );
    let (status, image) = upload(&s, &bob, "/channels/messaging/files/image", b"\x00sealed").await;
    assert_eq!(status, 200, "{image}");
    let image_url = image["file"].as_str().unwrap().to_owned();
    let image_name = image_url.rsplit('/').next().unwrap().to_owned();
    assert_ne!(image_name, name);
    let mut both = vec![name.clone(), image_name.clone()];
    both.sort();
    assert_eq!(
        files_in(&folder),
        both,
        "one file per upload, no temporary files"
    );

    // Members only; Stream's error shape.
    let (status, body) = upload(&s, &carol, "/channels/messaging/files/file", b"x").await;
    assert_eq!((status, body["code"].clone()), (403, json!(17)), "{body}");
    let (status, body) = stream(
        &s,
        &carol,
        "DELETE",
        &format!("/channels/messaging/files/file?url={url}"),
        None,
    )
    .await;
    assert_eq!((status, body["code"].clone()), (403, json!(17)), "{body}");
    let (status, body) = upload(&s, "not-a-jwt", "/channels/messaging/files/file", b"x").await;
    assert_eq!((status, body["code"].clone()), (401, json!(5)), "{body}");

    // Over the limit: 413, and nothing is left behind.
    let over = ciphertext(LIMIT + 1, 9);
    let (status, body) = upload(&s, &alice, "/channels/messaging/files/file", &over).await;
    assert_eq!((status, body["code"].clone()), (413, json!(22)), "{body}");
    assert_eq!(body["StatusCode"], 413, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains(&LIMIT.to_string()),
        "{body}"
    );
    assert_eq!(files_in(&folder), both, "the refused upload left nothing");

    // Not an upload: no `file` part, or not multipart at all.
    let resp = s
        .http
        .post(s.url("/channels/messaging/files/file"))
        .header("authorization", &alice)
        .multipart(Form::new().text("user", "{}"))
        .send()
        .await
        .unwrap();
    let (status, body) = support::read(resp).await;
    assert_eq!((status, body["code"].clone()), (400, json!(4)), "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("`file`"),
        "{body}"
    );
    let (status, body) = stream(
        &s,
        &alice,
        "POST",
        "/channels/messaging/files/file",
        Some(json!({"file": "x"})),
    )
    .await;
    assert_eq!((status, body["code"].clone()), (400, json!(4)), "{body}");
    assert_eq!(files_in(&folder), both);

    // Only upload names are served: no other name, and no path, reaches the folder.
    for bad in [
        "xyz".to_owned(),
        name.to_uppercase(),
        name[..31].to_owned(),
        format!("{name}0"),
        "..%2F..%2F..%2Fetc%2Fpasswd".to_owned(),
        "%2e%2e".to_owned(),
        format!(".upload-{}", &name[8..]),
        "0123456789abcdef0123456789abcdef".to_owned(),
        format!("{name}/x"),
    ] {
        let resp = s
            .http
            .get(s.url(&format!("/uploads/{bad}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404, "/uploads/{bad}");
    }

    // Removing: only in the channel the upload belongs to; unknown URLs are no error.
    let delete = |token: &str, channel: &str, url: &str| {
        let path = format!("/channels/messaging/{channel}/file?url={}", encode(url));
        let token = token.to_owned();
        let s = &s;
        async move { stream(s, &token, "DELETE", &path, None).await }
    };
    let (status, body) = delete(&alice, "other", &url).await;
    assert_eq!((status, body), (200, json!({"duration": "0ms"})));
    assert_eq!(files_in(&folder), both, "not an upload of that channel");
    for unknown in [
        "http://nowhere/uploads/0123456789abcdef0123456789abcdef",
        "junk",
        "",
    ] {
        let (status, body) = delete(&alice, "files", unknown).await;
        assert_eq!(
            (status, body),
            (200, json!({"duration": "0ms"})),
            "{unknown}"
        );
    }
    let (status, body) = stream(&s, &alice, "DELETE", "/channels/messaging/files/file", None).await;
    assert_eq!((status, body["code"].clone()), (400, json!(4)), "{body}");
    let (status, body) = delete(&bob, "files", &url).await;
    assert_eq!((status, body), (200, json!({"duration": "0ms"})));
    assert_eq!(files_in(&folder), std::slice::from_ref(&image_name));
    let resp = s.http.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 404);

    // A restart keeps the files and what the relay knows of them.
    assert!(s.terminate().await, "clean exit on SIGTERM");
    let s = demo_with(&db.url, &args).await;
    let resp = s
        .http
        .get(s.url(&format!("/uploads/{image_name}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(&resp.bytes().await.unwrap()[..], b"\x00sealed");
    let (alice, _) = stream_token(&s, "alice").await;
    let path = format!("/channels/messaging/files/image?url={}", encode(&image_url));
    let (status, _) = stream(&s, &alice, "DELETE", &path, None).await;
    assert_eq!(status, 200);
    assert_eq!(files_in(&folder), Vec::<String>::new());
}

/// Percent-encodes a query parameter value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Without `--uploads`: beside a SQLite file, or (PostgreSQL) a temporary folder removed
/// at exit; a folder that cannot be made stops the server with a clear error.
async fn uploads_folder_defaults(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let s = demo_with(&db.url, &[]).await;
    let (alice, _) = stream_token(&s, "alice").await;
    let (status, _) = stream(
        &s,
        &alice,
        "POST",
        "/channels/messaging/solo/query",
        Some(json!({"data": {"members": ["alice"]}})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = upload(&s, &alice, "/channels/messaging/solo/file", b"sealed").await;
    assert_eq!(status, 200, "{body}");
    let name = body["file"].as_str().unwrap().rsplit('/').next().unwrap();
    let logs = without_colours(&s.logs());
    let folder = logs
        .split_whitespace()
        .find_map(|w| w.strip_prefix("folder="))
        .unwrap_or_else(|| panic!("no uploads folder in the logs: {logs}"));
    let folder = PathBuf::from(folder);
    assert_eq!(files_in(&folder), [name]);
    assert!(s.terminate().await, "clean exit on SIGTERM");
    match backend {
        Backend::Sqlite => {
            let db_file = db.url.strip_prefix("sqlite://").unwrap();
            assert_eq!(folder, PathBuf::from(format!("{db_file}-uploads")));
            assert!(folder.is_dir(), "kept with the database");
        }
        Backend::Postgres => {
            assert!(
                folder.starts_with(std::env::temp_dir()),
                "{}",
                folder.display()
            );
            assert!(!folder.exists(), "the temporary folder is removed at exit");
        }
    }

    std::fs::write(db.scratch().join("a-file"), b"").unwrap();
    let out = tokio::process::Command::new(support::BIN)
        .args(["--listen", "127.0.0.1:0", "--db", &db.url])
        .arg("--uploads")
        .arg(db.scratch().join("a-file").join("uploads"))
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot create the uploads folder") && stderr.contains("--uploads"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "it never listened");
}

/// `text` without its ANSI colour codes.
fn without_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
