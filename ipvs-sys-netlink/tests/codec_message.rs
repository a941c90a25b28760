//! Whole netlink messages: requests as libipvs sends them, kernel replies
//! (dumps, GET_INFO, GET_CONFIG, ACKs, errors with extended-ack text,
//! NLMSG_DONE), buffers holding several messages, family resolution, and
//! truncated input. Every reply is checked both ways: decoding gives the
//! expected [`Message`], and `encode_message` gives the bytes back.
//!
//! HAND-DERIVED FIXTURES, to be replaced/confirmed by captures from the real
//! kernel. The request bytes follow libipvs 1.31 (`ipvs_nl_fill_service_attr`,
//! `ipvs_nl_message`) sent through libnl (`nl_send_auto_complete` adds
//! `NLM_F_REQUEST | NLM_F_ACK`); the reply bytes follow Linux 6.1
//! `ip_vs_genl_fill_*`, `genlmsg_put` (dumps: `NLM_F_MULTI`), `netlink_ack`
//! (ACK: `NLM_F_CAPPED` + the request header; error: the whole request) and
//! `netlink_dump_done` (`NLMSG_DONE` with a 4-byte errno).
#![cfg(target_endian = "little")]
#![allow(clippy::unwrap_used)]

use std::net::{Ipv4Addr, Ipv6Addr};

use ipvs_sys_netlink::codec::consts::*;
use ipvs_sys_netlink::codec::ctrl::{decode_family_reply, encode_get_family_request, FamilyReply};
use ipvs_sys_netlink::codec::{
    encode_message, encode_request, encode_request_into, parse_messages, parse_reply, CodecError, DaemonAttr,
    DestAttr, Frames, IpvsAttr, IpvsCmd, IpvsMessage, Message, MessageBody, MessageHeader, RawNetmask,
    RequestHeader, ServiceAttr, StatsAttr, UnknownAttr,
};

const FAMILY: u16 = 0x24;
const PID: u32 = 12345; // 0x3039

// ---------------------------------------------------------------------------
// A tiny, independent encoder for composing reply fixtures (the golden
// attribute bytes are in codec_golden.rs; this only frames them).
// ---------------------------------------------------------------------------

fn nla(kind: u16, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(4 + value.len() as u16).to_le_bytes());
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(value);
    while out.len() % 4 != 0 {
        out.push(0);
    }
    out
}

fn nlmsg(message_type: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(16 + payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&message_type.to_le_bytes());
    out.extend_from_slice(&flags.to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&PID.to_le_bytes());
    out.extend_from_slice(payload);
    out
}

fn genl(cmd: u8, attrs: &[Vec<u8>]) -> Vec<u8> {
    let mut out = vec![cmd, 1, 0, 0];
    for a in attrs {
        out.extend_from_slice(a);
    }
    out
}

fn u32_stats(kind: u16, v: u32) -> Vec<u8> {
    nla(kind, &v.to_le_bytes())
}

fn u64_stats(kind: u16, v: u64) -> Vec<u8> {
    nla(kind, &v.to_le_bytes())
}

/// A STATS + STATS64 pair as the kernel writes them, all counters = `v`.
fn kernel_stats(stats_kind: u16, stats64_kind: u16, v: u32) -> Vec<u8> {
    let mut s32 = Vec::new();
    for kind in 1..=10u16 {
        if kind == 4 || kind == 5 {
            s32.extend(u64_stats(kind, v.into()));
        } else {
            s32.extend(u32_stats(kind, v));
        }
    }
    let mut s64 = Vec::new();
    for kind in 1..=10u16 {
        s64.extend(u64_stats(kind, v.into()));
    }
    let mut out = nla(stats_kind, &s32);
    out.extend(nla(stats64_kind, &s64));
    out
}

fn stats_values(v: u64) -> Vec<StatsAttr> {
    vec![
        StatsAttr::Conns(v),
        StatsAttr::InPkts(v),
        StatsAttr::OutPkts(v),
        StatsAttr::InBytes(v),
        StatsAttr::OutBytes(v),
        StatsAttr::Cps(v),
        StatsAttr::InPps(v),
        StatsAttr::OutPps(v),
        StatsAttr::InBps(v),
        StatsAttr::OutBps(v),
    ]
}

fn inner(msg: &Message) -> &IpvsMessage {
    msg.ipvs().unwrap_or_else(|| panic!("expected an IPVS message, got {msg:?}"))
}

/// Asserts that every message of `buf` decodes and encodes back to its own bytes.
fn reencodes(buf: &[u8]) {
    for frame in Frames::new(buf) {
        let frame = frame.unwrap();
        let msg = frame.decode().unwrap();
        assert_eq!(encode_message(&msg).unwrap(), frame.bytes, "emit(parse(bytes)) != bytes for {msg:?}");
    }
}

fn header(length: u32, message_type: u16, flags: u16, sequence: u32) -> MessageHeader {
    MessageHeader { length, message_type, flags, sequence, port: PID }
}

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

