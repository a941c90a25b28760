//! Golden bytes captured from the real kernel (Debian's 6.1.0-56-amd64, Linux 6.1.192) by
//! `examples/capture.rs` inside `scripts/ipvs-vm`; see the header of each file in
//! `tests/fixtures/kernel/`. Runs on the host: no kernel needed.
//!
//! Every frame of every fixture is checked both ways:
//! * requests we sent: `parse(bytes)` (the codec, then [`convert::operation_from_message`])
//!   gives the operation, and encoding the operation gives the bytes again;
//! * replies the kernel sent: `parse(bytes)` (the codec, then the `convert` decoders) gives the
//!   expected model value written below, and emitting that value the way the kernel does (the
//!   `convert::*_reply_*` builders, with the frame's header) gives the bytes again.
//!
//! The counters are all zero: the capture runs in a fresh namespace without traffic. The port
//! id, the family id and the order of the service dump (the kernel's hash order, which changes
//! between boots) are read from the fixture, so a new capture only changes the files.
#![cfg(target_endian = "little")]
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr};

use ipvs_core::{
    AddressFamily, Destination, DestinationStatus, ForwardMethod, Info, Netmask, Operation, PeName,
    Scheduler, Service, ServiceFlags, ServiceKey, ServiceStatus, SyncDaemon, SyncRole, Timeouts, Tunnel,
    TunnelFlags,
};
use ipvs_sys_netlink::codec::consts::{
    NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_CAPPED, NLM_F_DUMP, NLM_F_MULTI, NLM_F_REQUEST,
};
use ipvs_sys_netlink::codec::{
    encode_message, encode_request, Frame, Frames, IpvsAttr, IpvsCmd, IpvsMessage, Message, MessageBody,
    MessageHeader, RequestHeader,
};
use ipvs_sys_netlink::convert;

// ---------------------------------------------------------------------------------------------
// Fixture files
// ---------------------------------------------------------------------------------------------

struct Fixture {
    family_id: u16,
    port_id: u32,
    /// (sent?, bytes) in capture order.
    records: Vec<(bool, Vec<u8>)>,
}

fn load(name: &'static str) -> Fixture {
    let path = format!("{}/tests/fixtures/kernel/{name}.hex", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut fx = Fixture { family_id: 0, port_id: 0, records: Vec::new() };
    let mut current: Option<(bool, Vec<u8>)> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# family id ") {
            let mut it = rest.split_whitespace();
            fx.family_id = it.next().unwrap().parse().unwrap();
            assert_eq!(it.next(), Some("port"));
            assert_eq!(it.next(), Some("id"));
            fx.port_id = it.next().unwrap().parse().unwrap();
        }
        let sent = match line.chars().next() {
            Some('>') => true,
            Some('<') => false,
            _ => {
                if line.starts_with("# sent ") || line.starts_with("# received ") {
                    fx.records.extend(current.take());
                }
                continue;
            }
        };
        let bytes = line[1..].split_whitespace().map(|h| u8::from_str_radix(h, 16).unwrap());
        let rec = current.get_or_insert_with(|| (sent, Vec::new()));
        assert_eq!(rec.0, sent, "{name}: a record mixes sent and received lines");
        rec.1.extend(bytes);
    }
    fx.records.extend(current);
    assert!(fx.family_id >= 16 && fx.port_id != 0, "{name}: header without family and port id");
    fx
}

// ---------------------------------------------------------------------------------------------
// Emitting what the kernel emits
// ---------------------------------------------------------------------------------------------

fn serialize(header: MessageHeader, body: MessageBody) -> Vec<u8> {
    encode_message(&Message { header, body }).unwrap()
}

/// A reply message: the frame's header (flags, sequence, port) around `payload`.
fn emit_reply(frame: &Frame<'_>, family_id: u16, payload: IpvsMessage) -> Vec<u8> {
    serialize(MessageHeader { message_type: family_id, ..frame.header }, MessageBody::Ipvs(payload))
}

