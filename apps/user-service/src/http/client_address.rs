//! Which address a request came from, when it may have passed a load balancer.
//!
//! Behind HAProxy or nginx every connection comes from the balancer, so the socket's peer
//! names the balancer, not the client: the per-address login limit would be shared by every
//! client, and sessions and the audit trail would record the balancer. Balancers append the
//! address they received the request from to `X-Forwarded-For`; but a client can send that
//! header too, with anything in it. So the header is believed only as far as it was written by
//! `TRUSTED_PROXIES`: starting from the socket's peer, each hop that is a trusted proxy
//! vouches for the address before it, and the first address that is not a trusted proxy is
//! the client. From an untrusted peer the header is ignored.

use std::net::{IpAddr, SocketAddr};

use actix_web::{web, HttpRequest};

use crate::http::state::AppState;

/// The networks of the load balancers in front of the service (`TRUSTED_PROXIES`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<ipnet::IpNet>);

/// An IPv4 address as itself, also when it arrives IPv4-mapped on an IPv6 socket.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// One `X-Forwarded-For` entry: an address, perhaps with a port (`[::1]:80`, `10.0.0.1:80`).
fn entry(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    text.parse::<IpAddr>()
        .or_else(|_| text.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(canonical)
}

impl TrustedProxies {
    /// Trusts `networks`.
    pub fn new(networks: Vec<ipnet::IpNet>) -> Self {
        Self(networks)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address, given the socket's `peer` and the `X-Forwarded-For` values (or
    /// their comma-separated entries) in the order they arrived: the rightmost address not
    /// vouched for by a trusted proxy. An entry that is not an address ends the walk at the hop
    /// that sent it.
    pub fn client<'a>(
        &self,
        peer: Option<IpAddr>,
        forwarded_for: impl Iterator<Item = &'a str>,
    ) -> Option<IpAddr> {
        let mut current = canonical(peer?);
        if !self.trusts(current) {
            return Some(current);
        }
        let entries: Vec<&str> = forwarded_for.flat_map(|v| v.split(',')).collect();
        for text in entries.into_iter().rev() {
            let Some(ip) = entry(text) else {
                return Some(current);
            };
            current = ip;
            if !self.trusts(ip) {
                return Some(ip);
            }
        }
        Some(current)
    }
}

/// The `X-Forwarded-For` entries of `req`, in order. Split on the raw bytes: a proxy that
/// appends to the client's own header line (nginx does) must not lose its entry to a
/// non-ASCII byte the client put before it; a piece that is not text becomes `?`, which stops
/// the walk where it sits.
fn forwarded_for(req: &HttpRequest) -> impl Iterator<Item = &str> {
    req.headers()
        .get_all("x-forwarded-for")
        .flat_map(|v| v.as_bytes().split(|b| *b == b','))
        .map(|piece| std::str::from_utf8(piece).unwrap_or("?"))
}

/// The address `req` came from (see the module's documentation).
pub fn client_ip(req: &HttpRequest) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip());
    match req.app_data::<web::Data<AppState>>() {
        Some(state) => state.proxies.client(peer, forwarded_for(req)),
        None => peer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(nets: &str) -> TrustedProxies {
        TrustedProxies::new(
            nets.split(',')
                .filter(|n| !n.is_empty())
                .map(|n| n.parse().expect("net"))
                .collect(),
        )
    }

    #[allow(clippy::unnecessary_wraps)] // compared with `client`'s answer
    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().expect("ip"))
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let none = proxies("");
        let header = ["198.51.100.1"];
        assert_eq!(
            none.client(ip("203.0.113.9"), header.into_iter()),
            ip("203.0.113.9")
        );
        assert_eq!(none.client(None, header.into_iter()), None);
    }

    #[test]
    fn a_client_that_is_not_a_proxy_cannot_choose_its_address() {
        let lb = proxies("10.0.0.0/8");
        assert_eq!(
            lb.client(ip("203.0.113.9"), ["198.51.100.1"].into_iter()),
            ip("203.0.113.9"),
            "straight to the service, past the balancer: the header is the client's own"
        );
    }

    #[test]
    fn behind_the_balancer_the_address_it_appended_is_the_client() {
        let lb = proxies("10.0.0.0/8");
        assert_eq!(
            lb.client(ip("10.0.0.5"), ["203.0.113.9"].into_iter()),
            ip("203.0.113.9")
        );
        // A client's own header is before the balancer's entry: it changes nothing.
        assert_eq!(
            lb.client(ip("10.0.0.5"), ["1.2.3.4, 203.0.113.9"].into_iter()),
            ip("203.0.113.9")
        );
        // Two header lines are one list, in order.
        assert_eq!(
            lb.client(ip("10.0.0.5"), ["1.2.3.4", "203.0.113.9"].into_iter()),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn a_byte_that_is_not_text_costs_only_its_own_entry() {
        let req = actix_web::test::TestRequest::default()
            .insert_header((
                "x-forwarded-for",
                actix_web::http::header::HeaderValue::from_bytes(b"\x80evil, 203.0.113.9")
                    .expect("obs-text is a valid header byte"),
            ))
            .to_http_request();
        let entries: Vec<&str> = forwarded_for(&req).collect();
        assert_eq!(entries, ["?", " 203.0.113.9"]);
        let lb = proxies("10.0.0.0/8");
        assert_eq!(
            lb.client(ip("10.0.0.5"), forwarded_for(&req)),
            ip("203.0.113.9"),
            "the balancer's entry survives the client's garbage"
        );
    }

    #[test]
    fn chained_proxies_are_walked_back_and_garbage_stops_the_walk() {
        let lbs = proxies("10.0.0.0/8,192.168.0.0/16");
        assert_eq!(
            lbs.client(ip("10.0.0.5"), ["203.0.113.9, 192.168.1.1"].into_iter()),
            ip("203.0.113.9")
        );
        assert_eq!(
            lbs.client(ip("10.0.0.5"), ["unknown, 192.168.1.1"].into_iter()),
            ip("192.168.1.1"),
            "the last hop that can be named"
        );
        assert_eq!(
            lbs.client(ip("10.0.0.5"), std::iter::empty()),
            ip("10.0.0.5"),
            "no header: the proxy itself"
        );
        assert_eq!(
            lbs.client(ip("::ffff:10.0.0.5"), ["[2001:db8::1]:4711"].into_iter()),
            ip("2001:db8::1"),
            "mapped IPv4 peers and bracketed IPv6 entries"
        );
    }
}
