//! The director's state machine, rule by rule: the probe schedule (start window, phase, warmup,
//! interval, retry delay, deadlines, shared checks, ldirectord's `checktype = N`), the
//! judgement (failures in a row, several checks, dynamic weights, start states, maintenance),
//! the desired table (quiesce, sorry server by "any up" and by weighted quorum with hysteresis,
//! `sorry_inhibit`), events and commands, reload, `owned`, stop, status, determinism.
//!
//! Every scenario runs on simulated time through [`Sim`], which answers probes as a test says.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use ipvs_core::director::config::*;
use ipvs_core::director::machine::*;
use ipvs_core::plan::plan;
use ipvs_core::sched::Time;
use ipvs_core::table::MemoryBackend;
use ipvs_core::{
    AddressFamily, Backend, Destination, DestinationStatus, ForwardMethod, OnError, Scheduler, Service,
    ServiceKey, ServiceStatus,
};

// ---- building configurations ----

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn tcp(s: &str) -> ServiceKey {
    let a = sa(s);
    ServiceKey::tcp(a.ip(), a.port())
}

fn at(line: u32) -> Origin {
    Origin { file: "test.cf".into(), line }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn t(s: u64) -> Time {
    Time::from_secs(s)
}

/// A connect check of `target`: every 10 s, 5 s timeout, down at the first failure.
fn check(target: &str) -> Check {
    Check::new(Probe::Connect(Transport::Tcp), sa(target))
}

/// A NAT real server with one connect check of itself.
fn real(addr: &str, weight: u32) -> RealServer {
    let mut r = RealServer::new(
        Destination::new(sa(addr)).with_forward(ForwardMethod::Masquerade).with_weight(weight),
        Origin::default(),
    );
    r.checks.push(check(addr));
    r
}

fn virt_key(key: ServiceKey, reals: Vec<RealServer>) -> VirtualService {
    let mut v = VirtualService::new(Service::new(key).with_scheduler(Scheduler::Wrr), Origin::default());
    v.reals = reals;
    v
}

fn virt(vip: &str, reals: Vec<RealServer>) -> VirtualService {
    virt_key(tcp(vip), reals)
}

fn config(virtuals: Vec<VirtualService>) -> DirectorConfig {
    let mut c = DirectorConfig::new(Dialect::Ldirectord);
    c.virtuals = virtuals;
    c
}

fn sorry(addr: &str, weight: u32) -> Destination {
    Destination::new(sa(addr)).with_forward(ForwardMethod::Masquerade).with_weight(weight)
}

fn cmd(line: &str) -> Command {
    Command { line: line.into(), origin: Origin::default() }
}

// ---- driving it ----

/// How a probe is answered.
#[derive(Debug, Clone)]
enum Reply {
    /// At once.
    Now(Outcome),
    /// After so many milliseconds.
    After(u64, Outcome),
    /// Never (it times out).
    Never,
}

fn up() -> Reply {
    Reply::Now(Outcome::Up)
}

fn down(why: &str) -> Reply {
    Reply::Now(Outcome::Down(why.into()))
}

/// The director on simulated time, with a record of every probe and event.
struct Sim {
    d: Director,
    now: Time,
    pending: BTreeMap<(Time, ProbeId), Outcome>,
    probes: Vec<(Time, ProbeRequest)>,
    events: Vec<Event>,
}

impl Sim {
    fn new(cfg: DirectorConfig) -> Self {
        Sim::seeded(cfg, 1)
    }

    fn seeded(cfg: DirectorConfig, seed: u64) -> Self {
        let mut s = Sim {
            d: Director::new(cfg, Time::ZERO, seed),
            now: Time::ZERO,
            pending: BTreeMap::new(),
            probes: Vec::new(),
            events: Vec::new(),
        };
        s.drain();
        s
    }

    fn drain(&mut self) {
        while let Some(e) = self.d.poll_event() {
            self.events.push(e);
        }
    }

    /// Everything that happens at `self.now`: answers due, deadlines, probes due.
    fn tick(&mut self, reply: &mut dyn FnMut(&ProbeRequest, Time) -> Reply) {
        let now = self.now;
        while let Some((&(when, id), _)) = self.pending.first_key_value() {
            if when > now {
                break;
            }
            let o = self.pending.remove(&(when, id)).unwrap();
            self.d.handle_outcome(id, o, now);
        }
        self.d.handle_timeout(now);
        while let Some(p) = self.d.poll_probe(now) {
            self.probes.push((now, p.clone()));
            match reply(&p, now) {
                Reply::Now(o) => self.d.handle_outcome(p.id, o, now),
                Reply::After(ms, o) => {
                    self.pending.insert((now.plus_millis(ms), p.id), o);
                }
                Reply::Never => {}
            }
        }
        self.drain();
    }

    /// Runs until `end`, answering each probe with `reply`.
    fn run(&mut self, end: Time, mut reply: impl FnMut(&ProbeRequest, Time) -> Reply) {
        loop {
            self.tick(&mut reply);
            let next =
                [self.d.poll_timeout(), self.pending.keys().next().map(|k| k.0)].into_iter().flatten().min();
            match next {
                Some(n) if n <= end => self.now = n.max(self.now),
                _ => break,
            }
        }
        self.now = end.max(self.now);
    }

    /// Runs until `n` more probes have started (those answered at once, answered), or nothing
    /// is left to do.
    fn run_probes(&mut self, n: usize, mut reply: impl FnMut(&ProbeRequest, Time) -> Reply) {
        let want = self.probes.len() + n;
        while self.probes.len() < want {
            let next =
                [self.d.poll_timeout(), self.pending.keys().next().map(|k| k.0)].into_iter().flatten().min();
            let Some(next) = next else { break };
            self.now = next.max(self.now);
            self.tick(&mut reply);
        }
    }

    /// Runs until `end` answering every probe of `addr` with `r`, the others up.
    fn run_with(&mut self, end: Time, answers: &[(&str, Reply)]) {
        let answers: Vec<(SocketAddr, Reply)> = answers.iter().map(|(a, r)| (sa(a), r.clone())).collect();
        self.run(end, |p, _| {
            let k = SocketAddr::new(p.real.addr, p.real.port);
            answers.iter().find(|(a, _)| *a == k).map(|(_, r)| r.clone()).unwrap_or_else(up)
        });
    }

    /// The desired table: per virtual service, "addr:port=weight" in order.
    fn table(&self) -> Vec<Vec<String>> {
        self.d
            .desired()
            .iter()
            .map(|(_, ds)| ds.iter().map(|d| format!("{}={}", d.key(), d.weight)).collect())
            .collect()
    }

    fn health(&self, vi: usize, rj: usize) -> Health {
        self.d.status()[vi].reals[rj].health
    }

    fn decisions(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Decision { message, .. } => Some(message.clone()),
                _ => None,
            })
            .collect()
    }

    fn notes(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Note { message, .. } => Some(message.clone()),
                _ => None,
            })
            .collect()
    }

    fn runs(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Run { command, args } => Some(
                    std::iter::once(command.line.clone())
                        .chain(args.iter().cloned())
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                _ => None,
            })
            .collect()
    }

    /// The times at which probes of `addr` started.
    fn probe_times(&self, addr: &str) -> Vec<u64> {
        let k = sa(addr);
        self.probes
            .iter()
            .filter(|(_, p)| SocketAddr::new(p.real.addr, p.real.port) == k)
            .map(|(t, _)| t.as_millis())
            .collect()
    }
}

fn first_probes(d: &Director) -> Vec<u64> {
    d.status()
        .iter()
        .flat_map(|v| v.reals.iter().flat_map(|r| r.checks.iter().map(|c| c.next_probe.unwrap().as_millis())))
        .collect()
}

