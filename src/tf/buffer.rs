//! [`Buffer`]: tf2's `BufferCore` — the frame tree over time, lookups through it, and waiting
//! for transforms to arrive.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use tokio::sync::watch;
use xxhash_rust::xxh3::Xxh3DefaultBuilder;

use super::errors::{Extrapolation, Rejection, TfError};
use super::frames::FrameInfo;
use super::math::RigidTransform;
use super::time_cache::{FrameCache, FrameId, Sample};
use crate::lock::{read, write};
use crate::msg::{geometry_msgs::TransformStamped, std_msgs::Header};
use crate::time::Time;

/// How long a frame's history reaches back by default (tf2's 10 s).
pub const DEFAULT_CACHE_TIME: std::time::Duration = std::time::Duration::from_secs(10);

/// Walks deeper than this are taken as a loop in the tree (tf2's `MAX_GRAPH_DEPTH`).
const MAX_GRAPH_DEPTH: u32 = 1000;

/// tf2 accepts a rotation whose squared norm is within this of 1.
const QUATERNION_NORMALIZATION_TOLERANCE: f64 = 10e-3;

/// The name tf2 gives frame id 0 (the parent of a root).
const NO_PARENT: &str = "NO_PARENT";

/// A transform buffer with tf2's semantics: every frame's parent and transform over the last
/// `cache_time`, lookups between any two frames of a tree (interpolated, or the latest common
/// time for time 0), static transforms valid at all times, and waiting for data to arrive.
///
/// Cloning is cheap: clones share the same buffer.
#[derive(Clone)]
pub struct Buffer {
    inner: Arc<Inner>,
}

struct Inner {
    core: RwLock<Core>,
    /// Bumped after every stored transform and every clear.
    version: watch::Sender<u64>,
    cache_time: std::time::Duration,
}

/// The frame tree: names, one cache per frame (none for a frame only seen as a parent), and who
/// last sent each frame.
struct Core {
    ids: HashMap<String, FrameId, Xxh3DefaultBuilder>,
    names: Vec<String>,
    caches: Vec<Option<FrameCache>>,
    authorities: Vec<Option<String>>,
    max_age: i64,
}

/// Why a walk through the tree failed, before frame names are attached.
enum WalkError {
    Loop,
    Connectivity,
    Extrapolation(Extrapolation, FrameId),
}

impl std::fmt::Debug for Buffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let core = read(&self.inner.core);
        f.debug_struct("Buffer")
            .field("cache_time", &self.inner.cache_time)
            .field("frames", &(core.names.len() - 1))
            .finish()
    }
}

impl Default for Buffer {
    fn default() -> Self {
        Self::new(DEFAULT_CACHE_TIME)
    }
}

fn strip_slash(frame: &str) -> &str {
    frame.strip_prefix('/').unwrap_or(frame)
}

fn stamped(target: &str, source: &str, time: i64, t: &RigidTransform) -> TransformStamped {
    TransformStamped {
        header: Header {
            stamp: Time::from_nanos(time),
            frame_id: target.to_owned(),
        },
        child_frame_id: source.to_owned(),
        transform: t.to_msg(),
    }
}

impl Buffer {
    /// A buffer keeping each frame's history for `cache_time`.
    pub fn new(cache_time: std::time::Duration) -> Self {
        let max_age = i64::try_from(cache_time.as_nanos()).unwrap_or(i64::MAX);
        let mut ids = HashMap::with_hasher(Xxh3DefaultBuilder::new());
        ids.insert(NO_PARENT.to_owned(), 0);
        Self {
            inner: Arc::new(Inner {
                core: RwLock::new(Core {
                    ids,
                    names: vec![NO_PARENT.to_owned()],
                    caches: vec![None],
                    authorities: vec![None],
                    max_age,
                }),
                version: watch::channel(0).0,
                cache_time,
            }),
        }
    }

    /// How far back each frame's history reaches.
    pub fn cache_time(&self) -> std::time::Duration {
        self.inner.cache_time
    }

