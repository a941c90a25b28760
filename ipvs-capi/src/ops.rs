//! Operations (one ipvsadm command each): `ipvs_ops`, a list to apply in one batch, its
//! `ipvs_op` items, and `ipvs_results`, one result per operation applied.

use std::ffi::c_char;

use ipvs_core::ipvsadm::cmdline::Parser;
use ipvs_core::ipvsadm::rules::{operations, CommentMode};
use ipvs_core::{Error, OnError, Operation, Timeouts};

use crate::addr::{self, ipvs_addr};
use crate::dest::ipvs_dest;
use crate::error::{ipvs_error, ipvs_result, ErrorInfo, Failure};
use crate::ffi::{self, Opaque, Out, TextOut};
use crate::list::item;
use crate::service::{ipvs_service, ipvs_service_key};
use crate::status::{ipvs_sync_daemon, role_of};

/// What an operation does.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ipvs_op_kind {
    /// Add a virtual service (`-A`).
    AddService = 1,
    /// Change a service's settings in place (`-E`).
    EditService = 2,
    /// Delete a service and its real servers (`-D`).
    DeleteService = 3,
    /// Add a real server (`-a`).
    AddDest = 4,
    /// Change a real server's settings in place (`-e`).
    EditDest = 5,
    /// Remove a real server (`-d`).
    DeleteDest = 6,
    /// Delete every service (`-C`).
    Flush = 7,
    /// Zero counters, of one service or of all (`-Z`).
    Zero = 8,
    /// Set connection timeouts (`--set`).
    SetTimeouts = 9,
    /// Start a sync daemon (`--start-daemon`).
    StartDaemon = 10,
    /// Stop a sync daemon (`--stop-daemon`).
    StopDaemon = 11,
}

/// What a batch does after an operation fails.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ipvs_on_error {
    /// Attempt every operation; each has a result. The kernel client sends the batch pipelined
    /// (many requests per system call).
    Continue = 0,
    /// Stop at the first failure: the operations after it are not attempted and have no
    /// result. The kernel client then sends one request per round trip.
    Stop = 1,
}

pub(crate) fn on_error_of(raw: u32) -> Result<OnError, Failure> {
    match raw {
        0 => Ok(OnError::Continue),
        1 => Ok(OnError::Stop),
        n => Err(Failure::Invalid(format!("on_error: {n} is neither IPVS_ON_ERROR_CONTINUE nor _STOP"))),
    }
}

/// A list of operations to apply in order (`ipvs_client_apply`): built with the `ipvs_ops_*`
/// functions (each appends a copy of what it is given), parsed from rules text
/// (`ipvs_ops_from_rules`), or borrowed from a plan (`ipvs_plan_ops`, never freed then).
/// Owned by the caller otherwise: free with `ipvs_ops_free`. A list no thread changes may be
/// read from several threads.
pub struct ipvs_ops {
    _private: [u8; 0],
}

impl Opaque for ipvs_ops {
    type Inner = Vec<Operation>;
}

/// One operation, borrowed from its list (never freed). Immutable.
pub struct ipvs_op {
    _private: [u8; 0],
}

impl Opaque for ipvs_op {
    type Inner = Operation;
}

/// The result of each operation of a batch, in order. Owned by the caller: free with
/// `ipvs_results_free`. Immutable.
pub struct ipvs_results {
    _private: [u8; 0],
}

/// What `ipvs_results` holds: the results as the library returned them (for rollback) and
/// their details for C.
pub(crate) struct Results {
    pub(crate) raw: Vec<Result<(), Error>>,
    errors: Vec<Option<ErrorInfo>>,
}

impl Results {
    pub(crate) fn new(raw: Vec<Result<(), Error>>) -> Self {
        let errors = raw.iter().map(|r| r.as_ref().err().map(ErrorInfo::of)).collect();
        Results { raw, errors }
    }
}

impl Opaque for ipvs_results {
    type Inner = Results;
}

// --- lists of operations -------------------------------------------------------------------------

