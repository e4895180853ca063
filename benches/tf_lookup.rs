//! tf lookups: replays a timeline (`tests/tf_golden/README.md`) on `rosync::tf::Buffer` and
//! times its queries, as the tf2 oracle's `--bench` does; `benches/tf_vs_oracle.py` runs both
//! on the same timelines.
//!
//! cargo bench --bench tf_lookup -- TIMELINE_FILE
//!
//! Prints `queries COUNT ok COUNT elapsed_ns NS` (time spent in runs of consecutive queries;
//! parsing and `set` excluded).

use std::hint::black_box;
use std::time::Instant;

use rosync::tf::timeline::{run, Command, Outcome, Timeline};
use rosync::tf::Buffer;

fn main() {
    let Some(path) = std::env::args().skip(1).find(|a| !a.starts_with("--")) else {
        eprintln!(
            "usage: cargo bench --bench tf_lookup -- TIMELINE_FILE (see benches/tf_vs_oracle.py)"
        );
        return;
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(2);
        }
    };
    let timeline = match Timeline::parse(&text) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(2);
        }
    };
    let buffer = Buffer::new(timeline.cache_time);
    let (mut queries, mut ok, mut elapsed) = (0u64, 0u64, 0u128);
    let mut block: Option<Instant> = None;
    for command in &timeline.commands {
        let query = command.is_query();
        match (query, block) {
            (true, None) => block = Some(Instant::now()),
            (false, Some(started)) => {
                elapsed += started.elapsed().as_nanos();
                block = None;
            }
            _ => {}
        }
        let succeeded = match command {
            // Lookups as a user makes them (the result is a TransformStamped, as in tf2).
            Command::Lookup {
                target,
                source,
                time,
            } => black_box(buffer.lookup_transform(target, source, *time)).is_ok(),
            Command::Can {
                target,
                source,
                time,
            } => black_box(buffer.can_transform(target, source, *time)),
            other => matches!(
                run(&buffer, other),
                Outcome::Transform { .. } | Outcome::Can(true)
            ),
        };
        if query {
            queries += 1;
            ok += u64::from(succeeded);
        }
    }
    if let Some(started) = block {
        elapsed += started.elapsed().as_nanos();
    }
    println!("queries {queries} ok {ok} elapsed_ns {elapsed}");
}
