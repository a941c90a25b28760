//! Whole netlink messages: encoding requests and splitting reply buffers.

use std::ops::Range;

use netlink_packet_core::{
    DecodeError, Emitable, NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, Nla, Parseable,
    NLM_F_REQUEST,
};
use netlink_packet_generic::{GenlHeader, GenlMessage};

use super::message::IpvsMessage;

/// A parsed IPVS netlink message: `nlmsghdr` + genl header + IPVS payload, or
/// one of netlink's own messages (`NLMSG_ERROR`, `NLMSG_DONE`, ...).
pub type IpvsNetlinkMessage = NetlinkMessage<GenlMessage<IpvsMessage>>;

/// Size of `struct nlmsghdr`.
pub const NLMSG_HDRLEN: usize = 16;
/// Size of `struct genlmsghdr`.
pub const GENL_HDRLEN: usize = 4;
/// Message types below this are netlink control messages (`NLMSG_MIN_TYPE`);
/// a request with such a type is never given to generic netlink.
pub const NLMSG_MIN_TYPE: u16 = 0x10;
/// Largest value an attribute can carry (its 16-bit length includes the
/// 4-byte header).
pub const NLA_MAX_VALUE_LEN: usize = u16::MAX as usize - 4;

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// A top-level attribute is too long for netlink's 16-bit length field.
    #[error("attribute type {kind} has a {len}-byte value; netlink allows at most {NLA_MAX_VALUE_LEN}")]
    AttributeTooLarge {
        /// Attribute number.
        kind: u16,
        /// Value length that was asked for.
        len: usize,
    },
    /// The family id is a netlink control type: the kernel would treat the
    /// request as a no-op and, with `NLM_F_ACK`, acknowledge it.
    #[error("family id {0} is below NLMSG_MIN_TYPE (16); resolve the IPVS family id first")]
    InvalidFamilyId(u16),
    /// The buffer ends inside a message.
    #[error("netlink message at offset {offset}: needs {needed} bytes, {available} left")]
    Truncated {
        /// Where the message starts in the buffer.
        offset: usize,
        /// Bytes the header (or its length field) asks for.
        needed: usize,
        /// Bytes left in the buffer.
        available: usize,
    },
    /// A message's length field is smaller than its own header.
    #[error("netlink message at offset {offset}: length field {length} is below the 16-byte header")]
    BadLength {
        /// Where the message starts in the buffer.
        offset: usize,
        /// The length field.
        length: u32,
    },
    /// A message is framed correctly but its contents do not decode.
    #[error("netlink message at offset {offset} (type {message_type}, seq {sequence}): {source}")]
    Decode {
        /// Where the message starts in the buffer.
        offset: usize,
        /// `nlmsg_type`.
        message_type: u16,
        /// `nlmsg_seq`.
        sequence: u32,
        /// What failed, naming the attribute.
        #[source]
        source: DecodeError,
    },
}

/// The netlink header fields a request needs.
///
/// `NLM_F_REQUEST` is always added to `flags`; add `NLM_F_ACK` to get an
/// acknowledgement for commands that otherwise send nothing back, and
/// `NLM_F_DUMP` for GET_SERVICE (all), GET_DEST and GET_DAEMON.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RequestHeader {
    /// The resolved IPVS family id (`nlmsg_type`).
    pub family_id: u16,
    /// `NLM_F_*` flags.
    pub flags: u16,
    /// `nlmsg_seq`, echoed by every reply.
    pub sequence: u32,
    /// `nlmsg_pid`; 0 is fine (the kernel answers the sending socket).
    pub port: u32,
}

/// Rejects what would make netlink-packet-core's emitters panic or the
/// kernel silently ignore the request.
fn validate(msg: &IpvsMessage, header: &RequestHeader) -> Result<(), CodecError> {
    if header.family_id < NLMSG_MIN_TYPE {
        return Err(CodecError::InvalidFamilyId(header.family_id));
    }
    // An inner attribute is always shorter than the nest that holds it, so
    // checking the top level covers every level.
    for nla in &msg.nlas {
        let len = nla.value_len();
        if len > NLA_MAX_VALUE_LEN {
            return Err(CodecError::AttributeTooLarge { kind: nla.kind(), len });
        }
    }
    Ok(())
}

/// The `nlmsghdr` of a request (length left to the caller).
pub(crate) fn netlink_header(header: &RequestHeader) -> NetlinkHeader {
    let mut nl = NetlinkHeader::default();
    nl.message_type = header.family_id;
    nl.flags = header.flags | NLM_F_REQUEST;
    nl.sequence_number = header.sequence;
    nl.port_number = header.port;
    nl
}

/// Builds the typed request `NetlinkMessage<GenlMessage<IpvsMessage>>`,
/// finalized (lengths, family id, genl cmd and version filled in).
pub fn build_request(msg: IpvsMessage, header: RequestHeader) -> Result<IpvsNetlinkMessage, CodecError> {
    validate(&msg, &header)?;
    let mut genl = GenlMessage::from_payload(msg);
    genl.set_resolved_family_id(header.family_id);
    let mut nl = NetlinkMessage::new(netlink_header(&header), NetlinkPayload::InnerMessage(genl));
    nl.finalize();
    Ok(nl)
}

