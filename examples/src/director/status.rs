//! The status snapshot: one serde struct ([`Snapshot`]) that everything observing the daemon
//! is rendered from: the JSON document on the status socket and at `/status.json`, the
//! Prometheus metrics at `/metrics` ([`super::metrics`]), the summary that `ldirectord-rs
//! status` and `ipvs-director status` print ([`summary`]), and SIGUSR1's log lines.
//!
//! The daemon builds a snapshot on demand ([`super::daemon::Daemon::snapshot`]): the machine's
//! state ([`ipvs_core::director::machine::Director::status`]), what the daemon measured (check
//! durations, failure and transition counts, recent decisions) and the kernel's entries for the
//! services it owns (read back through the backend, cached for a second). Observers ask through
//! a [`StatusHandle`], which never waits long for the event loop: when the loop does not answer
//! within [`StatusHandle::WAIT`], the last snapshot is served.
//!
//! Times are Unix times in milliseconds (`*_unix_ms`); durations are in milliseconds
//! (`*_ms`, fractional).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

/// How many check durations each real server keeps ([`RealServerStatus::recent_check_durations_ms`]).
pub const DURATION_RING: usize = 32;

/// How many decisions the snapshot keeps ([`Snapshot::decisions`]).
pub const DECISION_RING: usize = 50;

/// The upper bounds (seconds) of the check-duration histogram's buckets; a last bucket
/// (`+Inf`) holds the rest.
pub const DURATION_BUCKETS: [f64; 15] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// The health of a real server as observers see it.
///
/// The machine's health, with a server that is down but kept in the table at weight 0
/// (quiesced) shown as [`Health::Quiescent`]. Serialized in lower case; new states may be
/// added, so readers should accept unknown strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// Its checks pass: in the table with its weight.
    Up,
    /// Its checks fail: out of the table.
    Down,
    /// Its checks fail: in the table with weight 0 (ldirectord's `quiescent = yes`,
    /// keepalived's `inhibit_on_failure`).
    Quiescent,
    /// Not checked yet (counts as down).
    Unknown,
    /// Forced down by the maintenance directory.
    Maintenance,
    /// Taken out gracefully (removed by a reload, or put in maintenance, with a drain
    /// timeout): weight 0, so no new connections, until the established ones end.
    Draining,
}

impl Health {
    /// The states, in the order the metrics list them.
    pub const ALL: [Health; 6] =
        [Health::Up, Health::Down, Health::Quiescent, Health::Unknown, Health::Maintenance, Health::Draining];

    /// The lower-case name (as in the JSON and the metrics' `state` label).
    pub fn name(self) -> &'static str {
        match self {
            Health::Up => "up",
            Health::Down => "down",
            Health::Quiescent => "quiescent",
            Health::Unknown => "unknown",
            Health::Maintenance => "maintenance",
            Health::Draining => "draining",
        }
    }
}

/// Everything the daemon shows about itself, at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The program (`ldirectord-rs`, `ipvs-director`).
    pub program: String,
    /// Its version.
    pub version: String,
    /// Its process id.
    pub pid: u32,
    /// The configuration file, if it has one.
    pub config_file: Option<String>,
    /// The configuration's dialect (`ldirectord`, `keepalived`).
    pub dialect: String,
    /// When the daemon started.
    pub started_unix_ms: u64,
    /// When this snapshot was taken.
    pub generated_unix_ms: u64,
    /// When the kernel's numbers (weights, connections, statistics) were read, if ever.
    pub kernel_read_unix_ms: Option<u64>,
    /// Why the kernel could not be read, if it could not.
    pub kernel_error: Option<String>,
    /// Applies that changed the kernel's table (each plan with at least one operation that
    /// went through).
    pub table_corrections: u64,
    /// Operations the kernel refused.
    pub table_errors: u64,
    /// The upper bounds (seconds) of [`CheckHistogram::buckets`] (the last bucket is `+Inf`).
    pub check_duration_buckets: Vec<f64>,
    /// The virtual services, in configuration order.
    pub virtual_services: Vec<VirtualServiceStatus>,
    /// The last [`DECISION_RING`] decisions, oldest first.
    pub decisions: Vec<Decision>,
}