// ---- the schedule ----

#[test]
fn first_probes_spread_over_the_start_window_by_seed() {
    let reals: Vec<RealServer> = (1..=20).map(|i| real(&format!("192.168.1.{i}:80"), 1)).collect();
    let cfg = config(vec![virt("10.0.0.1:80", reals)]);
    let a = first_probes(&Director::new(cfg.clone(), Time::ZERO, 1));
    assert!(a.iter().all(|&ms| ms < 1000), "{a:?}");
    let mut distinct = a.clone();
    distinct.sort();
    distinct.dedup();
    assert!(distinct.len() >= 15, "no thundering herd: {a:?}");
    assert_eq!(a, first_probes(&Director::new(cfg.clone(), Time::ZERO, 1)), "same seed, same schedule");
    assert_ne!(a, first_probes(&Director::new(cfg.clone(), Time::ZERO, 2)), "another seed, another schedule");
    // Started later: the same offsets from the start.
    let later = first_probes(&Director::new(cfg, t(100), 1));
    assert_eq!(later, a.iter().map(|ms| ms + 100_000).collect::<Vec<_>>());
}

#[test]
fn warmup_delays_the_first_probe_further() {
    let reals: Vec<RealServer> = (1..=30)
        .map(|i| {
            let mut r = real(&format!("192.168.1.{i}:80"), 1);
            r.checks[0].warmup = Some(secs(100));
            r
        })
        .collect();
    let a = first_probes(&Director::new(config(vec![virt("10.0.0.1:80", reals)]), Time::ZERO, 3));
    assert!(a.iter().all(|&ms| ms < 101_000), "{a:?}");
    assert!(a.iter().any(|&ms| ms > 10_000), "warmup adds to the spread: {a:?}");
}

/// A check of `real` every `interval`.
fn real_every(addr: &str, interval: Duration) -> RealServer {
    let mut r = real(addr, 1);
    r.checks[0].interval = interval;
    r
}

#[test]
fn first_probes_come_within_a_second_of_start_whatever_the_interval() {
    // As ldirectord's first pass of checks and keepalived's 1 s bootstrap delay: not spread
    // over keepalived's 60 s delay_loop.
    let reals: Vec<RealServer> =
        (1..=50).map(|i| real_every(&format!("192.168.1.{i}:80"), secs(60))).collect();
    let cfg = config(vec![virt("10.0.0.1:80", reals.clone())]);
    for seed in 0..5 {
        let a = first_probes(&Director::new(cfg.clone(), Time::ZERO, seed));
        assert!(a.iter().all(|&ms| ms < 1000), "seed {seed}: {a:?}");
    }
    // With warmup (keepalived's): within 1 s + warmup, and the warmup does spread them.
    let warm: Vec<RealServer> = reals
        .iter()
        .cloned()
        .map(|mut r| {
            r.checks[0].warmup = Some(secs(5));
            r
        })
        .collect();
    let a = first_probes(&Director::new(config(vec![virt("10.0.0.1:80", warm)]), Time::ZERO, 3));
    assert!(a.iter().all(|&ms| ms < 6000), "{a:?}");
    assert!(a.iter().any(|&ms| ms >= 1000), "warmup adds to the start window: {a:?}");
    // A server added by a reload: its first probe within 1 s of the reload; the kept ones
    // keep their schedule.
    let mut d = Director::new(cfg.clone(), Time::ZERO, 1);
    let before = first_probes(&d);
    let mut more = cfg;
    more.virtuals[0].reals.push(real_every("192.168.2.1:80", secs(60)));
    d.handle_reload(more, t(100));
    let after = first_probes(&d);
    assert_eq!(after[..50], before[..], "kept checks keep their schedule");
    assert!((100_000..101_000).contains(&after[50]), "the new server's first probe: {}", after[50]);
}

#[test]
fn second_probes_spread_over_the_interval_then_every_interval() {
    // 200 checks every 10 s, answered after 300 ms: the first probes all come in the first
    // second; the second ones come within an interval of the first one's end, spread over it;
    // after that, every interval.
    let reals: Vec<RealServer> =
        (1..=200).map(|i| real(&format!("192.168.{}.{}:80", i / 100, 1 + i % 100), 1)).collect();
    let mut s = Sim::seeded(config(vec![virt("10.0.0.1:80", reals)]), 11);
    s.run(t(40), |_, _| Reply::After(300, Outcome::Up));
    let mut by_real: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (at, p) in &s.probes {
        by_real.entry(p.real.to_string()).or_default().push(at.as_millis());
    }
    assert_eq!(by_real.len(), 200);
    let mut gap_secs = std::collections::BTreeSet::new();
    let mut second_secs = std::collections::BTreeSet::new();
    for (real, times) in &by_real {
        assert!(times.len() >= 4, "{real}: {times:?}");
        assert!(times[0] < 1000, "{real}: first probe at {}", times[0]);
        let end = times[0] + 300;
        let gap = times[1] - end;
        assert!(gap > 0 && gap <= 10_000, "{real}: second probe {gap} ms after the first ended");
        gap_secs.insert(gap / 1000);
        second_secs.insert(times[1] / 1000);
        for w in times[1..].windows(2) {
            assert_eq!(w[1] - w[0], 10_300, "{real}: steady state every interval: {times:?}");
        }
    }
    assert!(gap_secs.len() >= 5, "phases spread over the interval: {gap_secs:?}");
    assert!(second_secs.len() >= 5, "second probes not in lock-step: {second_secs:?}");
    // Deterministic from the seed.
    let again = {
        let reals: Vec<RealServer> =
            (1..=200).map(|i| real(&format!("192.168.{}.{}:80", i / 100, 1 + i % 100), 1)).collect();
        let mut s2 = Sim::seeded(config(vec![virt("10.0.0.1:80", reals)]), 11);
        s2.run(t(40), |_, _| Reply::After(300, Outcome::Up));
        s2.probes.iter().map(|(at, p)| (*at, p.real)).collect::<Vec<_>>()
    };
    assert_eq!(again, s.probes.iter().map(|(at, p)| (*at, p.real)).collect::<Vec<_>>());
}

#[test]
fn a_server_starting_down_is_in_after_its_first_check_within_a_second() {
    // ldirectord: real servers start down until their first check passes; with a 60 s
    // interval that check still comes at once.
    let reals: Vec<RealServer> =
        (2..=6).map(|i| real_every(&format!("192.168.1.{i}:80"), secs(60))).collect();
    let mut v = virt("10.0.0.1:80", reals);
    v.start = StartState::Down;
    let mut s = Sim::new(config(vec![v]));
    assert!(s.table()[0].is_empty());
    s.run(Time::from_millis(1000), |_, _| up());
    assert_eq!(s.table()[0].len(), 5, "all in within a second: {:?}", s.table());
    assert!((0..5).all(|rj| s.health(0, rj) == Health::Up));
}

#[test]
fn probes_come_every_interval_after_the_previous_one_ends() {
    let mut s = Sim::new(config(vec![virt("10.0.0.1:80", vec![real("192.168.1.2:80", 1)])]));
    s.run(t(60), |_, _| Reply::After(300, Outcome::Up));
    let times = s.probe_times("192.168.1.2:80");
    assert!(times[0] < 1000);
    let gaps: Vec<u64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps[0] > 300 && gaps[0] <= 10_300, "the phase after the first answer: {gaps:?}");
    assert!(gaps[1..].iter().all(|&g| g == 10_300), "interval after the 300 ms answer: {gaps:?}");
}

