//! Value readers and writers shared by every attribute type.
//!
//! Readers never index: they check the length first and return a
//! [`NlError`] that names the attribute, e.g.
//! `IPVS_DEST_ATTR_PORT: expected 2 bytes, got 1`. That is
//! `netlink-packet-core`'s `DecodeError`, which its `Parseable` traits
//! demand; the public functions convert it with [`public`] into
//! [`super::DecodeError`] (ours), keeping the text.
//!
//! Writers receive the buffer that `netlink-packet-core` sized from
//! `Nla::value_len`, so the length always matches; they still use checked
//! slicing so that a mismatch is caught by a debug assertion instead of a
//! panic in release builds.

use netlink_packet_core::{Nla, NlaBuffer, NlasIterator};

use super::addr::InetAddr;

/// `netlink-packet-core`'s decode error: what the trait impls return.
pub(crate) type NlError = netlink_packet_core::DecodeError;

/// Converts `netlink-packet-core`'s error (a message) into ours, at the
/// public boundary.
pub(crate) fn public(e: NlError) -> super::DecodeError {
    super::DecodeError::new(e.to_string())
}

/// Reads a native-order `u16` at `offset`, `None` past the end.
pub(crate) fn u16_at(bytes: &[u8], offset: usize) -> Option<u16> {
    let b = bytes.get(offset..offset.checked_add(2)?)?;
    Some(u16::from_ne_bytes(b.try_into().ok()?))
}

/// Reads a native-order `u32` at `offset`, `None` past the end.
pub(crate) fn u32_at(bytes: &[u8], offset: usize) -> Option<u32> {
    let b = bytes.get(offset..offset.checked_add(4)?)?;
    Some(u32::from_ne_bytes(b.try_into().ok()?))
}

/// Reads exactly `N` bytes.
pub(crate) fn fixed<const N: usize>(name: &str, value: &[u8]) -> Result<[u8; N], NlError> {
    <[u8; N]>::try_from(value)
        .map_err(|_| NlError::from(format!("{name}: expected {N} bytes, got {}", value.len())))
}

pub(crate) fn u8_(name: &str, value: &[u8]) -> Result<u8, NlError> {
    fixed::<1>(name, value).map(|b| b[0])
}

/// Host (native) order u16.
pub(crate) fn u16_ne(name: &str, value: &[u8]) -> Result<u16, NlError> {
    fixed(name, value).map(u16::from_ne_bytes)
}

/// Network (big-endian) order u16.
pub(crate) fn u16_be(name: &str, value: &[u8]) -> Result<u16, NlError> {
    fixed(name, value).map(u16::from_be_bytes)
}

/// Host (native) order u32.
pub(crate) fn u32_ne(name: &str, value: &[u8]) -> Result<u32, NlError> {
    fixed(name, value).map(u32::from_ne_bytes)
}

/// Host (native) order u64.
pub(crate) fn u64_ne(name: &str, value: &[u8]) -> Result<u64, NlError> {
    fixed(name, value).map(u64::from_ne_bytes)
}

/// An address attribute: at most 16 bytes (`NLA_BINARY`, `.len = 16`).
pub(crate) fn inet_addr(name: &str, value: &[u8]) -> Result<InetAddr, NlError> {
    InetAddr::from_bytes(value)
        .ok_or_else(|| NlError::from(format!("{name}: expected at most 16 bytes, got {}", value.len())))
}

/// A C string's bytes as the kernel reads them: the bytes before the first
/// NUL, or the whole value when there is no NUL (the kernel's replies always
/// have one).
pub(crate) fn c_bytes(value: &[u8]) -> &[u8] {
    let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
    value.get(..end).unwrap_or(value)
}

/// A C string that must be UTF-8 (scheduler and persistence-engine names).
pub(crate) fn c_string(name: &str, value: &[u8]) -> Result<String, NlError> {
    String::from_utf8(c_bytes(value).to_vec())
        .map_err(|e| NlError::from(format!("{name}: invalid UTF-8: {e}")))
}

/// Copies `bytes` to the start of `buf`.
pub(crate) fn put(buf: &mut [u8], bytes: &[u8]) {
    debug_assert!(buf.len() >= bytes.len(), "emit buffer too small");
    if let Some(dst) = buf.get_mut(..bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

/// Writes `s` followed by one NUL byte (what `nla_put_string` writes).
pub(crate) fn put_c_string(buf: &mut [u8], s: &[u8]) {
    put(buf, s);
    put(buf.get_mut(s.len()..).unwrap_or_default(), &[0]);
}

/// Rounds up to netlink's 4-byte alignment (`NLA_ALIGN`, `NLMSG_ALIGN`).
pub(crate) fn align4(len: usize) -> usize {
    len.saturating_add(3) & !3
}

/// Size of one attribute on the wire: header, value, padding.
pub(crate) fn nla_size<A: Nla + ?Sized>(nla: &A) -> usize {
    4 + align4(nla.value_len())
}

/// Size of a list of attributes (a nest's value, or a message body).
pub(crate) fn nlas_size<A: Nla>(nlas: &[A]) -> usize {
    nlas.iter().map(nla_size).sum()
}

/// Writes one attribute into `buf` (sized by [`nla_size`]): `nla_len`, the
/// type exactly as [`Nla::kind`] gives it, the value, zero padding.
///
/// netlink-packet-core's blanket `Emitable` for `Nla` types masks the type
/// and sets the flag bits one at a time, losing `NLA_F_NET_BYTEORDER` when
/// `NLA_F_NESTED` is also set (0.9); this writes the raw type, so an
/// unknown attribute goes out as it came in. Lengths are checked by the
/// encoders before anything is written (top level ≤ `NLA_MAX_VALUE_LEN`).
pub(crate) fn emit_nla<A: Nla + ?Sized>(nla: &A, buf: &mut [u8]) {
    let len = nla.value_len();
    let nla_len = u16::try_from(len + 4).unwrap_or(u16::MAX);
    put(buf, &nla_len.to_ne_bytes());
    put(buf.get_mut(2..).unwrap_or_default(), &nla.kind().to_ne_bytes());
    if let Some(value) = buf.get_mut(4..4 + len) {
        nla.emit_value(value);
    }
    if let Some(pad) = buf.get_mut(4 + len..4 + align4(len)) {
        pad.fill(0);
    }
}

/// Writes attributes one after the other (see [`emit_nla`]).
pub(crate) fn emit_nlas<A: Nla>(nlas: &[A], buf: &mut [u8]) {
    let mut offset = 0;
    for nla in nlas {
        let end = offset + nla_size(nla);
        if let Some(dst) = buf.get_mut(offset..end) {
            emit_nla(nla, dst);
        }
        offset = end;
    }
}

/// Parses every attribute of a nest (or of a message) with `parse`. The
/// caller names the enclosing attribute with `ErrorContext::context`.
pub(crate) fn parse_nest<A>(
    value: &[u8],
    parse: impl Fn(&NlaBuffer<&[u8]>) -> Result<A, NlError>,
) -> Result<Vec<A>, NlError> {
    NlasIterator::new(value).map(|nla| nla.and_then(|nla| parse(&nla))).collect()
}
