//! sed — shortest expected delay (`net/netfilter/ipvs/ip_vs_sed.c`).

use super::common::wlc_pick;
use super::{DestView, PacketInfo, SchedCtx, SchedState};

/// Shortest expected delay, as `ip_vs_sed.c` of 6.1: wlc's rules ([`super::Wlc`]) with the
/// overhead `activeconns + 1` (inactive connections are ignored). Stateless.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sed;

/// `activeconns + 1`, the sed/nq overhead (kernel `int` arithmetic).
#[inline]
pub(crate) fn sed_overhead(d: &DestView) -> i32 {
    d.active_conns.wrapping_add(1)
}

impl SchedState for Sed {
    #[inline]
    fn schedule(&mut self, dests: &[DestView], _pkt: &PacketInfo, _ctx: &mut SchedCtx<'_>) -> Option<usize> {
        wlc_pick(dests, sed_overhead)
    }
}
