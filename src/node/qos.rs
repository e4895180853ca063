//! [`QosProfile`]: a ROS 2 quality-of-service profile (rmw's `rmw_qos_profile_t`), in the two
//! textual forms rosync meets it:
//!
//! - **rmw_zenoh's liveliness-token field**, `reliability:durability:history,depth:deadline_sec,
//!   deadline_nsec:lifespan_sec,lifespan_nsec:liveliness,lease_sec,lease_nsec`, the policies as
//!   rmw's enum numbers ([`QosProfile::to_rmw_zenoh`], [`QosProfile::parse_rmw_zenoh`]). A
//!   field equal to rmw_zenoh's default ([`QosProfile::RMW_ZENOH_DEFAULT`]: reliable, volatile,
//!   keep last 42, infinite durations, automatic liveliness) is left empty, so rclcpp's default
//!   publisher is `::,10:,:,:,,`.
//!
//! The presets are ROS 2's (`rmw_qos_profiles.h`, Jazzy): [`QosProfile::default`],
//! [`sensor_data`](QosProfile::sensor_data), [`services_default`](QosProfile::services_default),
//! [`parameters`](QosProfile::parameters), [`parameter_events`](QosProfile::parameter_events)
//! and [`system_default`](QosProfile::system_default). Where rmw leaves a duration or the
//! liveliness unspecified they hold what rmw_zenoh resolves it to (infinite, automatic), which
//! is what the graph and rosbag2 report.
//!
//! On zenoh a profile maps as rmw_zenoh maps it ([`QosProfile::zenoh_reliability`],
//! [`QosProfile::congestion_control`]); transient local durability uses zenoh-ext's advanced
//! publisher (a cache of the last `depth` samples) and advanced subscriber (history query and
//! late-publisher detection), configured like rmw_zenoh's.
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
    /// ROS 2's default profile (`rmw_qos_profile_default`) as the graph reports it: reliable,
    /// volatile, keep last 10, infinite durations, automatic liveliness.
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

    /// rmw_zenoh's defaults, which its tokens leave out and which replace rmw's "system
    /// default" policies, depth 0 and unspecified durations (rmw_zenoh's `qos.cpp`).
    pub const RMW_ZENOH_DEFAULT: QosProfile = QosProfile {
        history: History::KeepLast,
        depth: RMW_ZENOH_DEFAULT_DEPTH,
        reliability: Reliability::Reliable,
        durability: Durability::Volatile,
        deadline: Self::INFINITE,
        lifespan: Self::INFINITE,
        liveliness: Liveliness::Automatic,
        liveliness_lease_duration: Self::INFINITE,
        avoid_ros_namespace_conventions: false,
    };

    /// ROS 2's sensor data profile (`rmw_qos_profile_sensor_data`): best effort, volatile, keep
    /// last 5.
    pub fn sensor_data() -> Self {
        Self {
            depth: 5,
            reliability: Reliability::BestEffort,
            ..Self::default()
        }
    }

    /// ROS 2's profile for services (`rmw_qos_profile_services_default`): reliable, volatile,
    /// keep last 10.
    pub fn services_default() -> Self {
        Self::default()
    }

    /// ROS 2's profile for parameter services (`rmw_qos_profile_parameters`): reliable,
    /// volatile, keep last 1000.
    pub fn parameters() -> Self {
        Self {
            depth: 1000,
            ..Self::default()
        }
    }

    /// ROS 2's profile for `/parameter_events` (`rmw_qos_profile_parameter_events`): reliable,
    /// volatile, keep last 1000.
    pub fn parameter_events() -> Self {
        Self::parameters()
    }

    /// ROS 2's system default profile (`rmw_qos_profile_system_default`): every policy left to
    /// the middleware, depth 0; rmw_zenoh resolves it to [`QosProfile::RMW_ZENOH_DEFAULT`].
    pub fn system_default() -> Self {
        Self {
            history: History::SystemDefault,
            depth: 0,
            reliability: Reliability::SystemDefault,
            durability: Durability::SystemDefault,
            ..Self::default()
        }
    }

    /// A preset by its ROS 2 name (`sensor_data`, `default`, `services_default`, `parameters`,
    /// `parameter_events`, `system_default`), as `ros2 topic pub --qos-profile` takes it.
    pub fn preset(name: &str) -> Option<Self> {
        Some(match name {
            "sensor_data" => Self::sensor_data(),
            "default" => Self::default(),
            "services_default" => Self::services_default(),
            "parameters" => Self::parameters(),
            "parameter_events" => Self::parameter_events(),
            "system_default" => Self::system_default(),
            _ => return None,
        })
    }

    /// The preset names [`preset`](Self::preset) knows.
    pub const PRESETS: [&'static str; 6] = [
        "sensor_data",
        "default",
        "services_default",
        "parameters",
        "parameter_events",
        "system_default",
    ];

    /// This profile with transient local durability: the publisher keeps its last `depth`
    /// messages for subscriptions that join later (as `/tf_static` and maps are published).
    pub fn transient_local(self) -> Self {
        Self {
            durability: Durability::TransientLocal,
            ..self
        }
    }

    /// This profile with volatile durability.
    pub fn volatile(self) -> Self {
        Self {
            durability: Durability::Volatile,
            ..self
        }
    }

    /// This profile with reliable delivery.
    pub fn reliable(self) -> Self {
        Self {
            reliability: Reliability::Reliable,
            ..self
        }
    }

    /// This profile with best-effort delivery.
    pub fn best_effort(self) -> Self {
        Self {
            reliability: Reliability::BestEffort,
            ..self
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

    /// The profile rmw_zenoh actually uses for this one (its `best_available_qos`): "system
    /// default", unknown and best-available policies, depth 0 and zero (unspecified) durations
    /// become [`QosProfile::RMW_ZENOH_DEFAULT`]'s.
    pub fn resolved(&self) -> Self {
        let d = Self::RMW_ZENOH_DEFAULT;
        let time = |t: Duration| if t.is_zero() { Self::INFINITE } else { t };
        Self {
            history: match self.history {
                History::KeepLast | History::KeepAll => self.history,
                History::SystemDefault | History::Unknown => d.history,
            },
            depth: if self.depth == 0 { d.depth } else { self.depth },
            reliability: match self.reliability {
                Reliability::Reliable | Reliability::BestEffort => self.reliability,
                _ => d.reliability,
            },
            durability: match self.durability {
                Durability::Volatile | Durability::TransientLocal => self.durability,
                _ => d.durability,
            },
            deadline: time(self.deadline),
            lifespan: time(self.lifespan),
            liveliness: match self.liveliness {
                Liveliness::Automatic | Liveliness::ManualByTopic => self.liveliness,
                _ => d.liveliness,
            },
            liveliness_lease_duration: time(self.liveliness_lease_duration),
            avoid_ros_namespace_conventions: self.avoid_ros_namespace_conventions,
        }
    }

    /// This subscription profile with a best-available reliability or durability settled
    /// against the QoS of the topic's publishers, as rmw settles it (and `ros2 topic echo`
    /// adapts to the publishers): reliable unless a publisher is best effort, transient local
    /// if there is a publisher and every one is transient local, else volatile. Other
    /// policies are kept.
    pub fn best_available_for<'a>(
        self,
        publishers: impl IntoIterator<Item = &'a QosProfile>,
    ) -> Self {
        let publishers: Vec<QosProfile> = publishers.into_iter().map(|p| p.resolved()).collect();
        let mut qos = self;
        if qos.reliability == Reliability::BestAvailable {
            let any_best_effort = publishers
                .iter()
                .any(|p| p.reliability == Reliability::BestEffort);
            qos.reliability = if any_best_effort {
                Reliability::BestEffort
            } else {
                Reliability::Reliable
            };
        }
        if qos.durability == Durability::BestAvailable {
            let all_transient_local = !publishers.is_empty()
                && publishers
                    .iter()
                    .all(|p| p.durability == Durability::TransientLocal);
            qos.durability = if all_transient_local {
                Durability::TransientLocal
            } else {
                Durability::Volatile
            };
        }
        qos
    }

    /// [`best_available_for`](Self::best_available_for) `offered`, asking for the deepest
    /// offered history when the result is transient local, as rosbag2 adapts a recording or
    /// a playback to the publishers it saw.
    pub fn adapted_to(self, offered: &[QosProfile]) -> Self {
        let qos = self.best_available_for(offered);
        match offered.iter().map(|p| p.resolved().depth).max() {
            Some(depth) if qos.is_transient_local() && depth > 0 => qos.keep_last(depth),
            _ => qos,
        }
    }

    /// Whether the publisher keeps samples for late joiners (resolved durability is transient
    /// local).
    pub fn is_transient_local(&self) -> bool {
        self.resolved().durability == Durability::TransientLocal
    }

    /// zenoh's reliability for this profile, as rmw_zenoh sets it on publishers: best effort
    /// for best effort, reliable otherwise.
    pub fn zenoh_reliability(&self) -> zenoh::qos::Reliability {
        match self.resolved().reliability {
            Reliability::BestEffort => zenoh::qos::Reliability::BestEffort,
            _ => zenoh::qos::Reliability::Reliable,
        }
    }

    /// zenoh's congestion control for a publisher with this profile, rmw_zenoh's rule: block
    /// for reliable keep-all, drop otherwise (keep-last publishers never block).
    pub fn congestion_control(&self) -> zenoh::qos::CongestionControl {
        let q = self.resolved();
        if q.reliability == Reliability::Reliable && q.history == History::KeepAll {
            zenoh::qos::CongestionControl::Block
        } else {
            zenoh::qos::CongestionControl::Drop
        }
    }

    /// The liveliness-token field exactly as rmw_zenoh writes it: the [resolved](Self::resolved)
    /// profile, policies as numbers, every part equal to [`QosProfile::RMW_ZENOH_DEFAULT`]'s
    /// left empty (so the default profile is `::,10:,:,:,,`).
    pub fn to_rmw_zenoh(&self) -> String {
        let q = self.resolved();
        let d = Self::RMW_ZENOH_DEFAULT;
        let part = |value: u64, default: u64| {
            if value == default {
                String::new()
            } else {
                value.to_string()
            }
        };
        let time = |t: Duration, default: Duration| {
            let ((sec, nsec), (dsec, dnsec)) = (split(t), split(default));
            format!("{},{}", part(sec, dsec), part(nsec, dnsec))
        };
        format!(
            "{}:{}:{},{}:{}:{}:{},{}",
            part(q.reliability.code().into(), d.reliability.code().into()),
            part(q.durability.code().into(), d.durability.code().into()),
            part(q.history.code().into(), d.history.code().into()),
            part(q.depth as u64, d.depth as u64),
            time(q.deadline, d.deadline),
            time(q.lifespan, d.lifespan),
            part(q.liveliness.code().into(), d.liveliness.code().into()),
            time(q.liveliness_lease_duration, d.liveliness_lease_duration),
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
        let defaults = Self::RMW_ZENOH_DEFAULT;
        let history = token.components("history", parts[2], 2)?;
        let deadline = token.components("deadline", parts[3], 2)?;
        let lifespan = token.components("lifespan", parts[4], 2)?;
        let liveliness = token.components("liveliness", parts[5], 3)?;
        let depth = token.number("depth", history[1], defaults.depth as u64)?;
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
        // rmw_zenoh leaves out every field equal to its defaults (reliable, volatile, keep last
        // 42, infinite, automatic): rclcpp's default publisher is `::,10:,:,:,,`.
        assert_eq!(QosProfile::default().to_rmw_zenoh(), "::,10:,:,:,,");
        assert_eq!(
            QosProfile::parse_rmw_zenoh("::,10:,:,:,,"),
            Ok(QosProfile::default())
        );
        // Depth 0 is rmw_zenoh's 42, which is its default too.
        assert_eq!(
            QosProfile::default().keep_all().to_rmw_zenoh(),
            "::2,:,:,:,,"
        );
        assert_eq!(QosProfile::sensor_data().to_rmw_zenoh(), "2::,5:,:,:,,");
        assert_eq!(
            QosProfile::default()
                .transient_local()
                .keep_last(1)
                .to_rmw_zenoh(),
            ":1:,1:,:,:,,"
        );
        assert_eq!(QosProfile::system_default().to_rmw_zenoh(), "::,:,:,:,,");
    }

    #[test]
    fn older_tokens_with_every_policy_still_parse() {
        // Earlier rosync (and hand-written peers) wrote every policy number.
        assert_eq!(
            QosProfile::parse_rmw_zenoh("1:2:1,10:,:,:,,"),
            Ok(QosProfile::default())
        );
    }

    #[test]
    fn presets_have_jazzy_values() {
        let cases = [
            (
                "default",
                History::KeepLast,
                10,
                Reliability::Reliable,
                Durability::Volatile,
            ),
            (
                "sensor_data",
                History::KeepLast,
                5,
                Reliability::BestEffort,
                Durability::Volatile,
            ),
            (
                "services_default",
                History::KeepLast,
                10,
                Reliability::Reliable,
                Durability::Volatile,
            ),
            (
                "parameters",
                History::KeepLast,
                1000,
                Reliability::Reliable,
                Durability::Volatile,
            ),
            (
                "parameter_events",
                History::KeepLast,
                1000,
                Reliability::Reliable,
                Durability::Volatile,
            ),
            (
                "system_default",
                History::SystemDefault,
                0,
                Reliability::SystemDefault,
                Durability::SystemDefault,
            ),
        ];
        assert_eq!(cases.len(), QosProfile::PRESETS.len());
        for (name, history, depth, reliability, durability) in cases {
            let qos = QosProfile::preset(name).expect(name);
            assert_eq!(
                (qos.history, qos.depth, qos.reliability, qos.durability),
                (history, depth, reliability, durability),
                "{name}"
            );
            assert_eq!(qos.deadline, QosProfile::INFINITE, "{name}");
            assert_eq!(qos.lifespan, QosProfile::INFINITE, "{name}");
            assert_eq!(
                qos.liveliness_lease_duration,
                QosProfile::INFINITE,
                "{name}"
            );
            assert!(!qos.avoid_ros_namespace_conventions, "{name}");
        }
        assert_eq!(QosProfile::preset("latched"), None);
    }

    #[test]
    fn resolved_is_what_rmw_zenoh_uses() {
        assert_eq!(
            QosProfile::system_default().resolved(),
            QosProfile::RMW_ZENOH_DEFAULT
        );
        let unspecified = QosProfile {
            deadline: Duration::ZERO,
            lifespan: Duration::ZERO,
            liveliness: Liveliness::SystemDefault,
            liveliness_lease_duration: Duration::ZERO,
            ..QosProfile::default()
        };
        assert_eq!(unspecified.resolved(), QosProfile::default());
        assert_eq!(unspecified.to_rmw_zenoh(), "::,10:,:,:,,");
    }

    #[test]
    fn best_available_settles_on_the_publishers() {
        let wanted = QosProfile {
            reliability: Reliability::BestAvailable,
            durability: Durability::BestAvailable,
            ..QosProfile::default()
        };
        let latched = QosProfile::default().transient_local();
        let sensor = QosProfile::sensor_data();
        let settle = |publishers: &[QosProfile]| {
            let q = wanted.best_available_for(publishers);
            (q.reliability, q.durability)
        };
        use {Durability::*, Reliability::*};
        assert_eq!(settle(&[]), (Reliable, Volatile));
        assert_eq!(settle(&[latched, latched]), (Reliable, TransientLocal));
        assert_eq!(
            settle(&[latched, QosProfile::default()]),
            (Reliable, Volatile)
        );
        assert_eq!(settle(&[latched, sensor]), (BestEffort, Volatile));
        // Policies that are not best available stay as they are.
        let fixed = QosProfile::sensor_data().best_available_for(&[latched]);
        assert_eq!(fixed, QosProfile::sensor_data());
    }

    #[test]
    fn adapting_to_transient_local_publishers_asks_for_the_deepest_history() {
        let wanted = QosProfile {
            durability: Durability::BestAvailable,
            ..QosProfile::default()
        };
        let latched = |depth| QosProfile::default().transient_local().keep_last(depth);
        let deep = wanted.adapted_to(&[latched(3), latched(7)]);
        assert_eq!(
            (deep.durability, deep.depth),
            (Durability::TransientLocal, 7)
        );
        let mixed = wanted.adapted_to(&[latched(3), QosProfile::default()]);
        assert_eq!(mixed, QosProfile::default());
        assert_eq!(wanted.adapted_to(&[]), QosProfile::default());
    }

    #[test]
    fn zenoh_mapping_follows_rmw_zenoh() {
        use zenoh::qos::{CongestionControl, Reliability as Z};
        let cases = [
            (QosProfile::default(), Z::Reliable, CongestionControl::Drop),
            (
                QosProfile::default().keep_all(),
                Z::Reliable,
                CongestionControl::Block,
            ),
            (
                QosProfile::sensor_data(),
                Z::BestEffort,
                CongestionControl::Drop,
            ),
            (
                QosProfile::sensor_data().keep_all(),
                Z::BestEffort,
                CongestionControl::Drop,
            ),
            (
                QosProfile::system_default(),
                Z::Reliable,
                CongestionControl::Drop,
            ),
        ];
        for (qos, reliability, congestion) in cases {
            assert_eq!(qos.zenoh_reliability(), reliability, "{qos:?}");
            assert_eq!(qos.congestion_control(), congestion, "{qos:?}");
        }
        assert!(QosProfile::default().transient_local().is_transient_local());
        assert!(!QosProfile::system_default().is_transient_local());
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
        assert_eq!(odd.to_rmw_zenoh(), "2:1:,3:5,0:60,3000:3,2,500");
        for text in [
            "::,10:,:,:,,",
            "2:1:,5:,:,:,,",
            "2:1:,3:5,0:60,3000:3,2,500",
            "::2,:,:,:,,",
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
