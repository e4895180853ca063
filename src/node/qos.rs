//! [`QosProfile`]: a ROS 2 quality-of-service profile (rmw's `rmw_qos_profile_t`), in the two
//! textual forms rosync meets it:
//!
//! - **rmw_zenoh's liveliness-token field**, `reliability:durability:history,depth:deadline_sec,
//!   deadline_nsec:lifespan_sec,lifespan_nsec:liveliness,lease_sec,lease_nsec`, the policies as
//!   rmw's enum numbers ([`QosProfile::to_rmw_zenoh`], [`QosProfile::parse_rmw_zenoh`]). An
//!   empty field is rmw_zenoh's default (reliable, volatile, keep last 42, infinite durations,
//!   automatic liveliness).
//! - **rosbag2's `offered_qos_profiles` entries** (serde): `history: keep_last`, `depth`,
//!   `reliability`, `durability`, `deadline: {sec, nsec}`, `lifespan`, `liveliness`,
//!   `liveliness_lease_duration`, `avoid_ros_namespace_conventions`. Policies are written as
//!   names (metadata version 9) and read as names or as the enum numbers older versions wrote.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A QoS text that does not parse: the text, the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad QoS {text:?}: {field}: {reason}")]
pub struct QosError {
    /// The text as given.
    pub text: String,
    /// The field that is wrong (`reliability`, `depth`, `deadline`, ...).
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

/// Defines a QoS policy enum with its rmw number and its rosbag2 name.
macro_rules! policy {
    ($(#[$doc:meta])* $name:ident, $what:literal, $($variant:ident = $code:literal $text:literal, $vdoc:literal;)*) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $(#[doc = $vdoc] $variant,)*
        }

        impl $name {
            /// The policy's number in rmw (`rmw/types.h`), as rmw_zenoh's tokens carry it.
            pub fn code(self) -> u8 {
                match self { $(Self::$variant => $code,)* }
            }

            /// The policy for an rmw number.
            pub fn from_code(code: u64) -> Option<Self> {
                match code { $($code => Some(Self::$variant),)* _ => None }
            }

            /// The policy's name as rosbag2 writes it (`reliable`, `keep_last`, ...).
            pub fn name(self) -> &'static str {
                match self { $(Self::$variant => $text,)* }
            }

            /// The policy for a rosbag2 name.
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $($text => Some(Self::$variant),)* _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.name())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_any(PolicyVisitor::<Self>::new($what, Self::from_name, Self::from_code))
            }
        }
    };
}

policy! {
    /// Whether every message is delivered (reliable) or may be lost (best effort).
    Reliability, "reliability",
    SystemDefault = 0 "system_default", "The middleware's default.";
    Reliable = 1 "reliable", "Every message is delivered, resent if needed.";
    BestEffort = 2 "best_effort", "Messages may be lost.";
    Unknown = 3 "unknown", "Not known (reported by some tools).";
    BestAvailable = 4 "best_available", "Matches most endpoints, as strict as possible.";
}

policy! {
    /// Whether late subscribers get messages published before they joined.
    Durability, "durability",
    SystemDefault = 0 "system_default", "The middleware's default.";
    TransientLocal = 1 "transient_local", "The publisher keeps its last messages for late joiners.";
    Volatile = 2 "volatile", "Only messages published after a subscriber joined.";
    Unknown = 3 "unknown", "Not known (reported by some tools).";
    BestAvailable = 4 "best_available", "Matches most endpoints, as strict as possible.";
}

policy! {
    /// How many messages a queue keeps.
    History, "history",
    SystemDefault = 0 "system_default", "The middleware's default.";
    KeepLast = 1 "keep_last", "The last [`QosProfile::depth`] messages.";
    KeepAll = 2 "keep_all", "Every message, up to resource limits.";
    Unknown = 3 "unknown", "Not known (reported by some tools).";
}

