//! ROS names: validation and resolution of node names, namespaces and topic names.

use crate::error::{Error, Result};

fn invalid(name: &str, reason: impl Into<String>) -> Error {
    Error::InvalidName {
        name: name.to_string(),
        reason: reason.into(),
    }
}

/// Checks one path token: letters, digits and `_`, not starting with a digit.
fn check_token(full: &str, token: &str) -> Result<()> {
    if token.is_empty() {
        return Err(invalid(
            full,
            "contains an empty segment (`//` or a trailing `/`)",
        ));
    }
    if token.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(invalid(
            full,
            format!("segment `{token}` starts with a digit"),
        ));
    }
    if let Some(c) = token
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
    {
        return Err(invalid(
            full,
            format!("character `{c}` is not allowed (use [A-Za-z0-9_])"),
        ));
    }
    Ok(())
}

/// Validates a node name (a single token such as `talker`).
pub fn validate_node_name(name: &str) -> Result<()> {
    if name.contains('/') {
        return Err(invalid(
            name,
            "a node name cannot contain `/`; set the namespace instead",
        ));
    }
    check_token(name, name)
}

/// Normalizes a namespace to an absolute one (`""` and `/` are the root, `robot1` is `/robot1`).
pub fn normalize_namespace(namespace: &str) -> Result<String> {
    let trimmed = namespace.trim_start_matches('/');
    if trimmed.is_empty() {
        return Ok("/".to_string());
    }
    for token in trimmed.split('/') {
        check_token(namespace, token)?;
    }
    Ok(format!("/{trimmed}"))
}

/// Resolves a topic name against a node: `/abs`, `relative` (in the namespace) or `~/private`.
pub fn resolve_topic(namespace: &str, node: &str, topic: &str) -> Result<String> {
    let base = if namespace == "/" { "" } else { namespace };
    let full = if let Some(rest) = topic.strip_prefix("~/") {
        format!("{base}/{node}/{rest}")
    } else if topic == "~" {
        format!("{base}/{node}")
    } else if topic.starts_with('/') {
        topic.to_string()
    } else {
        format!("{base}/{topic}")
    };
    let body = full.strip_prefix('/').unwrap_or(&full);
    if body.is_empty() {
        return Err(invalid(topic, "a topic name cannot be empty"));
    }
    for token in body.split('/') {
        check_token(topic, token)?;
    }
    Ok(full)
}

/// rmw_zenoh's name mangling for liveliness tokens: every `/` becomes `%`.
pub fn mangle(name: &str) -> String {
    name.replace('/', "%")
}

/// The inverse of [`mangle`].
pub fn demangle(name: &str) -> String {
    name.replace('%', "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_like_ros() {
        assert_eq!(
            resolve_topic("/", "talker", "chatter").ok().as_deref(),
            Some("/chatter")
        );
        assert_eq!(
            resolve_topic("/robot1", "cam", "image").ok().as_deref(),
            Some("/robot1/image")
        );
        assert_eq!(
            resolve_topic("/robot1", "cam", "~/info").ok().as_deref(),
            Some("/robot1/cam/info")
        );
        assert_eq!(
            resolve_topic("/r", "n", "/abs/x").ok().as_deref(),
            Some("/abs/x")
        );
        assert!(resolve_topic("/", "n", "bad name").is_err());
        assert!(resolve_topic("/", "n", "a//b").is_err());
        assert!(resolve_topic("/", "n", "/9lives").is_err());
        assert!(resolve_topic("/", "n", "").is_err());
    }

    #[test]
    fn namespaces_and_node_names() {
        assert_eq!(normalize_namespace("").ok().as_deref(), Some("/"));
        assert_eq!(
            normalize_namespace("robot1").ok().as_deref(),
            Some("/robot1")
        );
        assert!(validate_node_name("my_node").is_ok());
        assert!(validate_node_name("a/b").is_err());
        assert_eq!(mangle("/robot1/chatter"), "%robot1%chatter");
        assert_eq!(demangle("%robot1%chatter"), "/robot1/chatter");
    }
}
