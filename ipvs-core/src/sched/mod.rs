//! The kernel's IPVS schedulers as pure, deterministic state machines.
//!
//! Each scheduler is a reimplementation (not a copy) of the matching `net/netfilter/ipvs/ip_vs_*.c`
//! file of the **Debian 6.1.192** kernel, the kernel of the project's test VM. That tree carries
//! stable backports that older kernels lack, and this module follows the backported variant
//! everywhere (each scheduler's docs say which behaviour it follows):
//!
//! * connection overhead is `activeconns * 256 + totalconns` ("ipvs: add totalconns for dest",
//!   6.1.183), see [`DestView::overhead`];
//! * the overload bit has hysteresis ("properly update the overload flag", 6.1.183); the table
//!   ([`crate::table`]) maintains it, schedulers only read [`DestView::overloaded`];
//! * availability is a separate flag ([`DestView::available`], "separate destination
//!   availability state", 6.1.184);
//! * the lblc/lblcr caches stop growing at 24576 entries ("bound LBLCR and LBLC cache growth",
//!   6.1.191).
//!
//! # Model
//!
//! A service's real servers are a slice of [`DestView`]s **in the kernel's list order: newest
//! first** (the kernel inserts with `list_add_rcu` at the list head). A scheduler is created with
//! the current slice (the kernel's `init_service`), is told about every change to the slice
//! ([`SchedState::add_dest`], [`SchedState::del_dest`], [`SchedState::upd_dest`], called *after*
//! the slice changed, as the kernel calls its hooks), and answers [`SchedState::schedule`] with an
//! index into the slice, or `None` for "no destination available".
//!
//! Nothing reads a clock or an entropy source: time ([`Time`]) and randomness
//! ([`RandomSource`]) come in through [`SchedCtx`], so any run can be replayed exactly. The hot
//! path allocates nothing (the lblc/lblcr caches allocate when they store a new entry, as the
//! kernel does).
//!
//! ```
//! use ipvs_core::sched::{DestId, DestView, PacketInfo, SchedCtx, SchedState, Rr, SplitMix64, Time};
//! let dests = [
//!     DestView::new(DestId(2), "10.0.0.2".parse().unwrap(), 80, 1), // newest
//!     DestView::new(DestId(1), "10.0.0.1".parse().unwrap(), 80, 1),
//! ];
//! let mut rr = Rr::new(&dests);
//! let mut rng = SplitMix64::new(1);
//! let mut ctx = SchedCtx::new(Time::ZERO, &mut rng);
//! let pkt = PacketInfo::tcp("192.0.2.1:1234".parse().unwrap(), "10.1.1.1:80".parse().unwrap());
//! let picks: Vec<_> = (0..4).map(|_| rr.schedule(&dests, &pkt, &mut ctx)).collect();
//! assert_eq!(picks, [Some(0), Some(1), Some(0), Some(1)]);
//! ```

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use crate::service::{AddressFamily, Protocol, Scheduler, ServiceFlags};

pub mod common;
mod dh;
mod fo;
mod lblc;
mod lblcr;
mod lc;
mod mh;
mod nq;
mod ovf;
mod rr;
mod sed;
mod sh;
mod twos;
mod wlc;
mod wrr;

pub use common::{fold_addr, hash_32, hsiphash_u32, HsiphashKey};
pub use dh::Dh;
pub use fo::Fo;
pub use lblc::Lblc;
pub use lblcr::Lblcr;
pub use lc::Lc;
pub use mh::{Mh, MH_TAB_SIZE};
pub use nq::Nq;
pub use ovf::Ovf;
pub use rr::Rr;
pub use sed::Sed;
pub use sh::{Sh, SH_TAB_SIZE};
pub use twos::Twos;
pub use wlc::Wlc;
pub use wrr::Wrr;

/// A point in time, in milliseconds since an arbitrary origin chosen by the caller.
///
/// The kernel counts in jiffies (4 ms on Debian's `CONFIG_HZ=250`); milliseconds are finer, so
/// every kernel deadline can be represented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Time(pub u64);

impl Time {
    /// The origin.
    pub const ZERO: Time = Time(0);

