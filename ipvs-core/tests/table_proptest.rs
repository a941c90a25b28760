//! Random operation and flow sequences: nothing panics, and the counters stay consistent with
//! the live connections.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, SocketAddr};

use ipvs_core::sched::Time;
use ipvs_core::sim::{ConnState, Event, Flow, Segment, Simulator};
use ipvs_core::table::MemoryBackend;
use ipvs_core::{
    AddressFamily, Backend, Destination, DestinationKey, ForwardMethod, Netmask, Operation, PeName, Protocol,
    Scheduler, Service, ServiceFlags, ServiceKey, SyncDaemon, SyncRole, Timeouts,
};
use proptest::prelude::*;

fn vip(i: u8) -> IpAddr {
    IpAddr::from([10, 0, 0, 1 + i % 2])
}

fn arb_key() -> impl Strategy<Value = ServiceKey> {
    prop_oneof![
        (0u8..2, prop::sample::select(vec![0u16, 21, 80]), any::<bool>()).prop_map(|(a, port, tcp)| {
            if tcp {
                ServiceKey::tcp(vip(a), port)
            } else {
                ServiceKey::udp(vip(a), port)
            }
        }),
        (1u32..3).prop_map(|m| ServiceKey::fwmark(m, AddressFamily::Inet)),
    ]
}

fn arb_sched() -> impl Strategy<Value = Scheduler> {
    let mut all: Vec<Scheduler> = Scheduler::KNOWN.to_vec();
    all.push(Scheduler::Unbound);
    all.push(Scheduler::from("zz"));
    prop::sample::select(all)
}

fn arb_service() -> impl Strategy<Value = Service> {
    (arb_key(), arb_sched(), 0u32..64, 0u32..400, any::<bool>(), any::<bool>()).prop_map(
        |(key, sched, flags, timeout, masked, pe)| {
            let mut s = Service::new(key).with_scheduler(sched);
            s.flags = ServiceFlags::from_bits_retain(flags) & ServiceFlags::SETTABLE;
            s.timeout = timeout;
            if masked {
                s.netmask = Netmask::V4("255.255.255.0".parse().unwrap());
            }
            if pe {
                s.pe_name = Some(PeName::sip());
            }
            s
        },
    )
}

fn arb_dest() -> impl Strategy<Value = Destination> {
    (0u8..4, prop::sample::select(vec![0u16, 80]), 0u32..4, 0u32..4, 0u32..3, any::<bool>()).prop_map(
        |(a, port, w, u, l, masq)| {
            let fwd = if masq { ForwardMethod::Masquerade } else { ForwardMethod::DirectRoute };
            Destination::new(SocketAddr::new(IpAddr::from([192, 168, 0, 1 + a]), port))
                .with_forward(fwd)
                .with_weight(w)
                .with_thresholds(u, l)
        },
    )
}

fn arb_op() -> impl Strategy<Value = Operation> {
    prop_oneof![
        4 => arb_service().prop_map(Operation::AddService),
        2 => arb_service().prop_map(Operation::EditService),
        1 => arb_key().prop_map(Operation::DeleteService),
        6 => (arb_key(), arb_dest()).prop_map(|(k, d)| Operation::AddDestination(k, d)),
        3 => (arb_key(), arb_dest()).prop_map(|(k, d)| Operation::EditDestination(k, d)),
        2 => (arb_key(), arb_dest()).prop_map(|(k, d)| Operation::DeleteDestination(k, d.key())),
        1 => Just(Operation::Flush),
        1 => prop::option::of(arb_key()).prop_map(Operation::Zero),
        1 => (0u32..400, 0u32..200, 0u32..400).prop_map(|(a, b, c)| Operation::SetTimeouts(Timeouts::new(a, b, c))),
        1 => any::<bool>().prop_map(|m| Operation::StartDaemon(SyncDaemon::new(if m { SyncRole::Master } else { SyncRole::Backup }, "eth0", 1))),
        1 => any::<bool>().prop_map(|m| Operation::StopDaemon(if m { SyncRole::Master } else { SyncRole::Backup })),
    ]
}

