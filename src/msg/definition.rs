//! The REP-2016 hash of a type from its `ros2msg` definition: the main `.msg` text followed by
//! `MSG: pkg/Type` sections, as MCAP `ros2msg` schemas and [`Message::DEFINITION`] hold it.
//!
//! Used to announce a recorded type rosync does not know (e.g. `rosync play` of a log whose
//! channel carries no `topic_type_hash`).
//!
//! [`Message::DEFINITION`]: super::Message::DEFINITION

use std::collections::HashMap;

use rosync_msggen::hash::Resolve;
use rosync_msggen::parse::{parse_msg, BaseType, MsgSpec};

use super::{TypeKind, TypeName};

/// A message type's name (any form [`TypeName::parse`] takes) as (`pkg`, `Type`); `None` for
/// anything else, services and actions included.
fn split_type_name(type_name: &str) -> Option<(String, String)> {
    TypeName::parse(type_name)
        .ok()
        .filter(|t| t.kind == TypeKind::Msg)
        .map(|t| (t.package, t.name))
}

/// The sections of a `ros2msg` definition: the main type's text, then each `MSG: pkg/Type`.
pub(crate) fn definition_sections(definition: &str) -> Vec<(Option<String>, String)> {
    let mut sections = Vec::new();
    let mut current: Option<String> = None;
    let mut text = String::new();
    let mut after_separator = false;
    for line in definition.lines() {
        let trimmed = line.trim();
        if trimmed.len() >= 3 && trimmed.chars().all(|c| c == '=') {
            sections.push((current.take(), std::mem::take(&mut text)));
            after_separator = true;
            continue;
        }
        if after_separator {
            if let Some(name) = trimmed.strip_prefix("MSG:") {
                current = Some(name.trim().to_string());
                after_separator = false;
                continue;
            }
            if trimmed.is_empty() {
                continue;
            }
            after_separator = false;
        }
        text.push_str(line);
        text.push('\n');
    }
    sections.push((current, text));
    sections
}

/// Parsed `.msg` specs by (`pkg`, `Type`), resolving nested types for the hash.
#[derive(Default)]
struct Specs(HashMap<(String, String), MsgSpec>);

impl Resolve for Specs {
    fn resolve(&self, package: &str, name: &str) -> Option<&MsgSpec> {
        self.0.get(&(package.to_string(), name.to_string()))
    }
}

impl Specs {
    /// Adds every `MSG:` section of a definition not yet known.
    fn add_sections(&mut self, definition: &str) -> Result<(), String> {
        for (name, text) in definition_sections(definition).into_iter().skip(1) {
            let Some((pkg, ty)) = name.as_deref().and_then(split_type_name) else {
                continue;
            };
            if self.0.contains_key(&(pkg.clone(), ty.clone())) {
                continue;
            }
            let spec = parse_msg(&pkg, &ty, &text).map_err(|e| e.to_string())?;
            self.0.insert((pkg, ty), spec);
        }
        Ok(())
    }

    /// Nested types referenced by known specs but missing.
    fn missing(&self, main: &MsgSpec) -> Vec<(String, String)> {
        let mut missing = Vec::new();
        for spec in std::iter::once(main).chain(self.0.values()) {
            for field in &spec.fields {
                if let BaseType::Nested { package, name } = &field.ty.base {
                    let key = (package.clone(), name.clone());
                    if !self.0.contains_key(&key) && !missing.contains(&key) {
                        missing.push(key);
                    }
                }
            }
        }
        missing
    }
}

/// The REP-2016 hash of a type from its `ros2msg` definition (the main text followed by
/// `MSG: pkg/Type` sections); nested types the definition lacks are taken from rosync's
/// registry.
pub fn hash_from_definition(type_name: &str, definition: &str) -> Result<String, String> {
    let (pkg, ty) = split_type_name(type_name)
        .ok_or_else(|| format!("`{type_name}` is not a type name of the form pkg/msg/Type"))?;
    let sections = definition_sections(definition);
    let main_text = sections.first().map(|(_, t)| t.as_str()).unwrap_or("");
    if main_text.trim().is_empty() {
        return Err("the log holds no definition for it".to_string());
    }
    let main = parse_msg(&pkg, &ty, main_text).map_err(|e| e.to_string())?;
    let mut specs = Specs::default();
    specs.add_sections(definition)?;
    loop {
        let missing = specs.missing(&main);
        let mut added = false;
        for (package, name) in missing {
            if let Some(known) = super::lookup(&format!("{package}/msg/{name}")) {
                let main_text = definition_sections(known.definition)
                    .into_iter()
                    .next()
                    .map(|(_, t)| t)
                    .unwrap_or_default();
                let spec = parse_msg(&package, &name, &main_text).map_err(|e| e.to_string())?;
                specs.0.insert((package, name), spec);
                specs.add_sections(known.definition)?;
                added = true;
            }
        }
        if !added {
            break;
        }
    }
    rosync_msggen::hash::rihs01(&main, &specs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::{sensor_msgs, std_msgs, Message};

    #[test]
    fn hashes_are_computed_from_definitions() {
        for (name, hash, definition) in [
            (
                sensor_msgs::Image::TYPE_NAME,
                sensor_msgs::Image::TYPE_HASH,
                sensor_msgs::Image::DEFINITION,
            ),
            (
                sensor_msgs::CameraInfo::TYPE_NAME,
                sensor_msgs::CameraInfo::TYPE_HASH,
                sensor_msgs::CameraInfo::DEFINITION,
            ),
            (
                std_msgs::String::TYPE_NAME,
                std_msgs::String::TYPE_HASH,
                std_msgs::String::DEFINITION,
            ),
        ] {
            assert_eq!(hash_from_definition(name, definition).as_deref(), Ok(hash));
        }
        // Only the main text: nested types come from the registry.
        let main = definition_sections(sensor_msgs::Image::DEFINITION)[0]
            .1
            .clone();
        assert_eq!(
            hash_from_definition("sensor_msgs/Image", &main).as_deref(),
            Ok(sensor_msgs::Image::TYPE_HASH)
        );
        assert!(hash_from_definition("my_pkg/msg/Thing", "").is_err());
        assert!(hash_from_definition("my_pkg/msg/Thing", "other_pkg/Missing m\n").is_err());
        assert!(hash_from_definition("my_pkg/msg/Point2", "float64 x\nfloat64 y\n").is_ok());
    }

    #[test]
    fn definitions_split_into_sections() {
        let text = "Header header\n\
                    ================================================================================\n\
                    MSG: std_msgs/Header\n\
                    builtin_interfaces/Time stamp\n";
        let sections = definition_sections(text);
        assert_eq!(sections.len(), 2);
        assert_eq!(sections[0], (None, "Header header\n".to_string()));
        assert_eq!(
            sections[1],
            (
                Some("std_msgs/Header".to_string()),
                "builtin_interfaces/Time stamp\n".to_string()
            )
        );
        assert_eq!(
            split_type_name("pkg/msg/T"),
            Some(("pkg".into(), "T".into()))
        );
        assert_eq!(split_type_name("pkg/T"), Some(("pkg".into(), "T".into())));
        assert_eq!(split_type_name("pkg/srv/T"), None);
        assert_eq!(split_type_name("/T"), None);
    }
}
