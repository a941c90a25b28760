//! `lvs-prep`: prepare a real server or a director for LVS, as the seeds' `realserver.sh`
//! scripts do, and undo exactly that.
//!
//! * `realserver --mode dr --vip V[,V...]`: each VIP on `lo` as a /32 (IPv6: /128);
//!   `arp_ignore = 1` and `arp_announce = 2` on `all` and `lo` (the real server must not answer
//!   ARP for the VIP, nor use it as the source of its own ARP requests).
//! * `realserver --mode tun --vip ...`: each IPv4 VIP on `tunl0` (`ip6tnl0` for IPv6), the
//!   tunnel up, the same ARP settings on `all` and the tunnel, and `rp_filter = 0` on `all` and
//!   the tunnel (decapsulated packets come from the client's address through the tunnel,
//!   which strict reverse-path filtering drops).
//! * `director --mode nat`: IPv4 and IPv6 forwarding on.
//!
//! This module is the pure half: from a [`Request`] and the host's [`HostState`] it decides
//! the [`Change`]s (only what is not already so: a second run changes nothing), what to
//! remember for `--undo` ([`Record`]), and the undo itself. [`apply`] does the I/O (rtnetlink
//! and `/proc/sys`).
//!
//! ```
//! use ipvs_examples::director::prep::{plan, HostState, Mode, Record, Request};
//! let req = Request::RealServer { mode: Mode::Dr, vips: vec!["10.0.0.100".parse().unwrap()] };
//! let mut host = HostState::default();
//! host.links.push(("lo".into(), true));
//! for key in ["all/arp_ignore", "all/arp_announce", "lo/arp_ignore", "lo/arp_announce"] {
//!     host.sysctls.insert(format!("net/ipv4/conf/{key}"), "0".into());
//! }
//! let changes = plan(&req, &host).unwrap();
//! let text: Vec<String> = changes.iter().map(|c| c.to_string()).collect();
//! assert_eq!(text[0], "ip addr add 10.0.0.100/32 dev lo");
//! assert!(text.contains(&"sysctl -w net.ipv4.conf.all.arp_ignore=1".to_string()));
//! let record = Record::default().with(&changes);
//! assert_eq!(record.undo()[0].to_string(), "sysctl -w net.ipv4.conf.lo.arp_announce=0");
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

pub mod apply;

/// The LVS forwarding method being prepared for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Direct routing (`gate`, `-g`).
    Dr,
    /// IP-in-IP tunnelling (`ipip`, `-i`).
    Tun,
    /// Masquerading (`masq`, `-m`).
    Nat,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "dr" => Ok(Mode::Dr),
            "tun" => Ok(Mode::Tun),
            "nat" => Ok(Mode::Nat),
            _ => Err(format!("unknown mode {s:?} (dr, tun or nat)")),
        }
    }
}

/// What to prepare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A real server for DR or TUN with these VIPs.
    RealServer {
        /// DR or TUN.
        mode: Mode,
        /// The virtual addresses.
        vips: Vec<IpAddr>,
    },
    /// A director for `mode` (NAT: forwarding on; DR and TUN need nothing here).
    Director {
        /// The mode.
        mode: Mode,
    },
}

/// What the host has now, as far as preparing it is concerned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostState {
    /// Links by name, and whether each is up.
    pub links: Vec<(String, bool)>,
    /// Addresses: (link, address, prefix length).
    pub addrs: Vec<(String, IpAddr, u8)>,
    /// The sysctls read, by `/proc/sys` path (`net/ipv4/conf/all/arp_ignore`), trimmed.
    pub sysctls: BTreeMap<String, String>,
}

impl HostState {
    fn link_up(&self, name: &str) -> Option<bool> {
        self.links.iter().find(|(n, _)| n == name).map(|(_, up)| *up)
    }
}

/// One change to the host.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Change {
    /// Create a tunnel device of `kind` (`ipip`, `ip6tnl`), which also loads its module (the
    /// module's fallback device, `tunl0` / `ip6tnl0`, is the one used). Not undone: the
    /// fallback device lives as long as the module.
    CreateTunnel {
        /// `tunl0` or `ip6tnl0`.
        name: String,
        /// The link kind.
        kind: String,
    },
    /// Set a link up (undo: down).
    LinkUp(String),
    /// Set a link down.
    LinkDown(String),
    /// Add an address (undo: delete it).
    AddAddr {
        /// The link.
        dev: String,
        /// The address.
        addr: IpAddr,
        /// Its prefix length.
        prefix: u8,
    },
    /// Delete an address.
    DelAddr {
        /// The link.
        dev: String,
        /// The address.
        addr: IpAddr,
        /// Its prefix length.
        prefix: u8,
    },
    /// Write a sysctl (`/proc/sys` path) that read `from` (undo: write `from` back).
    Sysctl {
        /// The `/proc/sys` path, `/`-separated.
        key: String,
        /// The value before.
        from: String,
        /// The value written.
        to: String,
    },
}