policy! {
    /// How an endpoint shows it is alive.
    Liveliness, "liveliness",
    SystemDefault = 0 "system_default", "The middleware's default.";
    Automatic = 1 "automatic", "The middleware asserts it for the node.";
    ManualByTopic = 3 "manual_by_topic", "The publisher asserts it by publishing.";
    Unknown = 4 "unknown", "Not known (reported by some tools).";
    BestAvailable = 5 "best_available", "Matches most endpoints, as strict as possible.";
}

/// Reads a policy from a name or an rmw number.
struct PolicyVisitor<T> {
    what: &'static str,
    from_name: fn(&str) -> Option<T>,
    from_code: fn(u64) -> Option<T>,
}

impl<T> PolicyVisitor<T> {
    fn new(
        what: &'static str,
        from_name: fn(&str) -> Option<T>,
        from_code: fn(u64) -> Option<T>,
    ) -> Self {
        Self {
            what,
            from_name,
            from_code,
        }
    }
}

impl<T> serde::de::Visitor<'_> for PolicyVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {} policy name or rmw number", self.what)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
        (self.from_name)(v)
            .or_else(|| v.parse().ok().and_then(self.from_code))
            .ok_or_else(|| E::custom(format!("{}: unknown policy {v:?}", self.what)))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<T, E> {
        (self.from_code)(v).ok_or_else(|| E::custom(format!("{}: unknown policy {v}", self.what)))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<T, E> {
        u64::try_from(v)
            .ok()
            .and_then(self.from_code)
            .ok_or_else(|| E::custom(format!("{}: unknown policy {v}", self.what)))
    }
}

/// A ROS 2 QoS profile; see the [module docs](self) for its text forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct QosProfile {
    /// Keep last [`depth`](Self::depth) or keep all.
    pub history: History,
    /// Queue depth for [`History::KeepLast`] (0: the middleware's default).
    pub depth: usize,
    /// Reliable or best effort.
    pub reliability: Reliability,
    /// Volatile or transient local.
    pub durability: Durability,
    /// Longest expected time between messages ([`QosProfile::INFINITE`]: none).
    #[serde(with = "rmw_time")]
    pub deadline: Duration,
    /// Age after which a message is no longer delivered ([`QosProfile::INFINITE`]: never).
    #[serde(with = "rmw_time")]
    pub lifespan: Duration,
    /// How liveliness is asserted.
    pub liveliness: Liveliness,
    /// Time after which an endpoint that did not assert liveliness is considered gone.
    #[serde(with = "rmw_time")]
    pub liveliness_lease_duration: Duration,
    /// Whether topic names skip ROS's namespace conventions (always false for ROS topics).
    pub avoid_ros_namespace_conventions: bool,
}

impl Default for QosProfile {
    /// rclcpp's default publisher as the graph reports it: reliable, volatile, keep last 10,
    /// infinite durations, automatic liveliness.
    fn default() -> Self {
        Self {
            history: History::KeepLast,
            depth: 10,
            reliability: Reliability::Reliable,
            durability: Durability::Volatile,
            deadline: Self::INFINITE,
            lifespan: Self::INFINITE,
            liveliness: Liveliness::Automatic,
            liveliness_lease_duration: Self::INFINITE,
            avoid_ros_namespace_conventions: false,
        }
    }
}

/// rmw_zenoh's default depth, for an empty depth field (its `RMW_ZENOH_DEFAULT_HISTORY_DEPTH`).
pub const RMW_ZENOH_DEFAULT_DEPTH: usize = 42;

impl QosProfile {
    /// rmw's infinite duration (`RMW_DURATION_INFINITE`: 9223372036 s 854775807 ns).
    pub const INFINITE: Duration = Duration::new(9_223_372_036, 854_775_807);

    /// rclcpp's sensor data profile: best effort, volatile, keep last 5.
    pub fn sensor_data() -> Self {
        Self {
            depth: 5,
            reliability: Reliability::BestEffort,
            ..Self::default()
        }
    }

    /// This profile keeping the last `depth` messages.
    pub fn keep_last(self, depth: usize) -> Self {
        Self {
            history: History::KeepLast,
            depth,
            ..self
        }
    }

