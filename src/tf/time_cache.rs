//! One frame's history: its parent and transform over time (tf2's `TimeCache`), or a single
//! static transform valid at all times (`StaticCache`).

use std::collections::VecDeque;

use super::errors::{Extrapolation, Rejection};
use super::math::{lerp, slerp, RigidTransform};
use crate::time::Time;

/// A frame's index in the buffer; 0 means "no frame" (the parent of a root).
pub(crate) type FrameId = u32;

/// One stored transform of a frame: its parent and the transform at `stamp` (nanoseconds).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    pub stamp: i64,
    pub parent: FrameId,
    pub transform: RigidTransform,
}

/// A frame's history, static or time-ordered; which one is fixed by its first transform, as in
/// tf2.
#[derive(Debug)]
pub(crate) enum FrameCache {
    /// Samples oldest first, spanning at most `max_age` nanoseconds.
    Dynamic {
        samples: VecDeque<Sample>,
        max_age: i64,
    },
    /// One transform, valid at every time.
    Static(Sample),
}

/// The sample(s) around a time: one exact (or the only, or the newest for time 0), or the two
/// that bracket it (older first).
enum Closest<'a> {
    One(&'a Sample),
    Two(&'a Sample, &'a Sample),
}

impl FrameCache {
    /// A new cache holding `first`.
    pub fn new(first: Sample, is_static: bool, max_age: i64) -> Self {
        if is_static {
            Self::Static(first)
        } else {
            Self::Dynamic {
                samples: VecDeque::from([first]),
                max_age,
            }
        }
    }

    /// Stores a sample: a static cache replaces its transform; a dynamic one refuses a stamp it
    /// already holds or one older than its newest sample minus the cache time, then drops
    /// samples older than that.
    pub fn insert(&mut self, sample: Sample) -> Result<(), Rejection> {
        match self {
            Self::Static(stored) => {
                *stored = sample;
                Ok(())
            }
            Self::Dynamic { samples, max_age } => {
                if let Some(newest) = samples.back() {
                    if newest.stamp > sample.stamp.saturating_add(*max_age) {
                        return Err(Rejection::OldData {
                            newest: Time::from_nanos(newest.stamp),
                        });
                    }
                }
                // Samples are oldest first: insert after every older one (usually at the end).
                let at = samples.partition_point(|s| s.stamp < sample.stamp);
                if samples.get(at).is_some_and(|s| s.stamp == sample.stamp) {
                    return Err(Rejection::RepeatedData);
                }
                samples.insert(at, sample);
                if let Some(newest) = samples.back().map(|s| s.stamp) {
                    while samples
                        .front()
                        .is_some_and(|s| s.stamp.saturating_add(*max_age) < newest)
                    {
                        samples.pop_front();
                    }
                }
                Ok(())
            }
        }
    }

    /// Empties a dynamic cache; a static transform stays (as in tf2).
    pub fn clear(&mut self) {
        if let Self::Dynamic { samples, .. } = self {
            samples.clear();
        }
    }

    /// Whether it is a static transform.
    pub fn is_static(&self) -> bool {
        matches!(self, Self::Static(_))
    }