/// `ipvsadm -A -t 10.1.2.3:80 -s wrr`, as libipvs builds it.
#[rustfmt::skip]
const NEW_SERVICE_REQUEST: [u8; 104] = [
    // struct nlmsghdr
    0x68, 0x00, 0x00, 0x00,     // nlmsg_len = 16 + 4 + 84 = 104
    0x24, 0x00,                 // nlmsg_type = resolved IPVS family id (0x24 here)
    0x05, 0x00,                 // nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK
    0x01, 0x00, 0x00, 0x00,     // nlmsg_seq = 1
    0x39, 0x30, 0x00, 0x00,     // nlmsg_pid = 12345
    // struct genlmsghdr
    0x01,                       // cmd = IPVS_CMD_NEW_SERVICE
    0x01,                       // version = IPVS_GENL_VERSION
    0x00, 0x00,                 // reserved
    // IPVS_CMD_ATTR_SERVICE (libnl would write type 0x8001 with NLA_F_NESTED;
    // we write 0x0001 like the kernel's replies; the kernel accepts both)
    0x54, 0x00, 0x01, 0x00,     // nla_len = 4 + 80
    0x06, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00,   // AF = AF_INET (host u16)
    0x06, 0x00, 0x02, 0x00, 0x06, 0x00, 0x00, 0x00,   // PROTOCOL = IPPROTO_TCP (host u16)
    0x14, 0x00, 0x03, 0x00,                           // ADDR, 16 bytes (sizeof(svc->addr))
    0x0a, 0x01, 0x02, 0x03, 0x00, 0x00, 0x00, 0x00,   //   10.1.2.3, zero-filled union
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x06, 0x00, 0x04, 0x00, 0x00, 0x50, 0x00, 0x00,   // PORT = 80 (network order)
    0x08, 0x00, 0x06, 0x00, b'w', b'r', b'r', 0x00,   // SCHED_NAME = "wrr\0"
    0x0c, 0x00, 0x07, 0x00,                           // FLAGS = struct ip_vs_flags
    0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,   //   flags 0, mask ~0
    0x08, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00,   // TIMEOUT = 0
    0x08, 0x00, 0x09, 0x00, 0xff, 0xff, 0xff, 0xff,   // NETMASK = 255.255.255.255
];

fn new_service_message() -> IpvsMessage {
    IpvsMessage::new(
        IpvsCmd::NewService,
        vec![IpvsAttr::Service(vec![
            ServiceAttr::AddressFamily(AF_INET),
            ServiceAttr::Protocol(6),
            ServiceAttr::Address(Ipv4Addr::new(10, 1, 2, 3).into()),
            ServiceAttr::Port(80),
            ServiceAttr::SchedName("wrr".into()),
            ServiceAttr::Flags { flags: 0, mask: u32::MAX },
            ServiceAttr::Timeout(0),
            ServiceAttr::Netmask(RawNetmask::IPV4_DEFAULT),
        ])],
    )
}

fn req_header(seq: u32, flags: u16) -> RequestHeader {
    RequestHeader { family_id: FAMILY, flags, sequence: seq, port: PID }
}

#[test]
fn new_service_request_bytes() {
    let msg = new_service_message();
    let bytes = encode_request(&msg, req_header(1, NLM_F_ACK)).unwrap();
    assert_eq!(bytes, NEW_SERVICE_REQUEST);

    // The bytes parse back to the same message, with the header as sent.
    let parsed = parse_reply(&NEW_SERVICE_REQUEST).unwrap();
    let expected = Message {
        header: header(104, FAMILY, NLM_F_REQUEST | NLM_F_ACK, 1),
        body: MessageBody::Ipvs(msg.clone()),
    };
    assert_eq!(parsed, vec![expected.clone()]);
    assert_eq!(inner(&parsed[0]), &msg);

    // encode_message with that header gives the same bytes as encode_request.
    assert_eq!(encode_message(&expected).unwrap(), NEW_SERVICE_REQUEST);
}

#[test]
fn libnl_nested_flag_parses_the_same() {
    let mut libnl = NEW_SERVICE_REQUEST;
    libnl[23] = 0x80; // IPVS_CMD_ATTR_SERVICE | NLA_F_NESTED, as libnl's nla_nest_start writes it
    let parsed = parse_reply(&libnl).unwrap();
    assert_eq!(inner(&parsed[0]), &new_service_message());
}

#[test]
fn request_always_has_nlm_f_request() {
    let flush = IpvsMessage::new(IpvsCmd::Flush, vec![]);
    let bytes = encode_request(&flush, req_header(9, 0)).unwrap();
    #[rustfmt::skip]
    assert_eq!(bytes, [
        0x14, 0x00, 0x00, 0x00, 0x24, 0x00,
        0x01, 0x00,             // NLM_F_REQUEST, added even though flags = 0
        0x09, 0x00, 0x00, 0x00, 0x39, 0x30, 0x00, 0x00,
        0x11, 0x01, 0x00, 0x00, // IPVS_CMD_FLUSH, version 1
    ]);
}

#[test]
fn dump_request_for_dests() {
    // GET_DEST is dump-only and needs the service identity inside.
    let msg = IpvsMessage::new(
        IpvsCmd::GetDest,
        vec![IpvsAttr::Service(vec![ServiceAttr::AddressFamily(AF_INET), ServiceAttr::Fwmark(5)])],
    );
    let bytes = encode_request(&msg, req_header(3, NLM_F_DUMP)).unwrap();
    #[rustfmt::skip]
    assert_eq!(bytes, [
        0x28, 0x00, 0x00, 0x00, // nlmsg_len = 16 + 4 + 20
        0x24, 0x00,
        0x01, 0x03,             // NLM_F_REQUEST | NLM_F_DUMP (0x301)
        0x03, 0x00, 0x00, 0x00, 0x39, 0x30, 0x00, 0x00,
        0x08, 0x01, 0x00, 0x00, // IPVS_CMD_GET_DEST
        0x14, 0x00, 0x01, 0x00, // SERVICE nest
        0x06, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00,
        0x08, 0x00, 0x05, 0x00, 0x05, 0x00, 0x00, 0x00,
    ]);
}

