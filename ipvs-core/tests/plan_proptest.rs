//! Declarative planning on the in-memory table: a plan always turns the current table into the
//! desired one, is minimal (no operation for what is already right; edits in place, never a
//! delete and re-add of a key), a plan from a table to itself is empty, and rollback restores
//! the table whatever failed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};

use ipvs_core::plan::{plan, plan_for, PlanError, Step};
use ipvs_core::table::MemoryBackend;
use ipvs_core::{
    AddressFamily, Backend, Destination, DestinationKey, DestinationStatus, Error, ErrorKind, Field,
    ForwardMethod, Info, Netmask, Object, OnError, Operation, PeName, Result, Scheduler, Service,
    ServiceFlags, ServiceKey, ServiceStatus, SyncDaemon, Timeouts, Tunnel, TunnelFlags, ValidationError,
};
use proptest::prelude::*;

type Config = Vec<(Service, Vec<Destination>)>;

fn arb_key() -> impl Strategy<Value = ServiceKey> {
    prop_oneof![
        (0u8..3, prop::sample::select(vec![0u16, 80, 443]), any::<bool>()).prop_map(|(a, port, tcp)| {
            let vip = IpAddr::from([10, 0, 0, 1 + a]);
            if tcp {
                ServiceKey::tcp(vip, port)
            } else {
                ServiceKey::udp(vip, port)
            }
        }),
        (1u32..3).prop_map(|m| ServiceKey::fwmark(m, AddressFamily::Inet)),
        (0u8..2).prop_map(|a| ServiceKey::tcp(format!("2001:db8::{}", a + 1).parse().unwrap(), 80)),
    ]
}

/// A valid service for `key` (persistent when its port is 0).
fn arb_service(key: ServiceKey) -> impl Strategy<Value = Service> {
    let scheds =
        vec![Scheduler::Rr, Scheduler::Wrr, Scheduler::Wlc, Scheduler::Sh, Scheduler::Mh, Scheduler::Lc];
    (prop::sample::select(scheds), any::<bool>(), 1u32..4, any::<bool>(), 0u32..3, any::<bool>()).prop_map(
        move |(sched, persistent, timeout, masked, sched_flags, pe)| {
            let mut s = Service::new(key).with_scheduler(sched);
            if persistent || key.port() == 0 && matches!(key, ServiceKey::Addr { .. }) {
                let mask = masked.then(|| match key.family() {
                    AddressFamily::Inet => Netmask::V4("255.255.255.0".parse().unwrap()),
                    AddressFamily::Inet6 => Netmask::V6(64),
                });
                s = s.with_persistence(timeout * 100, mask);
            }
            s.flags |= ServiceFlags::from_bits_retain(sched_flags << 3);
            if pe && persistent {
                s.pe_name = Some(PeName::sip());
            }
            s
        },
    )
}

fn arb_dest(family: AddressFamily) -> impl Strategy<Value = Destination> {
    (0u8..5, prop::sample::select(vec![80u16, 8080]), 0u32..4, 0u32..3, 0u8..4, 0u16..2).prop_map(
        move |(a, port, weight, thr, fwd, tun)| {
            let addr: IpAddr = match family {
                AddressFamily::Inet => IpAddr::from([192, 168, 0, 1 + a]),
                AddressFamily::Inet6 => format!("2001:db8:1::{}", a + 1).parse().unwrap(),
            };
            let forward = [
                ForwardMethod::Masquerade,
                ForwardMethod::DirectRoute,
                ForwardMethod::Tunnel,
                ForwardMethod::Masquerade,
            ][usize::from(fwd)];
            let mut d = Destination::new(SocketAddr::new(addr, port))
                .with_forward(forward)
                .with_weight(weight)
                .with_thresholds(thr * 10, thr * 5);
            if forward == ForwardMethod::Tunnel && tun == 1 {
                d = d.with_tunnel(Tunnel::gue(6080).with_flags(TunnelFlags::CSUM));
            }
            d
        },
    )
}

/// A valid table: distinct service keys, distinct real servers per service.
fn arb_config() -> impl Strategy<Value = Config> {
    prop::collection::vec(arb_key(), 0..7)
        .prop_map(|keys| {
            let mut seen = HashSet::new();
            keys.into_iter().filter(|k| seen.insert(*k)).collect::<Vec<_>>()
        })
        .prop_flat_map(|keys| {
            keys.into_iter()
                .map(|k| (arb_service(k), prop::collection::vec(arb_dest(k.family()), 0..5)))
                .collect::<Vec<_>>()
        })
        .prop_map(|entries| {
            entries
                .into_iter()
                .map(|(s, ds)| {
                    let mut seen = HashSet::new();
                    let ds = ds.into_iter().filter(|d| seen.insert(d.key())).collect();
                    (s, ds)
                })
                .collect()
        })
}

