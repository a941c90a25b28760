//! Conversion between the `ipvs-core` model and the codec's attributes.
//!
//! Not part of the public API (it is public for the golden tests and tools of this
//! repository, and may change in any release): use [`Client`](crate::Client).
//!
//! Two directions, each in two forms:
//!
//! * **Requests** (model → attributes): what [`crate::Client`] sends, attribute for attribute
//!   what libipvs (ipvsadm 1.31, `libipvs.c:251-283, 380-404`) sends for a full service or
//!   destination. For commands where the kernel only looks at the identity (DEL_SERVICE, ZERO,
//!   the GET_SERVICE doit, the GET_DEST dump, and the SERVICE nest of every destination
//!   command) only the identity is sent: AF and FWMARK, or AF, PROTOCOL, ADDR and PORT. libipvs
//!   sends the whole service there too; the kernel parses those extra attributes against its
//!   policy and then ignores them, so leaving them out can only remove failure modes. DEL_DEST
//!   likewise carries only ADDR_FAMILY, ADDR and PORT. [`operation_from_message`] reads a
//!   request back into an [`Operation`].
//! * **Replies** (attributes → model): [`service_status_from_attrs`],
//!   [`dest_status_from_attrs`], [`daemon_from_attrs`], [`timeouts_from_message`],
//!   [`info_from_message`]. They tolerate older kernels: a destination without ADDR_FAMILY
//!   (before 3.18) takes the service's family, missing STATS64 (before 4.1) falls back to
//!   STATS, missing TUN_* (before 5.2/5.3) read as IPIP, port 0, no flags, and missing
//!   sync-daemon options (before 4.3) read as 0/`None`. Unknown attributes are ignored. What
//!   cannot be decoded is an [`Error::Decode`] naming the attribute. The `*_reply_*` functions
//!   go the other way and build the attributes exactly as a 6.1 kernel sends them (its order,
//!   16-byte addresses, both stats layouts), for golden tests and fake kernels.
//!
//! # Edit semantics
//!
//! SET_SERVICE carries the full service, so an edit replaces every setting: the flags are sent
//! with mask `0xffff_ffff` (the kernel computes `(old & !mask) | (flags & mask)`, so every
//! settable bit takes the new value; HASHED is the kernel's own and it sets it again), and a
//! service without a persistence engine is sent without PE_NAME, which **unbinds** the engine
//! (`ip_vs_ctl.c:1554-1564`). SET_DEST likewise replaces the whole destination: the kernel
//! zeroes what is not sent, and the TUN_* attributes are always sent.

use std::net::IpAddr;

use ipvs_core::{
    AddressFamily, Destination, DestinationKey, DestinationStatus, Error, ForwardMethod, Info, Netmask,
    Operation, PeName, Protocol, Result, Scheduler, Service, ServiceFlags, ServiceKey, ServiceStatus, Stats,
    SyncDaemon, SyncRole, Timeouts, Tunnel, TunnelFlags, TunnelType,
};

use netlink_packet_core::{NlaBuffer, Parseable, ParseableParametrized, NLA_TYPE_MASK};
use netlink_packet_generic::GenlHeader;

use crate::codec::consts::{
    IPVS_CMD_ATTR_DEST, IPVS_CMD_ATTR_SERVICE, IPVS_DEST_ATTR_STATS, IPVS_DEST_ATTR_STATS64,
    IPVS_SVC_ATTR_STATS, IPVS_SVC_ATTR_STATS64, IP_VS_STATE_BACKUP, IP_VS_STATE_MASTER,
};

// The fast read path relies on both nests numbering their statistics alike.
const _: () =
    assert!(IPVS_SVC_ATTR_STATS == IPVS_DEST_ATTR_STATS && IPVS_SVC_ATTR_STATS64 == IPVS_DEST_ATTR_STATS64);
use crate::codec::{
    DaemonAttr, DestAttr, InetAddr, IpvsAttr, IpvsCmd, IpvsMessage, RawNetmask, ServiceAttr, StatsAttr,
    StatsLayout, GENL_HDRLEN,
};

fn decode(msg: impl Into<String>) -> Error {
    Error::decode(msg)
}

// ---------------------------------------------------------------------------------------------
// Requests: model -> attributes
// ---------------------------------------------------------------------------------------------

/// The identifying attributes of a service: AF and FWMARK, or AF, PROTOCOL, ADDR (16 bytes, as
/// libipvs sends it) and PORT.
pub fn service_key_attrs(key: &ServiceKey) -> Vec<ServiceAttr> {
    match *key {
        ServiceKey::Addr { protocol, addr, port } => vec![
            ServiceAttr::AddressFamily(key.family().to_raw()),
            ServiceAttr::Protocol(protocol.to_raw()),
            ServiceAttr::Address(InetAddr::from(addr)),
            ServiceAttr::Port(port),
        ],
        ServiceKey::Fwmark { mark, family } => {
            vec![ServiceAttr::AddressFamily(family.to_raw()), ServiceAttr::Fwmark(mark)]
        }
    }
}

/// The raw netmask attribute value: an IPv4 mask in network order, an IPv6 prefix length as a
/// host-order u32.
pub fn raw_netmask(mask: &Netmask) -> RawNetmask {
    match *mask {
        Netmask::V4(m) => RawNetmask::from_ipv4_mask(m),
        Netmask::V6(p) => RawNetmask::from_ipv6_prefix(u32::from(p)),
    }
}

/// The full service, as NEW_SERVICE and SET_SERVICE need it: the identity, SCHED_NAME, PE_NAME
/// (only when set), FLAGS (the settable bits, mask `0xffff_ffff`), TIMEOUT and NETMASK.
pub fn service_attrs(service: &Service) -> Vec<ServiceAttr> {
    let mut attrs = service_key_attrs(&service.key);
    attrs.push(ServiceAttr::SchedName(service.scheduler.name().to_owned()));
    if let Some(pe) = &service.pe_name {
        attrs.push(ServiceAttr::PeName(pe.as_str().to_owned()));
    }
    attrs.push(ServiceAttr::Flags { flags: service.flags_to_write().bits(), mask: u32::MAX });
    attrs.push(ServiceAttr::Timeout(service.timeout));
    attrs.push(ServiceAttr::Netmask(raw_netmask(&service.netmask)));
    attrs
}

/// The identifying attributes of a destination: ADDR_FAMILY, ADDR (16 bytes) and PORT.
pub fn dest_key_attrs(key: &DestinationKey) -> Vec<DestAttr> {
    vec![
        DestAttr::AddressFamily(AddressFamily::of(&key.addr).to_raw()),
        DestAttr::Address(InetAddr::from(key.addr)),
        DestAttr::Port(key.port),
    ]
}

