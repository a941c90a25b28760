//! dh — destination hashing (`net/netfilter/ipvs/ip_vs_dh.c`).

use super::common::{fold_addr, hash_32};
use super::{DestView, PacketInfo, SchedCtx, SchedState, SvcParams};
use crate::service::AddressFamily;

/// The dh table has 256 buckets (`IP_VS_DH_TAB_BITS` = 8, not configurable).
pub const DH_TAB_BITS: u32 = 8;
const DH_TAB_SIZE: usize = 1 << DH_TAB_BITS;
const NULL: u32 = u32::MAX;

/// Destination hashing, as `ip_vs_dh.c` of Debian 6.1.192.
///
/// * Table: 256 buckets, rebuilt on bind, add and delete but **not** on edits. Bucket `i` gets
///   the dest at list position `i mod n` (weights ignored); an empty list leaves every bucket
///   empty.
/// * Key: the packet's **destination** address, folded ([`fold_addr`]) and hashed with
///   `hash_32(fold, 8)`.
/// * `schedule`: the bucket's dest unless it is missing, not available, has weight ≤ 0 or is
///   overloaded, in which case `None`. There is no fallback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dh {
    family: AddressFamily,
    buckets: Box<[u32; DH_TAB_SIZE]>,
}

impl Dh {
    /// Binds dh and fills its table from `dests`.
    pub fn new(params: SvcParams, dests: &[DestView]) -> Self {
        let mut dh = Dh { family: params.family, buckets: Box::new([NULL; DH_TAB_SIZE]) };
        dh.reassign(dests);
        dh
    }

    fn reassign(&mut self, dests: &[DestView]) {
        let n = dests.len();
        for (i, b) in self.buckets.iter_mut().enumerate() {
            *b = if n == 0 { NULL } else { (i % n) as u32 };
        }
    }

    /// The bucket a destination address hashes to.
    pub fn bucket_of(&self, daddr: &std::net::IpAddr) -> usize {
        hash_32(fold_addr(self.family, daddr), DH_TAB_BITS) as usize
    }

    /// The list position held by each bucket (`None` for an empty bucket).
    pub fn table(&self) -> impl Iterator<Item = Option<usize>> + '_ {
        self.buckets.iter().map(|&b| (b != NULL).then_some(b as usize))
    }
}

impl SchedState for Dh {
    #[inline]
    fn schedule(&mut self, dests: &[DestView], pkt: &PacketInfo, _ctx: &mut SchedCtx<'_>) -> Option<usize> {
        let b = *self.buckets.get(self.bucket_of(&pkt.dst))?;
        let d = dests.get(b as usize)?;
        (d.available && d.weight > 0 && !d.overloaded).then_some(b as usize)
    }

    fn add_dest(&mut self, dests: &[DestView], _pos: usize) {
        self.reassign(dests);
    }

    fn del_dest(&mut self, dests: &[DestView], _pos: usize, _removed: &DestView) {
        self.reassign(dests);
    }
}
