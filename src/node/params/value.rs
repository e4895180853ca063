//! [`ParameterValue`]: a parameter's value, the variants of `rcl_interfaces/msg/ParameterValue`.

use crate::msg::rcl_interfaces as rcl;

/// The type of a parameter value, numbered as `rcl_interfaces/msg/ParameterType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParameterType {
    /// `PARAMETER_NOT_SET` (0): no value.
    NotSet,
    /// `PARAMETER_BOOL` (1).
    Bool,
    /// `PARAMETER_INTEGER` (2).
    Integer,
    /// `PARAMETER_DOUBLE` (3).
    Double,
    /// `PARAMETER_STRING` (4).
    String,
    /// `PARAMETER_BYTE_ARRAY` (5).
    ByteArray,
    /// `PARAMETER_BOOL_ARRAY` (6).
    BoolArray,
    /// `PARAMETER_INTEGER_ARRAY` (7).
    IntegerArray,
    /// `PARAMETER_DOUBLE_ARRAY` (8).
    DoubleArray,
    /// `PARAMETER_STRING_ARRAY` (9).
    StringArray,
}

impl ParameterType {
    /// The wire number (`rcl_interfaces/msg/ParameterType`).
    pub fn to_u8(self) -> u8 {
        match self {
            Self::NotSet => rcl::ParameterType::PARAMETER_NOT_SET,
            Self::Bool => rcl::ParameterType::PARAMETER_BOOL,
            Self::Integer => rcl::ParameterType::PARAMETER_INTEGER,
            Self::Double => rcl::ParameterType::PARAMETER_DOUBLE,
            Self::String => rcl::ParameterType::PARAMETER_STRING,
            Self::ByteArray => rcl::ParameterType::PARAMETER_BYTE_ARRAY,
            Self::BoolArray => rcl::ParameterType::PARAMETER_BOOL_ARRAY,
            Self::IntegerArray => rcl::ParameterType::PARAMETER_INTEGER_ARRAY,
            Self::DoubleArray => rcl::ParameterType::PARAMETER_DOUBLE_ARRAY,
            Self::StringArray => rcl::ParameterType::PARAMETER_STRING_ARRAY,
        }
    }

    /// The type of wire number `n`, or `None` for a number ROS 2 does not define.
    pub fn from_u8(n: u8) -> Option<Self> {
        Some(match n {
            0 => Self::NotSet,
            1 => Self::Bool,
            2 => Self::Integer,
            3 => Self::Double,
            4 => Self::String,
            5 => Self::ByteArray,
            6 => Self::BoolArray,
            7 => Self::IntegerArray,
            8 => Self::DoubleArray,
            9 => Self::StringArray,
            _ => return None,
        })
    }

    /// The name rclcpp gives the type in messages (`integer`, `double_array`, `not set`).
    pub fn name(self) -> &'static str {
        match self {
            Self::NotSet => "not set",
            Self::Bool => "bool",
            Self::Integer => "integer",
            Self::Double => "double",
            Self::String => "string",
            Self::ByteArray => "byte_array",
            Self::BoolArray => "bool_array",
            Self::IntegerArray => "integer_array",
            Self::DoubleArray => "double_array",
            Self::StringArray => "string_array",
        }
    }
}

impl std::fmt::Display for ParameterType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A parameter value: one of the types `rcl_interfaces/msg/ParameterValue` carries.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum ParameterValue {
    /// No value (an undeclared or unset parameter).
    #[default]
    NotSet,
    /// A boolean.
    Bool(bool),
    /// A 64-bit signed integer.
    Integer(i64),
    /// A 64-bit float.
    Double(f64),
    /// A string.
    String(String),
    /// Bytes.
    ByteArray(Vec<u8>),
    /// Booleans.
    BoolArray(Vec<bool>),
    /// Integers.
    IntegerArray(Vec<i64>),
    /// Floats.
    DoubleArray(Vec<f64>),
    /// Strings.
    StringArray(Vec<String>),
}

impl ParameterValue {
    /// The value's type.
    pub fn parameter_type(&self) -> ParameterType {
        match self {
            Self::NotSet => ParameterType::NotSet,
            Self::Bool(_) => ParameterType::Bool,
            Self::Integer(_) => ParameterType::Integer,
            Self::Double(_) => ParameterType::Double,
            Self::String(_) => ParameterType::String,
            Self::ByteArray(_) => ParameterType::ByteArray,
            Self::BoolArray(_) => ParameterType::BoolArray,
            Self::IntegerArray(_) => ParameterType::IntegerArray,
            Self::DoubleArray(_) => ParameterType::DoubleArray,
            Self::StringArray(_) => ParameterType::StringArray,
        }
    }

