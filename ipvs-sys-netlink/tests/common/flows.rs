//! Traffic through the real kernel's IPVS, compared packet by packet with the reference
//! simulator (`ipvs_core::sim::Simulator`).
//!
//! # The lab
//!
//! Each scenario runs on a thread of its own that [`enter_netns`] moves into a fresh network
//! namespace, the director. That namespace is set up as `common::kernel()` sets up its
//! namespaces (lo, `dummy0` routing the real servers' ranges), but with one `ip -batch`
//! instead of a dozen commands: under TCG every process start costs about half a second.
//! [`enter_netns`] and [`Lab::new`] add:
//!
//! * a veth pair `vd` (director side, MAC 02:00:00:00:00:01) / `vc` (client side, MAC
//!   02:00:00:00:00:02), both in the director's namespace. The clients are not a second
//!   namespace: an `AF_PACKET` socket on `vc` writes whole Ethernet frames, which the kernel
//!   receives on `vd` exactly as frames from a remote client (PACKET_HOST, PRE_ROUTING,
//!   routing, LOCAL_IN where IPVS schedules). This needs no addresses, routes or neighbour
//!   resolution on the client side and lets the test write any source address and any TCP
//!   flags (a bare SYN, then an ACK) without IP_TRANSPARENT or raw IP sockets. `vc` has IPv6
//!   disabled so it sends nothing of its own;
//! * local routes making every virtual address local: `10.0.0.0/23` and `fd00:1::/64` on `lo`
//!   (IPVS sees only packets that are delivered locally);
//! * routes back to the client ranges (`100.64.0.0/10`, `fc00::/8`) through `vd`, with
//!   `rp_filter` off;
//! * the **sentinel** service `UDP 10.0.1.254:9` (rr, one real server), which the tests never
//!   use: a datagram to it is a *barrier*. Packets sent from one CPU through the veth are
//!   handled in order, so once the sentinel's connection entry for a barrier datagram shows in
//!   `/proc/net/ip_vs_conn`, every earlier packet has been handled (the thread is pinned to the
//!   CPU it started on for that guarantee, and unpinned while it runs `ipvsadm`);
//! * firewall marks: a flow with `fwmark` N is sent with a DSCP code that an nftables rule in
//!   the director's `prerouting` hook (priority mangle) turns into `meta mark set N`, so each
//!   packet carries the mark its flow names. A scenario can also mark by destination, the classic
//!   rule (`ip daddr 10.0.0.128/25 meta mark set N`).
//!
//! # The comparison
//!
//! [`run`] applies every configuration command to the kernel with Debian's `ipvsadm` and
//! to the simulator, compares the results (success, or ipvsadm's message for the error), and
//! for every packet of every flow compares the **whole connection table** (entries and
//! templates: protocol, client, virtual address, where packets go, state) of the kernel with
//! the simulator's. When a packet is expected to change the table, the runner reads the
//! kernel's table until it matches (a bounded number of reads); when it is not, or when the
//! reads run out, it sends a barrier first, so the comparison never depends on timing, and
//! then wants three equal reads before it reports a difference (a read of the table can skip
//! entries while other namespaces change theirs, see [`Lab::stable_read`]). At the end of a
//! scenario it compares every real server's ActiveConn, InActConn and PersistConn (read
//! through `ipvs_sys_netlink::Client`).
//!
//! The leading configuration commands of a scenario go to the kernel in one `ipvsadm -R`
//! (with the sentinel's); every later one is its own `ipvsadm` run.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::Command;

use ipvs_core::ipvsadm::cmdline;
use ipvs_core::ipvsadm::conn::{parse_conn, ConnProtocol};
use ipvs_core::ipvsadm::strerror::{message, Call};
use ipvs_core::sched::Time;
use ipvs_core::sim::{ConnState, Flow, Outcome, Segment, Simulator, TcpState};
use ipvs_core::{DestinationKey, Protocol, ServiceKey};

use crate::common::proc_net;

const DIRECTOR_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
const CLIENT_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];
/// The sentinel service (barriers).
pub const SENTINEL_VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 254);
const SENTINEL_PORT: u16 = 9;
/// Where barrier datagrams come from.
const BARRIER_SRC: Ipv4Addr = Ipv4Addr::new(100, 127, 255, 254);
/// How many times the kernel's table is read while waiting for a packet's effect.
const READS: usize = 400;

// ---------------------------------------------------------------------------------------------
// Packets.

fn sum16(data: &[u8], mut acc: u32) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u32::from(*last) << 8;
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// The transport checksum over the pseudo-header and `seg` (whose checksum field is zero).
fn l4_checksum(src: IpAddr, dst: IpAddr, proto: u8, seg: &[u8]) -> u16 {
    let mut acc = 0;
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            acc = sum16(&s.octets(), acc);
            acc = sum16(&d.octets(), acc);
            acc += u32::from(proto) + seg.len() as u32;
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            acc = sum16(&s.octets(), acc);
            acc = sum16(&d.octets(), acc);
            acc += seg.len() as u32 + u32::from(proto);
        }
        _ => panic!("mixed families"),
    }
    let c = fold(sum16(seg, acc));
    // UDP sends an all-zero checksum as all ones.
    if c == 0 && proto == 17 {
        0xffff
    } else {
        c
    }
}

