//! `/proc/net/ip_vs`, the kernel's own listing of the table, parsed into typed values (and
//! written back), so that tests and tools can read the table without netlink.
//!
//! ```
//! use ipvs_core::ipvsadm::proc::{parse_ip_vs, ProcServiceKey};
//! let text = "IP Virtual Server version 1.2.1 (size=4096)\n\
//!             Prot LocalAddress:Port Scheduler Flags\n  \
//!             -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n\
//!             TCP  0A000001:0050 wlc  persistent 90000 FFFFFF00\n  \
//!             -> C0A8010A:0050      Route   1      0          0         \n\
//!             FWM  00000005 sh \n";
//! let t = parse_ip_vs(text).unwrap();
//! assert_eq!(t.conn_tab_size, 4096);
//! assert_eq!(t.services[0].persistence.unwrap().timeout_secs(250), 360);
//! assert_eq!(t.services[0].dests[0].weight, 1);
//! assert_eq!(t.services[1].key, ProcServiceKey::Fwmark(5));
//! assert_eq!(t.to_text(), text);
//! ```

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

use super::conn::{ConnProtocol, ProcParseError};
use super::libc::{inet_pton6, pi6};
use crate::dest::ForwardMethod;
use crate::service::{Netmask, Protocol, Scheduler, ServiceKey};

/// What identifies a service in `/proc/net/ip_vs`. A firewall-mark line does not say its
/// family, so it is not a [`ServiceKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProcServiceKey {
    /// Protocol, address and port.
    Addr {
        /// The protocol (`IP`, `ICMP`, `IP_<n>` map to [`Protocol::Other`]).
        protocol: Protocol,
        /// The virtual address.
        addr: IpAddr,
        /// The virtual port.
        port: u16,
    },
    /// A firewall mark (family unknown).
    Fwmark(u32),
}

impl ProcServiceKey {
    /// The model key; `fwmark_v6` tells the family of a firewall-mark service.
    pub fn to_service_key(&self, fwmark_v6: bool) -> ServiceKey {
        match *self {
            ProcServiceKey::Addr { protocol, addr, port } => ServiceKey::Addr { protocol, addr, port },
            ProcServiceKey::Fwmark(mark) => ServiceKey::Fwmark {
                mark,
                family: if fwmark_v6 { crate::AddressFamily::Inet6 } else { crate::AddressFamily::Inet },
            },
        }
    }
}

/// The `persistent <T> <MASK>` part of a service line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProcPersistence {
    /// The timeout in jiffies (seconds × HZ).
    pub timeout_jiffies: u32,
    /// The netmask field as printed (`ntohl(netmask)`): an IPv4 mask as a number, or for IPv6
    /// the prefix length byte-swapped on little-endian machines (128 shows as `80000000`).
    pub netmask_raw: u32,
}

impl ProcPersistence {
    /// The timeout in seconds for the kernel's `HZ` (Debian: 250).
    pub fn timeout_secs(&self, hz: u32) -> u32 {
        self.timeout_jiffies / hz.max(1)
    }

    /// The netmask for a service of the given family. For IPv6 either byte order is accepted.
    pub fn netmask(&self, ipv6: bool) -> Netmask {
        if ipv6 {
            let p = if self.netmask_raw <= 128 { self.netmask_raw } else { self.netmask_raw.swap_bytes() };
            Netmask::V6(u8::try_from(p).unwrap_or(128))
        } else {
            Netmask::V4(Ipv4Addr::from(self.netmask_raw))
        }
    }
}

/// A real-server line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProcDest {
    /// Address.
    pub addr: IpAddr,
    /// Port.
    pub port: u16,
    /// The forwarding name (`Masq` also stands for bypass and unknown methods).
    pub forward: ForwardMethod,
    /// Weight.
    pub weight: i32,
    /// Active connections.
    pub active: i32,
    /// Inactive connections.
    pub inactive: i32,
}

