//! Value readers and writers shared by every attribute type.
//!
//! Readers never index: they check the length first and return a
//! [`DecodeError`] that names the attribute, e.g.
//! `IPVS_DEST_ATTR_PORT: expected 2 bytes, got 1`.
//!
//! Writers receive the buffer that `netlink-packet-core` sized from
//! `Nla::value_len`, so the length always matches; they still use checked
//! slicing so that a mismatch is caught by a debug assertion instead of a
//! panic in release builds.

use netlink_packet_core::{DecodeError, NlaBuffer, NlasIterator};

use super::addr::InetAddr;

/// Reads exactly `N` bytes.
pub(crate) fn fixed<const N: usize>(name: &str, value: &[u8]) -> Result<[u8; N], DecodeError> {
    <[u8; N]>::try_from(value)
        .map_err(|_| DecodeError::from(format!("{name}: expected {N} bytes, got {}", value.len())))
}

pub(crate) fn u8_(name: &str, value: &[u8]) -> Result<u8, DecodeError> {
    fixed::<1>(name, value).map(|b| b[0])
}

/// Host (native) order u16.
pub(crate) fn u16_ne(name: &str, value: &[u8]) -> Result<u16, DecodeError> {
    fixed(name, value).map(u16::from_ne_bytes)
}

/// Network (big-endian) order u16.
pub(crate) fn u16_be(name: &str, value: &[u8]) -> Result<u16, DecodeError> {
    fixed(name, value).map(u16::from_be_bytes)
}

/// Host (native) order u32.
pub(crate) fn u32_ne(name: &str, value: &[u8]) -> Result<u32, DecodeError> {
    fixed(name, value).map(u32::from_ne_bytes)
}

/// Host (native) order u64.
pub(crate) fn u64_ne(name: &str, value: &[u8]) -> Result<u64, DecodeError> {
    fixed(name, value).map(u64::from_ne_bytes)
}

/// An address attribute: at most 16 bytes (`NLA_BINARY`, `.len = 16`).
pub(crate) fn inet_addr(name: &str, value: &[u8]) -> Result<InetAddr, DecodeError> {
    InetAddr::from_bytes(value)
        .ok_or_else(|| DecodeError::from(format!("{name}: expected at most 16 bytes, got {}", value.len())))
}

/// A C string as the kernel reads it: the bytes before the first NUL, or the
/// whole value when there is no NUL (the kernel's replies always have one).
pub(crate) fn c_string(name: &str, value: &[u8]) -> Result<String, DecodeError> {
    let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
    let bytes = value.get(..end).unwrap_or(value);
    String::from_utf8(bytes.to_vec()).map_err(|e| DecodeError::from(format!("{name}: invalid UTF-8: {e}")))
}

/// Copies `bytes` to the start of `buf`.
pub(crate) fn put(buf: &mut [u8], bytes: &[u8]) {
    debug_assert!(buf.len() >= bytes.len(), "emit buffer too small");
    if let Some(dst) = buf.get_mut(..bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

/// Writes `s` followed by one NUL byte (what `nla_put_string` writes).
pub(crate) fn put_c_string(buf: &mut [u8], s: &str) {
    put(buf, s.as_bytes());
    put(buf.get_mut(s.len()..).unwrap_or_default(), &[0]);
}

/// Parses every attribute of a nest (or of a message) with `parse`. The
/// caller names the enclosing attribute with `ErrorContext::context`.
pub(crate) fn parse_nest<A>(
    value: &[u8],
    parse: impl Fn(&NlaBuffer<&[u8]>) -> Result<A, DecodeError>,
) -> Result<Vec<A>, DecodeError> {
    NlasIterator::new(value).map(|nla| nla.and_then(|nla| parse(&nla))).collect()
}
