//! Generates rosync's message types from `msgs/` with the pure-Rust generator.

fn main() {
    let result = rosync_msggen::Builder::new()
        .msgs_dir("msgs")
        .runtime_path("crate")
        .with_rosync_msgs(false)
        .generate();
    if let Err(e) = result {
        // A build script reports failure by exiting non-zero with the reason on stderr.
        eprintln!("rosync: message generation failed: {e}");
        std::process::exit(1);
    }
    println!("cargo:rerun-if-changed=build.rs");
}
