//! `IPVS_DEST_ATTR_*`: the attributes inside `IPVS_CMD_ATTR_DEST`.

use netlink_packet_core::{ErrorContext, Nla, NlaBuffer, Parseable};

use super::addr::InetAddr;
use super::consts::*;
use super::stats::{self, StatsAttr, StatsLayout};
use super::unknown::UnknownAttr;
use super::wire::{self, NlError};

/// One attribute of a destination (real server) nest.
///
/// Kernel reply order (`ip_vs_genl_fill_dest`, `ip_vs_ctl.c:3355-3384`):
/// ADDR, PORT, FWD_METHOD, WEIGHT, TUN_TYPE, TUN_PORT, TUN_FLAGS, U_THRESH,
/// L_THRESH, ACTIVE_CONNS, INACT_CONNS, PERSIST_CONNS, ADDR_FAMILY, STATS,
/// STATS64. A 6.1 kernel sends the TUN_* attributes for every dest.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DestAttr {
    /// `IPVS_DEST_ATTR_ADDR`: raw address bytes; see [`InetAddr`].
    Address(InetAddr),
    /// `IPVS_DEST_ATTR_PORT`: the port number. **Network order on the wire**
    /// (`nla_put_be16`, `ip_vs_ctl.c:3356`).
    Port(u16),
    /// `IPVS_DEST_ATTR_FWD_METHOD`: u32 host order; the kernel keeps only the
    /// `IP_VS_CONN_F_FWD_MASK` bits (`IP_VS_CONN_F_MASQ` ... `DROUTE`).
    FwdMethod(u32),
    /// `IPVS_DEST_ATTR_WEIGHT`: u32 host order on the wire, an `int` in the
    /// kernel; negative values are rejected with `ERANGE` on add/edit.
    Weight(i32),
    /// `IPVS_DEST_ATTR_U_THRESH`: upper connection threshold, u32 host order.
    UpperThreshold(u32),
    /// `IPVS_DEST_ATTR_L_THRESH`: lower connection threshold, u32 host order.
    LowerThreshold(u32),
    /// `IPVS_DEST_ATTR_ACTIVE_CONNS`: replies only, u32 host order.
    ActiveConns(u32),
    /// `IPVS_DEST_ATTR_INACT_CONNS`: replies only, u32 host order.
    InactConns(u32),
    /// `IPVS_DEST_ATTR_PERSIST_CONNS`: replies only, u32 host order.
    PersistConns(u32),
    /// `IPVS_DEST_ATTR_STATS`: replies only, 32-bit layout.
    Stats(Vec<StatsAttr>),
    /// `IPVS_DEST_ATTR_ADDR_FAMILY` (since Linux 3.18): u16 host order. Older
    /// kernels neither send nor read it: fall back to the service's AF.
    AddressFamily(u16),
    /// `IPVS_DEST_ATTR_STATS64` (since Linux 4.1): replies only, 64-bit layout.
    Stats64(Vec<StatsAttr>),
    /// `IPVS_DEST_ATTR_TUN_TYPE` (since Linux 5.2): u8
    /// (`IP_VS_CONN_F_TUNNEL_TYPE_*`).
    TunType(u8),
    /// `IPVS_DEST_ATTR_TUN_PORT` (since Linux 5.2): GUE port. **Network order
    /// on the wire** (`nla_put_be16`, `ip_vs_ctl.c:3364`).
    TunPort(u16),
    /// `IPVS_DEST_ATTR_TUN_FLAGS` (since Linux 5.3): u16 **host** order
    /// (`IP_VS_TUNNEL_ENCAP_FLAG_*`).
    TunFlags(u16),
    /// An attribute this crate does not know (a newer kernel's), kept byte
    /// for byte.
    Other(UnknownAttr),
}

