//! The IPVS generic-netlink message: a command plus attributes.

use netlink_packet_core::{DecodeError, Emitable, ErrorContext, ParseableParametrized};
use netlink_packet_generic::{GenlFamily, GenlHeader};

use super::attr::{parse_attrs, IpvsAttr};
use super::consts::*;
use super::daemon::DaemonAttr;
use super::dest::DestAttr;
use super::service::ServiceAttr;

/// An IPVS command (`IPVS_CMD_*`, the `cmd` byte of the genl header).
///
/// Replies reuse the "set" commands: GET_SERVICE answers with
/// [`NewService`](Self::NewService), the GET_DEST dump with
/// [`NewDest`](Self::NewDest), the GET_DAEMON dump with
/// [`NewDaemon`](Self::NewDaemon), GET_CONFIG with
/// [`SetConfig`](Self::SetConfig) and GET_INFO with [`SetInfo`](Self::SetInfo).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IpvsCmd {
    /// `IPVS_CMD_NEW_SERVICE` (1).
    NewService,
    /// `IPVS_CMD_SET_SERVICE` (2).
    SetService,
    /// `IPVS_CMD_DEL_SERVICE` (3).
    DelService,
    /// `IPVS_CMD_GET_SERVICE` (4).
    GetService,
    /// `IPVS_CMD_NEW_DEST` (5).
    NewDest,
    /// `IPVS_CMD_SET_DEST` (6).
    SetDest,
    /// `IPVS_CMD_DEL_DEST` (7).
    DelDest,
    /// `IPVS_CMD_GET_DEST` (8), dump only.
    GetDest,
    /// `IPVS_CMD_NEW_DAEMON` (9).
    NewDaemon,
    /// `IPVS_CMD_DEL_DAEMON` (10).
    DelDaemon,
    /// `IPVS_CMD_GET_DAEMON` (11), dump only.
    GetDaemon,
    /// `IPVS_CMD_SET_CONFIG` (12); libipvs calls it `SET_TIMEOUT`.
    SetConfig,
    /// `IPVS_CMD_GET_CONFIG` (13); libipvs calls it `GET_TIMEOUT`.
    GetConfig,
    /// `IPVS_CMD_SET_INFO` (14): only the reply command of GET_INFO.
    SetInfo,
    /// `IPVS_CMD_GET_INFO` (15).
    GetInfo,
    /// `IPVS_CMD_ZERO` (16).
    Zero,
    /// `IPVS_CMD_FLUSH` (17).
    Flush,
    /// Any other number (0 = `IPVS_CMD_UNSPEC`, or a newer kernel's command).
    Other(u8),
}

impl From<u8> for IpvsCmd {
    fn from(cmd: u8) -> Self {
        match cmd {
            IPVS_CMD_NEW_SERVICE => Self::NewService,
            IPVS_CMD_SET_SERVICE => Self::SetService,
            IPVS_CMD_DEL_SERVICE => Self::DelService,
            IPVS_CMD_GET_SERVICE => Self::GetService,
            IPVS_CMD_NEW_DEST => Self::NewDest,
            IPVS_CMD_SET_DEST => Self::SetDest,
            IPVS_CMD_DEL_DEST => Self::DelDest,
            IPVS_CMD_GET_DEST => Self::GetDest,
            IPVS_CMD_NEW_DAEMON => Self::NewDaemon,
            IPVS_CMD_DEL_DAEMON => Self::DelDaemon,
            IPVS_CMD_GET_DAEMON => Self::GetDaemon,
            IPVS_CMD_SET_CONFIG => Self::SetConfig,
            IPVS_CMD_GET_CONFIG => Self::GetConfig,
            IPVS_CMD_SET_INFO => Self::SetInfo,
            IPVS_CMD_GET_INFO => Self::GetInfo,
            IPVS_CMD_ZERO => Self::Zero,
            IPVS_CMD_FLUSH => Self::Flush,
            other => Self::Other(other),
        }
    }
}