impl fmt::Display for Change {
    /// The equivalent command (what `--dry-run` prints; `lvs-prep` runs none of them).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::CreateTunnel { name, kind } => write!(f, "ip link add {name} type {kind}"),
            Change::LinkUp(n) => write!(f, "ip link set {n} up"),
            Change::LinkDown(n) => write!(f, "ip link set {n} down"),
            Change::AddAddr { dev, addr, prefix } => write!(f, "ip addr add {addr}/{prefix} dev {dev}"),
            Change::DelAddr { dev, addr, prefix } => write!(f, "ip addr del {addr}/{prefix} dev {dev}"),
            Change::Sysctl { key, to, .. } => write!(f, "sysctl -w {}={to}", key.replace('/', ".")),
        }
    }
}

impl Change {
    /// The change that reverses this one, if there is one.
    pub fn inverse(&self) -> Option<Change> {
        Some(match self {
            Change::CreateTunnel { .. } => return None,
            Change::LinkUp(n) => Change::LinkDown(n.clone()),
            Change::LinkDown(n) => Change::LinkUp(n.clone()),
            Change::AddAddr { dev, addr, prefix } => {
                Change::DelAddr { dev: dev.clone(), addr: *addr, prefix: *prefix }
            }
            Change::DelAddr { dev, addr, prefix } => {
                Change::AddAddr { dev: dev.clone(), addr: *addr, prefix: *prefix }
            }
            Change::Sysctl { key, from, to } => {
                Change::Sysctl { key: key.clone(), from: to.clone(), to: from.clone() }
            }
        })
    }

    /// The sysctls this change needs read first (for [`plan`]'s caller).
    pub fn sysctl_key(&self) -> Option<&str> {
        match self {
            Change::Sysctl { key, .. } => Some(key),
            _ => None,
        }
    }
}

/// The sysctls a request touches, to read before [`plan`].
pub fn sysctls_for(req: &Request) -> Vec<String> {
    wanted_sysctls(req).into_iter().map(|(k, _)| k).collect()
}

/// The device a VIP goes on.
fn vip_device(mode: Mode, vip: &IpAddr) -> (&'static str, Option<&'static str>) {
    match (mode, vip) {
        (Mode::Tun, IpAddr::V4(_)) => ("tunl0", Some("ipip")),
        (Mode::Tun, IpAddr::V6(_)) => ("ip6tnl0", Some("ip6tnl")),
        _ => ("lo", None),
    }
}

fn wanted_sysctls(req: &Request) -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = Vec::new();
    let mut push = |k: String, v| {
        if !out.iter().any(|(x, _)| *x == k) {
            out.push((k, v));
        }
    };
    match req {
        Request::RealServer { mode, vips } => {
            let mut devs: Vec<&str> = vec!["all"];
            for v in vips {
                let d = vip_device(*mode, v).0;
                // ARP and rp_filter are IPv4 settings: ip6tnl0 has none to change.
                if v.is_ipv4() && !devs.contains(&d) {
                    devs.push(d);
                }
            }
            if vips.iter().any(IpAddr::is_ipv4) {
                for d in &devs {
                    push(format!("net/ipv4/conf/{d}/arp_ignore"), "1");
                    push(format!("net/ipv4/conf/{d}/arp_announce"), "2");
                }
                if *mode == Mode::Tun {
                    for d in &devs {
                        push(format!("net/ipv4/conf/{d}/rp_filter"), "0");
                    }
                }
            }
        }
        Request::Director { mode: Mode::Nat } => {
            push("net/ipv4/ip_forward".into(), "1");
            push("net/ipv6/conf/all/forwarding".into(), "1");
        }
        Request::Director { .. } => {}
    }
    out
}

/// Why a request cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrepError {
    /// NAT real servers need nothing but a default route through the director.
    #[error("a NAT real server needs no preparation (its default route goes through the director)")]
    NatRealServer,
    /// No VIP given.
    #[error("--vip is required for a real server")]
    NoVip,
    /// A VIP that cannot be one.
    #[error("{0} cannot be a virtual address")]
    BadVip(IpAddr),
    /// A sysctl that does not exist on this host (the tunnel module is missing, say).
    #[error("/proc/sys/{0} does not exist")]
    MissingSysctl(String),
}

