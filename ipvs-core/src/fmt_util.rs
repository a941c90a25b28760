//! Small formatting helpers shared by the model's `Display` impls and the ipvsadm formats.

use std::fmt;
use std::net::IpAddr;

use crate::service::{Scheduler, ServiceFlags};

/// An address and port as ipvsadm writes them with `-n`: `10.0.0.1:80`, `[2001:db8::1]:80`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SockAddr(pub IpAddr, pub u16);

impl fmt::Display for SockAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.1),
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.1),
        }
    }
}

/// The scheduler flags as ipvsadm names them, joined with commas: `sh-fallback,sh-port` for
/// sh, `mh-fallback,mh-port` for mh, `flag-1,flag-2,flag-3` for any other scheduler.
///
/// ```
/// use ipvs_core::{fmt_util::sched_flags, Scheduler, ServiceFlags};
/// assert_eq!(sched_flags(&Scheduler::Sh, ServiceFlags::SCHED1 | ServiceFlags::SCHED2), "sh-fallback,sh-port");
/// assert_eq!(sched_flags(&Scheduler::Rr, ServiceFlags::SCHED3), "flag-3");
/// ```
pub fn sched_flags(scheduler: &Scheduler, flags: ServiceFlags) -> String {
    let names: [&str; 3] = match scheduler {
        Scheduler::Sh => ["sh-fallback", "sh-port", "flag-3"],
        Scheduler::Mh => ["mh-fallback", "mh-port", "flag-3"],
        _ => ["flag-1", "flag-2", "flag-3"],
    };
    let bits = [ServiceFlags::SCHED1, ServiceFlags::SCHED2, ServiceFlags::SCHED3];
    let mut out = String::new();
    for (bit, name) in bits.iter().zip(names) {
        if flags.contains(*bit) {
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(name);
        }
    }
    out
}
