//! The command line: `serve`, `user add|del`, `convert`, `config example`.

use std::io::BufRead;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::admin::{self, Request};
use crate::config::{Config, ConfigError, Overrides};
use crate::documents::{self, DocError, Limits};
use crate::serve::{self, ServeError};
use crate::store::{SledStore, StoreError};

#[derive(Debug, Parser)]
#[command(
    name = "lectern",
    version,
    about = "Self-hosted web conferencing over standard XMPP"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the server: HTTP, XMPP over TCP (STARTTLS) and XMPP over WebSocket
    Serve(Box<Overrides>),
    /// Manage local accounts (works while a server is running on the same data directory)
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Convert a document (PDF or image) into pages and a manifest, as an upload would be
    Convert(ConvertArgs),
    /// Configuration helpers
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Create or replace an account; the password comes from --password or one line of stdin
    Add {
        /// The account, e.g. alice@localhost
        jid: String,
        #[arg(long)]
        password: Option<String>,
        #[command(flatten)]
        where_: Location,
    },
    /// Delete an account
    Del {
        jid: String,
        #[command(flatten)]
        where_: Location,
    },
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The document to convert
    file: PathBuf,
    /// Output directory (laid out like <data>/documents/<id>/)
    #[arg(long)]
    out: Option<PathBuf>,
    /// Instead of converting, compare PNG/JPEG/WebP encoding time and size on the first N pages
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "3")]
    measure: Option<usize>,
    /// Most pages accepted [default: 1000]
    #[arg(long)]
    max_pages: Option<usize>,
    /// Seconds one page may take to render [default: 30]
    #[arg(long)]
    page_timeout: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print a configuration file with every key at its default
    Example,
}

/// Which server's accounts: the same flags `serve` takes for these.
#[derive(Debug, Args)]
pub struct Location {
    #[arg(long, env = "LECTERN_CONFIG")]
    config: Option<PathBuf>,
    #[arg(long, env = "LECTERN_DATA")]
    data: Option<PathBuf>,
    #[arg(long, env = "LECTERN_DOMAIN")]
    domain: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Serve(#[from] ServeError),
    #[error("{0}")]
    Failed(String),
}

pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Serve(o) => Ok(serve::run(Config::load(&o)?)?),
        Command::Config {
            action: ConfigAction::Example,
        } => {
            print!("{}", Config::example());
            Ok(())
        }
        Command::User { action } => user(action),
        Command::Convert(args) => convert(args),
    }
}

fn convert(args: ConvertArgs) -> Result<(), CliError> {
    let mut config = Config::default();
    config.max_pages = args.max_pages.unwrap_or(config.max_pages);
    config.page_timeout = args.page_timeout.unwrap_or(config.page_timeout);
    let limits = Limits::from_config(&config);
    let failed = |e: DocError| CliError::Failed(format!("{}: {e}", args.file.display()));
    if let Some(pages) = args.measure {
        return documents::convert::measure(&args.file, pages, &limits).map_err(failed);
    }
    let out = args
        .out
        .as_deref()
        .ok_or_else(|| CliError::Failed("--out DIR is required".into()))?;
    documents::convert::convert(&args.file, out, &limits, &config).map_err(failed)?;
    Ok(())
}

fn user(action: UserAction) -> Result<(), CliError> {
    let (request, loc) = match action {
        UserAction::Add {
            jid,
            password,
            where_,
        } => {
            let password = match password {
                Some(p) => p,
                None => read_password()?,
            };
            (Request::UserAdd { jid, password }, where_)
        }
        UserAction::Del { jid, where_ } => (Request::UserDel { jid }, where_),
    };
    let config = Config::load(&Overrides {
        config: loc.config,
        data: loc.data,
        domain: loc.domain,
        ..Default::default()
    })?;
    let reply = match SledStore::open(&config.data) {
        Ok(store) => admin::apply(request, &store, &config.domain),
        Err(StoreError::Locked(dir)) => {
            // A running server owns the database: ask it.
            admin::call(&admin::socket_path(&dir), &request).map_err(|e| {
                CliError::Failed(format!(
                    "the data directory {} is in use by a running Lectern server, and its \
                     admin socket did not answer ({e}); stop the server or retry",
                    dir.display()
                ))
            })?
        }
        Err(e) => return Err(CliError::Failed(e.to_string())),
    };
    if reply.ok {
        println!("{}", reply.message);
        Ok(())
    } else {
        Err(CliError::Failed(reply.message))
    }
}

fn read_password() -> Result<String, CliError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::Failed(format!("cannot read the password from stdin: {e}")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}
