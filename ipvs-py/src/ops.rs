//! `Operation`: one change to a table, what one ipvsadm command does.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use ipvs_core::{DestinationKey, Field, Operation, SyncRole};
use pyo3::prelude::*;
use pyo3::types::PyAny;

use crate::conv::{self, ip, ip_str, q, uint};
use crate::error::IntoPy;
use crate::model::{PyDestination, PyService, PyServiceKey, PySyncDaemon, PyTimeouts};

/// One change to an IPVS table. Build it with the static methods (`Operation.add_service(svc)`,
/// ...); `str()` is the ipvsadm command line (`-A -t 10.0.0.1:80 -s wrr`). Every operation is
/// checked when it is built, with the same rules the backends apply.
#[pyclass(frozen, eq, module = "ipvs._ipvs", name = "Operation")]
#[derive(Clone, PartialEq, Eq)]
pub struct PyOperation(pub Operation);

impl PyOperation {
    fn checked(py: Python<'_>, op: Operation) -> PyResult<Self> {
        op.validate().py(py)?;
        Ok(PyOperation(op))
    }

    /// The operations of a Python sequence.
    pub(crate) fn extract_list(ops: &Bound<'_, PyAny>) -> PyResult<Vec<Operation>> {
        let mut out = Vec::with_capacity(ops.len().unwrap_or(0));
        for op in ops.try_iter()? {
            out.push(op?.cast::<PyOperation>()?.get().0.clone());
        }
        Ok(out)
    }
}

#[pymethods]
impl PyOperation {
    /// Add a virtual service (`-A`).
    #[staticmethod]
    fn add_service(service: &Bound<'_, PyAny>) -> PyResult<Self> {
        Self::checked(service.py(), Operation::AddService(PyService::extract_any(service)?))
    }

    /// Change a virtual service's settings in place (`-E`).
    #[staticmethod]
    fn edit_service(service: &Bound<'_, PyAny>) -> PyResult<Self> {
        Self::checked(service.py(), Operation::EditService(PyService::extract_any(service)?))
    }

    /// Delete a virtual service and its real servers (`-D`).
    #[staticmethod]
    fn delete_service(key: &Bound<'_, PyAny>) -> PyResult<Self> {
        Self::checked(key.py(), Operation::DeleteService(PyServiceKey::extract_any(key)?))
    }

    /// Add a real server to a service (`-a`).
    #[staticmethod]
    fn add_destination(key: &Bound<'_, PyAny>, destination: &Bound<'_, PyAny>) -> PyResult<Self> {
        let op = Operation::AddDestination(
            PyServiceKey::extract_any(key)?,
            PyDestination::extract_any(destination)?,
        );
        Self::checked(key.py(), op)
    }

    /// Change a real server's settings in place (`-e`).
    #[staticmethod]
    fn edit_destination(key: &Bound<'_, PyAny>, destination: &Bound<'_, PyAny>) -> PyResult<Self> {
        let op = Operation::EditDestination(
            PyServiceKey::extract_any(key)?,
            PyDestination::extract_any(destination)?,
        );
        Self::checked(key.py(), op)
    }

    /// Remove a real server from a service (`-d`).
    #[staticmethod]
    fn delete_destination(
        key: &Bound<'_, PyAny>,
        address: &Bound<'_, PyAny>,
        port: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let dk = DestinationKey {
            addr: ip(address, Field::DestinationAddress)?,
            port: uint(port, Field::DestinationPort, u64::from(u16::MAX))?,
        };
        Self::checked(key.py(), Operation::DeleteDestination(PyServiceKey::extract_any(key)?, dk))
    }

    /// Delete every service (`-C`).
    #[staticmethod]
    fn flush() -> Self {
        PyOperation(Operation::Flush)
    }

    /// Zero the counters of one service, or of everything (`-Z`).
    #[staticmethod]
    #[pyo3(signature = (key = None))]
    fn zero(py: Python<'_>, key: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let key = key.filter(|k| !k.is_none()).map(PyServiceKey::extract_any).transpose()?;
        Self::checked(py, Operation::Zero(key))
    }

    /// Set connection timeouts; zeros leave values unchanged (`--set`).
    #[staticmethod]
    fn set_timeouts(timeouts: &PyTimeouts) -> Self {
        PyOperation(Operation::SetTimeouts(timeouts.0))
    }

    /// Start a connection-sync daemon (`--start-daemon`).
    #[staticmethod]
    fn start_daemon(py: Python<'_>, daemon: &PySyncDaemon) -> PyResult<Self> {
        Self::checked(py, Operation::StartDaemon(daemon.0.clone()))
    }

