//! lblc — locality-based least connection (`net/netfilter/ipvs/ip_vs_lblc.c`), and the cache
//! machinery lblcr shares.

use std::net::IpAddr;

use super::common::{fold_addr, hash_32, wlc_pick};
use super::{DestId, DestView, PacketInfo, SchedCtx, SchedState, SvcParams, Time};
use crate::service::AddressFamily;

/// `CONFIG_IP_VS_LBLC_TAB_BITS` (10, no Kconfig entry); lblcr uses the same.
pub(crate) const TAB_BITS: u32 = 10;
const TAB_SIZE: usize = 1 << TAB_BITS;
/// The nominal cache size, `TAB_SIZE * 16`.
pub(crate) const MAX_SIZE: usize = TAB_SIZE * 16;
/// The hard bound on entries (6.1.191+, "bound LBLCR and LBLC cache growth").
pub(crate) const HARD_LIMIT: usize = MAX_SIZE * 3 / 2;
/// `CHECK_EXPIRE_INTERVAL`: the garbage-collection timer period.
const CHECK_EXPIRE_INTERVAL_MS: u64 = 60_000;
/// `ENTRY_TIMEOUT`: idle time after which the size-driven collection may drop an entry.
const ENTRY_TIMEOUT_MS: u64 = 6 * 60_000;
/// `COUNT_FOR_FULL_EXPIRATION`.
const COUNT_FOR_FULL_EXPIRATION: u64 = 30;

/// An entry of a locality cache.
pub(crate) trait CacheEntry {
    fn addr(&self) -> &IpAddr;
    fn lastuse(&self) -> Time;
}

/// The hash table with its garbage collector, common to lblc and lblcr
/// (`ip_vs_lblc_check_expire`, `ip_vs_lblc_full_check` and their lblcr twins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cache<E> {
    family: AddressFamily,
    buckets: Vec<Vec<E>>,
    entries: usize,
    rover: usize,
    counter: u64,
    next_gc: Time,
}

