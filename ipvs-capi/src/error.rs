//! Result codes and errors: `ipvs_result`, the one mapping from `ipvs_core::ErrorKind` to it,
//! and `ipvs_error`, the details of a failure (message, errno, kernel text, rules line).

use std::ffi::{c_char, c_int};

use ipvs_core::ipvsadm::rules::{RuleError, RulesError};
use ipvs_core::plan::PlanError;
use ipvs_core::{Error, ErrorKind, Field, Object, Privilege};

use crate::ffi::{self, Opaque, TextOut};

/// What a call did: `IPVS_RESULT_OK` (0) or why it failed. The numbers are stable: they are
/// grouped by range and never reused.
///
/// * 0: success.
/// * 100-199: the call itself was wrong (a NULL pointer, a value that cannot be converted, a
///   buffer too small, an index past the end), a panic inside the library, or a callback that
///   stopped a walk.
/// * 200-299: rules text (`ipvsadm -R` input) that does not parse.
/// * 300-399: a value refused before anything reached the kernel, one code per field (300
///   for a field this version does not name).
/// * 400-499: the table: what already exists, what does not.
/// * 500-599: the kernel and the system: permissions, the IPVS module, requests the kernel
///   refused, timeouts, batches cut short, other errors of the operating system.
///
/// `ipvs_result_message` gives a code's text; `ipvs_error_last` the details of the last
/// failure on the calling thread (message, errno, kernel text).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ipvs_result {
    /// Success.
    Ok = 0,
    /// A pointer parameter was NULL (the error's message names it).
    NullParameter = 100,
    /// A panic inside the library was caught at the boundary (a bug: please report it).
    Panic = 101,
    /// A parameter the library cannot convert: text that is not UTF-8, an address family
    /// other than AF_INET and AF_INET6, a number outside its C type's meaning, an invalid
    /// file descriptor.
    InvalidParameter = 102,
    /// The caller's buffer cannot hold the text and its NUL; `written` holds the length the
    /// text needs (without the NUL).
    BufferTooSmall = 103,
    /// An index at or past the end of a list.
    IndexOutOfRange = 104,
    /// A walk's callback returned non-zero, which stopped the walk.
    CallbackStopped = 105,
    /// A line of rules text does not parse as an ipvsadm command (`ipvs_error_line` says
    /// which).
    RulesSyntax = 200,
    /// A value is invalid (a field this version of the header does not name).
    InvalidValue = 300,
    /// The protocol cannot be used (only TCP, UDP and SCTP services can be created).
    InvalidProtocol = 301,
    /// The virtual address is invalid (multicast).
    InvalidServiceAddress = 302,
    /// The virtual port is invalid (0 needs persistence).
    InvalidServicePort = 303,
    /// The firewall mark is invalid (0).
    InvalidFwmark = 304,
    /// The scheduler name is invalid (empty, too long, not printable ASCII).
    InvalidScheduler = 305,
    /// The service flags are invalid (unknown bits, one-packet for TCP).
    InvalidFlags = 306,
    /// The persistence timeout is out of range.
    InvalidPersistenceTimeout = 307,
    /// The persistence netmask is invalid (family, prefix length).
    InvalidNetmask = 308,
    /// The persistence engine name is invalid.
    InvalidPersistenceEngine = 309,
    /// The real server address is invalid (not unicast, family of the service for a
    /// non-tunnel server).
    InvalidDestinationAddress = 310,
    /// The real server port is invalid.
    InvalidDestinationPort = 311,
    /// The forwarding method is invalid.
    InvalidForwardMethod = 312,
    /// The weight is out of range.
    InvalidWeight = 313,
    /// The upper connection threshold is out of range.
    InvalidUpperThreshold = 314,
    /// The lower connection threshold is out of range or above the upper one.
    InvalidLowerThreshold = 315,
    /// The tunnel type is unknown.
    InvalidTunnelType = 316,
    /// The tunnel port is invalid (a GUE tunnel needs one).
    InvalidTunnelPort = 317,
    /// The tunnel checksum flags are invalid.
    InvalidTunnelFlags = 318,
    /// The sync daemon's interface name is invalid.
    InvalidSyncInterface = 319,
    /// The sync id is out of range.
    InvalidSyncId = 320,
    /// The sync message length is out of range.
    InvalidSyncMaxlen = 321,
    /// The sync multicast group is invalid (not multicast).
    InvalidSyncGroup = 322,
    /// The sync multicast port is invalid.
    InvalidSyncPort = 323,
    /// The sync multicast TTL is invalid.
    InvalidSyncTtl = 324,
    /// The TCP timeout is out of range.
    InvalidTimeoutTcp = 325,
    /// The TCP FIN_WAIT timeout is out of range.
    InvalidTimeoutTcpFin = 326,
    /// The UDP timeout is out of range.
    InvalidTimeoutUdp = 327,
    /// Something already exists (an object this version of the header does not name).
    Exists = 400,
    /// The service already exists.
    ServiceExists = 401,
    /// The real server already exists in the service.
    DestinationExists = 402,
    /// A sync daemon of that role is already running.
    SyncDaemonExists = 403,
    /// The scheduler already exists.
    SchedulerExists = 404,
    /// The persistence engine already exists.
    PersistenceEngineExists = 405,
    /// The interface already exists.
    InterfaceExists = 406,
    /// Something does not exist (an object this version of the header does not name).
    NotFound = 410,
    /// No such service.
    ServiceNotFound = 411,
    /// No such real server in the service.
    DestinationNotFound = 412,
    /// No sync daemon of that role is running.
    SyncDaemonNotFound = 413,
    /// No such scheduler.
    SchedulerNotFound = 414,
    /// No such persistence engine.
    PersistenceEngineNotFound = 415,
    /// No such network interface.
    InterfaceNotFound = 416,
    /// The scheduler or the persistence engine of a service could not be found or loaded (the
    /// kernel does not say which).
    SchedulerOrEngineNotFound = 420,
    /// Permission denied (a privilege this version of the header does not name).
    PermissionDenied = 500,
    /// Permission denied: IPVS needs CAP_NET_ADMIN in the initial user namespace.
    PermissionDeniedNetAdmin = 501,
    /// Permission denied: entering another network namespace needs CAP_SYS_ADMIN.
    PermissionDeniedSysAdmin = 502,
    /// Permission denied opening a file (a namespace file, a /proc file).
    PermissionDeniedFileAccess = 503,
    /// The kernel has no IPVS (the ip_vs module is not loaded and could not be loaded).
    ModuleMissing = 510,
    /// The kernel refused the request as invalid (EINVAL, ERANGE).
    KernelInvalid = 520,
    /// The kernel does not support the address family (EAFNOSUPPORT).
    AddressFamilyNotSupported = 530,
    /// Not supported by this kernel (EOPNOTSUPP), by this library, or by this kind of client
    /// (the connection table of an in-memory table).
    NotSupported = 540,
    /// No answer came in time: the request was sent and its effect is unknown
    /// (`ipvs_error_may_have_applied` is true).
    Timeout = 550,
    /// Not sent, because an earlier request of the batch failed in transit: it changed
    /// nothing.
    NotSent = 560,
    /// The table kept changing while it was read.
    Interrupted = 570,
    /// The kernel's reply could not be decoded.
    Decode = 580,
    /// Another error of the operating system (`ipvs_error_errno` has the errno).
    Os = 590,
    /// An error this version of the header does not name.
    Unknown = 599,
}

