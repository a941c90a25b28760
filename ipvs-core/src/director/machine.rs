//! The director's decisions, sans-IO (quinn-proto's shape): a deterministic state machine
//! that never sleeps, reads no clock and opens nothing. The daemon feeds it (`handle_*`, with
//! the current time) and asks it (`poll_*`): which probe to start now, when to come back, what
//! the table should be, what to log and which commands to run. Time and randomness are inputs
//! (the seed given to [`Director::new`]), so tests replay years of flapping servers in
//! milliseconds: the same inputs give the same outputs, always.
//!
//! ```text
//! director = Director::resume(config, kernel table of the configured services, now, seed)
//!            // or Director::new(config, now, seed), then handle_table(kernel table, now)
//! loop {
//!     while let Some(p) = director.poll_probe(now) { spawn the probe p; its outcome comes back
//!                                                    as handle_outcome(p.id, outcome, now) }
//!     while let Some(e) = director.poll_event() { log it / run its command }
//!     if director.table_changed() {
//!         owned = director.owned()
//!         plan(kernel table of the owned keys, director.desired()) and apply it
//!         director.handle_applied(the owned keys whose operations all succeeded)
//!     }
//!     now and then (and often for director.draining()): handle_table(kernel table, now)
//!     sleep until director.poll_timeout(), an outcome, a signal or a reload;
//!     then handle_timeout(now) / handle_outcome / handle_reload + handle_table /
//!     handle_maintenance
//! }
//! on stop: director.handle_stop(now); run its events (keepalived's omega hooks);
//!          plan(kernel table of director.owned(), director.on_stop()) and apply it
//! ```
//!
//! # The rules
//!
//! **Probes.** A new check (at the start, or new in a reload) is probed at once, as the
//! reference tools check at start: ldirectord runs a full pass of its checks when it starts and
//! reloads, and keepalived starts every checker after its 1 s bootstrap delay. Its first probe
//! is due after a seeded random delay below 1 s (below its interval when that is shorter), plus
//! a random delay up to [`Check::warmup`] when set (keepalived's `warmup`, which keepalived,
//! and so its front end here, defaults to `delay_loop`). So a server that starts down
//! ([`StartState::Down`], ldirectord's start) is in the table as soon as its first probe
//! passes, and a dead one that starts up is out after its first failures, not up to an interval
//! later. From then on each check is probed every [`Check::interval`], counted from the end of
//! the previous probe (its outcome, or its deadline), but for one wait: the first one that is
//! not a retry (normally the one after the first probe) is the check's phase, a seeded random
//! delay in (0, interval], so that checks that all started in the same second do not probe in
//! lock-step forever but spread over their interval. While a check is failing but not yet down,
//! the next probe comes after [`Check::retry_delay`] instead (keepalived's
//! `delay_before_retry`; at most the interval). The same seed gives the same schedule. A check
//! kept by a reload keeps its schedule, phase included. A probe that does not report by its
//! deadline (start + [`Check::timeout`]) counts as a failure, and its late outcome is ignored.
//! Identical checks (the same probe, target, bind address, mark, interval and timeout) of one
//! real server in several virtual services run once, and their outcome feeds them all, as
//! ldirectord does. [`Probe::Alternate`] runs `connects` connect probes, then its `then` probe
//! (ldirectord's `checktype = N`): a failed connect brings the `then` probe forward, and after
//! a failed `then` probe the next turn is a `then` probe again.
//!
//! **Judgement.** A check fails at its [`Check::failures_to_down`]-th failure in a row (earlier
//! failures are soft: an [`Event::Note`]) and passes again at its first success. A real server
//! is up when all its checks pass (without checks, always), down when one fails, and
//! [`Health::Unknown`] while a check that starts down ([`StartState::Down`],
//! [`StartState::FromTable`] when absent from the table) has not passed yet.
//! [`Outcome::UpWithWeight`] sets its weight (keepalived `misc_dynamic`); a check that goes
//! down gives its dynamic weight back. The maintenance directory forces servers down
//! ([`Health::Maintenance`]): they are not probed, and when they leave it they are down until
//! a check passes.
//!
//! **The table.** Each virtual service is its configured [`Service`] with its up real servers
//! at their weight. A server that is not up is left out ([`OnFailure::Remove`]) or kept with
//! weight 0 ([`OnFailure::Quiesce`]). When the sorry server is in, every real server is at its
//! "not up" form (ldirectord: none is up anyway; keepalived: the live servers are taken out
//! when the quorum is lost). The sorry server is in when the quorum is lost ([`Quorum`]), at
//! its configured weight; otherwise out, or at weight 0 with
//! [`VirtualService::sorry_inhibit`]. Nothing else in the table changes: services and real
//! servers carry exactly their configured settings apart from the weight.
//!
//! **Commands.** `fallbackcommand` runs with `start VIP:PORT PROTO` when the quorum is lost and
//! `stop ...` when it is regained, and once when a virtual service starts with its starting
//! state (ldirectord's start runs it too). `quorum_down` runs when the quorum is lost, and at
//! the start when a virtual service with a sorry server starts without its quorum (keepalived's
//! "Starting with quorum down"); `quorum_up` when it is regained. `notify_up` runs when a real
//! server comes up, `notify_down` when it goes down or into maintenance from up or from its
//! first unknown state (keepalived notifies when an `alpha` server's first checks confirm it
//! down).
//!
//! **Reload.** [`Director::handle_reload`] keeps the state of what did not change: a virtual
//! service with the same key keeps its quorum; a real server with the same key in it keeps its
//! health; a check configured alike keeps its verdict, counters and schedule (a probe in flight
//! keeps counting). A changed or new check of a kept real server starts passing with
//! [`StartState::Up`], and otherwise as the server was (passing if it was up: what the kernel's
//! table shows after the last plan). New servers start as their [`StartState`] says. Removed
//! services and servers disappear and the outcomes of their probes are ignored; the removed
//! services stay in [`Director::owned`] until [`Director::handle_applied`].
//!
//! **Draining.** With [`GlobalOptions::drain_timeout`](super::config::GlobalOptions) above
//! zero, a real server that a reload removes from a virtual service that stays, and a real
//! server that goes into maintenance while up (and would leave the table:
//! [`OnFailure::Remove`]), is drained rather than deleted: it stays in [`Director::desired`]
//! at weight 0 (no new connections; the kernel keeps forwarding the established ones) and
//! [`Director::status`] shows it [`Health::Draining`] until the connections that
//! [`drain_connections`] counts in a read of the kernel's table ([`Director::handle_table`])
//! reach 0, or it is no longer in the kernel's table, or its drain timeout passes
//! ([`Director::poll_timeout`] comes back then); then it leaves the table. A reload that
//! configures a draining server again takes it back with the state it had (as a kept server);
//! one that removes its virtual service, or sets the timeout to zero, ends the drain. Servers
//! that go down are not drained (their connections are dead anyway), nor are removed virtual
//! services (deleting a service is one operation, as before).
//!
//! **Restart.** [`Director::resume`] starts a director on the kernel's table as a previous
//! run (or another tool) left it: every virtual service already in it takes its real servers
//! from it ([`StartState::FromTable`], whatever its configured start: those in with a weight
//! above 0 are up until checked), and the kernel's real servers of those services that the
//! configuration does not have are drained, as if a reload had removed them. So a restart
//! plans nothing for a table that is still right, and no connection is cut.
//!
//! **Stop.** [`Director::on_stop`] is the table to leave: the services that stay
//! ([`OnStop::Keep`], per service or for the whole director), the others deleted.
//! [`Director::handle_stop`] queues the commands stopping runs (keepalived's `omega`).

mod state;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::dest::{Destination, DestinationKey};
use crate::sched::{SplitMix64, Time};
use crate::service::{Service, ServiceKey};
use crate::status::{DestinationStatus, ServiceStatus};

#[allow(unused_imports)] // named in the docs
use super::config::VirtualService;
use super::config::{
    Check, Command, DirectorConfig, OnFailure, OnStop, Origin, Probe, Quorum, RealServer, StartState,
};
use crate::service::Protocol;
use state::{
    fallback_args, initial_quorum, ms, next_quorum, probe_name, same_check, same_real_settings,
    service_transport, CheckState, Drain, Flight, Judged, RealState, Runner, RunnerKey, VirtualState,
};

/// The start window: a new check's first probe comes within this (or its interval, when
/// shorter) of the start or reload, plus its warmup.
const START_WINDOW_MS: u64 = 1000;

/// Identifies one scheduled probe run, to match its outcome.
///
/// ```
/// use ipvs_core::director::machine::ProbeId;
/// assert!(ProbeId(1) < ProbeId(2)); // ids grow: a later probe has a larger id
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProbeId(pub u64);

/// A probe the daemon must start now.
///
/// ```
/// use ipvs_core::director::config::{Check, DirectorConfig, Dialect, Origin, Probe, RealServer, Transport, VirtualService};
/// use ipvs_core::director::machine::Director;
/// use ipvs_core::sched::Time;
/// use ipvs_core::{Destination, Service, ServiceKey};
/// use std::time::Duration;
///
/// let mut cfg = DirectorConfig::new(Dialect::Keepalived);
/// let mut vs = VirtualService::new(Service::new(ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80)), Origin::default());
/// let mut rs = RealServer::new(Destination::new("192.168.1.2:80".parse().unwrap()), Origin::default());
/// rs.checks.push(Check::new(Probe::Connect(Transport::Tcp), "192.168.1.2:80".parse().unwrap()));
/// vs.reals.push(rs);
/// cfg.virtuals.push(vs);
///
/// let mut d = Director::new(cfg, Time::ZERO, 7);
/// let first = d.poll_timeout().unwrap(); // the first probe, within a second of the start
/// assert!(first < Time::from_secs(1));
/// let p = d.poll_probe(first).unwrap();
/// assert_eq!(p.probe, Probe::Connect(Transport::Tcp));
/// assert_eq!(p.real.to_string(), "192.168.1.2:80");
/// assert_eq!(p.deadline, first.plus_secs(5)); // the check's timeout
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProbeRequest {
    /// Quote it in [`Director::handle_outcome`].
    pub id: ProbeId,
    /// What to run (for [`Probe::Alternate`], the machine has already chosen this turn's kind).
    pub probe: Probe,
    /// The check it belongs to (target, bind, fwmark, timeout).
    pub check: Check,
    /// The virtual service and real server it is for (ldirectord's external checks get them as
    /// arguments; several services may share one probe, and this is the first of them in the
    /// configuration).
    pub service: ServiceKey,
    /// The real server it is for.
    pub real: DestinationKey,
    /// When its result stops counting (start + the check's timeout): the daemon must report an
    /// outcome by then; a later one is ignored, and the probe counts as failed.
    pub deadline: Time,
}

/// What a probe found.
///
/// ```
/// use ipvs_core::director::machine::Outcome;
/// let o = Outcome::Down("connection refused".into());
/// assert_ne!(o, Outcome::Up);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The server answered as expected.
    Up,
    /// The server answered, with this weight (keepalived `misc_dynamic`).
    UpWithWeight(u32),
    /// It did not: why, in words for the log.
    Down(String),
}

