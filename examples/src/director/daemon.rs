//! The event loop: drives the [`Director`] state machine with real time, runs its probes as
//! tasks, applies its table through a [`Backend`] (the netlink client in the daemon, the
//! in-memory table in tests), runs its commands without waiting, and handles signals.
//!
//! Everything decided here is I/O: *what* the table should be, when a server is down and
//! which command to run come from the machine; the daemon only turns
//! [`Director::desired`] into minimal operations with [`ipvs_core::plan`] and sends them.
//!
//! Applying: the daemon remembers, per virtual service, the entry it last applied. When the
//! machine's table changes, the services whose entry changed are read back from the kernel and
//! planned; the whole table of the owned services is reconciled besides, right after every
//! change and every `--reconcile-interval`, and hand edits are repaired ([`reconcile`]).
//! Services the director does not own ([`Director::owned`]) are never read or touched, unless
//! it owns the whole table (`--own-table`). A reload replans every owned service. At start the
//! machine resumes from the kernel's table, so a restart changes nothing that is right.
//!
//! Observing: the daemon times every probe and keeps what the machine does not (durations,
//! failure and transition counts, the last decisions: [`super::telemetry`]); observers ask for
//! a [`Snapshot`] through a [`StatusHandle`] ([`Daemon::status_handle`]), which the loop answers
//! between two events, reading the kernel's entries of the owned services at most once a
//! second. Probes never wait for it, and it never waits for a probe.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ipvs_core::director::config::{DirectorConfig, OnStop};
use ipvs_core::director::machine::{Director, Event, Outcome, ProbeId};
use ipvs_core::plan::{plan, Plan};
use ipvs_core::sched::Time;
use ipvs_core::status::{DestinationStatus, ServiceStatus};
use ipvs_core::{Backend, Destination, ErrorKind, Object, OnError, Service, ServiceKey};
use tokio::sync::mpsc;

use super::log::Logger;
use super::probe::{command, Prober};
use super::status::{self, Snapshot, StatusHandle};
use super::telemetry::{decision_line, KernelRead, Telemetry};

mod notify;
pub mod reconcile;
pub use reconcile::{DriftCounters, Options};

/// Reads and parses the configuration again (a reload): the configuration, or the errors to
/// log (the old configuration stays).
pub type Loader = Box<dyn FnMut() -> Result<DirectorConfig, String> + Send>;

/// How often the maintenance directory, (with `autoreload`) the configuration file and the
/// services with draining real servers are looked at (and whether the whole table's
/// reconciliation is due).
const POLL: Duration = Duration::from_secs(1);

/// After a failed apply, when to try again.
const RETRY: Duration = Duration::from_secs(2);

/// One virtual service's entry in the table.
pub type Entry = (Service, Vec<Destination>);

/// Why the daemon stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// SIGTERM or SIGINT: the table was left per [`OnStop`].
    Signal,
}

/// The daemon: the machine, the backend, the prober and the log.
pub struct Daemon<B: Backend> {
    director: Director,
    backend: B,
    prober: Prober,
    log: Logger,
    loader: Loader,
    config_file: Option<PathBuf>,
    clock: Instant,
    applied: HashMap<ServiceKey, Entry>,
    retry_at: Option<Instant>,
    maintenance: BTreeSet<(IpAddr, Option<u16>)>,
    config_stamp: Option<u64>,
    next_poll: Instant,
    prod: reconcile::Prod,
    telemetry: Telemetry,
    status: Option<StatusHandle>,
    requests: Option<mpsc::Receiver<status::Request>>,
}

/// A probe's end: its id, what it found, how long it took.
type Ended = (ProbeId, Outcome, Duration);

impl<B: Backend> std::fmt::Debug for Daemon<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Daemon").field("director", &self.director).finish_non_exhaustive()
    }
}

impl<B: Backend> Daemon<B> {
    /// A daemon for `config` on `backend`. `loader` re-reads the configuration on reload;
    /// `config_file` (watched with `autoreload`) is the file it reads.
    pub fn new(
        config: DirectorConfig,
        backend: B,
        log: Logger,
        loader: Loader,
        config_file: Option<PathBuf>,
    ) -> Self {
        let clock = Instant::now();
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
            ^ u64::from(std::process::id());
        let config_stamp = config_file.as_deref().and_then(stamp);
        let telemetry = Telemetry::new(log.program(), config_file.as_ref().map(|p| p.display().to_string()));
        Daemon {
            director: Director::new(config, Time::ZERO, seed),
            backend,
            prober: Prober::new(),
            log,
            loader,
            config_file,
            clock,
            applied: HashMap::new(),
            retry_at: None,
            maintenance: BTreeSet::new(),
            config_stamp,
            next_poll: clock,
            prod: reconcile::Prod::new(seed),
            telemetry,
            status: None,
            requests: None,
        }
    }

