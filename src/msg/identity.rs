//! [`TypeIdentity`]: a message type as the wire identifies it, by name and REP-2016 hash.

use std::fmt;

use super::{Message, TypeName};

/// A message type as rmw_zenoh identifies it: its name (`pkg/msg/Type`) and its REP-2016
/// hash (`RIHS01_...`); two types are the same on the wire only if both are equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeIdentity {
    /// The type name, `pkg/msg/Type`.
    pub name: String,
    /// The REP-2016 type hash, `RIHS01_` and 64 hex digits.
    pub hash: String,
}

impl TypeIdentity {
    /// The identity of a type given by name and hash; a name in another accepted form
    /// (`pkg/Type`, `pkg::msg::dds_::Type_`) is written as `pkg/msg/Type`, any other is kept.
    pub fn new(name: &str, hash: &str) -> Self {
        let name = TypeName::parse(name).map_or_else(|_| name.to_string(), |t| t.to_string());
        Self {
            name,
            hash: hash.to_string(),
        }
    }

    /// The identity of `T`.
    pub fn of<T: Message>() -> Self {
        Self {
            name: T::TYPE_NAME.to_string(),
            hash: T::TYPE_HASH.to_string(),
        }
    }
}

impl fmt::Display for TypeIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::std_msgs;

    #[test]
    fn identities_name_types_in_the_ros_2_form() {
        let of = TypeIdentity::of::<std_msgs::String>();
        assert_eq!(of.name, "std_msgs/msg/String");
        assert_eq!(of.hash, std_msgs::String::TYPE_HASH);
        assert_eq!(
            TypeIdentity::new("std_msgs::msg::dds_::String_", std_msgs::String::TYPE_HASH),
            of
        );
        assert_eq!(
            TypeIdentity::new("std_msgs/String", "RIHS01_x").name,
            of.name
        );
        assert_eq!(TypeIdentity::new("odd", "h").name, "odd");
    }
}