#[test]
fn retry_delay_between_probes_while_failing_but_not_down() {
    let mut r = real("192.168.1.2:80", 1);
    r.checks[0].failures_to_down = 3;
    r.checks[0].retry_delay = Some(secs(2));
    let mut s = Sim::new(config(vec![virt("10.0.0.1:80", vec![r])]));
    s.run(t(60), |_, _| down("connection refused"));
    let times = s.probe_times("192.168.1.2:80");
    let gaps: Vec<u64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    // Two soft failures 2 s apart, then down: the first wait that is not a retry is the
    // phase, then the interval.
    assert_eq!(gaps[..2], [2000, 2000], "{gaps:?}");
    assert!(gaps[2] > 0 && gaps[2] <= 10_000, "{gaps:?}");
    assert_eq!(gaps[3], 10_000, "{gaps:?}");
    let t0 = times[4];
    s.run(t(120), |_, _| up());
    let times = s.probe_times("192.168.1.2:80");
    let i = times.iter().position(|&x| x == t0).unwrap();
    assert_eq!(times[i + 1] - times[i], 10_000, "after a success, the interval");
}

#[test]
fn a_probe_without_answer_fails_at_its_deadline() {
    let mut s = Sim::new(config(vec![virt("10.0.0.1:80", vec![real("192.168.1.2:80", 1)])]));
    let t0 = first_probes(&s.d)[0];
    s.run(Time::from_millis(t0), |_, _| Reply::Never);
    let p = s.probes[0].1.clone();
    assert_eq!(p.deadline.as_millis(), t0 + 5000);
    s.run(Time::from_millis(t0 + 4999), |_, _| Reply::Never);
    assert_eq!(s.health(0, 0), Health::Up, "not yet");
    s.run(Time::from_millis(t0 + 5000), |_, _| Reply::Never);
    assert_eq!(s.health(0, 0), Health::Down);
    assert!(s.decisions().iter().any(|m| m.contains("no answer within 5s")), "{:?}", s.decisions());
    // The next probe: the phase (then the interval) after the deadline (a probe in flight
    // blocks the next).
    s.run(t(40), |_, _| Reply::Never);
    let times = s.probe_times("192.168.1.2:80");
    assert!(times[1] - times[0] > 5000 && times[1] - times[0] <= 15_000, "{times:?}");
    assert_eq!(times[2] - times[1], 15_000, "{times:?}");
}

#[test]
fn a_late_outcome_is_ignored_and_one_at_the_deadline_counts() {
    // Late: timed out at the deadline, the outcome after it changes nothing.
    let mut s = Sim::new(config(vec![virt("10.0.0.1:80", vec![real("192.168.1.2:80", 1)])]));
    s.run(t(12), |_, _| Reply::After(6000, Outcome::Up));
    assert_eq!(s.health(0, 0), Health::Down);
    let last = s.d.status()[0].reals[0].last.clone().unwrap().1;
    assert!(matches!(last, Outcome::Down(ref m) if m.contains("no answer")), "{last:?}");
    // Late, with the daemon never calling handle_timeout: the outcome counts as the failure.
    let mut d =
        Director::new(config(vec![virt("10.0.0.1:80", vec![real("192.168.1.2:80", 1)])]), Time::ZERO, 1);
    let p = d.poll_probe(d.poll_timeout().unwrap()).unwrap();
    d.handle_outcome(p.id, Outcome::Up, p.deadline.plus_millis(1));
    assert_eq!(d.status()[0].reals[0].health, Health::Down);
    // Exactly at the deadline: in time.
    let mut v = virt("10.0.0.1:80", vec![real("192.168.1.2:80", 1)]);
    v.start = StartState::Down;
    let mut s = Sim::new(config(vec![v]));
    s.run(t(12), |_, _| Reply::After(5000, Outcome::Up));
    assert_eq!(s.health(0, 0), Health::Up);
}

#[test]
fn identical_checks_of_a_real_server_in_several_services_run_once() {
    let mut a = real("192.168.1.2:80", 1);
    a.checks[0].origin = at(3);
    let mut b = real("192.168.1.2:80", 5);
    b.checks[0].origin = at(9); // written elsewhere: still the same check
    let cfg = config(vec![virt("10.0.0.1:80", vec![a]), virt("10.0.0.2:80", vec![b.clone()])]);
    let mut s = Sim::new(cfg);
    s.run(t(60), |_, _| down("refused"));
    // The schedule of one check (the same seed draws the same delays for it).
    let mut one = Sim::new(config(vec![virt("10.0.0.1:80", vec![real("192.168.1.2:80", 1)])]));
    one.run(t(60), |_, _| down("refused"));
    assert!(s.probes.len() >= 6);
    assert_eq!(
        s.probe_times("192.168.1.2:80"),
        one.probe_times("192.168.1.2:80"),
        "one probe for both services"
    );
    assert_eq!(s.probes[0].1.service, tcp("10.0.0.1:80"), "the first service's");
    assert_eq!((s.health(0, 0), s.health(1, 0)), (Health::Down, Health::Down), "the outcome feeds both");
    // Another interval: another check.
    b.checks[0].interval = secs(5);
    let mut s = Sim::new(config(vec![
        virt("10.0.0.1:80", vec![real("192.168.1.2:80", 1)]),
        virt("10.0.0.2:80", vec![b]),
    ]));
    s.run(t(60), |_, _| up());
    assert!(s.probes.len() >= 16, "{}", s.probes.len());
}

#[test]
fn external_checks_with_ldirectord_arguments_are_shared_only_within_a_service() {
    let mk = |ldirectord_args| {
        let mut r = real("192.168.1.2:80", 1);
        r.checks[0].probe =
            Probe::Command { command: cmd("/bin/check"), ldirectord_args, dynamic_weight: false };
        r
    };
    for (args, probes) in [(true, 2), (false, 1)] {
        let cfg = config(vec![virt("10.0.0.1:80", vec![mk(args)]), virt("10.0.0.2:80", vec![mk(args)])]);
        let mut s = Sim::new(cfg);
        s.run(t(1), |_, _| Reply::Never); // the first probes, still running at 1 s
        assert_eq!(s.probes.len(), probes, "ldirectord_args = {args}");
        let services: Vec<ServiceKey> = s.probes.iter().map(|(_, p)| p.service).collect();
        if args {
            assert!(services.contains(&tcp("10.0.0.1:80")) && services.contains(&tcp("10.0.0.2:80")));
        }
    }
}

#[test]
fn alternate_runs_connects_then_the_other_probe() {
    let http = Probe::Http {
        tls: false,
        sni: None,
        method: HttpMethod::Get,
        host: None,
        urls: vec![UrlCheck::new("/")],
    };
    let mk = |key: ServiceKey| {
        let mut r = real("192.168.1.2:80", 1);
        r.checks[0].probe = Probe::Alternate { connects: 2, then: Box::new(http.clone()) };
        r.checks[0].failures_to_down = 5;
        config(vec![virt_key(key, vec![r])])
    };
    let kinds = |s: &Sim| -> Vec<&'static str> {
        s.probes
            .iter()
            .map(|(_, p)| match p.probe {
                Probe::Connect(Transport::Tcp) => "c",
                Probe::Connect(Transport::Udp) => "u",
                Probe::Http { .. } => "h",
                _ => "?",
            })
            .collect()
    };
    let mut s = Sim::new(mk(tcp("10.0.0.1:80")));
    s.run(t(60), |_, _| up());
    assert_eq!(kinds(&s)[..6], ["c", "c", "h", "c", "c", "h"]);
    // A failed connect brings the other probe forward; a failed other probe repeats it.
    let mut s = Sim::new(mk(tcp("10.0.0.1:80")));
    let mut n = 0;
    s.run(t(80), |p, _| {
        n += 1;
        match (n, &p.probe) {
            (2, _) => down("refused"),
            (3, Probe::Http { .. }) => down("500"),
            _ => up(),
        }
    });
    assert_eq!(kinds(&s)[..8], ["c", "c", "h", "h", "c", "c", "h", "c"]);
    // A UDP service's connects are UDP.
    let mut s = Sim::new(mk(ServiceKey::udp("10.0.0.1".parse().unwrap(), 53)));
    s.run(t(30), |_, _| up());
    assert_eq!(kinds(&s)[..3], ["u", "u", "h"]);
}

