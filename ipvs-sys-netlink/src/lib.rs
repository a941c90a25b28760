//! Generic-netlink backend for Linux IPVS.
//!
//! * [`Client`] (alias [`NetlinkBackend`]): the kernel's IPVS table as an
//!   [`ipvs_core::Backend`], over one generic-netlink socket.
//! * [`codec`]: a pure encoder/decoder for the `"IPVS"` generic-netlink
//!   family (messages, attributes, whole request and reply buffers). It opens
//!   no socket, so it can be tested and fuzzed anywhere.
//!
//! The facts behind the codec (attribute numbers, byte orders, reply orders,
//! kernel versions) are cited in its documentation and come from the Linux
//! 6.1 sources (`include/uapi/linux/ip_vs.h`, `net/netfilter/ipvs/ip_vs_ctl.c`).
//!
//! # Guide
//!
//! Open a [`Client`] (it needs `CAP_NET_ADMIN` in the initial user namespace, like
//! `ipvsadm`), then use the [`Backend`] methods. Every change is validated before
//! it is sent, and the kernel's answers come back as typed [`ipvs_core::Error`]s.
//!
//! ```no_run
//! use ipvs_core::{Backend, Destination, Error, ForwardMethod, Object, OnError, Scheduler, Service, ServiceKey};
//! use ipvs_sys_netlink::Client;
//!
//! let mut ipvs = Client::new()?; // one socket; the "IPVS" family is resolved here
//! println!("{}", ipvs.info()?); // IP Virtual Server version 1.2.1 (size=4096)
//!
//! // ipvsadm -A -t 10.1.2.3:80 -s wrr
//! let vip = ServiceKey::tcp("10.1.2.3".parse().unwrap(), 80);
//! match ipvs.add_service(&Service::new(vip).with_scheduler(Scheduler::Wrr)) {
//!     Ok(()) | Err(Error::Exists { object: Object::Service, .. }) => {}
//!     Err(e) => return Err(e),
//! }
//!
//! // ipvsadm -a -t 10.1.2.3:80 -r 192.168.1.10:80 -m -w 1 (and .11 with weight 2),
//! // both requests in one sendmsg.
//! let ops: Vec<_> = [("192.168.1.10:80", 1), ("192.168.1.11:80", 2)]
//!     .into_iter()
//!     .map(|(rs, w)| {
//!         let d = Destination::new(rs.parse().unwrap()).with_forward(ForwardMethod::Masquerade).with_weight(w);
//!         ipvs_core::Operation::AddDestination(vip, d)
//!     })
//!     .collect();
//! for r in ipvs.apply_all(&ops, OnError::Continue) {
//!     r?;
//! }
//!
//! // ipvsadm -Ln
//! for (svc, dests) in ipvs.services_with_destinations()? {
//!     println!("{} {}", svc.service.key, svc.service.scheduler);
//!     for d in dests {
//!         println!("  -> {} {:?} {} {} {}", d.dest.key(), d.dest.forward, d.dest.weight, d.active_conns, d.inactive_conns);
//!     }
//! }
//! # Ok::<(), ipvs_core::Error>(())
//! ```
//!
//! A client belongs to one network namespace for its whole life: that of the
//! thread that opened it ([`Client::new`]), or the one given to
//! [`Client::in_netns`] (a [`NetNs`]: an `ip netns` name, a `/proc/<pid>/ns/net`
//! path or a descriptor), which opens it there without changing the caller's
//! namespace. It keeps a handle on that namespace, so it keeps working there
//! whichever thread uses it. Open one per namespace.
//!
//! # Threads and locking
//!
//! A [`Client`] is `Send` (move it between threads) but not `Sync`: its methods take
//! `&mut self`. Share it behind a `Mutex`, or open one per thread (each has its own
//! sockets; the kernel serialises changes under its own IPVS mutex). The model values
//! of `ipvs_core` are plain owned data, `Send + Sync`.
//!
//! ```no_run
//! use ipvs_core::Backend;
//! use ipvs_sys_netlink::{Client, ClientOptions, NetNs};
//!
//! // ip netns exec blue ipvsadm -Ln, without entering blue.
//! let mut blue = Client::in_netns(&NetNs::named("blue")?, ClientOptions::default())?;
//! println!("{} services in blue", blue.services()?.len());
//! # Ok::<(), ipvs_core::Error>(())
//! ```

pub mod client;
pub mod codec;
#[doc(hidden)]
pub mod convert;

pub use client::{ChunkSizes, Client, ClientOptions, Direction, NetNs, NetlinkBackend, WireRecord};
pub use ipvs_core;
pub use ipvs_core::Backend;

/// The README's Rust examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
