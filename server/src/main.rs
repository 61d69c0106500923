//! The `chatseal-server` command line: `serve`, `keygen`, `token`, `demo`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use chatseal_server::api::{self, AppState, Cors};
use chatseal_server::auth::{unix_now, AppKey, AppSecret, Verifier};
use chatseal_server::demo::{self, Chat, Demo};
use chatseal_server::limits::Limits;
use chatseal_server::relay::uploads::{self, DefaultDir};
use chatseal_server::relay::{Relay, Uploads};
use chatseal_server::store::Store;
use clap::{Args, Parser, Subcommand};

/// chatseal's key directory: public cards with history, opaque key backups, group-session
/// shares, app JWTs.
#[derive(Parser)]
#[command(name = "chatseal-server", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the directory (PROTOCOL §7): cards, key backups and group-session shares.
    Serve {
        #[command(flatten)]
        common: Common,
        /// An app public key that signs directory tokens: KID=PUBKEY (32-byte Ed25519
        /// key, base64url). Repeatable; also CHATSEAL_APP_KEYS="kid1=…,kid2=…".
        #[arg(
            long = "app-key",
            env = "CHATSEAL_APP_KEYS",
            value_delimiter = ',',
            required = true
        )]
        app_keys: Vec<AppKey>,
        /// A browser origin allowed to call the API (CORS), e.g. https://app.example;
        /// '*' for any. Repeatable. Without it, only same-origin pages can call.
        #[arg(long = "cors-origin")]
        cors_origins: Vec<String>,
    },
    /// Print a new app key pair (kid, private seed, public key), base64url.
    Keygen {
        /// Print JSON instead of KEY=VALUE lines.
        #[arg(long)]
        json: bool,
    },
    /// Print a directory token (PROTOCOL §6) signed with an app private key.
    Token {
        /// The app private key (32-byte seed, base64url), as `keygen` prints it (one in
        /// 64 begins with `-`, which is taken as the value, not as an option).
        #[arg(
            long,
            env = "CHATSEAL_APP_PRIVATE_KEY",
            hide_env_values = true,
            allow_hyphen_values = true
        )]
        key: String,
        /// The key id the directory knows the public key by.
        #[arg(long)]
        kid: String,
        /// The identity the token speaks for.
        #[arg(long)]
        sub: String,
        /// Lifetime in seconds (at most 86400).
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
        /// The app id (`iss`).
        #[arg(long, default_value = "chatseal-app")]
        iss: String,
    },
    /// The tutorial's backend and the directory on one port, for local use. INSECURE:
    /// anyone can sign in as anyone.
    Demo {
        #[command(flatten)]
        common: Common,
        /// The built demo app (`www/dist`), served at `/`.
        #[arg(long, env = "CHATSEAL_WWW")]
        www: Option<std::path::PathBuf>,
        /// Folder where the local chat relay stores uploaded files (encrypted attachments),
        /// created if missing. Default: beside a SQLite database file, named after it
        /// (sqlite://chatseal.db → chatseal.db-uploads), so uploads last as long as the
        /// database; with an in-memory SQLite or a PostgreSQL database, a fresh folder in
        /// the system's temporary folder, removed at exit (give --uploads to keep them).
        #[arg(long = "uploads", env = "CHATSEAL_UPLOADS", value_name = "DIR")]
        uploads: Option<std::path::PathBuf>,
        /// Largest file the local chat relay accepts in one upload, in bytes; the default,
        /// 110 MiB, fits a 100 MiB file with its encryption overhead.
        #[arg(
            long = "upload-limit",
            env = "CHATSEAL_UPLOAD_LIMIT",
            value_name = "BYTES",
            default_value_t = uploads::DEFAULT_LIMIT,
            value_parser = clap::value_parser!(u64).range(1..)
        )]
        upload_limit: u64,
    },
}

#[derive(Args)]
struct Common {
    /// Address to listen on; port 0 picks a free port (printed at start).
    #[arg(long, default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// sqlite://PATH (created if missing) or postgres://USER:PASS@HOST/DB.
    #[arg(long, env = "CHATSEAL_DB", default_value = "sqlite://chatseal.db")]
    db: String,
    /// Requests per second allowed from one IP address (bursts of 4x); 0 = no limit.
    #[arg(long, default_value_t = 200)]
    rate_ip: u32,
    /// Authenticated requests per second allowed for one identity (bursts of 4x); 0 = no limit.
    #[arg(long, default_value_t = 50)]
    rate_identity: u32,
    /// Delete group-session shares (POST /v1/shares) this many days after they were
    /// stored, checked hourly; 0 = keep them forever.
    #[arg(long, env = "CHATSEAL_SHARE_RETENTION_DAYS", default_value_t = 0)]
    share_retention_days: u32,
    /// Seconds a connection has to send a request's line and headers, from when it opens
    /// or from the answer to its previous request; then the server closes it (slow
    /// clients cannot hold connections; idle keep-alive connections are closed too).
    #[arg(
        long,
        env = "CHATSEAL_HEADER_TIMEOUT",
        value_name = "SECONDS",
        default_value_t = chatseal_server::DEFAULT_HEADER_TIMEOUT.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    header_timeout: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Keygen { json } => keygen(json),
        Command::Token {
            key,
            kid,
            sub,
            ttl,
            iss,
        } => token(&key, &kid, &sub, ttl, &iss),
        Command::Serve {
            common,
            app_keys,
            cors_origins,
        } => {
            let cors = if cors_origins.iter().any(|o| o == "*") {
                Cors::Any
            } else if cors_origins.is_empty() {
                Cors::None
            } else {
                Cors::Origins(cors_origins)
            };
            run(common, app_keys, cors, None)
        }
        Command::Demo {
            common,
            www,
            uploads,
            upload_limit,
        } => {
            let cloud = match (
                std::env::var("STREAM_API_KEY"),
                std::env::var("STREAM_API_SECRET"),
            ) {
                (Ok(key), Ok(secret)) if !key.is_empty() && !secret.is_empty() => {
                    Some((key, secret))
                }
                _ => None,
            };
            run(
                common,
                Vec::new(),
                Cors::Any,
                Some(DemoOptions {
                    cloud,
                    www,
                    uploads,
                    upload_limit,
                }),
            )
        }
    }
}

