//! Golden bytes for every IPVS attribute: each case asserts both
//! `parse(bytes) == value` and `emit(value) == bytes`.
//!
//! HAND-DERIVED FIXTURES, to be replaced/confirmed by captures from the real
//! kernel. Every byte below was written by hand from the kernel's encoding
//! as documented in `shared/ipvs-kernel-reference.md` §1.3 and read in Linux
//! 6.1 `net/netfilter/ipvs/ip_vs_ctl.c` (`ip_vs_genl_fill_*`, which use
//! `nla_put_u16/u32/u8` = host order, `nla_put_be16/be32` = network order,
//! `nla_put_string` = bytes + NUL, `nla_put_in_addr` = network order, and
//! `nla_nest_start_noflag` = no NLA_F_NESTED). Attribute layout
//! (`include/uapi/linux/netlink.h`): `u16 nla_len` (header + value, no
//! padding), `u16 nla_type`, value, zero padding to a multiple of 4.
//!
//! Host-order values are written little-endian, so the file only runs on
//! little-endian targets (as netlink-packet-core's own tests do).
#![cfg(target_endian = "little")]
#![allow(clippy::unwrap_used)]

use std::fmt::Debug;
use std::net::{Ipv4Addr, Ipv6Addr};

use ipvs_sys_netlink::codec::consts::*;
use ipvs_sys_netlink::codec::{
    parse_daemon_attrs, parse_service_attrs, DaemonAttr, DestAttr, InetAddr, IpvsAttr, IpvsCmd, RawNetmask,
    ServiceAttr, StatsAttr, UnknownAttr,
};
// The attribute types implement netlink-packet-core's traits (plumbing); the
// single-attribute cases go through them.
use netlink_packet_core::{Emitable, Nla, NlaBuffer, Parseable, ParseableParametrized};

/// Asserts parse(bytes) == value and emit(value) == bytes.
fn golden<A>(bytes: &[u8], value: A)
where
    A: Nla + for<'a> Parseable<NlaBuffer<&'a [u8]>> + PartialEq + Debug,
{
    let buf = NlaBuffer::new_checked(bytes).expect("fixture is one well-framed attribute");
    let parsed = A::parse(&buf).expect("fixture parses");
    assert_eq!(parsed, value, "parse(bytes) != value");
    // Fill with a non-zero byte so that missing zero padding shows up.
    let mut out = vec![0xaa; value.buffer_len()];
    value.emit(&mut out);
    assert_eq!(out, bytes, "emit(value) != bytes for {value:?}");
}

/// Same, for top-level attributes, which parse with the command as context.
fn golden_top(bytes: &[u8], cmd: IpvsCmd, value: IpvsAttr) {
    let buf = NlaBuffer::new_checked(bytes).expect("fixture is one well-framed attribute");
    let parsed = IpvsAttr::parse_with_param(&buf, cmd).expect("fixture parses");
    assert_eq!(parsed, value, "parse(bytes) != value");
    let mut out = vec![0xaa; value.buffer_len()];
    value.emit(&mut out);
    assert_eq!(out, bytes, "emit(value) != bytes for {value:?}");
}

fn parse_err<A>(bytes: &[u8]) -> String
where
    A: for<'a> Parseable<NlaBuffer<&'a [u8]>> + Debug,
{
    let buf = NlaBuffer::new_checked(bytes).expect("well-framed");
    A::parse(&buf).expect_err("must not parse").to_string()
}

// ---------------------------------------------------------------------------
// Service attributes
// ---------------------------------------------------------------------------

#[test]
fn svc_af() {
    #[rustfmt::skip]
    golden(&[
        0x06, 0x00,             // nla_len = 4 + 2
        0x01, 0x00,             // IPVS_SVC_ATTR_AF
        0x02, 0x00,             // AF_INET, host u16 (nla_put_u16)
        0x00, 0x00,             // padding
    ], ServiceAttr::AddressFamily(AF_INET));
    golden(&[0x06, 0x00, 0x01, 0x00, 0x0a, 0x00, 0x00, 0x00], ServiceAttr::AddressFamily(AF_INET6));
}

#[test]
fn svc_protocol() {
    // IPPROTO_TCP = 6, host u16.
    golden(&[0x06, 0x00, 0x02, 0x00, 0x06, 0x00, 0x00, 0x00], ServiceAttr::Protocol(6));
    // IPPROTO_SCTP = 132.
    golden(&[0x06, 0x00, 0x02, 0x00, 0x84, 0x00, 0x00, 0x00], ServiceAttr::Protocol(132));
}

#[test]
fn svc_addr_ipv4_reply_form_is_16_bytes() {
    #[rustfmt::skip]
    golden(&[
        0x14, 0x00,             // nla_len = 4 + 16: nla_put(sizeof(union nf_inet_addr))
        0x03, 0x00,             // IPVS_SVC_ATTR_ADDR
        0x0a, 0x01, 0x02, 0x03, // 10.1.2.3 in bytes 0..4
        0x00, 0x00, 0x00, 0x00, // rest of the union: zeros
        0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00,
    ], ServiceAttr::Address(Ipv4Addr::new(10, 1, 2, 3).into()));
}

