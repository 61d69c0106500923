//! `kill -9` in the middle of a burst of writes, on SQLite and PostgreSQL.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use super::support::{self, App, Backend, TestDb, User};
use super::{backup_text, kill_9, ms, start_quiet, SERIAL};

crate::on_both_databases!(acknowledged_writes_survive_kill_9_mid_burst);

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
                        .post(s.url("/v2/cards"))
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
                        .put(s.url("/v2/backup"))
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
                "/v2/cards/lookup",
                Some(&reader),
                Some(&json!({ "identities": ids })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        for (identity, result) in body["results"].as_object().unwrap() {
            if let Some(card) = result["card"].as_str() {
                current.insert(identity.clone(), card.to_owned());
            }
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
                &format!("/v2/cards/{id}/history"),
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
            .call("GET", "/v2/backup", Some(&app.token(id)), None)
            .await;
        let got = match status {
            200 => Some(body["backups"][0].as_str().unwrap().to_owned()),
            404 => None,
            _ => panic!("{id}: GET /v2/backup answered {status}: {body}"),
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
