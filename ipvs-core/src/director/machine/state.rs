//! The director's internal state: per-check verdicts, per-server health, per-virtual quorum,
//! and the probe runners that identical checks share. Pure functions of the configuration and
//! the inputs; nothing here reads a clock or draws a random number.

use std::net::SocketAddr;
use std::time::Duration;

use crate::dest::{Destination, DestinationKey};
use crate::sched::Time;
use crate::service::{Protocol, ServiceKey};

use super::super::config::{Check, Probe, Quorum, RealServer, StartState, Transport};
use super::{Health, Outcome, Verdict};

/// A duration in whole milliseconds, saturating.
pub(super) fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// One check of one real server of one virtual service: its verdict and counters.
#[derive(Debug, Clone)]
pub(super) struct CheckState {
    /// The runner that probes for it.
    pub runner: usize,
    pub verdict: Verdict,
    /// Failures in a row.
    pub failures: u32,
    /// The weight its last passing outcome carried (`misc_dynamic`), until it fails.
    pub dynamic: Option<u32>,
    pub last: Option<(Time, Outcome)>,
    /// [`StartState::FromTable`]: waiting for the kernel's table ([`super::Director::handle_table`]).
    pub pending_table: bool,
}

impl CheckState {
    /// A check that starts as `start` says (a new real server, or a new virtual service).
    pub fn start(start: StartState) -> Self {
        let (verdict, pending_table) = match start {
            StartState::Up => (Verdict::Pass, false),
            StartState::Down => (Verdict::Unknown, false),
            StartState::FromTable => (Verdict::Unknown, true),
        };
        CheckState { runner: 0, verdict, failures: 0, dynamic: None, last: None, pending_table }
    }

    /// A check that starts with this verdict.
    pub fn with(verdict: Verdict) -> Self {
        CheckState { runner: 0, verdict, failures: 0, dynamic: None, last: None, pending_table: false }
    }

    /// Failing but not yet down: the next probe comes after the retry delay.
    pub fn soft_failing(&self) -> bool {
        self.verdict != Verdict::Fail && self.failures > 0
    }
}

/// What judging one outcome did to a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Judged {
    /// Nothing worth a line.
    Quiet,
    /// A failure below `failures_to_down`: `n` of `of`.
    SoftFailure { n: u32, of: u32 },
    /// A success after soft failures: the count starts again.
    Reset { after: u32 },
}

/// Judges `outcome` for a check configured as `check`: a success passes it at once, a failure
/// fails it at the `failures_to_down`-th in a row (0 is taken as 1). A failing check's dynamic
/// weight is forgotten (keepalived: a `misc_dynamic` checker that goes down gives its weight
/// back); a soft failure keeps it.
pub(super) fn judge(check: &Check, cs: &mut CheckState, outcome: &Outcome, now: Time) -> Judged {
    cs.pending_table = false;
    cs.last = Some((now, outcome.clone()));
    match outcome {
        Outcome::Up | Outcome::UpWithWeight(_) => {
            let after = cs.failures;
            let was_soft = cs.soft_failing();
            cs.failures = 0;
            cs.dynamic = match outcome {
                Outcome::UpWithWeight(w) => Some(*w),
                _ => None,
            };
            cs.verdict = Verdict::Pass;
            if was_soft {
                Judged::Reset { after }
            } else {
                Judged::Quiet
            }
        }
        Outcome::Down(_) => {
            cs.failures = cs.failures.saturating_add(1);
            let of = check.failures_to_down.max(1);
            if cs.verdict == Verdict::Fail {
                Judged::Quiet
            } else if cs.failures >= of {
                cs.verdict = Verdict::Fail;
                cs.dynamic = None;
                Judged::Quiet
            } else {
                Judged::SoftFailure { n: cs.failures, of }
            }
        }
    }
}