#[test]
fn svc_addr_ipv4_compact_request_form() {
    // Requests may carry only 4 bytes: the kernel nla_memcpy's min(len, 16).
    golden(
        &[0x08, 0x00, 0x03, 0x00, 0x0a, 0x01, 0x02, 0x03],
        ServiceAttr::Address(InetAddr::ipv4_compact(Ipv4Addr::new(10, 1, 2, 3))),
    );
}

#[test]
fn svc_addr_ipv6() {
    #[rustfmt::skip]
    golden(&[
        0x14, 0x00, 0x03, 0x00,
        0x20, 0x01, 0x0d, 0xb8, // 2001:db8::1, network order
        0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x01,
    ], ServiceAttr::Address("2001:db8::1".parse::<Ipv6Addr>().unwrap().into()));
}

#[test]
fn svc_port_is_network_order() {
    #[rustfmt::skip]
    golden(&[
        0x06, 0x00, 0x04, 0x00, // IPVS_SVC_ATTR_PORT
        0x00, 0x50,             // 80, big-endian (nla_put_be16)
        0x00, 0x00,
    ], ServiceAttr::Port(80));
    golden(&[0x06, 0x00, 0x04, 0x00, 0x1f, 0x90, 0x00, 0x00], ServiceAttr::Port(8080));
}

#[test]
fn svc_fwmark_is_host_order() {
    #[rustfmt::skip]
    golden(&[
        0x08, 0x00, 0x05, 0x00, // IPVS_SVC_ATTR_FWMARK
        0x05, 0x00, 0x00, 0x00, // 5, host u32 (nla_put_u32) -- not 00 00 00 05
    ], ServiceAttr::Fwmark(5));
    golden(&[0x08, 0x00, 0x05, 0x00, 0x78, 0x56, 0x34, 0x12], ServiceAttr::Fwmark(0x1234_5678));
}

#[test]
fn svc_sched_name_nul_terminated() {
    #[rustfmt::skip]
    golden(&[
        0x08, 0x00, 0x06, 0x00, // nla_len = 4 + strlen("wrr") + 1
        b'w', b'r', b'r', 0x00, // "wrr\0" fills exactly 4 bytes: no padding
    ], ServiceAttr::SchedName("wrr".into()));
    #[rustfmt::skip]
    golden(&[
        0x09, 0x00, 0x06, 0x00, // 4 + 5
        b'n', b'o', b'n', b'e', 0x00,
        0x00, 0x00, 0x00,       // padding
    ], ServiceAttr::SchedName("none".into()));
    golden(&[0x07, 0x00, 0x06, 0x00, b'r', b'r', 0x00, 0x00], ServiceAttr::SchedName("rr".into()));
}

#[test]
fn svc_flags_struct_is_8_bytes() {
    #[rustfmt::skip]
    golden(&[
        0x0c, 0x00, 0x07, 0x00, // nla_len = 4 + sizeof(struct ip_vs_flags)
        0x00, 0x00, 0x00, 0x00, // flags = 0, host u32
        0xff, 0xff, 0xff, 0xff, // mask = ~0 (what libipvs sends)
    ], ServiceAttr::Flags { flags: 0, mask: u32::MAX });
    // Reply form for a persistent service: PERSISTENT | HASHED, mask ~0.
    golden(
        &[0x0c, 0x00, 0x07, 0x00, 0x03, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff],
        ServiceAttr::Flags { flags: IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_HASHED, mask: u32::MAX },
    );
    // flags and mask are distinct fields in host order.
    golden(
        &[0x0c, 0x00, 0x07, 0x00, 0x18, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00],
        ServiceAttr::Flags { flags: IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2, mask: IP_VS_SVC_F_SCHED1 },
    );
}

#[test]
fn svc_timeout() {
    // 300 s = 0x12c, host u32.
    golden(&[0x08, 0x00, 0x08, 0x00, 0x2c, 0x01, 0x00, 0x00], ServiceAttr::Timeout(300));
}

#[test]
fn svc_netmask_ipv4_network_order() {
    #[rustfmt::skip]
    golden(&[
        0x08, 0x00, 0x09, 0x00, // IPVS_SVC_ATTR_NETMASK
        0xff, 0xff, 0xff, 0x00, // 255.255.255.0 as __be32 (nla_put_be32)
    ], ServiceAttr::Netmask(RawNetmask::from_ipv4_mask(Ipv4Addr::new(255, 255, 255, 0))));
    golden(&[0x08, 0x00, 0x09, 0x00, 0xff, 0xff, 0xff, 0xff], ServiceAttr::Netmask(RawNetmask::IPV4_DEFAULT));
}

