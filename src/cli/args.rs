//! Validated numbers of the command line: [`Seconds`], [`Hz`], [`Factor`] and whole numbers in
//! a stated range ([`whole`]), so that no option can panic later or carry NaN or infinity.
//!
//! Each parses a plain decimal number (`0.5`, `2`, `1e-3`); units are not accepted (`1s` is an
//! error that says to write a plain number), the option's name says the unit. Every rule
//! failure is a clap error naming the option, the value and the rule, e.g.
//! `invalid value 'nan' for '--rate <X>': must be a finite number between 0 and 1000000`.
//! Options taking these values also take values starting with `-` (clap's
//! `allow_hyphen_values`), so that `-1` gets "must not be negative" rather than clap's
//! "unexpected argument '-1' found".

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The largest number of seconds an option takes: 10^9 s, about 31.7 years.
pub const MAX_SECONDS: f64 = 1e9;
/// The largest rate in Hz an option takes (one period is then 1 microsecond).
pub const MAX_HZ: f64 = 1e6;
/// The largest factor an option takes (a playback speed, a penalty).
pub const MAX_FACTOR: f64 = 1e6;

/// Parses a finite decimal number, with messages for the usual mistakes.
fn number(text: &str, what: &str) -> Result<f64, String> {
    if text.trim().is_empty() {
        return Err(format!("a {what} is required, got an empty value"));
    }
    let value: f64 = text.parse().map_err(|_| {
        format!("not a {what}: write a plain decimal number such as 0.5, without a unit")
    })?;
    if value.is_nan() || value.is_infinite() {
        return Err(String::new());
    }
    Ok(value)
}

/// Checks `lo <= value <= hi` (`lo` exclusive if `lo_open`) for `number`'s result, with the
/// rule in every message.
fn bounded(
    text: &str,
    what: &str,
    lo: f64,
    lo_open: bool,
    hi: f64,
    unit: &str,
) -> Result<f64, String> {
    let rule = if lo_open {
        format!("a finite {what} greater than {lo} and at most {hi}{unit}")
    } else {
        format!("a finite {what} between {lo} and {hi}{unit}")
    };
    let value = match number(text, what) {
        Ok(v) => v,
        Err(e) if e.is_empty() => return Err(format!("must be {rule}")),
        Err(e) => return Err(e),
    };
    if value < 0.0 {
        return Err(format!("must not be negative (expected {rule})"));
    }
    if value < lo || (lo_open && value == lo) || value > hi {
        return Err(format!("must be {rule}"));
    }
    Ok(value)
}

/// A non-negative, finite number of seconds, at most [`MAX_SECONDS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Seconds(Duration);

impl Seconds {
    /// The duration (never panics: the value is checked when parsed).
    pub fn duration(self) -> Duration {
        self.0
    }

    /// The duration in nanoseconds (at most 10^18, so it fits an `i64`).
    pub fn as_nanos_i64(self) -> i64 {
        i64::try_from(self.0.as_nanos()).unwrap_or(i64::MAX)
    }

    /// Seconds as a float.
    pub fn as_secs_f64(self) -> f64 {
        self.0.as_secs_f64()
    }
}

impl FromStr for Seconds {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let value = bounded(text, "number of seconds", 0.0, false, MAX_SECONDS, "")?;
        Duration::try_from_secs_f64(value)
            .map(Seconds)
            .map_err(|e| format!("not a duration: {e}"))
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.as_secs_f64())
    }
}

/// A finite rate in Hz, greater than 0 and at most [`MAX_HZ`].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Hz(f64);

impl Hz {
    /// The rate in Hz.
    pub fn get(self) -> f64 {
        self.0
    }

    /// The time between two events at this rate (at most 10^9 s; never panics).
    pub fn period(self) -> Duration {
        Duration::try_from_secs_f64(1.0 / self.0).unwrap_or(Duration::from_secs(1_000_000_000))
    }
}

impl FromStr for Hz {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        // Below 1e-9 Hz a period would exceed MAX_SECONDS.
        let value = bounded(text, "rate in Hz", 0.0, true, MAX_HZ, "")?;
        if value < 1.0 / MAX_SECONDS {
            return Err(format!(
                "must be at least {} Hz (one event every {MAX_SECONDS} seconds)",
                1.0 / MAX_SECONDS
            ));
        }
        Ok(Hz(value))
    }
}

impl fmt::Display for Hz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A finite factor between 0 and [`MAX_FACTOR`] (a playback speed, an age penalty).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Factor(f64);

impl Factor {
    /// The factor.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl FromStr for Factor {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        bounded(text, "number", 0.0, false, MAX_FACTOR, "").map(Factor)
    }
}