impl Nla for DestAttr {
    fn value_len(&self) -> usize {
        match self {
            Self::Address(a) => a.as_bytes().len(),
            Self::TunType(_) => 1,
            Self::Port(_) | Self::AddressFamily(_) | Self::TunPort(_) | Self::TunFlags(_) => 2,
            Self::FwdMethod(_)
            | Self::Weight(_)
            | Self::UpperThreshold(_)
            | Self::LowerThreshold(_)
            | Self::ActiveConns(_)
            | Self::InactConns(_)
            | Self::PersistConns(_) => 4,
            Self::Stats(s) => stats::nest_len(s, StatsLayout::Stats32),
            Self::Stats64(s) => stats::nest_len(s, StatsLayout::Stats64),
            Self::Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::Address(_) => IPVS_DEST_ATTR_ADDR,
            Self::Port(_) => IPVS_DEST_ATTR_PORT,
            Self::FwdMethod(_) => IPVS_DEST_ATTR_FWD_METHOD,
            Self::Weight(_) => IPVS_DEST_ATTR_WEIGHT,
            Self::UpperThreshold(_) => IPVS_DEST_ATTR_U_THRESH,
            Self::LowerThreshold(_) => IPVS_DEST_ATTR_L_THRESH,
            Self::ActiveConns(_) => IPVS_DEST_ATTR_ACTIVE_CONNS,
            Self::InactConns(_) => IPVS_DEST_ATTR_INACT_CONNS,
            Self::PersistConns(_) => IPVS_DEST_ATTR_PERSIST_CONNS,
            Self::Stats(_) => IPVS_DEST_ATTR_STATS,
            Self::AddressFamily(_) => IPVS_DEST_ATTR_ADDR_FAMILY,
            Self::Stats64(_) => IPVS_DEST_ATTR_STATS64,
            Self::TunType(_) => IPVS_DEST_ATTR_TUN_TYPE,
            Self::TunPort(_) => IPVS_DEST_ATTR_TUN_PORT,
            Self::TunFlags(_) => IPVS_DEST_ATTR_TUN_FLAGS,
            Self::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Self::Address(a) => wire::put(buffer, a.as_bytes()),
            // Network order: nla_put_be16 / nla_get_be16 for both ports.
            Self::Port(v) | Self::TunPort(v) => wire::put(buffer, &v.to_be_bytes()),
            // Host order: nla_put_u16.
            Self::AddressFamily(v) | Self::TunFlags(v) => wire::put(buffer, &v.to_ne_bytes()),
            Self::TunType(v) => wire::put(buffer, &[*v]),
            Self::Weight(v) => wire::put(buffer, &v.to_ne_bytes()),
            Self::FwdMethod(v)
            | Self::UpperThreshold(v)
            | Self::LowerThreshold(v)
            | Self::ActiveConns(v)
            | Self::InactConns(v)
            | Self::PersistConns(v) => wire::put(buffer, &v.to_ne_bytes()),
            Self::Stats(s) => stats::emit_nest(s, StatsLayout::Stats32, buffer),
            Self::Stats64(s) => stats::emit_nest(s, StatsLayout::Stats64, buffer),
            Self::Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for DestAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, NlError> {
        let v = buf.value();
        Ok(match buf.kind() {
            IPVS_DEST_ATTR_ADDR => Self::Address(wire::inet_addr("IPVS_DEST_ATTR_ADDR", v)?),
            IPVS_DEST_ATTR_PORT => Self::Port(wire::u16_be("IPVS_DEST_ATTR_PORT", v)?),
            IPVS_DEST_ATTR_FWD_METHOD => Self::FwdMethod(wire::u32_ne("IPVS_DEST_ATTR_FWD_METHOD", v)?),
            IPVS_DEST_ATTR_WEIGHT => {
                Self::Weight(wire::fixed("IPVS_DEST_ATTR_WEIGHT", v).map(i32::from_ne_bytes)?)
            }
            IPVS_DEST_ATTR_U_THRESH => Self::UpperThreshold(wire::u32_ne("IPVS_DEST_ATTR_U_THRESH", v)?),
            IPVS_DEST_ATTR_L_THRESH => Self::LowerThreshold(wire::u32_ne("IPVS_DEST_ATTR_L_THRESH", v)?),
            IPVS_DEST_ATTR_ACTIVE_CONNS => Self::ActiveConns(wire::u32_ne("IPVS_DEST_ATTR_ACTIVE_CONNS", v)?),
            IPVS_DEST_ATTR_INACT_CONNS => Self::InactConns(wire::u32_ne("IPVS_DEST_ATTR_INACT_CONNS", v)?),
            IPVS_DEST_ATTR_PERSIST_CONNS => {
                Self::PersistConns(wire::u32_ne("IPVS_DEST_ATTR_PERSIST_CONNS", v)?)
            }
            IPVS_DEST_ATTR_STATS => {
                Self::Stats(stats::attrs(v, StatsLayout::Stats32).context("IPVS_DEST_ATTR_STATS")?)
            }
            IPVS_DEST_ATTR_ADDR_FAMILY => Self::AddressFamily(wire::u16_ne("IPVS_DEST_ATTR_ADDR_FAMILY", v)?),
            IPVS_DEST_ATTR_STATS64 => {
                Self::Stats64(stats::attrs(v, StatsLayout::Stats64).context("IPVS_DEST_ATTR_STATS64")?)
            }
            IPVS_DEST_ATTR_TUN_TYPE => Self::TunType(wire::u8_("IPVS_DEST_ATTR_TUN_TYPE", v)?),
            IPVS_DEST_ATTR_TUN_PORT => Self::TunPort(wire::u16_be("IPVS_DEST_ATTR_TUN_PORT", v)?),
            IPVS_DEST_ATTR_TUN_FLAGS => Self::TunFlags(wire::u16_ne("IPVS_DEST_ATTR_TUN_FLAGS", v)?),
            _ => Self::Other(UnknownAttr::from_nla(buf)),
        })
    }
}

/// Parses the contents of an `IPVS_CMD_ATTR_DEST` nest.
pub fn parse_dest_attrs(value: &[u8]) -> Result<Vec<DestAttr>, super::DecodeError> {
    attrs(value).map_err(wire::public)
}

/// [`parse_dest_attrs`] with netlink-packet-core's error, for the trait impls.
pub(crate) fn attrs(value: &[u8]) -> Result<Vec<DestAttr>, NlError> {
    wire::parse_nest(value, |nla| DestAttr::parse(nla))
}
