//! ipvsadm's text formats: `RuleSet` (the table `-R` rules describe, and `-S` text), the `-L`
//! listings, and the connection table's `/proc` text.

use ipvs_core::ipvsadm::cmdline::ListFormat;
use ipvs_core::ipvsadm::rules::{CommentMode, RuleSet, RulesError};
use ipvs_core::ipvsadm::{cmdline::Parser, conn, list, NumericResolver};
use ipvs_core::{Destination, DestinationStatus, Field, ServiceStatus};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::conv::{check_keys, endpoint, ip_str};
use crate::error::{exception, IntoPy};
use crate::model::{
    PyConnection, PyDestination, PyDestinationStatus, PyInfo, PyService, PyServiceStatus, PySyncDaemon,
    PyTimeouts,
};

/// A table from Python: a `RuleSet`, or a sequence of `(service, destinations)` pairs whose
/// items are statuses (as listings return them) or configurations (`Service`, `Destination`).
pub(crate) fn extract_table(
    obj: &Bound<'_, PyAny>,
) -> PyResult<Vec<(ServiceStatus, Vec<DestinationStatus>)>> {
    if let Ok(r) = obj.cast::<PyRuleSet>() {
        return Ok(r.get().0.to_statuses());
    }
    let mut out = Vec::with_capacity(obj.len().unwrap_or(0));
    for item in obj.try_iter()? {
        let item = item?;
        let (svc, dests): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract().map_err(|_| {
            PyValueError::new_err("a table is a RuleSet or a sequence of (service, destinations) pairs")
        })?;
        let mut ds = Vec::with_capacity(dests.len().unwrap_or(0));
        for d in dests.try_iter()? {
            ds.push(PyDestinationStatus::extract_any(&d?)?);
        }
        out.push((PyServiceStatus::extract_any(&svc)?, ds));
    }
    Ok(out)
}

fn rules_error(py: Python<'_>, e: &RulesError) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let cls = py.import("ipvs.errors")?.getattr("RulesError")?;
        let exc = cls.call1((e.to_string(),))?;
        let line = match e {
            RulesError::Parse(p) => p.line,
            RulesError::Apply { line, .. } => *line,
        };
        exc.setattr("line", line)?;
        let err = PyErr::from_value(exc);
        if let RulesError::Apply { error, .. } = e {
            err.set_cause(py, Some(PyErr::from_value(exception(py, error)?)));
        }
        Ok(err)
    };
    build().unwrap_or_else(|e| e)
}

/// The services and real servers a set of rules describes: what `ipvsadm -R` of the rules
/// leaves in an empty table, and what `ipvsadm -S` of that table prints.
#[pyclass(frozen, eq, module = "ipvs._ipvs", name = "RuleSet")]
#[derive(Clone, PartialEq, Eq)]
pub struct PyRuleSet(pub RuleSet);

#[pymethods]
impl PyRuleSet {
    /// `RuleSet([(Service, [Destination, ...]), ...])`, real servers in the kernel's list
    /// order (newest first, as listings return them). Every value is checked.
    #[new]
    #[pyo3(signature = (services = None))]
    fn new(services: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let mut set = RuleSet::new();
        let Some(services) = services else { return Ok(PyRuleSet(set)) };
        let py = services.py();
        for (s, ds) in extract_table(services)? {
            let key = s.service.key;
            s.service.validate().py(py)?;
            let ds: Vec<Destination> = ds.into_iter().map(|d| d.dest).collect();
            for d in &ds {
                d.validate_for(&key).py(py)?;
            }
            set.services.push((s.service, ds));
        }
        Ok(PyRuleSet(set))
    }

    /// Reads `ipvsadm -R` rules (numeric addresses and ports only). With `comments`, lines
    /// starting with `#` are skipped, as the `ipvsadm-restore` script does; ipvsadm itself
    /// fails on them. Raises `RulesError` (with `.line`) on the first line that does not parse
    /// or whose change would fail.
    #[staticmethod]
    #[pyo3(signature = (text, *, comments = false))]
    fn from_text(py: Python<'_>, text: &str, comments: bool) -> PyResult<Self> {
        let mode = if comments { CommentMode::Restore } else { CommentMode::Ipvsadm };
        let text = text.to_owned();
        py.detach(move || RuleSet::from_text_with(&text, mode, &Parser::new()))
            .map(PyRuleSet)
            .map_err(|e| rules_error(py, &e))
    }