/// Every code, for turning numbers from C back into codes.
const ALL: &[ipvs_result] = {
    use ipvs_result::*;
    &[
        Ok,
        NullParameter,
        Panic,
        InvalidParameter,
        BufferTooSmall,
        IndexOutOfRange,
        CallbackStopped,
        RulesSyntax,
        InvalidValue,
        InvalidProtocol,
        InvalidServiceAddress,
        InvalidServicePort,
        InvalidFwmark,
        InvalidScheduler,
        InvalidFlags,
        InvalidPersistenceTimeout,
        InvalidNetmask,
        InvalidPersistenceEngine,
        InvalidDestinationAddress,
        InvalidDestinationPort,
        InvalidForwardMethod,
        InvalidWeight,
        InvalidUpperThreshold,
        InvalidLowerThreshold,
        InvalidTunnelType,
        InvalidTunnelPort,
        InvalidTunnelFlags,
        InvalidSyncInterface,
        InvalidSyncId,
        InvalidSyncMaxlen,
        InvalidSyncGroup,
        InvalidSyncPort,
        InvalidSyncTtl,
        InvalidTimeoutTcp,
        InvalidTimeoutTcpFin,
        InvalidTimeoutUdp,
        Exists,
        ServiceExists,
        DestinationExists,
        SyncDaemonExists,
        SchedulerExists,
        PersistenceEngineExists,
        InterfaceExists,
        NotFound,
        ServiceNotFound,
        DestinationNotFound,
        SyncDaemonNotFound,
        SchedulerNotFound,
        PersistenceEngineNotFound,
        InterfaceNotFound,
        SchedulerOrEngineNotFound,
        PermissionDenied,
        PermissionDeniedNetAdmin,
        PermissionDeniedSysAdmin,
        PermissionDeniedFileAccess,
        ModuleMissing,
        KernelInvalid,
        AddressFamilyNotSupported,
        NotSupported,
        Timeout,
        NotSent,
        Interrupted,
        Decode,
        Os,
        Unknown,
    ]
};

