//! Lists (`_len` and `_get`) and tables: services, real servers, sync daemons, and the table
//! of services with their real servers, which is also what plans are made from.

use std::ffi::c_char;

use ipvs_core::ipvsadm::list::{save, sort_dests, sort_services};
use ipvs_core::ipvsadm::rules::RuleSet;
use ipvs_core::ipvsadm::NumericResolver;
use ipvs_core::{DestinationStatus, Error, Object, ServiceStatus, SyncDaemon};

use crate::dest::ipvs_dest;
use crate::error::{ipvs_result, Failure};
use crate::ffi::{self, Opaque, Out, TextOut};
use crate::service::{ipvs_service, ipvs_service_key};
use crate::status::{ipvs_dest_status, ipvs_service_status, ipvs_sync_daemon};

/// The services of a table with their statistics (`ipvs_client_services`). Owned by the
/// caller: free with `ipvs_service_list_free`, which also ends every pointer `_get` gave.
/// Immutable: may be read from several threads.
pub struct ipvs_service_list {
    _private: [u8; 0],
}

impl Opaque for ipvs_service_list {
    type Inner = Vec<ServiceStatus>;
}

/// The real servers of a service with their counts and statistics, newest first (the
/// kernel's order). Owned by the caller when `ipvs_client_dests` returned it (free with
/// `ipvs_dest_list_free`); borrowed when it comes from a table or a walk (never freed then).
/// Immutable.
pub struct ipvs_dest_list {
    _private: [u8; 0],
}

impl Opaque for ipvs_dest_list {
    type Inner = Vec<DestinationStatus>;
}

/// A table: services, each with its real servers. What `ipvs_client_table` reads, what
/// `ipvs_table_from_rules` builds from rules text, what `ipvs_table_new` and the `_add_`
/// functions build by hand, and what plans compare. Owned by the caller: free with
/// `ipvs_table_free`. A table no thread changes may be read from several threads.
pub struct ipvs_table {
    _private: [u8; 0],
}

impl Opaque for ipvs_table {
    type Inner = Vec<(ServiceStatus, Vec<DestinationStatus>)>;
}

/// The running sync daemons (`ipvs_client_daemons`), master first. Owned by the caller: free
/// with `ipvs_daemon_list_free`. Immutable.
pub struct ipvs_daemon_list {
    _private: [u8; 0],
}

impl Opaque for ipvs_daemon_list {
    type Inner = Vec<SyncDaemon>;
}

/// Item `index` of a list, or [`Failure::Index`].
pub(crate) fn item<T>(items: &[T], index: usize) -> Result<&T, Failure> {
    items.get(index).ok_or(Failure::Index { index, len: items.len() })
}

// --- service lists ------------------------------------------------------------------------------

/// How many services the list holds (0 for NULL).
#[no_mangle]
pub extern "C" fn ipvs_service_list_len(list: *const ipvs_service_list) -> usize {
    ffi::value(0, || Ok(ffi::get(list, "list")?.len()))
}

/// Service `index` (from 0), borrowed from the list; NULL past the end (the last error is then
/// `IPVS_RESULT_INDEX_OUT_OF_RANGE`) and for NULL.
#[no_mangle]
pub extern "C" fn ipvs_service_list_get(
    list: *const ipvs_service_list,
    index: usize,
) -> *const ipvs_service_status {
    ffi::value(std::ptr::null(), || Ok(ffi::borrowed(item(ffi::get(list, "list")?, index)?)))
}

/// Frees a service list. NULL is a no-op.
#[no_mangle]
pub extern "C" fn ipvs_service_list_free(list: *mut ipvs_service_list) {
    ffi::void(|| ffi::free(list))
}

// --- real-server lists ---------------------------------------------------------------------------

/// How many real servers the list holds (0 for NULL).
#[no_mangle]
pub extern "C" fn ipvs_dest_list_len(list: *const ipvs_dest_list) -> usize {
    ffi::value(0, || Ok(ffi::get(list, "list")?.len()))
}

