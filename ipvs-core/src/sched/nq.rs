//! nq — never queue (`net/netfilter/ipvs/ip_vs_nq.c`).

use super::sed::sed_overhead;
use super::{DestView, PacketInfo, SchedCtx, SchedState};

/// Never queue, as `ip_vs_nq.c` of 6.1.
///
/// One pass in list order over the dests that are not overloaded and have weight ≠ 0: a dest
/// with `activeconns == 0` is returned **at once** (the first idle dest wins); otherwise `least`
/// (the first eligible dest) is replaced by `d` when
/// `(active(least)+1) * weight(d) > (active(d)+1) * weight(least)` (64-bit). Stateless.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Nq;

impl SchedState for Nq {
    #[inline]
    fn schedule(&mut self, dests: &[DestView], _pkt: &PacketInfo, _ctx: &mut SchedCtx<'_>) -> Option<usize> {
        let mut least: Option<(usize, i64, i64)> = None;
        for (i, d) in dests.iter().enumerate() {
            if d.overloaded || d.weight == 0 {
                continue;
            }
            let doh = i64::from(sed_overhead(d));
            if d.active_conns == 0 {
                return Some(i);
            }
            let w = i64::from(d.weight);
            match least {
                Some((_, loh, lw)) if loh * w <= doh * lw => {}
                _ => least = Some((i, doh, w)),
            }
        }
        least.map(|(i, _, _)| i)
    }
}