#[test]
fn svc_netmask_ipv6_prefix_host_order() {
    #[rustfmt::skip]
    golden(&[
        0x08, 0x00, 0x09, 0x00,
        0x40, 0x00, 0x00, 0x00, // prefix 64 as a host u32 (compared with 128 raw)
    ], ServiceAttr::Netmask(RawNetmask::from_ipv6_prefix(64)));
    golden(&[0x08, 0x00, 0x09, 0x00, 0x80, 0x00, 0x00, 0x00], ServiceAttr::Netmask(RawNetmask::IPV6_DEFAULT));
    assert_eq!(RawNetmask([0x40, 0, 0, 0]).as_ipv6_prefix(), 64);
    assert_eq!(RawNetmask([0xff, 0xff, 0xff, 0]).as_ipv4_mask(), Ipv4Addr::new(255, 255, 255, 0));
}

#[test]
fn svc_pe_name() {
    golden(&[0x08, 0x00, 0x0b, 0x00, b's', b'i', b'p', 0x00], ServiceAttr::PeName("sip".into()));
}

/// STATS nest in the 32-bit layout, in the kernel's order
/// (`ip_vs_genl_fill_stats`): u32 except INBYTES/OUTBYTES (u64).
#[rustfmt::skip]
const STATS32: &[u8] = &[
    0x5c, 0x00,                         // nla_len = 4 + 8*8 + 2*12 = 92
    0x0a, 0x00,                         // IPVS_SVC_ATTR_STATS (nest, no NLA_F_NESTED)
    0x08, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00,  // CONNS = 1 (u32)
    0x08, 0x00, 0x02, 0x00, 0x02, 0x00, 0x00, 0x00,  // INPKTS = 2
    0x08, 0x00, 0x03, 0x00, 0x03, 0x00, 0x00, 0x00,  // OUTPKTS = 3
    0x0c, 0x00, 0x04, 0x00, 0x04, 0x00, 0x00, 0x00,  // INBYTES = 0x1_0000_0004 (u64)
                            0x01, 0x00, 0x00, 0x00,
    0x0c, 0x00, 0x05, 0x00, 0x05, 0x00, 0x00, 0x00,  // OUTBYTES = 5 (u64)
                            0x00, 0x00, 0x00, 0x00,
    0x08, 0x00, 0x06, 0x00, 0x06, 0x00, 0x00, 0x00,  // CPS = 6
    0x08, 0x00, 0x07, 0x00, 0x07, 0x00, 0x00, 0x00,  // INPPS = 7
    0x08, 0x00, 0x08, 0x00, 0x08, 0x00, 0x00, 0x00,  // OUTPPS = 8
    0x08, 0x00, 0x09, 0x00, 0x09, 0x00, 0x00, 0x00,  // INBPS = 9
    0x08, 0x00, 0x0a, 0x00, 0x0a, 0x00, 0x00, 0x00,  // OUTBPS = 10
];

fn stats32_values() -> Vec<StatsAttr> {
    vec![
        StatsAttr::Conns(1),
        StatsAttr::InPkts(2),
        StatsAttr::OutPkts(3),
        StatsAttr::InBytes(0x1_0000_0004),
        StatsAttr::OutBytes(5),
        StatsAttr::Cps(6),
        StatsAttr::InPps(7),
        StatsAttr::OutPps(8),
        StatsAttr::InBps(9),
        StatsAttr::OutBps(10),
    ]
}

/// STATS64 nest (`ip_vs_genl_fill_stats64`): every value a u64.
#[rustfmt::skip]
const STATS64: &[u8] = &[
    0x7c, 0x00,                         // nla_len = 4 + 10*12 = 124
    0x0c, 0x00,                         // IPVS_SVC_ATTR_STATS64
    0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, // CONNS = 0x1_0000_0001
    0x0c, 0x00, 0x02, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // INPKTS = 2
    0x0c, 0x00, 0x03, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // OUTPKTS = 3
    0x0c, 0x00, 0x04, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // INBYTES = 4
    0x0c, 0x00, 0x05, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // OUTBYTES = 5
    0x0c, 0x00, 0x06, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // CPS = 6
    0x0c, 0x00, 0x07, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // INPPS = 7
    0x0c, 0x00, 0x08, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // OUTPPS = 8
    0x0c, 0x00, 0x09, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // INBPS = 9
    0x0c, 0x00, 0x0a, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // OUTBPS = u64::MAX
];

fn stats64_values() -> Vec<StatsAttr> {
    vec![
        StatsAttr::Conns(0x1_0000_0001),
        StatsAttr::InPkts(2),
        StatsAttr::OutPkts(3),
        StatsAttr::InBytes(4),
        StatsAttr::OutBytes(5),
        StatsAttr::Cps(6),
        StatsAttr::InPps(7),
        StatsAttr::OutPps(8),
        StatsAttr::InBps(9),
        StatsAttr::OutBps(u64::MAX),
    ]
}

#[test]
fn svc_stats_32bit_layout() {
    golden(STATS32, ServiceAttr::Stats(stats32_values()));
}

