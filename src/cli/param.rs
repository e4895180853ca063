//! `rosync param`: list, get, set, describe, dump and load a node's parameters through its
//! `rcl_interfaces` parameter services, as `ros2 param` does.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Subcommand;

use super::service::CallTiming;
use super::{fail, CliResult, NetworkArgs};
use crate::msg::rcl_interfaces as rcl;
use crate::msg::Service;
use crate::node::params::PARAMETER_SERVICES;
use crate::node::{EntityKind, Node, Parameter, ParameterOverrides, ParameterType, ParameterValue};

/// Subcommands of `rosync param`.
#[derive(Debug, Subcommand)]
pub enum ParamCommand {
    /// List the parameters of a node, or of every node with parameter services.
    List {
        /// The node, e.g. /talker (default: every node).
        node: Option<String>,
        #[command(flatten)]
        timing: CallTiming,
    },
    /// Print a parameter's value.
    Get {
        /// The node, e.g. /talker.
        node: String,
        /// The parameter, e.g. rate.
        name: String,
        #[command(flatten)]
        timing: CallTiming,
    },
    /// Set a parameter; the value in ROS 2 syntax (true, 3, 3.0, text, [1, 2]).
    ///
    /// Exit status 1 with the node's reason when it refuses the value (wrong type, out of
    /// range, read-only, not declared, or refused by the node's own check).
    Set {
        /// The node, e.g. /talker.
        node: String,
        /// The parameter, e.g. rate.
        name: String,
        /// The value, e.g. 20.0.
        #[arg(allow_hyphen_values = true)]
        value: String,
        #[command(flatten)]
        timing: CallTiming,
    },
    /// Print a parameter's type, description and constraints.
    Describe {
        /// The node, e.g. /talker.
        node: String,
        /// The parameter, e.g. rate.
        name: String,
        #[command(flatten)]
        timing: CallTiming,
    },
    /// Print all parameters of a node as a ROS 2 parameters YAML file.
    Dump {
        /// The node, e.g. /talker.
        node: String,
        #[command(flatten)]
        timing: CallTiming,
    },
    /// Set a node's parameters from a ROS 2 parameters YAML file (the sections that name the
    /// node, wildcards included); exit status 1 if any is refused.
    Load {
        /// The node, e.g. /talker.
        node: String,
        /// The parameters file.
        file: PathBuf,
        #[command(flatten)]
        timing: CallTiming,
    },
}

/// Runs a param subcommand.
pub async fn run(cmd: ParamCommand, net: &NetworkArgs) -> CliResult {
    let node = net.node("rosync_param").await?;
    match cmd {
        ParamCommand::List { node: None, timing } => {
            let targets = parameter_nodes(&node).await?;
            net.check_reached(&node).await?;
            for target in targets {
                let remote = Remote::new(&node, &target, &timing);
                println!("{target}:");
                for name in remote.list().await? {
                    println!("  {name}");
                }
            }
            Ok(())
        }
        ParamCommand::List {
            node: Some(target),
            timing,
        } => {
            let remote = Remote::new(&node, &target, &timing);
            for name in remote.list().await? {
                println!("  {name}");
            }
            Ok(())
        }
        ParamCommand::Get {
            node: target,
            name,
            timing,
        } => {
            let remote = Remote::new(&node, &target, &timing);
            match remote.get(std::slice::from_ref(&name)).await?.pop() {
                Some(value) if value != ParameterValue::NotSet => {
                    println!("{} value is: {value}", type_title(value.parameter_type()));
                    Ok(())
                }
                _ => fail(format!("parameter '{name}' is not set on {}", remote.node)),
            }
        }
        ParamCommand::Set {
            node: target,
            name,
            value,
            timing,
        } => {
            let value = ParameterValue::parse(&value)?;
            let remote = Remote::new(&node, &target, &timing);
            match remote.set(Parameter::new(&name, value)).await? {
                Ok(()) => {
                    println!("Set parameter successful");
                    Ok(())
                }
                Err(reason) => fail(format!("Setting parameter failed: {reason}")),
            }
        }
        ParamCommand::Describe {
            node: target,
            name,
            timing,
        } => {
            let remote = Remote::new(&node, &target, &timing);
            let Some(d) = remote.describe(std::slice::from_ref(&name)).await?.pop() else {
                return fail(format!(
                    "parameter '{name}' is not declared on {}",
                    remote.node
                ));
            };
            print!("{}", describe_text(&d));
            Ok(())
        }
        ParamCommand::Dump {
            node: target,
            timing,
        } => {
            let remote = Remote::new(&node, &target, &timing);
            let names = remote.list().await?;
            let values = remote.get(&names).await?;
            if values.len() != names.len() {
                return fail(format!(
                    "{} changed its parameters while they were read: try again",
                    remote.node
                ));
            }
            print!("{}", dump_yaml(&remote.node, &names, &values));
            Ok(())
        }
        ParamCommand::Load {
            node: target,
            file,
            timing,
        } => {
            let remote = Remote::new(&node, &target, &timing);
            let mut overrides = ParameterOverrides::default();
            overrides.file(&file)?;
            let values = overrides.resolve(&remote.node);
            if values.is_empty() {
                return fail(format!(
                    "{}: no `ros__parameters` section names {}",
                    file.display(),
                    remote.node
                ));
            }
            let mut refused = 0;
            for (name, value) in values {
                match remote.set(Parameter::new(&name, value)).await? {
                    Ok(()) => println!("Set parameter {name} successful"),
                    Err(reason) => {
                        refused += 1;
                        println!("Set parameter {name} failed: {reason}");
                    }
                }
            }
            match refused {
                0 => Ok(()),
                n => fail(format!("{n} parameter(s) of {} refused", file.display())),
            }
        }
    }
}

