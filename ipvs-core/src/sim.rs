//! A deterministic simulation of an IPVS director: a [`Table`] plus the kernel's connection
//! table, persistence templates and timers, driven by flows and configuration operations in
//! time order.
//!
//! What the simulator follows (Debian 6.1.192, `ip_vs_core.c`, `ip_vs_conn.c`,
//! `ip_vs_proto_{tcp,udp}.c`):
//!
//! * **Connection lookup first**: a packet whose `<protocol, client addr:port, vaddr:vport>`
//!   has a live connection reuses it (and re-arms its timer), whatever the configuration says
//!   now. A new connection is scheduled only when there is none.
//! * **Service lookup** as `ip_vs_service_find`: fwmark service (when the flow has a mark), then
//!   `<protocol, vaddr, vport>`, then the port-21 service for TCP to port 20 or ≥ 1024, then the
//!   port-zero service ([`Table::lookup_service`]).
//! * **TCP**: only a SYN (any non-RST packet with `sloppy_tcp`) creates a connection; the
//!   state follows the kernel's state table (the INPUT table for NAT dests, INPUT-ONLY for the
//!   others, `secure_tcp` off) and a connection counts as active in SYN_RECV, ESTABLISHED,
//!   SYN_SENT and SYNACK. [`Segment::Open`] is a SYN followed by an ACK (ESTABLISHED, active,
//!   timeout = the TCP timeout). A SYN that finds a connection in TIME_WAIT or CLOSE (not
//!   controlled by a template) reschedules (`conn_reuse_mode` = 1).
//! * **UDP**: every datagram of a new flow creates a connection, which **never becomes
//!   active**: it counts in `totalconns` only (shown as InActConn) and lives for the UDP
//!   timeout after its last packet. With one-packet scheduling (`-o`) the connection is
//!   scheduled, counted in the stats and expires at once.
//! * **SCTP** is approximated: any SCTP flow opens an ESTABLISHED (active) association with the
//!   15-minute timeout; `Fin`/`Rst` close it (inactive, 10 s).
//! * **Persistence** (`ip_vs_sched_persist`): templates keyed by `<protocol, client & netmask,
//!   vaddr, vport>`, with vport 0 for port 21 and port-zero services, and `<IPPROTO_IP, client &
//!   netmask, fwmark>` for fwmark services; a template is reused unless its dest was deleted
//!   (or has weight 0 with `expire_quiescent_template`), ignoring weight 0 and the overload bit
//!   otherwise; each use re-arms it to the service timeout; when it fires while connections it
//!   controls are alive it is re-armed for 60 s (and stays at 60 s). Templates count in
//!   PersistConn. With the sip engine, a flow needs a Call-ID (and UDP), else it is dropped.
//! * A packet for a connection whose dest was deleted is dropped (`expire_nodest_conn` off).
//! * Statistics: connections, inbound packets and bytes (per dest, per service, total).
//!
//! Not modelled: ICMP, replies from the real servers (output direction), FTP helpers, sync,
//! the defence modes, rates.
//!
//! ```
//! use ipvs_core::sim::{Flow, Outcome, Simulator};
//! use ipvs_core::sched::Time;
//! use ipvs_core::{Destination, Operation, Scheduler, Service, ServiceKey};
//! let vip = ServiceKey::udp("10.0.0.1".parse().unwrap(), 53);
//! let mut sim = Simulator::default();
//! sim.apply(Time::ZERO, &Operation::AddService(Service::new(vip).with_scheduler(Scheduler::Rr))).unwrap();
//! for rs in ["192.168.0.1:53", "192.168.0.2:53"] {
//!     sim.apply(Time::ZERO, &Operation::AddDestination(vip, Destination::new(rs.parse().unwrap()))).unwrap();
//! }
//! let f = Flow::udp(Time::from_secs(1), "198.51.100.7:4000".parse().unwrap(), "10.0.0.1:53".parse().unwrap());
//! let first = sim.flow(&f);
//! assert!(matches!(first, Outcome::New { .. }));
//! // The same client port again within the UDP timeout reuses the connection.
//! assert!(matches!(sim.flow(&f), Outcome::Existing { .. }));
//! let d = sim.distribution(&vip);
//! assert_eq!(d.iter().map(|s| s.inactive_conns).sum::<u32>(), 1); // UDP never counts as active
//! ```

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::backend::Operation;
use crate::dest::{DestinationKey, ForwardMethod};
use crate::error::Result;
use crate::sched::{DestId, PacketInfo, SplitMix64, Time};
use crate::service::{AddressFamily, Netmask, Protocol, ServiceFlags, ServiceKey};
use crate::status::DestinationStatus;
use crate::table::{Table, TableConfig};

/// What a TCP flow event carries. UDP ignores it; SCTP treats `Fin` and `Rst` as a close and
/// everything else as an established association.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Segment {
    /// A SYN followed by the client's ACK: a new connection that reaches ESTABLISHED (or, on
    /// an existing connection, two more packets).
    #[default]
    Open,
    /// A SYN alone.
    Syn,
    /// A plain ACK (data).
    Ack,
    /// A FIN (with ACK).
    Fin,
    /// A RST.
    Rst,
}