#[test]
fn several_requests_in_one_buffer() {
    let mut out = Vec::new();
    let a = encode_request_into(&mut out, &new_service_message(), req_header(1, NLM_F_ACK)).unwrap();
    let flush = IpvsMessage::new(IpvsCmd::Flush, vec![]);
    let b = encode_request_into(&mut out, &flush, req_header(2, NLM_F_ACK)).unwrap();
    assert_eq!(a, 0..104);
    assert_eq!(b, 104..124);
    assert_eq!(&out[a], &NEW_SERVICE_REQUEST[..]);
    let frames: Vec<_> = Frames::new(&out).collect::<Result<_, _>>().unwrap();
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[1].offset, 104);
    assert_eq!(frames[1].header, header(20, FAMILY, NLM_F_REQUEST | NLM_F_ACK, 2));
}

#[test]
fn encode_rejects_bad_family_id_and_oversized_attributes() {
    let flush = IpvsMessage::new(IpvsCmd::Flush, vec![]);
    let err = encode_request(&flush, RequestHeader::default()).unwrap_err();
    assert!(matches!(err, CodecError::InvalidFamilyId(0)), "{err}");
    let err = encode_request(&flush, RequestHeader { family_id: 3, ..Default::default() }).unwrap_err();
    assert_eq!(err, CodecError::InvalidFamilyId(3));
    // encode_message refuses a control type for an IPVS body too.
    let as_done = Message { header: header(0, 3, 0, 1), body: MessageBody::Ipvs(flush.clone()) };
    assert_eq!(encode_message(&as_done).unwrap_err(), CodecError::InvalidFamilyId(3));

    let huge = IpvsMessage::new(
        IpvsCmd::NewService,
        vec![IpvsAttr::Service(vec![ServiceAttr::SchedName("x".repeat(70_000))])],
    );
    let err = encode_request(&huge, req_header(1, 0)).unwrap_err();
    assert!(matches!(err, CodecError::AttributeTooLarge { kind: 1, .. }), "{err}");
    // The largest value that fits is accepted.
    let fits = IpvsMessage::new(
        IpvsCmd::NewService,
        vec![IpvsAttr::Service(vec![ServiceAttr::SchedName("x".repeat(65_531 - 4 - 4))])],
    );
    let bytes = encode_request(&fits, req_header(1, 0)).unwrap();
    assert_eq!(bytes.len(), 16 + 4 + 65_532);
    assert_eq!(inner(&parse_reply(&bytes).unwrap()[0]), &fits);
}

// ---------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------

/// A GET_SERVICE dump: two NEW_SERVICE messages with NLM_F_MULTI, then
/// NLMSG_DONE, all in one receive buffer.
fn service_dump() -> Vec<u8> {
    let svc1 = {
        let mut attrs = Vec::new();
        attrs.extend(nla(IPVS_SVC_ATTR_AF, &AF_INET.to_le_bytes()));
        attrs.extend(nla(IPVS_SVC_ATTR_PROTOCOL, &6u16.to_le_bytes()));
        let mut addr = [0u8; 16];
        addr[..4].copy_from_slice(&[10, 1, 2, 3]);
        attrs.extend(nla(IPVS_SVC_ATTR_ADDR, &addr));
        attrs.extend(nla(IPVS_SVC_ATTR_PORT, &80u16.to_be_bytes()));
        attrs.extend(nla(IPVS_SVC_ATTR_SCHED_NAME, b"wrr\0"));
        attrs.extend(nla(IPVS_SVC_ATTR_FLAGS, &[2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]));
        attrs.extend(nla(IPVS_SVC_ATTR_TIMEOUT, &0u32.to_le_bytes()));
        attrs.extend(nla(IPVS_SVC_ATTR_NETMASK, &[0xff; 4]));
        attrs.extend(kernel_stats(IPVS_SVC_ATTR_STATS, IPVS_SVC_ATTR_STATS64, 0));
        nla(IPVS_CMD_ATTR_SERVICE, &attrs)
    };
    let svc2 = {
        let mut attrs = Vec::new();
        attrs.extend(nla(IPVS_SVC_ATTR_AF, &AF_INET6.to_le_bytes()));
        attrs.extend(nla(IPVS_SVC_ATTR_FWMARK, &5u32.to_le_bytes()));
        attrs.extend(nla(IPVS_SVC_ATTR_SCHED_NAME, b"sh\0"));
        attrs.extend(nla(IPVS_SVC_ATTR_PE_NAME, b"sip\0"));
        attrs.extend(nla(IPVS_SVC_ATTR_FLAGS, &[0x0b, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]));
        attrs.extend(nla(IPVS_SVC_ATTR_TIMEOUT, &300u32.to_le_bytes()));
        attrs.extend(nla(IPVS_SVC_ATTR_NETMASK, &128u32.to_le_bytes()));
        attrs.extend(kernel_stats(IPVS_SVC_ATTR_STATS, IPVS_SVC_ATTR_STATS64, 3));
        nla(IPVS_CMD_ATTR_SERVICE, &attrs)
    };
    let mut buf = nlmsg(FAMILY, NLM_F_MULTI, 2, &genl(IPVS_CMD_NEW_SERVICE, &[svc1]));
    buf.extend(nlmsg(FAMILY, NLM_F_MULTI, 2, &genl(IPVS_CMD_NEW_SERVICE, &[svc2])));
    buf.extend(nlmsg(3, NLM_F_MULTI, 2, &0i32.to_le_bytes())); // NLMSG_DONE
    buf
}