    /// `[(Service, [Destination, ...]), ...]`.
    #[getter]
    fn services<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        for (s, ds) in &self.0.services {
            let ds = PyList::new(py, ds.iter().cloned().map(PyDestination))?;
            out.append(PyTuple::new(
                py,
                [Bound::new(py, PyService::from_core(s.clone()))?.into_any(), ds.into_any()],
            )?)?;
        }
        Ok(out)
    }

    /// The same table in ipvsadm's listing order.
    fn sorted(&self) -> Self {
        PyRuleSet(self.0.sorted())
    }

    /// The `ipvsadm -S -n` text of the table.
    fn save(&self, py: Python<'_>) -> String {
        py.detach(|| self.0.save(true))
    }

    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let services = PyList::empty(py);
        for (s, ds) in &self.0.services {
            let e = PyDict::new(py);
            e.set_item("service", PyService::from_core(s.clone()).to_dict(py)?)?;
            let dl = PyList::empty(py);
            for d in ds {
                dl.append(PyDestination(d.clone()).to_dict(py)?)?;
            }
            e.set_item("destinations", dl)?;
            services.append(e)?;
        }
        let d = PyDict::new(py);
        d.set_item("services", services)?;
        Ok(d)
    }

    /// The table of a `to_dict()` dictionary:
    /// `{"services": [{"service": {...}, "destinations": [{...}, ...]}, ...]}`.
    #[staticmethod]
    fn from_dict(d: &Bound<'_, PyDict>) -> PyResult<Self> {
        check_keys(d, "RuleSet", &["services"])?;
        let pairs = PyList::empty(d.py());
        if let Some(list) = d.get_item("services")? {
            for e in list.try_iter()? {
                let e = e?;
                let e = e.cast::<PyDict>()?;
                check_keys(e, "RuleSet service entry", &["service", "destinations"])?;
                let svc = crate::conv::required(e, "RuleSet", "service")?;
                let dests = match e.get_item("destinations")? {
                    Some(x) => x,
                    None => PyList::empty(d.py()).into_any(),
                };
                pairs.append((svc, dests))?;
            }
        }
        Self::new(Some(pairs.as_any()))
    }

    fn __len__(&self) -> usize {
        self.0.services.len()
    }

    fn __repr__(&self) -> String {
        let n: usize = self.0.services.iter().map(|(_, d)| d.len()).sum();
        format!("<RuleSet: {} services, {n} real servers>", self.0.services.len())
    }

    /// The `ipvsadm -S -n` text.
    fn __str__(&self, py: Python<'_>) -> String {
        self.save(py)
    }
}

#[allow(clippy::too_many_arguments)]
fn fmt(
    numeric: bool,
    stats: bool,
    rate: bool,
    thresholds: bool,
    persistent_conn: bool,
    tun_info: bool,
    exact: bool,
    nosort: bool,
) -> ListFormat {
    ListFormat { numeric, stats, rate, thresholds, persistent_conn, tun_info, exact, nosort }
}

/// `ipvsadm -S` of a table (a `RuleSet` or `(service, destinations)` pairs), sorted as ipvsadm
/// sorts it.
#[pyfunction]
#[pyo3(signature = (table, numeric = true))]
pub(crate) fn save(table: &Bound<'_, PyAny>, numeric: bool) -> PyResult<String> {
    let t = extract_table(table)?;
    Ok(table.py().detach(move || list::save(&t, numeric, &NumericResolver)))
}

/// `ipvsadm -L` of a table, with the version line of `info` and ipvsadm's options as keywords.
#[pyfunction]
#[pyo3(signature = (info, table, *, numeric = true, stats = false, rate = false, thresholds = false, persistent_conn = false, tun_info = false, exact = false, nosort = false))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn list_all(
    info: &PyInfo,
    table: &Bound<'_, PyAny>,
    numeric: bool,
    stats: bool,
    rate: bool,
    thresholds: bool,
    persistent_conn: bool,
    tun_info: bool,
    exact: bool,
    nosort: bool,
) -> PyResult<String> {
    let t = extract_table(table)?;
    let f = fmt(numeric, stats, rate, thresholds, persistent_conn, tun_info, exact, nosort);
    let info = info.0;
    Ok(table.py().detach(move || list::list_all(&info, &t, &f, &NumericResolver)))
}