    /// `secs` seconds after the origin.
    pub const fn from_secs(secs: u64) -> Time {
        Time(secs.saturating_mul(1000))
    }

    /// `ms` milliseconds after the origin.
    pub const fn from_millis(ms: u64) -> Time {
        Time(ms)
    }

    /// Milliseconds since the origin.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// This time plus `ms` milliseconds (saturating).
    pub const fn plus_millis(self, ms: u64) -> Time {
        Time(self.0.saturating_add(ms))
    }

    /// This time plus `secs` seconds (saturating).
    pub const fn plus_secs(self, secs: u64) -> Time {
        Time(self.0.saturating_add(secs.saturating_mul(1000)))
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.0 / 1000, self.0 % 1000)
    }
}

/// A stable identity of a real-server object. The kernel compares dest *pointers* in its caches
/// (lblc, lblcr, persistence templates); a dest revived from the trash keeps its identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct DestId(pub u64);

/// What a scheduler reads of a real server (the fields of the kernel's `struct ip_vs_dest` that
/// the schedulers touch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DestView {
    /// Identity of the dest object.
    pub id: DestId,
    /// Address (hashed by mh when building its table).
    pub addr: IpAddr,
    /// Port (hashed by mh when building its table).
    pub port: u16,
    /// Current weight; 0 means quiesced. The kernel keeps it as an `int` ≥ 0.
    pub weight: i32,
    /// The most recent non-zero weight (`last_weight`; set on every add, and on edits with a
    /// non-zero weight). Only mh reads it.
    pub last_weight: i32,
    /// `IP_VS_DEST_F_OVERLOAD`, maintained from the thresholds by the table.
    pub overloaded: bool,
    /// `IP_VS_DEST_CF_AVAILABLE`: linked into its service (false once deleted).
    pub available: bool,
    /// `activeconns`.
    pub active_conns: i32,
    /// `totalconns`: every non-template connection bound to the dest (6.1.183+).
    pub total_conns: i32,
}

impl DestView {
    /// A fresh, available dest with no connections (`last_weight` = `weight`, as after an add).
    pub fn new(id: DestId, addr: IpAddr, port: u16, weight: i32) -> Self {
        DestView {
            id,
            addr,
            port,
            weight,
            last_weight: weight,
            overloaded: false,
            available: true,
            active_conns: 0,
            total_conns: 0,
        }
    }

    /// The same dest with connection counts.
    pub fn with_conns(mut self, active: i32, total: i32) -> Self {
        self.active_conns = active;
        self.total_conns = total;
        self
    }

    /// `ip_vs_dest_conn_overhead()` of the 6.1.183+ tree: `(activeconns << 8) + totalconns`,
    /// in the kernel's `int` arithmetic (wrapping).
    #[inline]
    pub fn overhead(&self) -> i32 {
        (self.active_conns.wrapping_shl(8)).wrapping_add(self.total_conns)
    }

    /// `ip_vs_dest_inactconns()`: `max(totalconns - activeconns, 0)`.
    #[inline]
    pub fn inactive_conns(&self) -> i32 {
        self.total_conns.wrapping_sub(self.active_conns).max(0)
    }

    /// The sh/mh notion of "available": weight > 0 and not overloaded.
    #[inline]
    pub(crate) fn hash_usable(&self) -> bool {
        self.weight > 0 && !self.overloaded
    }
}

/// The parts of a packet a scheduler may look at. The kernel's schedulers see the first packet of
/// a new connection; `src` is the client, `dst` the virtual address.
///
/// ICMP-embedded ("inverse") headers are not modelled: `src` is always the address sh/mh hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PacketInfo {
    /// Transport protocol; sh-port/mh-port only read a port for TCP, UDP and SCTP.
    pub protocol: Protocol,
    /// Source (client) address.
    pub src: IpAddr,
    /// Source (client) port.
    pub src_port: u16,
    /// Destination (virtual) address; dh, lblc and lblcr key on it.
    pub dst: IpAddr,
    /// Destination (virtual) port.
    pub dst_port: u16,
}