/// An NLMSG_ERROR in the capped form (NETLINK_CAP_ACK): code and the request's header.
fn emit_error(frame: &Frame<'_>, code: i32, request_header: &[u8]) -> Vec<u8> {
    let request = MessageHeader::from_bytes(request_header).unwrap();
    serialize(frame.header, MessageBody::error(code, request, None))
}

fn emit_done(frame: &Frame<'_>) -> Vec<u8> {
    serialize(frame.header, MessageBody::done(0))
}

fn payload(frame: &Frame<'_>) -> IpvsMessage {
    let msg = frame.decode().unwrap();
    msg.ipvs().cloned().unwrap_or_else(|| panic!("expected an IPVS message, got {msg:?}"))
}

// ---------------------------------------------------------------------------------------------
// Expectations, frame by frame
// ---------------------------------------------------------------------------------------------

enum Exp {
    /// A change we sent, with NLM_F_ACK.
    Op(Operation),
    /// A read we sent: the message and its flags (NLM_F_ACK for a GET, NLM_F_DUMP for a dump).
    Read(IpvsMessage, u16),
    /// NLMSG_ERROR answering the request with this sequence offset (0 = the fixture's first
    /// request): 0 is an ACK, otherwise -errno.
    Ack(i32),
    /// A GET_SERVICE reply (flags 0).
    Service(ServiceStatus),
    /// Service dump entries, in any order (the kernel's hash order).
    Services(Vec<ServiceStatus>),
    /// Destination dump entries, in order (newest first), of a service of this family.
    Dests(AddressFamily, Vec<DestinationStatus>),
    /// Daemon dump entries, in order (master first).
    Daemons(Vec<SyncDaemon>),
    Info(Info),
    Timeouts(Timeouts),
    /// NLMSG_DONE ending a dump.
    Done,
}

