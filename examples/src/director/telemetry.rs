//! What the daemon measures beside the machine (probe durations and results, failure and
//! health-transition counts, recent decisions, table corrections) and how it builds a
//! [`Snapshot`] from that, the machine's [`Director::status`] and the kernel's entries.
//!
//! Probe records are kept per *check identity*: the real server and the check with its
//! `file:line` left out, as the machine runs identical checks of one real server in several
//! virtual services once. Each (service, real server) sums the records of its checks.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant, SystemTime};

use ipvs_core::director::config::{Check, DirectorConfig, Probe};
use ipvs_core::director::machine::{self, Director, Outcome, ProbeId, RealStatus, Verdict};
use ipvs_core::sched::Time;
use ipvs_core::status::{DestinationStatus, ServiceStatus};
use ipvs_core::{AddressFamily, DestinationKey, ForwardMethod, ServiceFlags, ServiceKey};

use super::status::{
    unix_ms, unix_ms_now, CheckHistogram, CheckResult, CheckStatus, Decision, Health, KernelDestination,
    KernelStats, RealServerStatus, Snapshot, SorryServerStatus, VirtualServiceStatus, DECISION_RING,
    DURATION_BUCKETS, DURATION_RING,
};

/// How long the kernel's numbers are reused before the next snapshot reads them again.
pub const KERNEL_CACHE: Duration = Duration::from_secs(1);

/// A virtual service as `ipvsadm -L` names it: `TCP 10.0.0.1:80`, `UDP [2001:db8::1]:53`,
/// `FWM 5`, `FWM 5 IPv6`.
///
/// ```
/// use ipvs_core::{AddressFamily, ServiceKey};
/// use ipvs_examples::director::telemetry::service_name;
/// assert_eq!(service_name(&ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80)), "TCP 10.0.0.1:80");
/// assert_eq!(service_name(&ServiceKey::udp("2001:db8::1".parse().unwrap(), 53)), "UDP [2001:db8::1]:53");
/// assert_eq!(service_name(&ServiceKey::fwmark(5, AddressFamily::Inet6)), "FWM 5 IPv6");
/// ```
pub fn service_name(key: &ServiceKey) -> String {
    match key {
        ServiceKey::Addr { protocol, addr, port } => {
            format!("{protocol} {}", DestinationKey { addr: *addr, port: *port })
        }
        ServiceKey::Fwmark { mark, family: AddressFamily::Inet6 } => format!("FWM {mark} IPv6"),
        ServiceKey::Fwmark { mark, .. } => format!("FWM {mark}"),
    }
}

/// The log line of one of the machine's decisions: `real server 10.0.0.2:80 of TCP
/// 10.0.0.1:80 down: http check of 10.0.0.2:80: 3 failures in a row: HTTP status 500`, or
/// `TCP 10.0.0.1:80: quorum lost: ...` for a decision about the service.
pub fn decision_line(service: &ServiceKey, real: Option<&DestinationKey>, message: &str) -> String {
    let svc = service_name(service);
    if let Some(r) = real {
        let prefix = format!("real server {r}");
        if let Some(rest) = message.strip_prefix(&prefix) {
            return format!("{prefix} of {svc}{rest}");
        }
        return format!("{svc}: real server {r}: {message}");
    }
    format!("{svc}: {message}")
}

/// What a check's kind is called (`connect`, `http`, ...).
pub fn probe_kind(p: &Probe) -> String {
    match p {
        Probe::Connect(ipvs_core::director::config::Transport::Udp) => "udp connect".into(),
        Probe::Connect(_) => "connect".into(),
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
        Probe::Alternate { connects, then } => format!("{connects} connects then {}", probe_kind(then)),
        _ => "other".into(),
    }
}

type CheckId = (DestinationKey, Check);

#[derive(Debug, Default)]
struct CheckRecord {
    /// (end, duration in ms), oldest first.
    ring: VecDeque<(u64, f64)>,
    last: Option<CheckResult>,
    failed: u64,
    hist: CheckHistogram,
}

#[derive(Debug)]
struct RealRecord {
    health: Health,
    transitions: u64,
}

/// The kernel's entries of the owned services, as last read.
#[derive(Debug)]
pub struct KernelRead {
    at: Instant,
    unix_ms: u64,
    table: Result<HashMap<ServiceKey, (ServiceStatus, Vec<DestinationStatus>)>, String>,
}

impl KernelRead {
    /// A read made now.
    pub fn new(table: Result<Vec<(ServiceStatus, Vec<DestinationStatus>)>, String>) -> Self {
        KernelRead {
            at: Instant::now(),
            unix_ms: unix_ms_now(),
            table: table.map(|t| t.into_iter().map(|(s, d)| (s.service.key, (s, d))).collect()),
        }
    }

