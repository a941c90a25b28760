//! The boundary between C and Rust: the panic boundary every entry point runs in, the
//! per-thread last error, and the few functions that turn C pointers into Rust references.
//! Every `unsafe` block of the crate that touches a C pointer is in this file.
//!
//! # The contract C callers keep (stated in the header)
//!
//! * A pointer to an `ipvs_*` object is NULL or points to a live object of that type that
//!   this library handed out (created by a `_new`, or borrowed from another live object), and
//!   no other thread uses it mutably at the same time.
//! * A NUL-terminated string is NULL or a valid C string; a buffer with a length is NULL or
//!   valid for that many bytes (reading for inputs, writing for outputs).
//! * An output pointer is NULL or valid for writing one value of its type.
//!
//! Given that, every function here is sound; NULL is always checked and reported.

use std::cell::RefCell;
use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;

use crate::error::{ipvs_result, ErrorInfo, Failure};

/// An opaque C type and the Rust value behind it: a pointer to the C type is a pointer to
/// `Inner`, owned (from [`boxed`]) or borrowed (from [`borrowed`]).
pub(crate) trait Opaque {
    /// The Rust value.
    type Inner;
}

/// Moves `value` to the heap and hands it to C, which frees it with the type's `_free`.
pub(crate) fn boxed<T: Opaque>(value: T::Inner) -> *mut T {
    Box::into_raw(Box::new(value)).cast()
}

/// A pointer C may read through but must not free: valid as long as `value` is.
pub(crate) fn borrowed<T: Opaque>(value: &T::Inner) -> *const T {
    (value as *const T::Inner).cast()
}

/// The object behind `ptr`, or [`Failure::Null`] naming the parameter.
pub(crate) fn get<'a, T: Opaque>(ptr: *const T, name: &'static str) -> Result<&'a T::Inner, Failure> {
    // SAFETY: by the C contract (module docs) a non-NULL `ptr` points to a live `T::Inner`
    // (every `T` pointer this library hands out is a cast `T::Inner` pointer) that nobody
    // mutates while the call runs.
    unsafe { ptr.cast::<T::Inner>().as_ref() }.ok_or(Failure::Null(name))
}

/// The object behind `ptr` for changing it, or [`Failure::Null`] naming the parameter.
pub(crate) fn get_mut<'a, T: Opaque>(ptr: *mut T, name: &'static str) -> Result<&'a mut T::Inner, Failure> {
    // SAFETY: as in `get`; the C contract also says no other thread uses the object at the
    // same time, so this is the only reference to it during the call.
    unsafe { ptr.cast::<T::Inner>().as_mut() }.ok_or(Failure::Null(name))
}

/// Frees an object that [`boxed`] handed out; NULL is a no-op.
pub(crate) fn free<T: Opaque>(ptr: *mut T) {
    if !ptr.is_null() {
        // SAFETY: by the C contract a non-NULL pointer given to a `_free` function came from
        // `boxed` for this type and is not used afterwards, so it is a live `Box<T::Inner>`.
        drop(unsafe { Box::from_raw(ptr.cast::<T::Inner>()) });
    }
}

/// An output parameter, checked for NULL before the call does anything; written only once the
/// call has succeeded.
pub(crate) struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    /// Checks `ptr`.
    pub(crate) fn new(ptr: *mut T, name: &'static str) -> Result<Self, Failure> {
        NonNull::new(ptr).map(Out).ok_or(Failure::Null(name))
    }

    /// Stores `value` (the old contents are not read or dropped: C outputs are plain memory).
    pub(crate) fn write(self, value: T) {
        // SAFETY: the pointer is non-NULL and, by the C contract, valid for writing one `T`;
        // `write` neither reads nor drops what was there.
        unsafe { self.0.as_ptr().write(value) }
    }
}

/// The bytes of a NUL-terminated input string (without the NUL).
pub(crate) fn c_bytes<'a>(ptr: *const c_char, name: &'static str) -> Result<&'a [u8], Failure> {
    if ptr.is_null() {
        return Err(Failure::Null(name));
    }
    // SAFETY: non-NULL, and by the C contract a valid NUL-terminated string that outlives
    // the call.
    Ok(unsafe { CStr::from_ptr(ptr) }.to_bytes())
}