    /// Stores a transform from `header.frame_id` (parent) to `child_frame_id` at
    /// `header.stamp`, sent by `authority`; a static one is valid at all times. A leading `/`
    /// is stripped from both frame ids. As in tf2, whether a frame is static is fixed by its
    /// first transform. Refused (with the reason): an empty or equal pair of frame ids, NaN, a
    /// rotation that is not a unit quaternion, a stamp already stored, or one older than the
    /// frame's history.
    pub fn set_transform(
        &self,
        transform: &TransformStamped,
        authority: &str,
        is_static: bool,
    ) -> Result<(), TfError> {
        let result = write(&self.inner.core).set(transform, authority, is_static);
        if result.is_ok() {
            self.notify();
        }
        result
    }

    /// Stores several transforms (e.g. one `tf2_msgs/TFMessage`) under one lock and one change
    /// notification; returns the refusals, each as [`Buffer::set_transform`] would.
    pub fn set_transforms<'a>(
        &self,
        transforms: impl IntoIterator<Item = &'a TransformStamped>,
        authority: &str,
        is_static: bool,
    ) -> Vec<TfError> {
        let (stored, refused) = {
            let mut core = write(&self.inner.core);
            let mut stored = false;
            let mut refused = Vec::new();
            for t in transforms {
                match core.set(t, authority, is_static) {
                    Ok(()) => stored = true,
                    Err(e) => refused.push(e),
                }
            }
            (stored, refused)
        };
        if stored {
            self.notify();
        }
        refused
    }

    /// Empties every frame's history (static transforms stay), e.g. after time jumped back.
    pub fn clear(&self) {
        write(&self.inner.core)
            .caches
            .iter_mut()
            .flatten()
            .for_each(FrameCache::clear);
        self.notify();
    }

    fn notify(&self) {
        self.inner.version.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// A receiver that sees a new version number after every stored transform and every
    /// [`Buffer::clear`]: `changed().await` on it to retry a lookup when data arrived.
    pub fn subscribe_changes(&self) -> watch::Receiver<u64> {
        self.inner.version.subscribe()
    }

    /// The transform that maps data in `source` into `target` at `time` (time 0: the latest
    /// time at which the whole path has data). The result's stamp is that time, its
    /// `frame_id` the target and `child_frame_id` the source.
    pub fn lookup_transform(
        &self,
        target: &str,
        source: &str,
        time: Time,
    ) -> Result<TransformStamped, TfError> {
        let time = time.as_nanos();
        let core = read(&self.inner.core);
        let (stamp, t) = core.lookup(target, source, time)?;
        Ok(stamped(target, source, stamp, &t))
    }

    /// The transform from `source` at `source_time` to `target` at `target_time`, through
    /// `fixed`, a frame that does not move between the two times (e.g. `odom` or `map`). The
    /// stamp is `target_time` (or the latest common time if it is 0).
    pub fn lookup_transform_full(
        &self,
        target: &str,
        target_time: Time,
        source: &str,
        source_time: Time,
        fixed: &str,
    ) -> Result<TransformStamped, TfError> {
        let core = read(&self.inner.core);
        core.validate(target, "lookup_transform argument target_frame")?;
        core.validate(source, "lookup_transform argument source_frame")?;
        core.validate(fixed, "lookup_transform argument fixed_frame")?;
        let (_, fixed_from_source) = core.lookup(fixed, source, source_time.as_nanos())?;
        let (stamp, target_from_fixed) = core.lookup(target, fixed, target_time.as_nanos())?;
        // tf2 composes the two halves as rotation matrices, which normalises their rotations.
        let t = target_from_fixed
            .normalized()
            .compose(&fixed_from_source.normalized());
        Ok(stamped(target, source, stamp, &t))
    }

    /// Whether [`Buffer::lookup_transform`] would succeed (true for `target == source`).
    pub fn can_transform(&self, target: &str, source: &str, time: Time) -> bool {
        self.check_transform(target, source, time).is_ok()
    }

    /// [`Buffer::can_transform`] with the reason when it cannot (cheaper than a lookup: it
    /// follows parents without computing the transform).
    pub fn check_transform(&self, target: &str, source: &str, time: Time) -> Result<(), TfError> {
        if target == source {
            return Ok(());
        }
        let core = read(&self.inner.core);
        let t = core.validate(target, "can_transform argument target_frame")?;
        let s = core.validate(source, "can_transform argument source_frame")?;
        core.walk::<false>(t, s, time.as_nanos())
            .map(|_| ())
            .map_err(|e| core.error(e, target, source, time.as_nanos()))
    }

    /// Whether [`Buffer::lookup_transform_full`] would succeed.
    pub fn can_transform_full(
        &self,
        target: &str,
        target_time: Time,
        source: &str,
        source_time: Time,
        fixed: &str,
    ) -> bool {
        let core = read(&self.inner.core);
        let ids = (
            core.validate(target, "can_transform argument target_frame"),
            core.validate(source, "can_transform argument source_frame"),
            core.validate(fixed, "can_transform argument fixed_frame"),
        );
        let (Ok(t), Ok(s), Ok(f)) = ids else {
            return false;
        };
        (t == f || core.walk::<false>(t, f, target_time.as_nanos()).is_ok())
            && (f == s || core.walk::<false>(f, s, source_time.as_nanos()).is_ok())
    }

    /// Waits until [`Buffer::lookup_transform`] succeeds and returns its result, retrying each
    /// time data arrives; gives up after `timeout` with [`TfError::Timeout`] (holding the last
    /// lookup's error), or at once for an error that waiting cannot fix (a malformed frame id,
    /// a loop).
    pub async fn wait_for_transform(
        &self,
        target: &str,
        source: &str,
        time: Time,
        timeout: std::time::Duration,
    ) -> Result<TransformStamped, TfError> {
        let started = tokio::time::Instant::now();
        let deadline = started + timeout;
        let mut changes = self.subscribe_changes();
        loop {
            changes.borrow_and_update();
            let error = match self.lookup_transform(target, source, time) {
                Ok(t) => return Ok(t),
                Err(e) if !e.may_resolve_later() => return Err(e),
                Err(e) => e,
            };
            // The sender lives as long as `self`, so `changed` only ends by a change.
            if tokio::time::timeout_at(deadline, changes.changed())
                .await
                .is_err()
            {
                return Err(TfError::Timeout {
                    target_frame: target.to_owned(),
                    source_frame: source.to_owned(),
                    time,
                    waited: started.elapsed(),
                    last: Box::new(error),
                });
            }
        }
    }

    /// Whether a frame is known (it sent a transform or is some frame's parent).
    pub fn frame_exists(&self, frame: &str) -> bool {
        read(&self.inner.core)
            .ids
            .get(frame)
            .is_some_and(|&id| id != 0)
    }

    /// Every frame that has a parent now, sorted by name: its parent, sender, newest and oldest
    /// stamps, history length and rate (for `tf frames`, like tf2's `allFramesAsYAML`).
    pub fn all_frames(&self) -> Vec<FrameInfo> {
        let core = read(&self.inner.core);
        let mut frames: Vec<FrameInfo> = core
            .caches
            .iter()
            .enumerate()
            .filter_map(|(id, cache)| {
                let cache = cache.as_ref()?;
                let (_, parent) = cache.latest_time_and_parent();
                if parent == 0 {
                    return None;
                }
                Some(FrameInfo::new(
                    &core.names[id],
                    &core.names[parent as usize],
                    core.authorities[id].as_deref(),
                    cache,
                ))
            })
            .collect();
        frames.sort_by(|a, b| a.frame.cmp(&b.frame));
        frames
    }
}