#[test]
fn svc_stats64_layout() {
    golden(STATS64, ServiceAttr::Stats64(stats64_values()));
}

#[test]
fn stats32_emit_truncates_like_the_kernel() {
    // The kernel writes (u32)kstats->conns into STATS; so do we.
    let attr = ServiceAttr::Stats(vec![StatsAttr::Conns(0x1_0000_0007)]);
    let mut out = vec![0; attr.buffer_len()];
    attr.emit(&mut out);
    assert_eq!(out, [0x0c, 0x00, 0x0a, 0x00, 0x08, 0x00, 0x01, 0x00, 0x07, 0x00, 0x00, 0x00]);
}

#[test]
fn stats_pad_before_u64() {
    // On architectures without efficient unaligned access, nla_put_u64_64bit
    // inserts a zero-length IPVS_STATS_ATTR_PAD (type 11) before the u64.
    #[rustfmt::skip]
    golden(&[
        0x14, 0x00, 0x0a, 0x00,             // STATS nest, 4 + 4 + 12
        0x04, 0x00, 0x0b, 0x00,             // PAD: nla_len 4, no value
        0x0c, 0x00, 0x04, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // INBYTES = 42
    ], ServiceAttr::Stats(vec![StatsAttr::Pad, StatsAttr::InBytes(42)]));
}

#[test]
fn stats_width_depends_on_the_nest() {
    // Four bytes is a valid CONNS in STATS but not in STATS64.
    let bytes = [0x0c, 0x00, 0x0c, 0x00, 0x08, 0x00, 0x01, 0x00, 0x07, 0x00, 0x00, 0x00];
    let err = parse_err::<ServiceAttr>(&bytes);
    assert!(err.contains("IPVS_SVC_ATTR_STATS64"), "{err}");
    assert!(err.contains("IPVS_STATS_ATTR_CONNS: expected 8 bytes, got 4"), "{err}");
}

#[test]
fn svc_unknown_attribute_is_other() {
    golden(
        &[0x08, 0x00, 0x63, 0x00, 0xde, 0xad, 0xbe, 0xef],
        ServiceAttr::Other(UnknownAttr::new(99, vec![0xde, 0xad, 0xbe, 0xef])),
    );
    golden(&[0x04, 0x00, 0x00, 0x00], ServiceAttr::Other(UnknownAttr::new(0, vec![])));
}

#[test]
fn svc_errors_name_the_attribute() {
    assert_eq!(
        parse_err::<ServiceAttr>(&[0x05, 0x00, 0x04, 0x00, 0x50, 0, 0, 0]),
        "IPVS_SVC_ATTR_PORT: expected 2 bytes, got 1"
    );
    assert_eq!(
        parse_err::<ServiceAttr>(&[0x08, 0x00, 0x07, 0x00, 0, 0, 0, 0]),
        "IPVS_SVC_ATTR_FLAGS: expected 8 bytes, got 4"
    );
    assert_eq!(
        parse_err::<ServiceAttr>(&[0x06, 0x00, 0x05, 0x00, 5, 0, 0, 0]),
        "IPVS_SVC_ATTR_FWMARK: expected 4 bytes, got 2"
    );
    let mut long_addr = vec![0x18, 0x00, 0x03, 0x00];
    long_addr.extend([0u8; 20]);
    assert_eq!(parse_err::<ServiceAttr>(&long_addr), "IPVS_SVC_ATTR_ADDR: expected at most 16 bytes, got 20");
    assert!(parse_err::<ServiceAttr>(&[0x06, 0x00, 0x06, 0x00, 0xff, 0xfe, 0, 0])
        .starts_with("IPVS_SVC_ATTR_SCHED_NAME: invalid UTF-8"));
}

// ---------------------------------------------------------------------------
// Destination attributes
// ---------------------------------------------------------------------------

#[test]
fn dest_addr_16_bytes() {
    #[rustfmt::skip]
    golden(&[
        0x14, 0x00, 0x01, 0x00, // IPVS_DEST_ATTR_ADDR
        0xc0, 0xa8, 0x01, 0x0a, // 192.168.1.10
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ], DestAttr::Address(Ipv4Addr::new(192, 168, 1, 10).into()));
}

#[test]
fn dest_port_is_network_order() {
    golden(&[0x06, 0x00, 0x02, 0x00, 0x00, 0x50, 0x00, 0x00], DestAttr::Port(80));
    golden(&[0x06, 0x00, 0x02, 0x00, 0x1f, 0x90, 0x00, 0x00], DestAttr::Port(8080));
}

#[test]
fn dest_fwd_method() {
    golden(&[0x08, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00], DestAttr::FwdMethod(IP_VS_CONN_F_MASQ));
    golden(&[0x08, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00, 0x00], DestAttr::FwdMethod(IP_VS_CONN_F_TUNNEL));
    golden(&[0x08, 0x00, 0x03, 0x00, 0x03, 0x00, 0x00, 0x00], DestAttr::FwdMethod(IP_VS_CONN_F_DROUTE));
}

