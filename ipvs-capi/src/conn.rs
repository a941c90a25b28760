//! The connection table: `ipvs_conn_list` and `ipvs_conn`.

use std::ffi::c_char;

use ipvs_core::ipvsadm::conn::{parse_conn, Connection, Origin, SyncConnection};

use crate::addr::{self, ipvs_addr};
use crate::error::{ipvs_result, Failure};
use crate::ffi::{self, Opaque, Out, TextOut};
use crate::list::item;

/// Where a connection entry came from, when the list says (`ipvs_client_sync_connections`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ipvs_conn_origin {
    /// The list does not say (`ipvs_client_connections`, `ipvs_conn_list_from_text`).
    Unknown = 0,
    /// Created on this director.
    Local = 1,
    /// Received from a sync master.
    Sync = 2,
}

/// One entry of the kernel's connection table: a connection or a persistence template.
pub(crate) struct ConnEntry {
    conn: Connection,
    origin: ipvs_conn_origin,
}

impl ConnEntry {
    pub(crate) fn plain(conn: Connection) -> Self {
        ConnEntry { conn, origin: ipvs_conn_origin::Unknown }
    }

    pub(crate) fn synced(c: SyncConnection) -> Self {
        let origin = match c.origin {
            Origin::Local => ipvs_conn_origin::Local,
            Origin::Sync => ipvs_conn_origin::Sync,
        };
        ConnEntry { conn: c.conn, origin }
    }
}

/// The connection table of a client's network namespace (`ipvs_client_connections`), or one
/// parsed from text. Owned by the caller: free with `ipvs_conn_list_free`. Immutable.
pub struct ipvs_conn_list {
    _private: [u8; 0],
}

impl Opaque for ipvs_conn_list {
    type Inner = Vec<ConnEntry>;
}

/// A connection or persistence template, borrowed from its list (never freed). Immutable.
pub struct ipvs_conn {
    _private: [u8; 0],
}

impl Opaque for ipvs_conn {
    type Inner = ConnEntry;
}

/// Parses `len` bytes of `/proc/net/ip_vs_conn` text (header line and entries, as the kernel
/// writes it; UTF-8). A line that does not parse is `IPVS_RESULT_DECODE`. Writes `*out` on
/// success; free it with `ipvs_conn_list_free`.
#[no_mangle]
pub extern "C" fn ipvs_conn_list_from_text(
    text: *const c_char,
    len: usize,
    out: *mut *mut ipvs_conn_list,
) -> ipvs_result {
    ffi::call(|| {
        let text = ffi::bytes(text, len, "text")?;
        let out = Out::new(out, "out")?;
        let text =
            std::str::from_utf8(text).map_err(|_| Failure::Invalid("text is not valid UTF-8".into()))?;
        let conns = parse_conn(text).map_err(|e| {
            ipvs_core::Error::Decode(ipvs_core::error::DecodeError::with_source("ip_vs_conn", e))
        })?;
        out.write(ffi::boxed::<ipvs_conn_list>(conns.into_iter().map(ConnEntry::plain).collect()));
        Ok(())
    })
}

/// How many entries the list holds (0 for NULL).
#[no_mangle]
pub extern "C" fn ipvs_conn_list_len(list: *const ipvs_conn_list) -> usize {
    ffi::value(0, || Ok(ffi::get(list, "list")?.len()))
}

/// Entry `index` (from 0), borrowed from the list; NULL past the end (last error
/// `IPVS_RESULT_INDEX_OUT_OF_RANGE`) and for NULL.
#[no_mangle]
pub extern "C" fn ipvs_conn_list_get(list: *const ipvs_conn_list, index: usize) -> *const ipvs_conn {
    ffi::value(std::ptr::null(), || Ok(ffi::borrowed(item(ffi::get(list, "list")?, index)?)))
}

/// Frees a connection list. NULL is a no-op.
#[no_mangle]
pub extern "C" fn ipvs_conn_list_free(list: *mut ipvs_conn_list) {
    ffi::void(|| ffi::free(list))
}

/// The IP protocol number (6 TCP, 17 UDP, 132 SCTP, 0 for the `IP` templates of firewall-mark
/// services, ...); 0 for NULL.
#[no_mangle]
pub extern "C" fn ipvs_conn_protocol(conn: *const ipvs_conn) -> u16 {
    ffi::value(0, || Ok(ffi::get(conn, "conn")?.conn.protocol.to_raw()))
}

/// Writes the client address into `*out` (masked for templates).
#[no_mangle]
pub extern "C" fn ipvs_conn_client_addr(conn: *const ipvs_conn, out: *mut ipvs_addr) -> ipvs_result {
    ffi::call(|| {
        let c = ffi::get(conn, "conn")?;
        addr::out(out, "out")?.write(ipvs_addr::from_ip(c.conn.client_addr));
        Ok(())
    })
}