    /// Stop a connection-sync daemon (`--stop-daemon`): `"master"` or `"backup"`.
    #[staticmethod]
    fn stop_daemon(role: &str) -> PyResult<Self> {
        Ok(PyOperation(Operation::StopDaemon(conv::role(role)?)))
    }

    /// What the operation does: `"add_service"`, `"edit_service"`, `"delete_service"`,
    /// `"add_destination"`, `"edit_destination"`, `"delete_destination"`, `"flush"`, `"zero"`,
    /// `"set_timeouts"`, `"start_daemon"`, `"stop_daemon"`.
    #[getter]
    fn kind(&self) -> &'static str {
        match &self.0 {
            Operation::AddService(_) => "add_service",
            Operation::EditService(_) => "edit_service",
            Operation::DeleteService(_) => "delete_service",
            Operation::AddDestination(..) => "add_destination",
            Operation::EditDestination(..) => "edit_destination",
            Operation::DeleteDestination(..) => "delete_destination",
            Operation::Flush => "flush",
            Operation::Zero(_) => "zero",
            Operation::SetTimeouts(_) => "set_timeouts",
            Operation::StartDaemon(_) => "start_daemon",
            Operation::StopDaemon(_) => "stop_daemon",
            _ => "other",
        }
    }

    /// The service the operation is about, if any.
    #[getter]
    fn key(&self) -> Option<PyServiceKey> {
        self.0.service_key().map(|k| PyServiceKey(*k))
    }

    /// The service of an add or edit of a service.
    #[getter]
    fn service(&self) -> Option<PyService> {
        match &self.0 {
            Operation::AddService(s) | Operation::EditService(s) => Some(PyService::from_core(s.clone())),
            _ => None,
        }
    }

    /// The real server of an add or edit of a real server.
    #[getter]
    fn destination(&self) -> Option<PyDestination> {
        match &self.0 {
            Operation::AddDestination(_, d) | Operation::EditDestination(_, d) => {
                Some(PyDestination(d.clone()))
            }
            _ => None,
        }
    }

    /// `(address, port)` of the real server an operation is about.
    #[getter]
    fn destination_key(&self) -> Option<(String, u16)> {
        match &self.0 {
            Operation::AddDestination(_, d) | Operation::EditDestination(_, d) => {
                Some((ip_str(&d.addr), d.port))
            }
            Operation::DeleteDestination(_, k) => Some((ip_str(&k.addr), k.port)),
            _ => None,
        }
    }

    fn __hash__(&self) -> u64 {
        let mut h = DefaultHasher::new();
        self.0.hash(&mut h);
        h.finish()
    }

    fn __repr__(&self) -> String {
        let key = |k| PyServiceKey(k).__repr__();
        match &self.0 {
            Operation::AddService(s) => {
                format!("Operation.add_service({})", PyService::from_core(s.clone()).__repr__())
            }
            Operation::EditService(s) => {
                format!("Operation.edit_service({})", PyService::from_core(s.clone()).__repr__())
            }
            Operation::DeleteService(k) => format!("Operation.delete_service({})", key(*k)),
            Operation::AddDestination(k, d) => {
                format!("Operation.add_destination({}, {})", key(*k), PyDestination(d.clone()).__repr__())
            }
            Operation::EditDestination(k, d) => {
                format!("Operation.edit_destination({}, {})", key(*k), PyDestination(d.clone()).__repr__())
            }
            Operation::DeleteDestination(k, d) => {
                format!("Operation.delete_destination({}, {}, {})", key(*k), q(&ip_str(&d.addr)), d.port)
            }
            Operation::Flush => "Operation.flush()".into(),
            Operation::Zero(None) => "Operation.zero()".into(),
            Operation::Zero(Some(k)) => format!("Operation.zero({})", key(*k)),
            Operation::SetTimeouts(t) => format!(
                "Operation.set_timeouts(Timeouts(tcp={}, tcp_fin={}, udp={}))",
                t.tcp, t.tcp_fin, t.udp
            ),
            Operation::StartDaemon(d) => {
                format!("Operation.start_daemon({})", PySyncDaemon(d.clone()).__repr__())
            }
            Operation::StopDaemon(r) => {
                let r = match r {
                    SyncRole::Master => "master",
                    SyncRole::Backup => "backup",
                };
                format!("Operation.stop_daemon({})", q(r))
            }
            other => format!("<Operation {other}>"),
        }
    }

    /// The ipvsadm command line, without the program name (the text `ipvsadm -R` reads).
    fn __str__(&self) -> String {
        self.0.to_string()
    }
}