#[test]
fn dest_weight_signed() {
    golden(&[0x08, 0x00, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00], DestAttr::Weight(1));
    golden(&[0x08, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00], DestAttr::Weight(0));
    // The kernel stores an int; -1 (sent to provoke ERANGE) is ff ff ff ff.
    golden(&[0x08, 0x00, 0x04, 0x00, 0xff, 0xff, 0xff, 0xff], DestAttr::Weight(-1));
}

#[test]
fn dest_thresholds_and_counters() {
    golden(&[0x08, 0x00, 0x05, 0x00, 0x64, 0x00, 0x00, 0x00], DestAttr::UpperThreshold(100));
    golden(&[0x08, 0x00, 0x06, 0x00, 0x4b, 0x00, 0x00, 0x00], DestAttr::LowerThreshold(75));
    golden(&[0x08, 0x00, 0x07, 0x00, 0x07, 0x00, 0x00, 0x00], DestAttr::ActiveConns(7));
    golden(&[0x08, 0x00, 0x08, 0x00, 0x08, 0x01, 0x00, 0x00], DestAttr::InactConns(264));
    golden(&[0x08, 0x00, 0x09, 0x00, 0x09, 0x00, 0x00, 0x00], DestAttr::PersistConns(9));
}

#[test]
fn dest_stats_both_layouts() {
    let mut stats32 = STATS32.to_vec();
    stats32[2] = IPVS_DEST_ATTR_STATS as u8; // same nest contents, dest attribute number 10
    golden(&stats32, DestAttr::Stats(stats32_values()));
    let mut stats64 = STATS64.to_vec();
    stats64[2] = IPVS_DEST_ATTR_STATS64 as u8; // 12
    golden(&stats64, DestAttr::Stats64(stats64_values()));
}

#[test]
fn dest_addr_family() {
    golden(&[0x06, 0x00, 0x0b, 0x00, 0x02, 0x00, 0x00, 0x00], DestAttr::AddressFamily(AF_INET));
    golden(&[0x06, 0x00, 0x0b, 0x00, 0x0a, 0x00, 0x00, 0x00], DestAttr::AddressFamily(AF_INET6));
}

#[test]
fn dest_tunnel_attributes() {
    #[rustfmt::skip]
    golden(&[
        0x05, 0x00, 0x0d, 0x00, // IPVS_DEST_ATTR_TUN_TYPE, nla_len = 4 + 1
        0x01,                   // GUE (nla_put_u8)
        0x00, 0x00, 0x00,       // padding
    ], DestAttr::TunType(IP_VS_CONN_F_TUNNEL_TYPE_GUE));
    #[rustfmt::skip]
    golden(&[
        0x06, 0x00, 0x0e, 0x00, // IPVS_DEST_ATTR_TUN_PORT
        0x17, 0xc0,             // 6080, big-endian (nla_put_be16)
        0x00, 0x00,
    ], DestAttr::TunPort(6080));
    #[rustfmt::skip]
    golden(&[
        0x06, 0x00, 0x0f, 0x00, // IPVS_DEST_ATTR_TUN_FLAGS
        0x03, 0x00,             // CSUM | REMCSUM, host u16 (nla_put_u16)
        0x00, 0x00,
    ], DestAttr::TunFlags(IP_VS_TUNNEL_ENCAP_FLAG_CSUM | IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM));
}

#[test]
fn dest_unknown_attribute_is_other() {
    golden(
        &[0x06, 0x00, 0x10, 0x00, 0x01, 0x02, 0x00, 0x00],
        DestAttr::Other(UnknownAttr::new(16, vec![0x01, 0x02])),
    );
}

#[test]
fn dest_errors_name_the_attribute() {
    assert_eq!(
        parse_err::<DestAttr>(&[0x05, 0x00, 0x02, 0x00, 0x50, 0, 0, 0]),
        "IPVS_DEST_ATTR_PORT: expected 2 bytes, got 1"
    );
    assert_eq!(
        parse_err::<DestAttr>(&[0x06, 0x00, 0x0d, 0x00, 1, 0, 0, 0]),
        "IPVS_DEST_ATTR_TUN_TYPE: expected 1 bytes, got 2"
    );
    assert_eq!(
        parse_err::<DestAttr>(&[0x06, 0x00, 0x04, 0x00, 1, 0, 0, 0]),
        "IPVS_DEST_ATTR_WEIGHT: expected 4 bytes, got 2"
    );
}

// ---------------------------------------------------------------------------
// Sync-daemon attributes
// ---------------------------------------------------------------------------

#[test]
fn daemon_state_ifn_syncid() {
    golden(&[0x08, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00], DaemonAttr::State(IP_VS_STATE_MASTER));
    golden(&[0x08, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00], DaemonAttr::State(IP_VS_STATE_BACKUP));
    #[rustfmt::skip]
    golden(&[
        0x09, 0x00, 0x02, 0x00, // IPVS_DAEMON_ATTR_MCAST_IFN, 4 + 5
        b'e', b't', b'h', b'0', 0x00,
        0x00, 0x00, 0x00,
    ], DaemonAttr::McastIfn(b"eth0".to_vec()));
    golden(&[0x08, 0x00, 0x03, 0x00, 0x05, 0x00, 0x00, 0x00], DaemonAttr::SyncId(5));
}

