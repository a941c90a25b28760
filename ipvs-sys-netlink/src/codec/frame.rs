//! Whole netlink messages: encoding requests, splitting receive buffers and
//! decoding what they hold.

use std::ops::Range;

use netlink_packet_core::{Emitable, NetlinkHeader, Nla, NlasIterator};

use super::consts::{
    IPVS_GENL_VERSION, NLMSGERR_ATTR_MSG, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, NLM_F_ACK_TLVS,
    NLM_F_CAPPED, NLM_F_REQUEST,
};
use super::message::IpvsMessage;
use super::wire::{self, NlError};
use super::DecodeError;

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
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
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
    /// The whole message is too long for netlink's 32-bit length field.
    #[error("a {len}-byte message does not fit netlink's 32-bit length field")]
    MessageTooLarge {
        /// Message length that was asked for.
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

/// A netlink message header (`struct nlmsghdr`), every field in host order.
///
/// ```
/// use ipvs_sys_netlink::codec::MessageHeader;
///
/// let h = MessageHeader { length: 20, message_type: 0x24, flags: 5, sequence: 7, port: 0 };
/// assert_eq!(MessageHeader::from_bytes(&h.to_bytes()), Some(h));
/// assert_eq!(MessageHeader::from_bytes(&[0; 15]), None);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MessageHeader {
    /// `nlmsg_len`: the whole message, this header included (padding to 4
    /// bytes excluded).
    pub length: u32,
    /// `nlmsg_type`: a family id (the IPVS family's, resolved at run time) or
    /// a control type (`NLMSG_ERROR`, `NLMSG_DONE`, ...).
    pub message_type: u16,
    /// `nlmsg_flags`: `NLM_F_*`.
    pub flags: u16,
    /// `nlmsg_seq`: replies echo the request's.
    pub sequence: u32,
    /// `nlmsg_pid`: the port id (0 for the kernel).
    pub port: u32,
}

impl MessageHeader {
    /// Reads a header from the first 16 bytes of `bytes` (`None` if there
    /// are fewer). Nothing is checked: `length` is what the bytes say.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        Some(Self {
            length: wire::u32_at(bytes, 0)?,
            message_type: wire::u16_at(bytes, 4)?,
            flags: wire::u16_at(bytes, 6)?,
            sequence: wire::u32_at(bytes, 8)?,
            port: wire::u32_at(bytes, 12)?,
        })
    }

    /// The 16 bytes of the header, as on the wire.
    pub fn to_bytes(&self) -> [u8; NLMSG_HDRLEN] {
        let mut out = [0u8; NLMSG_HDRLEN];
        let fields: [&[u8]; 5] = [
            &self.length.to_ne_bytes(),
            &self.message_type.to_ne_bytes(),
            &self.flags.to_ne_bytes(),
            &self.sequence.to_ne_bytes(),
            &self.port.to_ne_bytes(),
        ];
        let mut at = 0;
        for field in fields {
            wire::put(out.get_mut(at..).unwrap_or_default(), field);
            at += field.len();
        }
        out
    }
}

