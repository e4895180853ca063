//! [`ParameterOverrides`]: a node's start-up parameter values, from `--param name:=value`
//! arguments and ROS 2 parameters YAML files.

use std::collections::BTreeMap;
use std::path::Path;

use super::store::ParameterError;
use super::value::ParameterValue;

/// The `ros__parameters` sections of one file: node name pattern and flattened values.
type Sections = Vec<(String, BTreeMap<String, ParameterValue>)>;

/// One source of overrides, applied in the order given.
#[derive(Debug, Clone, PartialEq)]
enum Layer {
    /// The `ros__parameters` sections of a file: node name pattern and its flattened values.
    File(Sections),
    /// One `name:=value`.
    Value(String, ParameterValue),
}

/// Start-up values for parameters, which replace the defaults a node declares.
///
/// Files and single values apply in the order they were added, later ones winning; within a
/// file, every section whose node name matches the node applies, later sections winning.
/// Section names are node names with or without namespace (`/ns/node`, `node`) or patterns
/// with ROS 2's wildcards: `*` for any part of one name segment, `/**` for any namespace
/// (`/**` alone matches every node).
///
/// ```
/// use rosync::node::ParameterOverrides;
/// let mut overrides = ParameterOverrides::default();
/// overrides.arg("rate:=20.0").unwrap();
/// overrides.yaml("/**:\n  ros__parameters:\n    use_sim_time: true\n", "inline").unwrap();
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParameterOverrides {
    layers: Vec<Layer>,
}

impl ParameterOverrides {
    /// Adds one override in `--param` syntax, `name:=value`, the value in ROS 2's YAML syntax.
    pub fn arg(&mut self, arg: &str) -> Result<&mut Self, ParameterError> {
        let Some((name, value)) = arg.split_once(":=") else {
            return Err(ParameterError(format!(
                "`{arg}` is not a parameter override: expected name:=value"
            )));
        };
        if name.is_empty() {
            return Err(ParameterError(format!(
                "`{arg}` is not a parameter override: the name is empty"
            )));
        }
        let value = ParameterValue::parse(value).map_err(ParameterError)?;
        Ok(self.set(name, value))
    }

    /// Adds one override with a value.
    pub fn set(&mut self, name: &str, value: impl Into<ParameterValue>) -> &mut Self {
        self.layers
            .push(Layer::Value(name.to_string(), value.into()));
        self
    }

    /// Adds the overrides of a ROS 2 parameters file (`--params-file`).
    pub fn file(&mut self, path: &Path) -> Result<&mut Self, ParameterError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ParameterError(format!("{}: {e}", path.display())))?;
        self.yaml(&text, &path.display().to_string())
    }

    /// Adds the overrides of a ROS 2 parameters file's text; `source` names it in errors.
    pub fn yaml(&mut self, text: &str, source: &str) -> Result<&mut Self, ParameterError> {
        let sections = parse_file(text).map_err(|e| ParameterError(format!("{source}: {e}")))?;
        self.layers.push(Layer::File(sections));
        Ok(self)
    }

    /// The values that apply to the node with fully qualified name `fqn`.
    pub fn resolve(&self, fqn: &str) -> BTreeMap<String, ParameterValue> {
        let mut values = BTreeMap::new();
        for layer in &self.layers {
            match layer {
                Layer::Value(name, value) => {
                    values.insert(name.clone(), value.clone());
                }
                Layer::File(sections) => {
                    for (pattern, section) in sections {
                        if node_matches(pattern, fqn) {
                            values.extend(section.clone());
                        }
                    }
                }
            }
        }
        values
    }
}

/// The sections of a parameters file, each node pattern with its flattened parameters.
fn parse_file(text: &str) -> Result<Sections, String> {
    use serde_yaml::Value as Y;
    let root: Y = serde_yaml::from_str(text).map_err(|e| format!("malformed YAML: {e}"))?;
    let Y::Mapping(nodes) = root else {
        return Err("expected a mapping of node names (`/node_name: ros__parameters: ...`)".into());
    };
    let mut sections = Vec::new();
    for (node, body) in nodes {
        let Some(node) = node.as_str() else {
            return Err(format!("node name {node:?} is not a string"));
        };
        let params = body
            .as_mapping()
            .and_then(|m| m.get("ros__parameters"))
            .ok_or_else(|| format!("node `{node}` has no `ros__parameters` mapping"))?;
        let mut flat = BTreeMap::new();
        flatten(params, "", &mut flat).map_err(|e| format!("node `{node}`: {e}"))?;
        let pattern = if node.starts_with('/') {
            node.to_string()
        } else {
            format!("/{node}")
        };
        sections.push((pattern, flat));
    }
    Ok(sections)
}

