//! # ipvs-capi
//!
//! The C interface of the `ipvs` library, built as `libipvs`. Its functions follow
//! rustls-ffi's conventions: names `ipvs_<type>_<verb>`, opaque objects with `_new`/`_free`,
//! `#[repr(C)]` result codes, and a panic boundary around every entry point so no panic ever
//! crosses into C. This first version exposes the library version; the object API follows.

use std::ffi::c_char;

/// The library version as a NUL-terminated string with static lifetime. Never NULL; the caller
/// must not free it.
///
/// ```
/// let v = unsafe { std::ffi::CStr::from_ptr(ipvs::ipvs_version()) };
/// assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
/// ```
#[no_mangle]
pub extern "C" fn ipvs_version() -> *const c_char {
    const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    VERSION.as_ptr().cast()
}
