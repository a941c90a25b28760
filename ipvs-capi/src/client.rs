//! Clients: `ipvs_client` (the kernel's table over netlink, or the in-memory reference table),
//! how to open one (`ipvs_client_options`, `ipvs_netns`), and every read and change.

use std::ffi::{c_char, c_int, c_void};
use std::ops::ControlFlow;
use std::time::Duration;

use ipvs_core::table::MemoryBackend;
use ipvs_core::{Backend, Timeouts};
use ipvs_sys_netlink::{Client, ClientOptions, NetNs};

use crate::conn::{ipvs_conn_list, ConnEntry};
use crate::dest::ipvs_dest;
use crate::error::{ipvs_result, Failure};
use crate::ffi::{self, Opaque, Out};
use crate::list::{ipvs_daemon_list, ipvs_dest_list, ipvs_service_list, ipvs_table};
use crate::ops::{ipvs_ops, ipvs_results, on_error_of, Results};
use crate::service::{ipvs_service, ipvs_service_key};
use crate::status::{ipvs_service_status, ipvs_sync_daemon, role_of};

/// How a kernel client talks to the kernel: timeouts, buffers, batching, dump checks. Created
/// by `ipvs_client_options_new` with the defaults (free with `ipvs_client_options_free`),
/// changed by the setters, read when a client is opened (the client keeps its own copy).
pub struct ipvs_client_options {
    _private: [u8; 0],
}

impl Opaque for ipvs_client_options {
    type Inner = ClientOptions;
}

/// A handle on a network namespace, to open a client in it without moving the calling thread
/// (`ipvs_client_new_in_netns`). Free with `ipvs_netns_free`; a client opened in it keeps its
/// own handle. Immutable: may be shared between threads.
pub struct ipvs_netns {
    _private: [u8; 0],
}

impl Opaque for ipvs_netns {
    type Inner = NetNs;
}

/// An IPVS table to read and change: the kernel's, over one netlink socket opened in one
/// network namespace for the client's whole life (`ipvs_client_new`,
/// `ipvs_client_new_in_netns`), or the in-memory reference table, which follows the kernel's
/// rules and gives the same errors (`ipvs_client_new_memory`). Every read and change below
/// works on both. Free with `ipvs_client_free`.
///
/// Threads: a client may move between threads, but only one thread may use it at a time
/// (every function takes it non-const): share one behind a mutex, or open one per thread
/// (each has its own socket; the kernel serialises their changes).
pub struct ipvs_client {
    _private: [u8; 0],
}

/// What `ipvs_client` holds: a kernel client or the in-memory table.
pub(crate) enum ClientKind {
    Kernel(Box<Client>),
    Memory(Box<MemoryBackend>),
}

impl ClientKind {
    /// The table, whichever kind.
    pub(crate) fn backend(&mut self) -> &mut dyn Backend {
        match self {
            ClientKind::Kernel(c) => c.as_mut(),
            ClientKind::Memory(m) => m.as_mut(),
        }
    }

    fn kernel(&mut self, what: &'static str) -> Result<&mut Client, Failure> {
        match self {
            ClientKind::Kernel(c) => Ok(c),
            ClientKind::Memory(_) => Err(Failure::NotSupported(what)),
        }
    }
}

impl Opaque for ipvs_client {
    type Inner = ClientKind;
}

/// A walk's callback (`ipvs_client_for_each`): called with the caller's `userdata`, a service
/// and its real servers, both borrowed for the duration of the call only. Return 0 to go on;
/// anything else stops the walk, which then returns `IPVS_RESULT_CALLBACK_STOPPED`.
pub type ipvs_walk_callback = Option<
    extern "C" fn(
        userdata: *mut c_void,
        service: *const ipvs_service_status,
        dests: *const ipvs_dest_list,
    ) -> c_int,
>;

// --- options ---------------------------------------------------------------------------------------

/// Creates options with the defaults: a 30 s wait for each reply, a 4 MiB receive buffer, a
/// batch window derived from it, 5 dump attempts, dump verification on. Writes `*out` on
/// success; free it with `ipvs_client_options_free`.
#[no_mangle]
pub extern "C" fn ipvs_client_options_new(out: *mut *mut ipvs_client_options) -> ipvs_result {
    ffi::call(|| {
        Out::new(out, "out")?.write(ffi::boxed::<ipvs_client_options>(ClientOptions::default()));
        Ok(())
    })
}