    fn closest(samples: &VecDeque<Sample>, time: i64) -> Result<Closest<'_>, Extrapolation> {
        let (Some(oldest), Some(newest)) = (samples.front(), samples.back()) else {
            return Err(Extrapolation::NoData);
        };
        if time == 0 {
            return Ok(Closest::One(newest));
        }
        if samples.len() == 1 {
            return match time.cmp(&newest.stamp) {
                std::cmp::Ordering::Equal => Ok(Closest::One(newest)),
                std::cmp::Ordering::Less => Err(Extrapolation::Past {
                    earliest: Time::from_nanos(oldest.stamp),
                }),
                std::cmp::Ordering::Greater => Err(Extrapolation::Future {
                    latest: Time::from_nanos(newest.stamp),
                }),
            };
        }
        if time == newest.stamp {
            return Ok(Closest::One(newest));
        }
        if time == oldest.stamp {
            return Ok(Closest::One(oldest));
        }
        if time > newest.stamp {
            return Err(Extrapolation::Future {
                latest: Time::from_nanos(newest.stamp),
            });
        }
        if time < oldest.stamp {
            return Err(Extrapolation::Past {
                earliest: Time::from_nanos(oldest.stamp),
            });
        }
        // oldest < time < newest: the last sample at or before `time` and the one after it.
        let older = Self::bracket(samples, time, oldest.stamp, newest.stamp);
        Ok(Closest::Two(&samples[older], &samples[older + 1]))
    }

    /// The index `i` with `samples[i].stamp <= time < samples[i + 1].stamp`, for
    /// `oldest < time < newest`: a guess from the stamps' spread (exact for a steady rate), a
    /// few steps from there, else a binary search.
    fn bracket(samples: &VecDeque<Sample>, time: i64, oldest: i64, newest: i64) -> usize {
        let last = samples.len() - 2;
        let share = (time - oldest) as f64 / (newest - oldest) as f64;
        let mut i = ((share * (samples.len() - 1) as f64) as usize).min(last);
        for _ in 0..4 {
            if samples[i].stamp > time {
                i = i.saturating_sub(1);
            } else if samples[i + 1].stamp <= time {
                i = (i + 1).min(last);
            } else {
                return i;
            }
        }
        samples.partition_point(|s| s.stamp <= time) - 1
    }

    /// The parent and the transform at `time` (0: the newest), interpolated between the
    /// samples around it when both have the same parent (otherwise the older one's).
    pub fn data(&self, time: i64) -> Result<(FrameId, RigidTransform), Extrapolation> {
        match self {
            Self::Static(s) => Ok((s.parent, s.transform)),
            Self::Dynamic { samples, .. } => match Self::closest(samples, time)? {
                Closest::One(s) => Ok((s.parent, s.transform)),
                Closest::Two(older, newer) => {
                    if older.parent != newer.parent {
                        return Ok((older.parent, older.transform));
                    }
                    let ratio = (time - older.stamp) as f64 / (newer.stamp - older.stamp) as f64;
                    let (a, b) = (&older.transform, &newer.transform);
                    Ok((
                        older.parent,
                        RigidTransform {
                            translation: lerp(&a.translation, &b.translation, ratio),
                            rotation: slerp(&a.rotation, &b.rotation, ratio),
                        },
                    ))
                }
            },
        }
    }

    /// The parent at `time` (0: the newest's).
    pub fn parent(&self, time: i64) -> Result<FrameId, Extrapolation> {
        match self {
            Self::Static(s) => Ok(s.parent),
            Self::Dynamic { samples, .. } => match Self::closest(samples, time)? {
                Closest::One(s) | Closest::Two(s, _) => Ok(s.parent),
            },
        }
    }

    /// The newest stamp and parent; a static transform's stamp is 0, an empty cache's parent 0.
    pub fn latest_time_and_parent(&self) -> (i64, FrameId) {
        match self {
            Self::Static(s) => (0, s.parent),
            Self::Dynamic { samples, .. } => samples.back().map_or((0, 0), |s| (s.stamp, s.parent)),
        }
    }

    /// The newest stamp (0 for a static transform or an empty history).
    pub fn latest_stamp(&self) -> i64 {
        match self {
            Self::Static(_) => 0,
            Self::Dynamic { samples, .. } => samples.back().map_or(0, |s| s.stamp),
        }
    }

    /// The oldest stamp (0 for a static transform or an empty history).
    pub fn oldest_stamp(&self) -> i64 {
        match self {
            Self::Static(_) => 0,
            Self::Dynamic { samples, .. } => samples.front().map_or(0, |s| s.stamp),
        }
    }

    /// How many samples it holds (1 for a static transform).
    pub fn len(&self) -> usize {
        match self {
            Self::Static(_) => 1,
            Self::Dynamic { samples, .. } => samples.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    fn sample(stamp: i64, parent: FrameId, x: f64) -> Sample {
        Sample {
            stamp,
            parent,
            transform: RigidTransform {
                translation: [x, 0.0, 0.0],
                ..RigidTransform::IDENTITY
            },
        }
    }

    #[test]
    fn interpolates_between_samples_and_refuses_outside() {
        let mut c = FrameCache::new(sample(10 * S, 1, 0.0), false, 10 * S);
        c.insert(sample(12 * S, 1, 2.0)).unwrap();
        assert_eq!(c.data(11 * S).unwrap().1.translation[0], 1.0);
        assert_eq!(c.data(0).unwrap().1.translation[0], 2.0);
        assert!(matches!(c.data(9 * S), Err(Extrapolation::Past { .. })));
        assert!(matches!(c.data(13 * S), Err(Extrapolation::Future { .. })));
    }

    #[test]
    fn finds_the_bracketing_samples_at_uneven_rates() {
        let stamps = [1, 2, 3, 50, 51, 52, 100, 1000];
        let mut c = FrameCache::new(sample(stamps[0] * S, 1, 0.0), false, 10_000 * S);
        for &t in &stamps[1..] {
            c.insert(sample(t * S, 1, t as f64)).unwrap();
        }
        let FrameCache::Dynamic { samples, .. } = &c else {
            unreachable!()
        };
        for time in ((S + 1)..(1000 * S)).step_by((S / 4) as usize) {
            let i = FrameCache::bracket(samples, time, S, 1000 * S);
            assert!(
                samples[i].stamp <= time && time < samples[i + 1].stamp,
                "{time}"
            );
        }
    }

    #[test]
    fn reparented_frame_takes_the_older_sample() {
        let mut c = FrameCache::new(sample(10 * S, 1, 0.0), false, 10 * S);
        c.insert(sample(12 * S, 2, 2.0)).unwrap();
        assert_eq!(c.data(11 * S).unwrap(), (1, sample(0, 1, 0.0).transform));
        assert_eq!(c.parent(12 * S).unwrap(), 2);
    }

    #[test]
    fn old_and_repeated_data_are_refused_and_history_is_pruned() {
        let mut c = FrameCache::new(sample(20 * S, 1, 0.0), false, 10 * S);
        assert_eq!(
            c.insert(sample(20 * S, 1, 1.0)),
            Err(Rejection::RepeatedData)
        );
        assert!(matches!(
            c.insert(sample(9 * S, 1, 1.0)),
            Err(Rejection::OldData { .. })
        ));
        c.insert(sample(10 * S, 1, 1.0)).unwrap(); // exactly the cache time: kept
        assert_eq!(c.len(), 2);
        c.insert(sample(21 * S, 1, 1.0)).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c.oldest_stamp(), 20 * S);
    }

    #[test]
    fn static_transform_is_valid_always_and_survives_clear() {
        let mut c = FrameCache::new(sample(5 * S, 3, 1.0), true, 10 * S);
        assert_eq!(c.data(1).unwrap().0, 3);
        assert_eq!(c.data(100 * S).unwrap().0, 3);
        c.clear();
        assert_eq!(c.len(), 1);
        assert_eq!(c.latest_time_and_parent(), (0, 3));
    }
}
