//! The in-memory IPVS table: the kernel's configuration rules (what `ip_vs_ctl.c` accepts and
//! rejects, and with which error), its real-server lists and counters, and a scheduler state per
//! service, with no kernel involved.
//!
//! [`MemoryBackend`] implements [`Backend`] over a [`Table`] for dry runs; the simulator
//! ([`crate::sim`]) drives the same [`Table`] with traffic.
//!
//! # Which kernel
//!
//! The rules are those of the **Debian 6.1.192** kernel (the project's test VM), read from its
//! `net/netfilter/ipvs/ip_vs_ctl.c`:
//!
//! * errors: NEW_SERVICE on an existing service → [`Error::exists`]`(Object::Service)`;
//!   anything on a missing service → [`Error::not_found`]`(Object::Service)` (`ESRCH`); an
//!   unknown or unavailable scheduler or persistence engine →
//!   [`Error::SchedulerOrEngineNotFound`] (`ENOENT`, checked after the existence check);
//!   NEW_DEST on an existing dest → `exists(Object::Destination)`; SET/DEL_DEST on a missing
//!   dest → `not_found(Object::Destination)` (`ENOENT`); binding mh to a service with more
//!   dests than its 4093 slots → [`Error::invalid`]`(22)`; a mixed-family dest while a sync
//!   daemon runs, or a sync daemon while a mixed-family dest exists → `invalid(22)`; an IPv6
//!   link-local dest → `invalid(22)` (the kernel accepts link-local only when it is a local
//!   address, which this table cannot know); sync daemons: `exists(Object::SyncDaemon)`
//!   (`EEXIST`) and `not_found(Object::SyncDaemon)` (`ESRCH`); a sync daemon on an interface
//!   that [`TableConfig::interfaces`] does not list → `not_found(Object::Interface)`
//!   (`ENODEV`). Every operation is validated first ([`Operation::validate`]).
//! * real servers are listed **newest first** (the kernel inserts at the list head); editing
//!   does not move a dest;
//! * services are listed in **insertion order**. The kernel lists them in hash-table order,
//!   which depends on a per-boot random value: callers comparing the two must sort;
//! * every listed service carries [`ServiceFlags::HASHED`];
//! * SET_DEST replaces every field, the tunnel settings included (a request without tunnel
//!   fields resets them to ipip/0/no-checksum);
//! * editing a service to another scheduler re-initialises the scheduler state; naming the same
//!   scheduler keeps it; when the new scheduler cannot be bound, the old one is bound afresh
//!   and the edit fails (its flags and timeout are not applied);
//! * a deleted dest moves to a trash where it keeps its counters while connections, templates
//!   or lblc/lblcr caches refer to it, and is freed on the 60 s trash timer once it has been
//!   unreferenced for 120 s. Re-adding the same dest to the same service identity before that
//!   revives it (counters kept, stats kept unless the service was re-created), at the list head;
//! * the overload bit follows the 6.1.183+ hysteresis (see [`Table`]);
//! * sync daemons report the values the kernel fills in (group 224.0.0.81, port 8848, TTL 1,
//!   a computed `max_len`);
//! * statistics count connections and inbound packets/bytes fed by the simulator; rates are
//!   always 0 (the 2-second estimator is not modelled).
//! * `destinations()` of a missing service returns an empty list, as the kernel's GET_DEST dump
//!   does.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use crate::backend::{Backend, Operation};
use crate::dest::{Destination, DestinationKey, ForwardMethod, Tunnel};
use crate::error::{Error, Object, Result};
use crate::sched::{
    AnySched, DestId, DestView, PacketInfo, RandomSource, SchedCtx, SchedInitError, SchedState, SvcParams,
    Time,
};
use crate::service::{AddressFamily, Protocol, Scheduler, Service, ServiceFlags, ServiceKey};
use crate::status::{DestinationStatus, Info, ServiceStatus, Stats, SyncDaemon, SyncRole, Timeouts};

/// The sysctls under `/proc/sys/net/ipv4/vs/` that change what the table or the simulator does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sysctls {
    /// `expire_quiescent_template` (default off): a persistence template whose dest has weight
    /// 0 is invalidated instead of reused.
    pub expire_quiescent_template: bool,
    /// `expire_nodest_conn` (default off): a packet for a connection whose dest was deleted
    /// expires it and is scheduled again (instead of being dropped); a SYN for a connection
    /// whose dest has weight 0 is scheduled again.
    pub expire_nodest_conn: bool,
    /// `conn_reuse_mode` (default 1): a SYN hitting a TCP connection in TIME_WAIT or CLOSE
    /// (with bit 2 also FIN_WAIT without output) that nothing controls is scheduled again.
    pub conn_reuse_mode: u32,
    /// `sloppy_tcp` (default off): any non-RST TCP packet may create a connection.
    pub sloppy_tcp: bool,
    /// `lblc_expiration` in seconds (default 86400).
    pub lblc_expiration: u32,
    /// `lblcr_expiration` in seconds (default 86400).
    pub lblcr_expiration: u32,
}

impl Default for Sysctls {
    fn default() -> Self {
        Sysctls {
            expire_quiescent_template: false,
            expire_nodest_conn: false,
            conn_reuse_mode: 1,
            sloppy_tcp: false,
            lblc_expiration: 86_400,
            lblcr_expiration: 86_400,
        }
    }
}

