//! # ipvs-capi
//!
//! `libipvs`: the C interface of the `ipvs` library. It covers what the Rust library does, the
//! kernel client (services, real servers, statistics, batches, flush, zero, timeouts, sync
//! daemons, connections, network namespaces), the in-memory reference table, rules text and
//! declarative planning, and only converts: every behaviour lives in `ipvs-core` and
//! `ipvs-sys-netlink`.
//!
//! The header `include/ipvs.h` is generated from this crate by cbindgen (the version pinned
//! in `scripts/suites/capi.prepare`) and committed; `scripts/suites/capi.host` regenerates it
//! and fails when it differs. The conventions are rustls-ffi's:
//!
//! * names `ipvs_<type>_<verb>`; opaque types with `_new`/`_free`; the object first, inputs
//!   next, outputs last, written only on success; `const` where a call changes nothing;
//! * `ipvs_result` codes grouped by range and never reused ([`error::ipvs_result`]), the
//!   details of the last failure per thread (`ipvs_error_last`);
//! * every pointer is checked for NULL before anything is done, and every entry point runs
//!   inside a panic boundary ([`ffi`]): a panic comes back as `IPVS_RESULT_PANIC` (or the
//!   getter's default), never as an unwind into C.
//!
//! Ownership and threads are described in the header's introduction (from `cbindgen.toml`)
//! and in the README's "C" section.
//!
//! ```
//! use std::ptr;
//! let mut mem = ptr::null_mut();
//! assert_eq!(ipvs::ipvs_client_new_memory(&mut mem), ipvs::ipvs_result::Ok);
//! let mut list = ptr::null_mut();
//! assert_eq!(ipvs::ipvs_client_services(mem, &mut list), ipvs::ipvs_result::Ok);
//! assert_eq!(ipvs::ipvs_service_list_len(list), 0);
//! ipvs::ipvs_service_list_free(list);
//! ipvs::ipvs_client_free(mem);
//! ```

#![allow(non_camel_case_types)]

pub mod addr;
pub mod client;
pub mod conn;
pub mod dest;
pub mod error;
mod ffi;
pub mod list;
pub mod ops;
pub mod plan;
pub mod service;
pub mod status;

pub use addr::*;
pub use client::*;
pub use conn::*;
pub use dest::*;
pub use error::*;
pub use list::*;
pub use ops::*;
pub use plan::*;
pub use service::*;
pub use status::*;

use std::ffi::c_char;

/// The library version as a NUL-terminated string with static lifetime (`0.1.0`). Never
/// NULL; the caller must not free it.
///
/// ```
/// let v = unsafe { std::ffi::CStr::from_ptr(ipvs::ipvs_version()) };
/// assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
/// ```
#[no_mangle]
pub extern "C" fn ipvs_version() -> *const c_char {
    const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    let version = VERSION.as_ptr().cast::<c_char>();
    ffi::value(version, || Ok(version))
}

#[cfg(test)]
mod tests;
