//! YAML-like rendering of messages, as `ros2 topic echo` prints them.

use serde_json::Value;

/// Renders a message (as JSON) in the block style of `ros2 topic echo`; long arrays are
/// abbreviated before, when the message is converted
/// ([`DynType::decode_json_abbreviated`](crate::msg::DynType::decode_json_abbreviated)).
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, 0);
    out
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => {
            let plain = !s.is_empty()
                && !s.contains([':', '#', '\'', '"', '\n', '[', ']', '{', '}', ','])
                && !s.starts_with([' ', '-', '?', '*', '&', '!', '|', '>', '%', '@'])
                && !s.ends_with(' ')
                && s.parse::<f64>().is_err()
                && !matches!(s.as_str(), "true" | "false" | "null" | "~");
            if plain {
                s.clone()
            } else {
                format!("'{}'", s.replace('\'', "''"))
            }
        }
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.1}"),
            _ => n.to_string(),
        },
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        _ => String::new(),
    }
}

fn write_value(out: &mut String, value: &Value, indent: usize) {
    let pad = "  ".repeat(indent);
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match v {
                    Value::Object(inner) if !inner.is_empty() => {
                        out.push_str(&format!("{pad}{key}:\n"));
                        write_value(out, v, indent + 1);
                    }
                    Value::Object(_) => out.push_str(&format!("{pad}{key}: {{}}\n")),
                    Value::Array(items) if items.is_empty() => {
                        out.push_str(&format!("{pad}{key}: []\n"));
                    }
                    Value::Array(items) => {
                        out.push_str(&format!("{pad}{key}:\n"));
                        write_items(out, items, indent);
                    }
                    _ => out.push_str(&format!("{pad}{key}: {}\n", scalar(v))),
                }
            }
        }
        Value::Array(items) => write_items(out, items, indent),
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
}

fn write_items(out: &mut String, items: &[Value], indent: usize) {
    let pad = "  ".repeat(indent);
    for item in items {
        match item {
            Value::Object(_) => {
                let mut inner = String::new();
                write_value(&mut inner, item, indent + 1);
                // The first line of a mapping item starts after "- ".
                let mut lines = inner.lines();
                if let Some(first) = lines.next() {
                    out.push_str(&format!("{pad}- {}\n", first.trim_start()));
                }
                for line in lines {
                    out.push_str(line);
                    out.push('\n');
                }
            }
            _ => out.push_str(&format!("{pad}- {}\n", scalar(item))),
        }
    }
}

/// Parses a message value given on the command line as YAML or JSON (empty means defaults).
pub fn parse_value(text: &str) -> Result<Value, String> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    let value: Value = serde_yaml::from_str(text).map_err(|e| format!("invalid YAML/JSON: {e}"))?;
    match value {
        Value::Object(_) => Ok(value),
        Value::Null => Ok(Value::Object(Default::default())),
        other => Err(format!(
            "the message must be a mapping of field names to values, such as '{{data: hello}}', not `{other}`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_ros2_echo() {
        let v: Value = serde_json::json!({
            "header": {"stamp": {"sec": 1, "nanosec": 2}, "frame_id": "cam"},
            "d": [0.5, 1.0], "data": "<sequence type: uint8, length: 300>",
            "points": [{"x": 1.0}], "name": "", "e": []
        });
        let text = to_yaml(&v);
        assert!(text.contains("header:\n  stamp:\n    sec: 1\n"), "{text}");
        assert!(text.contains("  frame_id: cam\n"), "{text}");
        assert!(text.contains("d:\n- 0.5\n- 1.0\n"), "{text}");
        assert!(
            text.contains("data: '<sequence type: uint8, length: 300>'\n"),
            "{text}"
        );
        assert!(text.contains("points:\n- x: 1.0\n"), "{text}");
        assert!(text.contains("name: ''\n"), "{text}");
        assert!(text.contains("e: []\n"), "{text}");
    }

    #[test]
    fn parses_yaml_and_json_and_rejects_scalars() {
        assert_eq!(
            parse_value("{data: hi}").ok(),
            Some(serde_json::json!({"data": "hi"}))
        );
        assert_eq!(
            parse_value(r#"{"data": 3}"#).ok(),
            Some(serde_json::json!({"data": 3}))
        );
        assert_eq!(parse_value("").ok(), Some(serde_json::json!({})));
        assert!(parse_value("{data: [unclosed").is_err());
        assert!(parse_value("42").is_err());
    }
}
