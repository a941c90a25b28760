//! # ipvs-py
//!
//! The Python extension module `ipvs._ipvs`, re-exported by the `ipvs` package. It stays thin:
//! every behaviour lives once, in Rust. This first version exposes the version and the names of
//! the kernel schedulers; the object API follows.

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _ipvs(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    let names: Vec<String> = ipvs_core::Scheduler::KNOWN.iter().map(|s| s.name().to_owned()).collect();
    m.add("SCHEDULERS", names)?;
    Ok(())
}