/// One virtual service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VirtualServiceStatus {
    /// As `ipvsadm -L` names it: `TCP 10.0.0.1:80`, `UDP [2001:db8::1]:53`, `FWM 5`.
    pub key: String,
    /// `TCP`, `UDP`, `SCTP` or `FWM`.
    pub proto: String,
    /// The virtual address (none for a firewall mark).
    pub address: Option<String>,
    /// The virtual port (none for a firewall mark).
    pub port: Option<u16>,
    /// The firewall mark (none for an address).
    pub fwmark: Option<u32>,
    /// `inet` or `inet6`.
    pub family: String,
    /// The scheduler configured (`wrr`, ...).
    pub scheduler: String,
    /// The flags configured: `persistent`, `one-packet`, and the scheduler's (`sh-fallback`,
    /// `sh-port`, `mh-fallback`, `mh-port`, `flag-1` ... as ipvsadm names them).
    pub flags: Vec<String>,
    /// The persistence timeout (seconds), when persistent.
    pub persistence_timeout: Option<u32>,
    /// Whether the kernel's table holds the service.
    pub in_kernel: bool,
    /// The kernel's counters and rates for the service (when it holds it).
    pub stats: Option<KernelStats>,
    /// Real servers up.
    pub live: usize,
    /// Real servers configured.
    pub total: usize,
    /// The sum of the live servers' weights.
    pub live_weight: u64,
    /// Whether the live servers are enough (keepalived's `quorum`; without one, any live
    /// server).
    pub quorum: bool,
    /// The sorry server (ldirectord's `fallback`, keepalived's `sorry_server`), if any.
    pub sorry_server: Option<SorryServerStatus>,
    /// The real servers, in configuration order.
    pub real_servers: Vec<RealServerStatus>,
    /// Real servers in the kernel's entry for the service that the configuration does not name
    /// (added by hand; the next change of the service removes them).
    pub unlisted_in_kernel: Vec<KernelDestination>,
}

/// A real server as the kernel's table holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelDestination {
    /// `ip:port`.
    pub address: String,
    /// The address.
    pub ip: String,
    /// The port.
    pub port: u16,
    /// Its weight.
    pub weight: u32,
    /// Active connections.
    pub active_connections: u32,
    /// Inactive connections.
    pub inactive_connections: u32,
}

/// The kernel's counters (since the service was added) and rates (the kernel's estimates,
/// per second) of one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KernelStats {
    /// Connections scheduled.
    pub connections: u64,
    /// Packets in.
    pub incoming_packets: u64,
    /// Packets out.
    pub outgoing_packets: u64,
    /// Bytes in.
    pub incoming_bytes: u64,
    /// Bytes out.
    pub outgoing_bytes: u64,
    /// Connections per second.
    pub connections_per_second: u64,
    /// Packets in per second.
    pub incoming_packets_per_second: u64,
    /// Packets out per second.
    pub outgoing_packets_per_second: u64,
    /// Bytes in per second.
    pub incoming_bytes_per_second: u64,
    /// Bytes out per second.
    pub outgoing_bytes_per_second: u64,
}

/// A virtual service's sorry server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SorryServerStatus {
    /// `ip:port`.
    pub address: String,
    /// Whether the director wants it in the table now (no quorum).
    pub active: bool,
    /// The sorry server as the kernel's table holds it, when it does.
    pub kernel: Option<KernelDestination>,
}

/// One real server of one virtual service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealServerStatus {
    /// `ip:port` (`[ipv6]:port`).
    pub address: String,
    /// The address.
    pub ip: String,
    /// The port.
    pub port: u16,
    /// The forwarding method: `masq`, `route`, `tunnel`, `local`.
    pub forward: String,
    /// Its health.
    pub health: Health,
    /// When its health last changed (or when it was configured).
    pub since_unix_ms: u64,
    /// The weight configured.
    pub weight_configured: u32,
    /// The weight the director wants in the table (0 when quiesced); none when it wants the
    /// server out.
    pub weight_desired: Option<u32>,
    /// The weight in the kernel's table; none when the kernel does not hold it.
    pub weight_kernel: Option<u32>,
    /// The kernel's active connections, when it holds the server.
    pub active_connections: Option<u32>,
    /// The kernel's inactive connections, when it holds the server.
    pub inactive_connections: Option<u32>,
    /// Failures in a row so far (the most of any of its checks).
    pub failures: u32,
    /// Probes that failed, since the daemon started.
    pub check_failures_total: u64,
    /// Changes of [`RealServerStatus::health`] since the daemon started.
    pub transitions_total: u64,
    /// The last probe's result (of any of its checks).
    pub last_check: Option<CheckResult>,
    /// The durations of its last [`DURATION_RING`] probes, oldest first.
    pub recent_check_durations_ms: Vec<f64>,
    /// All its probes' durations, as a histogram over [`Snapshot::check_duration_buckets`].
    pub check_durations: CheckHistogram,
    /// Its checks, in configuration order.
    pub checks: Vec<CheckStatus>,
}