    /// A handle through which observers (the metrics server, the status socket) get
    /// snapshots; the event loop answers it.
    pub fn status_handle(&mut self) -> StatusHandle {
        if let Some(h) = &self.status {
            return h.clone();
        }
        let (handle, rx) = StatusHandle::channel();
        self.status = Some(handle.clone());
        self.requests = Some(rx);
        handle
    }

    /// The status of now: the machine's, the daemon's records, and the kernel's entries of
    /// the owned services (read again when the last read is older than a second).
    pub fn snapshot(&mut self) -> Snapshot {
        if !self.telemetry.kernel.as_ref().is_some_and(KernelRead::fresh) {
            let owned = self.director.owned();
            let table = self.read(&owned);
            if let Err(e) = &table {
                self.log.error(e);
            }
            self.telemetry.kernel = Some(KernelRead::new(table));
        }
        self.telemetry.update_health(&self.director);
        self.telemetry.snapshot(&self.director)
    }

    /// Answers `first` and every other pending snapshot request with one snapshot.
    fn answer(&mut self, first: status::Request, rx: &mut mpsc::Receiver<status::Request>) {
        let snapshot = std::sync::Arc::new(self.snapshot());
        if let Some(h) = &self.status {
            h.publish(snapshot.clone());
        }
        let _ = first.send(snapshot.clone());
        while let Ok(more) = rx.try_recv() {
            let _ = more.send(snapshot.clone());
        }
    }

    /// The machine (for status and tests).
    pub fn director(&self) -> &Director {
        &self.director
    }

    /// The backend (for tests).
    pub fn backend_mut(&mut self) -> &mut B {
        &mut self.backend
    }

    fn now(&self) -> Time {
        Time(self.clock.elapsed().as_millis() as u64)
    }

    fn instant(&self, t: Time) -> Instant {
        self.clock + Duration::from_millis(t.as_millis())
    }