/// A table in the in-memory backend, built as ipvsadm -R would.
fn load(config: &Config) -> MemoryBackend {
    let mut mem = MemoryBackend::new();
    for (s, ds) in config {
        mem.add_service(s).unwrap();
        for d in ds {
            mem.add_destination(&s.key, d).unwrap();
        }
    }
    mem
}

/// A table's configuration as a comparable value: services by key (written flags only), real
/// servers as a set.
fn shape<'a>(
    entries: impl IntoIterator<Item = (&'a Service, Vec<&'a Destination>)>,
) -> HashMap<ServiceKey, (Service, HashMap<DestinationKey, Destination>)> {
    entries
        .into_iter()
        .map(|(s, ds)| {
            let mut s = s.clone();
            s.flags = s.flags_to_write();
            (s.key, (s, ds.into_iter().map(|d| (d.key(), d.clone())).collect()))
        })
        .collect()
}

fn shape_of_config(c: &Config) -> HashMap<ServiceKey, (Service, HashMap<DestinationKey, Destination>)> {
    shape(c.iter().map(|(s, ds)| (s, ds.iter().collect())))
}

fn shape_of(b: &mut impl Backend) -> HashMap<ServiceKey, (Service, HashMap<DestinationKey, Destination>)> {
    let table = b.services_with_destinations().unwrap();
    let owned: Vec<(Service, Vec<Destination>)> =
        table.into_iter().map(|(s, ds)| (s.service, ds.into_iter().map(|d| d.dest).collect())).collect();
    shape_of_config(&owned)
}

/// The number of operations a minimal plan has.
fn minimal_len(current: &Config, desired: &Config) -> usize {
    let cur = shape_of_config(current);
    let des = shape_of_config(desired);
    let mut n = cur.keys().filter(|k| !des.contains_key(k)).count();
    for (k, (s, ds)) in &des {
        match cur.get(k) {
            None => n += 1 + ds.len(),
            Some((cs, cds)) => {
                n += usize::from(cs != s);
                n += cds.keys().filter(|dk| !ds.contains_key(dk)).count();
                n += ds.iter().filter(|(dk, d)| cds.get(dk) != Some(d)).count();
            }
        }
    }
    n
}

/// How [`Flaky`] fails a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// The kernel refuses the command (`EINVAL`): nothing changes.
    Refused,
    /// The command is carried out, but its answer is lost: the caller sees [`Error::Timeout`]
    /// (if the command itself fails, the caller sees that failure instead).
    AppliedThenTimeout,
    /// The command is never sent ([`Error::NotSent`]): nothing changes.
    NotSent,
}

fn arb_failure() -> impl Strategy<Value = Failure> {
    prop_oneof![Just(Failure::Refused), Just(Failure::AppliedThenTimeout), Just(Failure::NotSent)]
}

fn on_error(stop: bool) -> OnError {
    if stop {
        OnError::Stop
    } else {
        OnError::Continue
    }
}

/// Wraps a backend and fails the write operations whose index (counted over all writes) is in
/// `fail`, in the way given there.
struct Flaky<B> {
    inner: B,
    fail: HashMap<usize, Failure>,
    writes: usize,
}