/// Real server `index` (from 0), borrowed from the list; NULL past the end (last error
/// `IPVS_RESULT_INDEX_OUT_OF_RANGE`) and for NULL.
#[no_mangle]
pub extern "C" fn ipvs_dest_list_get(list: *const ipvs_dest_list, index: usize) -> *const ipvs_dest_status {
    ffi::value(std::ptr::null(), || Ok(ffi::borrowed(item(ffi::get(list, "list")?, index)?)))
}

/// Frees a real-server list that `ipvs_client_dests` returned. NULL is a no-op. Never pass
/// one borrowed from a table or a walk.
#[no_mangle]
pub extern "C" fn ipvs_dest_list_free(list: *mut ipvs_dest_list) {
    ffi::void(|| ffi::free(list))
}

// --- tables ------------------------------------------------------------------------------------

/// Creates an empty table, to fill with `ipvs_table_add_service` and `ipvs_table_add_dest`
/// (a desired table to plan towards). Writes `*out` on success; free it with
/// `ipvs_table_free`.
#[no_mangle]
pub extern "C" fn ipvs_table_new(out: *mut *mut ipvs_table) -> ipvs_result {
    ffi::call(|| {
        Out::new(out, "out")?.write(ffi::boxed::<ipvs_table>(Vec::new()));
        Ok(())
    })
}

/// Builds the table that rules text describes: `text` is `len` bytes of `ipvsadm -R` input
/// (the lines `ipvsadm -S -n` writes, numeric addresses only), UTF-8, read as `ipvsadm -R`
/// reads it and applied to an empty table as the kernel would apply it. The first line that
/// does not parse fails with `IPVS_RESULT_RULES_SYNTAX`, one whose change the kernel would
/// refuse (a real server of a missing service, a service twice) with that change's code;
/// `ipvs_error_line` names the line. Writes `*out` on success; free it with
/// `ipvs_table_free`.
#[no_mangle]
pub extern "C" fn ipvs_table_from_rules(
    text: *const c_char,
    len: usize,
    out: *mut *mut ipvs_table,
) -> ipvs_result {
    ffi::call(|| {
        let text = ffi::bytes(text, len, "text")?;
        let out = Out::new(out, "out")?;
        let text =
            std::str::from_utf8(text).map_err(|_| Failure::Invalid("text is not valid UTF-8".into()))?;
        let set = RuleSet::from_text(text)?;
        out.write(ffi::boxed::<ipvs_table>(set.to_statuses()));
        Ok(())
    })
}

/// Frees a table. NULL is a no-op.
#[no_mangle]
pub extern "C" fn ipvs_table_free(table: *mut ipvs_table) {
    ffi::void(|| ffi::free(table))
}

/// How many services the table holds (0 for NULL).
#[no_mangle]
pub extern "C" fn ipvs_table_len(table: *const ipvs_table) -> usize {
    ffi::value(0, || Ok(ffi::get(table, "table")?.len()))
}

/// Service `index` (from 0) of the table, borrowed; NULL past the end (last error
/// `IPVS_RESULT_INDEX_OUT_OF_RANGE`) and for NULL.
#[no_mangle]
pub extern "C" fn ipvs_table_service(table: *const ipvs_table, index: usize) -> *const ipvs_service_status {
    ffi::value(std::ptr::null(), || Ok(ffi::borrowed(&item(ffi::get(table, "table")?, index)?.0)))
}

/// The real servers of service `index` of the table, borrowed (never freed); NULL past the end
/// and for NULL.
#[no_mangle]
pub extern "C" fn ipvs_table_dests(table: *const ipvs_table, index: usize) -> *const ipvs_dest_list {
    ffi::value(std::ptr::null(), || {
        Ok(ffi::borrowed::<ipvs_dest_list>(&item(ffi::get(table, "table")?, index)?.1))
    })
}

