//! A formatting helper shared by the model's `Display` impls and the ipvsadm formats (private).

use std::fmt;
use std::net::IpAddr;

/// An address and port as ipvsadm writes them with `-n`: `10.0.0.1:80`, `[2001:db8::1]:80`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SockAddr(pub IpAddr, pub u16);

impl fmt::Display for SockAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.1),
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.1),
        }
    }
}