impl<B: Backend> Backend for Flaky<B> {
    fn info(&mut self) -> Result<Info> {
        self.inner.info()
    }
    fn services(&mut self) -> Result<Vec<ServiceStatus>> {
        self.inner.services()
    }
    fn service(&mut self, key: &ServiceKey) -> Result<ServiceStatus> {
        self.inner.service(key)
    }
    fn destinations(&mut self, key: &ServiceKey) -> Result<Vec<DestinationStatus>> {
        self.inner.destinations(key)
    }
    fn timeouts(&mut self) -> Result<Timeouts> {
        self.inner.timeouts()
    }
    fn daemons(&mut self) -> Result<Vec<SyncDaemon>> {
        self.inner.daemons()
    }
    fn apply(&mut self, op: &Operation) -> Result<()> {
        let i = self.writes;
        self.writes += 1;
        match self.fail.get(&i) {
            None => self.inner.apply(op),
            Some(Failure::Refused) => Err(Error::invalid(22)),
            Some(Failure::AppliedThenTimeout) => self.inner.apply(op).and(Err(Error::Timeout)),
            Some(Failure::NotSent) => Err(Error::not_sent(Error::Timeout)),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn plan_reaches_the_desired_table_minimally(current in arb_config(), desired in arb_config(), stop in any::<bool>()) {
        let mut mem = load(&current);
        let p = plan_for(&mut mem, &desired).unwrap();
        prop_assert_eq!(p.len(), minimal_len(&current, &desired), "plan:\n{}", p);
        // Never a delete and a re-add of one key: edits happen in place.
        let mut deleted = HashSet::new();
        let mut added = HashSet::new();
        for op in p.operations() {
            match op {
                Operation::DeleteService(k) => { deleted.insert(format!("{k}")); }
                Operation::AddService(s) => { added.insert(format!("{}", s.key)); }
                Operation::DeleteDestination(k, d) => { deleted.insert(format!("{k} {d}")); }
                Operation::AddDestination(k, d) => { added.insert(format!("{k} {}", d.key())); }
                _ => {}
            }
        }
        prop_assert!(deleted.is_disjoint(&added), "plan:\n{}", p);
        let report = p.apply(&mut mem, on_error(stop));
        prop_assert!(report.is_ok(), "{:?}\nplan:\n{}", report, p);
        prop_assert_eq!(report.results.len(), p.len());
        prop_assert_eq!(shape_of(&mut mem), shape_of_config(&desired));
        prop_assert!(plan_for(&mut mem, &desired).unwrap().is_empty());
    }

    #[test]
    fn a_table_needs_no_plan_to_itself(table in arb_config()) {
        prop_assert!(plan(&table, &table).unwrap().is_empty());
        let mut mem = load(&table);
        let read = mem.services_with_destinations().unwrap();
        // As the backend reports it (HASHED flag set, counters, newest-first order) too.
        prop_assert!(plan(&read, &table).unwrap().is_empty());
        prop_assert!(plan(&read, &read).unwrap().is_empty());
    }

    #[test]
    fn rollback_restores_the_table_whatever_failed(
        current in arb_config(),
        desired in arb_config(),
        fail in prop::collection::hash_map(0usize..40, arb_failure(), 0..6),
        stop in any::<bool>(),
    ) {
        let mut flaky = Flaky { inner: load(&current), fail, writes: 0 };
        let p = plan_for(&mut flaky, &desired).unwrap();
        let report = p.apply(&mut flaky, on_error(stop));
        if stop {
            prop_assert!(report.results.iter().rev().skip(1).all(|r| r.is_ok()));
        } else {
            prop_assert_eq!(report.results.len(), p.len());
        }
        // Exactly the steps that succeeded or timed out (their effect unknown) are undone.
        let undone_steps: usize = p
            .steps()
            .iter()
            .zip(&report.results)
            .filter(|(_, r)| !matches!(r, Err(e) if !e.may_have_applied()))
            .map(|(s, _)| s.undo.len())
            .sum();
        prop_assert_eq!(p.undo_operations(&report).len(), undone_steps);
        // Undo everything that may have changed the table; here every step reported as timed
        // out did apply, so the undo itself must not fail.
        flaky.fail.clear();
        let undone = p.rollback(&mut flaky, &report);
        prop_assert!(undone.iter().all(|r| r.is_ok()), "{:?}\nplan:\n{}", undone, p);
        prop_assert_eq!(shape_of(&mut flaky), shape_of_config(&current));
    }
}

#[test]
fn desired_tables_are_checked_before_planning() {
    let key = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80);
    let rs = Destination::new("192.168.0.1:80".parse().unwrap());
    let none: Config = vec![];
    let twice = vec![(Service::new(key), vec![]), (Service::new(key), vec![])];
    assert_eq!(plan(&none, &twice), Err(PlanError::DuplicateService(key)));
    let twice = vec![(Service::new(key), vec![rs.clone(), rs.clone().with_weight(3)])];
    assert_eq!(plan(&none, &twice), Err(PlanError::DuplicateDestination { service: key, dest: rs.key() }));
    let port0 = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 0);
    let bad = vec![(Service::new(port0), vec![])];
    let port0_error = ValidationError::Invalid {
        field: Field::ServicePort,
        reason: "port 0 (all ports) is allowed only for persistent services",
    };
    assert_eq!(
        plan(&none, &bad),
        Err(PlanError::InvalidService { service: port0, error: port0_error.clone() })
    );
    let v6 = Destination::new("[2001:db8::1]:80".parse().unwrap()).with_forward(ForwardMethod::Masquerade);
    let bad = vec![(Service::new(key), vec![v6.clone()])];
    let family_error = ValidationError::FamilyMismatch {
        field: Field::DestinationAddress,
        expected: AddressFamily::Inet,
        got: AddressFamily::Inet6,
    };
    assert_eq!(
        plan(&none, &bad),
        Err(PlanError::InvalidDestination { service: key, dest: v6.key(), error: family_error.clone() })
    );
    // As Backend errors: what applying the table line by line would have said.
    assert_eq!(Error::from(PlanError::DuplicateService(key)), Error::exists(Object::Service));
    assert_eq!(
        Error::from(PlanError::DuplicateDestination { service: key, dest: rs.key() }),
        Error::exists(Object::Destination)
    );
    assert_eq!(
        Error::from(PlanError::InvalidService { service: port0, error: port0_error.clone() }),
        Error::Validation(port0_error)
    );
    assert_eq!(
        Error::from(PlanError::InvalidDestination {
            service: key,
            dest: v6.key(),
            error: family_error.clone()
        }),
        Error::Validation(family_error)
    );
    // plan_for refuses before reading anything: the backend stays as it was.
    let mut mem = MemoryBackend::new();
    mem.add_service(&Service::new(key)).unwrap();
    assert_eq!(plan_for(&mut mem, &twice).unwrap_err(), Error::exists(Object::Destination));
    let left: Vec<ServiceKey> = mem.services().unwrap().iter().map(|s| s.service.key).collect();
    assert_eq!(left, [key]);
    assert_eq!(mem.destinations(&key), Ok(vec![]));
}

