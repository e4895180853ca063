//! Emits Rust source for parsed message packages.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::hash::{referenced_types, rihs01, service_rihs01, Resolve};
use crate::parse::{
    rust_literal, split_array_literal, ArrayKind, BaseType, Field, FieldType, MsgSpec, SrvSpec,
};
use crate::Index;

const RUST_KEYWORDS: &[&str] = &[
    "as", "async", "await", "box", "break", "const", "continue", "crate", "dyn", "else", "enum",
    "extern", "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move",
    "mut", "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true", "try",
    "type", "unsafe", "use", "where", "while", "yield", "abstract", "become", "do", "final",
    "macro", "override", "priv", "typeof", "unsized", "virtual", "gen",
];

fn ident(name: &str) -> String {
    if RUST_KEYWORDS.contains(&name) {
        format!("r#{name}")
    } else {
        name.to_string()
    }
}

/// Writes one line of doc comment, escaping nothing but keeping it on one line.
fn doc_line(out: &mut String, indent: &str, text: &str) {
    let _ = writeln!(out, "{indent}/// {}", text.replace('\n', " "));
}

/// What the emitted code needs to know about where it lives.
pub(crate) struct Context<'a> {
    /// Path of the rosync crate as seen from the generated code (`::rosync` or `crate`).
    pub runtime: &'a str,
    /// Packages emitted in this run; other packages are rosync's own.
    pub local: &'a BTreeSet<String>,
    /// All known message specs.
    pub index: &'a Index,
}

impl Context<'_> {
    fn type_path(&self, package: &str, name: &str) -> String {
        if self.local.contains(package) {
            format!("super::{package}::{name}")
        } else {
            format!("{}::msg::{package}::{name}", self.runtime)
        }
    }

    fn element_type(&self, base: &BaseType) -> String {
        match base {
            BaseType::Primitive(p) => p.rust_type().to_string(),
            BaseType::String { .. } => "::std::string::String".to_string(),
            BaseType::Nested { package, name } => self.type_path(package, name),
        }
    }

    fn field_type(&self, ty: &FieldType) -> String {
        let element = self.element_type(&ty.base);
        match ty.array {
            ArrayKind::Single => element,
            ArrayKind::Fixed(n) => format!("[{element}; {n}]"),
            ArrayKind::Bounded(_) | ArrayKind::Unbounded => format!("::std::vec::Vec<{element}>"),
        }
    }
}

fn is_octet_sequence(ty: &FieldType) -> bool {
    matches!(ty.base, BaseType::Primitive(p) if p.is_octet())
        && matches!(ty.array, ArrayKind::Bounded(_) | ArrayKind::Unbounded)
}

fn default_expr(field: &Field) -> Result<String, String> {
    let ty = &field.ty;
    let Some(value) = &field.default else {
        return Ok(match ty.array {
            ArrayKind::Fixed(_) => {
                "::core::array::from_fn(|_| ::core::default::Default::default())".to_string()
            }
            _ => "::core::default::Default::default()".to_string(),
        });
    };
    let scalar = |v: &str| -> Result<String, String> {
        let lit = rust_literal(&ty.base, v)?;
        Ok(match ty.base {
            BaseType::String { .. } => format!("::std::string::String::from({lit})"),
            _ => lit,
        })
    };
    match ty.array {
        ArrayKind::Single => scalar(value),
        array => {
            let items = split_array_literal(value)?
                .iter()
                .map(|v| scalar(v))
                .collect::<Result<Vec<_>, _>>()?;
            let n = items.len();
            match array {
                ArrayKind::Fixed(size) if size as usize != n => Err(format!(
                    "default of `{}` has {n} items, the array has {size}",
                    field.name
                )),
                ArrayKind::Bounded(bound) if n > bound as usize => Err(format!(
                    "default of `{}` has {n} items, more than the bound {bound}",
                    field.name
                )),
                ArrayKind::Fixed(_) => Ok(format!("[{}]", items.join(", "))),
                _ => Ok(format!("::std::vec![{}]", items.join(", "))),
            }
        }
    }
}

