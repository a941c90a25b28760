//! Typed errors: validation failures found before anything reaches the kernel, and the
//! backend-neutral error kinds that both the kernel backend and the in-memory table return.

use std::borrow::Cow;
use std::fmt;
use std::io;
use std::sync::Arc;

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
            ValidationError::OutOfRange { field: Field::Weight | Field::LowerThreshold, .. } => errno::ERANGE,
            // The kernel finds no module for a name with bytes no scheduler or engine has
            // (request_module fails): ENOENT, what ipvsadm reports for it.
            ValidationError::BadName { field: Field::Scheduler | Field::PersistenceEngine, .. } => {
                errno::ENOENT
            }
            _ => errno::EINVAL,
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

impl Object {
    /// The errno the kernel answers when the object is missing: `ESRCH` for a service (every
    /// service-addressed command) and for a sync daemon that is not running, `ENODEV` for an
    /// interface, `ENOENT` for the rest.
    pub fn missing_errno(self) -> i32 {
        match self {
            Object::Service | Object::SyncDaemon => errno::ESRCH,
            Object::Interface => errno::ENODEV,
            Object::Destination | Object::Scheduler | Object::PersistenceEngine => errno::ENOENT,
        }
    }
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

/// The errno values this crate reports for errors it finds itself (the in-memory table, the
/// validation), numbered as on Linux's generic ABI (x86, arm, arm64, ppc, s390, riscv).
pub mod errno {
    /// Operation not permitted.
    pub const EPERM: i32 = 1;
    /// No such file or directory.
    pub const ENOENT: i32 = 2;
    /// No such process.
    pub const ESRCH: i32 = 3;
    /// Interrupted system call.
    pub const EINTR: i32 = 4;
    /// Input/output error.
    pub const EIO: i32 = 5;
    /// Permission denied.
    pub const EACCES: i32 = 13;
    /// Device or resource busy.
    pub const EBUSY: i32 = 16;
    /// File exists.
    pub const EEXIST: i32 = 17;
    /// No such device.
    pub const ENODEV: i32 = 19;
    /// Invalid argument.
    pub const EINVAL: i32 = 22;
    /// Numerical result out of range.
    pub const ERANGE: i32 = 34;
    /// Protocol not available.
    pub const ENOPROTOOPT: i32 = 92;
    /// Operation not supported.
    pub const EOPNOTSUPP: i32 = 95;
    /// Address family not supported by protocol.
    pub const EAFNOSUPPORT: i32 = 97;
    /// No buffer space available.
    pub const ENOBUFS: i32 = 105;
    /// Connection timed out.
    pub const ETIMEDOUT: i32 = 110;
}

/// The privilege a refused call lacked, named in [`Error::PermissionDenied`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Privilege {
    /// `CAP_NET_ADMIN` in the user namespace that owns the initial network namespace: what
    /// IPVS asks of every caller (`EPERM` from the IPVS family).
    NetAdmin,
    /// `CAP_SYS_ADMIN`: what entering another network namespace (`setns(2)`) asks.
    SysAdmin,
    /// Permission to open a file (a namespace file, a `/proc` file): `EACCES`.
    FileAccess,
}

impl fmt::Display for Privilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Privilege::NetAdmin => "CAP_NET_ADMIN in the initial user namespace",
            Privilege::SysAdmin => "CAP_SYS_ADMIN",
            Privilege::FileAccess => "permission to open the file",
        })
    }
}

/// An operating-system error: the errno, what was being done, and the `io::Error` it came
/// from when there is one (its [`source`](std::error::Error::source)).
///
/// ```
/// use ipvs_core::error::OsError;
/// let e = OsError::new(12, "reading IPVS replies");
/// assert_eq!(e.errno(), 12);
/// assert_eq!(e.to_string(), "reading IPVS replies: Cannot allocate memory (errno 12)");
/// ```
#[derive(Debug, Clone)]
pub struct OsError {
    errno: i32,
    context: Cow<'static, str>,
    message: Option<String>,
    source: Option<Arc<io::Error>>,
}

impl OsError {
    /// An error with `errno` while doing `context`.
    pub fn new(errno: i32, context: impl Into<Cow<'static, str>>) -> Self {
        OsError { errno, context: context.into(), message: None, source: None }
    }

