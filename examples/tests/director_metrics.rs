//! The daemon's observers on the host: `/metrics` and `/status.json` over HTTP and the status
//! socket, with the real machine, real probes against servers on 127.0.0.1 and the in-memory
//! table. A server goes down and comes back (with removal and with quiescence) and the health
//! and weight series follow; the status socket's document and the `status` command; `/metrics`
//! answers while a thousand checks hang; the status page (`/`, `/?fragment=1`) shows the
//! server's health change. The same runs on the kernel in the VM
//! (`scripts/suites/director-metrics.vm`).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ipvs_core::director::config::{
    Dialect, DirectorConfig, HttpMethod, OnFailure, Origin, Probe, RealServer, StartState, Transport,
    UrlCheck, VirtualService,
};
use ipvs_core::status::{DestinationStatus, Info, ServiceStatus, SyncDaemon, Timeouts};
use ipvs_core::table::MemoryBackend;
use ipvs_core::{Backend, Destination, ForwardMethod, Operation, Scheduler, Service, ServiceKey};
use ipvs_examples::director::daemon::Daemon;
use ipvs_examples::director::log::Logger;
use ipvs_examples::director::status::{Health, Snapshot, StatusHandle};
use ipvs_examples::director::{observe, probe};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The in-memory table, shared between the daemon and the test.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<MemoryBackend>>);

impl Shared {
    fn with<T>(&self, f: impl FnOnce(&mut MemoryBackend) -> T) -> T {
        f(&mut self.0.lock().unwrap())
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

/// A TCP server that answers every request with a small HTTP response (or, with `hang`,
/// holds the connection open and never answers), until dropped. `accepted` counts connections.
struct Server {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(addr: SocketAddr, hang: bool) -> Server {
    let l = TcpListener::bind(addr).await.unwrap();
    let addr = l.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let Ok((mut s, _)) = l.accept().await else { return };
            count.fetch_add(1, Ordering::SeqCst);
            if hang {
                held.push(s); // closed when the server is dropped
                continue;
            }
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ =
                    s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok").await;
            });
        }
    });
    Server { addr, accepted, task }
}

fn vip() -> ServiceKey {
    ServiceKey::tcp("10.9.9.9".parse().unwrap(), 80)
}

fn real(addr: SocketAddr, weight: u32, probe: Probe, target: SocketAddr, timeout: Duration) -> RealServer {
    let dest = Destination::new(addr).with_forward(ForwardMethod::Masquerade).with_weight(weight);
    let mut r = RealServer::new(dest, Origin::default());
    let mut c = probe::check(probe, target, timeout);
    c.interval = Duration::from_millis(100);
    r.checks.push(c);
    r
}

fn connect(addr: SocketAddr, weight: u32) -> RealServer {
    real(addr, weight, Probe::Connect(Transport::Tcp), addr, Duration::from_secs(2))
}

fn config(reals: Vec<RealServer>, sorry: Option<SocketAddr>, on_failure: OnFailure) -> DirectorConfig {
    let mut v = VirtualService::new(Service::new(vip()).with_scheduler(Scheduler::Wrr), Origin::default());
    v.reals = reals;
    v.sorry = sorry.map(|a| Destination::new(a).with_forward(ForwardMethod::Masquerade).with_weight(1));
    v.on_failure = on_failure;
    v.start = StartState::Up;
    let mut c = DirectorConfig::new(Dialect::Ldirectord);
    c.virtuals.push(v);
    c
}

/// Runs a daemon on `table` until the returned sender fires; its status handle.
fn start(cfg: DirectorConfig, table: Shared, debug: bool) -> (StatusHandle, Running) {
    let mut daemon =
        Daemon::new(cfg, table, Logger::stderr("test", debug), Box::new(|| Err("no reload".into())), None);
    let handle = daemon.status_handle();
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task =
        tokio::spawn(async move { daemon.run_until(async { stop_rx.await.unwrap_or(()) }).await.unwrap() });
    (handle, Running { stop, task })
}

struct Running {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<ipvs_examples::director::daemon::Stopped>,
}

impl Running {
    async fn stop(self) {
        self.stop.send(()).unwrap();
        self.task.await.unwrap();
    }
}

/// Serves HTTP for `handle` on a free port of 127.0.0.1.
async fn http(handle: StatusHandle) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    (addr, tokio::spawn(observe::serve_http(l, handle)))
}

