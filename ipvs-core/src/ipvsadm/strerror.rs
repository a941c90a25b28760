//! The messages ipvsadm prints when the kernel refuses a request (libipvs's `ipvs_strerror`):
//! a few depend on the call, the rest fall back to the C library's `strerror`.
//!
//! ipvsadm prints the message and a newline on standard error. A refused change makes it exit
//! with status 255 (`return -1` from `main`); in `-R` processing goes on and the status is that
//! of the last line. A failed read for a listing makes it exit with status 1.
//!
//! ```
//! use ipvs_core::ipvsadm::strerror::{message, Call};
//! assert_eq!(message(Call::AddService, 17), "Service already exists");
//! assert_eq!(message(Call::DeleteDest, 2), "No such destination");
//! assert_eq!(message(Call::Flush, 1), "Permission denied (you must be root)");
//! assert_eq!(message(Call::Flush, 16), "Device or resource busy");
//! ```

use crate::backend::Operation;

/// The libipvs call that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Call {
    /// `ipvs_add_service` (`-A`).
    AddService,
    /// `ipvs_update_service` (`-E`).
    EditService,
    /// `ipvs_del_service` (`-D`).
    DeleteService,
    /// `ipvs_zero_service` (`-Z`).
    Zero,
    /// `ipvs_add_dest` (`-a`).
    AddDest,
    /// `ipvs_update_dest` (`-e`).
    EditDest,
    /// `ipvs_del_dest` (`-d`).
    DeleteDest,
    /// `ipvs_start_daemon`.
    StartDaemon,
    /// `ipvs_stop_daemon`.
    StopDaemon,
    /// `ipvs_get_services` (listing).
    GetServices,
    /// `ipvs_get_dests` (listing).
    GetDests,
    /// `ipvs_get_service` (`-L -t ...`).
    GetService,
    /// `ipvs_flush` (`-C`).
    Flush,
    /// `ipvs_set_timeout` (`--set`).
    SetTimeout,
    /// Anything else (info, timeouts, daemons).
    Other,
}

impl Call {
    /// The call that carries out an operation.
    pub fn of(op: &Operation) -> Call {
        match op {
            Operation::AddService(_) => Call::AddService,
            Operation::EditService(_) => Call::EditService,
            Operation::DeleteService(_) => Call::DeleteService,
            Operation::AddDestination(..) => Call::AddDest,
            Operation::EditDestination(..) => Call::EditDest,
            Operation::DeleteDestination(..) => Call::DeleteDest,
            Operation::Flush => Call::Flush,
            Operation::Zero(_) => Call::Zero,
            Operation::SetTimeouts(_) => Call::SetTimeout,
            Operation::StartDaemon(_) => Call::StartDaemon,
            Operation::StopDaemon(_) => Call::StopDaemon,
        }
    }
}

/// ipvsadm's message for `errno` returned by `call`.
pub fn message(call: Call, errno: i32) -> String {
    use Call::*;
    let specific = match (call, errno) {
        (AddService, 17) => Some("Service already exists"),
        (AddService, 2) | (EditService, 2) => Some("Scheduler or persistence engine not found"),
        (EditService, 3) | (DeleteService, 3) | (Zero, 3) => Some("No such service"),
        (AddDest, 3) | (EditDest, 3) | (DeleteDest, 3) => Some("Service not defined"),
        (AddDest, 17) => Some("Destination already exists"),
        (EditDest, 2) | (DeleteDest, 2) => Some("No such destination"),
        (StartDaemon, 17) => Some("Daemon has already run"),
        (StopDaemon, 3) => Some("No daemon is running"),
        (GetServices, 3) | (GetDests, 3) | (GetService, 3) => Some("No such service"),
        (_, 1) => Some("Permission denied (you must be root)"),
        (_, 22) => Some("Invalid operation.  Possibly wrong module version, address not unicast, ..."),
        (_, 92) => Some("Protocol not available"),
        (_, 12) => Some("Memory allocation problem"),
        (_, 95) => Some("Operation not supported with IPv6"),
        (_, 97) => Some("Operation not supported with specified address family"),
        (_, 90) => Some("Module is wrong version"),
        _ => None,
    };
    match specific {
        Some(m) => m.to_owned(),
        None => c_strerror(errno),
    }
}

/// glibc's `strerror` for the errno values IPVS can return; `Unknown error N` otherwise.
pub fn c_strerror(errno: i32) -> String {
    let m = match errno {
        0 => "Success",
        1 => "Operation not permitted",
        2 => "No such file or directory",
        3 => "No such process",
        4 => "Interrupted system call",
        5 => "Input/output error",
        6 => "No such device or address",
        7 => "Argument list too long",
        9 => "Bad file descriptor",
        11 => "Resource temporarily unavailable",
        12 => "Cannot allocate memory",
        13 => "Permission denied",
        14 => "Bad address",
        16 => "Device or resource busy",
        17 => "File exists",
        19 => "No such device",
        22 => "Invalid argument",
        24 => "Too many open files",
        28 => "No space left on device",
        34 => "Numerical result out of range",
        71 => "Protocol error",
        90 => "Message too long",
        92 => "Protocol not available",
        93 => "Protocol not supported",
        95 => "Operation not supported",
        97 => "Address family not supported by protocol",
        98 => "Address already in use",
        99 => "Cannot assign requested address",
        100 => "Network is down",
        105 => "No buffer space available",
        110 => "Connection timed out",
        111 => "Connection refused",
        _ => return format!("Unknown error {errno}"),
    };
    m.to_owned()
}

/// What ipvsadm prints on standard error (then exits 2) when IPVS cannot be reached at all,
/// for the errno of the failure (two lines, without the final newline).
pub fn init_failure(errno: i32) -> String {
    format!(
        "Can't initialize ipvs: {}\nAre you sure that IP Virtual Server is built in the kernel or as module?",
        message(Call::Other, errno)
    )
}

/// The warning ipvsadm prints on standard error before anything else when the kernel's IPVS
/// is older than 1.1.4 (with its blank line at the end), or `None`.
///
/// ```
/// use ipvs_core::{ipvsadm::strerror::version_warning, Info};
/// assert_eq!(version_warning(&Info::new(0x010201, 4096)), None);
/// assert!(version_warning(&Info::new(0x010103, 4096)).unwrap().contains("1.1.3"));
/// ```
pub fn version_warning(info: &crate::Info) -> Option<String> {
    if info.version >= 0x010104 {
        return None;
    }
    let (a, b, c) = info.version_triple();
    Some(format!(
        "Warning: IPVS version mismatch: \n  Kernel compiled with IPVS version {a}.{b}.{c}\n  ipvsadm v1.31  requires minimum IPVS version 1.1.4\n\n"
    ))
}
