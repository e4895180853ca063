//! Why a lookup or a stored transform failed, in tf2's classes (`tf2_msgs/TF2Error` codes).

use crate::time::Time;

/// Seconds with nanosecond digits, as tf2 prints times in its messages.
pub(crate) fn secs(t: &Time) -> String {
    let n = t.as_nanos();
    let sign = if n < 0 { "-" } else { "" };
    let n = n.unsigned_abs();
    format!("{sign}{}.{:09}", n / 1_000_000_000, n % 1_000_000_000)
}

/// Where a lookup time fell outside a frame's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extrapolation {
    /// The time is before the earliest sample (`earliest`) in the frame's history.
    Past {
        /// The earliest sample's stamp.
        earliest: Time,
    },
    /// The time is after the latest sample (`latest`) in the frame's history.
    Future {
        /// The latest sample's stamp.
        latest: Time,
    },
    /// The frame's history is empty (e.g. after [`crate::tf::Buffer::clear`]).
    NoData,
}

/// Why [`crate::tf::Buffer::set_transform`] did not store a transform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// `header.frame_id` equals `child_frame_id` (tf2: TF_SELF_TRANSFORM).
    SelfTransform,
    /// `child_frame_id` is empty (TF_NO_CHILD_FRAME_ID).
    NoChildFrameId,
    /// `header.frame_id` is empty (TF_NO_FRAME_ID).
    NoFrameId,
    /// A translation or rotation component is NaN (TF_NAN_INPUT).
    NanInput,
    /// The rotation's squared norm is not within 0.01 of 1 (TF_DENORMALIZED_QUATERNION).
    DenormalizedQuaternion,
    /// The stamp is older than the frame's newest sample minus the cache time (TF_OLD_DATA).
    OldData {
        /// The frame's newest sample.
        newest: Time,
    },
    /// The frame already has a sample with this stamp (TF_REPEATED_DATA).
    RepeatedData,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SelfTransform => f.write_str("frame_id and child_frame_id are the same"),
            Self::NoChildFrameId => f.write_str("child_frame_id is empty"),
            Self::NoFrameId => f.write_str("header.frame_id is empty"),
            Self::NanInput => f.write_str("the transform has a NaN value"),
            Self::DenormalizedQuaternion => f.write_str(
                "the rotation is not a unit quaternion (squared norm off by 0.01 or more)",
            ),
            Self::OldData { newest } => write!(
                f,
                "the stamp is older than the cache time before the newest sample (at {})",
                secs(newest)
            ),
            Self::RepeatedData => f.write_str("a sample with this stamp is already stored"),
        }
    }
}

/// A tf2 error, with the frames and times involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TfError {
    /// A frame is not known to the buffer (tf2 `LookupException`).
    #[error("\"{frame}\" passed to {argument} does not exist")]
    UnknownFrame {
        /// The frame asked for.
        frame: String,
        /// Which argument named it (e.g. `lookup_transform argument target_frame`).
        argument: &'static str,
    },
    /// The frames' parents form a loop (tf2 reports it as a `LookupException`).
    #[error("the tf tree is invalid because it contains a loop (looking up {source_frame} in {target_frame})")]
    Loop {
        /// The lookup's target frame.
        target_frame: String,
        /// The lookup's source frame.
        source_frame: String,
    },
    /// The frames are in two unconnected trees (tf2 `ConnectivityException`).
    #[error(
        "could not find a connection between '{target_frame}' and '{source_frame}' because they are not part of the same tree"
    )]
    Connectivity {
        /// The lookup's target frame.
        target_frame: String,
        /// The lookup's source frame.
        source_frame: String,
    },
    /// A frame on the path has no data at the time (tf2 `ExtrapolationException`).
    #[error("{}", extrapolation_text(.kind, .time, .frame, .target_frame, .source_frame))]
    Extrapolation {
        /// Past, future or no data.
        kind: Extrapolation,
        /// The time looked up.
        time: Time,
        /// The frame whose history does not cover `time`.
        frame: String,
        /// The lookup's target frame.
        target_frame: String,
        /// The lookup's source frame.
        source_frame: String,
    },
    /// A frame id is empty or starts with `/` (tf2 `InvalidArgumentException`).
    #[error("invalid argument \"{frame}\" passed to {argument}: {reason}")]
    InvalidArgument {
        /// The frame id given.
        frame: String,
        /// Which argument it was.
        argument: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A transform was not stored.
    #[error("ignoring transform {parent} -> {child} at {} from \"{authority}\": {reason}", secs(.stamp))]
    Rejected {
        /// `header.frame_id`.
        parent: String,
        /// `child_frame_id`.
        child: String,
        /// `header.stamp`.
        stamp: Time,
        /// Who sent it.
        authority: String,
        /// Why it was not stored.
        reason: Rejection,
    },
    /// `wait_for_transform` gave up (tf2 `TimeoutException`); `last` is the lookup's last error.
    #[error("timed out after {waited:?} waiting for the transform from {source_frame} to {target_frame} at {}: {last}", secs(.time))]
    Timeout {
        /// The lookup's target frame.
        target_frame: String,
        /// The lookup's source frame.
        source_frame: String,
        /// The time looked up.
        time: Time,
        /// How long it waited.
        waited: std::time::Duration,
        /// The error of the last attempt.
        last: Box<TfError>,
    },
}

