//! mh — Maglev hashing (`net/netfilter/ipvs/ip_vs_mh.c`).

use super::common::{fold_addr, gcd, hsiphash_u32, HsiphashKey};
use super::{DestView, PacketInfo, SchedCtx, SchedInitError, SchedState, SvcParams};
use crate::service::{AddressFamily, ServiceFlags};

/// `CONFIG_IP_VS_MH_TAB_INDEX` of Debian's kernel (and the default).
pub const MH_TAB_INDEX: u32 = 12;
/// The table size: `primes[MH_TAB_INDEX - 8]` = 4093.
pub const MH_TAB_SIZE: usize = 4093;
/// `IP_VS_MH_TAB_BITS` = `MH_TAB_INDEX / 2`.
const MH_TAB_BITS: i32 = (MH_TAB_INDEX / 2) as i32;
const NULL: u32 = u32::MAX;

/// Maglev hashing, as `ip_vs_mh.c` of Debian 6.1.192 on a 64-bit kernel (M = 4093 slots;
/// `hsiphash` is SipHash-1-3 there, see [`hsiphash_u32`]).
///
/// * Hash: `hkey(addr, port, key, off) = hsiphash((off + port + fold(addr)) mod 2^32, key)` with
///   the kernel's fixed keys [`HsiphashKey::MH1`] / [`HsiphashKey::MH2`].
/// * Weights: only `last_weight` counts. `g` = gcd of the positive last weights, `rshift` =
///   `max(0, fls(max_last_weight / g) - 6)`, and a dest takes `turns = (last_weight / g) >>
///   rshift` slots per round (1 if that is 0 but `last_weight` ≠ 0; 0 for `last_weight` 0).
///   Quiescing a dest (weight 0) therefore leaves the table unchanged.
/// * Rebuild on bind, add, delete and edit: each dest gets `offset = hkey(dest, MH1) mod M` and
///   `skip = hkey(dest, MH2) mod (M-1) + 1`; going round the list, each dest claims `turns`
///   free slots in a row from its permutation until all M slots are taken. With more dests than
///   slots the rebuild fails: binding fails with `EINVAL` ([`SchedInitError::TooManyDests`]);
///   on add/delete/edit the old table stays (the kernel ignores the error).
/// * Lookup: the slot `hkey(src, port, MH1, 0) mod M` (port 0 unless **mh-port**, SCHED2);
///   usable = weight > 0 and not overloaded. With **mh-fallback** (SCHED1), an unusable first
///   dest makes it probe `hkey(src, port, MH1, r) mod M` for `r = (k + first) mod M`,
///   k = 0..M-1, taking the first usable dest.
///
/// Deviation: if a rebuild failed and a dest is then removed, slots still naming the removed
/// dest answer `None`, where the kernel would return the removed dest (needs > 4093 dests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mh {
    family: AddressFamily,
    flags: ServiceFlags,
    lookup: Box<[u32]>,
}

#[derive(Clone, Copy)]
struct Setup {
    perm: u32,
    skip: u32,
    turns: i64,
}

fn fls(x: i64) -> i32 {
    if x <= 0 {
        0
    } else {
        64 - x.leading_zeros() as i32
    }
}

impl Mh {
    /// Binds mh and builds its table; fails with more dests than slots.
    pub fn new(params: SvcParams, dests: &[DestView]) -> Result<Self, SchedInitError> {
        let mut mh =
            Mh { family: params.family, flags: params.flags, lookup: vec![NULL; MH_TAB_SIZE].into() };
        mh.reassign(dests)?;
        Ok(mh)
    }

    /// Updates the service flags (mh-fallback, mh-port).
    pub fn set_flags(&mut self, flags: ServiceFlags) {
        self.flags = flags;
    }

    /// `ip_vs_mh_hashkey()`.
    #[inline]
    pub fn hashkey(
        family: AddressFamily,
        addr: &std::net::IpAddr,
        port: u16,
        key: HsiphashKey,
        offset: u32,
    ) -> u32 {
        let v = offset.wrapping_add(u32::from(port)).wrapping_add(fold_addr(family, addr));
        hsiphash_u32(v, key)
    }

