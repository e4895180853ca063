//! `rosync router`: a zenoh router configured as ROS 2's `rmw_zenohd`, until Ctrl-C or SIGTERM.

use clap::Args;

use super::{CliResult, NetworkArgs};
use crate::node::router::{Router, RouterConfig, DEFAULT_ROUTER_LISTEN};

/// Options of `rosync router` (the network options --listen, --connect and --config apply).
#[derive(Debug, Args)]
pub struct RouterArgs {}

/// Runs the router until Ctrl-C or SIGTERM.
pub async fn run(_args: RouterArgs, net: &NetworkArgs) -> CliResult {
    let options = net.options();
    let config = RouterConfig {
        listen: options.listen,
        connect: options.connect,
        config_file: options.config_file,
    };
    let router = Router::start(&config).await?;
    let locators = router.listening();
    if locators.is_empty() {
        eprintln!("warning: the router listens nowhere (default: {DEFAULT_ROUTER_LISTEN})");
    }
    for locator in locators {
        println!("listening on {locator}");
    }
    eprintln!("router {} running (Ctrl-C to stop)", router.zid());
    super::record::wait_for_signal().await?;
    eprintln!("stopping");
    router.close().await?;
    Ok(())
}
