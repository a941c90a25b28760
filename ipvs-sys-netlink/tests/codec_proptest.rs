//! Property tests: no input panics the decoders, and every value survives
//! emit → parse.
#![allow(clippy::unwrap_used)]

use std::net::{Ipv4Addr, Ipv6Addr};

use ipvs_sys_netlink::codec::consts::{NLMSG_ERROR, NLM_F_REQUEST};
use ipvs_sys_netlink::codec::ctrl::decode_family_reply;
use ipvs_sys_netlink::codec::{
    encode_message, encode_request, parse_attrs, parse_daemon_attrs, parse_dest_attrs, parse_messages,
    parse_reply, parse_service_attrs, parse_stats_attrs, DaemonAttr, DestAttr, Frames, InetAddr, IpvsAttr,
    IpvsCmd, IpvsMessage, Message, MessageBody, MessageHeader, RawNetmask, RequestHeader, ServiceAttr,
    StatsAttr, StatsLayout, UnknownAttr,
};
// The attribute types implement netlink-packet-core's traits (plumbing).
use netlink_packet_core::{Emitable, NlaBuffer, Parseable, ParseableParametrized};
use proptest::prelude::*;

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

fn name() -> impl Strategy<Value = String> {
    "[a-z0-9_.-]{0,15}"
}

fn inet_addr() -> impl Strategy<Value = InetAddr> {
    prop::collection::vec(any::<u8>(), 0..=16).prop_map(|b| InetAddr::from_bytes(&b).unwrap())
}

/// An attribute number no parser knows (0 = UNSPEC, or far above the
/// kernel's), possibly with the NESTED / NET_BYTEORDER flag bits (both only
/// in whole messages: netlink-packet-core's single-attribute `Emitable`
/// keeps just NESTED then).
fn other_nla_with(flags: &'static [u16]) -> impl Strategy<Value = UnknownAttr> {
    (
        prop_oneof![Just(0u16), 100u16..0x3fff],
        prop::sample::select(flags),
        prop::collection::vec(any::<u8>(), 0..24),
    )
        .prop_map(|(kind, flags, value)| UnknownAttr::new(kind | flags, value))
}

fn other_nla() -> impl Strategy<Value = UnknownAttr> {
    other_nla_with(&[0, 0x4000, 0x8000])
}

/// An interface name as Linux allows it: any bytes but NUL (the kernel
/// refuses '/', ':' and white space too, but the codec does not care).
fn ifname() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(1u8..=255, 0..=15)
}

fn stats(layout: StatsLayout) -> impl Strategy<Value = Vec<StatsAttr>> {
    let counter = match layout {
        StatsLayout::Stats32 => (0..=u64::from(u32::MAX)).boxed(),
        _ => any::<u64>().boxed(),
    };
    let attr = prop_oneof![
        counter.clone().prop_map(StatsAttr::Conns),
        counter.clone().prop_map(StatsAttr::InPkts),
        counter.clone().prop_map(StatsAttr::OutPkts),
        any::<u64>().prop_map(StatsAttr::InBytes),
        any::<u64>().prop_map(StatsAttr::OutBytes),
        counter.clone().prop_map(StatsAttr::Cps),
        counter.clone().prop_map(StatsAttr::InPps),
        counter.clone().prop_map(StatsAttr::OutPps),
        counter.clone().prop_map(StatsAttr::InBps),
        counter.prop_map(StatsAttr::OutBps),
        Just(StatsAttr::Pad),
        other_nla().prop_map(StatsAttr::Other),
    ];
    prop::collection::vec(attr, 0..12)
}

