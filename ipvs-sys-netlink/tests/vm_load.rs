//! Load and soak on the real kernel: several threads, each with its own client, change the
//! same table as another process (Debian's ipvsadm) does, for a bounded number of operations
//! (`IPVS_SOAK_ROUNDS`, default 150 per thread; raise it for a longer soak). Every operation's
//! result must agree with the in-memory reference table (`MemoryBackend`) given the same
//! operations, every listing must hold each thread's part of the table whole, and the process's
//! memory must stay flat (RSS sampled over the run). A streamed listing of 100,000 objects must
//! stay under a memory ceiling. Pass and fail are decided by counts, never by durations.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::ops::ControlFlow;

use ipvs_core::table::MemoryBackend;
use ipvs_core::{
    Backend, Destination, DestinationStatus, ForwardMethod, Operation, Scheduler, Service, ServiceKey,
    ServiceStatus,
};
use ipvs_sys_netlink::{Client, ClientOptions, NetNs};

const THREADS: u16 = 3;
/// Growth of the resident set allowed between the end of the first tenth of the soak and its
/// end.
const RSS_GROWTH_BOUND_KB: u64 = 8 * 1024;
/// The ceiling on the peak resident set added by streaming 100,000 objects.
const STREAM_CEILING_KB: u64 = 64 * 1024;

fn rounds() -> usize {
    std::env::var("IPVS_SOAK_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(150)
}

fn status_kb(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix(field).map(|v| v.trim().trim_end_matches(" kB").trim().parse().unwrap()))
        .unwrap()
}

/// A small deterministic generator (no clock, no external crate).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// Thread `t`'s keys: TCP 10.0.<t>.1, ports 1..=8; real servers 192.168.<t>.1..=6.
fn op(t: u16, g: &mut Lcg) -> Operation {
    let key = ServiceKey::tcp([10, 0, t as u8, 1].into(), 1 + g.next(8) as u16);
    let dest = Destination::new(([192, 168, t as u8, 1 + g.next(6) as u8], 80).into())
        .with_forward(ForwardMethod::Masquerade);
    let sched = [Scheduler::Rr, Scheduler::Wrr, Scheduler::Wlc][g.next(3) as usize].clone();
    match g.next(8) {
        0 | 1 => Operation::AddService(Service::new(key).with_scheduler(sched)),
        2 => Operation::EditService(Service::new(key).with_scheduler(sched)),
        3 => Operation::DeleteService(key),
        4 | 5 => Operation::AddDestination(key, dest.with_weight(g.next(10) as u32)),
        6 => Operation::EditDestination(key, dest.with_weight(g.next(10) as u32)),
        _ => Operation::DeleteDestination(key, dest.key()),
    }
}

type Part = Vec<(String, Vec<String>)>;

/// A thread's part of a listing, in a canonical form (configuration only, sorted).
fn part(t: u16, listing: &[(ServiceStatus, Vec<DestinationStatus>)]) -> Part {
    let mut out: Part = listing
        .iter()
        .filter(|(s, _)| matches!(s.service.key, ServiceKey::Addr { addr, .. } if addr == std::net::IpAddr::from([10, 0, t as u8, 1])))
        .map(|(s, d)| {
            let mut d: Vec<String> = d.iter().map(|d| d.dest.to_string()).collect();
            d.sort();
            (s.service.to_string(), d)
        })
        .collect();
    out.sort();
    out
}

