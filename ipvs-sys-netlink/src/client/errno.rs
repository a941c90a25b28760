//! The kernel's errno values mapped to [`ipvs_core::Error`] kinds, per command
//! (`shared/ipvs-kernel-reference.md` §1.6; `ip_vs_ctl.c`, `ip_vs_sync.c` of Linux 6.1).
//!
//! The same errno means different things for different commands: ENOENT is a missing
//! scheduler or persistence engine on NEW/SET_SERVICE but a missing real server on
//! SET/DEL_DEST; ESRCH is a missing service on every service-addressed command but a daemon
//! that is not running on DEL_DAEMON.

use std::io;

use ipvs_core::{Error, Object};

use crate::codec::IpvsCmd;

/// What the client was doing, for [`Error::Os`] contexts.
pub(crate) fn describe(cmd: IpvsCmd) -> &'static str {
    match cmd {
        IpvsCmd::NewService => "IPVS_CMD_NEW_SERVICE (add a service)",
        IpvsCmd::SetService => "IPVS_CMD_SET_SERVICE (edit a service)",
        IpvsCmd::DelService => "IPVS_CMD_DEL_SERVICE (delete a service)",
        IpvsCmd::GetService => "IPVS_CMD_GET_SERVICE (read services)",
        IpvsCmd::NewDest => "IPVS_CMD_NEW_DEST (add a real server)",
        IpvsCmd::SetDest => "IPVS_CMD_SET_DEST (edit a real server)",
        IpvsCmd::DelDest => "IPVS_CMD_DEL_DEST (delete a real server)",
        IpvsCmd::GetDest => "IPVS_CMD_GET_DEST (read real servers)",
        IpvsCmd::NewDaemon => "IPVS_CMD_NEW_DAEMON (start a sync daemon)",
        IpvsCmd::DelDaemon => "IPVS_CMD_DEL_DAEMON (stop a sync daemon)",
        IpvsCmd::GetDaemon => "IPVS_CMD_GET_DAEMON (read sync daemons)",
        IpvsCmd::SetConfig => "IPVS_CMD_SET_CONFIG (set timeouts)",
        IpvsCmd::GetConfig => "IPVS_CMD_GET_CONFIG (read timeouts)",
        IpvsCmd::GetInfo => "IPVS_CMD_GET_INFO (read version)",
        IpvsCmd::Zero => "IPVS_CMD_ZERO (zero counters)",
        IpvsCmd::Flush => "IPVS_CMD_FLUSH (delete every service)",
        _ => "IPVS request",
    }
}

