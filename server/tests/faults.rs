//! Faults and load against the real server process: `kill -9` in the middle of a burst of
//! writes (SQLite and PostgreSQL), PostgreSQL connections dropped and the PostgreSQL
//! server stopped under load, 60 s of mixed load with no error, and slow clients that
//! must not starve the others.
//!
//! The tests take turns (one lock): each measures something that the others would
//! disturb on a 2-core machine, and the PostgreSQL outage would break the PostgreSQL
//! tests running beside it. `CHATSEAL_LOAD_SECONDS` shortens the load test (default 60).
//! Figures are printed on stderr: `cargo test -p chatseal-server --test faults --
//! --nocapture`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chatseal_server::store::ACQUIRE_TIMEOUT;
use serde_json::{json, Value};
use sqlx::Connection;
use support::{App, Backend, Server, TestDb, User};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One test at a time (see the module comment).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

on_both_databases!(acknowledged_writes_survive_kill_9_mid_burst);

/// Starts the server with rate limits off and only warnings logged (one info line per
/// request would cost the load tests time and memory).
async fn start_quiet(db: &str, app: &App) -> Server {
    let args: Vec<String> = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--db",
        db,
        "--app-key",
        &app.app_key_arg(),
        "--rate-ip",
        "0",
        "--rate-identity",
        "0",
    ]
    .map(String::from)
    .to_vec();
    Server::spawn_with_env(&args, &[("RUST_LOG", "chatseal_server=warn,warn")]).await
}

fn kill_9(pid: u32) {
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success(), "kill -9 {pid} failed");
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// A small deterministic generator (xorshift64*), one per task.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn backup_text(tag: &str) -> String {
    format!("csb1.{}", chatseal::proto::b64u_encode(tag.as_bytes()))
}

// ---------------------------------------------------------------------------------------
// 1. kill -9 in the middle of a burst of writes.
// ---------------------------------------------------------------------------------------

/// Concurrent writers.
const BURST_WRITERS: usize = 32;
/// The server is killed once this many writes have been acknowledged.
const KILL_AFTER_ACKS: usize = 300;

/// What one writer did with one identity, in order. Each identity is written by one
/// writer, one request at a time, so at most one write of each kind is in doubt: the one
/// in flight when the server died (`pending_*`).
#[derive(Debug, Default)]
struct IdentityLog {
    identity: String,
    acked_cards: Vec<String>,
    pending_card: Option<String>,
    acked_backup: Option<String>,
    pending_backup: Option<String>,
}

/// Sends one write; whether it was acknowledged (2xx). A refusal (an answer, but not 2xx:
/// never expected before the kill) is recorded in `refused`; no answer means the server is
/// gone.
async fn send_write(
    req: reqwest::RequestBuilder,
    in_flight: &AtomicUsize,
    refused: &Mutex<Vec<String>>,
) -> bool {
    in_flight.fetch_add(1, Ordering::SeqCst);
    let sent = req.send().await;
    in_flight.fetch_sub(1, Ordering::SeqCst);
    match sent {
        Ok(r) if r.status().is_success() => true,
        Ok(r) => {
            let status = r.status();
            let why = format!("{status}: {}", r.text().await.unwrap_or_default());
            refused.lock().unwrap().push(why);
            false
        }
        Err(_) => false,
    }
}

