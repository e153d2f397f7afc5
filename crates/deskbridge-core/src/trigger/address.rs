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
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast (deprecated, RFC 7526)
        || (a == 198 && (b == 18 || b == 19)) // benchmarking, RFC 2544
        || a >= 240; // reserved
    !special
}

/// IPv6 ranges that carry an IPv4 address to a translator or a tunnel relay
/// (IANA's IPv6 special-purpose registry). A packet to one of them can end up
/// at the IPv4 address inside it, a private or loopback one too.
///
/// - `64:ff9b::/96`, the well-known NAT64 prefix (RFC 6052): the IPv4 address
///   is always its last 32 bits, so the address is judged as that IPv4
///   address. Refusing the range whole would cut every IPv4-only receiver off
///   a deskbridge on an IPv6-only network with DNS64, which synthesizes these
///   addresses for them; judging the embedded address is as safe.
/// - Refused whole, whatever they embed: `64:ff9b:1::/48`, the local-use
///   NAT64 prefix (RFC 8215: where its IPv4 address sits depends on the prefix
///   length the operator chose, which an address does not tell, and it is a
///   private network's translator by definition); `2002::/16`, 6to4 (RFC 3056,
///   deprecated by RFC 7526: a relay reaches the IPv4 address in bits 16-48);
///   `2001::/32`, Teredo (RFC 4380: the server's IPv4 address and the
///   client's, obfuscated, are inside); `::ffff:0:0:0/96`, IPv4-translated
///   (SIIT, RFC 2765). No notification receiver needs them.
fn is_public_v6(ip: Ipv6Addr) -> bool {
    // An IPv4 address written as IPv6 is judged as the IPv4 address.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    // The well-known NAT64 prefix reaches the IPv4 address in its last 32 bits.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    let translated = (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 0x0001) // local-use NAT64, 64:ff9b:1::/48
        || s[0] == 0x2002 // 6to4, 2002::/16
        || (s[0] == 0x2001 && s[1] == 0) // Teredo, 2001::/32
        || (s[0..4] == [0, 0, 0, 0] && s[4] == 0xffff && s[5] == 0); // IPv4-translated, ::ffff:0:0:0/96
    let special = translated
        || ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local, fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local, fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated), fec0::/10
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || s[0..6] == [0, 0, 0, 0, 0, 0]; // IPv4-compatible (deprecated), ::/96
    !special
}
