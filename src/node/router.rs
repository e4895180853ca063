//! [`Router`]: a zenoh router configured as ROS 2's `rmw_zenohd` is by default, so a robot can
//! run ROS 2's topology (one router per host, every node a peer connecting to it) without a
//! ROS install.
//!
//! The settings are the ones rmw_zenoh's `DEFAULT_RMW_ZENOH_ROUTER_CONFIG.json5` changes from
//! zenoh's defaults ([`RMW_ZENOHD_SETTINGS`]): router mode, listen on `tcp/[::]:7447`,
//! multicast scouting off, gossip sent to routers and peers and no autoconnect from a router,
//! timestamping on (transient local needs it), no failover brokering, long open/accept timeouts
//! and link lease for launches of many nodes at once, and shared memory off.

use std::path::PathBuf;

use super::endpoint::{self, Role};
use super::network::{insert, load_config_file, set_endpoints};
use crate::error::{Error, Result};

/// Where `rmw_zenohd` listens by default: every address of the host, zenoh's router port.
pub const DEFAULT_ROUTER_LISTEN: &str = "tcp/[::]:7447";

/// The (key, JSON5 value) pairs of rmw_zenoh's router configuration that differ from zenoh's
/// defaults, applied in order before a config file's own values (see the [module docs](self)).
pub const RMW_ZENOHD_SETTINGS: &[(&str, &str)] = &[
    ("mode", r#""router""#),
    ("listen/endpoints", r#"["tcp/[::]:7447"]"#),
    ("scouting/multicast/enabled", "false"),
    ("scouting/gossip/enabled", "true"),
    ("scouting/gossip/multihop", "false"),
    (
        "scouting/gossip/target",
        r#"{ router: ["router", "peer"], peer: ["router"] }"#,
    ),
    (
        "scouting/gossip/autoconnect",
        r#"{ router: [], peer: ["router", "peer"] }"#,
    ),
    (
        "timestamping/enabled",
        "{ router: true, peer: true, client: true }",
    ),
    ("queries_default_timeout", "600000"),
    ("routing/router/peers_failover_brokering", "false"),
    ("transport/unicast/open_timeout", "60000"),
    ("transport/unicast/accept_timeout", "60000"),
    ("transport/unicast/accept_pending", "10000"),
    ("transport/unicast/max_sessions", "10000"),
    ("transport/link/tx/lease", "60000"),
    ("transport/link/tx/keep_alive", "2"),
    ("transport/shared_memory/enabled", "false"),
];

/// How to start a [`Router`]: extra endpoints and an optional zenoh config file, the way the
/// `rosync router` command line's `--listen`, `--connect` and `--config` give them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouterConfig {
    /// Endpoints to listen on (empty: [`DEFAULT_ROUTER_LISTEN`], or the config file's).
    pub listen: Vec<String>,
    /// Endpoints to connect to, such as the routers of other hosts.
    pub connect: Vec<String>,
    /// A zenoh JSON5 configuration file: its values win over rmw_zenohd's settings where they
    /// differ from zenoh's defaults (the mode is always `router`); `listen` and `connect` are
    /// applied on top.
    pub config_file: Option<PathBuf>,
}

impl RouterConfig {
    /// A router listening on `endpoint` only.
    pub fn listen(endpoint: impl Into<String>) -> Self {
        Self {
            listen: vec![endpoint.into()],
            ..Self::default()
        }
    }

    /// The zenoh configuration: the config file's values, rmw_zenohd's settings where the file
    /// keeps zenoh's defaults, then the endpoints. Endpoints are checked first; the error names
    /// the bad one.
    pub fn zenoh_config(&self) -> Result<zenoh::Config> {
        for endpoint in &self.connect {
            endpoint::validate(endpoint, Role::Connect)?;
        }
        for endpoint in &self.listen {
            endpoint::validate(endpoint, Role::Listen)?;
        }
        let mut config = match &self.config_file {
            Some(path) => load_config_file(path)?,
            None => zenoh::Config::default(),
        };
        // rmw_zenohd's value for every key the file leaves at zenoh's default.
        let zenoh_default = zenoh::Config::default();
        for (key, value) in RMW_ZENOHD_SETTINGS {
            if config.get_json(key).ok() == zenoh_default.get_json(key).ok() {
                insert(&mut config, key, value)?;
            }
        }
        insert(&mut config, "mode", r#""router""#)?;
        if !self.listen.is_empty() {
            set_endpoints(&mut config, "listen/endpoints", &self.listen)?;
        }
        if !self.connect.is_empty() {
            set_endpoints(&mut config, "connect/endpoints", &self.connect)?;
        }
        Ok(config)
    }
}

/// A running zenoh router; it stops when dropped or [`close`](Self::close)d.
pub struct Router {
    session: zenoh::Session,
    listening: Vec<String>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("zid", &self.session.zid().to_string())
            .finish()
    }
}

impl Router {
    /// Starts a router with `config`; fails, naming the endpoints, if it cannot listen.
    pub async fn start(config: &RouterConfig) -> Result<Self> {
        let zenoh_config = config.zenoh_config()?;
        let listening = zenoh_config
            .get_json("listen/endpoints")
            .ok()
            .and_then(|json| serde_json::from_str::<Vec<String>>(&json).ok())
            .unwrap_or_default();
        let session = zenoh::open(zenoh_config).await.map_err(|e| {
            let listen = if config.listen.is_empty() {
                "its configured endpoints".to_string()
            } else {
                config.listen.join(", ")
            };
            Error::zenoh(&format!("cannot start a router listening on {listen}"), e)
        })?;
        tracing::info!(zid = %session.zid(), "router started");
        Ok(Self { session, listening })
    }

    /// The router's zenoh id, as zenoh prints it.
    pub fn zid(&self) -> String {
        self.session.zid().to_string()
    }

    /// The endpoints the router listens on, as configured.
    pub fn listening(&self) -> &[String] {
        &self.listening
    }

    /// The zenoh ids of the peers (nodes) and routers linked to this router.
    pub async fn links(&self) -> Vec<String> {
        let info = self.session.info();
        let peers = info.peers_zid().await;
        let routers = info.routers_zid().await;
        peers.chain(routers).map(|z| z.to_string()).collect()
    }

    /// The underlying zenoh session, for anything rosync does not wrap.
    pub fn session(&self) -> &zenoh::Session {
        &self.session
    }

    /// Stops the router, closing every link.
    pub async fn close(self) -> Result<()> {
        self.session
            .close()
            .await
            .map_err(|e| Error::zenoh("cannot close the router", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_rmw_zenohd() {
        let config = RouterConfig::default().zenoh_config().expect("config");
        let get = |key: &str| config.get_json(key).expect(key);
        assert_eq!(get("mode"), r#""router""#);
        assert_eq!(get("listen/endpoints"), r#"["tcp/[::]:7447"]"#);
        assert_eq!(get("scouting/multicast/enabled"), "false");
        assert_eq!(get("routing/router/peers_failover_brokering"), "false");
        assert_eq!(get("transport/link/tx/lease"), "60000");
        assert_eq!(get("queries_default_timeout"), "600000");
    }

    #[test]
    fn endpoints_and_files_apply_on_top() {
        let config = RouterConfig::listen("tcp/127.0.0.1:7999")
            .zenoh_config()
            .expect("config");
        assert_eq!(
            config.get_json("listen/endpoints").expect("listen"),
            r#"["tcp/127.0.0.1:7999"]"#
        );
        let err = RouterConfig::listen("tcp/127.0.0.1:99999")
            .zenoh_config()
            .expect_err("bad port")
            .to_string();
        assert!(err.contains("port 99999 is out of range"), "{err}");

        let dir = std::env::temp_dir().join(format!("rosync-router-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("router.json5");
        std::fs::write(
            &path,
            r#"{ mode: "peer", connect: { endpoints: ["tcp/192.168.1.5:7447"] },
                transport: { link: { tx: { lease: 20000 } } } }"#,
        )
        .expect("write");
        let config = RouterConfig {
            config_file: Some(path.clone()),
            ..RouterConfig::default()
        }
        .zenoh_config()
        .expect("config");
        let get = |key: &str| config.get_json(key).expect(key);
        assert_eq!(get("mode"), r#""router""#);
        assert_eq!(get("connect/endpoints"), r#"["tcp/192.168.1.5:7447"]"#);
        assert_eq!(get("transport/link/tx/lease"), "20000");
        assert_eq!(get("listen/endpoints"), r#"["tcp/[::]:7447"]"#);
        assert_eq!(get("scouting/multicast/enabled"), "false");

        // The README's two-host example.
        std::fs::write(
            &path,
            "// router-b.json5\n{\n  listen: { endpoints: [\"tcp/[::]:7447\"] },\n  \
             connect: { endpoints: [\"tcp/192.168.1.10:7447\"] },   // host A's router\n}\n",
        )
        .expect("write");
        let config = RouterConfig {
            config_file: Some(path),
            ..RouterConfig::default()
        }
        .zenoh_config()
        .expect("config");
        let get = |key: &str| config.get_json(key).expect(key);
        assert_eq!(get("connect/endpoints"), r#"["tcp/192.168.1.10:7447"]"#);
        assert_eq!(get("routing/router/peers_failover_brokering"), "false");
        let _ = std::fs::remove_dir_all(dir);
    }
}
