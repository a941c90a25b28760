//! Virtual services: their key, scheduler, flags and persistence.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use crate::error::{Field, ValidationError};
use crate::fmt_util::SockAddr;

/// An address family, as the kernel numbers them (`AF_INET` = 2, `AF_INET6` = 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AddressFamily {
    /// IPv4 (`AF_INET`).
    Inet,
    /// IPv6 (`AF_INET6`).
    Inet6,
}

impl AddressFamily {
    /// The kernel's number for the family.
    pub fn to_raw(self) -> u16 {
        match self {
            AddressFamily::Inet => 2,
            AddressFamily::Inet6 => 10,
        }
    }

    /// The family with the kernel's number `raw`, if it is IPv4 or IPv6.
    pub fn from_raw(raw: u16) -> Option<Self> {
        match raw {
            2 => Some(AddressFamily::Inet),
            10 => Some(AddressFamily::Inet6),
            _ => None,
        }
    }

    /// The family of an address.
    pub fn of(addr: &IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        }
    }
}

impl fmt::Display for AddressFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressFamily::Inet => "IPv4",
            AddressFamily::Inet6 => "IPv6",
        })
    }
}

/// The transport protocol of an address-keyed virtual service.
///
/// A protocol number with a variant of its own is always that variant: [`Protocol::Other`]
/// holds only numbers that are not TCP, UDP or SCTP (it is built by [`Protocol::from_raw`]),
/// so two values equal to the kernel are equal here.
///
/// ```
/// use ipvs_core::Protocol;
/// assert_eq!(Protocol::from_raw(6), Protocol::Tcp);
/// let p = Protocol::from_raw(99);
/// assert!(matches!(p, Protocol::Other(o) if o.get() == 99));
/// assert_eq!(p.to_raw(), 99);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Protocol {
    /// TCP (`-t`), IP protocol 6.
    Tcp,
    /// UDP (`-u`), IP protocol 17.
    Udp,
    /// SCTP (`--sctp-service`), IP protocol 132.
    Sctp,
    /// Another IP protocol number. The kernel's netlink interface accepts any number, so a table
    /// written by another program may hold one; this library refuses to create such services.
    Other(OtherProtocol),
}

/// An IP protocol number that is not one of [`Protocol`]'s named variants (built only by
/// [`Protocol::from_raw`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OtherProtocol(u16);

impl OtherProtocol {
    /// The protocol number.
    pub fn get(self) -> u16 {
        self.0
    }
}

impl Protocol {
    /// The IP protocol number.
    pub fn to_raw(self) -> u16 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
            Protocol::Other(n) => n.0,
        }
    }

    /// The protocol with IP protocol number `raw`.
    pub fn from_raw(raw: u16) -> Self {
        match raw {
            6 => Protocol::Tcp,
            17 => Protocol::Udp,
            132 => Protocol::Sctp,
            n => Protocol::Other(OtherProtocol(n)),
        }
    }

    /// The name ipvsadm lists (`TCP`, `UDP`, `SCTP`, `?` for anything else).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
            Protocol::Other(_) => "?",
        }
    }

    /// The ipvsadm option that introduces a service of this protocol.
    pub fn option(self) -> &'static str {
        match self {
            Protocol::Tcp => "-t",
            Protocol::Udp => "-u",
            Protocol::Sctp => "--sctp-service",
            Protocol::Other(_) => "--?-service",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What identifies a virtual service: either protocol, virtual address and port, or a firewall
/// mark and an address family. Nothing else can be represented.
///
/// `Display` writes ipvsadm's rule notation:
/// ```
/// use ipvs_core::{AddressFamily, ServiceKey};
/// let k = ServiceKey::tcp("10.1.2.3".parse().unwrap(), 80);
/// assert_eq!(k.to_string(), "-t 10.1.2.3:80");
/// let k = ServiceKey::udp("2001:db8::1".parse().unwrap(), 53);
/// assert_eq!(k.to_string(), "-u [2001:db8::1]:53");
/// let k = ServiceKey::fwmark(5, AddressFamily::Inet6);
/// assert_eq!(k.to_string(), "-f 5 -6");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceKey {
    /// A service for one protocol, address and port. Port 0 means every port (persistent only).
    Addr {
        /// The transport protocol.
        protocol: Protocol,
        /// The virtual IP address.
        addr: IpAddr,
        /// The virtual port; 0 for a port-zero (all ports) service.
        port: u16,
    },
    /// A service matching packets by firewall mark.
    Fwmark {
        /// The firewall mark, 1 or more.
        mark: u32,
        /// The address family of the packets it matches.
        family: AddressFamily,
    },
}

