//! `IPVS_DAEMON_ATTR_*`: the attributes inside `IPVS_CMD_ATTR_DAEMON`.

use std::net::{Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{Nla, NlaBuffer, Parseable};

use super::consts::*;
use super::unknown::UnknownAttr;
use super::wire::{self, NlError};

/// One attribute of a sync-daemon nest.
///
/// Kernel reply order (`ip_vs_genl_fill_daemon`, `ip_vs_ctl.c:3532-3549`):
/// STATE, MCAST_IFN, SYNC_ID, SYNC_MAXLEN, MCAST_PORT, MCAST_TTL, then
/// MCAST_GROUP or MCAST_GROUP6. Everything after SYNC_ID exists since Linux
/// 4.3; older kernels neither send nor read it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DaemonAttr {
    /// `IPVS_DAEMON_ATTR_STATE`: u32 host order (`IP_VS_STATE_MASTER` or
    /// `IP_VS_STATE_BACKUP`).
    State(u32),
    /// `IPVS_DAEMON_ATTR_MCAST_IFN`: interface name, NUL-terminated on the
    /// wire, at most 15 bytes. Bytes, not a string: Linux interface names
    /// need not be UTF-8. Parsing keeps the bytes before the first NUL (all
    /// of them if there is none); emitting writes them plus one NUL, so the
    /// name must not contain a NUL itself.
    McastIfn(Vec<u8>),
    /// `IPVS_DAEMON_ATTR_SYNC_ID`: u32 host order.
    SyncId(u32),
    /// `IPVS_DAEMON_ATTR_SYNC_MAXLEN` (since 4.3): u16 host order.
    SyncMaxlen(u16),
    /// `IPVS_DAEMON_ATTR_MCAST_GROUP` (since 4.3): IPv4 group, 4 bytes in
    /// network order (`nla_put_in_addr`).
    McastGroup(Ipv4Addr),
    /// `IPVS_DAEMON_ATTR_MCAST_GROUP6` (since 4.3): IPv6 group, 16 bytes.
    McastGroup6(Ipv6Addr),
    /// `IPVS_DAEMON_ATTR_MCAST_PORT` (since 4.3): base UDP port. **Host order**
    /// on the wire (`nla_put_u16`/`nla_get_u16`, `ip_vs_ctl.c:3536, 3653`),
    /// unlike the service and dest ports: 8848 is `90 22` on little-endian.
    McastPort(u16),
    /// `IPVS_DAEMON_ATTR_MCAST_TTL` (since 4.3): u8.
    McastTtl(u8),
    /// An attribute this crate does not know (a newer kernel's), kept byte
    /// for byte.
    Other(UnknownAttr),
}

impl Nla for DaemonAttr {
    fn value_len(&self) -> usize {
        match self {
            Self::State(_) | Self::SyncId(_) | Self::McastGroup(_) => 4,
            Self::McastIfn(s) => s.len() + 1,
            Self::SyncMaxlen(_) | Self::McastPort(_) => 2,
            Self::McastGroup6(_) => 16,
            Self::McastTtl(_) => 1,
            Self::Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::State(_) => IPVS_DAEMON_ATTR_STATE,
            Self::McastIfn(_) => IPVS_DAEMON_ATTR_MCAST_IFN,
            Self::SyncId(_) => IPVS_DAEMON_ATTR_SYNC_ID,
            Self::SyncMaxlen(_) => IPVS_DAEMON_ATTR_SYNC_MAXLEN,
            Self::McastGroup(_) => IPVS_DAEMON_ATTR_MCAST_GROUP,
            Self::McastGroup6(_) => IPVS_DAEMON_ATTR_MCAST_GROUP6,
            Self::McastPort(_) => IPVS_DAEMON_ATTR_MCAST_PORT,
            Self::McastTtl(_) => IPVS_DAEMON_ATTR_MCAST_TTL,
            Self::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Self::State(v) | Self::SyncId(v) => wire::put(buffer, &v.to_ne_bytes()),
            Self::McastIfn(s) => wire::put_c_string(buffer, s),
            // Both host order (nla_put_u16), the port included.
            Self::SyncMaxlen(v) | Self::McastPort(v) => wire::put(buffer, &v.to_ne_bytes()),
            Self::McastGroup(a) => wire::put(buffer, &a.octets()),
            Self::McastGroup6(a) => wire::put(buffer, &a.octets()),
            Self::McastTtl(v) => wire::put(buffer, &[*v]),
            Self::Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for DaemonAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, NlError> {
        let v = buf.value();
        Ok(match buf.kind() {
            IPVS_DAEMON_ATTR_STATE => Self::State(wire::u32_ne("IPVS_DAEMON_ATTR_STATE", v)?),
            IPVS_DAEMON_ATTR_MCAST_IFN => Self::McastIfn(wire::c_bytes(v).to_vec()),
            IPVS_DAEMON_ATTR_SYNC_ID => Self::SyncId(wire::u32_ne("IPVS_DAEMON_ATTR_SYNC_ID", v)?),
            IPVS_DAEMON_ATTR_SYNC_MAXLEN => {
                Self::SyncMaxlen(wire::u16_ne("IPVS_DAEMON_ATTR_SYNC_MAXLEN", v)?)
            }
            IPVS_DAEMON_ATTR_MCAST_GROUP => {
                Self::McastGroup(Ipv4Addr::from(wire::fixed::<4>("IPVS_DAEMON_ATTR_MCAST_GROUP", v)?))
            }
            IPVS_DAEMON_ATTR_MCAST_GROUP6 => {
                Self::McastGroup6(Ipv6Addr::from(wire::fixed::<16>("IPVS_DAEMON_ATTR_MCAST_GROUP6", v)?))
            }
            IPVS_DAEMON_ATTR_MCAST_PORT => Self::McastPort(wire::u16_ne("IPVS_DAEMON_ATTR_MCAST_PORT", v)?),
            IPVS_DAEMON_ATTR_MCAST_TTL => Self::McastTtl(wire::u8_("IPVS_DAEMON_ATTR_MCAST_TTL", v)?),
            _ => Self::Other(UnknownAttr::from_nla(buf)),
        })
    }
}

/// Parses the contents of an `IPVS_CMD_ATTR_DAEMON` nest.
pub fn parse_daemon_attrs(value: &[u8]) -> Result<Vec<DaemonAttr>, super::DecodeError> {
    attrs(value).map_err(wire::public)
}

/// [`parse_daemon_attrs`] with netlink-packet-core's error, for the trait impls.
pub(crate) fn attrs(value: &[u8]) -> Result<Vec<DaemonAttr>, NlError> {
    wire::parse_nest(value, |nla| DaemonAttr::parse(nla))
}