/// A service with its real servers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProcService {
    /// The key.
    pub key: ProcServiceKey,
    /// The scheduler (`none` when unbound).
    pub scheduler: Scheduler,
    /// Whether `ops` is shown (the kernel never shows it for IPv6 services).
    pub onepacket: bool,
    /// Persistence, when the service is persistent.
    pub persistence: Option<ProcPersistence>,
    /// Real servers, in the kernel's list order (newest first).
    pub dests: Vec<ProcDest>,
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProcIpVs {
    /// `IP_VS_VERSION_CODE` (0x010201).
    pub version: u32,
    /// The connection table size.
    pub conn_tab_size: u32,
    /// Services in the kernel's order.
    pub services: Vec<ProcService>,
}

fn proto_from_name(s: &str) -> Option<Protocol> {
    Some(Protocol::from_raw(ConnProtocol::from_name(s)?.to_raw()))
}

fn proto_name(p: Protocol) -> String {
    ConnProtocol::from_raw(p.to_raw()).name()
}

fn addr_port(s: &str) -> Option<(IpAddr, u16)> {
    let (a, p) = s.rsplit_once(':')?;
    if p.len() != 4 {
        return None;
    }
    let port = u16::from_str_radix(p, 16).ok()?;
    let addr = if let Some(inner) = a.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
        IpAddr::V6(inet_pton6(inner.as_bytes())?)
    } else if a.len() == 8 {
        IpAddr::V4(Ipv4Addr::from(u32::from_str_radix(a, 16).ok()?))
    } else {
        return None;
    };
    Some((addr, port))
}

fn forward(name: &str) -> Option<ForwardMethod> {
    Some(match name {
        "Masq" => ForwardMethod::Masquerade,
        "Local" => ForwardMethod::Local,
        "Tunnel" => ForwardMethod::Tunnel,
        "Route" => ForwardMethod::DirectRoute,
        _ => return None,
    })
}

/// Parses `/proc/net/ip_vs`.
pub fn parse_ip_vs(text: &str) -> Result<ProcIpVs, ProcParseError> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let err = |line, reason| ProcParseError { line, reason };
    let (_, first) = lines.next().ok_or(err(1, "empty"))?;
    let rest = first.strip_prefix("IP Virtual Server version ").ok_or(err(1, "not the version line"))?;
    let (ver, size) = rest.split_once(" (size=").ok_or(err(1, "not the version line"))?;
    let size = size.strip_suffix(')').and_then(|s| s.parse::<u32>().ok()).ok_or(err(1, "bad size"))?;
    let v: Vec<u32> = ver.split('.').filter_map(|x| x.parse().ok()).collect();
    if v.len() != 3 || v.iter().any(|x| *x > 255) {
        return Err(err(1, "bad version"));
    }
    let version = (v[0] << 16) | (v[1] << 8) | v[2];
    for n in 2..=3 {
        lines.next().ok_or(err(n, "missing title line"))?;
    }
    let mut services: Vec<ProcService> = Vec::new();
    for (n, line) in lines {
        if let Some(d) = line.strip_prefix("  -> ") {
            let svc = services.last_mut().ok_or(err(n, "real server before any service"))?;
            let f: Vec<&str> = d.split_whitespace().collect();
            if f.len() != 5 {
                return Err(err(n, "expected 5 fields on a real-server line"));
            }
            let (addr, port) = addr_port(f[0]).ok_or(err(n, "bad real-server address"))?;
            let num = |s: &str| s.parse::<i32>().map_err(|_| err(n, "bad number"));
            svc.dests.push(ProcDest {
                addr,
                port,
                forward: forward(f[1]).ok_or(err(n, "unknown forwarding method"))?,
                weight: num(f[2])?,
                active: num(f[3])?,
                inactive: num(f[4])?,
            });
            continue;
        }
        if line.is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 3 {
            return Err(err(n, "short service line"));
        }
        let key = if f[0] == "FWM" {
            ProcServiceKey::Fwmark(u32::from_str_radix(f[1], 16).map_err(|_| err(n, "bad firewall mark"))?)
        } else {
            let protocol = proto_from_name(f[0]).ok_or(err(n, "unknown protocol"))?;
            let (addr, port) = addr_port(f[1]).ok_or(err(n, "bad service address"))?;
            ProcServiceKey::Addr { protocol, addr, port }
        };
        let scheduler = Scheduler::from(f[2]);
        let mut i = 3;
        let onepacket = f.get(i) == Some(&"ops");
        if onepacket {
            // The kernel writes "ops" only for IPv4 and firewall-mark services; on an IPv6
            // line it could not be written back (found by the proc_ip_vs fuzz target).
            if matches!(key, ProcServiceKey::Addr { addr: IpAddr::V6(_), .. }) {
                return Err(err(n, "ops on an IPv6 service"));
            }
            i += 1;
        }
        let persistence = if f.get(i) == Some(&"persistent") {
            let t =
                f.get(i + 1).and_then(|s| s.parse::<i64>().ok()).ok_or(err(n, "bad persistence timeout"))?;
            let m =
                f.get(i + 2).and_then(|s| u32::from_str_radix(s, 16).ok()).ok_or(err(n, "bad netmask"))?;
            i += 3;
            Some(ProcPersistence { timeout_jiffies: t as u32, netmask_raw: m })
        } else {
            None
        };
        if i != f.len() {
            return Err(err(n, "trailing text on a service line"));
        }
        services.push(ProcService { key, scheduler, onepacket, persistence, dests: Vec::new() });
    }
    Ok(ProcIpVs { version, conn_tab_size: size, services })
}

