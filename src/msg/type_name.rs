//! ROS 2 interface type names ([`TypeName`]): the one parser for the forms they are written
//! in, `pkg/Type` (ROS 1 style, some tools), `pkg/msg/Type` (ROS 2) and rmw_zenoh's DDS form
//! `pkg::msg::dds_::Type_` (key expressions and liveliness tokens).

use std::fmt;
use std::str::FromStr;

/// The kind of interface a type belongs to: the middle part of `pkg/msg/Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TypeKind {
    /// A message (`msg`).
    Msg,
    /// A service's request or response (`srv`).
    Srv,
    /// An action's goal, result or feedback (`action`).
    Action,
}

impl TypeKind {
    /// The kind as type names spell it: `msg`, `srv` or `action`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Msg => "msg",
            Self::Srv => "srv",
            Self::Action => "action",
        }
    }

    fn from_part(part: &str) -> Option<Self> {
        Some(match part {
            "msg" => Self::Msg,
            "srv" => Self::Srv,
            "action" => Self::Action,
            _ => return None,
        })
    }
}

impl fmt::Display for TypeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A ROS 2 interface type name such as `sensor_msgs/msg/Image`, parsed from any of its forms.
///
/// ```
/// use rosync::msg::{TypeKind, TypeName};
/// let name = TypeName::parse("sensor_msgs::msg::dds_::Image_").expect("a type name");
/// assert_eq!((name.package.as_str(), name.kind, name.name.as_str()),
///            ("sensor_msgs", TypeKind::Msg, "Image"));
/// assert_eq!(name.to_string(), "sensor_msgs/msg/Image");
/// assert_eq!(TypeName::parse("sensor_msgs/Image"), Ok(name.clone()));
/// assert_eq!(name.dds(), "sensor_msgs::msg::dds_::Image_");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeName {
    /// The package, such as `sensor_msgs`.
    pub package: String,
    /// Message, service or action.
    pub kind: TypeKind,
    /// The type within the package, such as `Image`.
    pub name: String,
}

/// Text that is not a type name in any of the accepted forms; names the input and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{input}` is not a ROS type name (pkg/Type, pkg/msg/Type or pkg::msg::dds_::Type_): {reason}"
)]
pub struct TypeNameError {
    /// The text given.
    pub input: String,
    /// What is wrong with it.
    pub reason: String,
}

impl TypeName {
    /// Parses `pkg/Type` (kind `msg`), `pkg/msg/Type` (or `srv`, `action`) or the DDS form
    /// `pkg::msg::dds_::Type_`; surrounding white space is ignored.
    pub fn parse(text: &str) -> Result<Self, TypeNameError> {
        let trimmed = text.trim();
        let fail = |reason: String| TypeNameError {
            input: text.to_string(),
            reason,
        };
        let (package, kind, name) = if trimmed.contains("::") {
            let parts: Vec<&str> = trimmed.split("::").collect();
            match parts.as_slice() {
                [package, kind, "dds_", name] => {
                    let name = name.strip_suffix('_').ok_or_else(|| {
                        fail(format!("the DDS type `{name}` does not end with `_`"))
                    })?;
                    (*package, *kind, name)
                }
                _ => return Err(fail("the DDS form is pkg::msg::dds_::Type_".to_string())),
            }
        } else {
            let parts: Vec<&str> = trimmed.split('/').collect();
            match parts.as_slice() {
                [package, name] => (*package, "msg", *name),
                [package, kind, name] => (*package, *kind, *name),
                _ => {
                    return Err(fail(format!(
                        "it has {} parts separated by `/`, not 2 or 3",
                        parts.len()
                    )))
                }
            }
        };
        check_part("package", package).map_err(&fail)?;
        check_part("type", name).map_err(&fail)?;
        let kind = TypeKind::from_part(kind)
            .ok_or_else(|| fail(format!("the kind `{kind}` is not msg, srv or action")))?;
        Ok(Self {
            package: package.to_string(),
            kind,
            name: name.to_string(),
        })
    }

    /// The DDS-style name rmw_zenoh uses in key expressions: `pkg::msg::dds_::Type_`.
    pub fn dds(&self) -> String {
        format!("{}::{}::dds_::{}_", self.package, self.kind, self.name)
    }
}

/// A package or type part: letters, digits and underscores, starting with a letter.
fn check_part(what: &str, part: &str) -> Result<(), String> {
    let valid = part.starts_with(|c: char| c.is_ascii_alphabetic())
        && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else if part.is_empty() {
        Err(format!("the {what} name is empty"))
    } else {
        Err(format!(
            "the {what} name `{part}` is not letters, digits and `_` starting with a letter"
        ))
    }
}

impl fmt::Display for TypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.package, self.kind, self.name)
    }
}

impl FromStr for TypeName {
    type Err = TypeNameError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(text: &str) -> (String, TypeKind, String) {
        let name = TypeName::parse(text).expect("a type name");
        (name.package, name.kind, name.name)
    }

    #[test]
    fn the_three_forms_parse_to_one_name() {
        let image = (
            "sensor_msgs".to_string(),
            TypeKind::Msg,
            "Image".to_string(),
        );
        assert_eq!(parts("sensor_msgs/Image"), image);
        assert_eq!(parts("sensor_msgs/msg/Image"), image);
        assert_eq!(parts("sensor_msgs::msg::dds_::Image_"), image);
        assert_eq!(parts(" sensor_msgs/msg/Image\n"), image);
        assert_eq!(
            parts("example_interfaces/srv/AddTwoInts_Request"),
            (
                "example_interfaces".to_string(),
                TypeKind::Srv,
                "AddTwoInts_Request".to_string()
            )
        );
        assert_eq!(
            parts("action_tutorials::action::dds_::Fibonacci_Goal_").1,
            TypeKind::Action
        );
    }

    #[test]
    fn display_and_dds_round_trip() {
        let name = TypeName::parse("std_msgs/String").expect("a type name");
        assert_eq!(name.to_string(), "std_msgs/msg/String");
        assert_eq!(name.dds(), "std_msgs::msg::dds_::String_");
        assert_eq!(TypeName::parse(&name.dds()), Ok(name.clone()));
        assert_eq!(name.to_string().parse::<TypeName>(), Ok(name));
    }

    #[test]
    fn bad_names_are_errors_naming_the_input() {
        for bad in [
            "",
            "Image",
            "sensor_msgs/",
            "/Image",
            "a/b/c/d",
            "sensor_msgs/foo/Image",
            "sensor_msgs::msg::Image",
            "sensor_msgs::msg::dds_::Image",
            "sensor_msgs::msg::dds_::_",
            "sensor msgs/Image",
            "sensor_msgs/msg/Im-age",
            "1pkg/msg/Image",
        ] {
            let err = TypeName::parse(bad).expect_err(bad);
            assert_eq!(err.input, bad);
            assert!(err.to_string().contains(&format!("`{bad}`")), "{err}");
        }
        let err = TypeName::parse("sensor_msgs/foo/Image").expect_err("bad kind");
        assert!(err.reason.contains("`foo`"), "{err}");
    }
}
