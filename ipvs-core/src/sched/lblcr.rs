//! lblcr — locality-based least connection with replication (`net/netfilter/ipvs/ip_vs_lblcr.c`).

use std::net::IpAddr;

use super::common::wlc_pick;
use super::lblc::{lblc_overloaded, Cache, CacheEntry};
use super::{DestId, DestView, PacketInfo, SchedCtx, SchedState, SvcParams, Time};

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    addr: IpAddr,
    /// The server set, newest member first.
    set: Vec<DestId>,
    lastmod: Time,
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

/// Locality-based least connection with replication, as `ip_vs_lblcr.c` of Debian 6.1.192.
///
/// The cache (keying, size bound and garbage collection as [`super::Lblc`], with the
/// `lblcr_expiration` sysctl) maps a destination address to a **server set** (newest member
/// first) with `lastmod` and `lastuse` times.
///
/// * Hit: `lastuse = now`; `d = set_min(set)`; if the set has more than one member and
///   `now > lastmod + lblcr_expiration`, `set_max(set)` is removed (`lastmod = now`). Then `d`
///   is used if it exists and is not lblc-overloaded — even if it was just removed. Otherwise
///   pick as wlc does, add the pick at the front of the set if absent (`lastmod = now`).
/// * Miss: pick as wlc does and create an entry `{pick}` (not at 24576 entries).
/// * `set_min`: the first member that is not overloaded, has weight > 0 and is available
///   starts; each later non-overloaded member replaces it when
///   `oh(least)·w(m) > oh(m)·w(least)` and it is available.
/// * `set_max`: the first member with weight > 0 starts; each later member replaces it when
///   `oh(most)·w(m) < oh(m)·w(most)` and `w(m) > 0`. Overload and availability are ignored, so
///   a deleted member (read from [`SchedCtx::detached`]) can be the one removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lblcr {
    cache: Cache<Entry>,
}

fn view<'a>(dests: &'a [DestView], detached: &'a [DestView], id: DestId) -> Option<&'a DestView> {
    dests.iter().find(|d| d.id == id).or_else(|| detached.iter().find(|d| d.id == id))
}

fn set_min(set: &[DestId], dests: &[DestView], detached: &[DestView]) -> Option<DestId> {
    let mut it = set.iter().filter_map(|&id| view(dests, detached, id));
    let mut least = loop {
        let d = it.next()?;
        if d.overloaded {
            continue;
        }
        if d.weight > 0 && d.available {
            break d;
        }
    };
    let mut loh = i64::from(least.overhead());
    for d in it {
        if d.overloaded {
            continue;
        }
        let doh = i64::from(d.overhead());
        if loh * i64::from(d.weight) > doh * i64::from(least.weight) && d.available {
            least = d;
            loh = doh;
        }
    }
    Some(least.id)
}

fn set_max(set: &[DestId], dests: &[DestView], detached: &[DestView]) -> Option<DestId> {
    let mut it = set.iter().filter_map(|&id| view(dests, detached, id));
    let mut most = loop {
        let d = it.next()?;
        if d.weight > 0 {
            break d;
        }
    };
    let mut moh = i64::from(most.overhead());
    for d in it {
        let doh = i64::from(d.overhead());
        if moh * i64::from(d.weight) < doh * i64::from(most.weight) && d.weight > 0 {
            most = d;
            moh = doh;
        }
    }
    Some(most.id)
}

impl Lblcr {
    /// Binds lblcr at `now` (the collector's first run is 60 s later).
    pub fn new(params: SvcParams, now: Time) -> Self {
        Lblcr { cache: Cache::new(params.family, now) }
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

    /// The server set cached for a destination address (newest member first).
    pub fn cached(&self, daddr: &IpAddr) -> Option<Vec<DestId>> {
        self.cache.iter().find(|e| &e.addr == daddr).map(|e| e.set.clone())
    }

    /// How many set members point at dest `id`.
    pub fn refs_to(&self, id: DestId) -> usize {
        self.cache.iter().map(|e| e.set.iter().filter(|&&m| m == id).count()).sum()
    }
}

impl SchedState for Lblcr {
    fn schedule(&mut self, dests: &[DestView], pkt: &PacketInfo, ctx: &mut SchedCtx<'_>) -> Option<usize> {
        let now = ctx.now;
        let expiration = ctx.lblcr_expiration_ms;
        self.cache.advance(now, expiration);
        let detached = ctx.detached;
        if let Some(en) = self.cache.get_mut(&pkt.dst) {
            en.lastuse = now;
            let d = set_min(&en.set, dests, detached);
            if en.set.len() > 1 && now.as_millis() > en.lastmod.as_millis().saturating_add(expiration) {
                if let Some(m) = set_max(&en.set, dests, detached) {
                    if let Some(i) = en.set.iter().position(|&x| x == m) {
                        en.set.remove(i);
                        en.lastmod = now;
                    }
                }
            }
            if let Some(d) = d {
                if let Some(i) = dests.iter().position(|x| x.id == d) {
                    if let Some(v) = dests.get(i) {
                        if !lblc_overloaded(v, dests) {
                            return Some(i);
                        }
                    }
                }
            }
            let pick = wlc_pick(dests, DestView::overhead)?;
            let id = dests.get(pick)?.id;
            if !en.set.contains(&id) {
                en.set.insert(0, id);
                en.lastmod = now;
            }
            return Some(pick);
        }
        let pick = wlc_pick(dests, DestView::overhead)?;
        let id = dests.get(pick)?.id;
        self.cache.insert(Entry { addr: pkt.dst, set: vec![id], lastmod: now, lastuse: now });
        Some(pick)
    }
}
