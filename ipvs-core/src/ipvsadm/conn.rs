//! The connection table: `/proc/net/ip_vs_conn` and `/proc/net/ip_vs_conn_sync` parsed into
//! typed [`Connection`]s and written back, and `ipvsadm -L -c` printed from the /proc text
//! exactly as ipvsadm 1.31 prints it.
//!
//! ```
//! use ipvs_core::ipvsadm::{conn, cmdline::ListFormat, NumericResolver};
//!
//! let proc = "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n\
//!             TCP CB007105 C738 0A000001 0050 C0A8010B 0050 ESTABLISHED     899\n";
//! let conns = conn::parse_conn(proc).unwrap();
//! assert_eq!(conns[0].client_addr.to_string(), "203.0.113.5");
//! assert_eq!(conns[0].expires, 899);
//! assert_eq!(conn::conn_text(&conns), proc);
//! let out = conn::list_connections(proc.as_bytes(), &ListFormat::numeric(), &NumericResolver).unwrap();
//! assert_eq!(
//!     out,
//!     "IPVS connection entries\n\
//!      pro expire state       source             virtual            destination\n\
//!      TCP 14:59  ESTABLISHED 203.0.113.5:51000  10.0.0.1:80        192.168.1.11:80\n"
//! );
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use thiserror::Error;

use super::cmdline::ListFormat;
use super::libc::{inet_pton4, inet_pton6, is_c_space, pi6};
use super::list::addr_port;
use super::Resolver;
use crate::service::Protocol;

/// The header line of `/proc/net/ip_vs_conn`.
pub const CONN_HEADER: &str =
    "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n";
/// The header line of `/proc/net/ip_vs_conn_sync`.
pub const CONN_SYNC_HEADER: &str =
    "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Origin Expires\n";

/// The protocol of a connection entry, as the kernel names it (`ip_vs_proto_name`).
///
/// [`ConnProtocol::Other`] holds only numbers without a name of their own (built by
/// [`ConnProtocol::from_raw`] and [`ConnProtocol::from_name`]).
///
/// ```
/// use ipvs_core::ipvsadm::conn::ConnProtocol;
/// assert_eq!(ConnProtocol::from_name("IP_6"), Some(ConnProtocol::Tcp));
/// assert_eq!(ConnProtocol::from_raw(47).name(), "IP_47");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnProtocol {
    /// `IP`: a persistence template of a firewall-mark service.
    Ip,
    /// `TCP`.
    Tcp,
    /// `UDP`.
    Udp,
    /// `SCTP`.
    Sctp,
    /// `ICMP`.
    Icmp,
    /// `ICMPv6`.
    Icmpv6,
    /// `IP_<n>`: any other protocol number.
    Other(OtherConnProtocol),
}

/// A protocol number of a connection entry without a name of its own (built only by
/// [`ConnProtocol::from_raw`] and [`ConnProtocol::from_name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OtherConnProtocol(u16);

impl OtherConnProtocol {
    /// The protocol number.
    pub fn get(self) -> u16 {
        self.0
    }
}

impl ConnProtocol {
    /// The kernel's name.
    pub fn name(&self) -> String {
        match self {
            ConnProtocol::Ip => "IP".into(),
            ConnProtocol::Tcp => "TCP".into(),
            ConnProtocol::Udp => "UDP".into(),
            ConnProtocol::Sctp => "SCTP".into(),
            ConnProtocol::Icmp => "ICMP".into(),
            ConnProtocol::Icmpv6 => "ICMPv6".into(),
            ConnProtocol::Other(n) => format!("IP_{}", n.0),
        }
    }

