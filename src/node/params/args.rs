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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::ParameterValue;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        parameters: ParameterArgs,
    }

    #[test]
    fn param_values_win_over_files_and_bad_ones_are_named() {
        let dir = std::env::temp_dir().join(format!("rosync_param_args_{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("p.yaml");
        std::fs::write(
            &file,
            "/**:\n  ros__parameters:\n    rate: 1.0\n    id: 3\n",
        )
        .expect("file");
        let file = file.display().to_string();
        let cli = Cli::try_parse_from(["x", "--param", "rate:=2.5", "--params-file", &file])
            .expect("parses");
        let values = cli.parameters.overrides().expect("overrides").resolve("/n");
        assert_eq!(values["rate"], ParameterValue::Double(2.5));
        assert_eq!(values["id"], ParameterValue::Integer(3));
        let cli = Cli::try_parse_from(["x", "--param", "rate=2"]).expect("parses");
        let error = cli.parameters.overrides().expect_err("no :=");
        assert!(error.0.contains("`rate=2`"), "{error}");
        let cli =
            Cli::try_parse_from(["x", "--params-file", "/no/such/file.yaml"]).expect("parses");
        let error = cli.parameters.overrides().expect_err("missing file");
        assert!(error.0.starts_with("/no/such/file.yaml: "), "{error}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
