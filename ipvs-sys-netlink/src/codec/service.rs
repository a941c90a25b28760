//! `IPVS_SVC_ATTR_*`: the attributes inside `IPVS_CMD_ATTR_SERVICE`.

use netlink_packet_core::{ErrorContext, Nla, NlaBuffer, Parseable};

use super::addr::{InetAddr, RawNetmask};
use super::consts::*;
use super::stats::{self, StatsAttr, StatsLayout};
use super::unknown::UnknownAttr;
use super::wire::{self, NlError};

/// One attribute of a service nest.
///
/// Kernel reply order (`ip_vs_genl_fill_service`, `ip_vs_ctl.c:3145-3170`):
/// AF, then FWMARK or (PROTOCOL, ADDR, PORT), SCHED_NAME, PE_NAME (only when a
/// persistence engine is bound), FLAGS, TIMEOUT, NETMASK, STATS, STATS64.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServiceAttr {
    /// `IPVS_SVC_ATTR_AF`: u16, host order ([`AF_INET`] or [`AF_INET6`]).
    AddressFamily(u16),
    /// `IPVS_SVC_ATTR_PROTOCOL`: u16, host order (IP protocol number).
    Protocol(u16),
    /// `IPVS_SVC_ATTR_ADDR`: raw address bytes; see [`InetAddr`].
    Address(InetAddr),
    /// `IPVS_SVC_ATTR_PORT`: the port number. **Network order on the wire**
    /// (`nla_get_be16`/`nla_put_be16`, `ip_vs_ctl.c:3153, 3289`); this value
    /// is the plain number (80 is emitted as `00 50`).
    Port(u16),
    /// `IPVS_SVC_ATTR_FWMARK`: u32, **host** order (`nla_get_u32`). A reply
    /// for a fwmark service carries it instead of PROTOCOL/ADDR/PORT.
    Fwmark(u32),
    /// `IPVS_SVC_ATTR_SCHED_NAME`: scheduler name, NUL-terminated on the wire;
    /// the kernel accepts at most 15 characters.
    SchedName(String),
    /// `IPVS_SVC_ATTR_FLAGS`: `struct ip_vs_flags`, both u32 host order.
    /// Requests: `new = (old & !mask) | (flags & mask)`. Replies: the
    /// current flags (HASHED included) and `mask = 0xffff_ffff`.
    Flags {
        /// `IP_VS_SVC_F_*` bits; unknown bits are kept.
        flags: u32,
        /// Which bits of `flags` to apply.
        mask: u32,
    },
    /// `IPVS_SVC_ATTR_TIMEOUT`: persistence timeout in seconds, u32 host order.
    Timeout(u32),
    /// `IPVS_SVC_ATTR_NETMASK`: 4 raw bytes whose byte order depends on the
    /// family; see [`RawNetmask`].
    Netmask(RawNetmask),
    /// `IPVS_SVC_ATTR_STATS`: replies only, 32-bit layout.
    Stats(Vec<StatsAttr>),
    /// `IPVS_SVC_ATTR_PE_NAME` (since Linux 2.6.37): persistence engine name
    /// ("sip"), NUL-terminated on the wire.
    PeName(String),
    /// `IPVS_SVC_ATTR_STATS64` (since Linux 4.1): replies only, 64-bit layout.
    Stats64(Vec<StatsAttr>),
    /// An attribute this crate does not know (a newer kernel's), kept byte
    /// for byte.
    Other(UnknownAttr),
}

