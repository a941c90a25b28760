//! `ipvsadm -S` and the `ipvsadm -L` listings, printed from model values exactly as ipvsadm
//! 1.31 prints them (column widths, trailing spaces, truncation, signed and unsigned numbers,
//! and its sort order with the comparator's quirks).
//!
//! Inputs are what a [`Backend`](crate::Backend) returns, in the kernel's order: each service
//! with its real servers. Sorting (unless `--nosort`) is done here, as ipvsadm does it.
//!
//! ```
//! use ipvs_core::ipvsadm::{list, NumericResolver};
//! use ipvs_core::{Destination, ForwardMethod, Service, ServiceKey, Scheduler};
//!
//! let vip = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80);
//! let rules = vec![(
//!     Service::new(vip).with_scheduler(Scheduler::Wrr).with_persistence(360, None),
//!     vec![Destination::new("192.168.1.10:80".parse().unwrap()).with_forward(ForwardMethod::Masquerade)],
//! )];
//! assert_eq!(
//!     list::save_rules(&rules, true, &NumericResolver),
//!     "-A -t 10.0.0.1:80 -s wrr -p 360\n-a -t 10.0.0.1:80 -r 192.168.1.10:80 -m -w 1\n"
//! );
//! ```
//!
//! # Numbers and names
//!
//! The fwmark is printed signed (`%d`, as 1.31 does: marks of 2^31 and more are negative), as
//! are weights in the default listing and the timeouts of `--timeout`. Names (without `-n`) come
//! from the [`Resolver`]; an `addr:port` label is cut to 59 bytes, as ipvsadm's buffer cuts it.

use std::cmp::Ordering;
use std::fmt::Write as _;
use std::net::IpAddr;

use super::cmdline::ListFormat;
use super::libc::{inet_ntop6, truncate_bytes};
use super::Resolver;
use crate::dest::{Destination, DestinationKey, ForwardMethod, TunnelType};
use crate::service::{AddressFamily, Netmask, Protocol, Service, ServiceFlags, ServiceKey};
use crate::status::{DestinationStatus, Info, ServiceStatus, Stats, SyncDaemon, SyncRole, Timeouts};

/// What ipvsadm knows of a service when printing it.
struct SvcView<'a> {
    service: &'a Service,
    stats: Stats,
    dests: Dests<'a>,
}

/// A service's real servers, as a backend reports them or as configured.
#[derive(Clone, Copy)]
enum Dests<'a> {
    Status(&'a [DestinationStatus]),
    Config(&'a [Destination]),
}

impl<'a> Dests<'a> {
    fn len(self) -> usize {
        match self {
            Dests::Status(d) => d.len(),
            Dests::Config(d) => d.len(),
        }
    }

    fn get(self, i: usize) -> Option<DestView<'a>> {
        match self {
            Dests::Status(d) => d.get(i).map(DestView::from_status),
            Dests::Config(d) => d.get(i).map(DestView::from_config),
        }
    }
}

/// What ipvsadm knows of a real server when printing it.
#[derive(Clone)]
struct DestView<'a> {
    dest: &'a Destination,
    active: u32,
    inactive: u32,
    persist: u32,
    stats: Stats,
}

impl<'a> DestView<'a> {
    fn from_status(d: &'a DestinationStatus) -> Self {
        DestView {
            dest: &d.dest,
            active: d.active_conns,
            inactive: d.inactive_conns,
            persist: d.persist_conns,
            stats: d.stats,
        }
    }

    fn from_config(d: &'a Destination) -> Self {
        DestView { dest: d, active: 0, inactive: 0, persist: 0, stats: Stats::default() }
    }
}

/// Buffers reused from one service to the next, so that a listing allocates nothing per line.
#[derive(Default)]
struct Scratch {
    keys: Vec<RawDest>,
    order: Vec<u32>,
    tmp: Vec<u32>,
    dname: String,
}

// ---------------------------------------------------------------------------------------------
// Sorting.

