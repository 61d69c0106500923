//! The `chatseal-relay` command: the demo's backend — the tutorial's session endpoints and
//! a local Stream-protocol chat relay (or Stream's cloud) — with the key directory on one
//! port. INSECURE by design: anyone can sign in as anyone. `make demo` runs it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use chatseal_relay::demo::{self, Chat, Demo};
use chatseal_relay::uploads::{self, DefaultDir};
use chatseal_relay::{Relay, Uploads};
use chatseal_server::api::Cors;
use chatseal_server::cli::{Common, Extension};
use chatseal_server::store::Store;
use clap::Parser;

/// The tutorial's backend and the directory on one port, for local use. INSECURE: anyone
/// can sign in as anyone. With STREAM_API_KEY and STREAM_API_SECRET set, the chat is
/// Stream's cloud; otherwise this process's own chat relay.
#[derive(Parser)]
#[command(name = "chatseal-relay", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    common: Common,
    /// The built demo app (`www/dist`), served at `/`.
    #[arg(long, env = "CHATSEAL_WWW")]
    www: Option<PathBuf>,
    /// Folder where the local chat relay stores uploaded files (encrypted attachments),
    /// created if missing. Default: beside a SQLite database file, named after it
    /// (sqlite://chatseal.db → chatseal.db-uploads), so uploads last as long as the
    /// database; with an in-memory SQLite or a PostgreSQL database, a fresh folder in
    /// the system's temporary folder, removed at exit (give --uploads to keep them).
    #[arg(long = "uploads", env = "CHATSEAL_UPLOADS", value_name = "DIR")]
    uploads: Option<PathBuf>,
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    chatseal_server::cli::init_tracing("chatseal_server=info,chatseal_relay=info,warn");
    let cloud = match (
        std::env::var("STREAM_API_KEY"),
        std::env::var("STREAM_API_SECRET"),
    ) {
        (Ok(key), Ok(secret)) if !key.is_empty() && !secret.is_empty() => Some((key, secret)),
        _ => None,
    };
    let db = cli.common.db.clone();
    // The temporary uploads folder this process made, removed when it ends.
    let remove_at_exit = std::sync::Mutex::new(None);
    let code = chatseal_server::cli::run(cli.common, Vec::new(), Cors::Any, |store| {
        extension(
            store,
            cloud,
            cli.www,
            cli.uploads,
            cli.upload_limit,
            &db,
            &remove_at_exit,
        )
    });
    if let Ok(mut dir) = remove_at_exit.lock() {
        remove_temporary(dir.take().as_deref());
    }
    code
}

/// The demo's routes: Stream's cloud credentials if given, else the local relay with its
/// uploads folder; and the built app.
async fn extension(
    store: Arc<Store>,
    cloud: Option<(String, String)>,
    www: Option<PathBuf>,
    uploads: Option<PathBuf>,
    upload_limit: u64,
    db: &str,
    remove_at_exit: &std::sync::Mutex<Option<PathBuf>>,
) -> Result<Option<Extension>, ExitCode> {
    tracing::warn!(
        "DEMO MODE — INSECURE BY DESIGN: anyone can sign in as anyone and the app key \
         is made up at start. For local development only; never expose this port."
    );
    let chat = match cloud {
        Some((key, secret)) => {
            tracing::info!("chat: Stream's cloud (STREAM_API_KEY is set)");
            Chat::Cloud {
                key,
                secret: zeroize::Zeroizing::new(secret.into_bytes()),
            }
        }
        None => {
            let (uploads, temporary) = match open_uploads(uploads, db, upload_limit) {
                Ok(opened) => opened,
                Err(e @ uploads::UploadsError::ZeroLimit) => {
                    eprintln!("error: {e}");
                    return Err(ExitCode::FAILURE);
                }
                Err(e) => {
                    eprintln!("error: {e} (choose another folder with --uploads)");
                    return Err(ExitCode::FAILURE);
                }
            };
            tracing::info!(
                folder = %uploads.dir().display(),
                limit = uploads.limit(),
                temporary = temporary.is_some(),
                "chat relay: uploads stored in this folder"
            );
            if let Ok(mut slot) = remove_at_exit.lock() {
                *slot = temporary;
            }
            match Relay::open(store).await {
                Ok(relay) => Chat::Relay(Arc::new(relay.with_uploads(uploads))),
                Err(e) => {
                    eprintln!("error: cannot open the chat relay's tables: {e}");
                    return Err(ExitCode::FAILURE);
                }
            }
        }
    };
    let demo = Arc::new(Demo::new(chat));
    Ok(Some(Extension {
        app_keys: vec![demo.app_key()],
        router: demo::router(demo, www.as_deref()),
        announce: Some(|addr| {
            format!(
                "chatseal demo: open http://{addr}/ in two browser windows (one of them \
                 private) and sign in as two people. Ctrl-C stops it."
            )
        }),
    }))
}

/// The relay's uploads folder: `--uploads`, else the default for the database. Also
/// returns the folder to remove at exit (a temporary one this process made).
fn open_uploads(
    given: Option<PathBuf>,
    db_url: &str,
    limit: u64,
) -> Result<(Uploads, Option<PathBuf>), uploads::UploadsError> {
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

/// Removes the temporary uploads folder this process made, if any.
fn remove_temporary(dir: Option<&std::path::Path>) {
    if let Some(dir) = dir {
        if let Err(e) = std::fs::remove_dir_all(dir) {
            tracing::warn!(cause = %e, folder = %dir.display(), "cannot remove the temporary uploads folder");
        }
    }
}