/// A NUL-terminated input string that must be UTF-8.
pub(crate) fn c_str<'a>(ptr: *const c_char, name: &'static str) -> Result<&'a str, Failure> {
    let bytes = c_bytes(ptr, name)?;
    std::str::from_utf8(bytes).map_err(|_| Failure::Invalid(format!("{name} is not valid UTF-8")))
}

/// An input buffer of `len` bytes (need not be NUL-terminated).
pub(crate) fn bytes<'a>(ptr: *const c_char, len: usize, name: &'static str) -> Result<&'a [u8], Failure> {
    if ptr.is_null() {
        return Err(Failure::Null(name));
    }
    if isize::try_from(len).is_err() {
        return Err(Failure::Invalid(format!("{name}: a length of {len} bytes is not possible")));
    }
    // SAFETY: non-NULL, `len` fits an isize, and by the C contract the buffer is valid for
    // reading `len` bytes during the call.
    Ok(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) })
}

/// A duplicate of the caller's descriptor `fd` (close-on-exec), which the caller keeps.
pub(crate) fn dup_fd(fd: std::ffi::c_int) -> Result<std::os::fd::OwnedFd, Failure> {
    if fd < 0 {
        return Err(Failure::Invalid(format!("fd: {fd} is not a file descriptor")));
    }
    // SAFETY: `fd` is not -1, and by the C contract it is a descriptor the caller has open
    // for the duration of the call; the borrow ends with this statement, after
    // `fcntl(F_DUPFD_CLOEXEC)` made an independent descriptor (for a descriptor that is not
    // open, fcntl fails with EBADF and nothing is made).
    let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    borrowed.try_clone_to_owned().map_err(|e| {
        Failure::Ipvs(ipvs_core::Error::os(
            e.raw_os_error().unwrap_or(9),
            format!("duplicating descriptor {fd}"),
        ))
    })
}

/// A caller's text buffer: `buf` of `len` bytes and where to store the length written.
pub(crate) struct TextOut {
    buf: NonNull<c_char>,
    len: usize,
    written: Out<usize>,
}

impl TextOut {
    /// Checks both pointers.
    pub(crate) fn new(buf: *mut c_char, len: usize, written: *mut usize) -> Result<Self, Failure> {
        let buf = NonNull::new(buf).ok_or(Failure::Null("buf"))?;
        let written = Out::new(written, "written")?;
        Ok(TextOut { buf, len, written })
    }

    /// Copies `text` and a NUL into the buffer and stores `text`'s length in `written`. When
    /// the buffer is too small, nothing is copied, `written` receives the length the text
    /// needs (without its NUL) and the call fails with `IPVS_RESULT_BUFFER_TOO_SMALL`.
    pub(crate) fn write(self, text: &[u8]) -> Result<(), Failure> {
        if text.len() >= self.len {
            let needed = text.len();
            self.written.write(needed);
            return Err(Failure::BufferTooSmall { needed: needed + 1, len: self.len });
        }
        // SAFETY: `buf` is non-NULL and by the C contract valid for writing `len` bytes, and
        // `text.len() + 1 <= len`; the source is a Rust slice, so the two do not overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), self.buf.as_ptr().cast::<u8>(), text.len());
            self.buf.as_ptr().add(text.len()).write(0);
        }
        self.written.write(text.len());
        Ok(())
    }
}

thread_local! {
    /// The error of the last call on this thread that failed (see `ipvs_error_last`). Boxed,
    /// so that its address stays put until the next failure replaces it.
    static LAST_ERROR: RefCell<Option<Box<ErrorInfo>>> = const { RefCell::new(None) };
}