/// A plain HTTP/1.1 GET: (status, headers, body).
async fn get(addr: SocketAddr, path: &str, accept: Option<&str>) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let accept = accept.map(|a| format!("Accept: {a}\r\n")).unwrap_or_default();
    let req = format!("GET {path} HTTP/1.1\r\nHost: test\r\n{accept}Connection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8(buf).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_string(), body.to_string())
}

/// The health text of the real server `addr` on the status page, in each of its rows (one per
/// service it belongs to).
fn page_health(html: &str, addr: SocketAddr) -> Vec<String> {
    let key = format!("<span class=\"addr\">{addr}</span>");
    html.lines()
        .filter(|l| l.starts_with("<tr") && l.contains(&key))
        .filter_map(|l| {
            let cell = l.split("data-label=\"Health\">").nth(1)?;
            Some(cell.split_once("\">")?.1.split('<').next()?.to_string())
        })
        .collect()
}

/// The value of the sample `name{...}` whose labels include `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (series, value) = l.rsplit_once(' ')?;
        let (n, rest) = series.split_once('{').unwrap_or((series, "}"));
        if n != name {
            return None;
        }
        labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\""))).then(|| value.parse().ok())?
    })
}

/// Polls `f` every 50 ms until it holds, for at most `bound` (generous: a state is awaited,
/// not a time measured); the last text seen goes into the failure.
async fn until<F, Fut>(what: &str, bound: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = (bool, String)>,
{
    let end = tokio::time::Instant::now() + bound;
    loop {
        let (ok, seen) = f().await;
        if ok {
            return;
        }
        assert!(tokio::time::Instant::now() < end, "timed out waiting for: {what}\nlast seen:\n{seen}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn backend(a: SocketAddr) -> [(&'static str, String); 5] {
    [
        ("local_address", "10.9.9.9".to_string()),
        ("local_port", "80".to_string()),
        ("remote_address", a.ip().to_string()),
        ("remote_port", a.port().to_string()),
        ("proto", "TCP".to_string()),
    ]
}

fn labels<'a>(
    l: &'a [(&'static str, String)],
    extra: &'a [(&'static str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    l.iter().map(|(k, v)| (*k, v.as_str())).chain(extra.iter().copied()).collect()
}