/// Checks every frame of a fixture against `exps`, in both directions.
fn check(name: &'static str, exps: Vec<Exp>) {
    let fx = load(name);
    let frames: Vec<(bool, Frame<'_>)> = fx
        .records
        .iter()
        .flat_map(|(sent, bytes)| Frames::new(bytes).map(move |f| (*sent, f.unwrap())))
        .collect();
    let mut it = frames.iter();
    // Request headers by sequence number, to check the header echoed in acknowledgements.
    let mut requests: Vec<(u32, Vec<u8>)> = Vec::new();
    let mut next = |what: &str, sent: bool| -> &Frame<'_> {
        let (s, f) = it.next().unwrap_or_else(|| panic!("{name}: missing frame for {what}"));
        assert_eq!(*s, sent, "{name}: {what}: wrong direction at offset {}", f.offset);
        f
    };
    for exp in exps {
        match exp {
            Exp::Op(op) => {
                let f = next("request", true);
                let h = f.header;
                assert_eq!((h.message_type, h.flags, h.port), (fx.family_id, NLM_F_REQUEST | NLM_F_ACK, 0));
                let msg = payload(f);
                assert_eq!(convert::operation_from_message(&msg).unwrap(), op, "{name}: parse(request)");
                let hdr = RequestHeader {
                    family_id: fx.family_id,
                    flags: NLM_F_ACK,
                    sequence: h.sequence,
                    port: 0,
                };
                let bytes = encode_request(&convert::operation_message(&op).unwrap(), hdr).unwrap();
                assert_eq!(bytes, f.bytes, "{name}: emit(request) for {op}");
                requests.push((h.sequence, f.bytes[..16].to_vec()));
            }
            Exp::Read(msg, flags) => {
                let f = next("read request", true);
                let h = f.header;
                assert_eq!((h.message_type, h.flags, h.port), (fx.family_id, NLM_F_REQUEST | flags, 0));
                assert_eq!(payload(f), msg, "{name}: parse(read request)");
                let hdr = RequestHeader { family_id: fx.family_id, flags, sequence: h.sequence, port: 0 };
                assert_eq!(encode_request(&msg, hdr).unwrap(), f.bytes, "{name}: emit(read request)");
                requests.push((h.sequence, f.bytes[..16].to_vec()));
            }
            Exp::Ack(code) => {
                let f = next("acknowledgement", false);
                let h = f.header;
                assert_eq!((h.message_type, h.port), (NLMSG_ERROR, fx.port_id), "{name}");
                // NETLINK_CAP_ACK: only the request's header is echoed, ACK or not.
                assert_eq!(h.flags, NLM_F_CAPPED, "{name}: ack flags");
                let req = requests
                    .iter()
                    .find(|(seq, _)| *seq == h.sequence)
                    .unwrap_or_else(|| panic!("{name}: ack for unknown sequence {}", h.sequence));
                let MessageBody::Error { code: got, request, .. } = f.decode().unwrap().body else {
                    panic!("{name}: not an error")
                };
                assert_eq!(got, code, "{name}: parse(ack) code");
                assert_eq!(
                    request,
                    MessageHeader::from_bytes(&req.1),
                    "{name}: the ack echoes the request header"
                );
                assert_eq!(f.payload().get(4..), Some(&req.1[..]), "{name}: and nothing else");
                assert_eq!(emit_error(f, code, &req.1), f.bytes, "{name}: emit(ack)");
            }
            Exp::Service(st) => {
                let f = next("service reply", false);
                assert_eq!(
                    (f.header.message_type, f.header.flags, f.header.port),
                    (fx.family_id, 0, fx.port_id)
                );
                let msg = payload(f);
                assert_eq!(msg.cmd, IpvsCmd::NewService);
                assert_eq!(convert::service_status_from_message(&msg).unwrap(), st, "{name}: parse(service)");
                let out = IpvsMessage::new(
                    IpvsCmd::NewService,
                    vec![IpvsAttr::Service(convert::service_reply_attrs(&st))],
                );
                assert_eq!(emit_reply(f, fx.family_id, out), f.bytes, "{name}: emit(service)");
            }
            Exp::Services(mut expected) => {
                while !expected.is_empty() {
                    let f = next("service dump entry", false);
                    assert_eq!((f.header.message_type, f.header.flags), (fx.family_id, NLM_F_MULTI));
                    let msg = payload(f);
                    let got = convert::service_status_from_message(&msg).unwrap();
                    let i = expected
                        .iter()
                        .position(|e| e.service.key == got.service.key)
                        .unwrap_or_else(|| panic!("{name}: unexpected service {:?}", got.service.key));
                    let st = expected.remove(i);
                    assert_eq!(got, st, "{name}: parse(service dump entry)");
                    let out = IpvsMessage::new(
                        IpvsCmd::NewService,
                        vec![IpvsAttr::Service(convert::service_reply_attrs(&st))],
                    );
                    assert_eq!(emit_reply(f, fx.family_id, out), f.bytes, "{name}: emit(service dump entry)");
                }
            }
            Exp::Dests(family, expected) => {
                for st in expected {
                    let f = next("destination dump entry", false);
                    assert_eq!((f.header.message_type, f.header.flags), (fx.family_id, NLM_F_MULTI));
                    let msg = payload(f);
                    assert_eq!(msg.cmd, IpvsCmd::NewDest);
                    assert_eq!(
                        convert::dest_status_from_message(&msg, family).unwrap(),
                        st,
                        "{name}: parse(dest)"
                    );
                    let out = IpvsMessage::new(
                        IpvsCmd::NewDest,
                        vec![IpvsAttr::Dest(convert::dest_reply_attrs(&st))],
                    );
                    assert_eq!(emit_reply(f, fx.family_id, out), f.bytes, "{name}: emit(dest)");
                }
            }
            Exp::Daemons(expected) => {
                for d in expected {
                    let f = next("daemon dump entry", false);
                    assert_eq!((f.header.message_type, f.header.flags), (fx.family_id, NLM_F_MULTI));
                    let msg = payload(f);
                    assert_eq!(msg.cmd, IpvsCmd::NewDaemon);
                    assert_eq!(
                        convert::daemon_from_attrs(msg.daemon().unwrap()).unwrap(),
                        d,
                        "{name}: parse(daemon)"
                    );
                    let out = IpvsMessage::new(
                        IpvsCmd::NewDaemon,
                        vec![IpvsAttr::Daemon(convert::daemon_reply_attrs(&d))],
                    );
                    assert_eq!(emit_reply(f, fx.family_id, out), f.bytes, "{name}: emit(daemon)");
                }
            }
            Exp::Info(info) => {
                let f = next("info reply", false);
                assert_eq!(f.header.flags, 0);
                let msg = payload(f);
                assert_eq!(msg.cmd, IpvsCmd::SetInfo);
                assert_eq!(convert::info_from_message(&msg).unwrap(), info, "{name}: parse(info)");
                let out = IpvsMessage::new(IpvsCmd::SetInfo, convert::info_reply_attrs(&info));
                assert_eq!(emit_reply(f, fx.family_id, out), f.bytes, "{name}: emit(info)");
            }
            Exp::Timeouts(t) => {
                let f = next("config reply", false);
                assert_eq!(f.header.flags, 0);
                let msg = payload(f);
                assert_eq!(msg.cmd, IpvsCmd::SetConfig);
                assert_eq!(convert::timeouts_from_message(&msg).unwrap(), t, "{name}: parse(config)");
                let out = IpvsMessage::new(IpvsCmd::SetConfig, convert::timeouts_attrs(&t));
                assert_eq!(emit_reply(f, fx.family_id, out), f.bytes, "{name}: emit(config)");
            }
            Exp::Done => {
                let f = next("NLMSG_DONE", false);
                assert_eq!((f.header.message_type, f.header.flags), (NLMSG_DONE, NLM_F_MULTI), "{name}");
                assert_eq!(f.payload(), [0, 0, 0, 0], "{name}: DONE carries status 0");
                assert_eq!(emit_done(f), f.bytes, "{name}: emit(done)");
            }
        }
    }
    assert!(it.next().is_none(), "{name}: frames left over");
}

