//! The kernel's errno values mapped to [`ipvs_core::Error`] kinds, per command
//! (`shared/ipvs-kernel-reference.md` §1.6; `ip_vs_ctl.c`, `ip_vs_sync.c` of Linux 6.1).
//!
//! The same errno means different things for different commands: ENOENT is a missing
//! scheduler or persistence engine on NEW/SET_SERVICE but a missing real server on
//! SET/DEL_DEST; ESRCH is a missing service on every service-addressed command but a daemon
//! that is not running on DEL_DAEMON. Every error keeps the kernel's errno and its
//! extended-ack text.

use std::io;

use ipvs_core::error::OsError;
use ipvs_core::{Error, Object, Privilege};

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

/// An operating-system error while doing `context`, with the kernel's extended-ack text.
pub(crate) fn os(errno: i32, context: &'static str, detail: Option<&str>) -> Error {
    let e = OsError::new(errno, context);
    Error::Os(match detail {
        Some(d) => e.with_message(d),
        None => e,
    })
}

/// An `io::Error` from the socket layer while doing `context` (the source is kept). `EAGAIN`
/// from a receive is the receive timeout: [`Error::Timeout`].
pub(crate) fn io(e: &io::Error, context: &'static str) -> Error {
    match e.raw_os_error() {
        Some(errno) if errno == libc::EAGAIN || errno == libc::EWOULDBLOCK => Error::Timeout,
        Some(errno) => Error::Os(OsError::from_io(io::Error::from_raw_os_error(errno), context)),
        None => Error::Os(OsError::from_io(io::Error::new(e.kind(), e.to_string()), context)),
    }
}