/// Appends one request to `out` and returns the byte range it occupies.
///
/// The bytes are those of [`build_request`] serialized, written in place
/// without cloning `msg`. Several requests appended to one buffer can go out
/// in a single `sendmsg`; the kernel processes them in order. Every message
/// is a multiple of 4 bytes long, so no padding is needed between them.
pub fn encode_request_into(
    out: &mut Vec<u8>,
    msg: &IpvsMessage,
    header: RequestHeader,
) -> Result<Range<usize>, CodecError> {
    validate(msg, &header)?;
    let genl = GenlHeader { cmd: msg.cmd.into(), version: super::consts::IPVS_GENL_VERSION };
    let len = NLMSG_HDRLEN + GENL_HDRLEN + msg.buffer_len();
    let mut nl_header = netlink_header(&header);
    nl_header.length = u32::try_from(len).map_err(|_| CodecError::AttributeTooLarge { kind: 0, len })?;

    let start = out.len();
    out.resize(start + len, 0);
    let (nl_buf, rest) = out[start..].split_at_mut(NLMSG_HDRLEN);
    nl_header.emit(nl_buf);
    let (genl_buf, payload) = rest.split_at_mut(GENL_HDRLEN);
    genl.emit(genl_buf);
    msg.emit(payload);
    Ok(start..start + len)
}

/// Encodes one request into a new buffer.
///
/// ```
/// use ipvs_sys_netlink::codec::{encode_request, IpvsCmd, IpvsMessage, RequestHeader};
/// use netlink_packet_core::NLM_F_ACK;
///
/// let hdr = RequestHeader { family_id: 0x23, flags: NLM_F_ACK, sequence: 7, port: 0 };
/// let bytes = encode_request(&IpvsMessage::new(IpvsCmd::Flush, vec![]), hdr).unwrap();
/// assert_eq!(bytes, [20, 0, 0, 0, 0x23, 0, 5, 0, 7, 0, 0, 0, 0, 0, 0, 0, 17, 1, 0, 0]);
/// ```
pub fn encode_request(msg: &IpvsMessage, header: RequestHeader) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    encode_request_into(&mut out, msg, header)?;
    Ok(out)
}

/// One netlink message of a receive buffer, not yet decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Where the message starts in the buffer.
    pub offset: usize,
    /// Its header (`length`, `message_type`, `flags`, `sequence_number`,
    /// `port_number`).
    pub header: NetlinkHeader,
    /// The whole message, header included (exactly `header.length` bytes).
    pub bytes: &'a [u8],
}

impl<'a> Frame<'a> {
    /// The bytes after the 16-byte netlink header.
    pub fn payload(&self) -> &'a [u8] {
        self.bytes.get(NLMSG_HDRLEN..).unwrap_or_default()
    }

    /// Decodes the frame as an IPVS message (or a netlink control message).
    pub fn decode(&self) -> Result<IpvsNetlinkMessage, CodecError> {
        IpvsNetlinkMessage::deserialize(self.bytes).map_err(|source| self.error(source))
    }

    /// Wraps `source` with this frame's position, type and sequence.
    pub fn error(&self, source: DecodeError) -> CodecError {
        CodecError::Decode {
            offset: self.offset,
            message_type: self.header.message_type,
            sequence: self.header.sequence_number,
            source,
        }
    }
}

/// Splits a receive buffer into netlink messages. Never panics; a framing
/// error is yielded once and ends the iteration.
#[derive(Clone, Debug)]
pub struct Frames<'a> {
    buf: &'a [u8],
    offset: usize,
}

impl<'a> Frames<'a> {
    /// Iterates over the messages of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, offset: 0 }
    }

    fn fail(&mut self, err: CodecError) -> Option<Result<Frame<'a>, CodecError>> {
        self.offset = self.buf.len();
        Some(Err(err))
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<Frame<'a>, CodecError>;

    fn next(&mut self) -> Option<Self::Item> {
        let offset = self.offset;
        let rest = self.buf.get(offset..).filter(|r| !r.is_empty())?;
        if rest.len() < NLMSG_HDRLEN {
            return self.fail(CodecError::Truncated { offset, needed: NLMSG_HDRLEN, available: rest.len() });
        }
        let length = NetlinkBuffer::new(rest).length();
        let len = length as usize;
        if len < NLMSG_HDRLEN {
            return self.fail(CodecError::BadLength { offset, length });
        }
        let Some(bytes) = rest.get(..len) else {
            return self.fail(CodecError::Truncated { offset, needed: len, available: rest.len() });
        };
        let header = match NetlinkBuffer::new_checked(bytes).and_then(|b| NetlinkHeader::parse(&b)) {
            Ok(h) => h,
            Err(e) => {
                return self.fail(CodecError::Decode { offset, message_type: 0, sequence: 0, source: e })
            }
        };
        // Messages are NLMSG_ALIGN'ed (4 bytes); the last one may lack padding.
        self.offset = offset.saturating_add((len + 3) & !3).min(self.buf.len());
        Some(Ok(Frame { offset, header, bytes }))
    }
}

/// Decodes every message of a receive buffer, lazily. A message that fails
/// to decode yields an error and the iteration goes on with the next one; a
/// framing error ends it.
///
/// The iterator does not check `message_type`: on a socket used for other
/// families too, compare `header.message_type` with the IPVS family id.
pub fn parse_messages(buf: &[u8]) -> impl Iterator<Item = Result<IpvsNetlinkMessage, CodecError>> + '_ {
    Frames::new(buf).map(|frame| frame.and_then(|f| f.decode()))
}

/// Decodes every message of a receive buffer, stopping at the first error.
pub fn parse_reply(buf: &[u8]) -> Result<Vec<IpvsNetlinkMessage>, CodecError> {
    parse_messages(buf).collect()
}