impl PacketInfo {
    /// A packet of `protocol` from `src` to `dst`.
    pub fn new(protocol: Protocol, src: SocketAddr, dst: SocketAddr) -> Self {
        PacketInfo { protocol, src: src.ip(), src_port: src.port(), dst: dst.ip(), dst_port: dst.port() }
    }

    /// A TCP packet from `src` to `dst`.
    pub fn tcp(src: SocketAddr, dst: SocketAddr) -> Self {
        Self::new(Protocol::Tcp, src, dst)
    }

    /// A UDP packet from `src` to `dst`.
    pub fn udp(src: SocketAddr, dst: SocketAddr) -> Self {
        Self::new(Protocol::Udp, src, dst)
    }

    /// The port sh/mh hash with their `-port` flag: the source port for TCP, UDP and SCTP, 0 for
    /// anything else (`ip_vs_sh_get_port`, `ip_vs_mh_get_port`).
    #[inline]
    pub fn hash_port(&self) -> u16 {
        match self.protocol {
            Protocol::Tcp | Protocol::Udp | Protocol::Sctp => self.src_port,
            Protocol::Other(_) => 0,
        }
    }
}

/// A source of uniformly distributed `u32`s (the kernel's `get_random_u32()`). Closures
/// `FnMut() -> u32` implement it.
pub trait RandomSource {
    /// The next random `u32`.
    fn next_u32(&mut self) -> u32;
}

impl<F: FnMut() -> u32> RandomSource for F {
    fn next_u32(&mut self) -> u32 {
        self()
    }
}

/// A small deterministic generator (SplitMix64), the default [`RandomSource`] of the simulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl RandomSource for SplitMix64 {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
}

/// `get_random_u32_below(ceil)` as the kernel computes it from a stream of `u32`s (Lemire's
/// multiply-shift with rejection, `drivers/char/random.c`): uniform on `0..ceil`; `ceil == 0`
/// returns the raw draw. twos draws through this (`prandom_u32_max` maps to it in this tree).
/// (A source that stays in the rejection zone for 1000 draws gets the last one accepted.)
pub fn random_u32_below(rng: &mut dyn RandomSource, ceil: u32) -> u32 {
    let rand = rng.next_u32();
    if ceil == 0 {
        return rand;
    }
    let mut mult = u64::from(ceil) * u64::from(rand);
    if (mult as u32) < ceil {
        let bound = ceil.wrapping_neg() % ceil;
        // The kernel retries until a draw is accepted; a source stuck in the (tiny) rejection
        // zone would loop for ever, so give up after many tries and take the last draw.
        let mut tries = 0;
        while (mult as u32) < bound && tries < 1000 {
            mult = u64::from(ceil) * u64::from(rng.next_u32());
            tries += 1;
        }
    }
    (mult >> 32) as u32
}

/// Inputs a scheduler may need besides the dests and the packet: the time, randomness, the
/// dests that were removed from the service but are still referenced by a cache, and the
/// lblc/lblcr sysctls.
pub struct SchedCtx<'a> {
    /// Now.
    pub now: Time,
    /// Randomness (twos only).
    pub rng: &'a mut dyn RandomSource,
    /// Dests unlinked from the service (the kernel's dest trash) that lblcr's server sets may
    /// still hold; lblcr's "most loaded member" pick reads their weight and counters. Empty by
    /// default.
    pub detached: &'a [DestView],
    /// `net.ipv4.vs.lblc_expiration` in milliseconds (default 86400 s).
    pub lblc_expiration_ms: u64,
    /// `net.ipv4.vs.lblcr_expiration` in milliseconds (default 86400 s).
    pub lblcr_expiration_ms: u64,
}

impl<'a> SchedCtx<'a> {
    /// The kernel's default lblc/lblcr expiration: one day.
    pub const DEFAULT_EXPIRATION_MS: u64 = 24 * 60 * 60 * 1000;

    /// A context at `now` with default sysctls and no detached dests.
    pub fn new(now: Time, rng: &'a mut dyn RandomSource) -> Self {
        SchedCtx {
            now,
            rng,
            detached: &[],
            lblc_expiration_ms: Self::DEFAULT_EXPIRATION_MS,
            lblcr_expiration_ms: Self::DEFAULT_EXPIRATION_MS,
        }
    }
}