/// Appends a copy of `service` (with zero statistics and no real servers) to the table.
/// Nothing is checked here: planning towards a table refuses invalid values and services
/// listed twice.
#[no_mangle]
pub extern "C" fn ipvs_table_add_service(
    table: *mut ipvs_table,
    service: *const ipvs_service,
) -> ipvs_result {
    ffi::call(|| {
        let t = ffi::get_mut(table, "table")?;
        let s = ffi::get(service, "service")?;
        t.push((ServiceStatus::new(s.clone()), Vec::new()));
        Ok(())
    })
}

/// Appends a copy of `dest` (with zero counts) to the real servers of the table's service
/// `key`: `IPVS_RESULT_SERVICE_NOT_FOUND` when the table has no such service. Nothing else is
/// checked here (see `ipvs_table_add_service`).
#[no_mangle]
pub extern "C" fn ipvs_table_add_dest(
    table: *mut ipvs_table,
    key: *const ipvs_service_key,
    dest: *const ipvs_dest,
) -> ipvs_result {
    ffi::call(|| {
        let t = ffi::get_mut(table, "table")?;
        let k = ffi::get(key, "key")?;
        let d = ffi::get(dest, "dest")?;
        let (_, dests) =
            t.iter_mut().find(|(s, _)| s.service.key == *k).ok_or(Error::not_found(Object::Service))?;
        dests.push(DestinationStatus::new(d.clone()));
        Ok(())
    })
}

/// Sorts the table in ipvsadm's listing order: services as `ipvsadm -L` and `-S` sort them
/// (libipvs's comparator, quirks included), and each service's real servers likewise. Pointers
/// borrowed from the table before are no longer valid.
#[no_mangle]
pub extern "C" fn ipvs_table_sort(table: *mut ipvs_table) -> ipvs_result {
    ffi::call(|| {
        let t = ffi::get_mut(table, "table")?;
        let mut order: Vec<usize> = (0..t.len()).collect();
        sort_services(&mut order, |&i| t[i].0.service.key);
        let mut slots: Vec<Option<(ServiceStatus, Vec<DestinationStatus>)>> = t.drain(..).map(Some).collect();
        for i in order {
            if let Some(mut entry) = slots[i].take() {
                let mut dest_order: Vec<usize> = (0..entry.1.len()).collect();
                sort_dests(&mut dest_order, |&j| entry.1[j].dest.key());
                let mut dests: Vec<Option<DestinationStatus>> = entry.1.drain(..).map(Some).collect();
                entry.1 = dest_order.into_iter().filter_map(|j| dests[j].take()).collect();
                t.push(entry);
            }
        }
        Ok(())
    })
}

/// Writes the table as `ipvsadm -S -n` prints it (sorted as ipvsadm sorts, one line per
/// service and real server) into `buf`. Buffer rules as `ipvs_result_message` (a table of
/// 5,000 services with 4 real servers each takes about 1.3 MB).
#[no_mangle]
pub extern "C" fn ipvs_table_save(
    table: *const ipvs_table,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> ipvs_result {
    ffi::call(|| {
        let t = ffi::get(table, "table")?;
        TextOut::new(buf, len, written)?.write(save(t, true, &NumericResolver).as_bytes())
    })
}

// --- sync daemon lists ----------------------------------------------------------------------------

/// How many daemons the list holds (0 for NULL).
#[no_mangle]
pub extern "C" fn ipvs_daemon_list_len(list: *const ipvs_daemon_list) -> usize {
    ffi::value(0, || Ok(ffi::get(list, "list")?.len()))
}

/// Daemon `index` (from 0), borrowed from the list; NULL past the end (last error
/// `IPVS_RESULT_INDEX_OUT_OF_RANGE`) and for NULL.
#[no_mangle]
pub extern "C" fn ipvs_daemon_list_get(
    list: *const ipvs_daemon_list,
    index: usize,
) -> *const ipvs_sync_daemon {
    ffi::value(std::ptr::null(), || Ok(ffi::borrowed(item(ffi::get(list, "list")?, index)?)))
}

/// Frees a daemon list. NULL is a no-op.
#[no_mangle]
pub extern "C" fn ipvs_daemon_list_free(list: *mut ipvs_daemon_list) {
    ffi::void(|| ffi::free(list))
}