/// The netlink header fields a request needs.
///
/// `NLM_F_REQUEST` is always added to `flags`; add
/// [`NLM_F_ACK`](super::consts::NLM_F_ACK) to get an acknowledgement for
/// commands that otherwise send nothing back, and
/// [`NLM_F_DUMP`](super::consts::NLM_F_DUMP) for GET_SERVICE (all), GET_DEST
/// and GET_DAEMON.
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
/// kernel silently ignore the message.
fn validate(msg: &IpvsMessage, message_type: u16) -> Result<(), CodecError> {
    if message_type < NLMSG_MIN_TYPE {
        return Err(CodecError::InvalidFamilyId(message_type));
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

/// netlink-packet-core's header for a request (length left to the caller),
/// for the controller request that is built with its types.
pub(crate) fn netlink_header(header: &RequestHeader) -> NetlinkHeader {
    let mut nl = NetlinkHeader::default();
    nl.message_type = header.family_id;
    nl.flags = header.flags | NLM_F_REQUEST;
    nl.sequence_number = header.sequence;
    nl.port_number = header.port;
    nl
}

/// Appends one IPVS message (header, genl header, attributes) and returns
/// the byte range it occupies.
fn encode_ipvs_into(
    out: &mut Vec<u8>,
    msg: &IpvsMessage,
    header: MessageHeader,
) -> Result<Range<usize>, CodecError> {
    validate(msg, header.message_type)?;
    let len = NLMSG_HDRLEN + GENL_HDRLEN + msg.buffer_len();
    let length = u32::try_from(len).map_err(|_| CodecError::MessageTooLarge { len })?;
    let header = MessageHeader { length, ..header };

    let start = out.len();
    out.reserve(len);
    out.extend_from_slice(&header.to_bytes());
    out.extend_from_slice(&[msg.cmd.into(), IPVS_GENL_VERSION, 0, 0]);
    let body = out.len();
    out.resize(start + len, 0);
    if let Some(payload) = out.get_mut(body..) {
        msg.emit(payload);
    }
    Ok(start..start + len)
}

/// Appends a control message whose payload is `payload` and, if any, an
/// `NLMSGERR_ATTR_MSG` attribute holding `text`.
fn encode_control_into(
    out: &mut Vec<u8>,
    header: MessageHeader,
    payload: &[u8],
    text: Option<&str>,
) -> Result<Range<usize>, CodecError> {
    let start = out.len();
    out.extend_from_slice(&header.to_bytes());
    out.extend_from_slice(payload);
    if let Some(text) = text {
        let value_len = text.len() + 1;
        if value_len > NLA_MAX_VALUE_LEN {
            out.truncate(start);
            return Err(CodecError::AttributeTooLarge { kind: NLMSGERR_ATTR_MSG, len: value_len });
        }
        let at = out.len();
        out.resize(at + wire::align4(4 + value_len), 0);
        if let Some(nla) = out.get_mut(at..) {
            wire::put(nla, &((4 + value_len) as u16).to_ne_bytes());
            wire::put(nla.get_mut(2..).unwrap_or_default(), &NLMSGERR_ATTR_MSG.to_ne_bytes());
            wire::put_c_string(nla.get_mut(4..).unwrap_or_default(), text.as_bytes());
        }
    }
    let len = out.len() - start;
    let Ok(length) = u32::try_from(len) else {
        out.truncate(start);
        return Err(CodecError::MessageTooLarge { len });
    };
    if let Some(dst) = out.get_mut(start..start + 4) {
        dst.copy_from_slice(&length.to_ne_bytes());
    }
    Ok(start..start + len)
}

/// Appends one message, as the kernel would send it, and returns the byte
/// range it occupies: the inverse of [`Frame::decode`], for simulators and
/// tests. `msg.header.length` is ignored (the real length is written).
///
/// * [`MessageBody::Ipvs`]: the header's type, flags, sequence and port
///   exactly (no flag added: requests go through [`encode_request_into`]),
///   then the genl header (`cmd`, version
///   [`IPVS_GENL_VERSION`](super::consts::IPVS_GENL_VERSION)) and the
///   attributes. A type below [`NLMSG_MIN_TYPE`] is refused.
/// * [`MessageBody::Error`]: type `NLMSG_ERROR`, the code, the request's
///   header, then the text as `NLMSGERR_ATTR_MSG`. This is the capped form
///   (the kernel's for every ACK and, with `NETLINK_CAP_ACK`, for errors),
///   so `NLM_F_CAPPED` is added to the flags, and `NLM_F_ACK_TLVS` when
///   there is a text. Without a request header (`None`: a short payload
///   was parsed) only the code is written, unless there is a text, which
///   then follows 16 zero bytes.
/// * [`MessageBody::Done`]: type `NLMSG_DONE`, the code, then the text as
///   `NLMSGERR_ATTR_MSG` (adding `NLM_F_ACK_TLVS`).
/// * [`MessageBody::Noop`], [`MessageBody::Overrun`]: their type, no
///   payload. [`MessageBody::Other`]: the header's type, no payload.
///
/// Every kernel message this module decodes is re-encoded byte for byte,
/// except an error that echoes the whole request (not capped), which comes
/// out capped, and an empty `NLMSG_DONE`, which comes out with its code.
pub fn encode_message_into(out: &mut Vec<u8>, msg: &Message) -> Result<Range<usize>, CodecError> {
    let header = msg.header;
    match &msg.body {
        MessageBody::Ipvs(m) => encode_ipvs_into(out, m, header),
        MessageBody::Error { code, request, message } => {
            let mut flags = header.flags | NLM_F_CAPPED;
            if message.is_some() {
                flags |= NLM_F_ACK_TLVS;
            }
            let header = MessageHeader { message_type: NLMSG_ERROR, flags, ..header };
            let mut payload = code.to_ne_bytes().to_vec();
            match request {
                Some(h) => payload.extend_from_slice(&h.to_bytes()),
                None if message.is_some() => payload.extend_from_slice(&[0; NLMSG_HDRLEN]),
                None => {}
            }
            encode_control_into(out, header, &payload, message.as_deref())
        }
        MessageBody::Done { code, message } => {
            let flags = if message.is_some() { header.flags | NLM_F_ACK_TLVS } else { header.flags };
            let header = MessageHeader { message_type: NLMSG_DONE, flags, ..header };
            encode_control_into(out, header, &code.to_ne_bytes(), message.as_deref())
        }
        MessageBody::Noop => {
            encode_control_into(out, MessageHeader { message_type: NLMSG_NOOP, ..header }, &[], None)
        }
        MessageBody::Overrun => {
            encode_control_into(out, MessageHeader { message_type: NLMSG_OVERRUN, ..header }, &[], None)
        }
        MessageBody::Other => encode_control_into(out, header, &[], None),
    }
}

/// [`encode_message_into`] into a new buffer.
///
/// ```
/// use ipvs_sys_netlink::codec::consts::NLM_F_MULTI;
/// use ipvs_sys_netlink::codec::{
///     encode_message, parse_reply, IpvsCmd, IpvsMessage, Message, MessageBody, MessageHeader,
/// };
///
/// // A dump entry as the kernel sends it (NLM_F_MULTI, no NLM_F_REQUEST), then the end of the dump.
/// let header = MessageHeader { message_type: 0x24, flags: NLM_F_MULTI, sequence: 3, port: 99, ..Default::default() };
/// let entry = Message { header, body: MessageBody::Ipvs(IpvsMessage::new(IpvsCmd::NewService, vec![])) };
/// let done = Message { header, body: MessageBody::done(0) };
/// let mut bytes = encode_message(&entry).unwrap();
/// bytes.extend(encode_message(&done).unwrap());
/// let parsed = parse_reply(&bytes).unwrap();
/// assert_eq!(parsed[0], Message { header: MessageHeader { length: 20, ..header }, ..entry });
/// assert!(matches!(parsed[1].body, MessageBody::Done { code: 0, .. }));
/// ```
pub fn encode_message(msg: &Message) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    encode_message_into(&mut out, msg)?;
    Ok(out)
}

/// Appends one request to `out` and returns the byte range it occupies.
///
/// `NLM_F_REQUEST` is added to the flags. Several requests appended to one
/// buffer can go out in a single `sendmsg`; the kernel processes them in
/// order. Every message is a multiple of 4 bytes long, so no padding is
/// needed between them.
pub fn encode_request_into(
    out: &mut Vec<u8>,
    msg: &IpvsMessage,
    header: RequestHeader,
) -> Result<Range<usize>, CodecError> {
    let header = MessageHeader {
        length: 0,
        message_type: header.family_id,
        flags: header.flags | NLM_F_REQUEST,
        sequence: header.sequence,
        port: header.port,
    };
    encode_ipvs_into(out, msg, header)
}

/// Encodes one request into a new buffer.
///
/// ```
/// use ipvs_sys_netlink::codec::consts::NLM_F_ACK;
/// use ipvs_sys_netlink::codec::{encode_request, IpvsCmd, IpvsMessage, RequestHeader};
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

/// One decoded netlink message: its header and what it carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The netlink header, as received.
    pub header: MessageHeader,
    /// The decoded payload.
    pub body: MessageBody,
}

