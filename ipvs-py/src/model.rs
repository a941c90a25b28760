//! The value classes: frozen wrappers of the core's model types, with constructors that
//! validate with the core's rules, `repr` in constructor form, `==`, `hash`, `replace` and
//! `to_dict`/`from_dict`.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use ipvs_core::ipvsadm::conn::{ConnProtocol, Connection, PeData};
use ipvs_core::{
    AddressFamily, Destination, DestinationStatus, Field, Info, InterfaceName, PeName, Scheduler, Service,
    ServiceFlags, ServiceKey, ServiceStatus, Stats, SyncDaemon, Timeouts, Tunnel, TunnelFlags,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::conv::{self, check_keys, ip, ip_str, optional, q, required, uint, uint_v};
use crate::error::{invalid, IntoPy};

fn hash_of<T: Hash>(v: &T) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

/// Applies `changes` over `base` (both keyword dictionaries of a constructor).
fn merged<'py>(
    base: Bound<'py, PyDict>,
    changes: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyDict>> {
    if let Some(c) = changes {
        base.update(c.as_mapping())?;
    }
    Ok(base)
}

// ---------------------------------------------------------------------------------------------
// ServiceKey

/// What identifies a virtual service: protocol, address and port, or firewall mark and family.
#[pyclass(frozen, eq, hash, module = "ipvs._ipvs", name = "ServiceKey")]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PyServiceKey(pub ServiceKey);

impl PyServiceKey {
    /// A key from a Python object: a `ServiceKey` or its `to_dict()` form.
    pub(crate) fn extract_any(obj: &Bound<'_, PyAny>) -> PyResult<ServiceKey> {
        if let Ok(k) = obj.cast::<PyServiceKey>() {
            return Ok(k.get().0);
        }
        if let Ok(d) = obj.cast::<PyDict>() {
            return Self::from_dict(d).map(|k| k.0);
        }
        Err(pyo3::exceptions::PyTypeError::new_err("expected a ServiceKey (or its to_dict() form)"))
    }

    fn checked(py: Python<'_>, key: ServiceKey) -> PyResult<Self> {
        key.validate_lookup().py(py)?;
        Ok(PyServiceKey(key))
    }
}

#[pymethods]
impl PyServiceKey {
    /// `ServiceKey(protocol, address, port)`: `protocol` is `"tcp"`, `"udp"`, `"sctp"` or a
    /// number; port 0 is the all-ports service (persistent only).
    #[new]
    fn new(
        protocol: &Bound<'_, PyAny>,
        address: &Bound<'_, PyAny>,
        port: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let key = ServiceKey::Addr {
            protocol: conv::protocol(protocol)?,
            addr: ip(address, Field::ServiceAddress)?,
            port: uint(port, Field::ServicePort, u64::from(u16::MAX))?,
        };
        Self::checked(protocol.py(), key)
    }

    /// A TCP service key.
    #[staticmethod]
    fn tcp(address: &Bound<'_, PyAny>, port: &Bound<'_, PyAny>) -> PyResult<Self> {
        Self::new(&PyString::new(address.py(), "tcp").into_any(), address, port)
    }

    /// A UDP service key.
    #[staticmethod]
    fn udp(address: &Bound<'_, PyAny>, port: &Bound<'_, PyAny>) -> PyResult<Self> {
        Self::new(&PyString::new(address.py(), "udp").into_any(), address, port)
    }

    /// An SCTP service key.
    #[staticmethod]
    fn sctp(address: &Bound<'_, PyAny>, port: &Bound<'_, PyAny>) -> PyResult<Self> {
        Self::new(&PyString::new(address.py(), "sctp").into_any(), address, port)
    }

    /// A firewall-mark service key (`-f MARK`, with `-6` when `ipv6`).
    #[staticmethod]
    #[pyo3(signature = (mark, ipv6 = false))]
    fn fwmark(mark: &Bound<'_, PyAny>, ipv6: bool) -> PyResult<Self> {
        let family = if ipv6 { AddressFamily::Inet6 } else { AddressFamily::Inet };
        let key = ServiceKey::Fwmark { mark: uint(mark, Field::Fwmark, u64::from(u32::MAX))?, family };
        Self::checked(mark.py(), key)
    }

    /// `"tcp"`, `"udp"`, `"sctp"` (or a number) for an address key, `None` for a fwmark key.
    #[getter]
    fn protocol(&self) -> Option<String> {
        match self.0 {
            ServiceKey::Addr { protocol, .. } => Some(conv::protocol_name(protocol)),
            ServiceKey::Fwmark { .. } => None,
        }
    }

    /// The virtual address, `None` for a fwmark key.
    #[getter]
    fn address(&self) -> Option<String> {
        match &self.0 {
            ServiceKey::Addr { addr, .. } => Some(ip_str(addr)),
            ServiceKey::Fwmark { .. } => None,
        }
    }

    /// The virtual port (0 for a fwmark key).
    #[getter]
    fn port(&self) -> u16 {
        self.0.port()
    }

    /// The firewall mark, `None` for an address key.
    #[getter]
    fn mark(&self) -> Option<u32> {
        match self.0 {
            ServiceKey::Fwmark { mark, .. } => Some(mark),
            ServiceKey::Addr { .. } => None,
        }
    }

    /// 4 or 6.
    #[getter]
    fn family(&self) -> u8 {
        match self.0.family() {
            AddressFamily::Inet => 4,
            AddressFamily::Inet6 => 6,
        }
    }

    /// The key as a dictionary (`{"protocol", "address", "port"}` or `{"fwmark", "ipv6"}`).
    pub(crate) fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        match &self.0 {
            ServiceKey::Addr { protocol, addr, port } => {
                d.set_item("protocol", conv::protocol_name(*protocol))?;
                d.set_item("address", ip_str(addr))?;
                d.set_item("port", *port)?;
            }
            ServiceKey::Fwmark { mark, family } => {
                d.set_item("fwmark", *mark)?;
                d.set_item("ipv6", *family == AddressFamily::Inet6)?;
            }
        }
        Ok(d)
    }

    /// The key of a [`to_dict`] dictionary.
    #[staticmethod]
    pub(crate) fn from_dict(d: &Bound<'_, PyDict>) -> PyResult<Self> {
        if d.contains("fwmark")? {
            check_keys(d, "ServiceKey", &["fwmark", "ipv6"])?;
            let ipv6 = match optional(d, "ipv6")? {
                Some(v) => v.extract()?,
                None => false,
            };
            return Self::fwmark(&required(d, "ServiceKey", "fwmark")?, ipv6);
        }
        check_keys(d, "ServiceKey", &["protocol", "address", "port"])?;
        Self::new(
            &required(d, "ServiceKey", "protocol")?,
            &required(d, "ServiceKey", "address")?,
            &required(d, "ServiceKey", "port")?,
        )
    }

    /// The same key with some fields changed (the [`to_dict`] names).
    #[pyo3(signature = (**changes))]
    fn replace(&self, py: Python<'_>, changes: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        Self::from_dict(&merged(self.to_dict(py)?, changes)?)
    }

    pub(crate) fn __repr__(&self) -> String {
        match &self.0 {
            ServiceKey::Addr { protocol, addr, port } => match protocol {
                ipvs_core::Protocol::Tcp | ipvs_core::Protocol::Udp | ipvs_core::Protocol::Sctp => {
                    format!("ServiceKey.{}({}, {port})", conv::protocol_name(*protocol), q(&ip_str(addr)))
                }
                other => format!("ServiceKey({}, {}, {port})", other.to_raw(), q(&ip_str(addr))),
            },
            ServiceKey::Fwmark { mark, family: AddressFamily::Inet } => format!("ServiceKey.fwmark({mark})"),
            ServiceKey::Fwmark { mark, family: AddressFamily::Inet6 } => {
                format!("ServiceKey.fwmark({mark}, ipv6=True)")
            }
        }
    }

    /// ipvsadm's notation: `-t 10.1.2.3:80`, `-f 5 -6`.
    fn __str__(&self) -> String {
        self.0.to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// Service

/// A virtual service's configuration (what `ipvsadm -A`/`-E` sets).
#[pyclass(frozen, eq, hash, module = "ipvs._ipvs", name = "Service")]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PyService(pub Service);

impl PyService {
    /// A service as Python shows it: the kernel's own HASHED bit dropped.
    pub(crate) fn from_core(mut s: Service) -> Self {
        s.flags.remove(ServiceFlags::HASHED);
        PyService(s)
    }

    pub(crate) fn extract_any(obj: &Bound<'_, PyAny>) -> PyResult<Service> {
        if let Ok(s) = obj.cast::<PyService>() {
            return Ok(s.get().0.clone());
        }
        if let Ok(s) = obj.cast::<PyServiceStatus>() {
            return Ok(s.get().0.service.clone());
        }
        if let Ok(d) = obj.cast::<PyDict>() {
            return Self::from_dict(d).map(|s| s.0);
        }
        Err(pyo3::exceptions::PyTypeError::new_err("expected a Service (or its to_dict() form)"))
    }
}

#[pymethods]
impl PyService {
    /// `Service(key, scheduler="wlc", *, persistent=False, timeout=None, netmask=None, pe=None,
    /// flags=0)`. `timeout` defaults to 360 s for a persistent service (ipvsadm's `-p`), 0
    /// otherwise. `flags` adds service flag bits (`ServiceFlags.ONEPACKET`, the scheduler flags).
    #[new]
    #[pyo3(signature = (key, scheduler = "wlc", *, persistent = false, timeout = None, netmask = None, pe = None, flags = 0))]
    fn new(
        key: &Bound<'_, PyAny>,
        scheduler: &str,
        persistent: bool,
        timeout: Option<&Bound<'_, PyAny>>,
        netmask: Option<&Bound<'_, PyAny>>,
        pe: Option<&str>,
        flags: i128,
    ) -> PyResult<Self> {
        let py = key.py();
        let key = PyServiceKey::extract_any(key)?;
        let flags: u32 = uint_v(py, flags, Field::Flags, u64::from(u32::MAX))?;
        let flags = ServiceFlags::from_bits_retain(flags);
        let persistent = persistent || flags.contains(ServiceFlags::PERSISTENT);
        let timeout: u32 = match timeout.filter(|t| !t.is_none()) {
            Some(t) => uint(t, Field::PersistenceTimeout, u64::from(u32::MAX))?,
            None if persistent => Service::DEFAULT_TIMEOUT,
            None => 0,
        };
        let mut s = Service::new(key).with_scheduler(Scheduler::from(scheduler));
        s.flags = flags;
        if persistent {
            s.flags |= ServiceFlags::PERSISTENT;
        }
        s.timeout = timeout;
        s.netmask = conv::netmask(netmask, key.family())?;
        if let Some(pe) = pe {
            s = s.with_pe(PeName::new(pe).py(py)?);
        }
        s.validate().py(py)?;
        Ok(PyService(s))
    }

    /// The service's key.
    #[getter]
    fn key(&self) -> PyServiceKey {
        PyServiceKey(self.0.key)
    }

    /// The scheduler's name (`"wrr"`, ...; `"none"` when none is bound).
    #[getter]
    fn scheduler(&self) -> String {
        self.0.scheduler.name().to_owned()
    }

    /// Whether the service is persistent (`-p`).
    #[getter]
    fn persistent(&self) -> bool {
        self.0.is_persistent()
    }

    /// The persistence timeout in seconds.
    #[getter]
    fn timeout(&self) -> u32 {
        self.0.timeout
    }

    /// The persistence netmask (`"255.255.255.0"`, or a prefix length `"64"` for IPv6), `None`
    /// for the family's default (every client on its own).
    #[getter]
    fn netmask(&self) -> Option<String> {
        (!self.0.netmask.is_full()).then(|| self.0.netmask.to_string())
    }

    /// The persistence engine (`"sip"`), if any.
    #[getter]
    fn pe(&self) -> Option<String> {
        self.0.pe_name.as_ref().map(|p| p.as_str().to_owned())
    }

    /// The service flag bits (`ServiceFlags`), persistence included.
    #[getter]
    fn flags(&self) -> u32 {
        self.0.flags.bits()
    }

    /// Whether one-packet scheduling is on (`-o`).
    #[getter]
    fn one_packet(&self) -> bool {
        self.0.flags.contains(ServiceFlags::ONEPACKET)
    }

    /// The scheduler flags as ipvsadm's `-b` argument (`"sh-fallback,sh-port"`), `""` if none.
    #[getter]
    fn sched_flags(&self) -> String {
        self.0.flags.sched_flags_arg(&self.0.scheduler)
    }

    pub(crate) fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = self.kwargs(py)?;
        d.set_item("key", self.key().to_dict(py)?)?;
        Ok(d)
    }

    #[staticmethod]
    pub(crate) fn from_dict(d: &Bound<'_, PyDict>) -> PyResult<Self> {
        const KEYS: &[&str] = &["key", "scheduler", "persistent", "timeout", "netmask", "pe", "flags"];
        check_keys(d, "Service", KEYS)?;
        let py = d.py();
        let scheduler: String = match optional(d, "scheduler")? {
            Some(s) => s.extract()?,
            None => "wlc".into(),
        };
        let persistent: bool = match optional(d, "persistent")? {
            Some(p) => p.extract()?,
            None => false,
        };
        let pe: Option<String> = optional(d, "pe")?.map(|p| p.extract()).transpose()?;
        let flags: i128 = optional(d, "flags")?.map_or(Ok(0), |f| f.extract())?;
        let _ = py;
        Self::new(
            &required(d, "Service", "key")?,
            &scheduler,
            persistent,
            optional(d, "timeout")?.as_ref(),
            optional(d, "netmask")?.as_ref(),
            pe.as_deref(),
            flags,
        )
    }

    #[pyo3(signature = (**changes))]
    fn replace(&self, py: Python<'_>, changes: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        Self::from_dict(&merged(self.kwargs(py)?, changes)?)
    }

    pub(crate) fn __repr__(&self) -> String {
        let s = &self.0;
        let mut out = format!("Service({}, {}", self.key().__repr__(), q(s.scheduler.name()));
        if s.is_persistent() {
            out.push_str(&format!(", persistent=True, timeout={}", s.timeout));
        } else if s.timeout != 0 {
            out.push_str(&format!(", timeout={}", s.timeout));
        }
        if let Some(m) = self.netmask() {
            out.push_str(&format!(", netmask={}", q(&m)));
        }
        if let Some(pe) = self.pe() {
            out.push_str(&format!(", pe={}", q(&pe)));
        }
        let extra = (s.flags - ServiceFlags::PERSISTENT).bits();
        if extra != 0 {
            out.push_str(&format!(", flags={extra:#x}"));
        }
        out.push(')');
        out
    }

    /// The service as an `ipvsadm -S -n` line (`-A -t 10.0.0.1:80 -s wrr -p 360`).
    fn __str__(&self) -> String {
        self.0.to_string()
    }
}

impl PyService {
    fn kwargs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("key", self.key())?;
        d.set_item("scheduler", self.scheduler())?;
        d.set_item("persistent", self.persistent())?;
        // A non-persistent service's timeout of 0 is the default: left out, so that
        // `replace(persistent=True)` gets ipvsadm's default timeout.
        if self.persistent() || self.0.timeout != 0 {
            d.set_item("timeout", self.0.timeout)?;
        } else {
            d.set_item("timeout", py.None())?;
        }
        d.set_item("netmask", self.netmask())?;
        d.set_item("pe", self.pe())?;
        d.set_item("flags", (self.0.flags - ServiceFlags::PERSISTENT).bits())?;
        Ok(d)
    }
}