/// The result of one probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// When it ended.
    pub at_unix_ms: u64,
    /// Whether it passed.
    pub ok: bool,
    /// `passed`, `passed with weight N`, or why it failed.
    pub message: String,
    /// How long it took.
    pub duration_ms: f64,
}

/// A histogram of probe durations.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CheckHistogram {
    /// Probes counted.
    pub count: u64,
    /// Their total duration, in seconds.
    pub sum_seconds: f64,
    /// Probes per bucket (not cumulative): one per bound of
    /// [`Snapshot::check_duration_buckets`], then `+Inf`.
    pub buckets: Vec<u64>,
}

impl CheckHistogram {
    /// An empty histogram over [`DURATION_BUCKETS`].
    pub fn new() -> Self {
        CheckHistogram { count: 0, sum_seconds: 0.0, buckets: vec![0; DURATION_BUCKETS.len() + 1] }
    }

    /// Counts one duration.
    pub fn observe(&mut self, d: Duration) {
        let s = d.as_secs_f64();
        self.count += 1;
        self.sum_seconds += s;
        let i = DURATION_BUCKETS.iter().position(|b| s <= *b).unwrap_or(DURATION_BUCKETS.len());
        if self.buckets.len() <= i {
            self.buckets.resize(DURATION_BUCKETS.len() + 1, 0);
        }
        self.buckets[i] += 1;
    }

    /// Adds another histogram's counts (over the same buckets).
    pub fn add(&mut self, other: &CheckHistogram) {
        self.count += other.count;
        self.sum_seconds += other.sum_seconds;
        if self.buckets.len() < other.buckets.len() {
            self.buckets.resize(other.buckets.len(), 0);
        }
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            *a += b;
        }
    }
}

/// One check of a real server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckStatus {
    /// What it probes (`connect`, `http`, `https`, `dns`, ...).
    pub kind: String,
    /// Where it connects.
    pub target: String,
    /// Where it was configured (`file:line`).
    pub origin: String,
    /// `pass`, `fail` or `unknown` (not passed since it started down).
    pub verdict: String,
    /// Failures in a row so far.
    pub failures: u32,
    /// Failures in a row that make it fail.
    pub failures_to_down: u32,
    /// Time between two probes.
    pub interval_ms: u64,
    /// How long one probe may take.
    pub timeout_ms: u64,
    /// Whether a probe is running now.
    pub in_flight: bool,
    /// When the next probe is due (none while one runs, or in maintenance).
    pub next_probe_unix_ms: Option<u64>,
    /// Its last probe's result.
    pub last: Option<CheckResult>,
}

/// One decision of the director, as logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// When.
    pub at_unix_ms: u64,
    /// The virtual service (as [`VirtualServiceStatus::key`]).
    pub service: String,
    /// The real server (or sorry server) it is about, if any.
    pub real: Option<String>,
    /// The log line's text: what was decided and why.
    pub message: String,
}

/// The time now as Unix milliseconds.
pub fn unix_ms_now() -> u64 {
    unix_ms(SystemTime::now())
}

/// A time as Unix milliseconds (0 before 1970).
pub fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// The last snapshot served, and when it was taken.
type Latest = Arc<Mutex<Option<(Instant, Arc<Snapshot>)>>>;

/// A request for a snapshot, answered by the event loop.
pub type Request = oneshot::Sender<Arc<Snapshot>>;

/// How observers (the HTTP server, the status socket) get snapshots from the event loop.
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct StatusHandle {
    tx: mpsc::Sender<Request>,
    last: Latest,
}

impl StatusHandle {
    /// How long an observer waits for the event loop before serving the last snapshot.
    pub const WAIT: Duration = Duration::from_millis(500);