/// The full destination, in libipvs's order: ADDR_FAMILY, ADDR, PORT, FWD_METHOD, WEIGHT,
/// TUN_TYPE, TUN_PORT, TUN_FLAGS, U_THRESH, L_THRESH.
///
/// The weight goes out bit for bit (the kernel reads a u32 into an `int`); values above
/// `i32::MAX` are refused by [`Destination::validate`] before anything is sent.
pub fn dest_attrs(dest: &Destination) -> Vec<DestAttr> {
    let mut attrs = dest_key_attrs(&dest.key());
    attrs.extend([
        DestAttr::FwdMethod(dest.forward.to_raw()),
        DestAttr::Weight(i32::from_ne_bytes(dest.weight.to_ne_bytes())),
        DestAttr::TunType(dest.tunnel.kind.to_raw()),
        DestAttr::TunPort(dest.tunnel.port),
        DestAttr::TunFlags(dest.tunnel.flags.bits()),
        DestAttr::UpperThreshold(dest.upper_threshold),
        DestAttr::LowerThreshold(dest.lower_threshold),
    ]);
    attrs
}

/// The NEW_DAEMON attributes: STATE, MCAST_IFN, SYNC_ID, and the kernel 4.3+ options
/// (SYNC_MAXLEN, MCAST_GROUP or MCAST_GROUP6, MCAST_PORT, MCAST_TTL) only when they are set, so
/// that a daemon with default options can be started on kernels older than 4.3.
pub fn daemon_attrs(daemon: &SyncDaemon) -> Vec<DaemonAttr> {
    let mut attrs = vec![
        DaemonAttr::State(daemon.role.to_raw()),
        DaemonAttr::McastIfn(daemon.interface.as_bytes().to_vec()),
        DaemonAttr::SyncId(daemon.sync_id),
    ];
    if daemon.max_len != 0 {
        attrs.push(DaemonAttr::SyncMaxlen(daemon.max_len));
    }
    match daemon.group {
        Some(IpAddr::V4(g)) => attrs.push(DaemonAttr::McastGroup(g)),
        Some(IpAddr::V6(g)) => attrs.push(DaemonAttr::McastGroup6(g)),
        None => {}
    }
    if daemon.port != 0 {
        attrs.push(DaemonAttr::McastPort(daemon.port));
    }
    if daemon.ttl != 0 {
        attrs.push(DaemonAttr::McastTtl(daemon.ttl));
    }
    attrs
}

/// The SET_CONFIG attributes: all three timeouts (0 leaves a value unchanged).
pub fn timeouts_attrs(t: &Timeouts) -> Vec<IpvsAttr> {
    vec![IpvsAttr::TimeoutTcp(t.tcp), IpvsAttr::TimeoutTcpFin(t.tcp_fin), IpvsAttr::TimeoutUdp(t.udp)]
}

/// The request message for an operation. The operation is not validated here; the client
/// always calls [`Operation::validate`] first. [`Error::NotSupported`] for an operation this
/// version does not know (`Operation` is `#[non_exhaustive]`).
pub fn operation_message(op: &Operation) -> Result<IpvsMessage> {
    Ok(match op {
        Operation::AddService(s) => {
            IpvsMessage::new(IpvsCmd::NewService, vec![IpvsAttr::Service(service_attrs(s))])
        }
        Operation::EditService(s) => {
            IpvsMessage::new(IpvsCmd::SetService, vec![IpvsAttr::Service(service_attrs(s))])
        }
        Operation::DeleteService(k) => {
            IpvsMessage::new(IpvsCmd::DelService, vec![IpvsAttr::Service(service_key_attrs(k))])
        }
        Operation::AddDestination(k, d) => IpvsMessage::new(
            IpvsCmd::NewDest,
            vec![IpvsAttr::Service(service_key_attrs(k)), IpvsAttr::Dest(dest_attrs(d))],
        ),
        Operation::EditDestination(k, d) => IpvsMessage::new(
            IpvsCmd::SetDest,
            vec![IpvsAttr::Service(service_key_attrs(k)), IpvsAttr::Dest(dest_attrs(d))],
        ),
        Operation::DeleteDestination(k, d) => IpvsMessage::new(
            IpvsCmd::DelDest,
            vec![IpvsAttr::Service(service_key_attrs(k)), IpvsAttr::Dest(dest_key_attrs(d))],
        ),
        Operation::Flush => IpvsMessage::new(IpvsCmd::Flush, vec![]),
        Operation::Zero(None) => IpvsMessage::new(IpvsCmd::Zero, vec![]),
        Operation::Zero(Some(k)) => {
            IpvsMessage::new(IpvsCmd::Zero, vec![IpvsAttr::Service(service_key_attrs(k))])
        }
        Operation::SetTimeouts(t) => IpvsMessage::new(IpvsCmd::SetConfig, timeouts_attrs(t)),
        Operation::StartDaemon(d) => {
            IpvsMessage::new(IpvsCmd::NewDaemon, vec![IpvsAttr::Daemon(daemon_attrs(d))])
        }
        Operation::StopDaemon(role) => IpvsMessage::new(
            IpvsCmd::DelDaemon,
            vec![IpvsAttr::Daemon(vec![DaemonAttr::State(role.to_raw())])],
        ),
        _ => return Err(Error::NotSupported),
    })
}

/// `Ok` for the operations [`operation_message`] turns into a request, its
/// [`Error::NotSupported`] for the others, without building the request.
pub fn check_supported(op: &Operation) -> Result<()> {
    match op {
        Operation::AddService(_)
        | Operation::EditService(_)
        | Operation::DeleteService(_)
        | Operation::AddDestination(..)
        | Operation::EditDestination(..)
        | Operation::DeleteDestination(..)
        | Operation::Flush
        | Operation::Zero(_)
        | Operation::SetTimeouts(_)
        | Operation::StartDaemon(_)
        | Operation::StopDaemon(_) => Ok(()),
        _ => Err(Error::NotSupported),
    }
}