async fn metrics_follow_a_server_down_and_up(on_failure: OnFailure) {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let rs1 = serve(any, false).await;
    let rs2 = serve(any, false).await;
    let (a1, a2) = (rs1.addr, rs2.addr);
    let table = Shared::default();
    let (handle, running) =
        start(config(vec![connect(a1, 1), connect(a2, 2)], None, on_failure), table, true);
    let (addr, server) = http(handle).await;
    let (l1, l2) = (backend(a1), backend(a2));
    let bound = Duration::from_secs(30);
    let scrape = || async { get(addr, "/metrics", None).await.2 };
    let state = |t: &str, l: &[(&'static str, String)], s: &str| {
        sample(t, "ipvs_director_real_server_state", &labels(l, &[("state", s)]))
    };
    let kernel_weight = |t: &str, l: &[(&'static str, String)]| {
        sample(t, "node_ipvs_backend_weight", &labels(l, &[("local_mark", "")]))
    };

    until("both up and checked, in the kernel with weights 1 and 2", bound, || async {
        let t = scrape().await;
        let ok = state(&t, &l1, "up") == Some(1.0)
            && state(&t, &l2, "up") == Some(1.0)
            && kernel_weight(&t, &l1) == Some(1.0)
            && kernel_weight(&t, &l2) == Some(2.0)
            && sample(&t, "ipvs_director_check_duration_seconds_count", &labels(&l1, &[])) >= Some(1.0);
        (ok, t)
    })
    .await;
    let (status, head, t) = get(addr, "/metrics", None).await;
    assert_eq!(status, 200);
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    assert_eq!(sample(&t, "ipvs_director_real_server_configured_weight", &labels(&l2, &[])), Some(2.0));
    assert_eq!(
        sample(&t, "ipvs_director_service_live_real_servers", &[("local_address", "10.9.9.9")]),
        Some(2.0)
    );
    assert!(sample(&t, "ipvs_director_table_corrections_total", &[]).unwrap() >= 1.0);
    assert_eq!(sample(&t, "node_ipvs_backend_connections_active", &labels(&l1, &[])), Some(0.0));
    assert_eq!(sample(&t, "node_ipvs_connections_total", &[]), Some(0.0));
    let corrections = sample(&t, "ipvs_director_table_corrections_total", &[]).unwrap();
    let (_, head, om) = get(addr, "/metrics", Some("application/openmetrics-text; version=1.0.0")).await;
    assert!(head.contains("application/openmetrics-text"), "{head}");
    assert!(om.ends_with("# EOF\n"));

    drop(rs1);
    let down = if on_failure == OnFailure::Quiesce { "quiescent" } else { "down" };
    until("rs1 down, out of the kernel (or at weight 0)", bound, || async {
        let t = scrape().await;
        let weight_ok = match on_failure {
            OnFailure::Quiesce => kernel_weight(&t, &l1) == Some(0.0),
            _ => kernel_weight(&t, &l1).is_none(),
        };
        let ok = state(&t, &l1, down) == Some(1.0)
            && state(&t, &l1, "up") == Some(0.0)
            && state(&t, &l2, "up") == Some(1.0)
            && weight_ok
            && kernel_weight(&t, &l2) == Some(2.0);
        (ok, t)
    })
    .await;
    let t = scrape().await;
    assert!(sample(&t, "ipvs_director_check_failures_total", &labels(&l1, &[])).unwrap() >= 1.0);
    assert_eq!(sample(&t, "ipvs_director_check_failures_total", &labels(&l2, &[])), Some(0.0));
    assert!(sample(&t, "ipvs_director_health_transitions_total", &labels(&l1, &[])).unwrap() >= 1.0);
    assert_eq!(sample(&t, "ipvs_director_real_server_weight", &labels(&l1, &[])), Some(0.0));
    assert_eq!(
        sample(&t, "ipvs_director_service_live_real_servers", &[("local_address", "10.9.9.9")]),
        Some(1.0)
    );
    assert!(sample(&t, "ipvs_director_table_corrections_total", &[]).unwrap() > corrections);
    // The status page says so, in words.
    let (status, head, html) = get(addr, "/", None).await;
    assert_eq!(status, 200);
    assert!(head.contains("text/html"), "{head}");
    assert_eq!(page_health(&html, a1), [down], "{html}");
    assert_eq!(page_health(&html, a2), ["up"]);
    assert!(html.contains(&format!("real server {a1} of TCP 10.9.9.9:80 down")), "{html}");

    let _rs1 = serve(a1, false).await;
    until("rs1 up again, back in the kernel with weight 1", bound, || async {
        let t = scrape().await;
        let ok = state(&t, &l1, "up") == Some(1.0) && kernel_weight(&t, &l1) == Some(1.0);
        (ok, t)
    })
    .await;
    let t = scrape().await;
    assert!(sample(&t, "ipvs_director_health_transitions_total", &labels(&l1, &[])).unwrap() >= 2.0);
    let (_, _, fragment) = get(addr, "/?fragment=1", None).await;
    assert_eq!(page_health(&fragment, a1), ["up"], "{fragment}");
    assert!(!fragment.contains("<html"));

    // The same moment as JSON.
    let (status, _, json) = get(addr, "/status.json", None).await;
    assert_eq!(status, 200);
    let snap: Snapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(snap.virtual_services[0].key, "TCP 10.9.9.9:80");
    assert_eq!(snap.virtual_services[0].real_servers[0].health, Health::Up);
    assert!(snap
        .decisions
        .iter()
        .any(|d| d.message.starts_with(&format!("real server {a1} of TCP 10.9.9.9:80 "))));
    assert_eq!(get(addr, "/nothing", None).await.0, 404);

    running.stop().await;
    server.abort();
}

#[tokio::test(flavor = "current_thread")]
async fn metrics_follow_a_server_down_and_up_with_removal() {
    metrics_follow_a_server_down_and_up(OnFailure::Remove).await;
}

#[tokio::test(flavor = "current_thread")]
async fn metrics_follow_a_server_down_and_up_with_quiescence() {
    metrics_follow_a_server_down_and_up(OnFailure::Quiesce).await;
}

fn socket_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("ipvs-director-test-{}-{name}.sock", std::process::id()))
}