/// TCP flag bits.
pub const SYN: u8 = 0x02;
/// ACK.
pub const ACK: u8 = 0x10;
/// FIN.
pub const FIN: u8 = 0x01;

fn transport(proto: Protocol, src: SocketAddr, dst: SocketAddr, tcp_flags: u8) -> (u8, Vec<u8>) {
    let mut seg = Vec::new();
    seg.extend_from_slice(&src.port().to_be_bytes());
    seg.extend_from_slice(&dst.port().to_be_bytes());
    let num = match proto {
        Protocol::Udp => {
            let data = b"ipvs-sched";
            seg.extend_from_slice(&((8 + data.len()) as u16).to_be_bytes());
            seg.extend_from_slice(&[0, 0]);
            seg.extend_from_slice(data);
            17
        }
        Protocol::Tcp => {
            let seq: u32 = 1000;
            let ack: u32 = if tcp_flags & ACK != 0 { 1 } else { 0 };
            let seq = if tcp_flags & SYN != 0 { seq } else { seq + 1 };
            seg.extend_from_slice(&seq.to_be_bytes());
            seg.extend_from_slice(&ack.to_be_bytes());
            seg.push(5 << 4);
            seg.push(tcp_flags);
            seg.extend_from_slice(&65535u16.to_be_bytes());
            seg.extend_from_slice(&[0, 0, 0, 0]);
            6
        }
        other => panic!("the lab sends UDP and TCP only, not {other:?}"),
    };
    let c = l4_checksum(src.ip(), dst.ip(), num, &seg);
    let at = if num == 17 { 6 } else { 16 };
    seg[at..at + 2].copy_from_slice(&c.to_be_bytes());
    (num, seg)
}

/// An Ethernet frame from the client MAC to the director MAC carrying one IP packet.
fn frame(proto: Protocol, src: SocketAddr, dst: SocketAddr, tcp_flags: u8, dscp: u8, id: u16) -> Vec<u8> {
    let (num, seg) = transport(proto, src, dst, tcp_flags);
    let mut f = Vec::with_capacity(14 + 40 + seg.len());
    f.extend_from_slice(&DIRECTOR_MAC);
    f.extend_from_slice(&CLIENT_MAC);
    match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            f.extend_from_slice(&0x0800u16.to_be_bytes());
            let mut h = vec![0x45, dscp << 2];
            h.extend_from_slice(&((20 + seg.len()) as u16).to_be_bytes());
            h.extend_from_slice(&id.to_be_bytes());
            h.extend_from_slice(&[0, 0, 64, num, 0, 0]);
            h.extend_from_slice(&s.octets());
            h.extend_from_slice(&d.octets());
            let c = fold(sum16(&h, 0));
            h[10..12].copy_from_slice(&c.to_be_bytes());
            f.extend_from_slice(&h);
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            f.extend_from_slice(&0x86DDu16.to_be_bytes());
            let first: u32 = (6 << 28) | (u32::from(dscp << 2) << 20);
            f.extend_from_slice(&first.to_be_bytes());
            f.extend_from_slice(&(seg.len() as u16).to_be_bytes());
            f.extend_from_slice(&[num, 64]);
            f.extend_from_slice(&s.octets());
            f.extend_from_slice(&d.octets());
        }
        _ => panic!("client {src} and virtual address {dst} are of different families"),
    }
    f.extend_from_slice(&seg);
    f
}

/// An `AF_PACKET` socket sending whole frames out of one interface.
struct PacketSocket {
    fd: OwnedFd,
}

impl PacketSocket {
    fn open(ifname: &str) -> Self {
        let name = std::ffi::CString::new(ifname).unwrap();
        // SAFETY: plain libc calls with valid arguments; the fd is owned right away.
        unsafe {
            let ifindex = libc::if_nametoindex(name.as_ptr());
            assert!(ifindex != 0, "no interface {ifname}: {}", std::io::Error::last_os_error());
            let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0);
            assert!(fd >= 0, "socket(AF_PACKET): {}", std::io::Error::last_os_error());
            let fd = OwnedFd::from_raw_fd(fd);
            let mut sll: libc::sockaddr_ll = std::mem::zeroed();
            sll.sll_family = libc::AF_PACKET as u16;
            sll.sll_ifindex = ifindex as i32;
            let rc = libc::bind(
                fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            );
            assert_eq!(rc, 0, "bind(AF_PACKET, {ifname}): {}", std::io::Error::last_os_error());
            PacketSocket { fd }
        }
    }

    fn send(&self, frame: &[u8]) {
        // SAFETY: the buffer is valid for its length.
        let n = unsafe { libc::send(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
        assert_eq!(n, frame.len() as isize, "send: {}", std::io::Error::last_os_error());
    }
}

/// The calling thread's CPU affinity.
fn affinity() -> libc::cpu_set_t {
    // SAFETY: sched_getaffinity on the calling thread (pid 0) into a zeroed set.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set);
        set
    }
}