#[test]
fn daemon_mcast_ifn_is_bytes() {
    // Linux accepts any bytes but '/', ':', white space and NUL in an
    // interface name: "v\xe9th0" (Latin-1 e-acute) is not UTF-8 and decodes.
    #[rustfmt::skip]
    golden(&[
        0x0a, 0x00, 0x02, 0x00, // IPVS_DAEMON_ATTR_MCAST_IFN, 4 + 6
        b'v', 0xe9, b't', b'h', b'0', 0x00,
        0x00, 0x00,
    ], DaemonAttr::McastIfn(b"v\xe9th0".to_vec()));
    // The full 15 bytes (IFNAMSIZ - 1) plus the NUL: exactly 16, no padding.
    let mut max = vec![0x14, 0x00, 0x02, 0x00];
    max.extend_from_slice(b"abcdefghijklmno\0");
    golden(&max, DaemonAttr::McastIfn(b"abcdefghijklmno".to_vec()));
    // Like the kernel (nla_strscpy), parsing stops at the first NUL, and a
    // value without one is taken whole; these two do not re-emit the same bytes.
    let nest = [
        0x0c, 0x00, 0x02, 0x00, b'l', b'o', 0x00, b'x', 0x00, 0x00, 0x00, 0x00, // "lo\0x\0..."
        0x06, 0x00, 0x02, 0x00, b'l', b'o', 0x00, 0x00, // "lo", no NUL
    ];
    assert_eq!(
        parse_daemon_attrs(&nest).unwrap(),
        [DaemonAttr::McastIfn(b"lo".to_vec()), DaemonAttr::McastIfn(b"lo".to_vec())]
    );
}

#[test]
fn daemon_sync_maxlen() {
    // 1472 = 0x05c0, host u16.
    golden(&[0x06, 0x00, 0x04, 0x00, 0xc0, 0x05, 0x00, 0x00], DaemonAttr::SyncMaxlen(1472));
}

#[test]
fn daemon_mcast_group_network_order() {
    #[rustfmt::skip]
    golden(&[
        0x08, 0x00, 0x05, 0x00,
        0xe0, 0x00, 0x00, 0x51, // 224.0.0.81 (nla_put_in_addr: network order)
    ], DaemonAttr::McastGroup(Ipv4Addr::new(224, 0, 0, 81)));
    #[rustfmt::skip]
    golden(&[
        0x14, 0x00, 0x06, 0x00,
        0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x12, // ff02::12
    ], DaemonAttr::McastGroup6("ff02::12".parse().unwrap()));
}

#[test]
fn daemon_mcast_port_is_host_order() {
    #[rustfmt::skip]
    golden(&[
        0x06, 0x00, 0x07, 0x00, // IPVS_DAEMON_ATTR_MCAST_PORT
        0x90, 0x22,             // 8848 = 0x2290 in HOST order (nla_put_u16), unlike other ports
        0x00, 0x00,
    ], DaemonAttr::McastPort(8848));
}

#[test]
fn daemon_mcast_ttl() {
    golden(&[0x05, 0x00, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00], DaemonAttr::McastTtl(1));
}

#[test]
fn daemon_unknown_and_errors() {
    golden(
        &[0x05, 0x00, 0x09, 0x00, 0x07, 0x00, 0x00, 0x00],
        DaemonAttr::Other(UnknownAttr::new(9, vec![7])),
    );
    assert_eq!(
        parse_err::<DaemonAttr>(&[0x08, 0x00, 0x07, 0x00, 0x90, 0x22, 0, 0]),
        "IPVS_DAEMON_ATTR_MCAST_PORT: expected 2 bytes, got 4"
    );
    assert_eq!(
        parse_err::<DaemonAttr>(&[0x08, 0x00, 0x06, 0x00, 0xff, 0x02, 0, 0]),
        "IPVS_DAEMON_ATTR_MCAST_GROUP6: expected 16 bytes, got 4"
    );
}

// ---------------------------------------------------------------------------
// Top-level attributes
// ---------------------------------------------------------------------------

#[test]
fn top_level_timeouts() {
    // GET_CONFIG reply (cmd SET_CONFIG): the defaults 900 / 120 / 300 s.
    golden_top(
        &[0x08, 0x00, 0x04, 0x00, 0x84, 0x03, 0x00, 0x00],
        IpvsCmd::SetConfig,
        IpvsAttr::TimeoutTcp(900),
    );
    golden_top(
        &[0x08, 0x00, 0x05, 0x00, 0x78, 0x00, 0x00, 0x00],
        IpvsCmd::SetConfig,
        IpvsAttr::TimeoutTcpFin(120),
    );
    golden_top(
        &[0x08, 0x00, 0x06, 0x00, 0x2c, 0x01, 0x00, 0x00],
        IpvsCmd::SetConfig,
        IpvsAttr::TimeoutUdp(300),
    );
}