/// Reads a request back into the operation it carries (the inverse of [`operation_message`]),
/// the way the kernel reads it: a service nest gives its key and, for NEW/SET, its settings; a
/// destination nest without ADDR_FAMILY takes the service's family.
pub fn operation_from_message(msg: &IpvsMessage) -> Result<Operation> {
    let svc = || msg.service().ok_or_else(|| decode("IPVS_CMD_ATTR_SERVICE missing"));
    let dest = || msg.dest().ok_or_else(|| decode("IPVS_CMD_ATTR_DEST missing"));
    Ok(match msg.cmd {
        IpvsCmd::NewService => Operation::AddService(service_status_from_attrs(svc()?)?.service),
        IpvsCmd::SetService => Operation::EditService(service_status_from_attrs(svc()?)?.service),
        IpvsCmd::DelService => Operation::DeleteService(service_key_from_attrs(svc()?)?),
        IpvsCmd::NewDest | IpvsCmd::SetDest => {
            let key = service_key_from_attrs(svc()?)?;
            let d = dest_status_from_attrs(dest()?, key.family())?.dest;
            if msg.cmd == IpvsCmd::NewDest {
                Operation::AddDestination(key, d)
            } else {
                Operation::EditDestination(key, d)
            }
        }
        IpvsCmd::DelDest => {
            let key = service_key_from_attrs(svc()?)?;
            Operation::DeleteDestination(key, dest_key_from_attrs(dest()?, key.family())?)
        }
        IpvsCmd::Flush => Operation::Flush,
        IpvsCmd::Zero => match msg.service() {
            Some(s) => Operation::Zero(Some(service_key_from_attrs(s)?)),
            None => Operation::Zero(None),
        },
        IpvsCmd::SetConfig => Operation::SetTimeouts(timeouts_from_message(msg)?),
        IpvsCmd::NewDaemon => Operation::StartDaemon(daemon_from_attrs(
            msg.daemon().ok_or_else(|| decode("IPVS_CMD_ATTR_DAEMON missing"))?,
        )?),
        IpvsCmd::DelDaemon => {
            let attrs = msg.daemon().ok_or_else(|| decode("IPVS_CMD_ATTR_DAEMON missing"))?;
            let state = attrs
                .iter()
                .find_map(|a| match a {
                    DaemonAttr::State(s) => Some(*s),
                    _ => None,
                })
                .ok_or_else(|| decode("IPVS_DAEMON_ATTR_STATE missing"))?;
            Operation::StopDaemon(role_from_raw(state)?)
        }
        other => return Err(decode(format!("{other:?} is not a command that changes the table"))),
    })
}

// ---------------------------------------------------------------------------------------------
// Replies: attributes -> model
// ---------------------------------------------------------------------------------------------

fn family_from_raw(name: &str, raw: u16) -> Result<AddressFamily> {
    AddressFamily::from_raw(raw).ok_or_else(|| decode(format!("{name}: unsupported address family {raw}")))
}

fn role_from_raw(raw: u32) -> Result<SyncRole> {
    SyncRole::from_raw(raw).ok_or_else(|| decode(format!("IPVS_DAEMON_ATTR_STATE: unknown state {raw}")))
}

/// Reads a stats nest (either layout) into [`Stats`]. PAD and unknown attributes are skipped.
pub fn stats_from_attrs(attrs: &[StatsAttr]) -> Stats {
    let mut s = Stats::default();
    for a in attrs {
        fold_stat(&mut s, a);
    }
    s
}

/// Sets the field of `s` that `a` carries.
fn fold_stat(s: &mut Stats, a: &StatsAttr) {
    match *a {
        StatsAttr::Conns(v) => s.conns = v,
        StatsAttr::InPkts(v) => s.in_packets = v,
        StatsAttr::OutPkts(v) => s.out_packets = v,
        StatsAttr::InBytes(v) => s.in_bytes = v,
        StatsAttr::OutBytes(v) => s.out_bytes = v,
        StatsAttr::Cps(v) => s.cps = v,
        StatsAttr::InPps(v) => s.in_pps = v,
        StatsAttr::OutPps(v) => s.out_pps = v,
        StatsAttr::InBps(v) => s.in_bps = v,
        StatsAttr::OutBps(v) => s.out_bps = v,
        _ => {}
    }
}

/// The contents of a STATS or STATS64 nest, read straight into [`Stats`].
fn stats_from_nest(value: &[u8], layout: StatsLayout, name: &str) -> Result<Stats> {
    use crate::codec::consts::{IPVS_STATS_ATTR_INBYTES, IPVS_STATS_ATTR_OUTBYTES};
    let mut s = Stats::default();
    for attr in walk_attrs(value) {
        let (kind, attr) = attr.map_err(|e| decode(format!("{name}: {e}")))?;
        // The kernel's counters, of the width the layout gives them, read as they are (what
        // the attribute parser below reads from them, without building the attribute).
        let v = attr.get(4..).unwrap_or_default();
        let wide = matches!(kind, IPVS_STATS_ATTR_INBYTES | IPVS_STATS_ATTR_OUTBYTES)
            || layout == StatsLayout::Stats64;
        let direct = match (wide, v.len()) {
            (true, 8) => <[u8; 8]>::try_from(v).ok().map(u64::from_ne_bytes),
            (false, 4) => <[u8; 4]>::try_from(v).ok().map(|b| u64::from(u32::from_ne_bytes(b))),
            _ => None,
        };
        if let (Some(n), Some(field)) = (direct, stat_field(&mut s, kind)) {
            *field = n;
            continue;
        }
        let a = StatsAttr::parse_with_param(&NlaBuffer::new(attr), layout)
            .map_err(|e| decode(format!("{name}: {e}")))?;
        fold_stat(&mut s, &a);
    }
    Ok(s)
}

/// The field of `s` that the statistics attribute `kind` fills, as [`fold_stat`] fills it.
fn stat_field(s: &mut Stats, kind: u16) -> Option<&mut u64> {
    use crate::codec::consts::{
        IPVS_STATS_ATTR_CONNS, IPVS_STATS_ATTR_CPS, IPVS_STATS_ATTR_INBPS, IPVS_STATS_ATTR_INBYTES,
        IPVS_STATS_ATTR_INPKTS, IPVS_STATS_ATTR_INPPS, IPVS_STATS_ATTR_OUTBPS, IPVS_STATS_ATTR_OUTBYTES,
        IPVS_STATS_ATTR_OUTPKTS, IPVS_STATS_ATTR_OUTPPS,
    };
    Some(match kind {
        IPVS_STATS_ATTR_CONNS => &mut s.conns,
        IPVS_STATS_ATTR_INPKTS => &mut s.in_packets,
        IPVS_STATS_ATTR_OUTPKTS => &mut s.out_packets,
        IPVS_STATS_ATTR_INBYTES => &mut s.in_bytes,
        IPVS_STATS_ATTR_OUTBYTES => &mut s.out_bytes,
        IPVS_STATS_ATTR_CPS => &mut s.cps,
        IPVS_STATS_ATTR_INPPS => &mut s.in_pps,
        IPVS_STATS_ATTR_OUTPPS => &mut s.out_pps,
        IPVS_STATS_ATTR_INBPS => &mut s.in_bps,
        IPVS_STATS_ATTR_OUTBPS => &mut s.out_bps,
        _ => return None,
    })
}