impl fmt::Debug for SchedCtx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchedCtx")
            .field("now", &self.now)
            .field("detached", &self.detached.len())
            .field("lblc_expiration_ms", &self.lblc_expiration_ms)
            .field("lblcr_expiration_ms", &self.lblcr_expiration_ms)
            .finish_non_exhaustive()
    }
}

/// A scheduler's state machine. The constructors of the implementing types play the kernel's
/// `init_service`; dropping the value is `done_service`.
///
/// The hooks run after the dest slice changed, exactly where the kernel calls the scheduler's
/// `add_dest`, `del_dest` and `upd_dest` (schedulers without a hook in the kernel keep the
/// default no-op). `pos` is the index of the affected dest in the slice (for a delete: where it
/// was).
pub trait SchedState {
    /// Picks a dest for a new connection: an index into `dests`, or `None` ("no destination
    /// available").
    fn schedule(&mut self, dests: &[DestView], pkt: &PacketInfo, ctx: &mut SchedCtx<'_>) -> Option<usize>;

    /// A dest was inserted at `pos` (the kernel always inserts at 0, the list head).
    fn add_dest(&mut self, dests: &[DestView], pos: usize) {
        let _ = (dests, pos);
    }

    /// The dest `removed` was unlinked from position `pos`; `dests` no longer holds it.
    fn del_dest(&mut self, dests: &[DestView], pos: usize, removed: &DestView) {
        let _ = (dests, pos, removed);
    }

    /// The dest at `pos` was edited (weight, thresholds, forwarding).
    fn upd_dest(&mut self, dests: &[DestView], pos: usize) {
        let _ = (dests, pos);
    }
}

/// Why a scheduler could not be bound to a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchedInitError {
    /// No such scheduler (the kernel: `ENOENT` after `request_module("ip_vs_<name>")`).
    NotFound,
    /// mh: more dests than table slots (`EINVAL` from `init_service`).
    TooManyDests,
}

/// The service-level parameters schedulers read: the family (address folding) and the flags
/// (sh/mh fallback and port).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SvcParams {
    /// The service's address family (decides how addresses are folded to 32 bits).
    pub family: AddressFamily,
    /// The service flags; only SCHED1 (fallback) and SCHED2 (port) matter to sh and mh.
    pub flags: ServiceFlags,
}

impl SvcParams {
    /// IPv4 parameters with no flags.
    pub fn v4() -> Self {
        SvcParams { family: AddressFamily::Inet, flags: ServiceFlags::empty() }
    }
}

/// Any scheduler's state, by name: what a service binds.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub enum AnySched {
    Rr(Rr),
    Wrr(Wrr),
    Lc(Lc),
    Wlc(Wlc),
    Sed(Sed),
    Nq(Nq),
    Fo(Fo),
    Ovf(Ovf),
    Dh(Dh),
    Sh(Sh),
    Mh(Mh),
    Lblc(Lblc),
    Lblcr(Lblcr),
    Twos(Twos),
}

macro_rules! each {
    ($self:expr, $s:ident => $e:expr) => {
        match $self {
            AnySched::Rr($s) => $e,
            AnySched::Wrr($s) => $e,
            AnySched::Lc($s) => $e,
            AnySched::Wlc($s) => $e,
            AnySched::Sed($s) => $e,
            AnySched::Nq($s) => $e,
            AnySched::Fo($s) => $e,
            AnySched::Ovf($s) => $e,
            AnySched::Dh($s) => $e,
            AnySched::Sh($s) => $e,
            AnySched::Mh($s) => $e,
            AnySched::Lblc($s) => $e,
            AnySched::Lblcr($s) => $e,
            AnySched::Twos($s) => $e,
        }
    };
}