// ---------------------------------------------------------------------------------------------
// Destination

/// A real server's configuration (what `ipvsadm -a`/`-e` sets).
#[pyclass(frozen, eq, hash, module = "ipvs._ipvs", name = "Destination")]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PyDestination(pub Destination);

impl PyDestination {
    pub(crate) fn extract_any(obj: &Bound<'_, PyAny>) -> PyResult<Destination> {
        if let Ok(s) = obj.cast::<PyDestination>() {
            return Ok(s.get().0.clone());
        }
        if let Ok(s) = obj.cast::<PyDestinationStatus>() {
            return Ok(s.get().0.dest.clone());
        }
        if let Ok(d) = obj.cast::<PyDict>() {
            return Self::from_dict(d).map(|s| s.0);
        }
        Err(pyo3::exceptions::PyTypeError::new_err("expected a Destination (or its to_dict() form)"))
    }
}

#[pymethods]
impl PyDestination {
    /// `Destination(address, port, forward="route", weight=1, *, upper_threshold=0,
    /// lower_threshold=0, tunnel_type="ipip", tunnel_port=0, tunnel_flags=0)`. `forward` takes
    /// ipvsadm's and ldirectord's spellings: `"masq"` (`"nat"`, `"m"`), `"route"` (`"gate"`,
    /// `"dr"`, `"g"`), `"tunnel"` (`"ipip"`, `"i"`), `"local"`.
    #[new]
    #[pyo3(signature = (address, port, forward = "route", weight = None, *, upper_threshold = None, lower_threshold = None, tunnel_type = "ipip", tunnel_port = None, tunnel_flags = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        address: &Bound<'_, PyAny>,
        port: &Bound<'_, PyAny>,
        forward: &str,
        weight: Option<&Bound<'_, PyAny>>,
        upper_threshold: Option<&Bound<'_, PyAny>>,
        lower_threshold: Option<&Bound<'_, PyAny>>,
        tunnel_type: &str,
        tunnel_port: Option<&Bound<'_, PyAny>>,
        tunnel_flags: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let py = address.py();
        let u32_of = |o: Option<&Bound<'_, PyAny>>, field, default: u32| -> PyResult<u32> {
            o.map_or(Ok(default), |o| uint(o, field, u64::from(u32::MAX)))
        };
        let addr = ip(address, Field::DestinationAddress)?;
        let port: u16 = uint(port, Field::DestinationPort, u64::from(u16::MAX))?;
        let mut d = Destination::new(std::net::SocketAddr::new(addr, port))
            .with_forward(conv::forward(py, forward)?)
            .with_weight(u32_of(weight, Field::Weight, 1)?)
            .with_thresholds(
                u32_of(upper_threshold, Field::UpperThreshold, 0)?,
                u32_of(lower_threshold, Field::LowerThreshold, 0)?,
            );
        let mut t = Tunnel::ipip();
        t.kind = conv::tunnel_type(py, tunnel_type)?;
        t.port = tunnel_port.map_or(Ok(0), |o| uint(o, Field::TunnelPort, u64::from(u16::MAX)))?;
        let bits: u16 = tunnel_flags.map_or(Ok(0), |o| uint(o, Field::TunnelFlags, u64::from(u16::MAX)))?;
        d = d.with_tunnel(t.with_flags(TunnelFlags::from_bits_retain(bits)));
        d.validate().py(py)?;
        Ok(PyDestination(d))
    }

    /// The real server's address.
    #[getter]
    fn address(&self) -> String {
        ip_str(&self.0.addr)
    }

    /// The real server's port.
    #[getter]
    fn port(&self) -> u16 {
        self.0.port
    }

    /// `(address, port)`: what identifies the real server within its service.
    #[getter]
    fn key(&self) -> (String, u16) {
        (self.address(), self.0.port)
    }

    /// 4 or 6.
    #[getter]
    fn family(&self) -> u8 {
        if self.0.addr.is_ipv4() {
            4
        } else {
            6
        }
    }

    /// `"masq"`, `"route"`, `"tunnel"`, `"local"`, `"bypass"` (or a number).
    #[getter]
    fn forward(&self) -> String {
        conv::forward_name(self.0.forward)
    }

    /// The weight (0: no new connections).
    #[getter]
    fn weight(&self) -> u32 {
        self.0.weight
    }

    /// The upper connection threshold (0: none).
    #[getter]
    fn upper_threshold(&self) -> u32 {
        self.0.upper_threshold
    }

    /// The lower connection threshold (0: 3/4 of the upper one).
    #[getter]
    fn lower_threshold(&self) -> u32 {
        self.0.lower_threshold
    }

    /// `"ipip"`, `"gue"` or `"gre"`.
    #[getter]
    fn tunnel_type(&self) -> String {
        conv::tunnel_type_name(self.0.tunnel.kind)
    }

    /// The GUE port (0 otherwise).
    #[getter]
    fn tunnel_port(&self) -> u16 {
        self.0.tunnel.port
    }

    /// The tunnel checksum flags (`TunnelFlags`: 0 none, 1 csum, 2 remcsum).
    #[getter]
    fn tunnel_flags(&self) -> u16 {
        self.0.tunnel.flags.bits()
    }

    pub(crate) fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.kwargs(py)
    }

    #[staticmethod]
    pub(crate) fn from_dict(d: &Bound<'_, PyDict>) -> PyResult<Self> {
        const KEYS: &[&str] = &[
            "address",
            "port",
            "forward",
            "weight",
            "upper_threshold",
            "lower_threshold",
            "tunnel_type",
            "tunnel_port",
            "tunnel_flags",
        ];
        check_keys(d, "Destination", KEYS)?;
        let forward: String = optional(d, "forward")?.map_or(Ok("route".to_owned()), |v| v.extract())?;
        let tt: String = optional(d, "tunnel_type")?.map_or(Ok("ipip".to_owned()), |v| v.extract())?;
        Self::new(
            &required(d, "Destination", "address")?,
            &required(d, "Destination", "port")?,
            &forward,
            optional(d, "weight")?.as_ref(),
            optional(d, "upper_threshold")?.as_ref(),
            optional(d, "lower_threshold")?.as_ref(),
            &tt,
            optional(d, "tunnel_port")?.as_ref(),
            optional(d, "tunnel_flags")?.as_ref(),
        )
    }

    #[pyo3(signature = (**changes))]
    fn replace(&self, py: Python<'_>, changes: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        Self::from_dict(&merged(self.kwargs(py)?, changes)?)
    }

    pub(crate) fn __repr__(&self) -> String {
        let d = &self.0;
        let mut out =
            format!("Destination({}, {}, {}, {}", q(&self.address()), d.port, q(&self.forward()), d.weight);
        if d.upper_threshold != 0 {
            out.push_str(&format!(", upper_threshold={}", d.upper_threshold));
        }
        if d.lower_threshold != 0 {
            out.push_str(&format!(", lower_threshold={}", d.lower_threshold));
        }
        if d.tunnel.kind != ipvs_core::TunnelType::Ipip {
            out.push_str(&format!(", tunnel_type={}", q(&self.tunnel_type())));
        }
        if d.tunnel.port != 0 {
            out.push_str(&format!(", tunnel_port={}", d.tunnel.port));
        }
        if !d.tunnel.flags.is_empty() {
            out.push_str(&format!(", tunnel_flags={}", d.tunnel.flags.bits()));
        }
        out.push(')');
        out
    }

    /// The real server as the tail of an `ipvsadm -S -n` line (`-r 192.168.1.10:80 -m -w 1`).
    fn __str__(&self) -> String {
        self.0.to_string()
    }
}

