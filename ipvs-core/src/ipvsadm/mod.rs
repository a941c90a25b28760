//! ipvsadm 1.31's text formats, byte for byte, in pure Rust.
//!
//! * [`cmdline`]: parse an ipvsadm argv into a typed [`cmdline::Command`] with ipvsadm's
//!   option rules, defaults, messages and exit codes, and turn it into an
//!   [`Operation`](crate::Operation).
//! * [`rules`]: read `ipvsadm -R` input (strictly as ipvsadm does, or leniently as
//!   `ipvsadm-restore` does) into commands, or into the table it describes ([`rules::RuleSet`]).
//! * [`list`]: print `ipvsadm -S` and every `ipvsadm -L` listing from model values.
//! * [`conn`]: parse `/proc/net/ip_vs_conn` and `/proc/net/ip_vs_conn_sync`, and print
//!   `ipvsadm -L -c` from them.
//! * [`proc`]: parse `/proc/net/ip_vs`, the kernel's own listing.
//! * [`strerror`]: the messages ipvsadm prints for kernel errors.
//!
//! # Writing the ipvsadm drop-in
//!
//! 1. Parse `argv[1..]` with [`cmdline::Parser`] (program name = `argv[0]`). On error print
//!    the error and a newline on standard error and exit with [`cmdline::CmdError::exit_code`].
//! 2. [`cmdline::Command::Help`] / [`cmdline::Command::Version`]: print [`cmdline::usage`] /
//!    [`cmdline::version`] on standard output, exit 0.
//! 3. Changes: [`cmdline::Command::to_operation`], then [`Backend::apply`](crate::Backend);
//!    on a kernel error print [`strerror::message`] and exit 255.
//! 4. Listings: read the backend (or `/proc/net/ip_vs_conn` for `-c`) and print [`list`] /
//!    [`conn`] output; `-S` is [`list::save`].
//! 5. `-R`: [`rules::restore`] on standard input, then run its lines in order as above
//!    (kernel errors do not stop it; [`rules::Restore::fatal`] ends it with that error).
//!
//! # ipvsadm behaviour worth knowing (all reproduced)
//!
//! * The command must be the first option (`ipvsadm -nL` fails); `-h`/`-v` must be first too.
//! * `-E` and `-e` send every field: options left out are reset to their defaults.
//! * `-M` is read as IPv4 or IPv6 depending on the service option seen *before* it.
//! * Firewall marks are printed signed, so `ipvsadm -S` output with marks of 2^31 and more
//!   cannot be restored; the sort comparator wraps for values 2^31 apart, which makes the
//!   listing order depend on the kernel's order.
//! * `#` is not a comment in `ipvsadm -R`; a last line ending in two blanks without a newline
//!   is dropped.
//!
//! Everything is sans-IO: the caller reads the kernel (through a [`Backend`](crate::Backend))
//! or the /proc files and prints the strings returned here. Name lookups (ipvsadm without
//! `-n`) go through a [`Resolver`], whose default ([`NumericResolver`]) knows no names, so
//! output without `-n` is the numeric output, as ipvsadm's is when lookups fail.
//!
//! ```
//! use ipvs_core::ipvsadm::{cmdline, list};
//! use ipvs_core::{Info, ServiceStatus, Stats, DestinationStatus};
//!
//! let rules = "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 192.168.1.10 -m\n";
//! let set = ipvs_core::ipvsadm::rules::RuleSet::from_text(rules).unwrap();
//! let table: Vec<(ServiceStatus, Vec<DestinationStatus>)> = set.to_statuses();
//! let info = Info::new(0x010201, 4096);
//! let text = list::list_all(&info, &table, &cmdline::ListFormat::numeric(), &ipvs_core::ipvsadm::NumericResolver);
//! assert_eq!(
//!     text,
//!     "IP Virtual Server version 1.2.1 (size=4096)\n\
//!      Prot LocalAddress:Port Scheduler Flags\n  \
//!      -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n\
//!      TCP  10.0.0.1:80 rr\n  \
//!      -> 192.168.1.10:80              Masq    1      0          0         \n"
//! );
//! ```

use std::net::{IpAddr, Ipv4Addr};

use crate::service::Protocol;

pub mod cmdline;
pub mod conn;
mod libc;
pub mod list;
mod popt;
pub mod proc;
pub mod rules;
pub mod strerror;

/// Name lookups, as ipvsadm does them through the C library. Every method may return `None`
/// ("not found"), which is what [`NumericResolver`] always does; ipvsadm then uses the
/// numeric form.
///
/// The `ipvsadm-rs` binary can implement this with `getaddrinfo`/`getnameinfo` and
/// `getservbyport` to print names as ipvsadm does without `-n`.
pub trait Resolver {
    /// `gethostbyaddr`: the host name of an address.
    fn host_name(&self, _addr: IpAddr) -> Option<String> {
        None
    }
    /// `getservbyport`: the service name of a port for TCP, UDP or SCTP (ipvsadm asks only
    /// for those three protocols).
    fn service_name(&self, _port: u16, _protocol: Protocol) -> Option<String> {
        None
    }
    /// `gethostbyname`: the IPv4 address of a host name (ipvsadm takes only IPv4 answers).
    fn host_addr(&self, _name: &str) -> Option<Ipv4Addr> {
        None
    }
    /// `getservbyname`: the port of a service name for TCP, UDP or SCTP.
    fn service_port(&self, _name: &str, _protocol: Protocol) -> Option<u16> {
        None
    }
}

/// The resolver that knows no names: numeric input only, numeric output always.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NumericResolver;

impl Resolver for NumericResolver {}