impl Message {
    /// The IPVS message, if this is one.
    pub fn ipvs(&self) -> Option<&IpvsMessage> {
        match &self.body {
            MessageBody::Ipvs(m) => Some(m),
            _ => None,
        }
    }

    /// The IPVS message, if this is one.
    pub fn into_ipvs(self) -> Option<IpvsMessage> {
        match self.body {
            MessageBody::Ipvs(m) => Some(m),
            _ => None,
        }
    }
}

/// What a netlink message carries, by `nlmsg_type`.
///
/// Every type from [`NLMSG_MIN_TYPE`] (16) up decodes as
/// [`Ipvs`](Self::Ipvs): the decoder does not know the IPVS family id, so
/// on a socket that also talks to other families, compare
/// `header.message_type` with it (or use [`Frame::decode_control`], which
/// leaves those payloads alone).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MessageBody {
    /// A generic-netlink message of the IPVS family (type ≥ 16).
    Ipvs(IpvsMessage),
    /// `NLMSG_ERROR`: the answer to one request.
    ///
    /// The payload is `struct nlmsgerr` (the error code, then the request's
    /// header), then, unless `NLM_F_CAPPED` is set, the rest of the request,
    /// then, if `NLM_F_ACK_TLVS` is set, extended-ack attributes. The kernel
    /// sets `NLM_F_CAPPED` for every acknowledgement and, on a socket with
    /// `NETLINK_CAP_ACK`, for errors too; otherwise an error echoes the
    /// whole request. Only its header is kept here; the attributes are
    /// found after the request, whichever form it has.
    #[non_exhaustive]
    Error {
        /// 0 for an acknowledgement (`NLM_F_ACK`), otherwise a negative
        /// errno (`-EEXIST` = -17, ...).
        code: i32,
        /// The header of the request this answers, as echoed by the
        /// kernel; `None` if the payload is too short to hold it.
        request: Option<MessageHeader>,
        /// The extended-ack text (`NLMSGERR_ATTR_MSG`), when the kernel
        /// sent one (`NLM_F_ACK_TLVS`). Invalid UTF-8 is replaced.
        message: Option<String>,
    },
    /// `NLMSG_DONE`: the end of a dump.
    #[non_exhaustive]
    Done {
        /// The dump's status: 0, or a negative errno if it failed midway. A
        /// `NLMSG_DONE` without payload (Linux allows it) gives 0.
        code: i32,
        /// The extended-ack text (`NLMSGERR_ATTR_MSG` after the code, with
        /// `NLM_F_ACK_TLVS`), when the kernel sent one.
        message: Option<String>,
    },
    /// `NLMSG_NOOP`.
    Noop,
    /// `NLMSG_OVERRUN`.
    Overrun,
    /// Any other control type (0, or 5 to 15).
    Other,
}