// The mapping from `ipvs_core`'s error kinds to codes, in one place: these tables, read by
// `result_of` (kind to code) and `describe` (code to text).

/// The validation code of each field.
const FIELD_CODES: &[(Field, ipvs_result)] = {
    use ipvs_result::*;
    &[
        (Field::Protocol, InvalidProtocol),
        (Field::ServiceAddress, InvalidServiceAddress),
        (Field::ServicePort, InvalidServicePort),
        (Field::Fwmark, InvalidFwmark),
        (Field::Scheduler, InvalidScheduler),
        (Field::Flags, InvalidFlags),
        (Field::PersistenceTimeout, InvalidPersistenceTimeout),
        (Field::Netmask, InvalidNetmask),
        (Field::PersistenceEngine, InvalidPersistenceEngine),
        (Field::DestinationAddress, InvalidDestinationAddress),
        (Field::DestinationPort, InvalidDestinationPort),
        (Field::ForwardMethod, InvalidForwardMethod),
        (Field::Weight, InvalidWeight),
        (Field::UpperThreshold, InvalidUpperThreshold),
        (Field::LowerThreshold, InvalidLowerThreshold),
        (Field::TunnelType, InvalidTunnelType),
        (Field::TunnelPort, InvalidTunnelPort),
        (Field::TunnelFlags, InvalidTunnelFlags),
        (Field::SyncInterface, InvalidSyncInterface),
        (Field::SyncId, InvalidSyncId),
        (Field::SyncMaxlen, InvalidSyncMaxlen),
        (Field::SyncGroup, InvalidSyncGroup),
        (Field::SyncPort, InvalidSyncPort),
        (Field::SyncTtl, InvalidSyncTtl),
        (Field::TimeoutTcp, InvalidTimeoutTcp),
        (Field::TimeoutTcpFin, InvalidTimeoutTcpFin),
        (Field::TimeoutUdp, InvalidTimeoutUdp),
    ]
};

/// The objects, with their codes for "exists" and "not found".
const OBJECT_CODES: &[(Object, ipvs_result, ipvs_result)] = {
    use ipvs_result::*;
    &[
        (Object::Service, ServiceExists, ServiceNotFound),
        (Object::Destination, DestinationExists, DestinationNotFound),
        (Object::SyncDaemon, SyncDaemonExists, SyncDaemonNotFound),
        (Object::Scheduler, SchedulerExists, SchedulerNotFound),
        (Object::PersistenceEngine, PersistenceEngineExists, PersistenceEngineNotFound),
        (Object::Interface, InterfaceExists, InterfaceNotFound),
    ]
};

