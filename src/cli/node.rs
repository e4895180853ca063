//! `rosync node`: nodes in the graph.

use clap::Subcommand;
use std::collections::BTreeSet;

use super::args::Seconds;
use super::{CliResult, NetworkArgs};
use crate::node::EntityKind;

/// Subcommands of `rosync node`.
#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// List the nodes that announce themselves (rosync and ROS 2 rmw_zenoh nodes).
    List {
        /// How long to wait for answers from the network, in seconds.
        #[arg(
            long,
            default_value = "1",
            value_name = "SECONDS",
            allow_hyphen_values = true
        )]
        timeout: Seconds,
    },
}

/// Runs a node subcommand.
pub async fn run(cmd: NodeCommand, net: &NetworkArgs) -> CliResult {
    match cmd {
        NodeCommand::List { timeout } => {
            let node = net.node("rosync_node_list").await?;
            let own_zid = node.session().zid().to_string();
            let entities = node.graph(timeout.duration()).await?;
            net.check_reached(&node).await?;
            let names: BTreeSet<String> = entities
                .iter()
                .filter(|e| e.kind == EntityKind::Node && e.zid != own_zid)
                .map(|e| e.node_fqn())
                .collect();
            for name in names {
                println!("{name}");
            }
            Ok(())
        }
    }
}
