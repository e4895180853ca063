//! The `rosync` command line: a thin layer of clap commands over the library.
//!
//! Built only with the default-on `cli` feature, the one that needs clap, tracing-subscriber
//! and libc; a node that depends on rosync with `default-features = false` builds none of it.

pub mod args;
mod bag;
mod damage;
mod interface;
mod node;
mod output;
mod param;
mod play;
mod qos_args;
mod record;
mod router;
mod service;
mod sync;
mod sync_inspect;
mod tf;
mod tf_echo;
mod tf_frames;
mod topic;
mod topic_info;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::node::Node;

/// rosync: ROS-style robotics nodes over zenoh, wire-compatible with ROS 2 (rmw_zenoh).
#[derive(Debug, Parser)]
#[command(
    name = "rosync",
    version,
    about,
    long_about = None,
    after_help = "Numbers are plain decimals without a unit (0.5, 1e-3): the option names the unit \
                  (seconds, Hz, bytes); out-of-range values are refused with the allowed range."
)]
pub struct Cli {
    #[command(flatten)]
    network: NetworkArgs,

    /// More log output (-v info, -vv debug, -vvv trace), zenoh's own lines included (without
    /// -v only rosync's warnings show); RUST_LOG overrides it.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

pub use crate::node::NetworkArgs;

impl NetworkArgs {
    /// Starts a command's own node, named after the command and the process id.
    pub(crate) async fn node(&self, name: &str) -> crate::Result<Node> {
        // Like ros2cli's nodes: no parameter services of its own.
        Node::builder(&format!("{name}_{}", std::process::id()))
            .network(self.options())
            .start_parameter_services(false)
            .build()
            .await
    }

    /// Fails a one-shot graph command whose `--connect` endpoints never answered, instead of
    /// printing an empty answer.
    pub(crate) async fn check_reached(&self, node: &Node) -> CliResult {
        let connect = self.options().connect;
        if connect.is_empty() || node.has_link().await {
            return Ok(());
        }
        fail(format!(
            "cannot reach {}: no zenoh router or peer answered",
            connect.join(", ")
        ))
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Inspect and use topics: list, info, echo, pub, hz.
    #[command(subcommand)]
    Topic(topic::TopicCommand),
    /// Inspect nodes.
    #[command(subcommand)]
    Node(node::NodeCommand),
    /// Inspect and call services: list, type, call.
    #[command(subcommand)]
    Service(service::ServiceCommand),
    /// Inspect and change node parameters: list, get, set, describe, dump, load.
    #[command(subcommand)]
    Param(param::ParamCommand),
    /// Show the message types rosync ships: list, show, hash.
    #[command(subcommand)]
    Interface(interface::InterfaceCommand),
    /// Inspect, print and repair MCAP logs: info, cat, recover.
    #[command(subcommand)]
    Bag(bag::BagCommand),
    /// Run synchronizer policies on scripts, logs or live topics: simulate, inspect, live.
    #[command(subcommand)]
    Sync(sync::SyncCommand),
    /// Transforms (tf2): echo one as it changes, show the frame tree.
    #[command(subcommand)]
    Tf(tf::TfCommand),
    /// Replay an MCAP log onto the network with its recorded timing (rate, loop, clock, ...).
    ///
    /// Exit status 3: the log is damaged (each damaged chunk is skipped with a warning naming
    /// the file and offset); every readable message was played.
    Play(play::PlayArgs),
    /// Record topics into a rosbag2 folder of MCAP files until Ctrl-C.
    Record(record::RecordArgs),
    /// Run a zenoh router configured as ROS 2's rmw_zenohd (one per host), until Ctrl-C.
    ///
    /// rmw_zenohd's default settings: listens on tcp/[::]:7447, multicast scouting off, the
    /// same gossip, timeouts and lease. Nodes on the host find it at the default rendezvous
    /// (tcp/127.0.0.1:7447), learn each other from its gossip and link directly; routers of
    /// other hosts are linked with --connect or a --config file.
    ///
    /// --listen replaces the listening endpoints, --connect adds routers to connect to,
    /// --config loads a zenoh JSON5 file whose values win over rmw_zenohd's (the mode is always
    /// router); --domain does not apply. Prints one `listening on ENDPOINT` line per endpoint
    /// on stdout, then runs until Ctrl-C or SIGTERM (exit status 0).
    Router(router::RouterArgs),
}

/// Parses the command line, runs the command, and turns any error into one line and exit 1
/// (exit 3: the command used everything readable in a damaged log, see `damage`).
pub fn main() -> ExitCode {
    restore_sigpipe();
    let cli = Cli::parse();
    // `topic info -v` means "every endpoint", as in `ros2 topic info -v`, not a log level.
    let endpoints_verbose = matches!(
        cli.command,
        Command::Topic(topic::TopicCommand::Info { .. })
    );
    init_tracing(if endpoints_verbose {
        cli.verbose.saturating_sub(1)
    } else {
        cli.verbose
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Topic(cmd) => topic::run(cmd, &cli.network, cli.verbose > 0).await,
            Command::Node(cmd) => node::run(cmd, &cli.network).await,
            Command::Service(cmd) => service::run(cmd, &cli.network).await,
            Command::Param(cmd) => param::run(cmd, &cli.network).await,
            Command::Interface(cmd) => interface::run(cmd),
            Command::Sync(cmd) => sync::run(cmd, &cli.network).await,
            Command::Tf(cmd) => tf::run(cmd, &cli.network).await,
            Command::Play(args) => play::run(args, &cli.network).await,
            Command::Record(args) => record::run(args, &cli.network).await,
            Command::Router(args) => router::run(args, &cli.network).await,
            Command::Bag(cmd) => bag::run(cmd),
        }
    });
    // Closing zenoh sessions can linger; do not wait for background tasks.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<damage::Damaged>() => {
            eprintln!("error: {e}");
            ExitCode::from(damage::DAMAGED_EXIT)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Lets `rosync ... | head` end quietly, as Unix tools do, instead of failing on a closed pipe.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is always valid.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Logs to stderr: rosync's warnings by default, zenoh's own lines only from `-v` on (rosync
/// says in its own words what a user must act on, such as an endpoint it cannot reach).
fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn,zenoh=off",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// An error message for the command line.
#[derive(Debug)]
pub(crate) struct CliError(String);

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CliError {}

/// The result type of commands.
pub(crate) type CliResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// Fails a command with a one-line message.
pub(crate) fn fail<T>(
    message: impl Into<String>,
) -> Result<T, Box<dyn std::error::Error + Send + Sync>> {
    Err(Box::new(CliError(message.into())))
}