    /// An `io::Error` while doing `context`. Its errno is the system's (`EIO` when the error
    /// did not come from the system).
    pub fn from_io(e: io::Error, context: impl Into<Cow<'static, str>>) -> Self {
        OsError {
            errno: e.raw_os_error().unwrap_or(errno::EIO),
            context: context.into(),
            message: None,
            source: Some(Arc::new(e)),
        }
    }

    /// The same error with a further explanation (the kernel's extended-ack text, say), shown
    /// after the system's description of the errno.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        let m = message.into();
        self.message = (!m.is_empty()).then_some(m);
        self
    }

    /// The errno.
    pub fn errno(&self) -> i32 {
        self.errno
    }

    /// What was being done.
    pub fn context(&self) -> &str {
        &self.context
    }

    /// The further explanation, if any.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }
}

impl PartialEq for OsError {
    /// Equal when errno, context and message are; the underlying `io::Error` is not compared.
    fn eq(&self, other: &Self) -> bool {
        self.errno == other.errno && self.context == other.context && self.message == other.message
    }
}

impl Eq for OsError {}

impl fmt::Display for OsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A source that is not the system's own errno carries its own description.
        let text = match &self.source {
            Some(s) if s.raw_os_error().is_none() => s.to_string(),
            _ => strerror(self.errno),
        };
        write!(f, "{}: {text}", self.context)?;
        if let Some(m) = &self.message {
            write!(f, ": {m}")?;
        }
        write!(f, " (errno {})", self.errno)
    }
}

impl std::error::Error for OsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// A reply that could not be decoded: what was wrong, in words that name the attribute, and
/// the decoder's own error when there is one (its [`source`](std::error::Error::source)).
///
/// ```
/// use ipvs_core::error::DecodeError;
/// let e = DecodeError::new("IPVS_SVC_ATTR_AF missing");
/// assert_eq!(e.to_string(), "IPVS_SVC_ATTR_AF missing");
/// ```
#[derive(Debug, Clone)]
pub struct DecodeError {
    message: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl DecodeError {
    /// A decode error described by `message`.
    pub fn new(message: impl Into<String>) -> Self {
        DecodeError { message: message.into(), source: None }
    }

    /// A decode error described by `message`, caused by `source`.
    pub fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        DecodeError { message: message.into(), source: Some(Arc::new(source)) }
    }

    /// The description.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl PartialEq for DecodeError {
    /// Equal when the descriptions are.
    fn eq(&self, other: &Self) -> bool {
        self.message == other.message
    }
}

impl Eq for DecodeError {}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// The system's text for an errno (`strerror`), without std's " (os error N)" suffix.
pub(crate) fn strerror(errno: i32) -> String {
    let s = io::Error::from_raw_os_error(errno).to_string();
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

/// Formats an optional extended-ack message as `": message"`.
struct Detail<'a>(&'a Option<String>);

impl fmt::Display for Detail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(m) => write!(f, ": {m}"),
            None => Ok(()),
        }
    }
}