/// One inbound event of a flow: a packet (or, for [`Segment::Open`], a SYN and an ACK) from a
/// client to a virtual address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Flow {
    /// When.
    pub time: Time,
    /// The transport protocol.
    pub protocol: Protocol,
    /// The client address and port.
    pub client: SocketAddr,
    /// The virtual (destination) address and port.
    pub vip: SocketAddr,
    /// The firewall mark the packet carries (0 = none).
    pub fwmark: u32,
    /// TCP segment kind.
    pub segment: Segment,
    /// Bytes per packet (counted in the inbound byte statistics).
    pub bytes: u32,
    /// The SIP Call-ID, for services with the sip persistence engine.
    pub sip_call_id: Option<String>,
}

impl Flow {
    /// A flow event of `protocol` at `time`.
    pub fn new(time: Time, protocol: Protocol, client: SocketAddr, vip: SocketAddr) -> Self {
        Flow { time, protocol, client, vip, fwmark: 0, segment: Segment::Open, bytes: 0, sip_call_id: None }
    }

    /// A TCP connection opening (SYN + ACK).
    pub fn tcp(time: Time, client: SocketAddr, vip: SocketAddr) -> Self {
        Self::new(time, Protocol::Tcp, client, vip)
    }

    /// A UDP datagram.
    pub fn udp(time: Time, client: SocketAddr, vip: SocketAddr) -> Self {
        Self::new(time, Protocol::Udp, client, vip)
    }

    /// The same flow with a firewall mark.
    pub fn with_mark(mut self, mark: u32) -> Self {
        self.fwmark = mark;
        self
    }

    /// The same flow with another TCP segment kind.
    pub fn with_segment(mut self, segment: Segment) -> Self {
        self.segment = segment;
        self
    }

    /// The same flow at another time.
    pub fn at(mut self, time: Time) -> Self {
        self.time = time;
        self
    }

    /// The same flow with a SIP Call-ID.
    pub fn with_call_id(mut self, id: impl Into<String>) -> Self {
        self.sip_call_id = Some(id.into());
        self
    }
}

/// Why a flow line does not parse (see [`Flow`]'s `FromStr`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FlowParseError(String);

impl std::str::FromStr for Flow {
    type Err = FlowParseError;

    /// A flow written as `PROTO CLIENT VIP [mark=N]`: `udp`, `tcp` or `sctp` (any case), then
    /// two socket addresses (`198.51.100.7:4000`, `[2001:db8::7]:4000`) of one family, then
    /// optionally the firewall mark the packets carry (decimal or `0x` hex). Words are
    /// separated by blanks. The flow is at [`Time::ZERO`] with the default segment
    /// ([`Segment::Open`]); use [`Flow::at`] to place it in time. `Display` writes the same
    /// notation.
    ///
    /// ```
    /// use ipvs_core::sim::Flow;
    /// use ipvs_core::Protocol;
    /// let f: Flow = "udp [2001:db8::7]:4000 [2001:db8::1]:53 mark=0x10".parse().unwrap();
    /// assert_eq!((f.protocol, f.client.port(), f.fwmark), (Protocol::Udp, 4000, 16));
    /// assert_eq!(f.to_string(), "udp [2001:db8::7]:4000 [2001:db8::1]:53 mark=16");
    /// assert!("icmp 10.0.0.1:1 10.0.0.2:2".parse::<Flow>().is_err());
    /// ```
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let err = |m: String| Err(FlowParseError(m));
        let words: Vec<&str> = s.split_whitespace().collect();
        let [proto, client, vip, rest @ ..] = words.as_slice() else {
            return err("expected `udp|tcp|sctp CLIENT:PORT VIP:PORT [mark=N]`".into());
        };
        let protocol = match proto.to_ascii_lowercase().as_str() {
            "udp" => Protocol::Udp,
            "tcp" => Protocol::Tcp,
            "sctp" => Protocol::Sctp,
            _ => return err(format!("unknown protocol `{proto}` (expected udp, tcp or sctp)")),
        };
        let addr = |what: &str, w: &str| {
            w.parse::<SocketAddr>().map_err(|_| {
                FlowParseError(format!("bad {what} address `{w}` (expected ADDR:PORT or [ADDR6]:PORT)"))
            })
        };
        let client = addr("client", client)?;
        let vip = addr("virtual", vip)?;
        if client.is_ipv4() != vip.is_ipv4() {
            return err(format!("client {client} and virtual address {vip} are of different families"));
        }
        let mut fwmark = 0;
        for w in rest {
            let Some(v) = w.strip_prefix("mark=") else {
                return err(format!("unexpected `{w}` (only `mark=N` may follow the addresses)"));
            };
            let parsed = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
                Some(hex) => u32::from_str_radix(hex, 16),
                None => v.parse(),
            };
            fwmark = match parsed {
                Ok(m) => m,
                Err(_) => return err(format!("bad mark `{v}` (expected a 32-bit number)")),
            };
        }
        Ok(Flow::new(Time::ZERO, protocol, client, vip).with_mark(fwmark))
    }
}

