//! Drift repair, draining and restarts on the host: the daemon's event loop with the real
//! machine on the in-memory table. Hand edits (a real server deleted, a weight edited, a real
//! server added, a service edited, a flush) are repaired within a reconcile interval; services
//! the configuration does not own are left alone (and deleted with `--own-table`);
//! `readdquiescent = no` keeps a hand-deleted quiesced server out; a real server removed by a
//! reload drains at weight 0 while its (fake) connections last, leaves when they end or at the
//! drain timeout, and comes back when configured again; a restart on a table a killed daemon
//! left changes nothing; systemd hears READY=1 after the first apply and WATCHDOG=1 after.
//! The same on the kernel: `scripts/suites/director-prod.vm`.
//!
//! Connection counts are faked through the `Backend` trait: the test's backend reports the
//! counts the test sets for a real server in what `destinations` returns.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ipvs_core::director::config::LogTarget;
use ipvs_core::director::config::{
    Dialect, DirectorConfig, OnFailure, Origin, Probe, RealServer, StartState, Transport, VirtualService,
};
use ipvs_core::director::machine::Health;
use ipvs_core::status::{DestinationStatus, Info, ServiceStatus, SyncDaemon, Timeouts};
use ipvs_core::table::MemoryBackend;
use ipvs_core::{Backend, Destination, ForwardMethod, Operation, Scheduler, Service, ServiceKey};
use ipvs_examples::director::daemon::{Daemon, Options};
use ipvs_examples::director::log::Logger;
use ipvs_examples::director::probe;
use tokio::net::TcpListener;

/// The in-memory table shared between the daemon and the test, with fake connection counts and
/// a record of the operations applied.
#[derive(Clone, Default)]
struct Shared {
    table: Arc<Mutex<MemoryBackend>>,
    conns: Arc<Mutex<HashMap<String, Counts>>>,
    ops: Arc<Mutex<Vec<String>>>,
}

/// (active, inactive, persistent) connections of a real server.
type Counts = (u32, u32, u32);

impl Shared {
    fn with<T>(&self, f: impl FnOnce(&mut MemoryBackend) -> T) -> T {
        f(&mut self.table.lock().unwrap())
    }
    /// By hand: an operation the daemon did not make.
    fn by_hand(&self, op: Operation) {
        self.with(|m| m.apply(&op)).unwrap();
    }
    fn set_conns(&self, real: SocketAddr, counts: Counts) {
        self.conns.lock().unwrap().insert(real.to_string(), counts);
    }
    fn ops(&self) -> Vec<String> {
        self.ops.lock().unwrap().clone()
    }
    /// The table as `-A`/`-a` lines, sorted.
    fn lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self.with(|m| {
            m.services_with_destinations()
                .unwrap()
                .into_iter()
                .flat_map(|(s, ds)| {
                    let key = s.service.key;
                    std::iter::once(s.service.to_string())
                        .chain(ds.into_iter().map(move |d| format!("-a {key} {}", d.dest)))
                        .collect::<Vec<_>>()
                })
                .collect()
        });
        out.sort();
        out
    }
}

impl Backend for Shared {
    fn info(&mut self) -> ipvs_core::Result<Info> {
        self.with(|m| m.info())
    }
    fn services(&mut self) -> ipvs_core::Result<Vec<ServiceStatus>> {
        self.with(|m| m.services())
    }
    fn service(&mut self, key: &ServiceKey) -> ipvs_core::Result<ServiceStatus> {
        self.with(|m| m.service(key))
    }
    fn destinations(&mut self, key: &ServiceKey) -> ipvs_core::Result<Vec<DestinationStatus>> {
        let mut ds = self.with(|m| m.destinations(key))?;
        let conns = self.conns.lock().unwrap();
        for d in &mut ds {
            if let Some(&(a, i, p)) = conns.get(&d.dest.key().to_string()) {
                (d.active_conns, d.inactive_conns, d.persist_conns) = (a, i, p);
            }
        }
        Ok(ds)
    }
    fn timeouts(&mut self) -> ipvs_core::Result<Timeouts> {
        self.with(|m| m.timeouts())
    }
    fn daemons(&mut self) -> ipvs_core::Result<Vec<SyncDaemon>> {
        self.with(|m| m.daemons())
    }
    fn apply(&mut self, op: &Operation) -> ipvs_core::Result<()> {
        self.ops.lock().unwrap().push(op.to_string());
        self.with(|m| m.apply(op))
    }
}