/// The statistics attributes in the kernel's order (`ip_vs_genl_fill_stats{,64}`: conns,
/// inpkts, outpkts, inbytes, outbytes, cps, inpps, outpps, inbps, outbps). On x86-64 the
/// kernel never inserts PAD; see [`StatsAttr::Pad`].
pub fn stats_attrs(s: &Stats) -> Vec<StatsAttr> {
    vec![
        StatsAttr::Conns(s.conns),
        StatsAttr::InPkts(s.in_packets),
        StatsAttr::OutPkts(s.out_packets),
        StatsAttr::InBytes(s.in_bytes),
        StatsAttr::OutBytes(s.out_bytes),
        StatsAttr::Cps(s.cps),
        StatsAttr::InPps(s.in_pps),
        StatsAttr::OutPps(s.out_pps),
        StatsAttr::InBps(s.in_bps),
        StatsAttr::OutBps(s.out_bps),
    ]
}

/// The service key of a service nest (reply or request).
pub fn service_key_from_attrs(attrs: &[ServiceAttr]) -> Result<ServiceKey> {
    let (mut af, mut protocol, mut addr, mut port, mut fwmark) = (None, None, None, None, None);
    for a in attrs {
        match a {
            ServiceAttr::AddressFamily(v) => af = Some(*v),
            ServiceAttr::Protocol(v) => protocol = Some(*v),
            ServiceAttr::Address(v) => addr = Some(*v),
            ServiceAttr::Port(v) => port = Some(*v),
            ServiceAttr::Fwmark(v) => fwmark = Some(*v),
            _ => {}
        }
    }
    let af = af.ok_or_else(|| decode("IPVS_SVC_ATTR_AF missing"))?;
    let family = family_from_raw("IPVS_SVC_ATTR_AF", af)?;
    // The kernel lets FWMARK win over PROTOCOL/ADDR/PORT (ip_vs_ctl.c:3283-3285); a 0 mark is
    // not a fwmark service (the kernel's "fwmark == 0" test).
    if let Some(mark) = fwmark.filter(|m| *m != 0) {
        return Ok(ServiceKey::Fwmark { mark, family });
    }
    let protocol = protocol.ok_or_else(|| decode("IPVS_SVC_ATTR_PROTOCOL missing (and no FWMARK)"))?;
    let addr = addr.ok_or_else(|| decode("IPVS_SVC_ATTR_ADDR missing (and no FWMARK)"))?;
    let port = port.ok_or_else(|| decode("IPVS_SVC_ATTR_PORT missing (and no FWMARK)"))?;
    let addr = addr.to_ip(af).ok_or_else(|| decode("IPVS_SVC_ATTR_ADDR: no address family"))?;
    Ok(ServiceKey::Addr { protocol: Protocol::from_raw(protocol), addr, port })
}

/// A service nest as the kernel reports it (GET_SERVICE reply or dump entry).
///
/// SCHED_NAME, FLAGS, TIMEOUT and NETMASK are required (every kernel with the netlink interface
/// sends them); FLAGS keeps every bit the kernel reports, HASHED included. STATS64 (4.1+) gives
/// [`ServiceStatus::stats`], falling back to STATS; missing stats read as zeros (so a request's
/// nest, which has none, decodes too).
pub fn service_status_from_attrs(attrs: &[ServiceAttr]) -> Result<ServiceStatus> {
    let (mut stats32, mut stats64) = (None, None);
    for a in attrs {
        match a {
            ServiceAttr::Stats(s) => stats32 = Some(stats_from_attrs(s)),
            ServiceAttr::Stats64(s) => stats64 = Some(stats_from_attrs(s)),
            _ => {}
        }
    }
    service_status_from_parts(attrs, stats32, stats64)
}

/// [`service_status_from_attrs`] with the statistics already read.
fn service_status_from_parts(
    attrs: &[ServiceAttr],
    stats32: Option<Stats>,
    stats64: Option<Stats>,
) -> Result<ServiceStatus> {
    let key = service_key_from_attrs(attrs)?;
    let (mut sched, mut flags, mut timeout, mut netmask, mut pe) = (None, None, None, None, None);
    for a in attrs {
        match a {
            ServiceAttr::SchedName(s) => sched = Some(s),
            ServiceAttr::Flags { flags: f, .. } => flags = Some(*f),
            ServiceAttr::Timeout(t) => timeout = Some(*t),
            ServiceAttr::Netmask(m) => netmask = Some(*m),
            ServiceAttr::PeName(p) => pe = Some(p),
            _ => {}
        }
    }
    let sched = sched.ok_or_else(|| decode("IPVS_SVC_ATTR_SCHED_NAME missing"))?;
    let flags = flags.ok_or_else(|| decode("IPVS_SVC_ATTR_FLAGS missing"))?;
    let timeout = timeout.ok_or_else(|| decode("IPVS_SVC_ATTR_TIMEOUT missing"))?;
    let netmask = netmask.ok_or_else(|| decode("IPVS_SVC_ATTR_NETMASK missing"))?;
    let netmask = match key.family() {
        AddressFamily::Inet => Netmask::V4(netmask.as_ipv4_mask()),
        AddressFamily::Inet6 => {
            let p = netmask.as_ipv6_prefix();
            Netmask::V6(u8::try_from(p).ok().filter(|p| *p <= 128).ok_or_else(|| {
                decode(format!("IPVS_SVC_ATTR_NETMASK: IPv6 prefix length {p} is above 128"))
            })?)
        }
    };
    let mut service = Service::new(key);
    service.scheduler = Scheduler::from(sched.as_str());
    service.flags = ServiceFlags::from_bits_retain(flags);
    service.timeout = timeout;
    service.netmask = netmask;
    service.pe_name = pe.map(|p| PeName::from_kernel(p.as_str()));
    let mut status = ServiceStatus::new(service);
    status.stats32 = stats32.unwrap_or_default();
    status.stats = stats64.unwrap_or(status.stats32);
    Ok(status)
}

/// The service of a GET_SERVICE reply message (command NEW_SERVICE).
pub fn service_status_from_message(msg: &IpvsMessage) -> Result<ServiceStatus> {
    service_status_from_attrs(msg.service().ok_or_else(|| decode("IPVS_CMD_ATTR_SERVICE missing"))?)
}

