//! How a node joins a zenoh network: endpoints, a config file, or the loopback default, and
//! the ROS domain it joins.

use std::path::PathBuf;

use super::endpoint::{self, Role};
use crate::error::{zenoh_text, Error, Result};

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
    ///
    /// Endpoints are checked first ([`PROTOCOLS`](super::PROTOCOLS), `HOST:PORT`, port in
    /// range); the error names the endpoint and what is wrong with it.
    pub fn zenoh_configs(&self) -> Result<Vec<zenoh::Config>> {
        Ok(self.attempts()?.into_iter().map(|a| a.config).collect())
    }

    /// The session configurations to try in order, each with the endpoints it connects to.
    fn attempts(&self) -> Result<Vec<Attempt>> {
        for endpoint in &self.connect {
            endpoint::validate(endpoint, Role::Connect)?;
        }
        for endpoint in &self.listen {
            endpoint::validate(endpoint, Role::Listen)?;
        }
        if self.is_default() {
            let rendezvous = vec![DEFAULT_RENDEZVOUS.to_string()];
            return Ok(vec![
                Attempt {
                    config: peer_config(&[], &rendezvous)?,
                    connect: Vec::new(),
                },
                Attempt {
                    config: peer_config(&rendezvous, &["tcp/127.0.0.1:0".to_string()])?,
                    connect: rendezvous,
                },
            ]);
        }
        let mut config = match &self.config_file {
            Some(path) => load_config_file(path)?,
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
        let connect = plain_list(&config, "connect/endpoints");
        Ok(vec![Attempt { config, connect }])
    }
}

/// One way to open the session.
struct Attempt {
    config: zenoh::Config,
    /// The endpoints it connects to (from the options or a config file's plain list).
    connect: Vec<String>,
}

/// Loads a zenoh config file and checks the endpoints it lists.
pub(super) fn load_config_file(path: &std::path::Path) -> Result<zenoh::Config> {
    let config = zenoh::Config::from_file(path).map_err(|e| {
        Error::Config(format!(
            "cannot load {}: {}",
            path.display(),
            one_line(&zenoh_text(e))
        ))
    })?;
    for (key, role) in [
        ("connect/endpoints", Role::Connect),
        ("listen/endpoints", Role::Listen),
    ] {
        for endpoint in plain_list(&config, key) {
            endpoint::check(&endpoint, role).map_err(|why| {
                Error::Config(format!(
                    "invalid endpoint `{endpoint}` in {key} of {}: {why}",
                    path.display()
                ))
            })?;
        }
    }
    Ok(config)
}

/// A parser's multi-line message (`--> 2:1`, the line, a caret, `= expected ...`) as one line.
fn one_line(text: &str) -> String {
    let mut position = None;
    let mut message = None;
    for line in text.lines().map(str::trim) {
        if let Some(at) = line.strip_prefix("-->") {
            position = Some(at.trim().to_string());
        } else if let Some(why) = line.strip_prefix('=') {
            message = Some(why.trim().to_string());
        }
    }
    match (position, message) {
        (Some(at), Some(why)) => format!("at line:column {at}: {why}"),
        _ => text.lines().map(str::trim).collect::<Vec<_>>().join(" "),
    }
}

pub(super) fn insert(config: &mut zenoh::Config, key: &str, value: &str) -> Result<()> {
    config
        .insert_json5(key, value)
        .map_err(|e| Error::Config(format!("cannot set {key} = {value}: {}", zenoh_text(e))))
}

fn base_peer_config() -> Result<zenoh::Config> {
    let mut config = zenoh::Config::default();
    insert(&mut config, "mode", "\"peer\"")?;
    insert(&mut config, "scouting/multicast/enabled", "false")?;
    // As rmw_zenoh's session config: a best-effort transient-local publisher's cache is ordered
    // by these timestamps.
    insert(&mut config, "timestamping/enabled", "true")?;
    Ok(config)
}

