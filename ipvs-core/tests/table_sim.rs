//! The simulator: connection counting as the kernel counts (UDP inactive, TCP active),
//! timeouts, persistence templates, thresholds with hysteresis, the dest trash, remapping.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use ipvs_core::sched::Time;
use ipvs_core::sim::{DropReason, Flow, Outcome, Segment, Simulator, TemplateUse};
use ipvs_core::{
    AddressFamily, Destination, DestinationKey, DestinationStatus, ForwardMethod, Operation, PeName,
    Scheduler, Service, ServiceFlags, ServiceKey,
};

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn t(s: u64) -> Time {
    Time::from_secs(s)
}

fn setup(key: ServiceKey, svc: Service, dests: &[&str]) -> Simulator {
    let mut sim = Simulator::default();
    sim.apply(Time::ZERO, &Operation::AddService(svc)).unwrap();
    for d in dests {
        let dest = Destination::new(sa(d)).with_forward(ForwardMethod::Masquerade);
        sim.apply(Time::ZERO, &Operation::AddDestination(key, dest)).unwrap();
    }
    sim
}

fn counts(sim: &Simulator, key: &ServiceKey) -> Vec<(u32, u32, u32)> {
    sim.distribution(key)
        .iter()
        .map(|d: &DestinationStatus| (d.active_conns, d.inactive_conns, d.persist_conns))
        .collect()
}

#[test]
fn udp_counts_inactive_tcp_active() {
    let u = ServiceKey::udp("10.0.0.1".parse().unwrap(), 53);
    let mut sim = setup(u, Service::new(u).with_scheduler(Scheduler::Rr), &["192.168.0.1:53"]);
    sim.flow(&Flow::udp(t(1), sa("198.51.100.1:1000"), sa("10.0.0.1:53")));
    sim.flow(&Flow::udp(t(1), sa("198.51.100.1:1001"), sa("10.0.0.1:53")));
    assert_eq!(counts(&sim, &u), [(0, 2, 0)]);
    // Expiry 300 s after the last packet; a reuse re-arms.
    sim.flow(&Flow::udp(t(200), sa("198.51.100.1:1000"), sa("10.0.0.1:53")));
    sim.advance(t(302));
    assert_eq!(counts(&sim, &u), [(0, 1, 0)]);
    sim.advance(t(500));
    assert_eq!(counts(&sim, &u), [(0, 0, 0)]);
    let st = &sim.distribution(&u)[0];
    assert_eq!((st.stats.conns, st.stats.in_packets), (2, 3));

    let k = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80);
    let mut sim = setup(k, Service::new(k).with_scheduler(Scheduler::Rr), &["192.168.0.1:80"]);
    let c = sa("198.51.100.1:2000");
    sim.flow(&Flow::tcp(t(0), c, sa("10.0.0.1:80")));
    assert_eq!(counts(&sim, &k), [(1, 0, 0)]);
    sim.flow(&Flow::tcp(t(1), c, sa("10.0.0.1:80")).with_segment(Segment::Fin));
    assert_eq!(counts(&sim, &k), [(0, 1, 0)]); // CLOSE_WAIT (NAT, input table)
                                               // A SYN alone counts active (SYN_RECV) and expires after 60 s.
    sim.flow(&Flow::tcp(t(2), sa("198.51.100.2:1"), sa("10.0.0.1:80")).with_segment(Segment::Syn));
    assert_eq!(counts(&sim, &k), [(1, 1, 0)]);
    sim.advance(t(70));
    assert_eq!(counts(&sim, &k), [(0, 0, 0)]);
    // An ACK with no connection is not scheduled; a RST neither.
    let ack = Flow::tcp(t(71), sa("198.51.100.3:1"), sa("10.0.0.1:80")).with_segment(Segment::Ack);
    assert_eq!(sim.flow(&ack), Outcome::NotScheduled);
    assert_eq!(sim.flow(&Flow::tcp(t(71), c, sa("10.0.0.9:80"))), Outcome::NotForIpvs);
}

