//! The in-memory table against the kernel's rules: every error path and its kind, dest order,
//! SET_DEST resetting tunnel fields, HASHED, timeouts, daemons, info, zero.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;

use ipvs_core::table::{MemoryBackend, TableConfig};
use ipvs_core::{
    AddressFamily, Backend, Destination, DestinationKey, Error, ErrorKind, Field, ForwardMethod, Netmask,
    Object, OnError, Operation, PeName, Scheduler, Service, ServiceFlags, ServiceKey, SyncDaemon, SyncRole,
    Timeouts, Tunnel, TunnelFlags, ValidationError,
};

fn key() -> ServiceKey {
    ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80)
}

fn rs(s: &str) -> Destination {
    Destination::new(s.parse().unwrap()).with_forward(ForwardMethod::Masquerade)
}

fn table_with_service(s: Scheduler) -> MemoryBackend {
    let mut t = MemoryBackend::new();
    t.add_service(&Service::new(key()).with_scheduler(s)).unwrap();
    t
}

#[test]
fn service_errors() {
    let mut t = table_with_service(Scheduler::Wlc);
    assert_eq!(t.add_service(&Service::new(key())), Err(Error::exists(Object::Service)));
    // EEXIST is checked before the scheduler lookup.
    assert_eq!(
        t.add_service(&Service::new(key()).with_scheduler(Scheduler::Twos)),
        Err(Error::exists(Object::Service))
    );
    let other = ServiceKey::udp("10.0.0.1".parse().unwrap(), 80);
    assert_eq!(t.edit_service(&Service::new(other)), Err(Error::not_found(Object::Service)));
    assert_eq!(t.delete_service(&other), Err(Error::not_found(Object::Service)));
    assert_eq!(t.zero(Some(&other)), Err(Error::not_found(Object::Service)));
    assert_eq!(t.service(&other), Err(Error::not_found(Object::Service)));
    // The errno is the kernel's for a missing service: ESRCH.
    let e = t.delete_service(&other).unwrap_err();
    assert_eq!((e.kind(), e.errno()), (ErrorKind::NotFound(Object::Service), Some(3)));
    let e = t.add_service(&Service::new(key())).unwrap_err();
    assert_eq!((e.kind(), e.errno()), (ErrorKind::Exists(Object::Service), Some(17)));
    assert_eq!(t.destinations(&other), Ok(vec![]));
    for s in [Scheduler::Twos, Scheduler::from("nope")] {
        assert_eq!(
            t.add_service(&Service::new(other).with_scheduler(s.clone())),
            Err(Error::scheduler_or_engine_not_found())
        );
        assert_eq!(
            t.edit_service(&Service::new(key()).with_scheduler(s)),
            Err(Error::scheduler_or_engine_not_found())
        );
    }
    let e = t.edit_service(&Service::new(key()).with_scheduler(Scheduler::Twos)).unwrap_err();
    assert_eq!((e.kind(), e.errno()), (ErrorKind::SchedulerOrEngineNotFound, Some(2)));
    // A failed edit leaves the service as it was.
    assert_eq!(t.service(&key()).unwrap().service.scheduler, Scheduler::Wlc);
    let pe = Service::new(other).with_persistence(60, None).with_pe(PeName::new("nope").unwrap());
    assert_eq!(t.add_service(&pe), Err(Error::scheduler_or_engine_not_found()));
    assert_eq!(t.service(&other), Err(Error::not_found(Object::Service)));
    let sip = Service::new(other).with_persistence(60, None).with_pe(PeName::sip());
    t.add_service(&sip).unwrap();
    let added = t.service(&other).unwrap().service;
    assert_eq!(
        (added.pe_name, added.timeout, added.flags - ServiceFlags::HASHED),
        (Some(PeName::sip()), 60, ServiceFlags::PERSISTENT)
    );
    // "none" binds no scheduler and is listed as none.
    let none = ServiceKey::fwmark(7, AddressFamily::Inet);
    t.add_service(&Service::new(none).with_scheduler(Scheduler::Unbound)).unwrap();
    assert_eq!(t.service(&none).unwrap().service.scheduler, Scheduler::Unbound);
    // Validation comes first.
    let bad = ServiceKey::fwmark(0, AddressFamily::Inet);
    assert_eq!(
        t.add_service(&Service::new(bad)),
        Err(Error::Validation(ValidationError::OutOfRange {
            field: Field::Fwmark,
            value: 0,
            min: 1,
            max: u64::from(u32::MAX),
        }))
    );
    t.delete_service(&other).unwrap();
    let keys: Vec<ServiceKey> = t.services().unwrap().iter().map(|s| s.service.key).collect();
    assert_eq!(keys, [key(), none]);
}

