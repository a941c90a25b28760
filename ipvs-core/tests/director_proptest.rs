//! The director's state machine against an independent model, on random configurations and
//! random streams of probe outcomes (answers, late answers, no answers, dynamic weights) and
//! maintenance changes over simulated time.
//!
//! After every instant the tests check:
//!
//! * **the table follows the checks**: `desired()` is exactly what the model computes from the
//!   outcomes it saw (a failed server leaves or gets weight 0, dynamic weights apply);
//! * **the sorry server is in exactly when it should be** (no real server up, or the live
//!   weight below the quorum, with hysteresis);
//! * **nothing else changes**: services and real servers carry their configured settings apart
//!   from the weight;
//! * **the schedule**: the first probe of each check within the start window (1 s, or the
//!   interval when shorter) plus warmup; the wait after the first probe that is not a retry
//!   (its phase) somewhere in (0, interval]; every other probe exactly one interval (or retry
//!   delay) after its previous one ended; never twice at once, never in maintenance;
//! * **events**: one decision per change of a real server, the commands (fallback, quorum,
//!   notify) run exactly when the model says;
//! * **plans**: from one desired table to the next, `plan` emits exactly one operation per
//!   difference, never deletes and re-adds a real server that stays, and applied to
//!   `MemoryBackend` converges (re-planning is empty).
//!
//! Reloads: an identical configuration (lines moved) changes nothing at all, and a random new
//! one keeps the state of what did not change and plans without deleting kept servers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use ipvs_core::director::config::*;
use ipvs_core::director::machine::*;
use ipvs_core::plan::plan;
use ipvs_core::sched::Time;
use ipvs_core::table::MemoryBackend;
use ipvs_core::{
    AddressFamily, Backend, Destination, DestinationKey, DestinationStatus, ForwardMethod, OnError,
    Operation, Scheduler, Service, ServiceKey, ServiceStatus,
};
use proptest::prelude::*;

type Table = Vec<(Service, Vec<Destination>)>;
/// What the maintenance directory names.
type Names = Vec<(IpAddr, Option<u16>)>;
/// Maintenance changes: when, and the new list.
type MaintenancePlan = Vec<(Time, Names)>;
/// A status reduced to what a reload must keep: per server, health, weight, desired weight,
/// failures, and per check verdict, failures, next probe, in flight.
type Kept = Vec<Vec<(Health, u32, Option<u32>, u32, Vec<(Verdict, u32, Option<Time>, bool)>)>>;

// ---- random configurations ----

#[derive(Debug, Clone)]
struct CSpec {
    probe: u8,
    alt_port: bool,
    interval: u8,
    timeout: u8,
    failures: u32,
    retry: bool,
    warmup: bool,
}

#[derive(Debug, Clone)]
struct RSpec {
    weight: u32,
    quiesce: Option<bool>,
    start: Option<bool>,
    checks: Vec<CSpec>,
}

#[derive(Debug, Clone)]
struct VSpec {
    key: usize,
    reals: Vec<(usize, RSpec)>,
    quorum: Option<(u32, u32)>,
    sorry: Option<u32>,
    inhibit: bool,
    quiesce: bool,
    start: u8,
}

fn cspec() -> impl Strategy<Value = CSpec> {
    (0u8..4, any::<bool>(), 0u8..3, 0u8..3, 1u32..4, any::<bool>(), prop::bool::weighted(0.2)).prop_map(
        |(probe, alt_port, interval, timeout, failures, retry, warmup)| CSpec {
            probe,
            alt_port,
            interval,
            timeout,
            failures,
            retry,
            warmup,
        },
    )
}

fn rspec() -> impl Strategy<Value = RSpec> {
    (
        0u32..5,
        prop::option::of(any::<bool>()),
        prop::option::weighted(0.2, any::<bool>()),
        prop::collection::vec(cspec(), 0..3),
    )
        .prop_map(|(weight, quiesce, start, checks)| RSpec { weight, quiesce, start, checks })
}

fn vspec(key: usize) -> impl Strategy<Value = VSpec> {
    (
        prop::sample::subsequence((0..5usize).collect::<Vec<_>>(), 0..=4),
        prop::collection::vec(rspec(), 5),
        prop::option::of((1u32..7, 0u32..3)),
        prop::option::of(1u32..4),
        any::<bool>(),
        any::<bool>(),
        0u8..3,
    )
        .prop_map(move |(addrs, rs, quorum, sorry, inhibit, quiesce, start)| VSpec {
            key,
            reals: addrs.into_iter().zip(rs).collect(),
            quorum,
            sorry,
            inhibit,
            quiesce,
            start,
        })
}

fn specs() -> impl Strategy<Value = Vec<VSpec>> {
    prop::sample::subsequence(vec![0usize, 1, 2, 3], 1..=3)
        .prop_flat_map(|keys| keys.into_iter().map(vspec).collect::<Vec<_>>())
}

fn service_key(k: usize) -> ServiceKey {
    match k {
        0 => ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80),
        1 => ServiceKey::tcp("10.0.0.2".parse().unwrap(), 80),
        2 => ServiceKey::udp("10.0.0.1".parse().unwrap(), 53),
        _ => ServiceKey::fwmark(1, AddressFamily::Inet),
    }
}

fn real_addr(a: usize) -> SocketAddr {
    SocketAddr::new(IpAddr::from([192, 168, 1, 1 + a as u8]), 80)
}