/// `ipvsadm -L -t VIP:PORT` (one service): the title and the service, without the version line.
#[pyfunction]
#[pyo3(signature = (service, destinations, *, numeric = true, stats = false, rate = false, thresholds = false, persistent_conn = false, tun_info = false, exact = false, nosort = false))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn list_service(
    service: &Bound<'_, PyAny>,
    destinations: &Bound<'_, PyAny>,
    numeric: bool,
    stats: bool,
    rate: bool,
    thresholds: bool,
    persistent_conn: bool,
    tun_info: bool,
    exact: bool,
    nosort: bool,
) -> PyResult<String> {
    let s = PyServiceStatus::extract_any(service)?;
    let mut ds = Vec::new();
    for d in destinations.try_iter()? {
        ds.push(PyDestinationStatus::extract_any(&d?)?);
    }
    let f = fmt(numeric, stats, rate, thresholds, persistent_conn, tun_info, exact, nosort);
    Ok(list::list_service(&s, &ds, &f, &NumericResolver))
}

/// `ipvsadm -L --timeout`.
#[pyfunction]
pub(crate) fn list_timeout(timeouts: &PyTimeouts) -> String {
    list::list_timeout(&timeouts.0)
}

/// `ipvsadm -L --daemon`.
#[pyfunction]
pub(crate) fn list_daemons(daemons: Vec<PyRef<'_, PySyncDaemon>>) -> String {
    let ds: Vec<_> = daemons.iter().map(|d| d.0.clone()).collect();
    list::list_daemons(&ds)
}

/// `ipvsadm -L -c` from the text of `/proc/net/ip_vs_conn` (`persistent_conn` adds the
/// persistence-engine columns, as `ipvsadm -L -c --persistent-conn` does).
#[pyfunction]
#[pyo3(signature = (proc_text, *, numeric = true, persistent_conn = false))]
pub(crate) fn list_connections(proc_text: &str, numeric: bool, persistent_conn: bool) -> PyResult<String> {
    let f = ListFormat { numeric, persistent_conn, ..ListFormat::default() };
    conn::list_connections(proc_text.as_bytes(), &f, &NumericResolver)
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

/// The entries of `/proc/net/ip_vs_conn` text.
#[pyfunction]
pub(crate) fn parse_connections<'py>(py: Python<'py>, proc_text: &str) -> PyResult<Bound<'py, PyList>> {
    let v = conn::parse_conn(proc_text).map_err(|e| PyValueError::new_err(e.to_string()))?;
    PyList::new(py, v.into_iter().map(PyConnection))
}

/// The table in ipvsadm's listing order: services sorted as `ipvsadm -L`/`-S` sort them
/// (libipvs's comparators, whose subtractions wrap for values 2^31 apart, under glibc's merge
/// sort), each service's real servers likewise. Returns `[(ServiceStatus, [DestinationStatus])]`.
#[pyfunction]
pub(crate) fn sort_table<'py>(table: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
    let py = table.py();
    let mut t = extract_table(table)?;
    let t = py.detach(move || {
        list::sort_services(&mut t, |(s, _)| s.service.key);
        for (_, ds) in &mut t {
            list::sort_dests(ds, |d: &DestinationStatus| d.dest.key());
        }
        t
    });
    let out = PyList::empty(py);
    for (s, ds) in t {
        out.append(crate::backend::entry(py, s, ds)?)?;
    }
    Ok(out)
}

/// `"10.0.0.1:80"` or `"[2001:db8::1]:80"` as `(address, port)`.
#[pyfunction]
pub(crate) fn parse_endpoint(text: &Bound<'_, PyAny>) -> PyResult<(String, u16)> {
    let a = endpoint(text, Field::ServiceAddress)?;
    Ok((ip_str(&a.ip()), a.port()))
}
