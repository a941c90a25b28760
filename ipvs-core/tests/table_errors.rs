//! The in-memory table against the kernel's rules: every error path and its kind, dest order,
//! SET_DEST resetting tunnel fields, HASHED, timeouts, daemons, info, zero.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;

use ipvs_core::table::{MemoryBackend, TableConfig};
use ipvs_core::{
    AddressFamily, Backend, Destination, DestinationKey, Error, ForwardMethod, Netmask, Object, Operation,
    PeName, Scheduler, Service, ServiceFlags, ServiceKey, SyncDaemon, SyncRole, Timeouts, Tunnel,
    TunnelFlags, TunnelType,
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
    assert_eq!(t.add_service(&Service::new(key())), Err(Error::Exists(Object::Service)));
    // EEXIST is checked before the scheduler lookup.
    assert_eq!(
        t.add_service(&Service::new(key()).with_scheduler(Scheduler::Twos)),
        Err(Error::Exists(Object::Service))
    );
    let other = ServiceKey::udp("10.0.0.1".parse().unwrap(), 80);
    assert_eq!(t.edit_service(&Service::new(other)), Err(Error::NotFound(Object::Service)));
    assert_eq!(t.delete_service(&other), Err(Error::NotFound(Object::Service)));
    assert_eq!(t.zero(Some(&other)), Err(Error::NotFound(Object::Service)));
    assert_eq!(t.service(&other), Err(Error::NotFound(Object::Service)));
    assert_eq!(t.destinations(&other), Ok(vec![]));
    for s in [Scheduler::Twos, Scheduler::Other("nope".into())] {
        assert_eq!(
            t.add_service(&Service::new(other).with_scheduler(s.clone())),
            Err(Error::SchedulerOrEngineNotFound)
        );
        assert_eq!(
            t.edit_service(&Service::new(key()).with_scheduler(s)),
            Err(Error::SchedulerOrEngineNotFound)
        );
    }
    let pe = Service::new(other).with_persistence(60, None).with_pe(PeName::new("nope").unwrap());
    assert_eq!(t.add_service(&pe), Err(Error::SchedulerOrEngineNotFound));
    let sip = Service::new(other).with_persistence(60, None).with_pe(PeName::sip());
    t.add_service(&sip).unwrap();
    // "none" binds no scheduler and is listed as none.
    let none = ServiceKey::fwmark(7, AddressFamily::Inet);
    t.add_service(&Service::new(none).with_scheduler(Scheduler::Unbound)).unwrap();
    assert_eq!(t.service(&none).unwrap().service.scheduler, Scheduler::Unbound);
    // Validation comes first.
    let bad = ServiceKey::fwmark(0, AddressFamily::Inet);
    assert!(matches!(t.add_service(&Service::new(bad)), Err(Error::Validation(_))));
    t.delete_service(&other).unwrap();
    assert_eq!(t.services().unwrap().len(), 2);
}

#[test]
fn twos_available_when_configured() {
    let mut cfg = TableConfig::default();
    cfg.schedulers.push(Scheduler::Twos);
    let mut t = MemoryBackend::with_config(cfg);
    t.add_service(&Service::new(key()).with_scheduler(Scheduler::Twos)).unwrap();
}

#[test]
fn dest_errors_and_order() {
    let mut t = table_with_service(Scheduler::Rr);
    let other = ServiceKey::udp("10.0.0.1".parse().unwrap(), 80);
    assert_eq!(t.add_destination(&other, &rs("192.168.1.1:80")), Err(Error::NotFound(Object::Service)));
    t.add_destination(&key(), &rs("192.168.1.1:80")).unwrap();
    t.add_destination(&key(), &rs("192.168.1.2:80")).unwrap();
    t.add_destination(&key(), &rs("192.168.1.3:80")).unwrap();
    assert_eq!(t.add_destination(&key(), &rs("192.168.1.2:80")), Err(Error::Exists(Object::Destination)));
    assert_eq!(t.edit_destination(&key(), &rs("192.168.1.9:80")), Err(Error::NotFound(Object::Destination)));
    let missing = DestinationKey::from("192.168.1.9:80".parse::<std::net::SocketAddr>().unwrap());
    assert_eq!(t.delete_destination(&key(), &missing), Err(Error::NotFound(Object::Destination)));
    assert_eq!(t.edit_destination(&other, &rs("192.168.1.1:80")), Err(Error::NotFound(Object::Service)));
    assert_eq!(t.delete_destination(&other, &missing), Err(Error::NotFound(Object::Service)));
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
}