/// Named `manual_` (left out of scripts/test) until a VM run has shown it passing.
#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn manual_threads_and_another_process_agree_with_the_reference_and_memory_stays_flat() {
    let _ns = common::kernel();
    let ns = NetNs::current().unwrap();
    let n = rounds();
    // Another process changing the same table: Debian's ipvsadm adding and deleting services
    // of its own, a bounded number of times.
    let other = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "i=0; while [ $i -lt {} ]; do ipvsadm -A -t 10.9.9.9:$((i % 50 + 1)) -s rr 2>/dev/null; \
             ipvsadm -a -t 10.9.9.9:$((i % 50 + 1)) -r 192.168.9.9 -m 2>/dev/null; \
             ipvsadm -D -t 10.9.9.9:$(((i + 25) % 50 + 1)) 2>/dev/null; i=$((i + 1)); done",
            n * 2
        ))
        .spawn()
        .unwrap();
    let mut samples = Vec::new();
    let handles: Vec<_> = (1..=THREADS)
        .map(|t| {
            let ns = ns.try_clone().unwrap();
            std::thread::spawn(move || {
                let mut ipvs = Client::in_netns(&ns, ClientOptions::default()).unwrap();
                let mut reference = MemoryBackend::new();
                let mut g = Lcg(u64::from(t) * 7919);
                let (mut disagreements, mut partial, mut listings) = (Vec::new(), 0, 0);
                let mut rss = Vec::new();
                for i in 0..n {
                    let op = op(t, &mut g);
                    let kernel = ipvs.apply(&op).map_err(|e| e.kind());
                    let mem = reference.apply(&op).map_err(|e| e.kind());
                    if kernel != mem {
                        disagreements.push(format!("`{op}`: kernel {kernel:?}, reference {mem:?}"));
                    }
                    if i % 5 == 0 {
                        let listing = ipvs.services_with_destinations().unwrap();
                        let want = part(t, &reference.services_with_destinations().unwrap());
                        if part(t, &listing) != want {
                            partial += 1;
                        }
                        listings += 1;
                    }
                    if i % (n / 10).max(1) == 0 {
                        rss.push(status_kb("VmRSS:"));
                    }
                }
                (disagreements, partial, listings, rss)
            })
        })
        .collect();
    for h in handles {
        let (disagreements, partial, listings, rss) = h.join().unwrap();
        assert!(
            disagreements.is_empty(),
            "{} disagreements:\n{}",
            disagreements.len(),
            disagreements.join("\n")
        );
        assert_eq!(partial, 0, "{partial} of {listings} listings lacked part of the thread's table");
        samples.push(rss);
    }
    // Its own commands may fail (it races with itself on purpose); it must only end.
    let _ = other.wait_with_output().unwrap();
    // Memory: from the second sample (after warm-up) to the last.
    let (first, last) =
        (samples.iter().filter_map(|s| s.get(1)).max().copied().unwrap_or(0), status_kb("VmRSS:"));
    println!(
        "{THREADS} threads x {n} operations with ipvsadm changing the same table: all agree; RSS samples {samples:?} kB, \
         final {last} kB"
    );
    assert!(last <= first + RSS_GROWTH_BOUND_KB, "RSS grew from {first} kB to {last} kB");
}

/// Named `manual_` (left out of scripts/test) until a VM run has shown it passing.
#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn manual_a_streamed_listing_of_100000_objects_stays_under_its_memory_ceiling() {
    let _ns = common::kernel();
    // 20,000 services with 4 real servers each: 100,000 objects.
    let mut rules = String::with_capacity(4 << 20);
    for s in 0..20_000u32 {
        let vip = format!("10.{}.{}.{}:80", 1 + s / 65536, (s / 256) % 256, s % 256);
        rules.push_str(&format!("-A -t {vip} -s rr\n"));
        for d in 1..=4 {
            rules.push_str(&format!("-a -t {vip} -r 192.168.0.{d}:80 -m\n"));
        }
    }
    let path = format!("/tmp/vm-load-{}.rules", std::process::id());
    std::fs::write(&path, rules).unwrap();
    common::sh(&format!("ipvsadm -R < {path}"));
    let mut ipvs = Client::new().unwrap();
    // Peak RSS from here: /proc/self/clear_refs "5" resets VmHWM to the current RSS.
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let base = status_kb("VmRSS:");
    let (mut services, mut dests) = (0usize, 0usize);
    ipvs.for_each_service_with_destinations(|_s, d| {
        services += 1;
        dests += d.len();
        ControlFlow::Continue(())
    })
    .unwrap();
    let peak = status_kb("VmHWM:");
    println!(
        "streamed {services} services and {dests} real servers: peak RSS {} kB above the {base} kB before \
         (ceiling {STREAM_CEILING_KB} kB)",
        peak.saturating_sub(base)
    );
    assert_eq!((services, dests), (20_000, 80_000));
    assert!(peak.saturating_sub(base) <= STREAM_CEILING_KB, "peak {peak} kB, base {base} kB");
}
