//! The `.msg` parser: ROS 2 interface definition text to a typed [`MsgSpec`].

use std::fmt;

/// A built-in scalar type of the ROS 2 interface language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Primitive {
    /// `bool`
    Bool,
    /// `byte` (an opaque octet)
    Byte,
    /// `char` (an 8-bit character, `uint8` on the wire)
    Char,
    /// `int8`
    Int8,
    /// `uint8`
    UInt8,
    /// `int16`
    Int16,
    /// `uint16`
    UInt16,
    /// `int32`
    Int32,
    /// `uint32`
    UInt32,
    /// `int64`
    Int64,
    /// `uint64`
    UInt64,
    /// `float32`
    Float32,
    /// `float64`
    Float64,
}

impl Primitive {
    /// Looks up a primitive by its `.msg` spelling.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "bool" => Self::Bool,
            "byte" => Self::Byte,
            "char" => Self::Char,
            "int8" => Self::Int8,
            "uint8" => Self::UInt8,
            "int16" => Self::Int16,
            "uint16" => Self::UInt16,
            "int32" => Self::Int32,
            "uint32" => Self::UInt32,
            "int64" => Self::Int64,
            "uint64" => Self::UInt64,
            "float32" => Self::Float32,
            "float64" => Self::Float64,
            _ => return None,
        })
    }

    /// The Rust type that holds it.
    pub fn rust_type(self) -> &'static str {
        match self {
            Self::Bool => "bool",
            Self::Byte | Self::Char | Self::UInt8 => "u8",
            Self::Int8 => "i8",
            Self::Int16 => "i16",
            Self::UInt16 => "u16",
            Self::Int32 => "i32",
            Self::UInt32 => "u32",
            Self::Int64 => "i64",
            Self::UInt64 => "u64",
            Self::Float32 => "f32",
            Self::Float64 => "f64",
        }
    }

    /// True for the one-byte types whose sequences are carried as raw bytes.
    pub fn is_octet(self) -> bool {
        matches!(self, Self::Byte | Self::Char | Self::UInt8)
    }

    fn is_float(self) -> bool {
        matches!(self, Self::Float32 | Self::Float64)
    }
}

/// The element type of a field, before any array suffix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaseType {
    /// A built-in scalar.
    Primitive(Primitive),
    /// `string` or `string<=N`.
    String {
        /// The bound N of `string<=N`.
        bound: Option<u32>,
    },
    /// Another message, `package/Type`.
    Nested {
        /// Its package.
        package: String,
        /// Its type name.
        name: String,
    },
}

/// The array suffix of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArrayKind {
    /// No suffix: a single value.
    Single,
    /// `[N]`: exactly N values.
    Fixed(u32),
    /// `[<=N]`: at most N values.
    Bounded(u32),
    /// `[]`: any number of values.
    Unbounded,
}

/// A field's full type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldType {
    /// The element type.
    pub base: BaseType,
    /// Single value, fixed array or sequence.
    pub array: ArrayKind,
}

/// One field of a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Its type.
    pub ty: FieldType,
    /// Its name (snake_case).
    pub name: String,
    /// Its default value as written in the `.msg` file, if any.
    pub default: Option<String>,
    /// The comment on its line or the line above, if any.
    pub doc: Option<String>,
}

/// One constant of a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Constant {
    /// Its type (a primitive or a string).
    pub ty: BaseType,
    /// Its name (UPPER_CASE).
    pub name: String,
    /// Its value as written.
    pub value: String,
    /// The comment on its line or the line above, if any.
    pub doc: Option<String>,
}

/// A parsed `.msg` file.
#[derive(Debug, Clone, PartialEq)]
pub struct MsgSpec {
    /// The package, e.g. `sensor_msgs`.
    pub package: String,
    /// The type name, e.g. `Image` (`AddTwoInts_Request` for a service's request).
    pub name: String,
    /// `msg` for a message, `srv` for a service's request or response.
    pub interface: &'static str,
    /// The fields in wire order.
    pub fields: Vec<Field>,
    /// The constants in declaration order.
    pub constants: Vec<Constant>,
    /// The file's text, as written.
    pub text: String,
    /// The file's first comment line, if it opens with one.
    pub doc: Option<String>,
}

impl MsgSpec {
    /// The ROS 2 type name, `package/msg/Type` (`package/srv/Type_Request` in a service).
    pub fn full_name(&self) -> String {
        format!("{}/{}/{}", self.package, self.interface, self.name)
    }
}

/// A parsed `.srv` file: a request and a response message.
#[derive(Debug, Clone, PartialEq)]
pub struct SrvSpec {
    /// The package, e.g. `std_srvs`.
    pub package: String,
    /// The service type name, e.g. `Trigger`.
    pub name: String,
    /// The request message, `Name_Request`.
    pub request: MsgSpec,
    /// The response message, `Name_Response`.
    pub response: MsgSpec,
    /// The file's text, as written.
    pub text: String,
}