impl MessageBody {
    /// An acknowledgement: `NLMSG_ERROR` with code 0, answering the request
    /// whose header is `request`.
    pub fn ack(request: MessageHeader) -> Self {
        Self::Error { code: 0, request: Some(request), message: None }
    }

    /// An `NLMSG_ERROR` with `code` (a negative errno, or 0 for an ACK), the
    /// request's header and, optionally, the extended-ack text.
    pub fn error(code: i32, request: MessageHeader, message: Option<String>) -> Self {
        Self::Error { code, request: Some(request), message }
    }

    /// An `NLMSG_DONE` with the dump's status `code` (0, or a negative errno).
    pub fn done(code: i32) -> Self {
        Self::Done { code, message: None }
    }
}

/// Reads `NLMSGERR_ATTR_MSG` from extended-ack attributes. Lenient: a
/// malformed attribute ends the search instead of failing the message, so
/// that an acknowledgement is never lost to its decoration.
fn ext_ack_message(tlvs: &[u8]) -> Option<String> {
    NlasIterator::new(tlvs)
        .map_while(Result::ok)
        .find(|nla| nla.kind() == NLMSGERR_ATTR_MSG)
        .map(|nla| String::from_utf8_lossy(wire::c_bytes(nla.value())).into_owned())
}

fn error_code(name: &str, payload: &[u8]) -> Result<i32, NlError> {
    wire::u32_at(payload, 0)
        .map(|c| c as i32)
        .ok_or_else(|| NlError::from(format!("{name}: expected at least 4 bytes, got {}", payload.len())))
}

