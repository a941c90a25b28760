//! Resolving the IPVS family id through the generic-netlink controller.
//!
//! The request is built with `netlink-packet-generic`'s own `GenlCtrl`
//! type, internally; only bytes and this module's types are public. The
//! reply is decoded here, leniently: `GenlCtrl`'s parser (0.5) rejects any
//! `CTRL_ATTR_*` or op attribute it does not know, so a kernel that adds one
//! would break family resolution.

use netlink_packet_core::{NetlinkMessage, NetlinkPayload, NlasIterator};
use netlink_packet_generic::constants::{
    CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME, CTRL_ATTR_HDRSIZE, CTRL_ATTR_MAXATTR, CTRL_ATTR_VERSION,
    CTRL_CMD_NEWFAMILY,
};
use netlink_packet_generic::ctrl::nlas::GenlCtrlAttrs;
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_packet_generic::GenlMessage;

use super::consts::{GENL_ID_CTRL, IPVS_GENL_NAME};
use super::frame::{netlink_header, CodecError, Frame, MessageBody, RequestHeader};
use super::wire::{self, NlError};

/// Encodes `CTRL_CMD_GETFAMILY` for the family `"IPVS"`.
///
/// `NLM_F_REQUEST` is always added to `flags`. The kernel answers with one
/// `CTRL_CMD_NEWFAMILY` message (plus an ACK if `NLM_F_ACK` was asked), or
/// with `NLMSG_ERROR` `-ENOENT` when the family is not registered even after
/// genetlink tried `request_module("net-pf-16-proto-16-family-IPVS")`.
pub fn encode_get_family_request(sequence: u32, port: u32, flags: u16) -> Vec<u8> {
    let mut genl = GenlMessage::from_payload(GenlCtrl {
        cmd: GenlCtrlCmd::GetFamily,
        nlas: vec![GenlCtrlAttrs::FamilyName(IPVS_GENL_NAME.to_owned())],
    });
    genl.finalize();
    let header = RequestHeader { family_id: GENL_ID_CTRL, flags, sequence, port };
    let mut msg = NetlinkMessage::new(netlink_header(&header), NetlinkPayload::InnerMessage(genl));
    msg.finalize();
    let mut buf = vec![0; msg.buffer_len()];
    msg.serialize(&mut buf);
    buf
}

/// What the controller said about a family.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FamilyInfo {
    /// `CTRL_ATTR_FAMILY_ID`: the id to put in `nlmsg_type`.
    pub id: u16,
    /// `CTRL_ATTR_FAMILY_NAME`.
    pub name: String,
    /// `CTRL_ATTR_VERSION` (1 for IPVS).
    pub version: u32,
    /// `CTRL_ATTR_HDRSIZE` (0 for IPVS).
    pub hdrsize: u32,
    /// `CTRL_ATTR_MAXATTR` (`IPVS_CMD_ATTR_MAX` = 6 for IPVS).
    pub maxattr: u32,
}

/// One message of the reply to [`encode_get_family_request`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FamilyReply {
    /// `CTRL_CMD_NEWFAMILY` with the family's attributes.
    Family(FamilyInfo),
    /// `NLMSG_ERROR`: `code` is 0 for an ACK, a negative errno otherwise
    /// (`-ENOENT`: no such family). Decoded like
    /// [`MessageBody::Error`].
    #[non_exhaustive]
    Error {
        /// 0 or a negative errno.
        code: i32,
        /// The extended-ack text, if the kernel sent one.
        message: Option<String>,
    },
    /// `NLMSG_DONE` (only for dump requests).
    Done,
    /// Any other message type or controller command.
    Other,
}

/// Decodes one frame of a controller reply.
pub fn decode_family_reply(frame: &Frame<'_>) -> Result<FamilyReply, CodecError> {
    if frame.header.message_type == GENL_ID_CTRL {
        return parse_family(frame.payload()).map_err(|e| frame.error(wire::public(e)));
    }
    Ok(match frame.decode_control()? {
        Some(MessageBody::Error { code, message, .. }) => FamilyReply::Error { code, message },
        Some(MessageBody::Done { .. }) => FamilyReply::Done,
        _ => FamilyReply::Other,
    })
}

fn parse_family(payload: &[u8]) -> Result<FamilyReply, NlError> {
    let [cmd, _version, _, _, attrs @ ..] = payload else {
        return Err(format!("generic netlink header: expected 4 bytes, got {}", payload.len()).into());
    };
    if *cmd != CTRL_CMD_NEWFAMILY {
        return Ok(FamilyReply::Other);
    }
    let mut info = FamilyInfo::default();
    for nla in NlasIterator::new(attrs) {
        let nla = nla?;
        let v = nla.value();
        match nla.kind() {
            CTRL_ATTR_FAMILY_ID => info.id = wire::u16_ne("CTRL_ATTR_FAMILY_ID", v)?,
            CTRL_ATTR_FAMILY_NAME => info.name = wire::c_string("CTRL_ATTR_FAMILY_NAME", v)?,
            CTRL_ATTR_VERSION => info.version = wire::u32_ne("CTRL_ATTR_VERSION", v)?,
            CTRL_ATTR_HDRSIZE => info.hdrsize = wire::u32_ne("CTRL_ATTR_HDRSIZE", v)?,
            CTRL_ATTR_MAXATTR => info.maxattr = wire::u32_ne("CTRL_ATTR_MAXATTR", v)?,
            _ => {} // OPS, MCAST_GROUPS, and whatever newer kernels add
        }
    }
    if info.id == 0 {
        return Err("CTRL_CMD_NEWFAMILY without CTRL_ATTR_FAMILY_ID".into());
    }
    Ok(FamilyReply::Family(info))
}
