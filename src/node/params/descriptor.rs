//! [`ParameterDescriptor`]: what a parameter accepts, as `rcl_interfaces/msg/ParameterDescriptor`.

use super::value::{ParameterType, ParameterValue};
use crate::msg::rcl_interfaces as rcl;

/// How a parameter may be set: description, read-only, ranges and whether its type may change.
///
/// ```
/// use rosync::node::ParameterDescriptor;
/// let rate = ParameterDescriptor::new("publish rate in Hz").floating_point_range(0.1, 100.0, 0.0);
/// let id = ParameterDescriptor::new("robot id").read_only();
/// # let _ = (rate, id);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParameterDescriptor {
    /// What the parameter is for.
    pub description: String,
    /// Constraints in words, beyond the ranges.
    pub additional_constraints: String,
    /// Whether the parameter can only be set at declaration (and by start-up overrides).
    pub read_only: bool,
    /// Whether a set may change the parameter's type (off by default, as in ROS 2).
    pub dynamic_typing: bool,
    /// `(from, to, step)` for an integer parameter (`step` 0: any value in the range).
    pub integer_range: Option<(i64, i64, u64)>,
    /// `(from, to, step)` for a double parameter (`step` 0: any value in the range).
    pub floating_point_range: Option<(f64, f64, f64)>,
}

impl ParameterDescriptor {
    /// A descriptor with a description and nothing else.
    pub fn new(description: &str) -> Self {
        Self {
            description: description.to_string(),
            ..Default::default()
        }
    }

    /// Makes the parameter read-only.
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// Lets sets change the parameter's type.
    pub fn dynamic_typing(mut self) -> Self {
        self.dynamic_typing = true;
        self
    }

    /// Limits an integer parameter (and each item of an integer array) to `from..=to`, on
    /// steps of `step` from `from` (0: no step).
    pub fn integer_range(mut self, from: i64, to: i64, step: u64) -> Self {
        self.integer_range = Some((from, to, step));
        self
    }

    /// Limits a double parameter (and each item of a double array) to `from..=to`, on steps
    /// of `step` from `from` (0: no step).
    pub fn floating_point_range(mut self, from: f64, to: f64, step: f64) -> Self {
        self.floating_point_range = Some((from, to, step));
        self
    }

    /// Sets the constraints in words.
    pub fn additional_constraints(mut self, text: &str) -> Self {
        self.additional_constraints = text.to_string();
        self
    }

    /// The descriptor as `rcl_interfaces/msg/ParameterDescriptor` for parameter `name`.
    pub fn to_msg(&self, name: &str, kind: ParameterType) -> rcl::ParameterDescriptor {
        rcl::ParameterDescriptor {
            name: name.to_string(),
            r#type: kind.to_u8(),
            description: self.description.clone(),
            additional_constraints: self.additional_constraints.clone(),
            read_only: self.read_only,
            dynamic_typing: self.dynamic_typing,
            floating_point_range: self
                .floating_point_range
                .map(|(from_value, to_value, step)| rcl::FloatingPointRange {
                    from_value,
                    to_value,
                    step,
                })
                .into_iter()
                .collect(),
            integer_range: self
                .integer_range
                .map(|(from_value, to_value, step)| rcl::IntegerRange {
                    from_value,
                    to_value,
                    step,
                })
                .into_iter()
                .collect(),
        }
    }

    /// Checks `value` against the ranges; the error is rclcpp's reason.
    pub fn check_range(&self, name: &str, value: &ParameterValue) -> Result<(), String> {
        let integers: &[i64] = match value {
            ParameterValue::Integer(v) => std::slice::from_ref(v),
            ParameterValue::IntegerArray(v) => v,
            _ => &[],
        };
        if let Some(range) = self.integer_range {
            if !integers.iter().all(|v| integer_in_range(*v, range)) {
                return Err(format!(
                    "Parameter {{{name}}} doesn't comply with integer range."
                ));
            }
        }
        let doubles: &[f64] = match value {
            ParameterValue::Double(v) => std::slice::from_ref(v),
            ParameterValue::DoubleArray(v) => v,
            _ => &[],
        };
        if let Some(range) = self.floating_point_range {
            if !doubles.iter().all(|v| double_in_range(*v, range)) {
                return Err(format!(
                    "Parameter {{{name}}} doesn't comply with floating point range."
                ));
            }
        }
        Ok(())
    }
}

/// rclcpp's rule: the bounds themselves are always in; else inside and on a step.
fn integer_in_range(v: i64, (from, to, step): (i64, i64, u64)) -> bool {
    if v == from || v == to {
        return true;
    }
    if v < from || v > to {
        return false;
    }
    step == 0 || (i128::from(v) - i128::from(from)) % i128::from(step) == 0
}

/// rclcpp's rule for doubles, with its tolerance of 100 ULPs.
fn double_in_range(v: f64, (from, to, step): (f64, f64, f64)) -> bool {
    let equal = |x: f64, y: f64| (x - y).abs() <= f64::EPSILON * (x + y).abs() * 100.0;
    if equal(v, from) || equal(v, to) {
        return true;
    }
    if v.is_nan() || v < from || v > to {
        return false;
    }
    if step == 0.0 {
        return true;
    }
    let steps = ((v - from) / step).round();
    equal(v, from + steps * step)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_range_with_step_follows_rclcpp() {
        let d = ParameterDescriptor::default().integer_range(0, 10, 3);
        for ok in [0, 3, 9, 10] {
            assert!(
                d.check_range("p", &ParameterValue::Integer(ok)).is_ok(),
                "{ok}"
            );
        }
        for bad in [-1, 4, 11] {
            assert_eq!(
                d.check_range("p", &ParameterValue::Integer(bad)),
                Err("Parameter {p} doesn't comply with integer range.".into())
            );
        }
        assert!(d
            .check_range("p", &ParameterValue::IntegerArray(vec![0, 5]))
            .is_err());
    }

    #[test]
    fn floating_range_with_step_follows_rclcpp() {
        let d = ParameterDescriptor::default().floating_point_range(0.0, 1.0, 0.1);
        for ok in [0.0, 0.3, 0.7, 1.0] {
            assert!(
                d.check_range("p", &ParameterValue::Double(ok)).is_ok(),
                "{ok}"
            );
        }
        for bad in [-0.1, 0.25, 1.5, f64::NAN] {
            assert_eq!(
                d.check_range("p", &ParameterValue::Double(bad)),
                Err("Parameter {p} doesn't comply with floating point range.".into())
            );
        }
        let any = ParameterDescriptor::default().floating_point_range(0.0, 1.0, 0.0);
        assert!(any.check_range("p", &ParameterValue::Double(0.123)).is_ok());
    }

    #[test]
    fn descriptor_message_carries_the_ranges() {
        let msg = ParameterDescriptor::new("d")
            .read_only()
            .integer_range(1, 5, 0)
            .to_msg("n", ParameterType::Integer);
        assert_eq!(msg.name, "n");
        assert_eq!(msg.r#type, 2);
        assert!(msg.read_only && !msg.dynamic_typing);
        assert_eq!(msg.integer_range.len(), 1);
        assert!(msg.floating_point_range.is_empty());
    }
}
