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

#[path = "../support/mod.rs"]
mod support;

// One module per fault; the helpers below are shared by them.
mod kill_9_mid_burst;
mod mixed_load;
mod postgres_outage;
mod slow_clients;

use std::time::Duration;

use support::{App, Server};

/// One test at a time (see the module comment).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

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