impl fmt::Display for Factor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A clap value parser for a whole number between `min` and `max` (both included), e.g.
/// `#[arg(long, value_parser = whole::<usize>(1, 1_000_000))]`.
pub fn whole<T>(min: u64, max: u64) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync
where
    T: TryFrom<u64> + Clone + Send + Sync + 'static,
{
    move |text: &str| {
        let rule = format!("a whole number between {min} and {max}");
        if text.trim().is_empty() {
            return Err(format!(
                "a value is required, got an empty one (expected {rule})"
            ));
        }
        if text.starts_with('-') && text.len() > 1 {
            return Err(format!("must not be negative (expected {rule})"));
        }
        let value: u64 = text.parse().map_err(|_| {
            if text.bytes().all(|b| b.is_ascii_digit()) {
                format!("must be {rule}")
            } else {
                format!("not a whole number (expected {rule})")
            }
        })?;
        if value < min || value > max {
            return Err(format!("must be {rule}"));
        }
        T::try_from(value).map_err(|_| format!("must be {rule} that fits this machine"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn seconds_accept_plain_numbers_and_name_the_rule() {
        assert_eq!("0".parse::<Seconds>(), Ok(Seconds(Duration::ZERO)));
        assert_eq!(
            "1.5".parse::<Seconds>().map(Seconds::duration),
            Ok(Duration::from_millis(1500))
        );
        assert_eq!(
            "1e9".parse::<Seconds>().map(Seconds::as_nanos_i64),
            Ok(1_000_000_000_000_000_000)
        );
        for (bad, rule) in [
            ("nan", "finite"),
            ("inf", "finite"),
            ("-inf", "finite"),
            ("-1", "must not be negative"),
            ("1e20", "between 0 and 1000000000"),
            ("1e300", "between 0 and 1000000000"),
            ("", "empty"),
            ("1s", "without a unit"),
        ] {
            let e = bad.parse::<Seconds>().expect_err(bad);
            assert!(e.contains(rule), "{bad}: {e}");
        }
    }

    #[test]
    fn rates_and_factors_are_bounded() {
        assert_eq!(
            "30".parse::<Hz>().map(Hz::period),
            Ok(Duration::from_nanos(33_333_333))
        );
        assert!("0".parse::<Hz>().expect_err("0").contains("greater than 0"));
        assert!("2e9"
            .parse::<Hz>()
            .expect_err("2e9")
            .contains("at most 1000000"));
        assert!("1e-12"
            .parse::<Hz>()
            .expect_err("tiny")
            .contains("at least"));
        assert_eq!("0".parse::<Factor>().map(Factor::get), Ok(0.0));
        assert!("NaN".parse::<Factor>().is_err());
        assert!("1e7".parse::<Factor>().is_err());
    }

    #[test]
    fn whole_numbers_have_a_range() {
        let queue = whole::<usize>(1, u32::MAX.into());
        assert_eq!(queue("10"), Ok(10));
        assert!(queue("0")
            .expect_err("0")
            .contains("between 1 and 4294967295"));
        assert!(queue("-1")
            .expect_err("-1")
            .contains("must not be negative"));
        assert!(queue("1e9")
            .expect_err("1e9")
            .contains("not a whole number"));
        assert!(queue("99999999999999999999999").is_err());
        assert!(queue("4294967296").is_err());
        assert!(queue("").is_err());
    }

    proptest! {
        #[test]
        fn parsers_never_panic_on_any_text(text in ".{0,40}") {
            let _ = text.parse::<Seconds>();
            let _ = text.parse::<Hz>();
            let _ = text.parse::<Factor>();
            let _ = whole::<u32>(0, u32::MAX.into())(&text);
        }

        #[test]
        fn every_float_is_accepted_in_range_or_named(value in proptest::num::f64::ANY) {
            let text = value.to_string();
            match text.parse::<Seconds>() {
                Ok(s) => {
                    prop_assert!((0.0..=MAX_SECONDS).contains(&value));
                    prop_assert!(s.as_nanos_i64() <= 1_000_000_000_000_000_000);
                }
                Err(e) => prop_assert!(!(0.0..=MAX_SECONDS).contains(&value) && e.contains("must")),
            }
            match text.parse::<Hz>() {
                Ok(hz) => prop_assert!(hz.period() <= Duration::from_secs(1_000_000_000)),
                Err(e) => prop_assert!(e.contains("must")),
            }
            let in_range = (0.0..=MAX_FACTOR).contains(&value);
            prop_assert_eq!(text.parse::<Factor>().is_ok(), in_range);
        }
    }
}