/// The health of a real server as the director sees it.
///
/// ```
/// use ipvs_core::director::machine::Health;
/// assert_ne!(Health::Unknown, Health::Up); // unknown counts as down
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Health {
    /// Its checks pass: in the table with its weight.
    Up,
    /// Its checks fail: out of the table, or in with weight 0 when quiesced.
    Down,
    /// Not checked yet, and starting down.
    Unknown,
    /// Forced down by the maintenance directory.
    Maintenance,
    /// Being drained (shown by [`Director::status`] only): removed by a reload, or put in
    /// maintenance while up; at weight 0 until its connections end or its drain timeout
    /// passes ([`RealStatus::drain`] says which and until when), then out of the table.
    Draining,
}

/// A drain in progress, as the status shows it ([`RealStatus::drain`]).
///
/// ```
/// use ipvs_core::director::machine::DrainStatus;
/// fn line(d: &DrainStatus) -> String {
///     let conns = d.connections.map_or("not read yet".to_string(), |n| n.to_string());
///     format!("draining since {} until {} at most, connections {conns}", d.since, d.deadline)
/// }
/// # let _ = line;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DrainStatus {
    /// When the drain started.
    pub since: Time,
    /// When it ends at the latest (the drain timeout).
    pub deadline: Time,
    /// The connections [`drain_connections`] counted at the last read of the kernel's table
    /// (`None` before one).
    pub connections: Option<u64>,
    /// Removed from the configuration by a reload (or, at [`Director::resume`], in the kernel's
    /// table but not configured); otherwise put in maintenance.
    pub removed: bool,
}

/// The connections that keep a draining real server in the table, from its entry in the
/// kernel's table: the active ones; for UDP and firewall-mark services the inactive ones too
/// (UDP connections are never active in IPVS, and a mark may carry UDP); for persistent
/// services the persistence templates too (clients that would come back to it).
///
/// ```
/// use ipvs_core::director::machine::drain_connections;
/// use ipvs_core::{Destination, DestinationStatus, Service, ServiceKey};
/// let mut d = DestinationStatus::new(Destination::new("192.168.1.2:53".parse().unwrap()));
/// (d.active_conns, d.inactive_conns, d.persist_conns) = (1, 4, 2);
/// let vip = "10.0.0.1".parse().unwrap();
/// assert_eq!(drain_connections(&Service::new(ServiceKey::tcp(vip, 80)), &d), 1);
/// assert_eq!(drain_connections(&Service::new(ServiceKey::udp(vip, 53)), &d), 5);
/// assert_eq!(drain_connections(&Service::new(ServiceKey::tcp(vip, 80)).with_persistence(300, None), &d), 3);
/// ```
pub fn drain_connections(service: &Service, dest: &DestinationStatus) -> u64 {
    let mut n = u64::from(dest.active_conns);
    let udp_or_mark = match service.key {
        ServiceKey::Addr { protocol, .. } => protocol == Protocol::Udp,
        ServiceKey::Fwmark { .. } => true,
    };
    if udp_or_mark {
        n += u64::from(dest.inactive_conns);
    }
    if service.is_persistent() {
        n += u64::from(dest.persist_conns);
    }
    n
}

/// The verdict of one check.
///
/// ```
/// use ipvs_core::director::machine::Verdict;
/// assert_ne!(Verdict::Unknown, Verdict::Pass);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Verdict {
    /// It passes.
    Pass,
    /// It failed `failures_to_down` times in a row (or more) since it last passed.
    Fail,
    /// It has not passed since it started down ([`StartState::Down`], a server absent from the
    /// table with [`StartState::FromTable`], a server back from maintenance): counts as failing.
    Unknown,
}

/// Something the daemon should log or do.
///
/// ```
/// use ipvs_core::director::machine::Event;
/// fn log(e: &Event) -> String {
///     match e {
///         Event::Decision { at, service, message, .. } => format!("{at} {service}: {message}"),
///         Event::Note { at, origin, message } => format!("{at} {origin}: {message}"),
///         Event::Run { command, args } => format!("running {} {}", command.line, args.join(" ")),
///         _ => String::new(),
///     }
/// }
/// # let _ = log;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A decision, with its reason: one log line.
    Decision {
        /// When.
        at: Time,
        /// The virtual service.
        service: ServiceKey,
        /// The real server (or the sorry server), if the decision is about one.
        real: Option<DestinationKey>,
        /// What was decided and why ("real server 192.168.1.2:80 down: connect check of
        /// 192.168.1.2:80: 3 failures in a row: connection refused").
        message: String,
    },
    /// A command to run now, without waiting for it (`fallbackcommand`, `notify_up`, ...).
    Run {
        /// The command.
        command: Command,
        /// Arguments to append (ldirectord's `start 10.0.0.1:80 tcp`), already split; empty for
        /// keepalived's scripts, which run as written.
        args: Vec<String>,
    },
    /// A soft failure or other note that changes nothing: one log line.
    Note {
        /// When.
        at: Time,
        /// Where in the configuration it belongs.
        origin: Origin,
        /// The text.
        message: String,
    },
}

/// One check as the status snapshot shows it.
///
/// ```
/// use ipvs_core::director::machine::{CheckStatus, Verdict};
/// fn line(c: &CheckStatus) -> String {
///     format!("{} {:?} {}/{}", c.target, c.verdict, c.failures, c.failures_to_down)
/// }
/// # let _ = line; let _ = Verdict::Pass;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckStatus {
    /// Where the check was written.
    pub origin: Origin,
    /// What it connects to.
    pub target: SocketAddr,
    /// Its verdict.
    pub verdict: Verdict,
    /// Failures in a row so far.
    pub failures: u32,
    /// Failures in a row that make it fail.
    pub failures_to_down: u32,
    /// The weight its last outcome set (keepalived `misc_dynamic`), if any.
    pub dynamic_weight: Option<u32>,
    /// The last outcome, and when.
    pub last: Option<(Time, Outcome)>,
    /// When its next probe is due (`None` while one is in flight or in maintenance).
    pub next_probe: Option<Time>,
    /// Whether a probe is running now.
    pub in_flight: bool,
}

/// One real server as the status snapshot shows it.
///
/// ```
/// use ipvs_core::director::machine::{Health, RealStatus};
/// fn line(r: &RealStatus) -> String {
///     match r.desired_weight {
///         Some(w) => format!("{} {:?} weight {w}", r.key, r.health),
///         None => format!("{} {:?} out", r.key, r.health),
///     }
/// }
/// # let _ = line; let _ = Health::Up;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RealStatus {
    /// Its key.
    pub key: DestinationKey,
    /// Its health.
    pub health: Health,
    /// The weight configured.
    pub configured_weight: u32,
    /// The weight it has when up: the configured one, or the one its dynamic checks set.
    pub weight: u32,
    /// The weight the director wants in the table (0 when quiesced; `None` when it wants it out).
    pub desired_weight: Option<u32>,
    /// Failures in a row so far (the most of any of its checks).
    pub failures: u32,
    /// The last outcome of any of its checks, and when.
    pub last: Option<(Time, Outcome)>,
    /// When its health last changed (or when it was configured).
    pub since: Time,
    /// Its checks, in configuration order (none for a server a reload removed).
    pub checks: Vec<CheckStatus>,
    /// Its drain, while it is drained ([`Health::Draining`]).
    pub drain: Option<DrainStatus>,
}

/// One virtual service as the status snapshot shows it.
///
/// ```
/// use ipvs_core::director::machine::VirtualStatus;
/// fn line(v: &VirtualStatus) -> String {
///     format!("{} live weight {} quorum {} sorry {}", v.key, v.live_weight, v.quorum, v.sorry_in)
/// }
/// # let _ = line;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VirtualStatus {
    /// Its key.
    pub key: ServiceKey,
    /// Its real servers.
    pub reals: Vec<RealStatus>,
    /// Whether the sorry server is in.
    pub sorry_in: bool,
    /// The sorry server, if one is configured.
    pub sorry: Option<DestinationKey>,
    /// Whether the live servers are enough ([`Quorum`]); when not, the sorry server is in.
    pub quorum: bool,
    /// How many real servers are up.
    pub live: usize,
    /// The sum of their weights.
    pub live_weight: u64,
}

/// The director: configuration, per-server state, the probe schedule and pending events.
///
/// See the [module docs](self) for the rules and the loop that drives it.
///
/// ```
/// use ipvs_core::director::config::{Check, DirectorConfig, Dialect, OnFailure, Origin, Probe, RealServer, Transport, VirtualService};
/// use ipvs_core::director::machine::{Director, Outcome};
/// use ipvs_core::sched::Time;
/// use ipvs_core::{Destination, Service, ServiceKey};
///
/// let mut cfg = DirectorConfig::new(Dialect::Ldirectord);
/// let mut vs = VirtualService::new(Service::new(ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80)), Origin::default());
/// vs.on_failure = OnFailure::Quiesce;
/// for a in ["192.168.1.2:80", "192.168.1.3:80"] {
///     let mut rs = RealServer::new(Destination::new(a.parse().unwrap()).with_weight(2), Origin::default());
///     rs.checks.push(Check::new(Probe::Connect(Transport::Tcp), a.parse().unwrap()));
///     vs.reals.push(rs);
/// }
/// cfg.virtuals.push(vs);
///
/// let mut d = Director::new(cfg, Time::ZERO, 1);
/// assert!(d.table_changed()); // the first table
/// let weights = |d: &Director| d.desired()[0].1.iter().map(|r| r.weight).collect::<Vec<_>>();
/// assert_eq!(weights(&d), [2, 2]); // StartState::Up
///
/// // Run the probes of the first 10 s: .2 refuses, .3 answers.
/// let mut now = Time::ZERO;
/// while now < Time::from_secs(10) {
///     while let Some(p) = d.poll_probe(now) {
///         let o = if p.real.to_string() == "192.168.1.2:80" { Outcome::Down("connection refused".into()) } else { Outcome::Up };
///         d.handle_outcome(p.id, o, now);
///     }
///     now = d.poll_timeout().unwrap();
/// }
/// assert_eq!(weights(&d), [0, 2]); // quiesced
/// assert!(d.table_changed());
/// assert!(!d.table_changed());
/// ```
#[derive(Debug)]
pub struct Director {
    config: DirectorConfig,
    /// One per configured virtual service, in order.
    virtuals: Vec<VirtualState>,
    /// The probes, in the order of their first check in the configuration.
    runners: Vec<Runner>,
    /// Idle, unpaused runners by when they are due.
    due: BTreeSet<(Time, usize)>,
    /// Probes in flight by deadline.
    deadlines: BTreeSet<(Time, ProbeId)>,
    /// Probes in flight: the runner of each.
    flights: BTreeMap<ProbeId, usize>,
    next_id: u64,
    rng: SplitMix64,
    events: VecDeque<Event>,
    /// What the maintenance directory names, sorted.
    maintenance: Vec<(IpAddr, Option<u16>)>,
    /// Services removed by reloads and not yet known to be gone from the kernel.
    removed: Vec<ServiceKey>,
    /// Real servers removed by reloads (or found unconfigured by [`Director::resume`]) and
    /// drained, in the order they were removed.
    draining: Vec<Removed>,
    /// The table [`Director::table_changed`] last saw.
    last_table: Option<Vec<(Service, Vec<Destination>)>>,
    /// Whether every virtual service has settled (so [`Director::settle`] has nothing to do).
    all_settled: bool,
}