/// Frees options. NULL is a no-op.
#[no_mangle]
pub extern "C" fn ipvs_client_options_free(options: *mut ipvs_client_options) {
    ffi::void(|| ffi::free(options))
}

/// Sets how long to wait for each reply from the kernel, in milliseconds; 0 waits forever.
#[no_mangle]
pub extern "C" fn ipvs_client_options_set_timeout_ms(
    options: *mut ipvs_client_options,
    ms: u64,
) -> ipvs_result {
    ffi::call(|| {
        let o = ffi::get_mut(options, "options")?;
        o.timeout = (ms != 0).then(|| Duration::from_millis(ms));
        Ok(())
    })
}

/// Sets the receive buffer to ask the kernel for, in bytes.
#[no_mangle]
pub extern "C" fn ipvs_client_options_set_receive_buffer(
    options: *mut ipvs_client_options,
    bytes: usize,
) -> ipvs_result {
    ffi::call(|| {
        ffi::get_mut(options, "options")?.receive_buffer = bytes;
        Ok(())
    })
}

/// Sets how many requests a batch puts in one system call; 0 derives it from the receive
/// buffer (the default).
#[no_mangle]
pub extern "C" fn ipvs_client_options_set_max_in_flight(
    options: *mut ipvs_client_options,
    requests: usize,
) -> ipvs_result {
    ffi::call(|| {
        let o = ffi::get_mut(options, "options")?;
        o.max_in_flight = (requests != 0).then_some(requests);
        Ok(())
    })
}

/// Sets whether a listing the kernel sent in more than one chunk is read again to make sure
/// it is whole (default true: the kernel's dumps skip entries when the table changes between
/// chunks, even in another namespace).
#[no_mangle]
pub extern "C" fn ipvs_client_options_set_verify_dumps(
    options: *mut ipvs_client_options,
    on: bool,
) -> ipvs_result {
    ffi::call(|| {
        ffi::get_mut(options, "options")?.verify_dumps = on;
        Ok(())
    })
}

/// Sets how many times a listing is read at most (at least 1; default 5).
#[no_mangle]
pub extern "C" fn ipvs_client_options_set_dump_attempts(
    options: *mut ipvs_client_options,
    attempts: u32,
) -> ipvs_result {
    ffi::call(|| {
        ffi::get_mut(options, "options")?.dump_attempts = attempts.max(1);
        Ok(())
    })
}

/// The options behind a pointer that may be NULL (the defaults).
fn options_or_default(options: *const ipvs_client_options) -> Result<ClientOptions, Failure> {
    if options.is_null() {
        Ok(ClientOptions::default())
    } else {
        Ok(ffi::get(options, "options")?.clone())
    }
}

// --- namespaces ------------------------------------------------------------------------------------

/// Opens the network namespace `ip netns add NAME` made (`/run/netns/NAME`; NUL-terminated
/// UTF-8, a plain file name). A bad name or no such namespace is `IPVS_RESULT_OS` (errno
/// EINVAL, ENOENT). Writes `*out` on success; free it with `ipvs_netns_free`.
#[no_mangle]
pub extern "C" fn ipvs_netns_named(name: *const c_char, out: *mut *mut ipvs_netns) -> ipvs_result {
    ffi::call(|| {
        let name = ffi::c_str(name, "name")?;
        let out = Out::new(out, "out")?;
        out.write(ffi::boxed(NetNs::named(name)?));
        Ok(())
    })
}

/// Opens the network namespace behind a namespace file (`/proc/PID/ns/net`, a bind mount such
/// as `/run/netns/NAME`); NUL-terminated. A file that is no network namespace is
/// `IPVS_RESULT_OS` with EINVAL. Writes `*out` on success; free it with `ipvs_netns_free`.
#[no_mangle]
pub extern "C" fn ipvs_netns_path(path: *const c_char, out: *mut *mut ipvs_netns) -> ipvs_result {
    ffi::call(|| {
        use std::os::unix::ffi::OsStrExt;
        let path = ffi::c_bytes(path, "path")?;
        let out = Out::new(out, "out")?;
        out.write(ffi::boxed(NetNs::path(std::ffi::OsStr::from_bytes(path))?));
        Ok(())
    })
}

