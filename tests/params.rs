//! Parameters over the wire: an independent Python `eclipse-zenoh` client
//! (`tests/python/param_peer.py`, requests encoded by hand) and rosync clients list, get,
//! describe and set a rosync node's parameters through its six `rcl_interfaces` services, and
//! see its `/parameter_events`.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{connected_node, endpoint, listening_node, repo, PATIENCE};
use rosync::msg::rcl_interfaces as rcl;
use rosync::node::{Node, Parameter, ParameterDescriptor, ParameterOverrides, ParameterValue};

/// The node the tests inspect: `rate` (double in 0..=50), read-only `id`, `name`, `camera.gain`.
async fn talker(endpoint: &str, domain: u32) -> Node {
    let mut overrides = ParameterOverrides::default();
    overrides.arg("id:=7").expect("override");
    let node = Node::builder("talker")
        .domain_id(domain)
        .listen(endpoint)
        .parameter_overrides(overrides)
        .build()
        .await
        .expect("node starts");
    let range = ParameterDescriptor::new("publish rate in Hz").floating_point_range(0.0, 50.0, 0.0);
    node.declare_parameter("rate", 10.0, range)
        .await
        .expect("rate");
    node.declare_parameter("id", 1, ParameterDescriptor::new("robot id").read_only())
        .await
        .expect("id");
    node.declare_parameter("name", "bob", ParameterDescriptor::default())
        .await
        .expect("name");
    node.declare_parameter(
        "camera.gain",
        2,
        ParameterDescriptor::default().integer_range(0, 10, 2),
    )
    .await
    .expect("gain");
    node
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_client_lists_gets_and_sets_parameters_and_sees_events() {
    let endpoint = endpoint();
    let node = talker(&endpoint, 61).await;
    let node_for_peer = node.clone();
    let output = tokio::task::spawn_blocking(move || {
        let _keep = node_for_peer;
        Command::new("python3")
            .arg(format!("{}/tests/python/param_peer.py", repo()))
            .args([
                "--connect",
                &endpoint,
                "--domain",
                "61",
                "--node",
                "/talker",
            ])
            .args(["--set", "rate=double:20.5"])
            .args(["--set", "rate=string:fast"])
            .args(["--set", "rate=double:99.0"])
            .args(["--set", "id=integer:3"])
            .args(["--set", "missing=integer:3"])
            .args(["--set", "camera.gain=integer:4"])
            .stdin(Stdio::null())
            .output()
            .expect("python3 runs")
    })
    .await
    .expect("peer task");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(
        lines[0]["list"],
        serde_json::json!(["camera.gain", "id", "name", "rate", "use_sim_time"])
    );
    assert_eq!(lines[0]["prefixes"], serde_json::json!(["camera"]));
    let get = &lines[1]["get"];
    assert_eq!(get["rate"]["type"], 3);
    assert_eq!(get["rate"]["double"], 10.0);
    assert_eq!(get["id"]["integer"], 7, "the start-up override applies");
    assert_eq!(get["name"]["string"], "bob");
    assert_eq!(get["use_sim_time"]["bool"], false);
    assert_eq!(lines[2]["types"]["camera.gain"], 2);
    let describe = lines[3]["describe"].as_array().expect("descriptors");
    let rate = describe.iter().find(|d| d["name"] == "rate").expect("rate");
    assert_eq!(rate["description"], "publish rate in Hz");
    assert_eq!(
        rate["floating_point_range"],
        serde_json::json!([[0.0, 50.0, 0.0]])
    );
    let id = describe.iter().find(|d| d["name"] == "id").expect("id");
    assert_eq!(id["read_only"], true);
    let results: Vec<&serde_json::Value> = lines[4..10].iter().map(|l| &l["results"][0]).collect();
    assert_eq!(results[0]["successful"], true);
    assert_eq!(
        results[1]["reason"],
        "Wrong parameter type, parameter {rate} is of type {double}, setting it to {string} is \
         not allowed."
    );
    assert_eq!(
        results[2]["reason"],
        "Parameter {rate} doesn't comply with floating point range."
    );
    assert_eq!(
        results[3]["reason"],
        "parameter 'id' cannot be set because it is read-only"
    );
    assert_eq!(
        results[4]["reason"],
        "parameter 'missing' cannot be set because it was not declared"
    );
    assert_eq!(results[5]["successful"], true);
    assert_eq!(node.parameter::<f64>("rate"), Some(20.5));
    assert_eq!(node.parameter::<i64>("camera.gain"), Some(4));
    assert_eq!(node.parameter::<i64>("id"), Some(7));
    let events = lines[10]["events"].as_array().expect("events");
    let changed: Vec<(&str, &serde_json::Value)> = events
        .iter()
        .flat_map(|e| e["changed"].as_array().expect("changed").iter())
        .map(|p| (p["name"].as_str().unwrap_or_default(), &p["value"]))
        .collect();
    assert_eq!(
        changed.len(),
        2,
        "only the accepted sets are announced: {events:?}"
    );
    assert_eq!(changed[0].0, "rate");
    assert_eq!(changed[0].1["double"], 20.5);
    assert_eq!(changed[1].0, "camera.gain");
    assert!(events[0]["key"]
        .as_str()
        .unwrap_or_default()
        .starts_with("61/parameter_events/rcl_interfaces::msg::dds_::ParameterEvent_/RIHS01_"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rosync_client_sets_atomically_and_on_set_callback_refuses() {
    let endpoint = endpoint();
    let node = talker(&endpoint, 62).await;
    let _guard = node.on_set_parameters(|changes| {
        match changes
            .iter()
            .any(|p| p.value == ParameterValue::String("mallory".into()))
        {
            true => Err("that name is not allowed".into()),
            false => Ok(()),
        }
    });
    let peer = connected_node("tuner", 62, &endpoint).await;
    let events = peer
        .subscriber::<rcl::ParameterEvent>("/parameter_events")
        .queue_size(100)
        .await
        .expect("event subscriber");
    let set = peer
        .client::<rcl::SetParametersAtomically>("/talker/set_parameters_atomically")
        .await
        .expect("client");
    assert!(set.wait_for_service(PATIENCE).await, "service appears");
    let request = |params: &[Parameter]| rcl::SetParametersAtomically_Request {
        parameters: params.iter().map(Parameter::to_msg).collect(),
    };
    let refused = set
        .call(
            &request(&[
                Parameter::new("rate", 5.0),
                Parameter::new("name", "mallory"),
            ]),
            PATIENCE,
        )
        .await
        .expect("answer");
    assert!(!refused.result.successful);
    assert_eq!(refused.result.reason, "that name is not allowed");
    assert_eq!(node.parameter::<f64>("rate"), Some(10.0), "nothing applied");
    let accepted = set
        .call(
            &request(&[Parameter::new("rate", 5.0), Parameter::new("name", "alice")]),
            PATIENCE,
        )
        .await
        .expect("answer");
    assert!(accepted.result.successful, "{}", accepted.result.reason);
    assert_eq!(node.parameter::<String>("name").as_deref(), Some("alice"));
    let event = tokio::time::timeout(PATIENCE, async {
        loop {
            let e = events.recv().await.expect("event");
            if e.node == "/talker" && !e.changed_parameters.is_empty() {
                return e;
            }
        }
    })
    .await
    .expect("an event arrives");
    let names: Vec<&str> = event
        .changed_parameters
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["rate", "name"], "one event for the atomic set");
    let types = peer
        .client::<rcl::GetParameterTypes>("/talker/get_parameter_types")
        .await
        .expect("client");
    assert!(types.wait_for_service(PATIENCE).await);
    let answer = types
        .call(
            &rcl::GetParameterTypes_Request {
                names: vec!["rate".into(), "nope".into()],
            },
            Duration::from_secs(5),
        )
        .await
        .expect("answer");
    assert_eq!(answer.types, vec![3, 0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_start_up_values_are_refused_at_build() {
    let mut overrides = ParameterOverrides::default();
    overrides.arg("use_sim_time:=1").expect("override parses");
    let error = Node::builder("sim")
        .listen(&endpoint())
        .parameter_overrides(overrides)
        .build()
        .await
        .expect_err("an integer use_sim_time is refused");
    assert!(
        error
            .to_string()
            .contains("is of type {bool}, setting it to {integer}"),
        "{error}"
    );
    let node = listening_node("sim_ok", 63, &endpoint()).await;
    assert_eq!(node.parameter::<bool>("use_sim_time"), Some(false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_lists_gets_sets_describes_dumps_and_loads() {
    let endpoint = endpoint();
    let node = talker(&endpoint, 64).await;
    let file = common::scratch("params_cli").join("load.yaml");
    std::fs::write(
        &file,
        "/**:\n  ros__parameters:\n    name: carol\n/talker:\n  ros__parameters:\n    rate: 30.0\n    id: 9\n",
    )
    .expect("write file");
    let bad = file.with_file_name("bad.yaml");
    std::fs::write(&bad, "/talker:\n  ros__parameters:\n    rate: [1.0\n").expect("write");
    let ep = endpoint.clone();
    let run = move |args: &[&str]| {
        let all: Vec<&str> = ["--connect", ep.as_str(), "--domain", "64", "param"]
            .iter()
            .chain(args)
            .copied()
            .collect();
        common::run_rosync(&all)
    };
    let text = |out: &std::process::Output| {
        (
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
            out.status.code(),
        )
    };
    let (file_s, bad_s) = (file.display().to_string(), bad.display().to_string());
    let outs = tokio::task::spawn_blocking(move || {
        [
            run(&["list"]),
            run(&["list", "/talker"]),
            run(&["get", "/talker", "rate"]),
            run(&["set", "/talker", "rate", "25"]),
            run(&["set", "/talker", "rate", "-1.0"]),
            run(&["set", "talker", "rate", "12.5"]),
            run(&["describe", "/talker", "camera.gain"]),
            run(&["load", "/talker", &file_s]),
            run(&["dump", "/talker"]),
            run(&["load", "/talker", &bad_s]),
            run(&["get", "/nobody", "rate", "--wait", "0.5"]),
        ]
        .map(|o| text(&o))
    })
    .await
    .expect("cli task");
    assert_eq!(
        outs[0].0, "/talker:\n  camera.gain\n  id\n  name\n  rate\n  use_sim_time\n",
        "{outs:?}"
    );
    assert_eq!(
        outs[1].0,
        "  camera.gain\n  id\n  name\n  rate\n  use_sim_time\n"
    );
    assert_eq!(outs[2].0, "Double value is: 10.0\n");
    assert_eq!(outs[3].2, Some(1));
    assert!(
        outs[3].1.contains(
            "Setting parameter failed: Wrong parameter type, parameter {rate} is of type \
             {double}, setting it to {integer} is not allowed."
        ),
        "{:?}",
        outs[3]
    );
    assert!(
        outs[4]
            .1
            .contains("doesn't comply with floating point range"),
        "{:?}",
        outs[4]
    );
    assert_eq!(outs[5].0, "Set parameter successful\n", "{:?}", outs[5]);
    assert_eq!(
        outs[6].0,
        "Parameter name: camera.gain\n  Type: integer\n  Constraints:\n    Min value: 0\n    \
         Max value: 10\n    Step: 2\n"
    );
    assert_eq!(outs[7].2, Some(1), "id is read-only: {:?}", outs[7]);
    assert!(outs[7]
        .0
        .contains("Set parameter id failed: parameter 'id' cannot be set because it is read-only"));
    assert!(outs[7].0.contains("Set parameter rate successful"));
    assert!(outs[7].0.contains("Set parameter name successful"));
    assert_eq!(
        outs[8].0,
        "/talker:\n  ros__parameters:\n    camera:\n      gain: 2\n    id: 7\n    name: carol\n    \
         rate: 30.0\n    use_sim_time: false\n"
    );
    assert!(outs[9].1.contains("line 4"), "{:?}", outs[9]);
    assert!(
        outs[10]
            .1
            .contains("no node /nobody with parameter services"),
        "{:?}",
        outs[10]
    );
    assert_eq!(node.parameter::<f64>("rate"), Some(30.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_node_with_parameters_removes_its_services_and_publisher() {
    let endpoint = endpoint();
    let observer = listening_node("param_observer", 65, &endpoint).await;
    let node = connected_node("short_lived", 65, &endpoint).await;
    node.declare_parameter("x", 1, ParameterDescriptor::default())
        .await
        .expect("declare");
    let own = |graph: &[rosync::node::Entity]| {
        graph
            .iter()
            .filter(|e| e.node_name == "short_lived")
            .count()
    };
    let deadline = tokio::time::Instant::now() + PATIENCE;
    // The node, six services and the /parameter_events publisher.
    while own(&observer.graph(PATIENCE).await.expect("graph")) < 8 {
        assert!(tokio::time::Instant::now() < deadline, "services appear");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(node);
    while own(&observer.graph(PATIENCE).await.expect("graph")) > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the node's entities stay after it was dropped"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `allow_undeclared_parameters` (rclcpp's node option): the node serves its parameters from
/// the start, a set of an undeclared name declares it dynamically typed (through the CLI), and
/// `get_parameters`/`describe_parameters` answer an undeclared name (not set, a default
/// descriptor) where a strict node answers nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_undeclared_parameters_lets_sets_declare_and_services_answer_for_any_name() {
    let endpoint = endpoint();
    let free = Node::builder("free")
        .domain_id(76)
        .listen(&endpoint)
        .allow_undeclared_parameters(true)
        .build()
        .await
        .expect("node starts");
    let strict = connected_node("strict", 76, &endpoint).await;
    strict
        .declare_parameter("known", 1, ParameterDescriptor::default())
        .await
        .expect("declares");
    let ep = endpoint.clone();
    let run = move |args: &[&str]| {
        let all: Vec<&str> = ["--connect", ep.as_str(), "--domain", "76", "param"]
            .iter()
            .chain(args)
            .copied()
            .collect();
        let out = common::run_rosync(&all);
        (
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
            out.status.success(),
        )
    };
    let outs = tokio::task::spawn_blocking(move || {
        [
            run(&["set", "/free", "fresh", "5"]),
            run(&["get", "/free", "fresh"]),
            run(&["set", "/free", "fresh", "hello"]),
            run(&["set", "/strict", "fresh", "5"]),
        ]
    })
    .await
    .expect("joins");
    assert!(
        outs[0].2 && outs[0].0.contains("Set parameter successful"),
        "{outs:?}"
    );
    assert_eq!(outs[1].0, "Integer value is: 5\n", "{outs:?}");
    assert!(outs[2].2, "dynamically typed: {outs:?}");
    assert_eq!(free.parameter::<String>("fresh").as_deref(), Some("hello"));
    assert!(
        !outs[3].2
            && outs[3]
                .1
                .contains("parameter 'fresh' cannot be set because it was not declared"),
        "{outs:?}"
    );
    assert_eq!(strict.parameter::<i64>("fresh"), None);

    for (node, answers) in [("/free", 1), ("/strict", 0)] {
        let get = strict
            .client::<rcl::GetParameters>(&format!("{node}/get_parameters"))
            .await
            .expect("client");
        assert!(get.wait_for_service(PATIENCE).await, "{node} serves");
        let got = get
            .call(
                &rcl::GetParameters_Request {
                    names: vec!["missing".into()],
                },
                PATIENCE,
            )
            .await
            .expect("answer");
        assert_eq!(got.values.len(), answers, "{node}: {got:?}");
        assert!(got.values.iter().all(|v| v.r#type == 0), "not set: {got:?}");
        let describe = strict
            .client::<rcl::DescribeParameters>(&format!("{node}/describe_parameters"))
            .await
            .expect("client");
        assert!(describe.wait_for_service(PATIENCE).await);
        let described = describe
            .call(
                &rcl::DescribeParameters_Request {
                    names: vec!["missing".into()],
                },
                PATIENCE,
            )
            .await
            .expect("answer");
        assert_eq!(described.descriptors.len(), answers, "{node}");
        assert!(described
            .descriptors
            .iter()
            .all(|d| d.name == "missing" && d.r#type == 0));
    }
}