#[test]
fn twos_available_when_configured() {
    let mut cfg = TableConfig::default();
    cfg.schedulers.push(Scheduler::Twos);
    let mut t = MemoryBackend::with_config(cfg);
    t.add_service(&Service::new(key()).with_scheduler(Scheduler::Twos)).unwrap();
    assert_eq!(t.service(&key()).unwrap().service.scheduler, Scheduler::Twos);
}

#[test]
fn dest_errors_and_order() {
    let mut t = table_with_service(Scheduler::Rr);
    let other = ServiceKey::udp("10.0.0.1".parse().unwrap(), 80);
    assert_eq!(t.add_destination(&other, &rs("192.168.1.1:80")), Err(Error::not_found(Object::Service)));
    t.add_destination(&key(), &rs("192.168.1.1:80")).unwrap();
    t.add_destination(&key(), &rs("192.168.1.2:80")).unwrap();
    t.add_destination(&key(), &rs("192.168.1.3:80")).unwrap();
    assert_eq!(t.add_destination(&key(), &rs("192.168.1.2:80")), Err(Error::exists(Object::Destination)));
    assert_eq!(t.edit_destination(&key(), &rs("192.168.1.9:80")), Err(Error::not_found(Object::Destination)));
    let missing = DestinationKey::from("192.168.1.9:80".parse::<std::net::SocketAddr>().unwrap());
    assert_eq!(t.delete_destination(&key(), &missing), Err(Error::not_found(Object::Destination)));
    assert_eq!(t.edit_destination(&other, &rs("192.168.1.1:80")), Err(Error::not_found(Object::Service)));
    assert_eq!(t.delete_destination(&other, &missing), Err(Error::not_found(Object::Service)));
    // ENOENT for a missing real server, ESRCH for a missing service, EEXIST for a duplicate.
    let e = t.delete_destination(&key(), &missing).unwrap_err();
    assert_eq!((e.kind(), e.errno()), (ErrorKind::NotFound(Object::Destination), Some(2)));
    let e = t.delete_destination(&other, &missing).unwrap_err();
    assert_eq!((e.kind(), e.errno()), (ErrorKind::NotFound(Object::Service), Some(3)));
    let e = t.add_destination(&key(), &rs("192.168.1.2:80")).unwrap_err();
    assert_eq!((e.kind(), e.errno()), (ErrorKind::Exists(Object::Destination), Some(17)));
    let order: Vec<String> =
        t.destinations(&key()).unwrap().iter().map(|d| d.dest.addr.to_string()).collect();
    assert_eq!(order, ["192.168.1.3", "192.168.1.2", "192.168.1.1"]);
    // Editing does not move a dest; deleting removes it.
    t.edit_destination(&key(), &rs("192.168.1.1:80").with_weight(5)).unwrap();
    t.delete_destination(&key(), &"192.168.1.2:80".parse::<std::net::SocketAddr>().unwrap().into()).unwrap();
    let ds = t.destinations(&key()).unwrap();
    let order: Vec<String> = ds.iter().map(|d| d.dest.addr.to_string()).collect();
    assert_eq!(order, ["192.168.1.3", "192.168.1.1"]);
    assert_eq!(ds[1].dest.weight, 5);
    // Re-adding puts it at the head again.
    t.add_destination(&key(), &rs("192.168.1.2:80")).unwrap();
    assert_eq!(t.destinations(&key()).unwrap()[0].dest.addr.to_string(), "192.168.1.2");
    // Same address, other port: a different dest.
    t.add_destination(&key(), &rs("192.168.1.2:81")).unwrap();
    let listed: Vec<String> =
        t.destinations(&key()).unwrap().iter().map(|d| d.dest.key().to_string()).collect();
    assert_eq!(listed, ["192.168.1.2:81", "192.168.1.2:80", "192.168.1.3:80", "192.168.1.1:80"]);
}

