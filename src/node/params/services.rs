//! [`ParameterServices`]: a node's six `rcl_interfaces` parameter services and its
//! `/parameter_events` publisher.

use std::sync::Arc;

use super::descriptor::ParameterDescriptor;
use super::store::{Parameter, ParameterStore};
use super::value::{ParameterType, ParameterValue};
use super::PARAMETER_EVENTS_TOPIC;
use crate::error::Result;
use crate::msg::rcl_interfaces as rcl;
use crate::node::{Node, QosProfile, ServiceServer};

/// The running parameter services of one node; dropped with the node.
pub(crate) struct ParameterServices {
    _describe: ServiceServer<rcl::DescribeParameters>,
    _get: ServiceServer<rcl::GetParameters>,
    _types: ServiceServer<rcl::GetParameterTypes>,
    _list: ServiceServer<rcl::ListParameters>,
    _set: ServiceServer<rcl::SetParameters>,
    _set_atomically: ServiceServer<rcl::SetParametersAtomically>,
}

impl ParameterServices {
    /// Declares the services on `node` (`~/describe_parameters`, ...) and sends the store's
    /// events to `/parameter_events`.
    pub(crate) async fn start(node: Node, store: Arc<ParameterStore>) -> Result<Self> {
        let events = node
            .publisher::<rcl::ParameterEvent>(PARAMETER_EVENTS_TOPIC)
            .qos(QosProfile::parameter_events())
            .await?;
        store.set_event_sink(Box::new(move |event| {
            if let Err(e) = events.publish_now(&event) {
                tracing::warn!(error = %e, "cannot publish a parameter event");
            }
        }));
        let s = store.clone();
        let describe = node
            .service::<rcl::DescribeParameters, _, _>("~/describe_parameters", move |req| {
                // With undeclared parameters allowed, rclcpp describes an undeclared name
                // with a default descriptor.
                let descriptors = req
                    .names
                    .iter()
                    .map(|n| {
                        s.describe(n).or_else(|| {
                            s.allows_undeclared().then(|| {
                                ParameterDescriptor::default().to_msg(n, ParameterType::NotSet)
                            })
                        })
                    })
                    .collect::<Option<Vec<_>>>()
                    .unwrap_or_default();
                async move { Ok(rcl::DescribeParameters_Response { descriptors }) }
            })
            .await?;
        let s = store.clone();
        let get = node
            .service::<rcl::GetParameters, _, _>("~/get_parameters", move |req| {
                // rclcpp answers nothing at all when one name is not declared (not set with
                // undeclared parameters allowed).
                let values = req
                    .names
                    .iter()
                    .map(|n| {
                        s.get(n)
                            .or_else(|| s.allows_undeclared().then_some(ParameterValue::NotSet))
                            .map(|v| v.to_msg())
                    })
                    .collect::<Option<Vec<_>>>()
                    .unwrap_or_default();
                async move { Ok(rcl::GetParameters_Response { values }) }
            })
            .await?;
        let s = store.clone();
        let types = node
            .service::<rcl::GetParameterTypes, _, _>("~/get_parameter_types", move |req| {
                let types = req
                    .names
                    .iter()
                    .map(|n| {
                        s.get(n)
                            .map_or(ParameterType::NotSet, |v| v.parameter_type())
                            .to_u8()
                    })
                    .collect();
                async move { Ok(rcl::GetParameterTypes_Response { types }) }
            })
            .await?;
        let s = store.clone();
        let list = node
            .service::<rcl::ListParameters, _, _>("~/list_parameters", move |req| {
                let result = list(&s.names(), &req.prefixes, req.depth);
                async move { Ok(rcl::ListParameters_Response { result }) }
            })
            .await?;
        let s = store.clone();
        let set = node
            .service::<rcl::SetParameters, _, _>("~/set_parameters", move |req| {
                let results = req
                    .parameters
                    .iter()
                    .map(|p| {
                        set_result(read(p).and_then(|p| s.set_atomically(&[p]).map_err(|e| e.0)))
                    })
                    .collect();
                async move { Ok(rcl::SetParameters_Response { results }) }
            })
            .await?;
        let s = store;
        let set_atomically = node
            .service::<rcl::SetParametersAtomically, _, _>(
                "~/set_parameters_atomically",
                move |req| {
                    let result = req
                        .parameters
                        .iter()
                        .map(read)
                        .collect::<std::result::Result<Vec<_>, _>>()
                        .and_then(|ps| s.set_atomically(&ps).map_err(|e| e.0));
                    let result = set_result(result);
                    async move { Ok(rcl::SetParametersAtomically_Response { result }) }
                },
            )
            .await?;
        Ok(Self {
            _describe: describe,
            _get: get,
            _types: types,
            _list: list,
            _set: set,
            _set_atomically: set_atomically,
        })
    }
}

/// The parameter a request carries, or why it cannot be read.
fn read(p: &rcl::Parameter) -> std::result::Result<Parameter, String> {
    let value = ParameterValue::from_msg(&p.value).ok_or_else(|| {
        format!(
            "parameter '{}' has unknown type {} (ROS 2 defines 0 to 9)",
            p.name, p.value.r#type
        )
    })?;
    Ok(Parameter {
        name: p.name.clone(),
        value,
    })
}

fn set_result(result: std::result::Result<(), String>) -> rcl::SetParametersResult {
    match result {
        Ok(()) => rcl::SetParametersResult {
            successful: true,
            reason: String::new(),
        },
        Err(reason) => rcl::SetParametersResult {
            successful: false,
            reason,
        },
    }
}

/// rclcpp's `list_parameters`: names under the prefixes (all without prefixes) at most
/// `depth` levels of `.` deep (0: any depth), and the prefixes of the names listed.
pub(crate) fn list(names: &[String], prefixes: &[String], depth: u64) -> rcl::ListParametersResult {
    let dots = |s: &str| s.matches('.').count() as u64;
    let mut result = rcl::ListParametersResult::default();
    for name in names {
        let all = prefixes.is_empty() && (depth == 0 || dots(name) < depth);
        let under = prefixes.iter().any(|prefix| {
            name == prefix
                || name
                    .strip_prefix(prefix.as_str())
                    .and_then(|rest| rest.strip_prefix('.'))
                    .is_some_and(|rest| depth == 0 || dots(rest) < depth)
        });
        if all || under {
            result.names.push(name.clone());
            if let Some((prefix, _)) = name.rsplit_once('.') {
                if !result.prefixes.iter().any(|p| p == prefix) {
                    result.prefixes.push(prefix.to_string());
                }
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_follows_rclcpp_prefixes_and_depth() {
        let names: Vec<String> = ["a", "b.c", "b.d.e", "bb"].map(String::from).to_vec();
        let all = list(&names, &[], 0);
        assert_eq!(all.names, names);
        assert_eq!(all.prefixes, vec!["b".to_string(), "b.d".to_string()]);
        assert_eq!(list(&names, &[], 1).names, vec!["a", "bb"]);
        let under_b = list(&names, &["b".into()], 1);
        assert_eq!(under_b.names, vec!["b.c"]);
        assert_eq!(list(&names, &["b".into()], 0).names, vec!["b.c", "b.d.e"]);
    }
}