/// The permission codes of each privilege.
const PRIVILEGE_CODES: &[(Privilege, ipvs_result)] = {
    use ipvs_result::*;
    &[
        (Privilege::NetAdmin, PermissionDeniedNetAdmin),
        (Privilege::SysAdmin, PermissionDeniedSysAdmin),
        (Privilege::FileAccess, PermissionDeniedFileAccess),
    ]
};

/// The code of an error kind: the one place `ipvs_core::ErrorKind` becomes an `ipvs_result`.
pub(crate) fn result_of(kind: ErrorKind) -> ipvs_result {
    use ipvs_result as R;
    match kind {
        ErrorKind::Validation(field) => {
            FIELD_CODES.iter().find(|(f, _)| *f == field).map_or(R::InvalidValue, |(_, r)| *r)
        }
        ErrorKind::Exists(object) => {
            OBJECT_CODES.iter().find(|(o, ..)| *o == object).map_or(R::Exists, |(_, r, _)| *r)
        }
        ErrorKind::NotFound(object) => {
            OBJECT_CODES.iter().find(|(o, ..)| *o == object).map_or(R::NotFound, |(.., r)| *r)
        }
        ErrorKind::SchedulerOrEngineNotFound => R::SchedulerOrEngineNotFound,
        ErrorKind::PermissionDenied(p) => {
            PRIVILEGE_CODES.iter().find(|(q, _)| *q == p).map_or(R::PermissionDenied, |(_, r)| *r)
        }
        ErrorKind::ModuleMissing => R::ModuleMissing,
        ErrorKind::Invalid => R::KernelInvalid,
        ErrorKind::AddressFamilyNotSupported => R::AddressFamilyNotSupported,
        ErrorKind::NotSupported => R::NotSupported,
        ErrorKind::Timeout => R::Timeout,
        ErrorKind::NotSent => R::NotSent,
        ErrorKind::Interrupted => R::Interrupted,
        ErrorKind::Decode => R::Decode,
        ErrorKind::Os => R::Os,
        _ => R::Unknown,
    }
}

impl ipvs_result {
    /// The code with number `raw`, if there is one.
    pub(crate) fn from_raw(raw: u32) -> Option<ipvs_result> {
        ALL.iter().copied().find(|r| *r as u32 == raw)
    }

    /// The code's text (what `ipvs_result_message` writes).
    pub(crate) fn describe(self) -> String {
        use ipvs_result as R;
        if let Some((field, _)) = FIELD_CODES.iter().find(|(_, r)| *r == self) {
            return format!("invalid value: {field}");
        }
        if let Some((object, ..)) = OBJECT_CODES.iter().find(|(_, r, _)| *r == self) {
            return format!("the {object} already exists");
        }
        if let Some((object, ..)) = OBJECT_CODES.iter().find(|(.., r)| *r == self) {
            return format!("no such {object}");
        }
        if let Some((p, _)) = PRIVILEGE_CODES.iter().find(|(_, r)| *r == self) {
            return format!("permission denied: needs {p}");
        }
        match self {
            R::Ok => "success",
            R::NullParameter => "a pointer parameter is NULL",
            R::Panic => "a panic inside libipvs was caught (a bug in libipvs)",
            R::InvalidParameter => "a parameter cannot be converted",
            R::BufferTooSmall => "the buffer is too small",
            R::IndexOutOfRange => "the index is past the end of the list",
            R::CallbackStopped => "the callback stopped the walk",
            R::RulesSyntax => "a line of the rules does not parse",
            R::InvalidValue => "invalid value",
            R::Exists => "the object already exists",
            R::NotFound => "no such object",
            R::SchedulerOrEngineNotFound => "scheduler or persistence engine not found",
            R::PermissionDenied => "permission denied",
            R::ModuleMissing => "IPVS is not available in this kernel (the ip_vs module could not be loaded)",
            R::KernelInvalid => "the kernel rejected the request as invalid",
            R::AddressFamilyNotSupported => "address family not supported by the kernel",
            R::NotSupported => "operation not supported",
            R::Timeout => "timed out waiting for the kernel (the effect of the request is unknown)",
            R::NotSent => "not sent, because an earlier request of the batch failed",
            R::Interrupted => "the table kept changing while it was read",
            R::Decode => "malformed reply from the kernel",
            R::Os => "operating system error",
            R::Unknown => "unknown error",
            // Every other code is in one of the tables above.
            _ => "unknown error",
        }
        .to_owned()
    }
}