/// Creates an empty list of operations. Writes `*out` on success; free it with
/// `ipvs_ops_free`.
#[no_mangle]
pub extern "C" fn ipvs_ops_new(out: *mut *mut ipvs_ops) -> ipvs_result {
    ffi::call(|| {
        Out::new(out, "out")?.write(ffi::boxed::<ipvs_ops>(Vec::new()));
        Ok(())
    })
}

/// Parses `len` bytes of rules text (`ipvsadm -R` input, UTF-8, numeric addresses) into the
/// table changes its lines make, in order (lines that change nothing, such as `-L`, are left
/// out). The first line that does not parse fails with `IPVS_RESULT_RULES_SYNTAX`
/// (`ipvs_error_line` names it). Writes `*out` on success; free it with `ipvs_ops_free`.
#[no_mangle]
pub extern "C" fn ipvs_ops_from_rules(
    text: *const c_char,
    len: usize,
    out: *mut *mut ipvs_ops,
) -> ipvs_result {
    ffi::call(|| {
        let text = ffi::bytes(text, len, "text")?;
        let out = Out::new(out, "out")?;
        let text =
            std::str::from_utf8(text).map_err(|_| Failure::Invalid("text is not valid UTF-8".into()))?;
        let ops = operations(text, CommentMode::Ipvsadm, &Parser::new()).map_err(Failure::Rule)?;
        out.write(ffi::boxed::<ipvs_ops>(ops.into_iter().map(|(_, op)| op).collect()));
        Ok(())
    })
}

/// Frees a list of operations. NULL is a no-op. Never pass one borrowed from a plan.
#[no_mangle]
pub extern "C" fn ipvs_ops_free(ops: *mut ipvs_ops) {
    ffi::void(|| ffi::free(ops))
}

/// How many operations the list holds (0 for NULL).
#[no_mangle]
pub extern "C" fn ipvs_ops_len(ops: *const ipvs_ops) -> usize {
    ffi::value(0, || Ok(ffi::get(ops, "ops")?.len()))
}

/// Operation `index` (from 0), borrowed from the list; NULL past the end (last error
/// `IPVS_RESULT_INDEX_OUT_OF_RANGE`) and for NULL.
#[no_mangle]
pub extern "C" fn ipvs_ops_get(ops: *const ipvs_ops, index: usize) -> *const ipvs_op {
    ffi::value(std::ptr::null(), || Ok(ffi::borrowed(item(ffi::get(ops, "ops")?, index)?)))
}