#[test]
fn wlc_counts_totalconns_in_overhead() {
    let k = ServiceKey::udp("10.0.0.1".parse().unwrap(), 53);
    let mut sim = setup(k, Service::new(k), &["192.168.0.1:53", "192.168.0.2:53"]);
    let picks: Vec<String> = (0..4)
        .map(|i| {
            let f = Flow::udp(t(1), sa(&format!("198.51.100.1:{}", 1000 + i)), sa("10.0.0.1:53"));
            sim.flow(&f).dest().unwrap().addr.to_string()
        })
        .collect();
    assert_eq!(picks, ["192.168.0.2", "192.168.0.1", "192.168.0.2", "192.168.0.1"]);
}

#[test]
fn persistence_templates() {
    let k = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 443);
    let svc = Service::new(k)
        .with_scheduler(Scheduler::Rr)
        .with_persistence(100, Some("255.255.255.0".parse().unwrap()));
    let mut sim = setup(k, svc, &["192.168.0.1:443", "192.168.0.2:443"]);
    let vip = sa("10.0.0.1:443");
    let a = sim.flow(&Flow::tcp(t(0), sa("198.51.100.1:1000"), vip));
    let Outcome::New { dest, template: TemplateUse::Created, .. } = a else { panic!("{a:?}") };
    // Same /24, another client and port: same dest via the template.
    let b = sim.flow(&Flow::tcp(t(1), sa("198.51.100.77:2000"), vip));
    assert!(matches!(b, Outcome::New { template: TemplateUse::Reused, dest: d, .. } if d == dest), "{b:?}");
    // Another /24: scheduled (rr moves on).
    let c = sim.flow(&Flow::tcp(t(1), sa("203.0.113.1:2000"), vip));
    assert_ne!(c.dest(), Some(dest));
    let persist: u32 = sim.distribution(&k).iter().map(|d| d.persist_conns).sum();
    assert_eq!(persist, 2);
    // The template outlives its timeout while it controls connections: TCP conns live 900 s,
    // so at t=101 the template timer fires with live conns and is re-armed for 60 s, again and
    // again (101, 161, ..., 881, 941); at 941 its conns are gone and it expires.
    sim.advance(t(899));
    assert_eq!(sim.distribution(&k).iter().map(|d| d.persist_conns).sum::<u32>(), 2);
    sim.advance(t(940));
    assert_eq!(sim.distribution(&k).iter().map(|d| d.persist_conns).sum::<u32>(), 2);
    sim.advance(t(941));
    assert_eq!(sim.distribution(&k).iter().map(|d| d.persist_conns).sum::<u32>(), 0);
    // Quiescing the dest keeps persistent clients on it; deleting it does not.
    let d1 = sim.flow(&Flow::tcp(t(1200), sa("198.51.100.1:1001"), vip)).dest().unwrap();
    let mut quiet =
        Destination::new(SocketAddr::new(d1.addr, d1.port)).with_forward(ForwardMethod::Masquerade);
    quiet.weight = 0;
    sim.apply(t(1201), &Operation::EditDestination(k, quiet)).unwrap();
    assert_eq!(sim.flow(&Flow::tcp(t(1202), sa("198.51.100.1:1002"), vip)).dest(), Some(d1));
    sim.apply(t(1203), &Operation::DeleteDestination(k, d1)).unwrap();
    let after = sim.flow(&Flow::tcp(t(1204), sa("198.51.100.1:1003"), vip));
    assert!(matches!(after, Outcome::New { template: TemplateUse::Created, .. }));
    assert_ne!(after.dest(), Some(d1));
    // Packets of an old connection to the deleted dest are dropped.
    let old = Flow::tcp(t(1205), sa("198.51.100.1:1001"), vip).with_segment(Segment::Ack);
    assert_eq!(sim.flow(&old), Outcome::Dropped(DropReason::DestUnavailable));
}

