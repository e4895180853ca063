//! REP-2016 type hashes (`RIHS01_<sha256>`) from parsed message definitions.
//!
//! The hash is the SHA-256 of the type description (the message and every type it references,
//! field names and types only, no defaults or comments) written as compact JSON with `", "` and
//! `": "` separators, exactly as rosidl writes it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::parse::{ArrayKind, BaseType, FieldType, MsgSpec, Primitive, SrvSpec};

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
type FieldTypeParts = (u8, u32, u32, String);

/// A field's name and type parts, as a type description lists it.
type DescribedField<'a> = (&'a str, FieldTypeParts);

/// The type parts of a field's type.
fn field_type_parts(ty: &FieldType) -> FieldTypeParts {
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
    let fields: Vec<DescribedField> = spec
        .fields
        .iter()
        .map(|field| (field.name.as_str(), field_type_parts(&field.ty)))
        .collect();
    write_description(out, &spec.full_name(), &fields);
}

/// One type's description: its name and each field's name, type id, capacities and nested type.
fn write_description(out: &mut String, type_name: &str, fields: &[DescribedField]) {
    let _ = write!(out, "{{\"type_name\": \"{type_name}\", \"fields\": [");
    for (i, (name, (type_id, capacity, string_capacity, nested))) in fields.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(
            out,
            "{{\"name\": \"{name}\", \"type\": {{\"type_id\": {type_id}, \"capacity\": {capacity}, \
             \"string_capacity\": {string_capacity}, \"nested_type_name\": \"{nested}\"}}}}"
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
    Ok(rihs01_of_text(&hashable_description(spec, resolver)?))
}

/// The package and type of the message every service event carries (`info`).
pub const SERVICE_EVENT_INFO: (&str, &str) = ("service_msgs", "ServiceEventInfo");

/// The JSON text hashed for a service, as rosidl describes it: the service type with the
/// fields `request_message`, `response_message` and `event_message`, and among the referenced
/// types the event message `Name_Event` (`service_msgs/ServiceEventInfo info`,
/// `Name_Request[<=1] request`, `Name_Response[<=1] response`).
pub fn service_hashable_description(
    srv: &SrvSpec,
    resolver: &impl Resolve,
) -> Result<String, String> {
    let (info_package, info_name) = SERVICE_EVENT_INFO;
    let info = resolver.resolve(info_package, info_name).ok_or_else(|| {
        format!(
            "{}: the service event type {info_package}/msg/{info_name} is unknown",
            srv.full_name()
        )
    })?;
    let full = srv.full_name();
    let request = srv.request.full_name();
    let response = srv.response.full_name();
    let event = format!("{full}_Event");
    let nested = |type_id: u8, capacity: u32, name: &str| (type_id, capacity, 0, name.to_string());
    let mut referenced: BTreeMap<String, String> = BTreeMap::new();
    for spec in [&srv.request, &srv.response, info] {
        let mut text = String::new();
        write_individual(&mut text, spec);
        referenced.insert(spec.full_name(), text);
        for (name, dep) in referenced_types(spec, resolver)? {
            let mut text = String::new();
            write_individual(&mut text, dep);
            referenced.insert(name, text);
        }
    }
    let mut text = String::new();
    let info_full = info.full_name();
    write_description(
        &mut text,
        &event,
        &[
            ("info", nested(1, 0, &info_full)),
            ("request", nested(1 + 96, 1, &request)),
            ("response", nested(1 + 96, 1, &response)),
        ],
    );
    referenced.insert(event.clone(), text);
    let mut out = String::from("{\"type_description\": ");
    write_description(
        &mut out,
        &full,
        &[
            ("request_message", nested(1, 0, &request)),
            ("response_message", nested(1, 0, &response)),
            ("event_message", nested(1, 0, &event)),
        ],
    );
    out.push_str(", \"referenced_type_descriptions\": [");
    out.push_str(&referenced.into_values().collect::<Vec<_>>().join(", "));
    out.push_str("]}");
    Ok(out)
}

/// The `RIHS01_...` hash of a service type.
pub fn service_rihs01(srv: &SrvSpec, resolver: &impl Resolve) -> Result<String, String> {
    Ok(rihs01_of_text(&service_hashable_description(
        srv, resolver,
    )?))
}

/// `RIHS01_` and the hex SHA-256 of a hashable description.
fn rihs01_of_text(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    format!("RIHS01_{hex}")
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

    /// The messages a service hash needs: the event info and its stamp.
    struct ServiceDeps(Vec<MsgSpec>);
    impl Resolve for ServiceDeps {
        fn resolve(&self, package: &str, name: &str) -> Option<&MsgSpec> {
            self.0
                .iter()
                .find(|s| s.package == package && s.name == name)
        }
    }

    fn service_deps() -> ServiceDeps {
        let info = "uint8 REQUEST_SENT = 0\nuint8 event_type\nbuiltin_interfaces/Time stamp\n\
                    char[16] client_gid\nint64 sequence_number\n";
        ServiceDeps(vec![
            parse_msg("service_msgs", "ServiceEventInfo", info).expect("parses"),
            parse_msg("builtin_interfaces", "Time", "int32 sec\nuint32 nanosec\n").expect("parses"),
        ])
    }

    #[test]
    fn service_hashes_match_ros() {
        // AddTwoInts: the fact; the others from rosbags' hasher
        // (tests/python/service_hashes.py) and agree with `ros2 service info` output.
        let deps = service_deps();
        for (package, name, text, expected) in [
            (
                "example_interfaces",
                "AddTwoInts",
                "int64 a\nint64 b\n---\nint64 sum\n",
                "RIHS01_e118de6bf5eeb66a2491b5bda11202e7b68f198d6f67922cf30364858239c81a",
            ),
            (
                "std_srvs",
                "Trigger",
                "---\nbool success\nstring message\n",
                "RIHS01_eeff2cd6fa5ad9d27cdf4dec64818317839b62f212a91e6b5304b634b2062c5f",
            ),
            (
                "std_srvs",
                "SetBool",
                "bool data # comment\n---\nbool success\nstring message\n",
                "RIHS01_abe9e4bb6b41b40e6789712c00ec8871923e089af3f667a79992a428cff2da0a",
            ),
            (
                "std_srvs",
                "Empty",
                "---\n",
                "RIHS01_5888399dedec5ccc85ea6451949fd2c9f97bfdf963f9a588821639fcd31b5d19",
            ),
        ] {
            let srv = crate::parse::parse_srv(package, name, text).expect("parses");
            assert_eq!(
                srv.request.full_name(),
                format!("{package}/srv/{name}_Request")
            );
            assert_eq!(
                service_rihs01(&srv, &deps).expect("hashes"),
                expected,
                "{package}/srv/{name}"
            );
        }
    }

    #[test]
    fn service_without_event_info_or_separator_is_an_error() {
        let srv = crate::parse::parse_srv("p", "S", "---\n").expect("parses");
        let err = service_rihs01(&srv, &NoDeps).expect_err("no event info");
        assert!(err.contains("ServiceEventInfo"), "{err}");
        let err = crate::parse::parse_srv("p", "S", "int32 a\n").expect_err("no ---");
        assert!(err.to_string().contains("---"), "{err}");
        let err = crate::parse::parse_srv("p", "S", "int32 a\n---\nfloat99 b\n").expect_err("bad");
        assert_eq!(err.line, 3, "{err}");
    }

    #[test]
    fn unknown_nested_type_is_an_error() {
        let spec = parse_msg("p", "T", "q/Missing m\n").expect("parses");
        let err = rihs01(&spec, &NoDeps).expect_err("unknown type");
        assert!(err.contains("q/Missing"), "{err}");
    }
}