/// An address as the comparators see it: four host-order 32-bit words (IPv4 in the first).
fn addr_words(addr: &IpAddr) -> [u32; 4] {
    match addr {
        IpAddr::V4(a) => [u32::from(*a), 0, 0, 0],
        IpAddr::V6(a) => {
            let o = a.octets();
            let w = |i: usize| u32::from_be_bytes([o[i], o[i + 1], o[i + 2], o[i + 3]]);
            [w(0), w(4), w(8), w(12)]
        }
    }
}

fn diff32(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

/// libipvs's `ipvs_cmp_services`: by fwmark, family, protocol, address, port, each compared
/// by subtracting; the fwmark and address differences are unsigned 32-bit values stored in an
/// `int`, so values 2^31 or more apart compare the wrong way round. Returns the `int`.
///
/// ```
/// use ipvs_core::ipvsadm::list::compare_services;
/// use ipvs_core::ServiceKey;
/// let a = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80);
/// let b = ServiceKey::tcp("192.168.0.1".parse().unwrap(), 80);
/// assert!(compare_services(&a, &b) > 0); // 10.0.0.1 - 192.168.0.1 wraps to a positive int
/// ```
pub fn compare_services(a: &ServiceKey, b: &ServiceKey) -> i32 {
    RawService::compare(&RawService::of(a), &RawService::of(b))
}

/// A service key as libipvs's comparator sees it.
#[derive(Debug, Clone, Copy)]
struct RawService {
    fwmark: u32,
    af: u16,
    protocol: u16,
    words: [u32; 4],
    port: u16,
}

impl RawService {
    fn of(k: &ServiceKey) -> Self {
        match k {
            ServiceKey::Addr { protocol, addr, port } => RawService {
                fwmark: 0,
                af: AddressFamily::of(addr).to_raw(),
                protocol: protocol.to_raw(),
                words: addr_words(addr),
                port: *port,
            },
            ServiceKey::Fwmark { mark, family } => {
                RawService { fwmark: *mark, af: family.to_raw(), protocol: 0, words: [0; 4], port: 0 }
            }
        }
    }

    fn compare(a: &Self, b: &Self) -> i32 {
        let mut r = diff32(a.fwmark, b.fwmark);
        if r != 0 {
            return r;
        }
        r = i32::from(a.af) - i32::from(b.af);
        if r != 0 {
            return r;
        }
        r = i32::from(a.protocol) - i32::from(b.protocol);
        if r != 0 {
            return r;
        }
        r = compare_words(a.af == AddressFamily::Inet6.to_raw(), &a.words, &b.words);
        if r != 0 {
            return r;
        }
        i32::from(a.port) - i32::from(b.port)
    }
}

/// A real-server key as libipvs's comparator sees it.
#[derive(Debug, Clone, Copy)]
struct RawDest {
    v6: bool,
    words: [u32; 4],
    port: u16,
}

impl RawDest {
    fn of(k: &DestinationKey) -> Self {
        RawDest { v6: k.addr.is_ipv6(), words: addr_words(&k.addr), port: k.port }
    }

    fn compare(a: &Self, b: &Self) -> i32 {
        let r = compare_words(a.v6, &a.words, &b.words);
        if r != 0 {
            return r;
        }
        i32::from(a.port) - i32::from(b.port)
    }
}

fn compare_words(v6: bool, a: &[u32; 4], b: &[u32; 4]) -> i32 {
    if v6 {
        let mut r = 0;
        for i in 0..4 {
            r = diff32(a[i], b[i]);
            if r != 0 {
                break;
            }
        }
        r
    } else {
        diff32(a[0], b[0])
    }
}

/// libipvs's `ipvs_cmp_dests`: by address (compared in the first one's family, with the same
/// wrap-around as [`compare_services`]), then port.
pub fn compare_dests(a: &DestinationKey, b: &DestinationKey) -> i32 {
    RawDest::compare(&RawDest::of(a), &RawDest::of(b))
}

/// glibc's `qsort` for these element sizes: a top-down merge sort (first half `n / 2`), taking
/// from the left run while the comparator says `<= 0`. With a consistent comparator this is a
/// stable sort; with ipvsadm's wrapping comparators the exact algorithm decides the order.
/// `tmp` is scratch space of `v.len()` elements (glibc's one temporary buffer).
fn glibc_msort<T: Copy>(v: &mut [T], tmp: &mut [T], cmp: &impl Fn(&T, &T) -> i32) {
    let n = v.len();
    if n <= 1 || tmp.len() < n {
        return;
    }
    let n1 = n / 2;
    {
        let (a, b) = v.split_at_mut(n1);
        glibc_msort(a, tmp, cmp);
        glibc_msort(b, tmp, cmp);
    }
    let (mut i, mut j, mut k) = (0, n1, 0);
    while i < n1 && j < n {
        if cmp(&v[i], &v[j]) <= 0 {
            tmp[k] = v[i];
            i += 1;
        } else {
            tmp[k] = v[j];
            j += 1;
        }
        k += 1;
    }
    // What is left of the right run is in place already.
    tmp[k..k + (n1 - i)].copy_from_slice(&v[i..n1]);
    k += n1 - i;
    v[..k].copy_from_slice(&tmp[..k]);
}

/// The order ipvsadm sorts `n` items in, given each item's comparator key: the items' indices,
/// sorted.
fn sorted_order<K: Copy>(keys: &[K], cmp: impl Fn(&K, &K) -> i32) -> Vec<u32> {
    let mut order: Vec<u32> = (0..keys.len() as u32).collect();
    let mut tmp = vec![0u32; keys.len()];
    let key = |i: &u32| keys.get(*i as usize).copied();
    glibc_msort(&mut order, &mut tmp, &|a: &u32, b: &u32| match (key(a), key(b)) {
        (Some(a), Some(b)) => cmp(&a, &b),
        _ => 0,
    });
    order
}

/// Puts `items` in `order` (a permutation of their indices).
fn permute<T: Clone>(items: &mut [T], order: &[u32]) {
    let copy: Vec<T> = order.iter().filter_map(|&i| items.get(i as usize).cloned()).collect();
    if copy.len() == items.len() {
        items.clone_from_slice(&copy);
    }
}

/// Sorts items by their service key in ipvsadm's order (see [`compare_services`]).
pub fn sort_services<T: Clone>(items: &mut [T], key: impl Fn(&T) -> ServiceKey) {
    let keys: Vec<RawService> = items.iter().map(|t| RawService::of(&key(t))).collect();
    permute(items, &sorted_order(&keys, RawService::compare));
}

/// Sorts items by their real-server key in ipvsadm's order (see [`compare_dests`]).
pub fn sort_dests<T: Clone>(items: &mut [T], key: impl Fn(&T) -> DestinationKey) {
    let keys: Vec<RawDest> = items.iter().map(|t| RawDest::of(&key(t))).collect();
    permute(items, &sorted_order(&keys, RawDest::compare));
}

/// The total order a consistent comparator would give (family, then address, then port), for
/// callers that want a sane order rather than ipvsadm's.
pub fn natural_service_order(a: &ServiceKey, b: &ServiceKey) -> Ordering {
    let k = |s: &ServiceKey| (s.mark(), s.family(), protocol_raw(s), addr_words_of(s), s.port());
    k(a).cmp(&k(b))
}

fn protocol_raw(k: &ServiceKey) -> u16 {
    match k {
        ServiceKey::Addr { protocol, .. } => protocol.to_raw(),
        ServiceKey::Fwmark { .. } => 0,
    }
}

fn addr_words_of(k: &ServiceKey) -> [u32; 4] {
    match k {
        ServiceKey::Addr { addr, .. } => addr_words(addr),
        ServiceKey::Fwmark { .. } => [0; 4],
    }
}

// ---------------------------------------------------------------------------------------------
// Pieces.

/// ipvsadm's `addrport_to_anyname`: `addr:port`, `[addr6]:port`, with names from `resolver`
/// unless `numeric`; ports are looked up only for TCP, UDP and SCTP. Cut to 59 bytes.
pub fn addr_port(
    addr: &IpAddr,
    port: u16,
    protocol: Option<Protocol>,
    numeric: bool,
    resolver: &dyn Resolver,
) -> String {
    let mut s = String::new();
    addr_port_into(&mut s, addr, port, protocol, numeric, resolver);
    s
}

/// [`addr_port`] into `out` (cleared first), without allocating when numeric.
fn addr_port_into(
    out: &mut String,
    addr: &IpAddr,
    port: u16,
    protocol: Option<Protocol>,
    numeric: bool,
    resolver: &dyn Resolver,
) {
    out.clear();
    let v6 = addr.is_ipv6();
    if v6 {
        out.push('[');
    }
    let host = if numeric { None } else { resolver.host_name(*addr) };
    match (host, addr) {
        (Some(h), _) => out.push_str(&h),
        (None, IpAddr::V4(a)) => {
            let _ = write!(out, "{a}");
        }
        (None, IpAddr::V6(a)) => out.push_str(&inet_ntop6(a)),
    }
    out.push_str(if v6 { "]:" } else { ":" });
    let name = match protocol {
        Some(p @ (Protocol::Tcp | Protocol::Udp | Protocol::Sctp)) if !numeric => {
            resolver.service_name(port, p)
        }
        _ => None,
    };
    match name {
        Some(n) => out.push_str(&n),
        None => {
            let _ = write!(out, "{port}");
        }
    }
    truncate_bytes(out, 59);
}

/// ipvsadm's `print_largenum`: 9 columns, scaled to K, M, G or T when large; with `exact`, the
/// full number in max(9, digits + 1) columns.
///
/// ```
/// use ipvs_core::ipvsadm::list::largenum;
/// assert_eq!(largenum(12, false), "       12");
/// assert_eq!(largenum(123_456_789, false), "  123456K");
/// assert_eq!(largenum(123_456_789_012, false), "     123G");
/// assert_eq!(largenum(123_456_789_012, true), " 123456789012");
/// ```
pub fn largenum(v: u64, exact: bool) -> String {
    if exact {
        let len = v.to_string().len();
        let w = if len <= 8 { 9 } else { len + 1 };
        return format!("{v:>w$}");
    }
    if v < 100_000_000 {
        format!("{v:>9}")
    } else if v < 1_000_000_000 {
        format!("{:>8}K", v / 1000)
    } else if v < 100_000_000_000 {
        format!("{:>8}M", v / 1_000_000)
    } else if v < 100_000_000_000_000 {
        format!("{:>8}G", v / 1_000_000_000)
    } else {
        format!("{:>8}T", v / 1_000_000_000_000)
    }
}

/// ipvsadm's `print_sched_flags`: the flag names for the scheduler, comma-separated. For sh
/// and mh only their two named flags are shown (a third flag shows nothing).
pub fn sched_flag_names(scheduler: &str, flags: ServiceFlags) -> String {
    let mut names: Vec<&str> = Vec::new();
    match scheduler {
        "sh" | "mh" => {
            if flags.contains(ServiceFlags::SCHED1) {
                names.push(if scheduler == "sh" { "sh-fallback" } else { "mh-fallback" });
            }
            if flags.contains(ServiceFlags::SCHED2) {
                names.push(if scheduler == "sh" { "sh-port" } else { "mh-port" });
            }
        }
        _ => {
            for (bit, name) in [
                (ServiceFlags::SCHED1, "flag-1"),
                (ServiceFlags::SCHED2, "flag-2"),
                (ServiceFlags::SCHED3, "flag-3"),
            ] {
                if flags.contains(bit) {
                    names.push(name);
                }
            }
        }
    }
    names.join(",")
}

fn sched_name(s: &Service) -> String {
    // libipvs keeps at most 15 bytes of the name.
    let mut n = s.scheduler.name().to_owned();
    truncate_bytes(&mut n, 15);
    n
}

fn pe_name(s: &Service) -> Option<String> {
    s.pe_name.as_ref().filter(|p| !p.as_str().is_empty()).map(|p| {
        let mut n = p.as_str().to_owned();
        truncate_bytes(&mut n, 16);
        n
    })
}

/// The netmask as the 4 bytes libipvs holds (an IPv6 prefix is a native-endian number).
fn netmask_bytes(m: &Netmask) -> [u8; 4] {
    match m {
        Netmask::V4(a) => a.octets(),
        Netmask::V6(p) => u32::from(*p).to_le_bytes(),
    }
}

/// The ` mask ...` / ` -M ...` value, if ipvsadm prints one.
fn netmask_text(s: &Service) -> Option<String> {
    let b = netmask_bytes(&s.netmask);
    match s.key.family() {
        AddressFamily::Inet => (b != [255; 4]).then(|| format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])),
        AddressFamily::Inet6 => {
            let v = u32::from_le_bytes(b);
            (v != 128).then(|| (v as i32).to_string())
        }
    }
}

