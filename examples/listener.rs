//! Prints every `std_msgs/String` on /chatter, like the ROS 2 demo listener.
//!
//! cargo run --example listener -- [--count N] [--connect/--listen ENDPOINT]

use clap::Parser;
use rosync::msg::std_msgs;
use rosync::node::NetworkArgs;

#[derive(Parser)]
#[command(about = "Print what is said on /chatter")]
struct Args {
    #[command(flatten)]
    network: NetworkArgs,
    /// Exit after this many messages (default: run until Ctrl-C).
    #[arg(long)]
    count: Option<u64>,
}

#[tokio::main]
async fn main() -> Result<(), rosync::Error> {
    tracing_subscriber::fmt()
        .with_env_filter("info,zenoh=warn")
        .init();
    let args = Args::parse();
    let node = args.network.build_node("listener").await?;
    let chatter = node
        .subscriber::<std_msgs::String>("/chatter")
        .queue_size(10)
        .await?;
    let mut heard = 0;
    while let Some(msg) = chatter.recv().await {
        println!("I heard: '{}'", msg.data);
        heard += 1;
        if args.count.is_some_and(|count| heard >= count) {
            break;
        }
    }
    let stats = chatter.stats();
    println!(
        "received {} messages, {} dropped (queue full)",
        stats.delivered, stats.dropped_queue_full
    );
    Ok(())
}
