//! `Backend` (the interface both tables share), `Client` (the kernel's table over netlink) and
//! `MemoryTable` (the in-memory reference table).
//!
//! Every call converts its Python arguments first, then releases the GIL (`py.detach`) for the
//! whole of the Rust call, system calls included, and converts the result once it has the GIL
//! back. A backend is used by one thread at a time: a mutex inside serialises the calls of
//! several Python threads (they wait for it with the GIL released).

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use ipvs_core::ipvsadm::cmdline::ListFormat;
use ipvs_core::ipvsadm::{list, NumericResolver};
use ipvs_core::table::{MemoryBackend, TableConfig};
use ipvs_core::{
    Backend, DestinationKey, DestinationStatus, Error, Field, Object, OnError, Operation, Scheduler,
    ServiceStatus,
};
use ipvs_sys_netlink::{Client, ClientOptions, NetNs};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyList, PyString, PyTuple};

use crate::conv::{ip, uint};
use crate::error::{exception, to_pyerr, IntoPy};
use crate::model::{
    PyConnection, PyDestination, PyDestinationStatus, PyInfo, PyService, PyServiceKey, PyServiceStatus,
    PySyncDaemon, PyTimeouts,
};
use crate::ops::PyOperation;

/// The table behind a Python backend object.
pub(crate) enum Inner {
    Kernel(Box<Client>),
    Memory(Box<MemoryBackend>),
}

impl Inner {
    pub(crate) fn backend(&mut self) -> &mut dyn Backend {
        match self {
            Inner::Kernel(c) => c.as_mut(),
            Inner::Memory(m) => m.as_mut(),
        }
    }
}

/// The base class of `Client` and `MemoryTable`: every table operation, the same on both.
#[pyclass(subclass, frozen, module = "ipvs._ipvs", name = "Backend")]
pub struct PyBackend {
    inner: Mutex<Option<Inner>>,
}

/// What stops a walk over the table: the backend's error, the callback's exception, or the
/// callback asking to stop.
enum WalkError {
    Ipvs(Error),
    Py(PyErr),
    Stop,
}

impl From<Error> for WalkError {
    fn from(e: Error) -> Self {
        WalkError::Ipvs(e)
    }
}

/// A Python result list: `None` for each success, the exception instance for each failure.
pub(crate) fn results_list<'py>(
    py: Python<'py>,
    results: &[Result<(), Error>],
) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for r in results {
        match r {
            Ok(()) => out.append(py.None())?,
            Err(e) => out.append(exception(py, e)?)?,
        }
    }
    Ok(out)
}

/// `(ServiceStatus, [DestinationStatus, ...])` as a Python tuple.
pub(crate) fn entry<'py>(
    py: Python<'py>,
    svc: ServiceStatus,
    dests: Vec<DestinationStatus>,
) -> PyResult<Bound<'py, PyTuple>> {
    let dests = PyList::new(py, dests.into_iter().map(PyDestinationStatus))?;
    PyTuple::new(py, [Bound::new(py, PyServiceStatus::from_core(svc))?.into_any(), dests.into_any()])
}

