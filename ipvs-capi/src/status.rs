//! What the kernel reports besides settings: statistics (`ipvs_stats`), a service's and a
//! real server's status, and sync daemons (`ipvs_sync_daemon`).

use std::ffi::c_char;

use ipvs_core::{DestinationStatus, InterfaceName, ServiceStatus, Stats, SyncDaemon, SyncRole};

use crate::addr::{self, ipvs_addr};
use crate::dest::ipvs_dest;
use crate::error::{ipvs_result, Failure};
use crate::ffi::{self, Opaque, Out, TextOut};
use crate::service::ipvs_service;

/// Counters (since the last zeroing) and rates (the kernel's per-second estimates, updated
/// every 2 seconds) of a service or a real server: plain data filled by the library.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ipvs_stats {
    /// Connections scheduled.
    pub conns: u64,
    /// Packets in.
    pub in_packets: u64,
    /// Packets out.
    pub out_packets: u64,
    /// Bytes in.
    pub in_bytes: u64,
    /// Bytes out.
    pub out_bytes: u64,
    /// Connections per second.
    pub cps: u64,
    /// Packets in per second.
    pub in_pps: u64,
    /// Packets out per second.
    pub out_pps: u64,
    /// Bytes in per second.
    pub in_bps: u64,
    /// Bytes out per second.
    pub out_bps: u64,
}

impl From<Stats> for ipvs_stats {
    fn from(s: Stats) -> Self {
        ipvs_stats {
            conns: s.conns,
            in_packets: s.in_packets,
            out_packets: s.out_packets,
            in_bytes: s.in_bytes,
            out_bytes: s.out_bytes,
            cps: s.cps,
            in_pps: s.in_pps,
            out_pps: s.out_pps,
            in_bps: s.in_bps,
            out_bps: s.out_bps,
        }
    }
}

/// A service as the kernel (or the in-memory table) reports it: its settings and statistics.
/// Borrowed from a list or a table (never freed then), or owned when `ipvs_client_service`
/// returns it (free with `ipvs_service_status_free`). Immutable: may be shared between
/// threads while its owner lives.
pub struct ipvs_service_status {
    _private: [u8; 0],
}

impl Opaque for ipvs_service_status {
    type Inner = ServiceStatus;
}

/// A real server as reported: its settings, connection counts and statistics. Always borrowed
/// from a list (never freed). Immutable.
pub struct ipvs_dest_status {
    _private: [u8; 0],
}

impl Opaque for ipvs_dest_status {
    type Inner = DestinationStatus;
}

/// The role of a connection-sync daemon.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ipvs_sync_role {
    /// Sends this director's connections to the backups.
    Master = 1,
    /// Receives connections from a master.
    Backup = 2,
}

/// A connection-sync daemon's settings (`ipvsadm --start-daemon`). Created by
/// `ipvs_sync_daemon_new` (free with `ipvs_sync_daemon_free`) or borrowed from a list or an
/// operation (never freed then). A daemon no thread changes may be read from any thread.
pub struct ipvs_sync_daemon {
    _private: [u8; 0],
}

impl Opaque for ipvs_sync_daemon {
    type Inner = SyncDaemon;
}

pub(crate) fn role_of(raw: u32) -> Result<SyncRole, Failure> {
    SyncRole::from_raw(raw)
        .ok_or_else(|| Failure::Invalid(format!("role: {raw} is neither IPVS_SYNC_ROLE_MASTER nor _BACKUP")))
}

/// Frees a service status that `ipvs_client_service` returned. NULL is a no-op. Never pass
/// one borrowed from a list.
#[no_mangle]
pub extern "C" fn ipvs_service_status_free(status: *mut ipvs_service_status) {
    ffi::void(|| ffi::free(status))
}

/// The service's settings, borrowed from the status (NULL for NULL).
#[no_mangle]
pub extern "C" fn ipvs_service_status_get_service(status: *const ipvs_service_status) -> *const ipvs_service {
    ffi::value(std::ptr::null(), || Ok(ffi::borrowed::<ipvs_service>(&ffi::get(status, "status")?.service)))
}

/// Writes the service's 64-bit statistics into `*out`.
#[no_mangle]
pub extern "C" fn ipvs_service_status_stats(
    status: *const ipvs_service_status,
    out: *mut ipvs_stats,
) -> ipvs_result {
    ffi::call(|| {
        let s = ffi::get(status, "status")?;
        Out::new(out, "out")?.write(s.stats.into());
        Ok(())
    })
}

