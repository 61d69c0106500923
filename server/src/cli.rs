//! What every binary that serves the directory shares: its command-line options
//! ([`Common`]) and the run loop ([`run`]) — open the store, trust the app keys, serve
//! until SIGTERM. `chatseal-server serve` runs the directory alone; the demo's
//! `chatseal-relay` runs it with an [`Extension`] (its chat relay and session routes).

use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use crate::api::{self, AppState, Cors};
use crate::auth::{AppKey, Verifier};
use crate::limits::Limits;
use crate::store::Store;

/// The options of every command that serves the directory.
#[derive(clap::Args)]
pub struct Common {
    /// Address to listen on; port 0 picks a free port (printed at start).
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,
    /// sqlite://PATH (created if missing) or postgres://USER:PASS@HOST/DB.
    #[arg(long, env = "CHATSEAL_DB", default_value = "sqlite://chatseal.db")]
    pub db: String,
    /// Requests per second allowed from one IP address (bursts of 4x); 0 = no limit.
    #[arg(long, default_value_t = 200)]
    pub rate_ip: u32,
    /// Authenticated requests per second allowed for one identity (bursts of 4x); 0 = no limit.
    #[arg(long, default_value_t = 50)]
    pub rate_identity: u32,
    /// Delete group-session shares (POST /v2/shares) this many days after they were
    /// stored, checked hourly; 0 = keep them forever.
    #[arg(long, env = "CHATSEAL_SHARE_RETENTION_DAYS", default_value_t = 0)]
    pub share_retention_days: u32,
    /// Seconds a connection has to send a request's line and headers, from when it opens
    /// or from the answer to its previous request; then the server closes it (slow
    /// clients cannot hold connections; idle keep-alive connections are closed too).
    #[arg(
        long,
        env = "CHATSEAL_HEADER_TIMEOUT",
        value_name = "SECONDS",
        default_value_t = crate::DEFAULT_HEADER_TIMEOUT.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub header_timeout: u64,
}

/// What a program built on the directory serves beside it, on the same port.
pub struct Extension {
    /// App keys to trust besides the configured ones (the demo makes one up at start).
    pub app_keys: Vec<AppKey>,
    /// Routes served beside the directory's, behind the same limits and logs.
    pub router: axum::Router<AppState>,
    /// A line printed after `listening on …`, given the bound address.
    pub announce: Option<fn(SocketAddr) -> String>,
}

/// Logs to stderr, filtered by `RUST_LOG`, else by `default_filter`.
pub fn init_tracing(default_filter: &str) {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_filter.into()),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// Opens the store of `common.db`, asks `extend` for what to serve beside the directory
/// (it may print an error and give the exit code instead), and serves until SIGTERM or
/// Ctrl-C. Errors are printed on stderr, as a command line's are.
pub fn run<F, Fut>(common: Common, app_keys: Vec<AppKey>, cors: Cors, extend: F) -> ExitCode
where
    F: FnOnce(Arc<Store>) -> Fut,
    Fut: Future<Output = Result<Option<Extension>, ExitCode>>,
{
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let store = match Store::open(&common.db).await {
            Ok(store) => Arc::new(store),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        let extension = match extend(Arc::clone(&store)).await {
            Ok(extension) => extension,
            Err(code) => return code,
        };
        let mut app_keys = app_keys;
        let (extra, announce) = match extension {
            Some(extension) => {
                app_keys.extend(extension.app_keys);
                (Some(extension.router), extension.announce)
            }
            None => (None, None),
        };
        let state = AppState {
            store,
            verifier: Arc::new(Verifier::new(&app_keys)),
            limits: Arc::new(Limits::new(common.rate_ip, common.rate_identity)),
        };
        tracing::info!(app_keys = ?app_keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(), "trusting app keys");
        let router = api::router(state.clone(), &cors, extra);
        let served = crate::serve(
            common.listen,
            router,
            &state,
            announce,
            common.share_retention_days,
            std::time::Duration::from_secs(common.header_timeout),
        )
        .await;
        match served {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: cannot serve on {}: {e}", common.listen);
                ExitCode::FAILURE
            }
        }
    })
}