#[test]
fn plan_order_and_undo_are_as_documented() {
    let a = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80);
    let b = ServiceKey::tcp("10.0.0.2".parse().unwrap(), 80);
    let c = ServiceKey::udp("10.0.0.3".parse().unwrap(), 53);
    let rs = |last: u8, w: u32| {
        Destination::new(SocketAddr::new(IpAddr::from([192, 168, 0, last]), 80))
            .with_forward(ForwardMethod::DirectRoute)
            .with_weight(w)
    };
    let current: Config = vec![
        (Service::new(a), vec![rs(1, 1), rs(2, 1)]),
        (Service::new(b).with_scheduler(Scheduler::Rr), vec![rs(3, 1), rs(4, 1)]),
    ];
    let desired: Config = vec![
        (Service::new(c).with_scheduler(Scheduler::Sh), vec![rs(9, 1)]),
        (Service::new(b).with_scheduler(Scheduler::Wrr), vec![rs(5, 1), rs(3, 7)]),
    ];
    let p = plan(&current, &desired).unwrap();
    assert_eq!(
        p.to_string(),
        "-D -t 10.0.0.1:80\n\
         -A -u 10.0.0.3:53 -s sh\n\
         -a -u 10.0.0.3:53 -r 192.168.0.9:80 -g -w 1\n\
         -E -t 10.0.0.2:80 -s wrr\n\
         -d -t 10.0.0.2:80 -r 192.168.0.4:80\n\
         -e -t 10.0.0.2:80 -r 192.168.0.3:80 -g -w 7\n\
         -a -t 10.0.0.2:80 -r 192.168.0.5:80 -g -w 1\n"
    );
    // Deleting a service is undone by adding it back with its real servers, oldest first (the
    // kernel lists the newest first, so the order comes back too).
    assert_eq!(
        p.steps()[0],
        Step {
            op: Operation::DeleteService(a),
            undo: vec![
                Operation::AddService(Service::new(a)),
                Operation::AddDestination(a, rs(2, 1)),
                Operation::AddDestination(a, rs(1, 1)),
            ],
        }
    );
    let s = p.summary();
    assert_eq!((s.services_added, s.services_edited, s.services_deleted), (1, 1, 1));
    assert_eq!((s.destinations_added, s.destinations_edited, s.destinations_deleted), (2, 1, 1));
    // A full rollback after a full apply gives the old table back, real-server order included.
    // (Planned from the table as the backend lists it: newest real server first.)
    let mut mem = load(&current);
    let before = mem.services_with_destinations().unwrap();
    let p = plan(&before, &desired).unwrap();
    let report = p.apply(&mut mem, OnError::Continue);
    assert!(report.is_ok());
    assert_eq!(report.results.len(), p.len());
    assert_eq!(shape_of(&mut mem), shape_of_config(&desired));
    assert!(p.rollback(&mut mem, &report).iter().all(|r| r.is_ok()));
    assert_eq!(shape_of(&mut mem), shape_of_config(&current));
    let after = mem.services_with_destinations().unwrap();
    let order = |t: &[(ServiceStatus, Vec<DestinationStatus>)], k: ServiceKey| -> Vec<DestinationKey> {
        t.iter().find(|(s, _)| s.service.key == k).unwrap().1.iter().map(|d| d.dest.key()).collect()
    };
    assert_eq!(order(&after, a), order(&before, a));
}