/// A real server that a reload removed, drained before it leaves the table.
#[derive(Debug, Clone)]
struct Removed {
    /// Its virtual service (still configured).
    service: ServiceKey,
    /// Its configuration before the reload (its destination goes in at weight 0).
    config: RealServer,
    /// Its state before the reload (taken back if a reload configures it again).
    state: RealState,
    drain: Drain,
}

impl Director {
    /// A director for `config`, started at `now`; `seed` drives the spreading of the first
    /// probes over the start window (and `warmup`) and of the later ones over their intervals.
    ///
    /// Real servers start as their virtual's [`StartState`] says; a virtual service whose
    /// servers start [`StartState::FromTable`] waits for [`Director::handle_table`] (or the
    /// first probe) before it decides its starting quorum and runs its start commands.
    ///
    /// ```
    /// use ipvs_core::director::config::{DirectorConfig, Dialect};
    /// use ipvs_core::director::machine::Director;
    /// use ipvs_core::sched::Time;
    /// let d = Director::new(DirectorConfig::new(Dialect::Ldirectord), Time::ZERO, 42);
    /// assert!(d.desired().is_empty());
    /// assert_eq!(d.poll_timeout(), None); // nothing to probe
    /// ```
    pub fn new(config: DirectorConfig, now: Time, seed: u64) -> Self {
        Self::build(config, now, seed, &HashSet::new())
    }

    /// A director for `config` started at `now` on the kernel's `table` as a previous run (or
    /// another tool) left it: a restart that keeps every live connection. The virtual services
    /// already in `table` take their real servers from it ([`StartState::FromTable`], whatever
    /// their configured start, real servers' own included: one in with a weight above 0 is up
    /// until checked, any other down until checked); the real servers of those services that
    /// are in `table` but not in the configuration (nor its sorry server) are drained, as if a
    /// reload had removed them (deleted at once with a zero drain timeout). Then `table` is
    /// read as by [`Director::handle_table`]. Other services start as [`Director::new`] starts
    /// them. `table` holds the kernel's entries of the configured services (others are
    /// ignored).
    ///
    /// ```
    /// use ipvs_core::director::config::{Check, DirectorConfig, Dialect, Origin, Probe, RealServer, StartState, Transport, VirtualService};
    /// use ipvs_core::director::machine::{Director, Health};
    /// use ipvs_core::plan::plan;
    /// use ipvs_core::sched::Time;
    /// use ipvs_core::{Destination, DestinationStatus, Service, ServiceKey, ServiceStatus};
    ///
    /// let svc = Service::new(ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80));
    /// let mut vs = VirtualService::new(svc.clone(), Origin::default());
    /// vs.start = StartState::Down; // keepalived's alpha
    /// let mut rs = RealServer::new(Destination::new("192.168.1.2:80".parse().unwrap()), Origin::default());
    /// rs.checks.push(Check::new(Probe::Connect(Transport::Tcp), "192.168.1.2:80".parse().unwrap()));
    /// vs.reals.push(rs);
    /// let mut cfg = DirectorConfig::new(Dialect::Keepalived);
    /// cfg.virtuals.push(vs);
    ///
    /// // The kernel's table as the killed director left it.
    /// let kernel = vec![(ServiceStatus::new(svc), vec![DestinationStatus::new(Destination::new("192.168.1.2:80".parse().unwrap()))])];
    /// let d = Director::resume(cfg.clone(), &kernel, Time::ZERO, 0);
    /// assert_eq!(d.status()[0].reals[0].health, Health::Up); // up until checked
    /// assert!(plan(&kernel, &d.desired()).unwrap().is_empty()); // nothing to change
    /// // Director::new would start it down and plan its deletion.
    /// assert!(!plan(&kernel, &Director::new(cfg, Time::ZERO, 0).desired()).unwrap().is_empty());
    /// ```
    pub fn resume(
        config: DirectorConfig,
        table: &[(ServiceStatus, Vec<DestinationStatus>)],
        now: Time,
        seed: u64,
    ) -> Self {
        let configured: HashSet<ServiceKey> = config.virtuals.iter().map(|v| v.service.key).collect();
        let present: HashSet<ServiceKey> =
            table.iter().map(|(s, _)| s.service.key).filter(|k| configured.contains(k)).collect();
        let mut d = Self::build(config, now, seed, &present);
        let timeout = d.config.options.drain_timeout;
        if !timeout.is_zero() {
            let mut seen = HashSet::new();
            for (s, dests) in table {
                let key = s.service.key;
                let Some(vcfg) = d.config.virtuals.iter().find(|v| v.service.key == key) else { continue };
                if !seen.insert(key) {
                    continue;
                }
                let known: HashSet<DestinationKey> = vcfg
                    .reals
                    .iter()
                    .map(|r| r.dest.key())
                    .chain(vcfg.sorry.as_ref().map(Destination::key))
                    .collect();
                for ds in dests {
                    let rkey = ds.dest.key();
                    if known.contains(&rkey)
                        || d.draining.iter().any(|r| r.service == key && r.config.dest.key() == rkey)
                    {
                        continue;
                    }
                    let config = RealServer::new(ds.dest.clone(), Origin::default());
                    let state = RealState::start_as(&config, StartState::Down, now);
                    d.draining.push(Removed { service: key, config, state, drain: Drain::new(now, timeout) });
                    d.events.push_back(Event::Decision {
                        at: now,
                        service: key,
                        real: Some(rkey),
                        message: format!(
                            "real server {rkey} in the kernel's table but not configured: draining at weight 0 \
                             until its connections end (at most {timeout:?})"
                        ),
                    });
                }
            }
        }
        d.handle_table(table, now);
        d
    }

    /// [`Director::new`], with the virtual services in `from_table` started
    /// [`StartState::FromTable`].
    fn build(config: DirectorConfig, now: Time, seed: u64, from_table: &HashSet<ServiceKey>) -> Self {
        let virtuals = config
            .virtuals
            .iter()
            .map(|v| VirtualState {
                reals: v
                    .reals
                    .iter()
                    .map(|r| {
                        if from_table.contains(&v.service.key) {
                            RealState::start_as(r, StartState::FromTable, now)
                        } else {
                            RealState::start(r, v.start, now)
                        }
                    })
                    .collect(),
                quorum: false,
                settled: false,
            })
            .collect();
        let mut d = Director {
            config,
            virtuals,
            runners: Vec::new(),
            due: BTreeSet::new(),
            deadlines: BTreeSet::new(),
            flights: BTreeMap::new(),
            next_id: 1,
            rng: SplitMix64::new(seed),
            events: VecDeque::new(),
            maintenance: Vec::new(),
            removed: Vec::new(),
            draining: Vec::new(),
            last_table: None,
            all_settled: false,
        };
        d.rebuild_runners(Vec::new(), now);
        d.settle(now, false);
        d
    }

    /// The configuration in force.
    ///
    /// ```
    /// use ipvs_core::director::config::{DirectorConfig, Dialect};
    /// use ipvs_core::director::machine::Director;
    /// use ipvs_core::sched::Time;
    /// let d = Director::new(DirectorConfig::new(Dialect::Keepalived), Time::ZERO, 0);
    /// assert_eq!(d.config().dialect, Dialect::Keepalived);
    /// ```
    pub fn config(&self) -> &DirectorConfig {
        &self.config
    }

    /// The kernel's table as the daemon read it (the entries of the configured services).
    ///
    /// At start and after a reload (call it before anything else then): real servers waiting
    /// for it ([`StartState::FromTable`]) start up when present with a weight above 0 and
    /// unknown (down until checked) otherwise, as ldirectord's start and reload do; then the
    /// virtual services that waited decide their starting quorum.
    ///
    /// The daemon may also call it whenever it reads the table (before each plan): with
    /// `readdquiescent = no` ([`GlobalOptions::readd_quiescent`](super::config::GlobalOptions)),
    /// a quiesced server that was in the table and has been deleted by hand since is left out
    /// until it recovers (an operator deletes it to cut off its persistent clients); with
    /// `yes` the next plan adds it back at weight 0. Draining real servers (see the
    /// [module docs](self)) take their connection counts from it: one whose
    /// [`drain_connections`] are 0, or that is no longer in its service's entry, leaves the
    /// table. A service missing from `table` tells nothing about its draining servers (the
    /// daemon may read only some services).
    ///
    /// ```
    /// use ipvs_core::director::config::{DirectorConfig, Dialect, Origin, RealServer, StartState, VirtualService, Check, Probe, Transport};
    /// use ipvs_core::director::machine::{Director, Health};
    /// use ipvs_core::sched::Time;
    /// use ipvs_core::{Destination, DestinationStatus, Service, ServiceKey, ServiceStatus};
    ///
    /// let svc = Service::new(ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80));
    /// let mut vs = VirtualService::new(svc.clone(), Origin::default());
    /// vs.start = StartState::FromTable;
    /// for a in ["192.168.1.2:80", "192.168.1.3:80"] {
    ///     let mut rs = RealServer::new(Destination::new(a.parse().unwrap()), Origin::default());
    ///     rs.checks.push(Check::new(Probe::Connect(Transport::Tcp), a.parse().unwrap()));
    ///     vs.reals.push(rs);
    /// }
    /// let mut cfg = DirectorConfig::new(Dialect::Ldirectord);
    /// cfg.virtuals.push(vs);
    /// let mut d = Director::new(cfg, Time::ZERO, 0);
    ///
    /// // The kernel has .2 with weight 1 (a restart): it stays up; .3 waits for its check.
    /// let kernel = vec![(ServiceStatus::new(svc), vec![DestinationStatus::new(Destination::new("192.168.1.2:80".parse().unwrap()))])];
    /// d.handle_table(&kernel, Time::ZERO);
    /// let st = d.status();
    /// assert_eq!((st[0].reals[0].health, st[0].reals[1].health), (Health::Up, Health::Unknown));
    /// ```
    pub fn handle_table(&mut self, table: &[(ServiceStatus, Vec<DestinationStatus>)], now: Time) {
        let kernel: HashMap<ServiceKey, HashMap<DestinationKey, u32>> = table
            .iter()
            .map(|(s, ds)| (s.service.key, ds.iter().map(|d| (d.dest.key(), d.dest.weight)).collect()))
            .collect();
        let readd = self.config.options.readd_quiescent;
        for vi in 0..self.virtuals.len() {
            let vkey = self.config.virtuals[vi].service.key;
            let entry = kernel.get(&vkey);
            for rj in 0..self.virtuals[vi].reals.len() {
                let rkey = self.config.virtuals[vi].reals[rj].dest.key();
                let in_table = entry.and_then(|e| e.get(&rkey)).copied();
                let quiesced = self.real_quiesced(vi, rj);
                let rs = &mut self.virtuals[vi].reals[rj];
                let mut resolved = false;
                for cs in rs.checks.iter_mut().filter(|c| c.pending_table) {
                    cs.pending_table = false;
                    cs.verdict =
                        if in_table.is_some_and(|w| w > 0) { Verdict::Pass } else { Verdict::Unknown };
                    resolved = true;
                }
                if resolved {
                    self.refresh_real(vi, rj, now, |_| match in_table {
                        Some(w) => format!("in the kernel's table with weight {w}"),
                        None => "not in the kernel's table".to_string(),
                    });
                } else if quiesced && entry.is_some() {
                    let rs = &mut self.virtuals[vi].reals[rj];
                    if in_table.is_some() {
                        rs.quiesce_seen = true;
                    } else if rs.quiesce_seen && !readd && !rs.dropped {
                        rs.dropped = true;
                        self.decide(
                            now,
                            vi,
                            Some(rkey),
                            format!(
                                "real server {rkey} deleted by hand while quiesced: left out until it \
                                 recovers (readdquiescent = no)"
                            ),
                        );
                    }
                }
            }
        }
        self.settle(now, true);
        for vi in 0..self.virtuals.len() {
            self.update_virtual(vi, now);
        }
        self.read_drains(table, now);
        self.expire_drains(now);
    }

