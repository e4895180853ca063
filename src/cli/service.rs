//! `rosync service`: list, type and call.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use clap::{Args, Subcommand};

use super::args::Seconds;
use super::output::{parse_value, to_yaml};
use super::{fail, CliResult, NetworkArgs};
use crate::msg::{lookup_service, DynService};
use crate::node::{EntityKind, Node};

/// How long graph queries wait for answers.
const GRAPH_TIMEOUT: Duration = Duration::from_millis(1000);

/// Subcommands of `rosync service`.
#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// List services that have a server in the graph.
    List {
        /// Show each service's type.
        #[arg(short = 't', long)]
        show_types: bool,
    },
    /// Print the type of a service, as its servers announce it.
    Type {
        /// The service, e.g. /add_two_ints.
        service: String,
    },
    /// Call a service once with a request given as YAML or JSON and print the response as YAML.
    Call {
        /// The service, e.g. /add_two_ints.
        service: String,
        /// The service type, e.g. example_interfaces/srv/AddTwoInts.
        #[arg(value_name = "TYPE")]
        type_name: String,
        /// The request as YAML or JSON, e.g. '{a: 1, b: 2}' (missing fields take defaults).
        #[arg(default_value = "{}")]
        request: String,
        #[command(flatten)]
        timing: CallTiming,
    },
}

/// How long a command calling services waits for a server and for its answers.
#[derive(Debug, Clone, Args)]
pub struct CallTiming {
    /// Wait up to this many seconds for the server to appear.
    #[arg(
        long,
        default_value = "10",
        value_name = "SECONDS",
        allow_hyphen_values = true
    )]
    pub wait: Seconds,
    /// Give up if an answer takes longer than this many seconds.
    #[arg(
        long,
        default_value = "10",
        value_name = "SECONDS",
        allow_hyphen_values = true
    )]
    pub timeout: Seconds,
}

/// Runs a service subcommand.
pub async fn run(cmd: ServiceCommand, net: &NetworkArgs) -> CliResult {
    match cmd {
        ServiceCommand::List { show_types } => {
            let node = net.node("rosync_service_list").await?;
            let services = servers(&node).await?;
            net.check_reached(&node).await?;
            for (name, types) in services {
                if show_types {
                    let types: Vec<String> = types.into_iter().collect();
                    println!("{name} [{}]", types.join(", "));
                } else {
                    println!("{name}");
                }
            }
            Ok(())
        }
        ServiceCommand::Type { service } => {
            let node = net.node("rosync_service_type").await?;
            let name = node.resolve_topic(&service)?;
            let services = servers(&node).await?;
            net.check_reached(&node).await?;
            match services.get(&name) {
                Some(types) => {
                    for t in types {
                        println!("{t}");
                    }
                    Ok(())
                }
                None => fail(format!("no server of service {name} in the graph")),
            }
        }
        ServiceCommand::Call {
            service,
            type_name,
            request,
            timing,
        } => {
            let Some(ty) = lookup_service(&type_name) else {
                return fail(format!(
                    "unknown service type `{type_name}` (see `rosync interface list`)"
                ));
            };
            let value = parse_value(&request)?;
            let node = net.node("rosync_service_call").await?;
            call(
                &node,
                &service,
                ty,
                value,
                timing.wait.duration(),
                timing.timeout.duration(),
            )
            .await
        }
    }
}

/// Service names with a server in the graph (other than this command's), with their types.
async fn servers(node: &Node) -> crate::Result<BTreeMap<String, BTreeSet<String>>> {
    let own_zid = node.session().zid().to_string();
    let mut services: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for entity in node.graph(GRAPH_TIMEOUT).await? {
        if entity.zid == own_zid || entity.kind != EntityKind::ServiceServer {
            continue;
        }
        if let Some(topic) = entity.topic {
            services
                .entry(topic.name)
                .or_default()
                .insert(topic.type_name);
        }
    }
    Ok(services)
}

async fn call(
    node: &Node,
    service: &str,
    ty: &DynService,
    request: serde_json::Value,
    wait: Duration,
    timeout: Duration,
) -> CliResult {
    let payload = ty.request.encode_json(request).or_else(|e| {
        fail(format!(
            "the request does not fit {}: {e}",
            ty.request.type_name
        ))
    })?;
    let client = node.raw_client(service, ty.identity()).await?;
    if !client.wait_for_service(wait).await {
        return fail(format!(
            "no server of {} with type {} appeared within {wait:?}",
            client.name(),
            ty.type_name
        ));
    }
    let response = client.call_payload(payload, timeout).await?;
    let value = ty.response.decode_json(&response).or_else(|e| {
        fail(format!(
            "the response is not a {}: {e}",
            ty.response.type_name
        ))
    })?;
    println!("response:\n{}", to_yaml(&value));
    Ok(())
}
