//! Keeping the kernel's table right, and restarting without loss (issue 13).
//!
//! **Drift repair.** Every apply reads the services it plans from the kernel, shows the read to
//! the machine ([`Director::handle_table`]: draining servers' connection counts, ldirectord's
//! `readdquiescent`) and plans from the kernel's state, not from what the daemon last applied,
//! so a hand edit in those services is put right with the change. Besides, the whole table of
//! the owned services is reconciled every [`Options::reconcile_interval`] and right after every
//! change the daemon makes (at most once a second): a service or real server deleted, edited or
//! added by hand, or a flush (`ipvsadm -C`), is repaired by the minimal plan. An operation is a
//! *repair* when it puts back an object the daemon had applied as it still wants it (or removes
//! one it never put there); it is logged as `repaired: ipvsadm ... (why)` and counted
//! ([`DriftCounters::corrections`]). The other operations are the machine's own changes, logged
//! as before. Services the configuration does not own are never read or touched, unless
//! [`Options::own_table`] says the director owns the whole table: then they are deleted.
//!
//! **Draining.** The services holding a draining real server ([`Director::draining`]) are read
//! every second, so that a drained server leaves soon after its last connection ends.
//!
//! **Restart.** At start the kernel's entries of the configured services are read and the
//! machine resumes from them ([`Director::resume`]): services that exist keep their real
//! servers (up until checked when their weight is above 0), nothing is flushed, deleted and
//! re-added, and a table that is still right is not changed at all.
//!
//! **systemd.** With `NOTIFY_SOCKET` ([`Options::with_systemd_env`]), `READY=1` is sent after
//! the first apply, `WATCHDOG=1` at half of `WATCHDOG_USEC` from the event loop (so a stuck
//! loop is restarted), and `STOPPING=1` on stop.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ipvs_core::director::config::DirectorConfig;
use ipvs_core::director::machine::Director;
use ipvs_core::plan::{plan, Plan};
use ipvs_core::status::{DestinationStatus, ServiceStatus};
use ipvs_core::{Backend, DestinationKey, OnError, Operation, Service, ServiceKey};

use super::notify::{self, Notifier};
use super::{Daemon, Entry};

/// The daemon's settings for drift repair, draining, restarts and systemd (the command lines'
/// `--reconcile-interval`, `--own-table`, `--drain-timeout`, `--expire-quiescent-template`,
/// `--expire-nodest-conn`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// How often the whole table of the owned services is compared with the wanted one (zero:
    /// only right after the daemon's own changes). Default 10 s.
    pub reconcile_interval: Duration,
    /// The director owns the whole table: services the configuration does not have are deleted.
    /// Default: only the configured services are owned.
    pub own_table: bool,
    /// How long a removed real server is drained (put into each configuration the command
    /// lines load: [`Options::configure`]). Default 300 s; zero deletes at once.
    pub drain_timeout: Duration,
    /// Set `net.ipv4.vs.expire_quiescent_template = 1` at start.
    pub expire_quiescent_template: bool,
    /// Set `net.ipv4.vs.expire_nodest_conn = 1` at start.
    pub expire_nodest_conn: bool,
    /// systemd's notification socket (`NOTIFY_SOCKET`: a path, or `@name` in the abstract
    /// namespace).
    pub notify_socket: Option<String>,
    /// How often to send `WATCHDOG=1` (half of systemd's `WATCHDOG_USEC`).
    pub watchdog: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            reconcile_interval: Duration::from_secs(10),
            own_table: false,
            drain_timeout: Duration::from_secs(300),
            expire_quiescent_template: false,
            expire_nodest_conn: false,
            notify_socket: None,
            watchdog: None,
        }
    }
}

/// The usage text of the options, for the command lines' usage lines.
pub const USAGE: &str = "[--reconcile-interval SECONDS] [--own-table] [--drain-timeout SECONDS] \
[--expire-quiescent-template] [--expire-nodest-conn]";