#[test]
fn top_level_info_attributes_need_the_set_info_command() {
    // IPVS_INFO_ATTR_VERSION = 1: 0x010201 ("1.2.1"), host u32.
    let version = [0x08, 0x00, 0x01, 0x00, 0x01, 0x02, 0x01, 0x00];
    golden_top(&version, IpvsCmd::SetInfo, IpvsAttr::InfoVersion(0x0001_0201));
    // IPVS_INFO_ATTR_CONN_TAB_SIZE = 2: 4096.
    golden_top(
        &[0x08, 0x00, 0x02, 0x00, 0x00, 0x10, 0x00, 0x00],
        IpvsCmd::SetInfo,
        IpvsAttr::InfoConnTabSize(4096),
    );
    // Outside a SET_INFO message, type 1 is the SERVICE nest, and these four
    // bytes are not a valid nest (nla_len 0x0201 > 4).
    let buf = NlaBuffer::new_checked(&version[..]).unwrap();
    let err = IpvsAttr::parse_with_param(&buf, IpvsCmd::NewService).unwrap_err().to_string();
    assert!(err.starts_with("IPVS_CMD_ATTR_SERVICE"), "{err}");
}

#[test]
fn top_level_service_nest() {
    #[rustfmt::skip]
    golden_top(&[
        0x1c, 0x00, 0x01, 0x00,                         // IPVS_CMD_ATTR_SERVICE, 4 + 8 + 8 + 8
        0x06, 0x00, 0x01, 0x00, 0x0a, 0x00, 0x00, 0x00, // AF = AF_INET6
        0x08, 0x00, 0x05, 0x00, 0x05, 0x00, 0x00, 0x00, // FWMARK = 5
        0x07, 0x00, 0x06, 0x00, b'r', b'r', 0x00, 0x00, // SCHED_NAME = "rr"
    ], IpvsCmd::GetService, IpvsAttr::Service(vec![
        ServiceAttr::AddressFamily(AF_INET6),
        ServiceAttr::Fwmark(5),
        ServiceAttr::SchedName("rr".into()),
    ]));
}

#[test]
fn top_level_dest_and_daemon_nests() {
    #[rustfmt::skip]
    golden_top(&[
        0x14, 0x00, 0x02, 0x00,                         // IPVS_CMD_ATTR_DEST, 4 + 8 + 8
        0x06, 0x00, 0x02, 0x00, 0x00, 0x50, 0x00, 0x00, // PORT = 80
        0x08, 0x00, 0x04, 0x00, 0x02, 0x00, 0x00, 0x00, // WEIGHT = 2
    ], IpvsCmd::NewDest, IpvsAttr::Dest(vec![DestAttr::Port(80), DestAttr::Weight(2)]));
    #[rustfmt::skip]
    golden_top(&[
        0x0c, 0x00, 0x03, 0x00,                         // IPVS_CMD_ATTR_DAEMON, 4 + 8
        0x08, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, // STATE = BACKUP
    ], IpvsCmd::DelDaemon, IpvsAttr::Daemon(vec![DaemonAttr::State(IP_VS_STATE_BACKUP)]));
}

#[test]
fn nested_flag_is_accepted_on_parse() {
    // libnl's nla_nest_start sets NLA_F_NESTED (0x8000); the kernel ignores it
    // (legacy validation) and so does the parser. We emit without it, as the
    // kernel's own nla_nest_start_noflag does.
    let bytes = [0x0c, 0x00, 0x03, 0x80, 0x08, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00];
    let buf = NlaBuffer::new_checked(&bytes[..]).unwrap();
    assert_eq!(
        IpvsAttr::parse_with_param(&buf, IpvsCmd::NewDaemon).unwrap(),
        IpvsAttr::Daemon(vec![DaemonAttr::State(IP_VS_STATE_BACKUP)])
    );
}

#[test]
fn top_level_unknown_is_other_and_keeps_flags() {
    golden_top(
        &[0x08, 0x00, 0x07, 0x00, 0x01, 0x00, 0x00, 0x00],
        IpvsCmd::SetConfig,
        IpvsAttr::Other(UnknownAttr::new(7, vec![1, 0, 0, 0])),
    );
    golden_top(
        &[0x04, 0x00, 0x63, 0x80],
        IpvsCmd::NewService,
        IpvsAttr::Other(UnknownAttr::new(0x8063, vec![])),
    );
    golden_top(
        &[0x08, 0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00],
        IpvsCmd::SetInfo,
        IpvsAttr::Other(UnknownAttr::new(3, vec![1, 0, 0, 0])),
    );
}