/// current: service a with one real server; desired: a with wrr and a second real server, and
/// a new service b. The plan: edit a, add .2 to a, add b.
fn small_plan() -> (Config, Config) {
    let a = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80);
    let b = ServiceKey::udp("10.0.0.2".parse().unwrap(), 53);
    let rs = |last: u8| Destination::new(SocketAddr::new(IpAddr::from([192, 168, 0, last]), 80));
    let current: Config = vec![(Service::new(a), vec![rs(1)])];
    let desired: Config = vec![
        (Service::new(a).with_scheduler(Scheduler::Wrr), vec![rs(1), rs(2)]),
        (Service::new(b).with_scheduler(Scheduler::Rr), vec![]),
    ];
    (current, desired)
}

#[test]
fn rollback_undoes_a_step_that_timed_out_after_it_was_applied() {
    let (current, desired) = small_plan();
    for on_error in [OnError::Continue, OnError::Stop] {
        // Write 1 (the addition of .2) is carried out, but the caller sees a timeout.
        let fail = HashMap::from([(1, Failure::AppliedThenTimeout)]);
        let mut flaky = Flaky { inner: load(&current), fail, writes: 0 };
        let p = plan_for(&mut flaky, &desired).unwrap();
        assert_eq!(p.len(), 3, "{p}");
        assert!(matches!(p.steps()[1].op, Operation::AddDestination(..)), "{p}");
        let report = p.apply(&mut flaky, on_error);
        assert_eq!(report.results[1], Err(Error::Timeout));
        assert_eq!(report.results.len(), if on_error == OnError::Stop { 2 } else { 3 });
        // The timed-out step is undone with the ones that succeeded, newest first.
        let mut want: Vec<Operation> = Vec::new();
        for step in p.steps()[..report.results.len()].iter().rev() {
            want.extend(step.undo.iter().cloned());
        }
        assert_eq!(p.undo_operations(&report), want);
        assert!(want.contains(&p.steps()[1].undo[0]));
        flaky.fail.clear();
        let undone = p.rollback(&mut flaky, &report);
        assert_eq!(undone, vec![Ok(()); want.len()]);
        assert_eq!(shape_of(&mut flaky), shape_of_config(&current));
    }
}

#[test]
fn rollback_leaves_alone_a_step_that_was_never_sent() {
    let (current, desired) = small_plan();
    for on_error in [OnError::Continue, OnError::Stop] {
        // Write 1 (the addition of .2) is never sent.
        let fail = HashMap::from([(1, Failure::NotSent)]);
        let mut flaky = Flaky { inner: load(&current), fail, writes: 0 };
        let p = plan_for(&mut flaky, &desired).unwrap();
        let report = p.apply(&mut flaky, on_error);
        let e = report.results[1].clone().unwrap_err();
        assert_eq!((e.kind(), e.may_have_applied()), (ErrorKind::NotSent, false));
        assert_eq!(report.results.len(), if on_error == OnError::Stop { 2 } else { 3 });
        // Only the steps that succeeded are undone: undoing the unsent one would fail (.2 is
        // not there).
        let mut want: Vec<Operation> = Vec::new();
        for (step, r) in p.steps().iter().zip(&report.results).rev() {
            if r.is_ok() {
                want.extend(step.undo.iter().cloned());
            }
        }
        assert_eq!(p.undo_operations(&report), want);
        assert!(!want.contains(&p.steps()[1].undo[0]));
        flaky.fail.clear();
        let undone = p.rollback(&mut flaky, &report);
        assert_eq!(undone, vec![Ok(()); want.len()]);
        assert_eq!(shape_of(&mut flaky), shape_of_config(&current));
    }
}

#[test]
fn rollback_leaves_alone_a_step_the_kernel_refused() {
    let (current, desired) = small_plan();
    let fail = HashMap::from([(1, Failure::Refused)]);
    let mut flaky = Flaky { inner: load(&current), fail, writes: 0 };
    let p = plan_for(&mut flaky, &desired).unwrap();
    let report = p.apply(&mut flaky, OnError::Continue);
    assert_eq!(report.results, vec![Ok(()), Err(Error::invalid(22)), Ok(())]);
    let mut want = p.steps()[2].undo.clone();
    want.extend(p.steps()[0].undo.iter().cloned());
    assert_eq!(p.undo_operations(&report), want);
    flaky.fail.clear();
    assert_eq!(p.rollback(&mut flaky, &report), vec![Ok(()); want.len()]);
    assert_eq!(shape_of(&mut flaky), shape_of_config(&current));
}
