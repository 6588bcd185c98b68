//! This host's own addresses: the default `brokerIP1` (and so `brokerIP2`) is the host's first
//! non-loopback IPv4 address, chosen as RocketMQ's `getLocalAddress` chooses it.
//!
//! RocketMQ walks the network interfaces (5.x skips bridges, virtual sub-interfaces,
//! point-to-point links and interfaces that are down), collects their non-loopback IPv4
//! addresses, and takes the first that starts with neither `127.0` nor `192.168`; failing that
//! the last one collected. sluice does the same over `getifaddrs(3)`, and falls back to
//! `127.0.0.1` when the host has no such address (RocketMQ then asks the resolver for the host
//! name's address, which on most hosts is a loopback address too).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::OnceLock;

/// One IPv4 address of one interface, as `getifaddrs` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceAddr {
    /// The interface name (`eth0`, or `eth0:1` for an alias).
    pub name: String,
    pub ip: Ipv4Addr,
    pub up: bool,
    pub loopback: bool,
    pub point_to_point: bool,
}

/// The IPv4 addresses of this host's interfaces, in `getifaddrs` order (empty if the call
/// fails).
#[cfg(unix)]
pub fn interface_ipv4s() -> Vec<InterfaceAddr> {
    use std::ffi::CStr;

    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: `head` is a valid out-pointer; on success the list is ours until freeifaddrs.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "getifaddrs failed");
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a non-null node of the list getifaddrs returned, not yet freed.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        if ifa.ifa_addr.is_null() || ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: ifa_addr is non-null and points at a sockaddr of the family it names.
        let family = i32::from(unsafe { (*ifa.ifa_addr).sa_family });
        if family != libc::AF_INET {
            continue;
        }
        // SAFETY: an AF_INET address is a sockaddr_in.
        let sin = unsafe { &*ifa.ifa_addr.cast::<libc::sockaddr_in>() };
        // SAFETY: ifa_name is a non-null NUL-terminated string owned by the list.
        let name = unsafe { CStr::from_ptr(ifa.ifa_name) }
            .to_string_lossy()
            .into_owned();
        let flags = ifa.ifa_flags;
        out.push(InterfaceAddr {
            name,
            ip: Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)),
            up: flags & libc::IFF_UP as u32 != 0,
            loopback: flags & libc::IFF_LOOPBACK as u32 != 0,
            point_to_point: flags & libc::IFF_POINTOPOINT as u32 != 0,
        });
    }
    // SAFETY: `head` came from a successful getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    out
}

/// The IPv4 addresses of this host's interfaces (none known on this platform).
#[cfg(not(unix))]
pub fn interface_ipv4s() -> Vec<InterfaceAddr> {
    Vec::new()
}

/// Whether `/sys/class/net/<name>/bridge` exists (a Linux bridge such as `docker0`).
fn is_bridge(name: &str) -> bool {
    !name.contains('/')
        && std::path::Path::new("/sys/class/net")
            .join(name)
            .join("bridge")
            .exists()
}

/// RocketMQ's choice among `addrs`: skip loopback, down, point-to-point, alias (`name:n`) and
/// bridge interfaces; the first address not starting with `127.0` or `192.168`, else the last
/// one left.
pub fn choose_local_ipv4(addrs: &[InterfaceAddr], is_bridge: impl Fn(&str) -> bool) -> Option<Ipv4Addr> {
    let usable: Vec<Ipv4Addr> = addrs
        .iter()
        .filter(|a| {
            a.up && !a.loopback
                && !a.ip.is_loopback()
                && !a.ip.is_unspecified()
                && !a.point_to_point
                && !a.name.contains(':')
                && !is_bridge(&a.name)
        })
        .map(|a| a.ip)
        .collect();
    usable
        .iter()
        .copied()
        .find(|ip| !matches!(ip.octets(), [127, 0, ..] | [192, 168, ..]))
        .or_else(|| usable.last().copied())
}