    /// Reads the kernel's entries for `keys` (absent ones are skipped).
    fn read(&mut self, keys: &[ServiceKey]) -> Result<Vec<(ServiceStatus, Vec<DestinationStatus>)>, String> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let svc = match self.backend.service(key) {
                Ok(s) => s,
                Err(e) if e.kind() == ErrorKind::NotFound(Object::Service) => continue,
                Err(e) => return Err(format!("reading service {key}: {e}")),
            };
            let dests = self.backend.destinations(key).map_err(|e| format!("reading service {key}: {e}"))?;
            out.push((svc, dests));
        }
        Ok(out)
    }

    /// Tells the machine what the kernel holds for the services it owns (start and reload).
    fn feed_table(&mut self) {
        let owned = self.director.owned();
        match self.read(&owned) {
            Ok(table) => {
                let now = self.now();
                self.director.handle_table(&table, now);
            }
            Err(e) => self.log.error(&e),
        }
    }

    /// The plan that brings the services in `keys` from the kernel's state to `want` (the
    /// wanted entries among them, in configuration order).
    fn plan_for(&mut self, keys: &[ServiceKey], want: &[Entry]) -> Result<Plan, String> {
        let current = self.read(keys)?;
        plan(&current, want).map_err(|e| format!("cannot plan the table: {e}"))
    }

    /// The services whose wanted entry differs from what was last applied (all owned ones
    /// when `full`), and the wanted entries among them.
    fn changes(&self, full: bool) -> (Vec<ServiceKey>, Vec<Entry>) {
        let desired = self.director.desired();
        let mut keys: Vec<ServiceKey> = Vec::new();
        let mut want = Vec::new();
        let wanted: HashSet<ServiceKey> = desired.iter().map(|(s, _)| s.key).collect();
        for entry in desired {
            let key = entry.0.key;
            if full || self.applied.get(&key) != Some(&entry) {
                keys.push(key);
                want.push(entry);
            }
        }
        for key in self.director.owned() {
            let gone = !wanted.contains(&key);
            if gone && (full || self.applied.contains_key(&key)) && !keys.contains(&key) {
                keys.push(key);
            }
        }
        for key in self.applied.keys() {
            if !wanted.contains(key) && !keys.contains(key) {
                keys.push(*key);
            }
        }
        (keys, want)
    }

    /// The plan of the first apply (for `--dry-run`), after reading the kernel's table.
    pub fn first_plan(&mut self) -> Result<Plan, String> {
        self.resume();
        let (keys, _) = self.changes(true);
        let own_table = self.prod.opts.own_table;
        self.plan_keys(&keys, own_table).map(|(_, _, p)| p)
    }

    /// Applies the machine's table to the backend; see the [module docs](self).
    fn sync(&mut self, full: bool) {
        let (keys, _) = self.changes(full);
        // Whatever failed before is among the changed services: tried again here.
        self.retry_at = None;
        if keys.is_empty() {
            return;
        }
        let foreign = full && self.prod.opts.own_table;
        self.apply_keys(&keys, foreign);
    }

    /// Logs the machine's events and starts its commands.
    fn drain_events(&mut self) {
        while let Some(event) = self.director.poll_event() {
            match event {
                Event::Decision { at, service, real, message } => {
                    let line = decision_line(&service, real.as_ref(), &message);
                    self.log.info(&line);
                    self.telemetry.decision(at, &service, real.as_ref(), line);
                }
                Event::Note { origin, message, .. } => self.log.info(&format!("{origin}: {message}")),
                Event::Run { command: cmd, args } => self.run_command(&cmd.line, &args),
                _ => {}
            }
        }
        self.telemetry.update_health(&self.director);
    }

    /// Starts a notify or fallback command and logs a failure when it ends, without waiting.
    fn run_command(&self, line: &str, args: &[String]) {
        let shown = if args.is_empty() { line.to_owned() } else { format!("{line} {}", args.join(" ")) };
        self.log.info(&format!("running {shown}"));
        let log = self.log.clone();
        command::spawn_detached(line, args, move |r| match r {
            Ok(st) if st.success() => {}
            Ok(st) => log.error(&format!("{shown}: {st}")),
            Err(e) => log.error(&format!("{shown}: {e}")),
        });
    }

    /// Reloads the configuration: a bad one is refused (the old keeps running), a good one
    /// goes to the machine and every owned service is replanned.
    fn reload(&mut self, why: &str) {
        self.log.reopen();
        match (self.loader)() {
            Err(e) => {
                self.log.error(&format!("{why}: configuration refused, the old one keeps running: {e}"))
            }
            Ok(config) => {
                self.log.info(&format!("{why}: configuration reloaded"));
                for w in &config.warnings {
                    self.log.info(&format!("{}: warning: {}", w.origin, w.message));
                }
                let now = self.now();
                self.telemetry.prune(&config);
                self.director.handle_reload(config, now);
                self.feed_table();
                self.drain_events();
                self.sync(true);
            }
        }
    }

    /// Looks at the maintenance directory and the configuration file (autoreload).
    fn poll_files(&mut self) {
        let opts = self.director.config().options.clone();
        if let Some(dir) = &opts.maintenance_dir {
            let now_down = maintenance_entries(dir);
            if now_down != self.maintenance {
                self.maintenance = now_down;
                let list: Vec<(IpAddr, Option<u16>)> = self.maintenance.iter().copied().collect();
                let now = self.now();
                self.director.handle_maintenance(&list, now);
            }
        }
        if opts.autoreload {
            if let Some(file) = self.config_file.clone() {
                let s = stamp(&file);
                if s != self.config_stamp {
                    self.config_stamp = s;
                    self.reload("the configuration file changed");
                    if let Some(cb) = &self.director.config().options.callback {
                        self.run_command(&cb.line, &[file.display().to_string()]);
                    }
                }
            }
        }
    }

    /// Runs until SIGTERM or SIGINT; then leaves the table per [`OnStop`]. SIGHUP reloads,
    /// SIGUSR1 logs the status of every real server.
    pub async fn run(mut self) -> std::io::Result<Stopped> {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        self.run_until(async {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        })
        .await
    }

    /// Runs until `stop` resolves, then leaves the table per [`OnStop`] (what [`Daemon::run`]
    /// does on a signal; tests stop it this way). SIGHUP reloads, SIGUSR1 logs the status.
    pub async fn run_until(
        &mut self,
        stop: impl std::future::Future<Output = ()>,
    ) -> std::io::Result<Stopped> {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hup = signal(SignalKind::hangup())?;
        let mut usr1 = signal(SignalKind::user_defined1())?;
        let (tx, mut rx) = mpsc::unbounded_channel::<Ended>();
        // The loop holds the requests' receiving end while it runs.
        let mut requests = self.requests.take();
        let stopped = self.event_loop(&tx, &mut rx, &mut requests, stop, &mut hup, &mut usr1).await;
        self.requests = requests;
        self.stop();
        Ok(stopped)
    }

    /// The loop itself, until `stop` resolves.
    async fn event_loop(
        &mut self,
        tx: &mpsc::UnboundedSender<Ended>,
        rx: &mut mpsc::UnboundedReceiver<Ended>,
        requests: &mut Option<mpsc::Receiver<status::Request>>,
        stop: impl std::future::Future<Output = ()>,
        hup: &mut tokio::signal::unix::Signal,
        usr1: &mut tokio::signal::unix::Signal,
    ) -> Stopped {
        self.log.info(&format!("starting: {} virtual services", self.director.config().virtuals.len()));
        self.start_settings();
        self.start_up();
        self.poll_files();
        self.drain_events();
        self.sync(true);
        self.drain_events();
        self.ready();
        tokio::pin!(stop);
        loop {
            let now = self.now();
            self.director.handle_timeout(now);
            if Instant::now() >= self.next_poll {
                self.next_poll = Instant::now() + POLL;
                self.poll_files();
                self.poll_drift();
            }
            self.prod.watchdog();
            while let Some(req) = self.director.poll_probe(now) {
                self.log.debug(&format!("probe {:?} {:?} -> {}", req.id, req.probe, req.check.target));
                self.telemetry.probe_started(req.id, req.real, &req.check);
                let prober = self.prober.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let start = Instant::now();
                    let outcome = prober.run(&req).await;
                    let _ = tx.send((req.id, outcome, start.elapsed()));
                });
            }
            self.drain_events();
            let retry = self.retry_at.is_some_and(|t| Instant::now() >= t);
            if self.director.table_changed() || retry {
                self.sync(false);
                self.drain_events();
            }
            let mut wake = self.next_poll;
            if let Some(t) = self.prod.wake() {
                wake = wake.min(t);
            }
            if let Some(t) = self.director.poll_timeout() {
                wake = wake.min(self.instant(t));
            }
            if let Some(t) = self.retry_at {
                wake = wake.min(t);
            }
            tokio::select! {
                biased;
                _ = &mut stop => return Stopped::Signal,
                _ = hup.recv() => self.reload("SIGHUP"),
                _ = usr1.recv() => self.log_status(),
                // Before the probes' outcomes, which may never pause under load.
                Some(req) = next_request(requests) => {
                    if let Some(r) = requests.as_mut() {
                        self.answer(req, r);
                    }
                }
                got = rx.recv() => {
                    let mut next = got;
                    while let Some((id, outcome, took)) = next {
                        if let Some(line) = self.telemetry.probe_ended(id, &outcome, took) {
                            self.log.debug(&line);
                        }
                        let now = self.now();
                        self.director.handle_outcome(id, outcome, now);
                        next = rx.try_recv().ok();
                    }
                }
                _ = tokio::time::sleep_until(wake.into()) => {}
            }
        }
    }

    /// The kernel settings a configuration asks for at start (keepalived's `lvs_timeouts`);
    /// `lvs_sync_daemon` follows a VRRP instance, which keepalived's VRRP side runs: noted only.
    fn start_settings(&mut self) {
        let opts = self.director.config().options.clone();
        if let Some(t) = &opts.timeouts {
            match self.backend.set_timeouts(t) {
                Ok(()) => self.log.info(&format!("ipvsadm --set {} {} {}", t.tcp, t.tcp_fin, t.udp)),
                Err(e) => self.log.error(&format!("setting the connection timeouts: {e}")),
            }
        }
        if let Some(sync) = &opts.sync_daemon {
            self.log.info(&format!(
                "{}: lvs_sync_daemon is left to keepalived's VRRP side (it follows a VRRP instance)",
                sync.origin
            ));
        }
    }

    /// Logs every real server's state (the `status` command's summary, line by line).
    fn log_status(&mut self) {
        let snapshot = self.snapshot();
        for line in status::summary(&snapshot).lines() {
            self.log.info(line);
        }
    }

    /// Leaves the table per the configuration's [`OnStop`].
    pub fn stop(&mut self) {
        self.prod.notify("STOPPING=1");
        let now = self.now();
        self.director.handle_stop(now);
        self.drain_events();
        let keep = self.director.config().options.on_stop == OnStop::Keep;
        self.log.info(if keep {
            "stopping: the virtual services stay"
        } else {
            "stopping: removing the virtual services"
        });
        let keys = self.director.owned();
        let want = self.director.on_stop();
        match self.plan_for(&keys, &want) {
            Ok(p) => {
                let report = p.apply(&mut self.backend, OnError::Continue);
                let failures: HashMap<usize, String> =
                    report.failures().map(|(i, e)| (i, e.to_string())).collect();
                let ops = p.operations().count();
                self.telemetry.applied(ops.saturating_sub(failures.len()), failures.len());
                for (i, op) in p.operations().enumerate() {
                    match failures.get(&i) {
                        None => self.log.info(&format!("ipvsadm {op}")),
                        Some(e) => self.log.error(&format!("ipvsadm {op}: {e}")),
                    }
                }
            }
            Err(e) => self.log.error(&e),
        }
        self.applied.clear();
    }
}

