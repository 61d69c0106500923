//! `chatseal-server`: chatseal's key directory (PROTOCOL §6–§7).
//!
//! It stores each identity's public cards with their whole history, one opaque key
//! backup, and the group-session shares senders leave for their channels' members
//! (PROTOCOL §9), and it authenticates browsers with the app's EdDSA JWTs. It never sees
//! a private key or a message. SQLite is the embedded default; PostgreSQL lets several
//! servers share one database. `demo` mode adds the tutorial's backend for local use.
//!
//! The binary's commands are in `main.rs`; this library holds the pieces so that they can
//! be tested one by one.
#![deny(missing_docs)]

pub mod api;
pub mod auth;
pub mod demo;
pub mod error;
pub mod fuzzing;
pub mod limits;
pub mod relay;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

/// Binds `listen`, prints `listening on http://ADDR` once ready (and, for the demo, the
/// page to open), serves `router` until SIGTERM or Ctrl-C, then finishes in-flight
/// requests and closes the store. When `share_retention_days` is over 0, deletes the
/// shares older than that at start and then hourly.
pub async fn serve(
    listen: SocketAddr,
    router: axum::Router,
    state: &api::AppState,
    demo: bool,
    share_retention_days: u32,
) -> std::io::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let limits = Arc::clone(&state.limits);
    let sweeper = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            limits.per_ip.forget_idle();
            limits.per_identity.forget_idle();
        }
    });
    let retention = (share_retention_days > 0).then(|| {
        let store = Arc::clone(&state.store);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(3600));
            loop {
                tick.tick().await;
                let now = auth::unix_now() as i64;
                match store.expire_shares(now, share_retention_days).await {
                    Ok(0) => {}
                    Ok(deleted) => {
                        tracing::info!(deleted, days = share_retention_days, "expired shares")
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot expire shares"),
                }
            }
        })
    });
    tracing::info!(%addr, backend = ?state.store.backend(), share_retention_days, "ready");
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{addr}")?;
        if demo {
            writeln!(
                out,
                "chatseal demo: open http://{addr}/ in two browser windows (one of them private) \
                 and sign in as two people. Ctrl-C stops it."
            )?;
        }
        out.flush()?;
    }
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    sweeper.abort();
    if let Some(retention) = retention {
        retention.abort();
    }
    state.store.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