/// Why a call failed, before it becomes an [`ErrorInfo`].
#[derive(Debug)]
pub(crate) enum Failure {
    /// A NULL pointer parameter, by name.
    Null(&'static str),
    /// A parameter that cannot be converted, described.
    Invalid(String),
    /// A text buffer too small: the bytes needed (with the NUL) and the buffer's length.
    BufferTooSmall { needed: usize, len: usize },
    /// An index past the end of a list.
    Index { index: usize, len: usize },
    /// A callback stopped a walk with this value.
    Stopped(i32),
    /// A panic, with its message.
    Panic(String),
    /// Not available on this kind of client.
    NotSupported(&'static str),
    /// An error of the library.
    Ipvs(Error),
    /// A rules line that does not parse.
    Rule(RuleError),
    /// A rules line whose change cannot be made.
    RuleApply { line: usize, error: Error },
    /// A desired table that cannot be planned.
    Plan(PlanError),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Ipvs(e)
    }
}

impl From<ipvs_core::ValidationError> for Failure {
    fn from(e: ipvs_core::ValidationError) -> Self {
        Failure::Ipvs(Error::Validation(e))
    }
}

impl From<RulesError> for Failure {
    fn from(e: RulesError) -> Self {
        match e {
            RulesError::Parse(e) => Failure::Rule(e),
            RulesError::Apply { line, error } => Failure::RuleApply { line, error },
        }
    }
}

impl From<PlanError> for Failure {
    fn from(e: PlanError) -> Self {
        Failure::Plan(e)
    }
}

/// The details of a failure: what `ipvs_error` points to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorInfo {
    /// The code.
    pub(crate) result: ipvs_result,
    /// The whole message.
    pub(crate) message: String,
    /// The errno, 0 for none.
    pub(crate) errno: i32,
    /// The kernel's extended-ack text.
    pub(crate) kernel_message: Option<String>,
    /// The rules line, 0 for none.
    pub(crate) line: usize,
    /// Whether the failed operation may have changed the table anyway.
    pub(crate) may_have_applied: bool,
}

impl ErrorInfo {
    fn plain(result: ipvs_result, message: String) -> Self {
        ErrorInfo { result, message, errno: 0, kernel_message: None, line: 0, may_have_applied: false }
    }

    /// The details of a library error.
    pub(crate) fn of(e: &Error) -> Self {
        ErrorInfo {
            result: result_of(e.kind()),
            message: e.to_string(),
            errno: e.errno().unwrap_or(0),
            kernel_message: e.message().map(str::to_owned),
            line: 0,
            may_have_applied: e.may_have_applied(),
        }
    }
}