// ---------------------------------------------------------------------------------------------
// The values the capture used
// ---------------------------------------------------------------------------------------------

const HASHED: ServiceFlags = ServiceFlags::HASHED;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn tcp() -> ServiceKey {
    ServiceKey::tcp(ip("10.1.2.3"), 80)
}
fn fwm6() -> ServiceKey {
    ServiceKey::fwmark(7, AddressFamily::Inet6)
}
fn udp() -> ServiceKey {
    ServiceKey::udp(ip("10.1.2.4"), 53)
}
fn sip() -> ServiceKey {
    ServiceKey::udp(ip("10.1.2.5"), 5060)
}

fn persistent() -> Service {
    Service::new(tcp())
        .with_scheduler(Scheduler::Wlc)
        .with_persistence(300, Some(Netmask::V4(Ipv4Addr::new(255, 255, 255, 0))))
}
fn fwmark6() -> Service {
    Service::new(fwm6()).with_scheduler(Scheduler::Rr).with_persistence(60, Some(Netmask::V6(64)))
}
fn ops() -> Service {
    Service::new(udp())
        .with_scheduler(Scheduler::Sh)
        .with_flags(ServiceFlags::ONEPACKET | ServiceFlags::SH_FALLBACK | ServiceFlags::SH_PORT)
}
fn pe() -> Service {
    Service::new(sip()).with_scheduler(Scheduler::Rr).with_persistence(60, None).with_pe(PeName::sip())
}

/// A service as the kernel reports it: HASHED set, zero counters.
fn reported(s: Service) -> ServiceStatus {
    ServiceStatus::new(s.with_flags(HASHED))
}

