//! A talker tuned by parameters: publishes `message` on /chatter `rate` times per second;
//! `rosync param set /param_talker rate 2.0` (or `ros2 param set`) changes it while it runs.
//!
//! cargo run --example parameters -- [--param rate:=5.0] [--params-file FILE]
//!     [--connect/--listen ENDPOINT]

use std::time::Duration;

use clap::Parser;
use rosync::msg::std_msgs;
use rosync::node::{NetworkArgs, ParameterArgs, ParameterDescriptor};

#[derive(Parser)]
#[command(about = "Publish on /chatter at the rate the `rate` parameter sets")]
struct Args {
    #[command(flatten)]
    network: NetworkArgs,
    #[command(flatten)]
    parameters: ParameterArgs,
}

#[tokio::main]
async fn main() -> Result<(), rosync::Error> {
    tracing_subscriber::fmt()
        .with_env_filter("info,zenoh=warn")
        .init();
    let args = Args::parse();
    let node = rosync::node::Node::builder("param_talker")
        .network(args.network.options())
        .parameter_overrides(args.parameters.overrides()?)
        .build()
        .await?;
    let rate =
        ParameterDescriptor::new("messages per second").floating_point_range(0.1, 100.0, 0.0);
    node.declare_parameter("rate", 1.0, rate).await?;
    let text = ParameterDescriptor::new("the text published");
    node.declare_parameter("message", "hello", text).await?;
    let _log = node.on_set_parameters(|changes| {
        for p in changes {
            tracing::info!("parameter {} set to {}", p.name, p.value);
        }
        Ok(())
    });
    let publisher = node.publisher::<std_msgs::String>("/chatter").await?;
    loop {
        let message = node.parameter::<String>("message").unwrap_or_default();
        publisher
            .publish(&std_msgs::String { data: message })
            .await?;
        let rate = node.parameter::<f64>("rate").unwrap_or(1.0);
        tokio::time::sleep(Duration::from_secs_f64(1.0 / rate)).await;
    }
}