    /// The protocol with the kernel's name `s`.
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "IP" => ConnProtocol::Ip,
            "TCP" => ConnProtocol::Tcp,
            "UDP" => ConnProtocol::Udp,
            "SCTP" => ConnProtocol::Sctp,
            "ICMP" => ConnProtocol::Icmp,
            "ICMPv6" => ConnProtocol::Icmpv6,
            _ => {
                let digits = s.strip_prefix("IP_")?;
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                ConnProtocol::from_raw(digits.parse().ok()?)
            }
        })
    }

    /// The protocol with IP protocol number `raw`.
    pub fn from_raw(raw: u16) -> Self {
        match raw {
            0 => ConnProtocol::Ip,
            1 => ConnProtocol::Icmp,
            6 => ConnProtocol::Tcp,
            17 => ConnProtocol::Udp,
            58 => ConnProtocol::Icmpv6,
            132 => ConnProtocol::Sctp,
            n => ConnProtocol::Other(OtherConnProtocol(n)),
        }
    }

    /// The IP protocol number.
    pub fn to_raw(self) -> u16 {
        match self {
            ConnProtocol::Ip => 0,
            ConnProtocol::Icmp => 1,
            ConnProtocol::Tcp => 6,
            ConnProtocol::Udp => 17,
            ConnProtocol::Icmpv6 => 58,
            ConnProtocol::Sctp => 132,
            ConnProtocol::Other(n) => n.0,
        }
    }
}

/// Persistence-engine data of a template (`sip` and the Call-ID).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PeData {
    /// The engine's name.
    pub name: String,
    /// The engine's data as the kernel shows it (for sip, the Call-ID, which may hold spaces).
    pub data: String,
}

/// One entry of the connection table: a connection or a persistence template.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Connection {
    /// The protocol.
    pub protocol: ConnProtocol,
    /// The client address (masked for templates).
    pub client_addr: IpAddr,
    /// The client port (0 for templates).
    pub client_port: u16,
    /// The virtual address; for an `IP` template of a firewall-mark service, the mark (see
    /// [`Connection::fwmark`]).
    pub virtual_addr: IpAddr,
    /// The virtual port.
    pub virtual_port: u16,
    /// The real server's address (its family may differ from the client's for tunnels).
    pub dest_addr: IpAddr,
    /// The real server's port.
    pub dest_port: u16,
    /// The state name (`ESTABLISHED`, `FIN_WAIT`, `UDP`, `NONE`, `ASSURED`, ...).
    pub state: String,
    /// Seconds until the entry expires.
    pub expires: u32,
    /// Persistence-engine data, for templates of services with `--pe`.
    pub pe: Option<PeData>,
}

impl Connection {
    /// The firewall mark of an `IP` template, which the kernel stores in the virtual address.
    pub fn fwmark(&self) -> Option<u32> {
        if self.protocol != ConnProtocol::Ip {
            return None;
        }
        Some(match self.virtual_addr {
            IpAddr::V4(a) => u32::from(a),
            IpAddr::V6(a) => {
                let o = a.octets();
                u32::from_be_bytes([o[0], o[1], o[2], o[3]])
            }
        })
    }

    fn common_fields(&self) -> String {
        let addr = |a: &IpAddr| match a {
            IpAddr::V4(a) => format!("{:08X}", u32::from(*a)),
            IpAddr::V6(a) => pi6(a),
        };
        // The client's family decides how the client and virtual addresses are written.
        let (c, v) = match (self.client_addr, self.virtual_addr) {
            (IpAddr::V6(c), IpAddr::V6(v)) => (pi6(&c), pi6(&v)),
            (IpAddr::V6(c), IpAddr::V4(v)) => (pi6(&c), pi6(&v.to_ipv6_mapped())),
            (IpAddr::V4(c), v) => (addr(&IpAddr::V4(c)), addr(&v)),
        };
        format!(
            "{:<3} {c} {:04X} {v} {:04X} {} {:04X} {:<11}",
            self.protocol.name(),
            self.client_port,
            self.virtual_port,
            addr(&self.dest_addr),
            self.dest_port,
            self.state
        )
    }

    /// The entry as a line of `/proc/net/ip_vs_conn` (with its newline).
    pub fn to_proc_line(&self) -> String {
        let pe = match &self.pe {
            Some(p) => format!(" {} {}", p.name, p.data),
            None => String::new(),
        };
        format!("{} {:>7}{pe}\n", self.common_fields(), self.expires)
    }
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.to_proc_line().trim_end_matches('\n'))
    }
}

