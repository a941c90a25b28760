//! Declarative planning: `plan`, `plan_for`, `Plan` and `ApplyReport`.

use ipvs_core::plan::{self, ApplyReport, Plan};
use ipvs_core::{Error, OnError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::backend::{results_list, PyBackend};
use crate::error::{exception, exception_with_text};
use crate::ops::PyOperation;
use crate::text::extract_table;

fn plan_error(py: Python<'_>, e: plan::PlanError) -> PyErr {
    let text = e.to_string();
    match exception_with_text(py, &Error::from(e), &text) {
        Ok(exc) => PyErr::from_value(exc),
        Err(err) => err,
    }
}

/// The minimal operations that turn `current` into `desired` (each a `RuleSet` or a sequence of
/// `(service, destinations)` pairs, statuses or configurations). Settings that changed are
/// edited in place; a table planned against itself gives an empty plan. A desired table with
/// a bad value or a duplicate raises `ValidationError` or `ExistsError` (nothing is planned).
#[pyfunction(name = "plan")]
pub(crate) fn plan_tables(current: &Bound<'_, PyAny>, desired: &Bound<'_, PyAny>) -> PyResult<PyPlan> {
    let py = current.py();
    let cur = extract_table(current)?;
    let want = extract_table(desired)?;
    py.detach(move || plan::plan(&cur, &want)).map(PyPlan).map_err(|e| plan_error(py, e))
}

/// Reads `backend`'s table (GIL released) and plans the change to `desired`.
#[pyfunction]
pub(crate) fn plan_for(backend: &Bound<'_, PyBackend>, desired: &Bound<'_, PyAny>) -> PyResult<PyPlan> {
    let py = backend.py();
    let want = extract_table(desired)?;
    let current = backend.get().with(py, |inner| inner.backend().services_with_destinations())?;
    py.detach(move || plan::plan(&current, &want)).map(PyPlan).map_err(|e| plan_error(py, e))
}

/// A plan: its operations in an order the kernel accepts, each with its undo. `str()` is one
/// ipvsadm command line per operation: the text `ipvsadm -R` reads.
#[pyclass(frozen, module = "ipvs._ipvs", name = "Plan")]
pub struct PyPlan(pub Plan);

#[pymethods]
impl PyPlan {
    /// The operations, in order.
    #[getter]
    fn operations<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.0.operations().cloned().map(PyOperation))
    }

    /// `[(operation, [undo operations]), ...]`.
    #[getter]
    fn steps<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        for s in self.0.steps() {
            let undo = PyList::new(py, s.undo.iter().cloned().map(PyOperation))?;
            out.append(PyTuple::new(
                py,
                [Bound::new(py, PyOperation(s.op.clone()))?.into_any(), undo.into_any()],
            )?)?;
        }
        Ok(out)
    }

    /// How many operations of each kind: `services_added`, `services_edited`,
    /// `services_deleted`, `destinations_added`, `destinations_edited`, `destinations_deleted`.
    #[getter]
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.0.summary();
        let d = PyDict::new(py);
        d.set_item("services_added", s.services_added)?;
        d.set_item("services_edited", s.services_edited)?;
        d.set_item("services_deleted", s.services_deleted)?;
        d.set_item("destinations_added", s.destinations_added)?;
        d.set_item("destinations_edited", s.destinations_edited)?;
        d.set_item("destinations_deleted", s.destinations_deleted)?;
        Ok(d)
    }

    /// Applies the plan through `backend` (pipelined on the kernel) and reports one result per
    /// attempted step. With `stop_on_error`, the steps after the first failure are not attempted.
    #[pyo3(signature = (backend, *, stop_on_error = false))]
    fn apply(&self, backend: &Bound<'_, PyBackend>, stop_on_error: bool) -> PyResult<PyApplyReport> {
        let on_error = if stop_on_error { OnError::Stop } else { OnError::Continue };
        let plan = &self.0;
        backend
            .get()
            .with(backend.py(), move |inner| Ok(plan.apply(inner.backend(), on_error)))
            .map(PyApplyReport)
    }

    /// The operations that undo what `report` says may have changed, newest first.
    fn undo_operations<'py>(&self, py: Python<'py>, report: &PyApplyReport) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.0.undo_operations(&report.0).into_iter().map(PyOperation))
    }

    /// Best-effort rollback of what an `apply` did (going on after failures): one result per
    /// undo operation, `None` or the exception.
    fn rollback<'py>(
        &self,
        backend: &Bound<'py, PyBackend>,
        report: &PyApplyReport,
    ) -> PyResult<Bound<'py, PyList>> {
        let py = backend.py();
        let plan = &self.0;
        let rep = &report.0;
        let results = backend.get().with(py, move |inner| Ok(plan.rollback(inner.backend(), rep)))?;
        results_list(py, &results)
    }

    fn __len__(&self) -> usize {
        self.0.len()
    }

    fn __repr__(&self) -> String {
        format!("<Plan: {} operations ({})>", self.0.len(), self.0.summary())
    }

    /// One ipvsadm command line per operation.
    fn __str__(&self) -> String {
        self.0.to_string()
    }
}

/// What `Plan.apply` did: one result per attempted step.
#[pyclass(frozen, module = "ipvs._ipvs", name = "ApplyReport")]
pub struct PyApplyReport(pub ApplyReport);

#[pymethods]
impl PyApplyReport {
    /// One result per attempted step: `None`, or the exception (not raised).
    #[getter]
    fn results<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        results_list(py, &self.0.results)
    }

    /// Whether every attempted step succeeded.
    #[getter]
    fn ok(&self) -> bool {
        self.0.is_ok()
    }

    /// How many steps succeeded.
    #[getter]
    fn succeeded(&self) -> usize {
        self.0.succeeded()
    }

    /// `[(index of the step, exception), ...]`.
    #[getter]
    fn failures<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        for (i, e) in self.0.failures() {
            out.append((i, exception(py, e)?))?;
        }
        Ok(out)
    }

    fn __len__(&self) -> usize {
        self.0.results.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "<ApplyReport: {} attempted, {} succeeded, {} failed>",
            self.0.results.len(),
            self.0.succeeded(),
            self.0.results.len() - self.0.succeeded()
        )
    }
}