impl ServiceKey {
    /// A TCP service key.
    pub fn tcp(addr: IpAddr, port: u16) -> Self {
        ServiceKey::Addr { protocol: Protocol::Tcp, addr, port }
    }

    /// A UDP service key.
    pub fn udp(addr: IpAddr, port: u16) -> Self {
        ServiceKey::Addr { protocol: Protocol::Udp, addr, port }
    }

    /// An SCTP service key.
    pub fn sctp(addr: IpAddr, port: u16) -> Self {
        ServiceKey::Addr { protocol: Protocol::Sctp, addr, port }
    }

    /// A firewall-mark service key.
    pub fn fwmark(mark: u32, family: AddressFamily) -> Self {
        ServiceKey::Fwmark { mark, family }
    }

    /// The address family of the service.
    pub fn family(&self) -> AddressFamily {
        match self {
            ServiceKey::Addr { addr, .. } => AddressFamily::of(addr),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }

    /// The firewall mark, or 0 for an address-keyed service.
    pub fn mark(&self) -> u32 {
        match self {
            ServiceKey::Addr { .. } => 0,
            ServiceKey::Fwmark { mark, .. } => *mark,
        }
    }

    /// The virtual port, or 0 for a firewall-mark service.
    pub fn port(&self) -> u16 {
        match self {
            ServiceKey::Addr { port, .. } => *port,
            ServiceKey::Fwmark { .. } => 0,
        }
    }

    /// Checks the key against the kernel's and ipvsadm's rules: a known protocol, a mark of 1 or
    /// more. (Port 0 is checked by [`Service::validate`], since it depends on persistence.)
    pub fn validate(&self) -> Result<(), ValidationError> {
        match self {
            ServiceKey::Addr { protocol: Protocol::Other(_), .. } => Err(ValidationError::Invalid {
                field: Field::Protocol,
                reason: "only TCP (6), UDP (17) and SCTP (132) services can be created",
            }),
            ServiceKey::Addr { addr, .. } if is_multicast(addr) => Err(ValidationError::Invalid {
                field: Field::ServiceAddress,
                reason: "a virtual address cannot be multicast",
            }),
            ServiceKey::Addr { .. } => Ok(()),
            ServiceKey::Fwmark { mark: 0, .. } => Err(ValidationError::OutOfRange {
                field: Field::Fwmark,
                value: 0,
                min: 1,
                max: u64::from(u32::MAX),
            }),
            ServiceKey::Fwmark { .. } => Ok(()),
        }
    }
}

impl ServiceKey {
    /// Checks a key that only names an existing service (to delete or zero it): any protocol
    /// number is accepted, since the kernel keeps services of other protocols that other
    /// programs created, and they must be removable; a firewall mark must still be 1 or more.
    ///
    /// ```
    /// use ipvs_core::{Protocol, ServiceKey};
    /// let odd = ServiceKey::Addr { protocol: Protocol::from_raw(99), addr: "10.0.0.1".parse().unwrap(), port: 9 };
    /// assert!(odd.validate().is_err()); // cannot be created
    /// assert!(odd.validate_lookup().is_ok()); // can be deleted
    /// ```
    pub fn validate_lookup(&self) -> Result<(), ValidationError> {
        match self {
            ServiceKey::Addr { .. } => Ok(()),
            ServiceKey::Fwmark { .. } => self.validate(),
        }
    }
}

fn is_multicast(addr: &IpAddr) -> bool {
    addr.is_multicast()
}

impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Addr { protocol, addr, port } => {
                write!(f, "{} {}", protocol.option(), SockAddr(*addr, *port))
            }
            ServiceKey::Fwmark { mark, family } => {
                write!(f, "-f {mark}")?;
                if *family == AddressFamily::Inet6 {
                    f.write_str(" -6")?;
                }
                Ok(())
            }
        }
    }
}