/// Many tasks publish cards of new identities (every other one then rotates it) and put
/// backups (a second one replaces the first); the server gets `kill -9` once a few hundred
/// writes have been acknowledged, with requests in flight. After a restart on the same
/// database every acknowledged card is in its identity's history, in order, lookups
/// answer the last one (or the write in flight after it), and every backup is the last
/// acknowledged one (or the one in flight after it).
async fn acknowledged_writes_survive_kill_9_mid_burst(backend: Backend) {
    let _serial = SERIAL.lock().await;
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let app = Arc::new(App::new());
    let first = start_quiet(&db.url, &app).await;
    let pid = first.child.id().unwrap();
    let server = Arc::new(first);
    let acked = Arc::new(AtomicUsize::new(0));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(Mutex::new(Vec::<String>::new()));
    let started = Instant::now();
    let mut writers = Vec::new();
    for w in 0..BURST_WRITERS {
        let (s, app) = (server.clone(), app.clone());
        let (acked, in_flight, stop, refused) = (
            acked.clone(),
            in_flight.clone(),
            stop.clone(),
            refused.clone(),
        );
        writers.push(tokio::spawn(async move {
            let mut logs = Vec::new();
            'identities: for k in 0usize.. {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let user = User::new(&format!("w{w}-{k}"));
                let token = app.token(&user.identity);
                let mut log = IdentityLog {
                    identity: user.identity.clone(),
                    ..IdentityLog::default()
                };
                let first_card = user.card(None);
                let mut cards = vec![first_card.clone()];
                if k % 2 == 1 {
                    cards.push(user.new_card(Some(first_card.id())));
                }
                for (n, card) in cards.iter().enumerate() {
                    let text = card.to_text();
                    log.pending_card = Some(text.clone());
                    let req = s
                        .http
                        .post(s.url("/v1/cards"))
                        .bearer_auth(&token)
                        .json(&json!({ "card": text }));
                    if !send_write(req, &in_flight, &refused).await {
                        logs.push(log);
                        break 'identities;
                    }
                    log.acked_cards.push(log.pending_card.take().unwrap());
                    acked.fetch_add(1, Ordering::SeqCst);
                    let backup = backup_text(&format!("{}:{n}", user.identity));
                    log.pending_backup = Some(backup.clone());
                    let req = s
                        .http
                        .put(s.url("/v1/backup"))
                        .bearer_auth(&token)
                        .json(&json!({ "backup": backup }));
                    if !send_write(req, &in_flight, &refused).await {
                        logs.push(log);
                        break 'identities;
                    }
                    log.acked_backup = log.pending_backup.take();
                    acked.fetch_add(1, Ordering::SeqCst);
                }
                logs.push(log);
            }
            logs
        }));
    }
    // Wait for a few hundred acknowledged writes, then kill the server mid-burst.
    let deadline = Instant::now() + Duration::from_secs(120);
    while acked.load(Ordering::SeqCst) < KILL_AFTER_ACKS {
        assert!(
            Instant::now() < deadline,
            "only {} writes acknowledged in 120 s; refused: {:?}",
            acked.load(Ordering::SeqCst),
            refused.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let in_flight_at_kill = in_flight.load(Ordering::SeqCst);
    let acked_at_kill = acked.load(Ordering::SeqCst);
    kill_9(pid);
    let burst = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    let mut logs = Vec::new();
    for w in writers {
        logs.extend(w.await.unwrap());
    }
    let refused = refused.lock().unwrap().clone();
    assert!(
        refused.is_empty(),
        "writes refused before the kill: {refused:?}"
    );
    assert!(
        in_flight_at_kill > 0,
        "no request was in flight at the kill"
    );
    drop(server);

    let s = start_quiet(&db.url, &app).await;
    let reader = app.token("auditor");
    let logs: Vec<IdentityLog> = logs
        .into_iter()
        .filter(|l| !l.acked_cards.is_empty() || l.pending_card.is_some())
        .collect();
    // Lookups, 100 identities at a time.
    let mut current = BTreeMap::<String, String>::new();
    for chunk in logs.chunks(100) {
        let ids: Vec<&str> = chunk.iter().map(|l| l.identity.as_str()).collect();
        let (status, body) = s
            .call(
                "POST",
                "/v1/cards/lookup",
                Some(&reader),
                Some(&json!({ "identities": ids })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        for (identity, card) in body["cards"].as_object().unwrap() {
            current.insert(identity.clone(), card.as_str().unwrap().to_owned());
        }
    }
    let (mut acked_cards, mut acked_backups, mut unacked_stored, mut in_doubt) = (0, 0, 0, 0);
    // acked_backups: identities whose last acknowledged backup was checked.
    for log in &logs {
        let id = &log.identity;
        acked_cards += log.acked_cards.len();
        in_doubt +=
            usize::from(log.pending_card.is_some()) + usize::from(log.pending_backup.is_some());
        // The lookup answers the last acknowledged card, or the one in flight after it.
        let got = current.get(id);
        let ok = got == log.acked_cards.last()
            || (log.pending_card.is_some() && got == log.pending_card.as_ref());
        assert!(
            ok,
            "{id}: lookup answered {got:?}, acknowledged {:?}, in flight {:?}",
            log.acked_cards, log.pending_card
        );
        // The history holds every acknowledged card, in order.
        let (status, body) = s
            .call(
                "GET",
                &format!("/v1/cards/{id}/history"),
                Some(&reader),
                None,
            )
            .await;
        assert_eq!(status, 200, "{id}: {body}");
        let stored: Vec<&str> = body["cards"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        let acked: Vec<&str> = log.acked_cards.iter().map(String::as_str).collect();
        assert!(
            stored.len() == acked.len()
                || (log.pending_card.is_some() && stored.len() == acked.len() + 1),
            "{id}: {} cards stored, {} acknowledged",
            stored.len(),
            acked.len()
        );
        assert_eq!(&stored[..acked.len()], &acked[..], "{id}");
        unacked_stored += stored.len() - acked.len();
        // The backup is the last acknowledged one, or the one in flight after it.
        let (status, body) = s
            .call("GET", "/v1/backup", Some(&app.token(id)), None)
            .await;
        let got = match status {
            200 => Some(body["backup"].as_str().unwrap().to_owned()),
            404 => None,
            _ => panic!("{id}: GET /v1/backup answered {status}: {body}"),
        };
        let in_flight_stored = log.pending_backup.is_some() && got == log.pending_backup;
        assert!(
            got == log.acked_backup || in_flight_stored,
            "{id}: backup {got:?}, acknowledged {:?}, in flight {:?}",
            log.acked_backup,
            log.pending_backup
        );
        acked_backups += usize::from(log.acked_backup.is_some());
        unacked_stored += usize::from(in_flight_stored);
    }
    let acked_writes = acked.load(Ordering::SeqCst);
    assert!(acked_writes >= KILL_AFTER_ACKS);
    eprintln!(
        "kill -9 mid-burst ({backend:?}): {BURST_WRITERS} writers, killed after {} ({acked_at_kill} \
         writes acknowledged, {in_flight_at_kill} requests in flight; {acked_writes} in all); \
         after the restart all there: {acked_cards} acknowledged cards of {} identities (in \
         history order, lookups current) and the last acknowledged backup of {acked_backups}; \
         {in_doubt} writes were in doubt at the kill, {unacked_stored} of them stored",
        ms(burst),
        logs.len()
    );
    assert!(
        s.terminate().await,
        "the restarted server did not stop cleanly"
    );
}

// ---------------------------------------------------------------------------------------
// 2. PostgreSQL connections dropped, and the PostgreSQL server stopped, under load.
// ---------------------------------------------------------------------------------------

/// A request the client gives up on after this long counts as a hang.
const HANG_BOUND: Duration = Duration::from_secs(15);
/// Every request started this long after the database is back must succeed.
const RECOVERY_BOUND: Duration = Duration::from_secs(5);
/// The quiet phase after each fault: the recovery bound plus 2 s of checked requests.
const CALM: Duration = Duration::from_secs(7);
/// How long the PostgreSQL server stays stopped: a short outage, then one longer than
/// the pool's acquire timeout (requests wait that long for a connection, then get 500).
const OUTAGE: Duration = Duration::from_secs(3);
const LONG_OUTAGE: Duration = Duration::from_secs(ACQUIRE_TIMEOUT.as_secs() + 2);
/// Load workers in the outage test, each pausing this long between requests.
const OUTAGE_WORKERS: usize = 8;
const OUTAGE_PAUSE: Duration = Duration::from_millis(10);

#[derive(Debug, Clone)]
enum Outcome {
    /// 2xx.
    Ok,
    /// 5xx with the §7 error shape, and its code.
    ServerError(u16, String),
    /// Anything else: a 4xx, a 5xx of another shape, a transport error or a hang.
    Unexpected(String),
}

#[derive(Debug, Clone)]
struct Sample {
    what: &'static str,
    start: Duration,
    end: Duration,
    outcome: Outcome,
}

async fn classify(sent: Result<reqwest::Response, reqwest::Error>) -> Outcome {
    let resp = match sent {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            return Outcome::Unexpected(format!("no answer within {HANG_BOUND:?}"))
        }
        Err(e) => return Outcome::Unexpected(format!("transport error: {e}")),
    };
    let status = resp.status().as_u16();
    if resp.status().is_success() {
        return match resp.bytes().await {
            Ok(_) => Outcome::Ok,
            Err(e) => Outcome::Unexpected(format!("{status}, then the body failed: {e}")),
        };
    }
    let body = resp.text().await.unwrap_or_default();
    let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let code = json["error"]["code"].as_str();
    let message = json["error"]["message"].as_str();
    match (status, code, message) {
        (500..=599, Some(code), Some(m)) if !m.is_empty() => {
            Outcome::ServerError(status, code.to_owned())
        }
        _ => Outcome::Unexpected(format!("{status}: {body}")),
    }
}

/// The test cluster's `pg_ctl`, found from the server's own settings, to stop and start
/// it in place (same port, same socket folder).
#[derive(Clone)]
struct PgCluster {
    pg_ctl: PathBuf,
    data: PathBuf,
    log: PathBuf,
    options: String,
    run_as: Option<String>,
}

impl PgCluster {
    async fn discover(admin: &mut sqlx::PgConnection) -> Result<PgCluster, String> {
        let mut show = BTreeMap::new();
        for name in [
            "data_directory",
            "port",
            "unix_socket_directories",
            "listen_addresses",
            "max_connections",
        ] {
            let value: String = sqlx::query_scalar(&format!("SHOW {name}"))
                .fetch_one(&mut *admin)
                .await
                .map_err(|e| format!("SHOW {name}: {e}"))?;
            show.insert(name, value);
        }
        let bindir: String =
            sqlx::query_scalar("SELECT setting FROM pg_config WHERE name = 'BINDIR'")
                .fetch_one(&mut *admin)
                .await
                .map_err(|e| format!("pg_config: {e}"))?;
        let pg_ctl = PathBuf::from(bindir).join("pg_ctl");
        let data = PathBuf::from(&show["data_directory"]);
        if !pg_ctl.exists() || !data.exists() {
            return Err(format!(
                "{} or {} is not on this machine (a remote server?)",
                pg_ctl.display(),
                data.display()
            ));
        }
        let log = data.parent().unwrap_or(&data).join("server.log");
        let options = format!(
            "-c listen_addresses='{}' -p {} -k '{}' -c max_connections={}",
            show["listen_addresses"],
            show["port"],
            show["unix_socket_directories"],
            show["max_connections"]
        );
        let uid = std::process::Command::new("id")
            .arg("-u")
            .output()
            .map_err(|e| format!("id -u: {e}"))?;
        let run_as = if String::from_utf8_lossy(&uid.stdout).trim() == "0" {
            // PostgreSQL refuses to run as root: act as the cluster's owner.
            let owner = std::process::Command::new("stat")
                .args(["-c", "%U"])
                .arg(&data)
                .output()
                .map_err(|e| format!("stat: {e}"))?;
            Some(String::from_utf8_lossy(&owner.stdout).trim().to_owned())
        } else {
            None
        };
        Ok(PgCluster {
            pg_ctl,
            data,
            log,
            options,
            run_as,
        })
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<(), String> {
        let mut command = match &self.run_as {
            Some(user) => {
                let mut c = std::process::Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&self.pg_ctl);
                c
            }
            None => std::process::Command::new(&self.pg_ctl),
        };
        command.arg("-D").arg(&self.data).args(args);
        let out = command
            .output()
            .map_err(|e| format!("cannot run pg_ctl: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "pg_ctl {args:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    fn stop_immediate(&self) -> Result<(), String> {
        self.pg_ctl(&["-m", "immediate", "-w", "stop"])
    }

    fn start(&self) -> Result<(), String> {
        let log = self.log.display().to_string();
        self.pg_ctl(&["-l", &log, "-w", "-t", "60", "-o", &self.options, "start"])
    }
}

/// Starts the cluster again if the test fails while it is stopped, so that the tests
/// after this one still have their PostgreSQL.
struct StartOnDrop<'a>(Option<&'a PgCluster>);

impl Drop for StartOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(cluster) = self.0.take() {
            if let Err(e) = cluster.start() {
                eprintln!("cannot start PostgreSQL again: {e}");
            }
        }
    }
}

/// What happened to the requests around one fault.
fn fault_report(
    name: &str,
    samples: &[Sample],
    fault_start: Duration,
    fault_end: Duration,
    calm_end: Duration,
) -> String {
    let touched: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.end >= fault_start && s.start < calm_end)
        .collect();
    let failed: Vec<&Sample> = touched
        .iter()
        .copied()
        .filter(|s| !matches!(s.outcome, Outcome::Ok))
        .collect();
    let mut codes = BTreeMap::<String, usize>::new();
    for s in &failed {
        if let Outcome::ServerError(status, code) = &s.outcome {
            *codes.entry(format!("{status} {code}")).or_default() += 1;
        }
    }
    let slowest = touched
        .iter()
        .map(|s| s.end - s.start)
        .max()
        .unwrap_or_default();
    let first_ok_after = touched
        .iter()
        .filter(|s| matches!(s.outcome, Outcome::Ok) && s.end >= fault_end)
        .map(|s| s.end - fault_end)
        .min();
    let failed_after_back = failed.iter().filter(|s| s.end >= fault_end).count();
    let checked = samples
        .iter()
        .filter(|s| s.start >= fault_end + RECOVERY_BOUND && s.start < calm_end)
        .count();
    format!(
        "{name}: {} requests touched the fault, {} failed ({codes:?}), slowest {}; after the \
         database was back: first 2xx at +{}, {failed_after_back} failures answered after it; \
         {checked} requests checked from +{} on",
        touched.len(),
        failed.len(),
        ms(slowest),
        first_ok_after.map_or("never".into(), ms),
        ms(RECOVERY_BOUND)
    )
}

/// Under a steady mixed load (lookups, publishes, backup writes and reads, health
/// checks), PostgreSQL's connections to the test database are terminated every 50 ms for
/// 4 s, then the PostgreSQL server is stopped (`-m immediate`) for 3 s and started
/// again, then stopped for 12 s (longer than the pool's [`ACQUIRE_TIMEOUT`]) and started
/// again. No request may hang past [`HANG_BOUND`], fail at the transport or fail other
/// than with a 5xx in the §7 error shape; during the long outage requests must get that
/// 5xx within the acquire timeout (plus 3 s); the server must not exit; every request
/// started [`RECOVERY_BOUND`] after the database is back must succeed, without a
/// restart; every acknowledged publish must be there at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_under_load() {
    let _serial = SERIAL.lock().await;
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let admin_url = std::env::var("CHATSEAL_TEST_POSTGRES").unwrap();
    let db_name = db.url.rsplit_once('/').unwrap().1.to_owned();
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    let cluster = PgCluster::discover(&mut admin).await;
    let app = Arc::new(App::new());
    let mut server = Server::start(&db.url, &app, &[]).await;
    // Identities to look up.
    let seeded: Vec<String> = (0..20).map(|i| format!("seed{i}")).collect();
    for identity in &seeded {
        let card = User::new(identity).card(None).to_text();
        let (status, body) = server
            .call(
                "POST",
                "/v1/cards",
                Some(&app.token(identity)),
                Some(&json!({ "card": card })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let http = reqwest::Client::builder()
        .timeout(HANG_BOUND)
        .build()
        .unwrap();
    let base = server.base.clone();
    let t0 = Instant::now();
    let samples = Arc::new(Mutex::new(Vec::<Sample>::new()));
    let acked_cards = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..OUTAGE_WORKERS {
        let (http, base, app, seeded) = (http.clone(), base.clone(), app.clone(), seeded.clone());
        let (samples, acked_cards, stop) = (samples.clone(), acked_cards.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let mut rng = Rng::new(w as u64 + 1);
            let reader = app.token(&format!("reader{w}"));
            for n in 0usize.. {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let roll = rng.below(10);
                let mut published = None;
                let (what, req) = match roll {
                    0..=5 => {
                        let a = &seeded[rng.below(seeded.len())];
                        let b = &seeded[rng.below(seeded.len())];
                        let req = http
                            .post(format!("{base}/v1/cards/lookup"))
                            .bearer_auth(&reader)
                            .json(&json!({ "identities": [a, b] }));
                        ("lookup", req)
                    }
                    6 | 7 => {
                        let identity = format!("o{w}-{n}");
                        let card = User::new(&identity).card(None).to_text();
                        let req = http
                            .post(format!("{base}/v1/cards"))
                            .bearer_auth(app.token(&identity))
                            .json(&json!({ "card": card }));
                        published = Some((identity, card));
                        ("publish", req)
                    }
                    8 => {
                        let req = http
                            .put(format!("{base}/v1/backup"))
                            .bearer_auth(&reader)
                            .json(&json!({ "backup": backup_text(&format!("{w}:{n}")) }));
                        ("backup", req)
                    }
                    _ => ("healthz", http.get(format!("{base}/healthz"))),
                };
                let start = t0.elapsed();
                let outcome = classify(req.send().await).await;
                let end = t0.elapsed();
                if let (Outcome::Ok, Some(card)) = (&outcome, published) {
                    acked_cards.lock().unwrap().push(card);
                }
                samples.lock().unwrap().push(Sample {
                    what,
                    start,
                    end,
                    outcome,
                });
                tokio::time::sleep(OUTAGE_PAUSE).await;
            }
        }));
    }
    let alive = |server: &mut Server, when: &str| {
        let exited = server.child.try_wait().unwrap();
        assert!(
            exited.is_none(),
            "the server exited {when}: {exited:?}\n{}",
            server.logs()
        );
    };

    // Baseline.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let baseline_end = t0.elapsed();

    // Fault 1: terminate the test database's connections every 50 ms for 4 s.
    let terminate_start = t0.elapsed();
    let mut terminated = 0i64;
    while t0.elapsed() < terminate_start + Duration::from_secs(4) {
        let killed: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(&db_name)
        .fetch_all(&mut admin)
        .await
        .unwrap();
        terminated += killed.iter().filter(|k| **k).count() as i64;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let terminate_end = t0.elapsed();
    tokio::time::sleep(CALM).await;
    let calm1_end = t0.elapsed();
    alive(&mut server, "after its connections were terminated");

    // Faults 2 and 3: stop the PostgreSQL server (crash-like: `-m immediate`) for 3 s,
    // then for longer than the pool's acquire timeout, and start it again.
    let mut outages = Vec::new();
    match &cluster {
        Ok(cluster) => {
            admin.close().await.ok();
            for down_for in [OUTAGE, LONG_OUTAGE] {
                let stop_start = t0.elapsed();
                let mut guard = StartOnDrop(Some(cluster));
                let c = cluster.clone();
                let stopped = tokio::task::spawn_blocking(move || c.stop_immediate())
                    .await
                    .unwrap();
                stopped.unwrap();
                let stopped_after = t0.elapsed() - stop_start;
                tokio::time::sleep(down_for).await;
                alive(&mut server, "while PostgreSQL was stopped");
                let c = cluster.clone();
                let start_begin = t0.elapsed();
                let started = tokio::task::spawn_blocking(move || c.start())
                    .await
                    .unwrap();
                guard.0 = None;
                started.unwrap();
                let back = t0.elapsed();
                tokio::time::sleep(CALM).await;
                let calm_end = t0.elapsed();
                alive(&mut server, "after PostgreSQL came back");
                eprintln!(
                    "pg_ctl stop -m immediate took {}, then {} stopped, pg_ctl start -w took {}",
                    ms(stopped_after),
                    ms(down_for),
                    ms(back - start_begin)
                );
                outages.push((stop_start, start_begin, back, calm_end));
            }
        }
        Err(why) => {
            eprintln!("SKIPPED (PostgreSQL stop and start): {why}");
        }
    }
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.await.unwrap();
    }
    let samples = samples.lock().unwrap().clone();

    // No hang, no transport error, no 4xx, no 5xx without the error shape.
    let unexpected: Vec<&Sample> = samples
        .iter()
        .filter(|s| matches!(s.outcome, Outcome::Unexpected(_)))
        .collect();
    let examples: Vec<String> = unexpected
        .iter()
        .take(5)
        .map(|s| match &s.outcome {
            Outcome::Unexpected(why) => format!("{} at +{}: {why}", s.what, ms(s.start)),
            other => format!("{other:?}"),
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "{} requests did not get a 2xx or a clean 5xx, e.g. {examples:?}",
        unexpected.len()
    );
    let slowest = samples
        .iter()
        .map(|s| s.end - s.start)
        .max()
        .unwrap_or_default();
    let baseline_failures = samples
        .iter()
        .filter(|s| s.end < baseline_end && !matches!(s.outcome, Outcome::Ok))
        .count();
    assert_eq!(baseline_failures, 0, "requests failed before any fault");
    // Recovery without a restart: all requests from RECOVERY_BOUND after each fault on.
    let mut phases = vec![("connections terminated", terminate_end, calm1_end)];
    for (_, _, back, calm_end) in &outages {
        phases.push(("PostgreSQL stopped", *back, *calm_end));
    }
    for (name, fault_end, calm_end) in &phases {
        let after: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.start >= *fault_end + RECOVERY_BOUND && s.start < *calm_end)
            .collect();
        let failed: Vec<&&Sample> = after
            .iter()
            .filter(|s| !matches!(s.outcome, Outcome::Ok))
            .collect();
        assert!(
            after.len() >= 20,
            "{name}: only {} requests after the recovery bound",
            after.len()
        );
        assert!(
            failed.is_empty(),
            "{name}: {} of {} requests still failed {RECOVERY_BOUND:?} after the database was \
             back, e.g. {:?}",
            failed.len(),
            after.len(),
            failed.iter().take(3).collect::<Vec<_>>()
        );
    }
    // While the database is down for longer than the acquire timeout, requests are
    // answered (5xx) within that timeout instead of waiting for the database.
    if let Some((stop_start, start_begin, _, _)) = outages.get(1) {
        let clean_errors = samples
            .iter()
            .filter(|s| s.start >= *stop_start && s.end < *start_begin)
            .filter(|s| matches!(s.outcome, Outcome::ServerError(..)))
            .count();
        assert!(
            clean_errors >= OUTAGE_WORKERS,
            "only {clean_errors} requests were answered (5xx) while PostgreSQL was down for \
             {LONG_OUTAGE:?}"
        );
        let slowest = samples
            .iter()
            .filter(|s| s.start >= *stop_start)
            .map(|s| s.end - s.start)
            .max()
            .unwrap_or_default();
        assert!(
            slowest <= ACQUIRE_TIMEOUT + Duration::from_secs(3),
            "a request took {} while PostgreSQL was down (acquire timeout {ACQUIRE_TIMEOUT:?})",
            ms(slowest)
        );
    }
    assert!(
        !server.logs().contains("panicked"),
        "the server panicked:\n{}",
        server.logs()
    );
    // Every acknowledged publish is stored (including across the immediate stop).
    let acked_cards = acked_cards.lock().unwrap().clone();
    let reader = app.token("auditor");
    for chunk in acked_cards.chunks(100) {
        let ids: Vec<&str> = chunk.iter().map(|(i, _)| i.as_str()).collect();
        let (status, body) = server
            .call(
                "POST",
                "/v1/cards/lookup",
                Some(&reader),
                Some(&json!({ "identities": ids })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        for (identity, card) in chunk {
            assert_eq!(body["cards"][identity], json!(card), "{identity}");
        }
    }

    let mut by_kind = BTreeMap::<&str, usize>::new();
    for s in &samples {
        *by_kind.entry(s.what).or_default() += 1;
    }
    eprintln!(
        "PostgreSQL faults under load: {} requests ({by_kind:?}) from {OUTAGE_WORKERS} workers, \
         slowest {} (hang bound {HANG_BOUND:?}), {} acknowledged publishes all stored; \
         {terminated} backends terminated",
        samples.len(),
        ms(slowest),
        acked_cards.len()
    );
    eprintln!(
        "  {}",
        fault_report(
            "terminate every 50 ms for 4 s",
            &samples,
            terminate_start,
            terminate_end,
            calm1_end
        )
    );
    for (stop_start, _, back, calm_end) in outages {
        eprintln!(
            "  {}",
            fault_report(
                &format!("pg_ctl stop -m immediate, {} down", ms(back - stop_start)),
                &samples,
                stop_start,
                back,
                calm_end
            )
        );
    }
    assert!(server.terminate().await, "the server did not stop cleanly");
}

// ---------------------------------------------------------------------------------------
// 3. Mixed load with no error.
// ---------------------------------------------------------------------------------------

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
                    .post(format!("{base}/v1/cards"))
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
                        .post(format!("{base}/v1/cards/lookup"))
                        .bearer_auth(&reader)
                        .json(&json!({ "identities": [a, b] }));
                    tally.lookups += 1;
                    (req, None)
                } else {
                    tally.publishes += 1;
                    match own.take() {
                        Some((user, token, prev)) if n % 2 == 0 => {
                            let card = user.new_card(Some(prev));
                            let req = http
                                .post(format!("{base}/v1/cards"))
                                .bearer_auth(&token)
                                .json(&json!({ "card": card.to_text() }));
                            (req, Some((user, token, card.id())))
                        }
                        _ => {
                            let user = User::new(&format!("load{c}-{n}"));
                            let token = app.token(&user.identity);
                            let card = user.card(None);
                            let req = http
                                .post(format!("{base}/v1/cards"))
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

// ---------------------------------------------------------------------------------------
// 4. Slow clients.
// ---------------------------------------------------------------------------------------

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
        .post(server.url("/v1/cards"))
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
                .post(server.url("/v1/cards/lookup"))
                .bearer_auth(&token)
                .json(&json!({ "identities": ["alice", "nobody"] })),
            _ => {
                let user = User::new(&format!("normal{n}"));
                client
                    .post(server.url("/v1/cards"))
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