fn keygen(json: bool) -> ExitCode {
    let secret = AppSecret::generate();
    let (kid, private, public) = (secret.kid(), secret.to_b64u(), secret.public_b64u());
    if json {
        println!(
            "{}",
            serde_json::json!({"kid": kid, "private": private.as_str(), "public": public})
        );
    } else {
        println!("kid={kid}\nprivate={}\npublic={public}", private.as_str());
    }
    ExitCode::SUCCESS
}

fn token(key: &str, kid: &str, sub: &str, ttl: u64, iss: &str) -> ExitCode {
    let minted = AppSecret::from_b64u(key)
        .and_then(|secret| secret.directory_token(kid, iss, sub, unix_now(), ttl));
    match minted {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// What `demo` adds: Stream's cloud credentials (else the local relay), the built app, and
/// where the relay keeps uploads.
struct DemoOptions {
    cloud: Option<(String, String)>,
    www: Option<std::path::PathBuf>,
    uploads: Option<std::path::PathBuf>,
    upload_limit: u64,
}

/// The relay's uploads folder: `--uploads`, else the default for the database. Also
/// returns the folder to remove at exit (a temporary one this process made).
fn open_uploads(
    given: Option<std::path::PathBuf>,
    db_url: &str,
    limit: u64,
) -> Result<(Uploads, Option<std::path::PathBuf>), uploads::UploadsError> {
    let (dir, temporary) = match given {
        Some(dir) => (dir, false),
        None => match DefaultDir::for_database(db_url) {
            DefaultDir::BesideDatabase(dir) => (dir, false),
            DefaultDir::Temporary => (DefaultDir::create_temporary()?, true),
        },
    };
    match Uploads::open(&dir, limit) {
        Ok(uploads) => Ok((uploads, temporary.then_some(dir))),
        Err(e) => {
            if temporary {
                let _ = std::fs::remove_dir_all(&dir);
            }
            Err(e)
        }
    }
}

fn run(
    common: Common,
    mut app_keys: Vec<AppKey>,
    cors: Cors,
    demo: Option<DemoOptions>,
) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "chatseal_server=info,warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
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
        let mut extra = None;
        let mut remove_at_exit = None;
        if let Some(options) = demo {
            tracing::warn!(
                "DEMO MODE — INSECURE BY DESIGN: anyone can sign in as anyone and the app key \
                 is made up at start. For local development only; never expose this port."
            );
            let chat = match options.cloud {
                Some((key, secret)) => {
                    tracing::info!("chat: Stream's cloud (STREAM_API_KEY is set)");
                    Chat::Cloud {
                        key,
                        secret: zeroize::Zeroizing::new(secret.into_bytes()),
                    }
                }
                None => {
                    let (uploads, temporary) =
                        match open_uploads(options.uploads, &common.db, options.upload_limit) {
                            Ok(opened) => opened,
                            Err(e @ uploads::UploadsError::ZeroLimit) => {
                                eprintln!("error: {e}");
                                return ExitCode::FAILURE;
                            }
                            Err(e) => {
                                eprintln!("error: {e} (choose another folder with --uploads)");
                                return ExitCode::FAILURE;
                            }
                        };
                    tracing::info!(
                        folder = %uploads.dir().display(),
                        limit = uploads.limit(),
                        temporary = temporary.is_some(),
                        "chat relay: uploads stored in this folder"
                    );
                    remove_at_exit = temporary;
                    match Relay::open(Arc::clone(&store)).await {
                        Ok(relay) => Chat::Relay(Arc::new(relay.with_uploads(uploads))),
                        Err(e) => {
                            eprintln!("error: cannot open the chat relay's tables: {e}");
                            remove_temporary(remove_at_exit.as_deref());
                            return ExitCode::FAILURE;
                        }
                    }
                }
            };
            let demo = Arc::new(Demo::new(chat));
            app_keys.push(demo.app_key());
            extra = Some(demo::router(demo, options.www.as_deref()));
        }
        let state = AppState {
            store,
            verifier: Arc::new(Verifier::new(&app_keys)),
            limits: Arc::new(Limits::new(common.rate_ip, common.rate_identity)),
        };
        tracing::info!(app_keys = ?app_keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(), "trusting app keys");
        let demo = extra.is_some();
        let router = api::router(state.clone(), &cors, extra);
        let served = chatseal_server::serve(
            common.listen,
            router,
            &state,
            demo,
            common.share_retention_days,
            std::time::Duration::from_secs(common.header_timeout),
        )
        .await;
        remove_temporary(remove_at_exit.as_deref());
        match served {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: cannot serve on {}: {e}", common.listen);
                ExitCode::FAILURE
            }
        }
    })
}

/// Removes the temporary uploads folder this process made, if any.
fn remove_temporary(dir: Option<&std::path::Path>) {
    if let Some(dir) = dir {
        if let Err(e) = std::fs::remove_dir_all(dir) {
            tracing::warn!(cause = %e, folder = %dir.display(), "cannot remove the temporary uploads folder");
        }
    }
}
