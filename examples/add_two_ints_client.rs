//! Calls `example_interfaces/srv/AddTwoInts` on /add_two_ints once, like the ROS 2 demo
//! `add_two_ints_client`.
//!
//! cargo run --example add_two_ints_client -- [--a A] [--b B] [--connect/--listen ENDPOINT]

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use rosync::msg::example_interfaces::{AddTwoInts, AddTwoInts_Request};
use rosync::node::NetworkArgs;

#[derive(Parser)]
#[command(about = "Ask /add_two_ints for a + b")]
struct Args {
    #[command(flatten)]
    network: NetworkArgs,
    /// The first addend.
    #[arg(long, default_value = "2", allow_hyphen_values = true)]
    a: i64,
    /// The second addend.
    #[arg(long, default_value = "3", allow_hyphen_values = true)]
    b: i64,
}

#[tokio::main]
async fn main() -> Result<ExitCode, rosync::Error> {
    tracing_subscriber::fmt()
        .with_env_filter("info,zenoh=warn")
        .init();
    let args = Args::parse();
    let node = args.network.build_node("add_two_ints_client").await?;
    let client = node.client::<AddTwoInts>("add_two_ints").await?;
    if !client.wait_for_service(Duration::from_secs(10)).await {
        eprintln!("service {} not available", client.raw().name());
        return Ok(ExitCode::FAILURE);
    }
    let request = AddTwoInts_Request {
        a: args.a,
        b: args.b,
    };
    match client.call(&request, Duration::from_secs(5)).await {
        Ok(response) => {
            println!("Result of add_two_ints: {}", response.sum);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