impl Core {
    fn cache(&self, id: FrameId) -> Option<&FrameCache> {
        self.caches.get(id as usize).and_then(Option::as_ref)
    }

    fn id_or_insert(&mut self, name: &str) -> FrameId {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as FrameId;
        self.ids.insert(name.to_owned(), id);
        self.names.push(name.to_owned());
        self.caches.push(None);
        self.authorities.push(None);
        id
    }

    fn set(
        &mut self,
        transform: &TransformStamped,
        authority: &str,
        is_static: bool,
    ) -> Result<(), TfError> {
        let parent = strip_slash(&transform.header.frame_id);
        let child = strip_slash(&transform.child_frame_id);
        let t = RigidTransform::from_msg(&transform.transform);
        let stamp = transform.header.stamp;
        let refuse = |reason| TfError::Rejected {
            parent: parent.to_owned(),
            child: child.to_owned(),
            stamp,
            authority: authority.to_owned(),
            reason,
        };
        if parent == child {
            return Err(refuse(Rejection::SelfTransform));
        }
        if child.is_empty() {
            return Err(refuse(Rejection::NoChildFrameId));
        }
        if parent.is_empty() {
            return Err(refuse(Rejection::NoFrameId));
        }
        if t.translation.iter().chain(&t.rotation).any(|v| v.is_nan()) {
            return Err(refuse(Rejection::NanInput));
        }
        // As tf2 sums it: |w² + x² + y² + z² - 1| < tolerance (which also refuses infinities).
        let [x, y, z, w] = t.rotation;
        let norm2 = w * w + x * x + y * y + z * z;
        let unit = (norm2 - 1.0).abs() < QUATERNION_NORMALIZATION_TOLERANCE;
        if !unit {
            return Err(refuse(Rejection::DenormalizedQuaternion));
        }
        let child_id = self.id_or_insert(child);
        let parent_id = self.id_or_insert(parent);
        let sample = Sample {
            stamp: stamp.as_nanos(),
            parent: parent_id,
            transform: t,
        };
        let slot = &mut self.caches[child_id as usize];
        match slot {
            Some(cache) => cache.insert(sample).map_err(refuse)?,
            None => *slot = Some(FrameCache::new(sample, is_static, self.max_age)),
        }
        self.authorities[child_id as usize] = Some(authority.to_owned());
        Ok(())
    }