impl SrvSpec {
    /// The ROS 2 type name, `package/srv/Type`.
    pub fn full_name(&self) -> String {
        format!("{}/srv/{}", self.package, self.name)
    }
}

/// Parses the text of `package/name.srv`: request fields, a `---` line, response fields.
pub fn parse_srv(package: &str, name: &str, text: &str) -> Result<SrvSpec, ParseError> {
    let mut request_text = String::new();
    let mut response_text = String::new();
    let mut separator_line = None;
    for (index, line) in text.lines().enumerate() {
        if separator_line.is_none() && strip_comment(line).trim() == "---" {
            separator_line = Some(index + 1);
            continue;
        }
        let part = if separator_line.is_some() {
            &mut response_text
        } else {
            &mut request_text
        };
        part.push_str(line);
        part.push('\n');
    }
    let Some(separator_line) = separator_line else {
        return Err(ParseError {
            msg: format!("{package}/srv/{name}"),
            line: text.lines().count().max(1),
            reason: "a .srv file needs a `---` line between request and response".into(),
        });
    };
    let part = |suffix: &str, text: &str, first_line: usize| {
        parse_msg(package, &format!("{name}_{suffix}"), text)
            .map(|mut spec| {
                spec.interface = "srv";
                spec
            })
            .map_err(|mut e| {
                e.msg = format!("{package}/srv/{name}");
                e.line += first_line;
                e
            })
    };
    Ok(SrvSpec {
        package: package.to_string(),
        name: name.to_string(),
        request: part("Request", &request_text, 0)?,
        response: part("Response", &response_text, separator_line)?,
        text: text.to_string(),
    })
}

/// A parse error with the file and line it happened on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// `package/Type` of the file being parsed.
    pub msg: String,
    /// The 1-based line number.
    pub line: usize,
    /// What was wrong.
    pub reason: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}: {}", self.msg, self.line, self.reason)
    }
}

impl std::error::Error for ParseError {}

/// The field rosidl adds to a message that declares none, so that it has a wire form.
pub const EMPTY_STRUCT_FIELD: &str = "structure_needs_at_least_one_member";

/// Parses the text of `package/name.msg`.
pub fn parse_msg(package: &str, name: &str, text: &str) -> Result<MsgSpec, ParseError> {
    let mut spec = MsgSpec {
        package: package.to_string(),
        name: name.to_string(),
        interface: "msg",
        fields: Vec::new(),
        constants: Vec::new(),
        text: text.to_string(),
        doc: None,
    };
    // The comment block just above the current line; a blank line ends it.
    let mut above: Option<String> = None;
    let mut seen_item = false;
    for (index, raw) in text.lines().enumerate() {
        let fail = |reason: String| ParseError {
            msg: format!("{package}/{name}"),
            line: index + 1,
            reason,
        };
        let line = strip_comment(raw).trim();
        let comment = raw[line_end(raw)..].trim_start_matches('#').trim();
        if line.is_empty() {
            if comment.is_empty() {
                above = None;
            } else if above.is_none() {
                above = Some(comment.to_string());
                if !seen_item && spec.doc.is_none() {
                    spec.doc = Some(comment.to_string());
                }
            }
            continue;
        }
        let doc = if comment.is_empty() {
            above.take()
        } else {
            above = None;
            Some(comment.to_string())
        };
        seen_item = true;
        let (type_str, rest) = split_word(line);
        let rest = rest.trim_start();
        if rest.is_empty() {
            return Err(fail(format!("`{line}` has a type but no name")));
        }
        let ty = parse_field_type(type_str, package).map_err(fail)?;
        // A constant is `TYPE NAME=VALUE`; a field is `TYPE name [default]`.
        let name_end = rest
            .find(|c: char| c.is_whitespace() || c == '=')
            .unwrap_or(rest.len());
        let (item_name, after) = rest.split_at(name_end);
        let after = after.trim_start();
        if let Some(value) = after.strip_prefix('=') {
            if ty.array != ArrayKind::Single || matches!(ty.base, BaseType::Nested { .. }) {
                return Err(fail(format!(
                    "constant `{item_name}` must have a primitive or string type"
                )));
            }
            check_identifier(item_name, true).map_err(fail)?;
            let value = value.trim();
            let value = match ty.base {
                BaseType::String { .. } => unquote(value).to_string(),
                _ => value.to_string(),
            };
            if value.is_empty() {
                return Err(fail(format!("constant `{item_name}` has no value")));
            }
            spec.constants.push(Constant {
                ty: ty.base,
                name: item_name.to_string(),
                value,
                doc,
            });
        } else {
            check_identifier(item_name, false).map_err(fail)?;
            let default = if after.is_empty() {
                None
            } else {
                Some(after.to_string())
            };
            spec.fields.push(Field {
                ty,
                name: item_name.to_string(),
                default,
                doc,
            });
        }
    }
    if spec.fields.is_empty() {
        spec.fields.push(Field {
            ty: FieldType {
                base: BaseType::Primitive(Primitive::UInt8),
                array: ArrayKind::Single,
            },
            name: EMPTY_STRUCT_FIELD.to_string(),
            default: None,
            doc: Some("Placeholder member rosidl adds to a message without fields.".into()),
        });
    }
    Ok(spec)
}