#[test]
fn fwmark_and_port_zero_persistence() {
    let k = ServiceKey::fwmark(5, AddressFamily::Inet);
    let svc = Service::new(k).with_scheduler(Scheduler::Rr).with_persistence(300, None);
    let mut sim = setup(k, svc, &["192.168.0.1:0", "192.168.0.2:0"]);
    let c = "198.51.100.1";
    let x = sim.flow(&Flow::tcp(t(0), sa(&format!("{c}:1")), sa("10.0.0.1:80")).with_mark(5));
    let y = sim.flow(&Flow::udp(t(0), sa(&format!("{c}:2")), sa("10.0.0.2:53")).with_mark(5));
    assert_eq!(x.dest(), y.dest());
    // The packet's port is kept (port-0 dests, persistent fwmark).
    let Outcome::New { forward_to, .. } = y else { panic!() };
    assert_eq!(forward_to.port(), 53);
    // Unmarked: no service.
    assert_eq!(sim.flow(&Flow::udp(t(0), sa(&format!("{c}:3")), sa("10.0.0.2:53"))), Outcome::NotForIpvs);

    let z = ServiceKey::tcp("10.0.0.9".parse().unwrap(), 0);
    let svc = Service::new(z).with_scheduler(Scheduler::Rr).with_persistence(300, None);
    let mut sim = setup(z, svc, &["192.168.0.1:0", "192.168.0.2:0"]);
    let a = sim.flow(&Flow::tcp(t(0), sa("198.51.100.1:1"), sa("10.0.0.9:22")));
    let b = sim.flow(&Flow::tcp(t(0), sa("198.51.100.1:2"), sa("10.0.0.9:8080")));
    assert_eq!(a.dest(), b.dest());
    let other = sim.flow(&Flow::tcp(t(0), sa("198.51.100.2:2"), sa("10.0.0.9:8080")));
    assert_ne!(a.dest(), other.dest());
}

#[test]
fn thresholds_with_hysteresis() {
    let k = ServiceKey::udp("10.0.0.1".parse().unwrap(), 53);
    let mut sim = Simulator::default();
    sim.apply(Time::ZERO, &Operation::AddService(Service::new(k).with_scheduler(Scheduler::Rr))).unwrap();
    let a = Destination::new(sa("192.168.0.1:53")).with_thresholds(4, 0); // l_eff = 3
    sim.apply(Time::ZERO, &Operation::AddDestination(k, a)).unwrap();
    for i in 0..4u16 {
        let f = Flow::udp(
            t(u64::from(i)),
            SocketAddr::new("198.51.100.1".parse().unwrap(), 1000 + i),
            sa("10.0.0.1:53"),
        );
        assert!(sim.flow(&f).dest().is_some());
    }
    // total 4 = u: overloaded, no dest.
    let f = Flow::udp(t(10), sa("198.51.100.1:2000"), sa("10.0.0.1:53"));
    assert!(matches!(sim.flow(&f), Outcome::NoDestination { .. }));
    assert!(sim.table().dest_views(&k).unwrap()[0].overloaded);
    sim.advance(t(300)); // conn 0 expires: total 3, still overloaded (hysteresis)
    assert!(sim.table().dest_views(&k).unwrap()[0].overloaded);
    sim.advance(t(301)); // total 3 -> 2: cleared
    assert!(!sim.table().dest_views(&k).unwrap()[0].overloaded);
    // Lowering u below the current total sets the bit at once (6.1.183+).
    let lower = Destination::new(sa("192.168.0.1:53")).with_thresholds(1, 0);
    sim.apply(t(302), &Operation::EditDestination(k, lower)).unwrap();
    assert!(sim.table().dest_views(&k).unwrap()[0].overloaded);
    let none = Destination::new(sa("192.168.0.1:53"));
    sim.apply(t(303), &Operation::EditDestination(k, none)).unwrap();
    assert!(!sim.table().dest_views(&k).unwrap()[0].overloaded);
}

#[test]
fn trash_revival_keeps_counters() {
    let k = ServiceKey::udp("10.0.0.1".parse().unwrap(), 53);
    let mut sim = setup(k, Service::new(k).with_scheduler(Scheduler::Rr), &["192.168.0.1:53"]);
    sim.flow(&Flow::udp(t(0), sa("198.51.100.1:1"), sa("10.0.0.1:53")));
    let dk = DestinationKey::from(sa("192.168.0.1:53"));
    sim.apply(t(1), &Operation::DeleteDestination(k, dk)).unwrap();
    assert_eq!(sim.table().trash().len(), 1);
    let again = Destination::new(sa("192.168.0.1:53")).with_forward(ForwardMethod::Masquerade);
    sim.apply(t(2), &Operation::AddDestination(k, again.clone())).unwrap();
    assert_eq!(counts(&sim, &k), [(0, 1, 0)]);
    assert_eq!(sim.distribution(&k)[0].stats.conns, 1);
    // Unreferenced for 120 s (checked on the 60 s trash timer) it is freed: re-adding is fresh.
    sim.apply(t(3), &Operation::DeleteDestination(k, dk)).unwrap();
    sim.advance(t(700));
    assert!(sim.table().trash().is_empty());
    sim.apply(t(701), &Operation::AddDestination(k, again)).unwrap();
    assert_eq!(sim.distribution(&k)[0].stats.conns, 0);
}

