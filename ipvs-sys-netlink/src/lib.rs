//! Generic-netlink backend for Linux IPVS.
//!
//! * [`codec`]: a pure encoder/decoder for the `"IPVS"` generic-netlink
//!   family (messages, attributes, whole request and reply buffers). It opens
//!   no socket, so it can be tested and fuzzed anywhere.
//!
//! The facts behind the codec (attribute numbers, byte orders, reply orders,
//! kernel versions) are cited in its documentation and come from the Linux
//! 6.1 sources (`include/uapi/linux/ip_vs.h`, `net/netfilter/ipvs/ip_vs_ctl.c`).

pub mod codec;
