//! Who sits on the presenter's LAN: those attendees get whole documents pre-distributed.

use std::net::IpAddr;

use super::ConferenceError;

/// One configured network in CIDR notation.
#[derive(Debug, Clone, PartialEq)]
struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    fn parse(s: &str) -> Result<Self, ConferenceError> {
        let bad = || ConferenceError::Config(format!("lan_networks: {s:?} is not a CIDR network"));
        let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
        let addr: IpAddr = addr.trim().parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.trim().parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(bad());
        }
        Ok(Self { addr, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        same_prefix(self.addr, ip, self.prefix)
    }
}

fn same_prefix(a: IpAddr, b: IpAddr, prefix: u8) -> bool {
    let (a, b, bits) = match (canonical(a), canonical(b)) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a) as u128, u32::from(b) as u128, 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    let shift = bits - u32::from(prefix);
    shift >= bits || (a >> shift) == (b >> shift)
}

/// IPv4 clients on a dual-stack socket show up as `::ffff:a.b.c.d`.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

fn private(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => v4.is_private() || v4.is_loopback() || v4.is_link_local(),
        // fc00::/7 (unique local) and fe80::/10 (link local).
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct LanPolicy {
    networks: Vec<Network>,
}

impl LanPolicy {
    pub fn new(networks: &[String]) -> Result<Self, ConferenceError> {
        let networks = networks
            .iter()
            .map(|n| Network::parse(n))
            .collect::<Result<_, _>>()?;
        Ok(Self { networks })
    }

    /// Whether `peer` shares a LAN with the presenter (who was last seen at `presenter`).
    pub fn is_lan(&self, presenter: Option<IpAddr>, peer: IpAddr) -> bool {
        let Some(presenter) = presenter else {
            return false;
        };
        if !self.networks.is_empty() {
            return self
                .networks
                .iter()
                .any(|n| n.contains(presenter) && n.contains(peer));
        }
        let (p, q) = (canonical(presenter), canonical(peer));
        if p.is_loopback() && q.is_loopback() {
            return true;
        }
        let prefix = if p.is_ipv4() { 24 } else { 64 };
        private(p) && private(q) && same_prefix(p, q, prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn default_rule_is_the_presenters_private_subnet() {
        let lan = LanPolicy::default();
        let p = Some(ip("192.168.1.10"));
        assert!(lan.is_lan(p, ip("192.168.1.77")));
        assert!(lan.is_lan(p, ip("::ffff:192.168.1.77")));
        assert!(!lan.is_lan(p, ip("192.168.2.77")));
        assert!(!lan.is_lan(Some(ip("8.8.8.1")), ip("8.8.8.2")));
        assert!(lan.is_lan(Some(ip("127.0.0.1")), ip("127.0.0.1")));
        assert!(lan.is_lan(Some(ip("fd00::1")), ip("fd00::2")));
        assert!(!lan.is_lan(None, ip("192.168.1.77")));
    }

    #[test]
    fn configured_networks_replace_the_default() {
        let lan = LanPolicy::new(&["10.1.0.0/16".into()]).unwrap();
        assert!(lan.is_lan(Some(ip("10.1.2.3")), ip("10.1.200.9")));
        assert!(!lan.is_lan(Some(ip("10.1.2.3")), ip("10.2.0.1")));
        assert!(!lan.is_lan(Some(ip("127.0.0.1")), ip("127.0.0.1")));
        assert!(LanPolicy::new(&["10.0.0.0".into()]).is_err());
        assert!(LanPolicy::new(&["10.0.0.0/33".into()]).is_err());
    }
}