fn dest_addr_from_attrs(attrs: &[DestAttr], service_family: AddressFamily) -> Result<(IpAddr, u16)> {
    let (mut addr, mut port, mut af) = (None, None, None);
    for a in attrs {
        match a {
            DestAttr::Address(v) => addr = Some(*v),
            DestAttr::Port(v) => port = Some(*v),
            DestAttr::AddressFamily(v) => af = Some(*v),
            _ => {}
        }
    }
    let addr = addr.ok_or_else(|| decode("IPVS_DEST_ATTR_ADDR missing"))?;
    let port = port.ok_or_else(|| decode("IPVS_DEST_ATTR_PORT missing"))?;
    // ADDR_FAMILY exists since 3.18; before it (and when 0, as the kernel reads it) the
    // destination has the service's family.
    let family = match af {
        None | Some(0) => service_family,
        Some(raw) => family_from_raw("IPVS_DEST_ATTR_ADDR_FAMILY", raw)?,
    };
    let ip = addr.to_ip(family.to_raw()).ok_or_else(|| decode("IPVS_DEST_ATTR_ADDR: no address family"))?;
    Ok((ip, port))
}

/// The identity of a destination nest.
pub fn dest_key_from_attrs(attrs: &[DestAttr], service_family: AddressFamily) -> Result<DestinationKey> {
    let (addr, port) = dest_addr_from_attrs(attrs, service_family)?;
    Ok(DestinationKey { addr, port })
}

/// A destination nest as the kernel reports it (GET_DEST dump entry). `service_family` is used
/// when ADDR_FAMILY is absent (kernels before 3.18).
///
/// ADDR, PORT, FWD_METHOD and WEIGHT are required; a negative weight is a decode error (the
/// kernel refuses to store one). Thresholds and connection counts read as 0 when absent, the
/// TUN_* attributes (5.2/5.3+) as IPIP, port 0, no flags.
pub fn dest_status_from_attrs(
    attrs: &[DestAttr],
    service_family: AddressFamily,
) -> Result<DestinationStatus> {
    let (mut stats32, mut stats64) = (None, None);
    for a in attrs {
        match a {
            DestAttr::Stats(s) => stats32 = Some(stats_from_attrs(s)),
            DestAttr::Stats64(s) => stats64 = Some(stats_from_attrs(s)),
            _ => {}
        }
    }
    dest_status_from_parts(attrs, service_family, stats32, stats64)
}

/// [`dest_status_from_attrs`] with the statistics already read.
fn dest_status_from_parts(
    attrs: &[DestAttr],
    service_family: AddressFamily,
    stats32: Option<Stats>,
    stats64: Option<Stats>,
) -> Result<DestinationStatus> {
    let (addr, port) = dest_addr_from_attrs(attrs, service_family)?;
    let (mut fwd, mut weight) = (None, None);
    let mut st = DestinationStatus::new(Destination::new((addr, port).into()));
    let mut tunnel = Tunnel::default();
    for a in attrs {
        match a {
            DestAttr::FwdMethod(v) => fwd = Some(*v),
            DestAttr::Weight(v) => weight = Some(*v),
            DestAttr::UpperThreshold(v) => st.dest.upper_threshold = *v,
            DestAttr::LowerThreshold(v) => st.dest.lower_threshold = *v,
            DestAttr::ActiveConns(v) => st.active_conns = *v,
            DestAttr::InactConns(v) => st.inactive_conns = *v,
            DestAttr::PersistConns(v) => st.persist_conns = *v,
            DestAttr::TunType(v) => tunnel.kind = TunnelType::from_raw(*v),
            DestAttr::TunPort(v) => tunnel.port = *v,
            DestAttr::TunFlags(v) => tunnel.flags = TunnelFlags::from_bits_retain(*v),
            _ => {}
        }
    }
    let fwd = fwd.ok_or_else(|| decode("IPVS_DEST_ATTR_FWD_METHOD missing"))?;
    let weight = weight.ok_or_else(|| decode("IPVS_DEST_ATTR_WEIGHT missing"))?;
    st.dest.forward = ForwardMethod::from_raw(fwd);
    st.dest.weight = u32::try_from(weight)
        .map_err(|_| decode(format!("IPVS_DEST_ATTR_WEIGHT: negative weight {weight}")))?;
    st.dest.tunnel = tunnel;
    st.stats32 = stats32.unwrap_or_default();
    st.stats = stats64.unwrap_or(st.stats32);
    Ok(st)
}

/// The destination of a GET_DEST dump message (command NEW_DEST).
pub fn dest_status_from_message(
    msg: &IpvsMessage,
    service_family: AddressFamily,
) -> Result<DestinationStatus> {
    dest_status_from_attrs(msg.dest().ok_or_else(|| decode("IPVS_CMD_ATTR_DEST missing"))?, service_family)
}

// ---------------------------------------------------------------------------------------------
// Replies straight from the kernel's bytes
// ---------------------------------------------------------------------------------------------

/// The attributes of `buf` as (type without flag bits, whole attribute with its header), for
/// the read path: a plain walk over the lengths, stopping with an error at the first attribute
/// whose length does not fit. (`NlasIterator` checks the same, but re-reads the header on every
/// access; on the kernel's replies this walk is the hot loop.)
pub(crate) fn walk_attrs(mut buf: &[u8]) -> impl Iterator<Item = Result<(u16, &[u8])>> {
    std::iter::from_fn(move || {
        if buf.is_empty() {
            return None;
        }
        let header = buf.get(..4).and_then(|h| <[u8; 4]>::try_from(h).ok());
        let Some([l0, l1, k0, k1]) = header else {
            buf = &[];
            return Some(Err(decode("attribute header cut short")));
        };
        let len = usize::from(u16::from_ne_bytes([l0, l1]));
        let Some(attr) = buf.get(..len).filter(|_| len >= 4) else {
            buf = &[];
            return Some(Err(decode(format!("attribute length {len} does not fit"))));
        };
        buf = buf.get(len.next_multiple_of(4)..).unwrap_or_default();
        Some(Ok((u16::from_ne_bytes([k0, k1]) & NLA_TYPE_MASK, attr)))
    })
}

/// The value of the (first) top-level attribute `kind` of a generic-netlink payload (the
/// 4-byte genl header, then the attributes). The attributes after it are walked too, so that a
/// payload the codec refuses (bytes after the nest that are no attribute) is refused here as
/// well (found by the `genl_decoders` fuzz target).
fn genl_nest<'a>(payload: &'a [u8], kind: u16, name: &str) -> Result<&'a [u8]> {
    let attrs = payload.get(GENL_HDRLEN..).ok_or_else(|| decode("generic netlink header cut short"))?;
    let mut found = None;
    for attr in walk_attrs(attrs) {
        let (k, attr) = attr?;
        if k == kind && found.is_none() {
            found = Some(attr.get(4..).unwrap_or_default());
        }
    }
    found.ok_or_else(|| decode(format!("{name} missing")))
}