/// A scheduler name. The kernel's schedulers have variants; any other name survives as
/// [`Scheduler::Other`], because kernels add schedulers. Parsing never fails.
///
/// ```
/// use ipvs_core::Scheduler;
/// assert_eq!("wrr".parse::<Scheduler>().unwrap(), Scheduler::Wrr);
/// let future: Scheduler = "future".parse().unwrap();
/// assert!(matches!(&future, Scheduler::Other(o) if o.as_str() == "future"));
/// assert_eq!(Scheduler::from("mh"), Scheduler::Mh); // never Other for a known name
/// assert_eq!(Scheduler::Mh.to_string(), "mh");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[non_exhaustive]
pub enum Scheduler {
    /// Round robin.
    Rr,
    /// Weighted round robin.
    Wrr,
    /// Least connection.
    Lc,
    /// Weighted least connection (ipvsadm's default).
    #[default]
    Wlc,
    /// Shortest expected delay.
    Sed,
    /// Never queue.
    Nq,
    /// Weighted failover.
    Fo,
    /// Weighted overflow.
    Ovf,
    /// Destination hashing.
    Dh,
    /// Source hashing.
    Sh,
    /// Maglev hashing.
    Mh,
    /// Locality-based least connection.
    Lblc,
    /// Locality-based least connection with replication.
    Lblcr,
    /// Weighted random twos choice.
    Twos,
    /// No scheduler bound (`none`): the service schedules no new connections.
    Unbound,
    /// A scheduler this library does not know by name (built only by parsing a name, so a
    /// known name is never `Other`).
    Other(OtherScheduler),
}

/// A scheduler name that is not one of [`Scheduler`]'s named variants (built only by
/// [`Scheduler::from_str`](std::str::FromStr::from_str)).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OtherScheduler(String);

impl OtherScheduler {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Scheduler {
    /// Every scheduler this library knows by name, in ipvsadm's documentation order.
    pub const KNOWN: &'static [Scheduler] = &[
        Scheduler::Rr,
        Scheduler::Wrr,
        Scheduler::Lc,
        Scheduler::Wlc,
        Scheduler::Lblc,
        Scheduler::Lblcr,
        Scheduler::Dh,
        Scheduler::Sh,
        Scheduler::Sed,
        Scheduler::Nq,
        Scheduler::Fo,
        Scheduler::Ovf,
        Scheduler::Mh,
        Scheduler::Twos,
    ];

    /// The longest scheduler name the kernel stores (`IP_VS_SCHEDNAME_MAXLEN` - 1).
    pub const MAX_NAME_LEN: usize = 15;

    /// The name the kernel knows the scheduler by.
    pub fn name(&self) -> &str {
        match self {
            Scheduler::Rr => "rr",
            Scheduler::Wrr => "wrr",
            Scheduler::Lc => "lc",
            Scheduler::Wlc => "wlc",
            Scheduler::Sed => "sed",
            Scheduler::Nq => "nq",
            Scheduler::Fo => "fo",
            Scheduler::Ovf => "ovf",
            Scheduler::Dh => "dh",
            Scheduler::Sh => "sh",
            Scheduler::Mh => "mh",
            Scheduler::Lblc => "lblc",
            Scheduler::Lblcr => "lblcr",
            Scheduler::Twos => "twos",
            Scheduler::Unbound => "none",
            Scheduler::Other(s) => &s.0,
        }
    }

    /// Checks that the name fits the kernel: 1 to 15 printable ASCII characters.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate_name(Field::Scheduler, self.name(), Self::MAX_NAME_LEN)
    }
}

impl FromStr for Scheduler {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "rr" => Scheduler::Rr,
            "wrr" => Scheduler::Wrr,
            "lc" => Scheduler::Lc,
            "wlc" => Scheduler::Wlc,
            "sed" => Scheduler::Sed,
            "nq" => Scheduler::Nq,
            "fo" => Scheduler::Fo,
            "ovf" => Scheduler::Ovf,
            "dh" => Scheduler::Dh,
            "sh" => Scheduler::Sh,
            "mh" => Scheduler::Mh,
            "lblc" => Scheduler::Lblc,
            "lblcr" => Scheduler::Lblcr,
            "twos" => Scheduler::Twos,
            "none" => Scheduler::Unbound,
            other => Scheduler::Other(OtherScheduler(other.to_owned())),
        })
    }
}

impl From<&str> for Scheduler {
    fn from(s: &str) -> Self {
        match s.parse() {
            Ok(s) => s,
            Err(never) => match never {},
        }
    }
}

impl fmt::Display for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Checks a kernel name field: non-empty, at most `max` bytes, printable ASCII without spaces.
fn validate_name(field: Field, name: &str, max: usize) -> Result<(), ValidationError> {
    if name.is_empty() {
        return Err(ValidationError::BadName { field, value: name.into(), reason: "empty" });
    }
    if name.len() > max {
        return Err(ValidationError::TooLong { field, len: name.len(), max });
    }
    if !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ValidationError::BadName {
            field,
            value: name.into(),
            reason: "only printable ASCII without spaces is allowed",
        });
    }
    Ok(())
}