/// Runs `ipvs-director` with `args`: (exit code, standard output).
async fn director_cli(args: &[&str]) -> (i32, String) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let out =
            std::process::Command::new(env!("CARGO_BIN_EXE_ipvs-director")).args(&args).output().unwrap();
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn the_status_socket_and_the_status_command() {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let up = serve(any, false).await;
    let gone = TcpListener::bind(any).await.unwrap();
    let dead = gone.local_addr().unwrap();
    drop(gone);
    let sorry = serve(any, false).await;
    let table = Shared::default();
    let cfg = config(vec![connect(up.addr, 3), connect(dead, 1)], Some(sorry.addr), OnFailure::Remove);
    let (handle, running) = start(cfg, table.clone(), true);
    let path = socket_path("status");
    let listener = observe::bind_socket(&path).unwrap();
    let guard = observe::SocketFile(path.clone());
    let server = tokio::spawn(observe::serve_socket(listener, handle));

    let read = || {
        let p = path.clone();
        async move {
            tokio::task::spawn_blocking(move || observe::read_socket(&p, Duration::from_secs(10)))
                .await
                .unwrap()
        }
    };
    let bound = Duration::from_secs(30);
    until("the live server up, the dead one down", bound, || async {
        let s = read().await.unwrap();
        let v = &s.virtual_services[0];
        let ok = v.real_servers[0].health == Health::Up
            && v.real_servers[1].health == Health::Down
            && v.real_servers[0].weight_kernel == Some(3)
            && v.real_servers[1].weight_kernel.is_none()
            && v.real_servers.iter().all(|r| r.last_check.is_some());
        (ok, format!("{s:#?}"))
    })
    .await;
    let s = read().await.unwrap();
    assert_eq!(s.program, "test");
    assert_eq!(s.pid, std::process::id());
    let v = &s.virtual_services[0];
    assert_eq!((v.key.as_str(), v.proto.as_str(), v.scheduler.as_str()), ("TCP 10.9.9.9:80", "TCP", "wrr"));
    assert_eq!((v.address.as_deref(), v.port, v.fwmark), (Some("10.9.9.9"), Some(80), None));
    assert_eq!((v.live, v.total, v.live_weight, v.quorum), (1, 2, 3, true));
    assert!(v.in_kernel && v.stats.is_some());
    let sorry_s = v.sorry_server.as_ref().unwrap();
    assert_eq!(
        (sorry_s.address.clone(), sorry_s.active, sorry_s.kernel.is_none()),
        (sorry.addr.to_string(), false, true)
    );
    let (r0, r1) = (&v.real_servers[0], &v.real_servers[1]);
    assert_eq!(
        (r0.address.clone(), r0.forward.as_str(), r0.weight_configured),
        (up.addr.to_string(), "masq", 3)
    );
    assert_eq!(
        (r0.weight_desired, r0.active_connections, r0.inactive_connections),
        (Some(3), Some(0), Some(0))
    );
    let last = r0.last_check.as_ref().unwrap();
    assert!(last.ok && last.message == "passed" && last.duration_ms >= 0.0, "{last:?}");
    assert!(!r0.recent_check_durations_ms.is_empty() && r0.recent_check_durations_ms.len() <= 32);
    assert_eq!(r0.check_durations.count, r0.check_durations.buckets.iter().sum::<u64>());
    assert_eq!((r1.weight_desired, r1.active_connections), (None, None));
    let last = r1.last_check.as_ref().unwrap();
    assert!(!last.ok && last.message.contains("refused"), "{last:?}");
    assert!(r1.failures >= 1 && r1.check_failures_total >= 1);
    assert_eq!(r1.checks.len(), 1);
    assert_eq!((r1.checks[0].kind.as_str(), r1.checks[0].verdict.as_str()), ("connect", "fail"));
    let down = format!("real server {dead} of TCP 10.9.9.9:80 down: ");
    assert!(
        s.decisions.iter().any(|d| d.message.starts_with(&down) && d.real == Some(dead.to_string())),
        "{:#?}",
        s.decisions
    );
    assert!(s.decisions.len() <= 50);
    // A snapshot reads back as itself.
    let again: Snapshot = serde_json::from_slice(&observe::to_json(&s)).unwrap();
    assert_eq!(again, s);

    // The status command: a summary, or the document.
    let sock = path.display().to_string();
    let (code, out) = director_cli(&["status", "--status-socket", &sock]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with(&format!("test is running with pid: {}", std::process::id())), "{out}");
    assert!(out.contains("TCP 10.9.9.9:80  wrr  1/2 up"), "{out}");
    assert!(out.contains(&format!("sorry server {} out", sorry.addr)), "{out}");
    assert!(
        out.lines().any(|l| l.contains(&up.addr.to_string()) && l.contains(" up ") && l.contains("passed")),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.contains(&dead.to_string()) && l.contains(" down ") && l.contains("refused")),
        "{out}"
    );
    assert!(out.contains(&down), "{out}");
    let (code, out) = director_cli(&["status", "--json", "--status-socket", &sock]).await;
    assert_eq!(code, 0);
    let doc: Snapshot = serde_json::from_str(&out).unwrap();
    assert_eq!(doc.virtual_services[0].key, "TCP 10.9.9.9:80");

    // A second daemon does not take a socket that answers.
    assert!(observe::bind_socket(&path).is_err());

    server.abort();
    let _ = server.await;
    running.stop().await;
    drop(guard);
    assert!(!path.exists(), "the socket file is removed");
    let (code, out) = director_cli(&["status", "--status-socket", &sock]).await;
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("not running"), "{out}");
}