/// What the modelled kernel offers: scheduler and persistence-engine modules, interfaces, the
/// version information, and sysctls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableConfig {
    /// The schedulers that can be bound (`none` always can). Only the schedulers this crate
    /// implements can be listed; [`Scheduler::Other`] names are never available.
    pub schedulers: Vec<Scheduler>,
    /// The persistence engines that can be bound (`sip` in the kernel).
    pub persistence_engines: Vec<String>,
    /// The interfaces a sync daemon may use; `None` accepts any name.
    pub interfaces: Option<Vec<crate::status::InterfaceName>>,
    /// The MTU of the sync interfaces, which decides a backup daemon's default `max_len`.
    pub interface_mtu: u32,
    /// What GET_INFO answers.
    pub info: Info,
    /// Sysctls.
    pub sysctl: Sysctls,
}

impl TableConfig {
    /// The schedulers of Debian 6.1's kernel: all in-tree schedulers except twos
    /// (`# CONFIG_IP_VS_TWOS is not set`).
    pub fn debian_6_1_schedulers() -> Vec<Scheduler> {
        use Scheduler::*;
        vec![Rr, Wrr, Lc, Wlc, Sed, Nq, Fo, Ovf, Dh, Sh, Mh, Lblc, Lblcr]
    }

    /// Whether `s` can be bound.
    pub fn has_scheduler(&self, s: &Scheduler) -> bool {
        !matches!(s, Scheduler::Other(_) | Scheduler::Unbound) && self.schedulers.contains(s)
    }
}

impl Default for TableConfig {
    /// The Debian 6.1.192 VM: every scheduler but twos, the sip engine, version 1.2.1 with a
    /// 4096-bucket connection table, default sysctls.
    fn default() -> Self {
        TableConfig {
            schedulers: Self::debian_6_1_schedulers(),
            persistence_engines: vec!["sip".into()],
            interfaces: None,
            interface_mtu: 1500,
            info: Info { version: 0x0001_0201, conn_tab_size: 4096 },
            sysctl: Sysctls::default(),
        }
    }
}

/// Counters with a zero point (the kernel's `kstats` and `kstats0`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    now: [u64; 5],
    base: [u64; 5],
}

const C_CONNS: usize = 0;
const C_INPKTS: usize = 1;
const C_INBYTES: usize = 3;

impl Counters {
    fn add(&mut self, which: usize, n: u64) {
        if let Some(c) = self.now.get_mut(which) {
            *c = c.wrapping_add(n);
        }
    }

    fn zero(&mut self) {
        self.base = self.now;
    }

    fn stats(&self) -> (Stats, Stats) {
        let v = |i: usize| {
            self.now.get(i).copied().unwrap_or(0).wrapping_sub(self.base.get(i).copied().unwrap_or(0))
        };
        let s = Stats {
            conns: v(0),
            in_packets: v(1),
            out_packets: v(2),
            in_bytes: v(3),
            out_bytes: v(4),
            ..Stats::default()
        };
        let t = |x: u64| u64::from(x as u32);
        let s32 = Stats {
            conns: t(s.conns),
            in_packets: t(s.in_packets),
            out_packets: t(s.out_packets),
            in_bytes: s.in_bytes,
            out_bytes: s.out_bytes,
            ..Stats::default()
        };
        (s, s32)
    }
}

/// The per-dest data schedulers do not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DestCold {
    pub(crate) forward: ForwardMethod,
    pub(crate) tunnel: Tunnel,
    pub(crate) u_threshold: u32,
    pub(crate) l_threshold: u32,
    pub(crate) l_threshold_val: u32,
    pub(crate) persist_conns: i32,
    pub(crate) stats: Counters,
    /// The identity of the service the dest was created for (trash matching).
    pub(crate) svc_key: ServiceKey,
    /// The service object the dest is bound to.
    pub(crate) svc_serial: u64,
}

/// A service with its dests (in list order: newest first) and scheduler state.
#[derive(Debug, Clone)]
pub(crate) struct Svc {
    pub(crate) serial: u64,
    pub(crate) service: Service,
    pub(crate) views: Vec<DestView>,
    pub(crate) cold: Vec<DestCold>,
    pub(crate) sched: Option<AnySched>,
    pub(crate) stats: Counters,
}

impl Svc {
    fn params(&self) -> SvcParams {
        SvcParams { family: self.service.key.family(), flags: self.service.flags }
    }

    fn position(&self, key: &DestinationKey) -> Option<usize> {
        self.views.iter().position(|v| v.addr == key.addr && v.port == key.port)
    }
}

#[derive(Debug, Clone)]
struct Trashed {
    cold: DestCold,
    idle_start: Option<Time>,
}

/// Where a dest object lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Home {
    Svc(u64),
    Trash,
}

/// `IP_VS_DEST_TRASH_PERIOD`: an unreferenced dest is freed after this long in the trash.
const TRASH_PERIOD_MS: u64 = 120_000;