impl std::fmt::Display for Flow {
    /// `udp 198.51.100.7:4000 10.0.0.1:53`, with ` mark=N` when the flow carries a mark.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.protocol.name().to_ascii_lowercase(), self.client, self.vip)?;
        if self.fwmark != 0 {
            write!(f, " mark={}", self.fwmark)?;
        }
        Ok(())
    }
}

/// Whether a new connection went through a persistence template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TemplateUse {
    /// Not a persistent service.
    None,
    /// The scheduler picked the dest and a template was created.
    Created,
    /// An existing template decided the dest (the scheduler was not asked).
    Reused,
}

/// Why a packet was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// Its connection's dest was deleted and `expire_nodest_conn` is off.
    DestUnavailable,
    /// The service's persistence engine found no Call-ID (sip needs UDP with a Call-ID).
    PersistenceEngine,
}

/// What happened to a flow event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// A new connection was scheduled.
    New {
        /// The service that scheduled it.
        service: ServiceKey,
        /// The real server.
        dest: DestinationKey,
        /// Where packets are forwarded (the dest's address, with the dest's port or the
        /// packet's as the kernel decides).
        forward_to: SocketAddr,
        /// Persistence.
        template: TemplateUse,
    },
    /// The flow matched a live connection.
    Existing {
        /// The real server.
        dest: DestinationKey,
        /// Where packets are forwarded.
        forward_to: SocketAddr,
    },
    /// No virtual service matched: the packet is not IPVS's (NF_ACCEPT).
    NotForIpvs,
    /// A service matched but the packet may not create a connection (a TCP packet without SYN,
    /// or client port 20): it passes on to the local stack.
    NotScheduled,
    /// The service had no usable dest (ICMP port unreachable and drop, `ip_vs_leave`); also a
    /// non-persistent port-zero service, or `none` as scheduler.
    NoDestination {
        /// The service.
        service: ServiceKey,
    },
    /// The packet was dropped.
    Dropped(DropReason),
}

impl Outcome {
    /// The real server the flow reached, if any.
    pub fn dest(&self) -> Option<DestinationKey> {
        match self {
            Outcome::New { dest, .. } | Outcome::Existing { dest, .. } => Some(*dest),
            _ => None,
        }
    }
}

/// TCP states (`IP_VS_TCP_S_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum TcpState {
    None,
    Established,
    SynSent,
    SynRecv,
    FinWait,
    TimeWait,
    Close,
    CloseWait,
    LastAck,
    Listen,
    SynAck,
}

impl TcpState {
    const ALL: [TcpState; 11] = [
        TcpState::None,
        TcpState::Established,
        TcpState::SynSent,
        TcpState::SynRecv,
        TcpState::FinWait,
        TcpState::TimeWait,
        TcpState::Close,
        TcpState::CloseWait,
        TcpState::LastAck,
        TcpState::Listen,
        TcpState::SynAck,
    ];

    /// `tcp_state_active_table`.
    pub fn is_active(self) -> bool {
        matches!(self, TcpState::Established | TcpState::SynSent | TcpState::SynRecv | TcpState::SynAck)
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }
}

/// The state of a simulated connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnState {
    /// A TCP connection.
    Tcp(TcpState),
    /// A UDP connection (the kernel has one state, "UDP").
    Udp,
    /// An SCTP association: established or closed (approximation).
    Sctp {
        /// Whether it is established.
        established: bool,
    },
    /// A persistence template.
    Template,
}

// tcp_states[] of ip_vs_proto_tcp.c (secure_tcp off): rows syn, fin, ack, rst; columns are the
// current state in `TcpState` order (sNO sES sSS sSR sFW sTW sCL sCW sLA sLI sSA).
use TcpState as T;
use TcpState::{
    CloseWait as CW, Established as ES, FinWait as FW, LastAck as LA, Listen as LI, SynRecv as SR,
    SynSent as SS, TimeWait as TW,
};
#[rustfmt::skip]
const TCP_INPUT: [[TcpState; 11]; 4] = [
    /* syn */ [SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SR],
    /* fin */ [T::Close, CW, SS, TW, TW, TW, T::Close, CW, LA, LI, TW],
    /* ack */ [ES, ES, SS, ES, FW, TW, T::Close, CW, T::Close, LI, ES],
    /* rst */ [T::Close, T::Close, T::Close, SR, T::Close, T::Close, T::Close, T::Close, LA, LI, SR],
];
#[rustfmt::skip]
const TCP_INPUT_ONLY: [[TcpState; 11]; 4] = [
    /* syn */ [SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SR],
    /* fin */ [T::Close, FW, SS, TW, FW, TW, T::Close, CW, LA, LI, TW],
    /* ack */ [ES, ES, SS, ES, FW, TW, T::Close, CW, T::Close, LI, ES],
    /* rst */ [T::Close, T::Close, T::Close, SR, T::Close, T::Close, T::Close, T::Close, LA, LI, T::Close],
];