#[allow(clippy::too_many_arguments)]
fn list_format(
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

impl PyBackend {
    pub(crate) fn new(inner: Inner) -> Self {
        PyBackend { inner: Mutex::new(Some(inner)) }
    }

    fn lock(&self) -> MutexGuard<'_, Option<Inner>> {
        // A panic while the lock was held (PyO3 turned it into an exception) leaves the table
        // usable: every Rust call leaves it consistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the table with the GIL released.
    pub(crate) fn with<T, F>(&self, py: Python<'_>, f: F) -> PyResult<T>
    where
        T: Send,
        F: FnOnce(&mut Inner) -> Result<T, Error> + Send,
    {
        let r = py.detach(|| self.lock().as_mut().map(f));
        match r {
            None => Err(PyValueError::new_err("operation on a closed backend")),
            Some(r) => r.py(py),
        }
    }

    /// Runs `f` on the table's [`Backend`] with the GIL released.
    fn run<T, F>(&self, py: Python<'_>, f: F) -> PyResult<T>
    where
        T: Send,
        F: FnOnce(&mut dyn Backend) -> Result<T, Error> + Send,
    {
        self.with(py, |inner| f(inner.backend()))
    }

    fn apply_one(&self, py: Python<'_>, op: Operation) -> PyResult<()> {
        self.run(py, move |b| b.apply(&op))
    }
}

fn walk<B: Backend>(b: &mut B, callback: &Py<PyAny>) -> Result<(), WalkError> {
    b.try_for_each_service_with_destinations(|svc, dests| {
        Python::attach(|py| {
            let args = entry(py, svc, dests).map_err(WalkError::Py)?;
            let r = callback.call1(py, args).map_err(WalkError::Py)?;
            let r = r.bind(py);
            if r.is_instance_of::<PyBool>() && !r.is_truthy().map_err(WalkError::Py)? {
                return Err(WalkError::Stop);
            }
            Ok(())
        })
    })
}

#[pymethods]
impl PyBackend {
    /// The IPVS version and connection table size.
    fn info(&self, py: Python<'_>) -> PyResult<PyInfo> {
        self.run(py, |b| b.info()).map(PyInfo)
    }

    /// Every service with its statistics, in the backend's order.
    fn services<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let v = self.run(py, |b| b.services())?;
        PyList::new(py, v.into_iter().map(PyServiceStatus::from_core))
    }

    /// One service (`NotFoundError` if there is none).
    fn service(&self, key: &Bound<'_, PyAny>) -> PyResult<PyServiceStatus> {
        let k = PyServiceKey::extract_any(key)?;
        self.run(key.py(), move |b| b.service(&k)).map(PyServiceStatus::from_core)
    }

    /// The real servers of a service, newest first (`NotFoundError` if there is no service).
    fn destinations<'py>(&self, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        let k = PyServiceKey::extract_any(key)?;
        let v = self.run(key.py(), move |b| b.destinations(&k))?;
        PyList::new(key.py(), v.into_iter().map(PyDestinationStatus))
    }

    /// Every service with its real servers: a list of `(ServiceStatus, [DestinationStatus])`.
    fn services_with_destinations<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let v = self.run(py, |b| b.services_with_destinations())?;
        let out = PyList::empty(py);
        for (s, d) in v {
            out.append(entry(py, s, d)?)?;
        }
        Ok(out)
    }

    /// Walks the table: calls `callback(service_status, destinations)` for each service, in
    /// the backend's order, holding only the service list and one service's real servers at
    /// once. The walk stops when the callback returns `False`; an exception the callback raises
    /// stops it and propagates.
    fn for_each_service_with_destinations(&self, py: Python<'_>, callback: Py<PyAny>) -> PyResult<()> {
        if !callback.bind(py).is_callable() {
            return Err(PyTypeError::new_err("callback must be callable"));
        }
        let r = py.detach(|| {
            let mut g = self.lock();
            match g.as_mut() {
                None => None,
                Some(Inner::Kernel(c)) => Some(walk(c.as_mut(), &callback)),
                Some(Inner::Memory(m)) => Some(walk(m.as_mut(), &callback)),
            }
        });
        match r {
            None => Err(PyValueError::new_err("operation on a closed backend")),
            Some(Ok(()) | Err(WalkError::Stop)) => Ok(()),
            Some(Err(WalkError::Py(e))) => Err(e),
            Some(Err(WalkError::Ipvs(e))) => Err(to_pyerr(py, &e)),
        }
    }

    /// An iterator of `(ServiceStatus, [DestinationStatus])`: the service list is read once,
    /// each service's real servers when the iterator reaches it (a service deleted meanwhile is
    /// left out).
    fn iter_services_with_destinations(slf: &Bound<'_, Self>) -> PyResult<ServiceIter> {
        let services = slf.get().run(slf.py(), |b| b.services())?;
        Ok(ServiceIter { backend: slf.clone().unbind(), services: services.into_iter() })
    }

    fn __iter__(slf: &Bound<'_, Self>) -> PyResult<ServiceIter> {
        Self::iter_services_with_destinations(slf)
    }

    /// The connection timeouts.
    fn timeouts(&self, py: Python<'_>) -> PyResult<PyTimeouts> {
        self.run(py, |b| b.timeouts()).map(PyTimeouts)
    }

    /// The running sync daemons, master first.
    fn daemons<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let v = self.run(py, |b| b.daemons())?;
        PyList::new(py, v.into_iter().map(PySyncDaemon))
    }

    /// Adds a service (`ipvsadm -A`).
    fn add_service(&self, service: &Bound<'_, PyAny>) -> PyResult<()> {
        self.apply_one(service.py(), Operation::AddService(PyService::extract_any(service)?))
    }

    /// Edits a service in place (`ipvsadm -E`).
    fn edit_service(&self, service: &Bound<'_, PyAny>) -> PyResult<()> {
        self.apply_one(service.py(), Operation::EditService(PyService::extract_any(service)?))
    }

    /// Deletes a service and its real servers (`ipvsadm -D`).
    fn delete_service(&self, key: &Bound<'_, PyAny>) -> PyResult<()> {
        self.apply_one(key.py(), Operation::DeleteService(PyServiceKey::extract_any(key)?))
    }

    /// Adds a real server (`ipvsadm -a`).
    fn add_destination(&self, key: &Bound<'_, PyAny>, destination: &Bound<'_, PyAny>) -> PyResult<()> {
        let op = Operation::AddDestination(
            PyServiceKey::extract_any(key)?,
            PyDestination::extract_any(destination)?,
        );
        self.apply_one(key.py(), op)
    }

    /// Edits a real server in place (`ipvsadm -e`).
    fn edit_destination(&self, key: &Bound<'_, PyAny>, destination: &Bound<'_, PyAny>) -> PyResult<()> {
        let op = Operation::EditDestination(
            PyServiceKey::extract_any(key)?,
            PyDestination::extract_any(destination)?,
        );
        self.apply_one(key.py(), op)
    }

    /// Removes a real server (`ipvsadm -d`).
    fn delete_destination(
        &self,
        key: &Bound<'_, PyAny>,
        address: &Bound<'_, PyAny>,
        port: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let dk = DestinationKey {
            addr: ip(address, Field::DestinationAddress)?,
            port: uint(port, Field::DestinationPort, u64::from(u16::MAX))?,
        };
        self.apply_one(key.py(), Operation::DeleteDestination(PyServiceKey::extract_any(key)?, dk))
    }

    /// Deletes every service (`ipvsadm -C`).
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        self.apply_one(py, Operation::Flush)
    }

    /// Zeroes the counters of one service, or of all (`ipvsadm -Z`).
    #[pyo3(signature = (key = None))]
    fn zero(&self, py: Python<'_>, key: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let key = key.filter(|k| !k.is_none()).map(PyServiceKey::extract_any).transpose()?;
        self.apply_one(py, Operation::Zero(key))
    }

    /// Sets the timeouts; zeros leave values unchanged (`ipvsadm --set`).
    fn set_timeouts(&self, py: Python<'_>, timeouts: &PyTimeouts) -> PyResult<()> {
        self.apply_one(py, Operation::SetTimeouts(timeouts.0))
    }

    /// Starts a sync daemon (`ipvsadm --start-daemon`).
    fn start_daemon(&self, py: Python<'_>, daemon: &PySyncDaemon) -> PyResult<()> {
        self.apply_one(py, Operation::StartDaemon(daemon.0.clone()))
    }

    /// Stops a sync daemon: `"master"` or `"backup"` (`ipvsadm --stop-daemon`).
    fn stop_daemon(&self, py: Python<'_>, role: &str) -> PyResult<()> {
        self.apply_one(py, Operation::StopDaemon(crate::conv::role(role)?))
    }

    /// Carries out operations in order and returns one result per operation attempted: `None`
    /// for a success, the exception (not raised) for a failure. The kernel client sends them
    /// pipelined, many per system call. With `stop_on_error`, nothing after the first failure
    /// is attempted (and the list ends there); the kernel client then sends one per round trip.
    #[pyo3(signature = (operations, *, stop_on_error = false))]
    fn apply<'py>(
        &self,
        operations: &Bound<'py, PyAny>,
        stop_on_error: bool,
    ) -> PyResult<Bound<'py, PyList>> {
        let py = operations.py();
        let ops = PyOperation::extract_list(operations)?;
        let on_error = if stop_on_error { OnError::Stop } else { OnError::Continue };
        let results = self.run(py, move |b| Ok(b.apply_all(&ops, on_error)))?;
        results_list(py, &results)
    }

    /// The table as `ipvsadm -S` prints it (`-S -n` with `numeric`, the default; without it
    /// names are not looked up either: the output is the same).
    #[pyo3(signature = (numeric = true))]
    fn save(&self, py: Python<'_>, numeric: bool) -> PyResult<String> {
        self.run(py, move |b| Ok(list::save(&b.services_with_destinations()?, numeric, &NumericResolver)))
    }

    /// The table as `ipvsadm -L` prints it, with ipvsadm's options as keywords.
    #[pyo3(signature = (*, numeric = true, stats = false, rate = false, thresholds = false, persistent_conn = false, tun_info = false, exact = false, nosort = false))]
    #[allow(clippy::too_many_arguments)]
    fn listing(
        &self,
        py: Python<'_>,
        numeric: bool,
        stats: bool,
        rate: bool,
        thresholds: bool,
        persistent_conn: bool,
        tun_info: bool,
        exact: bool,
        nosort: bool,
    ) -> PyResult<String> {
        let f = list_format(numeric, stats, rate, thresholds, persistent_conn, tun_info, exact, nosort);
        self.run(py, move |b| {
            let info = b.info()?;
            Ok(list::list_all(&info, &b.services_with_destinations()?, &f, &NumericResolver))
        })
    }

    /// Closes the backend (a client closes its sockets). Later calls raise `ValueError`.
    fn close(&self, py: Python<'_>) {
        let old = py.detach(|| self.lock().take());
        drop(old);
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        py.detach(|| self.lock().is_none())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> bool {
        self.close(py);
        false
    }
}