/// The modelled kernel table: services, their dests, schedulers, trash, timeouts, daemons.
///
/// Counters follow the 6.1.183+ tree: `activeconns` and `totalconns` per dest (inactive =
/// `max(total - active, 0)`), `persistconns` for templates; the overload bit is re-evaluated
/// with hysteresis (`__ip_vs_dest_update_overload`): set when a bind brings the total to the
/// upper threshold `u`, cleared when an unbind starts from the effective lower threshold
/// `l_eff` (`l` or `u - u/4`), and re-evaluated at once when an add or edit changes the
/// thresholds (set if total ≥ u, cleared if total < l_eff).
#[derive(Debug, Clone)]
pub struct Table {
    config: TableConfig,
    pub(crate) services: Vec<Svc>,
    trash_views: Vec<DestView>,
    trash: Vec<Trashed>,
    trash_timer: Option<Time>,
    home: HashMap<DestId, Home>,
    timeouts: Timeouts,
    master: Option<SyncDaemon>,
    backup: Option<SyncDaemon>,
    tot_stats: Counters,
    next_dest: u64,
    next_serial: u64,
    mixed_af_dests: usize,
    now: Time,
}

impl Default for Table {
    fn default() -> Self {
        Table::new(TableConfig::default())
    }
}

/// The kernel's default timeouts: TCP 900 s, TCP FIN_WAIT 120 s, UDP 300 s.
pub const DEFAULT_TIMEOUTS: Timeouts = Timeouts { tcp: 900, tcp_fin: 120, udp: 300 };

fn einval() -> Error {
    Error::invalid(22)
}

/// `inet_addr_type()`/`ipv6_addr_type()` as far as a table without interfaces can tell.
fn dest_addr_acceptable(addr: &IpAddr) -> bool {
    match addr {
        // Only 0.0.0.0, 255.255.255.255 and multicast are refused without a routing table
        // (validation already refuses them); 0.1.2.3 is accepted (checked on the 6.1.192 VM).
        IpAddr::V4(a) => !(a.is_unspecified() || a.is_broadcast() || a.is_multicast()),
        IpAddr::V6(a) => {
            let seg0 = a.segments()[0];
            !(a.is_unspecified() || a.is_multicast() || (seg0 & 0xffc0) == 0xfe80)
        }
    }
}

