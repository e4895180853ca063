//! Service types: the [`Service`] trait the generator implements for every `.srv` file, and
//! [`DynService`], a service type known by name at run time.

use super::{DynType, Message, TypeIdentity, TypeName};

/// A ROS 2 service type: a request and a response message, with the service's type name,
/// REP-2016 hash and `.srv` text.
pub trait Service: Send + Sync + 'static {
    /// The request message (`pkg/srv/Name_Request`).
    type Request: Message;
    /// The response message (`pkg/srv/Name_Response`).
    type Response: Message;
    /// The ROS 2 type name, such as `example_interfaces/srv/AddTwoInts`.
    const TYPE_NAME: &'static str;
    /// The REP-2016 hash of the service type (request, response and event message).
    const TYPE_HASH: &'static str;
    /// The `.srv` text.
    const DEFINITION: &'static str;
}

/// A service type known by name: its hash, `.srv` text and its request and response types.
#[derive(Debug, Clone, Copy)]
pub struct DynService {
    /// The ROS 2 type name, such as `std_srvs/srv/Trigger`.
    pub type_name: &'static str,
    /// The REP-2016 hash of the service type.
    pub type_hash: &'static str,
    /// The `.srv` text.
    pub definition: &'static str,
    /// The request type.
    pub request: DynType,
    /// The response type.
    pub response: DynType,
}

impl DynService {
    /// The entry for `S`.
    pub const fn of<S: Service>() -> Self {
        Self {
            type_name: S::TYPE_NAME,
            type_hash: S::TYPE_HASH,
            definition: S::DEFINITION,
            request: DynType::of::<S::Request>(),
            response: DynType::of::<S::Response>(),
        }
    }

    /// Its name and hash.
    pub fn identity(&self) -> TypeIdentity {
        TypeIdentity::new(self.type_name, self.type_hash)
    }
}

/// Every service type rosync ships.
pub fn service_registry() -> impl Iterator<Item = &'static DynService> {
    [
        super::example_interfaces::SERVICES,
        super::rcl_interfaces::SERVICES,
        super::std_srvs::SERVICES,
    ]
    .into_iter()
    .flatten()
}

/// Finds a shipped service type by `pkg/srv/Type`, `pkg/Type` or the DDS form
/// `pkg::srv::dds_::Type_`.
pub fn lookup_service(type_name: &str) -> Option<&'static DynService> {
    let parsed = TypeName::parse(type_name).ok()?;
    let full = format!("{}/srv/{}", parsed.package, parsed.name);
    service_registry().find(|s| s.type_name == full)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::{example_interfaces::AddTwoInts, lookup, std_srvs};

    /// The hashes tests/python/service_hashes.py computes with rosbags (AddTwoInts is also
    /// the value ROS 2 announces).
    #[test]
    fn shipped_services_have_rosidl_hashes() {
        assert_eq!(
            AddTwoInts::TYPE_HASH,
            "RIHS01_e118de6bf5eeb66a2491b5bda11202e7b68f198d6f67922cf30364858239c81a"
        );
        assert_eq!(
            <AddTwoInts as Service>::Request::TYPE_NAME,
            "example_interfaces/srv/AddTwoInts_Request"
        );
        assert_eq!(
            std_srvs::Trigger::TYPE_HASH,
            "RIHS01_eeff2cd6fa5ad9d27cdf4dec64818317839b62f212a91e6b5304b634b2062c5f"
        );
        let set_parameters = lookup_service("rcl_interfaces/srv/SetParameters").expect("shipped");
        assert_eq!(
            set_parameters.type_hash,
            "RIHS01_56eed9a67e169f9cb6c1f987bc88f868c14a8fc9f743a263bc734c154015d7e0"
        );
        assert_eq!(
            lookup_service("example_interfaces::srv::dds_::AddTwoInts_").map(|s| s.type_name),
            Some("example_interfaces/srv/AddTwoInts")
        );
        assert!(lookup("std_srvs/srv/Trigger_Response").is_some());
        assert!(lookup_service("std_msgs/srv/Nothing").is_none());
    }
}
