//! Typed errors: validation failures found before anything reaches the kernel, and the
//! backend-neutral error kinds that both the kernel backend and the in-memory table return.

use std::fmt;

/// A field of the model, named as the user knows it. Every [`ValidationError`] names one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// The service protocol (`-t`, `-u`, `--sctp-service`).
    Protocol,
    /// The virtual address of a service.
    ServiceAddress,
    /// The virtual port of a service.
    ServicePort,
    /// The firewall mark of a service (`-f`).
    Fwmark,
    /// The scheduler name (`-s`).
    Scheduler,
    /// The service flags (`-p`, `-o`, `-b`).
    Flags,
    /// The persistence timeout (`-p`).
    PersistenceTimeout,
    /// The persistence netmask (`-M`).
    Netmask,
    /// The persistence engine name (`--pe`).
    PersistenceEngine,
    /// The real server address (`-r`).
    DestinationAddress,
    /// The real server port (`-r`).
    DestinationPort,
    /// The forwarding method (`-g`, `-i`, `-m`).
    ForwardMethod,
    /// The weight (`-w`).
    Weight,
    /// The upper connection threshold (`-x`).
    UpperThreshold,
    /// The lower connection threshold (`-y`).
    LowerThreshold,
    /// The tunnel type (`--tun-type`).
    TunnelType,
    /// The tunnel port (`--tun-port`).
    TunnelPort,
    /// The tunnel checksum flags (`--tun-nocsum`, `--tun-csum`, `--tun-remcsum`).
    TunnelFlags,
    /// The sync daemon's multicast interface (`--mcast-interface`).
    SyncInterface,
    /// The sync daemon's sync id (`--syncid`).
    SyncId,
    /// The sync daemon's maximum message length (`--sync-maxlen`).
    SyncMaxlen,
    /// The sync daemon's multicast group (`--mcast-group`).
    SyncGroup,
    /// The sync daemon's multicast port (`--mcast-port`).
    SyncPort,
    /// The sync daemon's multicast TTL (`--mcast-ttl`).
    SyncTtl,
    /// The TCP established timeout (`--set tcp`).
    TimeoutTcp,
    /// The TCP FIN_WAIT timeout (`--set tcpfin`).
    TimeoutTcpFin,
    /// The UDP timeout (`--set udp`).
    TimeoutUdp,
}

impl Field {
    /// The name used in messages, with the ipvsadm option in parentheses where there is one.
    pub fn name(self) -> &'static str {
        match self {
            Field::Protocol => "protocol",
            Field::ServiceAddress => "service address",
            Field::ServicePort => "service port",
            Field::Fwmark => "firewall mark (-f)",
            Field::Scheduler => "scheduler (-s)",
            Field::Flags => "service flags",
            Field::PersistenceTimeout => "persistence timeout (-p)",
            Field::Netmask => "persistence netmask (-M)",
            Field::PersistenceEngine => "persistence engine (--pe)",
            Field::DestinationAddress => "real server address (-r)",
            Field::DestinationPort => "real server port (-r)",
            Field::ForwardMethod => "forwarding method",
            Field::Weight => "weight (-w)",
            Field::UpperThreshold => "upper threshold (-x)",
            Field::LowerThreshold => "lower threshold (-y)",
            Field::TunnelType => "tunnel type (--tun-type)",
            Field::TunnelPort => "tunnel port (--tun-port)",
            Field::TunnelFlags => "tunnel checksum flags",
            Field::SyncInterface => "multicast interface (--mcast-interface)",
            Field::SyncId => "sync id (--syncid)",
            Field::SyncMaxlen => "sync message length (--sync-maxlen)",
            Field::SyncGroup => "multicast group (--mcast-group)",
            Field::SyncPort => "multicast port (--mcast-port)",
            Field::SyncTtl => "multicast TTL (--mcast-ttl)",
            Field::TimeoutTcp => "tcp timeout",
            Field::TimeoutTcpFin => "tcpfin timeout",
            Field::TimeoutUdp => "udp timeout",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a value of the model cannot be sent to the kernel. Each variant names the field and the
/// limit that was broken; nothing is sent when validation fails.
///
/// ```
/// use ipvs_core::{Destination, Field, ValidationError};
/// let mut d = Destination::new("192.168.1.10:80".parse().unwrap());
/// d.weight = u32::MAX;
/// match d.validate() {
///     Err(ValidationError::OutOfRange { field: Field::Weight, max, .. }) => assert_eq!(max, 2147483647),
///     other => panic!("unexpected {other:?}"),
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// A number outside its allowed range.
    #[error("{field}: {value} is out of range {min}..={max}")]
    OutOfRange {
        /// The field.
        field: Field,
        /// The value given.
        value: u64,
        /// The smallest allowed value.
        min: u64,
        /// The largest allowed value.
        max: u64,
    },
    /// A name longer than the kernel stores.
    #[error("{field}: {len} bytes is longer than the limit of {max}")]
    TooLong {
        /// The field.
        field: Field,
        /// The length given, in bytes.
        len: usize,
        /// The longest allowed length.
        max: usize,
    },
    /// A name that is empty or holds bytes the kernel cannot take (NUL, non-ASCII, spaces).
    #[error("{field}: {value:?} is not a valid name ({reason})")]
    BadName {
        /// The field.
        field: Field,
        /// The name given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Two fields whose address families disagree.
    #[error("{field}: address family {got} does not match the {expected} of the service")]
    FamilyMismatch {
        /// The field whose family is wrong.
        field: Field,
        /// The family it should have.
        expected: crate::AddressFamily,
        /// The family it has.
        got: crate::AddressFamily,
    },
    /// A value that breaks a rule described in `reason`.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field.
        field: Field,
        /// The rule broken, in words.
        reason: &'static str,
    },
    /// Bits set that neither the kernel nor this library knows.
    #[error("{field}: unknown bits {bits:#x}")]
    UnknownBits {
        /// The field.
        field: Field,
        /// The unknown bits.
        bits: u32,
    },
}

impl ValidationError {
    /// The errno the kernel gives for the same mistake, for callers that report errnos (C,
    /// Python, ipvsadm's messages): `ERANGE` for a weight or thresholds out of range and for a
    /// lower threshold above the upper one, `EINVAL` for everything else.
    pub fn errno(&self) -> i32 {
        match self {
            ValidationError::OutOfRange { field: Field::Weight | Field::LowerThreshold, .. } => 34,
            _ => 22,
        }
    }