impl Table {
    /// An empty table.
    pub fn new(config: TableConfig) -> Self {
        Table {
            config,
            services: Vec::new(),
            trash_views: Vec::new(),
            trash: Vec::new(),
            trash_timer: None,
            home: HashMap::new(),
            timeouts: DEFAULT_TIMEOUTS,
            master: None,
            backup: None,
            tot_stats: Counters::default(),
            next_dest: 1,
            next_serial: 1,
            mixed_af_dests: 0,
            now: Time::ZERO,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &TableConfig {
        &self.config
    }

    /// The sysctls, for changing them.
    pub fn sysctl_mut(&mut self) -> &mut Sysctls {
        &mut self.config.sysctl
    }

    /// The table's clock: the latest time given to [`Table::advance`].
    pub fn now(&self) -> Time {
        self.now
    }

    /// The current timeouts.
    pub fn current_timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// The next time a table timer (the dest trash) fires, if one is pending.
    pub fn next_timer(&self) -> Option<Time> {
        self.trash_timer
    }

    /// Moves the clock to `now` (never backwards), running the trash timer and the schedulers'
    /// timers that fall due. Each trash tick frees the dests that have been unreferenced for
    /// 120 s (a dest is referenced while connections, templates or lblc/lblcr cache entries
    /// point at it).
    pub fn advance(&mut self, now: Time) {
        let now = now.max(self.now);
        while let Some(t) = self.trash_timer.filter(|&t| t <= now) {
            self.advance_scheds(t);
            self.trash_tick(t);
        }
        self.advance_scheds(now);
        self.now = now;
    }

    fn advance_scheds(&mut self, t: Time) {
        let exp = (
            u64::from(self.config.sysctl.lblc_expiration) * 1000,
            u64::from(self.config.sysctl.lblcr_expiration) * 1000,
        );
        for s in &mut self.services {
            if let Some(sched) = s.sched.as_mut() {
                sched.advance(t, exp);
            }
        }
    }

    fn sched_refs(&self, id: DestId) -> usize {
        self.services.iter().filter_map(|s| s.sched.as_ref()).map(|s| s.refs_to(id)).sum()
    }

    fn trash_tick(&mut self, t: Time) {
        let mut i = 0;
        while i < self.trash.len() {
            let (Some(v), Some(tr)) = (self.trash_views.get(i), self.trash.get(i)) else { break };
            let referenced = v.total_conns > 0 || tr.cold.persist_conns > 0 || self.sched_refs(v.id) > 0;
            if referenced {
                i += 1;
                continue;
            }
            match tr.idle_start {
                None => {
                    if let Some(tr) = self.trash.get_mut(i) {
                        tr.idle_start = Some(t);
                    }
                    i += 1;
                }
                Some(s) if t.as_millis() < s.as_millis().saturating_add(TRASH_PERIOD_MS) => i += 1,
                Some(_) => {
                    let v = self.trash_views.remove(i);
                    self.trash.remove(i);
                    self.home.remove(&v.id);
                }
            }
        }
        self.trash_timer =
            if self.trash.is_empty() { None } else { Some(t.plus_millis(TRASH_PERIOD_MS / 2)) };
    }

    fn svc_index(&self, key: &ServiceKey) -> Option<usize> {
        self.services.iter().position(|s| match (&s.service.key, key) {
            (ServiceKey::Fwmark { mark: a, family: fa }, ServiceKey::Fwmark { mark: b, family: fb }) => {
                a == b && fa == fb
            }
            (a, b) => a == b,
        })
    }

    /// The service a packet belongs to, as `ip_vs_service_find()` looks it up: a firewall-mark
    /// service of the packet's mark and family; else the exact `<protocol, vaddr, vport>`
    /// service; else, for TCP when a port-21 service exists and the port is 20 or ≥ 1024, the
    /// port-21 service of that address; else the port-zero service of `<protocol, vaddr>`.
    pub fn lookup_service(
        &self,
        fwmark: u32,
        protocol: Protocol,
        vaddr: IpAddr,
        vport: u16,
    ) -> Option<ServiceKey> {
        self.lookup_service_index(fwmark, protocol, vaddr, vport)
            .and_then(|i| self.services.get(i))
            .map(|s| s.service.key)
    }

    pub(crate) fn lookup_service_index(
        &self,
        fwmark: u32,
        protocol: Protocol,
        vaddr: IpAddr,
        vport: u16,
    ) -> Option<usize> {
        let family = AddressFamily::of(&vaddr);
        if fwmark != 0 {
            if let Some(i) = self.svc_index(&ServiceKey::Fwmark { mark: fwmark, family }) {
                return Some(i);
            }
        }
        let exact = |port: u16| self.svc_index(&ServiceKey::Addr { protocol, addr: vaddr, port });
        if let Some(i) = exact(vport) {
            return Some(i);
        }
        let ftp = self.services.iter().any(|s| matches!(s.service.key, ServiceKey::Addr { port: 21, .. }));
        if protocol == Protocol::Tcp && ftp && (vport == 20 || vport >= 1024) {
            if let Some(i) = exact(21) {
                return Some(i);
            }
        }
        let null = self.services.iter().any(|s| matches!(s.service.key, ServiceKey::Addr { port: 0, .. }));
        if null {
            return exact(0);
        }
        None
    }

    // ---- reads -------------------------------------------------------------------------

    fn status_of(&self, s: &Svc) -> ServiceStatus {
        let mut service = s.service.clone();
        service.scheduler = match &s.sched {
            Some(a) => Scheduler::from(a.name()),
            None => Scheduler::Unbound,
        };
        service.flags |= ServiceFlags::HASHED;
        let (stats, stats32) = s.stats.stats();
        ServiceStatus { service, stats, stats32 }
    }

    fn dest_status(v: &DestView, c: &DestCold) -> DestinationStatus {
        let (stats, stats32) = c.stats.stats();
        DestinationStatus {
            dest: Destination {
                addr: v.addr,
                port: v.port,
                forward: c.forward,
                weight: v.weight.max(0) as u32,
                upper_threshold: c.u_threshold,
                lower_threshold: c.l_threshold,
                tunnel: c.tunnel,
            },
            active_conns: v.active_conns.max(0) as u32,
            inactive_conns: v.inactive_conns().max(0) as u32,
            persist_conns: c.persist_conns.max(0) as u32,
            stats,
            stats32,
        }
    }

    /// Every service, in insertion order.
    pub fn list_services(&self) -> Vec<ServiceStatus> {
        self.services.iter().map(|s| self.status_of(s)).collect()
    }

    /// One service.
    pub fn get_service(&self, key: &ServiceKey) -> Result<ServiceStatus> {
        let i = self.svc_index(key).ok_or(Error::not_found(Object::Service))?;
        self.services.get(i).map(|s| self.status_of(s)).ok_or(Error::not_found(Object::Service))
    }

    /// The dests of a service, newest first; empty for a missing service (as the kernel's dump).
    pub fn list_destinations(&self, key: &ServiceKey) -> Vec<DestinationStatus> {
        match self.svc_index(key).and_then(|i| self.services.get(i)) {
            Some(s) => s.views.iter().zip(&s.cold).map(|(v, c)| Self::dest_status(v, c)).collect(),
            None => Vec::new(),
        }
    }

    /// The scheduler's view of a service's dests (list order), for inspection.
    pub fn dest_views(&self, key: &ServiceKey) -> Option<&[DestView]> {
        self.svc_index(key).and_then(|i| self.services.get(i)).map(|s| s.views.as_slice())
    }

    /// The scheduler state bound to a service (`None` for `none` or a missing service).
    pub fn scheduler_state(&self, key: &ServiceKey) -> Option<&AnySched> {
        self.svc_index(key).and_then(|i| self.services.get(i)).and_then(|s| s.sched.as_ref())
    }

    /// The dests in the trash (deleted, kept while referenced), most recently deleted first.
    pub fn trash(&self) -> &[DestView] {
        &self.trash_views
    }

    /// The running sync daemons, master first, with the values the kernel filled in.
    pub fn list_daemons(&self) -> Vec<SyncDaemon> {
        self.master.iter().chain(self.backup.iter()).cloned().collect()
    }

    /// The whole table's statistics (`/proc/net/ip_vs_stats`).
    pub fn total_stats(&self) -> Stats {
        self.tot_stats.stats().0
    }

    // ---- writes ------------------------------------------------------------------------

    /// Carries out one operation at the table's current time, with the kernel's checks in the
    /// kernel's order.
    pub fn apply(&mut self, op: &Operation) -> Result<()> {
        op.validate()?;
        match op {
            Operation::AddService(s) => self.add_service(s),
            Operation::EditService(s) => self.edit_service(s),
            Operation::DeleteService(k) => {
                let i = self.svc_index(k).ok_or(Error::not_found(Object::Service))?;
                self.delete_service_at(i);
                Ok(())
            }
            Operation::AddDestination(k, d) => self.add_dest(k, d),
            Operation::EditDestination(k, d) => self.edit_dest(k, d),
            Operation::DeleteDestination(k, d) => self.delete_dest(k, d),
            Operation::Flush => {
                while !self.services.is_empty() {
                    self.delete_service_at(0);
                }
                Ok(())
            }
            Operation::Zero(Some(k)) => {
                let i = self.svc_index(k).ok_or(Error::not_found(Object::Service))?;
                if let Some(s) = self.services.get_mut(i) {
                    s.cold.iter_mut().for_each(|c| c.stats.zero());
                    s.stats.zero();
                }
                Ok(())
            }
            Operation::Zero(None) => {
                for s in &mut self.services {
                    s.cold.iter_mut().for_each(|c| c.stats.zero());
                    s.stats.zero();
                }
                self.tot_stats.zero();
                Ok(())
            }
            Operation::SetTimeouts(t) => {
                if t.tcp != 0 {
                    self.timeouts.tcp = t.tcp;
                }
                if t.tcp_fin != 0 {
                    self.timeouts.tcp_fin = t.tcp_fin;
                }
                if t.udp != 0 {
                    self.timeouts.udp = t.udp;
                }
                Ok(())
            }
            Operation::StartDaemon(d) => self.start_daemon(d),
            Operation::StopDaemon(role) => {
                let slot = match role {
                    SyncRole::Master => &mut self.master,
                    SyncRole::Backup => &mut self.backup,
                };
                match slot.take() {
                    Some(_) => Ok(()),
                    None => Err(Error::not_found(Object::SyncDaemon)),
                }
            }
        }
    }

    fn check_modules(&self, s: &Service) -> Result<()> {
        if s.scheduler != Scheduler::Unbound && !self.config.has_scheduler(&s.scheduler) {
            return Err(Error::scheduler_or_engine_not_found());
        }
        if let Some(pe) = &s.pe_name {
            if !self.config.persistence_engines.iter().any(|p| p == pe.as_str()) {
                return Err(Error::scheduler_or_engine_not_found());
            }
        }
        Ok(())
    }

    fn add_service(&mut self, s: &Service) -> Result<()> {
        if self.svc_index(&s.key).is_some() {
            return Err(Error::exists(Object::Service));
        }
        self.check_modules(s)?;
        let mut service = s.clone();
        service.flags -= ServiceFlags::HASHED;
        let params = SvcParams { family: service.key.family(), flags: service.flags };
        let sched = match &service.scheduler {
            Scheduler::Unbound => None,
            kind => Some(AnySched::new(kind, params, &[], self.now).map_err(sched_err)?),
        };
        let serial = self.next_serial;
        self.next_serial += 1;
        self.services.push(Svc {
            serial,
            service,
            views: Vec::new(),
            cold: Vec::new(),
            sched,
            stats: Counters::default(),
        });
        Ok(())
    }

    fn edit_service(&mut self, s: &Service) -> Result<()> {
        let i = self.svc_index(&s.key).ok_or(Error::not_found(Object::Service))?;
        self.check_modules(s)?;
        let now = self.now;
        let svc = self.services.get_mut(i).ok_or(Error::not_found(Object::Service))?;
        let old = svc.service.scheduler.clone();
        if old != s.scheduler {
            let params = svc.params();
            svc.sched = None;
            if s.scheduler != Scheduler::Unbound {
                match AnySched::new(&s.scheduler, params, &svc.views, now) {
                    Ok(a) => svc.sched = Some(a),
                    Err(e) => {
                        // ip_vs_edit_service: try to restore the old scheduler (freshly bound).
                        if old != Scheduler::Unbound {
                            svc.sched = AnySched::new(&old, params, &svc.views, now).ok();
                        }
                        if svc.sched.is_none() {
                            svc.service.scheduler = Scheduler::Unbound;
                        }
                        return Err(sched_err(e));
                    }
                }
            }
        }
        svc.service.scheduler = s.scheduler.clone();
        svc.service.flags = s.flags - ServiceFlags::HASHED;
        svc.service.timeout = s.timeout;
        svc.service.netmask = s.netmask;
        svc.service.pe_name = s.pe_name.clone();
        let flags = svc.service.flags;
        if let Some(a) = svc.sched.as_mut() {
            a.set_flags(flags);
        }
        Ok(())
    }

    fn delete_service_at(&mut self, i: usize) {
        if i >= self.services.len() {
            return;
        }
        let svc = self.services.remove(i);
        let family = svc.service.key.family();
        for (mut v, c) in svc.views.into_iter().zip(svc.cold) {
            v.available = false;
            if AddressFamily::of(&v.addr) != family {
                self.mixed_af_dests = self.mixed_af_dests.saturating_sub(1);
            }
            self.move_to_trash(v, c);
        }
    }

    fn move_to_trash(&mut self, v: DestView, c: DestCold) {
        if self.trash.is_empty() {
            self.trash_timer = Some(self.now.plus_millis(TRASH_PERIOD_MS / 2));
        }
        self.home.insert(v.id, Home::Trash);
        self.trash_views.insert(0, v);
        self.trash.insert(0, Trashed { cold: c, idle_start: None });
    }

    fn check_mixed(&self, svc_family: AddressFamily, d: &Destination) -> Result<()> {
        if d.family() != svc_family {
            if self.master.is_some() || self.backup.is_some() {
                return Err(einval());
            }
            if d.forward != ForwardMethod::Tunnel {
                return Err(einval());
            }
        }
        Ok(())
    }

    fn add_dest(&mut self, k: &ServiceKey, d: &Destination) -> Result<()> {
        let i = self.svc_index(k).ok_or(Error::not_found(Object::Service))?;
        self.check_mixed(k.family(), d)?;
        let svc = self.services.get(i).ok_or(Error::not_found(Object::Service))?;
        if svc.position(&d.key()).is_some() {
            return Err(Error::exists(Object::Destination));
        }
        let serial = svc.serial;
        let svc_key = svc.service.key;
        let trashed = self.trash_views.iter().zip(&self.trash).position(|(v, t)| {
            v.addr == d.addr && v.port == d.port && same_identity(&t.cold.svc_key, &svc_key)
        });
        let (view, cold) = match trashed {
            Some(t) => {
                let v = self.trash_views.remove(t);
                let tr = self.trash.remove(t);
                if self.trash.is_empty() {
                    self.trash_timer = None;
                }
                (v, tr.cold)
            }
            None => {
                if !dest_addr_acceptable(&d.addr) {
                    return Err(einval());
                }
                let id = DestId(self.next_dest);
                self.next_dest += 1;
                let view = DestView {
                    id,
                    addr: d.addr,
                    port: d.port,
                    weight: 0,
                    last_weight: 0,
                    overloaded: false,
                    available: false,
                    active_conns: 0,
                    total_conns: 0,
                };
                let cold = DestCold {
                    forward: d.forward,
                    tunnel: d.tunnel,
                    u_threshold: 0,
                    l_threshold: 0,
                    l_threshold_val: 0,
                    persist_conns: 0,
                    stats: Counters::default(),
                    svc_key,
                    svc_serial: serial,
                };
                (view, cold)
            }
        };
        if d.family() != k.family() {
            self.mixed_af_dests += 1;
        }
        self.home.insert(view.id, Home::Svc(serial));
        let svc = self.services.get_mut(i).ok_or(Error::not_found(Object::Service))?;
        svc.views.insert(0, view);
        svc.cold.insert(0, cold);
        update_dest(svc, 0, d, true);
        Ok(())
    }

    fn edit_dest(&mut self, k: &ServiceKey, d: &Destination) -> Result<()> {
        let i = self.svc_index(k).ok_or(Error::not_found(Object::Service))?;
        self.check_mixed(k.family(), d)?;
        let svc = self.services.get_mut(i).ok_or(Error::not_found(Object::Service))?;
        let pos = svc.position(&d.key()).ok_or(Error::not_found(Object::Destination))?;
        update_dest(svc, pos, d, false);
        Ok(())
    }

    fn delete_dest(&mut self, k: &ServiceKey, d: &DestinationKey) -> Result<()> {
        let i = self.svc_index(k).ok_or(Error::not_found(Object::Service))?;
        let svc = self.services.get_mut(i).ok_or(Error::not_found(Object::Service))?;
        let pos = svc.position(d).ok_or(Error::not_found(Object::Destination))?;
        let mut v = svc.views.remove(pos);
        let c = svc.cold.remove(pos);
        v.available = false;
        if let Some(s) = svc.sched.as_mut() {
            s.del_dest(&svc.views, pos, &v);
        }
        if AddressFamily::of(&v.addr) != k.family() {
            self.mixed_af_dests = self.mixed_af_dests.saturating_sub(1);
        }
        self.move_to_trash(v, c);
        Ok(())
    }

    fn start_daemon(&mut self, d: &SyncDaemon) -> Result<()> {
        if self.mixed_af_dests > 0 {
            return Err(einval());
        }
        if let Some(ifs) = &self.config.interfaces {
            if !ifs.contains(&d.interface) {
                return Err(Error::not_found(Object::Interface));
            }
        }
        let slot_taken = match d.role {
            SyncRole::Master => self.master.is_some(),
            SyncRole::Backup => self.backup.is_some(),
        };
        if slot_taken {
            return Err(Error::exists(Object::SyncDaemon));
        }
        let mut c = d.clone();
        let group = c.group.unwrap_or(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 81)));
        c.group = Some(group);
        if c.port == 0 {
            c.port = 8848;
        }
        if c.ttl == 0 {
            c.ttl = 1;
        }
        let hlen: u32 = if group.is_ipv6() { 40 + 8 } else { 20 + 8 };
        let (mtu, min_mtu) = match d.role {
            SyncRole::Backup => (self.config.interface_mtu.clamp(1500, 65535), 1024),
            SyncRole::Master => (1500, 1),
        };
        let max_len =
            if c.max_len != 0 { u32::from(c.max_len).clamp(min_mtu, 65535 - hlen) } else { mtu - hlen };
        c.max_len = u16::try_from(max_len).unwrap_or(u16::MAX);
        match d.role {
            SyncRole::Master => self.master = Some(c),
            SyncRole::Backup => self.backup = Some(c),
        }
        Ok(())
    }