    /// A new configuration (a reload that parsed): services and real servers that did not
    /// change keep their state (see the [module docs](self)); the next [`Director::desired`]
    /// is the new table, and [`Director::owned`] keeps the removed services until
    /// [`Director::handle_applied`]. Call [`Director::handle_table`] next when the new
    /// configuration has [`StartState::FromTable`] servers.
    ///
    /// ```
    /// use ipvs_core::director::config::{DirectorConfig, Dialect, Origin, VirtualService};
    /// use ipvs_core::director::machine::Director;
    /// use ipvs_core::sched::Time;
    /// use ipvs_core::{Service, ServiceKey};
    ///
    /// let key = |p| ServiceKey::tcp("10.0.0.1".parse().unwrap(), p);
    /// let cfg = |ports: &[u16]| {
    ///     let mut c = DirectorConfig::new(Dialect::Keepalived);
    ///     c.virtuals = ports.iter().map(|&p| VirtualService::new(Service::new(key(p)), Origin::default())).collect();
    ///     c
    /// };
    /// let mut d = Director::new(cfg(&[80, 443]), Time::ZERO, 0);
    /// d.handle_reload(cfg(&[80]), Time::from_secs(1));
    /// assert_eq!(d.desired().len(), 1);
    /// let owned = d.owned();
    /// assert_eq!(owned, [key(80), key(443)]); // 443 must still be deleted
    /// // ... the daemon plans from the kernel's entries for `owned` to `d.desired()` and
    /// // applies the plan without errors:
    /// d.handle_applied(&owned);
    /// assert_eq!(d.owned(), [key(80)]);
    /// ```
    pub fn handle_reload(&mut self, config: DirectorConfig, now: Time) {
        self.settle(now, true);
        // The real servers in the table now: those a reload removes are drained.
        let in_table = self.in_table();
        let drain_for = config.options.drain_timeout;
        let mut old_draining = std::mem::take(&mut self.draining);
        let old_config = std::mem::replace(&mut self.config, config);
        let mut old_states: Vec<Option<VirtualState>> =
            std::mem::take(&mut self.virtuals).into_iter().map(Some).collect();
        let mut added = Vec::new();
        let mut new_states = Vec::with_capacity(self.config.virtuals.len());
        for (vi, vcfg) in self.config.virtuals.iter().enumerate() {
            let key = vcfg.service.key;
            let old = old_config
                .virtuals
                .iter()
                .enumerate()
                .position(|(oi, o)| o.service.key == key && old_states[oi].is_some());
            let Some(oi) = old else {
                added.push((vi, None));
                new_states.push(VirtualState {
                    reals: vcfg.reals.iter().map(|r| RealState::start(r, vcfg.start, now)).collect(),
                    quorum: false,
                    settled: false,
                });
                continue;
            };
            let Some(mut ostate) = old_states[oi].take() else { continue };
            let ocfg = &old_config.virtuals[oi];
            let mut old_reals: Vec<Option<RealState>> =
                std::mem::take(&mut ostate.reals).into_iter().map(Some).collect();
            let mut reals = Vec::with_capacity(vcfg.reals.len());
            for rcfg in &vcfg.reals {
                let rkey = rcfg.dest.key();
                let found = ocfg
                    .reals
                    .iter()
                    .enumerate()
                    .position(|(oj, o)| o.dest.key() == rkey && old_reals[oj].is_some());
                let Some(oj) = found else {
                    // Configured again while draining: back with the state it had.
                    let back = old_draining
                        .iter()
                        .position(|r| r.service == key && r.config.dest.key() == rkey)
                        .map(|i| old_draining.remove(i));
                    match back {
                        Some(back) => {
                            let mut rs = keep_real(back.state, &back.config, rcfg, vcfg.start);
                            rs.drain = rs.maintenance.then_some(back.drain);
                            self.events.push_back(Event::Decision {
                                at: now,
                                service: key,
                                real: Some(rkey),
                                message: format!(
                                    "real server {rkey} configured again while draining (configuration \
                                     reloaded): drain over"
                                ),
                            });
                            reals.push(rs);
                        }
                        None => {
                            added.push((vi, Some(rkey)));
                            reals.push(RealState::start(rcfg, vcfg.start, now));
                        }
                    }
                    continue;
                };
                let Some(ors) = old_reals[oj].take() else { continue };
                let orcfg = &ocfg.reals[oj];
                if !same_real_settings(orcfg, rcfg) {
                    added.push((vi, Some(rkey)));
                }
                reals.push(keep_real(ors, orcfg, rcfg, vcfg.start));
            }
            for (oj, r) in old_reals.into_iter().enumerate() {
                let Some(mut state) = r else { continue };
                let rcfg = &ocfg.reals[oj];
                let rkey = rcfg.dest.key();
                let was_in = in_table.contains(&(key, rkey)) || state.drain.is_some();
                let message = if !drain_for.is_zero() && was_in {
                    let drain = state.drain.take().unwrap_or(Drain::new(now, drain_for));
                    self.draining.push(Removed { service: key, config: rcfg.clone(), state, drain });
                    format!(
                        "real server {rkey} removed (configuration reloaded): draining at weight 0 until \
                         its connections end (at most {drain_for:?})"
                    )
                } else {
                    format!("real server {rkey} removed (configuration reloaded)")
                };
                self.events.push_back(Event::Decision { at: now, service: key, real: Some(rkey), message });
            }
            ostate.reals = reals;
            new_states.push(ostate);
        }
        for (oi, s) in old_states.iter().enumerate() {
            if s.is_some() {
                let key = old_config.virtuals[oi].service.key;
                if !self.removed.contains(&key) && !self.config.virtuals.iter().any(|v| v.service.key == key)
                {
                    self.removed.push(key);
                }
                self.events.push_back(Event::Decision {
                    at: now,
                    service: key,
                    real: None,
                    message: "virtual service removed (configuration reloaded)".to_string(),
                });
            }
        }
        let configured: HashSet<ServiceKey> = self.config.virtuals.iter().map(|v| v.service.key).collect();
        self.removed.retain(|k| !configured.contains(k));
        // Drains of earlier reloads go on while their service stays (and draining is on).
        if !drain_for.is_zero() {
            let mut kept: Vec<Removed> =
                old_draining.into_iter().filter(|r| configured.contains(&r.service)).collect();
            kept.append(&mut self.draining);
            self.draining = kept;
        }
        self.virtuals = new_states;
        self.all_settled = false;
        for (vi, real) in added {
            let message = match real {
                None => "virtual service added (configuration reloaded)".to_string(),
                Some(k) => format!("real server {k} configured (configuration reloaded)"),
            };
            self.decide(now, vi, real, message);
        }
        let runners = std::mem::take(&mut self.runners);
        self.rebuild_runners(runners, now);
        self.apply_maintenance(now);
        for vi in 0..self.virtuals.len() {
            for rj in 0..self.virtuals[vi].reals.len() {
                self.refresh_real(vi, rj, now, |_| "configuration reloaded".to_string());
            }
        }
        self.settle(now, false);
        for vi in 0..self.virtuals.len() {
            self.update_virtual(vi, now);
        }
    }

    /// The outcome of probe `id`. Outcomes of probes the machine no longer knows (the server
    /// was removed by a reload, went into maintenance, or the probe's deadline passed: `now`
    /// after the deadline counts it failed first) are ignored.
    ///
    /// ```
    /// # use ipvs_core::director::config::{Check, DirectorConfig, Dialect, Origin, Probe, RealServer, Transport, VirtualService};
    /// # use ipvs_core::{Destination, Service, ServiceKey};
    /// use ipvs_core::director::machine::{Director, Health, Outcome};
    /// use ipvs_core::sched::Time;
    /// # let mut cfg = DirectorConfig::new(Dialect::Keepalived);
    /// # let mut vs = VirtualService::new(Service::new(ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80)), Origin::default());
    /// # let mut rs = RealServer::new(Destination::new("192.168.1.2:80".parse().unwrap()), Origin::default());
    /// # rs.checks.push(Check::new(Probe::Connect(Transport::Tcp), "192.168.1.2:80".parse().unwrap()));
    /// # vs.reals.push(rs);
    /// # cfg.virtuals.push(vs);
    /// // One real server with a connect check (5 s timeout), down at the first failure.
    /// let mut d = Director::new(cfg, Time::ZERO, 0);
    /// let t = d.poll_timeout().unwrap();
    /// let p = d.poll_probe(t).unwrap();
    /// d.handle_outcome(p.id, Outcome::Up, p.deadline.plus_millis(1)); // too late: a failure
    /// assert_eq!(d.status()[0].reals[0].health, Health::Down);
    /// ```
    pub fn handle_outcome(&mut self, id: ProbeId, outcome: Outcome, now: Time) {
        self.settle(now, true);
        self.expire(now, false);
        let Some(ri) = self.flights.remove(&id) else { return };
        let Some(flight) = self.runners.get_mut(ri).and_then(|r| r.flight.take()) else { return };
        self.deadlines.remove(&(flight.deadline, id));
        self.complete(ri, flight, outcome, now);
    }