fn service_attr() -> impl Strategy<Value = ServiceAttr> {
    prop_oneof![
        any::<u16>().prop_map(ServiceAttr::AddressFamily),
        any::<u16>().prop_map(ServiceAttr::Protocol),
        inet_addr().prop_map(ServiceAttr::Address),
        any::<u16>().prop_map(ServiceAttr::Port),
        any::<u32>().prop_map(ServiceAttr::Fwmark),
        name().prop_map(ServiceAttr::SchedName),
        (any::<u32>(), any::<u32>()).prop_map(|(flags, mask)| ServiceAttr::Flags { flags, mask }),
        any::<u32>().prop_map(ServiceAttr::Timeout),
        any::<[u8; 4]>().prop_map(|b| ServiceAttr::Netmask(RawNetmask(b))),
        stats(StatsLayout::Stats32).prop_map(ServiceAttr::Stats),
        name().prop_map(ServiceAttr::PeName),
        stats(StatsLayout::Stats64).prop_map(ServiceAttr::Stats64),
        other_nla().prop_map(ServiceAttr::Other),
    ]
}

fn dest_attr() -> impl Strategy<Value = DestAttr> {
    prop_oneof![
        inet_addr().prop_map(DestAttr::Address),
        any::<u16>().prop_map(DestAttr::Port),
        any::<u32>().prop_map(DestAttr::FwdMethod),
        any::<i32>().prop_map(DestAttr::Weight),
        any::<u32>().prop_map(DestAttr::UpperThreshold),
        any::<u32>().prop_map(DestAttr::LowerThreshold),
        any::<u32>().prop_map(DestAttr::ActiveConns),
        any::<u32>().prop_map(DestAttr::InactConns),
        any::<u32>().prop_map(DestAttr::PersistConns),
        stats(StatsLayout::Stats32).prop_map(DestAttr::Stats),
        any::<u16>().prop_map(DestAttr::AddressFamily),
        stats(StatsLayout::Stats64).prop_map(DestAttr::Stats64),
        any::<u8>().prop_map(DestAttr::TunType),
        any::<u16>().prop_map(DestAttr::TunPort),
        any::<u16>().prop_map(DestAttr::TunFlags),
        other_nla().prop_map(DestAttr::Other),
    ]
}

fn daemon_attr() -> impl Strategy<Value = DaemonAttr> {
    prop_oneof![
        any::<u32>().prop_map(DaemonAttr::State),
        ifname().prop_map(DaemonAttr::McastIfn),
        any::<u32>().prop_map(DaemonAttr::SyncId),
        any::<u16>().prop_map(DaemonAttr::SyncMaxlen),
        any::<[u8; 4]>().prop_map(|b| DaemonAttr::McastGroup(Ipv4Addr::from(b))),
        any::<[u8; 16]>().prop_map(|b| DaemonAttr::McastGroup6(Ipv6Addr::from(b))),
        any::<u16>().prop_map(DaemonAttr::McastPort),
        any::<u8>().prop_map(DaemonAttr::McastTtl),
        other_nla().prop_map(DaemonAttr::Other),
    ]
}

fn cmd() -> impl Strategy<Value = IpvsCmd> {
    any::<u8>().prop_map(IpvsCmd::from)
}

/// A message whose attributes make sense for its command: INFO attributes
/// only in SET_INFO, nests and timeouts elsewhere.
fn message() -> impl Strategy<Value = IpvsMessage> {
    cmd().prop_flat_map(|cmd| {
        let attr = if cmd == IpvsCmd::SetInfo {
            prop_oneof![
                any::<u32>().prop_map(IpvsAttr::InfoVersion),
                any::<u32>().prop_map(IpvsAttr::InfoConnTabSize),
                other_nla().prop_map(IpvsAttr::Other),
            ]
            .boxed()
        } else {
            prop_oneof![
                prop::collection::vec(service_attr(), 0..8).prop_map(IpvsAttr::Service),
                prop::collection::vec(dest_attr(), 0..8).prop_map(IpvsAttr::Dest),
                prop::collection::vec(daemon_attr(), 0..8).prop_map(IpvsAttr::Daemon),
                any::<u32>().prop_map(IpvsAttr::TimeoutTcp),
                any::<u32>().prop_map(IpvsAttr::TimeoutTcpFin),
                any::<u32>().prop_map(IpvsAttr::TimeoutUdp),
                other_nla().prop_map(IpvsAttr::Other),
            ]
            .boxed()
        };
        prop::collection::vec(attr, 0..4).prop_map(move |nlas| IpvsMessage::new(cmd, nlas))
    })
}