/// Removes a `#` comment, leaving `#` inside quotes alone.
fn strip_comment(line: &str) -> &str {
    &line[..line_end(line)]
}

/// The byte index where the `#` comment of a line starts (or its length).
fn line_end(line: &str) -> usize {
    let mut quote: Option<char> = None;
    for (i, c) in line.char_indices() {
        match (c, quote) {
            ('"' | '\'', None) => quote = Some(c),
            (q, Some(open)) if q == open => quote = None,
            ('#', None) => return i,
            _ => {}
        }
    }
    line.len()
}

fn split_word(s: &str) -> (&str, &str) {
    match s.find(char::is_whitespace) {
        Some(i) => s.split_at(i),
        None => (s, ""),
    }
}

fn unquote(s: &str) -> &str {
    for q in ['"', '\''] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return &s[1..s.len() - 1];
        }
    }
    s
}

fn check_identifier(name: &str, constant: bool) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = name.chars().all(|c| {
        c == '_'
            || c.is_ascii_digit()
            || if constant {
                c.is_ascii_uppercase()
            } else {
                c.is_ascii_lowercase()
            }
    });
    if first_ok && rest_ok && !name.ends_with('_') && !name.contains("__") {
        Ok(())
    } else if constant {
        Err(format!(
            "`{name}` is not a valid constant name (UPPER_SNAKE_CASE)"
        ))
    } else {
        Err(format!(
            "`{name}` is not a valid field name (lower_snake_case)"
        ))
    }
}

fn parse_u32(s: &str, what: &str) -> Result<u32, String> {
    s.parse::<u32>()
        .map_err(|_| format!("`{s}` is not a valid {what}"))
}

/// Parses a type such as `float64[9]`, `string<=8[<=3]` or `std_msgs/Header[]`.
pub fn parse_field_type(s: &str, package: &str) -> Result<FieldType, String> {
    let (base_str, array) = match s.find('[') {
        Some(open) => {
            let inner = s[open + 1..]
                .strip_suffix(']')
                .ok_or_else(|| format!("type `{s}` has an unclosed `[`"))?;
            let array = if inner.is_empty() {
                ArrayKind::Unbounded
            } else if let Some(bound) = inner.strip_prefix("<=") {
                ArrayKind::Bounded(parse_u32(bound, "sequence bound")?)
            } else {
                ArrayKind::Fixed(parse_u32(inner, "array size")?)
            };
            (&s[..open], array)
        }
        None => (s, ArrayKind::Single),
    };
    let base = if let Some(p) = Primitive::from_name(base_str) {
        BaseType::Primitive(p)
    } else if base_str == "string" {
        BaseType::String { bound: None }
    } else if let Some(bound) = base_str.strip_prefix("string<=") {
        BaseType::String {
            bound: Some(parse_u32(bound, "string bound")?),
        }
    } else if base_str.starts_with("wstring") {
        return Err(format!("`{base_str}` (wide strings) is not supported"));
    } else if base_str == "time" || base_str == "duration" {
        return Err(format!(
            "`{base_str}` is ROS 1 syntax; use builtin_interfaces/Time or builtin_interfaces/Duration"
        ));
    } else {
        let (pkg, name) = match base_str.split_once('/') {
            Some((pkg, name)) => (pkg.to_string(), name.to_string()),
            None if base_str == "Header" => ("std_msgs".to_string(), "Header".to_string()),
            None => (package.to_string(), base_str.to_string()),
        };
        let name = name
            .strip_prefix("msg/")
            .map(str::to_string)
            .unwrap_or(name);
        let valid =
            |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid(&pkg) || !valid(&name) || !name.starts_with(|c: char| c.is_ascii_uppercase()) {
            return Err(format!("`{base_str}` is not a known type"));
        }
        BaseType::Nested { package: pkg, name }
    };
    Ok(FieldType { base, array })
}