/// A live connection or template, as [`Simulator::connections`] lists it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConnSnapshot {
    /// The protocol (`Protocol::from_raw(0)`, an [`Protocol::Other`], for a fwmark template,
    /// whose protocol is IPPROTO_IP).
    pub protocol: Protocol,
    /// Client address and port (port 0 and the masked address for a template).
    pub client: SocketAddr,
    /// Virtual address and port (for a fwmark template: the mark as an IPv4 address, port 0).
    pub vip: SocketAddr,
    /// The real server.
    pub dest: DestinationKey,
    /// Where packets are forwarded: the real server's address, with its port or (for a port-0
    /// real server) the packet's; what `/proc/net/ip_vs_conn` shows as `DestIP DPrt`.
    pub forward_to: SocketAddr,
    /// State.
    pub state: ConnState,
    /// When the timer fires.
    pub expires: Time,
    /// Whether the kernel can still find it (false for a replaced or invalidated entry).
    pub hashed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ConnKey {
    protocol: Protocol,
    client: SocketAddr,
    vip: SocketAddr,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum TplVaddr {
    Addr(IpAddr),
    Mark(u32),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TplKey {
    family: AddressFamily,
    /// 0 (IPPROTO_IP) for fwmark templates.
    protocol: u16,
    client: IpAddr,
    vaddr: TplVaddr,
    vport: u16,
    pe_data: Option<String>,
}

#[derive(Debug, Clone)]
struct Conn {
    protocol: Protocol,
    client: SocketAddr,
    vip: SocketAddr,
    dest: DestId,
    dest_key: DestinationKey,
    forward_to: SocketAddr,
    state: ConnState,
    inactive: bool,
    nooutput: bool,
    one_packet: bool,
    control: Option<u64>,
    n_control: u32,
    timeout_ms: u64,
    expires: Time,
    timer_seq: u64,
    key: Option<ConnKey>,
    tkey: Option<TplKey>,
}

/// Tallies of the outcomes of the flows a simulator has seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// New connections scheduled.
    pub new: u64,
    /// Flows that reused a connection.
    pub existing: u64,
    /// New connections decided by an existing persistence template.
    pub via_template: u64,
    /// Flows no service matched.
    pub not_for_ipvs: u64,
    /// Flows not allowed to create a connection.
    pub not_scheduled: u64,
    /// Flows with no usable dest.
    pub no_destination: u64,
    /// Dropped flows.
    pub dropped: u64,
}

/// How a set of flows lands before and after a configuration change
/// ([`Simulator::remap`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remap {
    /// Each flow's real server before the change.
    pub before: Vec<Option<DestinationKey>>,
    /// Each flow's real server after the change.
    pub after: Vec<Option<DestinationKey>>,
}

impl Remap {
    /// How many flows reach a different real server (or none) after the change.
    pub fn moved(&self) -> usize {
        self.before.iter().zip(&self.after).filter(|(a, b)| a != b).count()
    }

    /// Per real server: (flows before, flows after).
    pub fn per_dest(&self) -> BTreeMap<DestinationKey, (usize, usize)> {
        let mut m: BTreeMap<DestinationKey, (usize, usize)> = BTreeMap::new();
        for d in self.before.iter().flatten() {
            m.entry(*d).or_default().0 += 1;
        }
        for d in self.after.iter().flatten() {
            m.entry(*d).or_default().1 += 1;
        }
        m
    }
}

/// An event for [`Simulator::run`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A flow event.
    Flow(Flow),
    /// A configuration change at a time.
    Config(Time, Operation),
    /// Let time pass.
    Advance(Time),
}

/// The result of an [`Event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventResult {
    /// What happened to a flow.
    Flow(Outcome),
    /// The result of a configuration change.
    Config(Result<()>),
    /// Time passed.
    Advanced,
}

/// The simulator: a table, connections, templates and timers, all deterministic.
#[derive(Debug, Clone)]
pub struct Simulator {
    table: Table,
    rng: SplitMix64,
    conns: HashMap<u64, Conn>,
    by_key: HashMap<ConnKey, u64>,
    templates: HashMap<TplKey, u64>,
    timers: BinaryHeap<Reverse<(Time, u64, u64)>>,
    next_conn: u64,
    next_seq: u64,
    tally: Tally,
}

impl Default for Simulator {
    fn default() -> Self {
        Simulator::new(TableConfig::default(), 0)
    }
}

fn mask_addr(addr: IpAddr, mask: &Netmask) -> IpAddr {
    match (addr, mask) {
        (IpAddr::V4(a), Netmask::V4(m)) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & u32::from(*m))),
        (IpAddr::V6(a), Netmask::V6(p)) => {
            let p = u32::from(*p).min(128);
            let m = if p == 0 { 0 } else { u128::MAX << (128 - p) };
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & m))
        }
        (a, _) => a,
    }
}

