//! `rosync interface`: the message types rosync ships.

use clap::Subcommand;

use super::{fail, CliResult};
use crate::msg::{lookup, registry};

/// Subcommands of `rosync interface`.
#[derive(Debug, Subcommand)]
pub enum InterfaceCommand {
    /// List every message type rosync ships.
    List,
    /// Print a type's full definition (as MCAP ros2msg schemas store it).
    Show {
        /// The type, e.g. sensor_msgs/msg/Image or sensor_msgs/Image.
        type_name: String,
    },
    /// Print a type's REP-2016 RIHS01 hash.
    Hash {
        /// The type, e.g. std_msgs/msg/String.
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
        }
        InterfaceCommand::Show { type_name } => match lookup(&type_name) {
            Some(t) => print!("{}", t.definition),
            None => {
                return fail(format!(
                    "unknown message type `{type_name}` (see `rosync interface list`)"
                ))
            }
        },
        InterfaceCommand::Hash { type_name } => match lookup(&type_name) {
            Some(t) => println!("{}", t.type_hash),
            None => {
                return fail(format!(
                    "unknown message type `{type_name}` (see `rosync interface list`)"
                ))
            }
        },
    }
    Ok(())
}
