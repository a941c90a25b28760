//! The bad-input catalogue (`tests/bad-inputs/catalogue.txt` at the repository's root, whose
//! header describes the format), read into cases, and each case turned into what the Rust API
//! can be given: an [`Input`], or the refusal of the API's own types (`unrepresentable`) or
//! parsers (a `FromStr` that answers with a validation error).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use ipvs_core::ipvsadm::cmdline::Parser;
use ipvs_core::ipvsadm::conn::parse_conn;
use ipvs_core::ipvsadm::rules::{operations, CommentMode};
use ipvs_core::{
    AddressFamily, Destination, Error, ErrorKind, ForwardMethod, Netmask, Operation, PeName, Protocol,
    Scheduler, Service, ServiceKey, SyncDaemon, SyncRole, Timeouts, Tunnel, TunnelFlags,
};

/// One case: its id and its keys, values unescaped (bytes: a value may not be UTF-8).
#[derive(Debug, Clone)]
pub struct Case {
    pub id: String,
    pub line: usize,
    pub keys: BTreeMap<String, Vec<u8>>,
    /// The values as written (escapes not applied), for the ipvsadm words.
    pub raw: BTreeMap<String, String>,
}

impl Case {
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.keys.get(key).map(Vec::as_slice)
    }

    /// A value that must be UTF-8 (keys and the catalogue's own words).
    pub fn str(&self, key: &str) -> Option<&str> {
        self.get(key)
            .map(|v| std::str::from_utf8(v).unwrap_or_else(|_| panic!("{}: {key} not UTF-8", self.id)))
    }

    pub fn flag(&self, key: &str) -> bool {
        self.str(key) == Some("yes")
    }

    /// The expected Rust refusal, as written.
    pub fn rust(&self) -> &str {
        self.str("rust").unwrap_or_else(|| panic!("{}: no `rust` key", self.id))
    }

    /// The ipvsadm arguments, split at spaces (escapes applied inside words).
    pub fn ipvsadm_args(&self) -> Option<Vec<Vec<u8>>> {
        let raw = self.raw.get("ipvsadm")?;
        Some(raw.split(' ').filter(|w| !w.is_empty()).map(unescape).collect())
    }
}

/// The catalogue, in file order.
pub fn load() -> Vec<Case> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/bad-inputs/catalogue.txt");
    let text = std::fs::read_to_string(path).expect("read the catalogue");
    parse(&text)
}

/// Parses catalogue text.
pub fn parse(text: &str) -> Vec<Case> {
    let mut cases: Vec<CaseRaw> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(id) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            cases.push(CaseRaw { id: id.to_owned(), line: i + 1, raw: BTreeMap::new() });
            continue;
        }
        let (k, v) =
            line.split_once(" = ").unwrap_or_else(|| panic!("catalogue line {}: not `key = value`", i + 1));
        let case = cases.last_mut().unwrap_or_else(|| panic!("catalogue line {}: outside a case", i + 1));
        let old = case.raw.insert(k.trim().to_owned(), v.trim().to_owned());
        assert!(old.is_none(), "catalogue line {}: {k} given twice", i + 1);
    }
    let mut seen = std::collections::HashSet::new();
    cases
        .into_iter()
        .map(|c| {
            assert!(seen.insert(c.id.clone()), "case {} given twice", c.id);
            let keys = c.raw.iter().map(|(k, v)| (k.clone(), unescape(v))).collect();
            Case { id: c.id, line: c.line, keys, raw: c.raw }
        })
        .collect()
}

struct CaseRaw {
    id: String,
    line: usize,
    raw: BTreeMap<String, String>,
}

/// Applies the catalogue's escapes: `\\`, `\xHH`, `\n`, `\{N}`.
pub fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        match b.get(i + 1) {
            Some(b'\\') => {
                out.push(b'\\');
                i += 2;
            }
            Some(b'n') => {
                out.push(b'\n');
                i += 2;
            }
            Some(b'x') => {
                let hex = std::str::from_utf8(&b[i + 2..i + 4]).expect("\\x escape");
                out.push(u8::from_str_radix(hex, 16).expect("\\xHH"));
                i += 4;
            }
            Some(b'{') => {
                let end = b[i..].iter().position(|&c| c == b'}').expect("\\{N}") + i;
                let n: usize = std::str::from_utf8(&b[i + 2..end]).unwrap().parse().expect("\\{N}");
                let last = *out.last().expect("\\{N} after a byte");
                out.extend(std::iter::repeat_n(last, n.saturating_sub(1)));
                i = end + 1;
            }
            _ => panic!("bad escape in {s:?}"),
        }
    }
    out
}

