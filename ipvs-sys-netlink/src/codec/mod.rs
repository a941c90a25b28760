//! A pure codec for the IPVS generic-netlink family: no sockets, no I/O.
//!
//! It follows the rust-netlink pattern (`netlink-packet-generic`'s `ctrl`
//! module): [`IpvsMessage`] is a command plus a list of attributes, and it
//! rides inside `NetlinkMessage<GenlMessage<IpvsMessage>>`
//! ([`IpvsNetlinkMessage`]). Attribute enums implement `Nla` for emitting and
//! `Parseable` for parsing, carry an `Other(DefaultNla)` variant so that a
//! newer kernel's attributes never break parsing, and are `#[non_exhaustive]`.
//!
//! # Wire facts the types encode
//!
//! | value | wire form |
//! |---|---|
//! | service port, dest port, dest tunnel port | u16 **network** order |
//! | sync-daemon multicast port | u16 **host** order |
//! | fwmark, timeouts, weights, thresholds, flags | host order |
//! | netmask | IPv4: mask in network order; IPv6: prefix length as host u32 ([`RawNetmask`]) |
//! | addresses | raw bytes, 16 in replies, 4 or 16 in requests ([`InetAddr`]) |
//! | stats | `STATS`: u32 except in/out bytes (u64); `STATS64`: all u64 ([`StatsLayout`]) |
//! | names | NUL-terminated |
//! | nests | emitted without `NLA_F_NESTED`, as the kernel does |
//!
//! Parsing needs context twice: top-level attributes 1 and 2 are the INFO
//! attributes in a GET_INFO reply (command [`IpvsCmd::SetInfo`]), so
//! [`IpvsAttr`] parses with the command; and stats values change width
//! between `STATS` and `STATS64`, so [`StatsAttr`] parses with the layout.
//!
//! # Decoding never panics
//!
//! Every length is checked before use, a known attribute with the wrong size
//! is an error that names it (`IPVS_DEST_ATTR_PORT: expected 2 bytes, got
//! 1`, wrapped in the names of the enclosing nests), and an unknown
//! attribute is kept as `Other`.
//!
//! # Example: a request and its bytes
//!
//! ```
//! use std::net::Ipv4Addr;
//! use ipvs_sys_netlink::codec::{
//!     consts::*, encode_request, IpvsAttr, IpvsCmd, IpvsMessage, RawNetmask, RequestHeader,
//!     ServiceAttr,
//! };
//!
//! // ipvsadm -A -t 10.1.2.3:80 -s wrr
//! let msg = IpvsMessage::new(
//!     IpvsCmd::NewService,
//!     vec![IpvsAttr::Service(vec![
//!         ServiceAttr::AddressFamily(AF_INET),
//!         ServiceAttr::Protocol(6),
//!         ServiceAttr::Address(Ipv4Addr::new(10, 1, 2, 3).into()),
//!         ServiceAttr::Port(80),
//!         ServiceAttr::SchedName("wrr".into()),
//!         ServiceAttr::Flags { flags: 0, mask: u32::MAX },
//!         ServiceAttr::Timeout(0),
//!         ServiceAttr::Netmask(RawNetmask::IPV4_DEFAULT),
//!     ])],
//! );
//! let hdr = RequestHeader { family_id: 0x23, flags: netlink_packet_core::NLM_F_ACK, sequence: 1, port: 0 };
//! let bytes = encode_request(&msg, hdr).unwrap();
//! assert_eq!(bytes.len(), 104);
//! ```

mod addr;
mod attr;
pub mod consts;
pub mod ctrl;
mod daemon;
mod dest;
mod frame;
mod message;
mod service;
mod stats;
mod wire;

pub use addr::{InetAddr, RawNetmask};
pub use attr::{parse_attrs, IpvsAttr};
pub use daemon::{parse_daemon_attrs, DaemonAttr};
pub use dest::{parse_dest_attrs, DestAttr};
pub use frame::{
    build_request, encode_request, encode_request_into, parse_messages, parse_reply, CodecError, Frame,
    Frames, IpvsNetlinkMessage, RequestHeader, GENL_HDRLEN, NLA_MAX_VALUE_LEN, NLMSG_HDRLEN, NLMSG_MIN_TYPE,
};
pub use message::{IpvsCmd, IpvsMessage};
pub use service::{parse_service_attrs, ServiceAttr};
pub use stats::{parse_stats_attrs, StatsAttr, StatsLayout};