impl Nla for ServiceAttr {
    fn value_len(&self) -> usize {
        match self {
            Self::AddressFamily(_) | Self::Protocol(_) | Self::Port(_) => 2,
            Self::Fwmark(_) | Self::Timeout(_) | Self::Netmask(_) => 4,
            Self::Address(a) => a.as_bytes().len(),
            Self::SchedName(s) | Self::PeName(s) => s.len() + 1,
            Self::Flags { .. } => 8,
            Self::Stats(s) => stats::nest_len(s, StatsLayout::Stats32),
            Self::Stats64(s) => stats::nest_len(s, StatsLayout::Stats64),
            Self::Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::AddressFamily(_) => IPVS_SVC_ATTR_AF,
            Self::Protocol(_) => IPVS_SVC_ATTR_PROTOCOL,
            Self::Address(_) => IPVS_SVC_ATTR_ADDR,
            Self::Port(_) => IPVS_SVC_ATTR_PORT,
            Self::Fwmark(_) => IPVS_SVC_ATTR_FWMARK,
            Self::SchedName(_) => IPVS_SVC_ATTR_SCHED_NAME,
            Self::Flags { .. } => IPVS_SVC_ATTR_FLAGS,
            Self::Timeout(_) => IPVS_SVC_ATTR_TIMEOUT,
            Self::Netmask(_) => IPVS_SVC_ATTR_NETMASK,
            Self::Stats(_) => IPVS_SVC_ATTR_STATS,
            Self::PeName(_) => IPVS_SVC_ATTR_PE_NAME,
            Self::Stats64(_) => IPVS_SVC_ATTR_STATS64,
            Self::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Self::AddressFamily(v) | Self::Protocol(v) => wire::put(buffer, &v.to_ne_bytes()),
            // Network order: the kernel uses nla_put_be16 / nla_get_be16.
            Self::Port(v) => wire::put(buffer, &v.to_be_bytes()),
            // Host order: the kernel uses nla_put_u32 / nla_get_u32.
            Self::Fwmark(v) | Self::Timeout(v) => wire::put(buffer, &v.to_ne_bytes()),
            Self::Address(a) => wire::put(buffer, a.as_bytes()),
            Self::SchedName(s) | Self::PeName(s) => wire::put_c_string(buffer, s.as_bytes()),
            Self::Flags { flags, mask } => {
                wire::put(buffer, &flags.to_ne_bytes());
                wire::put(buffer.get_mut(4..).unwrap_or_default(), &mask.to_ne_bytes());
            }
            Self::Netmask(m) => wire::put(buffer, &m.0),
            Self::Stats(s) => stats::emit_nest(s, StatsLayout::Stats32, buffer),
            Self::Stats64(s) => stats::emit_nest(s, StatsLayout::Stats64, buffer),
            Self::Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for ServiceAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, NlError> {
        let v = buf.value();
        Ok(match buf.kind() {
            IPVS_SVC_ATTR_AF => Self::AddressFamily(wire::u16_ne("IPVS_SVC_ATTR_AF", v)?),
            IPVS_SVC_ATTR_PROTOCOL => Self::Protocol(wire::u16_ne("IPVS_SVC_ATTR_PROTOCOL", v)?),
            IPVS_SVC_ATTR_ADDR => Self::Address(wire::inet_addr("IPVS_SVC_ATTR_ADDR", v)?),
            IPVS_SVC_ATTR_PORT => Self::Port(wire::u16_be("IPVS_SVC_ATTR_PORT", v)?),
            IPVS_SVC_ATTR_FWMARK => Self::Fwmark(wire::u32_ne("IPVS_SVC_ATTR_FWMARK", v)?),
            IPVS_SVC_ATTR_SCHED_NAME => Self::SchedName(wire::c_string("IPVS_SVC_ATTR_SCHED_NAME", v)?),
            IPVS_SVC_ATTR_FLAGS => {
                let b: [u8; 8] = wire::fixed("IPVS_SVC_ATTR_FLAGS", v)?;
                let [f0, f1, f2, f3, m0, m1, m2, m3] = b;
                Self::Flags {
                    flags: u32::from_ne_bytes([f0, f1, f2, f3]),
                    mask: u32::from_ne_bytes([m0, m1, m2, m3]),
                }
            }
            IPVS_SVC_ATTR_TIMEOUT => Self::Timeout(wire::u32_ne("IPVS_SVC_ATTR_TIMEOUT", v)?),
            IPVS_SVC_ATTR_NETMASK => Self::Netmask(RawNetmask(wire::fixed("IPVS_SVC_ATTR_NETMASK", v)?)),
            IPVS_SVC_ATTR_STATS => {
                Self::Stats(stats::attrs(v, StatsLayout::Stats32).context("IPVS_SVC_ATTR_STATS")?)
            }
            IPVS_SVC_ATTR_PE_NAME => Self::PeName(wire::c_string("IPVS_SVC_ATTR_PE_NAME", v)?),
            IPVS_SVC_ATTR_STATS64 => {
                Self::Stats64(stats::attrs(v, StatsLayout::Stats64).context("IPVS_SVC_ATTR_STATS64")?)
            }
            _ => Self::Other(UnknownAttr::from_nla(buf)),
        })
    }
}

/// Parses the contents of an `IPVS_CMD_ATTR_SERVICE` nest.
pub fn parse_service_attrs(value: &[u8]) -> Result<Vec<ServiceAttr>, super::DecodeError> {
    attrs(value).map_err(wire::public)
}

/// [`parse_service_attrs`] with netlink-packet-core's error, for the trait impls.
pub(crate) fn attrs(value: &[u8]) -> Result<Vec<ServiceAttr>, NlError> {
    wire::parse_nest(value, |nla| ServiceAttr::parse(nla))
}