fn masq() -> Destination {
    Destination::new("192.168.1.10:80".parse().unwrap())
        .with_forward(ForwardMethod::Masquerade)
        .with_weight(2)
        .with_thresholds(100, 50)
}
fn gue() -> Destination {
    Destination::new("192.168.1.11:80".parse().unwrap())
        .with_forward(ForwardMethod::Tunnel)
        .with_weight(3)
        .with_tunnel(Tunnel::gue(6080).with_flags(TunnelFlags::CSUM))
}
fn gre() -> Destination {
    Destination::new("192.168.1.12:80".parse().unwrap())
        .with_forward(ForwardMethod::Tunnel)
        .with_tunnel(Tunnel::gre().with_flags(TunnelFlags::CSUM))
}
fn v6() -> Destination {
    Destination::new("[2001:db8::10]:0".parse().unwrap())
        .with_forward(ForwardMethod::DirectRoute)
        .with_weight(0)
}

fn key_msg(cmd: IpvsCmd, key: &ServiceKey) -> IpvsMessage {
    IpvsMessage::new(cmd, vec![IpvsAttr::Service(convert::service_key_attrs(key))])
}

// ---------------------------------------------------------------------------------------------
// The fixtures
// ---------------------------------------------------------------------------------------------

#[test]
fn get_info() {
    check(
        "get_info",
        vec![
            Exp::Read(IpvsMessage::new(IpvsCmd::GetInfo, vec![]), NLM_F_ACK),
            Exp::Info(Info::new(0x0001_0201, 4096)),
            Exp::Ack(0),
        ],
    );
}

#[test]
fn get_config_default_timeouts() {
    check(
        "get_config",
        vec![
            Exp::Read(IpvsMessage::new(IpvsCmd::GetConfig, vec![]), NLM_F_ACK),
            Exp::Timeouts(Timeouts::new(900, 120, 300)),
            Exp::Ack(0),
        ],
    );
}

#[test]
fn new_services() {
    check("new_service_tcp_persistent", vec![Exp::Op(Operation::AddService(persistent())), Exp::Ack(0)]);
    check("new_service_fwmark6", vec![Exp::Op(Operation::AddService(fwmark6())), Exp::Ack(0)]);
    check("new_service_udp_ops_sh", vec![Exp::Op(Operation::AddService(ops())), Exp::Ack(0)]);
    check("new_service_pe_sip", vec![Exp::Op(Operation::AddService(pe())), Exp::Ack(0)]);
    check("new_service_exists", vec![Exp::Op(Operation::AddService(persistent())), Exp::Ack(-libc::EEXIST)]);
}

#[test]
fn new_dests() {
    check("new_dest_masq_thresholds", vec![Exp::Op(Operation::AddDestination(tcp(), masq())), Exp::Ack(0)]);
    check("new_dest_gue_csum", vec![Exp::Op(Operation::AddDestination(tcp(), gue())), Exp::Ack(0)]);
    check("new_dest_gre_csum", vec![Exp::Op(Operation::AddDestination(tcp(), gre())), Exp::Ack(0)]);
    check("new_dest_ipv6", vec![Exp::Op(Operation::AddDestination(fwm6(), v6())), Exp::Ack(0)]);
    check(
        "new_dest_exists",
        vec![Exp::Op(Operation::AddDestination(tcp(), masq())), Exp::Ack(-libc::EEXIST)],
    );
}

#[test]
fn service_dump() {
    check(
        "get_service_dump",
        vec![
            Exp::Read(IpvsMessage::new(IpvsCmd::GetService, vec![]), NLM_F_DUMP),
            Exp::Services(vec![reported(persistent()), reported(fwmark6()), reported(ops()), reported(pe())]),
            Exp::Done,
        ],
    );
}

#[test]
fn service_get() {
    check(
        "get_service",
        vec![
            Exp::Read(key_msg(IpvsCmd::GetService, &tcp()), NLM_F_ACK),
            Exp::Service(reported(persistent())),
            Exp::Ack(0),
        ],
    );
    let missing = ServiceKey::tcp(ip("10.9.9.9"), 1);
    check(
        "get_service_missing",
        vec![Exp::Read(key_msg(IpvsCmd::GetService, &missing), NLM_F_ACK), Exp::Ack(-libc::ESRCH)],
    );
}

