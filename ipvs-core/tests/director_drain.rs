//! Draining and restarts in the director's state machine: a real server that a reload removes
//! (or that goes into maintenance) stays at weight 0 while its connections last, leaves when
//! they are gone, when it is gone from the kernel's table or at its drain timeout, and comes
//! back when a reload configures it again; `Director::resume` takes the kernel's table as a
//! previous run left it, so that a restart plans nothing and cuts nothing.
//!
//! Connection counts are fed as the daemon feeds them: entries of the kernel's table
//! (`DestinationStatus`) passed to `handle_table`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use ipvs_core::director::config::*;
use ipvs_core::director::machine::*;
use ipvs_core::plan::plan;
use ipvs_core::sched::Time;
use ipvs_core::table::MemoryBackend;
use ipvs_core::{
    Backend, Destination, DestinationStatus, ForwardMethod, OnError, Scheduler, Service, ServiceKey,
    ServiceStatus,
};

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn t(s: u64) -> Time {
    Time::from_secs(s)
}

fn vip() -> ServiceKey {
    ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80)
}

fn dest(addr: &str, weight: u32) -> Destination {
    Destination::new(sa(addr)).with_forward(ForwardMethod::Masquerade).with_weight(weight)
}

/// A real server without checks (always up).
fn real(addr: &str, weight: u32) -> RealServer {
    RealServer::new(dest(addr, weight), Origin::default())
}

/// A real server with a connect check of itself.
fn checked(addr: &str, weight: u32) -> RealServer {
    let mut r = real(addr, weight);
    r.checks.push(Check::new(Probe::Connect(Transport::Tcp), sa(addr)));
    r
}

fn service(key: ServiceKey) -> Service {
    Service::new(key).with_scheduler(Scheduler::Wrr)
}

fn config_for(key: ServiceKey, reals: Vec<RealServer>, drain: u64) -> DirectorConfig {
    let mut v = VirtualService::new(service(key), Origin::default());
    v.reals = reals;
    let mut c = DirectorConfig::new(Dialect::Ldirectord);
    c.virtuals.push(v);
    c.options.drain_timeout = Duration::from_secs(drain);
    c
}

fn config(reals: Vec<RealServer>, drain: u64) -> DirectorConfig {
    config_for(vip(), reals, drain)
}

/// The kernel's table: the in-memory one, brought to the director's table by its plans.
struct Kernel(MemoryBackend);

impl Kernel {
    fn new() -> Self {
        Kernel(MemoryBackend::new())
    }
    fn entries(&mut self) -> Vec<(ServiceStatus, Vec<DestinationStatus>)> {
        self.0.services_with_destinations().unwrap()
    }
    /// Plans from the table to `d.desired()` and applies: the plan's text.
    fn apply(&mut self, d: &Director) -> String {
        let p = plan(&self.entries(), &d.desired()).unwrap();
        assert!(p.apply(&mut self.0, OnError::Stop).is_ok(), "{p}");
        p.to_string()
    }
    /// The table with these (active, inactive, persistent) counts set on `real`.
    fn with_counts(
        &mut self,
        real: &str,
        counts: (u32, u32, u32),
    ) -> Vec<(ServiceStatus, Vec<DestinationStatus>)> {
        let mut e = self.entries();
        for (_, ds) in &mut e {
            for d in ds.iter_mut().filter(|d| d.dest.key().to_string() == real) {
                (d.active_conns, d.inactive_conns, d.persist_conns) = counts;
            }
        }
        e
    }
}

/// `(real server, weight)` of the desired table's first service.
fn weights(d: &Director) -> Vec<(String, u32)> {
    let mut v: Vec<_> = d.desired()[0].1.iter().map(|r| (r.key().to_string(), r.weight)).collect();
    v.sort();
    v
}

fn w(v: &[(&str, u32)]) -> Vec<(String, u32)> {
    let mut v: Vec<_> = v.iter().map(|(a, w)| (a.to_string(), *w)).collect();
    v.sort();
    v
}

fn status_of(d: &Director, real: &str) -> RealStatus {
    d.status()[0].reals.iter().find(|r| r.key.to_string() == real).cloned().unwrap()
}