fn cmd(line: String) -> Command {
    Command { line, origin: Origin::default() }
}

fn build(specs: &[VSpec]) -> DirectorConfig {
    let http = || Probe::Http {
        tls: false,
        sni: None,
        method: HttpMethod::Get,
        host: None,
        urls: vec![UrlCheck::new("/")],
    };
    let mut line = 0;
    let mut next_line = || {
        line += 1;
        Origin { file: "random.cf".into(), line }
    };
    let mut cfg = DirectorConfig::new(Dialect::Keepalived);
    for (vi, v) in specs.iter().enumerate() {
        let key = service_key(v.key);
        let mut vs = VirtualService::new(Service::new(key).with_scheduler(Scheduler::Wrr), next_line());
        vs.quorum = match v.quorum {
            None => Quorum::AnyUp,
            Some((quorum, hysteresis)) => Quorum::Weight { quorum, hysteresis },
        };
        vs.sorry = v.sorry.map(|w| {
            Destination::new("127.0.0.1:80".parse().unwrap())
                .with_forward(ForwardMethod::Masquerade)
                .with_weight(w)
        });
        vs.sorry_inhibit = v.inhibit;
        vs.on_failure = if v.quiesce { OnFailure::Quiesce } else { OnFailure::Remove };
        vs.start = [StartState::Up, StartState::Down, StartState::FromTable][usize::from(v.start)];
        vs.hooks.fallback_command = Some(cmd(format!("/fb{vi}")));
        vs.hooks.quorum_up = Some(cmd(format!("/qu{vi}")));
        vs.hooks.quorum_down = Some(cmd(format!("/qd{vi}")));
        for (a, r) in &v.reals {
            let addr = real_addr(*a);
            let dest = Destination::new(addr).with_forward(ForwardMethod::Masquerade).with_weight(r.weight);
            let mut rs = RealServer::new(dest, next_line());
            rs.on_failure = r.quiesce.map(|q| if q { OnFailure::Quiesce } else { OnFailure::Remove });
            rs.start = r.start.map(|up| if up { StartState::Up } else { StartState::Down });
            rs.notify_up = Some(cmd(format!("/nu{vi}-{a}")));
            rs.notify_down = Some(cmd(format!("/nd{vi}-{a}")));
            for c in &r.checks {
                let probe = match c.probe {
                    0 => Probe::Connect(Transport::Tcp),
                    1 => http(),
                    2 => Probe::Command {
                        command: cmd("/bin/weight".into()),
                        ldirectord_args: false,
                        dynamic_weight: true,
                    },
                    _ => Probe::Alternate { connects: 1, then: Box::new(http()) },
                };
                let target = SocketAddr::new(addr.ip(), if c.alt_port { 8080 } else { 80 });
                let mut check = Check::new(probe, target);
                check.interval = Duration::from_millis([1000, 2000, 3000][usize::from(c.interval)]);
                check.timeout = Duration::from_millis([500, 1000, 4000][usize::from(c.timeout)]);
                check.failures_to_down = c.failures;
                check.retry_delay = c.retry.then(|| Duration::from_millis(300));
                check.warmup = c.warmup.then(|| Duration::from_secs(2));
                check.origin = next_line();
                rs.checks.push(check);
            }
            vs.reals.push(rs);
        }
        cfg.virtuals.push(vs);
    }
    cfg
}

/// The same configuration, every line moved down.
fn moved(cfg: &DirectorConfig) -> DirectorConfig {
    let mut c = cfg.clone();
    for v in &mut c.virtuals {
        v.origin.line += 100;
        for r in &mut v.reals {
            r.origin.line += 100;
            for k in &mut r.checks {
                k.origin.line += 100;
            }
        }
    }
    c
}

// ---- the model ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum V {
    Pass,
    Fail,
    Unknown,
}

#[derive(Debug, Clone)]
struct MCheck {
    v: V,
    failures: u32,
    dynamic: Option<u32>,
}

/// What makes two checks one probe.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Ident {
    real: DestinationKey,
    probe: Probe,
    target: SocketAddr,
    interval: Duration,
    timeout: Duration,
}

fn ident(real: DestinationKey, c: &Check) -> Ident {
    Ident { real, probe: c.probe.clone(), target: c.target, interval: c.interval, timeout: c.timeout }
}

#[derive(Debug, Clone)]
struct Flight {
    ident: Ident,
    deadline: Time,
    /// For `Probe::Alternate`: whether this turn is the `then` probe.
    then: bool,
}

/// An independent statement of the rules, fed the same probes and outcomes as the machine.
struct Model {
    cfg: DirectorConfig,
    checks: Vec<Vec<Vec<MCheck>>>,
    maint: Vec<Vec<bool>>,
    quorum: Vec<bool>,
    flights: BTreeMap<ProbeId, Flight>,
    /// When each probe must start next, earliest and latest (`None`: not known, e.g. in
    /// maintenance).
    expect: HashMap<Ident, Option<(Time, Time)>>,
    started: HashSet<Ident>,
    /// Checks whose phase (the first wait that is not a retry) has passed.
    phased: HashSet<Ident>,
    /// Checks whose real server is in maintenance.
    paused: HashSet<Ident>,
    /// `Probe::Alternate`: connects passed since the last `then` passed.
    connects: HashMap<Ident, u32>,
    /// Expected notes (soft failures, resets) per real server.
    notes: HashMap<String, usize>,
    start_time: Time,
    /// Expected per (service, real): how many decisions.
    changes: HashMap<(ServiceKey, DestinationKey), usize>,
    /// Expected commands, per command line: the arguments of each run, in order.
    runs: BTreeMap<String, Vec<String>>,
    /// (health, weight) last seen per server.
    seen: Vec<Vec<(Health, u32)>>,
    maintenance: Vec<(IpAddr, Option<u16>)>,
}