fn service_protocol(key: &ServiceKey) -> Option<Protocol> {
    match key {
        ServiceKey::Addr { protocol, .. } => Some(*protocol),
        ServiceKey::Fwmark { .. } => None,
    }
}

/// The service label: `TCP  10.0.0.1:80` / `FWM  5` in listings, `-t 10.0.0.1:80` / `-f 5` in
/// rules.
fn svc_label(key: &ServiceKey, rule: bool, numeric: bool, resolver: &dyn Resolver) -> String {
    match key {
        ServiceKey::Fwmark { mark, family } => {
            let mark = *mark as i32;
            let v6 = *family == AddressFamily::Inet6;
            match (rule, v6) {
                (true, true) => format!("-f {mark} -6"),
                (true, false) => format!("-f {mark}"),
                (false, true) => format!("FWM  {mark} IPv6"),
                (false, false) => format!("FWM  {mark}"),
            }
        }
        ServiceKey::Addr { protocol, addr, port } => {
            let vname = addr_port(addr, *port, Some(*protocol), numeric, resolver);
            if rule {
                let opt = match protocol {
                    Protocol::Tcp => "-t",
                    Protocol::Udp => "-u",
                    Protocol::Sctp => "--sctp-service",
                    Protocol::Other(_) => "--xxx-service",
                };
                format!("{opt} {vname}")
            } else {
                let mut s = format!("{:<4} {vname}", protocol.name());
                if addr.is_ipv4() {
                    truncate_bytes(&mut s, 33);
                }
                s
            }
        }
    }
}