/// The client port (0 for templates and NULL).
#[no_mangle]
pub extern "C" fn ipvs_conn_client_port(conn: *const ipvs_conn) -> u16 {
    ffi::value(0, || Ok(ffi::get(conn, "conn")?.conn.client_port))
}

/// Writes the virtual address into `*out` (for the `IP` template of a firewall-mark service,
/// the kernel stores the mark there: see `ipvs_conn_fwmark`).
#[no_mangle]
pub extern "C" fn ipvs_conn_virtual_addr(conn: *const ipvs_conn, out: *mut ipvs_addr) -> ipvs_result {
    ffi::call(|| {
        let c = ffi::get(conn, "conn")?;
        addr::out(out, "out")?.write(ipvs_addr::from_ip(c.conn.virtual_addr));
        Ok(())
    })
}

/// The virtual port (0 for NULL).
#[no_mangle]
pub extern "C" fn ipvs_conn_virtual_port(conn: *const ipvs_conn) -> u16 {
    ffi::value(0, || Ok(ffi::get(conn, "conn")?.conn.virtual_port))
}

/// Writes the real server's address into `*out`.
#[no_mangle]
pub extern "C" fn ipvs_conn_dest_addr(conn: *const ipvs_conn, out: *mut ipvs_addr) -> ipvs_result {
    ffi::call(|| {
        let c = ffi::get(conn, "conn")?;
        addr::out(out, "out")?.write(ipvs_addr::from_ip(c.conn.dest_addr));
        Ok(())
    })
}

/// The real server's port (0 for NULL).
#[no_mangle]
pub extern "C" fn ipvs_conn_dest_port(conn: *const ipvs_conn) -> u16 {
    ffi::value(0, || Ok(ffi::get(conn, "conn")?.conn.dest_port))
}

/// The firewall mark of an `IP` template; 0 for any other entry (and NULL).
#[no_mangle]
pub extern "C" fn ipvs_conn_fwmark(conn: *const ipvs_conn) -> u32 {
    ffi::value(0, || Ok(ffi::get(conn, "conn")?.conn.fwmark().unwrap_or(0)))
}

/// Writes the state's name (`ESTABLISHED`, `FIN_WAIT`, `UDP`, `NONE`, ...) into `buf`.
/// Buffer rules as `ipvs_result_message`.
#[no_mangle]
pub extern "C" fn ipvs_conn_state(
    conn: *const ipvs_conn,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> ipvs_result {
    ffi::call(|| {
        let c = ffi::get(conn, "conn")?;
        TextOut::new(buf, len, written)?.write(c.conn.state.as_bytes())
    })
}

/// Seconds until the entry expires (0 for NULL).
#[no_mangle]
pub extern "C" fn ipvs_conn_expires(conn: *const ipvs_conn) -> u32 {
    ffi::value(0, || Ok(ffi::get(conn, "conn")?.conn.expires))
}

/// Writes the persistence engine's name of a template (`sip`) into `buf`; empty when there is
/// none. Buffer rules as `ipvs_result_message`.
#[no_mangle]
pub extern "C" fn ipvs_conn_pe_name(
    conn: *const ipvs_conn,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> ipvs_result {
    ffi::call(|| {
        let c = ffi::get(conn, "conn")?;
        TextOut::new(buf, len, written)?.write(c.conn.pe.as_ref().map_or("", |p| p.name.as_str()).as_bytes())
    })
}

/// Writes the persistence engine's data of a template (for sip, the Call-ID) into `buf`; empty
/// when there is none. Buffer rules as `ipvs_result_message`.
#[no_mangle]
pub extern "C" fn ipvs_conn_pe_data(
    conn: *const ipvs_conn,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> ipvs_result {
    ffi::call(|| {
        let c = ffi::get(conn, "conn")?;
        TextOut::new(buf, len, written)?.write(c.conn.pe.as_ref().map_or("", |p| p.data.as_str()).as_bytes())
    })
}

/// Where the entry came from (an `ipvs_conn_origin`; 0 when its list does not say, and for
/// NULL).
#[no_mangle]
pub extern "C" fn ipvs_conn_get_origin(conn: *const ipvs_conn) -> u32 {
    ffi::value(0, || Ok(ffi::get(conn, "conn")?.origin as u32))
}

/// Writes the entry as its line of `/proc/net/ip_vs_conn` (without the newline) into `buf`.
/// Buffer rules as `ipvs_result_message`.
#[no_mangle]
pub extern "C" fn ipvs_conn_text(
    conn: *const ipvs_conn,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> ipvs_result {
    ffi::call(|| {
        let c = ffi::get(conn, "conn")?;
        TextOut::new(buf, len, written)?.write(c.conn.to_string().as_bytes())
    })
}