fn fallback_args(key: &ServiceKey, start: bool) -> String {
    let verb = if start { "start" } else { "stop" };
    match key {
        ServiceKey::Addr { protocol, addr, port } => {
            format!("{verb} {} {}", SocketAddr::new(*addr, *port), protocol.name().to_lowercase())
        }
        ServiceKey::Fwmark { .. } => format!("{verb} :0 fwm"),
    }
}

impl Model {
    fn new(cfg: &DirectorConfig, kernel: &Table, now: Time) -> Self {
        let present: HashMap<(ServiceKey, DestinationKey), u32> =
            kernel.iter().flat_map(|(s, ds)| ds.iter().map(move |d| ((s.key, d.key()), d.weight))).collect();
        // Before the table: FromTable servers are unknown; the table then resolves them (a
        // change, like any other).
        let start = |v: &VirtualService, r: &RealServer| r.start.unwrap_or(v.start);
        let checks = cfg
            .virtuals
            .iter()
            .map(|v| {
                v.reals
                    .iter()
                    .map(|r| {
                        let v0 = if start(v, r) == StartState::Up { V::Pass } else { V::Unknown };
                        r.checks.iter().map(|_| MCheck { v: v0, failures: 0, dynamic: None }).collect()
                    })
                    .collect()
            })
            .collect();
        let mut m = Model {
            cfg: cfg.clone(),
            checks,
            maint: cfg.virtuals.iter().map(|v| vec![false; v.reals.len()]).collect(),
            quorum: Vec::new(),
            flights: BTreeMap::new(),
            expect: HashMap::new(),
            started: HashSet::new(),
            phased: HashSet::new(),
            paused: HashSet::new(),
            connects: HashMap::new(),
            notes: HashMap::new(),
            start_time: now,
            changes: HashMap::new(),
            runs: BTreeMap::new(),
            seen: Vec::new(),
            maintenance: Vec::new(),
        };
        m.seen = (0..cfg.virtuals.len())
            .map(|vi| {
                (0..cfg.virtuals[vi].reals.len()).map(|rj| (m.health(vi, rj), m.weight(vi, rj))).collect()
            })
            .collect();
        for (vi, v) in cfg.virtuals.iter().enumerate() {
            for (rj, r) in v.reals.iter().enumerate() {
                if start(v, r) == StartState::FromTable
                    && present.get(&(v.service.key, r.dest.key())).is_some_and(|&w| w > 0)
                {
                    for c in &mut m.checks[vi][rj] {
                        c.v = V::Pass;
                    }
                }
            }
        }
        m.observe();
        for vi in 0..cfg.virtuals.len() {
            let (up, sum) = m.live(vi);
            let v = &cfg.virtuals[vi];
            let q = match v.quorum {
                Quorum::AnyUp => up > 0,
                Quorum::Weight { quorum, hysteresis } => sum > 0 && sum >= u64::from(quorum + hysteresis),
                _ => unreachable!(),
            };
            m.quorum.push(q);
            m.run(&v.hooks.fallback_command, fallback_args(&v.service.key, !q));
            if !q && v.sorry.is_some() {
                m.run(&v.hooks.quorum_down, String::new());
            }
        }
        m
    }

    fn run(&mut self, c: &Option<Command>, args: String) {
        if let Some(c) = c {
            self.runs.entry(c.line.clone()).or_default().push(args);
        }
    }

    fn health(&self, vi: usize, rj: usize) -> Health {
        let cs = &self.checks[vi][rj];
        if self.maint[vi][rj] {
            Health::Maintenance
        } else if cs.iter().all(|c| c.v == V::Pass) {
            Health::Up
        } else if cs.iter().any(|c| c.v == V::Fail) {
            Health::Down
        } else {
            Health::Unknown
        }
    }

    fn weight(&self, vi: usize, rj: usize) -> u32 {
        let base = i64::from(self.cfg.virtuals[vi].reals[rj].dest.weight);
        let w: i64 = base
            + self.checks[vi][rj].iter().filter_map(|c| c.dynamic).map(|d| i64::from(d) - base).sum::<i64>();
        w.clamp(0, i64::from(i32::MAX)) as u32
    }

    fn live(&self, vi: usize) -> (usize, u64) {
        (0..self.cfg.virtuals[vi].reals.len())
            .filter(|&rj| self.health(vi, rj) == Health::Up)
            .fold((0, 0), |(n, s), rj| (n + 1, s + u64::from(self.weight(vi, rj))))
    }

    fn sorry_in(&self, vi: usize) -> bool {
        self.cfg.virtuals[vi].sorry.is_some() && !self.quorum[vi]
    }

