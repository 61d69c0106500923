//! Slow clients (slowloris) must not starve the others.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::support::{App, Backend, TestDb, User};
use super::{ms, percentile, start_quiet, SERIAL};

/// Slow connections opened at once.
const SLOW_CONNECTIONS: usize = 200;
/// Each normal request during the attack must be answered within this.
const PROMPT: Duration = Duration::from_secs(2);

/// [`SLOW_CONNECTIONS`] connections send a request head one byte a second, never ending
/// it (slowloris). Meanwhile normal requests, on a keep-alive connection and on fresh
/// ones, must all succeed within [`PROMPT`]; and the server must close every slow
/// connection once its header-read timeout
/// ([`chatseal_server::DEFAULT_HEADER_TIMEOUT`]) has passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_do_not_starve_others() {
    let _serial = SERIAL.lock().await;
    let timeout = chatseal_server::DEFAULT_HEADER_TIMEOUT;
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let app = Arc::new(App::new());
    let server = start_quiet(&db.url, &app).await;
    let addr = server.base.strip_prefix("http://").unwrap().to_owned();
    let give_up = timeout + Duration::from_secs(10);
    let started = Instant::now();
    let mut slow = Vec::new();
    for i in 0..SLOW_CONNECTIONS {
        let addr = addr.clone();
        slow.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
            let opened = Instant::now();
            let (mut reader, mut writer) = stream.into_split();
            let trickle = async move {
                let head = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nX-Slow-{i}: ");
                for byte in head.bytes().chain(std::iter::repeat(b'a')) {
                    if writer.write_all(&[byte]).await.is_err() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                std::future::pending::<()>().await;
            };
            let closed = async {
                let mut buf = [0u8; 512];
                loop {
                    match reader.read(&mut buf).await {
                        Ok(0) | Err(_) => return opened.elapsed(),
                        Ok(_) => {}
                    }
                }
            };
            tokio::select! {
                () = trickle => None,
                after = closed => Some(after),
                () = tokio::time::sleep(give_up) => None,
            }
        }));
    }
    // A connection that sends one whole request and then stays idle (keep-alive).
    let idle = {
        let addr = addr.clone();
        tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
            let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n");
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut buf = [0u8; 1024];
            let n = stream.read(&mut buf).await.unwrap();
            assert!(
                buf[..n].starts_with(b"HTTP/1.1 200"),
                "{:?}",
                String::from_utf8_lossy(&buf[..n])
            );
            let answered = Instant::now();
            let closed = tokio::time::timeout(give_up, async {
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    }
                }
            })
            .await;
            closed.ok().map(|()| answered.elapsed())
        })
    };
    // Normal traffic while they hang on.
    let keep_alive = reqwest::Client::builder().timeout(PROMPT).build().unwrap();
    let alice = User::new("alice");
    let token = app.token("alice");
    let resp = keep_alive
        .post(server.url("/v2/cards"))
        .bearer_auth(&token)
        .json(&json!({ "card": alice.card(None).to_text() }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let mut latencies = Vec::new();
    let mut failures = Vec::new();
    let mut n = 0usize;
    while slow.iter().any(|t| !t.is_finished())
        && started.elapsed() < give_up + Duration::from_secs(2)
    {
        n += 1;
        // Every other request on a fresh connection: accepting must keep working too.
        let client = if n % 2 == 0 {
            keep_alive.clone()
        } else {
            reqwest::Client::builder()
                .timeout(PROMPT)
                .pool_max_idle_per_host(0)
                .build()
                .unwrap()
        };
        let req = match n % 3 {
            0 => client.get(server.url("/healthz")),
            1 => client
                .post(server.url("/v2/cards/lookup"))
                .bearer_auth(&token)
                .json(&json!({ "identities": ["alice", "nobody"] })),
            _ => {
                let user = User::new(&format!("normal{n}"));
                client
                    .post(server.url("/v2/cards"))
                    .bearer_auth(app.token(&user.identity))
                    .json(&json!({ "card": user.card(None).to_text() }))
            }
        };
        let sent = Instant::now();
        match req.send().await {
            Ok(r) if r.status().is_success() => latencies.push(sent.elapsed()),
            Ok(r) => failures.push(format!("{}", r.status())),
            Err(e) => failures.push(format!("after {}: {e}", ms(sent.elapsed()))),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut closed_after = Vec::new();
    let mut held = 0;
    for t in slow {
        match t.await.unwrap() {
            Some(after) => closed_after.push(after),
            None => held += 1,
        }
    }
    let idle_closed_after = idle.await.unwrap();
    closed_after.sort_unstable();
    latencies.sort_unstable();
    eprintln!(
        "slowloris: {SLOW_CONNECTIONS} connections sending a header byte a second; {} closed by \
         the server after {}–{} (header timeout {timeout:?}), {held} still open after {give_up:?}; \
         meanwhile {} normal requests, {} failed, p50 {}, max {} (bound {PROMPT:?})",
        closed_after.len(),
        ms(closed_after.first().copied().unwrap_or_default()),
        ms(closed_after.last().copied().unwrap_or_default()),
        latencies.len() + failures.len(),
        failures.len(),
        ms(percentile(&latencies, 0.5)),
        ms(latencies.last().copied().unwrap_or_default()),
    );
    eprintln!(
        "  an idle keep-alive connection was closed {} after its answer",
        idle_closed_after.map_or(format!("not within {give_up:?}"), ms)
    );
    assert!(failures.is_empty(), "normal requests failed: {failures:?}");
    assert!(
        latencies.len() >= 20,
        "too few normal requests: {}",
        latencies.len()
    );
    assert_eq!(held, 0, "slow connections were never closed");
    assert!(
        closed_after
            .first()
            .is_some_and(|t| *t + Duration::from_secs(1) >= timeout),
        "slow connections closed before the header timeout: {:?}",
        closed_after.first()
    );
    assert!(
        closed_after
            .last()
            .is_some_and(|t| *t <= timeout + Duration::from_secs(5)),
        "slow connections closed long after the header timeout: {:?}",
        closed_after.last()
    );
    assert!(server.terminate().await, "the server did not stop cleanly");
}