fn decode_error(flags: u16, payload: &[u8]) -> Result<MessageBody, NlError> {
    let code = error_code("NLMSG_ERROR", payload)?;
    let echoed = payload.get(4..).unwrap_or_default();
    let request = MessageHeader::from_bytes(echoed);
    let message = if flags & NLM_F_ACK_TLVS == 0 {
        None
    } else {
        // The attributes follow the echoed header, or the whole request
        // (NLMSG_ALIGN'ed, as nlmsg_append pads it) when not capped.
        let skip = match request {
            Some(h) if flags & NLM_F_CAPPED == 0 => {
                (h.length as usize).checked_add(3).map_or(usize::MAX, |l| l & !3).max(NLMSG_HDRLEN)
            }
            _ => NLMSG_HDRLEN,
        };
        echoed.get(skip..).and_then(ext_ack_message)
    };
    Ok(MessageBody::Error { code, request, message })
}

fn decode_done(flags: u16, payload: &[u8]) -> Result<MessageBody, NlError> {
    if payload.is_empty() {
        return Ok(MessageBody::Done { code: 0, message: None });
    }
    let code = error_code("NLMSG_DONE", payload)?;
    let message = if flags & NLM_F_ACK_TLVS == 0 { None } else { payload.get(4..).and_then(ext_ack_message) };
    Ok(MessageBody::Done { code, message })
}

/// One netlink message of a receive buffer, not yet decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Where the message starts in the buffer.
    pub offset: usize,
    /// Its header.
    pub header: MessageHeader,
    /// The whole message, header included (exactly `header.length` bytes).
    pub bytes: &'a [u8],
}

impl<'a> Frame<'a> {
    /// The bytes after the 16-byte netlink header.
    pub fn payload(&self) -> &'a [u8] {
        self.bytes.get(NLMSG_HDRLEN..).unwrap_or_default()
    }

    /// Decodes the frame: a control message, or (any type from 16 up) an
    /// IPVS message.
    pub fn decode(&self) -> Result<Message, CodecError> {
        let body = match self.decode_control()? {
            Some(body) => body,
            None => MessageBody::Ipvs(IpvsMessage::decode(self.payload()).map_err(|e| self.error(e))?),
        };
        Ok(Message { header: self.header, body })
    }

    /// Decodes a control message (type below 16: `NLMSG_ERROR`,
    /// `NLMSG_DONE`, ...); `None`, without looking at the payload, for a
    /// family message (type 16 and up).
    pub fn decode_control(&self) -> Result<Option<MessageBody>, CodecError> {
        let (flags, payload) = (self.header.flags, self.payload());
        let body = match self.header.message_type {
            NLMSG_NOOP => Ok(MessageBody::Noop),
            NLMSG_ERROR => decode_error(flags, payload),
            NLMSG_DONE => decode_done(flags, payload),
            NLMSG_OVERRUN => Ok(MessageBody::Overrun),
            t if t < NLMSG_MIN_TYPE => Ok(MessageBody::Other),
            _ => return Ok(None),
        };
        body.map(Some).map_err(|e| self.error(wire::public(e)))
    }

    /// Wraps `source` with this frame's position, type and sequence.
    pub fn error(&self, source: DecodeError) -> CodecError {
        CodecError::Decode {
            offset: self.offset,
            message_type: self.header.message_type,
            sequence: self.header.sequence,
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
        let Some(header) = MessageHeader::from_bytes(rest) else {
            return self.fail(CodecError::Truncated { offset, needed: NLMSG_HDRLEN, available: rest.len() });
        };
        let len = header.length as usize;
        if len < NLMSG_HDRLEN {
            return self.fail(CodecError::BadLength { offset, length: header.length });
        }
        let Some(bytes) = rest.get(..len) else {
            return self.fail(CodecError::Truncated { offset, needed: len, available: rest.len() });
        };
        // Messages are NLMSG_ALIGN'ed (4 bytes); the last one may lack padding.
        self.offset = offset.saturating_add(len.saturating_add(3) & !3).min(self.buf.len());
        Some(Ok(Frame { offset, header, bytes }))
    }
}