impl<E: CacheEntry> Cache<E> {
    pub(crate) fn new(family: AddressFamily, now: Time) -> Self {
        Cache {
            family,
            buckets: Vec::new(),
            entries: 0,
            rover: 0,
            counter: 1,
            next_gc: now.plus_millis(CHECK_EXPIRE_INTERVAL_MS),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries
    }

    fn bucket(&self, addr: &IpAddr) -> usize {
        hash_32(fold_addr(self.family, addr), TAB_BITS) as usize
    }

    pub(crate) fn get_mut(&mut self, addr: &IpAddr) -> Option<&mut E> {
        let b = self.bucket(addr);
        self.buckets.get_mut(b)?.iter_mut().find(|e| e.addr() == addr)
    }

    pub(crate) fn remove(&mut self, addr: &IpAddr) -> Option<E> {
        let b = self.bucket(addr);
        let bucket = self.buckets.get_mut(b)?;
        let i = bucket.iter().position(|e| e.addr() == addr)?;
        self.entries -= 1;
        Some(bucket.swap_remove(i))
    }

    /// Inserts unless the table is at its hard bound.
    pub(crate) fn insert(&mut self, e: E) -> bool {
        if self.entries >= HARD_LIMIT {
            return false;
        }
        if self.buckets.is_empty() {
            self.buckets = (0..TAB_SIZE).map(|_| Vec::new()).collect();
        }
        let b = self.bucket(e.addr());
        if let Some(bucket) = self.buckets.get_mut(b) {
            bucket.push(e);
            self.entries += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &E> {
        self.buckets.iter().flatten()
    }

    /// Removes, scanning buckets from `rover + 1`, the entries `expired` says are stale; with
    /// `goal`, stops after the bucket where `goal` removals were reached.
    fn sweep(&mut self, goal: Option<i64>, expired: impl Fn(&E) -> bool) {
        if self.buckets.is_empty() {
            return;
        }
        let mut goal = goal;
        let mut j = self.rover;
        for _ in 0..TAB_SIZE {
            j = (j + 1) & (TAB_SIZE - 1);
            if let Some(bucket) = self.buckets.get_mut(j) {
                let before = bucket.len();
                bucket.retain(|e| !expired(e));
                let removed = before - bucket.len();
                self.entries -= removed;
                if let Some(g) = goal.as_mut() {
                    *g -= removed as i64;
                    if *g <= 0 {
                        break;
                    }
                }
            }
        }
        self.rover = j;
    }

    /// Runs the 60 s timer up to `now`, as `ip_vs_lblc_check_expire` does, with the
    /// `*_expiration` sysctl `expiration_ms`. Long idle stretches are fast-forwarded.
    pub(crate) fn advance(&mut self, now: Time, expiration_ms: u64) {
        while self.next_gc <= now {
            let t = self.next_gc;
            if self.counter % COUNT_FOR_FULL_EXPIRATION == 0 {
                self.sweep(None, |e| t.as_millis() >= e.lastuse().as_millis().saturating_add(expiration_ms));
                self.counter = 1;
                self.next_gc = t.plus_millis(CHECK_EXPIRE_INTERVAL_MS);
                let min_lastuse = self.iter().map(|e| e.lastuse()).min();
                let nothing_expires =
                    min_lastuse.is_none_or(|l| l.as_millis().saturating_add(expiration_ms) > now.as_millis());
                if self.entries <= MAX_SIZE && nothing_expires && self.next_gc <= now {
                    // Every remaining tick only moves the counter round its cycle.
                    let k = (now.as_millis() - self.next_gc.as_millis()) / CHECK_EXPIRE_INTERVAL_MS + 1;
                    self.counter = (self.counter - 1 + k) % COUNT_FOR_FULL_EXPIRATION + 1;
                    self.next_gc = self.next_gc.plus_millis(k.saturating_mul(CHECK_EXPIRE_INTERVAL_MS));
                }
                continue;
            }
            if self.entries <= MAX_SIZE {
                let to_full = COUNT_FOR_FULL_EXPIRATION - self.counter % COUNT_FOR_FULL_EXPIRATION;
                let due = (now.as_millis() - t.as_millis()) / CHECK_EXPIRE_INTERVAL_MS + 1;
                let k = to_full.min(due);
                self.counter += k;
                self.next_gc = t.plus_millis(k.saturating_mul(CHECK_EXPIRE_INTERVAL_MS));
                continue;
            }
            let over = (self.entries - MAX_SIZE) as i64;
            let goal = (over * 4 / 3).min((MAX_SIZE / 2) as i64);
            self.sweep(Some(goal), |e| {
                t.as_millis() >= e.lastuse().as_millis().saturating_add(ENTRY_TIMEOUT_MS)
            });
            self.next_gc = t.plus_millis(CHECK_EXPIRE_INTERVAL_MS);
        }
    }
}

/// "lblc-overloaded" (`is_overloaded` of ip_vs_lblc.c/ip_vs_lblcr.c): `activeconns > weight`
/// and some dest of the service has `2 * activeconns < weight`.
pub(crate) fn lblc_overloaded(d: &DestView, dests: &[DestView]) -> bool {
    d.active_conns > d.weight && dests.iter().any(|m| m.active_conns.wrapping_mul(2) < m.weight)
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    addr: IpAddr,
    dest: DestId,
    lastuse: Time,
}

impl CacheEntry for Entry {
    fn addr(&self) -> &IpAddr {
        &self.addr
    }
    fn lastuse(&self) -> Time {
        self.lastuse
    }
}

/// Locality-based least connection, as `ip_vs_lblc.c` of Debian 6.1.192.
///
/// * A cache keyed by the packet's **destination** address (1024 buckets, `hash_32(fold, 10)`)
///   maps it to a dest, with a `lastuse` time.
/// * `schedule`: on a hit, `lastuse = now`; the cached dest is used if it is available, has
///   weight > 0 and is not "lblc-overloaded" (`activeconns > weight` while some dest has
///   `2 * activeconns < weight`). The OVERLOAD bit of the cached dest is **not** checked.
///   Otherwise pick as wlc does ([`super::Wlc`]) and store the pick: an entry with the same dest
///   is kept, one with another dest is replaced (new `lastuse = now`); no new entry is made once
///   the cache holds 24576 entries (6.1.191+).
/// * Garbage collection, every 60 s from binding: every 30th run deletes entries idle for
///   `lblc_expiration` (default one day); while the cache holds more than 16384 entries the
///   other runs delete entries idle ≥ 6 min, at most `min((n - 16384)·4/3, 8192)`, bucket by
///   bucket from a rotating position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lblc {
    cache: Cache<Entry>,
}

impl Lblc {
    /// Binds lblc at `now` (the collector's first run is 60 s later).
    pub fn new(params: SvcParams, now: Time) -> Self {
        Lblc { cache: Cache::new(params.family, now) }
    }

    /// Runs the garbage collector up to `now`.
    pub fn advance(&mut self, now: Time, expiration_ms: u64) {
        self.cache.advance(now, expiration_ms);
    }

    /// The number of cache entries.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.cache.len() == 0
    }

    /// The dest cached for a destination address, if any.
    pub fn cached(&self, daddr: &IpAddr) -> Option<DestId> {
        self.cache.iter().find(|e| &e.addr == daddr).map(|e| e.dest)
    }

    /// How many entries point at dest `id`.
    pub fn refs_to(&self, id: DestId) -> usize {
        self.cache.iter().filter(|e| e.dest == id).count()
    }
}

impl SchedState for Lblc {
    fn schedule(&mut self, dests: &[DestView], pkt: &PacketInfo, ctx: &mut SchedCtx<'_>) -> Option<usize> {
        let now = ctx.now;
        self.cache.advance(now, ctx.lblc_expiration_ms);
        let mut cached = None;
        if let Some(en) = self.cache.get_mut(&pkt.dst) {
            en.lastuse = now;
            cached = Some(en.dest);
            if let Some(i) = dests.iter().position(|d| d.id == en.dest) {
                if let Some(d) = dests.get(i) {
                    if d.available && d.weight > 0 && !lblc_overloaded(d, dests) {
                        return Some(i);
                    }
                }
            }
        }
        let pick = wlc_pick(dests, DestView::overhead)?;
        let pick_id = dests.get(pick)?.id;
        if cached != Some(pick_id) {
            if cached.is_some() {
                self.cache.remove(&pkt.dst);
            }
            self.cache.insert(Entry { addr: pkt.dst, dest: pick_id, lastuse: now });
        }
        Some(pick)
    }
}