/// The iterator of [`PyBackend::iter_services_with_destinations`].
#[pyclass(module = "ipvs._ipvs", name = "ServiceIterator")]
pub struct ServiceIter {
    backend: Py<PyBackend>,
    services: std::vec::IntoIter<ServiceStatus>,
}

#[pymethods]
impl ServiceIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let backend = self.backend.bind(py).get();
        for svc in self.services.by_ref() {
            let key = svc.service.key;
            let r = py.detach(|| backend.lock().as_mut().map(|i| i.backend().destinations(&key)));
            match r {
                None => return Err(PyValueError::new_err("operation on a closed backend")),
                Some(Err(Error::NotFound { object: Object::Service, .. })) => continue,
                Some(Err(e)) => return Err(to_pyerr(py, &e)),
                Some(Ok(dests)) => return entry(py, svc, dests).map(Some),
            }
        }
        Ok(None)
    }
}

// ---------------------------------------------------------------------------------------------
// Client

/// Opens the namespace handle a `netns` argument names.
fn open_netns(netns: &Bound<'_, PyAny>) -> Result<NetNs, Error> {
    if let Ok(fd) = netns.extract::<i32>() {
        if !netns.is_instance_of::<PyBool>() {
            // The caller keeps its descriptor: the handle is a descriptor of its own on the same
            // namespace file.
            let file = std::fs::File::open(format!("/proc/self/fd/{fd}"))
                .map_err(|e| Error::from(e).with_message(format!("descriptor {fd}")))?;
            return NetNs::from_fd(file.into());
        }
    }
    if let Ok(s) = netns.cast::<PyString>() {
        let s = s.to_string();
        return if s.contains('/') { NetNs::path(s) } else { NetNs::named(&s) };
    }
    match netns.extract::<std::path::PathBuf>() {
        Ok(p) => NetNs::path(p),
        Err(_) => Err(Error::os(22, "netns must be a name, a path or a file descriptor")),
    }
}