fn extrapolation_text(
    kind: &Extrapolation,
    time: &Time,
    frame: &str,
    target: &str,
    source: &str,
) -> String {
    let what = match kind {
        Extrapolation::Past { earliest } => format!(
            "lookup would require extrapolation {}s into the past: requested time {} but the earliest data for frame {frame} is at {}",
            secs(&Time::from_nanos(earliest.as_nanos() - time.as_nanos())),
            secs(time),
            secs(earliest)
        ),
        Extrapolation::Future { latest } => format!(
            "lookup would require extrapolation {}s into the future: requested time {} but the latest data for frame {frame} is at {}",
            secs(&Time::from_nanos(time.as_nanos() - latest.as_nanos())),
            secs(time),
            secs(latest)
        ),
        Extrapolation::NoData => format!("frame {frame} has no data (requested time {})", secs(time)),
    };
    format!("{what}, when looking up transform from frame [{source}] to frame [{target}]")
}

/// `tf2_msgs/TF2Error` codes.
pub mod code {
    /// No error.
    pub const NO_ERROR: u8 = 0;
    /// Unknown frame, or a loop in the tree.
    pub const LOOKUP_ERROR: u8 = 1;
    /// Frames in unconnected trees.
    pub const CONNECTIVITY_ERROR: u8 = 2;
    /// No data at the time asked for.
    pub const EXTRAPOLATION_ERROR: u8 = 3;
    /// A malformed frame id or transform.
    pub const INVALID_ARGUMENT_ERROR: u8 = 4;
    /// Waiting gave up.
    pub const TIMEOUT_ERROR: u8 = 5;
    /// Any other transform error.
    pub const TRANSFORM_ERROR: u8 = 6;
}

impl TfError {
    /// The `tf2_msgs/TF2Error` code of the error's class.
    pub fn code(&self) -> u8 {
        match self {
            Self::UnknownFrame { .. } | Self::Loop { .. } => code::LOOKUP_ERROR,
            Self::Connectivity { .. } => code::CONNECTIVITY_ERROR,
            Self::Extrapolation { .. } => code::EXTRAPOLATION_ERROR,
            Self::InvalidArgument { .. } => code::INVALID_ARGUMENT_ERROR,
            Self::Rejected { reason, .. } => match reason {
                Rejection::OldData { .. } | Rejection::RepeatedData => code::TRANSFORM_ERROR,
                _ => code::INVALID_ARGUMENT_ERROR,
            },
            Self::Timeout { .. } => code::TIMEOUT_ERROR,
        }
    }

    /// The class as tf2 names its exceptions: `lookup`, `connectivity`, `extrapolation`,
    /// `invalid_argument`, `timeout` or `transform`.
    pub fn class(&self) -> &'static str {
        match self.code() {
            code::LOOKUP_ERROR => "lookup",
            code::CONNECTIVITY_ERROR => "connectivity",
            code::EXTRAPOLATION_ERROR => "extrapolation",
            code::INVALID_ARGUMENT_ERROR => "invalid_argument",
            code::TIMEOUT_ERROR => "timeout",
            _ => "transform",
        }
    }

    /// Whether waiting for more data could make the lookup succeed (unknown frame, not
    /// connected yet, or extrapolation; not for malformed arguments or a loop).
    pub fn may_resolve_later(&self) -> bool {
        matches!(
            self,
            Self::UnknownFrame { .. } | Self::Connectivity { .. } | Self::Extrapolation { .. }
        )
    }
}