#[test]
fn service_dump_reply() {
    let buf = service_dump();
    let msgs = parse_reply(&buf).unwrap();
    assert_eq!(msgs.len(), 3);
    for m in &msgs {
        assert_eq!(m.header.sequence, 2);
        assert_eq!(m.header.port, PID);
        assert!(m.header.flags & NLM_F_MULTI != 0);
        assert!(m.header.flags & NLM_F_DUMP_INTR == 0);
    }
    let mut stats = vec![ServiceAttr::Stats(stats_values(0)), ServiceAttr::Stats64(stats_values(0))];
    let mut expected1 = vec![
        ServiceAttr::AddressFamily(AF_INET),
        ServiceAttr::Protocol(6),
        ServiceAttr::Address(Ipv4Addr::new(10, 1, 2, 3).into()),
        ServiceAttr::Port(80),
        ServiceAttr::SchedName("wrr".into()),
        ServiceAttr::Flags { flags: IP_VS_SVC_F_HASHED, mask: u32::MAX },
        ServiceAttr::Timeout(0),
        ServiceAttr::Netmask(RawNetmask::IPV4_DEFAULT),
    ];
    expected1.append(&mut stats);
    assert_eq!(inner(&msgs[0]).cmd, IpvsCmd::NewService);
    assert_eq!(inner(&msgs[0]).service().unwrap(), expected1.as_slice());

    let svc2 = inner(&msgs[1]).service().unwrap();
    assert_eq!(svc2[1], ServiceAttr::Fwmark(5));
    assert_eq!(svc2[3], ServiceAttr::PeName("sip".into()));
    assert_eq!(
        svc2[4],
        ServiceAttr::Flags {
            flags: IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_HASHED | IP_VS_SVC_F_SCHED_SH_FALLBACK,
            mask: u32::MAX
        }
    );
    assert_eq!(svc2[6], ServiceAttr::Netmask(RawNetmask::from_ipv6_prefix(128)));
    assert_eq!(svc2[8], ServiceAttr::Stats64(stats_values(3)));

    assert_eq!(
        msgs[2],
        Message { header: header(20, NLMSG_DONE, NLM_F_MULTI, 2), body: MessageBody::done(0) }
    );

    // The emitter reproduces each kernel message byte for byte.
    let frames: Vec<_> = Frames::new(&buf).collect::<Result<_, _>>().unwrap();
    for (frame, msg) in frames.iter().zip(&msgs) {
        assert_eq!(encode_message(msg).unwrap(), frame.bytes);
    }
    reencodes(&buf);
}

#[test]
fn dest_dump_reply() {
    let mut attrs = Vec::new();
    let mut addr = [0u8; 16];
    addr[..4].copy_from_slice(&[192, 168, 1, 10]);
    // Kernel order: ADDR, PORT, FWD_METHOD, WEIGHT, TUN_TYPE, TUN_PORT,
    // TUN_FLAGS, U_THRESH, L_THRESH, ACTIVE, INACT, PERSIST, ADDR_FAMILY, STATS, STATS64.
    attrs.extend(nla(IPVS_DEST_ATTR_ADDR, &addr));
    attrs.extend(nla(IPVS_DEST_ATTR_PORT, &8080u16.to_be_bytes()));
    attrs.extend(nla(IPVS_DEST_ATTR_FWD_METHOD, &IP_VS_CONN_F_TUNNEL.to_le_bytes()));
    attrs.extend(nla(IPVS_DEST_ATTR_WEIGHT, &3u32.to_le_bytes()));
    attrs.extend(nla(IPVS_DEST_ATTR_TUN_TYPE, &[IP_VS_CONN_F_TUNNEL_TYPE_GUE]));
    attrs.extend(nla(IPVS_DEST_ATTR_TUN_PORT, &6080u16.to_be_bytes()));
    attrs.extend(nla(IPVS_DEST_ATTR_TUN_FLAGS, &IP_VS_TUNNEL_ENCAP_FLAG_CSUM.to_le_bytes()));
    attrs.extend(nla(IPVS_DEST_ATTR_U_THRESH, &100u32.to_le_bytes()));
    attrs.extend(nla(IPVS_DEST_ATTR_L_THRESH, &0u32.to_le_bytes()));
    attrs.extend(nla(IPVS_DEST_ATTR_ACTIVE_CONNS, &1u32.to_le_bytes()));
    attrs.extend(nla(IPVS_DEST_ATTR_INACT_CONNS, &2u32.to_le_bytes()));
    attrs.extend(nla(IPVS_DEST_ATTR_PERSIST_CONNS, &0u32.to_le_bytes()));
    attrs.extend(nla(IPVS_DEST_ATTR_ADDR_FAMILY, &AF_INET.to_le_bytes()));
    attrs.extend(kernel_stats(IPVS_DEST_ATTR_STATS, IPVS_DEST_ATTR_STATS64, 7));
    let buf = nlmsg(FAMILY, NLM_F_MULTI, 4, &genl(IPVS_CMD_NEW_DEST, &[nla(IPVS_CMD_ATTR_DEST, &attrs)]));

    let msgs = parse_reply(&buf).unwrap();
    let msg = inner(&msgs[0]);
    assert_eq!(msg.cmd, IpvsCmd::NewDest);
    assert_eq!(
        msg.dest().unwrap(),
        &[
            DestAttr::Address(Ipv4Addr::new(192, 168, 1, 10).into()),
            DestAttr::Port(8080),
            DestAttr::FwdMethod(IP_VS_CONN_F_TUNNEL),
            DestAttr::Weight(3),
            DestAttr::TunType(IP_VS_CONN_F_TUNNEL_TYPE_GUE),
            DestAttr::TunPort(6080),
            DestAttr::TunFlags(IP_VS_TUNNEL_ENCAP_FLAG_CSUM),
            DestAttr::UpperThreshold(100),
            DestAttr::LowerThreshold(0),
            DestAttr::ActiveConns(1),
            DestAttr::InactConns(2),
            DestAttr::PersistConns(0),
            DestAttr::AddressFamily(AF_INET),
            DestAttr::Stats(stats_values(7)),
            DestAttr::Stats64(stats_values(7)),
        ][..]
    );
    assert_eq!(encode_message(&msgs[0]).unwrap(), buf);
}