fn duration(timeout: Option<f64>) -> PyResult<Option<Duration>> {
    match timeout {
        None => Ok(None),
        Some(t) if t.is_finite() && t > 0.0 => Ok(Some(Duration::from_secs_f64(t))),
        Some(t) => Err(PyValueError::new_err(format!(
            "timeout must be a positive number of seconds or None, not {t}"
        ))),
    }
}

/// The kernel's IPVS table, over one generic-netlink socket.
#[pyclass(extends = PyBackend, frozen, module = "ipvs._ipvs", name = "Client")]
pub struct PyClient;

impl PyClient {
    fn kernel<T, F>(slf: &Bound<'_, Self>, f: F) -> PyResult<T>
    where
        T: Send,
        F: FnOnce(&mut Client) -> Result<T, Error> + Send,
    {
        slf.as_super().get().with(slf.py(), |inner| match inner {
            Inner::Kernel(c) => f(c.as_mut()),
            Inner::Memory(_) => Err(Error::NotSupported),
        })
    }
}

#[pymethods]
impl PyClient {
    /// `Client(netns=None, *, timeout=30.0, verify_dumps=True, receive_buffer=None,
    /// max_in_flight=None)`. `netns` opens the client in another network namespace without
    /// moving the calling thread: an `ip netns` name (`"blue"`), a path (a `str` with a `/` or
    /// a `PathLike`: `/proc/PID/ns/net`, `/var/run/docker/netns/ID`) or an open file descriptor
    /// (`int`, not taken over). `timeout` bounds each wait for the kernel (`None`: forever).
    #[new]
    #[pyo3(signature = (netns = None, *, timeout = Some(30.0), verify_dumps = true, receive_buffer = None, max_in_flight = None))]
    fn new(
        py: Python<'_>,
        netns: Option<&Bound<'_, PyAny>>,
        timeout: Option<f64>,
        verify_dumps: bool,
        receive_buffer: Option<usize>,
        max_in_flight: Option<usize>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let mut opts = ClientOptions::default().timeout(duration(timeout)?).verify_dumps(verify_dumps);
        if let Some(b) = receive_buffer {
            opts = opts.receive_buffer(b);
        }
        if let Some(n) = max_in_flight {
            opts = opts.max_in_flight(n);
        }
        let ns = netns.filter(|n| !n.is_none()).map(open_netns).transpose().py(py)?;
        let client = py
            .detach(move || match ns {
                Some(ns) => Client::in_netns(&ns, opts),
                None => Client::with_options(opts),
            })
            .py(py)?;
        Ok(PyClassInitializer::from(PyBackend::new(Inner::Kernel(Box::new(client)))).add_subclass(PyClient))
    }

