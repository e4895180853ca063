//! Policy configurations: one value naming a policy and its parameters, and the one factory
//! that builds it for a channel count (used by `rosync sync simulate`, `sync live` and sync
//! scripts).

use super::approximate_epsilon_time::ApproximateEpsilonTime;
use super::approximate_time::ApproximateTime;
use super::exact_time::ExactTime;
use super::latest_time::LatestTime;
use super::policy::{ConfigError, Policy};
use super::script::ScriptPolicy;

/// A synchronizer policy and its parameters, independent of the channel count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PolicyConfig {
    /// [`ExactTime`]: sets of identical stamps.
    ExactTime {
        /// Maximum number of pending stamps.
        queue_size: usize,
    },
    /// [`ApproximateTime`]: the ROS C++ algorithm.
    ApproximateTime {
        /// Per-channel queue size.
        queue_size: usize,
        /// Largest spread of stamps in a set, in ns (`None`: unlimited).
        max_interval_ns: Option<i64>,
        /// Age penalty (ROS default 0.1).
        age_penalty: f64,
        /// Inter-message lower bound of every channel, in ns (`None`: none).
        inter_message_lower_bound_ns: Option<i64>,
    },
    /// [`LatestTime`] (ROS 2): the latest message of each channel, with default rate settings.
    LatestTime,
    /// [`ApproximateEpsilonTime`] (ROS 2): stamps within `epsilon_ns` of each other.
    ApproximateEpsilonTime {
        /// Per-channel queue size.
        queue_size: usize,
        /// Largest stamp difference in a set, in ns.
        epsilon_ns: i64,
    },
}

impl PolicyConfig {
    /// ApproximateTime with ROS's defaults: no max interval, age penalty 0.1, no lower bounds.
    pub fn approximate_time(queue_size: usize) -> Self {
        PolicyConfig::ApproximateTime {
            queue_size,
            max_interval_ns: None,
            age_penalty: 0.1,
            inter_message_lower_bound_ns: None,
        }
    }

    /// The policy's ROS name, such as `ApproximateTime`.
    pub fn name(&self) -> &'static str {
        match self {
            PolicyConfig::ExactTime { .. } => "ExactTime",
            PolicyConfig::ApproximateTime { .. } => "ApproximateTime",
            PolicyConfig::LatestTime => "LatestTime",
            PolicyConfig::ApproximateEpsilonTime { .. } => "ApproximateEpsilonTime",
        }
    }

    /// Builds the policy for `channels` channels, or the policy's own error for a value out of
    /// range.
    pub fn build<M: Clone + Send + 'static>(
        &self,
        channels: usize,
    ) -> Result<Box<dyn Policy<M> + Send>, ConfigError> {
        Ok(match *self {
            PolicyConfig::ExactTime { queue_size } => {
                Box::new(ExactTime::new(channels, queue_size)?)
            }
            PolicyConfig::ApproximateTime {
                queue_size,
                max_interval_ns,
                age_penalty,
                inter_message_lower_bound_ns,
            } => {
                let mut p = ApproximateTime::new(channels, queue_size)?.age_penalty(age_penalty)?;
                if let Some(ns) = max_interval_ns {
                    p = p.max_interval_duration(ns)?;
                }
                if let Some(ns) = inter_message_lower_bound_ns {
                    for channel in 0..channels {
                        p = p.inter_message_lower_bound(channel, ns)?;
                    }
                }
                Box::new(p)
            }
            PolicyConfig::LatestTime => Box::new(LatestTime::new(channels)?),
            PolicyConfig::ApproximateEpsilonTime {
                queue_size,
                epsilon_ns,
            } => Box::new(ApproximateEpsilonTime::new(
                channels, queue_size, epsilon_ns,
            )?),
        })
    }
}