#[test]
fn daemon_dump_reply() {
    let mut master = Vec::new();
    master.extend(nla(IPVS_DAEMON_ATTR_STATE, &IP_VS_STATE_MASTER.to_le_bytes()));
    master.extend(nla(IPVS_DAEMON_ATTR_MCAST_IFN, b"eth0\0"));
    master.extend(nla(IPVS_DAEMON_ATTR_SYNC_ID, &1u32.to_le_bytes()));
    master.extend(nla(IPVS_DAEMON_ATTR_SYNC_MAXLEN, &1472u16.to_le_bytes()));
    master.extend(nla(IPVS_DAEMON_ATTR_MCAST_PORT, &8848u16.to_le_bytes()));
    master.extend(nla(IPVS_DAEMON_ATTR_MCAST_TTL, &[1]));
    master.extend(nla(IPVS_DAEMON_ATTR_MCAST_GROUP, &[224, 0, 0, 81]));
    let mut backup = Vec::new();
    backup.extend(nla(IPVS_DAEMON_ATTR_STATE, &IP_VS_STATE_BACKUP.to_le_bytes()));
    backup.extend(nla(IPVS_DAEMON_ATTR_MCAST_IFN, b"v\xe9th1\0")); // not UTF-8: Linux allows it
    backup.extend(nla(IPVS_DAEMON_ATTR_SYNC_ID, &2u32.to_le_bytes()));
    backup.extend(nla(IPVS_DAEMON_ATTR_SYNC_MAXLEN, &0u16.to_le_bytes()));
    backup.extend(nla(IPVS_DAEMON_ATTR_MCAST_PORT, &8848u16.to_le_bytes()));
    backup.extend(nla(IPVS_DAEMON_ATTR_MCAST_TTL, &[1]));
    let group6: Ipv6Addr = "ff02::12".parse().unwrap();
    backup.extend(nla(IPVS_DAEMON_ATTR_MCAST_GROUP6, &group6.octets()));

    let mut buf =
        nlmsg(FAMILY, NLM_F_MULTI, 5, &genl(IPVS_CMD_NEW_DAEMON, &[nla(IPVS_CMD_ATTR_DAEMON, &master)]));
    buf.extend(nlmsg(
        FAMILY,
        NLM_F_MULTI,
        5,
        &genl(IPVS_CMD_NEW_DAEMON, &[nla(IPVS_CMD_ATTR_DAEMON, &backup)]),
    ));
    buf.extend(nlmsg(3, NLM_F_MULTI, 5, &0i32.to_le_bytes()));

    let msgs = parse_reply(&buf).unwrap();
    assert_eq!(msgs.len(), 3);
    assert_eq!(
        inner(&msgs[0]).daemon().unwrap(),
        &[
            DaemonAttr::State(IP_VS_STATE_MASTER),
            DaemonAttr::McastIfn(b"eth0".to_vec()),
            DaemonAttr::SyncId(1),
            DaemonAttr::SyncMaxlen(1472),
            DaemonAttr::McastPort(8848),
            DaemonAttr::McastTtl(1),
            DaemonAttr::McastGroup(Ipv4Addr::new(224, 0, 0, 81)),
        ][..]
    );
    assert_eq!(inner(&msgs[1]).daemon().unwrap()[1], DaemonAttr::McastIfn(b"v\xe9th1".to_vec()));
    assert_eq!(inner(&msgs[1]).daemon().unwrap()[6], DaemonAttr::McastGroup6(group6));
    reencodes(&buf);
}

#[test]
fn get_info_reply_uses_info_attributes() {
    // GET_INFO answers with cmd SET_INFO and IPVS_INFO_ATTR_* numbered 1, 2.
    let payload = genl(
        IPVS_CMD_SET_INFO,
        &[
            nla(IPVS_INFO_ATTR_VERSION, &0x0001_0201u32.to_le_bytes()),
            nla(IPVS_INFO_ATTR_CONN_TAB_SIZE, &4096u32.to_le_bytes()),
        ],
    );
    let buf = nlmsg(FAMILY, 0, 6, &payload);
    let msgs = parse_reply(&buf).unwrap();
    assert_eq!(
        inner(&msgs[0]),
        &IpvsMessage::new(
            IpvsCmd::SetInfo,
            vec![IpvsAttr::InfoVersion(0x0001_0201), IpvsAttr::InfoConnTabSize(4096)]
        )
    );
    assert_eq!(encode_message(&msgs[0]).unwrap(), buf);
}

#[test]
fn get_config_reply() {
    let payload = genl(
        IPVS_CMD_SET_CONFIG,
        &[
            nla(IPVS_CMD_ATTR_TIMEOUT_TCP, &900u32.to_le_bytes()),
            nla(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, &120u32.to_le_bytes()),
            nla(IPVS_CMD_ATTR_TIMEOUT_UDP, &300u32.to_le_bytes()),
        ],
    );
    let buf = nlmsg(FAMILY, 0, 7, &payload);
    let msgs = parse_reply(&buf).unwrap();
    assert_eq!(
        inner(&msgs[0]),
        &IpvsMessage::new(
            IpvsCmd::SetConfig,
            vec![IpvsAttr::TimeoutTcp(900), IpvsAttr::TimeoutTcpFin(120), IpvsAttr::TimeoutUdp(300)]
        )
    );
    assert_eq!(encode_message(&msgs[0]).unwrap(), buf);
}

/// The header of [`NEW_SERVICE_REQUEST`], as an ACK or error echoes it.
fn new_service_request_header() -> MessageHeader {
    header(104, FAMILY, NLM_F_REQUEST | NLM_F_ACK, 1)
}