fn set_affinity(set: &libc::cpu_set_t) {
    // SAFETY: sched_setaffinity on the calling thread with a valid set.
    unsafe {
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set);
    }
}

/// Pins the calling thread to the CPU it runs on (frames sent from one CPU are received in
/// order), returning the affinity to restore. Processes started while pinned would inherit
/// the pin, so the runner restores the affinity around `ipvsadm`.
fn pin_thread() -> libc::cpu_set_t {
    let old = affinity();
    // SAFETY: sched_getcpu takes no arguments.
    let cpu = unsafe { libc::sched_getcpu() };
    if cpu >= 0 {
        // SAFETY: a zeroed set with one CPU.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: cpu is a valid CPU number (< CPU_SETSIZE).
        unsafe { libc::CPU_SET(cpu as usize, &mut set) };
        set_affinity(&set);
    }
    old
}

// ---------------------------------------------------------------------------------------------
// Connection entries.

/// One entry of the connection table in a form both sides can produce.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Entry {
    /// `TCP`, `UDP`, `IP` (fwmark template).
    pub proto: String,
    /// Client address and port (port 0 for templates).
    pub client: SocketAddr,
    /// `addr:port`, or `fwmark N` for a fwmark template.
    pub vip: String,
    /// Where packets go (`DestIP:DPrt`).
    pub dest: SocketAddr,
    /// State (`UDP`, `ESTABLISHED`, ...); empty for templates.
    pub state: String,
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} -> {} => {} {}", self.proto, self.client, self.vip, self.dest, self.state)
    }
}

fn tcp_state_name(s: TcpState) -> &'static str {
    match s {
        TcpState::None => "NONE",
        TcpState::Established => "ESTABLISHED",
        TcpState::SynSent => "SYN_SENT",
        TcpState::SynRecv => "SYN_RECV",
        TcpState::FinWait => "FIN_WAIT",
        TcpState::TimeWait => "TIME_WAIT",
        TcpState::Close => "CLOSE",
        TcpState::CloseWait => "CLOSE_WAIT",
        TcpState::LastAck => "LAST_ACK",
        TcpState::Listen => "LISTEN",
        TcpState::SynAck => "SYNACK",
    }
}

fn sock(addr: IpAddr, port: u16) -> SocketAddr {
    SocketAddr::new(addr, port)
}

/// The simulator's connection table as the kernel would list it. A template the kernel
/// invalidated (its dest was removed, `ip_vs_check_template`) stays listed there, re-hashed
/// with virtual and dest port 0xffff, until its timer ends; the simulator keeps it unhashed.
pub fn sim_entries(sim: &Simulator) -> BTreeSet<Entry> {
    sim.connections()
        .into_iter()
        .filter(|c| c.hashed || c.state == ConnState::Template)
        .map(|c| {
            let template = c.state == ConnState::Template;
            let proto = match c.protocol {
                Protocol::Other(o) if o.get() == 0 => "IP".to_owned(),
                p => p.name().to_owned(),
            };
            let mut vip = if proto == "IP" {
                let mark = match c.vip.ip() {
                    IpAddr::V4(a) => u32::from(a),
                    IpAddr::V6(a) => u32::from_be_bytes(a.octets()[..4].try_into().unwrap()),
                };
                format!("fwmark {mark}")
            } else {
                c.vip.to_string()
            };
            let mut dest = c.forward_to;
            if template && !c.hashed {
                if proto != "IP" {
                    vip = sock(c.vip.ip(), 0xffff).to_string();
                } else {
                    vip.push_str(":65535");
                }
                dest.set_port(0xffff);
            }
            let state = match c.state {
                ConnState::Template => String::new(),
                ConnState::Tcp(s) => tcp_state_name(s).to_owned(),
                ConnState::Udp => "UDP".to_owned(),
                ConnState::Sctp { .. } => "SCTP?".to_owned(),
            };
            Entry { proto, client: c.client, vip, dest, state }
        })
        .collect()
}

/// The kernel's connection table of this thread's namespace, without the sentinel's entries.
pub fn kernel_entries() -> BTreeSet<Entry> {
    kernel_entries_all().0
}

