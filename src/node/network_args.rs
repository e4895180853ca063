//! [`NetworkArgs`]: the `--connect`, `--listen`, `--config` and `--domain` options as a clap
//! argument group (feature `cli`), shared by the `rosync` commands and the examples; they
//! describe a [`NetworkOptions`], the library's clap-free form.

use std::path::PathBuf;

use clap::Args;

use super::{NetworkOptions, Node};

/// How a program joins the zenoh network and which ROS domain it uses, as command-line options.
#[derive(Debug, Clone, Args)]
pub struct NetworkArgs {
    /// Connect to this zenoh endpoint (PROTOCOL/HOST:PORT, tcp or udp), e.g.
    /// tcp/192.168.1.5:7447 (repeatable). If nothing answers there, rosync says so and keeps
    /// trying; `topic list`, `node list` and `topic echo` without --type fail instead. Without
    /// --connect, --listen or --config, rosync uses the loopback rendezvous on
    /// tcp/127.0.0.1:7447 (listens there, or connects if another process holds it).
    #[arg(long, value_name = "ENDPOINT", global = true)]
    connect: Vec<String>,

    /// Listen on this zenoh endpoint, e.g. tcp/127.0.0.1:7500 (repeatable; port 0: any free
    /// port).
    #[arg(long, value_name = "ENDPOINT", global = true)]
    listen: Vec<String>,

    /// Load this zenoh configuration file (JSON5); --connect and --listen are applied on top.
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,

    /// ROS domain id: the first part of every key expression.
    #[arg(
        long,
        value_name = "ID",
        env = "ROS_DOMAIN_ID",
        default_value_t = 0,
        global = true,
        allow_hyphen_values = true,
        value_parser = crate::cli::args::whole::<u32>(0, u32::MAX.into())
    )]
    domain: u32,
}

impl NetworkArgs {
    /// The network options these arguments describe.
    pub fn options(&self) -> NetworkOptions {
        NetworkOptions {
            connect: self.connect.clone(),
            listen: self.listen.clone(),
            config_file: self.config.clone(),
            domain_id: Some(self.domain),
        }
    }

    /// Starts a node called `name` on this network and domain.
    pub async fn build_node(&self, name: &str) -> crate::Result<Node> {
        Node::builder(name).network(self.options()).build().await
    }
}