impl Failure {
    /// The details C sees.
    pub(crate) fn into_info(self) -> ErrorInfo {
        use ipvs_result as R;
        match self {
            Failure::Null(name) => ErrorInfo::plain(R::NullParameter, format!("{name} is NULL")),
            Failure::Invalid(text) => ErrorInfo::plain(R::InvalidParameter, text),
            Failure::BufferTooSmall { needed, len } => ErrorInfo::plain(
                R::BufferTooSmall,
                format!("the text needs a buffer of {needed} bytes; the buffer has {len}"),
            ),
            Failure::Index { index, len } => ErrorInfo::plain(
                R::IndexOutOfRange,
                format!("index {index} is past the end of a list of {len}"),
            ),
            Failure::Stopped(v) => ErrorInfo::plain(
                R::CallbackStopped,
                format!("the callback returned {v}, which stopped the walk"),
            ),
            Failure::Panic(text) => {
                ErrorInfo::plain(R::Panic, format!("a panic inside libipvs was caught: {text}"))
            }
            Failure::NotSupported(what) => {
                let mut info = ErrorInfo::of(&Error::NotSupported);
                info.message = format!("operation not supported: {what}");
                info
            }
            Failure::Ipvs(e) => ErrorInfo::of(&e),
            Failure::Rule(e) => {
                let mut info = ErrorInfo::plain(R::RulesSyntax, e.to_string());
                info.line = e.line;
                info.errno = ipvs_core::error::errno::EINVAL;
                info
            }
            Failure::RuleApply { line, error } => {
                let mut info = ErrorInfo::of(&error);
                info.message = format!("line {line}: {error}");
                info.line = line;
                info
            }
            Failure::Plan(e) => {
                let mut info = ErrorInfo::of(&Error::from(e.clone()));
                info.message = e.to_string();
                info
            }
        }
    }
}

/// The details of a failed call: its code, message, errno and, for rules text, its line.
/// Obtained from `ipvs_error_last` (owned by the library, valid until the next failing call
/// on the same thread) or `ipvs_results_error` (owned by the results). Never freed by the
/// caller. Immutable: may be read from any thread while its owner lives.
pub struct ipvs_error {
    _private: [u8; 0],
}

impl Opaque for ipvs_error {
    type Inner = ErrorInfo;
}