    // ---- traffic (used by the simulator) ------------------------------------------------

    /// Runs the scheduler of service `svc_idx` for a packet at the table's time; returns the
    /// chosen dest's id.
    pub(crate) fn schedule(
        &mut self,
        svc_idx: usize,
        pkt: &PacketInfo,
        rng: &mut dyn RandomSource,
    ) -> Option<DestId> {
        let now = self.now;
        let (lblc, lblcr) = (self.config.sysctl.lblc_expiration, self.config.sysctl.lblcr_expiration);
        let detached = &self.trash_views;
        let svc = self.services.get_mut(svc_idx)?;
        let sched = svc.sched.as_mut()?;
        let mut ctx = SchedCtx {
            now,
            rng,
            detached,
            lblc_expiration_ms: u64::from(lblc) * 1000,
            lblcr_expiration_ms: u64::from(lblcr) * 1000,
        };
        let i = sched.schedule(&svc.views, pkt, &mut ctx)?;
        svc.views.get(i).map(|v| v.id)
    }

    /// Where dest `id` lives: (service index, position) or (None, trash position).
    fn locate(&self, id: DestId) -> Option<(Option<usize>, usize)> {
        match self.home.get(&id)? {
            Home::Svc(serial) => {
                let si = self.services.iter().position(|s| s.serial == *serial)?;
                let pos = self.services.get(si)?.views.iter().position(|v| v.id == id)?;
                Some((Some(si), pos))
            }
            Home::Trash => Some((None, self.trash_views.iter().position(|v| v.id == id)?)),
        }
    }