/// Takes a network namespace from a descriptor the caller has open (a namespace file): the
/// library duplicates it, so the caller keeps and closes its own `fd`. A negative `fd` is
/// `IPVS_RESULT_INVALID_PARAMETER`; one that is not open or not a network namespace is
/// `IPVS_RESULT_OS`. Writes `*out` on success; free it with `ipvs_netns_free`.
#[no_mangle]
pub extern "C" fn ipvs_netns_from_fd(fd: c_int, out: *mut *mut ipvs_netns) -> ipvs_result {
    ffi::call(|| {
        let out = Out::new(out, "out")?;
        let owned = ffi::dup_fd(fd)?;
        out.write(ffi::boxed(NetNs::from_fd(owned)?));
        Ok(())
    })
}

/// The calling thread's network namespace. Writes `*out` on success; free it with
/// `ipvs_netns_free`.
#[no_mangle]
pub extern "C" fn ipvs_netns_current(out: *mut *mut ipvs_netns) -> ipvs_result {
    ffi::call(|| {
        let out = Out::new(out, "out")?;
        out.write(ffi::boxed(NetNs::current()?));
        Ok(())
    })
}

/// The namespace's inode number (what `readlink /proc/PID/ns/net` shows as `net:[N]`): two
/// handles with the same inode are the same namespace. 0 for NULL.
#[no_mangle]
pub extern "C" fn ipvs_netns_inode(netns: *const ipvs_netns) -> u64 {
    ffi::value(0, || Ok(ffi::get(netns, "netns")?.inode()))
}

/// Frees a namespace handle. NULL is a no-op.
#[no_mangle]
pub extern "C" fn ipvs_netns_free(netns: *mut ipvs_netns) {
    ffi::void(|| ffi::free(netns))
}

// --- clients -------------------------------------------------------------------------------------------

/// Opens a kernel client in the calling thread's network namespace: one netlink socket, the
/// IPVS family resolved once. `options` may be NULL for the defaults. Needs CAP_NET_ADMIN for
/// everything it does; a kernel without IPVS is `IPVS_RESULT_MODULE_MISSING`. Writes `*out` on
/// success; free it with `ipvs_client_free`.
#[no_mangle]
pub extern "C" fn ipvs_client_new(
    options: *const ipvs_client_options,
    out: *mut *mut ipvs_client,
) -> ipvs_result {
    ffi::call(|| {
        let opts = options_or_default(options)?;
        let out = Out::new(out, "out")?;
        let client = Client::with_options(opts)?;
        out.write(ffi::boxed::<ipvs_client>(ClientKind::Kernel(Box::new(client))));
        Ok(())
    })
}

/// Opens a kernel client in the network namespace `netns`, without changing the calling
/// thread's (a short-lived thread enters it). The client works there from any thread, for its
/// whole life, and reads that namespace's connection table. Entering needs CAP_SYS_ADMIN
/// (`IPVS_RESULT_PERMISSION_DENIED_SYS_ADMIN`). `options` may be NULL for the defaults. Writes
/// `*out` on success; free it with `ipvs_client_free`.
#[no_mangle]
pub extern "C" fn ipvs_client_new_in_netns(
    netns: *const ipvs_netns,
    options: *const ipvs_client_options,
    out: *mut *mut ipvs_client,
) -> ipvs_result {
    ffi::call(|| {
        let ns = ffi::get(netns, "netns")?;
        let opts = options_or_default(options)?;
        let out = Out::new(out, "out")?;
        let client = Client::in_netns(ns, opts)?;
        out.write(ffi::boxed::<ipvs_client>(ClientKind::Kernel(Box::new(client))));
        Ok(())
    })
}

/// Creates an empty in-memory table: the reference implementation of the kernel's rules
/// (Debian's 6.1 kernel: its schedulers, the sip engine), with the same errors, for dry runs
/// and tests. Needs no privilege. Writes `*out` on success; free it with `ipvs_client_free`.
#[no_mangle]
pub extern "C" fn ipvs_client_new_memory(out: *mut *mut ipvs_client) -> ipvs_result {
    ffi::call(|| {
        let out = Out::new(out, "out")?;
        out.write(ffi::boxed::<ipvs_client>(ClientKind::Memory(Box::new(MemoryBackend::new()))));
        Ok(())
    })
}