/// Where a connection came from (`/proc/net/ip_vs_conn_sync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// Created here.
    Local,
    /// Received from a sync master.
    Sync,
}

/// An entry of `/proc/net/ip_vs_conn_sync`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SyncConnection {
    /// The entry (this file shows no persistence-engine data).
    pub conn: Connection,
    /// Its origin.
    pub origin: Origin,
}

impl SyncConnection {
    /// The entry as a line of `/proc/net/ip_vs_conn_sync` (with its newline).
    pub fn to_proc_line(&self) -> String {
        let origin = match self.origin {
            Origin::Local => "LOCAL",
            Origin::Sync => "SYNC",
        };
        format!("{} {origin:<6} {:>7}\n", self.conn.common_fields(), self.conn.expires)
    }
}

/// A line of a /proc file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}: {reason}")]
pub struct ProcParseError {
    /// The line number, from 1.
    pub line: usize,
    /// What is wrong.
    pub reason: &'static str,
}

fn proc_addr(s: &str) -> Option<IpAddr> {
    if s.contains(':') {
        inet_pton6(s.as_bytes()).map(IpAddr::V6)
    } else if s.len() == 8 {
        u32::from_str_radix(s, 16).ok().map(|v| IpAddr::V4(Ipv4Addr::from(v)))
    } else {
        None
    }
}

fn proc_port(s: &str) -> Option<u16> {
    if s.len() == 4 {
        u16::from_str_radix(s, 16).ok()
    } else {
        None
    }
}

/// Splits off the next space-separated field; returns (field, rest after the spaces).
fn field(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start_matches(' ');
    if s.is_empty() {
        return None;
    }
    let end = s.find(' ').unwrap_or(s.len());
    Some((&s[..end], &s[end..]))
}

fn parse_fields(line: &str, lineno: usize) -> Result<(Connection, &str), ProcParseError> {
    let err = |reason| ProcParseError { line: lineno, reason };
    let mut rest = line;
    let mut next = |what| {
        let (f, r) = field(rest).ok_or(err(what))?;
        rest = r;
        Ok::<_, ProcParseError>(f)
    };
    let protocol = ConnProtocol::from_name(next("missing protocol")?).ok_or(err("unknown protocol"))?;
    let client_addr = proc_addr(next("missing client address")?).ok_or(err("bad client address"))?;
    let client_port = proc_port(next("missing client port")?).ok_or(err("bad client port"))?;
    let virtual_addr = proc_addr(next("missing virtual address")?).ok_or(err("bad virtual address"))?;
    // The kernel writes client and virtual addresses in the connection's family (only the
    // real server's may differ); a line that mixes them cannot be written back as read.
    if client_addr.is_ipv4() != virtual_addr.is_ipv4() {
        return Err(err("client and virtual addresses of different families"));
    }
    let virtual_port = proc_port(next("missing virtual port")?).ok_or(err("bad virtual port"))?;
    let dest_addr = proc_addr(next("missing destination address")?).ok_or(err("bad destination address"))?;
    let dest_port = proc_port(next("missing destination port")?).ok_or(err("bad destination port"))?;
    let state = next("missing state")?.to_owned();
    let conn = Connection {
        protocol,
        client_addr,
        client_port,
        virtual_addr,
        virtual_port,
        dest_addr,
        dest_port,
        state,
        expires: 0,
        pe: None,
    };
    Ok((conn, rest))
}

fn lines_after_header<'a>(
    text: &'a str,
    header: &str,
) -> Result<impl Iterator<Item = (usize, &'a str)>, ProcParseError> {
    let mut lines = text.split_inclusive('\n').enumerate();
    match lines.next() {
        Some((_, h)) if h.trim_end_matches('\n') == header.trim_end_matches('\n') => {}
        _ => return Err(ProcParseError { line: 1, reason: "not the expected header" }),
    }
    Ok(lines.map(|(i, l)| (i + 1, l.strip_suffix('\n').unwrap_or(l))).filter(|(_, l)| !l.is_empty()))
}