    /// The real servers the maintenance directory currently names (ldirectord's
    /// `maintenancedir`), as (address, optional port): they are forced down until left out
    /// (not probed meanwhile, their probes in flight ignored); when left out, they are down
    /// until a check passes, and their probes are due at once.
    ///
    /// ```
    /// # use ipvs_core::director::config::{DirectorConfig, Dialect, Origin, RealServer, VirtualService};
    /// # use ipvs_core::{Destination, Service, ServiceKey};
    /// use ipvs_core::director::machine::{Director, Health};
    /// use ipvs_core::sched::Time;
    /// # let mut cfg = DirectorConfig::new(Dialect::Ldirectord);
    /// # let mut vs = VirtualService::new(Service::new(ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80)), Origin::default());
    /// # vs.reals.push(RealServer::new(Destination::new("192.168.1.2:80".parse().unwrap()), Origin::default()));
    /// # cfg.virtuals.push(vs);
    /// // One real server, 192.168.1.2:80, without checks.
    /// let mut d = Director::new(cfg, Time::ZERO, 0);
    /// d.handle_maintenance(&[("192.168.1.2".parse().unwrap(), None)], Time::from_secs(1));
    /// assert_eq!(d.status()[0].reals[0].health, Health::Maintenance);
    /// assert!(d.desired()[0].1.is_empty());
    /// d.handle_maintenance(&[], Time::from_secs(2));
    /// assert_eq!(d.status()[0].reals[0].health, Health::Up); // no checks: up at once
    /// ```
    pub fn handle_maintenance(&mut self, down: &[(IpAddr, Option<u16>)], now: Time) {
        self.settle(now, true);
        let mut list = down.to_vec();
        list.sort();
        list.dedup();
        self.maintenance = list;
        self.apply_maintenance(now);
        for vi in 0..self.virtuals.len() {
            for rj in 0..self.virtuals[vi].reals.len() {
                self.refresh_real(vi, rj, now, |_| "maintenance directory".to_string());
            }
            self.update_virtual(vi, now);
        }
    }

    /// Time passed: probes whose deadline is at or before `now` count as failed.
    ///
    /// ```
    /// # use ipvs_core::director::config::{Check, DirectorConfig, Dialect, Origin, Probe, RealServer, Transport, VirtualService};
    /// # use ipvs_core::{Destination, Service, ServiceKey};
    /// use ipvs_core::director::machine::{Director, Health};
    /// use ipvs_core::sched::Time;
    /// # let mut cfg = DirectorConfig::new(Dialect::Keepalived);
    /// # let mut vs = VirtualService::new(Service::new(ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80)), Origin::default());
    /// # let mut rs = RealServer::new(Destination::new("192.168.1.2:80".parse().unwrap()), Origin::default());
    /// # rs.checks.push(Check::new(Probe::Connect(Transport::Tcp), "192.168.1.2:80".parse().unwrap()));
    /// # vs.reals.push(rs);
    /// # cfg.virtuals.push(vs);
    /// let mut d = Director::new(cfg, Time::ZERO, 0);
    /// let p = d.poll_probe(d.poll_timeout().unwrap()).unwrap();
    /// assert_eq!(d.poll_timeout(), Some(p.deadline)); // come back at the deadline
    /// d.handle_timeout(p.deadline);
    /// assert_eq!(d.status()[0].reals[0].health, Health::Down);
    /// ```
    pub fn handle_timeout(&mut self, now: Time) {
        self.settle(now, true);
        self.expire(now, true);
        self.expire_drains(now);
    }

    /// The next probe to start at `now`, if one is due (call it until `None`). Deadlines at or
    /// before `now` are counted first, as by [`Director::handle_timeout`].
    ///
    /// ```
    /// use ipvs_core::director::config::{DirectorConfig, Dialect};
    /// use ipvs_core::director::machine::Director;
    /// use ipvs_core::sched::Time;
    /// let mut d = Director::new(DirectorConfig::new(Dialect::Ldirectord), Time::ZERO, 0);
    /// assert!(d.poll_probe(Time::from_secs(60)).is_none());
    /// ```
    pub fn poll_probe(&mut self, now: Time) -> Option<ProbeRequest> {
        self.settle(now, true);
        self.expire(now, true);
        let &(due, ri) = self.due.first()?;
        if due > now {
            return None;
        }
        self.due.remove(&(due, ri));
        let id = ProbeId(self.next_id);
        self.next_id += 1;
        let runner = self.runners.get_mut(ri)?;
        let then = runner.next_is_then();
        let deadline = now.plus_millis(ms(runner.check.timeout));
        runner.flight = Some(Flight { id, deadline, then });
        let request = ProbeRequest {
            id,
            probe: runner.turn_probe(then),
            check: runner.check.clone(),
            service: runner.service,
            real: runner.real,
            deadline,
        };
        self.deadlines.insert((deadline, id));
        self.flights.insert(id, ri);
        Some(request)
    }

    /// When the machine next needs to be called (the next probe due or deadline, or the end of
    /// a drain), if ever.
    ///
    /// ```
    /// use ipvs_core::director::config::{DirectorConfig, Dialect};
    /// use ipvs_core::director::machine::Director;
    /// use ipvs_core::sched::Time;
    /// let d = Director::new(DirectorConfig::new(Dialect::Ldirectord), Time::ZERO, 0);
    /// assert_eq!(d.poll_timeout(), None);
    /// ```
    pub fn poll_timeout(&self) -> Option<Time> {
        let due = self.due.first().map(|&(t, _)| t);
        let deadline = self.deadlines.first().map(|&(t, _)| t);
        let drain = self
            .draining
            .iter()
            .map(|r| r.drain.deadline)
            .chain(
                self.virtuals.iter().flat_map(|v| v.reals.iter().filter_map(|r| r.drain.map(|d| d.deadline))),
            )
            .min();
        [due, deadline, drain].into_iter().flatten().min()
    }

    /// The virtual services holding a draining real server, in configuration order: the daemon
    /// reads them from the kernel (and passes them to [`Director::handle_table`]) often, so that
    /// a drained server leaves soon after its last connection ends.
    ///
    /// ```
    /// use ipvs_core::director::config::{DirectorConfig, Dialect};
    /// use ipvs_core::director::machine::Director;
    /// use ipvs_core::sched::Time;
    /// let d = Director::new(DirectorConfig::new(Dialect::Ldirectord), Time::ZERO, 0);
    /// assert!(d.draining().is_empty());
    /// ```
    pub fn draining(&self) -> Vec<ServiceKey> {
        let mut seen = HashSet::new();
        self.config
            .virtuals
            .iter()
            .zip(&self.virtuals)
            .filter(|(v, s)| {
                s.reals.iter().any(|r| r.drain.is_some())
                    || self.draining.iter().any(|r| r.service == v.service.key)
            })
            .map(|(v, _)| v.service.key)
            .filter(|k| seen.insert(*k))
            .collect()
    }