    fn dest_parts(&self, id: DestId) -> Option<(&DestView, &DestCold)> {
        match self.locate(id)? {
            (Some(si), pos) => {
                let s = self.services.get(si)?;
                Some((s.views.get(pos)?, s.cold.get(pos)?))
            }
            (None, pos) => Some((self.trash_views.get(pos)?, &self.trash.get(pos)?.cold)),
        }
    }

    fn dest_mut(&mut self, id: DestId) -> Option<(&mut DestView, &mut DestCold)> {
        match self.locate(id)? {
            (Some(si), pos) => {
                let s = self.services.get_mut(si)?;
                Some((s.views.get_mut(pos)?, s.cold.get_mut(pos)?))
            }
            (None, pos) => Some((self.trash_views.get_mut(pos)?, &mut self.trash.get_mut(pos)?.cold)),
        }
    }

    /// A dest by identity (linked or in the trash).
    pub fn dest(&self, id: DestId) -> Option<&DestView> {
        self.dest_parts(id).map(|(v, _)| v)
    }

    /// The address, port, forwarding method and service serial of a dest.
    pub(crate) fn dest_info(&self, id: DestId) -> Option<(DestinationKey, ForwardMethod, u64)> {
        let (v, c) = self.dest_parts(id)?;
        Some((DestinationKey { addr: v.addr, port: v.port }, c.forward, c.svc_serial))
    }

