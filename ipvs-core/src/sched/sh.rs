//! sh — source hashing (`net/netfilter/ipvs/ip_vs_sh.c`).

use super::common::{fold_addr, hash_32};
use super::{DestView, PacketInfo, SchedCtx, SchedState, SvcParams};
use crate::service::{AddressFamily, ServiceFlags};

/// `CONFIG_IP_VS_SH_TAB_BITS` of Debian's kernel (and the default).
pub const SH_TAB_BITS: u32 = 8;
/// The number of sh buckets (256).
pub const SH_TAB_SIZE: usize = 1 << SH_TAB_BITS;
const SH_TAB_MASK: u32 = SH_TAB_SIZE as u32 - 1;
const NULL: u32 = u32::MAX;

/// Source hashing, as `ip_vs_sh.c` of Debian 6.1.192 (256 buckets).
///
/// * Table, rebuilt on bind, add, delete **and** edit: a cursor walks the dest list cyclically;
///   each bucket gets the cursor's dest, and the cursor advances once the dest has taken
///   `weight` consecutive buckets (at least 1, so weight-0 dests take one bucket per cycle).
/// * Hash: `h(off) = (off + hash_32(port + fold(src), 8)) & 255`; the port is 0 unless the
///   service has **sh-port** (SCHED2), then the source port for TCP/UDP/SCTP.
/// * "Usable" = weight > 0 and not overloaded (the availability flag is not read).
/// * Without **sh-fallback** (SCHED1): the bucket `h(0)`'s dest if usable, else `None`.
/// * With sh-fallback: if `h(0)`'s dest is usable, it; otherwise probe `h((k + h0) mod 256)` for
///   k = 0..255 — bucket `(2·h0 + k) mod 256`, since the kernel adds the initial hash twice —
///   returning the first usable dest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sh {
    family: AddressFamily,
    flags: ServiceFlags,
    buckets: Box<[u32; SH_TAB_SIZE]>,
}

impl Sh {
    /// Binds sh and fills its table from `dests`.
    pub fn new(params: SvcParams, dests: &[DestView]) -> Self {
        let mut sh =
            Sh { family: params.family, flags: params.flags, buckets: Box::new([NULL; SH_TAB_SIZE]) };
        sh.reassign(dests);
        sh
    }

    /// Updates the service flags (sh-fallback, sh-port).
    pub fn set_flags(&mut self, flags: ServiceFlags) {
        self.flags = flags;
    }

    fn reassign(&mut self, dests: &[DestView]) {
        if dests.is_empty() {
            self.buckets.fill(NULL);
            return;
        }
        let mut p = 0usize;
        let mut count = 0i64;
        for b in self.buckets.iter_mut() {
            if p >= dests.len() {
                p = 0;
            }
            *b = p as u32;
            count += 1;
            let w = dests.get(p).map_or(0, |d| i64::from(d.weight));
            if count >= w {
                p += 1;
                count = 0;
            }
        }
    }

    #[inline]
    fn hashkey(&self, pkt: &PacketInfo, offset: u32) -> usize {
        let port = if self.flags.contains(ServiceFlags::SH_PORT) { pkt.hash_port() } else { 0 };
        let h = hash_32(u32::from(port).wrapping_add(fold_addr(self.family, &pkt.src)), SH_TAB_BITS);
        (offset.wrapping_add(h) & SH_TAB_MASK) as usize
    }

    /// The bucket `pkt` hashes to (offset 0).
    pub fn bucket_of(&self, pkt: &PacketInfo) -> usize {
        self.hashkey(pkt, 0)
    }

    /// The list position held by each bucket (`None` for an empty bucket).
    pub fn table(&self) -> impl Iterator<Item = Option<usize>> + '_ {
        self.buckets.iter().map(|&b| (b != NULL).then_some(b as usize))
    }

    #[inline]
    fn at(&self, dests: &[DestView], bucket: usize) -> Option<(usize, bool)> {
        let b = *self.buckets.get(bucket)?;
        let d = dests.get(b as usize)?;
        Some((b as usize, d.hash_usable()))
    }
}

impl SchedState for Sh {
    #[inline]
    fn schedule(&mut self, dests: &[DestView], pkt: &PacketInfo, _ctx: &mut SchedCtx<'_>) -> Option<usize> {
        let ih = self.hashkey(pkt, 0);
        let (i, usable) = self.at(dests, ih)?;
        if usable {
            return Some(i);
        }
        if !self.flags.contains(ServiceFlags::SH_FALLBACK) {
            return None;
        }
        for k in 0..SH_TAB_SIZE as u32 {
            let roffset = (k + ih as u32) % SH_TAB_SIZE as u32;
            let (i, usable) = self.at(dests, self.hashkey(pkt, roffset))?;
            if usable {
                return Some(i);
            }
        }
        None
    }

    fn add_dest(&mut self, dests: &[DestView], _pos: usize) {
        self.reassign(dests);
    }

    fn del_dest(&mut self, dests: &[DestView], _pos: usize, _removed: &DestView) {
        self.reassign(dests);
    }

    fn upd_dest(&mut self, dests: &[DestView], _pos: usize) {
        self.reassign(dests);
    }
}
