//! How a node joins a zenoh network: endpoints, a config file, or the loopback default, and
//! the ROS domain it joins.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// The endpoint of the default loopback rendezvous (zenoh's and rmw_zenoh's router port).
pub const DEFAULT_RENDEZVOUS: &str = "tcp/127.0.0.1:7447";

/// Where a node's zenoh session listens and connects, and which ROS domain it joins: what the
/// `rosync` command line's `--connect`, `--listen`, `--config` and `--domain` set.
///
/// With no endpoint and no config file, a node needs no router: it runs in peer mode with
/// multicast scouting off and tries to listen on [`DEFAULT_RENDEZVOUS`]; if another process (a
/// rosync node or a ROS 2 `rmw_zenohd` router) already holds that port, it connects to it
/// instead and listens on an ephemeral loopback port, and gossip links the peers directly.
///
/// Pass it to [`NodeBuilder::network`](super::NodeBuilder::network); it is a plain value, so a
/// program can fill it from its own command line or configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkOptions {
    /// Endpoints to connect to, such as `tcp/192.168.1.10:7447`.
    pub connect: Vec<String>,
    /// Endpoints to listen on, such as `tcp/127.0.0.1:7500`.
    pub listen: Vec<String>,
    /// A zenoh JSON5 configuration file, applied before `connect` and `listen`.
    pub config_file: Option<PathBuf>,
    /// The ROS domain id, the first part of every key expression (`None`: `ROS_DOMAIN_ID`,
    /// else 0).
    pub domain_id: Option<u32>,
}

impl NetworkOptions {
    /// Options that listen on one endpoint.
    pub fn listen(endpoint: impl Into<String>) -> Self {
        Self {
            listen: vec![endpoint.into()],
            ..Self::default()
        }
    }

    /// Options that connect to one endpoint.
    pub fn connect(endpoint: impl Into<String>) -> Self {
        Self {
            connect: vec![endpoint.into()],
            ..Self::default()
        }
    }

    /// True when no endpoint and no config file were given, so the loopback rendezvous applies.
    pub fn is_default(&self) -> bool {
        self.connect.is_empty() && self.listen.is_empty() && self.config_file.is_none()
    }

    /// The zenoh configurations to try in order (more than one only for the rendezvous).
    pub fn zenoh_configs(&self) -> Result<Vec<zenoh::Config>> {
        if self.is_default() {
            return Ok(vec![
                peer_config(&[], &[DEFAULT_RENDEZVOUS.to_string()])?,
                peer_config(
                    &[DEFAULT_RENDEZVOUS.to_string()],
                    &["tcp/127.0.0.1:0".to_string()],
                )?,
            ]);
        }
        let mut config = match &self.config_file {
            Some(path) => zenoh::Config::from_file(path)
                .map_err(|e| Error::Config(format!("cannot load {}: {e}", path.display())))?,
            None => base_peer_config()?,
        };
        if !self.connect.is_empty() {
            set_endpoints(&mut config, "connect/endpoints", &self.connect)?;
        }
        if !self.listen.is_empty() {
            set_endpoints(&mut config, "listen/endpoints", &self.listen)?;
        } else if self.config_file.is_none() {
            set_endpoints(
                &mut config,
                "listen/endpoints",
                &["tcp/127.0.0.1:0".to_string()],
            )?;
        }
        Ok(vec![config])
    }
}

fn insert(config: &mut zenoh::Config, key: &str, value: &str) -> Result<()> {
    config
        .insert_json5(key, value)
        .map_err(|e| Error::Config(format!("cannot set {key} = {value}: {e}")))
}

fn base_peer_config() -> Result<zenoh::Config> {
    let mut config = zenoh::Config::default();
    insert(&mut config, "mode", "\"peer\"")?;
    insert(&mut config, "scouting/multicast/enabled", "false")?;
    Ok(config)
}

fn set_endpoints(config: &mut zenoh::Config, key: &str, endpoints: &[String]) -> Result<()> {
    for endpoint in endpoints {
        endpoint
            .parse::<zenoh::config::EndPoint>()
            .map_err(|e| Error::Config(format!("invalid endpoint `{endpoint}`: {e}")))?;
    }
    let json = serde_json::to_string(endpoints)
        .map_err(|e| Error::Config(format!("cannot encode endpoints: {e}")))?;
    insert(config, key, &json)
}

fn peer_config(connect: &[String], listen: &[String]) -> Result<zenoh::Config> {
    let mut config = base_peer_config()?;
    if !connect.is_empty() {
        set_endpoints(&mut config, "connect/endpoints", connect)?;
    }
    set_endpoints(&mut config, "listen/endpoints", listen)?;
    Ok(config)
}

/// Opens a zenoh session with the first configuration that works.
pub(crate) async fn open_session(options: &NetworkOptions) -> Result<zenoh::Session> {
    let mut last_error = None;
    for config in options.zenoh_configs()? {
        match zenoh::open(config).await {
            Ok(session) => return Ok(session),
            Err(e) => {
                tracing::debug!("zenoh session attempt failed: {e}");
                last_error = Some(e);
            }
        }
    }
    Err(Error::zenoh(
        "cannot open session",
        last_error.map(|e| e.to_string()).unwrap_or_default(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_endpoints_are_named() {
        let opts = NetworkOptions::connect("not-an-endpoint");
        let err = opts.zenoh_configs().expect_err("invalid");
        assert!(err.to_string().contains("not-an-endpoint"), "{err}");
    }

    #[test]
    fn missing_config_file_is_named() {
        let opts = NetworkOptions {
            config_file: Some("/nonexistent/zenoh.json5".into()),
            ..Default::default()
        };
        let err = opts.zenoh_configs().expect_err("missing");
        assert!(
            err.to_string().contains("/nonexistent/zenoh.json5"),
            "{err}"
        );
    }

    #[test]
    fn network_keeps_a_domain_id_set_before_unless_it_sets_one() {
        let kept = super::super::Node::builder("n")
            .domain_id(7)
            .network(NetworkOptions::connect("tcp/127.0.0.1:7447"));
        assert_eq!(kept.network.domain_id, Some(7));
        assert_eq!(kept.network.connect, ["tcp/127.0.0.1:7447"]);
        let replaced = super::super::Node::builder("n")
            .domain_id(7)
            .network(NetworkOptions {
                domain_id: Some(3),
                ..NetworkOptions::default()
            });
        assert_eq!(replaced.network.domain_id, Some(3));
    }

    #[test]
    fn default_tries_the_rendezvous_then_connects_to_it() {
        assert_eq!(
            NetworkOptions::default()
                .zenoh_configs()
                .map(|c| c.len())
                .ok(),
            Some(2)
        );
    }
}
