//! Publishes a custom `my_robot_msgs/Detection` and receives it back through zenoh.
//!
//! cargo run -p custom_msgs_example

use std::time::Duration;

use custom_msgs_example::my_robot_msgs::{Detection, Status};
use rosync::msg::{Message, Stamped};
use rosync::node::Node;

#[tokio::main]
async fn main() -> Result<(), rosync::Error> {
    let endpoint = "tcp/127.0.0.1:7460";
    let camera = Node::builder("detector").listen(endpoint).build().await?;
    let planner = Node::builder("planner").connect(endpoint).build().await?;
    let detections = planner.subscriber::<Detection>("/detections").await?;
    let publisher = camera.publisher::<Detection>("/detections").await?;
    publisher.wait_for_subscribers(Duration::from_secs(5)).await;

    let mut detection = Detection {
        label: "pallet".into(),
        confidence: 0.93,
        bbox: [10.0, 20.0, 64.0, 48.0],
        ..Default::default()
    };
    detection.header.stamp = rosync::Time::now();
    detection.source.level = Status::LEVEL_WARN;
    publisher.publish(&detection).await?;

    if let Some(got) = detections.recv().await {
        println!(
            "{} ({}) stamped {:?}",
            Detection::TYPE_NAME,
            Detection::TYPE_HASH,
            got.stamp()
        );
        println!("received {got:?}");
    }
    Ok(())
}