    /// `ip_vs_bind_dest`: a new connection (or template) now refers to the dest.
    pub(crate) fn bind_conn(&mut self, id: DestId, template: bool, active: bool) {
        if let Some((v, c)) = self.dest_mut(id) {
            if template {
                c.persist_conns += 1;
            } else {
                if active {
                    v.active_conns += 1;
                }
                v.total_conns += 1;
                if i64::from(v.total_conns) == i64::from(c.u_threshold) {
                    update_overload(v, c, 1);
                }
            }
        }
    }

    /// `ip_vs_unbind_dest`: a connection (or template) that referred to the dest expired.
    pub(crate) fn unbind_conn(&mut self, id: DestId, template: bool, active: bool) {
        if let Some((v, c)) = self.dest_mut(id) {
            if template {
                c.persist_conns -= 1;
            } else {
                if active {
                    v.active_conns -= 1;
                }
                let before = v.total_conns;
                v.total_conns -= 1;
                if i64::from(before) == i64::from(c.l_threshold_val) {
                    update_overload(v, c, -1);
                }
            }
        }
    }

    /// A connection moved between the active and inactive states.
    pub(crate) fn set_active(&mut self, id: DestId, active: bool) {
        if let Some((v, _)) = self.dest_mut(id) {
            if active {
                v.active_conns += 1;
            } else {
                v.active_conns -= 1;
            }
        }
    }

    /// `ip_vs_conn_stats`: a connection was scheduled by service `svc_serial` to dest `id`.
    pub(crate) fn count_conn(&mut self, id: DestId, svc_serial: u64) {
        if let Some((_, c)) = self.dest_mut(id) {
            c.stats.add(C_CONNS, 1);
        }
        if let Some(s) = self.services.iter_mut().find(|s| s.serial == svc_serial) {
            s.stats.add(C_CONNS, 1);
        }
        self.tot_stats.add(C_CONNS, 1);
    }

    /// `ip_vs_in_stats`: an inbound packet of a connection to dest `id` (counted only while the
    /// dest is available).
    pub(crate) fn count_in_packet(&mut self, id: DestId, bytes: u64) {
        let Some((v, c)) = self.dest_mut(id) else { return };
        if !v.available {
            return;
        }
        c.stats.add(C_INPKTS, 1);
        c.stats.add(C_INBYTES, bytes);
        let serial = c.svc_serial;
        if let Some(s) = self.services.iter_mut().find(|s| s.serial == serial) {
            s.stats.add(C_INPKTS, 1);
            s.stats.add(C_INBYTES, bytes);
        }
        self.tot_stats.add(C_INPKTS, 1);
        self.tot_stats.add(C_INBYTES, bytes);
    }
}