    /// The value as `rcl_interfaces/msg/ParameterValue`.
    pub fn to_msg(&self) -> rcl::ParameterValue {
        let mut msg = rcl::ParameterValue {
            r#type: self.parameter_type().to_u8(),
            ..Default::default()
        };
        match self.clone() {
            Self::NotSet => {}
            Self::Bool(v) => msg.bool_value = v,
            Self::Integer(v) => msg.integer_value = v,
            Self::Double(v) => msg.double_value = v,
            Self::String(v) => msg.string_value = v,
            Self::ByteArray(v) => msg.byte_array_value = v,
            Self::BoolArray(v) => msg.bool_array_value = v,
            Self::IntegerArray(v) => msg.integer_array_value = v,
            Self::DoubleArray(v) => msg.double_array_value = v,
            Self::StringArray(v) => msg.string_array_value = v,
        }
        msg
    }

    /// The value a `rcl_interfaces/msg/ParameterValue` carries, or `None` for an unknown type.
    pub fn from_msg(msg: &rcl::ParameterValue) -> Option<Self> {
        Some(match ParameterType::from_u8(msg.r#type)? {
            ParameterType::NotSet => Self::NotSet,
            ParameterType::Bool => Self::Bool(msg.bool_value),
            ParameterType::Integer => Self::Integer(msg.integer_value),
            ParameterType::Double => Self::Double(msg.double_value),
            ParameterType::String => Self::String(msg.string_value.clone()),
            ParameterType::ByteArray => Self::ByteArray(msg.byte_array_value.clone()),
            ParameterType::BoolArray => Self::BoolArray(msg.bool_array_value.clone()),
            ParameterType::IntegerArray => Self::IntegerArray(msg.integer_array_value.clone()),
            ParameterType::DoubleArray => Self::DoubleArray(msg.double_array_value.clone()),
            ParameterType::StringArray => Self::StringArray(msg.string_array_value.clone()),
        })
    }

    /// Parses a value in ROS 2's command-line syntax (a YAML scalar or flow list):
    /// `true` is a bool, `3` an integer, `3.0` a double, `[1, 2]` an integer array, and
    /// anything else a string.
    pub fn parse(text: &str) -> Result<Self, String> {
        let yaml: serde_yaml::Value = serde_yaml::from_str(text)
            .map_err(|e| format!("`{text}` is not a parameter value: {e}"))?;
        Self::from_yaml(&yaml).map_err(|e| format!("`{text}` is not a parameter value: {e}"))
    }

    /// The value a YAML node holds (scalar or list of scalars of one type).
    pub(crate) fn from_yaml(yaml: &serde_yaml::Value) -> Result<Self, String> {
        use serde_yaml::Value as Y;
        Ok(match yaml {
            Y::Bool(b) => Self::Bool(*b),
            Y::Number(n) => match n.as_i64() {
                Some(i) => Self::Integer(i),
                None => Self::Double(n.as_f64().ok_or("a number out of range")?),
            },
            Y::String(s) => Self::String(s.clone()),
            Y::Sequence(items) => {
                let values = items
                    .iter()
                    .map(Self::from_yaml)
                    .collect::<Result<Vec<_>, _>>()?;
                Self::array(values)?
            }
            Y::Null => return Err("an empty value".into()),
            Y::Mapping(_) => return Err("a mapping, not a value".into()),
            Y::Tagged(t) => return Self::from_yaml(&t.value),
        })
    }

    /// The array of scalars `values`, all of one type.
    fn array(values: Vec<Self>) -> Result<Self, String> {
        let Some(first) = values.first() else {
            return Err("an empty list (its type cannot be known)".into());
        };
        let kind = first.parameter_type();
        if values.iter().any(|v| v.parameter_type() != kind) {
            return Err("a list whose items are not all of one type".into());
        }
        Ok(match kind {
            ParameterType::Bool => {
                Self::BoolArray(values.iter().filter_map(bool::from_value).collect())
            }
            ParameterType::Integer => {
                Self::IntegerArray(values.iter().filter_map(i64::from_value).collect())
            }
            ParameterType::Double => {
                Self::DoubleArray(values.iter().filter_map(f64::from_value).collect())
            }
            ParameterType::String => {
                Self::StringArray(values.iter().filter_map(String::from_value).collect())
            }
            _ => return Err("a list of lists".into()),
        })
    }