    /// Whether it is recent enough to use again.
    pub fn fresh(&self) -> bool {
        self.at.elapsed() < KERNEL_CACHE
    }
}

/// The daemon's records.
#[derive(Debug)]
pub struct Telemetry {
    started: SystemTime,
    program: String,
    config_file: Option<String>,
    checks: HashMap<CheckId, CheckRecord>,
    reals: HashMap<(ServiceKey, DestinationKey), RealRecord>,
    decisions: VecDeque<Decision>,
    corrections: u64,
    errors: u64,
    in_flight: HashMap<ProbeId, CheckId>,
    health_dirty: bool,
    /// The last read of the kernel's entries (invalidated by an apply).
    pub kernel: Option<KernelRead>,
}

/// The health observers see: the machine's, with a server that is down but kept at weight 0
/// shown as quiescent.
pub fn health_of(r: &RealStatus) -> Health {
    match r.health {
        machine::Health::Up => Health::Up,
        machine::Health::Down if r.desired_weight == Some(0) => Health::Quiescent,
        machine::Health::Down => Health::Down,
        machine::Health::Maintenance => Health::Maintenance,
        machine::Health::Draining => Health::Draining,
        _ => Health::Unknown,
    }
}

fn outcome_text(o: &Outcome) -> (bool, String) {
    match o {
        Outcome::Up => (true, "passed".into()),
        Outcome::UpWithWeight(w) => (true, format!("passed with weight {w}")),
        Outcome::Down(why) => (false, why.clone()),
        _ => (false, format!("{o:?}")),
    }
}

fn forward_name(f: ForwardMethod) -> String {
    match f {
        ForwardMethod::Masquerade => "masq".into(),
        ForwardMethod::DirectRoute => "route".into(),
        ForwardMethod::Tunnel => "tunnel".into(),
        ForwardMethod::Local => "local".into(),
        ForwardMethod::Bypass => "bypass".into(),
        other => format!("{}", other.to_raw()),
    }
}

fn kernel_destination(d: &DestinationStatus) -> KernelDestination {
    let k = d.dest.key();
    KernelDestination {
        address: k.to_string(),
        ip: k.addr.to_string(),
        port: k.port,
        weight: d.dest.weight,
        active_connections: d.active_conns,
        inactive_connections: d.inactive_conns,
    }
}

impl Telemetry {
    /// Records for `program`, started now, reading `config_file`.
    pub fn new(program: &str, config_file: Option<String>) -> Self {
        Telemetry {
            started: SystemTime::now(),
            program: program.to_string(),
            config_file,
            checks: HashMap::new(),
            reals: HashMap::new(),
            decisions: VecDeque::new(),
            corrections: 0,
            errors: 0,
            in_flight: HashMap::new(),
            health_dirty: true,
            kernel: None,
        }
    }

    /// The program's name.
    pub fn set_program(&mut self, program: &str) {
        self.program = program.to_string();
    }

    /// A machine time (milliseconds since the daemon started) as Unix milliseconds.
    pub fn wall(&self, t: Time) -> u64 {
        unix_ms(self.started + Duration::from_millis(t.as_millis()))
    }

    /// A probe started.
    pub fn probe_started(&mut self, id: ProbeId, real: DestinationKey, check: &Check) {
        self.in_flight.insert(id, (real, check.identity()));
    }

    /// A probe ended after `took`: its record, and what to log about it (debug).
    pub fn probe_ended(&mut self, id: ProbeId, outcome: &Outcome, took: Duration) -> Option<String> {
        let key = self.in_flight.remove(&id)?;
        let (ok, message) = outcome_text(outcome);
        let ms = took.as_secs_f64() * 1000.0;
        let now = unix_ms_now();
        let line = format!(
            "{} check of {} for real server {}: {message} ({})",
            probe_kind(&key.1.probe),
            key.1.target,
            key.0,
            super::status::human_duration(ms)
        );
        let rec = self.checks.entry(key).or_default();
        if rec.hist.buckets.is_empty() {
            rec.hist = CheckHistogram::new();
        }
        rec.hist.observe(took);
        if !ok {
            rec.failed += 1;
        }
        rec.ring.push_back((now, ms));
        while rec.ring.len() > DURATION_RING {
            rec.ring.pop_front();
        }
        rec.last = Some(CheckResult { at_unix_ms: now, ok, message, duration_ms: ms });
        Some(line)
    }

