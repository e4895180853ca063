//! The text `rosync tf echo` prints for one transform, laid out as `tf2_echo` prints it.

use std::fmt::Write;

use crate::msg::geometry_msgs::Transform;
use crate::tf::math::to_rpy;
use crate::time::Time;

/// The homogeneous 4x4 matrix of `t` (rotation of its normalized quaternion, then translation).
pub fn matrix(t: &Transform) -> [[f64; 4]; 4] {
    let q = &t.rotation;
    let n = (q.x * q.x + q.y * q.y + q.z * q.z + q.w * q.w).sqrt();
    let (x, y, z, w) = if n > 0.0 {
        (q.x / n, q.y / n, q.z / n, q.w / n)
    } else {
        (0.0, 0.0, 0.0, 1.0)
    };
    let v = &t.translation;
    [
        [
            1.0 - 2.0 * (y * y + z * z),
            2.0 * (x * y - z * w),
            2.0 * (x * z + y * w),
            v.x,
        ],
        [
            2.0 * (x * y + z * w),
            1.0 - 2.0 * (x * x + z * z),
            2.0 * (y * z - x * w),
            v.y,
        ],
        [
            2.0 * (x * z - y * w),
            2.0 * (y * z + x * w),
            1.0 - 2.0 * (x * x + y * y),
            v.z,
        ],
        [0.0, 0.0, 0.0, 1.0],
    ]
}

/// `v` with `p` decimals, without the sign of a value that rounds to zero (`-0.000`).
fn num(v: f64, p: usize) -> String {
    let text = format!("{v:.p$}");
    match text.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
        _ => text,
    }
}

/// `values` with `p` decimals, comma-separated in brackets.
fn list(values: &[f64], p: usize) -> String {
    let items: Vec<String> = values.iter().map(|&v| num(v, p)).collect();
    format!("[{}]", items.join(", "))
}

/// One transform as `tf2_echo` prints it: time, translation, quaternion, RPY in radians and
/// degrees, and the matrix, each number with `precision` decimals.
pub fn format_transform(stamp: Time, t: &Transform, precision: usize) -> String {
    let p = precision;
    let v = &t.translation;
    let q = &t.rotation;
    let r = to_rpy(&[q.x, q.y, q.z, q.w]);
    let mut out = String::new();
    let _ = writeln!(out, "At time {}.{:09}", stamp.sec, stamp.nanosec);
    let _ = writeln!(out, "- Translation: {}", list(&[v.x, v.y, v.z], p));
    let _ = writeln!(
        out,
        "- Rotation: in Quaternion (xyzw) {}",
        list(&[q.x, q.y, q.z, q.w], p)
    );
    let _ = writeln!(out, "- Rotation: in RPY (radian) {}", list(&r, p));
    let degrees = r.map(f64::to_degrees);
    let _ = writeln!(out, "- Rotation: in RPY (degree) {}", list(&degrees, p));
    let _ = writeln!(out, "- Matrix:");
    for row in matrix(t) {
        let cells: Vec<String> = row
            .iter()
            .map(|&c| format!("{:>w$}", num(c, p), w = p + 4))
            .collect();
        let _ = writeln!(out, " {}", cells.join(" "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tf::RigidTransform;

    fn transform(translation: [f64; 3], rotation: [f64; 4]) -> Transform {
        RigidTransform {
            translation,
            rotation,
        }
        .to_msg()
    }

    #[test]
    fn echo_text_has_tf2_echos_lines() {
        let h = std::f64::consts::FRAC_1_SQRT_2;
        let t = transform([1.0, 2.0, 3.0], [0.0, 0.0, h, h]);
        let text = format_transform(
            Time {
                sec: 5,
                nanosec: 20,
            },
            &t,
            3,
        );
        assert_eq!(
            text,
            "At time 5.000000020\n\
             - Translation: [1.000, 2.000, 3.000]\n\
             - Rotation: in Quaternion (xyzw) [0.000, 0.000, 0.707, 0.707]\n\
             - Rotation: in RPY (radian) [0.000, 0.000, 1.571]\n\
             - Rotation: in RPY (degree) [0.000, 0.000, 90.000]\n\
             - Matrix:\n   \
             0.000  -1.000   0.000   1.000\n   \
             1.000   0.000   0.000   2.000\n   \
             0.000   0.000   1.000   3.000\n   \
             0.000   0.000   0.000   1.000\n"
        );
    }
}
