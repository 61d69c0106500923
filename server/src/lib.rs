//! `chatseal-server`: chatseal's key directory (PROTOCOL §6–§7).
//!
//! It stores each identity's public cards with their whole history, one opaque key
//! backup, and the group-session shares senders leave for their channels' members
//! (PROTOCOL §9), and it authenticates browsers with the app's EdDSA JWTs. It never sees
//! a private key or a message. SQLite is the embedded default; PostgreSQL lets several
//! servers share one database. The demo's backend (a local chat relay and the tutorial's
//! session endpoints) is a crate of its own, `chatseal-relay`, built on this one's API.
//!
//! The binary's commands are in `main.rs`; this library holds the pieces so that they can
//! be tested one by one.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod cli;
pub mod error;
pub mod fuzzing;
pub mod limits;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

/// How long a connection may take to send a request head (the request line and headers):
/// from when it opens, or from the answer to its previous request. Past it the server
/// closes the connection, so slow clients (slowloris) cannot hold connections forever;
/// idle keep-alive connections are closed after it too.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// Binds `listen`, prints `listening on http://ADDR` once ready (then `announce(ADDR)`'s
/// line, if given: the demo names the page to open), serves `router` until SIGTERM or Ctrl-C, then finishes in-flight
/// requests and closes the store. When `share_retention_days` is over 0, deletes the
/// shares older than that at start and then hourly. A connection that does not send a
/// whole request head within `header_timeout` (see [`DEFAULT_HEADER_TIMEOUT`]) is closed.
pub async fn serve(
    listen: SocketAddr,
    router: axum::Router,
    state: &api::AppState,
    announce: Option<fn(SocketAddr) -> String>,
    share_retention_days: u32,
    header_timeout: Duration,
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
        if let Some(announce) = announce {
            writeln!(out, "{}", announce(addr))?;
        }
        out.flush()?;
    }
    serve_connections(listener, router, header_timeout).await;
    sweeper.abort();
    if let Some(retention) = retention {
        retention.abort();
    }
    state.store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Accepts connections until SIGTERM or Ctrl-C, then lets each finish the request it is
/// answering and waits for them. What `axum::serve` does, but with hyper's header-read
/// timeout, which needs a timer that `axum::serve` does not give hyper (without one
/// hyper silently ignores its 30 s default, and a client sending a byte a minute holds
/// its connection forever).
async fn serve_connections(listener: TcpListener, router: axum::Router, header_timeout: Duration) {
    use hyper::body::Incoming;
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;
    use tower::{Service, ServiceExt};

    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let mut make_service = router.into_make_service_with_connect_info::<SocketAddr>();
    // Connections watch `shutting_down` and hold a clone of `open` until they end.
    let (shutting_down, _) = tokio::sync::watch::channel(false);
    let (open_tx, open_rx) = tokio::sync::watch::channel(());
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = match make_service.call(remote).await {
            Ok(service) => service,
            Err(never) => match never {},
        };
        let service = TowerToHyperService::new(service.map_request(
            |request: axum::http::Request<Incoming>| request.map(axum::body::Body::new),
        ));
        let mut stop = shutting_down.subscribe();
        let open = open_rx.clone();
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        tokio::spawn(async move {
            tokio::pin!(connection);
            let mut stopping = false;
            loop {
                tokio::select! {
                    done = connection.as_mut() => {
                        if let Err(e) = done {
                            tracing::debug!(error = %e, %remote, "connection ended");
                        }
                        break;
                    }
                    _ = stop.changed(), if !stopping => {
                        stopping = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(open);
        });
    }
    drop(listener);
    shutting_down.send_replace(true);
    drop(open_rx);
    open_tx.closed().await;
}

/// An `accept` error: a connection that failed before it was accepted is skipped; any
/// other (out of file descriptors) is logged and retried a second later, as hyper did.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "cannot accept a connection");
    tokio::time::sleep(Duration::from_secs(1)).await;
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