fn decisions(d: &mut Director) -> Vec<String> {
    std::iter::from_fn(|| d.poll_event())
        .filter_map(|e| match e {
            Event::Decision { message, .. } => Some(message),
            _ => None,
        })
        .collect()
}

const A: &str = "192.168.1.2:80";
const B: &str = "192.168.1.3:80";

/// A director with A (weight 2) and B (weight 1) in the kernel, and a reload at 10 s that
/// removes B.
fn removed_b(drain: u64) -> (Director, Kernel) {
    let mut d = Director::new(config(vec![real(A, 2), real(B, 1)], drain), t(0), 1);
    let mut k = Kernel::new();
    k.apply(&d);
    decisions(&mut d);
    d.handle_reload(config(vec![real(A, 2)], drain), t(10));
    (d, k)
}

#[test]
fn a_removed_server_goes_to_weight_zero_and_stays_while_it_has_active_connections() {
    let (mut d, mut k) = removed_b(300);
    assert_eq!(weights(&d), w(&[(A, 2), (B, 0)]));
    let st = status_of(&d, B);
    assert_eq!(st.health, Health::Draining);
    let drain = st.drain.unwrap();
    assert_eq!((drain.since, drain.deadline, drain.connections, drain.removed), (t(10), t(310), None, true));
    assert!(decisions(&mut d)
        .iter()
        .any(|m| m.contains("removed (configuration reloaded): draining at weight 0")));
    assert_eq!(d.draining(), [vip()]);
    assert_eq!(k.apply(&d), "-e -t 10.0.0.1:80 -r 192.168.1.3:80 -m -w 0\n");

    // Two established connections: it stays.
    let table = k.with_counts(B, (2, 0, 0));
    d.handle_table(&table, t(20));
    assert_eq!(weights(&d), w(&[(A, 2), (B, 0)]));
    assert_eq!(status_of(&d, B).drain.unwrap().connections, Some(2));
    assert!(k.apply(&d).is_empty());

    // The last one closes (inactive ones of TCP do not count): it leaves.
    let table = k.with_counts(B, (0, 5, 0));
    d.handle_table(&table, t(30));
    assert_eq!(weights(&d), w(&[(A, 2)]));
    assert!(decisions(&mut d)
        .iter()
        .any(|m| m == "real server 192.168.1.3:80 drained (no connections left): deleted"));
    assert_eq!(k.apply(&d), "-d -t 10.0.0.1:80 -r 192.168.1.3:80\n");
    assert!(d.draining().is_empty());
    assert!(d.status()[0].reals.iter().all(|r| r.key.to_string() != B));
}

#[test]
fn a_drain_ends_at_its_timeout() {
    let (mut d, mut k) = removed_b(300);
    k.apply(&d);
    decisions(&mut d);
    let table = k.with_counts(B, (7, 0, 0));
    d.handle_table(&table, t(20));
    assert_eq!(d.poll_timeout(), Some(t(310)), "the machine comes back at the drain timeout");
    d.handle_timeout(Time::from_millis(309_999));
    assert_eq!(weights(&d), w(&[(A, 2), (B, 0)]));
    d.handle_timeout(t(310));
    assert_eq!(weights(&d), w(&[(A, 2)]));
    assert_eq!(
        decisions(&mut d),
        ["real server 192.168.1.3:80 drain timeout (300s) with 7 connections left: deleted"]
    );
    assert_eq!(d.poll_timeout(), None);
    assert_eq!(k.apply(&d), "-d -t 10.0.0.1:80 -r 192.168.1.3:80\n");
}

#[test]
fn a_zero_drain_timeout_deletes_at_once() {
    let (d, mut k) = removed_b(0);
    assert_eq!(weights(&d), w(&[(A, 2)]));
    assert!(d.draining().is_empty());
    assert_eq!(k.apply(&d), "-d -t 10.0.0.1:80 -r 192.168.1.3:80\n");
}

