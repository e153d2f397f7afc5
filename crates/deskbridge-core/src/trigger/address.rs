//! Which addresses a trigger may reach. A trigger URL is written by an admin,
//! but whatever it names is fetched from inside the network deskbridge runs in:
//! by default no notification goes to this machine, the local network or the
//! cloud's metadata service (a server-side request forgery). The delivery
//! worker asks this for every address the name resolves to and on every
//! redirect, so a public name pointing at `10.0.0.5` is refused too.
//! `[triggers] allow_private_networks = true` lifts it, for receivers on the
//! same network.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether a notification may be sent to `ip`.
pub fn may_reach(ip: IpAddr, allow_private_networks: bool) -> bool {
    allow_private_networks || is_public(ip)
}

/// Whether `ip` is a public unicast address: not loopback, private, shared
/// (carrier-grade NAT), link-local, unspecified, broadcast, multicast,
/// documentation, benchmarking or reserved (IANA's special-purpose registries).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let special = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space, RFC 6598
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking, RFC 2544
        || a >= 240; // reserved
    !special
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    // An IPv4 address written as IPv6 is judged as the IPv4 address.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    // NAT64 (64:ff9b::/96) reaches the IPv4 address in its last 32 bits.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    let special = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local, fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local, fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated), fec0::/10
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || s[0..6] == [0, 0, 0, 0, 0, 0]; // IPv4-compatible (deprecated), ::/96
    !special
}