    /// The table: each service, its up servers at their weight, the others at 0 when quiesced,
    /// all of them at their "not up" form while the sorry server is in.
    fn desired(&self) -> Table {
        self.cfg
            .virtuals
            .iter()
            .enumerate()
            .map(|(vi, v)| {
                let sorry_in = self.sorry_in(vi);
                let mut ds: Vec<Destination> = Vec::new();
                for (rj, r) in v.reals.iter().enumerate() {
                    let quiesce = r.on_failure.unwrap_or(v.on_failure) == OnFailure::Quiesce;
                    if self.health(vi, rj) == Health::Up && !sorry_in {
                        ds.push(r.dest.clone().with_weight(self.weight(vi, rj)));
                    } else if quiesce {
                        ds.push(r.dest.clone().with_weight(0));
                    }
                }
                if let Some(s) = &v.sorry {
                    if sorry_in {
                        ds.push(s.clone());
                    } else if v.sorry_inhibit {
                        ds.push(s.clone().with_weight(0));
                    }
                }
                (v.service.clone(), ds)
            })
            .collect()
    }

    fn judges(&self, id: &Ident) -> Vec<(usize, usize, usize)> {
        let mut out = Vec::new();
        for (vi, v) in self.cfg.virtuals.iter().enumerate() {
            for (rj, r) in v.reals.iter().enumerate() {
                for (ci, c) in r.checks.iter().enumerate() {
                    if ident(r.dest.key(), c) == *id {
                        out.push((vi, rj, ci));
                    }
                }
            }
        }
        out
    }

    fn in_maintenance(&self, k: DestinationKey) -> bool {
        self.maintenance.iter().any(|&(a, p)| a == k.addr && p.is_none_or(|p| p == k.port))
    }

    /// A probe started: check the schedule.
    fn started(&mut self, p: &ProbeRequest, now: Time) {
        let id = ident(p.real, &p.check);
        assert!(!self.in_maintenance(p.real), "probe of {} in maintenance", p.real);
        assert!(!self.flights.values().any(|f| f.ident == id), "two probes of one check at once: {id:?}");
        assert_eq!(p.deadline, now.plus_millis(p.check.timeout.as_millis() as u64));
        if self.started.insert(id.clone()) {
            let judges = self.judges(&id);
            let warmup = judges
                .iter()
                .filter_map(|&(vi, rj, ci)| self.cfg.virtuals[vi].reals[rj].checks[ci].warmup)
                .max()
                .unwrap_or_default();
            // Below the start window, plus up to the warmup.
            let window = p.check.interval.min(Duration::from_secs(1)).max(Duration::from_millis(1));
            let latest = self.start_time.plus_millis((window + warmup).as_millis() as u64 - 1);
            if !self.expect.contains_key(&id) {
                assert!(now <= latest, "first probe of {id:?} at {now}, after {latest}");
            }
        }
        if let Some(Some((earliest, latest))) = self.expect.get(&id) {
            if earliest == latest {
                assert_eq!(now, *earliest, "probe of {id:?} at {now}, due at {earliest}");
            } else {
                assert!(
                    (*earliest..=*latest).contains(&now),
                    "probe of {id:?} at {now}, due in {earliest}..={latest}"
                );
            }
        }
        self.expect.insert(id.clone(), None);
        // ldirectord's checktype = N: `connects` connects, then the other probe; a failed
        // connect brings it forward, a failed other probe repeats.
        let then = match &p.check.probe {
            Probe::Alternate { connects, then } => {
                let then_turn = self.connects.get(&id).copied().unwrap_or(0) >= *connects;
                let connect = match p.service {
                    ServiceKey::Addr { protocol: ipvs_core::Protocol::Udp, .. } => Transport::Udp,
                    _ => Transport::Tcp,
                };
                let want = if then_turn { (**then).clone() } else { Probe::Connect(connect) };
                assert_eq!(p.probe, want, "turn of {id:?}");
                then_turn
            }
            other => {
                assert_eq!(&p.probe, other);
                false
            }
        };
        self.flights.insert(p.id, Flight { ident: id, deadline: p.deadline, then });
    }

    /// A probe ended (an outcome in time, or its deadline).
    fn outcome(&mut self, id: ProbeId, o: &Outcome, now: Time) {
        let Some(f) = self.flights.get(&id) else { return };
        if now > f.deadline {
            return;
        }
        let f = self.flights.remove(&id).unwrap();
        self.apply(&f, o, now);
    }

    fn timeouts(&mut self, now: Time) {
        let expired: Vec<(Time, ProbeId)> =
            self.flights.iter().filter(|(_, f)| f.deadline <= now).map(|(id, f)| (f.deadline, *id)).collect();
        let mut expired = expired;
        expired.sort();
        for (_, id) in expired {
            let f = self.flights.remove(&id).unwrap();
            self.apply(&f, &Outcome::Down("timeout".into()), now);
        }
    }

