//! Which addresses outbound requests may reach.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// Public addresses, plus the non-public networks an operator allowed.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    allow: Vec<IpNet>,
}

impl Policy {
    /// A policy allowing public addresses and `allow`.
    pub fn new(allow: Vec<IpNet>) -> Self {
        Self { allow }
    }

    /// `Ok` if `ip` may be reached, else why not.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), String> {
        let ip = match ip {
            IpAddr::V6(v6) => embedded_v4(v6).map_or(ip, IpAddr::V4),
            v4 @ IpAddr::V4(_) => v4,
        };
        let Some(kind) = non_public(ip) else {
            return Ok(());
        };
        if self.allow.iter().any(|net| net.contains(&ip)) {
            return Ok(());
        }
        Err(format!(
            "{ip} is a {kind} address, refused (allow its network with WORKFLOW_HTTP_ALLOW)"
        ))
    }

    /// `Ok` unless the URL's host is an IP literal the policy refuses (names are checked
    /// when they are resolved).
    pub fn check_url(&self, url: &reqwest::Url) -> Result<(), String> {
        match url.host() {
            Some(url::Host::Ipv4(v4)) => self.check_ip(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => self.check_ip(IpAddr::V6(v6)),
            Some(url::Host::Domain(_)) => Ok(()),
            None => Err("the URL has no host".into()),
        }
    }
}

/// The IPv4 address an IPv6 address carries and would reach: IPv4-mapped (`::ffff:a.b.c.d`),
/// IPv4-compatible (`::a.b.c.d`) and NAT64 (`64:ff9b::/96`, `64:ff9b:1::/48`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let segments = ip.segments();
    let octets = ip.octets();
    let compatible =
        segments[..6].iter().all(|x| *x == 0) && !ip.is_loopback() && !ip.is_unspecified();
    let nat64 = segments[0] == 0x64
        && segments[1] == 0xff9b
        && (segments[2..6].iter().all(|x| *x == 0) || segments[2] == 1);
    (compatible || nat64).then(|| Ipv4Addr::new(octets[12], octets[13], octets[14], octets[15]))
}

/// What kind of non-public address `ip` is, if it is one.
fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_kind(v4),
        IpAddr::V6(v6) => v6_kind(v6),
    }
}

fn v4_kind(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared (carrier-grade NAT)")
    } else if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || a == 0 || a >= 240 {
        Some("non-routable")
    } else if a == 192 && b == 0 && ip.octets()[2] == 0 {
        Some("protocol-assignment")
    } else if a == 198 && (b == 18 || b == 19) {
        Some("benchmarking")
    } else {
        None
    }
}

fn v6_kind(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() || ip.is_multicast() {
        Some("non-routable")
    } else if first & 0xfe00 == 0xfc00 {
        Some("private (unique local)")
    } else if first & 0xffc0 == 0xfe80 {
        Some("link-local")
    } else if first & 0xffc0 == 0xfec0 {
        Some("site-local")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn non_public_addresses_are_refused_unless_allowed() {
        let policy = Policy::default();
        for refused in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::a00:1",
            "::a9fe:a9fe",
            "fec0::1",
            "192.0.0.1",
            "198.18.0.1",
            "240.0.0.1",
        ] {
            assert!(policy.check_ip(ip(refused)).is_err(), "{refused}");
        }
        for public in ["93.184.216.34", "2606:2800:220:1::1", "8.8.8.8"] {
            assert!(policy.check_ip(ip(public)).is_ok(), "{public}");
        }
        let allowed = Policy::new(vec![
            "127.0.0.1/32".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
        ]);
        assert!(allowed.check_ip(ip("127.0.0.1")).is_ok());
        assert!(allowed.check_ip(ip("10.9.9.9")).is_ok());
        assert!(
            allowed.check_ip(ip("169.254.169.254")).is_err(),
            "the metadata address stays out"
        );
        let why = policy.check_ip(ip("169.254.169.254")).unwrap_err();
        assert!(
            why.contains("link-local") && why.contains("WORKFLOW_HTTP_ALLOW"),
            "{why}"
        );
    }

    #[test]
    fn ip_literals_in_urls_are_checked() {
        let policy = Policy::default();
        let url = |s: &str| reqwest::Url::parse(s).unwrap();
        assert!(policy.check_url(&url("http://127.0.0.1:8008/x")).is_err());
        assert!(policy.check_url(&url("http://[::1]/x")).is_err());
        assert!(policy.check_url(&url("https://example.com/x")).is_ok());
    }
}
