//! # ipvs-core
//!
//! The sans-IO heart of the `ipvs` project: a typed model of the Linux kernel's IPVS load
//! balancer (virtual services, real servers, statistics, timeouts, sync daemons), validation of
//! every field against the kernel's and ipvsadm's limits, and the [`Backend`] trait that both the
//! kernel backend (`ipvs-sys-netlink`) and the in-memory reference implement.
//!
//! Nothing in this crate performs I/O or reads a clock: decisions and data live here, sockets
//! live in the backends. Every type is owned, `Send + Sync` and cheap to clone, so the Python
//! and C bindings wrap them without lifetimes.
//!
//! ```
//! use ipvs_core::{Destination, ForwardMethod, Operation, Scheduler, Service, ServiceKey};
//!
//! // The LVS-NAT cluster of the classic guides: a VIP with wrr over two real servers.
//! let vip = ServiceKey::tcp("10.1.2.3".parse().unwrap(), 80);
//! let service = Service::new(vip).with_scheduler(Scheduler::Wrr);
//! let rs1 = Destination::new("192.168.1.10:80".parse().unwrap())
//!     .with_forward(ForwardMethod::Masquerade)
//!     .with_weight(1);
//! let rs2 = Destination::new("192.168.1.11:80".parse().unwrap())
//!     .with_forward(ForwardMethod::Masquerade)
//!     .with_weight(2);
//! let ops = [
//!     Operation::AddService(service),
//!     Operation::AddDestination(vip, rs1),
//!     Operation::AddDestination(vip, rs2),
//! ];
//! for op in &ops {
//!     op.validate().unwrap();
//!     println!("ipvsadm {op}");
//! }
//! assert_eq!(ops[2].to_string(), "-a -t 10.1.2.3:80 -r 192.168.1.11:80 -m -w 2");
//! ```

#![forbid(unsafe_code)]

pub mod backend;
pub mod dest;
pub mod director;
pub mod error;
mod fmt_util;
pub mod ipvsadm;
pub mod plan;
pub mod sched;
pub mod service;
pub mod sim;
pub mod status;
pub mod table;

pub use backend::{Backend, OnError, Operation};
pub use dest::{
    Destination, DestinationKey, ForwardMethod, OtherForwardMethod, OtherTunnelType, Tunnel, TunnelFlags,
    TunnelType,
};
pub use error::{Error, ErrorKind, Field, Object, Privilege, Result, ValidationError};
pub use plan::{plan, Plan, PlanError};
pub use service::{
    AddressFamily, Netmask, OtherProtocol, OtherScheduler, PeName, Protocol, Scheduler, Service,
    ServiceFlags, ServiceKey,
};
pub use status::{
    DestinationStatus, Info, InterfaceName, ServiceStatus, Stats, SyncDaemon, SyncRole, Timeouts,
};

#[cfg(test)]
mod send_sync {
    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}

    #[test]
    fn model_types_are_send_sync_clone() {
        assert_send_sync::<super::Service>();
        assert_send_sync::<super::Destination>();
        assert_send_sync::<super::ServiceStatus>();
        assert_send_sync::<super::DestinationStatus>();
        assert_send_sync::<super::SyncDaemon>();
        assert_send_sync::<super::Operation>();
        assert_send_sync::<super::Error>();
    }
}