fn sched_err(e: SchedInitError) -> Error {
    match e {
        SchedInitError::NotFound => Error::scheduler_or_engine_not_found(),
        SchedInitError::TooManyDests => einval(),
    }
}

/// The trash match of `ip_vs_trash_get_dest`: same fwmark, or same protocol, address and port.
fn same_identity(a: &ServiceKey, b: &ServiceKey) -> bool {
    match (a, b) {
        (ServiceKey::Fwmark { mark: x, .. }, ServiceKey::Fwmark { mark: y, .. }) => x == y,
        (a, b) => a == b,
    }
}

/// `__ip_vs_dest_update_overload` (6.1.183+).
fn update_overload(v: &mut DestView, c: &DestCold, mode: i32) {
    let u = i64::from(c.u_threshold);
    if u == 0 {
        v.overloaded = false;
        return;
    }
    let l = i64::from(c.l_threshold_val);
    let conns = i64::from(v.total_conns);
    if conns >= if mode > 0 { l } else { u } {
        v.overloaded = true;
        return;
    }
    if conns >= if mode < 0 { u } else { l } {
        return;
    }
    v.overloaded = false;
}

/// `__ip_vs_update_dest`: store a request's fields into the dest at `pos` and run the
/// scheduler hook.
fn update_dest(svc: &mut Svc, pos: usize, d: &Destination, add: bool) {
    let serial = svc.serial;
    let (Some(v), Some(c)) = (svc.views.get_mut(pos), svc.cold.get_mut(pos)) else { return };
    let weight = d.weight.min(Destination::MAX_WEIGHT) as i32;
    if add || weight != 0 {
        v.last_weight = weight;
    }
    v.weight = weight;
    c.forward = d.forward;
    c.tunnel = d.tunnel;
    if c.svc_serial != serial {
        c.stats.zero();
        c.svc_serial = serial;
    }
    v.available = true;
    if c.u_threshold != d.upper_threshold || c.l_threshold != d.lower_threshold {
        c.u_threshold = d.upper_threshold;
        c.l_threshold = d.lower_threshold;
        c.l_threshold_val = if d.lower_threshold != 0 {
            d.lower_threshold
        } else {
            d.upper_threshold - (d.upper_threshold >> 2)
        };
        update_overload(v, c, 0);
    }
    if let Some(s) = svc.sched.as_mut() {
        if add {
            s.add_dest(&svc.views, pos);
        } else {
            s.upd_dest(&svc.views, pos);
        }
    }
}

/// An in-memory IPVS table behind the [`Backend`] trait: the kernel's rules without a kernel,
/// for dry runs, tests and planning. See the [module docs](self) for what is modelled.
///
/// ```
/// use ipvs_core::table::MemoryBackend;
/// use ipvs_core::{Backend, Destination, Error, Object, Scheduler, Service, ServiceKey};
/// let mut t = MemoryBackend::new();
/// let key = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80);
/// t.add_service(&Service::new(key).with_scheduler(Scheduler::Rr)).unwrap();
/// assert_eq!(t.add_service(&Service::new(key)), Err(Error::exists(Object::Service)));
/// t.add_destination(&key, &Destination::new("192.168.1.1:80".parse().unwrap())).unwrap();
/// t.add_destination(&key, &Destination::new("192.168.1.2:80".parse().unwrap())).unwrap();
/// let dests = t.destinations(&key).unwrap();
/// assert_eq!(dests[0].dest.addr.to_string(), "192.168.1.2"); // newest first
/// let twos = Service::new(ServiceKey::tcp("10.0.0.2".parse().unwrap(), 80)).with_scheduler(Scheduler::Twos);
/// assert_eq!(t.add_service(&twos), Err(Error::scheduler_or_engine_not_found())); // not in Debian's kernel
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryBackend {
    table: Table,
}

impl MemoryBackend {
    /// A table modelling the Debian 6.1.192 kernel ([`TableConfig::default`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// A table with another configuration (other schedulers, interfaces, sysctls).
    pub fn with_config(config: TableConfig) -> Self {
        MemoryBackend { table: Table::new(config) }
    }

    /// The table.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The table, for changing its clock or sysctls.
    pub fn table_mut(&mut self) -> &mut Table {
        &mut self.table
    }

    /// The table, by value.
    pub fn into_table(self) -> Table {
        self.table
    }
}

impl From<Table> for MemoryBackend {
    fn from(table: Table) -> Self {
        MemoryBackend { table }
    }
}

impl Backend for MemoryBackend {
    fn info(&mut self) -> Result<Info> {
        Ok(self.table.config.info)
    }

    fn services(&mut self) -> Result<Vec<ServiceStatus>> {
        Ok(self.table.list_services())
    }

    fn service(&mut self, key: &ServiceKey) -> Result<ServiceStatus> {
        key.validate()?;
        self.table.get_service(key)
    }

    fn destinations(&mut self, key: &ServiceKey) -> Result<Vec<DestinationStatus>> {
        key.validate()?;
        Ok(self.table.list_destinations(key))
    }

    fn timeouts(&mut self) -> Result<Timeouts> {
        Ok(self.table.timeouts)
    }

    fn daemons(&mut self) -> Result<Vec<SyncDaemon>> {
        Ok(self.table.list_daemons())
    }

    fn apply(&mut self, op: &Operation) -> Result<()> {
        self.table.apply(op)
    }
}