bitflags::bitflags! {
    /// Service flags (`IP_VS_SVC_F_*`). Unknown bits read from a kernel are kept.
    ///
    /// The three scheduler flags are shown by ipvsadm as `sh-fallback`/`sh-port` for sh,
    /// `mh-fallback`/`mh-port` for mh, and `flag-1`..`flag-3` otherwise.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
    pub struct ServiceFlags: u32 {
        /// Persistent service (`-p`).
        const PERSISTENT = 0x0001;
        /// Internal: the service is in the kernel's hash table. Every service the kernel reports
        /// has it; it is ignored on writes.
        const HASHED = 0x0002;
        /// One-packet scheduling (`-o`): every UDP datagram is scheduled on its own.
        const ONEPACKET = 0x0004;
        /// Scheduler flag 1: sh-fallback for sh, mh-fallback for mh.
        const SCHED1 = 0x0008;
        /// Scheduler flag 2: sh-port for sh, mh-port for mh.
        const SCHED2 = 0x0010;
        /// Scheduler flag 3 (no in-tree scheduler uses it).
        const SCHED3 = 0x0020;
        /// sh: when the hashed server is unavailable, try the next ones (alias of SCHED1).
        const SH_FALLBACK = 0x0008;
        /// sh: hash the source port too (alias of SCHED2).
        const SH_PORT = 0x0010;
        /// mh: when the hashed server is unavailable, try the next ones (alias of SCHED1).
        const MH_FALLBACK = 0x0008;
        /// mh: hash the source port too (alias of SCHED2).
        const MH_PORT = 0x0010;
        const _ = !0;
    }
}

impl ServiceFlags {
    /// The bits a program may set (everything but HASHED and unknown bits).
    pub const SETTABLE: ServiceFlags = ServiceFlags::PERSISTENT
        .union(ServiceFlags::ONEPACKET)
        .union(ServiceFlags::SCHED1)
        .union(ServiceFlags::SCHED2)
        .union(ServiceFlags::SCHED3);

    /// The scheduler flag bits.
    pub const SCHED_MASK: ServiceFlags =
        ServiceFlags::SCHED1.union(ServiceFlags::SCHED2).union(ServiceFlags::SCHED3);
}

/// The granularity of persistence: which client addresses share a persistence template.
///
/// IPv4 services use a netmask (ipvsadm `-M 255.255.255.0`); IPv6 services a prefix length
/// (`-M 64`). The family is part of the value, so a mask cannot be given to the wrong family
/// unnoticed ([`Service::validate`] checks that it matches).
///
/// ```
/// use ipvs_core::Netmask;
/// assert_eq!(Netmask::V4("255.255.255.0".parse().unwrap()).to_string(), "255.255.255.0");
/// assert_eq!(Netmask::V6(64).to_string(), "64");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Netmask {
    /// An IPv4 netmask.
    V4(Ipv4Addr),
    /// An IPv6 prefix length, 1 to 128.
    V6(u8),
}

impl Netmask {
    /// The default for a family: 255.255.255.255 or 128 (each client on its own).
    pub fn full(family: AddressFamily) -> Self {
        match family {
            AddressFamily::Inet => Netmask::V4(Ipv4Addr::BROADCAST),
            AddressFamily::Inet6 => Netmask::V6(128),
        }
    }

    /// Whether this is the family's default (no grouping of clients).
    pub fn is_full(&self) -> bool {
        matches!(self, Netmask::V4(m) if *m == Ipv4Addr::BROADCAST) || matches!(self, Netmask::V6(128))
    }

    /// The family of the mask.
    pub fn family(&self) -> AddressFamily {
        match self {
            Netmask::V4(_) => AddressFamily::Inet,
            Netmask::V6(_) => AddressFamily::Inet6,
        }
    }

    /// The prefix length this mask keeps (for an IPv4 mask: its number of leading one bits).
    pub fn prefix_len(&self) -> u8 {
        match self {
            // leading_ones of a u32 is at most 32, so it fits a u8.
            Netmask::V4(m) => u32::from(*m).leading_ones() as u8,
            Netmask::V6(p) => *p,
        }
    }
}

impl fmt::Display for Netmask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Netmask::V4(m) => write!(f, "{m}"),
            Netmask::V6(p) => write!(f, "{p}"),
        }
    }
}

impl FromStr for Netmask {
    type Err = ValidationError;

