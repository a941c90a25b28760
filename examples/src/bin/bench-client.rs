//! The Rust side of `scripts/bench-python`: the same work as the Python benchmark
//! (`ipvs-py/bench/bench.py`) through `ipvs_sys_netlink::Client`, timed inside the process.
//!
//! ```text
//! bench-client add SERVICES DESTS   # builds the operations, one apply_all (pipelined)
//! bench-client list                 # services_with_destinations (with statistics)
//! ```
//!
//! Prints `STEP SECONDS SERVICES DESTINATIONS`. The table is the benchmark's: service `i` is
//! `-t 10.A.B.C:80 -s wrr`, its real servers `172.X.Y.Z:800K -m -w K+1`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Instant;

use ipvs_core::{Backend, Destination, ForwardMethod, OnError, Operation, Scheduler, Service, ServiceKey};
use ipvs_sys_netlink::Client;

fn vip(i: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, (1 + i / 62_500) as u8, (i / 250 % 250) as u8, (i % 250 + 1) as u8))
}

fn rip(i: u32, k: u32) -> SocketAddr {
    let ip = Ipv4Addr::new(172, (16 + i / 62_500) as u8, (i / 250 % 250) as u8, (i % 250 + 1) as u8);
    SocketAddr::new(IpAddr::V4(ip), 8000 + k as u16)
}

fn run(args: &[String]) -> Result<String, String> {
    let mut ipvs = Client::new().map_err(|e| e.to_string())?;
    match args {
        [cmd, n, d] if cmd == "add" => {
            let n: u32 = n.parse().map_err(|_| "SERVICES is a number")?;
            let d: u32 = d.parse().map_err(|_| "DESTS is a number")?;
            let t0 = Instant::now();
            let mut ops = Vec::with_capacity((n * (d + 1)) as usize);
            for i in 0..n {
                let key = ServiceKey::tcp(vip(i), 80);
                ops.push(Operation::AddService(Service::new(key).with_scheduler(Scheduler::Wrr)));
                for k in 0..d {
                    let dest = Destination::new(rip(i, k))
                        .with_forward(ForwardMethod::Masquerade)
                        .with_weight(k + 1);
                    ops.push(Operation::AddDestination(key, dest));
                }
            }
            let failed = ipvs.apply_all(&ops, OnError::Continue).iter().filter(|r| r.is_err()).count();
            let secs = t0.elapsed().as_secs_f64();
            if failed != 0 {
                return Err(format!("{failed} operations failed"));
            }
            Ok(format!("add {secs:.6} {n} {}", n * d))
        }
        [cmd] if cmd == "list" => {
            let t0 = Instant::now();
            let table = ipvs.services_with_destinations().map_err(|e| e.to_string())?;
            let secs = t0.elapsed().as_secs_f64();
            let dests: usize = table.iter().map(|(_, d)| d.len()).sum();
            let conns: u64 = table.iter().map(|(s, _)| s.stats.conns).sum();
            Ok(format!("list {secs:.6} {} {dests} {conns}", table.len()))
        }
        _ => Err("usage: bench-client add SERVICES DESTS | list".into()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench-client: {e}");
            ExitCode::FAILURE
        }
    }
}
