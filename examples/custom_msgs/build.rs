//! Generates Rust types for every package under `msgs/` (here: my_robot_msgs).

fn main() {
    if let Err(e) = rosync_msggen::generate("msgs") {
        eprintln!("message generation failed: {e}");
        std::process::exit(1);
    }
}