/// The next snapshot request, or never when there is no receiver.
async fn next_request(rx: &mut Option<mpsc::Receiver<status::Request>>) -> Option<status::Request> {
    match rx {
        Some(r) => r.recv().await,
        None => std::future::pending().await,
    }
}

/// A cheap fingerprint of a file's contents (autoreload: ldirectord compares the file's
/// modification time and checksum).
fn stamp(path: &std::path::Path) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let data = std::fs::read(path).ok()?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data.hash(&mut h);
    Some(h.finish())
}

/// The real servers the maintenance directory names: files called `ip`, `ip:port`,
/// `[ipv6]:port`, `host` or `host:port` (hosts resolved here, the only blocking lookup).
pub fn maintenance_entries(dir: &std::path::Path) -> BTreeSet<(IpAddr, Option<u16>)> {
    let mut out = BTreeSet::new();
    let Ok(rd) = std::fs::read_dir(dir) else { return out };
    for entry in rd.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        out.extend(parse_maintenance_name(&name));
    }
    out
}

/// One maintenance file name as (address, port): `10.0.0.1`, `10.0.0.1:80`, `2001:db8::1`,
/// `[2001:db8::1]:80`, `web1` or `web1:80` (names resolved through the system).
pub fn parse_maintenance_name(name: &str) -> Vec<(IpAddr, Option<u16>)> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return vec![(ip, None)];
    }
    if let Ok(sa) = name.parse::<std::net::SocketAddr>() {
        return vec![(sa.ip(), Some(sa.port()))];
    }
    let (host, port) = match name.rsplit_once(':') {
        Some((h, p)) => match p.parse::<u16>() {
            Ok(p) => (h, Some(p)),
            Err(_) => return Vec::new(),
        },
        None => (name, None),
    };
    if host.is_empty() || host.starts_with('.') {
        return Vec::new();
    }
    use std::net::ToSocketAddrs;
    match (host, 0).to_socket_addrs() {
        Ok(addrs) => {
            let ips: BTreeSet<IpAddr> = addrs.map(|a| a.ip()).collect();
            ips.into_iter().map(|ip| (ip, port)).collect()
        }
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maintenance_names() {
        let v4: IpAddr = "10.0.0.1".parse().unwrap();
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(parse_maintenance_name("10.0.0.1"), vec![(v4, None)]);
        assert_eq!(parse_maintenance_name("10.0.0.1:80"), vec![(v4, Some(80))]);
        assert_eq!(parse_maintenance_name("2001:db8::1"), vec![(v6, None)]);
        assert_eq!(parse_maintenance_name("[2001:db8::1]:80"), vec![(v6, Some(80))]);
        assert_eq!(parse_maintenance_name("localhost:x"), vec![]);
        assert_eq!(parse_maintenance_name(".hidden"), vec![]);
    }
}