/// Nodes that serve `list_parameters`, sorted.
async fn parameter_nodes(node: &Node) -> crate::Result<Vec<String>> {
    let mut nodes: Vec<String> = node
        .graph(Duration::from_millis(1000))
        .await?
        .into_iter()
        .filter(|e| e.kind == EntityKind::ServiceServer)
        .filter(|e| e.zid != node.session().zid().to_string() || e.node_name != node.name())
        .filter_map(|e| {
            let topic = e.topic?;
            (topic.type_name == rcl::ListParameters::TYPE_NAME)
                .then(|| {
                    topic
                        .name
                        .strip_suffix("/list_parameters")
                        .map(String::from)
                })
                .flatten()
        })
        .collect();
    nodes.sort();
    nodes.dedup();
    Ok(nodes)
}

/// The parameter services of one remote node.
struct Remote<'a> {
    local: &'a Node,
    node: String,
    wait: Duration,
    timeout: Duration,
}

impl<'a> Remote<'a> {
    fn new(local: &'a Node, node: &str, timing: &CallTiming) -> Self {
        let node = if node.starts_with('/') {
            node.to_string()
        } else {
            format!("/{node}")
        };
        Self {
            local,
            node,
            wait: timing.wait.duration(),
            timeout: timing.timeout.duration(),
        }
    }

    /// Calls service `suffix` (one of [`PARAMETER_SERVICES`]) of the node.
    async fn call<S: Service>(
        &self,
        suffix: &str,
        request: &S::Request,
    ) -> Result<S::Response, Box<dyn std::error::Error + Send + Sync>> {
        debug_assert!(PARAMETER_SERVICES.contains(&suffix));
        let service = format!("{}/{suffix}", self.node);
        let client = self.local.client::<S>(&service).await?;
        if !client.wait_for_service(self.wait).await {
            return fail(format!(
                "no node {} with parameter services (no server of {service} within {:?})",
                self.node, self.wait
            ));
        }
        Ok(client.call(request, self.timeout).await?)
    }

    async fn list(&self) -> Result<Vec<String>, Box<dyn std::error::Error + Send + Sync>> {
        let request = rcl::ListParameters_Request::default();
        let response = self
            .call::<rcl::ListParameters>("list_parameters", &request)
            .await?;
        let mut names = response.result.names;
        names.sort();
        Ok(names)
    }

    async fn get(
        &self,
        names: &[String],
    ) -> Result<Vec<ParameterValue>, Box<dyn std::error::Error + Send + Sync>> {
        let request = rcl::GetParameters_Request {
            names: names.to_vec(),
        };
        let response = self
            .call::<rcl::GetParameters>("get_parameters", &request)
            .await?;
        Ok(response
            .values
            .iter()
            .map(|v| ParameterValue::from_msg(v).unwrap_or_default())
            .collect())
    }

    async fn describe(
        &self,
        names: &[String],
    ) -> Result<Vec<rcl::ParameterDescriptor>, Box<dyn std::error::Error + Send + Sync>> {
        let request = rcl::DescribeParameters_Request {
            names: names.to_vec(),
        };
        Ok(self
            .call::<rcl::DescribeParameters>("describe_parameters", &request)
            .await?
            .descriptors)
    }

