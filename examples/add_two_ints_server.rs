//! Serves `example_interfaces/srv/AddTwoInts` on /add_two_ints, like the ROS 2 demo
//! `add_two_ints_server`, until Ctrl-C.
//!
//! cargo run --example add_two_ints_server -- [--connect/--listen ENDPOINT]

use clap::Parser;
use rosync::msg::example_interfaces::{AddTwoInts, AddTwoInts_Response};
use rosync::node::NetworkArgs;

#[derive(Parser)]
#[command(about = "Answer /add_two_ints requests with a + b")]
struct Args {
    #[command(flatten)]
    network: NetworkArgs,
}

#[tokio::main]
async fn main() -> Result<(), rosync::Error> {
    tracing_subscriber::fmt()
        .with_env_filter("info,zenoh=warn")
        .init();
    let args = Args::parse();
    let node = args.network.build_node("add_two_ints_server").await?;
    let server = node
        .service::<AddTwoInts, _, _>("add_two_ints", |request| async move {
            println!("incoming request: a: {} b: {}", request.a, request.b);
            let sum = request
                .a
                .checked_add(request.b)
                .ok_or("the sum does not fit an int64")?;
            Ok(AddTwoInts_Response { sum })
        })
        .await?;
    println!("serving {}", server.name());
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("cannot wait for Ctrl-C: {e}");
    }
    let stats = server.stats();
    println!(
        "answered {} of {} requests ({} failed)",
        stats.answered(),
        stats.received(),
        stats.failed()
    );
    Ok(())
}