/// Decodes every message of a receive buffer, lazily. A message that fails
/// to decode yields an error and the iteration goes on with the next one; a
/// framing error ends it.
///
/// The iterator does not check `message_type`: on a socket used for other
/// families too, compare `header.message_type` with the IPVS family id.
pub fn parse_messages(buf: &[u8]) -> impl Iterator<Item = Result<Message, CodecError>> + '_ {
    Frames::new(buf).map(|frame| frame.and_then(|f| f.decode()))
}

/// Decodes every message of a receive buffer, stopping at the first error.
pub fn parse_reply(buf: &[u8]) -> Result<Vec<Message>, CodecError> {
    parse_messages(buf).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::consts::{NLMSGERR_ATTR_OFFS, NLM_F_ACK};
    use crate::codec::IpvsCmd;

    fn frame(bytes: &[u8]) -> Frame<'_> {
        Frames::new(bytes).next().unwrap().unwrap()
    }

    fn nla(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut out = ((4 + value.len()) as u16).to_ne_bytes().to_vec();
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(value);
        out.resize((out.len() + 3) & !3, 0);
        out
    }

    fn nlmsg(message_type: u16, flags: u16, payload: &[u8]) -> Vec<u8> {
        let h =
            MessageHeader { length: (16 + payload.len()) as u32, message_type, flags, sequence: 9, port: 0 };
        [&h.to_bytes()[..], payload].concat()
    }

    #[test]
    fn uncapped_error_skips_the_whole_request_to_find_the_text() {
        let request = encode_request(
            &IpvsMessage::new(IpvsCmd::Flush, vec![]),
            RequestHeader { family_id: 0x24, flags: NLM_F_ACK, sequence: 9, port: 0 },
        )
        .unwrap();
        let tlvs = [nla(NLMSGERR_ATTR_OFFS, &20u32.to_ne_bytes()), nla(NLMSGERR_ATTR_MSG, b"no\0")].concat();
        let payload = [&(-22i32).to_ne_bytes()[..], &request, &tlvs].concat();
        let bytes = nlmsg(NLMSG_ERROR, NLM_F_ACK_TLVS, &payload);
        let MessageBody::Error { code, request: Some(h), message } = frame(&bytes).decode().unwrap().body
        else {
            panic!()
        };
        assert_eq!((code, h.length, h.sequence, message.as_deref()), (-22, 20, 9, Some("no")));
    }

    #[test]
    fn control_messages_never_fail_on_their_decoration() {
        // A lying echoed length, malformed TLVs, a short echoed header: the code survives.
        let mut payload = 0i32.to_ne_bytes().to_vec();
        payload.extend_from_slice(&u32::MAX.to_ne_bytes());
        payload.extend_from_slice(&[0xff; 5]);
        for flags in [0, NLM_F_ACK_TLVS, NLM_F_ACK_TLVS | NLM_F_CAPPED] {
            for cut in 4..=payload.len() {
                let bytes = nlmsg(NLMSG_ERROR, flags, &payload[..cut]);
                assert!(matches!(
                    frame(&bytes).decode().unwrap().body,
                    MessageBody::Error { code: 0, message: None, .. }
                ));
            }
        }
        // But the error code itself is required.
        let bytes = nlmsg(NLMSG_ERROR, 0, &[0, 0]);
        let err = frame(&bytes).decode().unwrap_err();
        assert_eq!(
            err.to_string(),
            "netlink message at offset 0 (type 2, seq 9): NLMSG_ERROR: expected at least 4 bytes, got 2"
        );
        let bytes = nlmsg(NLMSG_DONE, 0, &[0]);
        assert!(frame(&bytes).decode().is_err());
    }

    #[test]
    fn other_control_types_and_family_messages() {
        for (t, body) in [
            (0, MessageBody::Other),
            (1, MessageBody::Noop),
            (4, MessageBody::Overrun),
            (15, MessageBody::Other),
        ] {
            let bytes = nlmsg(t, 0, &[1, 2, 3]);
            assert_eq!(frame(&bytes).decode().unwrap().body, body);
        }
        // A family message is left alone by decode_control, and a short genl header is an error.
        let bytes = nlmsg(0x24, 0, &[1, 2]);
        assert_eq!(frame(&bytes).decode_control().unwrap(), None);
        let err = frame(&bytes).decode().unwrap_err().to_string();
        assert!(err.ends_with("generic netlink header: expected 4 bytes, got 2"), "{err}");
    }
}