#[test]
fn dest_address_and_family_rules() {
    let mut t = table_with_service(Scheduler::Wlc);
    // 0.1.2.3 is unicast to inet_addr_type (seen on the 6.1.192 VM); link-local IPv6 must be local.
    t.add_destination(&key(), &rs("0.1.2.3:80")).unwrap();
    assert_eq!(t.destinations(&key()).unwrap()[0].dest, rs("0.1.2.3:80"));
    let v6 = ServiceKey::tcp("2001:db8::1".parse().unwrap(), 80);
    t.add_service(&Service::new(v6)).unwrap();
    assert_eq!(t.add_destination(&v6, &rs("[fe80::1]:80")), Err(Error::invalid(22)));
    assert_eq!(t.destinations(&v6), Ok(vec![]));
    // Mixed family: only tunnel (validation), and not while a sync daemon runs.
    assert_eq!(
        t.add_destination(&key(), &rs("[2001:db8::2]:80")),
        Err(Error::Validation(ValidationError::FamilyMismatch {
            field: Field::DestinationAddress,
            expected: AddressFamily::Inet,
            got: AddressFamily::Inet6,
        }))
    );
    let tun = Destination::new("[2001:db8::2]:80".parse().unwrap()).with_forward(ForwardMethod::Tunnel);
    t.add_destination(&key(), &tun).unwrap();
    assert_eq!(t.destinations(&key()).unwrap()[0].dest, tun);
    assert_eq!(t.start_daemon(&SyncDaemon::new(SyncRole::Master, "eth0", 1)), Err(Error::invalid(22)));
    assert_eq!(t.daemons(), Ok(vec![]));
    t.delete_destination(&key(), &tun.key()).unwrap();
    t.start_daemon(&SyncDaemon::new(SyncRole::Master, "eth0", 1)).unwrap();
    let ds = t.daemons().unwrap();
    assert_eq!(
        ds.iter().map(|d| (d.role, d.interface.as_bytes(), d.sync_id)).collect::<Vec<_>>(),
        vec![(SyncRole::Master, &b"eth0"[..], 1)]
    );
    let tun2 = Destination::new("[2001:db8::3]:80".parse().unwrap()).with_forward(ForwardMethod::Tunnel);
    assert_eq!(t.add_destination(&key(), &tun2), Err(Error::invalid(22)));
}

#[test]
fn set_dest_resets_tunnel_fields() {
    let mut t = table_with_service(Scheduler::Wlc);
    let gue = Destination::new("192.168.1.1:80".parse().unwrap())
        .with_forward(ForwardMethod::Tunnel)
        .with_tunnel(Tunnel::gue(6080).with_flags(TunnelFlags::CSUM));
    t.add_destination(&key(), &gue).unwrap();
    assert_eq!(t.destinations(&key()).unwrap()[0].dest.tunnel.port, 6080);
    let plain = Destination::new("192.168.1.1:80".parse().unwrap())
        .with_forward(ForwardMethod::Tunnel)
        .with_weight(3);
    t.edit_destination(&key(), &plain).unwrap();
    let d = &t.destinations(&key()).unwrap()[0].dest;
    assert_eq!(d.tunnel, Tunnel::default());
    assert_eq!(d.weight, 3);
    assert_eq!(d.forward, ForwardMethod::Tunnel);
}