/// Closes a client (its sockets, its namespace handle) or frees an in-memory table. NULL is a
/// no-op.
#[no_mangle]
pub extern "C" fn ipvs_client_free(client: *mut ipvs_client) {
    ffi::void(|| ffi::free(client))
}

/// Whether the client is an in-memory table (false for a kernel client and for NULL).
#[no_mangle]
pub extern "C" fn ipvs_client_is_memory(client: *const ipvs_client) -> bool {
    ffi::value(false, || Ok(matches!(ffi::get(client, "client")?, ClientKind::Memory(_))))
}

/// The inode of the network namespace the kernel client's socket lives in (see
/// `ipvs_netns_inode`); 0 for an in-memory table, a client that could not capture its
/// namespace (no /proc), and NULL.
#[no_mangle]
pub extern "C" fn ipvs_client_netns_inode(client: *const ipvs_client) -> u64 {
    ffi::value(0, || {
        Ok(match ffi::get(client, "client")? {
            ClientKind::Kernel(c) => c.netns().map_or(0, NetNs::inode),
            ClientKind::Memory(_) => 0,
        })
    })
}

/// Changes how long a kernel client waits for each reply, in milliseconds (0 waits forever).
/// `IPVS_RESULT_NOT_SUPPORTED` for an in-memory table.
#[no_mangle]
pub extern "C" fn ipvs_client_set_timeout_ms(client: *mut ipvs_client, ms: u64) -> ipvs_result {
    ffi::call(|| {
        let c = ffi::get_mut(client, "client")?.kernel("an in-memory table has no timeout")?;
        Ok(c.set_timeout((ms != 0).then(|| Duration::from_millis(ms)))?)
    })
}

/// Writes the IPVS version (`0x010201` is 1.2.1) and the connection table's size into
/// `*version` and `*conn_tab_size` (`ipvsadm -L`'s first line).
#[no_mangle]
pub extern "C" fn ipvs_client_info(
    client: *mut ipvs_client,
    version: *mut u32,
    conn_tab_size: *mut u32,
) -> ipvs_result {
    ffi::call(|| {
        let c = ffi::get_mut(client, "client")?;
        let (v, s) = (Out::new(version, "version")?, Out::new(conn_tab_size, "conn_tab_size")?);
        let info = c.backend().info()?;
        v.write(info.version);
        s.write(info.conn_tab_size);
        Ok(())
    })
}

/// Reads every service with its statistics (in the table's order: the kernel's hash order,
/// the in-memory table's insertion order). Writes `*out` on success; free it with
/// `ipvs_service_list_free`.
#[no_mangle]
pub extern "C" fn ipvs_client_services(
    client: *mut ipvs_client,
    out: *mut *mut ipvs_service_list,
) -> ipvs_result {
    ffi::call(|| {
        let c = ffi::get_mut(client, "client")?;
        let out = Out::new(out, "out")?;
        out.write(ffi::boxed::<ipvs_service_list>(c.backend().services()?));
        Ok(())
    })
}

/// Reads one service (`IPVS_RESULT_SERVICE_NOT_FOUND` if there is none). Writes `*out` on
/// success; free it with `ipvs_service_status_free`.
#[no_mangle]
pub extern "C" fn ipvs_client_service(
    client: *mut ipvs_client,
    key: *const ipvs_service_key,
    out: *mut *mut ipvs_service_status,
) -> ipvs_result {
    ffi::call(|| {
        let c = ffi::get_mut(client, "client")?;
        let k = ffi::get(key, "key")?;
        let out = Out::new(out, "out")?;
        out.write(ffi::boxed::<ipvs_service_status>(c.backend().service(k)?));
        Ok(())
    })
}