/// The attributes of the top-level nest `kind` of a generic-netlink payload, each parsed by
/// `parse`, except its STATS and STATS64 attributes (numbered alike in service and destination
/// nests), which are read straight into [`Stats`].
fn nest_with_stats<A>(
    payload: &[u8],
    kind: u16,
    name: &str,
    parse: impl Fn(&NlaBuffer<&[u8]>) -> Result<A, netlink_packet_core::DecodeError>,
) -> Result<(Vec<A>, Option<Stats>, Option<Stats>)> {
    let nest = genl_nest(payload, kind, name)?;
    let mut attrs = Vec::with_capacity(16);
    let (mut stats32, mut stats64) = (None, None);
    for attr in walk_attrs(nest) {
        let (k, attr) = attr.map_err(|e| decode(format!("{name}: {e}")))?;
        let value = attr.get(4..).unwrap_or_default();
        match k {
            IPVS_SVC_ATTR_STATS => stats32 = Some(stats_from_nest(value, StatsLayout::Stats32, name)?),
            IPVS_SVC_ATTR_STATS64 => stats64 = Some(stats_from_nest(value, StatsLayout::Stats64, name)?),
            _ => attrs.push(parse(&NlaBuffer::new(attr)).map_err(|e| decode(format!("{name}: {e}")))?),
        }
    }
    Ok((attrs, stats32, stats64))
}

/// A GET_SERVICE reply or service dump entry, decoded from the generic-netlink payload
/// (header and attributes) as the kernel sent it. The same result as
/// [`service_status_from_message`] on the decoded message, without building it: the
/// statistics nests are read straight into [`Stats`]. This is the client's read path.
pub fn service_status_from_genl(payload: &[u8]) -> Result<ServiceStatus> {
    let (attrs, stats32, stats64) =
        nest_with_stats(payload, IPVS_CMD_ATTR_SERVICE, "IPVS_CMD_ATTR_SERVICE", |nla| {
            ServiceAttr::parse(nla)
        })?;
    service_status_from_parts(&attrs, stats32, stats64)
}

/// A destination dump entry, decoded from the generic-netlink payload as the kernel sent it:
/// the same result as [`dest_status_from_message`] on the decoded message, without building it
/// (only the DEST nest is decoded: another top-level nest is skipped, not checked).
pub fn dest_status_from_genl(payload: &[u8], service_family: AddressFamily) -> Result<DestinationStatus> {
    let (attrs, stats32, stats64) =
        nest_with_stats(payload, IPVS_CMD_ATTR_DEST, "IPVS_CMD_ATTR_DEST", |nla| DestAttr::parse(nla))?;
    dest_status_from_parts(&attrs, service_family, stats32, stats64)
}

/// The key of a service dump entry or GET_SERVICE reply, from the kernel's bytes: only the
/// identifying attributes (AF, PROTOCOL, ADDR, PORT, FWMARK) are decoded, each with the same
/// decoder as in [`service_status_from_genl`], so the key is the one the full decode gives.
pub fn service_key_from_genl(payload: &[u8]) -> Result<ServiceKey> {
    use crate::codec::consts::{
        IPVS_SVC_ATTR_ADDR, IPVS_SVC_ATTR_AF, IPVS_SVC_ATTR_FWMARK, IPVS_SVC_ATTR_PORT,
        IPVS_SVC_ATTR_PROTOCOL,
    };
    let name = "IPVS_CMD_ATTR_SERVICE";
    let nest = genl_nest(payload, IPVS_CMD_ATTR_SERVICE, name)?;
    let mut attrs = Vec::with_capacity(5);
    for attr in walk_attrs(nest) {
        let (k, attr) = attr.map_err(|e| decode(format!("{name}: {e}")))?;
        if matches!(
            k,
            IPVS_SVC_ATTR_AF
                | IPVS_SVC_ATTR_PROTOCOL
                | IPVS_SVC_ATTR_ADDR
                | IPVS_SVC_ATTR_PORT
                | IPVS_SVC_ATTR_FWMARK
        ) {
            attrs
                .push(ServiceAttr::parse(&NlaBuffer::new(attr)).map_err(|e| decode(format!("{name}: {e}")))?);
        }
    }
    service_key_from_attrs(&attrs)
}

/// The key of a real-server dump entry, from the kernel's bytes: only ADDR, PORT and
/// ADDR_FAMILY are decoded, each with the same decoder as in [`dest_status_from_genl`].
pub fn dest_key_from_genl(payload: &[u8], service_family: AddressFamily) -> Result<DestinationKey> {
    use crate::codec::consts::{IPVS_DEST_ATTR_ADDR, IPVS_DEST_ATTR_ADDR_FAMILY, IPVS_DEST_ATTR_PORT};
    let name = "IPVS_CMD_ATTR_DEST";
    let nest = genl_nest(payload, IPVS_CMD_ATTR_DEST, name)?;
    let mut attrs = Vec::with_capacity(3);
    for attr in walk_attrs(nest) {
        let (k, attr) = attr.map_err(|e| decode(format!("{name}: {e}")))?;
        if matches!(k, IPVS_DEST_ATTR_ADDR | IPVS_DEST_ATTR_PORT | IPVS_DEST_ATTR_ADDR_FAMILY) {
            attrs.push(DestAttr::parse(&NlaBuffer::new(attr)).map_err(|e| decode(format!("{name}: {e}")))?);
        }
    }
    dest_key_from_attrs(&attrs, service_family)
}

/// A sync-daemon dump entry, from the kernel's bytes.
pub fn daemon_from_genl(payload: &[u8]) -> Result<SyncDaemon> {
    let m = message_from_genl(payload)?;
    daemon_from_attrs(m.daemon().ok_or_else(|| decode("IPVS_CMD_ATTR_DAEMON missing"))?)
}

/// The whole message of a generic-netlink payload, decoded by the codec.
pub fn message_from_genl(payload: &[u8]) -> Result<IpvsMessage> {
    let (header, attrs) =
        payload.split_at_checked(GENL_HDRLEN).ok_or_else(|| decode("generic netlink header cut short"))?;
    let header = GenlHeader { cmd: header[0], version: header[1] };
    IpvsMessage::parse_with_param(attrs, header).map_err(|e| decode(e.to_string()))
}