/// This host's first non-loopback IPv4 address ([`choose_local_ipv4`] over the live
/// interfaces), looked up once per process; `127.0.0.1` if there is none.
pub fn local_ipv4() -> Ipv4Addr {
    static LOCAL: OnceLock<Ipv4Addr> = OnceLock::new();
    *LOCAL.get_or_init(|| {
        let found = choose_local_ipv4(&interface_ipv4s(), is_bridge);
        match found {
            Some(ip) => {
                tracing::debug!(%ip, "default brokerIP1: this host's first non-loopback IPv4 address");
                ip
            }
            None => {
                tracing::warn!("this host has no non-loopback IPv4 address; brokerIP1 defaults to 127.0.0.1");
                Ipv4Addr::LOCALHOST
            }
        }
    })
}

/// The address a client on this host reaches a listener bound to `bound` at: `bound`, with a
/// wildcard IP (`0.0.0.0`, `::`) replaced by the loopback address.
pub fn reachable_locally(bound: SocketAddr) -> SocketAddr {
    let mut addr = bound;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    addr
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(name: &str, ip: [u8; 4]) -> InterfaceAddr {
        InterfaceAddr {
            name: name.into(),
            ip: Ipv4Addr::from(ip),
            up: true,
            loopback: false,
            point_to_point: false,
        }
    }

    #[test]
    fn rocketmq_preference() {
        let no_bridge = |_: &str| false;
        let lo = InterfaceAddr {
            loopback: true,
            ..addr("lo", [127, 0, 0, 1])
        };
        assert_eq!(choose_local_ipv4(&[], no_bridge), None);
        assert_eq!(choose_local_ipv4(std::slice::from_ref(&lo), no_bridge), None);
        // 192.168 only when nothing else: then the last one.
        let home = [
            lo.clone(),
            addr("wlan0", [192, 168, 1, 5]),
            addr("eth1", [192, 168, 2, 7]),
        ];
        assert_eq!(
            choose_local_ipv4(&home, no_bridge),
            Some(Ipv4Addr::new(192, 168, 2, 7))
        );
        let mut mixed = home.to_vec();
        mixed.push(addr("eth0", [10, 1, 2, 3]));
        mixed.push(addr("eth2", [172, 16, 0, 9]));
        assert_eq!(
            choose_local_ipv4(&mixed, no_bridge),
            Some(Ipv4Addr::new(10, 1, 2, 3))
        );
        // Down, point-to-point, alias and bridge interfaces never count.
        let skipped = [
            InterfaceAddr {
                up: false,
                ..addr("eth3", [10, 9, 9, 9])
            },
            InterfaceAddr {
                point_to_point: true,
                ..addr("tun0", [10, 8, 0, 1])
            },
            addr("eth0:1", [10, 7, 0, 1]),
            addr("docker0", [172, 17, 0, 1]),
            addr("eth0", [203, 0, 113, 4]),
        ];
        assert_eq!(
            choose_local_ipv4(&skipped, |n| n == "docker0"),
            Some(Ipv4Addr::new(203, 0, 113, 4))
        );
        assert_eq!(choose_local_ipv4(&skipped[..4], |n| n == "docker0"), None);
    }

    #[test]
    fn wildcards_become_loopback() {
        for (bound, local) in [
            ("0.0.0.0:9876", "127.0.0.1:9876"),
            ("[::]:1", "[::1]:1"),
            ("10.0.0.5:10911", "10.0.0.5:10911"),
        ] {
            let bound: SocketAddr = bound.parse().expect("socket address");
            assert_eq!(reachable_locally(bound).to_string(), local);
        }
    }

    #[test]
    fn the_live_choice_is_one_of_ours() {
        let ip = local_ipv4();
        let ours = interface_ipv4s();
        assert!(
            ip == Ipv4Addr::LOCALHOST || ours.iter().any(|a| a.ip == ip && !a.loopback),
            "{ip} is not an address of this host: {ours:?}"
        );
        if cfg!(target_os = "linux") {
            assert!(ours.iter().any(|a| a.loopback), "getifaddrs lists lo: {ours:?}");
        }
    }
}