    /// The value as YAML text, as `ros2 param dump` writes it.
    pub fn to_yaml(&self) -> String {
        fn list<T: std::fmt::Display>(items: &[T]) -> String {
            let items: Vec<String> = items.iter().map(|i| i.to_string()).collect();
            format!("[{}]", items.join(", "))
        }
        fn double(v: f64) -> String {
            if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
                format!("{v:.1}")
            } else if v.is_nan() {
                ".nan".into()
            } else if v.is_infinite() {
                if v > 0.0 { ".inf" } else { "-.inf" }.into()
            } else {
                v.to_string()
            }
        }
        fn string(s: &str) -> String {
            // Quoted whenever plain YAML would read it as something other than this string.
            match ParameterValue::parse(s) {
                Ok(ParameterValue::String(read)) if read == s && !s.is_empty() => s.to_string(),
                _ => format!("'{}'", s.replace('\'', "''")),
            }
        }
        match self {
            Self::NotSet => "null".into(),
            Self::Bool(v) => v.to_string(),
            Self::Integer(v) => v.to_string(),
            Self::Double(v) => double(*v),
            Self::String(v) => string(v),
            Self::ByteArray(v) => list(v),
            Self::BoolArray(v) => list(v),
            Self::IntegerArray(v) => list(v),
            Self::DoubleArray(v) => {
                let items: Vec<String> = v.iter().map(|d| double(*d)).collect();
                format!("[{}]", items.join(", "))
            }
            Self::StringArray(v) => {
                let items: Vec<String> = v.iter().map(|s| string(s)).collect();
                format!("[{}]", items.join(", "))
            }
        }
    }
}

impl std::fmt::Display for ParameterValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_yaml())
    }
}

/// A Rust type a parameter can be read as ([`Node::parameter`](crate::node::Node::parameter)).
pub trait FromParameterValue: Sized {
    /// The Rust value, or `None` when the parameter holds another type.
    fn from_value(value: &ParameterValue) -> Option<Self>;
}

macro_rules! parameter_conversions {
    ($($rust:ty => $variant:ident),* $(,)?) => {$(
        impl From<$rust> for ParameterValue {
            fn from(v: $rust) -> Self {
                Self::$variant(v)
            }
        }
        impl FromParameterValue for $rust {
            fn from_value(value: &ParameterValue) -> Option<Self> {
                match value {
                    ParameterValue::$variant(v) => Some(v.clone()),
                    _ => None,
                }
            }
        }
    )*};
}

parameter_conversions!(
    bool => Bool,
    i64 => Integer,
    f64 => Double,
    String => String,
    Vec<u8> => ByteArray,
    Vec<bool> => BoolArray,
    Vec<i64> => IntegerArray,
    Vec<f64> => DoubleArray,
    Vec<String> => StringArray,
);

impl From<&str> for ParameterValue {
    fn from(v: &str) -> Self {
        Self::String(v.to_string())
    }
}

impl From<i32> for ParameterValue {
    fn from(v: i32) -> Self {
        Self::Integer(v.into())
    }
}

impl FromParameterValue for ParameterValue {
    fn from_value(value: &ParameterValue) -> Option<Self> {
        Some(value.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ros2_command_line_values() {
        assert_eq!(
            ParameterValue::parse("true"),
            Ok(ParameterValue::Bool(true))
        );
        assert_eq!(ParameterValue::parse("3"), Ok(ParameterValue::Integer(3)));
        assert_eq!(
            ParameterValue::parse("-3.5"),
            Ok(ParameterValue::Double(-3.5))
        );
        assert_eq!(
            ParameterValue::parse("3.0"),
            Ok(ParameterValue::Double(3.0))
        );
        assert_eq!(ParameterValue::parse("hello"), Ok("hello".into()));
        assert_eq!(ParameterValue::parse("'3'"), Ok("3".into()));
        assert_eq!(
            ParameterValue::parse("[1, 2]"),
            Ok(ParameterValue::IntegerArray(vec![1, 2]))
        );
        assert_eq!(
            ParameterValue::parse("[a, b]"),
            Ok(ParameterValue::StringArray(vec!["a".into(), "b".into()]))
        );
        assert!(ParameterValue::parse("[1, a]")
            .unwrap_err()
            .contains("one type"));
        assert!(ParameterValue::parse("[]")
            .unwrap_err()
            .contains("empty list"));
        assert!(ParameterValue::parse("{a: 1}").is_err());
    }

    #[test]
    fn message_round_trip_keeps_every_type() {
        let values = [
            ParameterValue::NotSet,
            true.into(),
            7i64.into(),
            2.5.into(),
            "s".into(),
            vec![1u8, 2].into(),
            vec![true].into(),
            vec![1i64].into(),
            vec![1.5].into(),
            vec!["x".to_string()].into(),
        ];
        for (n, v) in values.iter().enumerate() {
            let msg = v.to_msg();
            assert_eq!(msg.r#type as usize, n);
            assert_eq!(ParameterValue::from_msg(&msg).as_ref(), Some(v));
        }
        let bad = rcl::ParameterValue {
            r#type: 42,
            ..Default::default()
        };
        assert_eq!(ParameterValue::from_msg(&bad), None);
    }

    #[test]
    fn yaml_text_reads_back_as_the_same_value() {
        for v in [
            ParameterValue::Double(3.0),
            ParameterValue::Double(0.25),
            "true".into(),
            "3".into(),
            "it's".into(),
            ParameterValue::StringArray(vec!["1".into(), "b".into()]),
            ParameterValue::IntegerArray(vec![-1, 2]),
        ] {
            assert_eq!(ParameterValue::parse(&v.to_yaml()), Ok(v.clone()), "{v:?}");
        }
    }
}