#[test]
fn a_server_configured_again_while_draining_comes_back_as_it_was() {
    // With checks this time: B passed its first check before it was removed.
    let mut d = Director::new(config(vec![checked(A, 2), checked(B, 1)], 300), t(0), 1);
    let mut now = t(0);
    while now < t(5) {
        while let Some(p) = d.poll_probe(now) {
            d.handle_outcome(p.id, Outcome::Up, now);
        }
        now = d.poll_timeout().unwrap().max(now.plus_millis(1));
    }
    let mut k = Kernel::new();
    k.apply(&d);
    d.handle_reload(config(vec![checked(A, 2)], 300), t(10));
    k.apply(&d);
    let table = k.with_counts(B, (3, 0, 0));
    d.handle_table(&table, t(11));
    decisions(&mut d);
    assert_eq!(weights(&d), w(&[(A, 2), (B, 0)]));

    // Configured again, with another weight: back up at once, with no probe needed.
    d.handle_reload(config(vec![checked(A, 2), checked(B, 4)], 300), t(12));
    assert_eq!(weights(&d), w(&[(A, 2), (B, 4)]));
    let st = status_of(&d, B);
    assert_eq!((st.health, st.drain), (Health::Up, None));
    assert!(decisions(&mut d).iter().any(|m| m.contains("configured again while draining")));
    assert!(d.draining().is_empty());
    assert_eq!(k.apply(&d), "-e -t 10.0.0.1:80 -r 192.168.1.3:80 -m -w 4\n");
    // Its timeout no longer counts.
    d.handle_timeout(t(400));
    assert_eq!(weights(&d), w(&[(A, 2), (B, 4)]));
}

#[test]
fn a_server_deleted_by_hand_while_draining_is_not_put_back() {
    let (mut d, mut k) = removed_b(300);
    k.apply(&d);
    k.0.delete_destination(&vip(), &sa(B).into()).unwrap();
    let table = k.entries();
    d.handle_table(&table, t(20));
    assert_eq!(weights(&d), w(&[(A, 2)]));
    assert!(decisions(&mut d).iter().any(|m| m.contains("drained (no longer in the kernel's table)")));
    assert!(k.apply(&d).is_empty());
}

#[test]
fn a_read_without_the_service_tells_nothing() {
    let (mut d, _k) = removed_b(300);
    d.handle_table(&[], t(20));
    assert_eq!(weights(&d), w(&[(A, 2), (B, 0)]));
}

#[test]
fn udp_counts_inactive_connections_and_persistence_counts_templates() {
    let udp = ServiceKey::udp("10.0.0.1".parse().unwrap(), 53);
    let (a, b) = ("192.168.1.2:53", "192.168.1.3:53");
    let mut d = Director::new(config_for(udp, vec![real(a, 1), real(b, 1)], 300), t(0), 1);
    let mut k = Kernel::new();
    k.apply(&d);
    d.handle_reload(config_for(udp, vec![real(a, 1)], 300), t(1));
    k.apply(&d);
    let table = k.with_counts(b, (0, 3, 0));
    d.handle_table(&table, t(2));
    assert_eq!(weights(&d), w(&[(a, 1), (b, 0)]), "UDP flows are inactive in IPVS: they count");
    let table = k.with_counts(b, (0, 0, 0));
    d.handle_table(&table, t(3));
    assert_eq!(weights(&d), w(&[(a, 1)]));

    // A persistent TCP service waits for its persistence templates too.
    let mut cfg = config(vec![real(A, 1), real(B, 1)], 300);
    cfg.virtuals[0].service = service(vip()).with_persistence(300, None);
    let mut d = Director::new(cfg.clone(), t(0), 1);
    let mut k = Kernel::new();
    k.apply(&d);
    cfg.virtuals[0].reals.pop();
    d.handle_reload(cfg, t(1));
    k.apply(&d);
    let table = k.with_counts(B, (0, 0, 2));
    d.handle_table(&table, t(2));
    assert_eq!(weights(&d), w(&[(A, 1), (B, 0)]), "two clients would come back to it");
    let table = k.with_counts(B, (0, 0, 0));
    d.handle_table(&table, t(3));
    assert_eq!(weights(&d), w(&[(A, 1)]));
}