/// Reads the real servers of the service `key`, newest first
/// (`IPVS_RESULT_SERVICE_NOT_FOUND` if there is no such service). Writes `*out` on success;
/// free it with `ipvs_dest_list_free`.
#[no_mangle]
pub extern "C" fn ipvs_client_dests(
    client: *mut ipvs_client,
    key: *const ipvs_service_key,
    out: *mut *mut ipvs_dest_list,
) -> ipvs_result {
    ffi::call(|| {
        let c = ffi::get_mut(client, "client")?;
        let k = ffi::get(key, "key")?;
        let out = Out::new(out, "out")?;
        out.write(ffi::boxed::<ipvs_dest_list>(c.backend().destinations(k)?));
        Ok(())
    })
}

/// Reads every service with its real servers (what `ipvsadm -L` and `-S` show), in the
/// table's order (`ipvs_table_sort` gives ipvsadm's). A kernel listing is checked to be whole
/// even while other programs change the table. Writes `*out` on success; free it with
/// `ipvs_table_free`.
#[no_mangle]
pub extern "C" fn ipvs_client_table(client: *mut ipvs_client, out: *mut *mut ipvs_table) -> ipvs_result {
    ffi::call(|| {
        let c = ffi::get_mut(client, "client")?;
        let out = Out::new(out, "out")?;
        out.write(ffi::boxed::<ipvs_table>(c.backend().services_with_destinations()?));
        Ok(())
    })
}

/// Walks the table one service at a time: calls `callback(userdata, service, dests)` for each
/// service with its real servers, holding only the service list and one service's real
/// servers at once, whatever the size of the table. The pointers passed are valid during the
/// call only. A non-zero return from the callback stops the walk:
/// `IPVS_RESULT_CALLBACK_STOPPED` (the error's message has the value). `userdata` is passed
/// through untouched and may be NULL.
#[no_mangle]
pub extern "C" fn ipvs_client_for_each(
    client: *mut ipvs_client,
    callback: ipvs_walk_callback,
    userdata: *mut c_void,
) -> ipvs_result {
    ffi::call(|| {
        let c = ffi::get_mut(client, "client")?;
        let callback = callback.ok_or(Failure::Null("callback"))?;
        let mut stopped = None;
        c.backend().for_each_service_with_destinations(&mut |svc, dests| {
            let rc = callback(
                userdata,
                ffi::borrowed::<ipvs_service_status>(&svc),
                ffi::borrowed::<ipvs_dest_list>(&dests),
            );
            if rc == 0 {
                ControlFlow::Continue(())
            } else {
                stopped = Some(rc);
                ControlFlow::Break(())
            }
        })?;
        match stopped {
            Some(rc) => Err(Failure::Stopped(rc)),
            None => Ok(()),
        }
    })
}

/// Writes the connection timeouts in seconds (`ipvsadm -L --timeout`).
#[no_mangle]
pub extern "C" fn ipvs_client_timeouts(
    client: *mut ipvs_client,
    tcp: *mut u32,
    tcp_fin: *mut u32,
    udp: *mut u32,
) -> ipvs_result {
    ffi::call(|| {
        let c = ffi::get_mut(client, "client")?;
        let (a, b, d) = (Out::new(tcp, "tcp")?, Out::new(tcp_fin, "tcp_fin")?, Out::new(udp, "udp")?);
        let t = c.backend().timeouts()?;
        a.write(t.tcp);
        b.write(t.tcp_fin);
        d.write(t.udp);
        Ok(())
    })
}

/// Reads the running sync daemons, master first. Writes `*out` on success; free it with
/// `ipvs_daemon_list_free`.
#[no_mangle]
pub extern "C" fn ipvs_client_daemons(
    client: *mut ipvs_client,
    out: *mut *mut ipvs_daemon_list,
) -> ipvs_result {
    ffi::call(|| {
        let c = ffi::get_mut(client, "client")?;
        let out = Out::new(out, "out")?;
        out.write(ffi::boxed::<ipvs_daemon_list>(c.backend().daemons()?));
        Ok(())
    })
}

