//! The scheduler simulator: `Simulator` and `Outcome`.

use ipvs_core::sim::{ConnState, DropReason, Flow, Outcome, Segment, Simulator, TemplateUse};
use ipvs_core::table::TableConfig;
use ipvs_core::{Field, Protocol, Scheduler};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::conv::{self, endpoint, ip_str, q};
use crate::error::IntoPy;
use crate::model::{PyDestinationStatus, PyServiceKey};
use crate::ops::PyOperation;

fn segment(s: &str) -> PyResult<Segment> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "open" => Segment::Open,
        "syn" => Segment::Syn,
        "ack" => Segment::Ack,
        "fin" => Segment::Fin,
        "rst" => Segment::Rst,
        _ => {
            return Err(PyValueError::new_err(format!(
                "segment: expected open, syn, ack, fin or rst, not {s:?}"
            )))
        }
    })
}

/// What happened to one flow event in the simulator.
#[pyclass(frozen, eq, module = "ipvs._ipvs", name = "Outcome")]
#[derive(Clone, PartialEq, Eq)]
pub struct PyOutcome(pub Outcome);

#[pymethods]
impl PyOutcome {
    /// `"new"` (a connection was scheduled), `"existing"` (it matched a live connection),
    /// `"not_for_ipvs"` (no service matched), `"not_scheduled"` (a service matched but the
    /// packet may not create a connection), `"no_destination"`, or `"dropped"`.
    #[getter]
    fn kind(&self) -> &'static str {
        match &self.0 {
            Outcome::New { .. } => "new",
            Outcome::Existing { .. } => "existing",
            Outcome::NotForIpvs => "not_for_ipvs",
            Outcome::NotScheduled => "not_scheduled",
            Outcome::NoDestination { .. } => "no_destination",
            Outcome::Dropped(_) => "dropped",
        }
    }

    /// `(address, port)` of the real server the flow reached, if any.
    #[getter]
    fn destination(&self) -> Option<(String, u16)> {
        self.0.dest().map(|d| (ip_str(&d.addr), d.port))
    }

    /// `(address, port)` packets are forwarded to, if any.
    #[getter]
    fn forward_to(&self) -> Option<(String, u16)> {
        match &self.0 {
            Outcome::New { forward_to, .. } | Outcome::Existing { forward_to, .. } => {
                Some((ip_str(&forward_to.ip()), forward_to.port()))
            }
            _ => None,
        }
    }

    /// The service that scheduled (or failed to schedule) a new connection.
    #[getter]
    fn service(&self) -> Option<PyServiceKey> {
        match &self.0 {
            Outcome::New { service, .. } | Outcome::NoDestination { service } => Some(PyServiceKey(*service)),
            _ => None,
        }
    }

    /// For a new connection: `"none"` (not persistent), `"created"` or `"reused"` (a
    /// persistence template decided the real server).
    #[getter]
    fn template(&self) -> Option<&'static str> {
        match &self.0 {
            Outcome::New { template, .. } => Some(match template {
                TemplateUse::None => "none",
                TemplateUse::Created => "created",
                TemplateUse::Reused => "reused",
            }),
            _ => None,
        }
    }

    /// Why a packet was dropped: `"dest_unavailable"` or `"persistence_engine"`.
    #[getter]
    fn reason(&self) -> Option<&'static str> {
        match &self.0 {
            Outcome::Dropped(DropReason::DestUnavailable) => Some("dest_unavailable"),
            Outcome::Dropped(DropReason::PersistenceEngine) => Some("persistence_engine"),
            _ => None,
        }
    }

    fn __repr__(&self) -> String {
        let mut out = format!("<Outcome {}", self.kind());
        if let Some((a, p)) = self.destination() {
            out.push_str(&format!(
                " destination={}",
                q(&if a.contains(':') { format!("[{a}]:{p}") } else { format!("{a}:{p}") })
            ));
        }
        if let Some(t) = self.template() {
            out.push_str(&format!(" template={t}"));
        }
        if let Some(r) = self.reason() {
            out.push_str(&format!(" reason={r}"));
        }
        out.push('>');
        out
    }
}

/// A deterministic IPVS director: the in-memory table plus the kernel's connection table,
/// persistence templates and timers. Time is an input (seconds, never read from a clock).
#[pyclass(module = "ipvs._ipvs", name = "Simulator")]
pub struct PySimulator(Simulator);

#[pymethods]
impl PySimulator {
    /// `Simulator(*, seed=0, schedulers=None)`: `seed` drives the random choices (`twos`);
    /// `schedulers` lists the names that can be bound (default: Debian 6.1's kernel).
    #[new]
    #[pyo3(signature = (*, seed = 0, schedulers = None))]
    fn new(seed: u64, schedulers: Option<Vec<String>>) -> Self {
        let mut config = TableConfig::default();
        if let Some(names) = schedulers {
            config.schedulers = names.iter().map(|n| Scheduler::from(n.as_str())).collect();
        }
        PySimulator(Simulator::new(config, seed))
    }