/// A sync-daemon nest (GET_DAEMON dump entry, or a NEW_DAEMON request). STATE, MCAST_IFN and
/// SYNC_ID are required; the 4.3+ options read as 0/`None` when absent. A 6.1 kernel reports
/// the values in effect, defaults filled in (group 224.0.0.81, port 8848, TTL 1, the computed
/// maximum length), not the zeros a daemon may have been started with.
pub fn daemon_from_attrs(attrs: &[DaemonAttr]) -> Result<SyncDaemon> {
    let (mut state, mut ifn, mut id) = (None, None, None);
    let mut d = SyncDaemon::new(SyncRole::Master, "", 0);
    for a in attrs {
        match a {
            DaemonAttr::State(v) => state = Some(*v),
            DaemonAttr::McastIfn(v) => ifn = Some(v.clone()),
            DaemonAttr::SyncId(v) => id = Some(*v),
            DaemonAttr::SyncMaxlen(v) => d.max_len = *v,
            DaemonAttr::McastGroup(g) => d.group = Some(IpAddr::V4(*g)),
            DaemonAttr::McastGroup6(g) => d.group = Some(IpAddr::V6(*g)),
            DaemonAttr::McastPort(v) => d.port = *v,
            DaemonAttr::McastTtl(v) => d.ttl = *v,
            _ => {}
        }
    }
    d.role = role_from_raw(state.ok_or_else(|| decode("IPVS_DAEMON_ATTR_STATE missing"))?)?;
    d.interface =
        ipvs_core::InterfaceName::from(ifn.ok_or_else(|| decode("IPVS_DAEMON_ATTR_MCAST_IFN missing"))?);
    d.sync_id = id.ok_or_else(|| decode("IPVS_DAEMON_ATTR_SYNC_ID missing"))?;
    Ok(d)
}

/// The timeouts of a GET_CONFIG reply (command SET_CONFIG) or a SET_CONFIG request. An absent
/// attribute reads as 0 (the kernel omits TCP or UDP when that protocol is not built in).
pub fn timeouts_from_message(msg: &IpvsMessage) -> Result<Timeouts> {
    let mut t = Timeouts::new(0, 0, 0);
    for a in &msg.nlas {
        match a {
            IpvsAttr::TimeoutTcp(v) => t.tcp = *v,
            IpvsAttr::TimeoutTcpFin(v) => t.tcp_fin = *v,
            IpvsAttr::TimeoutUdp(v) => t.udp = *v,
            _ => {}
        }
    }
    Ok(t)
}

/// The version and table size of a GET_INFO reply (command SET_INFO); both are required.
pub fn info_from_message(msg: &IpvsMessage) -> Result<Info> {
    let (mut version, mut size) = (None, None);
    for a in &msg.nlas {
        match a {
            IpvsAttr::InfoVersion(v) => version = Some(*v),
            IpvsAttr::InfoConnTabSize(v) => size = Some(*v),
            _ => {}
        }
    }
    Ok(Info::new(
        version.ok_or_else(|| decode("IPVS_INFO_ATTR_VERSION missing"))?,
        size.ok_or_else(|| decode("IPVS_INFO_ATTR_CONN_TAB_SIZE missing"))?,
    ))
}

// ---------------------------------------------------------------------------------------------
// Replies: model -> attributes, as a 6.1 kernel writes them
// ---------------------------------------------------------------------------------------------

/// A service nest exactly as `ip_vs_genl_fill_service` writes it (`ip_vs_ctl.c:3131-3176`):
/// AF, FWMARK or (PROTOCOL, 16-byte ADDR, PORT), SCHED_NAME, PE_NAME (if bound), FLAGS (the
/// flags as stored, mask `0xffff_ffff`), TIMEOUT, NETMASK, STATS (from `stats32`), STATS64.
pub fn service_reply_attrs(status: &ServiceStatus) -> Vec<ServiceAttr> {
    let s = &status.service;
    let mut attrs = service_key_attrs(&s.key);
    attrs.push(ServiceAttr::SchedName(s.scheduler.name().to_owned()));
    if let Some(pe) = &s.pe_name {
        attrs.push(ServiceAttr::PeName(pe.as_str().to_owned()));
    }
    attrs.extend([
        ServiceAttr::Flags { flags: s.flags.bits(), mask: u32::MAX },
        ServiceAttr::Timeout(s.timeout),
        ServiceAttr::Netmask(raw_netmask(&s.netmask)),
        ServiceAttr::Stats(stats_attrs(&status.stats32)),
        ServiceAttr::Stats64(stats_attrs(&status.stats)),
    ]);
    attrs
}

/// A destination nest exactly as `ip_vs_genl_fill_dest` writes it (`ip_vs_ctl.c:3346-3391`):
/// ADDR (16 bytes), PORT, FWD_METHOD, WEIGHT, TUN_TYPE, TUN_PORT, TUN_FLAGS, U_THRESH,
/// L_THRESH, ACTIVE_CONNS, INACT_CONNS, PERSIST_CONNS, ADDR_FAMILY, STATS, STATS64.
pub fn dest_reply_attrs(status: &DestinationStatus) -> Vec<DestAttr> {
    let d = &status.dest;
    vec![
        DestAttr::Address(InetAddr::from(d.addr)),
        DestAttr::Port(d.port),
        DestAttr::FwdMethod(d.forward.to_raw()),
        DestAttr::Weight(i32::from_ne_bytes(d.weight.to_ne_bytes())),
        DestAttr::TunType(d.tunnel.kind.to_raw()),
        DestAttr::TunPort(d.tunnel.port),
        DestAttr::TunFlags(d.tunnel.flags.bits()),
        DestAttr::UpperThreshold(d.upper_threshold),
        DestAttr::LowerThreshold(d.lower_threshold),
        DestAttr::ActiveConns(status.active_conns),
        DestAttr::InactConns(status.inactive_conns),
        DestAttr::PersistConns(status.persist_conns),
        DestAttr::AddressFamily(d.family().to_raw()),
        DestAttr::Stats(stats_attrs(&status.stats32)),
        DestAttr::Stats64(stats_attrs(&status.stats)),
    ]
}

/// A sync-daemon nest exactly as `ip_vs_genl_fill_daemon` writes it (`ip_vs_ctl.c:3523-3556`):
/// STATE, MCAST_IFN, SYNC_ID, SYNC_MAXLEN, MCAST_PORT, MCAST_TTL, then MCAST_GROUP or
/// MCAST_GROUP6 when a group is known.
pub fn daemon_reply_attrs(d: &SyncDaemon) -> Vec<DaemonAttr> {
    let mut attrs = vec![
        DaemonAttr::State(match d.role {
            SyncRole::Master => IP_VS_STATE_MASTER,
            SyncRole::Backup => IP_VS_STATE_BACKUP,
        }),
        DaemonAttr::McastIfn(d.interface.as_bytes().to_vec()),
        DaemonAttr::SyncId(d.sync_id),
        DaemonAttr::SyncMaxlen(d.max_len),
        DaemonAttr::McastPort(d.port),
        DaemonAttr::McastTtl(d.ttl),
    ];
    match d.group {
        Some(IpAddr::V4(g)) => attrs.push(DaemonAttr::McastGroup(g)),
        Some(IpAddr::V6(g)) => attrs.push(DaemonAttr::McastGroup6(g)),
        None => {}
    }
    attrs
}