/// Reads the connection table of the kernel client's namespace (connections and persistence
/// templates, from `/proc/net/ip_vs_conn` there). `IPVS_RESULT_NOT_SUPPORTED` for an
/// in-memory table. Writes `*out` on success; free it with `ipvs_conn_list_free`.
#[no_mangle]
pub extern "C" fn ipvs_client_connections(
    client: *mut ipvs_client,
    out: *mut *mut ipvs_conn_list,
) -> ipvs_result {
    ffi::call(|| {
        let c = ffi::get_mut(client, "client")?;
        let out = Out::new(out, "out")?;
        let c = c.kernel("an in-memory table has no connection table")?;
        let conns = c.connections()?;
        out.write(ffi::boxed::<ipvs_conn_list>(conns.into_iter().map(ConnEntry::plain).collect()));
        Ok(())
    })
}

/// Like `ipvs_client_connections`, with each entry's origin (`ipvs_conn_get_origin`: made
/// here or received from a sync master), from `/proc/net/ip_vs_conn_sync` (which has no
/// persistence-engine data).
#[no_mangle]
pub extern "C" fn ipvs_client_sync_connections(
    client: *mut ipvs_client,
    out: *mut *mut ipvs_conn_list,
) -> ipvs_result {
    ffi::call(|| {
        let c = ffi::get_mut(client, "client")?;
        let out = Out::new(out, "out")?;
        let c = c.kernel("an in-memory table has no connection table")?;
        let conns = c.sync_connections()?;
        out.write(ffi::boxed::<ipvs_conn_list>(conns.into_iter().map(ConnEntry::synced).collect()));
        Ok(())
    })
}

/// Applies `ops` in order, one result per operation attempted: with `IPVS_ON_ERROR_CONTINUE`
/// every operation is attempted (a kernel client sends them pipelined, many per system call);
/// with `IPVS_ON_ERROR_STOP` the batch stops at the first failure. Every operation is checked
/// before it is sent: a bad value fails that operation alone. The call itself succeeds when
/// the results could be made, whatever they say: check them. Writes `*out` on success; free
/// it with `ipvs_results_free`.
#[no_mangle]
pub extern "C" fn ipvs_client_apply(
    client: *mut ipvs_client,
    ops: *const ipvs_ops,
    on_error: u32,
    out: *mut *mut ipvs_results,
) -> ipvs_result {
    ffi::call(|| {
        let c = ffi::get_mut(client, "client")?;
        let ops = ffi::get(ops, "ops")?;
        let out = Out::new(out, "out")?;
        let on_error = on_error_of(on_error)?;
        out.write(ffi::boxed::<ipvs_results>(Results::new(c.backend().apply_all(ops, on_error))));
        Ok(())
    })
}

/// Adds a service (`ipvsadm -A`): `IPVS_RESULT_SERVICE_EXISTS` if it exists,
/// `IPVS_RESULT_SCHEDULER_OR_ENGINE_NOT_FOUND` if its scheduler or engine cannot be loaded.
#[no_mangle]
pub extern "C" fn ipvs_client_add_service(
    client: *mut ipvs_client,
    service: *const ipvs_service,
) -> ipvs_result {
    ffi::call(|| {
        let c = ffi::get_mut(client, "client")?;
        let s = ffi::get(service, "service")?;
        Ok(c.backend().add_service(s)?)
    })
}

/// Changes a service's settings in place (`ipvsadm -E`; every setting is sent, so build the
/// whole service). Its connections and real servers stay.
#[no_mangle]
pub extern "C" fn ipvs_client_edit_service(
    client: *mut ipvs_client,
    service: *const ipvs_service,
) -> ipvs_result {
    ffi::call(|| {
        let c = ffi::get_mut(client, "client")?;
        let s = ffi::get(service, "service")?;
        Ok(c.backend().edit_service(s)?)
    })
}

/// Deletes a service and its real servers (`ipvsadm -D`).
#[no_mangle]
pub extern "C" fn ipvs_client_delete_service(
    client: *mut ipvs_client,
    key: *const ipvs_service_key,
) -> ipvs_result {
    ffi::call(|| {
        let c = ffi::get_mut(client, "client")?;
        let k = ffi::get(key, "key")?;
        Ok(c.backend().delete_service(k)?)
    })
}