/// Writes the text of a result code into `buf` (NUL-terminated; `*written` receives its
/// length without the NUL). Works for every number: one that is not a code gets
/// "unknown result code N".
///
/// Returns `IPVS_RESULT_NULL_PARAMETER` if `buf` or `written` is NULL and
/// `IPVS_RESULT_BUFFER_TOO_SMALL` if `len` cannot hold the text and its NUL (then `*written`
/// receives the length needed, without the NUL, and `buf` is untouched).
#[no_mangle]
pub extern "C" fn ipvs_result_message(
    result: u32,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> ipvs_result {
    ffi::call_quiet(|| {
        let out = TextOut::new(buf, len, written)?;
        let text = match ipvs_result::from_raw(result) {
            Some(r) => r.describe(),
            None => format!("unknown result code {result}"),
        };
        out.write(text.as_bytes())
    })
}

/// The last failure of a call on the calling thread, or NULL when no call has failed on it.
/// Every call that fails (whatever it returns) replaces it; a call that succeeds leaves it, and
/// so do `ipvs_result_message` and the `ipvs_error_*` functions, even when they fail.
///
/// Ownership: the library's. The pointer stays valid until the next call on this thread that
/// fails; do not free it.
#[no_mangle]
pub extern "C" fn ipvs_error_last() -> *const ipvs_error {
    ffi::value_quiet(std::ptr::null(), || Ok(ffi::last_error().cast::<ipvs_error>()))
}

/// The error's result code (`IPVS_RESULT_NULL_PARAMETER` when `error` is NULL).
#[no_mangle]
pub extern "C" fn ipvs_error_result(error: *const ipvs_error) -> ipvs_result {
    ffi::value_quiet(ipvs_result::NullParameter, || Ok(ffi::get(error, "error")?.result))
}

/// The errno behind the error: the kernel's own for a kernel error, the one the kernel would
/// have given for a value this library refused first; 0 when there is none (and when `error`
/// is NULL).
#[no_mangle]
pub extern "C" fn ipvs_error_errno(error: *const ipvs_error) -> c_int {
    ffi::value_quiet(0, || Ok(ffi::get(error, "error")?.errno))
}

/// Writes the error's whole message into `buf` (NUL-terminated; `*written` receives its
/// length). Buffer rules as `ipvs_result_message`.
#[no_mangle]
pub extern "C" fn ipvs_error_message(
    error: *const ipvs_error,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> ipvs_result {
    ffi::call_quiet(|| {
        let e = ffi::get(error, "error")?;
        TextOut::new(buf, len, written)?.write(e.message.as_bytes())
    })
}

/// Writes the kernel's own text for the error (its extended acknowledgement), or an empty
/// string when the kernel sent none. Buffer rules as `ipvs_result_message`.
#[no_mangle]
pub extern "C" fn ipvs_error_kernel_message(
    error: *const ipvs_error,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> ipvs_result {
    ffi::call_quiet(|| {
        let e = ffi::get(error, "error")?;
        TextOut::new(buf, len, written)?.write(e.kernel_message.as_deref().unwrap_or("").as_bytes())
    })
}

/// For an error about rules text, the line it is about (from 1); 0 otherwise.
#[no_mangle]
pub extern "C" fn ipvs_error_line(error: *const ipvs_error) -> usize {
    ffi::value_quiet(0, || Ok(ffi::get(error, "error")?.line))
}

/// Whether the operation that failed may have changed the table anyway: true when the
/// request was sent and its answer was lost (a timeout, a socket error after sending); false
/// when it was refused, never sent, or the kernel refused it (IPVS commands are
/// all-or-nothing). False when `error` is NULL.
#[no_mangle]
pub extern "C" fn ipvs_error_may_have_applied(error: *const ipvs_error) -> bool {
    ffi::value_quiet(false, || Ok(ffi::get(error, "error")?.may_have_applied))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipvs_core::error::DecodeError;

    #[test]
    fn codes_are_distinct_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for r in ALL {
            assert!(seen.insert(*r as u32), "{r:?} reuses a number");
            assert_eq!(ipvs_result::from_raw(*r as u32), Some(*r));
        }
        assert_eq!(ipvs_result::from_raw(1), None);
        let texts: std::collections::HashSet<String> = ALL.iter().map(|r| r.describe()).collect();
        assert_eq!(texts.len(), ALL.len(), "every code has its own text");
    }

    #[test]
    fn codes_stay_in_their_ranges() {
        for r in ALL {
            let n = *r as u32;
            let name = format!("{r:?}");
            let range = match n {
                0 => "ok",
                100..=199 => "call",
                200..=299 => "rules",
                300..=399 => "validation",
                400..=499 => "table",
                500..=599 => "system",
                _ => panic!("{name} = {n} is in no range"),
            };
            if name.starts_with("Invalid") && name != "InvalidParameter" {
                assert_eq!(range, "validation", "{name}");
            }
            if name.ends_with("Exists") || name.ends_with("NotFound") && name != "SchedulerOrEngineNotFound" {
                assert_eq!(range, "table", "{name}");
            }
        }
    }

    /// Every kind of `ipvs_core::Error` maps to its own code.
    #[test]
    fn every_error_kind_has_its_code() {
        use ipvs_result as R;
        let v = |field| Error::Validation(ipvs_core::ValidationError::Invalid { field, reason: "test" });
        let cases: Vec<(Error, ipvs_result)> = vec![
            (v(Field::Protocol), R::InvalidProtocol),
            (v(Field::ServiceAddress), R::InvalidServiceAddress),
            (v(Field::ServicePort), R::InvalidServicePort),
            (v(Field::Fwmark), R::InvalidFwmark),
            (v(Field::Scheduler), R::InvalidScheduler),
            (v(Field::Flags), R::InvalidFlags),
            (v(Field::PersistenceTimeout), R::InvalidPersistenceTimeout),
            (v(Field::Netmask), R::InvalidNetmask),
            (v(Field::PersistenceEngine), R::InvalidPersistenceEngine),
            (v(Field::DestinationAddress), R::InvalidDestinationAddress),
            (v(Field::DestinationPort), R::InvalidDestinationPort),
            (v(Field::ForwardMethod), R::InvalidForwardMethod),
            (v(Field::Weight), R::InvalidWeight),
            (v(Field::UpperThreshold), R::InvalidUpperThreshold),
            (v(Field::LowerThreshold), R::InvalidLowerThreshold),
            (v(Field::TunnelType), R::InvalidTunnelType),
            (v(Field::TunnelPort), R::InvalidTunnelPort),
            (v(Field::TunnelFlags), R::InvalidTunnelFlags),
            (v(Field::SyncInterface), R::InvalidSyncInterface),
            (v(Field::SyncId), R::InvalidSyncId),
            (v(Field::SyncMaxlen), R::InvalidSyncMaxlen),
            (v(Field::SyncGroup), R::InvalidSyncGroup),
            (v(Field::SyncPort), R::InvalidSyncPort),
            (v(Field::SyncTtl), R::InvalidSyncTtl),
            (v(Field::TimeoutTcp), R::InvalidTimeoutTcp),
            (v(Field::TimeoutTcpFin), R::InvalidTimeoutTcpFin),
            (v(Field::TimeoutUdp), R::InvalidTimeoutUdp),
            (Error::exists(Object::Service), R::ServiceExists),
            (Error::exists(Object::Destination), R::DestinationExists),
            (Error::exists(Object::SyncDaemon), R::SyncDaemonExists),
            (Error::exists(Object::Scheduler), R::SchedulerExists),
            (Error::exists(Object::PersistenceEngine), R::PersistenceEngineExists),
            (Error::exists(Object::Interface), R::InterfaceExists),
            (Error::not_found(Object::Service), R::ServiceNotFound),
            (Error::not_found(Object::Destination), R::DestinationNotFound),
            (Error::not_found(Object::SyncDaemon), R::SyncDaemonNotFound),
            (Error::not_found(Object::Scheduler), R::SchedulerNotFound),
            (Error::not_found(Object::PersistenceEngine), R::PersistenceEngineNotFound),
            (Error::not_found(Object::Interface), R::InterfaceNotFound),
            (Error::scheduler_or_engine_not_found(), R::SchedulerOrEngineNotFound),
            (Error::permission_denied(Privilege::NetAdmin, "IPVS", 1), R::PermissionDeniedNetAdmin),
            (Error::permission_denied(Privilege::SysAdmin, "setns", 1), R::PermissionDeniedSysAdmin),
            (Error::permission_denied(Privilege::FileAccess, "open", 13), R::PermissionDeniedFileAccess),
            (Error::module_missing(2), R::ModuleMissing),
            (Error::invalid(22), R::KernelInvalid),
            (Error::AddressFamilyNotSupported, R::AddressFamilyNotSupported),
            (Error::NotSupported, R::NotSupported),
            (Error::Timeout, R::Timeout),
            (Error::not_sent(Error::Timeout), R::NotSent),
            (Error::interrupted(5), R::Interrupted),
            (Error::Decode(DecodeError::new("bad")), R::Decode),
            (Error::os(12, "test"), R::Os),
        ];
        let mut codes = std::collections::HashSet::new();
        for (e, want) in &cases {
            assert_eq!(result_of(e.kind()), *want, "{e:?}");
            codes.insert(*want as u32);
            let info = ErrorInfo::of(e);
            assert_eq!(info.result, *want);
            assert_eq!(info.message, e.to_string());
            assert_eq!(info.errno, e.errno().unwrap_or(0));
            assert_eq!(info.may_have_applied, e.may_have_applied());
        }
        // Every code of the 300-599 ranges but the fallbacks for kinds a later ipvs_core adds.
        let fallbacks = [R::InvalidValue, R::Exists, R::NotFound, R::PermissionDenied, R::Unknown];
        for r in ALL.iter().filter(|r| (300..600).contains(&(**r as u32))) {
            assert!(codes.contains(&(*r as u32)) || fallbacks.contains(r), "{r:?} is produced by no kind");
        }
    }

    #[test]
    fn kernel_details_are_kept() {
        let e = Error::invalid(34).with_message("Attribute failed policy validation");
        let info = ErrorInfo::of(&e);
        assert_eq!(info.result, ipvs_result::KernelInvalid);
        assert_eq!(info.errno, 34);
        assert_eq!(info.kernel_message.as_deref(), Some("Attribute failed policy validation"));
        assert!(ErrorInfo::of(&Error::Timeout).may_have_applied);
    }
}
