//! Mixed load on SQLite with no error.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::support::{App, Backend, TestDb, User};
use super::{ms, percentile, start_quiet, Rng, SERIAL};

/// Concurrent clients of the load test, each one request at a time on keep-alive.
const LOAD_CLIENTS: usize = 32;
/// Identities published before the load, for lookups.
const LOAD_IDENTITIES: usize = 500;

/// `CHATSEAL_LOAD_SECONDS` (default 60) of closed-loop load on SQLite from
/// [`LOAD_CLIENTS`] tasks: 80 % lookups of 2 known identities, 20 % publishes (half new
/// identities, half rotations of the task's last one). Every request must be a 2xx;
/// figures are printed, speed is not asserted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_mixed_load_without_errors() {
    let _serial = SERIAL.lock().await;
    let seconds: u64 = std::env::var("CHATSEAL_LOAD_SECONDS")
        .ok()
        .map(|s| {
            s.parse()
                .expect("CHATSEAL_LOAD_SECONDS is a number of seconds")
        })
        .unwrap_or(60);
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let app = Arc::new(App::new());
    let server = start_quiet(&db.url, &app).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let base = server.base.clone();
    let known: Arc<Vec<String>> =
        Arc::new((0..LOAD_IDENTITIES).map(|i| format!("known{i}")).collect());
    let mut seeders = Vec::new();
    for part in 0..8 {
        let (http, base, app, known) = (http.clone(), base.clone(), app.clone(), known.clone());
        seeders.push(tokio::spawn(async move {
            for identity in known.iter().skip(part).step_by(8) {
                let card = User::new(identity).card(None).to_text();
                let resp = http
                    .post(format!("{base}/v2/cards"))
                    .bearer_auth(app.token(identity))
                    .json(&json!({ "card": card }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 201);
            }
        }));
    }
    for s in seeders {
        s.await.unwrap();
    }

    struct Tally {
        lookups: usize,
        publishes: usize,
        latencies: Vec<Duration>,
        errors: Vec<String>,
        error_count: usize,
    }
    let duration = Duration::from_secs(seconds);
    let started = Instant::now();
    let deadline = started + duration;
    let mut clients = Vec::new();
    for c in 0..LOAD_CLIENTS {
        let (http, base, app, known) = (http.clone(), base.clone(), app.clone(), known.clone());
        clients.push(tokio::spawn(async move {
            let mut rng = Rng::new(1000 + c as u64);
            let reader = app.token(&format!("load-reader{c}"));
            let mut tally = Tally {
                lookups: 0,
                publishes: 0,
                latencies: Vec::with_capacity(100_000),
                errors: Vec::new(),
                error_count: 0,
            };
            // The task's last identity: (user, token, current card id).
            let mut own: Option<(User, String, chatseal::proto::CardId)> = None;
            let mut n = 0usize;
            while Instant::now() < deadline {
                n += 1;
                let (req, next_own) = if rng.below(10) < 8 {
                    let a = &known[rng.below(known.len())];
                    let b = &known[rng.below(known.len())];
                    let req = http
                        .post(format!("{base}/v2/cards/lookup"))
                        .bearer_auth(&reader)
                        .json(&json!({ "identities": [a, b] }));
                    tally.lookups += 1;
                    (req, None)
                } else {
                    tally.publishes += 1;
                    match own.take() {
                        Some((mut user, token, prev)) if n % 2 == 0 => {
                            // Signed by the current card's key, as PROTOCOL §2 requires;
                            // the user keeps the new keys for the next rotation.
                            let card = user.rotate(prev);
                            let req = http
                                .post(format!("{base}/v2/cards"))
                                .bearer_auth(&token)
                                .json(&json!({ "card": card.to_text() }));
                            (req, Some((user, token, card.id())))
                        }
                        _ => {
                            let user = User::new(&format!("load{c}-{n}"));
                            let token = app.token(&user.identity);
                            let card = user.card(None);
                            let req = http
                                .post(format!("{base}/v2/cards"))
                                .bearer_auth(&token)
                                .json(&json!({ "card": card.to_text() }));
                            (req, Some((user, token, card.id())))
                        }
                    }
                };
                let sent_at = Instant::now();
                let result = match req.send().await {
                    Ok(r) if r.status().is_success() => {
                        r.bytes().await.map(|_| ()).map_err(|e| e.to_string())
                    }
                    Ok(r) => {
                        let status = r.status();
                        Err(format!("{status}: {}", r.text().await.unwrap_or_default()))
                    }
                    Err(e) => Err(format!("transport: {e}")),
                };
                tally.latencies.push(sent_at.elapsed());
                match result {
                    Ok(()) => {
                        if next_own.is_some() {
                            own = next_own;
                        }
                    }
                    Err(e) => {
                        tally.error_count += 1;
                        if tally.errors.len() < 5 {
                            tally.errors.push(e);
                        }
                    }
                }
            }
            tally
        }));
    }
    let mut all = Tally {
        lookups: 0,
        publishes: 0,
        latencies: Vec::new(),
        errors: Vec::new(),
        error_count: 0,
    };
    for client in clients {
        let t = client.await.unwrap();
        all.lookups += t.lookups;
        all.publishes += t.publishes;
        all.latencies.extend(t.latencies);
        all.errors.extend(t.errors);
        all.error_count += t.error_count;
    }
    let elapsed = started.elapsed();
    all.latencies.sort_unstable();
    let total = all.latencies.len();
    eprintln!(
        "mixed load, SQLite, {LOAD_CLIENTS} keep-alive clients, {}: {total} requests \
         ({} lookups of 2 identities, {} publishes), {:.0} requests/s, p50 {}, p99 {}, max {}, \
         {} errors",
        ms(elapsed),
        all.lookups,
        all.publishes,
        total as f64 / elapsed.as_secs_f64(),
        ms(percentile(&all.latencies, 0.50)),
        ms(percentile(&all.latencies, 0.99)),
        ms(all.latencies.last().copied().unwrap_or_default()),
        all.error_count
    );
    assert!(total > 0, "no request was made");
    assert_eq!(
        all.error_count, 0,
        "errors under load, e.g. {:?}",
        all.errors
    );
    assert!(server.terminate().await, "the server did not stop cleanly");
}
