//! Generates rosync message types from ROS 2 `.msg` files, in pure Rust (no ROS install).
//!
//! Each `.msg` file becomes a struct deriving serde, `Debug`, `Clone`, `PartialEq` and
//! `Default` (with the `.msg` default values), its constants become associated consts, and it
//! implements `rosync::msg::Message` (ROS type name, REP-2016 RIHS01 hash, MCAP `ros2msg`
//! definition) and, when it has a `std_msgs/Header header` field, `rosync::msg::Stamped`.
//! Each `.srv` file becomes `Name_Request` and `Name_Response` messages and a unit struct
//! `Name` implementing `rosync::msg::Service` with the service's RIHS01 hash.
//!
//! Use it from your own `build.rs` with one call:
//!
//! ```no_run
//! // In build.rs, where `msgs/` holds one folder per package (msgs/my_robot_msgs/Status.msg):
//! rosync_msggen::generate("msgs").expect("message generation failed");
//! ```
//!
//! and include the result once in your crate with `rosync::include_msgs!();`, which defines a
//! module per package (`my_robot_msgs::Status`). Types from rosync's own packages
//! (`std_msgs/Header`, `geometry_msgs/Pose`, ...) can be used in your fields directly.

pub mod hash;
pub mod parse;
mod rust;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use parse::{parse_msg, parse_srv, MsgSpec, SrvSpec};

/// The file name [`generate`] writes into `OUT_DIR` and `rosync::include_msgs!` reads.
pub const OUT_FILE: &str = "rosync_msgs.rs";