    /// A decision was logged as `line`.
    pub fn decision(&mut self, at: Time, service: &ServiceKey, real: Option<&DestinationKey>, line: String) {
        self.decisions.push_back(Decision {
            at_unix_ms: self.wall(at),
            service: service_name(service),
            real: real.map(|r| r.to_string()),
            message: line,
        });
        while self.decisions.len() > DECISION_RING {
            self.decisions.pop_front();
        }
        if real.is_some() {
            self.health_dirty = true;
        }
    }

    /// After decisions: counts the health transitions they made.
    pub fn update_health(&mut self, director: &Director) {
        if !self.health_dirty {
            return;
        }
        self.health_dirty = false;
        let mut seen = HashSet::new();
        for v in director.status() {
            for r in &v.reals {
                let h = health_of(r);
                let key = (v.key, r.key);
                seen.insert(key);
                match self.reals.get_mut(&key) {
                    Some(rec) if rec.health != h => {
                        rec.health = h;
                        rec.transitions += 1;
                    }
                    Some(_) => {}
                    None => {
                        self.reals.insert(key, RealRecord { health: h, transitions: 0 });
                    }
                }
            }
        }
        self.reals.retain(|k, _| seen.contains(k));
    }

    /// An apply: `done` operations went through, `failed` did not.
    pub fn applied(&mut self, done: usize, failed: usize) {
        if done > 0 {
            self.corrections += 1;
            self.kernel = None;
        }
        self.errors += failed as u64;
    }

    /// After a reload: forgets the checks the configuration no longer has.
    pub fn prune(&mut self, config: &DirectorConfig) {
        let mut keep = HashSet::new();
        for v in &config.virtuals {
            for r in &v.reals {
                for c in &r.checks {
                    keep.insert((r.dest.key(), c.identity()));
                }
            }
        }
        self.checks.retain(|k, _| keep.contains(k));
        self.health_dirty = true;
    }