/// Splits an array default such as `[1, 2, 3]` into its items.
pub fn split_array_literal(s: &str) -> Result<Vec<String>, String> {
    let inner = s
        .trim()
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .ok_or_else(|| format!("array default `{s}` must be written as [a, b, ...]"))?;
    let mut items = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    for c in inner.chars() {
        match (c, quote) {
            ('"' | '\'', None) => {
                quote = Some(c);
                current.push(c);
            }
            (q, Some(open)) if q == open => {
                quote = None;
                current.push(c);
            }
            (',', None) => items.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    if !current.trim().is_empty() || !items.is_empty() {
        items.push(current);
    }
    Ok(items.into_iter().map(|i| i.trim().to_string()).collect())
}

/// Checks a scalar literal against its type and returns it as a Rust expression.
pub fn rust_literal(base: &BaseType, value: &str) -> Result<String, String> {
    match base {
        BaseType::Primitive(Primitive::Bool) => match value.to_ascii_lowercase().as_str() {
            "true" | "1" => Ok("true".into()),
            "false" | "0" => Ok("false".into()),
            _ => Err(format!("`{value}` is not a bool")),
        },
        BaseType::Primitive(p) if p.is_float() => {
            let v: f64 = value
                .parse()
                .map_err(|_| format!("`{value}` is not a {}", p.rust_type()))?;
            if !v.is_finite() {
                return Err(format!("`{value}` is not a finite number"));
            }
            Ok(format!("{v:?}_{}", p.rust_type()))
        }
        BaseType::Primitive(p) => {
            let v: i128 = value
                .parse()
                .map_err(|_| format!("`{value}` is not an integer"))?;
            let (lo, hi): (i128, i128) = match p {
                Primitive::Int8 => (i8::MIN.into(), i8::MAX.into()),
                Primitive::Int16 => (i16::MIN.into(), i16::MAX.into()),
                Primitive::UInt16 => (0, u16::MAX.into()),
                Primitive::Int32 => (i32::MIN.into(), i32::MAX.into()),
                Primitive::UInt32 => (0, u32::MAX.into()),
                Primitive::Int64 => (i64::MIN.into(), i64::MAX.into()),
                Primitive::UInt64 => (0, u64::MAX.into()),
                _ => (0, u8::MAX.into()),
            };
            if v < lo || v > hi {
                return Err(format!("`{value}` is out of range for {}", p.rust_type()));
            }
            Ok(format!("{v}_{}", p.rust_type()))
        }
        BaseType::String { bound } => {
            let s = unquote(value.trim());
            if let Some(b) = bound {
                if s.len() > *b as usize {
                    return Err(format!("`{s}` is longer than the bound {b}"));
                }
            }
            Ok(format!("{s:?}"))
        }
        BaseType::Nested { .. } => Err("nested messages cannot have default values".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fields_constants_and_defaults() {
        let text = "# a comment\nuint8 STATUS_FIX=0 # trailing\nstring NAME=\"a#b\"\n\
                    std_msgs/Header header\nfloat64 w 1\nfloat64[9] k\nint32[<=3] s\n\
                    string<=8[] names\nPoint p\n";
        let spec = parse_msg("geometry_msgs", "X", text).expect("parses");
        assert_eq!(spec.constants.len(), 2);
        assert_eq!(spec.constants[1].value, "a#b");
        assert_eq!(spec.fields.len(), 6);
        assert_eq!(spec.fields[1].default.as_deref(), Some("1"));
        assert_eq!(spec.fields[2].ty.array, ArrayKind::Fixed(9));
        assert_eq!(spec.fields[3].ty.array, ArrayKind::Bounded(3));
        assert_eq!(spec.fields[4].ty.base, BaseType::String { bound: Some(8) });
        assert_eq!(
            spec.fields[5].ty.base,
            BaseType::Nested {
                package: "geometry_msgs".into(),
                name: "Point".into()
            }
        );
    }

    #[test]
    fn empty_message_gets_the_rosidl_member() {
        let spec = parse_msg("std_msgs", "Empty", "# nothing\n").expect("parses");
        assert_eq!(spec.fields[0].name, EMPTY_STRUCT_FIELD);
    }

    #[test]
    fn errors_name_the_line() {
        let err = parse_msg("p", "T", "int32 a\nfloat99 b\n").expect_err("bad type");
        assert_eq!(err.line, 2);
        assert!(err.to_string().contains("float99"), "{err}");
        let err = parse_msg("p", "T", "int32 BadName\n").expect_err("bad name");
        assert!(err.reason.contains("BadName"));
    }

    #[test]
    fn literals_are_checked() {
        let u8t = BaseType::Primitive(Primitive::UInt8);
        assert!(rust_literal(&u8t, "256").is_err());
        assert_eq!(rust_literal(&u8t, "7").as_deref(), Ok("7_u8"));
        let f = BaseType::Primitive(Primitive::Float64);
        assert_eq!(rust_literal(&f, "1").as_deref(), Ok("1.0_f64"));
        assert_eq!(
            split_array_literal("[1, 2,3]").expect("splits"),
            vec!["1", "2", "3"]
        );
    }
}
