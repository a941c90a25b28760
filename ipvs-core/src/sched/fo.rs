//! fo — weighted failover (`net/netfilter/ipvs/ip_vs_fo.c`).

use super::{DestView, PacketInfo, SchedCtx, SchedState};

/// Weighted failover, as `ip_vs_fo.c` of 6.1: among dests that are not overloaded, the one with
/// the highest weight (> 0); ties go to the first in list order (strict `>`). Connection counts
/// are ignored. Stateless.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fo;

impl SchedState for Fo {
    #[inline]
    fn schedule(&mut self, dests: &[DestView], _pkt: &PacketInfo, _ctx: &mut SchedCtx<'_>) -> Option<usize> {
        let mut best = None;
        let mut hw = 0i32;
        for (i, d) in dests.iter().enumerate() {
            if !d.overloaded && d.weight > hw {
                best = Some(i);
                hw = d.weight;
            }
        }
        best
    }
}
