//! Whole netlink messages: requests as libipvs sends them, kernel replies
//! (dumps, GET_INFO, GET_CONFIG, ACKs, errors), buffers holding several
//! messages, family resolution, and truncated input.
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
    build_request, encode_request, encode_request_into, parse_messages, parse_reply, CodecError, DaemonAttr,
    DestAttr, Frames, IpvsAttr, IpvsCmd, IpvsMessage, IpvsNetlinkMessage, RawNetmask, RequestHeader,
    ServiceAttr, StatsAttr,
};
use netlink_packet_core::{
    NetlinkPayload, NLM_F_ACK, NLM_F_CAPPED, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_MULTIPART, NLM_F_REQUEST,
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

fn inner(msg: &IpvsNetlinkMessage) -> &IpvsMessage {
    match &msg.payload {
        NetlinkPayload::InnerMessage(genl) => &genl.payload,
        other => panic!("expected an IPVS message, got {other:?}"),
    }
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

    // The typed path through netlink-packet-generic gives the same bytes.
    let typed = build_request(msg.clone(), req_header(1, NLM_F_ACK)).unwrap();
    let mut buf = vec![0; typed.buffer_len()];
    typed.serialize(&mut buf);
    assert_eq!(buf, NEW_SERVICE_REQUEST);

    // And the bytes parse back to the same message.
    let parsed = parse_reply(&NEW_SERVICE_REQUEST).unwrap();
    assert_eq!(parsed, vec![typed]);
    assert_eq!(inner(&parsed[0]), &msg);
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
    assert_eq!(frames[1].header.sequence_number, 2);
}

#[test]
fn encode_rejects_bad_family_id_and_oversized_attributes() {
    let flush = IpvsMessage::new(IpvsCmd::Flush, vec![]);
    let err = encode_request(&flush, RequestHeader::default()).unwrap_err();
    assert!(matches!(err, CodecError::InvalidFamilyId(0)), "{err}");
    assert!(build_request(flush, RequestHeader { family_id: 3, ..Default::default() }).is_err());

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
    let mut buf = nlmsg(FAMILY, NLM_F_MULTIPART, 2, &genl(IPVS_CMD_NEW_SERVICE, &[svc1]));
    buf.extend(nlmsg(FAMILY, NLM_F_MULTIPART, 2, &genl(IPVS_CMD_NEW_SERVICE, &[svc2])));
    buf.extend(nlmsg(3, NLM_F_MULTIPART, 2, &0i32.to_le_bytes())); // NLMSG_DONE
    buf
}

#[test]
fn service_dump_reply() {
    let buf = service_dump();
    let msgs = parse_reply(&buf).unwrap();
    assert_eq!(msgs.len(), 3);
    for m in &msgs {
        assert_eq!(m.header.sequence_number, 2);
        assert_eq!(m.header.port_number, PID);
        assert!(m.header.flags & NLM_F_MULTIPART != 0);
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

    match &msgs[2].payload {
        NetlinkPayload::Done(done) => assert_eq!(done.code, 0),
        other => panic!("expected NLMSG_DONE, got {other:?}"),
    }

    // The emitter reproduces each kernel message byte for byte.
    let frames: Vec<_> = Frames::new(&buf).collect::<Result<_, _>>().unwrap();
    for (frame, msg) in frames.iter().zip(&msgs).take(2) {
        let mut out = vec![0; msg.buffer_len()];
        msg.serialize(&mut out);
        assert_eq!(out, frame.bytes);
    }
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
    let buf = nlmsg(FAMILY, NLM_F_MULTIPART, 4, &genl(IPVS_CMD_NEW_DEST, &[nla(IPVS_CMD_ATTR_DEST, &attrs)]));

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
    let mut out = vec![0; msgs[0].buffer_len()];
    msgs[0].serialize(&mut out);
    assert_eq!(out, buf);
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
    backup.extend(nla(IPVS_DAEMON_ATTR_MCAST_IFN, b"eth1\0"));
    backup.extend(nla(IPVS_DAEMON_ATTR_SYNC_ID, &2u32.to_le_bytes()));
    backup.extend(nla(IPVS_DAEMON_ATTR_SYNC_MAXLEN, &0u16.to_le_bytes()));
    backup.extend(nla(IPVS_DAEMON_ATTR_MCAST_PORT, &8848u16.to_le_bytes()));
    backup.extend(nla(IPVS_DAEMON_ATTR_MCAST_TTL, &[1]));
    let group6: Ipv6Addr = "ff02::12".parse().unwrap();
    backup.extend(nla(IPVS_DAEMON_ATTR_MCAST_GROUP6, &group6.octets()));

    let mut buf =
        nlmsg(FAMILY, NLM_F_MULTIPART, 5, &genl(IPVS_CMD_NEW_DAEMON, &[nla(IPVS_CMD_ATTR_DAEMON, &master)]));
    buf.extend(nlmsg(
        FAMILY,
        NLM_F_MULTIPART,
        5,
        &genl(IPVS_CMD_NEW_DAEMON, &[nla(IPVS_CMD_ATTR_DAEMON, &backup)]),
    ));
    buf.extend(nlmsg(3, NLM_F_MULTIPART, 5, &0i32.to_le_bytes()));

    let msgs = parse_reply(&buf).unwrap();
    assert_eq!(msgs.len(), 3);
    assert_eq!(
        inner(&msgs[0]).daemon().unwrap(),
        &[
            DaemonAttr::State(IP_VS_STATE_MASTER),
            DaemonAttr::McastIfn("eth0".into()),
            DaemonAttr::SyncId(1),
            DaemonAttr::SyncMaxlen(1472),
            DaemonAttr::McastPort(8848),
            DaemonAttr::McastTtl(1),
            DaemonAttr::McastGroup(Ipv4Addr::new(224, 0, 0, 81)),
        ][..]
    );
    assert_eq!(inner(&msgs[1]).daemon().unwrap()[6], DaemonAttr::McastGroup6(group6));
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
    let mut out = vec![0; msgs[0].buffer_len()];
    msgs[0].serialize(&mut out);
    assert_eq!(out, buf);
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
    let msgs = parse_reply(&nlmsg(FAMILY, 0, 7, &payload)).unwrap();
    assert_eq!(
        inner(&msgs[0]),
        &IpvsMessage::new(
            IpvsCmd::SetConfig,
            vec![IpvsAttr::TimeoutTcp(900), IpvsAttr::TimeoutTcpFin(120), IpvsAttr::TimeoutUdp(300)]
        )
    );
}

#[test]
fn ack_and_error() {
    // ACK (netlink_ack with err = 0): NLM_F_CAPPED, errno 0, the request's header.
    let mut ack_payload = 0i32.to_le_bytes().to_vec();
    ack_payload.extend_from_slice(&NEW_SERVICE_REQUEST[..16]);
    let mut buf = nlmsg(2, NLM_F_CAPPED, 1, &ack_payload);
    // Error: errno -EEXIST and the whole request copied back.
    let mut err_payload = (-17i32).to_le_bytes().to_vec();
    err_payload.extend_from_slice(&NEW_SERVICE_REQUEST);
    buf.extend(nlmsg(2, 0, 1, &err_payload));

    let msgs = parse_reply(&buf).unwrap();
    match &msgs[0].payload {
        NetlinkPayload::Error(e) => {
            assert_eq!(e.code, None, "an ACK has no error code");
            assert_eq!(e.header, &NEW_SERVICE_REQUEST[..16]);
        }
        other => panic!("expected an ACK, got {other:?}"),
    }
    match &msgs[1].payload {
        NetlinkPayload::Error(e) => {
            assert_eq!(e.raw_code(), -17);
            assert_eq!(e.to_io().raw_os_error(), Some(17));
            assert_eq!(e.header, NEW_SERVICE_REQUEST);
        }
        other => panic!("expected an error, got {other:?}"),
    }
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
    buf.extend(nlmsg(3, NLM_F_MULTIPART, 8, &0i32.to_le_bytes()));
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
    let buf = nlmsg(3, NLM_F_MULTIPART, 9, &(-90i32).to_le_bytes());
    match &parse_reply(&buf).unwrap()[0].payload {
        NetlinkPayload::Done(done) => assert_eq!(done.code, -90),
        other => panic!("{other:?}"),
    }
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
    assert!(matches!(decode_family_reply(&frames[1]).unwrap(), FamilyReply::Error(e) if e.code.is_none()));

    // No such family: -ENOENT.
    let mut enoent = (-2i32).to_le_bytes().to_vec();
    enoent.extend_from_slice(&encode_get_family_request(1, PID, 0));
    let nack = nlmsg(2, 0, 1, &enoent);
    let frame = Frames::new(&nack).next().unwrap().unwrap();
    assert!(matches!(decode_family_reply(&frame).unwrap(), FamilyReply::Error(e) if e.raw_code() == -2));
}
