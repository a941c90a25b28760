//! ovf — weighted overflow (`net/netfilter/ipvs/ip_vs_ovf.c`).

use super::{DestView, PacketInfo, SchedCtx, SchedState};

/// Weighted overflow, as `ip_vs_ovf.c` of 6.1: skip a dest that is overloaded, has
/// `activeconns > weight`, or has weight 0 (`activeconns == weight` is still eligible); among the
/// rest pick the highest weight, ties to the first in list order. Stateless.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ovf;

impl SchedState for Ovf {
    #[inline]
    fn schedule(&mut self, dests: &[DestView], _pkt: &PacketInfo, _ctx: &mut SchedCtx<'_>) -> Option<usize> {
        let mut best: Option<(usize, i32)> = None;
        for (i, d) in dests.iter().enumerate() {
            let w = d.weight;
            if d.overloaded || d.active_conns > w || w == 0 {
                continue;
            }
            match best {
                Some((_, hw)) if w <= hw => {}
                _ => best = Some((i, w)),
            }
        }
        best.map(|(i, _)| i)
    }
}