/// `netlink_ack(skb, nlh, 0, NULL)`: NLMSG_ERROR with NLM_F_CAPPED, code 0 and
/// only the request's header.
#[rustfmt::skip]
const ACK: [u8; 36] = [
    0x24, 0x00, 0x00, 0x00,     // nlmsg_len = 16 + 4 + 16
    0x02, 0x00,                 // NLMSG_ERROR
    0x00, 0x01,                 // NLM_F_CAPPED
    0x01, 0x00, 0x00, 0x00,     // nlmsg_seq = 1 (the request's)
    0x39, 0x30, 0x00, 0x00,     // nlmsg_pid = 12345
    0x00, 0x00, 0x00, 0x00,     // error = 0: an acknowledgement
    0x68, 0x00, 0x00, 0x00,     // the request's header: nlmsg_len = 104
    0x24, 0x00, 0x05, 0x00,     //   type = family, flags = NLM_F_REQUEST | NLM_F_ACK
    0x01, 0x00, 0x00, 0x00,     //   seq = 1
    0x39, 0x30, 0x00, 0x00,     //   pid = 12345
];

#[test]
fn ack() {
    let expected = Message {
        header: header(36, NLMSG_ERROR, NLM_F_CAPPED, 1),
        body: MessageBody::ack(new_service_request_header()),
    };
    assert_eq!(parse_reply(&ACK).unwrap(), vec![expected.clone()]);
    assert!(matches!(expected.body, MessageBody::Error { code: 0, request: Some(_), message: None, .. }));
    assert_eq!(encode_message(&expected).unwrap(), ACK);
}

/// An error with extended-ack text, as `netlink_ack` writes it for a socket
/// with NETLINK_EXT_ACK and NETLINK_CAP_ACK: NLM_F_CAPPED | NLM_F_ACK_TLVS,
/// errno, the request's header, then NLMSGERR_ATTR_MSG.
#[rustfmt::skip]
const ERROR_WITH_TEXT: [u8; 60] = [
    0x3c, 0x00, 0x00, 0x00,     // nlmsg_len = 16 + 4 + 16 + 24
    0x02, 0x00,                 // NLMSG_ERROR
    0x00, 0x03,                 // NLM_F_CAPPED | NLM_F_ACK_TLVS
    0x01, 0x00, 0x00, 0x00,
    0x39, 0x30, 0x00, 0x00,
    0xea, 0xff, 0xff, 0xff,     // error = -22 (-EINVAL)
    0x68, 0x00, 0x00, 0x00, 0x24, 0x00, 0x05, 0x00,   // the request's header
    0x01, 0x00, 0x00, 0x00, 0x39, 0x30, 0x00, 0x00,
    0x15, 0x00, 0x01, 0x00,     // NLMSGERR_ATTR_MSG, nla_len = 4 + 17
    b'A', b't', b't', b'r', b'i', b'b', b'u', b't', b'e', b' ', b'f', b'a', b'i', b'l', b'e', b'd',
    0x00,                       // NUL
    0x00, 0x00, 0x00,           // padding
];

#[test]
fn error_with_extended_ack_text() {
    let expected = Message {
        header: header(60, NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS, 1),
        body: MessageBody::error(-22, new_service_request_header(), Some("Attribute failed".into())),
    };
    assert_eq!(parse_reply(&ERROR_WITH_TEXT).unwrap(), vec![expected.clone()]);
    assert_eq!(encode_message(&expected).unwrap(), ERROR_WITH_TEXT);
    // The encoder adds the flags the form needs.
    let bare = Message { header: header(0, NLMSG_ERROR, 0, 1), ..expected };
    assert_eq!(encode_message(&bare).unwrap(), ERROR_WITH_TEXT);

    // Without NLM_F_ACK_TLVS the bytes after the header are not looked at.
    let mut no_tlvs = ERROR_WITH_TEXT;
    no_tlvs[7] = 0x01;
    let MessageBody::Error { code: -22, request: Some(_), message: None, .. } =
        parse_reply(&no_tlvs).unwrap()[0].body
    else {
        panic!()
    };
}

#[test]
fn error_echoing_the_whole_request() {
    // Without NETLINK_CAP_ACK an error copies the whole request back (no
    // NLM_F_CAPPED); the text comes after it.
    let mut payload = (-17i32).to_le_bytes().to_vec();
    payload.extend_from_slice(&NEW_SERVICE_REQUEST);
    let plain = nlmsg(NLMSG_ERROR, 0, 1, &payload);
    payload.extend(nla(NLMSGERR_ATTR_MSG, b"exists\0"));
    let with_text = nlmsg(NLMSG_ERROR, NLM_F_ACK_TLVS, 1, &payload);
    let msgs = parse_reply(&[plain.clone(), with_text].concat()).unwrap();
    assert_eq!(msgs[0].body, MessageBody::error(-17, new_service_request_header(), None));
    assert_eq!(msgs[1].body, MessageBody::error(-17, new_service_request_header(), Some("exists".into())));
    let frame = Frames::new(&plain).next().unwrap().unwrap();
    assert_eq!(&frame.payload()[4..], NEW_SERVICE_REQUEST, "the whole request is in the frame");
    // Re-encoding gives the capped form: code and header only.
    assert_eq!(encode_message(&msgs[0]).unwrap(), nlmsg(NLMSG_ERROR, NLM_F_CAPPED, 1, &plain[16..36]));
}

/// `netlink_dump_done`: NLMSG_DONE with NLM_F_MULTI and the dump's status.
#[rustfmt::skip]
const DONE: [u8; 20] = [
    0x14, 0x00, 0x00, 0x00,     // nlmsg_len = 16 + 4
    0x03, 0x00,                 // NLMSG_DONE
    0x02, 0x00,                 // NLM_F_MULTI
    0x02, 0x00, 0x00, 0x00,     // the dump request's seq
    0x39, 0x30, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00,     // status 0
];