/// The kernel's table, and the client ports of the barrier datagrams seen.
fn kernel_entries_all() -> (BTreeSet<Entry>, BTreeSet<u16>) {
    let text = proc_net("ip_vs_conn");
    let conns = parse_conn(&text).unwrap_or_else(|e| panic!("parse ip_vs_conn: {e}\n{text}"));
    let mut out = BTreeSet::new();
    let mut barriers = BTreeSet::new();
    for c in conns {
        if c.virtual_addr == IpAddr::V4(SENTINEL_VIP) {
            barriers.insert(c.client_port);
            continue;
        }
        let template = c.client_port == 0;
        let vip = match c.protocol {
            ConnProtocol::Ip => {
                let mut v = format!("fwmark {}", c.fwmark().unwrap_or(0));
                if c.virtual_port == 0xffff {
                    v.push_str(":65535");
                }
                v
            }
            _ => sock(c.virtual_addr, c.virtual_port).to_string(),
        };
        out.insert(Entry {
            proto: c.protocol.name(),
            client: sock(c.client_addr, c.client_port),
            vip,
            dest: sock(c.dest_addr, c.dest_port),
            state: if template { String::new() } else { c.state },
        });
    }
    (out, barriers)
}

/// What differs between two tables, for messages.
pub fn diff(kernel: &BTreeSet<Entry>, sim: &BTreeSet<Entry>) -> String {
    let mut s = String::new();
    for e in kernel.difference(sim) {
        s.push_str(&format!("    only in the kernel:    {e}\n"));
    }
    for e in sim.difference(kernel) {
        s.push_str(&format!("    only in the reference: {e}\n"));
    }
    s
}

// ---------------------------------------------------------------------------------------------
// The lab.

/// Checks that this kernel has IPVS, as `common::kernel()` does (it loads `ip_vs` when
/// needed; a kernel without IPVS fails the test), without creating a namespace, which costs
/// several seconds of process starts under TCG; and loads the lab's modules.
pub fn require_kernel() {
    let present = || std::path::Path::new("/proc/net/ip_vs").exists();
    if !present() {
        let _ = Command::new("modprobe").arg("-q").arg("ip_vs").status();
    }
    assert!(
        present(),
        "this kernel has no IPVS (/proc/net/ip_vs missing): run the kernel tests through scripts/ipvs-vm"
    );
    load_modules();
}

/// The modules the lab uses. The kernel loads them on first use, but when two test processes
/// trigger the same load at once, the second `modprobe` (which sees the module in
/// /proc/modules while it is still initialising) returns early and the kernel then reports
/// "Unknown device type" or "Scheduler not found". So load them all up front and wait until
/// each is live.
const MODULES: &[&str] = &[
    "veth",
    "nf_tables",
    "ip_vs_rr",
    "ip_vs_wrr",
    "ip_vs_lc",
    "ip_vs_wlc",
    "ip_vs_sed",
    "ip_vs_nq",
    "ip_vs_fo",
    "ip_vs_ovf",
    "ip_vs_dh",
    "ip_vs_sh",
    "ip_vs_mh",
    "ip_vs_lblc",
    "ip_vs_lblcr",
    "ip_vs_pe_sip",
];