impl Simulator {
    /// A simulator over an empty table with this configuration; `seed` seeds the random source
    /// (twos).
    pub fn new(config: TableConfig, seed: u64) -> Self {
        Self::from_table(Table::new(config), seed)
    }

    /// A simulator over an existing table.
    pub fn from_table(table: Table, seed: u64) -> Self {
        Simulator {
            table,
            rng: SplitMix64::new(seed),
            conns: HashMap::new(),
            by_key: HashMap::new(),
            templates: HashMap::new(),
            timers: BinaryHeap::new(),
            next_conn: 1,
            next_seq: 0,
            tally: Tally::default(),
        }
    }

    /// The table.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The table, for changing sysctls.
    pub fn table_mut(&mut self) -> &mut Table {
        &mut self.table
    }

    /// The simulated time.
    pub fn now(&self) -> Time {
        self.table.now()
    }

    /// Outcome counts so far.
    pub fn tally(&self) -> &Tally {
        &self.tally
    }

    /// The real servers of a service with their connection counters and statistics (what
    /// `ipvsadm -L -n --stats` would show), newest first.
    pub fn distribution(&self, key: &ServiceKey) -> Vec<DestinationStatus> {
        self.table.list_destinations(key)
    }

    /// Every live connection and template (in creation order).
    pub fn connections(&self) -> Vec<ConnSnapshot> {
        let mut ids: Vec<_> = self.conns.keys().copied().collect();
        ids.sort_unstable();
        ids.iter()
            .filter_map(|id| {
                let c = self.conns.get(id)?;
                let hashed = match (&c.key, &c.tkey) {
                    (Some(k), _) => self.by_key.get(k) == Some(id),
                    (_, Some(k)) => self.templates.get(k) == Some(id),
                    _ => false,
                };
                Some(ConnSnapshot {
                    protocol: c.protocol,
                    client: c.client,
                    vip: c.vip,
                    dest: c.dest_key,
                    forward_to: c.forward_to,
                    state: c.state,
                    expires: c.expires,
                    hashed,
                })
            })
            .collect()
    }

    /// Lets time pass to `now`, firing connection, template, trash and scheduler timers in
    /// time order.
    pub fn advance(&mut self, now: Time) {
        loop {
            let next_conn = self.timers.peek().map(|Reverse((t, _, _))| *t).filter(|t| *t <= now);
            let next_table = self.table.next_timer().filter(|t| *t <= now);
            match (next_conn, next_table) {
                (Some(tc), Some(tt)) if tt < tc => self.table.advance(tt),
                (Some(tc), _) => {
                    self.table.advance(tc);
                    if let Some(Reverse((t, seq, id))) = self.timers.pop() {
                        self.fire(t, seq, id);
                    }
                }
                (None, Some(tt)) => self.table.advance(tt),
                (None, None) => break,
            }
        }
        self.table.advance(now);
    }

    /// Applies a configuration operation at `time` (after letting time pass to it).
    pub fn apply(&mut self, time: Time, op: &Operation) -> Result<()> {
        self.advance(time);
        self.table.apply(op)?;
        if self.table.config().sysctl.expire_nodest_conn {
            if let Operation::DeleteDestination(..) | Operation::DeleteService(_) | Operation::Flush = op {
                self.expire_nodest_conns();
            }
        }
        Ok(())
    }

    /// Runs events in order.
    pub fn run<I: IntoIterator<Item = Event>>(&mut self, events: I) -> Vec<EventResult> {
        events
            .into_iter()
            .map(|e| match e {
                Event::Flow(f) => EventResult::Flow(self.flow(&f)),
                Event::Config(t, op) => EventResult::Config(self.apply(t, &op)),
                Event::Advance(t) => {
                    self.advance(t);
                    EventResult::Advanced
                }
            })
            .collect()
    }

    /// Where each of `flows` lands with the current state, and where it would land after
    /// `ops`: two copies of the simulator each take the flows in order, one of them after the
    /// operations (applied at the current time). The simulator itself is not changed.
    pub fn remap(&self, flows: &[Flow], ops: &[Operation]) -> Result<Remap> {
        let mut before = self.clone();
        let b = flows.iter().map(|f| before.flow(f).dest()).collect();
        let mut after = self.clone();
        let now = after.now();
        for op in ops {
            after.apply(now, op)?;
        }
        let a = flows.iter().map(|f| after.flow(f).dest()).collect();
        Ok(Remap { before: b, after: a })
    }

    fn arm(&mut self, id: u64, at: Time) {
        self.next_seq += 1;
        let seq = self.next_seq;
        if let Some(c) = self.conns.get_mut(&id) {
            c.expires = at;
            c.timer_seq = seq;
            self.timers.push(Reverse((at, seq, id)));
        }
    }

    /// `ip_vs_conn_expire`.
    fn fire(&mut self, t: Time, seq: u64, id: u64) {
        let Some(c) = self.conns.get(&id) else { return };
        if c.timer_seq != seq {
            return;
        }
        if c.n_control > 0 {
            if let Some(c) = self.conns.get_mut(&id) {
                c.timeout_ms = 60_000;
            }
            self.arm(id, t.plus_millis(60_000));
            return;
        }
        self.destroy(id);
    }