    /// The id of a frame a lookup names: not empty, no leading `/`, known.
    fn validate(&self, frame: &str, argument: &'static str) -> Result<FrameId, TfError> {
        let invalid = |reason| TfError::InvalidArgument {
            frame: frame.to_owned(),
            argument,
            reason,
        };
        if frame.is_empty() {
            return Err(invalid("tf2 frame ids cannot be empty"));
        }
        if frame.starts_with('/') {
            return Err(invalid("tf2 frame ids cannot start with a '/'"));
        }
        match self.ids.get(frame) {
            Some(&id) if id != 0 => Ok(id),
            _ => Err(TfError::UnknownFrame {
                frame: frame.to_owned(),
                argument,
            }),
        }
    }

    /// The stamp and transform of a lookup (tf2's `lookupTransform`).
    fn lookup(
        &self,
        target: &str,
        source: &str,
        time: i64,
    ) -> Result<(i64, RigidTransform), TfError> {
        if target == source {
            // tf2 answers identity without checking the frame; at time 0 stamped with the
            // frame's newest sample.
            let stamp = if time == 0 {
                self.ids
                    .get(target)
                    .and_then(|&id| self.cache(id))
                    .map_or(0, FrameCache::latest_stamp)
            } else {
                time
            };
            return Ok((stamp, RigidTransform::IDENTITY));
        }
        let t = self.validate(target, "lookup_transform argument target_frame")?;
        let s = self.validate(source, "lookup_transform argument source_frame")?;
        self.walk::<true>(t, s, time)
            .map_err(|e| self.error(e, target, source, time))
    }

    fn error(&self, e: WalkError, target: &str, source: &str, time: i64) -> TfError {
        let (target_frame, source_frame) = (target.to_owned(), source.to_owned());
        match e {
            WalkError::Loop => TfError::Loop {
                target_frame,
                source_frame,
            },
            WalkError::Connectivity => TfError::Connectivity {
                target_frame,
                source_frame,
            },
            WalkError::Extrapolation(kind, frame) => TfError::Extrapolation {
                kind,
                time: Time::from_nanos(time),
                frame: self.names[frame as usize].clone(),
                target_frame,
                source_frame,
            },
        }
    }

    /// The parent (and with `DATA` the transform) of `frame` at `time`; a parent of 0 (only
    /// possible for a frame sent with parent `NO_PARENT`) counts as no data, as in tf2.
    #[inline]
    fn gather<const DATA: bool>(
        cache: &FrameCache,
        time: i64,
    ) -> Result<(FrameId, RigidTransform), Extrapolation> {
        let (parent, t) = if DATA {
            cache.data(time)?
        } else {
            (cache.parent(time)?, RigidTransform::IDENTITY)
        };
        if parent == 0 {
            return Err(Extrapolation::NoData);
        }
        Ok((parent, t))
    }