/// The ros2msg definition: the message's text, then each referenced type's, as MCAP stores it.
fn full_definition(spec: &MsgSpec, index: &Index) -> Result<String, String> {
    let mut out = spec.text.trim_end().to_string();
    out.push('\n');
    let mut seen = BTreeSet::new();
    let mut order = Vec::new();
    collect_preorder(spec, index, &mut seen, &mut order)?;
    for dep in order {
        out.push_str(&"=".repeat(80));
        let _ = writeln!(out, "\nMSG: {}/{}", dep.package, dep.name);
        out.push_str(dep.text.trim_end());
        out.push('\n');
    }
    Ok(out)
}

fn collect_preorder<'a>(
    spec: &MsgSpec,
    index: &'a Index,
    seen: &mut BTreeSet<String>,
    order: &mut Vec<&'a MsgSpec>,
) -> Result<(), String> {
    for field in &spec.fields {
        if let BaseType::Nested { package, name } = &field.ty.base {
            let dep = index
                .resolve(package, name)
                .ok_or_else(|| format!("unknown type {package}/{name}"))?;
            if seen.insert(dep.full_name()) {
                order.push(dep);
                collect_preorder(dep, index, seen, order)?;
            }
        }
    }
    Ok(())
}

/// True when every field is a plain value (no string, no sequence), so the type can be `Copy`.
fn is_copy(spec: &MsgSpec, index: &Index) -> bool {
    spec.fields.iter().all(|field| {
        !matches!(field.ty.array, ArrayKind::Bounded(_) | ArrayKind::Unbounded)
            && match &field.ty.base {
                BaseType::Primitive(_) => true,
                BaseType::String { .. } => false,
                BaseType::Nested { package, name } => index
                    .resolve(package, name)
                    .is_some_and(|nested| is_copy(nested, index)),
            }
    })
}

fn is_header(field: &Field) -> bool {
    field.name == "header"
        && field.ty.array == ArrayKind::Single
        && field.ty.base
            == BaseType::Nested {
                package: "std_msgs".into(),
                name: "Header".into(),
            }
}