fn emit<A: Emitable>(a: &A) -> Vec<u8> {
    let mut out = vec![0; a.buffer_len()];
    a.emit(&mut out);
    out
}

/// Wraps `body` in a netlink + genl header so that fuzzing reaches the
/// attribute parsers.
fn frame(message_type: u16, cmd: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&((20 + body.len()) as u32).to_ne_bytes());
    out.extend_from_slice(&message_type.to_ne_bytes());
    out.extend_from_slice(&[0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&[cmd, 1, 0, 0]);
    out.extend_from_slice(body);
    out
}

fn exercise_all_parsers(bytes: &[u8]) {
    let _ = parse_reply(bytes);
    let _ = parse_messages(bytes).count();
    for frame in Frames::new(bytes).flatten() {
        let _ = decode_family_reply(&frame);
        let _ = frame.decode_control();
        let _ = IpvsMessage::decode(frame.payload());
        // Whatever decodes, encodes, without panicking.
        if let Ok(msg) = frame.decode() {
            let _ = encode_message(&msg);
        }
    }
    for c in [IpvsCmd::NewService, IpvsCmd::SetInfo, IpvsCmd::from(0)] {
        let _ = parse_attrs(bytes, c);
    }
    let _ = parse_service_attrs(bytes);
    let _ = parse_dest_attrs(bytes);
    let _ = parse_daemon_attrs(bytes);
    let _ = parse_stats_attrs(bytes, StatsLayout::Stats32);
    let _ = parse_stats_attrs(bytes, StatsLayout::Stats64);
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        exercise_all_parsers(&bytes);
    }

    #[test]
    fn arbitrary_bodies_in_valid_frames_never_panic(
        message_type in prop_oneof![Just(1u16), Just(2), Just(3), Just(4), Just(0), Just(0x10), Just(0x24)],
        cmd in any::<u8>(),
        body in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        exercise_all_parsers(&frame(message_type, cmd, &body));
    }

    #[test]
    fn mutated_valid_messages_never_panic(
        msg in message(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let hdr = RequestHeader { family_id: 0x24, flags: 0, sequence: 1, port: 0 };
        let mut bytes = encode_request(&msg, hdr).unwrap();
        for (i, b) in flips {
            let i = i.index(bytes.len());
            bytes[i] ^= b;
        }
        exercise_all_parsers(&bytes);
        let len = cut.index(bytes.len() + 1);
        exercise_all_parsers(&bytes[..len]);
    }

    #[test]
    fn service_attr_round_trip(attr in service_attr()) {
        let bytes = emit(&attr);
        let parsed = ServiceAttr::parse(&NlaBuffer::new_checked(&bytes[..]).unwrap()).unwrap();
        prop_assert_eq!(parsed, attr);
    }

    #[test]
    fn dest_attr_round_trip(attr in dest_attr()) {
        let bytes = emit(&attr);
        let parsed = DestAttr::parse(&NlaBuffer::new_checked(&bytes[..]).unwrap()).unwrap();
        prop_assert_eq!(parsed, attr);
    }

    #[test]
    fn daemon_attr_round_trip(attr in daemon_attr()) {
        let bytes = emit(&attr);
        let parsed = DaemonAttr::parse(&NlaBuffer::new_checked(&bytes[..]).unwrap()).unwrap();
        prop_assert_eq!(parsed, attr);
    }

    #[test]
    fn stats_round_trip_both_layouts(s32 in stats(StatsLayout::Stats32), s64 in stats(StatsLayout::Stats64)) {
        let attr = ServiceAttr::Stats(s32.clone());
        let bytes = emit(&attr);
        let value = &bytes[4..];
        prop_assert_eq!(parse_stats_attrs(value, StatsLayout::Stats32).unwrap(), s32);
        let attr = DestAttr::Stats64(s64.clone());
        let bytes = emit(&attr);
        prop_assert_eq!(parse_stats_attrs(&bytes[4..], StatsLayout::Stats64).unwrap(), s64);
    }

    #[test]
    fn top_level_attr_round_trip(msg in message()) {
        for attr in &msg.nlas {
            let bytes = emit(attr);
            let parsed =
                IpvsAttr::parse_with_param(&NlaBuffer::new_checked(&bytes[..]).unwrap(), msg.cmd).unwrap();
            prop_assert_eq!(&parsed, attr);
        }
    }

    #[test]
    fn whole_message_round_trip(msg in message(), seq in any::<u32>(), flags in any::<u16>()) {
        let hdr = RequestHeader { family_id: 0x24, flags, sequence: seq, port: 7 };
        let bytes = encode_request(&msg, hdr).unwrap();
        let parsed = parse_reply(&bytes).unwrap();
        prop_assert_eq!(parsed.len(), 1);
        let header = MessageHeader {
            length: bytes.len() as u32,
            message_type: 0x24,
            flags: flags | NLM_F_REQUEST,
            sequence: seq,
            port: 7,
        };
        prop_assert_eq!(&parsed[0], &Message { header, body: MessageBody::Ipvs(msg) });
        // Re-emitting the parsed message gives the same bytes.
        prop_assert_eq!(encode_message(&parsed[0]).unwrap(), bytes);
    }

    #[test]
    fn unknown_attributes_with_any_flags_survive_whole_messages(
        attrs in prop::collection::vec(other_nla_with(&[0, 0x4000, 0x8000, 0xc000]), 0..6),
        nested in prop::collection::vec(other_nla_with(&[0, 0x4000, 0x8000, 0xc000]), 0..6),
    ) {
        let mut nlas: Vec<IpvsAttr> = attrs.into_iter().map(IpvsAttr::Other).collect();
        nlas.push(IpvsAttr::Service(nested.into_iter().map(ServiceAttr::Other).collect()));
        let msg = IpvsMessage::new(IpvsCmd::GetService, nlas);
        let hdr = RequestHeader { family_id: 0x24, flags: 0, sequence: 1, port: 0 };
        let bytes = encode_request(&msg, hdr).unwrap();
        let parsed = parse_reply(&bytes).unwrap();
        prop_assert_eq!(parsed[0].ipvs(), Some(&msg));
        prop_assert_eq!(encode_message(&parsed[0]).unwrap(), bytes);
    }

    #[test]
    fn control_messages_round_trip(
        code in any::<i32>(),
        request in (any::<u32>(), any::<u16>(), any::<u16>(), any::<u32>(), any::<u32>()),
        text in prop::option::of("[ -~]{0,40}"),
        seq in any::<u32>(),
        flags in any::<u16>(),
    ) {
        let (length, message_type, rflags, sequence, port) = request;
        let request = MessageHeader { length, message_type, flags: rflags, sequence, port };
        let header = MessageHeader { message_type: NLMSG_ERROR, flags, sequence: seq, ..Default::default() };
        for body in [
            MessageBody::error(code, request, text.clone()),
            MessageBody::ack(request),
            MessageBody::done(code),
        ] {
            let bytes = encode_message(&Message { header, body: body.clone() }).unwrap();
            let parsed = parse_reply(&bytes).unwrap();
            prop_assert_eq!(parsed.len(), 1);
            prop_assert_eq!(&parsed[0].body, &body);
            prop_assert_eq!(encode_message(&parsed[0]).unwrap(), bytes);
        }
    }
}