/// Raises the soft limit of open files to the hard limit (a thousand probes hold two thousand
/// sockets here: both ends).
fn more_files() {
    // SAFETY: getrlimit/setrlimit with a valid struct.
    unsafe {
        let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 {
            r.rlim_cur = r.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn metrics_answer_while_a_thousand_checks_hang() {
    more_files();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let hang = serve(any, true).await;
    let fine = serve(any, false).await;
    let http_get = |path: &str| {
        let mut u = UrlCheck::new(path);
        u.regex = Some("ok".into());
        Probe::Http { tls: false, sni: None, method: HttpMethod::Get, host: None, urls: vec![u] }
    };
    // A thousand real servers (never contacted: the in-memory table routes nothing) whose
    // HTTP checks all go to one server that accepts and never answers, each for 60 s; one more
    // whose check goes to a server that answers.
    let t = Duration::from_secs(60);
    let mut reals: Vec<RealServer> = (0..1000u32)
        .map(|i| {
            let a: SocketAddr = format!("10.1.{}.{}:80", i / 250, i % 250 + 1).parse().unwrap();
            real(a, 1, http_get("/"), hang.addr, t)
        })
        .collect();
    let good: SocketAddr = "10.2.0.1:80".parse().unwrap();
    reals.push(real(good, 1, http_get("/"), fine.addr, t));
    let mut cfg = config(reals, None, OnFailure::Remove);
    cfg.virtuals[0].start = StartState::Down;
    let (handle, running) = start(cfg, Shared::default(), false);
    let (addr, server) = http(handle).await;

    let bound = Duration::from_secs(60);
    let accepted = hang.accepted.clone();
    until("900 probes hanging", bound, || async {
        let n = accepted.load(Ordering::SeqCst);
        (n >= 900, format!("{n} connections"))
    })
    .await;
    // Not a timing test: the scrape must come back at all (it would wait 60 s behind the
    // probes if they blocked it).
    let (status, _, text) = tokio::time::timeout(Duration::from_secs(20), get(addr, "/metrics", None))
        .await
        .expect("/metrics answers while the probes hang");
    assert_eq!(status, 200);
    let states = text.lines().filter(|l| l.starts_with("ipvs_director_real_server_state{")).count();
    assert_eq!(states, 1001 * 6, "every real server's state series");
    let good_labels = [("remote_address", "10.2.0.1"), ("state", "up")];
    until("the answering server up meanwhile", bound, || async {
        let t = get(addr, "/metrics", None).await.2;
        (sample(&t, "ipvs_director_real_server_state", &good_labels) == Some(1.0), String::new())
    })
    .await;
    let (status, _, _) = tokio::time::timeout(Duration::from_secs(20), get(addr, "/status.json", None))
        .await
        .expect("/status.json answers while the probes hang");
    assert_eq!(status, 200);
    assert!(accepted.load(Ordering::SeqCst) >= 900);
    running.stop().await;
    server.abort();
}