    fn apply(&mut self, f: &Flight, o: &Outcome, now: Time) {
        let id = &f.ident;
        let passed = !matches!(o, Outcome::Down(_));
        if matches!(id.probe, Probe::Alternate { .. }) {
            let c = self.connects.entry(id.clone()).or_insert(0);
            *c = match (f.then, passed) {
                (true, true) => 0,
                (true, false) => *c,
                (false, true) => c.saturating_add(1),
                (false, false) => u32::MAX,
            };
        }
        let judges = self.judges(id);
        let mut touched = Vec::new();
        for &(vi, rj, ci) in &judges {
            let n = self.cfg.virtuals[vi].reals[rj].checks[ci].failures_to_down.max(1);
            let c = &mut self.checks[vi][rj][ci];
            let soft_before = c.v != V::Fail && c.failures > 0;
            let note = match o {
                Outcome::Down(_) => c.v != V::Fail && c.failures + 1 < n,
                _ => soft_before,
            };
            if note {
                let real = self.cfg.virtuals[vi].reals[rj].dest.key().to_string();
                *self.notes.entry(real).or_default() += 1;
            }
            let c = &mut self.checks[vi][rj][ci];
            match o {
                Outcome::Down(_) => {
                    c.failures += 1;
                    if c.v != V::Fail && c.failures >= n {
                        c.v = V::Fail;
                        c.dynamic = None;
                    }
                }
                Outcome::UpWithWeight(w) => *c = MCheck { v: V::Pass, failures: 0, dynamic: Some(*w) },
                _ => *c = MCheck { v: V::Pass, failures: 0, dynamic: None },
            }
            if !touched.contains(&vi) {
                touched.push(vi);
            }
        }
        self.observe();
        for vi in touched {
            self.update_quorum(vi);
        }
        // The next probe: the retry delay (at most the interval) while one of its checks
        // soft-fails; otherwise the phase, somewhere in (0, interval], the first time, and the
        // interval after that.
        let mut retry: Option<Duration> = None;
        for &(vi, rj, ci) in &judges {
            let c = &self.checks[vi][rj][ci];
            if c.v != V::Fail && c.failures > 0 {
                if let Some(r) = self.cfg.virtuals[vi].reals[rj].checks[ci].retry_delay {
                    retry = Some(retry.map_or(r, |x| x.min(r)));
                }
            }
        }
        let after = |d: Duration| now.plus_millis(d.as_millis() as u64);
        let next = match retry {
            Some(r) => {
                let t = after(id.interval.min(r));
                (t, t)
            }
            None if self.phased.insert(id.clone()) => (now.plus_millis(1), after(id.interval)),
            None => (after(id.interval), after(id.interval)),
        };
        self.expect.insert(id.clone(), Some(next));
    }

    /// Counts the changes of each real server: decisions and notify commands.
    fn observe(&mut self) {
        for vi in 0..self.cfg.virtuals.len() {
            for rj in 0..self.cfg.virtuals[vi].reals.len() {
                let (h, w) = (self.health(vi, rj), self.weight(vi, rj));
                let (oh, ow) = self.seen[vi][rj];
                if h != oh || (h == Health::Up && w != ow) {
                    let r = &self.cfg.virtuals[vi].reals[rj];
                    *self.changes.entry((self.cfg.virtuals[vi].service.key, r.dest.key())).or_default() += 1;
                    let hook = match (oh, h) {
                        (a, Health::Up) if a != Health::Up => r.notify_up.clone(),
                        (Health::Up | Health::Unknown, Health::Down | Health::Maintenance) => {
                            r.notify_down.clone()
                        }
                        _ => None,
                    };
                    self.run(&hook, String::new());
                }
                self.seen[vi][rj] = (h, w);
            }
        }
    }

    fn update_quorum(&mut self, vi: usize) {
        let (up, sum) = self.live(vi);
        let v = &self.cfg.virtuals[vi];
        let q = match v.quorum {
            Quorum::AnyUp => up > 0,
            Quorum::Weight { quorum, hysteresis } => {
                if self.quorum[vi] {
                    !(sum == 0 || sum < u64::from(quorum.saturating_sub(hysteresis)))
                } else {
                    sum > 0 && sum >= u64::from(quorum + hysteresis)
                }
            }
            _ => unreachable!(),
        };
        if q != self.quorum[vi] {
            self.quorum[vi] = q;
            let hooks = v.hooks.clone();
            let key = v.service.key;
            self.run(&hooks.fallback_command, fallback_args(&key, !q));
            self.run(if q { &hooks.quorum_up } else { &hooks.quorum_down }, String::new());
        }
    }

    fn set_maintenance(&mut self, list: &[(IpAddr, Option<u16>)], now: Time) {
        self.maintenance = list.to_vec();
        for vi in 0..self.cfg.virtuals.len() {
            for rj in 0..self.cfg.virtuals[vi].reals.len() {
                let k = self.cfg.virtuals[vi].reals[rj].dest.key();
                let m = self.in_maintenance(k);
                if m == self.maint[vi][rj] {
                    continue;
                }
                self.maint[vi][rj] = m;
                if !m {
                    for c in &mut self.checks[vi][rj] {
                        *c = MCheck { v: V::Unknown, failures: 0, dynamic: None };
                    }
                }
            }
        }
        // Probes of servers in maintenance are cancelled; those leaving it are due now.
        let cancelled: Vec<ProbeId> = self
            .flights
            .iter()
            .filter(|(_, f)| self.in_maintenance(f.ident.real))
            .map(|(id, _)| *id)
            .collect();
        for id in cancelled {
            self.flights.remove(&id);
        }
        let idents: Vec<Ident> = self
            .cfg
            .virtuals
            .iter()
            .flat_map(|v| v.reals.iter().flat_map(|r| r.checks.iter().map(|c| ident(r.dest.key(), c))))
            .collect();
        for id in idents {
            let m = self.in_maintenance(id.real);
            if m {
                self.expect.insert(id.clone(), None);
                self.paused.insert(id);
            } else if self.paused.remove(&id) {
                self.expect.insert(id, Some((now, now)));
            }
        }
        self.observe();
        for vi in 0..self.cfg.virtuals.len() {
            self.update_quorum(vi);
        }
    }
}

// ---- checking the machine against the model ----