/// The virtual service as ipvsadm writes it.
const T: &str = "-t 10.9.9.9:80";

fn vip() -> ServiceKey {
    ServiceKey::tcp("10.9.9.9".parse().unwrap(), 80)
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn dest(addr: SocketAddr, weight: u32) -> Destination {
    Destination::new(addr).with_forward(ForwardMethod::Masquerade).with_weight(weight)
}

/// A real server without checks (always up).
fn plain(addr: SocketAddr, weight: u32) -> RealServer {
    RealServer::new(dest(addr, weight), Origin::default())
}

/// A real server with a TCP connect check every 100 ms.
fn checked(addr: SocketAddr, weight: u32) -> RealServer {
    let mut r = plain(addr, weight);
    let mut c = probe::check(Probe::Connect(Transport::Tcp), addr, Duration::from_secs(2));
    c.interval = Duration::from_millis(100);
    r.checks.push(c);
    r
}

fn config(reals: Vec<RealServer>) -> DirectorConfig {
    let mut v = VirtualService::new(Service::new(vip()).with_scheduler(Scheduler::Wrr), Origin::default());
    v.reals = reals;
    let mut c = DirectorConfig::new(Dialect::Ldirectord);
    c.virtuals.push(v);
    c
}

/// Options for tests: a reconcile every second.
fn fast() -> Options {
    Options { reconcile_interval: Duration::from_secs(1), ..Options::default() }
}

/// A temporary directory of this test (removed when dropped).
struct Temp(PathBuf);

impl Temp {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("director-reconcile-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Temp(p)
    }
    fn path(&self, f: &str) -> PathBuf {
        self.0.join(f)
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running daemon: its table, its log file, and how to stop it (or kill it).
struct Running {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    log: PathBuf,
}

impl Running {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        (&mut self.task).await.unwrap();
    }
    /// As `kill -9`: the loop is dropped where it is, nothing runs on the way out.
    async fn kill(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// Starts a daemon on `table`. `reload` holds the configuration its loader returns; with
/// `config_file`, autoreload watches that file (a test reloads by writing it).
fn start(
    cfg: DirectorConfig,
    table: &Shared,
    opts: Options,
    tmp: &Temp,
    name: &str,
    reload: Option<(Arc<Mutex<DirectorConfig>>, PathBuf)>,
) -> Running {
    let log = tmp.path(&format!("{name}.log"));
    let logger = Logger::new("test", &LogTarget::File(log.clone()), true);
    let (loader, file): (ipvs_examples::director::daemon::Loader, Option<PathBuf>) = match reload {
        Some((next, file)) => (Box::new(move || Ok(next.lock().unwrap().clone())), Some(file)),
        None => (Box::new(|| Err("no reload".into())), None),
    };
    let mut daemon = Daemon::new(cfg, table.clone(), logger, loader, file).with_options(opts);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        daemon.run_until(async { stop_rx.await.unwrap_or(()) }).await.unwrap();
    });
    Running { stop: Some(stop_tx), task, log }
}

/// Waits until `d`'s log has `text` (the log is shown when it does not come).
async fn logged(d: &Running, text: &str) {
    let end = tokio::time::Instant::now() + BOUND;
    while !d.log().contains(text) {
        assert!(tokio::time::Instant::now() < end, "not logged: {text}\n--- log:\n{}", d.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls `f` every 20 ms until it holds, for at most `bound` (generous: a state is awaited,
/// not a time measured).
async fn until(what: &str, bound: Duration, mut f: impl FnMut() -> bool) {
    let end = tokio::time::Instant::now() + bound;
    while !f() {
        assert!(tokio::time::Instant::now() < end, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

const BOUND: Duration = Duration::from_secs(20);

fn service_line() -> String {
    Service::new(vip()).with_scheduler(Scheduler::Wrr).to_string()
}

fn real_line(addr: SocketAddr, weight: u32) -> String {
    format!("-a {} {}", vip(), dest(addr, weight))
}

fn want(reals: &[(SocketAddr, u32)]) -> Vec<String> {
    let mut v: Vec<String> =
        std::iter::once(service_line()).chain(reals.iter().map(|&(a, w)| real_line(a, w))).collect();
    v.sort();
    v
}

#[tokio::test(flavor = "current_thread")]
async fn hand_edits_and_a_flush_are_repaired() {
    let tmp = Temp::new("repair");
    let (a, b) = (sa("192.168.7.2:80"), sa("192.168.7.3:80"));
    let table = Shared::default();
    let d = start(config(vec![plain(a, 1), plain(b, 2)]), &table, fast(), &tmp, "d", None);
    let steady = want(&[(a, 1), (b, 2)]);
    until("the first table", BOUND, || table.lines() == steady).await;
    let key = vip();

    table.by_hand(Operation::DeleteDestination(key, b.into()));
    until("b put back", BOUND, || table.lines() == steady).await;
    logged(&d, &format!("repaired: ipvsadm -a {T} -r {b} -m -w 2 (deleted by hand)")).await;

    table.by_hand(Operation::EditDestination(key, dest(a, 7)));
    until("a's weight put back", BOUND, || table.lines() == steady).await;
    logged(&d, &format!("repaired: ipvsadm -e {T} -r {a} -m -w 1 (edited by hand: weight was 7)")).await;

    let stray = sa("192.168.7.99:80");
    table.by_hand(Operation::AddDestination(key, dest(stray, 1)));
    until("the stray real server removed", BOUND, || table.lines() == steady).await;
    logged(&d, &format!("repaired: ipvsadm -d {T} -r {stray} (added by hand)")).await;

    table.by_hand(Operation::EditService(Service::new(key).with_scheduler(Scheduler::Rr)));
    until("the scheduler put back", BOUND, || table.lines() == steady).await;
    logged(&d, "(edited by hand: was -s rr)").await;

    table.by_hand(Operation::Flush);
    until("the flushed table put back", BOUND, || table.lines() == steady).await;
    logged(&d, &format!("repaired: ipvsadm -A {T} -s wrr (table flushed)")).await;

    // Another tool's service beside ours: deleting ours is no flush.
    let other = ServiceKey::tcp("10.9.9.10".parse().unwrap(), 80);
    table.by_hand(Operation::AddService(Service::new(other)));
    let with_other = {
        let mut v = steady.clone();
        v.push(Service::new(other).to_string());
        v.sort();
        v
    };
    table.by_hand(Operation::DeleteService(key));
    until("the deleted service put back", BOUND, || table.lines() == with_other).await;
    logged(&d, &format!("repaired: ipvsadm -A {T} -s wrr (service deleted by hand)")).await;
    d.stop().await;
    assert_eq!(table.lines(), [Service::new(other).to_string()], "cleanstop leaves the other service");
}

#[tokio::test(flavor = "current_thread")]
async fn the_counter_counts_each_repair() {
    let tmp = Temp::new("counter");
    let a = sa("192.168.8.2:80");
    let table = Shared::default();
    let log = tmp.path("c.log");
    let mut daemon = Daemon::new(
        config(vec![plain(a, 1)]),
        table.clone(),
        Logger::new("test", &LogTarget::File(log), false),
        Box::new(|| Err("no reload".into())),
        None,
    )
    .with_options(fast());
    let counters = daemon.drift_counters();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task =
        tokio::spawn(async move { daemon.run_until(async { stop_rx.await.unwrap_or(()) }).await.unwrap() });
    let steady = want(&[(a, 1)]);
    until("the first table", BOUND, || table.lines() == steady).await;
    assert_eq!(counters.corrections(), 0, "the first apply is no repair");
    table.by_hand(Operation::Flush);
    until("put back", BOUND, || table.lines() == steady).await;
    until("counted", BOUND, || counters.corrections() == 2).await; // -A and -a
    stop_tx.send(()).unwrap();
    task.await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn services_not_owned_are_left_alone_unless_the_table_is_owned() {
    let tmp = Temp::new("foreign");
    let a = sa("192.168.9.2:80");
    let foreign = ServiceKey::tcp("10.9.9.10".parse().unwrap(), 443);
    for own in [false, true] {
        let table = Shared::default();
        table.by_hand(Operation::AddService(Service::new(foreign)));
        table.by_hand(Operation::AddDestination(foreign, dest(sa("192.168.9.50:443"), 1)));
        let before = table.lines();
        let opts = Options { own_table: own, ..fast() };
        let d = start(config(vec![plain(a, 1)]), &table, opts, &tmp, &format!("own-{own}"), None);
        let mine = want(&[(a, 1)]);
        if own {
            until("the foreign service deleted", BOUND, || table.lines() == mine).await;
            logged(&d, "repaired: ipvsadm -D -t 10.9.9.10:443 (not in the configuration, --own-table)").await;
            // A foreign service added later goes too, at a reconcile.
            table.by_hand(Operation::AddService(Service::new(foreign)));
            until("deleted again", BOUND, || table.lines() == mine).await;
        } else {
            let mut both = before.clone();
            both.extend(mine);
            both.sort();
            until("our service beside the foreign one", BOUND, || table.lines() == both).await;
            // Two reconciles later it is still there.
            tokio::time::sleep(Duration::from_millis(2500)).await;
            assert_eq!(table.lines(), both);
        }
        d.stop().await;
        if !own {
            assert_eq!(table.lines(), before, "stop removes only our service");
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn readdquiescent_no_keeps_a_hand_deleted_quiesced_server_out() {
    let tmp = Temp::new("readd");
    let any: SocketAddr = sa("127.0.0.1:0");
    let up = TcpListener::bind(any).await.unwrap();
    let upa = up.local_addr().unwrap();
    let _accept = tokio::spawn(async move {
        loop {
            let _ = up.accept().await;
        }
    });
    let gone = TcpListener::bind(any).await.unwrap();
    let dead = gone.local_addr().unwrap();
    drop(gone);
    let mut cfg = config(vec![checked(dead, 1), checked(upa, 1)]);
    cfg.virtuals[0].on_failure = OnFailure::Quiesce;
    cfg.options.readd_quiescent = false;
    let table = Shared::default();
    let d = start(cfg, &table, fast(), &tmp, "d", None);
    until("the dead server quiesced", BOUND, || table.lines() == want(&[(dead, 0), (upa, 1)])).await;
    table.by_hand(Operation::DeleteDestination(vip(), dead.into()));
    // And an up server deleted by hand at the same time, which must come back.
    table.by_hand(Operation::DeleteDestination(vip(), upa.into()));
    until("the up server put back", BOUND, || table.lines() == want(&[(upa, 1)])).await;
    // Reconciles pass: the quiesced one stays out.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(table.lines(), want(&[(upa, 1)]));
    logged(&d, "deleted by hand while quiesced").await;
    d.stop().await;
}

/// A daemon with A and B whose configuration file a test rewrites (autoreload) to `next`.
struct Reloading {
    next: Arc<Mutex<DirectorConfig>>,
    file: PathBuf,
    n: u32,
}

impl Reloading {
    fn new(tmp: &Temp, first: &DirectorConfig) -> Self {
        let file = tmp.path("director.cf");
        std::fs::write(&file, "0").unwrap();
        Reloading { next: Arc::new(Mutex::new(first.clone())), file, n: 0 }
    }
    fn handle(&self) -> Option<(Arc<Mutex<DirectorConfig>>, PathBuf)> {
        Some((self.next.clone(), self.file.clone()))
    }
    /// A reload to `cfg` (the file changes; the daemon looks every second).
    fn reload(&mut self, cfg: DirectorConfig) {
        *self.next.lock().unwrap() = cfg;
        self.n += 1;
        std::fs::write(&self.file, self.n.to_string()).unwrap();
    }
}

fn drain_config(reals: Vec<RealServer>, drain: Duration) -> DirectorConfig {
    let mut c = config(reals);
    c.options.autoreload = true;
    c.options.drain_timeout = drain;
    c
}

#[tokio::test(flavor = "current_thread")]
async fn a_removed_server_drains_while_it_has_connections() {
    let tmp = Temp::new("drain");
    let (a, b) = (sa("192.168.10.2:80"), sa("192.168.10.3:80"));
    let drain = Duration::from_secs(600);
    let first = drain_config(vec![plain(a, 1), plain(b, 1)], drain);
    let mut files = Reloading::new(&tmp, &first);
    let table = Shared::default();
    let d = start(first, &table, fast(), &tmp, "d", files.handle());
    until("the first table", BOUND, || table.lines() == want(&[(a, 1), (b, 1)])).await;
    table.set_conns(b, (2, 0, 0));
    files.reload(drain_config(vec![plain(a, 1)], drain));
    until("b at weight 0", BOUND, || table.lines() == want(&[(a, 1), (b, 0)])).await;
    logged(&d, "draining at weight 0").await;
    // While its connections last it stays (the draining service is read every second).
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(table.lines(), want(&[(a, 1), (b, 0)]));
    table.set_conns(b, (0, 3, 0)); // closing: TCP's inactive ones do not count
    until("b gone", BOUND, || table.lines() == want(&[(a, 1)])).await;
    logged(&d, &format!("real server {b} of TCP 10.9.9.9:80 drained (no connections left): deleted")).await;
    assert!(
        d.log().contains(&format!("ipvsadm -d {T} -r {b}"))
            && !d.log().contains(&format!("repaired: ipvsadm -d {T} -r {b}")),
        "the machine's own deletion, not a repair"
    );
    d.stop().await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_drain_ends_at_its_timeout_and_a_server_configured_again_comes_back() {
    let tmp = Temp::new("drain-timeout");
    let (a, b) = (sa("192.168.11.2:80"), sa("192.168.11.3:80"));
    let first = drain_config(vec![plain(a, 1), plain(b, 1)], Duration::from_secs(3));
    let mut files = Reloading::new(&tmp, &first);
    let table = Shared::default();
    let d = start(first.clone(), &table, fast(), &tmp, "d", files.handle());
    until("the first table", BOUND, || table.lines() == want(&[(a, 1), (b, 1)])).await;
    table.set_conns(b, (5, 0, 0)); // never ends
    files.reload(drain_config(vec![plain(a, 1)], Duration::from_secs(3)));
    until("b at weight 0", BOUND, || table.lines() == want(&[(a, 1), (b, 0)])).await;
    until("b gone at the timeout", BOUND, || table.lines() == want(&[(a, 1)])).await;
    logged(&d, "drain timeout (3s) with 5 connections left: deleted").await;

    // Configured again while draining: back at its weight, no delete in between.
    files.reload(first.clone());
    until("b back", BOUND, || table.lines() == want(&[(a, 1), (b, 1)])).await;
    files.reload(drain_config(vec![plain(a, 1)], Duration::from_secs(600)));
    until("b at weight 0 again", BOUND, || table.lines() == want(&[(a, 1), (b, 0)])).await;
    let ops_before = table.ops().len();
    files.reload(first);
    until("b back from draining", BOUND, || table.lines() == want(&[(a, 1), (b, 1)])).await;
    let ops: Vec<String> = table.ops()[ops_before..].to_vec();
    assert_eq!(ops, [format!("-e {T} -r {b} -m -w 1")], "one edit, nothing deleted");
    logged(&d, "configured again while draining").await;
    d.stop().await;
}

#[tokio::test(flavor = "current_thread")]
async fn maintenance_drains_and_status_shows_draining() {
    let tmp = Temp::new("maint");
    let (a, b) = (sa("192.168.12.2:80"), sa("192.168.12.3:80"));
    let mut cfg = config(vec![plain(a, 1), plain(b, 1)]);
    let dir = tmp.path("maintenance");
    std::fs::create_dir_all(&dir).unwrap();
    cfg.options.maintenance_dir = Some(dir.clone());
    cfg.options.drain_timeout = Duration::from_secs(600);
    let table = Shared::default();
    let log = tmp.path("m.log");
    let mut daemon = Daemon::new(
        cfg,
        table.clone(),
        Logger::new("test", &LogTarget::File(log.clone()), true),
        Box::new(|| Err("no reload".into())),
        None,
    )
    .with_options(fast());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        daemon.run_until(async { stop_rx.await.unwrap_or(()) }).await.unwrap();
        daemon
    });
    until("the first table", BOUND, || table.lines() == want(&[(a, 1), (b, 1)])).await;
    table.set_conns(b, (1, 0, 0));
    std::fs::write(dir.join(b.ip().to_string()), "").unwrap();
    until("b at weight 0", BOUND, || table.lines() == want(&[(a, 1), (b, 0)])).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(table.lines(), want(&[(a, 1), (b, 0)]));
    table.set_conns(b, (0, 0, 0));
    until("b out", BOUND, || table.lines() == want(&[(a, 1)])).await;
    stop_tx.send(()).unwrap();
    let daemon = task.await.unwrap();
    let st = daemon.director().status();
    assert_eq!(st[0].reals[1].health, Health::Maintenance);
}

#[tokio::test(flavor = "current_thread")]
async fn a_restart_on_the_table_a_killed_daemon_left_changes_nothing() {
    let tmp = Temp::new("restart");
    let any = sa("127.0.0.1:0");
    let mut listeners = Vec::new();
    let mut addrs = Vec::new();
    for _ in 0..2 {
        let l = TcpListener::bind(any).await.unwrap();
        addrs.push(l.local_addr().unwrap());
        listeners.push(tokio::spawn(async move {
            loop {
                let _ = l.accept().await;
            }
        }));
    }
    let (a, b) = (addrs[0], addrs[1]);
    // keepalived's alpha: Director::new would start both down (and delete them).
    let mut cfg = config(vec![checked(a, 1), checked(b, 2)]);
    cfg.dialect = Dialect::Keepalived;
    cfg.virtuals[0].start = StartState::Down;
    let table = Shared::default();
    let first = start(cfg.clone(), &table, fast(), &tmp, "first", None);
    let steady = want(&[(a, 1), (b, 2)]);
    until("the first daemon's table", BOUND, || table.lines() == steady).await;
    first.kill().await;
    assert_eq!(table.lines(), steady, "kill -9 leaves the table");

    let ops_before = table.ops().len();
    let second = start(cfg, &table, fast(), &tmp, "second", None);
    logged(&second, "already in the kernel's table").await;
    // Its checks run (every 100 ms) and reconciles pass: nothing changes.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(table.lines(), steady);
    assert_eq!(table.ops()[ops_before..].to_vec(), Vec::<String>::new(), "no operation at all");
    assert!(!second.log().contains("ipvsadm -"), "{}", second.log());
    second.stop().await;
    for l in listeners {
        l.abort();
    }
}

#[tokio::test(flavor = "current_thread")]
async fn systemd_hears_ready_after_the_first_apply_then_the_watchdog() {
    use tokio::net::UnixDatagram;
    let tmp = Temp::new("notify");
    let sock = tmp.path("notify.sock");
    let rx = UnixDatagram::bind(&sock).unwrap();
    let a = sa("192.168.13.2:80");
    let table = Shared::default();
    let opts = Options {
        notify_socket: Some(sock.display().to_string()),
        watchdog: Some(Duration::from_millis(200)),
        ..fast()
    };
    let d = start(config(vec![plain(a, 1)]), &table, opts, &tmp, "d", None);
    let mut buf = [0u8; 256];
    let first = tokio::time::timeout(BOUND, recv(&rx, &mut buf)).await.unwrap();
    let text = String::from_utf8_lossy(&buf[..first]).into_owned();
    assert!(text.starts_with("READY=1\n"), "{text}");
    assert_eq!(table.lines(), want(&[(a, 1)]), "READY=1 comes after the first apply");
    let n = tokio::time::timeout(BOUND, recv(&rx, &mut buf)).await.unwrap();
    assert_eq!(&buf[..n], b"WATCHDOG=1");
    d.stop().await;
    // What was sent last, once the daemon stopped: STOPPING=1.
    let mut last = String::new();
    while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(200), rx.recv(&mut buf)).await {
        last = String::from_utf8_lossy(&buf[..n]).into_owned();
    }
    assert_eq!(last, "STOPPING=1");
}

async fn recv(rx: &tokio::net::UnixDatagram, buf: &mut [u8]) -> usize {
    rx.recv(buf).await.unwrap()
}