#[test]
fn hashed_flag_and_edit_semantics() {
    let mut t = MemoryBackend::new();
    let svc = Service::new(key())
        .with_scheduler(Scheduler::Sh)
        .with_flags(ServiceFlags::SH_PORT | ServiceFlags::HASHED);
    t.add_service(&svc).unwrap();
    let st = t.service(&key()).unwrap();
    assert!(st.service.flags.contains(ServiceFlags::HASHED));
    assert_eq!(st.service.flags - ServiceFlags::HASHED, ServiceFlags::SH_PORT);
    // An edit replaces flags, timeout, netmask and PE; HASHED stays.
    let edited = Service::new(key()).with_scheduler(Scheduler::Sh).with_persistence(100, None);
    t.edit_service(&edited).unwrap();
    let st = t.service(&key()).unwrap().service;
    assert_eq!(st.flags, ServiceFlags::PERSISTENT | ServiceFlags::HASHED);
    assert_eq!(st.timeout, 100);
    assert_eq!(st.netmask, Netmask::full(AddressFamily::Inet));
    let listed = t.services().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].service.scheduler, Scheduler::Sh);
}

#[test]
fn mh_with_too_many_dests_fails_to_bind() {
    let mut t = table_with_service(Scheduler::Rr);
    for i in 0..=4093u32 {
        let a = IpAddr::from([10, 1, (i >> 8) as u8, i as u8]);
        t.add_destination(&key(), &Destination::new(std::net::SocketAddr::new(a, 80))).unwrap();
    }
    let r = t.edit_service(&Service::new(key()).with_scheduler(Scheduler::Mh));
    assert_eq!(r, Err(Error::invalid(22)));
    // The old scheduler is bound again.
    assert_eq!(t.service(&key()).unwrap().service.scheduler, Scheduler::Rr);
}

#[test]
fn timeouts_daemons_info_zero_flush() {
    let mut t = MemoryBackend::new();
    assert_eq!(t.timeouts().unwrap(), Timeouts::new(900, 120, 300));
    assert_eq!(t.timeouts().unwrap(), Timeouts::DEFAULT);
    t.set_timeouts(&Timeouts::new(0, 30, 0)).unwrap();
    assert_eq!(t.timeouts().unwrap(), Timeouts::new(900, 30, 300));
    assert_eq!(
        t.set_timeouts(&Timeouts::new(u32::MAX, 0, 0)),
        Err(Error::Validation(ValidationError::OutOfRange {
            field: Field::TimeoutTcp,
            value: u64::from(u32::MAX),
            min: 0,
            max: u64::from(Timeouts::MAX),
        }))
    );
    // A refused change changes nothing.
    assert_eq!(t.timeouts().unwrap(), Timeouts::new(900, 30, 300));
    let info = t.info().unwrap();
    assert_eq!((info.version, info.conn_tab_size), (0x010201, 4096));

    assert_eq!(t.stop_daemon(SyncRole::Master), Err(Error::not_found(Object::SyncDaemon)));
    assert_eq!(t.stop_daemon(SyncRole::Master).unwrap_err().errno(), Some(3));
    t.start_daemon(&SyncDaemon::new(SyncRole::Backup, "eth1", 3)).unwrap();
    t.start_daemon(&SyncDaemon::new(SyncRole::Master, "eth0", 9)).unwrap();
    assert_eq!(
        t.start_daemon(&SyncDaemon::new(SyncRole::Master, "eth0", 1)),
        Err(Error::exists(Object::SyncDaemon))
    );
    // The kernel fills in what was left out: group 224.0.0.81, port 8848, TTL 1, and a max_len
    // of the MTU (1500) less the IPv4 and UDP headers.
    let default_group = "224.0.0.81".parse().unwrap();
    let ds = t.daemons().unwrap();
    assert_eq!(
        ds,
        vec![
            SyncDaemon::new(SyncRole::Master, "eth0", 9)
                .with_max_len(1472)
                .with_group(default_group)
                .with_port(8848)
                .with_ttl(1),
            SyncDaemon::new(SyncRole::Backup, "eth1", 3)
                .with_max_len(1472)
                .with_group(default_group)
                .with_port(8848)
                .with_ttl(1),
        ]
    );
    assert_eq!(ds[0].interface, "eth0");
    t.stop_daemon(SyncRole::Master).unwrap();
    let left: Vec<(SyncRole, u32)> = t.daemons().unwrap().iter().map(|d| (d.role, d.sync_id)).collect();
    assert_eq!(left, [(SyncRole::Backup, 3)]);
    let cfg = TableConfig { interfaces: Some(vec!["eth0".into()]), ..TableConfig::default() };
    let mut t2 = MemoryBackend::with_config(cfg);
    assert_eq!(
        t2.start_daemon(&SyncDaemon::new(SyncRole::Master, "eth9", 1)),
        Err(Error::not_found(Object::Interface))
    );
    assert_eq!(t2.start_daemon(&SyncDaemon::new(SyncRole::Master, "eth9", 1)).unwrap_err().errno(), Some(19));
    t2.start_daemon(&SyncDaemon::new(SyncRole::Master, "eth0", 1)).unwrap();
    assert_eq!(t2.daemons().unwrap()[0].interface, "eth0");

    t.add_service(&Service::new(key())).unwrap();
    t.zero(None).unwrap();
    t.zero(Some(&key())).unwrap();
    t.flush().unwrap();
    assert!(t.services().unwrap().is_empty());
    // OnError::Stop: nothing after the first failure is attempted; Continue attempts all.
    let ops = [Operation::Flush, Operation::DeleteService(key()), Operation::Flush];
    let r = t.apply_all(&ops, OnError::Stop);
    assert_eq!(r, vec![Ok(()), Err(Error::not_found(Object::Service))]);
    let r = t.apply_all(&ops, OnError::Continue);
    assert_eq!(r, vec![Ok(()), Err(Error::not_found(Object::Service)), Ok(())]);
}