    /// This profile keeping every message (depth 0).
    pub fn keep_all(self) -> Self {
        Self {
            history: History::KeepAll,
            depth: 0,
            ..self
        }
    }

    /// The liveliness-token field rmw_zenoh reads: policies always as numbers, the depth unless
    /// 0, durations and liveliness only where they differ from rmw_zenoh's defaults (so the
    /// default profile is `1:2:1,10:,:,:,,`).
    pub fn to_rmw_zenoh(&self) -> String {
        let part = |value: u64, default: u64| {
            if value == default {
                String::new()
            } else {
                value.to_string()
            }
        };
        let (inf_sec, inf_nsec) = split(Self::INFINITE);
        let time = |d: Duration| {
            let (sec, nsec) = split(d);
            format!("{},{}", part(sec, inf_sec), part(nsec, inf_nsec))
        };
        let liveliness = if self.liveliness == Liveliness::Automatic {
            String::new()
        } else {
            self.liveliness.code().to_string()
        };
        format!(
            "{}:{}:{},{}:{}:{}:{liveliness},{}",
            self.reliability.code(),
            self.durability.code(),
            self.history.code(),
            part(self.depth as u64, 0),
            time(self.deadline),
            time(self.lifespan),
            time(self.liveliness_lease_duration),
        )
    }

    /// Parses rmw_zenoh's liveliness-token field (see the [module docs](self)); empty fields are
    /// rmw_zenoh's defaults. An error names the field that is wrong.
    pub fn parse_rmw_zenoh(text: &str) -> Result<Self, QosError> {
        let token = TokenField { text };
        let parts: Vec<&str> = text.split(':').collect();
        if parts.len() < 6 {
            let reason = format!("{} `:`-separated fields, expected 6", parts.len());
            return Err(token.fail("qos", reason));
        }
        let defaults = Self::default();
        let history = token.components("history", parts[2], 2)?;
        let deadline = token.components("deadline", parts[3], 2)?;
        let lifespan = token.components("lifespan", parts[4], 2)?;
        let liveliness = token.components("liveliness", parts[5], 3)?;
        let depth = token.number("depth", history[1], RMW_ZENOH_DEFAULT_DEPTH as u64)?;
        Ok(Self {
            history: token.policy("history", history[0], defaults.history, History::from_code)?,
            depth: usize::try_from(depth)
                .map_err(|_| token.fail("depth", format!("{depth} is too large")))?,
            reliability: token.policy(
                "reliability",
                parts[0],
                defaults.reliability,
                Reliability::from_code,
            )?,
            durability: token.policy(
                "durability",
                parts[1],
                defaults.durability,
                Durability::from_code,
            )?,
            deadline: token.duration("deadline", deadline[0], deadline[1])?,
            lifespan: token.duration("lifespan", lifespan[0], lifespan[1])?,
            liveliness: token.policy(
                "liveliness",
                liveliness[0],
                defaults.liveliness,
                Liveliness::from_code,
            )?,
            liveliness_lease_duration: token.duration(
                "liveliness_lease_duration",
                liveliness[1],
                liveliness[2],
            )?,
            avoid_ros_namespace_conventions: false,
        })
    }
}

/// Reads the parts of one rmw_zenoh token QoS field, naming the field in errors.
struct TokenField<'a> {
    text: &'a str,
}