    /// A snapshot younger than this is served again without asking the loop.
    pub const FRESH: Duration = Duration::from_millis(250);

    /// A handle and the receiving end the event loop answers.
    pub fn channel() -> (StatusHandle, mpsc::Receiver<Request>) {
        let (tx, rx) = mpsc::channel(64);
        (StatusHandle { tx, last: Arc::new(Mutex::new(None)) }, rx)
    }

    /// A handle with no loop behind it that serves `snapshot` (for tests and tools).
    pub fn fixed(snapshot: Snapshot) -> StatusHandle {
        let (h, rx) = Self::channel();
        drop(rx);
        h.publish(Arc::new(snapshot));
        // Fresh forever: the loop that would refresh it does not exist.
        if let Ok(mut last) = h.last.lock() {
            if let Some((t, _)) = last.as_mut() {
                *t = Instant::now() + Duration::from_secs(365 * 86400);
            }
        }
        h
    }

    /// Records `snapshot` as the latest (the event loop does, when it builds one).
    pub fn publish(&self, snapshot: Arc<Snapshot>) {
        if let Ok(mut last) = self.last.lock() {
            *last = Some((Instant::now(), snapshot));
        }
    }

    fn cached(&self) -> Option<(Instant, Arc<Snapshot>)> {
        self.last.lock().ok().and_then(|l| l.clone())
    }

    /// A snapshot: a fresh one from the event loop, or, when the loop does not answer within
    /// [`StatusHandle::WAIT`], the last one (none before the first).
    pub async fn snapshot(&self) -> Option<Arc<Snapshot>> {
        let cached = self.cached();
        if let Some((t, s)) = &cached {
            if Instant::now() < *t + Self::FRESH {
                return Some(s.clone());
            }
        }
        let (otx, orx) = oneshot::channel();
        if self.tx.try_send(otx).is_ok() {
            if let Ok(Ok(s)) = tokio::time::timeout(Self::WAIT, orx).await {
                return Some(s);
            }
        }
        self.cached().map(|(_, s)| s)
    }
}

/// A duration for people: `850 ms`, `1.2 s`, `3m12s`, `2h05m`, `3d04h`.
pub fn human_duration(ms: f64) -> String {
    if ms < 1.0 {
        return format!("{ms:.2} ms");
    }
    if ms < 1000.0 {
        return format!("{ms:.1} ms");
    }
    let s = ms / 1000.0;
    if s < 60.0 {
        return format!("{s:.1} s");
    }
    let s = s as u64;
    match s {
        0..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86400, s % 86400 / 3600),
    }
}

/// How long before `now` a time was, for people (`3.1 s ago`).
fn ago(now: u64, t: u64) -> String {
    format!("{} ago", human_duration(now.saturating_sub(t) as f64))
}