    /// The simulated time, in seconds.
    #[getter]
    fn now(&self) -> f64 {
        conv::seconds(self.0.now())
    }

    /// Applies a configuration change at time `at` (default: now), after letting time pass to
    /// it. Raises the error the kernel would.
    #[pyo3(signature = (operation, *, at = None))]
    fn apply(
        &mut self,
        py: Python<'_>,
        operation: &PyOperation,
        at: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let t = match at {
            Some(a) => conv::time(a)?,
            None => self.0.now(),
        };
        self.0.apply(t, &operation.0).py(py)
    }

    /// Lets time pass to `at` (seconds), firing every timer due.
    fn advance(&mut self, at: &Bound<'_, PyAny>) -> PyResult<()> {
        self.0.advance(conv::time(at)?);
        Ok(())
    }

    /// One flow event: a packet (for TCP `segment="open"`, a SYN and its ACK) from `client` to
    /// `vip` (each `"ADDRESS:PORT"` or `(address, port)`) at time `at` (default: now).
    #[pyo3(signature = (protocol, client, vip, *, at = None, fwmark = 0, segment = "open", bytes = 0, call_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn flow(
        &mut self,
        protocol: &Bound<'_, PyAny>,
        client: &Bound<'_, PyAny>,
        vip: &Bound<'_, PyAny>,
        at: Option<&Bound<'_, PyAny>>,
        fwmark: u32,
        segment: &str,
        bytes: u32,
        call_id: Option<String>,
    ) -> PyResult<PyOutcome> {
        let proto = conv::protocol(protocol)?;
        if matches!(proto, Protocol::Other(_)) {
            return Err(crate::error::invalid(protocol.py(), Field::Protocol, "a flow is tcp, udp or sctp"));
        }
        let t = match at {
            Some(a) => conv::time(a)?,
            None => self.0.now(),
        };
        let mut f = Flow::new(
            t,
            proto,
            endpoint(client, Field::ServiceAddress)?,
            endpoint(vip, Field::ServiceAddress)?,
        )
        .with_mark(fwmark)
        .with_segment(self::segment(segment)?);
        f.bytes = bytes;
        if let Some(id) = call_id {
            f = f.with_call_id(id);
        }
        Ok(PyOutcome(self.0.flow(&f)))
    }

    /// The real servers of a service with their connection counters and statistics, newest
    /// first (what `ipvsadm -L -n --stats` would show).
    fn distribution<'py>(&self, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        let k = PyServiceKey::extract_any(key)?;
        PyList::new(key.py(), self.0.distribution(&k).into_iter().map(PyDestinationStatus))
    }

    /// Every live connection and template, oldest first, as dictionaries: `protocol`,
    /// `client`, `vip`, `destination`, `forward_to` (each `(address, port)`), `state`,
    /// `expires` (seconds), `hashed`.
    fn connections<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        for c in self.0.connections() {
            let d = PyDict::new(py);
            let ep = |a: std::net::SocketAddr| (ip_str(&a.ip()), a.port());
            d.set_item("protocol", conv::protocol_name(c.protocol))?;
            d.set_item("client", ep(c.client))?;
            d.set_item("vip", ep(c.vip))?;
            d.set_item("destination", (ip_str(&c.dest.addr), c.dest.port))?;
            d.set_item("forward_to", ep(c.forward_to))?;
            let state = match c.state {
                ConnState::Tcp(s) => format!("{s:?}").to_ascii_uppercase(),
                ConnState::Udp => "UDP".into(),
                ConnState::Sctp { established: true } => "ESTABLISHED".into(),
                ConnState::Sctp { established: false } => "CLOSED".into(),
                ConnState::Template => "TEMPLATE".into(),
            };
            d.set_item("state", state)?;
            d.set_item("expires", conv::seconds(c.expires))?;
            d.set_item("hashed", c.hashed)?;
            out.append(d)?;
        }
        Ok(out)
    }

    /// Outcome counts so far: `new`, `existing`, `via_template`, `not_for_ipvs`,
    /// `not_scheduled`, `no_destination`, `dropped`.
    #[getter]
    fn tally<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let t = self.0.tally();
        let d = PyDict::new(py);
        d.set_item("new", t.new)?;
        d.set_item("existing", t.existing)?;
        d.set_item("via_template", t.via_template)?;
        d.set_item("not_for_ipvs", t.not_for_ipvs)?;
        d.set_item("not_scheduled", t.not_scheduled)?;
        d.set_item("no_destination", t.no_destination)?;
        d.set_item("dropped", t.dropped)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!("<ipvs.Simulator now={}s>", conv::seconds(self.0.now()))
    }
}
