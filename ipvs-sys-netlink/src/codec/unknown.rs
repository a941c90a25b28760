//! Attributes this crate does not know, kept byte for byte.

use netlink_packet_core::{Nla, NlaBuffer, Parseable};

use super::consts::{NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLA_TYPE_MASK};
use super::wire::{self, NlError};

/// An attribute this crate does not know, kept as the kernel sent it: a newer
/// kernel's attribute, `0` (`*_UNSPEC`), or an `IPVS_STATS_ATTR_PAD` that
/// carries a value.
///
/// `kind` is the attribute's `nla_type` exactly as received, **flag bits
/// included**: `NLA_F_NESTED` (`0x8000`) and `NLA_F_NET_BYTEORDER` (`0x4000`)
/// stay set if they were, so that emitting the attribute gives back the very
/// bytes that were parsed (the zero padding to 4 bytes aside, which the
/// kernel always zeroes). [`number`](Self::number) is the type without the
/// flags. `value` is the payload without header or padding.
///
/// The encoders ([`encode_request`](super::encode_request),
/// [`encode_message`](super::encode_message)) write `kind` as it is. Only
/// netlink-packet-core's blanket `Emitable` impl, used when one attribute is
/// emitted on its own through that trait, differs in one case: with both
/// flag bits set it keeps just `NLA_F_NESTED` (netlink-packet-core 0.9).
///
/// Parsing produces it only for numbers the enclosing enum does not know.
/// Built by hand, it is emitted as given even when its number is a known one:
/// that is how to send an attribute this crate has no variant for yet.
///
/// ```
/// use ipvs_sys_netlink::codec::{consts::NLA_F_NESTED, UnknownAttr};
///
/// let a = UnknownAttr::new(NLA_F_NESTED | 99, vec![]);
/// assert_eq!(a.number(), 99);
/// assert!(a.is_nested() && !a.is_net_byteorder());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct UnknownAttr {
    /// `nla_type` as received, `NLA_F_NESTED` / `NLA_F_NET_BYTEORDER` kept.
    pub kind: u16,
    /// The value (`nla_len - 4` bytes).
    pub value: Vec<u8>,
}

impl UnknownAttr {
    /// An attribute of type `kind` (flag bits included) holding `value`.
    pub fn new(kind: u16, value: Vec<u8>) -> Self {
        Self { kind, value }
    }

    /// The attribute number: `kind` without the flag bits.
    pub fn number(&self) -> u16 {
        self.kind & NLA_TYPE_MASK
    }

    /// Whether `NLA_F_NESTED` is set in `kind`.
    pub fn is_nested(&self) -> bool {
        self.kind & NLA_F_NESTED != 0
    }

    /// Whether `NLA_F_NET_BYTEORDER` is set in `kind`.
    pub fn is_net_byteorder(&self) -> bool {
        self.kind & NLA_F_NET_BYTEORDER != 0
    }

    /// Reads an attribute from a buffer, keeping the raw type.
    pub(crate) fn from_nla<T: AsRef<[u8]> + ?Sized>(buf: &NlaBuffer<&T>) -> Self {
        // NlaBuffer::kind() masks the flags out; put them back.
        let mut kind = buf.kind();
        if buf.nested_flag() {
            kind |= NLA_F_NESTED;
        }
        if buf.network_byte_order_flag() {
            kind |= NLA_F_NET_BYTEORDER;
        }
        Self { kind, value: buf.value().to_vec() }
    }
}

/// Emits `kind` with its flag bits (netlink-packet-core's emitter writes the
/// number, then sets each flag `kind` has) and `value`.
impl Nla for UnknownAttr {
    fn value_len(&self) -> usize {
        self.value.len()
    }

    fn kind(&self) -> u16 {
        self.kind
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        wire::put(buffer, &self.value);
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for UnknownAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, NlError> {
        Ok(Self::from_nla(buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{encode_message, parse_reply, IpvsAttr, IpvsCmd, IpvsMessage, Message, MessageBody};

    fn round_trip(bytes: &[u8]) -> UnknownAttr {
        let parsed = UnknownAttr::from_nla(&NlaBuffer::new(bytes));
        let mut out = vec![0xaa; wire::nla_size(&parsed)];
        wire::emit_nla(&parsed, &mut out);
        assert_eq!(out, bytes);
        // And inside a whole message, through the public encoder.
        let msg = IpvsMessage::new(IpvsCmd::Zero, vec![IpvsAttr::Other(parsed.clone())]);
        let header = crate::codec::MessageHeader { message_type: 0x24, ..Default::default() };
        let encoded = encode_message(&Message { header, body: MessageBody::Ipvs(msg.clone()) }).unwrap();
        assert_eq!(encoded.get(20..), Some(bytes));
        assert_eq!(parse_reply(&encoded).unwrap()[0].ipvs(), Some(&msg));
        parsed
    }

    #[test]
    fn flag_bits_are_kept() {
        for (bytes, kind) in [
            (&[0x05, 0x00, 0x63, 0x00, 0x07, 0x00, 0x00, 0x00][..], 0x0063),
            (&[0x04, 0x00, 0x63, 0x80][..], 0x8063),
            (&[0x06, 0x00, 0x63, 0x40, 0x12, 0x34, 0x00, 0x00][..], 0x4063),
            (&[0x04, 0x00, 0x00, 0xc0][..], 0xc000),
        ] {
            let a = round_trip(bytes);
            assert_eq!(a.kind, kind);
            assert_eq!(a.number(), kind & 0x3fff);
            assert_eq!(a.is_nested(), kind & 0x8000 != 0);
            assert_eq!(a.is_net_byteorder(), kind & 0x4000 != 0);
        }
    }
}