/// Nested mappings become dotted names (`camera: {exposure: 3}` is `camera.exposure`).
fn flatten(
    yaml: &serde_yaml::Value,
    prefix: &str,
    out: &mut BTreeMap<String, ParameterValue>,
) -> Result<(), String> {
    let Some(map) = yaml.as_mapping() else {
        return Err("`ros__parameters` is not a mapping".into());
    };
    for (key, value) in map {
        let key = match key {
            serde_yaml::Value::String(s) => s.clone(),
            other => serde_yaml::to_string(other)
                .map(|s| s.trim().to_string())
                .unwrap_or_default(),
        };
        let name = if prefix.is_empty() {
            key
        } else {
            format!("{prefix}.{key}")
        };
        if value.is_mapping() {
            flatten(value, &name, out)?;
        } else {
            let value = ParameterValue::from_yaml(value)
                .map_err(|e| format!("parameter `{name}` has {e}"))?;
            out.insert(name, value);
        }
    }
    Ok(())
}

/// Whether node pattern `pattern` (with `*` and `**` wildcards) names node `fqn`.
fn node_matches(pattern: &str, fqn: &str) -> bool {
    let mut regex = String::from("^");
    let mut rest = pattern;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("/**") {
            regex.push_str("(/[^/]+)*");
            rest = after;
        } else if let Some(after) = rest.strip_prefix('*') {
            regex.push_str("[^/]*");
            rest = after;
        } else {
            let c = rest.chars().next().unwrap_or_default();
            regex.push_str(&regex::escape(&c.to_string()));
            rest = &rest[c.len_utf8()..];
        }
    }
    regex.push('$');
    regex::Regex::new(&regex).is_ok_and(|r| r.is_match(fqn))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_use_ros2_syntax_and_later_ones_win() {
        let mut o = ParameterOverrides::default();
        o.arg("rate:=10").unwrap().arg("rate:=20.5").unwrap();
        o.arg("names:=[a, b]").unwrap();
        let values = o.resolve("/n");
        assert_eq!(values["rate"], ParameterValue::Double(20.5));
        assert_eq!(
            values["names"],
            ParameterValue::StringArray(vec!["a".into(), "b".into()])
        );
        assert!(o.arg("rate=1").unwrap_err().0.contains("name:=value"));
        assert!(o.arg(":=1").is_err());
    }

    #[test]
    fn file_sections_match_by_name_and_wildcard() {
        let text = "\
/**:
  ros__parameters:
    use_sim_time: true
    rate: 1
/robot/talker:
  ros__parameters:
    rate: 5
    camera:
      exposure: 0.5
listener:
  ros__parameters:
    rate: 7
/robot/*:
  ros__parameters:
    tag: robot
";
        let mut o = ParameterOverrides::default();
        o.yaml(text, "t.yaml").unwrap();
        let talker = o.resolve("/robot/talker");
        assert_eq!(talker["rate"], ParameterValue::Integer(5));
        assert_eq!(talker["camera.exposure"], ParameterValue::Double(0.5));
        assert_eq!(talker["use_sim_time"], ParameterValue::Bool(true));
        assert_eq!(talker["tag"], "robot".into());
        let listener = o.resolve("/listener");
        assert_eq!(listener["rate"], ParameterValue::Integer(7));
        assert!(!listener.contains_key("tag"));
        assert_eq!(o.resolve("/a/b/c")["rate"], ParameterValue::Integer(1));
    }

    #[test]
    fn malformed_file_names_the_line() {
        let text = "/n:\n  ros__parameters:\n    a: 1\n   b: [1, 2\n";
        let e = ParameterOverrides::default()
            .yaml(text, "p.yaml")
            .unwrap_err();
        assert!(e.0.starts_with("p.yaml: malformed YAML"), "{e}");
        assert!(e.0.contains("line 4"), "{e}");
        let e = ParameterOverrides::default()
            .yaml("/n:\n  params:\n    a: 1\n", "p.yaml")
            .unwrap_err();
        assert!(e.0.contains("no `ros__parameters`"), "{e}");
        let e = ParameterOverrides::default()
            .yaml("/n:\n  ros__parameters:\n    a: [1, x]\n", "p.yaml")
            .unwrap_err();
        assert!(e.0.contains("parameter `a`"), "{e}");
    }

    #[test]
    fn wildcards_follow_ros2() {
        assert!(node_matches("/**", "/n"));
        assert!(node_matches("/**", "/a/b/n"));
        assert!(node_matches("/**/n", "/n"));
        assert!(node_matches("/**/n", "/a/b/n"));
        assert!(!node_matches("/**/n", "/a/b/m"));
        assert!(node_matches("/a/*", "/a/n"));
        assert!(!node_matches("/a/*", "/a/b/n"));
        assert!(node_matches("/ta*er", "/talker"));
    }
}