impl PyDestination {
    fn kwargs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("address", self.address())?;
        d.set_item("port", self.0.port)?;
        d.set_item("forward", self.forward())?;
        d.set_item("weight", self.0.weight)?;
        d.set_item("upper_threshold", self.0.upper_threshold)?;
        d.set_item("lower_threshold", self.0.lower_threshold)?;
        d.set_item("tunnel_type", self.tunnel_type())?;
        d.set_item("tunnel_port", self.0.tunnel.port)?;
        d.set_item("tunnel_flags", self.0.tunnel.flags.bits())?;
        Ok(d)
    }
}

// ---------------------------------------------------------------------------------------------
// Stats

const STAT_FIELDS: [&str; 10] = [
    "conns",
    "in_packets",
    "out_packets",
    "in_bytes",
    "out_bytes",
    "cps",
    "in_pps",
    "out_pps",
    "in_bps",
    "out_bps",
];

/// Counters (since the last zeroing) and rates (per second, the kernel's 2-second estimator),
/// all 64-bit.
#[pyclass(frozen, eq, hash, module = "ipvs._ipvs", name = "Stats")]
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct PyStats(pub Stats);

impl PyStats {
    fn values(&self) -> [u64; 10] {
        let s = &self.0;
        [
            s.conns,
            s.in_packets,
            s.out_packets,
            s.in_bytes,
            s.out_bytes,
            s.cps,
            s.in_pps,
            s.out_pps,
            s.in_bps,
            s.out_bps,
        ]
    }