/// Parses `/proc/net/ip_vs_conn` (header included), IPv4 and IPv6 entries alike.
pub fn parse_conn(text: &str) -> Result<Vec<Connection>, ProcParseError> {
    let mut out = Vec::new();
    for (lineno, line) in lines_after_header(text, CONN_HEADER)? {
        let (mut c, rest) = parse_fields(line, lineno)?;
        let (exp, rest) = field(rest).ok_or(ProcParseError { line: lineno, reason: "missing expiry" })?;
        c.expires = exp.parse().map_err(|_| ProcParseError { line: lineno, reason: "bad expiry" })?;
        if let Some(pe) = rest.strip_prefix(' ') {
            let (name, data) = match pe.find(' ') {
                Some(i) => (&pe[..i], &pe[i + 1..]),
                None => (pe, ""),
            };
            c.pe = Some(PeData { name: name.to_owned(), data: data.to_owned() });
        }
        out.push(c);
    }
    Ok(out)
}

/// Parses `/proc/net/ip_vs_conn_sync` (header included).
pub fn parse_conn_sync(text: &str) -> Result<Vec<SyncConnection>, ProcParseError> {
    let mut out = Vec::new();
    for (lineno, line) in lines_after_header(text, CONN_SYNC_HEADER)? {
        let (mut conn, rest) = parse_fields(line, lineno)?;
        let err = |reason| ProcParseError { line: lineno, reason };
        let (origin, rest) = field(rest).ok_or(err("missing origin"))?;
        let origin = match origin {
            "LOCAL" => Origin::Local,
            "SYNC" => Origin::Sync,
            _ => return Err(err("bad origin")),
        };
        let (exp, rest) = field(rest).ok_or(err("missing expiry"))?;
        conn.expires = exp.parse().map_err(|_| err("bad expiry"))?;
        if !rest.trim().is_empty() {
            return Err(err("trailing text"));
        }
        out.push(SyncConnection { conn, origin });
    }
    Ok(out)
}

/// `/proc/net/ip_vs_conn` as the kernel writes it for these entries (header included).
pub fn conn_text(conns: &[Connection]) -> String {
    let mut s = CONN_HEADER.to_owned();
    for c in conns {
        s.push_str(&c.to_proc_line());
    }
    s
}

/// `/proc/net/ip_vs_conn_sync` as the kernel writes it for these entries (header included).
pub fn conn_sync_text(conns: &[SyncConnection]) -> String {
    let mut s = CONN_SYNC_HEADER.to_owned();
    for c in conns {
        s.push_str(&c.to_proc_line());
    }
    s
}

// ---------------------------------------------------------------------------------------------
// ipvsadm -L -c

/// Why `ipvsadm -L -c` stops (it exits with status 1).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConnListError {
    /// The file is empty: ipvsadm prints this on standard error.
    #[error("unexpected input from /proc/net/ip_vs_conn")]
    UnexpectedInput,
    /// A blank piece of input (possible only when a line of exactly 255 characters is split by
    /// ipvsadm's 256-byte buffer): ipvsadm exits silently after printing `partial`.
    #[error("ipvsadm stops at a blank line of /proc/net/ip_vs_conn")]
    Aborted {
        /// What ipvsadm printed before stopping.
        partial: String,
    },
}

/// The values `sscanf` filled in; ipvsadm's locals keep the previous line's values where
/// a short line fills fewer of them (a model of reused stack slots; such lines come only from
/// the 255-byte split of very long persistence-engine lines).
#[derive(Default)]
struct Scan {
    protocol: Vec<u8>,
    temp1: Vec<u8>,
    cport: u16,
    temp2: Vec<u8>,
    vport: u16,
    temp3: Vec<u8>,
    dport: u16,
    state: Vec<u8>,
    expires: u32,
    pe_name: Vec<u8>,
    pe_data: Vec<u8>,
}

enum Conv {
    Str,
    Hex,
    Dec,
}