fn load_modules() {
    let dir = |m: &str| std::path::PathBuf::from(format!("/sys/module/{m}"));
    // A built-in module has a directory but no initstate.
    let live = |m: &str| {
        let d = dir(m);
        d.exists() && std::fs::read_to_string(d.join("initstate")).map_or(true, |s| s.trim() == "live")
    };
    let missing: Vec<&str> = MODULES.iter().copied().filter(|m| !live(m)).collect();
    if missing.is_empty() {
        return;
    }
    let _ = Command::new("modprobe").arg("-q").arg("-a").args(&missing).status();
    for m in missing {
        // Bounded: a module another process is initialising becomes live in milliseconds.
        for _ in 0..2000 {
            if !dir(m).exists() || live(m) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

fn write_sysctl(path: &str, value: &str) {
    let p = format!("/proc/sys/net/{path}");
    std::fs::write(&p, value).unwrap_or_else(|e| panic!("write {p}: {e}"));
}

/// Moves this thread into a fresh network namespace set up as `common::kernel()` sets up its
/// namespaces (lo, dummy0 with the same routes) plus the lab's veth pair and routes, with a
/// single `ip -batch` (process starts are what costs under TCG).
pub fn enter_netns() {
    // SAFETY: unshare takes no pointers; it moves this thread into a new network namespace.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "unshare(CLONE_NEWNET) failed: {}", std::io::Error::last_os_error());
    // New interfaces copy `default`.
    for dev in ["all", "default"] {
        write_sysctl(&format!("ipv4/conf/{dev}/rp_filter"), "0");
    }
    let batch = "\
link set lo up
link add dummy0 type dummy
link set dummy0 up
route add 10.0.0.0/8 dev dummy0
route add 172.16.0.0/12 dev dummy0
route add 192.168.0.0/16 dev dummy0
route add 198.18.0.0/15 dev dummy0
route add 2001:db8::/32 dev dummy0
route add fd00::/8 dev dummy0
link add vd address 02:00:00:00:00:01 type veth peer name vc address 02:00:00:00:00:02
link set vd up
link set vc up
route add 100.64.0.0/10 dev vd
route add fc00::/8 dev vd
route add local 10.0.0.0/23 dev lo table local
route add local fd00:1::/64 dev lo table local
";
    let mut child = Command::new("ip")
        .args(["-batch", "-"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("spawn ip");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), batch.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success(), "ip -batch failed");
    write_sysctl("ipv6/conf/vc/disable_ipv6", "1");
}

/// The ipvsadm rules of the sentinel service.
const SENTINEL_RULES: &str = "-A -u 10.0.1.254:9 -s rr\n-a -u 10.0.1.254:9 -r 192.168.254.1:9 -m\n";

/// The director's side of the test network (see the module docs).
pub struct Lab {
    sock: PacketSocket,
    ip_id: u16,
    barrier_port: u16,
    /// DSCP code of each firewall mark with an nftables rule.
    dscp: HashMap<u32, u8>,
    /// Barriers sent and table reads done (for the report).
    pub barriers: usize,
    /// Reads of the connection table.
    pub reads: usize,
    /// The affinity the thread had before it was pinned.
    free: libc::cpu_set_t,
}

impl Lab {
    /// Runs `f` with the thread unpinned (for starting processes).
    pub fn unpinned<T>(&self, f: impl FnOnce() -> T) -> T {
        let pinned = affinity();
        set_affinity(&self.free);
        let r = f();
        set_affinity(&pinned);
        r
    }

    /// Sets up the lab in this thread's namespace ([`enter_netns`] created it): restores
    /// `rules` (ipvsadm -R text) with the sentinel service, and loads nftables rules that mark
    /// packets: with `dscp_marks` each mark's DSCP code, and each `(prefix, mark)` of
    /// `vip_marks` by destination.
    pub fn new(rules: &str, dscp_marks: &[u32], vip_marks: &[(String, u32)]) -> Lab {
        let mut all = String::from(SENTINEL_RULES);
        all.push_str(rules);
        let mut child = Command::new("ipvsadm")
            .arg("-R")
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn ipvsadm");
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), all.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "ipvsadm -R failed: {}\n{all}", String::from_utf8_lossy(&out.stderr));
        let mut dscp = HashMap::new();
        let mut nft = String::new();
        for (i, m) in dscp_marks.iter().enumerate() {
            let code = i + 1;
            assert!(code < 64, "too many distinct marks");
            nft.push_str(&format!("add rule inet ipvslab pre ip dscp {code} meta mark set {m}\n"));
            nft.push_str(&format!("add rule inet ipvslab pre ip6 dscp {code} meta mark set {m}\n"));
            dscp.insert(*m, code as u8);
        }
        for (range, m) in vip_marks {
            let fam = if range.contains(':') { "ip6" } else { "ip" };
            nft.push_str(&format!("add rule inet ipvslab pre {fam} daddr {range} meta mark set {m}\n"));
        }
        if !nft.is_empty() {
            let text = format!(
                "add table inet ipvslab\nadd chain inet ipvslab pre {{ type filter hook prerouting priority mangle; }}\n{nft}"
            );
            let mut child = Command::new("nft")
                .args(["-f", "-"])
                .stdin(std::process::Stdio::piped())
                .spawn()
                .expect("spawn nft");
            std::io::Write::write_all(&mut child.stdin.take().unwrap(), text.as_bytes()).unwrap();
            assert!(child.wait().unwrap().success(), "nft -f failed:\n{text}");
        }
        let sock = PacketSocket::open("vc");
        let free = pin_thread();
        Lab { sock, ip_id: 1, barrier_port: 1000, dscp, barriers: 0, reads: 0, free }
    }

    /// Sends one packet of `f` (`tcp_flags` for TCP), carrying `dscp_mark`'s code when it is not
    /// zero.
    pub fn send(&mut self, f: &Flow, tcp_flags: u8, dscp_mark: u32) {
        let dscp = match dscp_mark {
            0 => 0,
            m => *self.dscp.get(&m).unwrap_or_else(|| panic!("no nftables rule for mark {m}")),
        };
        self.ip_id = self.ip_id.wrapping_add(1);
        let fr = frame(f.protocol, f.client, f.vip, tcp_flags, dscp, self.ip_id);
        self.sock.send(&fr);
    }

    /// Sends a barrier datagram and waits until the kernel handled it: every packet sent
    /// before has been handled too. Returns the table read then.
    pub fn barrier(&mut self) -> BTreeSet<Entry> {
        self.barrier_port = self.barrier_port.checked_add(1).expect("too many barriers");
        let port = self.barrier_port;
        let f = Flow::udp(
            Time::ZERO,
            sock(IpAddr::V4(BARRIER_SRC), port),
            sock(IpAddr::V4(SENTINEL_VIP), SENTINEL_PORT),
        );
        self.send(&f, 0, 0);
        self.barriers += 1;
        for i in 0..READS * 10 {
            let (t, seen) = kernel_entries_all();
            self.reads += 1;
            if seen.contains(&port) {
                return t;
            }
            if i > 20 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        panic!("the barrier datagram from port {port} never showed in ip_vs_conn: the lab is broken");
    }

    /// Reads the kernel's table until it equals `want` (bounded); when the reads run out,
    /// sends a barrier and returns [`Lab::stable_read`].
    pub fn settle(&mut self, want: &BTreeSet<Entry>) -> BTreeSet<Entry> {
        for i in 0..READS {
            let t = kernel_entries();
            self.reads += 1;
            if &t == want {
                return t;
            }
            if i > 20 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        self.barrier();
        self.stable_read(want)
    }

    /// The table once every packet sent so far has been handled: after a barrier, `want` if
    /// a read shows it, else a table that three reads in a row agree on.
    ///
    /// One read is not enough: `/proc/net/ip_vs_conn` is read in page-sized chunks, and each
    /// chunk finds its start by counting entries of the kernel's one connection hash table,
    /// which holds every namespace's connections. When another namespace (another test)
    /// adds or removes connections between two chunks, a read skips or repeats entries.
    pub fn stable_read(&mut self, want: &BTreeSet<Entry>) -> BTreeSet<Entry> {
        let mut last: Option<BTreeSet<Entry>> = None;
        let mut same = 0;
        for _ in 0..READS {
            let t = kernel_entries();
            self.reads += 1;
            if &t == want {
                return t;
            }
            if last.as_ref() == Some(&t) {
                same += 1;
                if same >= 2 {
                    return t;
                }
            } else {
                same = 0;
            }
            last = Some(t);
        }
        last.unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios.

/// One step of a scenario.
#[derive(Debug, Clone)]
pub enum Step {
    /// An ipvsadm command line (without the program name), applied to both.
    Ipvsadm(Vec<String>),
    /// A flow: one UDP datagram, or a TCP SYN then an ACK.
    Flow(Flow),
    /// The client closes a TCP flow: a FIN (with ACK). (No RST: a connection in CLOSE
    /// expires after 10 s, which a slow run could reach; FIN_WAIT and CLOSE_WAIT last 60 s
    /// or more.)
    Fin(Flow),
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Ipvsadm(a) => write!(f, "ipvsadm {}", a.join(" ")),
            Step::Flow(fl) => write!(f, "{fl}"),
            Step::Fin(fl) => write!(f, "FIN of {fl}"),
        }
    }
}

/// A named list of steps.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Name (with the seed for generated ones).
    pub name: String,
    /// Steps in order.
    pub steps: Vec<Step>,
    /// nftables `(prefix, mark)` rules: packets to the prefix get the mark.
    pub vip_marks: Vec<(String, u32)>,
    /// Whether flows carry their mark through the DSCP rules (default); off when
    /// `vip_marks` set the marks.
    pub marks_by_dscp: bool,
}

impl Scenario {
    /// A scenario with no steps.
    pub fn new(name: impl Into<String>) -> Self {
        Scenario { name: name.into(), steps: Vec::new(), vip_marks: Vec::new(), marks_by_dscp: true }
    }

    /// Adds an ipvsadm command line (words split on blanks).
    pub fn cmd(&mut self, line: &str) -> &mut Self {
        self.steps.push(Step::Ipvsadm(line.split_whitespace().map(str::to_owned).collect()));
        self
    }

    /// Adds a flow written as `Flow`'s `FromStr` reads it.
    pub fn flow(&mut self, line: &str) -> &mut Self {
        self.steps.push(Step::Flow(line.parse().unwrap_or_else(|e| panic!("flow `{line}`: {e}"))));
        self
    }

    /// The scenario as text (for failure messages: enough to replay it with schedsim).
    pub fn listing(&self) -> String {
        self.steps.iter().enumerate().map(|(i, s)| format!("  {i:>4}  {s}\n")).collect()
    }
}

/// What a scenario run saw.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// For every flow step: the real server the flow's first packet reached in the kernel
    /// (its connection entry's dest, if that dest is still configured), else `None`.
    pub kernel_choices: Vec<Option<DestinationKey>>,
    /// For every flow step: the reference's answer (the dest of `Outcome::New`/`Existing`).
    pub sim_choices: Vec<Option<DestinationKey>>,
    /// Packets sent (barriers not counted).
    pub packets: usize,
    /// Configuration commands applied.
    pub commands: usize,
    /// Barriers sent.
    pub barriers: usize,
    /// Reads of the connection table.
    pub reads: usize,
    /// Time the run took.
    pub elapsed: std::time::Duration,
    /// Time spent setting up the namespace and the lab.
    pub setup_time: std::time::Duration,
    /// Time spent in `ipvsadm` runs between flows.
    pub command_time: std::time::Duration,
}

/// Runs `ipvsadm` with `args` in this thread's namespace: (exit code, stderr).
fn ipvsadm(args: &[String]) -> (i32, String) {
    let out = Command::new("ipvsadm").args(args).output().expect("spawn ipvsadm");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).trim().to_owned())
}