pub(super) fn set_endpoints(
    config: &mut zenoh::Config,
    key: &str,
    endpoints: &[String],
) -> Result<()> {
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

/// The endpoints under `key` of `config` when they are a plain list (not one list per mode).
fn plain_list(config: &zenoh::Config, key: &str) -> Vec<String> {
    config
        .get_json(key)
        .ok()
        .and_then(|json| serde_json::from_str::<Vec<String>>(&json).ok())
        .unwrap_or_default()
}

/// True if nothing on this machine listens on the rendezvous port yet (so listening there
/// will work); asked before zenoh tries, so the usual case of joining a running rendezvous
/// logs no failed listener.
fn rendezvous_is_free() -> bool {
    let address = DEFAULT_RENDEZVOUS.trim_start_matches("tcp/");
    std::net::TcpListener::bind(address).is_ok()
}

/// True once the session has a router or a peer.
pub(crate) async fn has_link(session: &zenoh::Session) -> bool {
    let info = session.info();
    info.routers_zid().await.next().is_some() || info.peers_zid().await.next().is_some()
}

/// Opens a zenoh session with the first configuration that works, and warns (in rosync's
/// words) when none of the endpoints it connects to answered; zenoh keeps trying them.
pub(crate) async fn open_session(
    options: &NetworkOptions,
    shared_memory: &super::shm::SharedMemory,
) -> Result<zenoh::Session> {
    let mut attempts = options.attempts()?;
    if !shared_memory.enabled {
        // Not offered to peers either: what this node receives comes over the network too.
        for attempt in &mut attempts {
            insert(
                &mut attempt.config,
                "transport/shared_memory/enabled",
                "false",
            )?;
        }
    }
    if options.is_default() && attempts.len() > 1 && !rendezvous_is_free() {
        tracing::debug!("{DEFAULT_RENDEZVOUS} is taken; connecting to it");
        attempts.remove(0);
    }
    let mut last_error = None;
    for attempt in attempts {
        match zenoh::open(attempt.config).await {
            Ok(session) => {
                if !attempt.connect.is_empty() && !has_link(&session).await {
                    tracing::warn!(
                        "cannot reach {}: no zenoh router or peer answered there yet; \
                         still trying in the background",
                        attempt.connect.join(", ")
                    );
                }
                return Ok(session);
            }
            Err(e) => {
                tracing::debug!("zenoh session attempt failed: {e}");
                last_error = Some(e);
            }
        }
    }
    let mut endpoints = Vec::new();
    if !options.listen.is_empty() {
        endpoints.push(format!("listening on {}", options.listen.join(", ")));
    }
    if !options.connect.is_empty() {
        endpoints.push(format!("connecting to {}", options.connect.join(", ")));
    }
    let context = if endpoints.is_empty() {
        "cannot open a session".to_string()
    } else {
        format!("cannot open a session {}", endpoints.join(" and "))
    };
    Err(Error::zenoh(
        &context,
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
        let opts = NetworkOptions::listen("tcp/127.0.0.1:99999");
        let err = opts.zenoh_configs().expect_err("invalid").to_string();
        assert!(err.contains("`tcp/127.0.0.1:99999`: port 99999"), "{err}");
    }

    #[test]
    fn config_file_errors_hold_no_source_paths() {
        let dir = std::env::temp_dir().join(format!("rosync-netcfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("bad.json5");
        std::fs::write(&path, "{ mode: \"peer\", nonsense: 3 }").expect("write");
        let opts = NetworkOptions {
            config_file: Some(path.clone()),
            ..Default::default()
        };
        let err = opts.zenoh_configs().expect_err("unknown field").to_string();
        assert!(err.contains("unknown field `nonsense`"), "{err}");
        assert!(!err.contains(".rs:") && !err.contains("Message {"), "{err}");
        std::fs::write(&path, "{ mode: ").expect("write");
        let err = opts.zenoh_configs().expect_err("syntax").to_string();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("at line:column 1:9: expected"), "{err}");
        std::fs::write(
            &path,
            r#"{ listen: { endpoints: ["tcp/127.0.0.1:99999"] } }"#,
        )
        .expect("write");
        let err = opts.zenoh_configs().expect_err("port").to_string();
        assert!(
            err.contains("`tcp/127.0.0.1:99999` in listen/endpoints of")
                && err.contains("port 99999 is out of range"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn missing_config_file_is_named() {
        let opts = NetworkOptions {
            config_file: Some("/nonexistent/zenoh.json5".into()),
            ..Default::default()
        };
        let err = opts.zenoh_configs().expect_err("missing").to_string();
        assert!(err.contains("/nonexistent/zenoh.json5"), "{err}");
        assert!(!err.contains(".rs:"), "{err}");
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
