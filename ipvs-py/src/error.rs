//! The one conversion from [`ipvs_core::Error`] to the Python exceptions of `ipvs.errors`.
//!
//! The exception classes are defined in Python (`ipvs/errors.py`, cryptography's pattern), so
//! that they can subclass the built-ins users already catch (`OSError`, `ValueError`,
//! `PermissionError`, `TimeoutError`, `FileExistsError`). Every error that crosses into Python
//! goes through [`exception`]: the class is chosen from [`Error::kind`] in [`class_name`], the
//! only place that maps kinds to classes.

use ipvs_core::error::ValidationError;
use ipvs_core::{Error, ErrorKind, Field};
use pyo3::prelude::*;
use pyo3::types::PyString;

/// The module that defines the exception classes.
const ERRORS_MODULE: &str = "ipvs.errors";

/// The exception class of each kind of error.
fn class_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Validation(_) => "ValidationError",
        ErrorKind::Exists(_) => "ExistsError",
        ErrorKind::NotFound(_) => "NotFoundError",
        ErrorKind::SchedulerOrEngineNotFound => "SchedulerNotFoundError",
        ErrorKind::PermissionDenied(_) => "PermissionDeniedError",
        ErrorKind::ModuleMissing => "ModuleMissingError",
        ErrorKind::Invalid => "InvalidError",
        ErrorKind::AddressFamilyNotSupported => "AddressFamilyNotSupportedError",
        ErrorKind::NotSupported => "NotSupportedError",
        ErrorKind::Timeout => "IpvsTimeoutError",
        ErrorKind::NotSent => "NotSentError",
        ErrorKind::Interrupted => "DumpInterruptedError",
        ErrorKind::Decode => "DecodeError",
        ErrorKind::Os => "SystemCallError",
        // A kind added to the core later: still a KernelError.
        _ => "KernelError",
    }
}

/// `NotFound` -> `not_found`: the Debug name of an enum variant (without its payload) in
/// snake case, which is how kinds, objects, fields and privileges are named in Python.
pub(crate) fn snake(debug: &str) -> String {
    let name = debug.split(['(', ' ', '{']).next().unwrap_or(debug);
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The Python name of a field (`Field::DestinationPort` -> `"destination_port"`).
pub(crate) fn field_name(field: Field) -> String {
    snake(&format!("{field:?}"))
}

/// The exception instance for `e` (not raised): what [`to_pyerr`] raises, and what batched
/// results hold.
pub(crate) fn exception<'py>(py: Python<'py>, e: &Error) -> PyResult<Bound<'py, PyAny>> {
    exception_with_text(py, e, &e.to_string())
}

/// [`exception`] with another text (a plan error's own, more precise, message).
pub(crate) fn exception_with_text<'py>(
    py: Python<'py>,
    e: &Error,
    text: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let kind = e.kind();
    let cls = py.import(ERRORS_MODULE)?.getattr(class_name(kind))?;
    let exc = match e {
        Error::Validation(_) => cls.call1((text,))?,
        // OSError(errno, strerror) sets .errno and .strerror; str() is "[Errno N] text".
        _ => match e.errno() {
            Some(n) => cls.call1((n, text))?,
            None => cls.call1((text,))?,
        },
    };
    exc.setattr("kind", snake(&format!("{kind:?}")))?;
    exc.setattr("message", e.message())?;
    exc.setattr("may_have_applied", e.may_have_applied())?;
    if !matches!(e, Error::Validation(_)) && e.errno().is_none() {
        exc.setattr("errno", py.None())?;
    }
    match e {
        Error::Validation(v) => set_validation(&exc, v)?,
        Error::Exists { object, .. } | Error::NotFound { object, .. } => {
            exc.setattr("object", snake(&format!("{object:?}")))?;
        }
        Error::PermissionDenied { needed, context, .. } => {
            exc.setattr("needed", snake(&format!("{needed:?}")))?;
            exc.setattr("context", PyString::new(py, context))?;
        }
        Error::NotSent { reason, .. } => exc.setattr("reason", exception(py, reason)?)?,
        Error::Interrupted { attempts, .. } => exc.setattr("attempts", *attempts)?,
        _ => {}
    }
    Ok(exc)
}