/// What the Rust API is given for a case.
#[derive(Debug, Clone)]
pub enum Input {
    /// A table change.
    Op(Operation),
    /// `-R` text for `RuleSet::from_text`.
    Rules(String),
    /// `/proc/net/ip_vs_conn` text for `parse_conn`.
    ProcConn(String),
}

/// How the API refused before anything reached a backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The API's types cannot hold the value.
    Unrepresentable(String),
    /// A parser of the API answered with this error.
    Error(ErrorKind),
}

type Built<T> = Result<T, Refusal>;

fn unrep<T>(what: impl Into<String>) -> Built<T> {
    Err(Refusal::Unrepresentable(what.into()))
}

fn text<'a>(case: &'a Case, key: &str) -> Built<Option<&'a str>> {
    match case.get(key) {
        None => Ok(None),
        Some(v) => match std::str::from_utf8(v) {
            Ok(s) => Ok(Some(s)),
            Err(_) => unrep(format!("{key} is not UTF-8")),
        },
    }
}

fn num<T: std::str::FromStr>(case: &Case, key: &str) -> Built<Option<T>> {
    match text(case, key)? {
        None => Ok(None),
        Some(s) => s.parse().map(Some).or_else(|_| unrep(format!("{key} {s} does not fit"))),
    }
}

fn sockaddr(s: &str) -> Built<SocketAddr> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    // A well-formed address with a port that does not fit a u16 is the type's refusal too.
    let (host, _) = s.rsplit_once(':').ok_or_else(|| Refusal::Unrepresentable(format!("address {s}")))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<IpAddr>() {
        Ok(_) => unrep(format!("port of {s} does not fit")),
        Err(_) => unrep(format!("address {s}")),
    }
}

fn service_key(case: &Case) -> Built<ServiceKey> {
    let s = text(case, "service")?.expect("a service");
    let (kind, rest) = s.split_once(' ').expect("service: KIND VALUE");
    if kind == "fwmark" {
        let mut w = rest.split(' ');
        let mark: u32 = match w.next().unwrap().parse() {
            Ok(m) => m,
            Err(_) => return unrep(format!("fwmark {rest}")),
        };
        let family = if w.next() == Some("inet6") { AddressFamily::Inet6 } else { AddressFamily::Inet };
        return Ok(ServiceKey::fwmark(mark, family));
    }
    let a = sockaddr(rest)?;
    let protocol = match kind {
        "tcp" => Protocol::Tcp,
        "udp" => Protocol::Udp,
        "sctp" => Protocol::Sctp,
        other => panic!("{}: protocol {other}", case.id),
    };
    Ok(ServiceKey::Addr { protocol, addr: a.ip(), port: a.port() })
}

fn parse_err<T>(e: impl Into<Error>) -> Built<T> {
    Err(Refusal::Error(e.into().kind()))
}

fn service(case: &Case) -> Built<Service> {
    let key = service_key(case)?;
    let mut s = Service::new(key);
    if let Some(name) = text(case, "scheduler")? {
        s = s.with_scheduler(name.parse::<Scheduler>().unwrap_or_default());
    }
    if let Some(t) = num::<u32>(case, "persistent")? {
        s = s.with_persistence(t, None);
    }
    if let Some(m) = text(case, "netmask")? {
        match m.parse::<Netmask>() {
            Ok(m) => s = s.with_netmask(m),
            Err(e) => return parse_err(e),
        }
    }
    if let Some(pe) = text(case, "pe")? {
        match PeName::new(pe) {
            Ok(pe) => s = s.with_pe(pe),
            Err(e) => return parse_err(e),
        }
    }
    Ok(s)
}

