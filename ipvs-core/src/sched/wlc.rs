//! wlc — weighted least connection (`net/netfilter/ipvs/ip_vs_wlc.c`).

use super::common::wlc_pick;
use super::{DestView, PacketInfo, SchedCtx, SchedState};

/// Weighted least connection (ipvsadm's default scheduler), as `ip_vs_wlc.c` of Debian
/// 6.1.192.
///
/// The first dest in list order that is not overloaded and has weight > 0 starts as `least`;
/// every later dest `d` that is not overloaded replaces it when
/// `overhead(least) * weight(d) > overhead(d) * weight(least)` (signed 64-bit products). Ties keep
/// the earlier dest; a later weight-0 dest is not skipped but cannot win. The overhead is
/// [`DestView::overhead`] (`activeconns * 256 + totalconns` in this tree). Stateless.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wlc;

impl SchedState for Wlc {
    #[inline]
    fn schedule(&mut self, dests: &[DestView], _pkt: &PacketInfo, _ctx: &mut SchedCtx<'_>) -> Option<usize> {
        wlc_pick(dests, DestView::overhead)
    }
}
