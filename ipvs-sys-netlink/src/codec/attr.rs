//! Top-level attributes: `IPVS_CMD_ATTR_*` and, in GET_INFO replies,
//! `IPVS_INFO_ATTR_*`.

use netlink_packet_core::{ErrorContext, Nla, NlaBuffer, ParseableParametrized};

use super::cmd::IpvsCmd;
use super::consts::*;
use super::daemon::{self, DaemonAttr};
use super::dest::{self, DestAttr};
use super::service::{self, ServiceAttr};
use super::unknown::UnknownAttr;
use super::wire::{self, NlError};

/// One top-level attribute of an IPVS message.
///
/// Nests are emitted without `NLA_F_NESTED`, like the kernel's replies
/// (`nla_nest_start_noflag`); the kernel does not require the flag in
/// requests (its validation is the legacy kind), and parsing accepts it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IpvsAttr {
    /// `IPVS_CMD_ATTR_SERVICE`: a service nest.
    Service(Vec<ServiceAttr>),
    /// `IPVS_CMD_ATTR_DEST`: a destination nest.
    Dest(Vec<DestAttr>),
    /// `IPVS_CMD_ATTR_DAEMON`: a sync-daemon nest.
    Daemon(Vec<DaemonAttr>),
    /// `IPVS_CMD_ATTR_TIMEOUT_TCP`: seconds, u32 host order (0 = unchanged in
    /// SET_CONFIG).
    TimeoutTcp(u32),
    /// `IPVS_CMD_ATTR_TIMEOUT_TCP_FIN`: seconds, u32 host order.
    TimeoutTcpFin(u32),
    /// `IPVS_CMD_ATTR_TIMEOUT_UDP`: seconds, u32 host order.
    TimeoutUdp(u32),
    /// `IPVS_INFO_ATTR_VERSION` (GET_INFO reply, command SET_INFO): u32,
    /// `0x010201` for "1.2.1". Same number as `IPVS_CMD_ATTR_SERVICE`.
    InfoVersion(u32),
    /// `IPVS_INFO_ATTR_CONN_TAB_SIZE` (GET_INFO reply, command SET_INFO):
    /// u32. Same number as `IPVS_CMD_ATTR_DEST`.
    InfoConnTabSize(u32),
    /// An attribute this crate does not know (a newer kernel's, or numbers
    /// 3 to 6 in a SET_INFO message), kept byte for byte.
    Other(UnknownAttr),
}

impl Nla for IpvsAttr {
    fn value_len(&self) -> usize {
        match self {
            Self::Service(nlas) => wire::nlas_size(nlas),
            Self::Dest(nlas) => wire::nlas_size(nlas),
            Self::Daemon(nlas) => wire::nlas_size(nlas),
            Self::TimeoutTcp(_)
            | Self::TimeoutTcpFin(_)
            | Self::TimeoutUdp(_)
            | Self::InfoVersion(_)
            | Self::InfoConnTabSize(_) => 4,
            Self::Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::Service(_) => IPVS_CMD_ATTR_SERVICE,
            Self::Dest(_) => IPVS_CMD_ATTR_DEST,
            Self::Daemon(_) => IPVS_CMD_ATTR_DAEMON,
            Self::TimeoutTcp(_) => IPVS_CMD_ATTR_TIMEOUT_TCP,
            Self::TimeoutTcpFin(_) => IPVS_CMD_ATTR_TIMEOUT_TCP_FIN,
            Self::TimeoutUdp(_) => IPVS_CMD_ATTR_TIMEOUT_UDP,
            Self::InfoVersion(_) => IPVS_INFO_ATTR_VERSION,
            Self::InfoConnTabSize(_) => IPVS_INFO_ATTR_CONN_TAB_SIZE,
            Self::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Self::Service(nlas) => wire::emit_nlas(nlas, buffer),
            Self::Dest(nlas) => wire::emit_nlas(nlas, buffer),
            Self::Daemon(nlas) => wire::emit_nlas(nlas, buffer),
            Self::TimeoutTcp(v)
            | Self::TimeoutTcpFin(v)
            | Self::TimeoutUdp(v)
            | Self::InfoVersion(v)
            | Self::InfoConnTabSize(v) => wire::put(buffer, &v.to_ne_bytes()),
            Self::Other(nla) => nla.emit_value(buffer),
        }
    }
}

/// Top-level attributes are parsed with the message's command as context:
/// in a GET_INFO reply (command [`IpvsCmd::SetInfo`]) numbers 1 and 2 are
/// `IPVS_INFO_ATTR_VERSION` and `IPVS_INFO_ATTR_CONN_TAB_SIZE`, not the
/// SERVICE and DEST nests.
impl<'a, T: AsRef<[u8]> + ?Sized> ParseableParametrized<NlaBuffer<&'a T>, IpvsCmd> for IpvsAttr {
    fn parse_with_param(buf: &NlaBuffer<&'a T>, cmd: IpvsCmd) -> Result<Self, NlError> {
        let v = buf.value();
        if cmd == IpvsCmd::SetInfo {
            return Ok(match buf.kind() {
                IPVS_INFO_ATTR_VERSION => Self::InfoVersion(wire::u32_ne("IPVS_INFO_ATTR_VERSION", v)?),
                IPVS_INFO_ATTR_CONN_TAB_SIZE => {
                    Self::InfoConnTabSize(wire::u32_ne("IPVS_INFO_ATTR_CONN_TAB_SIZE", v)?)
                }
                _ => Self::Other(UnknownAttr::from_nla(buf)),
            });
        }
        Ok(match buf.kind() {
            IPVS_CMD_ATTR_SERVICE => Self::Service(service::attrs(v).context("IPVS_CMD_ATTR_SERVICE")?),
            IPVS_CMD_ATTR_DEST => Self::Dest(dest::attrs(v).context("IPVS_CMD_ATTR_DEST")?),
            IPVS_CMD_ATTR_DAEMON => Self::Daemon(daemon::attrs(v).context("IPVS_CMD_ATTR_DAEMON")?),
            IPVS_CMD_ATTR_TIMEOUT_TCP => Self::TimeoutTcp(wire::u32_ne("IPVS_CMD_ATTR_TIMEOUT_TCP", v)?),
            IPVS_CMD_ATTR_TIMEOUT_TCP_FIN => {
                Self::TimeoutTcpFin(wire::u32_ne("IPVS_CMD_ATTR_TIMEOUT_TCP_FIN", v)?)
            }
            IPVS_CMD_ATTR_TIMEOUT_UDP => Self::TimeoutUdp(wire::u32_ne("IPVS_CMD_ATTR_TIMEOUT_UDP", v)?),
            _ => Self::Other(UnknownAttr::from_nla(buf)),
        })
    }
}

/// Parses the attributes of a message body (after the genl header), with
/// the command that decides what numbers 1 and 2 mean.
///
/// The error names the attribute and the nests around it, e.g.
/// `IPVS_CMD_ATTR_DEST caused by IPVS_DEST_ATTR_PORT: expected 2 bytes, got 1`.
pub fn parse_attrs(value: &[u8], cmd: IpvsCmd) -> Result<Vec<IpvsAttr>, super::DecodeError> {
    attrs(value, cmd).map_err(wire::public)
}

/// [`parse_attrs`] with netlink-packet-core's error, for the trait impls.
pub(crate) fn attrs(value: &[u8], cmd: IpvsCmd) -> Result<Vec<IpvsAttr>, NlError> {
    wire::parse_nest(value, |nla| IpvsAttr::parse_with_param(nla, cmd))
}