/// One real server of one virtual service.
#[derive(Debug, Clone)]
pub(super) struct RealState {
    /// One per configured check, in order.
    pub checks: Vec<CheckState>,
    /// Named by the maintenance directory.
    pub maintenance: bool,
    /// The health last reported (recomputed by `Director::refresh_real`).
    pub health: Health,
    /// The effective weight last reported.
    pub weight: u32,
    /// When `health` last changed.
    pub since: Time,
    /// Quiesced (down, weight 0) and seen in the kernel's table since.
    pub quiesce_seen: bool,
    /// Quiesced, then deleted by hand with `readdquiescent = no`: left out until it recovers.
    pub dropped: bool,
    /// Put in maintenance while up: kept at weight 0 until its connections end.
    pub drain: Option<Drain>,
}

/// A drain in progress: the server stays in the table at weight 0 until its connections end
/// or `deadline` passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Drain {
    pub since: Time,
    pub deadline: Time,
    /// The connections the last read of the kernel's table counted (`None` before one).
    pub conns: Option<u64>,
}

impl Drain {
    /// A drain that starts at `now` and lasts at most `timeout`.
    pub fn new(now: Time, timeout: Duration) -> Self {
        Drain { since: now, deadline: now.plus_millis(ms(timeout)), conns: None }
    }
}

impl RealState {
    /// A real server that starts as `start` (its virtual's) says, or its own override.
    pub fn start(real: &RealServer, start: StartState, now: Time) -> Self {
        Self::start_as(real, real.start.unwrap_or(start), now)
    }

    /// A real server that starts as `start` says, whatever its own override.
    pub fn start_as(real: &RealServer, start: StartState, now: Time) -> Self {
        let mut rs = RealState {
            checks: real.checks.iter().map(|_| CheckState::start(start)).collect(),
            maintenance: false,
            health: Health::Unknown,
            weight: real.dest.weight,
            since: now,
            quiesce_seen: false,
            dropped: false,
            drain: None,
        };
        rs.health = rs.compute_health();
        rs.weight = rs.compute_weight(real.dest.weight);
        rs
    }

    /// Maintenance first, then the checks: up when every check passes (so always, without
    /// checks), down when one fails, unknown while one has not been judged and none failed.
    pub fn compute_health(&self) -> Health {
        if self.maintenance {
            Health::Maintenance
        } else if self.checks.iter().all(|c| c.verdict == Verdict::Pass) {
            Health::Up
        } else if self.checks.iter().any(|c| c.verdict == Verdict::Fail) {
            Health::Down
        } else {
            Health::Unknown
        }
    }

    /// The configured weight moved by each dynamic check's offset from it (keepalived sums the
    /// offsets of its `misc_dynamic` checkers; with one, the weight is the one it reported),
    /// within 0..=[`Destination::MAX_WEIGHT`].
    pub fn compute_weight(&self, configured: u32) -> u32 {
        let base = i64::from(configured);
        let w = self.checks.iter().filter_map(|c| c.dynamic).fold(base, |w, d| w + i64::from(d) - base);
        u32::try_from(w.clamp(0, i64::from(Destination::MAX_WEIGHT))).unwrap_or(0)
    }
}

/// One virtual service.
#[derive(Debug, Clone)]
pub(super) struct VirtualState {
    /// One per configured real server, in order.
    pub reals: Vec<RealState>,
    /// Whether the live servers are enough (see [`initial_quorum`], [`next_quorum`]). Only
    /// meaningful once settled.
    pub quorum: bool,
    /// Whether the starting quorum has been decided and its hooks run.
    pub settled: bool,
}

impl VirtualState {
    /// The live servers: how many, and the sum of their weights.
    pub fn live(&self) -> (usize, u64) {
        self.reals
            .iter()
            .filter(|r| r.health == Health::Up)
            .fold((0, 0), |(n, sum), r| (n + 1, sum + u64::from(r.weight)))
    }

    /// Whether a check still waits for the kernel's table.
    pub fn waits_for_table(&self) -> bool {
        self.reals.iter().any(|r| r.checks.iter().any(|c| c.pending_table))
    }
}