/// The GET_INFO reply attributes: VERSION, CONN_TAB_SIZE.
pub fn info_reply_attrs(info: &Info) -> Vec<IpvsAttr> {
    vec![IpvsAttr::InfoVersion(info.version), IpvsAttr::InfoConnTabSize(info.conn_tab_size)]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::net::Ipv4Addr;

    fn sample_ops() -> Vec<Operation> {
        let k4 = ServiceKey::tcp("10.1.2.3".parse().unwrap(), 80);
        let k6 = ServiceKey::fwmark(7, AddressFamily::Inet6);
        let svc = Service::new(k4)
            .with_scheduler(Scheduler::Sh)
            .with_persistence(300, Some(Netmask::V4(Ipv4Addr::new(255, 255, 255, 0))))
            .with_flags(ServiceFlags::SH_PORT)
            .with_pe(PeName::sip());
        let d = Destination::new("192.168.1.10:8080".parse().unwrap())
            .with_forward(ForwardMethod::Masquerade)
            .with_weight(3)
            .with_thresholds(100, 50);
        let t = Destination::new("10.9.9.9:0".parse().unwrap())
            .with_forward(ForwardMethod::Tunnel)
            .with_tunnel(Tunnel::gue(6080).with_flags(TunnelFlags::CSUM));
        let mut daemon = SyncDaemon::new(SyncRole::Backup, "dummy0", 9);
        daemon.group = Some("ff02::1234".parse().unwrap());
        daemon.port = 9000;
        vec![
            Operation::AddService(svc.clone()),
            Operation::EditService(Service::new(k6).with_persistence(10, Some(Netmask::V6(64)))),
            Operation::DeleteService(k4),
            Operation::AddDestination(k4, d.clone()),
            Operation::EditDestination(k6, t),
            Operation::DeleteDestination(k4, d.key()),
            Operation::Flush,
            Operation::Zero(None),
            Operation::Zero(Some(k6)),
            Operation::SetTimeouts(Timeouts::new(900, 0, 30)),
            Operation::StartDaemon(SyncDaemon::new(SyncRole::Master, "lo", 1)),
            Operation::StartDaemon(daemon),
            Operation::StopDaemon(SyncRole::Backup),
        ]
    }

    #[test]
    fn operations_round_trip_through_messages() {
        for op in sample_ops() {
            let msg = operation_message(&op).unwrap();
            assert_eq!(operation_from_message(&msg).unwrap(), op, "{op}");
        }
    }

    #[test]
    fn service_reply_round_trips_and_falls_back_to_stats32() {
        let key = ServiceKey::udp("2001:db8::5".parse().unwrap(), 53);
        let mut svc = Service::new(key).with_flags(ServiceFlags::ONEPACKET);
        svc.flags |= ServiceFlags::HASHED;
        let mut st = ServiceStatus::new(svc);
        st.stats.conns = 1 << 40;
        st.stats.in_bytes = 5;
        st.stats32.in_bytes = 5;
        let attrs = service_reply_attrs(&st);
        assert_eq!(service_status_from_attrs(&attrs).unwrap(), st);
        // An old kernel (before 4.1) has no STATS64.
        let old: Vec<_> = attrs.into_iter().filter(|a| !matches!(a, ServiceAttr::Stats64(_))).collect();
        let parsed = service_status_from_attrs(&old).unwrap();
        assert_eq!(parsed.stats, st.stats32);
    }

    #[test]
    fn dest_without_addr_family_or_tunnel_takes_service_family() {
        let st = DestinationStatus::new(Destination::new("[2001:db8::9]:80".parse().unwrap()));
        let attrs: Vec<_> = dest_reply_attrs(&st)
            .into_iter()
            .filter(|a| {
                !matches!(
                    a,
                    DestAttr::AddressFamily(_)
                        | DestAttr::TunType(_)
                        | DestAttr::TunPort(_)
                        | DestAttr::TunFlags(_)
                )
            })
            .collect();
        assert_eq!(dest_status_from_attrs(&attrs, AddressFamily::Inet6).unwrap(), st);
    }

    #[test]
    fn malformed_replies_name_the_attribute() {
        let err = service_status_from_attrs(&[ServiceAttr::Protocol(6)]).unwrap_err();
        assert_eq!(err, Error::decode("IPVS_SVC_ATTR_AF missing"));
        let err =
            service_status_from_attrs(&[ServiceAttr::AddressFamily(3), ServiceAttr::Fwmark(1)]).unwrap_err();
        assert!(err.to_string().contains("IPVS_SVC_ATTR_AF: unsupported address family 3"), "{err}");
        let mut attrs =
            dest_reply_attrs(&DestinationStatus::new(Destination::new("10.0.0.1:1".parse().unwrap())));
        for a in &mut attrs {
            if let DestAttr::Weight(w) = a {
                *w = -1;
            }
        }
        let err = dest_status_from_attrs(&attrs, AddressFamily::Inet).unwrap_err();
        assert!(err.to_string().contains("IPVS_DEST_ATTR_WEIGHT"), "{err}");
        let err = daemon_from_attrs(&[DaemonAttr::State(1)]).unwrap_err();
        assert!(err.to_string().contains("IPVS_DAEMON_ATTR_MCAST_IFN"), "{err}");
        let mut nm = service_reply_attrs(&ServiceStatus::new(Service::new(ServiceKey::fwmark(
            1,
            AddressFamily::Inet6,
        ))));
        for a in &mut nm {
            if let ServiceAttr::Netmask(m) = a {
                *m = RawNetmask::from_ipv6_prefix(200);
            }
        }
        let err = service_status_from_attrs(&nm).unwrap_err();
        assert!(err.to_string().contains("IPVS_SVC_ATTR_NETMASK"), "{err}");
    }

    #[test]
    fn daemon_request_sends_optional_attrs_only_when_set() {
        let d = SyncDaemon::new(SyncRole::Master, "eth0", 3);
        assert_eq!(daemon_attrs(&d).len(), 3);
        let mut d2 = d.clone();
        d2.max_len = 1400;
        d2.ttl = 2;
        assert_eq!(daemon_attrs(&d2).len(), 5);
    }
}
