//! The classic LVS-NAT cluster of the LVS guides (`shared/seeds`): a virtual service on
//! 192.168.0.200:80 scheduled with wrr over two real servers reached by masquerading, weighted
//! 1 and 2. It applies the configuration to a backend, reads the table back and prints it as
//! `ipvsadm -Ln` would.
//!
//! ```text
//! nat-cluster            # the kernel's IPVS table (needs CAP_NET_ADMIN and IPVS)
//! nat-cluster --memory   # the in-memory reference table: runs anywhere
//! ```
//!
//! `scripts/run-example` runs it against the real kernel inside the VM, and prints Debian's
//! `ipvsadm -Ln` beside it.

use std::process::ExitCode;

use ipvs_core::ipvsadm::{cmdline::ListFormat, list, NumericResolver};
use ipvs_core::table::MemoryBackend;
use ipvs_core::{Backend, Destination, ForwardMethod, Operation, Scheduler, Service, ServiceKey};

/// The cluster: VIP 192.168.0.200:80 (wrr), real servers 172.16.100.10 and .11 (NAT, 1 and 2).
fn cluster() -> Vec<Operation> {
    let vip = ServiceKey::tcp([192, 168, 0, 200].into(), 80);
    let mut ops = vec![Operation::AddService(Service::new(vip).with_scheduler(Scheduler::Wrr))];
    for (rs, weight) in [([172, 16, 100, 10], 1), ([172, 16, 100, 11], 2)] {
        let dest =
            Destination::new((rs, 80).into()).with_forward(ForwardMethod::Masquerade).with_weight(weight);
        ops.push(Operation::AddDestination(vip, dest));
    }
    ops
}

fn run(backend: &mut dyn Backend) -> ipvs_core::Result<String> {
    for op in cluster() {
        println!("ipvsadm {op}");
        backend.apply(&op)?;
    }
    let info = backend.info()?;
    let mut table = Vec::new();
    for svc in backend.services()? {
        let dests = backend.destinations(&svc.service.key)?;
        table.push((svc, dests));
    }
    Ok(list::list_all(&info, &table, &ListFormat::numeric(), &NumericResolver))
}

fn main() -> ExitCode {
    let memory = std::env::args().skip(1).any(|a| a == "--memory");
    let result = if memory {
        run(&mut MemoryBackend::new())
    } else {
        ipvs_sys_netlink::Client::new().and_then(|mut c| run(&mut c))
    };
    match result {
        Ok(listing) => {
            print!("{listing}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("nat-cluster: {e}");
            ExitCode::FAILURE
        }
    }
}