#[test]
fn unknown_attributes_inside_a_service_nest_are_kept_byte_for_byte() {
    // A newer kernel's attributes among known ones: 13 (a plain value) and
    // 0x8063 (a nest of its own, NLA_F_NESTED set), kept in place.
    #[rustfmt::skip]
    let bytes = [
        0x28, 0x00, 0x01, 0x00,                         // IPVS_CMD_ATTR_SERVICE, 4 + 8 + 8 + 8 + 12
        0x06, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, // AF = AF_INET
        0x07, 0x00, 0x0d, 0x00, 0x01, 0x02, 0x03, 0x00, // type 13, 3 bytes, padded
        0x08, 0x00, 0x05, 0x00, 0x07, 0x00, 0x00, 0x00, // FWMARK = 7
        0x0c, 0x00, 0x63, 0x80,                         // type 99 | NLA_F_NESTED
        0x08, 0x00, 0x01, 0x00, 0x2a, 0x00, 0x00, 0x00, //   a nested u32 = 42
    ];
    let unknown_nest = UnknownAttr::new(0x8063, vec![0x08, 0x00, 0x01, 0x00, 0x2a, 0x00, 0x00, 0x00]);
    assert_eq!(unknown_nest.number(), 99);
    assert!(unknown_nest.is_nested());
    golden_top(
        &bytes,
        IpvsCmd::NewService,
        IpvsAttr::Service(vec![
            ServiceAttr::AddressFamily(AF_INET),
            ServiceAttr::Other(UnknownAttr { kind: 13, value: vec![1, 2, 3] }),
            ServiceAttr::Fwmark(7),
            ServiceAttr::Other(unknown_nest),
        ]),
    );
    // The public nest parser gives the same.
    assert_eq!(
        parse_service_attrs(&bytes[4..]).unwrap()[3],
        ServiceAttr::Other(UnknownAttr::new(0x8063, bytes[32..].to_vec()))
    );
}

#[test]
fn nested_errors_carry_the_path() {
    #[rustfmt::skip]
    let bytes = [
        0x0c, 0x00, 0x02, 0x00,                         // IPVS_CMD_ATTR_DEST, 4 + 8
        0x05, 0x00, 0x02, 0x00, 0x50, 0x00, 0x00, 0x00, // PORT with a 1-byte value
    ];
    let buf = NlaBuffer::new_checked(&bytes[..]).unwrap();
    let err = IpvsAttr::parse_with_param(&buf, IpvsCmd::NewDest).unwrap_err().to_string();
    assert_eq!(err, "IPVS_CMD_ATTR_DEST caused by IPVS_DEST_ATTR_PORT: expected 2 bytes, got 1");
}

#[test]
fn addr_helpers() {
    let a = InetAddr::from(Ipv4Addr::new(10, 1, 2, 3));
    assert_eq!(a.to_ip(AF_INET), Some(Ipv4Addr::new(10, 1, 2, 3).into()));
    assert_eq!(a.to_ip(99), None);
    let short = InetAddr::from_bytes(&[10, 1]).unwrap();
    // Like the kernel's zeroed union: missing bytes read as zero.
    assert_eq!(short.to_ipv4(), Ipv4Addr::new(10, 1, 0, 0));
    assert_eq!(short.as_bytes(), &[10, 1]);
    assert!(InetAddr::from_bytes(&[0; 17]).is_none());
    let v6: Ipv6Addr = "fd00::5".parse().unwrap();
    assert_eq!(InetAddr::from(v6).to_ip(AF_INET6), Some(v6.into()));
    assert_eq!(format!("{:?}", InetAddr::ipv4_compact(Ipv4Addr::new(10, 0, 0, 1))), "InetAddr(0a 00 00 01)");
}

#[test]
fn cmd_numbers() {
    let all = [
        (IpvsCmd::NewService, 1u8),
        (IpvsCmd::SetService, 2),
        (IpvsCmd::DelService, 3),
        (IpvsCmd::GetService, 4),
        (IpvsCmd::NewDest, 5),
        (IpvsCmd::SetDest, 6),
        (IpvsCmd::DelDest, 7),
        (IpvsCmd::GetDest, 8),
        (IpvsCmd::NewDaemon, 9),
        (IpvsCmd::DelDaemon, 10),
        (IpvsCmd::GetDaemon, 11),
        (IpvsCmd::SetConfig, 12),
        (IpvsCmd::GetConfig, 13),
        (IpvsCmd::SetInfo, 14),
        (IpvsCmd::GetInfo, 15),
        (IpvsCmd::Zero, 16),
        (IpvsCmd::Flush, 17),
    ];
    for (cmd, n) in all {
        assert_eq!(u8::from(cmd), n);
        assert_eq!(IpvsCmd::from(n), cmd);
    }
    // Any other number is Other, and only through From<u8>.
    for n in [0u8, 18, 255] {
        let cmd = IpvsCmd::from(n);
        assert!(matches!(cmd, IpvsCmd::Other(other) if other.get() == n), "{cmd:?}");
        assert_eq!(u8::from(cmd), n);
    }
}