impl TokenField<'_> {
    fn fail(&self, field: &'static str, reason: String) -> QosError {
        QosError {
            text: self.text.to_string(),
            field,
            reason,
        }
    }

    /// The `,`-separated parts of `part`, at least `count`.
    fn components<'p>(
        &self,
        field: &'static str,
        part: &'p str,
        count: usize,
    ) -> Result<Vec<&'p str>, QosError> {
        let items: Vec<&str> = part.split(',').collect();
        if items.len() < count {
            let reason = format!("{part:?} has fewer than {count} `,`-separated parts");
            return Err(self.fail(field, reason));
        }
        Ok(items)
    }

    /// A number, `default` when empty.
    fn number(&self, field: &'static str, s: &str, default: u64) -> Result<u64, QosError> {
        if s.is_empty() {
            return Ok(default);
        }
        s.parse()
            .map_err(|_| self.fail(field, format!("{s:?} is not a number")))
    }

    /// A policy by its rmw number, `default` when empty.
    fn policy<T>(
        &self,
        field: &'static str,
        s: &str,
        default: T,
        from_code: fn(u64) -> Option<T>,
    ) -> Result<T, QosError> {
        if s.is_empty() {
            return Ok(default);
        }
        let code = self.number(field, s, 0)?;
        from_code(code)
            .ok_or_else(|| self.fail(field, format!("{code} is not an rmw policy number")))
    }

    /// A duration from its seconds and nanoseconds, each infinite's part when empty.
    fn duration(&self, field: &'static str, sec: &str, nsec: &str) -> Result<Duration, QosError> {
        let (inf_sec, inf_nsec) = split(QosProfile::INFINITE);
        let (sec, nsec) = (
            self.number(field, sec, inf_sec)?,
            self.number(field, nsec, inf_nsec)?,
        );
        join(sec, nsec).ok_or_else(|| self.fail(field, format!("{sec} s {nsec} ns overflows")))
    }
}

/// A duration as rmw's `{sec, nsec}`.
fn split(d: Duration) -> (u64, u64) {
    (d.as_secs(), u64::from(d.subsec_nanos()))
}

/// rmw's `{sec, nsec}` as a duration (`nsec` may exceed a second); `None` on overflow.
fn join(sec: u64, nsec: u64) -> Option<Duration> {
    Duration::from_secs(sec).checked_add(Duration::from_nanos(nsec))
}

/// Serde for a duration as rmw's `{sec, nsec}`, reading the infinities of Foxy-era bags as
/// [`QosProfile::INFINITE`] (as rosbag2 does).
mod rmw_time {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{join, split, QosProfile};

    #[derive(Serialize, Deserialize)]
    struct Time {
        sec: u64,
        nsec: u64,
    }

    /// Infinities written by Foxy-era RMWs (Fast DDS, Connext).
    const FOXY_INFINITIES: [(u64, u64); 2] =
        [(0x7FFF_FFFF, 0xFFFF_FFFF), (0x7FFF_FFFF, 0x7FFF_FFFF)];

    pub fn serialize<S: Serializer>(d: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        let (sec, nsec) = split(*d);
        Time { sec, nsec }.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let Time { sec, nsec } = Time::deserialize(deserializer)?;
        if FOXY_INFINITIES.contains(&(sec, nsec)) {
            return Ok(QosProfile::INFINITE);
        }
        join(sec, nsec)
            .ok_or_else(|| serde::de::Error::custom(format!("{sec} s {nsec} ns overflows")))
    }
}

/// A QoS policy in which an offered profile (a publisher's) does not satisfy a requested one (a
/// subscription's), as ROS's `rmw_qos_profile_check_compatible` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Incompatible {
    /// A best-effort publisher and a reliable subscription.
    #[error("RELIABILITY (best effort offered, reliable requested)")]
    Reliability,
    /// A volatile publisher and a transient-local subscription.
    #[error("DURABILITY (volatile offered, transient local requested)")]
    Durability,
    /// The publisher's deadline is longer than the subscription's.
    #[error("DEADLINE (longer deadline offered than requested)")]
    Deadline,
    /// Automatic liveliness offered, manual-by-topic requested.
    #[error("LIVELINESS (automatic offered, manual by topic requested)")]
    Liveliness,
    /// The publisher's liveliness lease is longer than the subscription's.
    #[error("LIVELINESS (longer lease duration offered than requested)")]
    LivelinessLeaseDuration,
}