#[test]
fn dest_dumps() {
    // Newest first: gre, gue, masq.
    check(
        "get_dest_dump",
        vec![
            Exp::Read(key_msg(IpvsCmd::GetService, &tcp()), NLM_F_ACK),
            Exp::Read(key_msg(IpvsCmd::GetDest, &tcp()), NLM_F_DUMP),
            Exp::Service(reported(persistent())),
            Exp::Ack(0),
            Exp::Dests(
                AddressFamily::Inet,
                vec![
                    DestinationStatus::new(gre()),
                    DestinationStatus::new(gue()),
                    DestinationStatus::new(masq()),
                ],
            ),
            Exp::Done,
        ],
    );
    check(
        "get_dest_dump_ipv6",
        vec![
            Exp::Read(key_msg(IpvsCmd::GetService, &fwm6()), NLM_F_ACK),
            Exp::Read(key_msg(IpvsCmd::GetDest, &fwm6()), NLM_F_DUMP),
            Exp::Service(reported(fwmark6())),
            Exp::Ack(0),
            Exp::Dests(AddressFamily::Inet6, vec![DestinationStatus::new(v6())]),
            Exp::Done,
        ],
    );
}

#[test]
fn daemons() {
    let mut master = SyncDaemon::new(SyncRole::Master, "dummy0", 7);
    master.max_len = 1400;
    master.group = Some(ip("239.1.2.3"));
    master.port = 8850;
    master.ttl = 2;
    check("new_daemon_master", vec![Exp::Op(Operation::StartDaemon(master.clone())), Exp::Ack(0)]);
    let backup = SyncDaemon::new(SyncRole::Backup, "lo", 9);
    check("new_daemon_backup", vec![Exp::Op(Operation::StartDaemon(backup.clone())), Exp::Ack(0)]);
    // The kernel reports the values in effect: the backup's defaults are filled in (group
    // 224.0.0.81, port 8848, TTL 1) and its maximum length is lo's MTU (65536) clamped to
    // 65535 minus the IPv4 and UDP headers.
    let backup_reported =
        backup.clone().with_max_len(65507).with_group(ip("224.0.0.81")).with_port(8848).with_ttl(1);
    check(
        "get_daemon_dump",
        vec![
            Exp::Read(IpvsMessage::new(IpvsCmd::GetDaemon, vec![]), NLM_F_DUMP),
            Exp::Daemons(vec![master, backup_reported]),
            Exp::Done,
        ],
    );
    check(
        "del_daemon",
        vec![
            Exp::Op(Operation::StopDaemon(SyncRole::Master)),
            Exp::Ack(0),
            Exp::Op(Operation::StopDaemon(SyncRole::Backup)),
            Exp::Ack(0),
        ],
    );
    check(
        "del_daemon_missing",
        vec![Exp::Op(Operation::StopDaemon(SyncRole::Master)), Exp::Ack(-libc::ESRCH)],
    );
}

#[test]
fn other_changes() {
    check("set_config", vec![Exp::Op(Operation::SetTimeouts(Timeouts::new(1000, 0, 200))), Exp::Ack(0)]);
    check("zero_service", vec![Exp::Op(Operation::Zero(Some(tcp()))), Exp::Ack(0)]);
    check("zero_all", vec![Exp::Op(Operation::Zero(None)), Exp::Ack(0)]);
    check(
        "set_dest",
        vec![
            Exp::Op(Operation::EditDestination(tcp(), masq().with_weight(5).with_thresholds(0, 0))),
            Exp::Ack(0),
        ],
    );
    check(
        "set_service",
        vec![
            Exp::Op(Operation::EditService(
                Service::new(sip()).with_scheduler(Scheduler::Wrr).with_persistence(60, None),
            )),
            Exp::Ack(0),
        ],
    );
    check("del_dest", vec![Exp::Op(Operation::DeleteDestination(tcp(), gue().key())), Exp::Ack(0)]);
    check(
        "del_dest_missing",
        vec![Exp::Op(Operation::DeleteDestination(tcp(), gue().key())), Exp::Ack(-libc::ENOENT)],
    );
    check("del_service", vec![Exp::Op(Operation::DeleteService(udp())), Exp::Ack(0)]);
    check("flush", vec![Exp::Op(Operation::Flush), Exp::Ack(0)]);
}

