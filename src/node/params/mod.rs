//! Parameters: declared with a [`ParameterDescriptor`], read typed, set from code or through
//! ROS 2's six parameter services, announced on `/parameter_events`.
//!
//! A node's parameters live in its [`ParameterStore`]. Each set is checked as rclcpp checks
//! it, in its order and with its words for a refusal (not declared, read-only, wrong type,
//! out of range), then offered to the on-set callbacks, any of which can refuse it with a
//! reason; a refused change is not applied. Start-up values come from
//! [`ParameterOverrides`] (`--param name:=value`, ROS 2 parameters YAML files) given to the
//! [`NodeBuilder`](super::NodeBuilder). Every node declares `use_sim_time` (false), as ROS 2
//! nodes do.
//!
//! The services `<node>/describe_parameters`, `get_parameters`, `get_parameter_types`,
//! `list_parameters`, `set_parameters` and `set_parameters_atomically` (`rcl_interfaces/srv`)
//! and the `/parameter_events` publisher start with the node's first
//! [`Node::declare_parameter`](super::Node::declare_parameter) (ROS 2 starts them with every
//! node; here a node without parameters of its own adds nothing to the graph), unless
//! [`NodeBuilder::start_parameter_services`](super::NodeBuilder::start_parameter_services)
//! turns them off. `use_sim_time` is declared without starting them.
//!
//! ```no_run
//! use rosync::prelude::*;
//! use rosync::node::{Parameter, ParameterDescriptor};
//!
//! # async fn run() -> Result<(), rosync::Error> {
//! let node = Node::builder("talker").build().await?;
//! let hz = ParameterDescriptor::new("Hz").floating_point_range(0.1, 100.0, 0.0);
//! node.declare_parameter("rate", 10.0, hz).await?;
//! let _guard = node.on_set_parameters(|changes| {
//!     match changes.iter().any(|p| p.name == "rate" && p.value == 13.0.into()) {
//!         true => Err("13 Hz is unlucky".into()),
//!         false => Ok(()),
//!     }
//! });
//! node.set_parameter(Parameter::new("rate", 20.0))?;
//! assert_eq!(node.parameter::<f64>("rate"), Some(20.0));
//! # Ok(()) }
//! ```

#[cfg(feature = "cli")]
mod args;
mod descriptor;
mod overrides;
mod services;
mod store;
mod value;

#[cfg(feature = "cli")]
pub use args::ParameterArgs;
pub use descriptor::ParameterDescriptor;
pub use overrides::ParameterOverrides;
pub(crate) use services::ParameterServices;
pub use store::{
    AfterSetParameters, OnSetParameters, OnSetParametersHandle, Parameter, ParameterError,
    ParameterStore,
};
pub use value::{FromParameterValue, ParameterType, ParameterValue};

/// The service name suffixes of ROS 2's parameter services, as rclcpp names them.
pub const PARAMETER_SERVICES: [&str; 6] = [
    "describe_parameters",
    "get_parameters",
    "get_parameter_types",
    "list_parameters",
    "set_parameters",
    "set_parameters_atomically",
];

/// The topic parameter changes are announced on.
pub const PARAMETER_EVENTS_TOPIC: &str = "/parameter_events";
