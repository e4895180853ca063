//! `rosync interface`: the message and service types rosync ships.

use clap::Subcommand;

use super::{fail, CliResult};
use crate::msg::{lookup, lookup_service, registry, service_registry};

/// Subcommands of `rosync interface`.
#[derive(Debug, Subcommand)]
pub enum InterfaceCommand {
    /// List every message and service type rosync ships.
    List,
    /// Print a type's full definition (a message as MCAP ros2msg schemas store it, a service
    /// as its .srv file).
    Show {
        /// The type, e.g. sensor_msgs/msg/Image, sensor_msgs/Image or std_srvs/srv/Trigger.
        type_name: String,
    },
    /// Print a type's REP-2016 RIHS01 hash.
    Hash {
        /// The type, e.g. std_msgs/msg/String or example_interfaces/srv/AddTwoInts.
        type_name: String,
    },
}

/// Runs an interface subcommand.
pub fn run(cmd: InterfaceCommand) -> CliResult {
    match cmd {
        InterfaceCommand::List => {
            for t in registry() {
                println!("{}", t.type_name);
            }
            for s in service_registry() {
                println!("{}", s.type_name);
            }
        }
        InterfaceCommand::Show { type_name } => {
            let (definition, _) = find(&type_name)?;
            print!("{definition}");
        }
        InterfaceCommand::Hash { type_name } => {
            let (_, hash) = find(&type_name)?;
            println!("{hash}");
        }
    }
    Ok(())
}

/// A shipped type's definition and hash: a message's, else a service's (`pkg/srv/Name`).
fn find(
    type_name: &str,
) -> Result<(&'static str, &'static str), Box<dyn std::error::Error + Send + Sync>> {
    if let Some(t) = lookup(type_name) {
        return Ok((t.definition, t.type_hash));
    }
    if let Some(s) = lookup_service(type_name) {
        return Ok((s.definition, s.type_hash));
    }
    fail(format!(
        "unknown message or service type `{type_name}` (see `rosync interface list`)"
    ))
}