/// The quorum a virtual service starts with: some real server up ([`Quorum::AnyUp`]), or a
/// live weight of at least `quorum + hysteresis` (keepalived's start), never with a live weight
/// of 0.
pub(super) fn initial_quorum(q: Quorum, (up, sum): (usize, u64)) -> bool {
    match q {
        Quorum::AnyUp => up > 0,
        Quorum::Weight { quorum, hysteresis } => sum > 0 && sum >= u64::from(quorum) + u64::from(hysteresis),
    }
}

/// The quorum after a change, from `current`: with [`Quorum::Weight`], lost when the live
/// weight is 0 or below `quorum - hysteresis`, gained when it is above 0 and at least
/// `quorum + hysteresis` (keepalived's `update_quorum_state`; the "above 0" keeps a quorum of 0
/// from flapping).
pub(super) fn next_quorum(q: Quorum, current: bool, (up, sum): (usize, u64)) -> bool {
    match q {
        Quorum::AnyUp => up > 0,
        Quorum::Weight { quorum, hysteresis } => {
            if current {
                !(sum == 0 || sum < u64::from(quorum.saturating_sub(hysteresis)))
            } else {
                sum > 0 && sum >= u64::from(quorum) + u64::from(hysteresis)
            }
        }
    }
}

/// What makes two checks "the same check": probe (without origins), target, bind address,
/// mark, interval and timeout, for the same real server; and, for external commands that get
/// ldirectord's `VIP VPORT RIP RPORT` arguments, the same virtual service (their arguments
/// differ otherwise; ldirectord itself shares them, running the first service's arguments for
/// all).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct RunnerKey {
    real: DestinationKey,
    probe: Probe,
    target: SocketAddr,
    bind: Option<SocketAddr>,
    fwmark: Option<u32>,
    interval: Duration,
    timeout: Duration,
    service: Option<ServiceKey>,
}

impl RunnerKey {
    pub fn new(service: ServiceKey, real: DestinationKey, check: &Check) -> Self {
        RunnerKey {
            real,
            probe: check.probe.without_origins(),
            target: check.target,
            bind: check.bind,
            fwmark: check.fwmark,
            interval: check.interval,
            timeout: check.timeout,
            service: gets_service_args(&check.probe).then_some(service),
        }
    }
}

fn gets_service_args(p: &Probe) -> bool {
    match p {
        Probe::Command { ldirectord_args, .. } => *ldirectord_args,
        Probe::Alternate { then, .. } => gets_service_args(then),
        _ => false,
    }
}

/// Whether two checks are configured alike, wherever they are written (a reload keeps the
/// state of a check that is alike).
pub(super) fn same_check(a: &Check, b: &Check) -> bool {
    a.identity() == b.identity()
}

/// Whether two real servers are configured alike apart from their checks and origins.
pub(super) fn same_real_settings(a: &RealServer, b: &RealServer) -> bool {
    a.dest == b.dest
        && a.on_failure == b.on_failure
        && a.notify_up.as_ref().map(|c| &c.line) == b.notify_up.as_ref().map(|c| &c.line)
        && a.notify_down.as_ref().map(|c| &c.line) == b.notify_down.as_ref().map(|c| &c.line)
}

/// A probe in flight.
#[derive(Debug, Clone, Copy)]
pub(super) struct Flight {
    pub id: super::ProbeId,
    pub deadline: Time,
    /// For [`Probe::Alternate`]: whether this turn runs `then` (else a connect).
    pub then: bool,
}

/// The schedule of one probe, shared by every identical check of a real server.
#[derive(Debug, Clone)]
pub(super) struct Runner {
    pub key: RunnerKey,
    /// The first check (in configuration order) that uses it: what the request carries.
    pub check: Check,
    pub service: ServiceKey,
    pub real: DestinationKey,
    /// The transport of [`Probe::Alternate`]'s connect turns: the virtual service's.
    pub connect: Transport,
    pub next_due: Time,
    /// The wait (ms, in (0, interval]) before the probe after its first one, drawn when the
    /// runner is made: it sets the runner's phase in the interval (the first probes all come in
    /// the start window). Taken by the first wait that is not a retry; `None` afterwards.
    pub phase: Option<u64>,
    pub flight: Option<Flight>,
    /// [`Probe::Alternate`]: connect turns passed since the last `then` turn passed.
    pub connects_done: u32,
    /// Its real server is in maintenance: no probes.
    pub paused: bool,
    /// The checks it feeds: (virtual, real, check) indices.
    pub judges: Vec<(usize, usize, usize)>,
}