#[cfg(test)]
thread_local! {
    /// Test hook: makes the next entry point called on this thread panic inside its boundary.
    static INJECT_PANIC: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Test hook: the next entry point called on this thread panics inside its boundary.
#[cfg(test)]
pub(crate) fn inject_panic() {
    INJECT_PANIC.with(|c| c.set(true));
}

#[cfg(test)]
fn maybe_panic() {
    if INJECT_PANIC.with(|c| c.replace(false)) {
        panic!("panic injected by a test");
    }
}

#[cfg(not(test))]
fn maybe_panic() {}

/// Keeps `info` as this thread's last error.
fn record(info: ErrorInfo) {
    // A thread that is exiting has no thread-locals left: the code still goes back.
    let _ = LAST_ERROR.try_with(|last| {
        if let Ok(mut last) = last.try_borrow_mut() {
            *last = Some(Box::new(info));
        }
    });
}

/// A pointer to this thread's last error, or NULL.
pub(crate) fn last_error() -> *const ErrorInfo {
    LAST_ERROR
        .try_with(|last| match last.try_borrow() {
            Ok(last) => last.as_deref().map_or(std::ptr::null(), |e| e as *const ErrorInfo),
            Err(_) => std::ptr::null(),
        })
        .unwrap_or(std::ptr::null())
}

/// The text of a panic's payload.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    match (payload.downcast_ref::<&str>(), payload.downcast_ref::<String>()) {
        (Some(s), _) => (*s).to_owned(),
        (_, Some(s)) => s.clone(),
        _ => "a panic without a message".to_owned(),
    }
}

/// Runs an entry point that returns an `ipvs_result`: `f`'s failure, or a panic inside it,
/// becomes the result code and this thread's last error.
pub(crate) fn call(f: impl FnOnce() -> Result<(), Failure>) -> ipvs_result {
    run(true, ipvs_result::Ok, || f().map(|()| ipvs_result::Ok))
}

/// [`call`] for the functions that read errors (`ipvs_error_*`, `ipvs_result_message`): their
/// own failures do not replace the last error, so that an `ipvs_error` pointer a caller holds
/// stays valid while it reads it.
pub(crate) fn call_quiet(f: impl FnOnce() -> Result<(), Failure>) -> ipvs_result {
    run(false, ipvs_result::Ok, || f().map(|()| ipvs_result::Ok))
}

/// Runs an entry point that returns a value (a getter): on a failure or a panic it returns
/// `default` (0, false or NULL, as the header says) and records the last error.
pub(crate) fn value<T: FromFailure>(default: T, f: impl FnOnce() -> Result<T, Failure>) -> T {
    run(true, default, f)
}

/// [`value`] without replacing the last error (see [`call_quiet`]).
pub(crate) fn value_quiet<T: FromFailure>(default: T, f: impl FnOnce() -> Result<T, Failure>) -> T {
    run(false, default, f)
}

/// Runs an entry point that returns nothing (a `_free`): a panic is recorded and swallowed.
pub(crate) fn void(f: impl FnOnce()) {
    run(true, (), || {
        f();
        Ok(())
    })
}

/// The panic boundary: runs `f`; on a failure (or a panic, caught here) records it as the last
/// error when `keep` is true and returns the failure's code when `T` is a result code, else
/// `default`.
fn run<T: FromFailure>(keep: bool, default: T, f: impl FnOnce() -> Result<T, Failure>) -> T {
    let failure = match catch_unwind(AssertUnwindSafe(|| {
        maybe_panic();
        f()
    })) {
        Ok(Ok(v)) => return v,
        Ok(Err(failure)) => failure,
        Err(payload) => Failure::Panic(panic_text(&*payload)),
    };
    let info = failure.into_info();
    let code = info.result;
    if keep {
        record(info);
    }
    T::from_failure(code, default)
}

/// What an entry point returns when it fails: its code for functions returning
/// `ipvs_result`, the documented default for the others.
pub(crate) trait FromFailure {
    /// The value for a failure with `code`.
    fn from_failure(code: ipvs_result, default: Self) -> Self;
}

impl FromFailure for ipvs_result {
    fn from_failure(code: ipvs_result, _default: Self) -> Self {
        code
    }
}

macro_rules! default_on_failure {
    ($($t:ty),*) => {$(
        impl FromFailure for $t {
            fn from_failure(_code: ipvs_result, default: Self) -> Self {
                default
            }
        }
    )*};
}

default_on_failure!((), bool, u8, u16, u32, u64, usize, i32);

impl<T> FromFailure for *const T {
    fn from_failure(_code: ipvs_result, default: Self) -> Self {
        default
    }
}

impl<T> FromFailure for *mut T {
    fn from_failure(_code: ipvs_result, default: Self) -> Self {
        default
    }
}
