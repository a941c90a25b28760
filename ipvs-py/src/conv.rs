//! Conversions between Python values and the core's: addresses, names of enumerations (the
//! ipvsadm spellings), bounded integers, times, and keyword dictionaries.

use std::net::{IpAddr, SocketAddr};

use ipvs_core::sched::Time;
use ipvs_core::{AddressFamily, Field, ForwardMethod, Netmask, Protocol, SyncRole, TunnelType};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::error::{invalid, out_of_range};

/// An IP address from a `str` or an `ipaddress` object.
pub(crate) fn ip(obj: &Bound<'_, PyAny>, field: Field) -> PyResult<IpAddr> {
    let py = obj.py();
    if let Ok(s) = obj.cast::<PyString>() {
        return s.to_cow()?.trim().parse().map_err(|_| invalid(py, field, "not an IPv4 or IPv6 address"));
    }
    obj.extract::<IpAddr>()
        .map_err(|_| invalid(py, field, "expected an IP address (str or ipaddress object)"))
}

/// A non-negative integer that fits `T` (whose largest value is `max`).
pub(crate) fn uint<T: TryFrom<i128>>(obj: &Bound<'_, PyAny>, field: Field, max: u64) -> PyResult<T> {
    let py = obj.py();
    if obj.is_instance_of::<pyo3::types::PyBool>() {
        return Err(invalid(py, field, "expected an integer, not a bool"));
    }
    let v: i128 = obj.extract().map_err(|_| invalid(py, field, "expected an integer"))?;
    T::try_from(v).map_err(|_| out_of_range(py, field, v, max))
}

/// [`uint`] for a number already extracted.
pub(crate) fn uint_v<T: TryFrom<i128>>(py: Python<'_>, v: i128, field: Field, max: u64) -> PyResult<T> {
    T::try_from(v).map_err(|_| out_of_range(py, field, v, max))
}

/// An `addr:port` string (`10.0.0.1:80`, `[2001:db8::1]:80`) or an `(address, port)` pair.
pub(crate) fn endpoint(obj: &Bound<'_, PyAny>, field: Field) -> PyResult<SocketAddr> {
    let py = obj.py();
    if let Ok(s) = obj.cast::<PyString>() {
        return s
            .to_cow()?
            .trim()
            .parse()
            .map_err(|_| invalid(py, field, "expected ADDRESS:PORT (IPv6 as [ADDRESS]:PORT)"));
    }
    let (a, p): (Bound<'_, PyAny>, Bound<'_, PyAny>) =
        obj.extract().map_err(|_| invalid(py, field, "expected 'ADDRESS:PORT' or (address, port)"))?;
    Ok(SocketAddr::new(ip(&a, field)?, uint(&p, field, u64::from(u16::MAX))?))
}

/// The protocol of a service: `"tcp"`, `"udp"`, `"sctp"` (any case) or an IP protocol number.
pub(crate) fn protocol(obj: &Bound<'_, PyAny>) -> PyResult<Protocol> {
    if let Ok(s) = obj.cast::<PyString>() {
        let s = s.to_cow()?;
        return match s.to_ascii_lowercase().as_str() {
            "tcp" => Ok(Protocol::Tcp),
            "udp" => Ok(Protocol::Udp),
            "sctp" => Ok(Protocol::Sctp),
            other => match other.parse::<u16>() {
                Ok(n) => Ok(Protocol::from_raw(n)),
                Err(_) => Err(invalid(
                    obj.py(),
                    Field::Protocol,
                    "expected 'tcp', 'udp', 'sctp' or a protocol number",
                )),
            },
        };
    }
    Ok(Protocol::from_raw(uint(obj, Field::Protocol, u64::from(u16::MAX))?))
}

/// `"tcp"`, `"udp"`, `"sctp"`, or the number for another protocol.
pub(crate) fn protocol_name(p: Protocol) -> String {
    match p {
        Protocol::Tcp => "tcp".into(),
        Protocol::Udp => "udp".into(),
        Protocol::Sctp => "sctp".into(),
        other => other.to_raw().to_string(),
    }
}

/// A forwarding method in ipvsadm's and ldirectord's spellings.
pub(crate) fn forward(py: Python<'_>, s: &str) -> PyResult<ForwardMethod> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "masq" | "masquerade" | "nat" | "m" => ForwardMethod::Masquerade,
        "route" | "droute" | "dr" | "gate" | "gatewaying" | "direct" | "g" => ForwardMethod::DirectRoute,
        "tunnel" | "tun" | "ipip" | "i" => ForwardMethod::Tunnel,
        "local" => ForwardMethod::Local,
        "bypass" => ForwardMethod::Bypass,
        other => match other.parse::<u32>() {
            Ok(n) if n <= 7 => ForwardMethod::from_raw(n),
            _ => {
                return Err(invalid(
                    py,
                    Field::ForwardMethod,
                    "expected 'masq', 'route', 'tunnel', 'local' or 'bypass'",
                ))
            }
        },
    })
}