#[test]
fn a_server_that_was_not_in_the_table_is_not_drained() {
    let mut d = Director::new(config(vec![real(A, 2), checked(B, 1)], 300), t(0), 1);
    // B fails its first check: out of the table (quiescent = no).
    let now = d.poll_timeout().unwrap();
    let p = d.poll_probe(now).unwrap();
    d.handle_outcome(p.id, Outcome::Down("refused".into()), now);
    assert_eq!(weights(&d), w(&[(A, 2)]));
    d.handle_reload(config(vec![real(A, 2)], 300), t(10));
    assert_eq!(weights(&d), w(&[(A, 2)]));
    assert!(d.draining().is_empty());
}

#[test]
fn removing_the_virtual_service_ends_its_drains() {
    let (mut d, mut k) = removed_b(300);
    k.apply(&d);
    let other = ServiceKey::tcp("10.0.0.2".parse().unwrap(), 80);
    d.handle_reload(config_for(other, vec![real(A, 1)], 300), t(20));
    assert!(d.draining().is_empty());
    assert_eq!(d.owned(), [other, vip()]);
    assert_eq!(
        k.apply(&d),
        "-D -t 10.0.0.1:80\n-A -t 10.0.0.2:80 -s wrr\n-a -t 10.0.0.2:80 -r 192.168.1.2:80 -m -w 1\n"
    );
    // And the drain's timeout does not come back.
    assert_eq!(d.poll_timeout(), None);
}

#[test]
fn maintenance_drains_an_up_server_and_leaves_a_quiesced_one_at_weight_zero() {
    let mut d = Director::new(config(vec![real(A, 2), real(B, 1)], 300), t(0), 1);
    let mut k = Kernel::new();
    k.apply(&d);
    let b_ip = sa(B).ip();
    d.handle_maintenance(&[(b_ip, None)], t(5));
    assert_eq!(weights(&d), w(&[(A, 2), (B, 0)]));
    let st = status_of(&d, B);
    assert_eq!(st.health, Health::Draining);
    assert!(!st.drain.unwrap().removed);
    assert!(decisions(&mut d).iter().any(|m| m.contains("in maintenance, draining at weight 0")));
    assert_eq!(d.draining(), [vip()]);
    k.apply(&d);
    let table = k.with_counts(B, (1, 0, 0));
    d.handle_table(&table, t(6));
    assert_eq!(weights(&d), w(&[(A, 2), (B, 0)]));
    let table = k.with_counts(B, (0, 0, 0));
    d.handle_table(&table, t(7));
    assert_eq!(weights(&d), w(&[(A, 2)]));
    assert_eq!(status_of(&d, B).health, Health::Maintenance);
    assert_eq!(k.apply(&d), "-d -t 10.0.0.1:80 -r 192.168.1.3:80\n");
    // Out of maintenance: back (no checks: up at once).
    d.handle_maintenance(&[], t(8));
    assert_eq!(weights(&d), w(&[(A, 2), (B, 1)]));

    // Quiescent: maintenance keeps it at weight 0 anyway, no drain to end.
    let mut cfg = config(vec![real(A, 2), real(B, 1)], 300);
    cfg.virtuals[0].on_failure = OnFailure::Quiesce;
    let mut d = Director::new(cfg, t(0), 1);
    d.handle_maintenance(&[(b_ip, None)], t(5));
    assert_eq!(weights(&d), w(&[(A, 2), (B, 0)]));
    assert_eq!(status_of(&d, B).health, Health::Maintenance);
    assert!(d.draining().is_empty());
}

#[test]
fn a_server_leaving_maintenance_while_draining_stops_draining() {
    let mut d = Director::new(config(vec![real(A, 2), real(B, 1)], 300), t(0), 1);
    d.handle_maintenance(&[(sa(B).ip(), None)], t(5));
    assert_eq!(status_of(&d, B).health, Health::Draining);
    d.handle_maintenance(&[], t(6));
    assert_eq!((status_of(&d, B).health, status_of(&d, B).drain), (Health::Up, None));
    assert_eq!(d.poll_timeout(), None);
}

