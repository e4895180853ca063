//! Publishes `std_msgs/String` "hello world N" on /chatter, like the ROS 2 demo talker.
//!
//! cargo run --example talker -- [--count N] [--rate HZ] [--connect/--listen ENDPOINT]

use std::time::Duration;

use clap::Parser;
use rosync::cli::args::{whole, Hz};
use rosync::msg::std_msgs;
use rosync::node::NetworkArgs;

#[derive(Parser)]
#[command(about = "Publish 'hello world N' on /chatter")]
struct Args {
    #[command(flatten)]
    network: NetworkArgs,
    /// Stop after this many messages (default: run until Ctrl-C).
    #[arg(long, allow_hyphen_values = true, value_parser = whole::<u64>(1, u64::MAX))]
    count: Option<u64>,
    /// Messages per second.
    #[arg(long, default_value = "5", allow_hyphen_values = true)]
    rate: Hz,
}

#[tokio::main]
async fn main() -> Result<(), rosync::Error> {
    tracing_subscriber::fmt()
        .with_env_filter("info,zenoh=warn")
        .init();
    let args = Args::parse();
    let node = args.network.build_node("talker").await?;
    let publisher = node.publisher::<std_msgs::String>("/chatter").await?;
    // Do not publish into the void: give a listener a few seconds to show up.
    publisher.wait_for_subscribers(Duration::from_secs(5)).await;
    let mut tick = tokio::time::interval(args.rate.period());
    for n in 1.. {
        if args.count.is_some_and(|count| n > count) {
            break;
        }
        tick.tick().await;
        let msg = std_msgs::String {
            data: format!("hello world {n}"),
        };
        println!("publishing: '{}'", msg.data);
        publisher.publish(&msg).await?;
    }
    Ok(())
}