    /// The field the error is about.
    pub fn field(&self) -> Field {
        match self {
            ValidationError::OutOfRange { field, .. }
            | ValidationError::TooLong { field, .. }
            | ValidationError::BadName { field, .. }
            | ValidationError::FamilyMismatch { field, .. }
            | ValidationError::Invalid { field, .. }
            | ValidationError::UnknownBits { field, .. } => *field,
        }
    }
}

/// What kind of object an [`Error::Exists`] or [`Error::NotFound`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Object {
    /// A virtual service.
    Service,
    /// A real server (destination) of a service.
    Destination,
    /// A sync daemon.
    SyncDaemon,
    /// A scheduler module (`ip_vs_<name>`).
    Scheduler,
    /// A persistence engine module (`ip_vs_pe_<name>`).
    PersistenceEngine,
    /// A network interface.
    Interface,
}

impl fmt::Display for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Object::Service => "service",
            Object::Destination => "destination",
            Object::SyncDaemon => "sync daemon",
            Object::Scheduler => "scheduler",
            Object::PersistenceEngine => "persistence engine",
            Object::Interface => "interface",
        })
    }
}

/// The error every [`Backend`](crate::Backend) returns: the kernel's answer mapped to a kind a
/// program can act on, or a validation failure found before anything was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request was rejected before it was sent.
    #[error("invalid input: {0}")]
    Validation(#[from] ValidationError),
    /// The object already exists (`EEXIST`).
    #[error("{0} already exists")]
    Exists(Object),
    /// The object does not exist (`ESRCH`, `ENOENT`, `ENODEV` depending on the object).
    #[error("no such {0}")]
    NotFound(Object),
    /// The scheduler or persistence engine could not be found or loaded (`ENOENT` on a service
    /// add or edit).
    #[error("scheduler or persistence engine not found")]
    SchedulerOrEngineNotFound,
    /// The caller lacks `CAP_NET_ADMIN` in the initial user namespace (`EPERM`).
    #[error("permission denied (IPVS needs CAP_NET_ADMIN in the initial user namespace)")]
    PermissionDenied,
    /// The kernel has no IPVS (the `IPVS` generic netlink family does not exist, or the module
    /// is being unloaded).
    #[error("IPVS is not available in this kernel (is the ip_vs module loaded?)")]
    ModuleMissing,
    /// The kernel rejected the request as invalid (`EINVAL`, `ERANGE`).
    #[error("the kernel rejected the request as invalid (errno {errno})")]
    Invalid {
        /// The errno the kernel returned.
        errno: i32,
    },
    /// The address family is not supported (`EAFNOSUPPORT`, e.g. IPv6 disabled).
    #[error("address family not supported by the kernel")]
    AddressFamilyNotSupported,
    /// The operation is not supported by this kernel (`EOPNOTSUPP`).
    #[error("operation not supported by this kernel")]
    NotSupported,
    /// The kernel did not answer in time.
    #[error("timed out waiting for the kernel")]
    Timeout,
    /// A dump kept being interrupted by concurrent changes and no consistent result was read.
    #[error("the table kept changing while it was read ({attempts} attempts)")]
    Interrupted {
        /// How many times the read was tried.
        attempts: u32,
    },
    /// The kernel's reply could not be decoded.
    #[error("malformed reply from the kernel: {0}")]
    Decode(String),
    /// Any other operating-system error.
    #[error("{context}: {message} (errno {errno})")]
    Os {
        /// The errno.
        errno: i32,
        /// What was being done.
        context: &'static str,
        /// The system's description of the errno.
        message: String,
    },
}

impl Error {
    /// The errno behind this error where there is one (for C and Python callers).
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Exists(_) => Some(17),
            // The kernel answers ESRCH for a missing service and for a sync daemon not running.
            Error::NotFound(Object::Service | Object::SyncDaemon) => Some(3),
            Error::NotFound(Object::Interface) => Some(19),
            Error::NotFound(_) | Error::SchedulerOrEngineNotFound => Some(2),
            Error::PermissionDenied => Some(1),
            Error::Invalid { errno } => Some(*errno),
            Error::Validation(v) => Some(v.errno()),
            Error::AddressFamilyNotSupported => Some(97),
            Error::NotSupported => Some(95),
            Error::Timeout => Some(110),
            Error::ModuleMissing => Some(2),
            Error::Os { errno, .. } => Some(*errno),
            Error::Interrupted { .. } => Some(4),
            Error::Decode(_) => None,
        }
    }
}

/// A shorthand for results whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