#[test]
fn edit_same_scheduler_keeps_state_other_resets() {
    let mut t = table_with_service(Scheduler::Rr);
    for a in ["192.168.1.1:80", "192.168.1.2:80"] {
        t.add_destination(&key(), &rs(a)).unwrap();
    }
    let mut sim = ipvs_core::sim::Simulator::from_table(t.into_table(), 0);
    let f = |port: u16| {
        ipvs_core::sim::Flow::tcp(
            ipvs_core::sched::Time::ZERO,
            format!("198.51.100.1:{port}").parse().unwrap(),
            "10.0.0.1:80".parse().unwrap(),
        )
    };
    let first = sim.flow(&f(1000)).dest().unwrap();
    assert_eq!(first.addr.to_string(), "192.168.1.2");
    // Same scheduler: cursor kept -> next is .1.
    sim.apply(
        ipvs_core::sched::Time::ZERO,
        &Operation::EditService(Service::new(key()).with_scheduler(Scheduler::Rr)),
    )
    .unwrap();
    assert_eq!(sim.flow(&f(1001)).dest().unwrap().addr.to_string(), "192.168.1.1");
    // Another scheduler and back: state re-initialised -> starts at the head (.2).
    sim.apply(
        ipvs_core::sched::Time::ZERO,
        &Operation::EditService(Service::new(key()).with_scheduler(Scheduler::Wrr)),
    )
    .unwrap();
    sim.apply(
        ipvs_core::sched::Time::ZERO,
        &Operation::EditService(Service::new(key()).with_scheduler(Scheduler::Rr)),
    )
    .unwrap();
    assert_eq!(sim.flow(&f(1002)).dest().unwrap().addr.to_string(), "192.168.1.2");
}

/// A backend whose real-server reads fail for some services: with `NotFound(Service)`, as when
/// a service is deleted while a walk goes on, or with another error.
struct GoneDuringWalk {
    inner: MemoryBackend,
    gone: Vec<ServiceKey>,
    broken: Vec<ServiceKey>,
}

