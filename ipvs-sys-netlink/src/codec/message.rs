//! The IPVS generic-netlink message: a command plus attributes.

use netlink_packet_core::{Emitable, ErrorContext, ParseableParametrized};
use netlink_packet_generic::{GenlFamily, GenlHeader};

use super::attr::{self, IpvsAttr};
use super::cmd::IpvsCmd;
use super::consts::*;
use super::daemon::DaemonAttr;
use super::dest::DestAttr;
use super::service::ServiceAttr;
use super::wire::{self, NlError};

/// The payload of an IPVS generic-netlink message (after the 4-byte genl
/// header; IPVS has no family header of its own).
///
/// Encode it with [`encode_request`](super::encode_request); decoded
/// replies hold it in [`MessageBody::Ipvs`](super::MessageBody::Ipvs).
///
/// As plumbing, it also implements the three traits `netlink-packet-generic`
/// (0.5) asks of a family payload, so it could travel as
/// `NetlinkMessage<GenlMessage<IpvsMessage>>`: `GenlFamily` (name `"IPVS"`,
/// version 1, dynamic id), `Emitable` and
/// `ParseableParametrized<[u8], GenlHeader>`.
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

    /// Decodes a generic-netlink payload: the 4-byte genl header (`cmd`,
    /// version, reserved; the version is not checked) and the attributes.
    /// This is [`Frame::payload`](super::Frame::payload) of an IPVS message.
    ///
    /// ```
    /// use ipvs_sys_netlink::codec::{IpvsCmd, IpvsMessage};
    ///
    /// let msg = IpvsMessage::decode(&[17, 1, 0, 0]).unwrap();
    /// assert_eq!(msg, IpvsMessage::new(IpvsCmd::Flush, vec![]));
    /// assert!(IpvsMessage::decode(&[17, 1]).is_err());
    /// ```
    pub fn decode(payload: &[u8]) -> Result<Self, super::DecodeError> {
        let [cmd, version, _, _, attrs @ ..] = payload else {
            return Err(super::DecodeError::new(format!(
                "generic netlink header: expected 4 bytes, got {}",
                payload.len()
            )));
        };
        Self::parse_with_param(attrs, GenlHeader { cmd: *cmd, version: *version }).map_err(wire::public)
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
        wire::nlas_size(&self.nlas)
    }

    fn emit(&self, buffer: &mut [u8]) {
        wire::emit_nlas(&self.nlas, buffer)
    }
}

impl ParseableParametrized<[u8], GenlHeader> for IpvsMessage {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, NlError> {
        let cmd = IpvsCmd::from(header.cmd);
        let nlas = attr::attrs(buf, cmd).with_context(|| format!("{cmd} message"))?;
        Ok(Self { cmd, nlas })
    }
}