impl AnySched {
    /// Binds scheduler `kind` to a service with these dests at time `now` (`init_service`).
    /// [`Scheduler::Unbound`] and unknown names give [`SchedInitError::NotFound`]: a service
    /// with `none` simply has no state.
    pub fn new(
        kind: &Scheduler,
        params: SvcParams,
        dests: &[DestView],
        now: Time,
    ) -> Result<AnySched, SchedInitError> {
        Ok(match kind {
            Scheduler::Rr => AnySched::Rr(Rr::new(dests)),
            Scheduler::Wrr => AnySched::Wrr(Wrr::new(dests)),
            Scheduler::Lc => AnySched::Lc(Lc),
            Scheduler::Wlc => AnySched::Wlc(Wlc),
            Scheduler::Sed => AnySched::Sed(Sed),
            Scheduler::Nq => AnySched::Nq(Nq),
            Scheduler::Fo => AnySched::Fo(Fo),
            Scheduler::Ovf => AnySched::Ovf(Ovf),
            Scheduler::Dh => AnySched::Dh(Dh::new(params, dests)),
            Scheduler::Sh => AnySched::Sh(Sh::new(params, dests)),
            Scheduler::Mh => AnySched::Mh(Mh::new(params, dests)?),
            Scheduler::Lblc => AnySched::Lblc(Lblc::new(params, now)),
            Scheduler::Lblcr => AnySched::Lblcr(Lblcr::new(params, now)),
            Scheduler::Twos => AnySched::Twos(Twos),
            Scheduler::Unbound | Scheduler::Other(_) => return Err(SchedInitError::NotFound),
        })
    }

    /// The scheduler's kernel name.
    pub fn name(&self) -> &'static str {
        match self {
            AnySched::Rr(_) => "rr",
            AnySched::Wrr(_) => "wrr",
            AnySched::Lc(_) => "lc",
            AnySched::Wlc(_) => "wlc",
            AnySched::Sed(_) => "sed",
            AnySched::Nq(_) => "nq",
            AnySched::Fo(_) => "fo",
            AnySched::Ovf(_) => "ovf",
            AnySched::Dh(_) => "dh",
            AnySched::Sh(_) => "sh",
            AnySched::Mh(_) => "mh",
            AnySched::Lblc(_) => "lblc",
            AnySched::Lblcr(_) => "lblcr",
            AnySched::Twos(_) => "twos",
        }
    }

    /// The service flags changed (an edit that kept the scheduler); sh and mh read them at
    /// scheduling time in the kernel.
    pub fn set_flags(&mut self, flags: ServiceFlags) {
        match self {
            AnySched::Sh(s) => s.set_flags(flags),
            AnySched::Mh(s) => s.set_flags(flags),
            _ => {}
        }
    }

    /// Runs the scheduler's own timers up to `now` (the lblc/lblcr garbage collector, every
    /// 60 s from binding).
    pub fn advance(&mut self, now: Time, ctx_expiration: (u64, u64)) {
        match self {
            AnySched::Lblc(s) => s.advance(now, ctx_expiration.0),
            AnySched::Lblcr(s) => s.advance(now, ctx_expiration.1),
            _ => {}
        }
    }

    /// How many references the scheduler's caches hold to dest `id` (lblc entries, lblcr set
    /// members). While non-zero the kernel cannot free the dest from its trash.
    pub fn refs_to(&self, id: DestId) -> usize {
        match self {
            AnySched::Lblc(s) => s.refs_to(id),
            AnySched::Lblcr(s) => s.refs_to(id),
            _ => 0,
        }
    }
}

impl SchedState for AnySched {
    #[inline]
    fn schedule(&mut self, dests: &[DestView], pkt: &PacketInfo, ctx: &mut SchedCtx<'_>) -> Option<usize> {
        each!(self, s => s.schedule(dests, pkt, ctx))
    }

    fn add_dest(&mut self, dests: &[DestView], pos: usize) {
        each!(self, s => s.add_dest(dests, pos))
    }

    fn del_dest(&mut self, dests: &[DestView], pos: usize, removed: &DestView) {
        each!(self, s => s.del_dest(dests, pos, removed))
    }

    fn upd_dest(&mut self, dests: &[DestView], pos: usize) {
        each!(self, s => s.upd_dest(dests, pos))
    }
}