    /// The snapshot of now.
    pub fn snapshot(&self, director: &Director) -> Snapshot {
        let config = director.config();
        let now = unix_ms_now();
        let (table, kernel_error, kernel_read) = match &self.kernel {
            Some(k) => match &k.table {
                Ok(t) => (Some(t), None, Some(k.unix_ms)),
                Err(e) => (None, Some(e.clone()), Some(k.unix_ms)),
            },
            None => (None, None, None),
        };
        let mut virtual_services = Vec::new();
        for (v, vcfg) in director.status().into_iter().zip(&config.virtuals) {
            let svc = &vcfg.service;
            let entry = table.and_then(|t| t.get(&v.key));
            let kernel_dests: HashMap<DestinationKey, &DestinationStatus> =
                entry.map(|(_, d)| d.iter().map(|d| (d.dest.key(), d)).collect()).unwrap_or_default();
            let (proto, address, port, fwmark) = match v.key {
                ServiceKey::Addr { protocol, addr, port } => {
                    (protocol.name().to_string(), Some(addr.to_string()), Some(port), None)
                }
                ServiceKey::Fwmark { mark, .. } => ("FWM".to_string(), None, None, Some(mark)),
            };
            let mut flags = Vec::new();
            if svc.flags.contains(ServiceFlags::PERSISTENT) {
                flags.push("persistent".to_string());
            }
            if svc.flags.contains(ServiceFlags::ONEPACKET) {
                flags.push("one-packet".to_string());
            }
            let sched = svc.flags.sched_flags_arg(&svc.scheduler);
            flags.extend(sched.split(',').filter(|s| !s.is_empty()).map(String::from));
            let stats = entry.map(|(s, _)| {
                let st = &s.stats;
                KernelStats {
                    connections: st.conns,
                    incoming_packets: st.in_packets,
                    outgoing_packets: st.out_packets,
                    incoming_bytes: st.in_bytes,
                    outgoing_bytes: st.out_bytes,
                    connections_per_second: st.cps,
                    incoming_packets_per_second: st.in_pps,
                    outgoing_packets_per_second: st.out_pps,
                    incoming_bytes_per_second: st.in_bps,
                    outgoing_bytes_per_second: st.out_bps,
                }
            });
            let mut real_servers = Vec::new();
            for r in &v.reals {
                // By key: the machine may show servers the configuration no longer has (a
                // drain after a reload).
                let rcfg = vcfg.reals.iter().find(|c| c.dest.key() == r.key);
                real_servers.push(self.real_status(v.key, r, rcfg, kernel_dests.get(&r.key).copied()));
            }
            let listed: HashSet<DestinationKey> =
                v.reals.iter().map(|r| r.key).chain(vcfg.sorry.as_ref().map(|s| s.key())).collect();
            let mut unlisted: Vec<KernelDestination> = kernel_dests
                .iter()
                .filter(|(k, _)| !listed.contains(k))
                .map(|(_, d)| kernel_destination(d))
                .collect();
            unlisted.sort_by(|a, b| a.address.cmp(&b.address));
            let sorry_server = v.sorry.map(|s| SorryServerStatus {
                address: s.to_string(),
                active: v.sorry_in,
                kernel: kernel_dests.get(&s).map(|d| kernel_destination(d)),
            });
            virtual_services.push(VirtualServiceStatus {
                key: service_name(&v.key),
                proto,
                address,
                port,
                fwmark,
                family: match v.key.family() {
                    AddressFamily::Inet => "inet".into(),
                    AddressFamily::Inet6 => "inet6".into(),
                },
                scheduler: svc.scheduler.to_string(),
                flags,
                persistence_timeout: svc.is_persistent().then_some(svc.timeout),
                in_kernel: entry.is_some(),
                stats,
                live: v.live,
                total: v.reals.len(),
                live_weight: v.live_weight,
                quorum: v.quorum,
                sorry_server,
                real_servers,
                unlisted_in_kernel: unlisted,
            });
        }
        Snapshot {
            program: self.program.clone(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            pid: std::process::id(),
            config_file: self.config_file.clone(),
            dialect: format!("{:?}", config.dialect).to_lowercase(),
            started_unix_ms: unix_ms(self.started),
            generated_unix_ms: now,
            kernel_read_unix_ms: kernel_read,
            kernel_error,
            table_corrections: self.corrections,
            table_errors: self.errors,
            check_duration_buckets: DURATION_BUCKETS.to_vec(),
            virtual_services,
            decisions: self.decisions.iter().cloned().collect(),
        }
    }

    fn real_status(
        &self,
        service: ServiceKey,
        r: &RealStatus,
        rcfg: Option<&ipvs_core::director::config::RealServer>,
        kernel: Option<&DestinationStatus>,
    ) -> RealServerStatus {
        let configured: &[Check] = rcfg.map_or(&[], |r| &r.checks);
        let mut hist = CheckHistogram::new();
        let mut failed = 0;
        let mut ring: Vec<(u64, f64)> = Vec::new();
        let mut last: Option<CheckResult> = None;
        let mut checks = Vec::new();
        for (c, ccfg) in r.checks.iter().zip(configured) {
            let rec = self.checks.get(&(r.key, ccfg.identity()));
            if let Some(rec) = rec {
                hist.add(&rec.hist);
                failed += rec.failed;
                ring.extend(rec.ring.iter().copied());
                if let Some(l) = &rec.last {
                    if last.as_ref().is_none_or(|x| l.at_unix_ms >= x.at_unix_ms) {
                        last = Some(l.clone());
                    }
                }
            }
            checks.push(CheckStatus {
                kind: probe_kind(&ccfg.probe),
                target: c.target.to_string(),
                origin: c.origin.to_string(),
                verdict: match c.verdict {
                    Verdict::Pass => "pass".into(),
                    Verdict::Fail => "fail".into(),
                    _ => "unknown".into(),
                },
                failures: c.failures,
                failures_to_down: c.failures_to_down,
                interval_ms: ccfg.interval.as_millis() as u64,
                timeout_ms: ccfg.timeout.as_millis() as u64,
                in_flight: c.in_flight,
                next_probe_unix_ms: c.next_probe.map(|t| self.wall(t)),
                last: rec.and_then(|r| r.last.clone()),
            });
        }
        if configured.len() > 1 {
            ring.sort_by_key(|(t, _)| *t);
        }
        let skip = ring.len().saturating_sub(DURATION_RING);
        RealServerStatus {
            address: r.key.to_string(),
            ip: r.key.addr.to_string(),
            port: r.key.port,
            forward: rcfg.map_or_else(|| "?".to_string(), |c| forward_name(c.dest.forward)),
            health: health_of(r),
            since_unix_ms: self.wall(r.since),
            weight_configured: r.configured_weight,
            weight_desired: r.desired_weight,
            weight_kernel: kernel.map(|d| d.dest.weight),
            active_connections: kernel.map(|d| d.active_conns),
            inactive_connections: kernel.map(|d| d.inactive_conns),
            failures: r.failures,
            check_failures_total: failed,
            transitions_total: self.reals.get(&(service, r.key)).map_or(0, |x| x.transitions),
            last_check: last,
            recent_check_durations_ms: ring.into_iter().skip(skip).map(|(_, d)| d).collect(),
            check_durations: hist,
            checks,
        }
    }
}
