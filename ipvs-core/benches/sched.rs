//! Scheduling decisions per second for every scheduler at 10 and 100 real servers.
//!
//! Run with `cargo bench -p ipvs-core --bench sched`. Before criterion's own measurements, a
//! plain timing loop prints `decisions/s` per scheduler and size.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use criterion::{Criterion, Throughput};
use ipvs_core::sched::{
    AnySched, DestId, DestView, PacketInfo, SchedCtx, SchedState, SplitMix64, SvcParams, Time,
};
use ipvs_core::Scheduler;

const SCHEDULERS: &[Scheduler] = Scheduler::KNOWN;

fn dests(n: usize) -> Vec<DestView> {
    (0..n)
        .map(|i| {
            let addr = IpAddr::from([192, 168, (i >> 8) as u8, i as u8]);
            // varied weights and loads so the weighted schedulers do real work
            DestView::new(DestId(i as u64), addr, 80, 1 + (i % 5) as i32)
                .with_conns((i % 7) as i32, (i % 13) as i32 + 7)
        })
        .collect()
}

fn packets() -> Vec<PacketInfo> {
    (0..1024u32)
        .map(|i| {
            let src = SocketAddr::new(
                IpAddr::from((0xC633_6400u32 + i * 7919).to_be_bytes()),
                1024 + (i % 5000) as u16,
            );
            let dst = SocketAddr::new(IpAddr::from([10, 0, (i >> 8) as u8, i as u8]), 80);
            PacketInfo::tcp(src, dst)
        })
        .collect()
}

fn rate(kind: &Scheduler, n: usize, iters: usize) -> f64 {
    let ds = dests(n);
    let pkts = packets();
    let mut s = AnySched::new(kind, SvcParams::v4(), &ds, Time::ZERO).expect("scheduler");
    let mut rng = SplitMix64::new(1);
    let mut ctx = SchedCtx::new(Time::from_secs(1), &mut rng);
    // warm up (fills lblc/lblcr caches)
    for p in &pkts {
        black_box(s.schedule(&ds, p, &mut ctx));
    }
    let start = Instant::now();
    let mut hits = 0usize;
    for i in 0..iters {
        let p = &pkts[i & 1023];
        if s.schedule(black_box(&ds), black_box(p), &mut ctx).is_some() {
            hits += 1;
        }
    }
    black_box(hits);
    iters as f64 / start.elapsed().as_secs_f64()
}

fn print_rates() {
    println!("{:<6} {:>18} {:>18}", "sched", "10 servers", "100 servers");
    for kind in SCHEDULERS {
        let r10 = rate(kind, 10, 2_000_000);
        let r100 = rate(kind, 100, 2_000_000);
        println!("{:<6} {:>12.1} M decisions/s {:>12.1} M decisions/s", kind.name(), r10 / 1e6, r100 / 1e6);
    }
}

fn bench(c: &mut Criterion) {
    let pkts = packets();
    for n in [10usize, 100] {
        let mut g = c.benchmark_group(format!("schedule/{n}"));
        g.throughput(Throughput::Elements(1));
        for kind in SCHEDULERS {
            let ds = dests(n);
            let mut s = AnySched::new(kind, SvcParams::v4(), &ds, Time::ZERO).expect("scheduler");
            let mut rng = SplitMix64::new(1);
            let mut ctx = SchedCtx::new(Time::from_secs(1), &mut rng);
            let mut i = 0usize;
            g.bench_function(kind.name(), |b| {
                b.iter(|| {
                    i = i.wrapping_add(1);
                    s.schedule(black_box(&ds), black_box(&pkts[i & 1023]), &mut ctx)
                })
            });
        }
        g.finish();
    }
}

fn main() {
    print_rates();
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