#[test]
fn one_packet_and_conn_reuse() {
    let k = ServiceKey::udp("10.0.0.1".parse().unwrap(), 53);
    let svc = Service::new(k).with_scheduler(Scheduler::Rr).with_flags(ServiceFlags::ONEPACKET);
    let mut sim = setup(k, svc, &["192.168.0.1:53", "192.168.0.2:53"]);
    let f = Flow::udp(t(0), sa("198.51.100.1:1"), sa("10.0.0.1:53"));
    let a = sim.flow(&f).dest();
    let b = sim.flow(&f).dest();
    assert_ne!(a, b); // every datagram scheduled
    assert_eq!(counts(&sim, &k), [(0, 0, 0), (0, 0, 0)]);

    let k = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80);
    let mut sim =
        setup(k, Service::new(k).with_scheduler(Scheduler::Rr), &["192.168.0.1:80", "192.168.0.2:80"]);
    let c = sa("198.51.100.1:5000");
    let first = sim.flow(&Flow::tcp(t(0), c, sa("10.0.0.1:80"))).dest();
    // FIN from client then a final ACK -> for NAT: CLOSE_WAIT, then LAST_ACK? (input table)
    sim.flow(&Flow::tcp(t(1), c, sa("10.0.0.1:80")).with_segment(Segment::Rst)); // CLOSE
    let again = sim.flow(&Flow::tcp(t(2), c, sa("10.0.0.1:80")));
    assert!(matches!(again, Outcome::New { .. }), "SYN on a CLOSE conn reschedules: {again:?}");
    assert_ne!(again.dest(), first);
}

#[test]
fn no_destination_and_sip() {
    let k = ServiceKey::udp("10.0.0.1".parse().unwrap(), 5060);
    let svc = Service::new(k).with_scheduler(Scheduler::Rr).with_persistence(60, None).with_pe(PeName::sip());
    let mut sim = setup(k, svc, &[]);
    let f = Flow::udp(t(0), sa("198.51.100.1:5060"), sa("10.0.0.1:5060"));
    assert_eq!(sim.flow(&f), Outcome::Dropped(DropReason::PersistenceEngine));
    assert!(matches!(sim.flow(&f.clone().with_call_id("abc")), Outcome::NoDestination { .. }));
    for d in ["192.168.0.1:5060", "192.168.0.2:5060"] {
        sim.apply(t(1), &Operation::AddDestination(k, Destination::new(sa(d)))).unwrap();
    }
    let x = sim.flow(&Flow::udp(t(2), sa("198.51.100.1:1"), sa("10.0.0.1:5060")).with_call_id("abc"));
    let y = sim.flow(&Flow::udp(t(2), sa("198.51.100.1:2"), sa("10.0.0.1:5060")).with_call_id("abc"));
    let z = sim.flow(&Flow::udp(t(2), sa("198.51.100.1:3"), sa("10.0.0.1:5060")).with_call_id("xyz"));
    assert_eq!(x.dest(), y.dest());
    assert_ne!(x.dest(), z.dest());
}

