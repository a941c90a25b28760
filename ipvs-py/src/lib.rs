//! # ipvs-py
//!
//! The Python extension module `ipvs._ipvs`, re-exported by the `ipvs` package
//! (`ipvs-py/python/ipvs/`). It stays thin: every behaviour lives once, in Rust (`ipvs-core`,
//! `ipvs-sys-netlink`); this crate converts Python values to the core's and back, releases
//! the GIL around every call that reaches the kernel, and turns [`ipvs_core::Error`] into the
//! exception classes of `ipvs.errors` in one place ([`error`]).
//!
//! The Python API is documented in `python/ipvs/_ipvs.pyi` (checked against this module by
//! `mypy.stubtest`) and in the README's "Python" section:
//!
//! ```text
//! import ipvs
//! vip = ipvs.ServiceKey.tcp("10.1.2.3", 80)
//! with ipvs.Client() as c:
//!     c.add_service(ipvs.Service(vip, "wrr"))
//!     c.add_destination(vip, ipvs.Destination("192.168.1.10", 80, "masq", 1))
//! ```

mod backend;
mod conv;
mod error;
mod model;
mod ops;
mod plan;
mod sim;
mod text;

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _ipvs(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    let names: Vec<String> = ipvs_core::Scheduler::KNOWN.iter().map(|s| s.name().to_owned()).collect();
    m.add("SCHEDULERS", names)?;
    m.add_class::<model::PyServiceKey>()?;
    m.add_class::<model::PyService>()?;
    m.add_class::<model::PyDestination>()?;
    m.add_class::<model::PyStats>()?;
    m.add_class::<model::PyServiceStatus>()?;
    m.add_class::<model::PyDestinationStatus>()?;
    m.add_class::<model::PyTimeouts>()?;
    m.add_class::<model::PySyncDaemon>()?;
    m.add_class::<model::PyInfo>()?;
    m.add_class::<model::PyConnection>()?;
    m.add_class::<ops::PyOperation>()?;
    m.add_class::<backend::PyBackend>()?;
    m.add_class::<backend::PyClient>()?;
    m.add_class::<backend::PyMemoryTable>()?;
    m.add_class::<backend::ServiceIter>()?;
    m.add_class::<text::PyRuleSet>()?;
    m.add_class::<plan::PyPlan>()?;
    m.add_class::<plan::PyApplyReport>()?;
    m.add_class::<sim::PySimulator>()?;
    m.add_class::<sim::PyOutcome>()?;
    m.add_function(wrap_pyfunction!(text::save, m)?)?;
    m.add_function(wrap_pyfunction!(text::list_all, m)?)?;
    m.add_function(wrap_pyfunction!(text::list_service, m)?)?;
    m.add_function(wrap_pyfunction!(text::list_timeout, m)?)?;
    m.add_function(wrap_pyfunction!(text::list_daemons, m)?)?;
    m.add_function(wrap_pyfunction!(text::list_connections, m)?)?;
    m.add_function(wrap_pyfunction!(text::parse_connections, m)?)?;
    m.add_function(wrap_pyfunction!(text::parse_endpoint, m)?)?;
    m.add_function(wrap_pyfunction!(text::sort_table, m)?)?;
    m.add_function(wrap_pyfunction!(plan::plan_tables, m)?)?;
    m.add_function(wrap_pyfunction!(plan::plan_for, m)?)?;
    m.add_function(wrap_pyfunction!(error::_exception_for, m)?)?;
    Ok(())
}