const SCAN_FORMAT: [Conv; 11] = [
    Conv::Str,
    Conv::Str,
    Conv::Hex,
    Conv::Str,
    Conv::Hex,
    Conv::Str,
    Conv::Hex,
    Conv::Str,
    Conv::Dec,
    Conv::Str,
    Conv::Str,
];

/// `sscanf(buf, "%s %s %hX %s %hX %s %hX %s %d %s %s", ...)`: returns the count (-1 when
/// the input ends before the first conversion).
fn scan(buf: &[u8], st: &mut Scan) -> i32 {
    let mut pos = 0usize;
    let mut count = 0i32;
    for (k, conv) in SCAN_FORMAT.iter().enumerate() {
        while pos < buf.len() && is_c_space(buf[pos]) {
            pos += 1;
        }
        if pos >= buf.len() {
            return if count == 0 { -1 } else { count };
        }
        match conv {
            Conv::Str => {
                let start = pos;
                while pos < buf.len() && !is_c_space(buf[pos]) {
                    pos += 1;
                }
                let v = buf[start..pos].to_vec();
                match k {
                    0 => st.protocol = v,
                    1 => st.temp1 = v,
                    3 => st.temp2 = v,
                    5 => st.temp3 = v,
                    7 => st.state = v,
                    9 => st.pe_name = v,
                    _ => st.pe_data = v,
                }
            }
            Conv::Hex | Conv::Dec => {
                let hex = matches!(conv, Conv::Hex);
                let mut neg = false;
                if buf[pos] == b'+' || buf[pos] == b'-' {
                    neg = buf[pos] == b'-';
                    pos += 1;
                }
                if hex
                    && pos + 2 < buf.len()
                    && buf[pos] == b'0'
                    && (buf[pos + 1] | 0x20) == b'x'
                    && buf[pos + 2].is_ascii_hexdigit()
                {
                    pos += 2;
                }
                let radix = if hex { 16 } else { 10 };
                let start = pos;
                let mut v: u64 = 0;
                while pos < buf.len() {
                    match (buf[pos] as char).to_digit(radix) {
                        Some(d) => v = v.wrapping_mul(u64::from(radix)).wrapping_add(u64::from(d)),
                        None => break,
                    }
                    pos += 1;
                }
                if pos == start {
                    return count;
                }
                let v = if neg { v.wrapping_neg() } else { v };
                match k {
                    2 => st.cport = v as u16,
                    4 => st.vport = v as u16,
                    6 => st.dport = v as u16,
                    _ => st.expires = v as u32,
                }
            }
        }
        count += 1;
    }
    count
}

/// `strtoul(s, NULL, 16)` truncated to 32 bits, as ipvsadm reads a hex address.
fn strtoul16(s: &[u8]) -> u32 {
    let (mut i, neg) = super::libc::skip_space_and_sign(s);
    if i + 2 < s.len() && s[i] == b'0' && (s[i + 1] | 0x20) == b'x' && s[i + 2].is_ascii_hexdigit() {
        i += 2;
    }
    let mut v: u64 = 0;
    let mut overflow = false;
    while i < s.len() {
        let Some(d) = (s[i] as char).to_digit(16) else { break };
        match v.checked_mul(16).and_then(|x| x.checked_add(u64::from(d))) {
            Some(x) => v = x,
            None => overflow = true,
        }
        i += 1;
    }
    if overflow {
        v = u64::MAX;
    }
    (if neg { v.wrapping_neg() } else { v }) as u32
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The pieces `fgets(buffer, 256, ...)` returns: lines, cut every 255 bytes.
fn fgets_chunks(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        if pos >= text.len() {
            return None;
        }
        let rest = &text[pos..];
        let mut n = rest.iter().position(|&b| b == b'\n').map_or(rest.len(), |i| i + 1);
        n = n.min(255);
        pos += n;
        Some(&rest[..n])
    })
}