/// Writes the service's statistics in the kernel's 32-bit layout (counters truncated to 32
/// bits, as the kernel sent them) into `*out`.
#[no_mangle]
pub extern "C" fn ipvs_service_status_stats32(
    status: *const ipvs_service_status,
    out: *mut ipvs_stats,
) -> ipvs_result {
    ffi::call(|| {
        let s = ffi::get(status, "status")?;
        Out::new(out, "out")?.write(s.stats32.into());
        Ok(())
    })
}

/// The real server's settings, borrowed from the status (NULL for NULL).
#[no_mangle]
pub extern "C" fn ipvs_dest_status_get_dest(status: *const ipvs_dest_status) -> *const ipvs_dest {
    ffi::value(std::ptr::null(), || Ok(ffi::borrowed::<ipvs_dest>(&ffi::get(status, "status")?.dest)))
}

/// Active connections (0 for NULL).
#[no_mangle]
pub extern "C" fn ipvs_dest_status_active_conns(status: *const ipvs_dest_status) -> u32 {
    ffi::value(0, || Ok(ffi::get(status, "status")?.active_conns))
}

/// Inactive connections (0 for NULL).
#[no_mangle]
pub extern "C" fn ipvs_dest_status_inactive_conns(status: *const ipvs_dest_status) -> u32 {
    ffi::value(0, || Ok(ffi::get(status, "status")?.inactive_conns))
}

/// Persistence templates pointing at the real server (0 for NULL).
#[no_mangle]
pub extern "C" fn ipvs_dest_status_persist_conns(status: *const ipvs_dest_status) -> u32 {
    ffi::value(0, || Ok(ffi::get(status, "status")?.persist_conns))
}

/// Writes the real server's 64-bit statistics into `*out`.
#[no_mangle]
pub extern "C" fn ipvs_dest_status_stats(
    status: *const ipvs_dest_status,
    out: *mut ipvs_stats,
) -> ipvs_result {
    ffi::call(|| {
        let s = ffi::get(status, "status")?;
        Out::new(out, "out")?.write(s.stats.into());
        Ok(())
    })
}

/// Writes the real server's statistics in the kernel's 32-bit layout into `*out`.
#[no_mangle]
pub extern "C" fn ipvs_dest_status_stats32(
    status: *const ipvs_dest_status,
    out: *mut ipvs_stats,
) -> ipvs_result {
    ffi::call(|| {
        let s = ffi::get(status, "status")?;
        Out::new(out, "out")?.write(s.stats32.into());
        Ok(())
    })
}

// --- sync daemons ----------------------------------------------------------------------------

/// Creates a sync daemon's settings: `role` (an `ipvs_sync_role`; anything else is
/// `IPVS_RESULT_INVALID_PARAMETER`), the multicast interface `interface` (NUL-terminated bytes,
/// checked when used) and the sync id; the kernel's defaults for the rest. Writes `*out` on
/// success; free it with `ipvs_sync_daemon_free`.
#[no_mangle]
pub extern "C" fn ipvs_sync_daemon_new(
    role: u32,
    interface: *const c_char,
    sync_id: u32,
    out: *mut *mut ipvs_sync_daemon,
) -> ipvs_result {
    ffi::call(|| {
        let ifname = ffi::c_bytes(interface, "interface")?;
        let out = Out::new(out, "out")?;
        let role = role_of(role)?;
        out.write(ffi::boxed(SyncDaemon::new(role, InterfaceName::from(ifname), sync_id)));
        Ok(())
    })
}

/// Copies a sync daemon's settings. Writes `*out` on success; free it with
/// `ipvs_sync_daemon_free`.
#[no_mangle]
pub extern "C" fn ipvs_sync_daemon_clone(
    daemon: *const ipvs_sync_daemon,
    out: *mut *mut ipvs_sync_daemon,
) -> ipvs_result {
    ffi::call(|| {
        let d = ffi::get(daemon, "daemon")?;
        Out::new(out, "out")?.write(ffi::boxed(d.clone()));
        Ok(())
    })
}

/// Frees a sync daemon created by `ipvs_sync_daemon_new` or `_clone`. NULL is a no-op.
#[no_mangle]
pub extern "C" fn ipvs_sync_daemon_free(daemon: *mut ipvs_sync_daemon) {
    ffi::void(|| ffi::free(daemon))
}

/// The role (an `ipvs_sync_role`; 0 for NULL).
#[no_mangle]
pub extern "C" fn ipvs_sync_daemon_role(daemon: *const ipvs_sync_daemon) -> u32 {
    ffi::value(0, || Ok(ffi::get(daemon, "daemon")?.role.to_raw()))
}