/// What each probe gets: (kind, latency in ms), taken in turn.
type Replies = Vec<(u8, u64)>;

fn reply(replies: &Replies, n: usize) -> (Option<Outcome>, u64) {
    let (kind, latency) = replies[n % replies.len()];
    let o = match kind {
        0..=3 => Some(Outcome::Up),
        4 => Some(Outcome::UpWithWeight(u32::from(kind) + (latency % 5) as u32)),
        5..=7 => Some(Outcome::Down("refused".into())),
        _ => None, // never answers
    };
    (o, latency)
}

/// One operation per difference between two tables, and no deletion of what stays.
fn check_plan_minimal(prev: &Table, next: &Table) {
    let p = plan(prev, next).unwrap();
    let before: HashMap<ServiceKey, HashMap<DestinationKey, &Destination>> =
        prev.iter().map(|(s, ds)| (s.key, ds.iter().map(|d| (d.key(), d)).collect())).collect();
    let after: HashMap<ServiceKey, HashMap<DestinationKey, &Destination>> =
        next.iter().map(|(s, ds)| (s.key, ds.iter().map(|d| (d.key(), d)).collect())).collect();
    let mut expected = 0;
    for (k, ds) in &after {
        match before.get(k) {
            None => expected += 1 + ds.len(),
            Some(old) => {
                expected += old.keys().filter(|d| !ds.contains_key(d)).count();
                expected += ds.iter().filter(|(d, v)| old.get(d).is_none_or(|o| o != *v)).count();
            }
        }
    }
    expected += before.keys().filter(|k| !after.contains_key(k)).count();
    assert_eq!(p.len(), expected, "plan not minimal:\n{p}");
    for op in p.operations() {
        match op {
            Operation::DeleteDestination(s, d) => {
                assert!(!after.get(s).is_some_and(|ds| ds.contains_key(d)), "deletes {d} that stays in {s}")
            }
            Operation::DeleteService(s) => assert!(!after.contains_key(s), "deletes service {s} that stays"),
            Operation::EditService(s) => panic!("service {} edited: its settings never change", s.key),
            _ => {}
        }
    }
}

/// Services and real servers as configured, apart from the weight.
fn check_nothing_else_changes(cfg: &DirectorConfig, table: &Table) {
    assert_eq!(table.len(), cfg.virtuals.len());
    for ((s, ds), v) in table.iter().zip(&cfg.virtuals) {
        assert_eq!(s, &v.service);
        for d in ds {
            let configured = v
                .reals
                .iter()
                .map(|r| &r.dest)
                .chain(v.sorry.as_ref())
                .find(|c| c.key() == d.key())
                .unwrap_or_else(|| panic!("{} is not configured in {}", d.key(), s.key));
            assert_eq!(&d.clone().with_weight(configured.weight), configured);
        }
    }
}

struct Run {
    d: Director,
    model: Model,
    kernel: MemoryBackend,
    last: Table,
    decisions: HashMap<(ServiceKey, DestinationKey), usize>,
    notes: HashMap<String, usize>,
    runs: BTreeMap<String, Vec<String>>,
    pending: BTreeMap<(Time, ProbeId), Outcome>,
    probes: usize,
    now: Time,
}