/// Adds a real server to the service `key` (`ipvsadm -a`).
#[no_mangle]
pub extern "C" fn ipvs_client_add_dest(
    client: *mut ipvs_client,
    key: *const ipvs_service_key,
    dest: *const ipvs_dest,
) -> ipvs_result {
    ffi::call(|| {
        let c = ffi::get_mut(client, "client")?;
        let (k, d) = (ffi::get(key, "key")?, ffi::get(dest, "dest")?);
        Ok(c.backend().add_destination(k, d)?)
    })
}

/// Changes a real server's settings in place (`ipvsadm -e`; every setting is sent).
#[no_mangle]
pub extern "C" fn ipvs_client_edit_dest(
    client: *mut ipvs_client,
    key: *const ipvs_service_key,
    dest: *const ipvs_dest,
) -> ipvs_result {
    ffi::call(|| {
        let c = ffi::get_mut(client, "client")?;
        let (k, d) = (ffi::get(key, "key")?, ffi::get(dest, "dest")?);
        Ok(c.backend().edit_destination(k, d)?)
    })
}

/// Removes the real server with `dest`'s address and port from the service `key`
/// (`ipvsadm -d`).
#[no_mangle]
pub extern "C" fn ipvs_client_delete_dest(
    client: *mut ipvs_client,
    key: *const ipvs_service_key,
    dest: *const ipvs_dest,
) -> ipvs_result {
    ffi::call(|| {
        let c = ffi::get_mut(client, "client")?;
        let (k, d) = (ffi::get(key, "key")?, ffi::get(dest, "dest")?);
        Ok(c.backend().delete_destination(k, &d.key())?)
    })
}

/// Deletes every service (`ipvsadm -C`).
#[no_mangle]
pub extern "C" fn ipvs_client_flush(client: *mut ipvs_client) -> ipvs_result {
    ffi::call(|| Ok(ffi::get_mut(client, "client")?.backend().flush()?))
}

/// Zeroes every counter (`ipvsadm -Z`).
#[no_mangle]
pub extern "C" fn ipvs_client_zero_all(client: *mut ipvs_client) -> ipvs_result {
    ffi::call(|| Ok(ffi::get_mut(client, "client")?.backend().zero(None)?))
}

/// Zeroes the counters of the service `key` (`ipvsadm -Z -t ...`).
#[no_mangle]
pub extern "C" fn ipvs_client_zero_service(
    client: *mut ipvs_client,
    key: *const ipvs_service_key,
) -> ipvs_result {
    ffi::call(|| {
        let c = ffi::get_mut(client, "client")?;
        let k = ffi::get(key, "key")?;
        Ok(c.backend().zero(Some(k))?)
    })
}

/// Sets the connection timeouts in seconds (`ipvsadm --set tcp tcpfin udp`); 0 leaves one
/// unchanged.
#[no_mangle]
pub extern "C" fn ipvs_client_set_timeouts(
    client: *mut ipvs_client,
    tcp: u32,
    tcp_fin: u32,
    udp: u32,
) -> ipvs_result {
    ffi::call(|| {
        let c = ffi::get_mut(client, "client")?;
        Ok(c.backend().set_timeouts(&Timeouts::new(tcp, tcp_fin, udp))?)
    })
}

/// Starts a connection-sync daemon (`ipvsadm --start-daemon`):
/// `IPVS_RESULT_SYNC_DAEMON_EXISTS` if one of that role runs,
/// `IPVS_RESULT_INTERFACE_NOT_FOUND` for an unknown interface.
#[no_mangle]
pub extern "C" fn ipvs_client_start_daemon(
    client: *mut ipvs_client,
    daemon: *const ipvs_sync_daemon,
) -> ipvs_result {
    ffi::call(|| {
        let c = ffi::get_mut(client, "client")?;
        let d = ffi::get(daemon, "daemon")?;
        Ok(c.backend().start_daemon(d)?)
    })
}

/// Stops the sync daemon of `role` (an `ipvs_sync_role`; `ipvsadm --stop-daemon`):
/// `IPVS_RESULT_SYNC_DAEMON_NOT_FOUND` if none runs.
#[no_mangle]
pub extern "C" fn ipvs_client_stop_daemon(client: *mut ipvs_client, role: u32) -> ipvs_result {
    ffi::call(|| {
        let c = ffi::get_mut(client, "client")?;
        let role = role_of(role)?;
        Ok(c.backend().stop_daemon(role)?)
    })
}