#[test]
fn pipelined_batch_acks_match_by_sequence() {
    let svc = Service::new(udp()).with_scheduler(Scheduler::Rr);
    let d = Destination::new("192.168.3.1:53".parse().unwrap()).with_forward(ForwardMethod::Masquerade);
    // Three requests in one buffer; the kernel answers each in order, the failing one in the
    // middle included, and carries on with the next.
    check(
        "batch",
        vec![
            Exp::Op(Operation::AddService(svc.clone())),
            Exp::Op(Operation::AddService(svc)),
            Exp::Op(Operation::AddDestination(udp(), d)),
            Exp::Ack(0),
            Exp::Ack(-libc::EEXIST),
            Exp::Ack(0),
        ],
    );
}

#[test]
fn request_wire_facts_seen_by_the_kernel() {
    // Byte-level facts the kernel accepted, read straight from the captured requests.
    let fx = load("new_service_fwmark6");
    let req = &fx.records[0].1;
    let f = Frames::new(req).next().unwrap().unwrap();
    let msg = payload(&f);
    let svc = msg.service().unwrap();
    // fwmark is host order, the IPv6 netmask a host-order prefix length.
    assert!(svc.contains(&ipvs_sys_netlink::codec::ServiceAttr::Fwmark(7)));
    let hay = f.bytes.windows(8).any(|w| w == [8, 0, 5, 0, 7, 0, 0, 0]);
    assert!(hay, "FWMARK 7 as a little-endian u32");
    assert!(f.bytes.windows(8).any(|w| w == [8, 0, 9, 0, 64, 0, 0, 0]), "NETMASK /64 as a host u32");
    // The tunnel port is network order: 6080 = 0x17c0.
    let fx = load("new_dest_gue_csum");
    assert!(fx.records[0].1.windows(6).any(|w| w == [6, 0, 14, 0, 0x17, 0xc0]));
}

/// The client reads replies straight from the kernel's bytes (`convert::*_from_genl`) without
/// building the codec's message. For every service and real-server reply of every fixture, that
/// path gives exactly what the codec path gives.
#[test]
fn the_fast_read_path_decodes_every_reply_as_the_codec_does() {
    let dir = format!("{}/tests/fixtures/kernel", env!("CARGO_MANIFEST_DIR"));
    let (mut services, mut dests) = (0, 0);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some(stem) = name.strip_suffix(".hex") else { continue };
        let fx = load(Box::leak(stem.to_owned().into_boxed_str()));
        for (sent, bytes) in &fx.records {
            if *sent {
                continue;
            }
            for frame in Frames::new(bytes) {
                let frame = frame.unwrap();
                if frame.header.message_type != fx.family_id {
                    continue;
                }
                let msg = payload(&frame);
                let genl = frame.payload();
                assert_eq!(convert::message_from_genl(genl).unwrap(), msg, "{name}");
                if msg.service().is_some() && msg.dest().is_none() {
                    let want = convert::service_status_from_message(&msg).unwrap();
                    assert_eq!(convert::service_status_from_genl(genl).unwrap(), want, "{name}");
                    services += 1;
                }
                if msg.dest().is_some() {
                    for family in [AddressFamily::Inet, AddressFamily::Inet6] {
                        let want = convert::dest_status_from_message(&msg, family).unwrap();
                        assert_eq!(convert::dest_status_from_genl(genl, family).unwrap(), want, "{name}");
                    }
                    dests += 1;
                }
            }
        }
    }
    assert!(services >= 7 && dests >= 4, "{services} services, {dests} real servers");
    // Bytes that are not a reply are errors, not panics.
    for bad in [&[][..], &[1, 1, 0][..], &[1, 1, 0, 0, 8, 0][..]] {
        assert!(convert::service_status_from_genl(bad).is_err());
        assert!(convert::dest_status_from_genl(bad, AddressFamily::Inet).is_err());
    }
}