/// The error every [`Backend`](crate::Backend) returns: the kernel's answer mapped to a kind a
/// program can act on, or a validation failure found before anything was sent.
///
/// Match on the variants, or on [`Error::kind`] (a `Copy` summary that bindings map to their
/// own exception classes and result codes). [`Error::errno`] is the kernel's own value where
/// the kernel answered, and what it would have answered where this library found the mistake
/// first. [`Error::message`] is the kernel's extended-ack text, when it sent one.
///
/// ```
/// use ipvs_core::table::MemoryBackend;
/// use ipvs_core::{Backend, Error, ErrorKind, Object, ServiceKey};
///
/// let mut table = MemoryBackend::new();
/// let missing = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80);
/// let e = table.delete_service(&missing).unwrap_err();
/// assert!(matches!(e, Error::NotFound { object: Object::Service, .. }));
/// assert_eq!(e.kind(), ErrorKind::NotFound(Object::Service));
/// assert_eq!(e.errno(), Some(3)); // ESRCH, as the kernel answers
/// assert!(!e.may_have_applied()); // the kernel refused it: nothing changed
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request was rejected before it was sent.
    #[error("invalid input: {0}")]
    Validation(#[from] ValidationError),
    /// The object already exists (`EEXIST`).
    #[error("{object} already exists{}", Detail(message))]
    #[non_exhaustive]
    Exists {
        /// What exists.
        object: Object,
        /// The kernel's extended-ack text, if it sent one.
        message: Option<String>,
    },
    /// The object does not exist (`ESRCH`, `ENOENT` or `ENODEV`, depending on the object and
    /// the command).
    #[error("no such {object}{}", Detail(message))]
    #[non_exhaustive]
    NotFound {
        /// What is missing.
        object: Object,
        /// The errno the kernel answered.
        errno: i32,
        /// The kernel's extended-ack text, if it sent one.
        message: Option<String>,
    },
    /// The scheduler or the persistence engine of a service could not be found or loaded
    /// (`ENOENT` on a service add or edit: the kernel does not say which).
    #[error("scheduler or persistence engine not found{}", Detail(message))]
    #[non_exhaustive]
    SchedulerOrEngineNotFound {
        /// The kernel's extended-ack text, if it sent one.
        message: Option<String>,
    },
    /// The caller lacks a privilege: `needed` names it, `context` says what was refused.
    #[error("permission denied: {context} needs {needed}")]
    #[non_exhaustive]
    PermissionDenied {
        /// The privilege that was missing.
        needed: Privilege,
        /// What was refused (`IPVS`, `entering network namespace /run/netns/blue`, ...).
        context: Cow<'static, str>,
        /// The errno (`EPERM` or `EACCES`).
        errno: i32,
    },
    /// The kernel has no IPVS: the `IPVS` generic netlink family does not exist even after
    /// the kernel tried to load `ip_vs` (`ENOENT`), or the module is going away
    /// (`ENOPROTOOPT`).
    #[error("IPVS is not available in this kernel (the ip_vs module is not loaded and could not be loaded)")]
    #[non_exhaustive]
    ModuleMissing {
        /// The errno.
        errno: i32,
    },
    /// The kernel rejected the request as invalid (`EINVAL`, `ERANGE`).
    #[error("the kernel rejected the request as invalid ({}, errno {errno}){}", strerror(*errno), Detail(message))]
    #[non_exhaustive]
    Invalid {
        /// The errno the kernel returned.
        errno: i32,
        /// The kernel's extended-ack text, if it sent one.
        message: Option<String>,
    },
    /// The address family is not supported (`EAFNOSUPPORT`, e.g. IPv6 disabled).
    #[error("address family not supported by the kernel")]
    AddressFamilyNotSupported,
    /// The operation is not supported by this kernel (`EOPNOTSUPP`), or by this version of
    /// the library.
    #[error("operation not supported")]
    NotSupported,
    /// The request was sent and no answer came in time: its effect is unknown (a change may or
    /// may not have been made; see [`Error::may_have_applied`]).
    #[error("timed out waiting for the kernel (the request was sent; its effect is unknown)")]
    Timeout,
    /// The request was never sent, because the exchange it was part of had already failed
    /// (`reason`). It changed nothing.
    #[error("not sent, because an earlier request of the batch failed: {reason}")]
    #[non_exhaustive]
    NotSent {
        /// The failure that stopped the batch.
        reason: Box<Error>,
    },
    /// A dump kept being interrupted by concurrent changes and no consistent result was read.
    #[error("the table kept changing while it was read ({attempts} attempts)")]
    #[non_exhaustive]
    Interrupted {
        /// How many times the read was tried.
        attempts: u32,
    },
    /// The kernel's reply could not be decoded.
    #[error("malformed reply from the kernel: {0}")]
    Decode(#[source] DecodeError),
    /// Any other operating-system error.
    #[error(transparent)]
    Os(OsError),
}

/// What kind of [`Error`] happened, without its details: what the Python and C bindings map to
/// their exception classes and result codes, and what a program usually branches on.
///
/// ```
/// use ipvs_core::{Error, ErrorKind, Object};
/// assert_eq!(Error::exists(Object::Service).kind(), ErrorKind::Exists(Object::Service));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// [`Error::Validation`], with the field.
    Validation(Field),
    /// [`Error::Exists`].
    Exists(Object),
    /// [`Error::NotFound`].
    NotFound(Object),
    /// [`Error::SchedulerOrEngineNotFound`].
    SchedulerOrEngineNotFound,
    /// [`Error::PermissionDenied`].
    PermissionDenied(Privilege),
    /// [`Error::ModuleMissing`].
    ModuleMissing,
    /// [`Error::Invalid`].
    Invalid,
    /// [`Error::AddressFamilyNotSupported`].
    AddressFamilyNotSupported,
    /// [`Error::NotSupported`].
    NotSupported,
    /// [`Error::Timeout`].
    Timeout,
    /// [`Error::NotSent`].
    NotSent,
    /// [`Error::Interrupted`].
    Interrupted,
    /// [`Error::Decode`].
    Decode,
    /// [`Error::Os`].
    Os,
}

