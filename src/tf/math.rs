//! Rigid-transform arithmetic as tf2 does it: quaternion products, rotation of a vector by
//! `q * v * conj(q)`, linear interpolation of translations and slerp of rotations.
//!
//! The formulas follow tf2's `LinearMath` operation for operation (no renormalisation, the
//! conjugate as the inverse), so rosync's results agree with tf2's to rounding.

use crate::msg::geometry_msgs;

/// A quaternion `[x, y, z, w]`, stored as given (tf2 accepts norms within 1 % of one).
pub type Quat = [f64; 4];
/// A vector `[x, y, z]`.
pub type Vec3 = [f64; 3];

/// The identity rotation.
pub const IDENTITY_QUAT: Quat = [0.0, 0.0, 0.0, 1.0];

/// A rigid transform: rotate by `rotation`, then add `translation`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RigidTransform {
    /// Translation `[x, y, z]`.
    pub translation: Vec3,
    /// Rotation quaternion `[x, y, z, w]`.
    pub rotation: Quat,
}

impl Default for RigidTransform {
    fn default() -> Self {
        Self::IDENTITY
    }
}

impl RigidTransform {
    /// The identity transform.
    pub const IDENTITY: Self = Self {
        translation: [0.0; 3],
        rotation: IDENTITY_QUAT,
    };

    /// Reads a `geometry_msgs/Transform`.
    pub fn from_msg(msg: &geometry_msgs::Transform) -> Self {
        let t = &msg.translation;
        let r = &msg.rotation;
        Self {
            translation: [t.x, t.y, t.z],
            rotation: [r.x, r.y, r.z, r.w],
        }
    }

    /// Writes it as a `geometry_msgs/Transform`.
    pub fn to_msg(&self) -> geometry_msgs::Transform {
        let [x, y, z] = self.translation;
        let [qx, qy, qz, qw] = self.rotation;
        geometry_msgs::Transform {
            translation: geometry_msgs::Vector3 { x, y, z },
            rotation: geometry_msgs::Quaternion {
                x: qx,
                y: qy,
                z: qz,
                w: qw,
            },
        }
    }

    /// `self * other`: first `other`, then `self` (maps `other`'s child frame into `self`'s parent).
    pub fn compose(&self, other: &Self) -> Self {
        Self {
            translation: add(rotate(&self.rotation, &other.translation), self.translation),
            rotation: mul(&self.rotation, &other.rotation),
        }
    }

    /// The inverse transform.
    pub fn inverse(&self) -> Self {
        let rotation = conjugate(&self.rotation);
        Self {
            translation: rotate(&rotation, &neg(&self.translation)),
            rotation,
        }
    }

    /// The same transform with its rotation scaled to a unit quaternion (as tf2's matrix-based
    /// `tf2::Transform` holds it).
    pub fn normalized(&self) -> Self {
        let norm = dot(&self.rotation, &self.rotation).sqrt();
        if norm == 0.0 || !norm.is_finite() {
            return *self;
        }
        let [x, y, z, w] = self.rotation;
        Self {
            translation: self.translation,
            rotation: [x / norm, y / norm, z / norm, w / norm],
        }
    }

    /// Applies the transform to a point.
    pub fn apply(&self, point: &Vec3) -> Vec3 {
        add(rotate(&self.rotation, point), self.translation)
    }
}

/// The Hamilton product `a * b`.
#[inline]
pub fn mul(a: &Quat, b: &Quat) -> Quat {
    let [ax, ay, az, aw] = *a;
    let [bx, by, bz, bw] = *b;
    [
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by + ay * bw + az * bx - ax * bz,
        aw * bz + az * bw + ax * by - ay * bx,
        aw * bw - ax * bx - ay * by - az * bz,
    ]
}

/// The conjugate, which tf2 uses as the inverse.
#[inline]
pub fn conjugate(q: &Quat) -> Quat {
    [-q[0], -q[1], -q[2], q[3]]
}

/// Rotates `v` by `q` as `q * v * conj(q)` (for a quaternion off unit length this also scales
/// by its squared norm, as in tf2), expanded: `(w² - u·u) v + 2 (u·v) u + 2 w (u × v)`.
#[inline]
pub fn rotate(q: &Quat, v: &Vec3) -> Vec3 {
    let [x, y, z, w] = *q;
    let [vx, vy, vz] = *v;
    let s = w * w - (x * x + y * y + z * z);
    let d = 2.0 * (x * vx + y * vy + z * vz);
    let w2 = 2.0 * w;
    [
        s * vx + d * x + w2 * (y * vz - z * vy),
        s * vy + d * y + w2 * (z * vx - x * vz),
        s * vz + d * z + w2 * (x * vy - y * vx),
    ]
}