/// The changes `req` needs on a host in state `host`: nothing that is already so.
///
/// Sysctls of a tunnel device that does not exist yet are planned as if they read `0` (the
/// kernel's default for a new device); [`apply`] reads them again after creating it.
pub fn plan(req: &Request, host: &HostState) -> Result<Vec<Change>, PrepError> {
    let mut out = Vec::new();
    if let Request::RealServer { mode, vips } = req {
        if *mode == Mode::Nat {
            return Err(PrepError::NatRealServer);
        }
        if vips.is_empty() {
            return Err(PrepError::NoVip);
        }
        for v in vips {
            if v.is_unspecified() || v.is_multicast() || v.is_loopback() {
                return Err(PrepError::BadVip(*v));
            }
        }
        let mut devs_done: Vec<&str> = Vec::new();
        for v in vips {
            let (dev, kind) = vip_device(*mode, v);
            if !devs_done.contains(&dev) {
                devs_done.push(dev);
                match (host.link_up(dev), kind) {
                    (None, Some(kind)) => {
                        out.push(Change::CreateTunnel { name: dev.into(), kind: kind.into() });
                        out.push(Change::LinkUp(dev.into()));
                    }
                    (Some(false), _) | (None, None) => out.push(Change::LinkUp(dev.into())),
                    (Some(true), _) => {}
                }
            }
            let prefix = if v.is_ipv4() { 32 } else { 128 };
            if !host.addrs.iter().any(|(d, a, p)| d == dev && a == v && *p == prefix) {
                out.push(Change::AddAddr { dev: dev.into(), addr: *v, prefix });
            }
        }
    }
    let new_tunnels: Vec<String> = out
        .iter()
        .filter_map(|c| match c {
            Change::CreateTunnel { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect();
    for (key, to) in wanted_sysctls(req) {
        let from = match host.sysctls.get(&key) {
            Some(v) => v.clone(),
            None if new_tunnels.iter().any(|t| key.contains(&format!("/{t}/"))) => "0".into(),
            None => return Err(PrepError::MissingSysctl(key)),
        };
        if from != to {
            out.push(Change::Sysctl { key, from, to: to.into() });
        }
    }
    Ok(out)
}

/// What `lvs-prep` did, kept for `--undo` (one line per change, in the order made).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// The changes made, oldest first.
    pub changes: Vec<Change>,
}

impl Record {
    /// This record with `changes` added. A sysctl changed again keeps its first original value
    /// (the one to restore); a change that undoes a recorded one cancels it.
    pub fn with(mut self, changes: &[Change]) -> Record {
        for c in changes {
            if let Change::Sysctl { key, to, .. } = c {
                if let Some(Change::Sysctl { to: old_to, .. }) =
                    self.changes.iter_mut().find(|r| r.sysctl_key() == Some(key.as_str()))
                {
                    *old_to = to.clone();
                    continue;
                }
            }
            if let Some(pos) = self.changes.iter().position(|r| r.inverse().as_ref() == Some(c)) {
                self.changes.remove(pos);
                continue;
            }
            self.changes.push(c.clone());
        }
        self.changes.retain(|c| !matches!(c, Change::Sysctl { from, to, .. } if from == to));
        self
    }

    /// The changes that undo the record, newest first.
    pub fn undo(&self) -> Vec<Change> {
        self.changes.iter().rev().filter_map(Change::inverse).collect()
    }

    /// The undo, leaving out what is no longer as we left it (an address someone deleted, a
    /// sysctl someone changed since: theirs now, not ours to restore).
    pub fn undo_on(&self, host: &HostState) -> Vec<Change> {
        self.undo()
            .into_iter()
            .filter(|c| match c {
                Change::DelAddr { dev, addr, prefix } => {
                    host.addrs.iter().any(|(d, a, p)| d == dev && a == addr && p == prefix)
                }
                Change::LinkDown(n) => host.link_up(n) == Some(true),
                Change::Sysctl { key, from, .. } => host.sysctls.get(key) == Some(from),
                _ => true,
            })
            .collect()
    }

    /// The record as text, one change per line.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        for c in &self.changes {
            let line = match c {
                Change::CreateTunnel { name, kind } => format!("tunnel {name} {kind}"),
                Change::LinkUp(n) => format!("up {n}"),
                Change::LinkDown(n) => format!("down {n}"),
                Change::AddAddr { dev, addr, prefix } => format!("addr {dev} {addr}/{prefix}"),
                Change::DelAddr { dev, addr, prefix } => format!("deladdr {dev} {addr}/{prefix}"),
                Change::Sysctl { key, from, to } => format!("sysctl {key} {from} {to}"),
            };
            s.push_str(&line);
            s.push('\n');
        }
        s
    }

    /// Reads [`Record::to_text`]'s format back (`line N: ...` on a line it does not know).
    pub fn from_text(text: &str) -> Result<Record, String> {
        let mut changes = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let w: Vec<&str> = line.split_whitespace().collect();
            let bad = || format!("line {}: cannot read {line:?}", i + 1);
            let addr = |s: &str| -> Result<(IpAddr, u8), String> {
                let (a, p) = s.split_once('/').ok_or_else(bad)?;
                Ok((a.parse().map_err(|_| bad())?, p.parse().map_err(|_| bad())?))
            };
            changes.push(match w.as_slice() {
                [] => continue,
                ["tunnel", n, k] => Change::CreateTunnel { name: (*n).into(), kind: (*k).into() },
                ["up", n] => Change::LinkUp((*n).into()),
                ["down", n] => Change::LinkDown((*n).into()),
                ["addr", d, a] => {
                    let (addr, prefix) = addr(a)?;
                    Change::AddAddr { dev: (*d).into(), addr, prefix }
                }
                ["deladdr", d, a] => {
                    let (addr, prefix) = addr(a)?;
                    Change::DelAddr { dev: (*d).into(), addr, prefix }
                }
                ["sysctl", k, f, t] => {
                    Change::Sysctl { key: (*k).into(), from: (*f).into(), to: (*t).into() }
                }
                _ => return Err(bad()),
            });
        }
        Ok(Record { changes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> HostState {
        let mut h =
            HostState { links: vec![("lo".into(), true), ("eth0".into(), true)], ..Default::default() };
        for d in ["all", "lo", "eth0"] {
            for k in ["arp_ignore", "arp_announce"] {
                h.sysctls.insert(format!("net/ipv4/conf/{d}/{k}"), "0".into());
            }
            h.sysctls.insert(format!("net/ipv4/conf/{d}/rp_filter"), "2".into());
        }
        h.sysctls.insert("net/ipv4/ip_forward".into(), "0".into());
        h.sysctls.insert("net/ipv6/conf/all/forwarding".into(), "0".into());
        h
    }

    /// What the host looks like after `changes` (the test's model of apply).
    fn after(mut h: HostState, changes: &[Change]) -> HostState {
        for c in changes {
            match c {
                Change::CreateTunnel { name, .. } => {
                    h.links.push((name.clone(), false));
                    for k in ["arp_ignore", "arp_announce", "rp_filter"] {
                        h.sysctls.insert(format!("net/ipv4/conf/{name}/{k}"), "0".into());
                    }
                }
                Change::LinkUp(n) | Change::LinkDown(n) => {
                    let up = matches!(c, Change::LinkUp(_));
                    h.links.iter_mut().filter(|(x, _)| x == n).for_each(|l| l.1 = up);
                }
                Change::AddAddr { dev, addr, prefix } => h.addrs.push((dev.clone(), *addr, *prefix)),
                Change::DelAddr { dev, addr, prefix } => {
                    h.addrs.retain(|x| x != &(dev.clone(), *addr, *prefix))
                }
                Change::Sysctl { key, to, .. } => {
                    h.sysctls.insert(key.clone(), to.clone());
                }
            }
        }
        h
    }

    fn texts(c: &[Change]) -> Vec<String> {
        c.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn dr_real_server_then_again_then_undo() {
        let req = Request::RealServer {
            mode: Mode::Dr,
            vips: vec!["10.0.0.100".parse().unwrap(), "2001:db8::100".parse().unwrap()],
        };
        let h0 = host();
        let c = plan(&req, &h0).unwrap();
        assert_eq!(
            texts(&c),
            [
                "ip addr add 10.0.0.100/32 dev lo",
                "ip addr add 2001:db8::100/128 dev lo",
                "sysctl -w net.ipv4.conf.all.arp_ignore=1",
                "sysctl -w net.ipv4.conf.all.arp_announce=2",
                "sysctl -w net.ipv4.conf.lo.arp_ignore=1",
                "sysctl -w net.ipv4.conf.lo.arp_announce=2",
            ]
        );
        let rec = Record::default().with(&c);
        let h1 = after(h0.clone(), &c);
        assert!(plan(&req, &h1).unwrap().is_empty(), "a second run changes nothing");
        let rec2 = rec.clone().with(&[]);
        assert_eq!(rec2, rec);
        let undo = rec.undo_on(&h1);
        assert_eq!(after(h1, &undo), h0, "undo restores exactly");
        let back = Record::from_text(&rec.to_text()).unwrap();
        assert_eq!(back, rec);
    }

    #[test]
    fn tun_real_server_creates_the_tunnel_and_relaxes_rp_filter() {
        let req = Request::RealServer { mode: Mode::Tun, vips: vec!["10.0.0.100".parse().unwrap()] };
        let h0 = host();
        let c = plan(&req, &h0).unwrap();
        let t = texts(&c);
        assert_eq!(t[0], "ip link add tunl0 type ipip");
        assert_eq!(t[1], "ip link set tunl0 up");
        assert_eq!(t[2], "ip addr add 10.0.0.100/32 dev tunl0");
        assert!(t.contains(&"sysctl -w net.ipv4.conf.all.rp_filter=0".into()));
        assert!(t.contains(&"sysctl -w net.ipv4.conf.tunl0.arp_ignore=1".into()));
        // tunl0's rp_filter starts at 0: nothing to change there.
        assert!(!t.iter().any(|x| x.contains("tunl0.rp_filter")));
        let h1 = after(h0.clone(), &c);
        assert!(plan(&req, &h1).unwrap().is_empty());
        let undo = Record::default().with(&c).undo_on(&h1);
        let h2 = after(h1, &undo);
        // The fallback tunnel stays (down, no address); everything else is as before.
        assert_eq!(h2.links.iter().find(|l| l.0 == "tunl0"), Some(&("tunl0".into(), false)));
        assert_eq!(h2.addrs, h0.addrs);
        for (k, v) in &h0.sysctls {
            assert_eq!(h2.sysctls.get(k), Some(v), "{k}");
        }
    }

    #[test]
    fn nat_director_and_changes_made_by_others_since() {
        let req = Request::Director { mode: Mode::Nat };
        let h0 = host();
        let c = plan(&req, &h0).unwrap();
        assert_eq!(
            texts(&c),
            ["sysctl -w net.ipv4.ip_forward=1", "sysctl -w net.ipv6.conf.all.forwarding=1"]
        );
        let rec = Record::default().with(&c);
        let mut h1 = after(h0, &c);
        // Someone else set IPv6 forwarding to 1 by other means, then to 2: not ours to restore.
        h1.sysctls.insert("net/ipv6/conf/all/forwarding".into(), "2".into());
        assert_eq!(texts(&rec.undo_on(&h1)), ["sysctl -w net.ipv4.ip_forward=0"]);
        assert!(plan(&Request::Director { mode: Mode::Dr }, &h1).unwrap().is_empty());
    }

    #[test]
    fn bad_requests() {
        let h = host();
        assert_eq!(
            plan(&Request::RealServer { mode: Mode::Nat, vips: vec![] }, &h),
            Err(PrepError::NatRealServer)
        );
        assert_eq!(plan(&Request::RealServer { mode: Mode::Dr, vips: vec![] }, &h), Err(PrepError::NoVip));
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(
            plan(&Request::RealServer { mode: Mode::Dr, vips: vec![lo] }, &h),
            Err(PrepError::BadVip(lo))
        );
        let mut h2 = h.clone();
        h2.sysctls.remove("net/ipv4/conf/lo/arp_ignore");
        assert!(matches!(
            plan(&Request::RealServer { mode: Mode::Dr, vips: vec!["10.0.0.1".parse().unwrap()] }, &h2),
            Err(PrepError::MissingSysctl(_))
        ));
        assert!(Record::from_text("bogus line").is_err());
        assert_eq!("dr".parse::<Mode>(), Ok(Mode::Dr));
        assert!("x".parse::<Mode>().is_err());
    }

    #[test]
    fn a_later_run_extends_the_record_without_losing_originals() {
        let h0 = host();
        let r1 = Request::RealServer { mode: Mode::Dr, vips: vec!["10.0.0.1".parse().unwrap()] };
        let c1 = plan(&r1, &h0).unwrap();
        let h1 = after(h0.clone(), &c1);
        let rec = Record::default().with(&c1);
        let r2 = Request::RealServer {
            mode: Mode::Dr,
            vips: vec!["10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap()],
        };
        let c2 = plan(&r2, &h1).unwrap();
        assert_eq!(texts(&c2), ["ip addr add 10.0.0.2/32 dev lo"]);
        let rec = rec.with(&c2);
        let h2 = after(h1, &c2);
        assert_eq!(after(h2.clone(), &rec.undo_on(&h2)), h0);
    }
}