#[test]
fn done() {
    let expected = Message { header: header(20, NLMSG_DONE, NLM_F_MULTI, 2), body: MessageBody::done(0) };
    assert_eq!(parse_reply(&DONE).unwrap(), vec![expected.clone()]);
    assert_eq!(encode_message(&expected).unwrap(), DONE);
    // Linux allows an NLMSG_DONE without payload: status 0.
    let empty = nlmsg(NLMSG_DONE, NLM_F_MULTI, 2, &[]);
    assert_eq!(parse_reply(&empty).unwrap()[0].body, MessageBody::done(0));
    // A status with extended-ack text after it (netlink_dump_done with an extack message).
    let mut payload = (-22i32).to_le_bytes().to_vec();
    payload.extend(nla(NLMSGERR_ATTR_MSG, b"bad dump\0"));
    let with_text = nlmsg(NLMSG_DONE, NLM_F_MULTI | NLM_F_ACK_TLVS, 2, &payload);
    let msg = &parse_reply(&with_text).unwrap()[0];
    let MessageBody::Done { code: -22, message: Some(text), .. } = &msg.body else { panic!("{msg:?}") };
    assert_eq!(text, "bad dump");
    assert_eq!(encode_message(msg).unwrap(), with_text);
}

#[test]
fn unknown_attributes_survive_a_whole_message() {
    // A newer kernel's reply: an unknown top-level attribute (7) and an
    // unknown one inside the service nest (13), re-emitted byte for byte.
    let svc = [nla(IPVS_SVC_ATTR_AF, &AF_INET.to_le_bytes()), nla(13, &[9, 8, 7, 6, 5])].concat();
    let buf =
        nlmsg(FAMILY, 0, 3, &genl(IPVS_CMD_NEW_SERVICE, &[nla(IPVS_CMD_ATTR_SERVICE, &svc), nla(7, &[1])]));
    let msgs = parse_reply(&buf).unwrap();
    assert_eq!(
        inner(&msgs[0]).nlas,
        [
            IpvsAttr::Service(vec![
                ServiceAttr::AddressFamily(AF_INET),
                ServiceAttr::Other(UnknownAttr::new(13, vec![9, 8, 7, 6, 5])),
            ]),
            IpvsAttr::Other(UnknownAttr::new(7, vec![1])),
        ]
    );
    assert_eq!(encode_message(&msgs[0]).unwrap(), buf);
}

#[test]
fn decode_error_in_one_message_does_not_stop_the_iterator() {
    let mut buf = nlmsg(
        FAMILY,
        0,
        8,
        // DEST nest whose PORT has 1 byte.
        &genl(IPVS_CMD_NEW_DEST, &[nla(IPVS_CMD_ATTR_DEST, &nla(IPVS_DEST_ATTR_PORT, &[0x50]))]),
    );
    buf.extend(nlmsg(3, NLM_F_MULTI, 8, &0i32.to_le_bytes()));
    let results: Vec<_> = parse_messages(&buf).collect();
    assert_eq!(results.len(), 2);
    let err = results[0].as_ref().unwrap_err();
    let text = err.to_string();
    assert!(text.contains("offset 0"), "{text}");
    assert!(text.contains("seq 8"), "{text}");
    assert!(
        text.contains("IPVS_CMD_ATTR_DEST caused by IPVS_DEST_ATTR_PORT: expected 2 bytes, got 1"),
        "{text}"
    );
    assert!(matches!(err, CodecError::Decode { offset: 0, message_type: FAMILY, sequence: 8, .. }));
    assert!(results[1].is_ok());
    assert!(parse_reply(&buf).is_err());
}

#[test]
fn truncated_buffers_never_panic() {
    let buf = service_dump();
    for len in 0..buf.len() {
        let cut = &buf[..len];
        let result = parse_reply(cut);
        // The message boundaries are the only lengths that parse cleanly.
        let boundaries = Frames::new(&buf).map(|f| f.unwrap()).map(|f| f.offset).collect::<Vec<_>>();
        if boundaries.contains(&len) {
            assert!(result.is_ok(), "cut at {len}: {result:?}");
        } else {
            assert!(result.is_err(), "cut at {len} must fail");
        }
        let _ = parse_messages(cut).count();
    }
}

#[test]
fn framing_errors() {
    assert!(matches!(
        parse_reply(&[1, 2, 3]).unwrap_err(),
        CodecError::Truncated { offset: 0, needed: 16, available: 3 }
    ));
    let mut bad = nlmsg(FAMILY, 0, 1, &[1, 1, 0, 0]);
    bad[0] = 8; // nlmsg_len below the header
    assert!(matches!(parse_reply(&bad).unwrap_err(), CodecError::BadLength { offset: 0, length: 8 }));
    let mut long = nlmsg(FAMILY, 0, 1, &[1, 1, 0, 0]);
    long[0] = 200;
    assert!(matches!(
        parse_reply(&long).unwrap_err(),
        CodecError::Truncated { offset: 0, needed: 200, available: 20 }
    ));
    assert!(parse_reply(&[]).unwrap().is_empty());
}

#[test]
fn dump_done_with_error_code() {
    // A dump that failed midway ends with NLMSG_DONE carrying -errno.
    let buf = nlmsg(3, NLM_F_MULTI, 9, &(-90i32).to_le_bytes());
    let msgs = parse_reply(&buf).unwrap();
    assert_eq!(msgs[0].body, MessageBody::done(-90));
    assert_eq!(encode_message(&msgs[0]).unwrap(), buf);
}

// ---------------------------------------------------------------------------
// Family resolution
// ---------------------------------------------------------------------------