    /// Parses a dotted IPv4 netmask (`255.255.255.0`) or an IPv6 prefix length (`64`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(m) = s.parse::<Ipv4Addr>() {
            return Ok(Netmask::V4(m));
        }
        match s.parse::<u8>() {
            Ok(p) if (1..=128).contains(&p) && s.bytes().all(|b| b.is_ascii_digit()) => Ok(Netmask::V6(p)),
            _ => Err(ValidationError::Invalid {
                field: Field::Netmask,
                reason: "expected a dotted IPv4 netmask or an IPv6 prefix length 1..=128",
            }),
        }
    }
}

/// A persistence engine name (`--pe`). The kernel has one: `sip`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeName(String);

impl PeName {
    /// The longest persistence-engine name the kernel accepts (`IP_VS_PENAME_MAXLEN`).
    pub const MAX_LEN: usize = 16;

    /// The SIP persistence engine.
    pub fn sip() -> Self {
        PeName("sip".into())
    }

    /// A name, checked against the kernel's limits.
    pub fn new(name: impl Into<String>) -> Result<Self, ValidationError> {
        let name = name.into();
        validate_name(Field::PersistenceEngine, &name, Self::MAX_LEN)?;
        Ok(PeName(name))
    }

    /// A name exactly as the kernel reported it, unchecked.
    pub fn from_kernel(name: impl Into<String>) -> Self {
        PeName(name.into())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A virtual service's configuration: what `ipvsadm -A`/`-E` sets.
///
/// `Display` writes the service as an `ipvsadm -S -n` line:
/// ```
/// use ipvs_core::{Scheduler, Service, ServiceKey};
/// let svc = Service::new(ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80))
///     .with_scheduler(Scheduler::Wlc)
///     .with_persistence(360, Some("255.255.255.0".parse().unwrap()));
/// assert_eq!(svc.to_string(), "-A -t 10.0.0.1:80 -s wlc -p 360 -M 255.255.255.0");
/// svc.validate().unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Service {
    /// What identifies the service.
    pub key: ServiceKey,
    /// The scheduler.
    pub scheduler: Scheduler,
    /// Flags (persistent, one-packet, scheduler flags). HASHED is ignored on writes.
    pub flags: ServiceFlags,
    /// Persistence timeout in seconds (used when PERSISTENT is set).
    pub timeout: u32,
    /// Persistence granularity. Its family must match the service's.
    pub netmask: Netmask,
    /// Persistence engine, if any.
    pub pe_name: Option<PeName>,
}

impl Service {
    /// ipvsadm's largest persistence timeout, in seconds (31 days).
    pub const MAX_TIMEOUT: u32 = 2_678_400;
    /// ipvsadm's persistence timeout when `-p` has no value.
    pub const DEFAULT_TIMEOUT: u32 = 360;

    /// A service with ipvsadm's defaults: wlc, no flags, full netmask.
    pub fn new(key: ServiceKey) -> Self {
        Service {
            key,
            scheduler: Scheduler::Wlc,
            flags: ServiceFlags::empty(),
            timeout: 0,
            netmask: Netmask::full(key.family()),
            pe_name: None,
        }
    }

    /// The same service with another scheduler.
    pub fn with_scheduler(mut self, scheduler: Scheduler) -> Self {
        self.scheduler = scheduler;
        self
    }

    /// The same service made persistent for `timeout` seconds, with a netmask if given.
    pub fn with_persistence(mut self, timeout: u32, netmask: Option<Netmask>) -> Self {
        self.flags |= ServiceFlags::PERSISTENT;
        self.timeout = timeout;
        if let Some(m) = netmask {
            self.netmask = m;
        }
        self
    }

    /// The same service with these flags added.
    pub fn with_flags(mut self, flags: ServiceFlags) -> Self {
        self.flags |= flags;
        self
    }

    /// The same service with a persistence engine.
    pub fn with_pe(mut self, pe: PeName) -> Self {
        self.pe_name = Some(pe);
        self
    }

    /// The same service with another persistence netmask (its family must be the service's).
    pub fn with_netmask(mut self, netmask: Netmask) -> Self {
        self.netmask = netmask;
        self
    }

    /// Whether the service is persistent.
    pub fn is_persistent(&self) -> bool {
        self.flags.contains(ServiceFlags::PERSISTENT)
    }

    /// The flags a write should carry: the settable bits only (HASHED is the kernel's own).
    pub fn flags_to_write(&self) -> ServiceFlags {
        self.flags & ServiceFlags::SETTABLE
    }