/// Emits one message: struct, constants, Default, Message and (with a header) Stamped.
pub(crate) fn emit_message(out: &mut String, spec: &MsgSpec, ctx: &Context) -> Result<(), String> {
    let rt = ctx.runtime;
    let name = &spec.name;
    let full = spec.full_name();
    let hash = rihs01(spec, ctx.index)?;
    // Make sure every referenced type resolves before writing anything.
    referenced_types(spec, ctx.index)?;
    let definition = full_definition(spec, ctx.index)?;

    let doc = spec
        .doc
        .clone()
        .unwrap_or_else(|| format!("The ROS 2 message `{full}`."));
    doc_line(out, "    ", &doc);
    let _ = writeln!(out, "    ///\n    /// ROS 2 type `{full}`.");
    let copy = if is_copy(spec, ctx.index) {
        "Copy, "
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "    #[derive(Debug, Clone, {copy}PartialEq, {rt}::__private::serde::Serialize, {rt}::__private::serde::Deserialize)]"
    );
    let _ = writeln!(
        out,
        "    #[serde(crate = \"{rt}::__private::serde\", default, deny_unknown_fields)]"
    );
    let _ = writeln!(out, "    pub struct {name} {{");
    for field in &spec.fields {
        let what = field
            .doc
            .clone()
            .unwrap_or_else(|| format!("`{}` field `{}`.", type_spelling(&field.ty), field.name));
        doc_line(out, "        ", &what);
        if is_bounded(&field.ty) {
            let (ser, de) = bounded_fn_names(name, &field.name);
            let _ = writeln!(
                out,
                "        #[serde(serialize_with = \"{ser}\", deserialize_with = \"{de}\")]"
            );
        } else if is_octet_sequence(&field.ty) {
            let _ = writeln!(
                out,
                "        #[serde(with = \"{rt}::msg::serde_helpers::bytes\")]"
            );
        } else if let ArrayKind::Fixed(_) = field.ty.array {
            let _ = writeln!(
                out,
                "        #[serde(with = \"{rt}::msg::serde_helpers::array\")]"
            );
        }
        let _ = writeln!(
            out,
            "        pub {}: {},",
            ident(&field.name),
            ctx.field_type(&field.ty)
        );
    }
    let _ = writeln!(out, "    }}\n");
    for field in spec.fields.iter().filter(|f| is_bounded(&f.ty)) {
        emit_bound_checks(out, spec, field, ctx);
    }

    if !spec.constants.is_empty() {
        let _ = writeln!(out, "    impl {name} {{");
        for c in &spec.constants {
            let what = c
                .doc
                .clone()
                .unwrap_or_else(|| format!("Constant `{}`.", c.name));
            doc_line(out, "        ", &what);
            let ty = match &c.ty {
                BaseType::String { .. } => "&'static str".to_string(),
                other => ctx.element_type(other),
            };
            let value = rust_literal(&c.ty, &c.value)
                .map_err(|e| format!("{full}: constant {}: {e}", c.name))?;
            let _ = writeln!(out, "        pub const {}: {ty} = {value};", c.name);
        }
        let _ = writeln!(out, "    }}\n");
    }

    let _ = writeln!(out, "    impl ::core::default::Default for {name} {{");
    let _ = writeln!(out, "        fn default() -> Self {{\n            Self {{");
    for field in &spec.fields {
        let value = default_expr(field).map_err(|e| format!("{full}: {e}"))?;
        let _ = writeln!(out, "                {}: {value},", ident(&field.name));
    }
    let _ = writeln!(out, "            }}\n        }}\n    }}\n");

    let _ = writeln!(out, "    impl {rt}::msg::Message for {name} {{");
    let _ = writeln!(out, "        const TYPE_NAME: &'static str = {full:?};");
    let _ = writeln!(out, "        const TYPE_HASH: &'static str = {hash:?};");
    let _ = writeln!(
        out,
        "        const DEFINITION: &'static str = {definition:?};"
    );
    let _ = writeln!(out, "    }}\n");

    if spec.fields.iter().any(is_header) {
        let header = ctx.type_path("std_msgs", "Header");
        let _ = writeln!(out, "    impl {rt}::msg::Stamped for {name} {{");
        let _ = writeln!(
            out,
            "        fn header(&self) -> &{header} {{\n            &self.header\n        }}"
        );
        let _ = writeln!(out, "    }}\n");
    }
    Ok(())
}

/// Emits one service: its request and response messages and the service type.
pub(crate) fn emit_service(out: &mut String, srv: &SrvSpec, ctx: &Context) -> Result<(), String> {
    emit_message(out, &srv.request, ctx)?;
    emit_message(out, &srv.response, ctx)?;
    let rt = ctx.runtime;
    let name = &srv.name;
    let full = srv.full_name();
    let hash = service_rihs01(srv, ctx.index)?;
    let _ = writeln!(
        out,
        "    /// The ROS 2 service `{full}`: request [`{name}_Request`], response [`{name}_Response`]."
    );
    let _ = writeln!(
        out,
        "    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]\n    pub struct {name};\n"
    );
    let _ = writeln!(out, "    impl {rt}::msg::Service for {name} {{");
    let _ = writeln!(out, "        type Request = {name}_Request;");
    let _ = writeln!(out, "        type Response = {name}_Response;");
    let _ = writeln!(out, "        const TYPE_NAME: &'static str = {full:?};");
    let _ = writeln!(out, "        const TYPE_HASH: &'static str = {hash:?};");
    let definition = srv.text.as_str();
    let _ = writeln!(
        out,
        "        const DEFINITION: &'static str = {definition:?};"
    );
    let _ = writeln!(out, "    }}\n");
    Ok(())
}