impl Options {
    /// Takes `a` (and its value from `it`) if it is one of these options.
    pub fn take(&mut self, a: &str, it: &mut impl Iterator<Item = String>) -> Result<bool, String> {
        let mut seconds = |name: &str| -> Result<Duration, String> {
            let v = it.next().ok_or_else(|| format!("{name} needs a number of seconds"))?;
            v.parse::<u64>()
                .ok()
                .filter(|&s| s <= 365 * 86_400)
                .map(Duration::from_secs)
                .ok_or_else(|| format!("{name}: {v} is not a number of seconds"))
        };
        match a {
            "--reconcile-interval" => self.reconcile_interval = seconds(a)?,
            "--drain-timeout" => self.drain_timeout = seconds(a)?,
            "--own-table" => self.own_table = true,
            "--expire-quiescent-template" => self.expire_quiescent_template = true,
            "--expire-nodest-conn" => self.expire_nodest_conn = true,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// What the options set in a configuration the command lines load (the drain timeout,
    /// which the machine runs).
    pub fn configure(&self, config: &mut DirectorConfig) {
        config.options.drain_timeout = self.drain_timeout;
    }

    /// The same options with systemd's `NOTIFY_SOCKET` and `WATCHDOG_USEC` (for this process:
    /// `WATCHDOG_PID`, when set, must be its pid) from the environment.
    pub fn with_systemd_env(mut self) -> Self {
        self.notify_socket = std::env::var("NOTIFY_SOCKET").ok().filter(|s| !s.is_empty());
        let usec = std::env::var("WATCHDOG_USEC").ok();
        let pid = std::env::var("WATCHDOG_PID").ok();
        self.watchdog = notify::watchdog_interval(usec.as_deref(), pid.as_deref(), std::process::id());
        self
    }
}

/// What drift repair and draining did, for the metrics (shared: read it from any thread).
#[derive(Debug, Default)]
pub struct DriftCounters {
    /// Operations that repaired a hand edit (or a flush) and went through.
    pub corrections: AtomicU64,
    /// Reconciliations of the whole owned table.
    pub reconciles: AtomicU64,
}

impl DriftCounters {
    /// The corrections so far.
    pub fn corrections(&self) -> u64 {
        self.corrections.load(Ordering::Relaxed)
    }
}

/// The daemon's state for all this.
#[derive(Debug)]
pub(super) struct Prod {
    pub opts: Options,
    /// The seed the machine was made with (a restart remakes it).
    pub seed: u64,
    pub counters: Arc<DriftCounters>,
    /// When the whole table is reconciled next.
    next_reconcile: Option<Instant>,
    /// When it last was.
    last_reconcile: Option<Instant>,
    notifier: Option<Notifier>,
    next_watchdog: Option<Instant>,
    ready: bool,
}

/// One service as the kernel's table has it.
type Kernel = (ServiceStatus, Vec<DestinationStatus>);

/// The whole table is reconciled at most this often after changes.
const RECONCILE_AFTER_CHANGE: Duration = Duration::from_secs(1);

impl Prod {
    pub fn new(seed: u64) -> Self {
        Prod {
            opts: Options::default(),
            seed,
            counters: Arc::default(),
            next_reconcile: None,
            last_reconcile: None,
            notifier: None,
            next_watchdog: None,
            ready: false,
        }
    }

    /// A whole-table reconciliation soon (after a change): now, or a second after the last.
    fn soon(&mut self) {
        let at = self.last_reconcile.map_or_else(Instant::now, |t| t + RECONCILE_AFTER_CHANGE);
        self.next_reconcile = Some(self.next_reconcile.map_or(at, |n| n.min(at)));
    }

    /// When the loop must wake for this (the next reconciliation or watchdog ping).
    pub fn wake(&self) -> Option<Instant> {
        [self.next_reconcile, self.next_watchdog].into_iter().flatten().min()
    }

    /// Sends a notification to systemd, if it listens.
    pub fn notify(&self, state: &str) {
        if let Some(n) = &self.notifier {
            let _ = n.send(state);
        }
    }

    /// `WATCHDOG=1` when it is due.
    pub fn watchdog(&mut self) {
        let (Some(every), Some(at)) = (self.opts.watchdog, self.next_watchdog) else { return };
        let now = Instant::now();
        if now >= at {
            self.notify("WATCHDOG=1");
            self.next_watchdog = Some(now + every);
        }
    }
}

/// Why an operation is a repair, or `None` when it is the machine's own change (or the first
/// apply of that object).
fn repair_reason(
    op: &Operation,
    current: &HashMap<ServiceKey, &Kernel>,
    applied: &HashMap<ServiceKey, Entry>,
    want: &HashMap<ServiceKey, &Entry>,
    flushed: bool,
) -> Option<String> {
    let gone = || if flushed { "table flushed" } else { "service deleted by hand" }.to_string();
    let applied_dest = |k: &ServiceKey, d: &DestinationKey| {
        applied.get(k).and_then(|(_, ds)| ds.iter().find(|x| x.key() == *d))
    };
    let want_dest = |k: &ServiceKey, d: &DestinationKey| {
        want.get(k).and_then(|(_, ds)| ds.iter().find(|x| x.key() == *d))
    };
    let kernel_dest = |k: &ServiceKey, d: &DestinationKey| {
        current.get(k).and_then(|(_, ds)| ds.iter().map(|x| &x.dest).find(|x| x.key() == *d))
    };
    match op {
        Operation::AddService(s) | Operation::EditService(s) => {
            let (Some(a), Some(w)) = (applied.get(&s.key), want.get(&s.key)) else { return None };
            if a.0 != w.0 {
                return None;
            }
            match current.get(&s.key) {
                None => Some(gone()),
                Some((k, _)) => Some(format!("edited by hand: was {}", shown_service(&k.service))),
            }
        }
        Operation::DeleteService(k) => (!applied.contains_key(k) && !want.contains_key(k))
            .then(|| "not in the configuration, --own-table".into()),
        Operation::AddDestination(k, d) | Operation::EditDestination(k, d) => {
            let key = d.key();
            if !applied.contains_key(k) || applied_dest(k, &key) != want_dest(k, &key) {
                return None;
            }
            match (current.get(k), kernel_dest(k, &key)) {
                (None, _) => Some(gone()),
                (Some(_), None) => Some("deleted by hand".into()),
                (Some(_), Some(had)) if had.weight != d.weight && had.clone().with_weight(d.weight) == *d => {
                    Some(format!("edited by hand: weight was {}", had.weight))
                }
                (Some(_), Some(had)) => Some(format!("edited by hand: was {had}")),
            }
        }
        Operation::DeleteDestination(k, d) => {
            (applied.contains_key(k) && applied_dest(k, d).is_none()).then(|| "added by hand".into())
        }
        _ => None,
    }
}

/// A service as ipvsadm shows it, without the `-A` and key.
fn shown_service(s: &Service) -> String {
    let text = s.to_string();
    let key = format!("-A {} ", s.key);
    text.strip_prefix(&key).unwrap_or(&text).to_string()
}

impl<B: Backend> Daemon<B> {
    /// The options (see [`Options`]); set them before [`Daemon::run`].
    pub fn with_options(mut self, opts: Options) -> Self {
        self.prod.notifier = opts.notify_socket.as_deref().and_then(|s| match Notifier::new(s) {
            Ok(n) => Some(n),
            Err(e) => {
                self.log.error(&format!("NOTIFY_SOCKET {s}: {e}"));
                None
            }
        });
        self.prod.opts = opts;
        self
    }

    /// What drift repair did so far (shared with observers).
    pub fn drift_counters(&self) -> Arc<DriftCounters> {
        self.prod.counters.clone()
    }

    /// At start (not for `--dry-run`): the sysctls the options ask for, then `resume`.
    pub(super) fn start_up(&mut self) {
        self.set_sysctls();
        self.resume();
    }

    /// The machine resumes from the kernel's entries of the configured services
    /// ([`Director::resume`]).
    pub(super) fn resume(&mut self) {
        let owned = self.director.owned();
        match self.read(&owned) {
            Ok(table) => {
                let config = self.director.config().clone();
                let now = self.now();
                let existing = table.len();
                self.director = Director::resume(config, &table, now, self.prod.seed);
                if existing > 0 {
                    self.log.info(&format!(
                        "{existing} of the configured virtual services already in the kernel's table: \
                         taken as they are (real servers in with weight > 0 up until checked)"
                    ));
                }
            }
            Err(e) => self.log.error(&e),
        }
    }

    fn set_sysctls(&mut self) {
        let o = &self.prod.opts;
        for (on, name) in [
            (o.expire_quiescent_template, "expire_quiescent_template"),
            (o.expire_nodest_conn, "expire_nodest_conn"),
        ] {
            if !on {
                continue;
            }
            let path = format!("/proc/sys/net/ipv4/vs/{name}");
            match std::fs::write(&path, "1\n") {
                Ok(()) => self.log.info(&format!("sysctl net.ipv4.vs.{name}=1")),
                Err(e) => self.log.error(&format!("setting {path}: {e}")),
            }
        }
    }

    /// After the first apply: systemd hears that the daemon is ready, and the watchdog starts.
    pub(super) fn ready(&mut self) {
        if self.prod.ready {
            return;
        }
        self.prod.ready = true;
        let n = self.director.config().virtuals.len();
        self.prod.notify(&format!("READY=1\nSTATUS={n} virtual services"));
        self.prod.next_watchdog = self.prod.opts.watchdog.map(|w| Instant::now() + w);
        if self.prod.opts.reconcile_interval > Duration::ZERO {
            self.prod.next_reconcile = Some(Instant::now() + self.prod.opts.reconcile_interval);
        }
    }

    /// Once a second: the whole table when its reconciliation is due, else the services with
    /// draining servers.
    pub(super) fn poll_drift(&mut self) {
        if self.prod.next_reconcile.is_some_and(|t| Instant::now() >= t) {
            self.reconcile_all();
            return;
        }
        let draining = self.director.draining();
        if !draining.is_empty() {
            self.apply_keys(&draining, false);
        }
    }

    /// Reconciles every owned service (and, with `--own-table`, the rest of the table).
    pub(super) fn reconcile_all(&mut self) {
        let now = Instant::now();
        self.prod.last_reconcile = Some(now);
        let interval = self.prod.opts.reconcile_interval;
        self.prod.next_reconcile = (interval > Duration::ZERO).then(|| now + interval);
        self.prod.counters.reconciles.fetch_add(1, Ordering::Relaxed);
        let owned = self.director.owned();
        let own_table = self.prod.opts.own_table;
        self.apply_keys(&owned, own_table);
    }

    /// Applies the machine's table to the services in `keys` (and deletes the services the
    /// configuration does not own when `foreign`); see the [module docs](self).
    pub(super) fn apply_keys(&mut self, keys: &[ServiceKey], foreign: bool) {
        let (current, want, plan) = match self.plan_keys(keys, foreign) {
            Ok(p) => p,
            Err(e) => {
                self.log.error(&e);
                self.retry_at = Some(Instant::now() + super::RETRY);
                return;
            }
        };
        if plan.is_empty() {
            self.record_applied(keys, &want, &HashSet::new());
            return;
        }
        let by_key: HashMap<ServiceKey, &Kernel> = current.iter().map(|e| (e.0.service.key, e)).collect();
        let want_by: HashMap<ServiceKey, &Entry> = want.iter().map(|e| (e.0.key, e)).collect();
        // An owned service gone: by hand, or with everything else (`ipvsadm -C`)?
        let missing = keys.iter().any(|k| self.applied.contains_key(k) && !by_key.contains_key(k));
        let flushed = missing && self.backend.services().is_ok_and(|s| s.is_empty());
        let reasons: Vec<Option<String>> = plan
            .operations()
            .map(|op| repair_reason(op, &by_key, &self.applied, &want_by, flushed))
            .collect();
        let report = plan.apply(&mut self.backend, OnError::Continue);
        let failures: HashMap<usize, String> = report.failures().map(|(i, e)| (i, e.to_string())).collect();
        let ops = plan.operations().count();
        self.telemetry.applied(ops.saturating_sub(failures.len()), failures.len());
        let mut failed: HashSet<ServiceKey> = HashSet::new();
        for (i, op) in plan.operations().enumerate() {
            match (failures.get(&i), &reasons[i]) {
                (None, None) => self.log.info(&format!("ipvsadm {op}")),
                (None, Some(why)) => {
                    self.prod.counters.corrections.fetch_add(1, Ordering::Relaxed);
                    self.log.info(&format!("repaired: ipvsadm {op} ({why})"));
                }
                (Some(e), why) => {
                    let why = why.as_ref().map(|w| format!(" (repairing: {w})")).unwrap_or_default();
                    self.log.error(&format!("ipvsadm {op}: {e}{why}"));
                    if let Some(k) = op.service_key() {
                        failed.insert(*k);
                    }
                }
            }
        }
        self.record_applied(keys, &want, &failed);
        if !failed.is_empty() {
            self.retry_at = Some(Instant::now() + super::RETRY);
        }
        self.prod.soon();
    }

    /// The kernel's entries of `keys` (and of the services not owned, when `foreign`), shown
    /// to the machine, and the plan from them to the machine's wanted entries of `keys`.
    pub(super) fn plan_keys(
        &mut self,
        keys: &[ServiceKey],
        foreign: bool,
    ) -> Result<(Vec<Kernel>, Vec<Entry>, Plan), String> {
        let mut current = self.read(keys)?;
        let now = self.now();
        self.director.handle_table(&current, now);
        if foreign {
            let owned: HashSet<ServiceKey> = self.director.owned().into_iter().collect();
            let all = self.backend.services().map_err(|e| format!("reading the table: {e}"))?;
            // Only the services are needed: a deletion takes its real servers along.
            current
                .extend(all.into_iter().filter(|s| !owned.contains(&s.service.key)).map(|s| (s, Vec::new())));
        }
        let scope: HashSet<&ServiceKey> = keys.iter().collect();
        let want: Vec<Entry> =
            self.director.desired().into_iter().filter(|(s, _)| scope.contains(&s.key)).collect();
        let p = plan(&current, &want).map_err(|e| format!("cannot plan the table: {e}"))?;
        Ok((current, want, p))
    }

    /// Remembers what `keys` now hold (the wanted entries, except where an operation failed)
    /// and tells the machine which removed services are gone.
    fn record_applied(&mut self, keys: &[ServiceKey], want: &[Entry], failed: &HashSet<ServiceKey>) {
        for key in keys {
            if failed.contains(key) {
                self.applied.remove(key);
                continue;
            }
            match want.iter().find(|(s, _)| s.key == *key) {
                Some(entry) => self.applied.insert(*key, entry.clone()),
                None => self.applied.remove(key),
            };
        }
        let owned = self.director.owned();
        let done: Vec<ServiceKey> =
            keys.iter().filter(|k| !failed.contains(k) && owned.contains(k)).copied().collect();
        self.director.handle_applied(&done);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipvs_core::{Destination, ForwardMethod};

    fn entry(service: Service, dests: &[Destination]) -> Entry {
        (service, dests.to_vec())
    }

    fn svc() -> Service {
        Service::new(ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80))
    }
    fn rs(a: &str, w: u32) -> Destination {
        Destination::new(a.parse().unwrap()).with_forward(ForwardMethod::Masquerade).with_weight(w)
    }
    fn kernel(dests: &[Destination]) -> (ServiceStatus, Vec<DestinationStatus>) {
        (ServiceStatus::new(svc()), dests.iter().cloned().map(DestinationStatus::new).collect())
    }

    #[test]
    fn options_parse() {
        let mut o = Options::default();
        let mut it = ["5".to_string()].into_iter();
        assert!(o.take("--reconcile-interval", &mut it).unwrap());
        assert_eq!(o.reconcile_interval, Duration::from_secs(5));
        let mut none = std::iter::empty();
        assert!(o.take("--own-table", &mut none).unwrap());
        assert!(o.own_table);
        assert!(!o.take("--other", &mut none).unwrap());
        assert!(o.take("--drain-timeout", &mut none).is_err());
        let mut bad = ["5s".to_string()].into_iter();
        assert!(o.take("--drain-timeout", &mut bad).is_err());
        let mut cfg = DirectorConfig::new(ipvs_core::director::config::Dialect::Ldirectord);
        Options::default().configure(&mut cfg);
        assert_eq!(cfg.options.drain_timeout, Duration::from_secs(300));
    }

    #[test]
    fn reasons() {
        let (a, b) = ("192.168.1.2:80", "192.168.1.3:80");
        let applied: HashMap<ServiceKey, Entry> =
            [(svc().key, entry(svc(), &[rs(a, 1), rs(b, 1)]))].into_iter().collect();
        let wanted = entry(svc(), &[rs(a, 1), rs(b, 2)]);
        let want: HashMap<ServiceKey, &Entry> = [(svc().key, &wanted)].into_iter().collect();
        let k = kernel(&[rs(a, 3), rs("192.168.1.9:80", 1)]);
        let current: HashMap<ServiceKey, &Kernel> = [(svc().key, &k)].into_iter().collect();
        let r = |op: Operation| repair_reason(&op, &current, &applied, &want, false);
        let key = svc().key;
        assert_eq!(
            r(Operation::EditDestination(key, rs(a, 1))).as_deref(),
            Some("edited by hand: weight was 3")
        );
        // b's weight is the machine's change, not a repair.
        assert_eq!(r(Operation::AddDestination(key, rs(b, 2))), None);
        assert_eq!(
            r(Operation::DeleteDestination(
                key,
                "192.168.1.9:80".parse::<std::net::SocketAddr>().unwrap().into()
            ))
            .as_deref(),
            Some("added by hand")
        );
        let empty: HashMap<ServiceKey, &Kernel> = HashMap::new();
        let wanted_a = entry(svc(), &[rs(a, 1), rs(b, 1)]);
        let want_a: HashMap<ServiceKey, &Entry> = [(key, &wanted_a)].into_iter().collect();
        assert_eq!(
            repair_reason(&Operation::AddService(svc()), &empty, &applied, &want_a, true).as_deref(),
            Some("table flushed")
        );
        assert_eq!(
            repair_reason(&Operation::AddDestination(key, rs(a, 1)), &empty, &applied, &want_a, false)
                .as_deref(),
            Some("service deleted by hand")
        );
        let other = ServiceKey::tcp("10.0.0.2".parse().unwrap(), 80);
        assert_eq!(
            repair_reason(&Operation::DeleteService(other), &empty, &applied, &want_a, false).as_deref(),
            Some("not in the configuration, --own-table")
        );
        // Nothing applied yet (the first apply): no repair.
        assert_eq!(
            repair_reason(&Operation::AddService(svc()), &empty, &HashMap::new(), &want_a, false),
            None
        );
        let mut edited = svc();
        edited.scheduler = ipvs_core::Scheduler::Rr;
        let k2 = (ServiceStatus::new(edited), vec![]);
        let cur2: HashMap<ServiceKey, &Kernel> = [(key, &k2)].into_iter().collect();
        assert_eq!(
            repair_reason(&Operation::EditService(svc()), &cur2, &applied, &want_a, false).as_deref(),
            Some("edited by hand: was -s rr")
        );
    }
}