/// `"masq"`, `"route"`, `"tunnel"`, `"local"`, `"bypass"`, or the number.
pub(crate) fn forward_name(f: ForwardMethod) -> String {
    match f {
        ForwardMethod::Masquerade => "masq".into(),
        ForwardMethod::DirectRoute => "route".into(),
        ForwardMethod::Tunnel => "tunnel".into(),
        ForwardMethod::Local => "local".into(),
        ForwardMethod::Bypass => "bypass".into(),
        other => other.to_raw().to_string(),
    }
}

/// A tunnel type: `"ipip"`, `"gue"`, `"gre"` or a number.
pub(crate) fn tunnel_type(py: Python<'_>, s: &str) -> PyResult<TunnelType> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "ipip" => TunnelType::Ipip,
        "gue" => TunnelType::Gue,
        "gre" => TunnelType::Gre,
        other => match other.parse::<u8>() {
            Ok(n) => TunnelType::from_raw(n),
            Err(_) => return Err(invalid(py, Field::TunnelType, "expected 'ipip', 'gue' or 'gre'")),
        },
    })
}

/// `"ipip"`, `"gue"`, `"gre"` or the number.
pub(crate) fn tunnel_type_name(t: TunnelType) -> String {
    t.name().map_or_else(|| t.to_raw().to_string(), str::to_owned)
}

/// `"master"` or `"backup"`.
pub(crate) fn role(s: &str) -> PyResult<SyncRole> {
    match s.to_ascii_lowercase().as_str() {
        "master" => Ok(SyncRole::Master),
        "backup" => Ok(SyncRole::Backup),
        _ => {
            Err(PyValueError::new_err(format!("sync daemon role: expected 'master' or 'backup', not {s:?}")))
        }
    }
}

/// A persistence netmask for a service of `family`: a dotted IPv4 mask, an IPv6 prefix length
/// (int or digits), or `None` for the family's default.
pub(crate) fn netmask(obj: Option<&Bound<'_, PyAny>>, family: AddressFamily) -> PyResult<Netmask> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else { return Ok(Netmask::full(family)) };
    let py = obj.py();
    if let Ok(s) = obj.cast::<PyString>() {
        return s.to_cow()?.trim().parse::<Netmask>().map_err(|e| crate::error::to_pyerr(py, &e.into()));
    }
    let p: u8 = uint(obj, Field::Netmask, 128)?;
    Ok(Netmask::V6(p))
}

/// Seconds (a float or int, not negative) as a simulator [`Time`].
pub(crate) fn time(obj: &Bound<'_, PyAny>) -> PyResult<Time> {
    let secs: f64 = obj.extract().map_err(|_| PyTypeError::new_err("a time is a number of seconds"))?;
    if !secs.is_finite() || secs < 0.0 {
        return Err(PyValueError::new_err(format!(
            "a time must be a finite number of seconds >= 0, not {secs}"
        )));
    }
    Ok(Time::from_millis((secs * 1000.0).round() as u64))
}

/// A [`Time`] as seconds.
pub(crate) fn seconds(t: Time) -> f64 {
    t.as_millis() as f64 / 1000.0
}

/// An address as Python shows it (`str`): IPv6 as glibc's `inet_ntop` writes it, which is what
/// ipvsadm prints (the longest run of zero groups as `::`, IPv4-compatible and IPv4-mapped
/// addresses in dotted form).
pub(crate) fn ip_str(a: &IpAddr) -> String {
    match a {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(_) => {
            let s =
                ipvs_core::ipvsadm::list::addr_port(a, 0, None, true, &ipvs_core::ipvsadm::NumericResolver);
            // "[ADDRESS]:0"
            s.strip_prefix('[')
                .and_then(|r| r.strip_suffix("]:0"))
                .map_or_else(|| a.to_string(), str::to_owned)
        }
    }
}

/// The keys of a `from_dict` argument, checked against the keys a class knows.
pub(crate) fn check_keys(d: &Bound<'_, PyDict>, class: &str, known: &[&str]) -> PyResult<()> {
    for k in d.keys() {
        let k: String = k.extract()?;
        if !known.contains(&k.as_str()) {
            return Err(PyValueError::new_err(format!(
                "{class}.from_dict: unknown key {k:?} (known: {})",
                known.join(", ")
            )));
        }
    }
    Ok(())
}

/// A key of a `from_dict` argument that must be there.
pub(crate) fn required<'py>(d: &Bound<'py, PyDict>, class: &str, key: &str) -> PyResult<Bound<'py, PyAny>> {
    d.get_item(key)?.ok_or_else(|| PyValueError::new_err(format!("{class}.from_dict: missing key {key:?}")))
}

/// A key of a `from_dict` argument that may be missing or `None`.
pub(crate) fn optional<'py>(d: &Bound<'py, PyDict>, key: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
    Ok(d.get_item(key)?.filter(|v| !v.is_none()))
}

/// `repr()` of a Python string, as Python writes it.
pub(crate) fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}