// ---- judgement ----

#[test]
fn a_check_fails_after_failures_to_down_in_a_row_and_passes_after_one_success() {
    let mut r = real("192.168.1.2:80", 1);
    r.checks[0].failures_to_down = 3;
    let mut s = Sim::new(config(vec![virt("10.0.0.1:80", vec![r])]));
    let mut n = 0;
    s.run(t(100), |_, _| {
        n += 1;
        match n {
            1 | 2 => down("connection refused"),
            3 => up(), // resets the count
            4..=6 => down("connection refused"),
            _ => up(),
        }
    });
    assert_eq!(
        s.notes(),
        [
            "real server 192.168.1.2:80: soft failure 1/3 of the connect check of 192.168.1.2:80: connection refused",
            "real server 192.168.1.2:80: soft failure 2/3 of the connect check of 192.168.1.2:80: connection refused",
            "real server 192.168.1.2:80: connect check of 192.168.1.2:80 passed, soft failure count reset (was 2)",
            "real server 192.168.1.2:80: soft failure 1/3 of the connect check of 192.168.1.2:80: connection refused",
            "real server 192.168.1.2:80: soft failure 2/3 of the connect check of 192.168.1.2:80: connection refused",
        ]
    );
    assert_eq!(
        s.decisions(),
        [
            "real server 192.168.1.2:80 down: connect check of 192.168.1.2:80: 3 failures in a row: connection refused",
            "all real servers down",
            "real server 192.168.1.2:80 up: connect check of 192.168.1.2:80 passed",
            "a real server is up",
        ]
    );
    // The table followed: in, out at the sixth probe, in at the seventh.
    assert_eq!(s.table(), [["192.168.1.2:80=1"]]);
}

#[test]
fn a_real_server_is_up_iff_all_its_checks_pass() {
    let mut r = real("192.168.1.2:80", 1);
    let mut http = Check::new(
        Probe::Http {
            tls: false,
            sni: None,
            method: HttpMethod::Get,
            host: None,
            urls: vec![UrlCheck::new("/")],
        },
        sa("192.168.1.2:8080"),
    );
    http.interval = secs(7);
    r.checks.push(http);
    let mut s = Sim::new(config(vec![virt("10.0.0.1:80", vec![r])]));
    s.run_with(t(30), &[]);
    assert_eq!(s.health(0, 0), Health::Up);
    s.run(t(60), |p, _| if p.check.target.port() == 8080 { down("503") } else { up() });
    assert_eq!(s.health(0, 0), Health::Down);
    assert!(s.table()[0].is_empty());
    s.run(t(90), |_, _| up());
    assert_eq!(s.health(0, 0), Health::Up);
}

#[test]
fn a_real_server_without_checks_is_always_up() {
    let mut v = virt("10.0.0.1:80", vec![RealServer::new(sorry("192.168.1.2:80", 4), Origin::default())]);
    v.start = StartState::Down;
    let mut s = Sim::new(config(vec![v]));
    assert_eq!(s.table(), [["192.168.1.2:80=4"]]);
    s.run(t(100), |_, _| down("x"));
    assert!(s.probes.is_empty());
    assert_eq!(s.table(), [["192.168.1.2:80=4"]]);
}

#[test]
fn dynamic_weights_set_the_weight_until_the_check_fails() {
    let mut r = real("192.168.1.2:80", 2);
    r.checks[0].probe =
        Probe::Command { command: cmd("/bin/w"), ldirectord_args: false, dynamic_weight: true };
    let mut s = Sim::new(config(vec![virt("10.0.0.1:80", vec![r.clone()])]));
    let mut n = 0;
    let mut tables = Vec::new();
    for step in 1..=5 {
        s.run_probes(1, |_, _| {
            n += 1;
            match n {
                1 => Reply::Now(Outcome::UpWithWeight(7)),
                2 => up(),
                3 => Reply::Now(Outcome::UpWithWeight(5)),
                4 => down("exit 1"),
                _ => up(),
            }
        });
        tables.push(s.table()[0].clone());
        if step == 4 {
            // Down: the dynamic weight is given back at once.
            let st = &s.d.status()[0].reals[0];
            assert_eq!((st.weight, st.checks[0].dynamic_weight), (2, None));
        }
    }
    assert_eq!(
        tables,
        [
            vec!["192.168.1.2:80=7"],
            vec!["192.168.1.2:80=2"],
            vec!["192.168.1.2:80=5"],
            vec![],
            vec!["192.168.1.2:80=2"], // the dynamic weight went with the failure
        ]
    );
    assert!(s.decisions().iter().any(|m| m == "real server 192.168.1.2:80 weight 2 -> 7: external check of 192.168.1.2:80 passed with weight 7"), "{:?}", s.decisions());
    // Two dynamic checks: their offsets from the configured weight add up (keepalived).
    let mut two = r;
    let mut second = two.checks[0].clone();
    second.target = sa("192.168.1.2:81");
    two.checks.push(second);
    let mut s = Sim::new(config(vec![virt("10.0.0.1:80", vec![two])]));
    s.run(t(10), |p, _| Reply::Now(Outcome::UpWithWeight(if p.check.target.port() == 80 { 5 } else { 4 })));
    assert_eq!(s.table(), [["192.168.1.2:80=7"]]); // 2 + (5-2) + (4-2)
}

#[test]
fn start_states() {
    let reals = || vec![real("192.168.1.2:80", 3), real("192.168.1.3:80", 1), real("192.168.1.4:80", 1)];
    // Up: all in at once.
    let s = Sim::new(config(vec![virt("10.0.0.1:80", reals())]));
    assert_eq!(s.table(), [["192.168.1.2:80=3", "192.168.1.3:80=1", "192.168.1.4:80=1"]]);
    // Down: out until their first check passes.
    let mut v = virt("10.0.0.1:80", reals());
    v.start = StartState::Down;
    let mut s = Sim::new(config(vec![v]));
    assert!(s.table()[0].is_empty());
    assert_eq!(s.health(0, 0), Health::Unknown);
    s.run_with(t(10), &[("192.168.1.3:80", down("refused"))]);
    assert_eq!(s.table(), [["192.168.1.2:80=3", "192.168.1.4:80=1"]]);
    assert_eq!(s.health(0, 1), Health::Down);
    // FromTable: present with a weight above 0 is up; at weight 0 or absent, down until checked.
    let mut v = virt("10.0.0.1:80", reals());
    v.start = StartState::FromTable;
    v.on_failure = OnFailure::Quiesce;
    let svc = v.service.clone();
    let mut s = Sim::new(config(vec![v]));
    let kernel = vec![(
        ServiceStatus::new(svc),
        vec![
            DestinationStatus::new(sorry("192.168.1.2:80", 9)),
            DestinationStatus::new(sorry("192.168.1.3:80", 0)),
        ],
    )];
    s.d.handle_table(&kernel, Time::ZERO);
    s.drain();
    assert_eq!(
        (s.health(0, 0), s.health(0, 1), s.health(0, 2)),
        (Health::Up, Health::Unknown, Health::Unknown)
    );
    assert_eq!(s.table(), [["192.168.1.2:80=3", "192.168.1.3:80=0", "192.168.1.4:80=0"]]);
    assert_eq!(s.decisions(), ["real server 192.168.1.2:80 up: in the kernel's table with weight 9"]);
}