impl Runner {
    /// Whether the next turn runs [`Probe::Alternate`]'s `then` probe: after `connects`
    /// passing connects, after a failed connect, and again after a failed `then` (ldirectord's
    /// `checktype = N`).
    pub fn next_is_then(&self) -> bool {
        match &self.check.probe {
            Probe::Alternate { connects, .. } => self.connects_done >= *connects,
            _ => false,
        }
    }

    /// The probe a turn runs.
    pub fn turn_probe(&self, then: bool) -> Probe {
        match &self.check.probe {
            Probe::Alternate { then: p, .. } if then => innermost(p),
            Probe::Alternate { .. } => Probe::Connect(self.connect),
            p => p.clone(),
        }
    }

    /// Counts a turn of [`Probe::Alternate`].
    pub fn count_turn(&mut self, then: bool, passed: bool) {
        if !matches!(self.check.probe, Probe::Alternate { .. }) {
            return;
        }
        self.connects_done = match (then, passed) {
            (true, true) => 0,
            (true, false) => self.connects_done,
            (false, true) => self.connects_done.saturating_add(1),
            (false, false) => u32::MAX,
        };
    }
}

/// A nested [`Probe::Alternate`]'s `then` is its own innermost `then`.
fn innermost(p: &Probe) -> Probe {
    match p {
        Probe::Alternate { then, .. } => innermost(then),
        p => p.clone(),
    }
}

/// The transport of a virtual service's connect probes.
pub(super) fn service_transport(key: &ServiceKey) -> Transport {
    match key {
        ServiceKey::Addr { protocol: Protocol::Udp, .. } => Transport::Udp,
        _ => Transport::Tcp,
    }
}

/// A probe's name in log lines.
pub(super) fn probe_name(p: &Probe) -> String {
    match p {
        Probe::Connect(Transport::Tcp) => "connect".into(),
        Probe::Connect(Transport::Udp) => "udp connect".into(),
        Probe::Http { tls: false, .. } => "http".into(),
        Probe::Http { tls: true, .. } => "https".into(),
        Probe::Dns { .. } => "dns".into(),
        Probe::Smtp { .. } => "smtp".into(),
        Probe::SimpleTcp { .. } => "simpletcp".into(),
        Probe::Ping => "ping".into(),
        Probe::Udp { .. } => "udp".into(),
        Probe::Command { .. } => "external".into(),
        Probe::Fixed(true) => "on".into(),
        Probe::Fixed(false) => "off".into(),
        Probe::Alternate { connects, then } => format!("{connects} connects then {}", probe_name(then)),
    }
}

/// ldirectord's `fallbackcommand` arguments: `start|stop VIP:PORT PROTO`, with the protocol in
/// lower case (`tcp`, `udp`; `sctp` here, which ldirectord does not have) and IPv6 addresses in
/// brackets. For a firewall-mark service ldirectord has no address or port to give and passes
/// `:0 fwm` (its `server` is unset and its `port` is 0); so does this, for scripts written for
/// it.
pub(super) fn fallback_args(key: &ServiceKey, start: bool) -> Vec<String> {
    let verb = if start { "start" } else { "stop" }.to_string();
    match key {
        ServiceKey::Addr { protocol, addr, port } => {
            let proto = match protocol {
                Protocol::Other(o) => o.get().to_string(),
                p => p.name().to_ascii_lowercase(),
            };
            vec![verb, DestinationKey { addr: *addr, port: *port }.to_string(), proto]
        }
        ServiceKey::Fwmark { .. } => vec![verb, ":0".into(), "fwm".into()],
    }
}
