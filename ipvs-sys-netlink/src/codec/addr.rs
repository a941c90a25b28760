//! Address and netmask values whose meaning depends on a sibling attribute.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::consts::{AF_INET, AF_INET6};

/// The raw bytes of an `IPVS_SVC_ATTR_ADDR` or `IPVS_DEST_ATTR_ADDR` value.
///
/// The kernel copies `min(len, 16)` bytes into a zeroed `union nf_inet_addr`
/// (`nla_memcpy`, `ip_vs_ctl.c:3288`), so a request may carry 4 bytes for an
/// IPv4 address, while replies always carry all 16 bytes with an IPv4 address
/// in bytes 0..4 and zeros after it. Which family the bytes hold is told by a
/// sibling attribute (service `AF`, dest `ADDR_FAMILY`), so the codec keeps
/// the bytes as they are on the wire, and [`InetAddr::to_ip`] interprets them
/// given that family.
///
/// ```
/// use std::net::Ipv4Addr;
/// use ipvs_sys_netlink::codec::{consts::AF_INET, InetAddr};
///
/// let a = InetAddr::from(Ipv4Addr::new(10, 1, 2, 3)); // 16-byte form, as libipvs sends
/// assert_eq!(a.as_bytes().len(), 16);
/// assert_eq!(a.to_ip(AF_INET), Some(Ipv4Addr::new(10, 1, 2, 3).into()));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct InetAddr {
    bytes: [u8; 16],
    len: u8,
}

impl InetAddr {
    /// Largest value the kernel accepts (`sizeof(union nf_inet_addr)`).
    pub const MAX_LEN: usize = 16;

    /// Wraps raw wire bytes; `None` when there are more than 16.
    pub fn from_bytes(raw: &[u8]) -> Option<Self> {
        let len = u8::try_from(raw.len()).ok().filter(|&l| usize::from(l) <= Self::MAX_LEN)?;
        let mut bytes = [0u8; 16];
        bytes.get_mut(..raw.len())?.copy_from_slice(raw);
        Some(Self { bytes, len })
    }

    /// The 4-byte form of an IPv4 address (the kernel accepts it; replies use
    /// the 16-byte form that `From<Ipv4Addr>` builds).
    pub fn ipv4_compact(addr: Ipv4Addr) -> Self {
        let mut bytes = [0u8; 16];
        bytes[..4].copy_from_slice(&addr.octets());
        Self { bytes, len: 4 }
    }

    /// The bytes as they are (or will be) on the wire.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&self.bytes)
    }

    /// The zero-padded 16-byte union, as the kernel stores it.
    pub fn to_union(&self) -> [u8; 16] {
        self.bytes
    }

    /// The first four bytes as an IPv4 address (zero-padded if shorter).
    pub fn to_ipv4(&self) -> Ipv4Addr {
        Ipv4Addr::new(self.bytes[0], self.bytes[1], self.bytes[2], self.bytes[3])
    }

    /// All sixteen bytes as an IPv6 address (zero-padded if shorter).
    pub fn to_ipv6(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.bytes)
    }

    /// Interprets the bytes for address family `af` ([`AF_INET`] or
    /// [`AF_INET6`]); `None` for any other family.
    pub fn to_ip(&self, af: u16) -> Option<IpAddr> {
        match af {
            AF_INET => Some(IpAddr::V4(self.to_ipv4())),
            AF_INET6 => Some(IpAddr::V6(self.to_ipv6())),
            _ => None,
        }
    }
}

impl fmt::Debug for InetAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InetAddr(")?;
        for (i, b) in self.as_bytes().iter().enumerate() {
            if i > 0 {
                write!(f, " ")?;
            }
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

/// 16-byte form with the IPv4 address in bytes 0..4, as the kernel replies and
/// as libipvs sends.
impl From<Ipv4Addr> for InetAddr {
    fn from(addr: Ipv4Addr) -> Self {
        let mut bytes = [0u8; 16];
        bytes[..4].copy_from_slice(&addr.octets());
        Self { bytes, len: 16 }
    }
}

impl From<Ipv6Addr> for InetAddr {
    fn from(addr: Ipv6Addr) -> Self {
        Self { bytes: addr.octets(), len: 16 }
    }
}

impl From<IpAddr> for InetAddr {
    fn from(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(a) => a.into(),
            IpAddr::V6(a) => a.into(),
        }
    }
}

/// The 4 raw bytes of `IPVS_SVC_ATTR_NETMASK`.
///
/// The kernel reads this `NLA_U32` attribute with `nla_get_be32` and stores
/// the raw value (`ip_vs_ctl.c:3326`), but its meaning depends on the
/// service's family:
///
/// * IPv4: the netmask itself in **network** order, so 255.255.255.0 is
///   `ff ff ff 00`;
/// * IPv6: the prefix length 1..=128 as a **host**-order u32, because
///   `ip_vs_ctl.c:1369-1371` compares the raw value with 128 (so 64 is
///   `40 00 00 00` on little-endian machines).
///
/// Replies echo the same raw bytes (`nla_put_be32`, `ip_vs_ctl.c:3164`).
/// Keeping the bytes, not a number, makes that byte-order split explicit.
///
/// ```
/// use std::net::Ipv4Addr;
/// use ipvs_sys_netlink::codec::RawNetmask;
///
/// assert_eq!(RawNetmask::from_ipv4_mask(Ipv4Addr::new(255, 255, 255, 0)).0, [0xff, 0xff, 0xff, 0]);
/// assert_eq!(RawNetmask::from_ipv6_prefix(64).as_ipv6_prefix(), 64);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct RawNetmask(pub [u8; 4]);

impl RawNetmask {
    /// What ipvsadm sends for an IPv4 service by default (/32).
    pub const IPV4_DEFAULT: Self = Self([0xff; 4]);

    /// What ipvsadm sends for an IPv6 service by default (/128).
    pub const IPV6_DEFAULT: Self = Self::from_ipv6_prefix(128);

    /// An IPv4 netmask, network order.
    pub const fn from_ipv4_mask(mask: Ipv4Addr) -> Self {
        Self(mask.octets())
    }

    /// An IPv6 prefix length, host order.
    pub const fn from_ipv6_prefix(prefix: u32) -> Self {
        Self(prefix.to_ne_bytes())
    }

    /// The bytes read as an IPv4 netmask.
    pub const fn as_ipv4_mask(self) -> Ipv4Addr {
        let [a, b, c, d] = self.0;
        Ipv4Addr::new(a, b, c, d)
    }

    /// The bytes read as an IPv6 prefix length.
    pub const fn as_ipv6_prefix(self) -> u32 {
        u32::from_ne_bytes(self.0)
    }
}