#[test]
fn from_table_waits_for_the_table_before_its_start_commands() {
    let mut v = virt("10.0.0.1:80", vec![real("192.168.1.2:80", 1)]);
    v.start = StartState::FromTable;
    v.hooks.fallback_command = Some(cmd("/fb"));
    let svc = v.service.clone();
    let mut s = Sim::new(config(vec![v.clone()]));
    assert!(s.runs().is_empty(), "waits for handle_table");
    s.d.handle_table(
        &[(ServiceStatus::new(svc), vec![DestinationStatus::new(sorry("192.168.1.2:80", 1))])],
        Time::ZERO,
    );
    s.drain();
    assert_eq!(s.runs(), ["/fb stop 10.0.0.1:80 tcp"]);
    // Without a table: the first probe settles it (all down until checked).
    let mut s = Sim::new(config(vec![v]));
    s.run(t(10), |_, _| up());
    assert_eq!(s.runs(), ["/fb start 10.0.0.1:80 tcp", "/fb stop 10.0.0.1:80 tcp"]);
}

#[test]
fn maintenance_forces_down_and_stops_probing() {
    let mut r = real("192.168.1.2:80", 1);
    r.checks[0].interval = secs(1);
    let cfg =
        config(vec![virt("10.0.0.1:80", vec![r, real("192.168.1.2:81", 1), real("192.168.1.3:80", 1)])]);
    let mut s = Sim::new(cfg);
    s.run(t(10), |_, _| Reply::After(500, Outcome::Up));
    // Until a probe of .2:80 is in flight; then maintenance for .2:80 only.
    while !s.d.status()[0].reals[0].checks[0].in_flight {
        s.run(s.now.plus_millis(100), |_, _| Reply::After(500, Outcome::Up));
    }
    s.d.handle_maintenance(&[("192.168.1.2".parse().unwrap(), Some(80))], s.now);
    s.drain();
    assert_eq!((s.health(0, 0), s.health(0, 1)), (Health::Maintenance, Health::Up));
    assert_eq!(s.table(), [["192.168.1.2:81=1", "192.168.1.3:80=1"]]);
    let before = s.probe_times("192.168.1.2:80").len();
    s.run(t(30), |_, _| Reply::After(500, Outcome::Up)); // the in-flight answer comes and is ignored
    assert_eq!(s.probe_times("192.168.1.2:80").len(), before, "not probed in maintenance");
    assert_eq!(s.health(0, 0), Health::Maintenance);
    // A bare address names every port.
    s.d.handle_maintenance(&[("192.168.1.2".parse().unwrap(), None)], s.now);
    assert_eq!(s.table(), [["192.168.1.3:80=1"]]);
    // Out of maintenance: down until checked, probed at once.
    s.d.handle_maintenance(&[], t(30));
    s.drain();
    assert_eq!(s.health(0, 0), Health::Unknown);
    assert_eq!(s.d.status()[0].reals[0].checks[0].next_probe, Some(t(30)));
    s.run(Time::from_millis(30_600), |_, _| Reply::After(500, Outcome::Up));
    assert_eq!(s.health(0, 0), Health::Up);
    assert!(s
        .decisions()
        .iter()
        .any(|m| m == "real server 192.168.1.2:80 in maintenance: maintenance directory"));
}

// ---- the table ----

#[test]
fn failed_servers_leave_or_are_quiesced() {
    let mut quiesced = real("192.168.1.3:80", 2);
    quiesced.on_failure = Some(OnFailure::Quiesce); // keepalived's per-server inhibit_on_failure
    let cfg = config(vec![virt("10.0.0.1:80", vec![real("192.168.1.2:80", 1), quiesced])]);
    let mut s = Sim::new(cfg.clone());
    s.run(t(10), |_, _| down("refused"));
    assert_eq!(s.table(), [["192.168.1.3:80=0"]]);
    let mut cfg = cfg;
    cfg.virtuals[0].on_failure = OnFailure::Quiesce;
    let mut s = Sim::new(cfg);
    s.run(t(10), |_, _| down("refused"));
    assert_eq!(s.table(), [["192.168.1.2:80=0", "192.168.1.3:80=0"]]);
    // Nothing else changes: every setting but the weight is the configured one.
    let d = &s.d.desired()[0];
    assert_eq!(d.0, s.d.config().virtuals[0].service);
    for (got, want) in d.1.iter().zip(&s.d.config().virtuals[0].reals) {
        assert_eq!(got.clone().with_weight(want.dest.weight), want.dest);
    }
}

#[test]
fn fallback_goes_in_when_all_are_down_and_out_at_the_first_recovery() {
    let mut v = virt("10.0.0.1:80", vec![real("192.168.1.2:80", 1), real("192.168.1.3:80", 1)]);
    v.sorry = Some(sorry("127.0.0.1:80", 1));
    v.hooks.fallback_command = Some(cmd("/fb"));
    let mut s = Sim::new(config(vec![v.clone()]));
    assert_eq!(s.runs(), ["/fb stop 10.0.0.1:80 tcp"], "run once at the start, as ldirectord");
    s.run_with(t(10), &[("192.168.1.2:80", down("refused"))]);
    assert_eq!(s.table(), [["192.168.1.3:80=1"]]);
    s.run(t(20), |_, _| down("refused"));
    assert_eq!(s.table(), [["127.0.0.1:80=1"]]);
    s.run_with(t(30), &[("192.168.1.2:80", down("refused"))]);
    assert_eq!(s.table(), [["192.168.1.3:80=1"]]);
    assert_eq!(
        s.runs(),
        ["/fb stop 10.0.0.1:80 tcp", "/fb start 10.0.0.1:80 tcp", "/fb stop 10.0.0.1:80 tcp"]
    );
    assert!(s
        .decisions()
        .contains(&"all real servers down: sorry server 127.0.0.1:80 in with weight 1".to_string()));
    assert!(s.decisions().contains(&"a real server is up: sorry server 127.0.0.1:80 out".to_string()));
    // Quiescent: the down servers stay at weight 0 beside the fallback.
    v.on_failure = OnFailure::Quiesce;
    let mut s = Sim::new(config(vec![v.clone()]));
    s.run(t(10), |_, _| down("refused"));
    assert_eq!(s.table(), [["192.168.1.2:80=0", "192.168.1.3:80=0", "127.0.0.1:80=1"]]);
    // sorry_inhibit: the sorry server stays, at weight 0, while not needed.
    v.sorry_inhibit = true;
    let mut s = Sim::new(config(vec![v]));
    assert_eq!(s.table(), [["192.168.1.2:80=1", "192.168.1.3:80=1", "127.0.0.1:80=0"]]);
    s.run(t(10), |_, _| down("refused"));
    assert_eq!(s.table(), [["192.168.1.2:80=0", "192.168.1.3:80=0", "127.0.0.1:80=1"]]);
}