    /// tf2's `walkToTopParent`: accumulates source -> top parent, then target -> top parent,
    /// and returns the time used and target <- source. With `DATA` false only connectivity and
    /// data availability are checked.
    fn walk<const DATA: bool>(
        &self,
        target: FrameId,
        source: FrameId,
        time: i64,
    ) -> Result<(i64, RigidTransform), WalkError> {
        if source == target {
            return Ok((time, RigidTransform::IDENTITY));
        }
        let time = if time == 0 {
            self.latest_common_time(target, source)?
        } else {
            time
        };

        let mut source_to_top = RigidTransform::IDENTITY;
        let mut frame = source;
        let mut top_parent = frame;
        let mut source_miss = None;
        let mut depth = 0;
        while frame != 0 {
            let Some(cache) = self.cache(frame) else {
                top_parent = frame;
                break;
            };
            let (parent, t) = match Self::gather::<DATA>(cache, time) {
                Ok(found) => found,
                Err(kind) => {
                    // There may still be a path from the target to here.
                    top_parent = frame;
                    source_miss = Some((kind, frame));
                    break;
                }
            };
            if frame == target {
                return Ok((time, source_to_top));
            }
            if DATA {
                source_to_top = t.compose(&source_to_top);
            }
            top_parent = frame;
            frame = parent;
            depth += 1;
            if depth > MAX_GRAPH_DEPTH {
                return Err(WalkError::Loop);
            }
        }

        let mut target_to_top = RigidTransform::IDENTITY;
        let mut frame = target;
        let mut depth = 0;
        while frame != top_parent {
            let Some(cache) = self.cache(frame) else {
                break;
            };
            let (parent, t) = Self::gather::<DATA>(cache, time)
                .map_err(|kind| WalkError::Extrapolation(kind, frame))?;
            if frame == source {
                return Ok((time, target_to_top.inverse()));
            }
            if DATA {
                target_to_top = t.compose(&target_to_top);
            }
            frame = parent;
            depth += 1;
            if depth > MAX_GRAPH_DEPTH {
                return Err(WalkError::Loop);
            }
        }
        if frame != top_parent {
            return Err(match source_miss {
                Some((kind, frame)) => WalkError::Extrapolation(kind, frame),
                None => WalkError::Connectivity,
            });
        }
        Ok((time, target_to_top.inverse().compose(&source_to_top)))
    }

    /// tf2's `getLatestCommonTime`: the oldest of the newest stamps on the path between the
    /// two frames (static transforms do not count; 0 if only they are on the path).
    fn latest_common_time(&self, target: FrameId, source: FrameId) -> Result<i64, WalkError> {
        let none_is_zero = |t: i64| if t == i64::MAX { 0 } else { t };
        // (newest stamp, parent) of each frame from the source up.
        let mut source_chain: Vec<(i64, FrameId)> = Vec::new();
        let mut common = i64::MAX;
        let mut frame = source;
        let mut depth = 0;
        while frame != 0 {
            let Some(cache) = self.cache(frame) else {
                break;
            };
            let (stamp, parent) = cache.latest_time_and_parent();
            if parent == 0 {
                break;
            }
            if stamp != 0 {
                common = common.min(stamp);
            }
            source_chain.push((stamp, parent));
            frame = parent;
            if frame == target {
                return Ok(none_is_zero(common));
            }
            depth += 1;
            if depth > MAX_GRAPH_DEPTH {
                return Err(WalkError::Loop);
            }
        }

        let mut common = i64::MAX;
        let mut common_parent = 0;
        let mut frame = target;
        let mut depth = 0;
        while let Some(cache) = self.cache(frame) {
            let (stamp, parent) = cache.latest_time_and_parent();
            if parent == 0 {
                break;
            }
            if stamp != 0 {
                common = common.min(stamp);
            }
            if source_chain.iter().any(|&(_, p)| p == parent) {
                common_parent = parent;
                break;
            }
            frame = parent;
            if frame == source {
                return Ok(none_is_zero(common));
            }
            depth += 1;
            if depth > MAX_GRAPH_DEPTH {
                return Err(WalkError::Loop);
            }
        }
        if common_parent == 0 {
            return Err(WalkError::Connectivity);
        }
        for &(stamp, parent) in &source_chain {
            if stamp != 0 {
                common = common.min(stamp);
            }
            if parent == common_parent {
                break;
            }
        }
        Ok(none_is_zero(common))
    }
}
