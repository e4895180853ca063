//! Publishes `std_msgs/String` "hello world N" on /chatter, like the ROS 2 demo talker.
//!
//! cargo run --example talker -- [--count N] [--rate HZ] [--connect/--listen ENDPOINT]

use std::time::Duration;

use clap::Parser;
use rosync::msg::std_msgs;
use rosync::node::NetworkArgs;

#[derive(Parser)]
#[command(about = "Publish 'hello world N' on /chatter")]
struct Args {
    #[command(flatten)]
    network: NetworkArgs,
    /// Stop after this many messages (default: run until Ctrl-C).
    #[arg(long)]
    count: Option<u64>,
    /// Messages per second.
    #[arg(long, default_value_t = 5.0)]
    rate: f64,
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
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate.max(0.01)));
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