#[test]
fn weighted_quorum_with_hysteresis() {
    let mut v = virt(
        "10.0.0.1:80",
        vec![real("192.168.1.1:80", 1), real("192.168.1.2:80", 2), real("192.168.1.3:80", 3)],
    );
    v.quorum = Quorum::Weight { quorum: 4, hysteresis: 1 };
    v.sorry = Some(sorry("127.0.0.1:80", 5));
    v.hooks.quorum_up = Some(cmd("/up"));
    v.hooks.quorum_down = Some(cmd("/down"));
    let mut s = Sim::new(config(vec![v.clone()]));
    assert!(s.runs().is_empty(), "keepalived runs nothing when it starts with its quorum");
    let all = vec!["192.168.1.1:80=1", "192.168.1.2:80=2", "192.168.1.3:80=3"];
    assert_eq!(s.table(), std::slice::from_ref(&all));
    // .3 down: live weight 3, not below 4-1: kept.
    s.run_with(t(10), &[("192.168.1.3:80", down("x"))]);
    assert_eq!(s.table(), [["192.168.1.1:80=1", "192.168.1.2:80=2"]]);
    // .1 down too: 2 < 3: lost; the live server goes out, the sorry server in.
    s.run_with(t(20), &[("192.168.1.3:80", down("x")), ("192.168.1.1:80", down("x"))]);
    assert_eq!(s.table(), [["127.0.0.1:80=5"]]);
    assert_eq!(s.runs(), ["/down"]);
    assert!(s.decisions().contains(
        &"quorum lost: live weight 2 below 4-1: sorry server 127.0.0.1:80 in with weight 5".to_string()
    ));
    // .1 back: 3 < 4+1: still lost.
    s.run_with(t(30), &[("192.168.1.3:80", down("x"))]);
    assert_eq!(s.table(), [["127.0.0.1:80=5"]]);
    // .2 down (live weight 1), then .3 up: 1+3 = 4 reaches the quorum but not 4+1: still lost.
    s.run_with(t(40), &[("192.168.1.3:80", down("x")), ("192.168.1.2:80", down("x"))]);
    s.run_with(t(50), &[("192.168.1.2:80", down("x"))]);
    assert_eq!(s.d.status()[0].live_weight, 4);
    assert_eq!(s.table(), [["127.0.0.1:80=5"]]);
    // All back: 6 >= 5: gained; everything live back in.
    s.run(t(60), |_, _| up());
    assert_eq!(s.table(), std::slice::from_ref(&all));
    assert_eq!(s.runs(), ["/down", "/up"]);
    // With inhibit_on_failure the live servers are at weight 0 while the sorry server is in.
    v.on_failure = OnFailure::Quiesce;
    let mut s = Sim::new(config(vec![v.clone()]));
    s.run_with(t(10), &[("192.168.1.3:80", down("x")), ("192.168.1.1:80", down("x"))]);
    assert_eq!(s.table(), [["192.168.1.1:80=0", "192.168.1.2:80=0", "192.168.1.3:80=0", "127.0.0.1:80=5"]]);
    // Without a sorry server the table keeps its live servers; the hooks still run.
    v.sorry = None;
    v.on_failure = OnFailure::Remove;
    let mut s = Sim::new(config(vec![v]));
    s.run_with(t(10), &[("192.168.1.3:80", down("x")), ("192.168.1.1:80", down("x"))]);
    assert_eq!(s.table(), [["192.168.1.2:80=2"]]);
    assert_eq!(s.runs(), ["/down"]);
    assert!(!s.d.status()[0].quorum);
}

#[test]
fn a_live_weight_of_zero_loses_the_quorum() {
    let mut v = virt("10.0.0.1:80", vec![real("192.168.1.1:80", 0)]);
    v.quorum = Quorum::Weight { quorum: 0, hysteresis: 0 };
    v.sorry = Some(sorry("127.0.0.1:80", 1));
    let s = Sim::new(config(vec![v]));
    assert_eq!(s.table(), [["127.0.0.1:80=1"]], "keepalived: no live weight, no quorum");
}

#[test]
fn keepalived_starting_without_quorum_runs_quorum_down_only_with_a_sorry_server() {
    for with_sorry in [true, false] {
        let mut v = virt("10.0.0.1:80", vec![real("192.168.1.1:80", 1)]);
        v.quorum = Quorum::Weight { quorum: 1, hysteresis: 0 };
        v.start = StartState::Down; // alpha
        v.hooks.quorum_down = Some(cmd("/down"));
        v.hooks.quorum_up = Some(cmd("/up"));
        if with_sorry {
            v.sorry = Some(sorry("127.0.0.1:80", 1));
        }
        let mut s = Sim::new(config(vec![v]));
        assert_eq!(s.runs(), if with_sorry { vec!["/down"] } else { vec![] });
        s.run(t(10), |_, _| up());
        assert_eq!(s.runs().last().map(String::as_str), Some("/up"));
    }
}

#[test]
fn fallback_command_arguments_as_ldirectord_gives_them() {
    let cases = [
        (ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80), "start 10.0.0.1:80 tcp"),
        (ServiceKey::udp("10.0.0.1".parse().unwrap(), 53), "start 10.0.0.1:53 udp"),
        (ServiceKey::tcp("2001:db8::1".parse().unwrap(), 443), "start [2001:db8::1]:443 tcp"),
        (ServiceKey::fwmark(7, AddressFamily::Inet), "start :0 fwm"),
    ];
    for (key, want) in cases {
        let mut v = virt_key(key, vec![]);
        v.hooks.fallback_command = Some(cmd("/fb"));
        let mut d = Director::new(config(vec![v]), Time::ZERO, 0);
        let args: Vec<String> = std::iter::from_fn(|| d.poll_event())
            .filter_map(|e| match e {
                Event::Run { args, .. } => Some(args.join(" ")),
                _ => None,
            })
            .collect();
        assert_eq!(args, [want]);
    }
}

#[test]
fn notify_up_and_down() {
    let mut r = real("192.168.1.2:80", 1);
    r.notify_up = Some(cmd("/rs-up"));
    r.notify_down = Some(cmd("/rs-down"));
    r.checks[0].failures_to_down = 2;
    let mut v = virt("10.0.0.1:80", vec![r]);
    let mut s = Sim::new(config(vec![v.clone()]));
    s.run_probes(1, |_, _| down("x"));
    assert!(s.runs().is_empty(), "a soft failure notifies nothing");
    s.run_probes(1, |_, _| down("x"));
    s.run_probes(1, |_, _| up());
    assert_eq!(s.runs(), ["/rs-down", "/rs-up"]);
    // Starting down (alpha): the first checks confirming it down notify (keepalived).
    v.start = StartState::Down;
    let mut s = Sim::new(config(vec![v]));
    s.run(t(20), |_, _| down("x"));
    assert_eq!(s.runs(), ["/rs-down"]);
}

#[test]
fn table_changed_after_any_change_to_desired() {
    let mut s = Sim::new(config(vec![virt("10.0.0.1:80", vec![real("192.168.1.2:80", 1)])]));
    assert!(s.d.table_changed());
    assert!(!s.d.table_changed());
    s.run(t(10), |_, _| up());
    assert!(!s.d.table_changed(), "probes that change nothing");
    s.run(t(20), |_, _| down("x"));
    assert!(s.d.table_changed());
    assert!(!s.d.table_changed());
}

#[test]
fn duplicates_never_reach_the_table() {
    // A service listed twice, a real server listed twice, a sorry server that is a real server.
    let mut v = virt(
        "10.0.0.1:80",
        vec![real("192.168.1.2:80", 1), real("192.168.1.2:80", 7), real("192.168.1.3:80", 1)],
    );
    v.sorry = Some(sorry("192.168.1.3:80", 9));
    v.sorry_inhibit = true;
    let mut s = Sim::new(config(vec![v.clone(), v]));
    assert_eq!(s.table(), [["192.168.1.2:80=1", "192.168.1.3:80=1"]]);
    assert!(plan(&Vec::<(Service, Vec<Destination>)>::new(), &s.d.desired()).is_ok());
    s.run(t(10), |_, _| down("x"));
    assert_eq!(s.table(), [["192.168.1.3:80=9"]]);
    assert!(plan(&Vec::<(Service, Vec<Destination>)>::new(), &s.d.desired()).is_ok());
}

