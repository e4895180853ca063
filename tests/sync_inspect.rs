//! `rosync sync inspect`: the diagnosis names each injected fault of a deterministic
//! generator, the advice reaches 95% of the sets of the best setting a full sweep finds, and
//! the command and its HTML report work on a real log in headless Chromium.

mod common;

use common::faulty_log::{self, Fault, FAULTS};
use rosync::sync::inspect::{inspect, replay, FindingKind};
use rosync::sync::PolicyConfig;

/// The finding each fault must be diagnosed as, first.
fn expected(fault: Fault) -> Option<FindingKind> {
    match fault {
        Fault::None => None,
        Fault::ClockOffset => Some(FindingKind::ClockOffset),
        Fault::RateMismatch => Some(FindingKind::QueueTooShort),
        Fault::DroppedFrames => Some(FindingKind::DroppedFrames),
        Fault::LateStart => Some(FindingKind::LateStart),
        Fault::FutureStamps => Some(FindingKind::FutureStamps),
    }
}

/// Every ApproximateTime and ExactTime setting on a grid.
fn sweep() -> Vec<PolicyConfig> {
    let queues = [
        1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30, 40, 50, 60, 70, 80, 90, 100, 120, 150, 200, 300,
    ];
    let intervals = [
        None,
        Some(2_000_000),
        Some(5_000_000),
        Some(10_000_000),
        Some(50_000_000),
        Some(1_000_000_000),
        Some(5_000_000_000),
    ];
    let mut configs = Vec::new();
    for q in queues {
        configs.push(PolicyConfig::ExactTime { queue_size: q });
        for mi in intervals {
            for age in [0.0, 0.1, 1.0] {
                configs.push(PolicyConfig::ApproximateTime {
                    queue_size: q,
                    max_interval_ns: mi,
                    age_penalty: age,
                    inter_message_lower_bound_ns: None,
                });
            }
        }
    }
    configs
}

#[test]
fn diagnosis_names_each_injected_fault_and_advice_reaches_the_sweeps_best() {
    let configs = sweep();
    let mut failures = Vec::new();
    for fault in FAULTS {
        let recording = faulty_log::recording(fault, 8.0);
        let inspection =
            inspect(recording.clone(), &PolicyConfig::approximate_time(10)).expect("inspects");
        println!("=== {fault:?}\n{inspection}");
        let main = inspection
            .main_finding()
            .filter(|f| f.kind.is_problem())
            .map(|f| f.kind);
        if main != expected(fault) {
            failures.push(format!("{fault:?}: main finding {main:?}"));
        }
        let (best, best_config) = configs
            .iter()
            .map(|c| (replay(&recording, c).expect("replays").sets.len(), *c))
            .max_by_key(|(sets, _)| *sets)
            .expect("a setting");
        let advised = inspection.advice.recommended.sets;
        println!("sweep best {best} sets with {best_config:?}; advised {advised}");
        if (advised as f64) < best as f64 * 0.95 {
            failures.push(format!(
                "{fault:?}: advice gives {advised} sets, the sweep's best {best} ({best_config:?})"
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