    /// The wait for each reply, in seconds (`None`: forever).
    #[getter]
    fn timeout(slf: &Bound<'_, Self>) -> PyResult<Option<f64>> {
        Self::kernel(slf, |c| Ok(c.options().timeout.map(|d| d.as_secs_f64())))
    }

    /// Changes the wait for each reply (`None`: forever).
    fn set_timeout(slf: &Bound<'_, Self>, timeout: Option<f64>) -> PyResult<()> {
        let d = duration(timeout)?;
        Self::kernel(slf, move |c| c.set_timeout(d))
    }

    /// The most operations `apply` sends in one system call.
    #[getter]
    fn window(slf: &Bound<'_, Self>) -> PyResult<usize> {
        Self::kernel(slf, |c| Ok(c.window()))
    }

    /// The inode of the client's network namespace (as `readlink /proc/PID/ns/net` shows it).
    #[getter]
    fn netns_inode(slf: &Bound<'_, Self>) -> PyResult<Option<u64>> {
        Self::kernel(slf, |c| Ok(c.netns().map(NetNs::inode)))
    }

    /// The connection table of the client's namespace (`/proc/net/ip_vs_conn`, parsed).
    fn connections<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyList>> {
        let v = Self::kernel(slf, |c| c.connections())?;
        PyList::new(slf.py(), v.into_iter().map(PyConnection))
    }

    /// The raw text of `/proc/net/ip_vs_conn` of the client's namespace.
    fn connections_text(slf: &Bound<'_, Self>) -> PyResult<String> {
        Self::kernel(slf, |c| c.connections_text())
    }

    fn __repr__(slf: &Bound<'_, Self>) -> String {
        match Self::kernel(slf, |c| Ok(c.netns().map(NetNs::inode))) {
            Ok(Some(ino)) => format!("<ipvs.Client netns=net:[{ino}]>"),
            Ok(None) => "<ipvs.Client>".into(),
            Err(_) => "<ipvs.Client closed>".into(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// MemoryTable

/// The in-memory reference table: the kernel's rules and errors (Debian 6.1's), no kernel, no
/// privileges.
#[pyclass(extends = PyBackend, frozen, module = "ipvs._ipvs", name = "MemoryTable")]
pub struct PyMemoryTable;

#[pymethods]
impl PyMemoryTable {
    /// `MemoryTable(*, schedulers=None)`: `schedulers` lists the scheduler names that can be
    /// bound (default: Debian 6.1's kernel, every in-tree scheduler but `twos`).
    #[new]
    #[pyo3(signature = (*, schedulers = None))]
    fn new(schedulers: Option<Vec<String>>) -> PyClassInitializer<Self> {
        let mut config = TableConfig::default();
        if let Some(names) = schedulers {
            config.schedulers = names.iter().map(|n| Scheduler::from(n.as_str())).collect();
        }
        PyClassInitializer::from(PyBackend::new(Inner::Memory(Box::new(MemoryBackend::with_config(config)))))
            .add_subclass(PyMemoryTable)
    }

    fn __repr__(&self) -> &'static str {
        "<ipvs.MemoryTable>"
    }
}