fn destination(case: &Case) -> Built<Destination> {
    let a = sockaddr(text(case, "dest")?.expect("a dest"))?;
    let mut d = Destination::new(a);
    d = d.with_forward(match text(case, "forward")? {
        None | Some("route") => ForwardMethod::DirectRoute,
        Some("masq") => ForwardMethod::Masquerade,
        Some("tunnel") => ForwardMethod::Tunnel,
        Some(other) => panic!("{}: forward {other}", case.id),
    });
    if let Some(w) = num::<u32>(case, "weight")? {
        d = d.with_weight(w);
    }
    let upper = num::<u32>(case, "upper")?.unwrap_or(0);
    let lower = num::<u32>(case, "lower")?.unwrap_or(0);
    d = d.with_thresholds(upper, lower);
    if let Some(kind) = text(case, "tun-type")? {
        let port = num::<u16>(case, "tun-port")?.unwrap_or(0);
        let mut t = match kind {
            "ipip" => Tunnel::ipip(),
            "gue" => Tunnel::gue(port),
            "gre" => Tunnel::gre(),
            other => panic!("{}: tun-type {other}", case.id),
        };
        t = t.with_flags(match text(case, "tun-flags")? {
            None | Some("none") => TunnelFlags::empty(),
            Some("csum") => TunnelFlags::CSUM,
            Some("remcsum") => TunnelFlags::REMCSUM,
            Some(other) => panic!("{}: tun-flags {other}", case.id),
        });
        d = d.with_tunnel(t);
    }
    Ok(d)
}

/// What the Rust API is given for `case`, or how its types or parsers refused the case.
pub fn build(case: &Case) -> Built<Input> {
    let op = match case.str("op").expect("op") {
        "add-service" => Operation::AddService(service(case)?),
        "edit-service" => Operation::EditService(service(case)?),
        "add-dest" => Operation::AddDestination(service_key(case)?, destination(case)?),
        "edit-dest" => Operation::EditDestination(service_key(case)?, destination(case)?),
        "set-timeouts" => {
            let t = text(case, "timeouts")?.expect("timeouts");
            let v: Vec<u32> = match t.split(' ').map(str::parse).collect() {
                Ok(v) => v,
                Err(_) => return unrep(format!("timeouts {t}")),
            };
            Operation::SetTimeouts(Timeouts::new(v[0], v[1], v[2]))
        }
        "start-daemon" => {
            let ifn = case.get("interface").expect("interface");
            let id = num::<u32>(case, "syncid")?.unwrap_or(0);
            Operation::StartDaemon(SyncDaemon::new(SyncRole::Master, ifn, id))
        }
        "rules" => return Ok(Input::Rules(text(case, "text")?.expect("text").to_owned())),
        "proc-conn" => return Ok(Input::ProcConn(text(case, "text")?.expect("text").to_owned())),
        other => panic!("{}: op {other}", case.id),
    };
    Ok(Input::Op(op))
}

/// The refusal a case expects from the Rust API, in the catalogue's words, for a value that
/// was given to it: `Some(kind)` to compare with `ErrorKind`'s Debug form, `None` for the
/// other words (`Rules`, `Decode` are checked by the caller).
pub fn kind_name(kind: ErrorKind) -> String {
    format!("{kind:?}")
}

/// The Rust API's answer to a rules or /proc input that does not read: the word the
/// catalogue uses. Rules text that reads gives its operations, to be applied.
pub fn read_text(input: &Input) -> Result<Vec<Operation>, &'static str> {
    match input {
        Input::Rules(t) => match operations(t, CommentMode::Ipvsadm, &Parser::new()) {
            Ok(ops) => Ok(ops.into_iter().map(|(_, op)| op).collect()),
            Err(_) => Err("Rules"),
        },
        Input::ProcConn(t) => match parse_conn(t) {
            Ok(_) => Ok(Vec::new()),
            Err(_) => Err("Decode"),
        },
        Input::Op(op) => Ok(vec![op.clone()]),
    }
}

/// The cases whose op is not `none`.
pub fn api_cases() -> Vec<Case> {
    load().into_iter().filter(|c| c.str("op") != Some("none")).collect()
}