#[test]
fn remap_mh_moves_few_flows() {
    let k = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80);
    let dests = ["192.168.0.1:80", "192.168.0.2:80", "192.168.0.3:80", "192.168.0.4:80"];
    let sim = setup(k, Service::new(k).with_scheduler(Scheduler::Mh), &dests);
    let flows: Vec<Flow> = (0..2000u32)
        .map(|i| {
            let c = SocketAddr::new(std::net::IpAddr::from((0xC633_6400u32 + i).to_be_bytes()), 4000);
            Flow::tcp(t(1), c, sa("10.0.0.1:80"))
        })
        .collect();
    let r =
        sim.remap(&flows, &[Operation::DeleteDestination(k, DestinationKey::from(sa(dests[0])))]).unwrap();
    let per = r.per_dest();
    let lost = per[&DestinationKey::from(sa(dests[0]))].0;
    // Maglev moves the removed server's flows and (almost) nothing else.
    assert!(r.moved() >= lost && r.moved() - lost < 20, "moved {} lost {lost}", r.moved());
    assert!(lost > 300 && lost < 700, "{lost}");
    // The simulator itself did not change.
    assert!(sim.connections().is_empty());
    // rr with the same change moves most flows.
    let sim = setup(k, Service::new(k).with_scheduler(Scheduler::Rr), &dests);
    let r =
        sim.remap(&flows, &[Operation::DeleteDestination(k, DestinationKey::from(sa(dests[0])))]).unwrap();
    assert!(r.moved() > 1000);
}

/// Replays a script run on the Debian 6.1.192 VM (`ipvsadm` + UDP datagrams sent from inside
/// the VM, whose source address IPVS sees as 0.0.0.0) and compares every pick with what the
/// kernel did. Between runs `ipvsadm -C` deletes the service, and the re-added dests are
/// revived from the trash with their connection counts, which the later picks depend on.
#[test]
fn vm_observed_udp_picks() {
    let k = ServiceKey::udp("10.0.0.1".parse().unwrap(), 53);
    let mut sim = Simulator::default();
    let mut port = 30_000u16;
    let mut now = 0u64;
    let mut run = |sim: &mut Simulator, sched: Scheduler, weights: &[u32], count: usize| -> Vec<u8> {
        now += 1;
        sim.apply(t(now), &Operation::Flush).unwrap();
        sim.apply(t(now), &Operation::AddService(Service::new(k).with_scheduler(sched))).unwrap();
        for (i, w) in weights.iter().enumerate() {
            let d = Destination::new(sa(&format!("192.168.1.{}:53", 3 - i)))
                .with_forward(ForwardMethod::Masquerade)
                .with_weight(*w);
            sim.apply(t(now), &Operation::AddDestination(k, d)).unwrap();
        }
        (0..count)
            .map(|_| {
                port += 1;
                let f =
                    Flow::udp(t(now), SocketAddr::new("0.0.0.0".parse().unwrap(), port), sa("10.0.0.1:53"));
                match sim.flow(&f).dest().unwrap().addr {
                    std::net::IpAddr::V4(a) => a.octets()[3],
                    _ => 0,
                }
            })
            .collect()
    };
    assert_eq!(run(&mut sim, Scheduler::Rr, &[1, 1, 1], 9), [1, 2, 3, 1, 2, 3, 1, 2, 3]);
    // wrr with .3 w2, .2 w3, .1 w4 added one by one to an empty service: cw starts at 1
    // (the add hooks), not at the maximum weight.
    assert_eq!(run(&mut sim, Scheduler::Wrr, &[2, 3, 4], 9), [1, 2, 3, 1, 1, 2, 1, 2, 3]);
    // wlc sees the revived dests' UDP connections (7, 6, 5 inactive).
    assert_eq!(run(&mut sim, Scheduler::Wlc, &[1, 1, 1], 3), [3, 2, 3]);
    assert_eq!(run(&mut sim, Scheduler::Mh, &[1, 1], 2), [2, 2]);
    assert_eq!(run(&mut sim, Scheduler::Sh, &[1, 1], 2), [2, 2]);
    let inact: Vec<u32> = sim.distribution(&k).iter().map(|d| d.inactive_conns).collect();
    assert_eq!(inact, [11, 7]); // .2 and .3, as /proc/net/ip_vs showed
                                // A TCP SYN counts as active (SYN_RECV).
    let tk = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80);
    sim.apply(t(now), &Operation::AddService(Service::new(tk).with_scheduler(Scheduler::Rr))).unwrap();
    let d = Destination::new(sa("192.168.1.1:80")).with_forward(ForwardMethod::Masquerade);
    sim.apply(t(now), &Operation::AddDestination(tk, d)).unwrap();
    let syn = Flow::tcp(t(now), sa("0.0.0.0:35222"), sa("10.0.0.1:80")).with_segment(Segment::Syn);
    assert!(sim.flow(&syn).dest().is_some());
    assert_eq!(counts(&sim, &tk), [(1, 0, 0)]);
}