    fn reassign(&mut self, dests: &[DestView]) -> Result<(), SchedInitError> {
        if dests.len() > MH_TAB_SIZE {
            return Err(SchedInitError::TooManyDests);
        }
        let mut g: i64 = 0;
        let mut maxw: i64 = 0;
        for d in dests {
            let w = i64::from(d.last_weight);
            if w > 0 {
                g = if g > 0 { gcd(w, g) } else { w };
            }
            maxw = maxw.max(w);
        }
        if g < 1 {
            self.lookup.fill(NULL);
            return Ok(());
        }
        let rshift = (fls(maxw / g) - MH_TAB_BITS).max(0);
        let m = MH_TAB_SIZE as u32;
        let mut setup: Vec<Setup> = dests
            .iter()
            .map(|d| {
                let offset = Self::hashkey(self.family, &d.addr, d.port, HsiphashKey::MH1, 0) % m;
                let skip = Self::hashkey(self.family, &d.addr, d.port, HsiphashKey::MH2, 0) % (m - 1) + 1;
                let lw = i64::from(d.last_weight);
                let t = (lw / g) >> rshift;
                let turns = if t != 0 { t } else { i64::from(lw != 0) };
                Setup { perm: offset, skip, turns }
            })
            .collect();
        let mut used = vec![false; MH_TAB_SIZE];
        let mut n = 0usize;
        let mut dt_count = 0i64;
        // g >= 1 means some dest has turns >= 1, so every round claims at least one slot.
        'fill: loop {
            for (i, ds) in setup.iter_mut().enumerate() {
                if ds.turns < 1 {
                    continue;
                }
                loop {
                    let mut c = ds.perm as usize;
                    while used.get(c).copied().unwrap_or(false) {
                        ds.perm += ds.skip;
                        if ds.perm >= m {
                            ds.perm -= m;
                        }
                        c = ds.perm as usize;
                    }
                    if let Some(u) = used.get_mut(c) {
                        *u = true;
                    }
                    if let Some(slot) = self.lookup.get_mut(c) {
                        *slot = i as u32;
                    }
                    n += 1;
                    if n == MH_TAB_SIZE {
                        break 'fill;
                    }
                    dt_count += 1;
                    if dt_count >= ds.turns {
                        dt_count = 0;
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// The slot a packet hashes to first.
    pub fn slot_of(&self, pkt: &PacketInfo) -> usize {
        let port = if self.flags.contains(ServiceFlags::MH_PORT) { pkt.hash_port() } else { 0 };
        (Self::hashkey(self.family, &pkt.src, port, HsiphashKey::MH1, 0) % MH_TAB_SIZE as u32) as usize
    }

    /// The list position held by each slot (`None` for an empty slot).
    pub fn table(&self) -> impl Iterator<Item = Option<usize>> + '_ {
        self.lookup.iter().map(|&b| (b != NULL).then_some(b as usize))
    }

    #[inline]
    fn at(&self, dests: &[DestView], slot: usize) -> Option<(usize, bool)> {
        let b = *self.lookup.get(slot)?;
        let d = dests.get(b as usize)?;
        Some((b as usize, d.hash_usable()))
    }

    fn remap_after_failed(&mut self, f: impl Fn(u32) -> u32) {
        for s in self.lookup.iter_mut() {
            if *s != NULL {
                *s = f(*s);
            }
        }
    }
}

impl SchedState for Mh {
    #[inline]
    fn schedule(&mut self, dests: &[DestView], pkt: &PacketInfo, _ctx: &mut SchedCtx<'_>) -> Option<usize> {
        let port = if self.flags.contains(ServiceFlags::MH_PORT) { pkt.hash_port() } else { 0 };
        let m = MH_TAB_SIZE as u32;
        let ih = Self::hashkey(self.family, &pkt.src, port, HsiphashKey::MH1, 0) % m;
        let (i, usable) = self.at(dests, ih as usize)?;
        if usable {
            return Some(i);
        }
        if !self.flags.contains(ServiceFlags::MH_FALLBACK) {
            return None;
        }
        for k in 0..m {
            let r = (k + ih) % m;
            let h = Self::hashkey(self.family, &pkt.src, port, HsiphashKey::MH1, r) % m;
            let (i, usable) = self.at(dests, h as usize)?;
            if usable {
                return Some(i);
            }
        }
        None
    }

    fn add_dest(&mut self, dests: &[DestView], pos: usize) {
        if self.reassign(dests).is_err() {
            // The kernel keeps the old table, whose entries point at dest objects; keep them
            // pointing at the same dests after the insertion.
            let pos = pos as u32;
            self.remap_after_failed(|s| if s >= pos { s + 1 } else { s });
        }
    }

    fn del_dest(&mut self, dests: &[DestView], pos: usize, _removed: &DestView) {
        if self.reassign(dests).is_err() {
            let pos = pos as u32;
            self.remap_after_failed(|s| match s.cmp(&pos) {
                std::cmp::Ordering::Greater => s - 1,
                std::cmp::Ordering::Equal => NULL - 1,
                std::cmp::Ordering::Less => s,
            });
        }
    }

    fn upd_dest(&mut self, dests: &[DestView], _pos: usize) {
        let _ = self.reassign(dests);
    }
}