#[test]
fn readdquiescent_no_leaves_out_a_quiesced_server_deleted_by_hand() {
    for readd in [false, true] {
        let mut v = virt("10.0.0.1:80", vec![real("192.168.1.2:80", 1), real("192.168.1.3:80", 1)]);
        v.on_failure = OnFailure::Quiesce;
        let mut cfg = config(vec![v]);
        cfg.options.readd_quiescent = readd;
        let mut s = Sim::new(cfg);
        let mut kernel = MemoryBackend::new();
        let sync = |s: &mut Sim, kernel: &mut MemoryBackend| {
            let current = kernel.services_with_destinations().unwrap();
            s.d.handle_table(&current, s.now);
            s.drain();
            let p = plan(&current, &s.d.desired()).unwrap();
            assert!(p.apply(kernel, OnError::Stop).is_ok());
        };
        sync(&mut s, &mut kernel);
        s.run_with(t(10), &[("192.168.1.2:80", down("x"))]);
        sync(&mut s, &mut kernel);
        sync(&mut s, &mut kernel); // seen at weight 0
        kernel
            .delete_destination(&tcp("10.0.0.1:80"), &"192.168.1.2:80".parse::<SocketAddr>().unwrap().into())
            .unwrap();
        sync(&mut s, &mut kernel);
        let want: &[&str] =
            if readd { &["192.168.1.2:80=0", "192.168.1.3:80=1"] } else { &["192.168.1.3:80=1"] };
        assert_eq!(s.table(), [want], "readdquiescent = {readd}");
        // It recovers: back in.
        s.run(t(20), |_, _| up());
        sync(&mut s, &mut kernel);
        assert_eq!(s.table(), [["192.168.1.2:80=1", "192.168.1.3:80=1"]]);
    }
}

// ---- reload, ownership, stop ----

#[test]
fn reload_of_an_unchanged_configuration_changes_nothing() {
    let mut r = real("192.168.1.2:80", 1);
    r.checks[0].failures_to_down = 3;
    let cfg = config(vec![virt("10.0.0.1:80", vec![r, real("192.168.1.3:80", 1)])]);
    let mut s = Sim::new(cfg.clone());
    s.run(Time::from_millis(25_000), |p, _| {
        if p.real.port == 80 && p.real.addr.to_string() == "192.168.1.2" {
            down("x")
        } else {
            up()
        }
    });
    let before = s.d.status();
    let table = s.d.desired();
    let n = s.events.len();
    // The same file with every line moved down: the same configuration.
    let mut moved = cfg;
    for v in &mut moved.virtuals {
        v.origin.line += 1;
        for r in &mut v.reals {
            r.origin.line += 1;
            for c in &mut r.checks {
                c.origin.line += 1;
            }
        }
    }
    s.d.handle_reload(moved, s.now);
    s.drain();
    assert_eq!(s.events.len(), n, "no decision: {:?}", &s.events[n..]);
    assert_eq!(s.d.desired(), table);
    let after = s.d.status();
    for (a, b) in before.iter().zip(&after) {
        for (ra, rb) in a.reals.iter().zip(&b.reals) {
            assert_eq!(
                (ra.health, ra.failures, &ra.last, ra.since),
                (rb.health, rb.failures, &rb.last, rb.since)
            );
            for (ca, cb) in ra.checks.iter().zip(&rb.checks) {
                assert_eq!(
                    (ca.next_probe, ca.in_flight, ca.failures),
                    (cb.next_probe, cb.in_flight, cb.failures)
                );
            }
        }
    }
}

#[test]
fn reload_restarts_changed_checks_and_forgets_removed_servers() {
    let cfg = config(vec![virt("10.0.0.1:80", vec![real("192.168.1.2:80", 1), real("192.168.1.3:80", 1)])]);
    let mut s = Sim::new(cfg.clone());
    // .2 down; a probe of .3 in flight at the reload.
    s.run(t(10), |p, _| {
        if p.real.addr.to_string() == "192.168.1.2" {
            down("x")
        } else {
            Reply::After(20_000, Outcome::Down("late".into()))
        }
    });
    assert_eq!(s.health(0, 0), Health::Down);
    assert!(s.d.status()[0].reals[1].checks[0].in_flight, "a probe of .3 in flight");
    let mut new = cfg.clone();
    new.virtuals[0].reals.remove(1); // .3 removed
    new.virtuals[0].reals[0].checks[0].timeout = secs(3); // .2's check changed
    new.virtuals[0].reals[0].dest.weight = 4;
    new.virtuals[0].reals.push(real("192.168.1.4:80", 1)); // .4 added
    s.d.handle_reload(new, s.now);
    s.drain();
    // StartState::Up: the restarted check passes until it fails; .4 starts up.
    assert_eq!(s.table(), [["192.168.1.2:80=4", "192.168.1.4:80=1"]]);
    let st = s.d.status();
    assert_eq!(st[0].reals[0].checks[0].failures, 0, "restarted");
    assert!(s.decisions().iter().any(|m| m == "real server 192.168.1.3:80 removed (configuration reloaded)"));
    // The in-flight probe of .3 answers: ignored.
    s.run(t(40), |_, _| up());
    assert_eq!(s.table(), [["192.168.1.2:80=4", "192.168.1.4:80=1"]]);
    assert!(s.d.status()[0].reals.iter().all(|r| r.key.to_string() != "192.168.1.3:80"));
}

#[test]
fn reload_with_alpha_restarts_a_changed_check_as_the_server_was() {
    let mut v = virt("10.0.0.1:80", vec![real("192.168.1.2:80", 1), real("192.168.1.3:80", 1)]);
    v.start = StartState::Down;
    let cfg = config(vec![v]);
    let mut s = Sim::new(cfg.clone());
    s.run_with(t(10), &[("192.168.1.3:80", down("x"))]);
    assert_eq!((s.health(0, 0), s.health(0, 1)), (Health::Up, Health::Down));
    let mut new = cfg;
    for r in &mut new.virtuals[0].reals {
        r.checks[0].interval = secs(3);
    }
    s.d.handle_reload(new, s.now);
    assert_eq!((s.health(0, 0), s.health(0, 1)), (Health::Up, Health::Unknown));
}

#[test]
fn owned_keeps_removed_services_until_applied() {
    let a = virt("10.0.0.1:80", vec![real("192.168.1.2:80", 1)]);
    let b = virt("10.0.0.2:80", vec![real("192.168.1.2:80", 1)]);
    let mut d = Director::new(config(vec![a.clone(), b.clone()]), Time::ZERO, 0);
    d.handle_reload(config(vec![a.clone()]), t(1));
    assert_eq!(d.owned(), [tcp("10.0.0.1:80"), tcp("10.0.0.2:80")]);
    // A reload before the plan was applied: taken again, so no longer removed.
    d.handle_reload(config(vec![a.clone(), b.clone()]), t(2));
    assert_eq!(d.owned(), [tcp("10.0.0.1:80"), tcp("10.0.0.2:80")]);
    d.handle_reload(config(vec![b.clone()]), t(3));
    let owned = d.owned();
    assert_eq!(owned, [tcp("10.0.0.2:80"), tcp("10.0.0.1:80")]);
    // The deletion of 10.0.0.1:80 failed: it stays owned.
    d.handle_applied(&owned[..1]);
    assert_eq!(d.owned(), [tcp("10.0.0.2:80"), tcp("10.0.0.1:80")]);
    d.handle_applied(&owned);
    assert_eq!(d.owned(), [tcp("10.0.0.2:80")]);
    d.handle_reload(config(vec![]), t(4));
    let owned = d.owned();
    d.handle_applied(&owned);
    assert!(d.owned().is_empty());
}