    pub(crate) fn extract_opt(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Stats> {
        match obj.filter(|o| !o.is_none()) {
            None => Ok(Stats::default()),
            Some(o) => {
                if let Ok(s) = o.cast::<PyStats>() {
                    return Ok(s.get().0);
                }
                let d = o.cast::<PyDict>()?;
                Ok(Self::from_dict(d)?.0)
            }
        }
    }
}

#[pymethods]
impl PyStats {
    #[new]
    #[pyo3(signature = (*, conns = 0, in_packets = 0, out_packets = 0, in_bytes = 0, out_bytes = 0, cps = 0, in_pps = 0, out_pps = 0, in_bps = 0, out_bps = 0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        conns: u64,
        in_packets: u64,
        out_packets: u64,
        in_bytes: u64,
        out_bytes: u64,
        cps: u64,
        in_pps: u64,
        out_pps: u64,
        in_bps: u64,
        out_bps: u64,
    ) -> Self {
        let mut s = Stats::default();
        s.conns = conns;
        s.in_packets = in_packets;
        s.out_packets = out_packets;
        s.in_bytes = in_bytes;
        s.out_bytes = out_bytes;
        s.cps = cps;
        s.in_pps = in_pps;
        s.out_pps = out_pps;
        s.in_bps = in_bps;
        s.out_bps = out_bps;
        PyStats(s)
    }