    /// The next thing to log or do, oldest first.
    ///
    /// ```
    /// # use ipvs_core::director::config::{Command, DirectorConfig, Dialect, Origin, VirtualService};
    /// # use ipvs_core::{Service, ServiceKey};
    /// use ipvs_core::director::machine::{Director, Event};
    /// use ipvs_core::sched::Time;
    /// let mut cfg = DirectorConfig::new(Dialect::Ldirectord);
    /// let mut vs = VirtualService::new(Service::new(ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80)), Origin::default());
    /// vs.hooks.fallback_command = Some(Command { line: "/etc/ha.d/fallback".into(), origin: Origin::default() });
    /// cfg.virtuals.push(vs);
    /// // No real server is up: the fallback command runs with "start" at once.
    /// let mut d = Director::new(cfg, Time::ZERO, 0);
    /// let runs: Vec<_> = std::iter::from_fn(|| d.poll_event())
    ///     .filter_map(|e| match e { Event::Run { args, .. } => Some(args.join(" ")), _ => None })
    ///     .collect();
    /// assert_eq!(runs, ["start 10.0.0.1:80 tcp"]);
    /// ```
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Whether [`Director::desired`] changed since the last call of this method (true at the
    /// first call).
    ///
    /// ```
    /// use ipvs_core::director::config::{DirectorConfig, Dialect};
    /// use ipvs_core::director::machine::Director;
    /// use ipvs_core::sched::Time;
    /// let mut d = Director::new(DirectorConfig::new(Dialect::Ldirectord), Time::ZERO, 0);
    /// assert!(d.table_changed());
    /// assert!(!d.table_changed());
    /// ```
    pub fn table_changed(&mut self) -> bool {
        let table = self.desired();
        let changed = self.last_table.as_ref() != Some(&table);
        self.last_table = Some(table);
        changed
    }

    /// The table the director wants for the services it owns, in configuration order: the
    /// input of [`crate::plan::plan`] (against the kernel's entries for
    /// [`Director::owned`]). A service listed twice in the configuration is given once (the
    /// first); so is a real server listed twice in a service. A sorry server that is also one
    /// of the service's real servers takes that entry while it is in, and leaves it to the
    /// real server otherwise.
    ///
    /// ```
    /// # use ipvs_core::director::config::{DirectorConfig, Dialect, Origin, VirtualService};
    /// # use ipvs_core::{Destination, Service, ServiceKey};
    /// use ipvs_core::director::machine::Director;
    /// use ipvs_core::sched::Time;
    /// # let mut cfg = DirectorConfig::new(Dialect::Ldirectord);
    /// # let mut vs = VirtualService::new(Service::new(ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80)), Origin::default());
    /// vs.sorry = Some(Destination::new("127.0.0.1:80".parse().unwrap()));
    /// # cfg.virtuals.push(vs);
    /// // A virtual service without real servers: its fallback is in.
    /// let d = Director::new(cfg, Time::ZERO, 0);
    /// assert_eq!(d.desired()[0].1[0].key().to_string(), "127.0.0.1:80");
    /// ```
    pub fn desired(&self) -> Vec<(Service, Vec<Destination>)> {
        let mut seen = HashSet::new();
        let mut out = Vec::with_capacity(self.config.virtuals.len());
        for (vi, vcfg) in self.config.virtuals.iter().enumerate() {
            if !seen.insert(vcfg.service.key) {
                continue;
            }
            let sorry_in = self.sorry_in(vi);
            let mut dests: Vec<Destination> = Vec::with_capacity(vcfg.reals.len() + 1);
            let mut keys = HashSet::new();
            for (rj, rcfg) in vcfg.reals.iter().enumerate() {
                if let Some(w) = self.desired_weight(vi, rj, sorry_in) {
                    if keys.insert(rcfg.dest.key()) {
                        dests.push(rcfg.dest.clone().with_weight(w));
                    }
                }
            }
            if let Some(sorry) = &vcfg.sorry {
                let k = sorry.key();
                if sorry_in {
                    match dests.iter().position(|d| d.key() == k) {
                        Some(i) => dests[i] = sorry.clone(),
                        None => dests.push(sorry.clone()),
                    }
                } else if vcfg.sorry_inhibit && !keys.contains(&k) {
                    dests.push(sorry.clone().with_weight(0));
                }
            }
            for r in self.draining.iter().filter(|r| r.service == vcfg.service.key) {
                let k = r.config.dest.key();
                if !dests.iter().any(|d| d.key() == k) {
                    dests.push(r.config.dest.clone().with_weight(0));
                }
            }
            out.push((vcfg.service.clone(), dests));
        }
        out
    }

    /// The keys of the services the director owns now, and of those it owned before a reload
    /// and must remove (until [`Director::handle_applied`] says they are gone).
    ///
    /// ```
    /// use ipvs_core::director::config::{DirectorConfig, Dialect};
    /// use ipvs_core::director::machine::Director;
    /// use ipvs_core::sched::Time;
    /// let d = Director::new(DirectorConfig::new(Dialect::Ldirectord), Time::ZERO, 0);
    /// assert!(d.owned().is_empty());
    /// ```
    pub fn owned(&self) -> Vec<ServiceKey> {
        let mut seen = HashSet::new();
        let mut out: Vec<ServiceKey> =
            self.config.virtuals.iter().map(|v| v.service.key).filter(|k| seen.insert(*k)).collect();
        out.extend(self.removed.iter().filter(|k| seen.insert(**k)));
        out
    }

    /// The services in `applied` were planned against the current [`Director::desired`] (no
    /// reload since) and their operations all succeeded: those among them that a reload
    /// removed are gone from the kernel, and the director forgets them. Call it after each
    /// apply, before the next reload; a service whose deletion failed stays owned (leave it
    /// out of `applied`), and so does one never passed here, which is harmless: the next plans
    /// find nothing to delete.
    ///
    /// ```
    /// use ipvs_core::director::config::{DirectorConfig, Dialect};
    /// use ipvs_core::director::machine::Director;
    /// use ipvs_core::sched::Time;
    /// let mut d = Director::new(DirectorConfig::new(Dialect::Ldirectord), Time::ZERO, 0);
    /// let owned = d.owned();
    /// // ... plan(kernel entries of `owned`, &d.desired()) applied without errors ...
    /// d.handle_applied(&owned);
    /// assert!(d.owned().is_empty());
    /// ```
    pub fn handle_applied(&mut self, applied: &[ServiceKey]) {
        let applied: HashSet<&ServiceKey> = applied.iter().collect();
        self.removed.retain(|k| !applied.contains(k));
    }

    /// The table to leave behind on stop: the desired entries of the services that stay
    /// ([`OnStop::Keep`], [`VirtualService::on_stop`] overriding
    /// [`GlobalOptions::on_stop`](super::config::GlobalOptions)); the others are left out, so
    /// that the plan against the kernel's entries for [`Director::owned`] deletes them. Call
    /// [`Director::handle_stop`] first for the commands to run.
    ///
    /// ```
    /// use ipvs_core::director::config::{DirectorConfig, Dialect, OnStop, Origin, VirtualService};
    /// use ipvs_core::director::machine::Director;
    /// use ipvs_core::sched::Time;
    /// use ipvs_core::{Service, ServiceKey};
    /// let mut cfg = DirectorConfig::new(Dialect::Ldirectord);
    /// cfg.options.on_stop = OnStop::Keep;
    /// for port in [80, 443] {
    ///     cfg.virtuals.push(VirtualService::new(Service::new(ServiceKey::tcp("10.0.0.1".parse().unwrap(), port)), Origin::default()));
    /// }
    /// cfg.virtuals[1].on_stop = Some(OnStop::Remove); // cleanstop = yes in that virtual
    /// let d = Director::new(cfg, Time::ZERO, 0);
    /// assert_eq!(d.on_stop(), d.desired()[..1]);
    /// ```
    pub fn on_stop(&self) -> Vec<(Service, Vec<Destination>)> {
        let global = self.config.options.on_stop;
        let keep: HashSet<ServiceKey> = self
            .config
            .virtuals
            .iter()
            .filter(|v| v.on_stop.unwrap_or(global) == OnStop::Keep)
            .map(|v| v.service.key)
            .collect();
        self.desired().into_iter().filter(|(s, _)| keep.contains(&s.key)).collect()
    }

    /// The director stops: queues what stopping runs. For a virtual service with
    /// [`VirtualHooks::notify_on_stop`](super::config::VirtualHooks) (keepalived's `omega`),
    /// `notify_down` of each real server that is up, then `quorum_down`, as if everything went
    /// down (keepalived runs them only with `omega`); nothing for the others (ldirectord runs
    /// no `fallbackcommand` on stop). Then drain [`Director::poll_event`] and apply
    /// [`Director::on_stop`]. The machine's state does not change.
    ///
    /// ```
    /// use ipvs_core::director::config::{Command, DirectorConfig, Dialect, Origin, RealServer, VirtualService};
    /// use ipvs_core::director::machine::{Director, Event};
    /// use ipvs_core::sched::Time;
    /// use ipvs_core::{Destination, Service, ServiceKey};
    /// let cmd = |l: &str| Some(Command { line: l.into(), origin: Origin::default() });
    /// let mut vs = VirtualService::new(Service::new(ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80)), Origin::default());
    /// vs.hooks.notify_on_stop = true;
    /// vs.hooks.quorum_down = cmd("/quorum-down");
    /// let mut rs = RealServer::new(Destination::new("192.168.1.2:80".parse().unwrap()), Origin::default());
    /// rs.notify_down = cmd("/rs-down");
    /// vs.reals.push(rs);
    /// let mut cfg = DirectorConfig::new(Dialect::Keepalived);
    /// cfg.virtuals.push(vs);
    /// let mut d = Director::new(cfg, Time::ZERO, 0);
    /// while d.poll_event().is_some() {}
    /// d.handle_stop(Time::from_secs(5));
    /// let runs: Vec<String> = std::iter::from_fn(|| d.poll_event())
    ///     .filter_map(|e| match e { Event::Run { command, .. } => Some(command.line), _ => None })
    ///     .collect();
    /// assert_eq!(runs, ["/rs-down", "/quorum-down"]);
    /// ```
    pub fn handle_stop(&mut self, now: Time) {
        let global = self.config.options.on_stop;
        for vi in 0..self.virtuals.len() {
            let vcfg = &self.config.virtuals[vi];
            let message = match vcfg.on_stop.unwrap_or(global) {
                OnStop::Remove => "stopping: virtual service removed",
                OnStop::Keep => "stopping: virtual service left in the table",
            };
            self.decide(now, vi, None, message.to_string());
            let vcfg = &self.config.virtuals[vi];
            if !vcfg.hooks.notify_on_stop {
                continue;
            }
            let downs: Vec<Option<Command>> = vcfg
                .reals
                .iter()
                .zip(&self.virtuals[vi].reals)
                .filter(|(_, rs)| rs.health == Health::Up)
                .map(|(r, _)| r.notify_down.clone())
                .collect();
            let quorum_down = vcfg.hooks.quorum_down.clone();
            for hook in downs {
                self.run(&hook, Vec::new());
            }
            self.run(&quorum_down, Vec::new());
        }
    }

    /// A snapshot for status dumps and the status page, in configuration order.
    ///
    /// ```
    /// # use ipvs_core::director::config::{DirectorConfig, Dialect, Origin, RealServer, VirtualService};
    /// # use ipvs_core::{Destination, Service, ServiceKey};
    /// use ipvs_core::director::machine::{Director, Health};
    /// use ipvs_core::sched::Time;
    /// # let mut cfg = DirectorConfig::new(Dialect::Ldirectord);
    /// # let mut vs = VirtualService::new(Service::new(ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80)), Origin::default());
    /// # vs.reals.push(RealServer::new(Destination::new("192.168.1.2:80".parse().unwrap()).with_weight(3), Origin::default()));
    /// # cfg.virtuals.push(vs);
    /// // One real server with weight 3 and no checks.
    /// let d = Director::new(cfg, Time::ZERO, 0);
    /// let st = d.status();
    /// assert_eq!((st[0].reals[0].health, st[0].reals[0].desired_weight), (Health::Up, Some(3)));
    /// assert_eq!((st[0].live, st[0].live_weight, st[0].quorum, st[0].sorry_in), (1, 3, true, false));
    /// ```
    pub fn status(&self) -> Vec<VirtualStatus> {
        let mut seen = HashSet::new();
        self.config
            .virtuals
            .iter()
            .zip(&self.virtuals)
            .enumerate()
            .map(|(vi, (vcfg, vs))| {
                let sorry_in = self.sorry_in(vi);
                let (live, live_weight) = vs.live();
                let reals = vcfg
                    .reals
                    .iter()
                    .zip(&vs.reals)
                    .enumerate()
                    .map(|(rj, (rcfg, rs))| {
                        let checks: Vec<CheckStatus> = rcfg
                            .checks
                            .iter()
                            .zip(&rs.checks)
                            .map(|(c, cs)| {
                                let runner = self.runners.get(cs.runner);
                                CheckStatus {
                                    origin: c.origin.clone(),
                                    target: c.target,
                                    verdict: cs.verdict,
                                    failures: cs.failures,
                                    failures_to_down: c.failures_to_down.max(1),
                                    dynamic_weight: cs.dynamic,
                                    last: cs.last.clone(),
                                    next_probe: runner
                                        .filter(|r| r.flight.is_none() && !r.paused)
                                        .map(|r| r.next_due),
                                    in_flight: runner.is_some_and(|r| r.flight.is_some()),
                                }
                            })
                            .collect();
                        RealStatus {
                            key: rcfg.dest.key(),
                            health: if rs.drain.is_some() { Health::Draining } else { rs.health },
                            configured_weight: rcfg.dest.weight,
                            weight: rs.weight,
                            desired_weight: self.desired_weight(vi, rj, sorry_in),
                            failures: rs.checks.iter().map(|c| c.failures).max().unwrap_or(0),
                            last: rs
                                .checks
                                .iter()
                                .filter_map(|c| c.last.as_ref())
                                .max_by_key(|(t, _)| *t)
                                .cloned(),
                            since: rs.since,
                            checks,
                            drain: rs.drain.map(|d| d.status(false)),
                        }
                    })
                    .collect::<Vec<_>>();
                let mut reals = reals;
                if seen.insert(vcfg.service.key) {
                    for r in self.draining.iter().filter(|r| r.service == vcfg.service.key) {
                        reals.push(RealStatus {
                            key: r.config.dest.key(),
                            health: Health::Draining,
                            configured_weight: r.config.dest.weight,
                            weight: r.state.weight,
                            desired_weight: Some(0),
                            failures: r.state.checks.iter().map(|c| c.failures).max().unwrap_or(0),
                            last: r
                                .state
                                .checks
                                .iter()
                                .filter_map(|c| c.last.as_ref())
                                .max_by_key(|(t, _)| *t)
                                .cloned(),
                            since: r.drain.since,
                            checks: Vec::new(),
                            drain: Some(r.drain.status(true)),
                        });
                    }
                }
                VirtualStatus {
                    key: vcfg.service.key,
                    reals,
                    sorry_in,
                    sorry: vcfg.sorry.as_ref().map(Destination::key),
                    quorum: self.quorum_now(vi),
                    live,
                    live_weight,
                }
            })
            .collect()
    }

    // ---- internals ----

    /// The quorum of virtual `vi` (before it settles: the one it would start with).
    fn quorum_now(&self, vi: usize) -> bool {
        let (Some(vcfg), Some(vs)) = (self.config.virtuals.get(vi), self.virtuals.get(vi)) else {
            return false;
        };
        if vs.settled {
            vs.quorum
        } else {
            initial_quorum(vcfg.quorum, vs.live())
        }
    }

    fn sorry_in(&self, vi: usize) -> bool {
        self.config.virtuals.get(vi).is_some_and(|v| v.sorry.is_some()) && !self.quorum_now(vi)
    }

    /// Whether real `rj` of `vi` is down and quiesced (in the table at weight 0 for that).
    fn real_quiesced(&self, vi: usize, rj: usize) -> bool {
        let vcfg = &self.config.virtuals[vi];
        let rs = &self.virtuals[vi].reals[rj];
        rs.health != Health::Up
            && !rs.dropped
            && vcfg.reals[rj].on_failure.unwrap_or(vcfg.on_failure) == OnFailure::Quiesce
    }

    /// The weight real `rj` of `vi` should have in the table, or `None` for out.
    fn desired_weight(&self, vi: usize, rj: usize, sorry_in: bool) -> Option<u32> {
        let vcfg = &self.config.virtuals[vi];
        let rs = &self.virtuals[vi].reals[rj];
        if rs.drain.is_some() {
            return Some(0);
        }
        if rs.health == Health::Up && !sorry_in {
            return Some(rs.weight);
        }
        let quiesce = vcfg.reals[rj].on_failure.unwrap_or(vcfg.on_failure) == OnFailure::Quiesce;
        (quiesce && !rs.dropped).then_some(0)
    }

    fn decide(&mut self, now: Time, vi: usize, real: Option<DestinationKey>, message: String) {
        if let Some(v) = self.config.virtuals.get(vi) {
            self.events.push_back(Event::Decision { at: now, service: v.service.key, real, message });
        }
    }

    fn run(&mut self, command: &Option<Command>, args: Vec<String>) {
        if let Some(command) = command {
            self.events.push_back(Event::Run { command: command.clone(), args });
        }
    }

    /// Builds the runners for the current configuration, keeping the state (schedule, probe in
    /// flight, alternation, phase) of those in `old` with the same identity; new ones get their
    /// first probe in the start window (plus warmup) and their phase in the interval.
    fn rebuild_runners(&mut self, old: Vec<Runner>, now: Time) {
        let mut old: HashMap<RunnerKey, Runner> = old.into_iter().map(|r| (r.key.clone(), r)).collect();
        let mut index: HashMap<RunnerKey, usize> = HashMap::new();
        let mut runners: Vec<Runner> = Vec::new();
        for (vi, vcfg) in self.config.virtuals.iter().enumerate() {
            let service = vcfg.service.key;
            for (rj, rcfg) in vcfg.reals.iter().enumerate() {
                let real = rcfg.dest.key();
                for (ci, check) in rcfg.checks.iter().enumerate() {
                    let key = RunnerKey::new(service, real, check);
                    let idx = match index.get(&key) {
                        Some(&i) => i,
                        None => {
                            let runner = match old.remove(&key) {
                                Some(mut r) => {
                                    r.check = check.clone();
                                    r.service = service;
                                    r.real = real;
                                    r.connect = service_transport(&service);
                                    r.judges.clear();
                                    r
                                }
                                None => {
                                    // The first probe in the start window (plus warmup); the
                                    // phase spreads the later ones over the interval.
                                    let interval = ms(check.interval).max(1);
                                    let mut offset = self.rng.next_u64() % interval.min(START_WINDOW_MS);
                                    if let Some(w) = check.warmup.map(ms).filter(|&w| w > 0) {
                                        offset =
                                            offset.saturating_add(self.rng.next_u64() % w.saturating_add(1));
                                    }
                                    let phase = 1 + self.rng.next_u64() % interval;
                                    Runner {
                                        key: key.clone(),
                                        check: check.clone(),
                                        service,
                                        real,
                                        connect: service_transport(&service),
                                        next_due: now.plus_millis(offset),
                                        phase: Some(phase),
                                        flight: None,
                                        connects_done: 0,
                                        paused: false,
                                        judges: Vec::new(),
                                    }
                                }
                            };
                            runners.push(runner);
                            index.insert(key, runners.len() - 1);
                            runners.len() - 1
                        }
                    };
                    runners[idx].judges.push((vi, rj, ci));
                    if let Some(cs) = self
                        .virtuals
                        .get_mut(vi)
                        .and_then(|v| v.reals.get_mut(rj))
                        .and_then(|r| r.checks.get_mut(ci))
                    {
                        cs.runner = idx;
                    }
                }
            }
        }
        self.runners = runners;
        self.due.clear();
        self.deadlines.clear();
        self.flights.clear();
        for (ri, r) in self.runners.iter().enumerate() {
            match r.flight {
                Some(f) => {
                    self.deadlines.insert((f.deadline, f.id));
                    self.flights.insert(f.id, ri);
                }
                None if !r.paused => {
                    self.due.insert((r.next_due, ri));
                }
                None => {}
            }
        }
    }

    fn in_maintenance(&self, key: DestinationKey) -> bool {
        self.maintenance.iter().any(|&(a, p)| a == key.addr && p.is_none_or(|p| p == key.port))
    }

    /// Brings the maintenance flags of servers and runners in line with the directory: a
    /// server that enters maintenance has its probes cancelled (and is drained when it was up
    /// and would leave the table); one that leaves it starts unknown, its probes due at once.
    fn apply_maintenance(&mut self, now: Time) {
        let timeout = self.config.options.drain_timeout;
        for vi in 0..self.virtuals.len() {
            for rj in 0..self.virtuals[vi].reals.len() {
                let m = self.in_maintenance(self.config.virtuals[vi].reals[rj].dest.key());
                if self.virtuals[vi].reals[rj].maintenance == m {
                    continue;
                }
                let vcfg = &self.config.virtuals[vi];
                let drain = m
                    && !timeout.is_zero()
                    && self.virtuals[vi].reals[rj].health == Health::Up
                    && !self.sorry_in(vi)
                    && vcfg.reals[rj].on_failure.unwrap_or(vcfg.on_failure) == OnFailure::Remove;
                let rs = &mut self.virtuals[vi].reals[rj];
                rs.maintenance = m;
                rs.drain = drain.then(|| Drain::new(now, timeout));
                if !m {
                    for cs in &mut rs.checks {
                        cs.verdict = Verdict::Unknown;
                        cs.failures = 0;
                        cs.dynamic = None;
                        cs.pending_table = false;
                    }
                }
            }
        }
        for ri in 0..self.runners.len() {
            let paused = self.in_maintenance(self.runners[ri].real);
            let r = &mut self.runners[ri];
            if r.paused == paused {
                continue;
            }
            r.paused = paused;
            if paused {
                if let Some(f) = r.flight.take() {
                    self.deadlines.remove(&(f.deadline, f.id));
                    self.flights.remove(&f.id);
                }
                self.due.remove(&(r.next_due, ri));
            } else {
                r.next_due = now;
                self.due.insert((now, ri));
            }
        }
    }

    /// The (service, real server) pairs of configured real servers that are in the table now.
    fn in_table(&self) -> HashSet<(ServiceKey, DestinationKey)> {
        let mut out = HashSet::new();
        for (vi, vcfg) in self.config.virtuals.iter().enumerate() {
            let sorry_in = self.sorry_in(vi);
            for (rj, rcfg) in vcfg.reals.iter().enumerate() {
                if self.desired_weight(vi, rj, sorry_in).is_some() {
                    out.insert((vcfg.service.key, rcfg.dest.key()));
                }
            }
        }
        out
    }

    /// Reads the connection counts of the draining servers in `table`: one with none left, or
    /// gone from its service's entry, leaves.
    fn read_drains(&mut self, table: &[(ServiceStatus, Vec<DestinationStatus>)], now: Time) {
        let entries: HashMap<ServiceKey, (&Service, HashMap<DestinationKey, &DestinationStatus>)> = table
            .iter()
            .map(|(s, ds)| (s.service.key, (&s.service, ds.iter().map(|d| (d.dest.key(), d)).collect())))
            .collect();
        // What a read says about one drain: still going, or over (why).
        let judge = |service: &ServiceKey, rkey: &DestinationKey, drain: &mut Drain| -> Option<String> {
            let (svc, dests) = entries.get(service)?;
            match dests.get(rkey) {
                None => Some("no longer in the kernel's table".to_string()),
                Some(d) => {
                    let n = drain_connections(svc, d);
                    drain.conns = Some(n);
                    (n == 0).then(|| "no connections left".to_string())
                }
            }
        };
        let mut ended = Vec::new();
        let mut i = 0;
        while i < self.draining.len() {
            let r = &mut self.draining[i];
            let rkey = r.config.dest.key();
            match judge(&r.service, &rkey, &mut r.drain) {
                Some(why) => {
                    let r = self.draining.remove(i);
                    ended.push((r.service, rkey, format!("real server {rkey} drained ({why}): deleted")));
                }
                None => i += 1,
            }
        }
        for (vcfg, vs) in self.config.virtuals.iter().zip(self.virtuals.iter_mut()) {
            for (rcfg, rs) in vcfg.reals.iter().zip(vs.reals.iter_mut()) {
                let rkey = rcfg.dest.key();
                let Some(drain) = rs.drain.as_mut() else { continue };
                if let Some(why) = judge(&vcfg.service.key, &rkey, drain) {
                    rs.drain = None;
                    ended.push((vcfg.service.key, rkey, format!("real server {rkey} drained ({why}): out")));
                }
            }
        }
        for (service, real, message) in ended {
            self.events.push_back(Event::Decision { at: now, service, real: Some(real), message });
        }
    }

    /// Ends the drains whose timeout has passed by `now`.
    fn expire_drains(&mut self, now: Time) {
        let left = |d: &Drain| match d.conns {
            Some(n) => format!("{n} connections left"),
            None => "connections not read".to_string(),
        };
        let timeout =
            |d: &Drain| Duration::from_millis(d.deadline.as_millis().saturating_sub(d.since.as_millis()));
        let mut ended = Vec::new();
        let mut i = 0;
        while i < self.draining.len() {
            if self.draining[i].drain.deadline <= now {
                let r = self.draining.remove(i);
                let rkey = r.config.dest.key();
                let message = format!(
                    "real server {rkey} drain timeout ({:?}) with {}: deleted",
                    timeout(&r.drain),
                    left(&r.drain)
                );
                ended.push((r.service, rkey, message));
            } else {
                i += 1;
            }
        }
        for (vcfg, vs) in self.config.virtuals.iter().zip(self.virtuals.iter_mut()) {
            for (rcfg, rs) in vcfg.reals.iter().zip(vs.reals.iter_mut()) {
                let Some(d) = rs.drain.filter(|d| d.deadline <= now) else { continue };
                rs.drain = None;
                let rkey = rcfg.dest.key();
                let message =
                    format!("real server {rkey} drain timeout ({:?}) with {}: out", timeout(&d), left(&d));
                ended.push((vcfg.service.key, rkey, message));
            }
        }
        for (service, real, message) in ended {
            self.events.push_back(Event::Decision { at: now, service, real: Some(real), message });
        }
    }

    /// Counts the probes whose deadline is before `now` (or at it, when `inclusive`) as failed.
    fn expire(&mut self, now: Time, inclusive: bool) {
        while let Some(&(deadline, id)) = self.deadlines.first() {
            if deadline > now || (deadline == now && !inclusive) {
                break;
            }
            self.deadlines.remove(&(deadline, id));
            let Some(ri) = self.flights.remove(&id) else { continue };
            let Some(flight) = self.runners.get_mut(ri).and_then(|r| r.flight.take()) else { continue };
            let timeout = self.runners[ri].check.timeout;
            self.complete(ri, flight, Outcome::Down(format!("no answer within {timeout:?}")), now);
        }
    }

    /// A probe of runner `ri` finished with `outcome`: judge every check it feeds, report the
    /// changes, schedule its next probe.
    fn complete(&mut self, ri: usize, flight: Flight, outcome: Outcome, now: Time) {
        let passed = !matches!(outcome, Outcome::Down(_));
        let probe = self.runners[ri].turn_probe(flight.then);
        self.runners[ri].count_turn(flight.then, passed);
        let judges = self.runners[ri].judges.clone();
        let what = format!("{} check of {}", probe_name(&probe), self.runners[ri].check.target);
        for &(vi, rj, ci) in &judges {
            let check = &self.config.virtuals[vi].reals[rj].checks[ci];
            let cs = &mut self.virtuals[vi].reals[rj].checks[ci];
            let judged = state::judge(check, cs, &outcome, now);
            let origin = check.origin.clone();
            let rkey = self.config.virtuals[vi].reals[rj].dest.key();
            let message = match (judged, &outcome) {
                (Judged::SoftFailure { n, of }, Outcome::Down(why)) => {
                    format!("real server {rkey}: soft failure {n}/{of} of the {what}: {why}")
                }
                (Judged::Reset { after }, _) => {
                    format!("real server {rkey}: {what} passed, soft failure count reset (was {after})")
                }
                _ => continue,
            };
            self.events.push_back(Event::Note { at: now, origin, message });
        }
        let mut touched: Vec<usize> = Vec::new();
        for &(vi, rj, ci) in &judges {
            let failures = self.virtuals[vi].reals[rj].checks[ci].failures;
            let why = || match &outcome {
                Outcome::Down(why) if failures <= 1 => format!("{what} failed: {why}"),
                Outcome::Down(why) => format!("{what}: {failures} failures in a row: {why}"),
                Outcome::Up => format!("{what} passed"),
                Outcome::UpWithWeight(w) => format!("{what} passed with weight {w}"),
            };
            self.refresh_real(vi, rj, now, |_| why());
            if !touched.contains(&vi) {
                touched.push(vi);
            }
        }
        for vi in touched {
            self.update_virtual(vi, now);
        }
        // The next probe: after the retry delay while a check soft-fails; otherwise after the
        // runner's phase the first time, the interval from then on.
        let interval = ms(self.runners[ri].check.interval).max(1);
        let mut retry: Option<u64> = None;
        for &(vi, rj, ci) in &judges {
            let check = &self.config.virtuals[vi].reals[rj].checks[ci];
            if let Some(r) = check.retry_delay {
                if self.virtuals[vi].reals[rj].checks[ci].soft_failing() {
                    let r = ms(r).max(1);
                    retry = Some(retry.map_or(r, |x| x.min(r)));
                }
            }
        }
        let r = &mut self.runners[ri];
        let delay = match retry {
            Some(retry) => interval.min(retry),
            None => r.phase.take().unwrap_or(interval),
        };
        r.next_due = now.plus_millis(delay);
        if !r.paused {
            self.due.insert((r.next_due, ri));
        }
    }

    /// Recomputes the health and weight of real `rj` of `vi`; a change is a decision (`why`
    /// says what caused it) and may run `notify_up`/`notify_down`.
    fn refresh_real(&mut self, vi: usize, rj: usize, now: Time, why: impl FnOnce(&Self) -> String) {
        let rcfg = &self.config.virtuals[vi].reals[rj];
        let rs = &self.virtuals[vi].reals[rj];
        let (health, weight) = (rs.compute_health(), rs.compute_weight(rcfg.dest.weight));
        let (old_health, old_weight) = (rs.health, rs.weight);
        if health == old_health && (weight == old_weight || health != Health::Up) {
            self.virtuals[vi].reals[rj].weight = weight;
            return;
        }
        let key = rcfg.dest.key();
        let reason = why(self);
        let message = if health != old_health {
            let state = match health {
                Health::Up if weight != rcfg.dest.weight => format!("up with weight {weight}"),
                Health::Up => "up".to_string(),
                Health::Down => "down".to_string(),
                Health::Unknown => "down until checked".to_string(),
                Health::Maintenance if rs.drain.is_some() => format!(
                    "in maintenance, draining at weight 0 until its connections end (at most {:?})",
                    self.config.options.drain_timeout
                ),
                Health::Maintenance => "in maintenance".to_string(),
                Health::Draining => "draining".to_string(),
            };
            format!("real server {key} {state}: {reason}")
        } else {
            format!("real server {key} weight {old_weight} -> {weight}: {reason}")
        };
        let rs = &mut self.virtuals[vi].reals[rj];
        rs.health = health;
        rs.weight = weight;
        if health != old_health {
            rs.since = now;
            if health == Health::Up || old_health == Health::Up {
                rs.quiesce_seen = false;
                rs.dropped = false;
            }
        }
        self.decide(now, vi, Some(key), message);
        if health != old_health {
            let rcfg = &self.config.virtuals[vi].reals[rj];
            let hook = match (old_health, health) {
                (_, Health::Up) => rcfg.notify_up.clone(),
                (Health::Up | Health::Unknown, Health::Down | Health::Maintenance) => {
                    rcfg.notify_down.clone()
                }
                _ => None,
            };
            self.run(&hook, Vec::new());
        }
    }

    /// Decides the starting quorum of the virtual services that have not yet, and runs their
    /// start commands: those waiting for the kernel's table only when `force`.
    fn settle(&mut self, now: Time, force: bool) {
        if self.all_settled {
            return;
        }
        let mut all = true;
        for vi in 0..self.virtuals.len() {
            let vs = &self.virtuals[vi];
            if vs.settled {
                continue;
            }
            if !force && vs.waits_for_table() {
                all = false;
                continue;
            }
            let vcfg = &self.config.virtuals[vi];
            let live = vs.live();
            let quorum = initial_quorum(vcfg.quorum, live);
            let vs = &mut self.virtuals[vi];
            vs.settled = true;
            vs.quorum = quorum;
            let vcfg = &self.config.virtuals[vi];
            let (hooks, key, sorry) = (vcfg.hooks.clone(), vcfg.service.key, vcfg.sorry.clone());
            if !quorum {
                let why = match vcfg.quorum {
                    Quorum::AnyUp => "starting with no real server up".to_string(),
                    Quorum::Weight { quorum, hysteresis } => format!(
                        "starting with quorum down: live weight {} below {quorum}+{hysteresis}",
                        live.1
                    ),
                };
                let message = match &sorry {
                    Some(s) => format!("{why}: sorry server {} in with weight {}", s.key(), s.weight),
                    None => why,
                };
                self.decide(now, vi, sorry.as_ref().map(Destination::key), message);
            }
            self.run(&hooks.fallback_command, fallback_args(&key, !quorum));
            if !quorum && sorry.is_some() {
                self.run(&hooks.quorum_down, Vec::new());
            }
        }
        self.all_settled = all;
    }

    /// Moves the quorum of a settled virtual service on after a change: decisions and commands.
    fn update_virtual(&mut self, vi: usize, now: Time) {
        let (Some(vcfg), Some(vs)) = (self.config.virtuals.get(vi), self.virtuals.get(vi)) else { return };
        if !vs.settled {
            return;
        }
        let live = vs.live();
        let quorum = next_quorum(vcfg.quorum, vs.quorum, live);
        if quorum == vs.quorum {
            return;
        }
        let why = match (vcfg.quorum, quorum) {
            (Quorum::AnyUp, false) => "all real servers down".to_string(),
            (Quorum::AnyUp, true) => "a real server is up".to_string(),
            (Quorum::Weight { quorum, hysteresis }, false) => {
                format!("quorum lost: live weight {} below {quorum}-{hysteresis}", live.1)
            }
            (Quorum::Weight { quorum, hysteresis }, true) => {
                format!("quorum gained: live weight {} reaches {quorum}+{hysteresis}", live.1)
            }
        };
        let message = match (&vcfg.sorry, quorum) {
            (Some(s), false) => format!("{why}: sorry server {} in with weight {}", s.key(), s.weight),
            (Some(s), true) if vcfg.sorry_inhibit => format!("{why}: sorry server {} at weight 0", s.key()),
            (Some(s), true) => format!("{why}: sorry server {} out", s.key()),
            (None, _) => why,
        };
        let (hooks, key, sorry) =
            (vcfg.hooks.clone(), vcfg.service.key, vcfg.sorry.as_ref().map(Destination::key));
        let vs = &mut self.virtuals[vi];
        vs.quorum = quorum;
        let start = !quorum;
        self.decide(now, vi, sorry, message);
        // Every change flips the quorum, so the command alternates start/stop as ldirectord's
        // (which skips a run with the same argument as the last).
        self.run(&hooks.fallback_command, fallback_args(&key, start));
        self.run(if quorum { &hooks.quorum_up } else { &hooks.quorum_down }, Vec::new());
    }
}

impl Drain {
    /// As the status shows it.
    fn status(&self, removed: bool) -> DrainStatus {
        DrainStatus { since: self.since, deadline: self.deadline, connections: self.conns, removed }
    }
}

/// The state of a real server that a reload keeps (`orcfg` before, `rcfg` after): its health
/// and the state of every check configured alike; a changed or new check starts passing when
/// the server starts up or was up, and unknown otherwise.
fn keep_real(mut ors: RealState, orcfg: &RealServer, rcfg: &RealServer, vstart: StartState) -> RealState {
    let was_up = ors.health == Health::Up;
    let mut old_checks: Vec<Option<CheckState>> =
        std::mem::take(&mut ors.checks).into_iter().map(Some).collect();
    ors.checks = rcfg
        .checks
        .iter()
        .map(|c| {
            let kept = orcfg
                .checks
                .iter()
                .enumerate()
                .position(|(ok, o)| old_checks[ok].is_some() && same_check(o, c))
                .and_then(|ok| old_checks[ok].take());
            kept.unwrap_or_else(|| {
                CheckState::with(if rcfg.start.unwrap_or(vstart) == StartState::Up || was_up {
                    Verdict::Pass
                } else {
                    Verdict::Unknown
                })
            })
        })
        .collect();
    ors
}