/// `ipvsadm -L -c` (with `-n` when `format.numeric`, and the persistence-engine columns with
/// `format.persistent_conn`), printed from the text of `/proc/net/ip_vs_conn` as ipvsadm reads
/// it: 255-byte pieces, each scanned for up to eleven fields.
pub fn list_connections(
    proc_conn: &[u8],
    format: &ListFormat,
    resolver: &dyn Resolver,
) -> Result<String, ConnListError> {
    let mut chunks = fgets_chunks(proc_conn);
    if chunks.next().is_none() {
        return Err(ConnListError::UnexpectedInput);
    }
    let mut out = String::from("IPVS connection entries\n");
    if format.persistent_conn {
        out.push_str(&format!(
            "pro expire {:<11} {:<18} {:<18} {:<18} {:<16} {}\n",
            "state", "source", "virtual", "destination", "pe name", "pe_data"
        ));
    } else {
        out.push_str(&format!(
            "pro expire {:<11} {:<18} {:<18} {}\n",
            "state", "source", "virtual", "destination"
        ));
    }
    let mut st = Scan::default();
    for chunk in chunks {
        let n = scan(chunk, &mut st);
        if n == -1 {
            return Err(ConnListError::Aborted { partial: out });
        }
        let proto = match st.protocol.as_slice() {
            b"TCP" => Some(Protocol::Tcp),
            b"UDP" => Some(Protocol::Udp),
            b"SCTP" => Some(Protocol::Sctp),
            _ => None,
        };
        let (caddr, vaddr) = if let Some(c) = inet_pton6(&st.temp1) {
            (IpAddr::V6(c), IpAddr::V6(inet_pton6(&st.temp2).unwrap_or(Ipv6Addr::UNSPECIFIED)))
        } else if let Some(c) = inet_pton4(&st.temp1) {
            (
                IpAddr::V4(c.into()),
                IpAddr::V4(inet_pton4(&st.temp2).map_or(Ipv4Addr::UNSPECIFIED, Ipv4Addr::from)),
            )
        } else {
            (IpAddr::V4(strtoul16(&st.temp1).into()), IpAddr::V4(strtoul16(&st.temp2).into()))
        };
        let daddr = if let Some(d) = inet_pton6(&st.temp3) {
            IpAddr::V6(d)
        } else if let Some(d) = inet_pton4(&st.temp3) {
            IpAddr::V4(d.into())
        } else {
            IpAddr::V4(strtoul16(&st.temp3).into())
        };
        let numeric = format.numeric;
        let cname = addr_port(&caddr, st.cport, proto, numeric, resolver);
        let vname = addr_port(&vaddr, st.vport, proto, numeric, resolver);
        let dname = addr_port(&daddr, st.dport, proto, numeric, resolver);
        let expire = format!("{:02}:{:02}", (st.expires / 60) as i32, (st.expires % 60) as i32);
        // `protocol` is a char[8]: a longer word runs into `expire_str`, which sprintf then
        // rewrites, so the protocol prints as its first 8 bytes followed by the expiry (as gcc
        // lays out ipvsadm's locals, -O1 and -O2 alike; undefined behaviour in C).
        let protocol = if st.protocol.len() > 7 {
            format!("{}{expire}", lossy(&st.protocol[..8]))
        } else {
            lossy(&st.protocol)
        };
        let state = lossy(&st.state);
        if format.persistent_conn && n == 11 {
            out.push_str(&format!(
                "{protocol:<3} {expire:<6} {state:<11} {cname:<18} {vname:<18} {dname:<16} {:<18} {}\n",
                lossy(&st.pe_name),
                lossy(&st.pe_data)
            ));
        } else {
            out.push_str(&format!("{protocol:<3} {expire:<6} {state:<11} {cname:<18} {vname:<18} {dname}\n"));
        }
    }
    Ok(out)
}

/// `ipvsadm -L -c` for typed entries: their /proc text, listed by [`list_connections`].
pub fn format_connections(
    conns: &[Connection],
    format: &ListFormat,
    resolver: &dyn Resolver,
) -> Result<String, ConnListError> {
    list_connections(conn_text(conns).as_bytes(), format, resolver)
}