#[test]
fn resume_takes_the_kernels_table_and_drains_what_is_not_configured() {
    // keepalived with alpha: Director::new would start every server down.
    let mut cfg = config(vec![checked(A, 2), checked(B, 1)], 300);
    cfg.dialect = Dialect::Keepalived;
    cfg.virtuals[0].start = StartState::Down;
    cfg.virtuals[0].reals[1].start = Some(StartState::Down);
    let other = ServiceKey::tcp("10.0.0.2".parse().unwrap(), 80);
    let mut v2 = VirtualService::new(service(other), Origin::default());
    v2.reals.push(checked("192.168.1.4:80", 1));
    v2.start = StartState::Down;
    cfg.virtuals.push(v2);

    // The kernel as a killed director left it: A at 2, B not in (it was down), and C, which
    // the configuration no longer has, with live connections; the other service absent.
    let c = "192.168.1.9:80";
    let mut k = Kernel::new();
    k.0.add_service(&service(vip())).unwrap();
    k.0.add_destination(&vip(), &dest(A, 2)).unwrap();
    k.0.add_destination(&vip(), &dest(c, 1)).unwrap();
    let table = k.with_counts(c, (4, 0, 0));

    let mut d = Director::resume(cfg.clone(), &table, t(0), 1);
    let st = d.status();
    let h: Vec<_> = st[0].reals.iter().map(|r| (r.key.to_string(), r.health)).collect();
    assert_eq!(
        h,
        [(A.to_string(), Health::Up), (B.to_string(), Health::Unknown), (c.to_string(), Health::Draining)]
    );
    assert_eq!(st[0].reals[2].drain.unwrap().connections, Some(4));
    assert_eq!(st[1].reals[0].health, Health::Unknown, "a service not in the kernel starts as configured");
    assert!(decisions(&mut d)
        .iter()
        .any(|m| m.contains("in the kernel's table but not configured: draining")));
    assert_eq!(
        k.apply(&d),
        "-e -t 10.0.0.1:80 -r 192.168.1.9:80 -m -w 0\n-A -t 10.0.0.2:80 -s wrr\n",
        "nothing deleted, nothing re-added, A untouched"
    );

    // The same table with nothing unconfigured: a restart plans nothing at all.
    let mut k = Kernel::new();
    k.0.add_service(&service(vip())).unwrap();
    k.0.add_destination(&vip(), &dest(A, 2)).unwrap();
    k.0.add_destination(&vip(), &dest(B, 1)).unwrap();
    let table = k.entries();
    let d = Director::resume(cfg.clone(), &table, t(0), 1);
    let desired = d.desired();
    assert!(plan(&table, &desired[..1]).unwrap().is_empty());
    // Without draining, the unconfigured server is deleted at once.
    let mut cfg0 = cfg;
    cfg0.options.drain_timeout = Duration::ZERO;
    let mut k = Kernel::new();
    k.0.add_service(&service(vip())).unwrap();
    k.0.add_destination(&vip(), &dest(A, 2)).unwrap();
    k.0.add_destination(&vip(), &dest(c, 1)).unwrap();
    let table = k.entries();
    let d = Director::resume(cfg0, &table, t(0), 1);
    assert_eq!(plan(&table, &d.desired()[..1]).unwrap().to_string(), "-d -t 10.0.0.1:80 -r 192.168.1.9:80\n");
}

#[test]
fn resume_keeps_the_sorry_server_that_is_in() {
    let mut cfg = config(vec![checked(A, 1)], 300);
    cfg.virtuals[0].sorry = Some(dest("127.0.0.1:80", 1));
    cfg.virtuals[0].start = StartState::FromTable;
    let mut k = Kernel::new();
    k.0.add_service(&service(vip())).unwrap();
    k.0.add_destination(&vip(), &dest("127.0.0.1:80", 1)).unwrap();
    let table = k.entries();
    let d = Director::resume(cfg, &table, t(0), 1);
    assert!(d.draining().is_empty(), "the sorry server is configured");
    assert!(plan(&table, &d.desired()).unwrap().is_empty());
}
