//! `lectern-bench`: MUC fan-out and join-storm load generator over raw XMPP TCP connections.
//!
//! `lectern-bench run` drives one phase of scenarios against one running server and appends JSON
//! lines to a results file; `lectern-bench report` turns the results into docs/BENCHMARKS.md.
//! bench/run.sh starts Lectern, Prosody and ejabberd in turn and calls both.

mod client;
mod fanout;
mod phase;
mod procfs;
mod record;
mod report;
mod room;
mod state;
mod xml;

use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(about = "MUC fan-out benchmark: one sender, N receivers, stamped messages")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, ValueEnum)]
enum PhaseKind {
    /// S1 and S2 at --small and --large receivers, S3 at --small, memory.
    Fanout,
    /// S5 join storm of --n attendees (with --s4: then S4 and memory in that room).
    Storm,
}

#[derive(Clone, Copy, ValueEnum)]
enum BroadcastArg {
    /// Instant room: every presence is broadcast.
    All,
    /// Moderated room, presencebroadcast = moderator, participant (joiners are visitors).
    Limited,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run one phase against a running server.
    Run {
        /// Label of the server in the results (lectern, prosody, ejabberd).
        #[arg(long)]
        server: String,
        /// The server's c2s address (loopback).
        #[arg(long)]
        addr: SocketAddr,
        /// The server's process id (CPU and RSS from /proc).
        #[arg(long)]
        pid: u32,
        #[arg(long, value_enum)]
        phase: PhaseKind,
        /// Results file (JSON lines, appended).
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value = "guest.localhost")]
        guest_domain: String,
        #[arg(long, default_value = "conference.localhost")]
        muc: String,
        #[arg(long, default_value_t = 100)]
        small: usize,
        #[arg(long, default_value_t = 500)]
        large: usize,
        /// Attendees in a storm.
        #[arg(long, default_value_t = 500)]
        n: usize,
        #[arg(long, value_enum, default_value = "all")]
        broadcast: BroadcastArg,
        /// After the storm, run S4 (S2 + S1 together) in the same room.
        #[arg(long)]
        s4: bool,
        /// Seconds of sending per S1/S2/S4 point.
        #[arg(long, default_value_t = 12.0)]
        seconds: f64,
        #[arg(long, default_value_t = 2000)]
        s3_count: u64,
        /// Bound (s) on joining the fan-out receivers and on each join storm.
        #[arg(long, default_value_t = 90)]
        join_limit: u64,
        /// Logins in flight at once.
        #[arg(long, default_value_t = 64)]
        parallel: usize,
    },
    /// Write the Markdown report from results files.
    Report {
        /// Results file (JSON lines).
        #[arg(long)]
        results: PathBuf,
        /// Markdown file to write.
        #[arg(long)]
        out: PathBuf,
        /// Machine and software description (text, included verbatim).
        #[arg(long)]
        machine: Option<PathBuf>,
        /// Hand-written observations (Markdown, included verbatim).
        #[arg(long)]
        notes: Option<PathBuf>,
        /// The command that produced the results.
        #[arg(long)]
        command: String,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Report {
            results,
            out,
            machine,
            notes,
            command,
        } => match report::write(
            &results,
            &out,
            machine.as_deref(),
            notes.as_deref(),
            &command,
        ) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("report: {e}");
                std::process::ExitCode::FAILURE
            }
        },
        Cmd::Run {
            server,
            addr,
            pid,
            phase: kind,
            out,
            guest_domain,
            muc,
            small,
            large,
            n,
            broadcast,
            s4,
            seconds,
            s3_count,
            join_limit,
            parallel,
        } => {
            let target = room::Target {
                addr,
                guest_domain,
                muc,
                pid,
            };
            let params = phase::Params {
                server,
                out,
                seconds,
                s3_count,
                join_limit: Duration::from_secs(join_limit),
                parallel,
            };
            let bc = match broadcast {
                BroadcastArg::All => room::Broadcast::All,
                BroadcastArg::Limited => room::Broadcast::Limited,
            };
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("tokio runtime");
            let result = rt.block_on(async {
                state::now_ns();
                match kind {
                    PhaseKind::Fanout => phase::fanout_phase(&params, &target, small, large).await,
                    PhaseKind::Storm => phase::storm_phase(&params, &target, n, bc, s4).await,
                }
            });
            // Connections are dropped with the runtime; the server sees them close.
            rt.shutdown_timeout(Duration::from_secs(1));
            match result {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("lectern-bench: {e}");
                    let what = match kind {
                        PhaseKind::Fanout => "fanout phase",
                        PhaseKind::Storm => "storm phase",
                    };
                    let mut r = record::Record::new(&params.server, "ERROR", n, what.into(), "");
                    r.notes.push(e);
                    let _ = r.append(&params.out);
                    std::process::ExitCode::FAILURE
                }
            }
        }
    }
}
