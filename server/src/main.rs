//! The `chatseal-server` command line: `serve`, `keygen`, `token`. (The demo's backend is
//! `chatseal-relay`, in `relay/`.)

use std::process::ExitCode;

use chatseal_server::api::Cors;
use chatseal_server::auth::{unix_now, AppKey, AppSecret};
use chatseal_server::cli::Common;
use clap::{Parser, Subcommand};

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
            chatseal_server::cli::init_tracing("chatseal_server=info,warn");
            chatseal_server::cli::run(common, app_keys, cors, |_| async { Ok(None) })
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