    /// Connections scheduled.
    #[getter]
    fn conns(&self) -> u64 {
        self.0.conns
    }
    /// Packets in.
    #[getter]
    fn in_packets(&self) -> u64 {
        self.0.in_packets
    }
    /// Packets out.
    #[getter]
    fn out_packets(&self) -> u64 {
        self.0.out_packets
    }
    /// Bytes in.
    #[getter]
    fn in_bytes(&self) -> u64 {
        self.0.in_bytes
    }
    /// Bytes out.
    #[getter]
    fn out_bytes(&self) -> u64 {
        self.0.out_bytes
    }
    /// Connections per second.
    #[getter]
    fn cps(&self) -> u64 {
        self.0.cps
    }
    /// Packets in per second.
    #[getter]
    fn in_pps(&self) -> u64 {
        self.0.in_pps
    }
    /// Packets out per second.
    #[getter]
    fn out_pps(&self) -> u64 {
        self.0.out_pps
    }
    /// Bytes in per second.
    #[getter]
    fn in_bps(&self) -> u64 {
        self.0.in_bps
    }
    /// Bytes out per second.
    #[getter]
    fn out_bps(&self) -> u64 {
        self.0.out_bps
    }

    pub(crate) fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in STAT_FIELDS.iter().zip(self.values()) {
            d.set_item(*k, v)?;
        }
        Ok(d)
    }

    #[staticmethod]
    pub(crate) fn from_dict(d: &Bound<'_, PyDict>) -> PyResult<Self> {
        check_keys(d, "Stats", &STAT_FIELDS)?;
        let mut v = [0u64; 10];
        for (slot, k) in v.iter_mut().zip(STAT_FIELDS) {
            if let Some(x) = optional(d, k)? {
                *slot = x.extract()?;
            }
        }
        let [conns, in_packets, out_packets, in_bytes, out_bytes, cps, in_pps, out_pps, in_bps, out_bps] = v;
        Ok(Self::new(
            conns,
            in_packets,
            out_packets,
            in_bytes,
            out_bytes,
            cps,
            in_pps,
            out_pps,
            in_bps,
            out_bps,
        ))
    }

    #[pyo3(signature = (**changes))]
    fn replace(&self, py: Python<'_>, changes: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        Self::from_dict(&merged(self.to_dict(py)?, changes)?)
    }

    pub(crate) fn __repr__(&self) -> String {
        let parts: Vec<String> = STAT_FIELDS
            .iter()
            .zip(self.values())
            .filter(|(_, v)| *v != 0)
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        format!("Stats({})", parts.join(", "))
    }
}

// ---------------------------------------------------------------------------------------------
// ServiceStatus / DestinationStatus

/// A service as a backend reports it: its configuration and statistics.
#[pyclass(frozen, eq, module = "ipvs._ipvs", name = "ServiceStatus")]
#[derive(Clone, PartialEq, Eq)]
pub struct PyServiceStatus(pub ServiceStatus);

impl PyServiceStatus {
    pub(crate) fn from_core(mut s: ServiceStatus) -> Self {
        s.service.flags.remove(ServiceFlags::HASHED);
        PyServiceStatus(s)
    }

    /// A status from a `ServiceStatus`, a `Service` (zero counters) or a dictionary.
    pub(crate) fn extract_any(obj: &Bound<'_, PyAny>) -> PyResult<ServiceStatus> {
        if let Ok(s) = obj.cast::<PyServiceStatus>() {
            return Ok(s.get().0.clone());
        }
        if let Ok(d) = obj.cast::<PyDict>() {
            if d.contains("service")? {
                return Self::from_dict(d).map(|s| s.0);
            }
        }
        Ok(ServiceStatus::new(PyService::extract_any(obj)?))
    }
}

#[pymethods]
impl PyServiceStatus {
    #[new]
    #[pyo3(signature = (service, stats = None))]
    fn new(service: &Bound<'_, PyAny>, stats: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let mut s = ServiceStatus::new(PyService::extract_any(service)?);
        s.stats = PyStats::extract_opt(stats)?;
        Ok(Self::from_core(s))
    }

    /// The configuration.
    #[getter]
    fn service(&self) -> PyService {
        PyService::from_core(self.0.service.clone())
    }

    /// The service's key (the same as `service.key`).
    #[getter]
    fn key(&self) -> PyServiceKey {
        PyServiceKey(self.0.service.key)
    }

    /// 64-bit counters and rates.
    #[getter]
    fn stats(&self) -> PyStats {
        PyStats(self.0.stats)
    }

    pub(crate) fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("service", self.service().to_dict(py)?)?;
        d.set_item("stats", self.stats().to_dict(py)?)?;
        Ok(d)
    }

    #[staticmethod]
    pub(crate) fn from_dict(d: &Bound<'_, PyDict>) -> PyResult<Self> {
        check_keys(d, "ServiceStatus", &["service", "stats"])?;
        Self::new(&required(d, "ServiceStatus", "service")?, optional(d, "stats")?.as_ref())
    }

    #[pyo3(signature = (**changes))]
    fn replace(&self, py: Python<'_>, changes: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let d = PyDict::new(py);
        d.set_item("service", self.service())?;
        d.set_item("stats", self.stats())?;
        Self::from_dict(&merged(d, changes)?)
    }

    fn __hash__(&self) -> u64 {
        hash_of(&(&self.0.service, &self.0.stats))
    }

    pub(crate) fn __repr__(&self) -> String {
        format!("ServiceStatus({}, {})", self.service().__repr__(), self.stats().__repr__())
    }
}

/// A real server as a backend reports it: configuration, connection counts, statistics.
#[pyclass(frozen, eq, module = "ipvs._ipvs", name = "DestinationStatus")]
#[derive(Clone, PartialEq, Eq)]
pub struct PyDestinationStatus(pub DestinationStatus);

