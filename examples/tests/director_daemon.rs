//! The daemon's event loop on the host: the real state machine, real probes against servers
//! on 127.0.0.1, and the in-memory table as the backend. Failover (one down, both down: the
//! sorry server, one back), quiescing, the stop, and concurrency (a hanging server does not
//! delay another's verdict). The same scenarios run on the kernel in the VM
//! (`scripts/suites/director.vm`).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ipvs_core::director::config::{
    Dialect, DirectorConfig, HttpMethod, OnFailure, Origin, Probe, RealServer, StartState, Transport,
    UrlCheck, VirtualService,
};
use ipvs_core::status::{DestinationStatus, Info, ServiceStatus, SyncDaemon, Timeouts};
use ipvs_core::table::MemoryBackend;
use ipvs_core::{Backend, Destination, ForwardMethod, Operation, Scheduler, Service, ServiceKey};
use ipvs_examples::director::daemon::{Daemon, Options};
use ipvs_examples::director::log::Logger;
use ipvs_examples::director::probe;
use tokio::net::TcpListener;

/// The in-memory table, shared between the daemon and the test.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<MemoryBackend>>);

impl Shared {
    fn with<T>(&self, f: impl FnOnce(&mut MemoryBackend) -> T) -> T {
        f(&mut self.0.lock().unwrap())
    }
    /// The table as `(real server, weight)` per service, sorted.
    fn table(&self) -> Vec<(String, Vec<(String, u32)>)> {
        self.with(|m| {
            let mut out: Vec<_> = m
                .services_with_destinations()
                .unwrap()
                .into_iter()
                .map(|(s, d)| {
                    let mut d: Vec<_> =
                        d.into_iter().map(|d| (d.dest.key().to_string(), d.dest.weight)).collect();
                    d.sort();
                    (s.service.key.to_string(), d)
                })
                .collect();
            out.sort();
            out
        })
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
        self.with(|m| m.destinations(key))
    }
    fn timeouts(&mut self) -> ipvs_core::Result<Timeouts> {
        self.with(|m| m.timeouts())
    }
    fn daemons(&mut self) -> ipvs_core::Result<Vec<SyncDaemon>> {
        self.with(|m| m.daemons())
    }
    fn apply(&mut self, op: &Operation) -> ipvs_core::Result<()> {
        self.with(|m| m.apply(op))
    }
}

/// A TCP server that accepts and answers every request with a small HTTP response, until
/// dropped (then connections are refused).
struct Server {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(addr: SocketAddr, body: &'static str, hang: bool) -> Server {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = TcpListener::bind(addr).await.unwrap();
    let addr = l.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else { return };
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                if hang {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(resp.as_bytes()).await;
            });
        }
    });
    Server { addr, task }
}

fn vip() -> ServiceKey {
    ServiceKey::tcp("10.9.9.9".parse().unwrap(), 80)
}

fn real(addr: SocketAddr, weight: u32, probe: Probe, timeout: Duration) -> RealServer {
    let dest = Destination::new(addr).with_forward(ForwardMethod::Masquerade).with_weight(weight);
    let mut r = RealServer::new(dest, Origin::default());
    let mut c = probe::check(probe, addr, timeout);
    c.interval = Duration::from_millis(100);
    r.checks.push(c);
    r
}

