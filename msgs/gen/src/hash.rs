//! REP-2016 type hashes (`RIHS01_<sha256>`) from parsed message definitions.
//!
//! The hash is the SHA-256 of the type description (the message and every type it references,
//! field names and types only, no defaults or comments) written as compact JSON with `", "` and
//! `": "` separators, exactly as rosidl writes it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::parse::{ArrayKind, BaseType, FieldType, MsgSpec, Primitive};

/// Finds the spec of `package/msg/Type`; the generator's package index implements it.
pub trait Resolve {
    /// The spec of a nested type, or `None` if it is unknown.
    fn resolve(&self, package: &str, name: &str) -> Option<&MsgSpec>;
}

fn primitive_type_id(p: Primitive) -> u8 {
    match p {
        Primitive::Int8 => 2,
        Primitive::UInt8 | Primitive::Char => 3,
        Primitive::Int16 => 4,
        Primitive::UInt16 => 5,
        Primitive::Int32 => 6,
        Primitive::UInt32 => 7,
        Primitive::Int64 => 8,
        Primitive::UInt64 => 9,
        Primitive::Float32 => 10,
        Primitive::Float64 => 11,
        Primitive::Bool => 15,
        Primitive::Byte => 16,
    }
}

/// The `type_id`, `capacity`, `string_capacity` and `nested_type_name` of a field.
fn field_type_parts(ty: &FieldType) -> (u8, u32, u32, String) {
    let (base_id, string_capacity, nested) = match &ty.base {
        BaseType::Primitive(p) => (primitive_type_id(*p), 0, String::new()),
        BaseType::String { bound: None } => (17, 0, String::new()),
        BaseType::String { bound: Some(b) } => (21, *b, String::new()),
        BaseType::Nested { package, name } => (1, 0, format!("{package}/msg/{name}")),
    };
    let (offset, capacity) = match ty.array {
        ArrayKind::Single => (0, 0),
        ArrayKind::Fixed(n) => (48, n),
        ArrayKind::Bounded(n) => (96, n),
        ArrayKind::Unbounded => (144, 0),
    };
    (base_id + offset, capacity, string_capacity, nested)
}

fn write_individual(out: &mut String, spec: &MsgSpec) {
    let _ = write!(
        out,
        "{{\"type_name\": \"{}\", \"fields\": [",
        spec.full_name()
    );
    for (i, field) in spec.fields.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let (type_id, capacity, string_capacity, nested) = field_type_parts(&field.ty);
        let _ = write!(
            out,
            "{{\"name\": \"{}\", \"type\": {{\"type_id\": {type_id}, \"capacity\": {capacity}, \
             \"string_capacity\": {string_capacity}, \"nested_type_name\": \"{nested}\"}}}}",
            field.name
        );
    }
    out.push_str("]}");
}

/// Collects every type `spec` references, directly or not, keyed by full name.
pub fn referenced_types<'a>(
    spec: &'a MsgSpec,
    resolver: &'a impl Resolve,
) -> Result<BTreeMap<String, &'a MsgSpec>, String> {
    let mut found = BTreeMap::new();
    let mut stack = vec![spec];
    while let Some(current) = stack.pop() {
        for field in &current.fields {
            if let BaseType::Nested { package, name } = &field.ty.base {
                let full = format!("{package}/msg/{name}");
                if found.contains_key(&full) {
                    continue;
                }
                let nested = resolver.resolve(package, name).ok_or_else(|| {
                    format!(
                        "{}: field `{}` has unknown type {package}/{name}",
                        current.full_name(),
                        field.name
                    )
                })?;
                found.insert(full, nested);
                stack.push(nested);
            }
        }
    }
    Ok(found)
}

/// The JSON text that is hashed (the type description without defaults).
pub fn hashable_description(spec: &MsgSpec, resolver: &impl Resolve) -> Result<String, String> {
    let referenced = referenced_types(spec, resolver)?;
    let mut out = String::from("{\"type_description\": ");
    write_individual(&mut out, spec);
    out.push_str(", \"referenced_type_descriptions\": [");
    for (i, nested) in referenced.values().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_individual(&mut out, nested);
    }
    out.push_str("]}");
    Ok(out)
}

/// The `RIHS01_...` hash of a message type.
pub fn rihs01(spec: &MsgSpec, resolver: &impl Resolve) -> Result<String, String> {
    let text = hashable_description(spec, resolver)?;
    let digest = Sha256::digest(text.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    Ok(format!("RIHS01_{hex}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_msg;

    struct NoDeps;
    impl Resolve for NoDeps {
        fn resolve(&self, _: &str, _: &str) -> Option<&MsgSpec> {
            None
        }
    }

    #[test]
    fn std_msgs_string_matches_ros() {
        let spec = parse_msg("std_msgs", "String", "string data\n").expect("parses");
        assert_eq!(
            rihs01(&spec, &NoDeps).expect("hashes"),
            "RIHS01_df668c740482bbd48fb39d76a70dfd4bd59db1288021743503259e948f6b1a18"
        );
    }

    #[test]
    fn unknown_nested_type_is_an_error() {
        let spec = parse_msg("p", "T", "q/Missing m\n").expect("parses");
        let err = rihs01(&spec, &NoDeps).expect_err("unknown type");
        assert!(err.contains("q/Missing"), "{err}");
    }
}