/// A generation failure, naming the file or type at fault.
#[derive(Debug)]
pub enum Error {
    /// A file or folder could not be read or written.
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A `.msg` file did not parse.
    Parse(parse::ParseError),
    /// A type could not be generated (unknown nested type, bad default, ...).
    Invalid(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Self::Parse(e) => write!(f, "{e}"),
            Self::Invalid(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

/// All known message specs, by package then type name.
#[derive(Debug, Default)]
pub struct Index {
    packages: BTreeMap<String, BTreeMap<String, MsgSpec>>,
    services: BTreeMap<String, BTreeMap<String, SrvSpec>>,
}

impl hash::Resolve for Index {
    fn resolve(&self, package: &str, name: &str) -> Option<&MsgSpec> {
        self.packages.get(package)?.get(name)
    }
}

impl Index {
    /// Adds every package found under `dir` (a package folder or a folder of packages).
    pub fn load_dir(&mut self, dir: &Path) -> Result<Vec<String>, Error> {
        let io = |source| Error::Io {
            path: dir.to_path_buf(),
            source,
        };
        let mut packages = Vec::new();
        if has_msg_files(dir).map_err(io)? {
            packages.push(self.load_package(dir)?);
            return Ok(packages);
        }
        let mut entries: Vec<PathBuf> = fs::read_dir(dir)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        entries.sort();
        for sub in entries {
            // Both `pkg/Type.msg` and the ROS layout `pkg/msg/Type.msg`, `pkg/srv/Type.srv`
            // are accepted.
            let io_sub = |source| Error::Io {
                path: sub.clone(),
                source,
            };
            if has_msg_files(&sub).map_err(io_sub)? {
                packages.push(self.load_package(&sub)?);
                continue;
            }
            let name = file_name(&sub);
            let mut found = false;
            for layout in ["msg", "srv"] {
                let dir = sub.join(layout);
                if dir.is_dir() && has_msg_files(&dir).map_err(io_sub)? {
                    self.load_package_named(&dir, &name)?;
                    found = true;
                }
            }
            if found {
                packages.push(name);
            }
        }
        Ok(packages)
    }

    fn load_package(&mut self, dir: &Path) -> Result<String, Error> {
        let name = file_name(dir);
        self.load_package_named(dir, &name)
    }

    fn load_package_named(&mut self, dir: &Path, package: &str) -> Result<String, Error> {
        let io = |path: &Path, source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut files: Vec<PathBuf> = fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| is_interface_file(p))
            .collect();
        files.sort();
        self.packages.entry(package.to_string()).or_default();
        self.services.entry(package.to_string()).or_default();
        for file in files {
            let text = fs::read_to_string(&file).map_err(|e| io(&file, e))?;
            let type_name = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            if file.extension().is_some_and(|x| x == "srv") {
                let srv = parse_srv(package, &type_name, &text).map_err(Error::Parse)?;
                self.services
                    .entry(package.to_string())
                    .or_default()
                    .insert(type_name, srv);
            } else {
                let spec = parse_msg(package, &type_name, &text).map_err(Error::Parse)?;
                self.packages
                    .entry(package.to_string())
                    .or_default()
                    .insert(type_name, spec);
            }
        }
        Ok(package.to_string())
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// True for a `.msg` or `.srv` file.
fn is_interface_file(path: &Path) -> bool {
    path.extension().is_some_and(|x| x == "msg" || x == "srv")
}

/// True when the folder holds `.msg` or `.srv` files.
fn has_msg_files(dir: &Path) -> std::io::Result<bool> {
    Ok(fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .any(|e| is_interface_file(&e.path())))
}

/// Configures and runs message generation.
#[derive(Debug, Clone)]
pub struct Builder {
    dirs: Vec<PathBuf>,
    runtime: String,
    with_rosync_msgs: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// A builder for a crate that depends on rosync.
    pub fn new() -> Self {
        Self {
            dirs: Vec::new(),
            runtime: "::rosync".to_string(),
            with_rosync_msgs: true,
        }
    }

    /// Adds a folder of packages (or one package folder) to generate.
    pub fn msgs_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dirs.push(dir.into());
        self
    }

    /// Sets the path of the rosync crate in generated code (`crate` inside rosync itself).
    pub fn runtime_path(mut self, path: &str) -> Self {
        self.runtime = path.to_string();
        self
    }

    /// Whether rosync's own packages (std_msgs, geometry_msgs, ...) are known for references.
    pub fn with_rosync_msgs(mut self, yes: bool) -> Self {
        self.with_rosync_msgs = yes;
        self
    }

    /// Generates the Rust source for every package in the configured folders.
    pub fn generate_source(&self) -> Result<String, Error> {
        let mut index = Index::default();
        if self.with_rosync_msgs {
            index.load_dir(&rosync_msgs_dir())?;
        }
        let mut local = BTreeSet::new();
        for dir in &self.dirs {
            for package in index.load_dir(dir)? {
                local.insert(package);
            }
        }
        let ctx = rust::Context {
            runtime: &self.runtime,
            local: &local,
            index: &index,
        };
        let mut out =
            String::from("// Generated by rosync-msggen from .msg files. Do not edit.\n\n");
        let no_services = BTreeMap::new();
        for package in &local {
            let Some(specs) = index.packages.get(package) else {
                continue;
            };
            let services = index.services.get(package).unwrap_or(&no_services);
            out.push_str(&format!(
                "/// Messages and services of the ROS 2 package `{package}`.\n"
            ));
            out.push_str("#[allow(clippy::derivable_impls, non_camel_case_types)]\n");
            out.push_str(&format!("pub mod {package} {{\n"));
            for spec in specs.values() {
                rust::emit_message(&mut out, spec, &ctx).map_err(Error::Invalid)?;
            }
            for srv in services.values() {
                rust::emit_service(&mut out, srv, &ctx).map_err(Error::Invalid)?;
            }
            let rt = &self.runtime;
            out.push_str(&format!(
                "    /// Every message type of `{package}` (services' requests and responses \
                 included), for lookup by name.\n    pub const TYPES: &[{rt}::msg::DynType] = &[\n"
            ));
            let message_names = specs.values().map(|spec| spec.name.clone());
            let service_parts = services
                .values()
                .flat_map(|srv| [srv.request.name.clone(), srv.response.name.clone()]);
            for name in message_names.chain(service_parts) {
                out.push_str(&format!("        {rt}::msg::DynType::of::<{name}>(),\n"));
            }
            out.push_str("    ];\n");
            out.push_str(&format!(
                "    /// Every service type of `{package}`, for lookup by name.\n    pub const SERVICES: &[{rt}::msg::DynService] = &[\n"
            ));
            for srv in services.values() {
                out.push_str(&format!(
                    "        {rt}::msg::DynService::of::<{}>(),\n",
                    srv.name
                ));
            }
            out.push_str("    ];\n}\n\n");
        }
        Ok(out)
    }

    /// Generates into `OUT_DIR/rosync_msgs.rs` and tells cargo to rerun when a folder changes.
    pub fn generate(&self) -> Result<PathBuf, Error> {
        let out_dir = std::env::var_os("OUT_DIR")
            .map(PathBuf::from)
            .ok_or_else(|| {
                Error::Invalid("OUT_DIR is not set: call this from a build script".into())
            })?;
        let path = out_dir.join(OUT_FILE);
        self.generate_to(&path)?;
        for dir in &self.dirs {
            println!("cargo:rerun-if-changed={}", dir.display());
        }
        Ok(path)
    }

    /// Generates into the given file, replacing it whole (never rewriting it in place, so a
    /// copy of a target folder made with hard links is never changed through this one).
    pub fn generate_to(&self, path: &Path) -> Result<(), Error> {
        let source = self.generate_source()?;
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        fs::write(&partial, source).map_err(io)?;
        fs::rename(&partial, path).map_err(io)
    }
}

/// Generates the packages under `dir` into `OUT_DIR` for a crate that depends on rosync.
pub fn generate(dir: impl Into<PathBuf>) -> Result<PathBuf, Error> {
    Builder::new().msgs_dir(dir).generate()
}

/// The folder holding rosync's own `.msg` packages.
pub fn rosync_msgs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}