impl Error {
    /// [`Error::Exists`] without a message.
    pub fn exists(object: Object) -> Self {
        Error::Exists { object, message: None }
    }

    /// [`Error::NotFound`] with the errno the kernel gives for a missing `object`
    /// ([`Object::missing_errno`]).
    pub fn not_found(object: Object) -> Self {
        Error::NotFound { object, errno: object.missing_errno(), message: None }
    }

    /// [`Error::NotFound`] with the errno the kernel answered.
    pub fn not_found_errno(object: Object, errno: i32) -> Self {
        Error::NotFound { object, errno, message: None }
    }

    /// [`Error::SchedulerOrEngineNotFound`] without a message.
    pub fn scheduler_or_engine_not_found() -> Self {
        Error::SchedulerOrEngineNotFound { message: None }
    }

    /// [`Error::Invalid`] with `errno` (`EINVAL` or `ERANGE`) and no message.
    pub fn invalid(errno: i32) -> Self {
        Error::Invalid { errno, message: None }
    }

    /// [`Error::PermissionDenied`]: `context` was refused for lack of `needed`.
    pub fn permission_denied(needed: Privilege, context: impl Into<Cow<'static, str>>, errno: i32) -> Self {
        Error::PermissionDenied { needed, context: context.into(), errno }
    }

    /// [`Error::ModuleMissing`] with `errno`.
    pub fn module_missing(errno: i32) -> Self {
        Error::ModuleMissing { errno }
    }

    /// [`Error::NotSent`] because of `reason` (a `NotSent` reason is not wrapped twice).
    pub fn not_sent(reason: Error) -> Self {
        match reason {
            e @ Error::NotSent { .. } => e,
            reason => Error::NotSent { reason: Box::new(reason) },
        }
    }

    /// [`Error::Interrupted`] after `attempts` reads.
    pub fn interrupted(attempts: u32) -> Self {
        Error::Interrupted { attempts }
    }

    /// [`Error::Decode`] described by `message`.
    pub fn decode(message: impl Into<String>) -> Self {
        Error::Decode(DecodeError::new(message))
    }

    /// [`Error::Os`] with `errno` while doing `context`.
    pub fn os(errno: i32, context: impl Into<Cow<'static, str>>) -> Self {
        Error::Os(OsError::new(errno, context))
    }

    /// The same error carrying the kernel's extended-ack text, for the kinds that keep one
    /// (exists, not found, scheduler or engine not found, invalid, and OS errors). Empty text is
    /// no text.
    pub fn with_message(mut self, text: impl Into<String>) -> Self {
        let text = text.into();
        let text = (!text.is_empty()).then_some(text);
        match &mut self {
            Error::Exists { message, .. }
            | Error::NotFound { message, .. }
            | Error::SchedulerOrEngineNotFound { message }
            | Error::Invalid { message, .. } => *message = text,
            Error::Os(os) => os.message = text,
            _ => {}
        }
        self
    }