impl PyDestinationStatus {
    pub(crate) fn extract_any(obj: &Bound<'_, PyAny>) -> PyResult<DestinationStatus> {
        if let Ok(s) = obj.cast::<PyDestinationStatus>() {
            return Ok(s.get().0.clone());
        }
        if let Ok(d) = obj.cast::<PyDict>() {
            if d.contains("destination")? {
                return Self::from_dict(d).map(|s| s.0);
            }
        }
        Ok(DestinationStatus::new(PyDestination::extract_any(obj)?))
    }
}

#[pymethods]
impl PyDestinationStatus {
    #[new]
    #[pyo3(signature = (destination, *, active_conns = 0, inactive_conns = 0, persist_conns = 0, stats = None))]
    fn new(
        destination: &Bound<'_, PyAny>,
        active_conns: u32,
        inactive_conns: u32,
        persist_conns: u32,
        stats: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mut s = DestinationStatus::new(PyDestination::extract_any(destination)?);
        s.active_conns = active_conns;
        s.inactive_conns = inactive_conns;
        s.persist_conns = persist_conns;
        s.stats = PyStats::extract_opt(stats)?;
        Ok(PyDestinationStatus(s))
    }

    /// The configuration.
    #[getter]
    fn destination(&self) -> PyDestination {
        PyDestination(self.0.dest.clone())
    }

    /// Active connections.
    #[getter]
    fn active_conns(&self) -> u32 {
        self.0.active_conns
    }

    /// Inactive connections.
    #[getter]
    fn inactive_conns(&self) -> u32 {
        self.0.inactive_conns
    }

    /// Persistence templates pointing at this real server.
    #[getter]
    fn persist_conns(&self) -> u32 {
        self.0.persist_conns
    }

    /// 64-bit counters and rates.
    #[getter]
    fn stats(&self) -> PyStats {
        PyStats(self.0.stats)
    }