/// Writes the multicast interface's name into `buf` (its bytes, which need not be UTF-8).
/// Buffer rules as `ipvs_result_message`.
#[no_mangle]
pub extern "C" fn ipvs_sync_daemon_interface(
    daemon: *const ipvs_sync_daemon,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> ipvs_result {
    ffi::call(|| {
        let d = ffi::get(daemon, "daemon")?;
        TextOut::new(buf, len, written)?.write(d.interface.as_bytes())
    })
}

/// The sync id (0 for NULL).
#[no_mangle]
pub extern "C" fn ipvs_sync_daemon_sync_id(daemon: *const ipvs_sync_daemon) -> u32 {
    ffi::value(0, || Ok(ffi::get(daemon, "daemon")?.sync_id))
}

/// Sets the largest sync message (`--sync-maxlen`; 0 lets the kernel choose).
#[no_mangle]
pub extern "C" fn ipvs_sync_daemon_set_max_len(daemon: *mut ipvs_sync_daemon, max_len: u16) -> ipvs_result {
    ffi::call(|| {
        ffi::get_mut(daemon, "daemon")?.max_len = max_len;
        Ok(())
    })
}

/// The largest sync message (0: the kernel's choice, and for NULL).
#[no_mangle]
pub extern "C" fn ipvs_sync_daemon_max_len(daemon: *const ipvs_sync_daemon) -> u16 {
    ffi::value(0, || Ok(ffi::get(daemon, "daemon")?.max_len))
}

/// Sets the multicast group (`--mcast-group`; multicast, checked when used).
#[no_mangle]
pub extern "C" fn ipvs_sync_daemon_set_group(
    daemon: *mut ipvs_sync_daemon,
    group: *const ipvs_addr,
) -> ipvs_result {
    ffi::call(|| {
        let d = ffi::get_mut(daemon, "daemon")?;
        d.group = Some(addr::read(group, "group")?);
        Ok(())
    })
}

/// Writes the multicast group into `*out`: family 0 when none is set (the kernel's default
/// 224.0.0.81).
#[no_mangle]
pub extern "C" fn ipvs_sync_daemon_group(
    daemon: *const ipvs_sync_daemon,
    out: *mut ipvs_addr,
) -> ipvs_result {
    ffi::call(|| {
        let d = ffi::get(daemon, "daemon")?;
        addr::out(out, "out")?.write(d.group.map(ipvs_addr::from_ip).unwrap_or_default());
        Ok(())
    })
}

/// Sets the base UDP port (`--mcast-port`; 0: the kernel's default 8848).
#[no_mangle]
pub extern "C" fn ipvs_sync_daemon_set_port(daemon: *mut ipvs_sync_daemon, port: u16) -> ipvs_result {
    ffi::call(|| {
        ffi::get_mut(daemon, "daemon")?.port = port;
        Ok(())
    })
}

/// The base UDP port (0: the kernel's default, and for NULL).
#[no_mangle]
pub extern "C" fn ipvs_sync_daemon_port(daemon: *const ipvs_sync_daemon) -> u16 {
    ffi::value(0, || Ok(ffi::get(daemon, "daemon")?.port))
}

/// Sets the multicast TTL (`--mcast-ttl`; 0: the kernel's default 1).
#[no_mangle]
pub extern "C" fn ipvs_sync_daemon_set_ttl(daemon: *mut ipvs_sync_daemon, ttl: u8) -> ipvs_result {
    ffi::call(|| {
        ffi::get_mut(daemon, "daemon")?.ttl = ttl;
        Ok(())
    })
}

/// The multicast TTL (0: the kernel's default, and for NULL).
#[no_mangle]
pub extern "C" fn ipvs_sync_daemon_ttl(daemon: *const ipvs_sync_daemon) -> u8 {
    ffi::value(0, || Ok(ffi::get(daemon, "daemon")?.ttl))
}

/// Checks the settings against the kernel's and ipvsadm's limits, as starting the daemon does.
#[no_mangle]
pub extern "C" fn ipvs_sync_daemon_validate(daemon: *const ipvs_sync_daemon) -> ipvs_result {
    ffi::call(|| Ok(ffi::get(daemon, "daemon")?.validate()?))
}

/// Writes the line `ipvsadm -L --daemon` prints for the daemon
/// (`master sync daemon (mcast=eth0, syncid=7)`) into `buf`. Buffer rules as
/// `ipvs_result_message`.
#[no_mangle]
pub extern "C" fn ipvs_sync_daemon_text(
    daemon: *const ipvs_sync_daemon,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> ipvs_result {
    ffi::call(|| {
        let d = ffi::get(daemon, "daemon")?;
        TextOut::new(buf, len, written)?.write(d.to_string().as_bytes())
    })
}