    /// Checks every field against the kernel's and ipvsadm's limits. Nothing that fails here is
    /// ever sent to the kernel.
    pub fn validate(&self) -> Result<(), ValidationError> {
        self.key.validate()?;
        self.scheduler.validate()?;
        if let Some(pe) = &self.pe_name {
            validate_name(Field::PersistenceEngine, pe.as_str(), PeName::MAX_LEN)?;
        }
        let unknown = (self.flags - ServiceFlags::all_known()).bits();
        if unknown != 0 {
            return Err(ValidationError::UnknownBits { field: Field::Flags, bits: unknown });
        }
        if self.netmask.family() != self.key.family() {
            return Err(ValidationError::FamilyMismatch {
                field: Field::Netmask,
                expected: self.key.family(),
                got: self.netmask.family(),
            });
        }
        if let Netmask::V6(p) = self.netmask {
            // The kernel refuses an IPv6 prefix outside 1..=128 even for non-persistent services.
            if !(1..=128).contains(&p) {
                return Err(ValidationError::OutOfRange {
                    field: Field::Netmask,
                    value: u64::from(p),
                    min: 1,
                    max: 128,
                });
            }
        }
        if self.is_persistent() {
            if !(1..=Self::MAX_TIMEOUT).contains(&self.timeout) {
                return Err(ValidationError::OutOfRange {
                    field: Field::PersistenceTimeout,
                    value: u64::from(self.timeout),
                    min: 1,
                    max: u64::from(Self::MAX_TIMEOUT),
                });
            }
        } else if self.timeout > Self::MAX_TIMEOUT {
            return Err(ValidationError::OutOfRange {
                field: Field::PersistenceTimeout,
                value: u64::from(self.timeout),
                min: 0,
                max: u64::from(Self::MAX_TIMEOUT),
            });
        }
        if let ServiceKey::Addr { protocol, port, .. } = self.key {
            if port == 0 && !self.is_persistent() {
                return Err(ValidationError::Invalid {
                    field: Field::ServicePort,
                    reason: "port 0 (all ports) is allowed only for persistent services",
                });
            }
            if self.flags.contains(ServiceFlags::ONEPACKET) && protocol != Protocol::Udp {
                return Err(ValidationError::Invalid {
                    field: Field::Flags,
                    reason: "one-packet scheduling is only for UDP or firewall-mark services",
                });
            }
        }
        Ok(())
    }
}

impl ServiceFlags {
    fn all_known() -> ServiceFlags {
        ServiceFlags::SETTABLE | ServiceFlags::HASHED
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "-A {} -s {}", self.key, self.scheduler)?;
        if self.is_persistent() {
            write!(f, " -p {}", self.timeout)?;
            if !self.netmask.is_full() {
                write!(f, " -M {}", self.netmask)?;
            }
        }
        if let Some(pe) = &self.pe_name {
            write!(f, " --pe {pe}")?;
        }
        if self.flags.contains(ServiceFlags::ONEPACKET) {
            f.write_str(" -o")?;
        }
        if self.flags.intersects(ServiceFlags::SCHED_MASK) {
            write!(f, " -b {}", sched_flags_arg(&self.scheduler, self.flags))?;
        }
        Ok(())
    }
}

/// The scheduler flags as an ipvsadm `-b` argument, joined with commas: `sh-fallback,sh-port`
/// for sh, `mh-fallback,mh-port` for mh, `flag-1,flag-2,flag-3` for any other scheduler (and
/// `flag-3` for sh and mh, which name only two). Every name is one ipvsadm's `-b` accepts for
/// that scheduler, so the text reads back as the same flags.
pub(crate) fn sched_flags_arg(scheduler: &Scheduler, flags: ServiceFlags) -> String {
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

impl ServiceFlags {
    /// The scheduler flags of `self` as an ipvsadm `-b` argument for `scheduler`
    /// (`sh-fallback,sh-port`, `flag-1`, ...); empty when none is set.
    ///
    /// ```
    /// use ipvs_core::{Scheduler, ServiceFlags};
    /// assert_eq!((ServiceFlags::SCHED1 | ServiceFlags::SCHED2).sched_flags_arg(&Scheduler::Sh), "sh-fallback,sh-port");
    /// assert_eq!(ServiceFlags::SCHED3.sched_flags_arg(&Scheduler::Rr), "flag-3");
    /// ```
    pub fn sched_flags_arg(self, scheduler: &Scheduler) -> String {
        sched_flags_arg(scheduler, self)
    }
}