/// The dests configured in the kernel now (service key text, dest), read with the client.
fn kernel_counters(c: &mut ipvs_sys_netlink::Client) -> Vec<String> {
    let mut v = Vec::new();
    for (s, ds) in c.services_with_destinations().expect("dump services") {
        if s.service.key == ServiceKey::udp(IpAddr::V4(SENTINEL_VIP), SENTINEL_PORT) {
            continue;
        }
        for d in ds {
            v.push(counter_line(&s.service.key, &d));
        }
    }
    v.sort();
    v
}

/// One real server's counters, formatted the same way for the kernel and the simulator.
fn counter_line(key: &ServiceKey, d: &ipvs_core::DestinationStatus) -> String {
    format!(
        "{} {} weight {} active {} inactive {} persist {}",
        key,
        d.dest.key(),
        d.dest.weight,
        d.active_conns,
        d.inactive_conns,
        d.persist_conns
    )
}

fn sim_counters(sim: &Simulator) -> Vec<String> {
    let mut v = Vec::new();
    for s in sim.table().list_services() {
        for d in sim.distribution(&s.service.key) {
            v.push(counter_line(&s.service.key, &d));
        }
    }
    v.sort();
    v
}

/// A mismatch, with everything needed to understand and replay it.
fn failure(sc: &Scenario, step: usize, what: String) -> String {
    format!("scenario `{}`, step {step}: {what}\n  scenario:\n{}", sc.name, sc.listing())
}