fn set_validation(exc: &Bound<'_, PyAny>, v: &ValidationError) -> PyResult<()> {
    exc.setattr("field", field_name(v.field()))?;
    exc.setattr("errno", v.errno())?;
    let (value, min, max): (Option<u64>, Option<u64>, Option<u64>) = match v {
        ValidationError::OutOfRange { value, min, max, .. } => (Some(*value), Some(*min), Some(*max)),
        ValidationError::TooLong { len, max, .. } => (Some(*len as u64), None, Some(*max as u64)),
        _ => (None, None, None),
    };
    exc.setattr("value", value)?;
    exc.setattr("min", min)?;
    exc.setattr("max", max)?;
    Ok(())
}

/// `e` as a Python exception to raise. If building the exception itself fails (the `ipvs`
/// package is not importable), that failure is raised instead.
pub(crate) fn to_pyerr(py: Python<'_>, e: &Error) -> PyErr {
    match exception(py, e) {
        Ok(exc) => PyErr::from_value(exc),
        Err(err) => err,
    }
}

/// `Result<T, Error>` -> `PyResult<T>`.
pub(crate) trait IntoPy<T> {
    /// Converts the error with [`to_pyerr`].
    fn py(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPy<T> for Result<T, Error> {
    fn py(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_pyerr(py, &e))
    }
}

impl<T> IntoPy<T> for Result<T, ValidationError> {
    fn py(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_pyerr(py, &Error::Validation(e)))
    }
}

/// A value from Python that breaks a rule before any Rust value is built (an address that
/// does not parse, an unknown forwarding method): an [`Error::Validation`] like the core's.
pub(crate) fn invalid(py: Python<'_>, field: Field, reason: &'static str) -> PyErr {
    to_pyerr(py, &Error::Validation(ValidationError::Invalid { field, reason }))
}

/// A number from Python outside the range of the field's Rust type.
pub(crate) fn out_of_range(py: Python<'_>, field: Field, value: i128, max: u64) -> PyErr {
    if value < 0 {
        return invalid(py, field, "must not be negative");
    }
    let value = u64::try_from(value).unwrap_or(u64::MAX);
    to_pyerr(py, &Error::Validation(ValidationError::OutOfRange { field, value, min: 0, max }))
}

/// The exception the conversion gives for an error of each kind (a test hook: the kinds that
/// only a failing kernel produces, such as timeouts and undecodable replies, cannot be caused
/// on demand). `kind` is the snake-case name of an [`ErrorKind`] variant.
#[pyfunction]
pub(crate) fn _exception_for<'py>(py: Python<'py>, kind: &str) -> PyResult<Bound<'py, PyAny>> {
    use ipvs_core::{Object, Privilege};
    let e = match kind {
        "validation" => {
            Error::Validation(ValidationError::OutOfRange { field: Field::Weight, value: 7, min: 0, max: 5 })
        }
        "exists" => Error::exists(Object::Destination).with_message("kernel text"),
        "not_found" => Error::not_found(Object::Service),
        "scheduler_or_engine_not_found" => Error::scheduler_or_engine_not_found(),
        "permission_denied" => Error::permission_denied(Privilege::NetAdmin, "IPVS", 1),
        "module_missing" => Error::module_missing(2),
        "invalid" => Error::invalid(34),
        "address_family_not_supported" => Error::AddressFamilyNotSupported,
        "not_supported" => Error::NotSupported,
        "timeout" => Error::Timeout,
        "not_sent" => Error::not_sent(Error::Timeout),
        "interrupted" => Error::interrupted(5),
        "decode" => Error::decode("truncated attribute"),
        "os" => Error::os(12, "reading IPVS replies"),
        _ => return Err(pyo3::exceptions::PyValueError::new_err(format!("unknown kind {kind:?}"))),
    };
    exception(py, &e)
}
