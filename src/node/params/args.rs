//! [`ParameterArgs`]: the `--param` and `--params-file` options as a clap argument group
//! (feature `cli`), for the examples and programs built on rosync.

use std::path::PathBuf;

use clap::Args;

use super::overrides::ParameterOverrides;
use super::store::ParameterError;

/// A node's start-up parameter values, as command-line options.
#[derive(Debug, Clone, Default, Args)]
pub struct ParameterArgs {
    /// Start-up value of a parameter, NAME:=VALUE, the value in ROS 2 syntax (true, 3, 3.0,
    /// text, [1, 2]) (repeatable; applied after the --params-file files, later ones winning).
    #[arg(long = "param", value_name = "NAME:=VALUE")]
    param: Vec<String>,

    /// ROS 2 parameters YAML file (`/node_name: ros__parameters: ...`, `/**` for every node)
    /// (repeatable, later files winning).
    #[arg(long = "params-file", value_name = "FILE")]
    params_file: Vec<PathBuf>,
}

impl ParameterArgs {
    /// The overrides these arguments describe: the files, then the `--param` values.
    pub fn overrides(&self) -> Result<ParameterOverrides, ParameterError> {
        let mut overrides = ParameterOverrides::default();
        for file in &self.params_file {
            overrides.file(file)?;
        }
        for param in &self.param {
            overrides.arg(param)?;
        }
        Ok(overrides)
    }
}