#[test]
fn on_stop_removes_or_keeps() {
    let cfg = config(vec![virt("10.0.0.1:80", vec![real("192.168.1.2:80", 1)])]);
    let d = Director::new(cfg.clone(), Time::ZERO, 0);
    assert!(d.on_stop().is_empty());
    let mut keep = cfg;
    keep.options.on_stop = OnStop::Keep;
    let d = Director::new(keep, Time::ZERO, 0);
    assert_eq!(d.on_stop(), d.desired());
}

// ---- the whole loop ----

#[test]
fn the_same_inputs_give_the_same_outputs() {
    let mk = || {
        let mut v = virt("10.0.0.1:80", (1..=6).map(|i| real(&format!("192.168.1.{i}:80"), i)).collect());
        v.sorry = Some(sorry("127.0.0.1:80", 1));
        v.quorum = Quorum::Weight { quorum: 10, hysteresis: 2 };
        let mut s = Sim::seeded(config(vec![v]), 99);
        let mut n = 0u64;
        let mut tables = Vec::new();
        for step in 1..=30 {
            s.run(t(step * 7), |_, _| {
                n = n.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                match n >> 61 {
                    0 | 1 => down("x"),
                    2 => Reply::Never,
                    3 => Reply::After(3000, Outcome::Up),
                    _ => up(),
                }
            });
            tables.push(s.d.desired());
        }
        (s.probes, s.events, tables)
    };
    assert_eq!(mk(), mk());
}

#[test]
fn desired_tables_applied_through_the_planner_converge() {
    let mut v = virt("10.0.0.1:80", (1..=4).map(|i| real(&format!("192.168.1.{i}:80"), i)).collect());
    v.sorry = Some(sorry("127.0.0.1:80", 1));
    v.on_failure = OnFailure::Quiesce;
    let mut s = Sim::new(config(vec![v, virt("10.0.0.2:80", vec![real("192.168.1.1:80", 1)])]));
    let mut kernel = MemoryBackend::new();
    let mut flips = 0u32;
    for step in 1..=40u64 {
        s.run(t(step * 5), |p, _| {
            if (u64::from(p.real.addr.to_string().ends_with('3')) + step) % 3 == 0 {
                down("x")
            } else {
                up()
            }
        });
        if s.d.table_changed() {
            flips += 1;
            let current = kernel.services_with_destinations().unwrap();
            let p = plan(&current, &s.d.desired()).unwrap();
            assert!(p.apply(&mut kernel, OnError::Stop).is_ok());
            let now = kernel.services_with_destinations().unwrap();
            assert!(plan(&now, &s.d.desired()).unwrap().is_empty());
        }
    }
    assert!(flips > 5, "{flips}");
}

#[test]
fn status_shows_each_check() {
    let mut r = real("192.168.1.2:80", 2);
    r.checks[0].failures_to_down = 3;
    r.checks[0].origin = at(12);
    let mut s = Sim::new(config(vec![virt("10.0.0.1:80", vec![r])]));
    s.run_probes(1, |_, _| down("refused"));
    let st = s.d.status();
    let rs = &st[0].reals[0];
    assert_eq!(
        (rs.health, rs.configured_weight, rs.weight, rs.desired_weight, rs.failures),
        (Health::Up, 2, 2, Some(2), 1)
    );
    let c = &rs.checks[0];
    assert_eq!(
        (c.origin.line, c.verdict, c.failures, c.failures_to_down, c.in_flight),
        (12, Verdict::Pass, 1, 3, false)
    );
    assert!(c.next_probe.unwrap() > s.probes[0].0);
    assert_eq!(rs.last.as_ref().unwrap().1, Outcome::Down("refused".into()));
    assert_eq!((st[0].live, st[0].live_weight, st[0].quorum, st[0].sorry_in), (1, 2, true, false));
}

#[test]
fn a_real_server_may_override_the_start_state() {
    let mut alpha = real("192.168.1.3:80", 1);
    alpha.start = Some(StartState::Down); // keepalived's alpha in one real_server block
    let s = Sim::new(config(vec![virt("10.0.0.1:80", vec![real("192.168.1.2:80", 1), alpha])]));
    assert_eq!((s.health(0, 0), s.health(0, 1)), (Health::Up, Health::Unknown));
    assert_eq!(s.table(), [["192.168.1.2:80=1"]]);
}

#[test]
fn stop_keeps_or_removes_per_virtual_and_runs_omega_hooks() {
    let mut r = real("192.168.1.2:80", 1);
    r.notify_down = Some(cmd("/rs-down-2"));
    let mut r3 = real("192.168.1.3:80", 1);
    r3.notify_down = Some(cmd("/rs-down-3"));
    let mut a = virt("10.0.0.1:80", vec![r, r3]);
    a.hooks.notify_on_stop = true;
    a.hooks.quorum_down = Some(cmd("/q-down"));
    let mut b = virt("10.0.0.2:80", vec![real("192.168.1.2:80", 1)]);
    b.on_stop = Some(OnStop::Keep); // cleanstop = no in this virtual
    b.hooks.quorum_down = Some(cmd("/q-down-b"));
    let mut s = Sim::new(config(vec![a, b]));
    s.run_with(t(10), &[("192.168.1.3:80", down("x"))]);
    let n = s.events.len();
    let table = s.d.desired();
    s.d.handle_stop(s.now);
    s.drain();
    let runs: Vec<String> = s.events[n..]
        .iter()
        .filter_map(|e| match e {
            Event::Run { command, .. } => Some(command.line.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(runs, ["/rs-down-2", "/q-down"], "only the servers that were up; b has no omega");
    assert_eq!(s.d.on_stop(), table[1..]);
    assert_eq!(s.d.desired(), table, "stopping changes no state");
}

#[test]
fn a_large_configuration_runs_and_reloads() {
    // keepalived #2318: 2,284 services with 37,298 real servers killed it on reload. Here 2,300
    // services with 16 real servers each (36,800 checks), 30 s of probes, then a reload.
    let addr = |i: u32| SocketAddr::new(std::net::Ipv4Addr::from(0xC0A8_0000 + i).into(), 80);
    let mk = |n: u32| {
        config(
            (0..n)
                .map(|v| {
                    let reals = (0..16).map(|r| real(&addr(v * 16 + r).to_string(), 1)).collect();
                    virt(
                        &SocketAddr::new(std::net::Ipv4Addr::from(0x0A00_0000 + v).into(), 80).to_string(),
                        reals,
                    )
                })
                .collect(),
        )
    };
    let cfg = mk(2300);
    let mut d = Director::new(cfg.clone(), Time::ZERO, 5);
    let mut now = Time::ZERO;
    let mut probes = 0u64;
    while let Some(next) = d.poll_timeout().filter(|&n| n <= t(30)) {
        now = next;
        d.handle_timeout(now);
        while let Some(p) = d.poll_probe(now) {
            probes += 1;
            let o = if probes % 7 == 0 { Outcome::Down("refused".into()) } else { Outcome::Up };
            d.handle_outcome(p.id, o, now);
        }
        while d.poll_event().is_some() {}
    }
    assert!(probes >= 36_800 * 3, "{probes}");
    let before = d.desired();
    let mut smaller = cfg;
    smaller.virtuals.pop();
    d.handle_reload(smaller, now);
    while d.poll_event().is_some() {}
    let after = d.desired();
    assert_eq!(after.len(), 2299);
    assert_eq!(d.owned().len(), 2300);
    assert_eq!(plan(&before, &after).unwrap().len(), 1, "one service deleted, nothing else");
}
