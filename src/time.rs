//! ROS time: [`Time`] (a point since the epoch) and [`Duration`], as `builtin_interfaces` holds them.
//!
//! Both are the generated `builtin_interfaces` messages (`sec` + `nanosec`, nanosec always
//! below 10^9), extended here with conversions to and from nanoseconds and total ordering.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

pub use crate::msg::builtin_interfaces::{Duration, Time};

const NANOS_PER_SEC: i64 = 1_000_000_000;

fn split_nanos(nanos: i64) -> (i32, u32) {
    let sec = nanos.div_euclid(NANOS_PER_SEC);
    let nanosec = nanos.rem_euclid(NANOS_PER_SEC) as u32;
    (sec.clamp(i32::MIN as i64, i32::MAX as i64) as i32, nanosec)
}

macro_rules! ros_time_impls {
    ($ty:ident) => {
        impl $ty {
            /// Builds it from nanoseconds (saturating at the limits of a 32-bit `sec`).
            pub fn from_nanos(nanos: i64) -> Self {
                let (sec, nanosec) = split_nanos(nanos);
                Self { sec, nanosec }
            }

            /// Total nanoseconds.
            pub fn as_nanos(&self) -> i64 {
                self.sec as i64 * NANOS_PER_SEC + self.nanosec as i64
            }

            /// Seconds as a float.
            pub fn as_secs_f64(&self) -> f64 {
                self.as_nanos() as f64 * 1e-9
            }
        }

        impl Eq for $ty {}

        impl PartialOrd for $ty {
            fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
                Some(self.cmp(other))
            }
        }

        impl Ord for $ty {
            fn cmp(&self, other: &Self) -> Ordering {
                self.as_nanos().cmp(&other.as_nanos())
            }
        }

        impl Hash for $ty {
            fn hash<H: Hasher>(&self, state: &mut H) {
                self.as_nanos().hash(state);
            }
        }
    };
}

ros_time_impls!(Time);
ros_time_impls!(Duration);

impl Time {
    /// The system clock now.
    pub fn now() -> Self {
        Self::from_nanos(now_nanos())
    }
}

impl From<std::time::Duration> for Duration {
    fn from(d: std::time::Duration) -> Self {
        Self::from_nanos(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
    }
}

/// Nanoseconds since the Unix epoch on the system clock (0 if the clock is before 1970).
pub fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nanos_round_trip_including_negative() {
        for n in [
            0,
            1,
            999_999_999,
            1_000_000_000,
            1_700_000_000_123_456_789,
            -1,
            -1_500_000_000,
        ] {
            let t = Time::from_nanos(n);
            assert!(t.nanosec < 1_000_000_000);
            assert_eq!(t.as_nanos(), n);
        }
        assert!(Time::from_nanos(5) < Time::from_nanos(6));
        assert_eq!(
            Duration::from(std::time::Duration::from_millis(1500)).sec,
            1
        );
    }
}
