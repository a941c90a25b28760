//! A pure codec for the IPVS generic-netlink family: no sockets, no I/O.
//!
//! # Types
//!
//! Every type of this module's API is this crate's own, so that a new
//! release of the rust-netlink crates is never a breaking release of this
//! one:
//!
//! * [`IpvsMessage`]: a command ([`IpvsCmd`]) plus top-level attributes
//!   ([`IpvsAttr`]), whose nests hold [`ServiceAttr`], [`DestAttr`],
//!   [`DaemonAttr`] and [`StatsAttr`]. Each attribute enum is
//!   `#[non_exhaustive]` and has an `Other(`[`UnknownAttr`]`)` variant that
//!   keeps an attribute this crate does not know byte for byte (its raw type,
//!   flag bits included), so a newer kernel's attributes never break parsing
//!   and are re-emitted as received.
//! * [`MessageHeader`] (`struct nlmsghdr`), [`Frame`] / [`Frames`] (a receive
//!   buffer split into messages), and [`Message`] / [`MessageBody`] (a
//!   decoded message: IPVS, or `NLMSG_ERROR` with its code and extended-ack
//!   text, `NLMSG_DONE`, ...).
//! * [`RequestHeader`] and the encoders [`encode_request`] /
//!   [`encode_request_into`] (requests), and [`encode_message`] /
//!   [`encode_message_into`] (any [`Message`], as the kernel sends it: for
//!   simulators and tests).
//! * Errors: [`CodecError`] for whole messages, and [`DecodeError`]
//!   (`ipvs_core::error::DecodeError`, re-exported) from the `parse_*`
//!   functions.
//! * [`consts`]: every IPVS number, and the netlink ones a user needs
//!   (`NLM_F_*`, `NLMSG_*`, `NLMSGERR_ATTR_*`).
//! * [`ctrl`]: resolving the family id (request bytes in,
//!   [`ctrl::FamilyReply`] out).
//!
//! As plumbing, the codec's types implement `netlink-packet-core`'s traits,
//! following the rust-netlink pattern (`netlink-packet-generic`'s `ctrl`
//! module) as of netlink-packet-core 0.9 and netlink-packet-generic 0.5: the
//! attribute enums implement `Nla` (emitting) and `Parseable` (or
//! `ParseableParametrized`, with the command or the stats layout) for
//! `NlaBuffer`, and [`IpvsMessage`] implements `Emitable`, `GenlFamily` and
//! `ParseableParametrized<[u8], GenlHeader>`, so it can also travel as
//! `NetlinkMessage<GenlMessage<IpvsMessage>>`. Those impls use
//! netlink-packet-core's `DecodeError`, which the traits demand; the public
//! functions return ours, with the same text. The encoders write attribute
//! headers themselves, so an unknown attribute's type goes out exactly as it
//! came in (see [`UnknownAttr`]).
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
//! | names | NUL-terminated; the sync-daemon interface name is bytes, not UTF-8 ([`DaemonAttr::McastIfn`]) |
//! | nests | emitted without `NLA_F_NESTED`, as the kernel does |
//! | unknown attributes | kept with their raw type, `NLA_F_*` bits included, and re-emitted as received ([`UnknownAttr`]) |
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
//! attribute is kept as `Other`. Names that must be strings (scheduler,
//! persistence engine) must be UTF-8; the sync daemon's interface name is
//! bytes, as Linux interface names are.
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
//! let hdr = RequestHeader { family_id: 0x23, flags: NLM_F_ACK, sequence: 1, port: 0 };
//! let bytes = encode_request(&msg, hdr).unwrap();
//! assert_eq!(bytes.len(), 104);
//! ```

mod addr;
mod attr;
mod cmd;
pub mod consts;
pub mod ctrl;
mod daemon;
mod dest;
mod frame;
mod message;
mod service;
mod stats;
mod unknown;
mod wire;

pub use addr::{InetAddr, RawNetmask};
pub use attr::{parse_attrs, IpvsAttr};
pub use cmd::{IpvsCmd, OtherCmd};
pub use daemon::{parse_daemon_attrs, DaemonAttr};
pub use dest::{parse_dest_attrs, DestAttr};
pub use frame::{
    encode_message, encode_message_into, encode_request, encode_request_into, parse_messages, parse_reply,
    CodecError, Frame, Frames, Message, MessageBody, MessageHeader, RequestHeader, GENL_HDRLEN,
    NLA_MAX_VALUE_LEN, NLMSG_HDRLEN, NLMSG_MIN_TYPE,
};
pub use ipvs_core::error::DecodeError;
pub use message::IpvsMessage;
pub use service::{parse_service_attrs, ServiceAttr};
pub use stats::{parse_stats_attrs, StatsAttr, StatsLayout};
pub use unknown::UnknownAttr;