/// Runs a scenario in this thread's namespace (fresh from [`enter_netns`]), comparing the
/// kernel with the reference at every packet. Returns the first mismatch as an error.
pub fn run(sc: &Scenario) -> Result<Report, String> {
    let t0 = std::time::Instant::now();
    let mut sim = Simulator::default();
    let mut report = Report::default();
    // The leading commands that the reference accepts go to the kernel in one `ipvsadm -R`.
    let mut rules = String::new();
    let mut first = 0;
    for step in &sc.steps {
        let Step::Ipvsadm(args) = step else { break };
        let Some(op) = cmdline::parse(args).ok().and_then(|c| c.to_operation()) else { break };
        if sim.apply(Time::ZERO, &op).is_err() {
            sim = Simulator::default();
            rules.clear();
            first = 0;
            break;
        }
        rules.push_str(&args.join(" "));
        rules.push('\n');
        first += 1;
    }
    let mut marks: Vec<u32> = Vec::new();
    if sc.marks_by_dscp {
        for step in &sc.steps {
            if let Step::Flow(f) = step {
                if f.fwmark != 0 && !marks.contains(&f.fwmark) {
                    marks.push(f.fwmark);
                }
            }
        }
    }
    let mut lab = Lab::new(&rules, &marks, &sc.vip_marks);
    report.setup_time = t0.elapsed();
    report.commands += first;
    let mut client = ipvs_sys_netlink::Client::new().expect("open the netlink client");
    let mut clock = 0u64;
    let mut table = kernel_entries();
    assert!(table.is_empty(), "a fresh namespace has no connections: {table:?}");
    for (i, step) in sc.steps.iter().enumerate().skip(first) {
        clock += 1;
        let now = Time::from_millis(clock);
        match step {
            Step::Ipvsadm(args) => {
                let cmd = cmdline::parse(args)
                    .map_err(|e| failure(sc, i, format!("the reference cannot parse it: {e}")))?;
                let op = cmd.to_operation().ok_or_else(|| failure(sc, i, "not a table change".into()))?;
                let want = sim.apply(now, &op);
                let tc = std::time::Instant::now();
                let (code, err) = lab.unpinned(|| ipvsadm(args));
                report.command_time += tc.elapsed();
                report.commands += 1;
                match (&want, code) {
                    (Ok(()), 0) => {}
                    (Err(e), c) if c != 0 => {
                        let msg = e.errno().map(|n| message(Call::of(&op), n)).unwrap_or_default();
                        if msg != err {
                            return Err(failure(
                                sc,
                                i,
                                format!("both refuse it, but the kernel says `{err}` and the reference `{msg}` ({e:?})"),
                            ));
                        }
                    }
                    _ => {
                        return Err(failure(
                            sc,
                            i,
                            format!("kernel: exit {code} `{err}`; reference: {want:?}"),
                        ))
                    }
                }
            }
            Step::Flow(f) | Step::Fin(f) => {
                let fin = matches!(step, Step::Fin(_));
                let packets: &[(Segment, u8)] = match f.protocol {
                    Protocol::Tcp if fin => &[(Segment::Fin, FIN | ACK)],
                    Protocol::Tcp => &[(Segment::Syn, SYN), (Segment::Ack, ACK)],
                    _ => &[(Segment::Open, 0)],
                };
                let mark = if sc.marks_by_dscp { f.fwmark } else { 0 };
                for (k, (seg, flags)) in packets.iter().enumerate() {
                    let pf = f.clone().with_segment(*seg).at(now);
                    let outcome = sim.flow(&pf);
                    let want = sim_entries(&sim);
                    lab.send(f, *flags, mark);
                    report.packets += 1;
                    let got = if want == table {
                        lab.barrier();
                        lab.stable_read(&want)
                    } else {
                        lab.settle(&want)
                    };
                    if got != want {
                        let key_entry = |t: &BTreeSet<Entry>| {
                            t.iter()
                                .find(|e| {
                                    e.client == f.client && e.vip == f.vip.to_string() && !e.state.is_empty()
                                })
                                .map_or_else(
                                    || "no connection".to_owned(),
                                    |e| format!("{} ({})", e.dest, e.state),
                                )
                        };
                        return Err(failure(
                            sc,
                            i,
                            format!(
                                "flow `{f}` ({} packet): kernel chose {}, reference chose {} (outcome {outcome:?})\n  tables differ:\n{}",
                                match (f.protocol, fin, k) {
                                    (Protocol::Tcp, true, _) => "FIN",
                                    (Protocol::Tcp, false, 0) => "SYN",
                                    (Protocol::Tcp, false, _) => "ACK",
                                    _ => "UDP",
                                },
                                key_entry(&got),
                                key_entry(&want),
                                diff(&got, &want)
                            ),
                        ));
                    }
                    table = got;
                    if k == 0 && !fin {
                        report.sim_choices.push(match outcome {
                            Outcome::New { dest, .. } | Outcome::Existing { dest, .. } => Some(dest),
                            _ => None,
                        });
                        // The kernel's answer: the real server of the flow's connection entry,
                        // as configured (a port-0 server forwards to the packet's port), if it
                        // is still configured (a packet for a deleted one is dropped).
                        let configured: BTreeSet<DestinationKey> = sim
                            .table()
                            .list_services()
                            .iter()
                            .flat_map(|s| sim.distribution(&s.service.key))
                            .map(|d| d.dest.key())
                            .collect();
                        let entry = table.iter().find(|e| {
                            e.client == f.client && e.vip == f.vip.to_string() && !e.state.is_empty()
                        });
                        report.kernel_choices.push(entry.and_then(|e| {
                            let exact = DestinationKey { addr: e.dest.ip(), port: e.dest.port() };
                            let port0 = DestinationKey { addr: e.dest.ip(), port: 0 };
                            [exact, port0].into_iter().find(|k| configured.contains(k))
                        }));
                    }
                }
            }
        }
    }
    // Counters, read through netlink after a last barrier.
    lab.barrier();
    let k = kernel_counters(&mut client);
    let s = sim_counters(&sim);
    if k != s {
        return Err(failure(
            sc,
            sc.steps.len(),
            format!("real-server counters differ at the end:\n  kernel:    {k:#?}\n  reference: {s:#?}"),
        ));
    }
    report.barriers = lab.barriers;
    report.reads = lab.reads;
    report.elapsed = t0.elapsed();
    Ok(report)
}