    fn destroy(&mut self, id: u64) {
        let Some(c) = self.conns.remove(&id) else { return };
        if let Some(k) = &c.key {
            if self.by_key.get(k) == Some(&id) {
                self.by_key.remove(k);
            }
        }
        if let Some(k) = &c.tkey {
            if self.templates.get(k) == Some(&id) {
                self.templates.remove(k);
            }
        }
        if let Some(ct) = c.control.and_then(|ct| self.conns.get_mut(&ct)) {
            ct.n_control = ct.n_control.saturating_sub(1);
        }
        let template = c.state == ConnState::Template;
        self.table.unbind_conn(c.dest, template, !c.inactive);
    }

    fn expire_nodest_conns(&mut self) {
        let now = self.now();
        let dead: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| self.table.dest(c.dest).is_none_or(|d| !d.available))
            .map(|(id, _)| *id)
            .collect();
        for id in dead {
            self.arm(id, now);
        }
    }

    fn tcp_timeout_ms(&self, s: TcpState) -> u64 {
        let t = self.table.current_timeouts();
        1000 * match s {
            TcpState::None => 2,
            TcpState::Established => u64::from(t.tcp),
            TcpState::SynSent => 120,
            TcpState::SynRecv => 60,
            TcpState::FinWait => u64::from(t.tcp_fin),
            TcpState::TimeWait => 120,
            TcpState::Close => 10,
            TcpState::CloseWait => 60,
            TcpState::LastAck => 30,
            TcpState::Listen => 120,
            TcpState::SynAck => 120,
        }
    }

    /// `ip_vs_set_state` for an inbound packet.
    fn set_state(&mut self, id: u64, seg: Segment) {
        let udp_ms = u64::from(self.table.current_timeouts().udp) * 1000;
        let Some(c) = self.conns.get(&id) else { return };
        let (new_state, active, timeout) = match c.state {
            ConnState::Tcp(s) => {
                let table = if c.nooutput { &TCP_INPUT_ONLY } else { &TCP_INPUT };
                let row = match seg {
                    Segment::Rst => 3,
                    Segment::Syn | Segment::Open => 0,
                    Segment::Fin => 1,
                    Segment::Ack => 2,
                };
                let ns = table.get(row).and_then(|r| r.get(s.index())).copied().unwrap_or(TcpState::Close);
                (ConnState::Tcp(ns), ns.is_active(), self.tcp_timeout_ms(ns))
            }
            ConnState::Udp => (ConnState::Udp, false, udp_ms),
            ConnState::Sctp { .. } => {
                let est = !matches!(seg, Segment::Fin | Segment::Rst);
                (ConnState::Sctp { established: est }, est, if est { 900_000 } else { 10_000 })
            }
            ConnState::Template => return,
        };
        let (dest, was_inactive) = (c.dest, c.inactive);
        if was_inactive && active {
            self.table.set_active(dest, true);
        } else if !was_inactive && !active {
            self.table.set_active(dest, false);
        }
        if let Some(c) = self.conns.get_mut(&id) {
            c.state = new_state;
            c.inactive = !active;
            c.timeout_ms = timeout;
        }
    }

    /// `ip_vs_conn_put` after a packet: re-arm the timer, or expire a one-packet connection.
    fn put(&mut self, id: u64) {
        let now = self.now();
        let Some(c) = self.conns.get(&id) else { return };
        if c.one_packet {
            self.destroy(id);
        } else {
            let at = now.plus_millis(c.timeout_ms);
            self.arm(id, at);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn new_conn(
        &mut self,
        protocol: Protocol,
        client: SocketAddr,
        vip: SocketAddr,
        dest: DestId,
        dport: u16,
        one_packet: bool,
        tkey: Option<TplKey>,
    ) -> Option<u64> {
        let (dest_key, forward, _) = self.table.dest_info(dest)?;
        let id = self.next_conn;
        self.next_conn += 1;
        let template = tkey.is_some();
        let state = if template {
            ConnState::Template
        } else {
            match protocol {
                Protocol::Tcp => ConnState::Tcp(TcpState::None),
                Protocol::Sctp => ConnState::Sctp { established: false },
                _ => ConnState::Udp,
            }
        };
        let key = (!template).then_some(ConnKey { protocol, client, vip });
        let conn = Conn {
            protocol,
            client,
            vip,
            dest,
            dest_key,
            forward_to: SocketAddr::new(dest_key.addr, dport),
            state,
            inactive: true,
            nooutput: forward != ForwardMethod::Masquerade,
            one_packet: one_packet && !template,
            control: None,
            n_control: 0,
            timeout_ms: 3000,
            expires: self.now(),
            timer_seq: 0,
            key: key.clone(),
            tkey: tkey.clone(),
        };
        self.conns.insert(id, conn);
        if let Some(k) = key {
            self.by_key.insert(k, id);
        }
        if let Some(k) = tkey {
            self.templates.insert(k, id);
        }
        self.table.bind_conn(dest, template, false);
        Some(id)
    }

    /// Processes one flow event at its time and returns what happened.
    pub fn flow(&mut self, f: &Flow) -> Outcome {
        self.advance(f.time);
        let out = self.flow_inner(f);
        let t = &mut self.tally;
        match &out {
            Outcome::New { template, .. } => {
                t.new += 1;
                if *template == TemplateUse::Reused {
                    t.via_template += 1;
                }
            }
            Outcome::Existing { .. } => t.existing += 1,
            Outcome::NotForIpvs => t.not_for_ipvs += 1,
            Outcome::NotScheduled => t.not_scheduled += 1,
            Outcome::NoDestination { .. } => t.no_destination += 1,
            Outcome::Dropped(_) => t.dropped += 1,
        }
        out
    }

    fn flow_inner(&mut self, f: &Flow) -> Outcome {
        let segs: &[Segment] = match (f.protocol, f.segment) {
            (Protocol::Tcp, Segment::Open) => &[Segment::Syn, Segment::Ack],
            _ => std::slice::from_ref(&f.segment),
        };
        let mut first = None;
        for &seg in segs {
            let out = self.packet(f, seg);
            let stop = !matches!(out, Outcome::New { .. } | Outcome::Existing { .. });
            if first.is_none() {
                first = Some(out);
            }
            if stop {
                break;
            }
        }
        first.unwrap_or(Outcome::NotForIpvs)
    }

    /// `ip_vs_in` for one inbound packet.
    fn packet(&mut self, f: &Flow, seg: Segment) -> Outcome {
        let key = ConnKey { protocol: f.protocol, client: f.client, vip: f.vip };
        let sys = self.table.config().sysctl.clone();
        let now = self.now();
        let mut cp = self.by_key.get(&key).copied();
        let is_new_conn = match f.protocol {
            Protocol::Tcp => seg == Segment::Syn,
            Protocol::Sctp => !matches!(seg, Segment::Fin | Segment::Rst | Segment::Ack),
            _ => false,
        };
        if let (Some(id), true) = (cp, is_new_conn) {
            if let Some(c) = self.conns.get(&id) {
                let weight0 = self.table.dest(c.dest).is_some_and(|d| d.weight == 0);
                let expected = c.control.is_none()
                    && match c.state {
                        ConnState::Tcp(s) => {
                            s == TcpState::TimeWait
                                || s == TcpState::Close
                                || (sys.conn_reuse_mode & 2 != 0 && s == TcpState::FinWait && c.nooutput)
                        }
                        ConnState::Sctp { established } => !established,
                        _ => false,
                    };
                let resched = (sys.expire_nodest_conn && weight0) || (sys.conn_reuse_mode != 0 && expected);
                if resched {
                    self.arm(id, now);
                    self.by_key.remove(&key);
                    cp = None;
                }
            }
        }
        if let Some(id) = cp {
            let unavailable =
                self.conns.get(&id).is_some_and(|c| self.table.dest(c.dest).is_none_or(|d| !d.available));
            if unavailable {
                if sys.expire_nodest_conn {
                    self.arm(id, now);
                    self.by_key.remove(&key);
                    cp = None;
                } else {
                    return Outcome::Dropped(DropReason::DestUnavailable);
                }
            }
        }
        let (id, out) = match cp {
            Some(id) => {
                let Some(c) = self.conns.get(&id) else { return Outcome::NotForIpvs };
                (id, Outcome::Existing { dest: c.dest_key, forward_to: c.forward_to })
            }
            None => match self.schedule(f, seg) {
                Ok(x) => x,
                Err(out) => return out,
            },
        };
        if let Some(c) = self.conns.get(&id) {
            let dest = c.dest;
            self.table.count_in_packet(dest, u64::from(f.bytes));
        }
        self.set_state(id, seg);
        self.put(id);
        out
    }

    /// The scheduling half of `ip_vs_in`: `*_conn_schedule` and `ip_vs_schedule`.
    fn schedule(&mut self, f: &Flow, seg: Segment) -> std::result::Result<(u64, Outcome), Outcome> {
        let sys = self.table.config().sysctl.clone();
        if f.protocol == Protocol::Tcp && (seg == Segment::Rst || (!sys.sloppy_tcp && seg != Segment::Syn)) {
            return Err(Outcome::NotScheduled);
        }
        if f.protocol == Protocol::Sctp && !matches!(seg, Segment::Open | Segment::Syn) {
            return Err(Outcome::NotScheduled);
        }
        let Some(si) = self.table.lookup_service_index(f.fwmark, f.protocol, f.vip.ip(), f.vip.port()) else {
            return Err(Outcome::NotForIpvs);
        };
        let Some(svc) = self.table.services.get(si) else { return Err(Outcome::NotForIpvs) };
        let service = svc.service.clone();
        let serial = svc.serial;
        let skey = service.key;
        if f.client.port() == 20 {
            return Err(Outcome::NotScheduled);
        }
        let no_dest = Outcome::NoDestination { service: skey };
        let pkt = PacketInfo::new(f.protocol, f.client, f.vip);
        let (vport, sport) = (f.vip.port(), skey.port());
        let one_packet = service.flags.contains(ServiceFlags::ONEPACKET) && f.protocol == Protocol::Udp;
        if service.is_persistent() {
            let fwmark_svc = matches!(skey, ServiceKey::Fwmark { .. });
            let mut t_proto = f.protocol.to_raw();
            let mut t_vaddr = TplVaddr::Addr(f.vip.ip());
            let mut t_vport = 0;
            if vport == sport {
                if sport != 21 {
                    t_vport = vport;
                }
            } else if fwmark_svc {
                t_proto = 0;
                t_vaddr = TplVaddr::Mark(skey.mark());
            }
            let pe_data = match &service.pe_name {
                Some(_) => match (&f.sip_call_id, f.protocol) {
                    (Some(id), Protocol::Udp) => Some(id.clone()),
                    _ => return Err(Outcome::Dropped(DropReason::PersistenceEngine)),
                },
                None => None,
            };
            let tkey = TplKey {
                family: skey.family(),
                protocol: t_proto,
                client: mask_addr(f.client.ip(), &service.netmask),
                vaddr: t_vaddr,
                vport: t_vport,
                pe_data,
            };
            let found = self.templates.get(&tkey).copied();
            let mut valid = None;
            if let Some(ct) = found {
                let ok = self
                    .conns
                    .get(&ct)
                    .and_then(|c| self.table.dest(c.dest))
                    .is_some_and(|d| d.available && !(sys.expire_quiescent_template && d.weight == 0));
                if ok {
                    valid = Some(ct);
                } else {
                    // Invalidated: unhashed, left to expire on its own timer.
                    self.templates.remove(&tkey);
                }
            }
            let (ct, dest, used) = match valid {
                Some(ct) => {
                    let Some(dest) = self.conns.get(&ct).map(|c| c.dest) else { return Err(no_dest) };
                    (ct, dest, TemplateUse::Reused)
                }
                None => {
                    let Some(dest) = self.table.schedule(si, &pkt, &mut self.rng) else {
                        return Err(no_dest);
                    };
                    let dport_t = match self.table.dest_info(dest) {
                        Some((k, _, _)) if vport == sport && sport != 21 => k.port,
                        _ => 0,
                    };
                    let client_t = SocketAddr::new(tkey.client, 0);
                    let vip_t = match &tkey.vaddr {
                        TplVaddr::Addr(a) => SocketAddr::new(*a, tkey.vport),
                        TplVaddr::Mark(m) => SocketAddr::new(IpAddr::V4(Ipv4Addr::from(*m)), 0),
                    };
                    let proto_t = Protocol::from_raw(tkey.protocol);
                    let timeout_ms = u64::from(service.timeout) * 1000;
                    let Some(ct) = self.new_conn(proto_t, client_t, vip_t, dest, dport_t, false, Some(tkey))
                    else {
                        return Err(no_dest);
                    };
                    if let Some(c) = self.conns.get_mut(&ct) {
                        c.timeout_ms = timeout_ms;
                    }
                    (ct, dest, TemplateUse::Created)
                }
            };
            let dest_port = self.table.dest_info(dest).map_or(0, |(k, _, _)| k.port);
            let dport = if vport == sport && dest_port != 0 { dest_port } else { vport };
            let Some(cp) = self.new_conn(f.protocol, f.client, f.vip, dest, dport, one_packet, None) else {
                return Err(no_dest);
            };
            if let Some(c) = self.conns.get_mut(&cp) {
                c.control = Some(ct);
            }
            if let Some(t) = self.conns.get_mut(&ct) {
                t.n_control += 1;
            }
            self.put(ct);
            self.table.count_conn(dest, serial);
            return self.new_outcome(cp, skey, used);
        }
        if !matches!(skey, ServiceKey::Fwmark { .. }) && vport != sport {
            return Err(no_dest);
        }
        let Some(dest) = self.table.schedule(si, &pkt, &mut self.rng) else { return Err(no_dest) };
        let dest_port = self.table.dest_info(dest).map_or(0, |(k, _, _)| k.port);
        let dport = if dest_port != 0 { dest_port } else { vport };
        let Some(cp) = self.new_conn(f.protocol, f.client, f.vip, dest, dport, one_packet, None) else {
            return Err(no_dest);
        };
        self.table.count_conn(dest, serial);
        self.new_outcome(cp, skey, TemplateUse::None)
    }

    fn new_outcome(
        &self,
        cp: u64,
        service: ServiceKey,
        template: TemplateUse,
    ) -> std::result::Result<(u64, Outcome), Outcome> {
        match self.conns.get(&cp) {
            Some(c) => {
                Ok((cp, Outcome::New { service, dest: c.dest_key, forward_to: c.forward_to, template }))
            }
            None => Err(Outcome::NoDestination { service }),
        }
    }
}