fn arb_flow() -> impl Strategy<Value = (u64, Flow)> {
    (
        0u64..200_000,
        0u8..3,
        0u8..4,
        prop::sample::select(vec![20u16, 1000, 1001]),
        0u8..2,
        prop::sample::select(vec![21u16, 53, 80, 8080]),
        0u32..3,
        prop::sample::select(vec![Segment::Open, Segment::Syn, Segment::Ack, Segment::Fin, Segment::Rst]),
        prop::option::of(Just("call".to_string())),
    )
        .prop_map(|(dt, proto, c, cport, v, vport, mark, seg, call)| {
            let protocol = [Protocol::Tcp, Protocol::Udp, Protocol::Sctp][proto as usize];
            let client = SocketAddr::new(IpAddr::from([198, 51, 100, c]), cport);
            let mut f = Flow::new(Time::ZERO, protocol, client, SocketAddr::new(vip(v), vport));
            f.fwmark = mark;
            f.segment = seg;
            f.sip_call_id = call;
            f.bytes = 100;
            (dt, f)
        })
}

#[derive(Debug, Clone)]
enum Step {
    Op(u64, Operation),
    Flow(u64, Flow),
}

fn arb_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => (0u64..100_000, arb_op()).prop_map(|(dt, op)| Step::Op(dt, op)),
        2 => arb_flow().prop_map(|(dt, f)| Step::Flow(dt, f)),
    ]
}

fn check_invariants(sim: &Simulator) -> Result<(), TestCaseError> {
    let table = sim.table();
    let conns = sim.connections();
    let live_conns = conns.iter().filter(|c| c.state != ConnState::Template).count() as i64;
    let mut total = 0i64;
    let mut persist = 0i64;
    for s in table.list_services() {
        prop_assert!(s.service.flags.contains(ServiceFlags::HASHED));
        let views = table.dest_views(&s.service.key).unwrap_or(&[]);
        let mut keys: Vec<DestinationKey> =
            views.iter().map(|v| DestinationKey { addr: v.addr, port: v.port }).collect();
        keys.sort();
        keys.dedup();
        prop_assert_eq!(keys.len(), views.len());
        for v in views {
            prop_assert!(v.available);
            prop_assert!(v.active_conns >= 0 && v.total_conns >= v.active_conns);
            total += i64::from(v.total_conns);
        }
        for d in table.list_destinations(&s.service.key) {
            persist += i64::from(d.persist_conns);
        }
    }
    for v in table.trash() {
        prop_assert!(!v.available);
        prop_assert!(v.active_conns >= 0 && v.total_conns >= v.active_conns);
        total += i64::from(v.total_conns);
    }
    prop_assert_eq!(total, live_conns);
    let templates = conns.iter().filter(|c| c.state == ConnState::Template).count() as i64;
    prop_assert!(persist <= templates);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn random_sequences_keep_invariants(steps in prop::collection::vec(arb_step(), 1..80)) {
        let mut sim = Simulator::default();
        let mut now = 0u64;
        for step in steps {
            match step {
                Step::Op(dt, op) => {
                    now += dt;
                    let _ = sim.apply(Time::from_millis(now), &op);
                }
                Step::Flow(dt, f) => {
                    now += dt;
                    let f = f.at(Time::from_millis(now));
                    let _ = sim.flow(&f);
                }
            }
            check_invariants(&sim)?;
        }
        // Everything expires eventually (lblc/lblcr caches hold trashed dests for up to a day).
        let end = Time::from_millis(now).plus_secs(3 * 86_400);
        let r = sim.run([Event::Advance(end)]);
        prop_assert_eq!(r.len(), 1);
        check_invariants(&sim)?;
        prop_assert!(sim.connections().is_empty());
        prop_assert!(sim.table().trash().is_empty());
        for s in sim.table().list_services() {
            for d in sim.table().list_destinations(&s.service.key) {
                prop_assert_eq!((d.active_conns, d.inactive_conns, d.persist_conns), (0, 0, 0));
            }
        }
    }

    #[test]
    fn memory_backend_never_panics(ops in prop::collection::vec(arb_op(), 1..60)) {
        let mut t = MemoryBackend::new();
        for op in &ops {
            let _ = t.apply(op);
            let services = t.services().unwrap();
            for s in &services {
                let ds = t.destinations(&s.service.key).unwrap();
                prop_assert!(ds.iter().all(|d| d.active_conns == 0 && d.inactive_conns == 0));
                prop_assert_eq!(t.service(&s.service.key).unwrap().service, s.service.clone());
            }
            let _ = t.daemons().unwrap();
            let _ = t.timeouts().unwrap();
        }
    }
}
