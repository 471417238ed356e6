//! Who is at the other end: the peer's address, or, when the peer is a proxy the
//! deployment trusts (`KVPT_TRUSTED_PROXIES`), the client it names in `X-Forwarded-For`.
//! Sign-in throttling counts by this address, so a header from anyone else is ignored:
//! otherwise an attacker would pick a fresh address for every try.

use std::net::IpAddr;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::HeaderMap;

/// Whether the warning about an untrusted proxy was logged (once per process).
static WARNED: AtomicBool = AtomicBool::new(false);

/// Addresses and networks (`10.0.0.5`, `10.0.0.0/24`, `::1`) whose `X-Forwarded-For` is
/// believed. `kvpt serve` trusts loopback by default (a proxy on the same machine);
/// everyone else's header is ignored and the peer's own address counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl FromStr for TrustedProxies {
    type Err = String;

    fn from_str(list: &str) -> Result<Self, Self::Err> {
        let mut nets = Vec::new();
        for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (addr, len) = item.split_once('/').unwrap_or((item, ""));
            let addr: IpAddr = addr.parse().map_err(|_| {
                format!("'{item}' is not an address or network (10.0.0.5, 10.0.0.0/24, ::1)")
            })?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let len = if len.is_empty() {
                max
            } else {
                len.parse::<u8>()
                    .ok()
                    .filter(|l| *l <= max)
                    .ok_or_else(|| format!("'{item}': the prefix length must be 0–{max}"))?
            };
            nets.push((addr, len));
        }
        Ok(Self(nets))
    }
}

impl TrustedProxies {
    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = canonical(addr);
        self.0
            .iter()
            .any(|&(net, len)| match (canonical(net), addr) {
                (IpAddr::V4(n), IpAddr::V4(a)) => prefix(
                    u128::from(u32::from(n)) << 96,
                    u128::from(u32::from(a)) << 96,
                    len,
                ),
                (IpAddr::V6(n), IpAddr::V6(a)) => prefix(u128::from(n), u128::from(a), len),
                _ => false,
            })
    }

    /// The client's address: the peer's, unless the peer is trusted; then, walking
    /// `X-Forwarded-For` from the right (what each trusted proxy appended), the first
    /// address that is not itself a trusted proxy. Whatever stands left of it was written
    /// by the client and is never read; an entry that cannot be read where the walk needs
    /// it leaves the last trusted hop as the client.
    pub fn client(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer.map(canonical)?;
        if !self.contains(peer) {
            if headers.contains_key("x-forwarded-for") && !WARNED.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    %peer,
                    "X-Forwarded-For from a peer not in KVPT_TRUSTED_PROXIES is ignored: behind a \
                     proxy, list it there, or every client counts as the proxy"
                );
            }
            return Some(peer);
        }
        let values: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .map(|v| v.to_str().unwrap_or(""))
            .collect();
        let mut last_trusted = peer;
        for hop in values
            .iter()
            .rev()
            .flat_map(|v| v.rsplit(','))
            .map(str::trim)
        {
            match parse_hop(hop).map(canonical) {
                Some(addr) if self.contains(addr) => last_trusted = addr,
                Some(addr) => return Some(addr),
                None => return Some(last_trusted),
            }
        }
        Some(last_trusted)
    }
}

fn prefix(net: u128, addr: u128, len: u8) -> bool {
    len == 0 || (net ^ addr) >> (128 - u32::from(len)) == 0
}

/// IPv4 addresses that reach an IPv6 socket as `::ffff:a.b.c.d` count as themselves.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

/// One `X-Forwarded-For` entry: an address, `[v6]`, or either with a port.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(addr) = hop.parse() {
        return Some(addr);
    }
    if let Ok(sock) = hop.parse::<std::net::SocketAddr>() {
        return Some(sock.ip());
    }
    hop.strip_prefix('[')?.strip_suffix(']')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", value.parse().unwrap());
        h
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let none = TrustedProxies::default();
        assert_eq!(none.client(ip("10.0.0.5"), &xff("1.2.3.4")), ip("10.0.0.5"));
        let trusted: TrustedProxies = "10.0.0.0/24, ::1".parse().unwrap();
        assert_eq!(
            trusted.client(ip("10.0.0.5"), &xff("1.2.3.4")),
            ip("1.2.3.4")
        );
        assert_eq!(
            trusted.client(ip("10.0.1.5"), &xff("1.2.3.4")),
            ip("10.0.1.5")
        );
        // What the client wrote first is not believed: the proxy appended the real peer.
        assert_eq!(
            trusted.client(ip("10.0.0.5"), &xff("6.6.6.6, 1.2.3.4, 10.0.0.7")),
            ip("1.2.3.4")
        );
        assert_eq!(
            trusted.client(ip("::1"), &xff("[2001:db8::1]:443")),
            ip("2001:db8::1")
        );
        assert_eq!(
            trusted.client(ip("::ffff:10.0.0.5"), &xff("1.2.3.4")),
            ip("1.2.3.4")
        );
        assert_eq!(trusted.client(ip("10.0.0.5"), &xff("junk")), ip("10.0.0.5"));
        // Junk the client wrote, left of what the proxy appended, is never read.
        assert_eq!(
            trusted.client(ip("10.0.0.5"), &xff("junk, 1.2.3.4")),
            ip("1.2.3.4")
        );
        assert_eq!(
            trusted.client(ip("10.0.0.5"), &xff("unknown, 10.0.0.9")),
            ip("10.0.0.9"),
            "a trusted hop that cannot name its client is the client"
        );
        let mut two = xff("6.6.6.6");
        two.append("x-forwarded-for", "1.2.3.4".parse().unwrap());
        assert_eq!(
            trusted.client(ip("10.0.0.5"), &two),
            ip("1.2.3.4"),
            "the last header line"
        );
        assert_eq!(
            trusted.client(ip("10.0.0.5"), &HeaderMap::new()),
            ip("10.0.0.5")
        );
        assert_eq!(trusted.client(None, &xff("1.2.3.4")), None);
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks() {
        assert_eq!("".parse::<TrustedProxies>(), Ok(TrustedProxies::default()));
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
        assert!("proxy.local".parse::<TrustedProxies>().is_err());
        let any: TrustedProxies = "0.0.0.0/0".parse().unwrap();
        assert!(any.contains("192.0.2.1".parse().unwrap()));
        assert!(!any.contains("2001:db8::1".parse().unwrap()));
    }
}