/// Runs a scenario on a new thread in a namespace of its own (so that scenarios never see
/// each other's connections); a panic is reported as an error.
pub fn run_isolated(sc: Scenario) -> Result<Report, String> {
    let name = sc.name.clone();
    std::thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            enter_netns();
            run(&sc)
        })
        .unwrap()
        .join()
        .unwrap_or_else(|p| {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            Err(format!("scenario `{name}` panicked: {msg}"))
        })
}

/// Runs scenarios one after the other and panics with every mismatch at the end.
pub fn run_all(scenarios: Vec<Scenario>) {
    let mut failures = Vec::new();
    let t0 = std::time::Instant::now();
    for sc in scenarios {
        let name = sc.name.clone();
        let steps = sc.steps.len();
        match run_isolated(sc) {
            Ok(r) => eprintln!(
                "ok   {name}: {steps} steps, {} packets, {} commands, {} barriers, {} reads, {:.2?} (set-up {:.2?}, ipvsadm {:.2?})",
                r.packets, r.commands, r.barriers, r.reads, r.elapsed, r.setup_time, r.command_time
            ),
            Err(e) => {
                eprintln!("FAIL {e}");
                failures.push(e);
            }
        }
    }
    eprintln!("{} scenario(s) failed; total {:.2?}", failures.len(), t0.elapsed());
    assert!(failures.is_empty(), "{} mismatch(es):\n{}", failures.len(), failures.join("\n"));
}