impl Run {
    fn new(cfg: &DirectorConfig, present: u8, seed: u64) -> Self {
        let mut d = Director::new(cfg.clone(), Time::ZERO, seed);
        // The kernel at start: some real servers present, with weights 0..=2 (FromTable).
        let kernel_table: Table = cfg
            .virtuals
            .iter()
            .map(|v| {
                let ds = v
                    .reals
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| present & (1 << (i % 8)) != 0)
                    .map(|(i, r)| r.dest.clone().with_weight(i as u32 % 3))
                    .collect();
                (v.service.clone(), ds)
            })
            .collect();
        let status: Vec<(ServiceStatus, Vec<DestinationStatus>)> = kernel_table
            .iter()
            .map(|(s, ds)| {
                (ServiceStatus::new(s.clone()), ds.iter().cloned().map(DestinationStatus::new).collect())
            })
            .collect();
        d.handle_table(&status, Time::ZERO);
        let model = Model::new(cfg, &kernel_table, Time::ZERO);
        let mut r = Run {
            d,
            model,
            kernel: MemoryBackend::new(),
            last: Vec::new(),
            decisions: HashMap::new(),
            notes: HashMap::new(),
            runs: BTreeMap::new(),
            pending: BTreeMap::new(),
            probes: 0,
            now: Time::ZERO,
        };
        r.check();
        r
    }

    fn drain(&mut self) {
        while let Some(e) = self.d.poll_event() {
            match e {
                Event::Decision { service, real: Some(real), message, .. }
                    if message.starts_with("real server") =>
                {
                    *self.decisions.entry((service, real)).or_default() += 1;
                }
                Event::Run { command, args } => {
                    self.runs.entry(command.line).or_default().push(args.join(" "));
                }
                Event::Note { message, .. } => {
                    let real =
                        message.trim_start_matches("real server ").split(": ").next().unwrap().to_string();
                    *self.notes.entry(real).or_default() += 1;
                }
                _ => {}
            }
        }
    }

    /// Compares the machine with the model, plans, applies.
    fn check(&mut self) {
        self.drain();
        let desired = self.d.desired();
        let want = self.model.desired();
        assert_eq!(desired, want, "the table does not follow the checks at {}", self.now);
        for (vi, v) in self.model.cfg.virtuals.iter().enumerate() {
            let has_sorry = v.sorry.as_ref().is_some_and(|s| desired[vi].1.contains(s));
            assert_eq!(
                has_sorry,
                self.model.sorry_in(vi),
                "sorry server of {} at {}",
                v.service.key,
                self.now
            );
        }
        check_nothing_else_changes(&self.model.cfg, &desired);
        for (vi, v) in self.d.status().iter().enumerate() {
            for (rj, r) in v.reals.iter().enumerate() {
                let want = (self.model.health(vi, rj), self.model.weight(vi, rj));
                assert_eq!((r.health, r.weight), want, "{} of {} at {}", r.key, v.key, self.now);
            }
            assert_eq!(v.quorum, self.model.quorum[vi], "quorum of {}", v.key);
        }
        assert_eq!(self.decisions, self.model.changes, "one decision per change");
        assert_eq!(self.runs, self.model.runs, "commands");
        assert_eq!(self.notes, self.model.notes, "notes: soft failures and resets");
        if self.d.table_changed() {
            check_plan_minimal(&self.last, &desired);
            let current = self.kernel.services_with_destinations().unwrap();
            self.d.handle_table(&current, self.now); // as the daemon may: changes nothing here
            let p = plan(&current, &desired).unwrap();
            assert!(p.apply(&mut self.kernel, OnError::Stop).is_ok(), "{p}");
            let now = self.kernel.services_with_destinations().unwrap();
            assert!(plan(&now, &desired).unwrap().is_empty(), "the loop converges");
            self.last = desired;
        } else {
            assert_eq!(desired, self.last, "table_changed() said no change");
        }
        self.drain();
        assert_eq!(self.d.desired(), self.model.desired());
    }

    fn set_maintenance(&mut self, list: &[(IpAddr, Option<u16>)]) {
        self.d.handle_maintenance(list, self.now);
        self.model.set_maintenance(list, self.now);
        // Answers of cancelled probes still come, and are ignored.
        self.check();
    }

    /// Everything at `self.now`.
    fn tick(&mut self, replies: &Replies) {
        let now = self.now;
        while let Some((&(when, id), _)) = self.pending.first_key_value() {
            if when > now {
                break;
            }
            let o = self.pending.remove(&(when, id)).unwrap();
            self.d.handle_outcome(id, o.clone(), now);
            self.model.outcome(id, &o, now);
        }
        self.d.handle_timeout(now);
        self.model.timeouts(now);
        while let Some(p) = self.d.poll_probe(now) {
            self.model.started(&p, now);
            let (o, latency) = reply(replies, self.probes);
            self.probes += 1;
            match o {
                Some(o) if latency == 0 || latency % 7 == 0 => {
                    self.d.handle_outcome(p.id, o.clone(), now);
                    self.model.outcome(p.id, &o, now);
                }
                Some(o) => {
                    self.pending.insert((now.plus_millis(latency), p.id), o);
                }
                None => {}
            }
        }
        self.check();
    }

    fn next(&self, extra: Option<Time>) -> Option<Time> {
        [self.d.poll_timeout(), self.pending.keys().next().map(|k| k.0), extra].into_iter().flatten().min()
    }

    /// Runs until `end`, with maintenance changes at the given times.
    fn run_until(&mut self, end: Time, replies: &Replies, maint: &mut MaintenancePlan) {
        loop {
            self.tick(replies);
            let extra = maint.first().map(|m| m.0.max(self.now));
            match self.next(extra) {
                Some(t) if t <= end => {
                    self.now = t.max(self.now);
                    while maint.first().is_some_and(|m| m.0 <= self.now) {
                        let (_, list) = maint.remove(0);
                        self.set_maintenance(&list);
                    }
                }
                _ => break,
            }
        }
        self.now = end.max(self.now);
    }
}

fn replies() -> impl Strategy<Value = Replies> {
    prop::collection::vec((0u8..10, prop_oneof![Just(0u64), 1u64..5000]), 1..40)
}