impl Backend for GoneDuringWalk {
    fn info(&mut self) -> ipvs_core::Result<ipvs_core::Info> {
        self.inner.info()
    }
    fn services(&mut self) -> ipvs_core::Result<Vec<ipvs_core::ServiceStatus>> {
        self.inner.services()
    }
    fn service(&mut self, key: &ServiceKey) -> ipvs_core::Result<ipvs_core::ServiceStatus> {
        self.inner.service(key)
    }
    fn destinations(&mut self, key: &ServiceKey) -> ipvs_core::Result<Vec<ipvs_core::DestinationStatus>> {
        if self.gone.contains(key) {
            return Err(Error::not_found(Object::Service));
        }
        if self.broken.contains(key) {
            return Err(Error::os(105, "reading real servers"));
        }
        self.inner.destinations(key)
    }
    fn timeouts(&mut self) -> ipvs_core::Result<Timeouts> {
        self.inner.timeouts()
    }
    fn daemons(&mut self) -> ipvs_core::Result<Vec<SyncDaemon>> {
        self.inner.daemons()
    }
    fn apply(&mut self, op: &Operation) -> ipvs_core::Result<()> {
        self.inner.apply(op)
    }
}

#[test]
fn walking_the_table() {
    let k = |port| ServiceKey::tcp("10.0.0.1".parse().unwrap(), port);
    let mut t = MemoryBackend::new();
    for port in [1, 2, 3] {
        t.add_service(&Service::new(k(port))).unwrap();
    }
    t.add_destination(&k(2), &rs("192.168.1.1:80")).unwrap();
    t.add_destination(&k(2), &rs("192.168.1.2:80")).unwrap();
    let walk = |b: &mut dyn Backend| {
        let mut seen = Vec::new();
        b.for_each_service_with_destinations(&mut |s, ds| {
            seen.push((
                s.service.key.port(),
                ds.iter().map(|d| d.dest.key().to_string()).collect::<Vec<_>>(),
            ));
            std::ops::ControlFlow::Continue(())
        })
        .map(|()| seen)
    };
    let all = walk(&mut t).unwrap();
    assert_eq!(
        all,
        vec![(1, vec![]), (2, vec!["192.168.1.2:80".to_string(), "192.168.1.1:80".to_string()]), (3, vec![])]
    );
    // services_with_destinations is the whole walk.
    let listed: Vec<(u16, usize)> = t
        .services_with_destinations()
        .unwrap()
        .iter()
        .map(|(s, ds)| (s.service.key.port(), ds.len()))
        .collect();
    assert_eq!(listed, [(1, 0), (2, 2), (3, 0)]);
    // Break stops the walk.
    let mut seen = Vec::new();
    t.for_each_service_with_destinations(&mut |s, _| {
        seen.push(s.service.key.port());
        if seen.len() == 2 {
            std::ops::ControlFlow::Break(())
        } else {
            std::ops::ControlFlow::Continue(())
        }
    })
    .unwrap();
    assert_eq!(seen, [1, 2]);
    // The fallible form returns the callback's error and stops there.
    let mut seen = Vec::new();
    let r: Result<(), Error> = t.try_for_each_service_with_destinations(|s, _| {
        seen.push(s.service.key.port());
        if s.service.key.port() == 2 {
            Err(Error::NotSupported)
        } else {
            Ok(())
        }
    });
    assert_eq!((r, seen), (Err(Error::NotSupported), vec![1, 2]));
    // The default walk leaves out a service that is gone by the time its real servers are
    // read, and stops at any other error.
    let mut g = GoneDuringWalk { inner: t, gone: vec![k(2)], broken: vec![] };
    assert_eq!(walk(&mut g).unwrap(), vec![(1, vec![]), (3, vec![])]);
    g.broken.push(k(3));
    assert_eq!(walk(&mut g), Err(Error::os(105, "reading real servers")));
    let r: Result<(), Error> = g.try_for_each_service_with_destinations(|_, _| Ok(()));
    assert_eq!(r, Err(Error::os(105, "reading real servers")));
}