/// True for `string<=N` fields (alone or in arrays) and `T[<=N]` sequences.
fn is_bounded(ty: &FieldType) -> bool {
    matches!(ty.base, BaseType::String { bound: Some(_) })
        || matches!(ty.array, ArrayKind::Bounded(_))
}

/// The generated (de)serializer functions of a bounded field.
fn bounded_fn_names(message: &str, field: &str) -> (String, String) {
    (
        format!("__serialize_bounded_{message}_{field}"),
        format!("__deserialize_bounded_{message}_{field}"),
    )
}

/// Emits the serializer and deserializer of a bounded field: the usual ones, with the bound
/// checked before encoding and after decoding (an error naming the field either way).
fn emit_bound_checks(out: &mut String, spec: &MsgSpec, field: &Field, ctx: &Context) {
    let rt = ctx.runtime;
    let ty = ctx.field_type(&field.ty);
    let (ser, de) = bounded_fn_names(&spec.name, &field.name);
    let helpers = format!("{rt}::msg::serde_helpers");
    let (inner_ser, inner_de) = if is_octet_sequence(&field.ty) {
        (
            format!("{helpers}::bytes::serialize"),
            format!("{helpers}::bytes::deserialize"),
        )
    } else if let ArrayKind::Fixed(_) = field.ty.array {
        (
            format!("{helpers}::array::serialize"),
            format!("{helpers}::array::deserialize"),
        )
    } else {
        (
            format!("{rt}::__private::serde::Serialize::serialize"),
            format!("<{ty} as {rt}::__private::serde::Deserialize>::deserialize"),
        )
    };
    let name = format!("{}.{}", spec.full_name(), field.name);
    let mut checks = Vec::new();
    if let ArrayKind::Bounded(n) = field.ty.array {
        checks.push(format!(
            "{helpers}::bounded::check_len(value.len(), {n}, {name:?})"
        ));
    }
    if let BaseType::String { bound: Some(m) } = field.ty.base {
        checks.push(match field.ty.array {
            ArrayKind::Single => format!("{helpers}::bounded::check_string(value, {m}, {name:?})"),
            _ => format!("{helpers}::bounded::check_strings(&value[..], {m}, {name:?})"),
        });
    }
    let check = checks.join(".and_then(|()| ") + &")".repeat(checks.len() - 1);
    let serde = format!("{rt}::__private::serde");
    let _ = writeln!(
        out,
        "    #[allow(non_snake_case, clippy::ptr_arg)]\n    fn {ser}<S: {serde}::Serializer>(value: &{ty}, serializer: S) -> ::core::result::Result<S::Ok, S::Error> {{\n        {check}.map_err(<S::Error as {serde}::ser::Error>::custom)?;\n        {inner_ser}(value, serializer)\n    }}\n"
    );
    let _ = writeln!(
        out,
        "    #[allow(non_snake_case)]\n    fn {de}<'de, D: {serde}::Deserializer<'de>>(deserializer: D) -> ::core::result::Result<{ty}, D::Error> {{\n        let value: {ty} = {inner_de}(deserializer)?;\n        {{\n            let value = &value;\n            {check}.map_err(<D::Error as {serde}::de::Error>::custom)?;\n        }}\n        ::core::result::Result::Ok(value)\n    }}\n"
    );
}

/// The `.msg` spelling of a field type, for generated docs.
fn type_spelling(ty: &FieldType) -> String {
    let base = match &ty.base {
        BaseType::Primitive(p) => format!("{p:?}").to_lowercase(),
        BaseType::String { bound: None } => "string".to_string(),
        BaseType::String { bound: Some(b) } => format!("string<={b}"),
        BaseType::Nested { package, name } => format!("{package}/{name}"),
    };
    match ty.array {
        ArrayKind::Single => base,
        ArrayKind::Fixed(n) => format!("{base}[{n}]"),
        ArrayKind::Bounded(n) => format!("{base}[<={n}]"),
        ArrayKind::Unbounded => format!("{base}[]"),
    }
}