    /// `Ok(Err(reason))` when the node refuses the value.
    async fn set(
        &self,
        parameter: Parameter,
    ) -> Result<Result<(), String>, Box<dyn std::error::Error + Send + Sync>> {
        let request = rcl::SetParameters_Request {
            parameters: vec![parameter.to_msg()],
        };
        let response = self
            .call::<rcl::SetParameters>("set_parameters", &request)
            .await?;
        match response.results.first() {
            Some(r) if r.successful => Ok(Ok(())),
            Some(r) => Ok(Err(r.reason.clone())),
            None => fail(format!("{} answered a set with no result", self.node)),
        }
    }
}

/// `Double`, `Integer`, ... as `ros2 param get` starts its line.
fn type_title(kind: ParameterType) -> &'static str {
    match kind {
        ParameterType::NotSet => "Not set",
        ParameterType::Bool => "Boolean",
        ParameterType::Integer => "Integer",
        ParameterType::Double => "Double",
        ParameterType::String => "String",
        ParameterType::ByteArray => "Byte values",
        ParameterType::BoolArray => "Boolean values",
        ParameterType::IntegerArray => "Integer values",
        ParameterType::DoubleArray => "Double values",
        ParameterType::StringArray => "String values",
    }
}

/// `ros2 param describe`'s text.
fn describe_text(d: &rcl::ParameterDescriptor) -> String {
    let kind = ParameterType::from_u8(d.r#type).map_or("unknown", ParameterType::name);
    let mut out = format!("Parameter name: {}\n  Type: {kind}\n", d.name);
    if !d.description.is_empty() {
        out += &format!("  Description: {}\n", d.description);
    }
    out += "  Constraints:\n";
    if d.read_only {
        out += "    Read only: true\n";
    }
    if d.dynamic_typing {
        out += "    Dynamic typing: true\n";
    }
    if !d.additional_constraints.is_empty() {
        out += &format!("    {}\n", d.additional_constraints);
    }
    for r in &d.integer_range {
        out += &format!(
            "    Min value: {}\n    Max value: {}\n    Step: {}\n",
            r.from_value, r.to_value, r.step
        );
    }
    for r in &d.floating_point_range {
        let [from, to, step] =
            [r.from_value, r.to_value, r.step].map(|v| ParameterValue::Double(v).to_yaml());
        out += &format!("    Min value: {from}\n    Max value: {to}\n    Step: {step}\n");
    }
    out
}

/// A tree of dotted parameter names, for `ros2 param dump`'s nested YAML.
#[derive(Default)]
struct Tree {
    value: Option<ParameterValue>,
    children: BTreeMap<String, Tree>,
}

/// The node's parameters as a ROS 2 parameters file.
fn dump_yaml(node: &str, names: &[String], values: &[ParameterValue]) -> String {
    let mut root = Tree::default();
    for (name, value) in names.iter().zip(values) {
        let mut at = &mut root;
        for part in name.split('.') {
            at = at.children.entry(part.to_string()).or_default();
        }
        at.value = Some(value.clone());
    }
    fn write(tree: &Tree, indent: usize, out: &mut String) {
        for (key, child) in &tree.children {
            let pad = " ".repeat(indent);
            match &child.value {
                Some(v) if child.children.is_empty() => *out += &format!("{pad}{key}: {v}\n"),
                _ => {
                    *out += &format!("{pad}{key}:\n");
                    write(child, indent + 2, out);
                }
            }
        }
    }
    let mut out = format!("{node}:\n  ros__parameters:\n");
    write(&root, 4, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_prints_floating_bounds_as_doubles() {
        let d = crate::node::ParameterDescriptor::new("hz")
            .floating_point_range(0.5, 100.0, 0.0)
            .to_msg("rate", ParameterType::Double);
        assert_eq!(
            describe_text(&d),
            "Parameter name: rate\n  Type: double\n  Description: hz\n  Constraints:\n    \
             Min value: 0.5\n    Max value: 100.0\n    Step: 0.0\n"
        );
    }

    #[test]
    fn dump_reads_back_through_the_overrides_parser() {
        let names: Vec<String> = ["camera.gain", "name", "rate"].map(String::from).to_vec();
        let values = vec![
            ParameterValue::Integer(4),
            ParameterValue::String("3".into()),
            ParameterValue::Double(10.0),
        ];
        let text = dump_yaml("/talker", &names, &values);
        assert!(text.contains("    camera:\n      gain: 4\n"), "{text}");
        let mut o = ParameterOverrides::default();
        o.yaml(&text, "dump").expect("valid file");
        let back = o.resolve("/talker");
        assert_eq!(back.keys().cloned().collect::<Vec<_>>(), names);
        assert_eq!(back.values().cloned().collect::<Vec<_>>(), values);
    }
}