fn fwd_name(f: ForwardMethod) -> &'static str {
    f.list_name().unwrap_or("(null)")
}

fn fwd_switch(f: ForwardMethod) -> &'static str {
    f.switch().unwrap_or("(null)")
}

const TUN_FLAG_SHORT: [&str; 3] = ["-c", "+c", "r+c"];
const TUN_FLAG_OPTS: [&str; 3] = ["--tun-nocsum", "--tun-csum", "--tun-remcsum"];

fn tun_flag(table: &[&'static str; 3], d: &Destination) -> &'static str {
    // Other values index past ipvsadm's array (undefined behaviour there).
    table.get(usize::from(d.tunnel.flags.bits())).copied().unwrap_or("(null)")
}

fn tun_info(d: &Destination) -> Option<String> {
    if d.forward != ForwardMethod::Tunnel {
        return None;
    }
    let mut s = match d.tunnel.kind {
        TunnelType::Ipip => "ipip".to_owned(),
        TunnelType::Gue => format!("gue:{}:{}", d.tunnel.port, tun_flag(&TUN_FLAG_SHORT, d)),
        TunnelType::Gre => format!("gre:{}", tun_flag(&TUN_FLAG_SHORT, d)),
        TunnelType::Other(_) => return None,
    };
    truncate_bytes(&mut s, 15);
    Some(s)
}

fn title(f: &ListFormat, rule: bool) -> String {
    const PROT: &str = "Prot LocalAddress:Port";
    const REMOTE: &str = "  -> RemoteAddress:Port\n";
    if f.stats {
        format!(
            "{PROT:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n{REMOTE}",
            "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"
        )
    } else if f.rate {
        format!(
            "{PROT:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n{REMOTE}",
            "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"
        )
    } else if f.thresholds {
        format!(
            "{PROT:<33} {:<10} {:<10} {:<10} {:<10}\n{REMOTE}",
            "Uthreshold", "Lthreshold", "ActiveConn", "InActConn"
        )
    } else if f.persistent_conn {
        format!(
            "{PROT:<33} {:<9} {:<11} {:<10} {:<10}\n{REMOTE}",
            "Weight", "PersistConn", "ActiveConn", "InActConn"
        )
    } else if f.tun_info {
        "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n".to_owned()
    } else if !rule {
        "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n".to_owned()
    } else {
        String::new()
    }
}

/// Prints one service and its real servers (`print_service_entry`).
fn service_entry(
    out: &mut String,
    v: &SvcView<'_>,
    f: &ListFormat,
    rule: bool,
    resolver: &dyn Resolver,
    scratch: &mut Scratch,
) {
    let s = v.service;
    let label = svc_label(&s.key, rule, f.numeric, resolver);
    let sched = sched_name(s);
    let has_sched_flags = s.flags.intersects(ServiceFlags::SCHED_MASK);
    if rule {
        let _ = write!(out, "-A {label} -s {sched}");
        if s.is_persistent() {
            let _ = write!(out, " -p {}", s.timeout);
            if let Some(m) = netmask_text(s) {
                let _ = write!(out, " -M {m}");
            }
        }
        if let Some(pe) = pe_name(s) {
            let _ = write!(out, " --pe {pe}");
        }
        if s.flags.contains(ServiceFlags::ONEPACKET) {
            out.push_str(" -o");
        }
        if has_sched_flags {
            let _ = write!(out, " -b {}", sched_flag_names(&sched, s.flags));
        }
    } else if f.stats || f.rate {
        let st = &v.stats;
        let nums = if f.stats {
            [st.conns, st.in_packets, st.out_packets, st.in_bytes, st.out_bytes]
        } else {
            [st.cps, st.in_pps, st.out_pps, st.in_bps, st.out_bps]
        };
        let _ = write!(out, "{label:<33}");
        for n in nums {
            out.push_str(&largenum(n, f.exact));
        }
    } else {
        let _ = write!(out, "{label} {sched}");
        if has_sched_flags {
            let _ = write!(out, " ({})", sched_flag_names(&sched, s.flags));
        }
        if s.is_persistent() {
            let _ = write!(out, " persistent {}", s.timeout);
            if let Some(m) = netmask_text(s) {
                let _ = write!(out, " mask {m}");
            }
            if let Some(pe) = pe_name(s) {
                let _ = write!(out, " pe {pe}");
            }
        }
        if s.flags.contains(ServiceFlags::ONEPACKET) {
            out.push_str(" ops");
        }
    }
    out.push('\n');

    let n = v.dests.len();
    scratch.order.clear();
    scratch.order.extend(0..n as u32);
    if !f.nosort {
        scratch.keys.clear();
        scratch.keys.extend((0..n).filter_map(|i| v.dests.get(i)).map(|d| RawDest::of(&d.dest.key())));
        scratch.tmp.clear();
        scratch.tmp.resize(n, 0);
        let keys = &scratch.keys;
        glibc_msort(&mut scratch.order, &mut scratch.tmp, &|a: &u32, b: &u32| match (
            keys.get(*a as usize),
            keys.get(*b as usize),
        ) {
            (Some(a), Some(b)) => RawDest::compare(a, b),
            _ => 0,
        });
    }
    let proto = service_protocol(&s.key);
    let mut dname = std::mem::take(&mut scratch.dname);
    for e in scratch.order.iter().filter_map(|&i| v.dests.get(i as usize)) {
        let d = e.dest;
        addr_port_into(&mut dname, &d.addr, d.port, proto, f.numeric, resolver);
        if !rule && d.addr.is_ipv4() {
            truncate_bytes(&mut dname, 28);
        }
        let weight = d.weight as i32;
        if rule {
            let _ = write!(out, "-a {label} -r {dname} {} -w {weight}", fwd_switch(d.forward));
            if d.forward == ForwardMethod::Tunnel {
                match d.tunnel.kind {
                    TunnelType::Gre => {
                        let _ = write!(out, " --tun-type gre {}", tun_flag(&TUN_FLAG_OPTS, d));
                    }
                    TunnelType::Gue => {
                        let _ = write!(
                            out,
                            " --tun-type gue --tun-port {} {}",
                            d.tunnel.port,
                            tun_flag(&TUN_FLAG_OPTS, d)
                        );
                    }
                    TunnelType::Ipip => out.push_str(" --tun-type ipip"),
                    TunnelType::Other(_) => {}
                }
            }
            out.push('\n');
        } else if f.stats {
            let st = &e.stats;
            let _ = write!(out, "  -> {dname:<28}");
            for n in [st.conns, st.in_packets, st.out_packets, st.in_bytes, st.out_bytes] {
                out.push_str(&largenum(n, f.exact));
            }
            out.push('\n');
        } else if f.rate {
            let st = &e.stats;
            let _ = write!(out, "  -> {dname:<28} {:>8} {:>8} {:>8}", st.cps, st.in_pps, st.out_pps);
            out.push_str(&largenum(st.in_bps, f.exact));
            out.push_str(&largenum(st.out_bps, f.exact));
            out.push('\n');
        } else if f.thresholds {
            let _ = writeln!(
                out,
                "  -> {dname:<28} {:<10} {:<10} {:<10} {:<10}",
                d.upper_threshold, d.lower_threshold, e.active, e.inactive
            );
        } else if f.persistent_conn {
            let _ = writeln!(
                out,
                "  -> {dname:<28} {:<9} {:<11} {:<10} {:<10}",
                d.weight, e.persist, e.active, e.inactive
            );
        } else if f.tun_info {
            let ti = tun_info(d).unwrap_or_else(|| "n/a".to_owned());
            let _ = writeln!(
                out,
                "  -> {dname:<28} {:<7} {ti:<13} {weight:<6} {:<10} {:<10}",
                fwd_name(d.forward),
                e.active,
                e.inactive
            );
        } else {
            let _ = writeln!(
                out,
                "  -> {dname:<28} {:<7} {weight:<6} {:<10} {:<10}",
                fwd_name(d.forward),
                e.active,
                e.inactive
            );
        }
    }
    scratch.dname = dname;
}

fn views(services: &[(ServiceStatus, Vec<DestinationStatus>)]) -> Vec<SvcView<'_>> {
    services
        .iter()
        .map(|(s, ds)| SvcView { service: &s.service, stats: s.stats, dests: Dests::Status(ds) })
        .collect()
}

fn list_views(
    views: &mut [SvcView<'_>],
    header: Option<&Info>,
    f: &ListFormat,
    rule: bool,
    r: &dyn Resolver,
) -> String {
    // About what `-S -n` takes per line, so that the text is written into one allocation.
    let lines: usize = views.iter().map(|v| 1 + v.dests.len()).sum();
    let mut out = String::with_capacity(lines * 56 + 256);
    if let Some(info) = header {
        let (a, b, c) = info.version_triple();
        let _ = writeln!(out, "IP Virtual Server version {a}.{b}.{c} (size={})", info.conn_tab_size as i32);
    }
    out.push_str(&title(f, rule));
    let order: Vec<u32> = if f.nosort {
        (0..views.len() as u32).collect()
    } else {
        let keys: Vec<RawService> = views.iter().map(|v| RawService::of(&v.service.key)).collect();
        sorted_order(&keys, RawService::compare)
    };
    let mut scratch = Scratch::default();
    for v in order.iter().filter_map(|&i| views.get(i as usize)) {
        service_entry(&mut out, v, f, rule, r, &mut scratch);
    }
    out
}

/// `ipvsadm -L` (every service): the version line, the title and every service with its real
/// servers, sorted unless `format.nosort`.
pub fn list_all(
    info: &Info,
    services: &[(ServiceStatus, Vec<DestinationStatus>)],
    format: &ListFormat,
    resolver: &dyn Resolver,
) -> String {
    list_views(&mut views(services), Some(info), format, false, resolver)
}

/// `ipvsadm -L -t vip:port` (one service): the title and the service, without the version
/// line.
pub fn list_service(
    service: &ServiceStatus,
    dests: &[DestinationStatus],
    format: &ListFormat,
    resolver: &dyn Resolver,
) -> String {
    let v = SvcView { service: &service.service, stats: service.stats, dests: Dests::Status(dests) };
    let mut out = title(format, false);
    service_entry(&mut out, &v, format, false, resolver, &mut Scratch::default());
    out
}

/// `ipvsadm -S` (`-S -n` with `numeric`): every service and real server as rules, always
/// sorted, no header. Thresholds, timeouts and daemons are not saved (ipvsadm does not).
pub fn save(
    services: &[(ServiceStatus, Vec<DestinationStatus>)],
    numeric: bool,
    resolver: &dyn Resolver,
) -> String {
    let f = ListFormat { numeric, ..ListFormat::default() };
    list_views(&mut views(services), None, &f, true, resolver)
}

/// [`save`] from configurations only (for example a [`RuleSet`](super::rules::RuleSet)).
pub fn save_rules(
    services: &[(Service, Vec<Destination>)],
    numeric: bool,
    resolver: &dyn Resolver,
) -> String {
    let f = ListFormat { numeric, ..ListFormat::default() };
    let mut v: Vec<SvcView<'_>> = services
        .iter()
        .map(|(s, ds)| SvcView { service: s, stats: Stats::default(), dests: Dests::Config(ds) })
        .collect();
    list_views(&mut v, None, &f, true, resolver)
}

/// `ipvsadm -L --timeout`.
///
/// ```
/// use ipvs_core::{ipvsadm::list::list_timeout, Timeouts};
/// assert_eq!(list_timeout(&Timeouts::new(900, 120, 300)), "Timeout (tcp tcpfin udp): 900 120 300\n");
/// ```
pub fn list_timeout(t: &Timeouts) -> String {
    format!("Timeout (tcp tcpfin udp): {} {} {}\n", t.tcp as i32, t.tcp_fin as i32, t.udp as i32)
}

/// `ipvsadm -L --daemon`: one line per daemon, in the order given (the kernel reports the
/// master first). Optional parts are printed when non-zero, the group when known.
pub fn list_daemons(daemons: &[SyncDaemon]) -> String {
    let mut out = String::new();
    for d in daemons {
        let role = match d.role {
            SyncRole::Master => "master",
            SyncRole::Backup => "backup",
        };
        let _ = write!(out, "{role} sync daemon (mcast={}, syncid={}", d.interface, d.sync_id as i32);
        if d.max_len != 0 {
            let _ = write!(out, ", maxlen={}", d.max_len);
        }
        match d.group {
            Some(IpAddr::V4(g)) => {
                let _ = write!(out, ", group={g}");
            }
            Some(IpAddr::V6(g)) => {
                let _ = write!(out, ", group={}", inet_ntop6(&g));
            }
            None => {}
        }
        if d.port != 0 {
            let _ = write!(out, ", port={}", d.port);
        }
        if d.ttl != 0 {
            let _ = write!(out, ", ttl={}", d.ttl);
        }
        out.push_str(")\n");
    }
    out
}