/// The human-readable summary that `status` prints (and SIGUSR1 logs, line by line).
///
/// ```text
/// ipvs-director for /etc/keepalived/keepalived.conf is running with pid: 4242 (up 3m12s)
/// TCP 10.0.0.1:80  wrr  2/2 up  sorry server 10.0.0.9:80 out  conns 12  0 conn/s  in 3 pkt/s  out 2 pkt/s
///   10.0.0.2:80  up           weight 1 (kernel 1)  active 3  inactive 1  last check 2.0 s ago: passed in 1.2 ms
///   10.0.0.3:80  down         weight 2 (out)       last check 1.1 s ago: connection refused (3 failures)
/// last decisions:
///   2026-05-01 12:34:56 real server 10.0.0.3:80 of TCP 10.0.0.1:80 down: connect check ...
/// ```
pub fn summary(s: &Snapshot) -> String {
    use std::fmt::Write;
    let now = s.generated_unix_ms;
    let mut out = String::new();
    let config = s.config_file.as_deref().map(|c| format!(" for {c}")).unwrap_or_default();
    let _ = writeln!(
        out,
        "{}{config} is running with pid: {} (up {})",
        s.program,
        s.pid,
        human_duration(now.saturating_sub(s.started_unix_ms) as f64)
    );
    if let Some(e) = &s.kernel_error {
        let _ = writeln!(out, "kernel table unreadable: {e}");
    }
    let _ =
        writeln!(out, "table corrections: {}  refused operations: {}", s.table_corrections, s.table_errors);
    for v in &s.virtual_services {
        let mut line = format!("{}  {}", v.key, v.scheduler);
        if !v.flags.is_empty() {
            let _ = write!(line, " ({})", v.flags.join(","));
        }
        let _ = write!(line, "  {}/{} up", v.live, v.total);
        if let Some(sorry) = &v.sorry_server {
            let _ =
                write!(line, "  sorry server {} {}", sorry.address, if sorry.active { "in" } else { "out" });
        }
        match (&v.stats, v.in_kernel) {
            (Some(st), _) => {
                let _ = write!(
                    line,
                    "  conns {}  {} conn/s  in {} pkt/s  out {} pkt/s",
                    st.connections,
                    st.connections_per_second,
                    st.incoming_packets_per_second,
                    st.outgoing_packets_per_second
                );
            }
            (None, false) if s.kernel_read_unix_ms.is_some() => {
                line.push_str("  (not in the kernel's table)")
            }
            _ => {}
        }
        let _ = writeln!(out, "{line}");
        let width = v.real_servers.iter().map(|r| r.address.len()).max().unwrap_or(0);
        for r in &v.real_servers {
            let weight = match (r.weight_desired, r.weight_kernel) {
                (Some(w), Some(k)) => format!("weight {w} (kernel {k})"),
                (Some(w), None) => format!("weight {w} (kernel: absent)"),
                (None, Some(k)) => format!("weight {} (out; kernel {k})", r.weight_configured),
                (None, None) => format!("weight {} (out)", r.weight_configured),
            };
            let mut line =
                format!("  {:width$}  {:<11}  {weight:<22}", r.address, r.health.name(), width = width);
            if let (Some(a), Some(i)) = (r.active_connections, r.inactive_connections) {
                let _ = write!(line, "  active {a}  inactive {i}");
            }
            match &r.last_check {
                Some(c) if c.ok => {
                    let _ = write!(
                        line,
                        "  last check {}: {} in {}",
                        ago(now, c.at_unix_ms),
                        c.message,
                        human_duration(c.duration_ms)
                    );
                }
                Some(c) => {
                    let _ = write!(
                        line,
                        "  last check {}: {} after {} ({} failure{} in a row)",
                        ago(now, c.at_unix_ms),
                        c.message,
                        human_duration(c.duration_ms),
                        r.failures,
                        if r.failures == 1 { "" } else { "s" }
                    );
                }
                None if r.checks.is_empty() => line.push_str("  (not checked)"),
                None => line.push_str("  (no check has ended yet)"),
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }
    if !s.decisions.is_empty() {
        let _ = writeln!(out, "last decisions:");
        for d in s.decisions.iter().rev().take(10).collect::<Vec<_>>().into_iter().rev() {
            let _ = writeln!(out, "  {} {}", super::log::format_unix_ms(d.at_unix_ms), d.message);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets() {
        let mut h = CheckHistogram::new();
        h.observe(Duration::from_micros(500));
        h.observe(Duration::from_millis(1));
        h.observe(Duration::from_millis(70));
        h.observe(Duration::from_secs(90));
        assert_eq!(h.count, 4);
        assert_eq!(h.buckets[0], 2); // <= 1 ms
        assert_eq!(h.buckets[6], 1); // <= 100 ms
        assert_eq!(h.buckets[DURATION_BUCKETS.len()], 1); // +Inf
        let mut sum = CheckHistogram::new();
        sum.add(&h);
        sum.add(&h);
        assert_eq!((sum.count, sum.buckets[0]), (8, 4));
    }

    #[test]
    fn durations_for_people() {
        assert_eq!(human_duration(0.5), "0.50 ms");
        assert_eq!(human_duration(12.34), "12.3 ms");
        assert_eq!(human_duration(1500.0), "1.5 s");
        assert_eq!(human_duration(192_000.0), "3m12s");
        assert_eq!(human_duration(7_500_000.0), "2h05m");
        assert_eq!(human_duration(3.0 * 86_400_000.0 + 4.0 * 3_600_000.0), "3d04h");
    }

    #[test]
    fn health_names_match_serde() {
        for h in Health::ALL {
            assert_eq!(serde_json::to_string(&h).unwrap(), format!("\"{}\"", h.name()));
        }
    }
}