    pub(crate) fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("destination", self.destination().to_dict(py)?)?;
        d.set_item("active_conns", self.0.active_conns)?;
        d.set_item("inactive_conns", self.0.inactive_conns)?;
        d.set_item("persist_conns", self.0.persist_conns)?;
        d.set_item("stats", self.stats().to_dict(py)?)?;
        Ok(d)
    }

    #[staticmethod]
    pub(crate) fn from_dict(d: &Bound<'_, PyDict>) -> PyResult<Self> {
        check_keys(
            d,
            "DestinationStatus",
            &["destination", "active_conns", "inactive_conns", "persist_conns", "stats"],
        )?;
        let n = |k| -> PyResult<u32> { optional(d, k)?.map_or(Ok(0), |v| v.extract()) };
        Self::new(
            &required(d, "DestinationStatus", "destination")?,
            n("active_conns")?,
            n("inactive_conns")?,
            n("persist_conns")?,
            optional(d, "stats")?.as_ref(),
        )
    }

    #[pyo3(signature = (**changes))]
    fn replace(&self, py: Python<'_>, changes: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let d = PyDict::new(py);
        d.set_item("destination", self.destination())?;
        d.set_item("active_conns", self.0.active_conns)?;
        d.set_item("inactive_conns", self.0.inactive_conns)?;
        d.set_item("persist_conns", self.0.persist_conns)?;
        d.set_item("stats", self.stats())?;
        Self::from_dict(&merged(d, changes)?)
    }

    fn __hash__(&self) -> u64 {
        let s = &self.0;
        hash_of(&(&s.dest, s.active_conns, s.inactive_conns, s.persist_conns, &s.stats))
    }

    pub(crate) fn __repr__(&self) -> String {
        let s = &self.0;
        format!(
            "DestinationStatus({}, active_conns={}, inactive_conns={}, persist_conns={}, stats={})",
            self.destination().__repr__(),
            s.active_conns,
            s.inactive_conns,
            s.persist_conns,
            self.stats().__repr__()
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Timeouts, SyncDaemon, Info

/// Connection timeouts in seconds (`ipvsadm --set tcp tcpfin udp`); on a write, 0 leaves a value
/// unchanged.
#[pyclass(frozen, eq, hash, module = "ipvs._ipvs", name = "Timeouts")]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PyTimeouts(pub Timeouts);

#[pymethods]
impl PyTimeouts {
    #[new]
    #[pyo3(signature = (tcp = 0, tcp_fin = 0, udp = 0))]
    fn new(py: Python<'_>, tcp: i128, tcp_fin: i128, udp: i128) -> PyResult<Self> {
        let max = u64::from(u32::MAX);
        let t = Timeouts::new(
            uint_v(py, tcp, Field::TimeoutTcp, max)?,
            uint_v(py, tcp_fin, Field::TimeoutTcpFin, max)?,
            uint_v(py, udp, Field::TimeoutUdp, max)?,
        );
        t.validate().py(py)?;
        Ok(PyTimeouts(t))
    }

    /// TCP ESTABLISHED timeout.
    #[getter]
    fn tcp(&self) -> u32 {
        self.0.tcp
    }
    /// TCP FIN_WAIT timeout.
    #[getter]
    fn tcp_fin(&self) -> u32 {
        self.0.tcp_fin
    }
    /// UDP timeout.
    #[getter]
    fn udp(&self) -> u32 {
        self.0.udp
    }

    pub(crate) fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("tcp", self.0.tcp)?;
        d.set_item("tcp_fin", self.0.tcp_fin)?;
        d.set_item("udp", self.0.udp)?;
        Ok(d)
    }

    #[staticmethod]
    pub(crate) fn from_dict(d: &Bound<'_, PyDict>) -> PyResult<Self> {
        check_keys(d, "Timeouts", &["tcp", "tcp_fin", "udp"])?;
        let get = |k| -> PyResult<i128> { optional(d, k)?.map_or(Ok(0), |v| v.extract()) };
        Self::new(d.py(), get("tcp")?, get("tcp_fin")?, get("udp")?)
    }

    #[pyo3(signature = (**changes))]
    fn replace(&self, py: Python<'_>, changes: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        Self::from_dict(&merged(self.to_dict(py)?, changes)?)
    }

    pub(crate) fn __repr__(&self) -> String {
        format!("Timeouts(tcp={}, tcp_fin={}, udp={})", self.0.tcp, self.0.tcp_fin, self.0.udp)
    }

    /// `Timeout (tcp tcpfin udp): 900 120 300`.
    fn __str__(&self) -> String {
        self.0.to_string()
    }
}

/// A connection-sync daemon's configuration (`ipvsadm --start-daemon`).
#[pyclass(frozen, eq, hash, module = "ipvs._ipvs", name = "SyncDaemon")]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PySyncDaemon(pub SyncDaemon);

#[pymethods]
impl PySyncDaemon {
    #[new]
    #[pyo3(signature = (role, interface, sync_id = 0, *, max_len = 0, group = None, port = 0, ttl = 0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        role: &str,
        interface: &Bound<'_, PyAny>,
        sync_id: i128,
        max_len: i128,
        group: Option<&Bound<'_, PyAny>>,
        port: i128,
        ttl: i128,
    ) -> PyResult<Self> {
        let name: InterfaceName = if let Ok(b) = interface.extract::<Vec<u8>>() {
            if interface.is_instance_of::<PyString>() {
                InterfaceName::from(interface.extract::<String>()?)
            } else {
                InterfaceName::from(b)
            }
        } else {
            InterfaceName::from(interface.extract::<String>()?)
        };
        let mut d = SyncDaemon::new(
            conv::role(role)?,
            name,
            uint_v(py, sync_id, Field::SyncId, u64::from(u32::MAX))?,
        )
        .with_max_len(uint_v(py, max_len, Field::SyncMaxlen, u64::from(u16::MAX))?)
        .with_port(uint_v(py, port, Field::SyncPort, u64::from(u16::MAX))?)
        .with_ttl(uint_v(py, ttl, Field::SyncTtl, u64::from(u8::MAX))?);
        if let Some(g) = group.filter(|g| !g.is_none()) {
            d = d.with_group(ip(g, Field::SyncGroup)?);
        }
        d.validate().py(py)?;
        Ok(PySyncDaemon(d))
    }

    /// `"master"` or `"backup"`.
    #[getter]
    fn role(&self) -> &'static str {
        self.0.role.name()
    }
    /// The multicast interface (a non-UTF-8 name is shown with U+FFFD).
    #[getter]
    fn interface(&self) -> String {
        self.0.interface.to_string_lossy().into_owned()
    }
    /// The sync id.
    #[getter]
    fn sync_id(&self) -> u32 {
        self.0.sync_id
    }
    /// The largest sync payload (0: the kernel's choice).
    #[getter]
    fn max_len(&self) -> u16 {
        self.0.max_len
    }
    /// The multicast group (`None`: the kernel's default).
    #[getter]
    fn group(&self) -> Option<String> {
        self.0.group.as_ref().map(ip_str)
    }
    /// The base UDP port (0: the kernel's default 8848).
    #[getter]
    fn port(&self) -> u16 {
        self.0.port
    }
    /// The multicast TTL (0: the kernel's default 1).
    #[getter]
    fn ttl(&self) -> u8 {
        self.0.ttl
    }

    pub(crate) fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("role", self.role())?;
        d.set_item("interface", self.interface())?;
        d.set_item("sync_id", self.0.sync_id)?;
        d.set_item("max_len", self.0.max_len)?;
        d.set_item("group", self.group())?;
        d.set_item("port", self.0.port)?;
        d.set_item("ttl", self.0.ttl)?;
        Ok(d)
    }

    #[staticmethod]
    pub(crate) fn from_dict(d: &Bound<'_, PyDict>) -> PyResult<Self> {
        check_keys(d, "SyncDaemon", &["role", "interface", "sync_id", "max_len", "group", "port", "ttl"])?;
        let py = d.py();
        let get = |k| -> PyResult<i128> { optional(d, k)?.map_or(Ok(0), |v| v.extract()) };
        let role: String = required(d, "SyncDaemon", "role")?.extract()?;
        Self::new(
            py,
            &role,
            &required(d, "SyncDaemon", "interface")?,
            get("sync_id")?,
            get("max_len")?,
            optional(d, "group")?.as_ref(),
            get("port")?,
            get("ttl")?,
        )
    }

    #[pyo3(signature = (**changes))]
    fn replace(&self, py: Python<'_>, changes: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        Self::from_dict(&merged(self.to_dict(py)?, changes)?)
    }

    pub(crate) fn __repr__(&self) -> String {
        let d = &self.0;
        let mut out = format!("SyncDaemon({}, {}, {}", q(self.role()), q(&self.interface()), d.sync_id);
        if d.max_len != 0 {
            out.push_str(&format!(", max_len={}", d.max_len));
        }
        if let Some(g) = self.group() {
            out.push_str(&format!(", group={}", q(&g)));
        }
        if d.port != 0 {
            out.push_str(&format!(", port={}", d.port));
        }
        if d.ttl != 0 {
            out.push_str(&format!(", ttl={}", d.ttl));
        }
        out.push(')');
        out
    }

    /// The line `ipvsadm -L --daemon` prints.
    fn __str__(&self) -> String {
        self.0.to_string()
    }
}

/// The IPVS version and connection table size.
#[pyclass(frozen, eq, hash, module = "ipvs._ipvs", name = "Info")]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PyInfo(pub Info);