/// Writes the operations as rules text, one ipvsadm command line per operation, each ending
/// in a newline (what `ipvsadm -R` reads) into `buf`. Buffer rules as `ipvs_result_message`.
#[no_mangle]
pub extern "C" fn ipvs_ops_text(
    ops: *const ipvs_ops,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> ipvs_result {
    ffi::call(|| {
        let ops = ffi::get(ops, "ops")?;
        let out = TextOut::new(buf, len, written)?;
        let mut text = String::new();
        for op in ops {
            text.push_str(&op.to_string());
            text.push('\n');
        }
        out.write(text.as_bytes())
    })
}

/// Appends `op` after checking the list pointer.
fn push(ops: *mut ipvs_ops, op: impl FnOnce() -> Result<Operation, Failure>) -> ipvs_result {
    ffi::call(|| {
        let list = ffi::get_mut(ops, "ops")?;
        let op = op()?;
        list.push(op);
        Ok(())
    })
}

/// Appends "add the service" (`-A`), with a copy of `service`.
#[no_mangle]
pub extern "C" fn ipvs_ops_add_service(ops: *mut ipvs_ops, service: *const ipvs_service) -> ipvs_result {
    push(ops, || Ok(Operation::AddService(ffi::get(service, "service")?.clone())))
}

/// Appends "edit the service in place" (`-E`), with a copy of `service`.
#[no_mangle]
pub extern "C" fn ipvs_ops_edit_service(ops: *mut ipvs_ops, service: *const ipvs_service) -> ipvs_result {
    push(ops, || Ok(Operation::EditService(ffi::get(service, "service")?.clone())))
}

/// Appends "delete the service `key`" (`-D`).
#[no_mangle]
pub extern "C" fn ipvs_ops_delete_service(ops: *mut ipvs_ops, key: *const ipvs_service_key) -> ipvs_result {
    push(ops, || Ok(Operation::DeleteService(*ffi::get(key, "key")?)))
}

/// Appends "add the real server to the service `key`" (`-a`), with a copy of `dest`.
#[no_mangle]
pub extern "C" fn ipvs_ops_add_dest(
    ops: *mut ipvs_ops,
    key: *const ipvs_service_key,
    dest: *const ipvs_dest,
) -> ipvs_result {
    push(ops, || Ok(Operation::AddDestination(*ffi::get(key, "key")?, ffi::get(dest, "dest")?.clone())))
}

/// Appends "edit the real server of the service `key` in place" (`-e`), with a copy of
/// `dest`.
#[no_mangle]
pub extern "C" fn ipvs_ops_edit_dest(
    ops: *mut ipvs_ops,
    key: *const ipvs_service_key,
    dest: *const ipvs_dest,
) -> ipvs_result {
    push(ops, || Ok(Operation::EditDestination(*ffi::get(key, "key")?, ffi::get(dest, "dest")?.clone())))
}

/// Appends "remove the real server with `dest`'s address and port from the service `key`"
/// (`-d`).
#[no_mangle]
pub extern "C" fn ipvs_ops_delete_dest(
    ops: *mut ipvs_ops,
    key: *const ipvs_service_key,
    dest: *const ipvs_dest,
) -> ipvs_result {
    push(ops, || Ok(Operation::DeleteDestination(*ffi::get(key, "key")?, ffi::get(dest, "dest")?.key())))
}

/// Appends "delete every service" (`-C`).
#[no_mangle]
pub extern "C" fn ipvs_ops_flush(ops: *mut ipvs_ops) -> ipvs_result {
    push(ops, || Ok(Operation::Flush))
}

/// Appends "zero every counter" (`-Z`).
#[no_mangle]
pub extern "C" fn ipvs_ops_zero_all(ops: *mut ipvs_ops) -> ipvs_result {
    push(ops, || Ok(Operation::Zero(None)))
}

/// Appends "zero the counters of the service `key`" (`-Z -t ...`).
#[no_mangle]
pub extern "C" fn ipvs_ops_zero_service(ops: *mut ipvs_ops, key: *const ipvs_service_key) -> ipvs_result {
    push(ops, || Ok(Operation::Zero(Some(*ffi::get(key, "key")?))))
}

/// Appends "set the timeouts" (`--set tcp tcpfin udp`, seconds; 0 leaves one unchanged).
#[no_mangle]
pub extern "C" fn ipvs_ops_set_timeouts(ops: *mut ipvs_ops, tcp: u32, tcp_fin: u32, udp: u32) -> ipvs_result {
    push(ops, || Ok(Operation::SetTimeouts(Timeouts::new(tcp, tcp_fin, udp))))
}

/// Appends "start the sync daemon", with a copy of `daemon`.
#[no_mangle]
pub extern "C" fn ipvs_ops_start_daemon(ops: *mut ipvs_ops, daemon: *const ipvs_sync_daemon) -> ipvs_result {
    push(ops, || Ok(Operation::StartDaemon(ffi::get(daemon, "daemon")?.clone())))
}

/// Appends "stop the sync daemon of `role`" (an `ipvs_sync_role`).
#[no_mangle]
pub extern "C" fn ipvs_ops_stop_daemon(ops: *mut ipvs_ops, role: u32) -> ipvs_result {
    push(ops, || Ok(Operation::StopDaemon(role_of(role)?)))
}

// --- one operation -------------------------------------------------------------------------------

/// What the operation does (an `ipvs_op_kind`; 0 for NULL).
#[no_mangle]
pub extern "C" fn ipvs_op_get_kind(op: *const ipvs_op) -> u32 {
    ffi::value(0, || {
        let kind = match ffi::get(op, "op")? {
            Operation::AddService(_) => ipvs_op_kind::AddService,
            Operation::EditService(_) => ipvs_op_kind::EditService,
            Operation::DeleteService(_) => ipvs_op_kind::DeleteService,
            Operation::AddDestination(..) => ipvs_op_kind::AddDest,
            Operation::EditDestination(..) => ipvs_op_kind::EditDest,
            Operation::DeleteDestination(..) => ipvs_op_kind::DeleteDest,
            Operation::Flush => ipvs_op_kind::Flush,
            Operation::Zero(_) => ipvs_op_kind::Zero,
            Operation::SetTimeouts(_) => ipvs_op_kind::SetTimeouts,
            Operation::StartDaemon(_) => ipvs_op_kind::StartDaemon,
            Operation::StopDaemon(_) => ipvs_op_kind::StopDaemon,
            _ => return Ok(0),
        };
        Ok(kind as u32)
    })
}

/// Writes the operation as an ipvsadm command line without the program name
/// (`-a -t 10.1.2.3:80 -r 192.168.1.10:80 -m -w 1`) into `buf`. Buffer rules as
/// `ipvs_result_message`.
#[no_mangle]
pub extern "C" fn ipvs_op_text(
    op: *const ipvs_op,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> ipvs_result {
    ffi::call(|| {
        let op = ffi::get(op, "op")?;
        TextOut::new(buf, len, written)?.write(op.to_string().as_bytes())
    })
}

/// The service an operation adds or edits, borrowed; NULL for other operations (and NULL).
#[no_mangle]
pub extern "C" fn ipvs_op_get_service(op: *const ipvs_op) -> *const ipvs_service {
    ffi::value(std::ptr::null(), || {
        Ok(match ffi::get(op, "op")? {
            Operation::AddService(s) | Operation::EditService(s) => ffi::borrowed::<ipvs_service>(s),
            _ => std::ptr::null(),
        })
    })
}

/// The key of the service the operation is about, borrowed; NULL for an operation about no
/// single service (flush, zero all, timeouts, daemons) and for NULL.
#[no_mangle]
pub extern "C" fn ipvs_op_get_key(op: *const ipvs_op) -> *const ipvs_service_key {
    ffi::value(std::ptr::null(), || {
        Ok(ffi::get(op, "op")?.service_key().map_or(std::ptr::null(), ffi::borrowed::<ipvs_service_key>))
    })
}

/// The real server an operation adds or edits, borrowed; NULL for other operations (a removal
/// names only an address and port: `ipvs_op_dest_addr`, `ipvs_op_dest_port`) and for NULL.
#[no_mangle]
pub extern "C" fn ipvs_op_get_dest(op: *const ipvs_op) -> *const ipvs_dest {
    ffi::value(std::ptr::null(), || {
        Ok(match ffi::get(op, "op")? {
            Operation::AddDestination(_, d) | Operation::EditDestination(_, d) => {
                ffi::borrowed::<ipvs_dest>(d)
            }
            _ => std::ptr::null(),
        })
    })
}

/// The address and port of the real server an operation adds, edits or removes.
fn dest_key(op: &Operation) -> Option<ipvs_core::DestinationKey> {
    match op {
        Operation::AddDestination(_, d) | Operation::EditDestination(_, d) => Some(d.key()),
        Operation::DeleteDestination(_, k) => Some(*k),
        _ => None,
    }
}

/// Writes the address of the real server the operation adds, edits or removes into `*out`;
/// `IPVS_RESULT_INVALID_PARAMETER` for other operations.
#[no_mangle]
pub extern "C" fn ipvs_op_dest_addr(op: *const ipvs_op, out: *mut ipvs_addr) -> ipvs_result {
    ffi::call(|| {
        let op = ffi::get(op, "op")?;
        let out = addr::out(out, "out")?;
        let k = dest_key(op).ok_or_else(|| Failure::Invalid("op: not a real-server operation".into()))?;
        out.write(ipvs_addr::from_ip(k.addr));
        Ok(())
    })
}

/// The port of the real server the operation adds, edits or removes; 0 for other operations
/// (and NULL).
#[no_mangle]
pub extern "C" fn ipvs_op_dest_port(op: *const ipvs_op) -> u16 {
    ffi::value(0, || Ok(dest_key(ffi::get(op, "op")?).map_or(0, |k| k.port)))
}

/// The daemon settings a start-daemon operation carries, borrowed; NULL for other operations
/// (and NULL).
#[no_mangle]
pub extern "C" fn ipvs_op_get_daemon(op: *const ipvs_op) -> *const ipvs_sync_daemon {
    ffi::value(std::ptr::null(), || {
        Ok(match ffi::get(op, "op")? {
            Operation::StartDaemon(d) => ffi::borrowed::<ipvs_sync_daemon>(d),
            _ => std::ptr::null(),
        })
    })
}

/// The role (an `ipvs_sync_role`) a start- or stop-daemon operation is about; 0 for other
/// operations (and NULL).
#[no_mangle]
pub extern "C" fn ipvs_op_role(op: *const ipvs_op) -> u32 {
    ffi::value(0, || {
        Ok(match ffi::get(op, "op")? {
            Operation::StartDaemon(d) => d.role.to_raw(),
            Operation::StopDaemon(r) => r.to_raw(),
            _ => 0,
        })
    })
}

/// Writes the timeouts of a set-timeouts operation (seconds; 0 leaves one unchanged);
/// `IPVS_RESULT_INVALID_PARAMETER` for other operations.
#[no_mangle]
pub extern "C" fn ipvs_op_timeouts(
    op: *const ipvs_op,
    tcp: *mut u32,
    tcp_fin: *mut u32,
    udp: *mut u32,
) -> ipvs_result {
    ffi::call(|| {
        let op = ffi::get(op, "op")?;
        let (a, b, c) = (Out::new(tcp, "tcp")?, Out::new(tcp_fin, "tcp_fin")?, Out::new(udp, "udp")?);
        let Operation::SetTimeouts(t) = op else {
            return Err(Failure::Invalid("op: not a set-timeouts operation".into()));
        };
        a.write(t.tcp);
        b.write(t.tcp_fin);
        c.write(t.udp);
        Ok(())
    })
}

// --- results ---------------------------------------------------------------------------------------

/// How many results there are: one per operation attempted (with `IPVS_ON_ERROR_STOP`, the
/// operations after the first failure have none). 0 for NULL.
#[no_mangle]
pub extern "C" fn ipvs_results_len(results: *const ipvs_results) -> usize {
    ffi::value(0, || Ok(ffi::get(results, "results")?.raw.len()))
}

/// The result code of operation `index`: `IPVS_RESULT_OK` or why it failed
/// (`IPVS_RESULT_INDEX_OUT_OF_RANGE` past the end, `IPVS_RESULT_NULL_PARAMETER` for NULL).
#[no_mangle]
pub extern "C" fn ipvs_results_get(results: *const ipvs_results, index: usize) -> ipvs_result {
    ffi::value(ipvs_result::NullParameter, || {
        let r = ffi::get(results, "results")?;
        Ok(item(&r.errors, index)?.as_ref().map_or(ipvs_result::Ok, |e| e.result))
    })
}

/// The details of operation `index`'s failure, borrowed from the results (valid until they
/// are freed); NULL when it succeeded, past the end and for NULL.
#[no_mangle]
pub extern "C" fn ipvs_results_error(results: *const ipvs_results, index: usize) -> *const ipvs_error {
    ffi::value(std::ptr::null(), || {
        let r = ffi::get(results, "results")?;
        Ok(item(&r.errors, index)?.as_ref().map_or(std::ptr::null(), ffi::borrowed::<ipvs_error>))
    })
}

/// How many operations failed (0 for NULL).
#[no_mangle]
pub extern "C" fn ipvs_results_failed(results: *const ipvs_results) -> usize {
    ffi::value(0, || Ok(ffi::get(results, "results")?.errors.iter().filter(|e| e.is_some()).count()))
}

/// Frees results. NULL is a no-op.
#[no_mangle]
pub extern "C" fn ipvs_results_free(results: *mut ipvs_results) {
    ffi::void(|| ffi::free(results))
}