/// `a + b`.
#[inline]
pub fn add(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

/// `-v`.
#[inline]
pub fn neg(v: &Vec3) -> Vec3 {
    [-v[0], -v[1], -v[2]]
}

/// The quaternions' dot product.
#[inline]
pub fn dot(a: &Quat, b: &Quat) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3]
}

/// Linear interpolation `(1 - ratio) * a + ratio * b`.
#[inline]
pub fn lerp(a: &Vec3, b: &Vec3, ratio: f64) -> Vec3 {
    let s = 1.0 - ratio;
    [
        s * a[0] + ratio * b[0],
        s * a[1] + ratio * b[1],
        s * a[2] + ratio * b[2],
    ]
}

/// Spherical linear interpolation from `a` (ratio 0) to `b` (ratio 1) along the shorter arc.
pub fn slerp(a: &Quat, b: &Quat, ratio: f64) -> Quat {
    let d = dot(a, b);
    let norms = (dot(a, a) * dot(b, b)).sqrt();
    // Half the angle between them on the shorter path, and its cosine.
    let cos = d.abs() / norms;
    let theta = cos.acos();
    if theta == 0.0 || !theta.is_finite() {
        return *a;
    }
    // sin((1 - r) θ) = sin θ cos rθ - cos θ sin rθ: one sin_cos instead of three sines.
    let sin = theta.sin();
    let (sin_r, cos_r) = (ratio * theta).sin_cos();
    let s0 = sin * cos_r - cos * sin_r;
    let s1 = if d < 0.0 { -sin_r } else { sin_r };
    let inv_sin = 1.0 / sin;
    [
        (a[0] * s0 + b[0] * s1) * inv_sin,
        (a[1] * s0 + b[1] * s1) * inv_sin,
        (a[2] * s0 + b[2] * s1) * inv_sin,
        (a[3] * s0 + b[3] * s1) * inv_sin,
    ]
}

/// Roll, pitch and yaw (radians, fixed axes x, y, z) of a unit quaternion.
pub fn to_rpy(q: &Quat) -> Vec3 {
    let [x, y, z, w] = *q;
    let roll = (2.0 * (w * x + y * z)).atan2(1.0 - 2.0 * (x * x + y * y));
    let sin_pitch = (2.0 * (w * y - z * x)).clamp(-1.0, 1.0);
    let pitch = sin_pitch.asin();
    let yaw = (2.0 * (w * z + x * y)).atan2(1.0 - 2.0 * (y * y + z * z));
    [roll, pitch, yaw]
}

/// The unit quaternion of roll, pitch and yaw (radians, fixed axes x, y, z).
pub fn from_rpy(roll: f64, pitch: f64, yaw: f64) -> Quat {
    let (sr, cr) = (roll * 0.5).sin_cos();
    let (sp, cp) = (pitch * 0.5).sin_cos();
    let (sy, cy) = (yaw * 0.5).sin_cos();
    [
        sr * cp * cy - cr * sp * sy,
        cr * sp * cy + sr * cp * sy,
        cr * cp * sy - sr * sp * cy,
        cr * cp * cy + sr * sp * sy,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
    }

    #[test]
    fn rotation_about_z_by_a_quarter_turn() {
        let q = from_rpy(0.0, 0.0, std::f64::consts::FRAC_PI_2);
        assert!(close(&rotate(&q, &[1.0, 0.0, 0.0]), &[0.0, 1.0, 0.0]));
    }

    #[test]
    fn compose_with_inverse_is_identity() {
        let t = RigidTransform {
            translation: [1.0, -2.0, 0.5],
            rotation: from_rpy(0.3, -0.2, 1.1),
        };
        let i = t.compose(&t.inverse());
        assert!(close(&i.translation, &[0.0; 3]));
        assert!(close(&i.rotation, &IDENTITY_QUAT));
        let p = [0.4, 0.1, -3.0];
        assert!(close(&t.inverse().apply(&t.apply(&p)), &p));
    }

    #[test]
    fn slerp_ends_and_middle() {
        let a = from_rpy(0.0, 0.0, 0.0);
        let b = from_rpy(0.0, 0.0, 1.0);
        assert!(close(&slerp(&a, &b, 0.0), &a));
        assert!(close(&slerp(&a, &b, 1.0), &b));
        assert!(close(&slerp(&a, &b, 0.5), &from_rpy(0.0, 0.0, 0.5)));
        // The shorter arc: -b is the same rotation as b.
        let nb = [-b[0], -b[1], -b[2], -b[3]];
        let m = slerp(&a, &nb, 0.5);
        let e = from_rpy(0.0, 0.0, 0.5);
        assert!(close(&m, &e) || close(&m, &[-e[0], -e[1], -e[2], -e[3]]));
    }

    #[test]
    fn rpy_round_trip() {
        let q = from_rpy(0.1, -0.4, 2.0);
        assert!(close(&to_rpy(&q), &[0.1, -0.4, 2.0]));
    }
}
