//! `ipvs_addr`: an IPv4 or IPv6 address as plain C data.

use std::ffi::c_char;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::{ipvs_result, Failure};
use crate::ffi::{self, Out, TextOut};

/// `AF_INET`, the IPv4 address family.
pub const IPVS_AF_INET: u16 = 2;
/// `AF_INET6`, the IPv6 address family.
pub const IPVS_AF_INET6: u16 = 10;

/// An IPv4 or IPv6 address: plain data, filled by the caller or by the library. `addr` holds
/// the address in network byte order, as `struct in_addr` (the first 4 bytes, the rest 0) or
/// `struct in6_addr` hold it, so `inet_ntop(a.family, a.addr, ...)` prints it.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ipvs_addr {
    /// `AF_INET` (2) or `AF_INET6` (10); 0 (`AF_UNSPEC`) where an output says "no address".
    pub family: u16,
    /// The address bytes, network byte order.
    pub addr: [u8; 16],
}

impl ipvs_addr {
    /// The C form of an address.
    pub(crate) fn from_ip(ip: IpAddr) -> Self {
        let mut addr = [0u8; 16];
        match ip {
            IpAddr::V4(a) => {
                addr[..4].copy_from_slice(&a.octets());
                ipvs_addr { family: IPVS_AF_INET, addr }
            }
            IpAddr::V6(a) => ipvs_addr { family: IPVS_AF_INET6, addr: a.octets() },
        }
    }

    /// The address, if the family is AF_INET or AF_INET6.
    pub(crate) fn to_ip(self, name: &str) -> Result<IpAddr, Failure> {
        match self.family {
            IPVS_AF_INET => {
                Ok(IpAddr::V4(Ipv4Addr::new(self.addr[0], self.addr[1], self.addr[2], self.addr[3])))
            }
            IPVS_AF_INET6 => Ok(IpAddr::V6(Ipv6Addr::from(self.addr))),
            f => Err(Failure::Invalid(format!("{name}: address family {f} is neither AF_INET nor AF_INET6"))),
        }
    }
}

/// The `ipvs_addr` behind `ptr` (which must not be NULL), not yet checked.
pub(crate) fn get<'a>(ptr: *const ipvs_addr, name: &'static str) -> Result<&'a ipvs_addr, Failure> {
    ffi::get(ptr.cast::<Plain>(), name)
}

/// Reads the address behind `ptr` (which must not be NULL).
pub(crate) fn read(ptr: *const ipvs_addr, name: &'static str) -> Result<IpAddr, Failure> {
    get(ptr, name)?.to_ip(name)
}

/// `ipvs_addr` seen through the pointer helpers.
struct Plain;

impl ffi::Opaque for Plain {
    type Inner = ipvs_addr;
}

/// Checks an `ipvs_addr *` output parameter.
pub(crate) fn out(ptr: *mut ipvs_addr, name: &'static str) -> Result<Out<ipvs_addr>, Failure> {
    Out::new(ptr, name)
}

/// Parses `text` (NUL-terminated): a dotted IPv4 address (`10.1.2.3`) or an IPv6 address
/// (`2001:db8::1`, `::ffff:10.1.2.3`), without brackets, port or zone. Writes `*out` on
/// success; `IPVS_RESULT_INVALID_PARAMETER` for anything else.
#[no_mangle]
pub extern "C" fn ipvs_addr_parse(text: *const c_char, out: *mut ipvs_addr) -> ipvs_result {
    ffi::call(|| {
        let text = ffi::c_str(text, "text")?;
        let out = self::out(out, "out")?;
        let ip: IpAddr =
            text.parse().map_err(|_| Failure::Invalid(format!("{text:?} is not an IPv4 or IPv6 address")))?;
        out.write(ipvs_addr::from_ip(ip));
        Ok(())
    })
}

/// Writes the address as text (`10.1.2.3`, `2001:db8::1`) into `buf`, NUL-terminated;
/// `*written` receives its length. `IPVS_RESULT_INVALID_PARAMETER` for a family other than
/// AF_INET and AF_INET6; `IPVS_RESULT_BUFFER_TOO_SMALL` as `ipvs_result_message` says (46
/// bytes always suffice).
#[no_mangle]
pub extern "C" fn ipvs_addr_text(
    addr: *const ipvs_addr,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> ipvs_result {
    ffi::call(|| {
        let addr = get(addr, "addr")?;
        let out = TextOut::new(buf, len, written)?;
        out.write(addr.to_ip("addr")?.to_string().as_bytes())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_convert_both_ways() {
        for text in ["10.1.2.3", "2001:db8::1", "::ffff:10.1.2.3"] {
            let ip: IpAddr = text.parse().unwrap();
            let a = ipvs_addr::from_ip(ip);
            assert_eq!(a.to_ip("a").unwrap(), ip);
        }
        let v4 = ipvs_addr::from_ip("10.1.2.3".parse().unwrap());
        assert_eq!((v4.family, &v4.addr[..4], &v4.addr[4..]), (2, &[10, 1, 2, 3][..], &[0u8; 12][..]));
        assert!(ipvs_addr { family: 7, addr: [0; 16] }.to_ip("a").is_err());
    }
}