fn maintenance() -> impl Strategy<Value = MaintenancePlan> {
    prop::collection::vec(
        (0u64..30_000, prop::sample::subsequence((0..5usize).collect::<Vec<_>>(), 0..=2), any::<bool>()),
        0..4,
    )
    .prop_map(|mut v| {
        v.sort_by_key(|m| m.0);
        v.into_iter()
            .map(|(t, addrs, port)| {
                let list = addrs
                    .into_iter()
                    .map(|a| {
                        let sa = real_addr(a);
                        (sa.ip(), port.then_some(sa.port()))
                    })
                    .collect();
                (Time::from_millis(t), list)
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The table follows the checks; the sorry server is in exactly when it should be; nothing
    /// else changes; the schedule, decisions and commands are the model's; plans are minimal
    /// and the loop converges.
    #[test]
    fn the_machine_follows_the_model(
        specs in specs(),
        replies in replies(),
        maint in maintenance(),
        present in any::<u8>(),
        seed in any::<u64>(),
    ) {
        let cfg = build(&specs);
        let mut run = Run::new(&cfg, present, seed);
        let mut maint = maint;
        run.run_until(Time::from_secs(40), &replies, &mut maint);
    }

    /// A reload of the same configuration (every line moved) changes nothing: the run goes on
    /// exactly as without it.
    #[test]
    fn reloading_an_identical_configuration_changes_nothing(
        specs in specs(),
        replies in replies(),
        present in any::<u8>(),
        seed in any::<u64>(),
        at in 1u64..20_000,
    ) {
        let cfg = build(&specs);
        let mut a = Run::new(&cfg, present, seed);
        let mut b = Run::new(&cfg, present, seed);
        let at = Time::from_millis(at);
        a.run_until(at, &replies, &mut Vec::new());
        b.run_until(at, &replies, &mut Vec::new());
        let status = b.d.status();
        b.d.handle_reload(moved(&cfg), b.now);
        let mut reload_events = Vec::new();
        while let Some(e) = b.d.poll_event() {
            reload_events.push(e);
        }
        prop_assert!(reload_events.is_empty(), "{:?}", reload_events);
        prop_assert!(!b.d.table_changed());
        let strip = |st: Vec<VirtualStatus>| -> Kept {
            st.into_iter()
                .map(|v| v.reals.into_iter().map(|r| (r.health, r.weight, r.desired_weight, r.failures,
                    r.checks.into_iter().map(|c| (c.verdict, c.failures, c.next_probe, c.in_flight)).collect())).collect())
                .collect()
        };
        prop_assert_eq!(strip(b.d.status()), strip(status));
        let end = at.plus_millis(20_000);
        a.run_until(end, &replies, &mut Vec::new());
        b.run_until(end, &replies, &mut Vec::new());
        prop_assert_eq!(a.d.desired(), b.d.desired());
        prop_assert_eq!(a.probes, b.probes);
        prop_assert_eq!(&a.decisions, &b.decisions);
        prop_assert_eq!(&a.runs, &b.runs);
        prop_assert_eq!(&a.notes, &b.notes);
    }

    /// A reload to another configuration keeps the state of what did not change, owns the
    /// removed services until applied, and plans without deleting a server that stays.
    #[test]
    fn reloading_another_configuration_keeps_what_did_not_change(
        specs in specs(),
        other in specs(),
        replies in replies(),
        seed in any::<u64>(),
        at in 1u64..20_000,
    ) {
        let cfg = build(&specs);
        let new = build(&other);
        let mut run = Run::new(&cfg, 0, seed);
        run.run_until(Time::from_millis(at), &replies, &mut Vec::new());
        let before = run.d.status();
        let table = run.d.desired();
        run.d.handle_reload(new.clone(), run.now);
        while run.d.poll_event().is_some() {}
        // The services are the new ones; the removed ones stay owned until applied.
        let after = run.d.desired();
        check_nothing_else_changes(&new, &after);
        let new_keys: Vec<ServiceKey> = new.virtuals.iter().map(|v| v.service.key).collect();
        let mut owned_want = new_keys.clone();
        owned_want.extend(cfg.virtuals.iter().map(|v| v.service.key).filter(|k| !new_keys.contains(k)));
        let owned = run.d.owned();
        prop_assert_eq!(&owned, &owned_want);
        // What did not change kept its state.
        let st = run.d.status();
        for (nv, v) in new.virtuals.iter().zip(&st) {
            let Some(oi) = cfg.virtuals.iter().position(|o| o.service.key == nv.service.key) else { continue };
            for (nr, r) in nv.reals.iter().zip(&v.reals) {
                let Some(oj) = cfg.virtuals[oi].reals.iter().position(|o| o.dest.key() == nr.dest.key()) else { continue };
                let or = &cfg.virtuals[oi].reals[oj];
                let ors = &before[oi].reals[oj];
                if or.checks == nr.checks && or.start == nr.start {
                    prop_assert_eq!(r.health, ors.health, "{} of {}", nr.dest.key(), nv.service.key);
                    for (c, oc) in r.checks.iter().zip(&ors.checks) {
                        prop_assert_eq!((c.verdict, c.failures, &c.last), (oc.verdict, oc.failures, &oc.last));
                    }
                }
            }
        }
        // The plan from the old table deletes no real server that stays, and converges.
        let p = plan(&table, &after).unwrap();
        for op in p.operations() {
            if let Operation::DeleteDestination(s, d) = op {
                prop_assert!(!after.iter().any(|(sv, ds)| sv.key == *s && ds.iter().any(|x| x.key() == *d)));
            }
        }
        let current: Vec<(ServiceStatus, Vec<DestinationStatus>)> = run
            .kernel
            .services_with_destinations()
            .unwrap()
            .into_iter()
            .filter(|(s, _)| owned.contains(&s.service.key))
            .collect();
        let p = plan(&current, &after).unwrap();
        prop_assert!(p.apply(&mut run.kernel, OnError::Stop).is_ok());
        run.d.handle_applied(&owned);
        prop_assert_eq!(run.d.owned(), new_keys);
        let now = run.kernel.services_with_destinations().unwrap();
        prop_assert!(plan(&now, &after).unwrap().is_empty());
        // And it goes on: probes of removed servers are ignored, nothing panics.
        let end = run.now.plus_millis(10_000);
        let mut d = run.d;
        let mut now = run.now;
        let mut n = 0;
        while let Some(t) = d.poll_timeout().filter(|&t| t <= end) {
            now = t.max(now);
            d.handle_timeout(now);
            while let Some(p) = d.poll_probe(now) {
                n += 1;
                d.handle_outcome(p.id, if n % 3 == 0 { Outcome::Down("x".into()) } else { Outcome::Up }, now);
            }
        }
        check_nothing_else_changes(&new, &d.desired());
    }
}