impl Incompatible {
    /// The policy's name as ROS 2 prints it (`RELIABILITY`, `DURABILITY`, ...).
    pub fn policy_name(self) -> &'static str {
        match self {
            Self::Reliability => "RELIABILITY",
            Self::Durability => "DURABILITY",
            Self::Deadline => "DEADLINE",
            Self::Liveliness | Self::LivelinessLeaseDuration => "LIVELINESS",
        }
    }
}

/// Whether a publisher offering `offered` can serve a subscription requesting `requested`, by
/// ROS 2's rules; the error is the first policy that fails. System-default, unknown and
/// best-available policies are taken as compatible (the middleware picks a matching one).
pub fn compatibility(offered: &QosProfile, requested: &QosProfile) -> Result<(), Incompatible> {
    if offered.reliability == Reliability::BestEffort
        && requested.reliability == Reliability::Reliable
    {
        return Err(Incompatible::Reliability);
    }
    if offered.durability == Durability::Volatile
        && requested.durability == Durability::TransientLocal
    {
        return Err(Incompatible::Durability);
    }
    if requested.deadline != QosProfile::INFINITE && offered.deadline > requested.deadline {
        return Err(Incompatible::Deadline);
    }
    if offered.liveliness == Liveliness::Automatic
        && requested.liveliness == Liveliness::ManualByTopic
    {
        return Err(Incompatible::Liveliness);
    }
    if requested.liveliness_lease_duration != QosProfile::INFINITE
        && offered.liveliness_lease_duration > requested.liveliness_lease_duration
    {
        return Err(Incompatible::LivelinessLeaseDuration);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compatibility_follows_ros_rules() {
        let reliable = QosProfile::default();
        let best_effort = QosProfile::sensor_data();
        let latched = QosProfile {
            durability: Durability::TransientLocal,
            ..reliable
        };
        assert_eq!(compatibility(&reliable, &reliable), Ok(()));
        assert_eq!(compatibility(&reliable, &best_effort), Ok(()));
        assert_eq!(compatibility(&latched, &reliable), Ok(()));
        assert_eq!(compatibility(&latched, &latched), Ok(()));
        assert_eq!(
            compatibility(&best_effort, &reliable),
            Err(Incompatible::Reliability)
        );
        assert_eq!(
            compatibility(&reliable, &latched),
            Err(Incompatible::Durability)
        );
        let strict = QosProfile {
            deadline: Duration::from_millis(100),
            ..reliable
        };
        assert_eq!(
            compatibility(&reliable, &strict),
            Err(Incompatible::Deadline)
        );
        assert_eq!(compatibility(&strict, &reliable), Ok(()));
        let manual = QosProfile {
            liveliness: Liveliness::ManualByTopic,
            ..reliable
        };
        assert_eq!(
            compatibility(&reliable, &manual),
            Err(Incompatible::Liveliness)
        );
        assert_eq!(Incompatible::Reliability.policy_name(), "RELIABILITY");
    }

    #[test]
    fn rmw_zenoh_default_publisher_string() {
        assert_eq!(QosProfile::default().to_rmw_zenoh(), "1:2:1,10:,:,:,,");
        assert_eq!(
            QosProfile::parse_rmw_zenoh("1:2:1,10:,:,:,,"),
            Ok(QosProfile::default())
        );
        assert_eq!(
            QosProfile::default().keep_all().to_rmw_zenoh(),
            "1:2:2,:,:,:,,"
        );
    }

    #[test]
    fn empty_fields_are_rmw_zenoh_defaults() {
        // What rmw_zenoh writes for a publisher that differs from its defaults only in depth.
        let qos = QosProfile::parse_rmw_zenoh("::,7:,:,:,,").expect("parses");
        assert_eq!(qos, QosProfile::default().keep_last(7));
        let qos = QosProfile::parse_rmw_zenoh("::,:,:,:,,").expect("parses");
        assert_eq!(qos.depth, RMW_ZENOH_DEFAULT_DEPTH);
    }

    #[test]
    fn rmw_zenoh_round_trips() {
        let odd = QosProfile {
            history: History::KeepLast,
            depth: 3,
            reliability: Reliability::BestEffort,
            durability: Durability::TransientLocal,
            deadline: Duration::new(5, 0),
            lifespan: Duration::new(60, 3000),
            liveliness: Liveliness::ManualByTopic,
            liveliness_lease_duration: Duration::new(2, 500),
            avoid_ros_namespace_conventions: false,
        };
        for qos in [QosProfile::default(), QosProfile::sensor_data(), odd] {
            let text = qos.to_rmw_zenoh();
            assert_eq!(QosProfile::parse_rmw_zenoh(&text), Ok(qos), "{text}");
        }
        assert_eq!(odd.to_rmw_zenoh(), "2:1:1,3:5,0:60,3000:3,2,500");
        for text in [
            "1:2:1,10:,:,:,,",
            "2:1:1,5:,:,:,,",
            "2:1:1,3:5,0:60,3000:3,2,500",
        ] {
            let qos = QosProfile::parse_rmw_zenoh(text).expect("parses");
            assert_eq!(qos.to_rmw_zenoh(), text);
        }
    }

    #[test]
    fn garbage_names_the_field() {
        for (text, field) in [
            ("", "qos"),
            ("1:2", "qos"),
            ("x:2:1,10:,:,:,,", "reliability"),
            ("9:2:1,10:,:,:,,", "reliability"),
            ("1:7:1,10:,:,:,,", "durability"),
            ("1:2:1:,:,:,,", "history"),
            ("1:2:1,ten:,:,:,,", "depth"),
            ("1:2:1,10:x,:,:,,", "deadline"),
            ("1:2:1,10:,:,:2,,", "liveliness"),
            ("1:2:1,10:,:,:,,x", "liveliness_lease_duration"),
        ] {
            let err = QosProfile::parse_rmw_zenoh(text).expect_err(text);
            assert_eq!(err.field, field, "{text}: {err}");
            assert!(err.to_string().contains(field), "{err}");
        }
    }

    const DEFAULT_YAML: &str = "history: keep_last
depth: 10
reliability: reliable
durability: volatile
deadline:
  sec: 9223372036
  nsec: 854775807
lifespan:
  sec: 9223372036
  nsec: 854775807
liveliness: automatic
liveliness_lease_duration:
  sec: 9223372036
  nsec: 854775807
avoid_ros_namespace_conventions: false
";

    #[test]
    fn rosbag2_yaml_round_trips() {
        let text = serde_yaml::to_string(&QosProfile::default()).expect("serializes");
        assert_eq!(text, DEFAULT_YAML);
        let back: QosProfile = serde_yaml::from_str(&text).expect("parses");
        assert_eq!(back, QosProfile::default());
        let sensor = QosProfile::sensor_data();
        let back: QosProfile =
            serde_yaml::from_str(&serde_yaml::to_string(&sensor).expect("yaml")).expect("parses");
        assert_eq!(back, sensor);
    }

    #[test]
    fn rosbag2_numeric_policies_and_foxy_infinities() {
        let text = "history: 1
depth: 5
reliability: 2
durability: 1
deadline:
  sec: 2147483647
  nsec: 4294967295
lifespan:
  sec: 2147483647
  nsec: 2147483647
liveliness: 3
liveliness_lease_duration:
  sec: 1
  nsec: 0
avoid_ros_namespace_conventions: false
";
        let qos: QosProfile = serde_yaml::from_str(text).expect("parses");
        assert_eq!(qos.history, History::KeepLast);
        assert_eq!(qos.reliability, Reliability::BestEffort);
        assert_eq!(qos.durability, Durability::TransientLocal);
        assert_eq!(qos.liveliness, Liveliness::ManualByTopic);
        assert_eq!(qos.deadline, QosProfile::INFINITE);
        assert_eq!(qos.lifespan, QosProfile::INFINITE);
        assert_eq!(qos.liveliness_lease_duration, Duration::from_secs(1));

        let err =
            serde_yaml::from_str::<QosProfile>("reliability: sometimes\n").expect_err("garbage");
        assert!(err.to_string().contains("reliability"), "{err}");
    }
}