    /// The kernel's extended-ack text, if the error carries one.
    pub fn message(&self) -> Option<&str> {
        match self {
            Error::Exists { message, .. }
            | Error::NotFound { message, .. }
            | Error::SchedulerOrEngineNotFound { message }
            | Error::Invalid { message, .. } => message.as_deref(),
            Error::Os(os) => os.message(),
            _ => None,
        }
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Validation(v) => ErrorKind::Validation(v.field()),
            Error::Exists { object, .. } => ErrorKind::Exists(*object),
            Error::NotFound { object, .. } => ErrorKind::NotFound(*object),
            Error::SchedulerOrEngineNotFound { .. } => ErrorKind::SchedulerOrEngineNotFound,
            Error::PermissionDenied { needed, .. } => ErrorKind::PermissionDenied(*needed),
            Error::ModuleMissing { .. } => ErrorKind::ModuleMissing,
            Error::Invalid { .. } => ErrorKind::Invalid,
            Error::AddressFamilyNotSupported => ErrorKind::AddressFamilyNotSupported,
            Error::NotSupported => ErrorKind::NotSupported,
            Error::Timeout => ErrorKind::Timeout,
            Error::NotSent { .. } => ErrorKind::NotSent,
            Error::Interrupted { .. } => ErrorKind::Interrupted,
            Error::Decode(_) => ErrorKind::Decode,
            Error::Os(_) => ErrorKind::Os,
        }
    }

    /// The errno behind this error: the kernel's own value where it answered, the one it
    /// would have answered where this library refused first (validation, the in-memory
    /// table), `ETIMEDOUT` for a timeout, `EINTR` for a dump that kept changing; `None` for a
    /// reply that could not be decoded. For [`Error::NotSent`], the errno of its reason.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Validation(v) => Some(v.errno()),
            Error::Exists { .. } => Some(errno::EEXIST),
            Error::NotFound { errno, .. }
            | Error::PermissionDenied { errno, .. }
            | Error::ModuleMissing { errno }
            | Error::Invalid { errno, .. } => Some(*errno),
            Error::SchedulerOrEngineNotFound { .. } => Some(errno::ENOENT),
            Error::AddressFamilyNotSupported => Some(errno::EAFNOSUPPORT),
            Error::NotSupported => Some(errno::EOPNOTSUPP),
            Error::Timeout => Some(errno::ETIMEDOUT),
            Error::NotSent { reason } => reason.errno(),
            Error::Interrupted { .. } => Some(errno::EINTR),
            Error::Decode(_) => None,
            Error::Os(os) => Some(os.errno()),
        }
    }

    /// Whether the operation that failed may have changed the table anyway: `true` when the
    /// request was sent and no answer came back to say (a timeout, a socket error after the
    /// send, an acknowledgement the kernel dropped or that could not be decoded); `false` when
    /// the request was refused before it was sent, was never sent, or the kernel refused it
    /// (every IPVS command is all-or-nothing). [`Plan::rollback`](crate::Plan::rollback) undoes
    /// the steps for which this is `true` too.
    pub fn may_have_applied(&self) -> bool {
        matches!(self, Error::Timeout | Error::Os(_) | Error::Decode(_))
    }
}

impl From<io::Error> for Error {
    /// An I/O error as [`Error::Os`] (a timed-out wait, `EAGAIN`, as [`Error::Timeout`]).
    fn from(e: io::Error) -> Self {
        match e.raw_os_error() {
            Some(11) => Error::Timeout,
            _ => Error::Os(OsError::from_io(e, "I/O error")),
        }
    }
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Error::Decode(e)
    }
}

/// A shorthand for results whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_kept() {
        use std::error::Error as _;
        let e = Error::from(io::Error::from_raw_os_error(12));
        assert_eq!(e.errno(), Some(12));
        assert!(e.source().is_some(), "the io::Error is the source");
        let e = Error::Decode(DecodeError::with_source("bad", io::Error::other("inner")));
        assert_eq!(e.source().map(|s| s.to_string()), Some("bad".into()));
        assert_eq!(e.source().and_then(|s| s.source()).map(|s| s.to_string()), Some("inner".into()));
        assert_eq!(Error::from(io::Error::from_raw_os_error(11)), Error::Timeout);
    }

    #[test]
    fn messages_are_kept_and_shown() {
        let e = Error::invalid(errno::EINVAL).with_message("Attribute failed policy validation");
        assert_eq!(e.message(), Some("Attribute failed policy validation"));
        assert_eq!(
            e.to_string(),
            "the kernel rejected the request as invalid (Invalid argument, errno 22): Attribute failed \
             policy validation"
        );
        assert_eq!(Error::exists(Object::Service).with_message("").message(), None);
        assert_eq!(Error::not_found(Object::Destination).errno(), Some(errno::ENOENT));
        assert_eq!(Error::not_found(Object::Service).errno(), Some(errno::ESRCH));
    }

    #[test]
    fn not_sent_is_distinct_from_timeout() {
        let t = Error::Timeout;
        assert!(t.may_have_applied());
        let n = Error::not_sent(t.clone());
        assert!(!n.may_have_applied());
        assert_eq!(n.kind(), ErrorKind::NotSent);
        assert_eq!(Error::not_sent(n.clone()), n, "not wrapped twice");
        assert!(!Error::exists(Object::Service).may_have_applied());
    }

    #[test]
    fn permission_errors_name_the_privilege() {
        let e = Error::permission_denied(Privilege::SysAdmin, "entering network namespace /run/netns/x", 1);
        assert_eq!(
            e.to_string(),
            "permission denied: entering network namespace /run/netns/x needs CAP_SYS_ADMIN"
        );
        assert_eq!(e.kind(), ErrorKind::PermissionDenied(Privilege::SysAdmin));
    }
}