impl From<ScriptPolicy> for PolicyConfig {
    /// A script's policy; its zeros for "unlimited" and "none" become `None`.
    fn from(policy: ScriptPolicy) -> Self {
        match policy {
            ScriptPolicy::Exact { queue_size } => PolicyConfig::ExactTime { queue_size },
            ScriptPolicy::Approx {
                queue_size,
                max_interval_ns,
                age_penalty,
                lower_bound_ns,
            } => PolicyConfig::ApproximateTime {
                queue_size,
                max_interval_ns: (max_interval_ns > 0).then_some(max_interval_ns),
                age_penalty,
                inter_message_lower_bound_ns: (lower_bound_ns > 0).then_some(lower_bound_ns),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::policy::{Emitted, MAX_CHANNELS, MIN_CHANNELS};
    use super::*;

    fn every_kind() -> [PolicyConfig; 4] {
        [
            PolicyConfig::ExactTime { queue_size: 5 },
            PolicyConfig::ApproximateTime {
                queue_size: 5,
                max_interval_ns: Some(1_000),
                age_penalty: 0.5,
                inter_message_lower_bound_ns: Some(10),
            },
            PolicyConfig::LatestTime,
            PolicyConfig::ApproximateEpsilonTime {
                queue_size: 5,
                epsilon_ns: 100,
            },
        ]
    }

    #[test]
    fn every_kind_builds_for_every_channel_count_and_joins_equal_stamps() {
        for config in every_kind() {
            for channels in MIN_CHANNELS..=MAX_CHANNELS {
                let mut policy = config
                    .build::<usize>(channels)
                    .unwrap_or_else(|e| panic!("{} with {channels}: {e}", config.name()));
                let mut out = Emitted::new();
                for stamp in [1_000, 2_000] {
                    for channel in 0..channels {
                        policy.add(channel, stamp, channel, &mut out);
                    }
                }
                assert!(
                    !out.sets.is_empty(),
                    "{} with {channels} channels formed no set",
                    config.name()
                );
                assert!(out.sets.iter().all(|set| set.len() == channels));
            }
        }
    }

    #[test]
    fn a_bad_channel_count_gives_the_policys_error() {
        for config in every_kind() {
            for channels in [1, MAX_CHANNELS + 1] {
                assert_eq!(
                    config.build::<usize>(channels).err(),
                    Some(ConfigError::ChannelCount(channels)),
                    "{}",
                    config.name()
                );
            }
        }
    }

    #[test]
    fn bad_values_give_the_policys_error() {
        let cases = [
            (
                PolicyConfig::ExactTime { queue_size: 0 },
                ConfigError::QueueSize(0),
            ),
            (
                PolicyConfig::ApproximateTime {
                    queue_size: 3,
                    max_interval_ns: Some(-1),
                    age_penalty: 0.1,
                    inter_message_lower_bound_ns: None,
                },
                ConfigError::MaxInterval(-1),
            ),
            (
                PolicyConfig::ApproximateTime {
                    queue_size: 3,
                    max_interval_ns: None,
                    age_penalty: -0.5,
                    inter_message_lower_bound_ns: None,
                },
                ConfigError::AgePenalty(-0.5),
            ),
            (
                PolicyConfig::ApproximateTime {
                    queue_size: 3,
                    max_interval_ns: None,
                    age_penalty: 0.1,
                    inter_message_lower_bound_ns: Some(-2),
                },
                ConfigError::LowerBound(-2),
            ),
            (PolicyConfig::approximate_time(0), ConfigError::QueueSize(0)),
            (
                PolicyConfig::ApproximateEpsilonTime {
                    queue_size: 3,
                    epsilon_ns: -5,
                },
                ConfigError::Epsilon(-5),
            ),
        ];
        for (config, expected) in cases {
            assert_eq!(config.build::<usize>(2).err(), Some(expected), "{config:?}");
        }
    }

    #[test]
    fn script_zeros_mean_unlimited_and_none() {
        let config = PolicyConfig::from(ScriptPolicy::Approx {
            queue_size: 4,
            max_interval_ns: 0,
            age_penalty: 0.1,
            lower_bound_ns: 0,
        });
        assert_eq!(config, PolicyConfig::approximate_time(4));
        assert_eq!(
            PolicyConfig::from(ScriptPolicy::Exact { queue_size: 2 }),
            PolicyConfig::ExactTime { queue_size: 2 }
        );
    }
}