impl ProcIpVs {
    /// The file as the kernel writes it.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let v = self.version;
        let _ = writeln!(
            s,
            "IP Virtual Server version {}.{}.{} (size={})",
            (v >> 16) & 0xff,
            (v >> 8) & 0xff,
            v & 0xff,
            self.conn_tab_size as i32
        );
        s.push_str("Prot LocalAddress:Port Scheduler Flags\n");
        s.push_str("  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n");
        for svc in &self.services {
            let ops = if svc.onepacket { "ops " } else { "" };
            match svc.key {
                ProcServiceKey::Addr { protocol, addr: IpAddr::V6(a), port } => {
                    let _ =
                        write!(s, "{}  [{}]:{port:04X} {} ", proto_name(protocol), pi6(&a), svc.scheduler);
                }
                ProcServiceKey::Addr { protocol, addr: IpAddr::V4(a), port } => {
                    let _ = write!(
                        s,
                        "{}  {:08X}:{port:04X} {} {ops} ",
                        proto_name(protocol),
                        u32::from(a),
                        svc.scheduler
                    );
                }
                ProcServiceKey::Fwmark(m) => {
                    let _ = write!(s, "FWM  {m:08X} {} {ops}", svc.scheduler);
                }
            }
            match svc.persistence {
                Some(p) => {
                    let _ = writeln!(s, "persistent {} {:08X}", p.timeout_jiffies as i32, p.netmask_raw);
                }
                None => s.push('\n'),
            }
            for d in &svc.dests {
                let name = match d.forward {
                    ForwardMethod::Local => "Local",
                    ForwardMethod::Tunnel => "Tunnel",
                    ForwardMethod::DirectRoute => "Route",
                    _ => "Masq",
                };
                let a = match d.addr {
                    IpAddr::V4(a) => format!("{:08X}", u32::from(a)),
                    IpAddr::V6(a) => format!("[{}]", pi6(&a)),
                };
                let _ = writeln!(
                    s,
                    "  -> {a}:{:04X}      {name:<7} {:<6} {:<10} {:<10}",
                    d.port, d.weight, d.active, d.inactive
                );
            }
        }
        s
    }
}