fn config(
    reals: Vec<RealServer>,
    sorry: Option<SocketAddr>,
    on_failure: OnFailure,
    start: StartState,
) -> DirectorConfig {
    let mut v = VirtualService::new(Service::new(vip()).with_scheduler(Scheduler::Wrr), Origin::default());
    v.reals = reals;
    v.sorry = sorry.map(|a| Destination::new(a).with_forward(ForwardMethod::Masquerade).with_weight(1));
    v.on_failure = on_failure;
    v.start = start;
    let mut c = DirectorConfig::new(Dialect::Ldirectord);
    c.virtuals.push(v);
    c
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

fn rows(v: &[(&str, u32)]) -> Vec<(String, Vec<(String, u32)>)> {
    let mut d: Vec<(String, u32)> = v.iter().map(|(a, w)| (a.to_string(), *w)).collect();
    d.sort();
    vec![(vip().to_string(), d)]
}

async fn failover(on_failure: OnFailure) {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let rs1 = serve(any, "web1", false).await;
    let rs2 = serve(any, "web2", false).await;
    let sorry = serve(any, "sorry", false).await;
    let (a1, a2, s) = (rs1.addr, rs2.addr, sorry.addr);
    let connect = Probe::Connect(Transport::Tcp);
    let t = Duration::from_secs(2);
    let cfg = config(
        vec![real(a1, 1, connect.clone(), t), real(a2, 2, connect, t)],
        Some(s),
        on_failure,
        StartState::Up,
    );
    let table = Shared::default();
    let mut daemon = Daemon::new(
        cfg,
        table.clone(),
        Logger::stderr("test", true),
        Box::new(|| Err("no reload".into())),
        None,
    );
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(async move {
        daemon.run_until(async { stop_rx.await.unwrap_or(()) }).await.unwrap();
        daemon
    });
    let (a1s, a2s, ss) = (a1.to_string(), a2.to_string(), s.to_string());
    let bound = Duration::from_secs(20);
    until("both up", bound, || table.table() == rows(&[(&a1s, 1), (&a2s, 2)])).await;
    drop(rs1);
    let one_down = match on_failure {
        OnFailure::Quiesce => rows(&[(&a1s, 0), (&a2s, 2)]),
        _ => rows(&[(&a2s, 2)]),
    };
    until("rs1 down", bound, || table.table() == one_down).await;
    drop(rs2);
    let both_down = match on_failure {
        OnFailure::Quiesce => rows(&[(&a1s, 0), (&a2s, 0), (&ss, 1)]),
        _ => rows(&[(&ss, 1)]),
    };
    until("sorry server in", bound, || table.table() == both_down).await;
    let _rs1 = serve(a1, "web1", false).await;
    let back = match on_failure {
        OnFailure::Quiesce => rows(&[(&a1s, 1), (&a2s, 0)]),
        _ => rows(&[(&a1s, 1)]),
    };
    until("rs1 back, sorry server out", bound, || table.table() == back).await;
    stop_tx.send(()).unwrap();
    let _ = run.await.unwrap();
    assert_eq!(table.table(), vec![], "cleanstop: the virtual service is gone");
}

#[tokio::test(flavor = "current_thread")]
async fn failover_with_removal() {
    failover(OnFailure::Remove).await;
}

#[tokio::test(flavor = "current_thread")]
async fn failover_with_quiescence() {
    failover(OnFailure::Quiesce).await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_hanging_server_does_not_delay_another() {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let slow = serve(any, "slow", true).await;
    let fast = serve(any, "fast", false).await;
    let http = |re: &str| {
        let mut u = UrlCheck::new("/");
        u.regex = Some(re.into());
        Probe::Http { tls: false, sni: None, method: HttpMethod::Get, host: None, urls: vec![u] }
    };
    // The hanging server's probe only ends at its 60 s timeout; the fast one must be judged
    // long before that.
    let t = Duration::from_secs(60);
    let cfg = config(
        vec![real(slow.addr, 1, http("slow"), t), real(fast.addr, 1, http("fast"), t)],
        None,
        OnFailure::Remove,
        StartState::Down,
    );
    let table = Shared::default();
    let mut daemon = Daemon::new(
        cfg,
        table.clone(),
        Logger::stderr("test", true),
        Box::new(|| Err("no reload".into())),
        None,
    );
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let run =
        tokio::spawn(async move { daemon.run_until(async { stop_rx.await.unwrap_or(()) }).await.unwrap() });
    let f = fast.addr.to_string();
    until("the fast server is up while the slow one hangs", Duration::from_secs(30), || {
        table.table() == rows(&[(&f, 1)])
    })
    .await;
    stop_tx.send(()).unwrap();
    run.await.unwrap();
}

/// ldirectord's `readdquiescent`: a quiesced real server deleted by hand stays out (`no`, the
/// default: the operator cut off its clients) or is put back at weight 0 (`yes`).
async fn hand_deleted_quiesced_server(readd: bool) {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let up = serve(any, "web2", false).await;
    let gone = TcpListener::bind(any).await.unwrap();
    let dead = gone.local_addr().unwrap();
    drop(gone);
    let connect = Probe::Connect(Transport::Tcp);
    let t = Duration::from_secs(2);
    let mut cfg = config(
        vec![real(dead, 1, connect.clone(), t), real(up.addr, 1, connect, t)],
        None,
        OnFailure::Quiesce,
        StartState::Up,
    );
    cfg.options.readd_quiescent = readd;
    let table = Shared::default();
    // The table is reconciled every second (the default is 10 s).
    let mut daemon = Daemon::new(
        cfg,
        table.clone(),
        Logger::stderr("test", true),
        Box::new(|| Err("no reload".into())),
        None,
    )
    .with_options(Options { reconcile_interval: Duration::from_secs(1), ..Options::default() });
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let run =
        tokio::spawn(async move { daemon.run_until(async { stop_rx.await.unwrap_or(()) }).await.unwrap() });
    let (d, u) = (dead.to_string(), up.addr.to_string());
    let bound = Duration::from_secs(20);
    until("the dead server quiesced", bound, || table.table() == rows(&[(&d, 0), (&u, 1)])).await;
    table.with(|m| m.delete_destination(&vip(), &dead.into()).unwrap());
    if readd {
        until("put back at weight 0", bound, || table.table() == rows(&[(&d, 0), (&u, 1)])).await;
    } else {
        // Two reconciles of the table pass: it must stay out.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert_eq!(table.table(), rows(&[(&u, 1)]));
    }
    stop_tx.send(()).unwrap();
    run.await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn readdquiescent_no_leaves_a_hand_deleted_server_out() {
    hand_deleted_quiesced_server(false).await;
}

#[tokio::test(flavor = "current_thread")]
async fn readdquiescent_yes_puts_it_back() {
    hand_deleted_quiesced_server(true).await;
}
