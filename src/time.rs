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

/// A UTC calendar date and time of day, for printing log times and naming bags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CivilTime {
    /// Year (proleptic Gregorian).
    pub year: i64,
    /// Month, 1 to 12.
    pub month: u32,
    /// Day of the month, 1 to 31.
    pub day: u32,
    /// Hour, 0 to 23.
    pub hour: u32,
    /// Minute, 0 to 59.
    pub minute: u32,
    /// Second, 0 to 59.
    pub second: u32,
    /// Nanoseconds within the second.
    pub nanosecond: u32,
}

impl CivilTime {
    /// The UTC date and time `nanos` nanoseconds after 1970-01-01T00:00:00Z.
    pub fn from_unix_nanos(nanos: u64) -> Self {
        let secs = nanos / 1_000_000_000;
        let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
        // Days since the epoch to a civil date (H. Hinnant's `civil_from_days`).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        Self {
            year: yoe + era * 400 + i64::from(month <= 2),
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: (rem % 3600 / 60) as u32,
            second: (rem % 60) as u32,
            nanosecond: (nanos % 1_000_000_000) as u32,
        }
    }

    /// The UTC date and time of a system clock reading (the epoch for readings before it).
    pub fn from_system_time(time: std::time::SystemTime) -> Self {
        let nanos = time
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos().min(u64::MAX as u128) as u64);
        Self::from_unix_nanos(nanos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_time_is_utc_calendar_time() {
        let t = CivilTime::from_unix_nanos(1_709_210_096_123_456_789); // 2024-02-29 12:34:56
        assert_eq!(
            (
                t.year,
                t.month,
                t.day,
                t.hour,
                t.minute,
                t.second,
                t.nanosecond
            ),
            (2024, 2, 29, 12, 34, 56, 123_456_789)
        );
        let epoch = CivilTime::from_unix_nanos(0);
        assert_eq!((epoch.year, epoch.month, epoch.day), (1970, 1, 1));
        let end = CivilTime::from_unix_nanos(u64::MAX); // 2554-07-21 23:34:33
        assert_eq!((end.year, end.month, end.day, end.hour), (2554, 7, 21, 23));
        let before = std::time::UNIX_EPOCH - std::time::Duration::from_secs(5);
        assert_eq!(CivilTime::from_system_time(before), epoch);
    }

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