#[test]
fn dest_address_and_family_rules() {
    let mut t = table_with_service(Scheduler::Wlc);
    // 0.1.2.3 is unicast to inet_addr_type (seen on the 6.1.192 VM); link-local IPv6 must be local.
    t.add_destination(&key(), &rs("0.1.2.3:80")).unwrap();
    let v6 = ServiceKey::tcp("2001:db8::1".parse().unwrap(), 80);
    t.add_service(&Service::new(v6)).unwrap();
    assert_eq!(t.add_destination(&v6, &rs("[fe80::1]:80")), Err(Error::Invalid { errno: 22 }));
    // Mixed family: only tunnel (validation), and not while a sync daemon runs.
    assert!(matches!(t.add_destination(&key(), &rs("[2001:db8::2]:80")), Err(Error::Validation(_))));
    let tun = Destination::new("[2001:db8::2]:80".parse().unwrap()).with_forward(ForwardMethod::Tunnel);
    t.add_destination(&key(), &tun).unwrap();
    assert_eq!(
        t.start_daemon(&SyncDaemon::new(SyncRole::Master, "eth0", 1)),
        Err(Error::Invalid { errno: 22 })
    );
    t.delete_destination(&key(), &tun.key()).unwrap();
    t.start_daemon(&SyncDaemon::new(SyncRole::Master, "eth0", 1)).unwrap();
    let tun2 = Destination::new("[2001:db8::3]:80".parse().unwrap()).with_forward(ForwardMethod::Tunnel);
    assert_eq!(t.add_destination(&key(), &tun2), Err(Error::Invalid { errno: 22 }));
}

#[test]
fn set_dest_resets_tunnel_fields() {
    let mut t = table_with_service(Scheduler::Wlc);
    let gue = Destination::new("192.168.1.1:80".parse().unwrap())
        .with_forward(ForwardMethod::Tunnel)
        .with_tunnel(Tunnel { kind: TunnelType::Gue, port: 6080, flags: TunnelFlags::CSUM });
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
    assert_eq!(r, Err(Error::Invalid { errno: 22 }));
    // The old scheduler is bound again.
    assert_eq!(t.service(&key()).unwrap().service.scheduler, Scheduler::Rr);
}

#[test]
fn timeouts_daemons_info_zero_flush() {
    let mut t = MemoryBackend::new();
    assert_eq!(t.timeouts().unwrap(), Timeouts { tcp: 900, tcp_fin: 120, udp: 300 });
    t.set_timeouts(&Timeouts { tcp: 0, tcp_fin: 30, udp: 0 }).unwrap();
    assert_eq!(t.timeouts().unwrap(), Timeouts { tcp: 900, tcp_fin: 30, udp: 300 });
    assert!(matches!(
        t.set_timeouts(&Timeouts { tcp: u32::MAX, tcp_fin: 0, udp: 0 }),
        Err(Error::Validation(_))
    ));
    let info = t.info().unwrap();
    assert_eq!((info.version, info.conn_tab_size), (0x010201, 4096));

    assert_eq!(t.stop_daemon(SyncRole::Master), Err(Error::NotFound(Object::SyncDaemon)));
    t.start_daemon(&SyncDaemon::new(SyncRole::Backup, "eth1", 3)).unwrap();
    t.start_daemon(&SyncDaemon::new(SyncRole::Master, "eth0", 9)).unwrap();
    assert_eq!(
        t.start_daemon(&SyncDaemon::new(SyncRole::Master, "eth0", 1)),
        Err(Error::Exists(Object::SyncDaemon))
    );
    let ds = t.daemons().unwrap();
    assert_eq!(ds.len(), 2);
    assert_eq!(ds[0].role, SyncRole::Master);
    assert_eq!(ds[0].max_len, 1472);
    assert_eq!(ds[0].port, 8848);
    assert_eq!(ds[0].ttl, 1);
    assert_eq!(ds[0].group, Some("224.0.0.81".parse().unwrap()));
    t.stop_daemon(SyncRole::Master).unwrap();
    assert_eq!(t.daemons().unwrap().len(), 1);
    let cfg = TableConfig { interfaces: Some(vec!["eth0".into()]), ..TableConfig::default() };
    let mut t2 = MemoryBackend::with_config(cfg);
    assert_eq!(
        t2.start_daemon(&SyncDaemon::new(SyncRole::Master, "eth9", 1)),
        Err(Error::NotFound(Object::Interface))
    );

    t.add_service(&Service::new(key())).unwrap();
    t.zero(None).unwrap();
    t.zero(Some(&key())).unwrap();
    t.flush().unwrap();
    assert!(t.services().unwrap().is_empty());
    let r = t.apply_all(&[Operation::Flush, Operation::DeleteService(key()), Operation::Flush], true);
    assert_eq!(r.len(), 2);
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