#[test]
fn get_family_request_bytes() {
    let bytes = encode_get_family_request(1, PID, NLM_F_ACK);
    #[rustfmt::skip]
    assert_eq!(bytes, [
        0x20, 0x00, 0x00, 0x00, // nlmsg_len = 16 + 4 + 12
        0x10, 0x00,             // GENL_ID_CTRL
        0x05, 0x00,             // NLM_F_REQUEST | NLM_F_ACK
        0x01, 0x00, 0x00, 0x00, 0x39, 0x30, 0x00, 0x00,
        0x03, 0x02, 0x00, 0x00, // CTRL_CMD_GETFAMILY, ctrl version 2
        0x09, 0x00, 0x02, 0x00, // CTRL_ATTR_FAMILY_NAME, 4 + 5
        b'I', b'P', b'V', b'S', 0x00, 0x00, 0x00, 0x00,
    ]);
    assert_eq!(bytes[6] as u16 & NLM_F_REQUEST, NLM_F_REQUEST);
}

#[test]
fn get_family_reply() {
    // ctrl_fill_info order: FAMILY_NAME, FAMILY_ID, VERSION, HDRSIZE,
    // MAXATTR, OPS. Attribute 99 stands for one a newer kernel might add.
    let mut ops = Vec::new();
    ops.extend(nla(1, &[nla(1, &1u32.to_le_bytes()), nla(2, &0x0bu32.to_le_bytes())].concat()));
    let payload = [
        vec![1u8, 2, 0, 0], // CTRL_CMD_NEWFAMILY, version 2
        nla(2, b"IPVS\0"),
        nla(1, &FAMILY.to_le_bytes()),
        nla(3, &1u32.to_le_bytes()),
        nla(4, &0u32.to_le_bytes()),
        nla(5, &6u32.to_le_bytes()),
        nla(6, &ops),
        nla(99, &[1, 2, 3]),
    ]
    .concat();
    let buf = [nlmsg(0x10, 0, 1, &payload), {
        let mut ack = 0i32.to_le_bytes().to_vec();
        ack.extend_from_slice(&[0; 16]);
        nlmsg(2, NLM_F_CAPPED, 1, &ack)
    }]
    .concat();
    let frames: Vec<_> = Frames::new(&buf).collect::<Result<_, _>>().unwrap();
    match decode_family_reply(&frames[0]).unwrap() {
        FamilyReply::Family(info) => {
            assert_eq!(info.id, FAMILY);
            assert_eq!(info.name, "IPVS");
            assert_eq!(info.version, 1);
            assert_eq!(info.hdrsize, 0);
            assert_eq!(info.maxattr, 6);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(decode_family_reply(&frames[1]).unwrap(), FamilyReply::Error { code: 0, .. }));

    // No such family: -ENOENT.
    let mut enoent = (-2i32).to_le_bytes().to_vec();
    enoent.extend_from_slice(&encode_get_family_request(1, PID, 0));
    let nack = nlmsg(2, 0, 1, &enoent);
    let frame = Frames::new(&nack).next().unwrap().unwrap();
    assert!(matches!(
        decode_family_reply(&frame).unwrap(),
        FamilyReply::Error { code: -2, message: None, .. }
    ));
    assert!(
        matches!(decode_family_reply(&frame).unwrap(), FamilyReply::Error { code, .. } if code == -libc::ENOENT)
    );
}

// ---------------------------------------------------------------------------
// Real kernel bytes
// ---------------------------------------------------------------------------

/// Every buffer of the captures in `tests/fixtures/kernel/` (see
/// `golden_kernel.rs`, which checks their meaning through `convert`), as
/// (file, sent?, bytes).
fn kernel_captures() -> Vec<(String, bool, Vec<u8>)> {
    let dir = format!("{}/tests/fixtures/kernel", env!("CARGO_MANIFEST_DIR"));
    let mut paths: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    let mut out = Vec::new();
    for path in paths.iter().filter(|p| p.extension().is_some_and(|e| e == "hex")) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut current: Option<(bool, Vec<u8>)> = None;
        for line in std::fs::read_to_string(path).unwrap().lines() {
            let sent = match line.chars().next() {
                Some('>') => true,
                Some('<') => false,
                _ => {
                    if line.starts_with("# sent ") || line.starts_with("# received ") {
                        out.extend(current.take().map(|(s, b)| (name.clone(), s, b)));
                    }
                    continue;
                }
            };
            let rec = current.get_or_insert_with(|| (sent, Vec::new()));
            rec.1.extend(line[1..].split_whitespace().map(|h| u8::from_str_radix(h, 16).unwrap()));
        }
        out.extend(current.map(|(s, b)| (name.clone(), s, b)));
    }
    out
}

#[test]
fn every_kernel_capture_decodes_and_re_encodes_byte_for_byte() {
    let captures = kernel_captures();
    assert!(captures.len() > 60, "{} buffers", captures.len());
    let (mut ipvs, mut acks, mut errors, mut dones) = (0, 0, 0, 0);
    for (name, sent, bytes) in &captures {
        for frame in Frames::new(bytes) {
            let frame = frame.unwrap();
            let msg = frame.decode().unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(msg.header, frame.header);
            match &msg.body {
                MessageBody::Ipvs(_) => ipvs += 1,
                MessageBody::Error { code: 0, request: Some(_), message: None, .. } => acks += 1,
                MessageBody::Error { code, request: Some(_), message: None, .. } if *code < 0 => errors += 1,
                MessageBody::Done { code: 0, message: None, .. } => dones += 1,
                other => panic!("{name}: unexpected {other:?}"),
            }
            assert_eq!(*sent, frame.header.flags & NLM_F_REQUEST != 0, "{name}");
            assert_eq!(encode_message(&msg).unwrap(), frame.bytes, "{name}: emit(parse(bytes)) for {msg:?}");
        }
    }
    assert!(ipvs > 0 && acks > 0 && errors > 0 && dones > 0, "{ipvs} {acks} {errors} {dones}");
}
