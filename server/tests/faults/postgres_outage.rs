//! PostgreSQL connections dropped, and the PostgreSQL server stopped, under load.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chatseal_server::store::ACQUIRE_TIMEOUT;
use serde_json::{json, Value};
use sqlx::Connection;

use super::support::{App, Backend, Server, TestDb, User};
use super::{backup_text, ms, Rng, SERIAL};

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
                "/v2/cards",
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
                            .post(format!("{base}/v2/cards/lookup"))
                            .bearer_auth(&reader)
                            .json(&json!({ "identities": [a, b] }));
                        ("lookup", req)
                    }
                    6 | 7 => {
                        let identity = format!("o{w}-{n}");
                        let card = User::new(&identity).card(None).to_text();
                        let req = http
                            .post(format!("{base}/v2/cards"))
                            .bearer_auth(app.token(&identity))
                            .json(&json!({ "card": card }));
                        published = Some((identity, card));
                        ("publish", req)
                    }
                    8 => {
                        let req = http
                            .put(format!("{base}/v2/backup"))
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
                "/v2/cards/lookup",
                Some(&reader),
                Some(&json!({ "identities": ids })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        for (identity, card) in chunk {
            assert_eq!(body["results"][identity]["card"], json!(card), "{identity}");
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
