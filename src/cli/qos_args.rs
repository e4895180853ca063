//! The QoS options of `rosync topic pub` and `rosync topic echo`, as `ros2 topic pub` and
//! `ros2 topic echo` take them: a preset, then the policies and the depth that override it.

use clap::Args;

use super::args::whole;
use crate::node::{Durability, History, QosProfile, Reliability};

/// The largest `--qos-depth`.
pub const MAX_QOS_DEPTH: u64 = 1_000_000;

/// `--qos-profile`, `--qos-depth`, `--qos-history`, `--qos-reliability`, `--qos-durability`.
#[derive(Debug, Clone, Default, Args)]
pub struct QosArgs {
    /// The ROS 2 QoS preset to start from: default (reliable, volatile, keep last 10),
    /// sensor_data (best effort, keep last 5), services_default, parameters and
    /// parameter_events (keep last 1000), system_default (rmw_zenoh's defaults).
    #[arg(long, value_name = "PROFILE", value_parser = QosProfile::PRESETS)]
    pub qos_profile: Option<String>,
    /// How many messages are kept: queued by a subscriber, and by a transient-local publisher
    /// for late subscribers.
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = whole::<usize>(1, MAX_QOS_DEPTH))]
    pub qos_depth: Option<usize>,
    /// keep_last (the last --qos-depth messages), keep_all, or system_default.
    #[arg(long, value_name = "POLICY", value_parser = ["keep_last", "keep_all", "system_default"])]
    pub qos_history: Option<String>,
    /// reliable, best_effort, system_default, or best_available (a subscriber: best effort if
    /// a publisher is).
    #[arg(long, value_name = "POLICY", value_parser = ["reliable", "best_effort", "system_default", "best_available"])]
    pub qos_reliability: Option<String>,
    /// volatile, transient_local (a publisher keeps its last --qos-depth messages for
    /// subscribers that join later; a subscriber gets them), system_default, or
    /// best_available (a subscriber: transient local if every publisher is).
    #[arg(long, value_name = "POLICY", value_parser = ["volatile", "transient_local", "system_default", "best_available"])]
    pub qos_durability: Option<String>,
}

impl QosArgs {
    /// The profile the options describe: the preset (`default` unless given), then each
    /// policy and the depth given.
    pub fn profile(&self) -> QosProfile {
        let mut qos = self
            .qos_profile
            .as_deref()
            .and_then(QosProfile::preset)
            .unwrap_or_default();
        if let Some(history) = self.qos_history.as_deref().and_then(History::from_name) {
            qos.history = history;
        }
        if let Some(depth) = self.qos_depth {
            qos.depth = depth;
        }
        if let Some(reliability) = self
            .qos_reliability
            .as_deref()
            .and_then(Reliability::from_name)
        {
            qos.reliability = reliability;
        }
        if let Some(durability) = self
            .qos_durability
            .as_deref()
            .and_then(Durability::from_name)
        {
            qos.durability = durability;
        }
        qos
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        qos: QosArgs,
    }

    fn parse(args: &[&str]) -> Result<QosProfile, String> {
        Cli::try_parse_from(std::iter::once("x").chain(args.iter().copied()))
            .map(|cli| cli.qos.profile())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn options_override_the_preset() {
        assert_eq!(parse(&[]), Ok(QosProfile::default()));
        assert_eq!(
            parse(&["--qos-profile", "sensor_data"]),
            Ok(QosProfile::sensor_data())
        );
        assert_eq!(
            parse(&["--qos-durability", "transient_local", "--qos-depth", "3"]),
            Ok(QosProfile::default().transient_local().keep_last(3))
        );
        let qos = parse(&[
            "--qos-profile",
            "sensor_data",
            "--qos-reliability",
            "reliable",
            "--qos-history",
            "keep_all",
        ])
        .expect("parses");
        assert_eq!(qos.reliability, Reliability::Reliable);
        assert_eq!(qos.history, History::KeepAll);
        assert_eq!(qos.depth, 5);
    }

    #[test]
    fn bad_values_name_the_option_and_the_choices() {
        for (args, needle) in [
            (&["--qos-depth", "0"][..], "--qos-depth"),
            (&["--qos-depth", "-2"][..], "must not be negative"),
            (&["--qos-depth", "ten"][..], "not a whole number"),
            (&["--qos-reliability", "sometimes"][..], "best_effort"),
            (&["--qos-durability", "latched"][..], "transient_local"),
            (&["--qos-profile", "fast"][..], "sensor_data"),
            (&["--qos-history", "all"][..], "keep_all"),
        ] {
            let err = parse(args).expect_err(needle);
            assert!(err.contains(needle), "{args:?}: {err}");
        }
    }
}