/// The system's text for an errno, without std's " (os error N)" suffix.
pub(crate) fn strerror(errno: i32) -> String {
    let s = io::Error::from_raw_os_error(errno).to_string();
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

/// An operating-system error while doing `context`.
pub(crate) fn os(errno: i32, context: &'static str, detail: Option<&str>) -> Error {
    let mut message = strerror(errno);
    if let Some(d) = detail.filter(|d| !d.is_empty()) {
        message.push_str(": ");
        message.push_str(d);
    }
    Error::Os { errno, context, message }
}

/// An `io::Error` from the socket layer while doing `context`.
pub(crate) fn io(e: &io::Error, context: &'static str) -> Error {
    match e.raw_os_error() {
        Some(errno) if errno == libc::EAGAIN || errno == libc::EWOULDBLOCK => Error::Timeout,
        Some(errno) => os(errno, context, None),
        None => Error::Os { errno: libc::EIO, context, message: e.to_string() },
    }
}

/// Maps the positive `errno` of a failed `cmd` to an error kind. `detail` is the kernel's
/// extended-ack message, if it sent one.
pub(crate) fn map(cmd: IpvsCmd, errno: i32, detail: Option<&str>) -> Error {
    use IpvsCmd as C;
    let service_addressed = matches!(
        cmd,
        C::SetService
            | C::DelService
            | C::GetService
            | C::Zero
            | C::NewDest
            | C::SetDest
            | C::DelDest
            | C::GetDest
    );
    match errno {
        libc::EPERM => Error::PermissionDenied,
        libc::EEXIST => match cmd {
            C::NewService => Error::Exists(Object::Service),
            C::NewDest => Error::Exists(Object::Destination),
            C::NewDaemon => Error::Exists(Object::SyncDaemon),
            _ => os(errno, describe(cmd), detail),
        },
        libc::ESRCH if service_addressed => Error::NotFound(Object::Service),
        libc::ESRCH if cmd == C::DelDaemon => Error::NotFound(Object::SyncDaemon),
        libc::ENOENT => match cmd {
            // ip_vs_ctl.c:1347-1365 (add) and 1494-1513 (edit): the scheduler or the
            // persistence engine module could not be found or loaded.
            C::NewService | C::SetService => Error::SchedulerOrEngineNotFound,
            // ip_vs_ctl.c:1190-1193 (edit), 1278-1281 (delete).
            C::SetDest | C::DelDest => Error::NotFound(Object::Destination),
            _ => os(errno, describe(cmd), detail),
        },
        // ip_vs_sync.c:1821-1826: unknown multicast interface.
        libc::ENODEV => Error::NotFound(Object::Interface),
        libc::EINVAL | libc::ERANGE => Error::Invalid { errno },
        libc::EAFNOSUPPORT => Error::AddressFamilyNotSupported,
        libc::EOPNOTSUPP => Error::NotSupported,
        // ip_vs_ctl.c:1343-1344: the ip_vs module is going away.
        libc::ENOPROTOOPT => Error::ModuleMissing,
        _ => os(errno, describe(cmd), detail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_errno_different_meaning_per_command() {
        assert_eq!(map(IpvsCmd::NewService, libc::EEXIST, None), Error::Exists(Object::Service));
        assert_eq!(map(IpvsCmd::NewDest, libc::EEXIST, None), Error::Exists(Object::Destination));
        assert_eq!(map(IpvsCmd::NewDaemon, libc::EEXIST, None), Error::Exists(Object::SyncDaemon));
        assert_eq!(map(IpvsCmd::DelService, libc::ESRCH, None), Error::NotFound(Object::Service));
        assert_eq!(map(IpvsCmd::NewDest, libc::ESRCH, None), Error::NotFound(Object::Service));
        assert_eq!(map(IpvsCmd::DelDaemon, libc::ESRCH, None), Error::NotFound(Object::SyncDaemon));
        assert_eq!(map(IpvsCmd::NewService, libc::ENOENT, None), Error::SchedulerOrEngineNotFound);
        assert_eq!(map(IpvsCmd::SetService, libc::ENOENT, None), Error::SchedulerOrEngineNotFound);
        assert_eq!(map(IpvsCmd::SetDest, libc::ENOENT, None), Error::NotFound(Object::Destination));
        assert_eq!(map(IpvsCmd::DelDest, libc::ENOENT, None), Error::NotFound(Object::Destination));
        assert_eq!(map(IpvsCmd::NewDaemon, libc::ENODEV, None), Error::NotFound(Object::Interface));
        assert_eq!(map(IpvsCmd::Flush, libc::EPERM, None), Error::PermissionDenied);
        assert_eq!(map(IpvsCmd::NewDest, libc::ERANGE, None), Error::Invalid { errno: libc::ERANGE });
        assert_eq!(map(IpvsCmd::NewService, libc::EAFNOSUPPORT, None), Error::AddressFamilyNotSupported);
        assert_eq!(map(IpvsCmd::Other(0), libc::EOPNOTSUPP, None), Error::NotSupported);
        assert_eq!(map(IpvsCmd::NewService, libc::ENOPROTOOPT, None), Error::ModuleMissing);
        match map(IpvsCmd::NewService, libc::ENOMEM, Some("detail")) {
            Error::Os { errno, context, message } => {
                assert_eq!(errno, libc::ENOMEM);
                assert!(context.contains("NEW_SERVICE"));
                assert_eq!(message, "Cannot allocate memory: detail");
            }
            other => panic!("{other:?}"),
        }
        // EEXIST where no object is created stays an OS error.
        assert!(matches!(map(IpvsCmd::SetDest, libc::EEXIST, None), Error::Os { .. }));
    }
}
