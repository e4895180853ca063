//! Endpoint checks before zenoh sees them: syntax, a protocol rosync is built with, and a
//! `host:port` address with a port in range, each failure said in rosync's words.

use crate::error::{Error, Result};

/// The transport protocols rosync's zenoh is built with.
pub const PROTOCOLS: [&str; 2] = ["tcp", "udp"];

/// What an endpoint is for: port 0 (any free port) makes sense only to listen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// `--connect`: a port of 1 to 65535.
    Connect,
    /// `--listen`: a port of 0 to 65535.
    Listen,
}

impl Role {
    /// The command-line option that gives such endpoints.
    pub(crate) fn option(self) -> &'static str {
        match self {
            Self::Connect => "--connect",
            Self::Listen => "--listen",
        }
    }
}

/// Checks an endpoint given with `--connect` or `--listen`; the error names the option, the
/// endpoint and what is wrong with it.
pub(crate) fn validate(endpoint: &str, role: Role) -> Result<()> {
    check(endpoint, role).map_err(|why| {
        Error::Config(format!(
            "invalid {} endpoint `{endpoint}`: {why}",
            role.option()
        ))
    })
}

/// What is wrong with `endpoint` for `role`, if anything.
pub(crate) fn check(endpoint: &str, role: Role) -> std::result::Result<(), String> {
    let bad = |why: String| Err(why);
    let Ok(parsed) = endpoint.parse::<zenoh::config::EndPoint>() else {
        return bad("expected PROTOCOL/HOST:PORT, e.g. tcp/192.168.1.5:7447".into());
    };
    let protocol = parsed.protocol();
    let protocol = protocol.as_str();
    if !PROTOCOLS.contains(&protocol) {
        return bad(format!(
            "unsupported protocol `{protocol}` (rosync supports {})",
            PROTOCOLS.join(" and ")
        ));
    }
    let address = parsed.address();
    let address = address.as_str();
    let Some((host, port)) = address.rsplit_once(':') else {
        return bad(format!("`{address}` has no port (expected HOST:PORT)"));
    };
    let host_ok = match host.strip_prefix('[') {
        Some(v6) => v6.strip_suffix(']').is_some_and(|ip| !ip.is_empty()),
        None => !host.is_empty() && !host.contains(':'),
    };
    if !host_ok {
        return bad(format!("`{host}` is not a host name or IP address"));
    }
    let lowest = if role == Role::Listen { 0 } else { 1 };
    match port.parse::<u32>() {
        Ok(p) if p >= lowest && p <= u32::from(u16::MAX) => Ok(()),
        Ok(p) => bad(format!("port {p} is out of range ({lowest} to 65535)")),
        Err(_) => bad(format!("port `{port}` is not a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_endpoints_pass() {
        for ep in [
            "tcp/127.0.0.1:7447",
            "tcp/localhost:7447",
            "udp/192.168.1.5:7447",
            "tcp/[::1]:7447",
            "tcp/192.168.1.5:7447#iface=eth0",
        ] {
            assert!(validate(ep, Role::Connect).is_ok(), "{ep}");
        }
        assert!(validate("tcp/127.0.0.1:0", Role::Listen).is_ok());
    }

    #[test]
    fn bad_endpoints_say_why() {
        for (ep, role, why) in [
            (
                "tcp/127.0.0.1:99999",
                Role::Connect,
                "port 99999 is out of range (1 to 65535)",
            ),
            (
                "tcp/127.0.0.1:65536",
                Role::Listen,
                "port 65536 is out of range (0 to 65535)",
            ),
            ("tcp/127.0.0.1:0", Role::Connect, "port 0 is out of range"),
            (
                "tcp/127.0.0.1:-1",
                Role::Connect,
                "port `-1` is not a number",
            ),
            ("tcp/127.0.0.1", Role::Connect, "has no port"),
            ("tcp/:7447", Role::Connect, "is not a host name"),
            ("tcp/::1:7447", Role::Connect, "is not a host name"),
            (
                "foo/127.0.0.1:7447",
                Role::Connect,
                "unsupported protocol `foo`",
            ),
            (
                "not-an-endpoint",
                Role::Listen,
                "expected PROTOCOL/HOST:PORT",
            ),
        ] {
            let err = validate(ep, role).expect_err(ep).to_string();
            assert!(err.contains(&format!("`{ep}`")), "{err}");
            assert!(err.contains(why), "{ep}: {err}");
            assert!(err.contains(role.option()), "{err}");
        }
    }
}