impl From<IpvsCmd> for u8 {
    fn from(cmd: IpvsCmd) -> u8 {
        match cmd {
            IpvsCmd::NewService => IPVS_CMD_NEW_SERVICE,
            IpvsCmd::SetService => IPVS_CMD_SET_SERVICE,
            IpvsCmd::DelService => IPVS_CMD_DEL_SERVICE,
            IpvsCmd::GetService => IPVS_CMD_GET_SERVICE,
            IpvsCmd::NewDest => IPVS_CMD_NEW_DEST,
            IpvsCmd::SetDest => IPVS_CMD_SET_DEST,
            IpvsCmd::DelDest => IPVS_CMD_DEL_DEST,
            IpvsCmd::GetDest => IPVS_CMD_GET_DEST,
            IpvsCmd::NewDaemon => IPVS_CMD_NEW_DAEMON,
            IpvsCmd::DelDaemon => IPVS_CMD_DEL_DAEMON,
            IpvsCmd::GetDaemon => IPVS_CMD_GET_DAEMON,
            IpvsCmd::SetConfig => IPVS_CMD_SET_CONFIG,
            IpvsCmd::GetConfig => IPVS_CMD_GET_CONFIG,
            IpvsCmd::SetInfo => IPVS_CMD_SET_INFO,
            IpvsCmd::GetInfo => IPVS_CMD_GET_INFO,
            IpvsCmd::Zero => IPVS_CMD_ZERO,
            IpvsCmd::Flush => IPVS_CMD_FLUSH,
            IpvsCmd::Other(other) => other,
        }
    }
}

/// The payload of an IPVS generic-netlink message (after the 4-byte genl
/// header; IPVS has no family header of its own).
///
/// It implements the three traits `netlink-packet-generic` asks of a family
/// payload, so it travels as `NetlinkMessage<GenlMessage<IpvsMessage>>`:
/// [`GenlFamily`] (name `"IPVS"`, version 1, dynamic id),
/// [`Emitable`] and `ParseableParametrized<[u8], GenlHeader>`.
///
/// ```
/// use ipvs_sys_netlink::codec::{encode_request, IpvsCmd, IpvsMessage, RequestHeader};
///
/// let flush = IpvsMessage::new(IpvsCmd::Flush, vec![]);
/// let hdr = RequestHeader { family_id: 0x23, ..Default::default() };
/// let bytes = encode_request(&flush, hdr).unwrap();
/// assert_eq!(bytes.len(), 16 + 4);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpvsMessage {
    /// The command (genl header `cmd`).
    pub cmd: IpvsCmd,
    /// The top-level attributes, in wire order.
    pub nlas: Vec<IpvsAttr>,
}

impl IpvsMessage {
    /// A message with command `cmd` and attributes `nlas`.
    pub fn new(cmd: IpvsCmd, nlas: Vec<IpvsAttr>) -> Self {
        Self { cmd, nlas }
    }

    /// The first service nest, if any.
    pub fn service(&self) -> Option<&[ServiceAttr]> {
        self.nlas.iter().find_map(|a| match a {
            IpvsAttr::Service(s) => Some(s.as_slice()),
            _ => None,
        })
    }

    /// The first destination nest, if any.
    pub fn dest(&self) -> Option<&[DestAttr]> {
        self.nlas.iter().find_map(|a| match a {
            IpvsAttr::Dest(d) => Some(d.as_slice()),
            _ => None,
        })
    }

    /// The first sync-daemon nest, if any.
    pub fn daemon(&self) -> Option<&[DaemonAttr]> {
        self.nlas.iter().find_map(|a| match a {
            IpvsAttr::Daemon(d) => Some(d.as_slice()),
            _ => None,
        })
    }
}

impl GenlFamily for IpvsMessage {
    fn family_name() -> &'static str {
        IPVS_GENL_NAME
    }

    /// Always 0: the IPVS family id is assigned by the kernel at module load.
    /// Resolve it with `CTRL_CMD_GETFAMILY` (see [`super::ctrl`]) and set it
    /// with `GenlMessage::set_resolved_family_id`.
    fn family_id(&self) -> u16 {
        0
    }

    fn command(&self) -> u8 {
        self.cmd.into()
    }

    fn version(&self) -> u8 {
        IPVS_GENL_VERSION
    }
}

impl Emitable for IpvsMessage {
    fn buffer_len(&self) -> usize {
        self.nlas.as_slice().buffer_len()
    }

    fn emit(&self, buffer: &mut [u8]) {
        self.nlas.as_slice().emit(buffer)
    }
}

impl ParseableParametrized<[u8], GenlHeader> for IpvsMessage {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, DecodeError> {
        let cmd = IpvsCmd::from(header.cmd);
        let nlas = parse_attrs(buf, cmd).with_context(|| format!("IPVS message {cmd:?}"))?;
        Ok(Self { cmd, nlas })
    }
}