#[pymethods]
impl PyInfo {
    #[new]
    fn new(version: u32, conn_tab_size: u32) -> Self {
        PyInfo(Info::new(version, conn_tab_size))
    }
    /// The version as the kernel encodes it (`0x010201` is 1.2.1).
    #[getter]
    fn version(&self) -> u32 {
        self.0.version
    }
    /// `(major, minor, patch)`.
    #[getter]
    fn version_tuple(&self) -> (u32, u32, u32) {
        self.0.version_triple()
    }
    /// The number of buckets of the connection hash table.
    #[getter]
    fn conn_tab_size(&self) -> u32 {
        self.0.conn_tab_size
    }
    pub(crate) fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("version", self.0.version)?;
        d.set_item("conn_tab_size", self.0.conn_tab_size)?;
        Ok(d)
    }
    #[staticmethod]
    pub(crate) fn from_dict(d: &Bound<'_, PyDict>) -> PyResult<Self> {
        check_keys(d, "Info", &["version", "conn_tab_size"])?;
        Ok(Self::new(
            required(d, "Info", "version")?.extract()?,
            required(d, "Info", "conn_tab_size")?.extract()?,
        ))
    }
    #[pyo3(signature = (**changes))]
    fn replace(&self, py: Python<'_>, changes: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        Self::from_dict(&merged(self.to_dict(py)?, changes)?)
    }
    pub(crate) fn __repr__(&self) -> String {
        format!("Info({:#08x}, {})", self.0.version, self.0.conn_tab_size)
    }
    /// `IP Virtual Server version 1.2.1 (size=4096)`.
    fn __str__(&self) -> String {
        self.0.to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// Connection

/// One entry of the connection table (`/proc/net/ip_vs_conn`): a connection or a persistence
/// template.
#[pyclass(frozen, eq, hash, module = "ipvs._ipvs", name = "Connection")]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PyConnection(pub Connection);

#[pymethods]
impl PyConnection {
    #[new]
    #[pyo3(signature = (protocol, client_address, client_port, virtual_address, virtual_port, dest_address, dest_port, state, expires, *, pe_name = None, pe_data = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        protocol: &str,
        client_address: &Bound<'_, PyAny>,
        client_port: u16,
        virtual_address: &Bound<'_, PyAny>,
        virtual_port: u16,
        dest_address: &Bound<'_, PyAny>,
        dest_port: u16,
        state: String,
        expires: u32,
        pe_name: Option<String>,
        pe_data: Option<String>,
    ) -> PyResult<Self> {
        let protocol = ConnProtocol::from_name(protocol).ok_or_else(|| {
            invalid(py, Field::Protocol, "expected a connection protocol name (TCP, UDP, IP, ...)")
        })?;
        let pe = match (pe_name, pe_data) {
            (Some(name), data) => Some(PeData { name, data: data.unwrap_or_default() }),
            (None, None) => None,
            (None, Some(_)) => return Err(PyValueError::new_err("pe_data without pe_name")),
        };
        Ok(PyConnection(Connection {
            protocol,
            client_addr: ip(client_address, Field::ServiceAddress)?,
            client_port,
            virtual_addr: ip(virtual_address, Field::ServiceAddress)?,
            virtual_port,
            dest_addr: ip(dest_address, Field::DestinationAddress)?,
            dest_port,
            state,
            expires,
            pe,
        }))
    }

    /// `"TCP"`, `"UDP"`, `"SCTP"`, `"IP"` (a fwmark template), ...
    #[getter]
    fn protocol(&self) -> String {
        self.0.protocol.name()
    }
    /// The client's address (masked for templates).
    #[getter]
    fn client_address(&self) -> String {
        ip_str(&self.0.client_addr)
    }
    /// The client's port (0 for templates).
    #[getter]
    fn client_port(&self) -> u16 {
        self.0.client_port
    }
    /// The virtual address.
    #[getter]
    fn virtual_address(&self) -> String {
        ip_str(&self.0.virtual_addr)
    }
    /// The virtual port.
    #[getter]
    fn virtual_port(&self) -> u16 {
        self.0.virtual_port
    }
    /// The real server's address.
    #[getter]
    fn dest_address(&self) -> String {
        ip_str(&self.0.dest_addr)
    }
    /// The real server's port.
    #[getter]
    fn dest_port(&self) -> u16 {
        self.0.dest_port
    }
    /// The state (`ESTABLISHED`, `FIN_WAIT`, `UDP`, `NONE`, ...).
    #[getter]
    fn state(&self) -> String {
        self.0.state.clone()
    }
    /// Seconds until it expires.
    #[getter]
    fn expires(&self) -> u32 {
        self.0.expires
    }
    /// The persistence engine of a template (`"sip"`), if any.
    #[getter]
    fn pe_name(&self) -> Option<String> {
        self.0.pe.as_ref().map(|p| p.name.clone())
    }
    /// The persistence engine's data (the SIP Call-ID), if any.
    #[getter]
    fn pe_data(&self) -> Option<String> {
        self.0.pe.as_ref().map(|p| p.data.clone())
    }
    /// The firewall mark of a fwmark template.
    #[getter]
    fn fwmark(&self) -> Option<u32> {
        self.0.fwmark()
    }

    pub(crate) fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("protocol", self.protocol())?;
        d.set_item("client_address", self.client_address())?;
        d.set_item("client_port", self.0.client_port)?;
        d.set_item("virtual_address", self.virtual_address())?;
        d.set_item("virtual_port", self.0.virtual_port)?;
        d.set_item("dest_address", self.dest_address())?;
        d.set_item("dest_port", self.0.dest_port)?;
        d.set_item("state", &self.0.state)?;
        d.set_item("expires", self.0.expires)?;
        d.set_item("pe_name", self.pe_name())?;
        d.set_item("pe_data", self.pe_data())?;
        Ok(d)
    }

    #[staticmethod]
    pub(crate) fn from_dict(d: &Bound<'_, PyDict>) -> PyResult<Self> {
        const KEYS: &[&str] = &[
            "protocol",
            "client_address",
            "client_port",
            "virtual_address",
            "virtual_port",
            "dest_address",
            "dest_port",
            "state",
            "expires",
            "pe_name",
            "pe_data",
        ];
        check_keys(d, "Connection", KEYS)?;
        let r = |k| required(d, "Connection", k);
        Self::new(
            d.py(),
            &r("protocol")?.extract::<String>()?,
            &r("client_address")?,
            r("client_port")?.extract()?,
            &r("virtual_address")?,
            r("virtual_port")?.extract()?,
            &r("dest_address")?,
            r("dest_port")?.extract()?,
            r("state")?.extract()?,
            r("expires")?.extract()?,
            optional(d, "pe_name")?.map(|v| v.extract()).transpose()?,
            optional(d, "pe_data")?.map(|v| v.extract()).transpose()?,
        )
    }

    #[pyo3(signature = (**changes))]
    fn replace(&self, py: Python<'_>, changes: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        Self::from_dict(&merged(self.to_dict(py)?, changes)?)
    }

    pub(crate) fn __repr__(&self) -> String {
        let c = &self.0;
        let mut out = format!(
            "Connection({}, {}, {}, {}, {}, {}, {}, {}, {}",
            q(&self.protocol()),
            q(&self.client_address()),
            c.client_port,
            q(&self.virtual_address()),
            c.virtual_port,
            q(&self.dest_address()),
            c.dest_port,
            q(&c.state),
            c.expires
        );
        if let Some(pe) = &c.pe {
            out.push_str(&format!(", pe_name={}, pe_data={}", q(&pe.name), q(&pe.data)));
        }
        out.push(')');
        out
    }

    /// The entry as a `/proc/net/ip_vs_conn` line.
    fn __str__(&self) -> String {
        self.0.to_string()
    }
}