/// Maps the positive `errno` of a failed `cmd` to an error kind. `detail` is the kernel's
/// extended-ack message, if it sent one; it is kept on the error.
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
    let e = match errno {
        // IPVS checks CAP_NET_ADMIN in the initial user namespace for every command
        // (ip_vs_ctl.c, the genl ops' GENL_ADMIN_PERM).
        libc::EPERM => Error::permission_denied(Privilege::NetAdmin, "IPVS", errno),
        libc::EEXIST => match cmd {
            C::NewService => Error::exists(Object::Service),
            C::NewDest => Error::exists(Object::Destination),
            C::NewDaemon => Error::exists(Object::SyncDaemon),
            _ => return os(errno, describe(cmd), detail),
        },
        libc::ESRCH if service_addressed => Error::not_found_errno(Object::Service, errno),
        libc::ESRCH if cmd == C::DelDaemon => Error::not_found_errno(Object::SyncDaemon, errno),
        libc::ENOENT => match cmd {
            // ip_vs_ctl.c:1347-1365 (add) and 1494-1513 (edit): the scheduler or the
            // persistence engine module could not be found or loaded.
            C::NewService | C::SetService => Error::scheduler_or_engine_not_found(),
            // ip_vs_ctl.c:1190-1193 (edit), 1278-1281 (delete).
            C::SetDest | C::DelDest => Error::not_found_errno(Object::Destination, errno),
            _ => return os(errno, describe(cmd), detail),
        },
        // ip_vs_sync.c:1821-1826: unknown multicast interface.
        libc::ENODEV => Error::not_found_errno(Object::Interface, errno),
        libc::EINVAL | libc::ERANGE => Error::invalid(errno),
        libc::EAFNOSUPPORT => Error::AddressFamilyNotSupported,
        libc::EOPNOTSUPP => Error::NotSupported,
        // ip_vs_ctl.c:1343-1344: the ip_vs module is going away.
        libc::ENOPROTOOPT => Error::module_missing(errno),
        _ => return os(errno, describe(cmd), detail),
    };
    match detail {
        Some(d) => e.with_message(d),
        None => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipvs_core::ErrorKind;

    #[test]
    fn same_errno_different_meaning_per_command() {
        let k = |cmd, errno| map(cmd, errno, None).kind();
        assert_eq!(k(IpvsCmd::NewService, libc::EEXIST), ErrorKind::Exists(Object::Service));
        assert_eq!(k(IpvsCmd::NewDest, libc::EEXIST), ErrorKind::Exists(Object::Destination));
        assert_eq!(k(IpvsCmd::NewDaemon, libc::EEXIST), ErrorKind::Exists(Object::SyncDaemon));
        assert_eq!(k(IpvsCmd::DelService, libc::ESRCH), ErrorKind::NotFound(Object::Service));
        assert_eq!(k(IpvsCmd::NewDest, libc::ESRCH), ErrorKind::NotFound(Object::Service));
        assert_eq!(k(IpvsCmd::DelDaemon, libc::ESRCH), ErrorKind::NotFound(Object::SyncDaemon));
        assert_eq!(k(IpvsCmd::NewService, libc::ENOENT), ErrorKind::SchedulerOrEngineNotFound);
        assert_eq!(k(IpvsCmd::SetService, libc::ENOENT), ErrorKind::SchedulerOrEngineNotFound);
        assert_eq!(k(IpvsCmd::SetDest, libc::ENOENT), ErrorKind::NotFound(Object::Destination));
        assert_eq!(k(IpvsCmd::DelDest, libc::ENOENT), ErrorKind::NotFound(Object::Destination));
        assert_eq!(k(IpvsCmd::NewDaemon, libc::ENODEV), ErrorKind::NotFound(Object::Interface));
        assert_eq!(k(IpvsCmd::Flush, libc::EPERM), ErrorKind::PermissionDenied(Privilege::NetAdmin));
        assert_eq!(k(IpvsCmd::NewDest, libc::ERANGE), ErrorKind::Invalid);
        assert_eq!(k(IpvsCmd::NewService, libc::EAFNOSUPPORT), ErrorKind::AddressFamilyNotSupported);
        assert_eq!(k(IpvsCmd::from(0), libc::EOPNOTSUPP), ErrorKind::NotSupported);
        assert_eq!(k(IpvsCmd::NewService, libc::ENOPROTOOPT), ErrorKind::ModuleMissing);
        // EEXIST where no object is created stays an OS error.
        assert_eq!(k(IpvsCmd::SetDest, libc::EEXIST), ErrorKind::Os);
    }

    #[test]
    fn the_kernels_errno_and_text_are_kept() {
        // The errno is the kernel's own, not one guessed from the kind.
        assert_eq!(map(IpvsCmd::DelService, libc::ESRCH, None).errno(), Some(libc::ESRCH));
        assert_eq!(map(IpvsCmd::DelDest, libc::ENOENT, None).errno(), Some(libc::ENOENT));
        assert_eq!(map(IpvsCmd::NewDest, libc::ERANGE, None).errno(), Some(libc::ERANGE));
        assert_eq!(map(IpvsCmd::NewService, libc::ENOPROTOOPT, None).errno(), Some(libc::ENOPROTOOPT));
        for (cmd, errno) in [
            (IpvsCmd::NewService, libc::EEXIST),
            (IpvsCmd::DelService, libc::ESRCH),
            (IpvsCmd::NewDest, libc::EINVAL),
            (IpvsCmd::SetService, libc::ENOENT),
        ] {
            let e = map(cmd, errno, Some("Attribute failed policy validation"));
            assert_eq!(e.message(), Some("Attribute failed policy validation"), "{cmd:?} {errno}");
            assert!(e.to_string().ends_with(": Attribute failed policy validation"), "{e}");
        }
        match map(IpvsCmd::NewService, libc::ENOMEM, Some("detail")) {
            Error::Os(os) => {
                assert_eq!(os.errno(), libc::ENOMEM);
                assert!(os.context().contains("NEW_SERVICE"));
                assert_eq!(os.message(), Some("detail"));
            }
            other => panic!("{other:?}"),
        }
        let e = map(IpvsCmd::Flush, libc::EPERM, None);
        assert_eq!(
            e.to_string(),
            "permission denied: IPVS needs CAP_NET_ADMIN in the initial user namespace"
        );
    }

    #[test]
    fn io_errors_keep_their_source() {
        use std::error::Error as _;
        let e = io(&io::Error::from_raw_os_error(libc::ECONNREFUSED), "sending");
        assert_eq!(e.errno(), Some(libc::ECONNREFUSED));
        assert!(e.source().is_some());
        assert_eq!(io(&io::Error::from_raw_os_error(libc::EAGAIN), "receiving"), Error::Timeout);
    }
}
