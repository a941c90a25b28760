//! lc — least connection (`net/netfilter/ipvs/ip_vs_lc.c`).

use super::{DestView, PacketInfo, SchedCtx, SchedState};

/// Least connection, as `ip_vs_lc.c` of Debian 6.1.192.
///
/// Skips dests that are overloaded or have weight 0, and picks the smallest overhead
/// ([`DestView::overhead`]: `activeconns * 256 + totalconns` in this tree; older kernels used
/// `inactconns` instead of `totalconns`), compared as **unsigned**. Ties keep the earlier dest
/// in list order (strict `<`). The weight only matters as zero versus non-zero. Stateless.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lc;

impl SchedState for Lc {
    #[inline]
    fn schedule(&mut self, dests: &[DestView], _pkt: &PacketInfo, _ctx: &mut SchedCtx<'_>) -> Option<usize> {
        let mut least: Option<(usize, u32)> = None;
        for (i, d) in dests.iter().enumerate() {
            if d.overloaded || d.weight == 0 {
                continue;
            }
            let doh = d.overhead() as u32;
            match least {
                Some((_, loh)) if doh >= loh => {}
                _ => least = Some((i, doh)),
            }
        }
        least.map(|(i, _)| i)
    }
}
