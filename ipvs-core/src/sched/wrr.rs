//! wrr — weighted round robin (`net/netfilter/ipvs/ip_vs_wrr.c`).

use super::common::gcd;
use super::{DestView, PacketInfo, SchedCtx, SchedState};

/// Weighted round robin, as `ip_vs_wrr.c` of 6.1 (no version differences).
///
/// State: `cl` (the list head or a dest), `cw` (current weight), `mw` (maximum weight lowered by
/// `di - 1`) and `di` (the gcd of the positive weights, 1 if there are none).
///
/// * Binding: `cl` = head, `di` = gcd, `mw` = max weight − (di − 1), `cw` = mw.
/// * Every add, delete and edit (the kernel's `ip_vs_wrr_dest_changed`): `cl` = head, `di` and
///   `mw` recomputed; then `cw` = mw if `cw > mw` or `cw == 0`, else `cw` = ⌊cw/di⌋·di + 1 when
///   `di > 1`, else `cw` is kept.
/// * `schedule`: from the dest after `cl`, take the first dest that is not overloaded and has
///   weight ≥ cw; at the end of the list lower `cw` by `di`, and when it drops to 0 or below
///   restart at `mw`. The `last_pass`/`restarted`/`stop` bookkeeping of the kernel decides when
///   to give up ("all overloaded"), and where `cl` is left then.
///
/// The gcd and maximum include overloaded dests. Bound with A=4, B=3, C=2 (list order) already
/// present, the sequence is `A A B A B C A B C`, repeating. Built the usual way instead (an
/// empty service, then C, B, A added one by one) the add hooks leave `cw` at 1, and the first
/// cycle is `A B C A A B A B C` — what the Debian 6.1.192 VM does (see the `table_sim` test
/// `vm_observed_udp_picks`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wrr {
    /// `None` = the list head.
    cl: Option<usize>,
    cw: i64,
    mw: i64,
    di: i64,
}

fn gcd_weight(dests: &[DestView]) -> i64 {
    let mut g = 0i64;
    for d in dests {
        let w = i64::from(d.weight);
        if w > 0 {
            g = if g > 0 { gcd(w, g) } else { w };
        }
    }
    if g == 0 {
        1
    } else {
        g
    }
}

fn max_weight(dests: &[DestView]) -> i64 {
    dests.iter().map(|d| i64::from(d.weight)).fold(0, i64::max)
}

impl Wrr {
    /// Binds wrr (`ip_vs_wrr_init_svc`).
    pub fn new(dests: &[DestView]) -> Self {
        let di = gcd_weight(dests);
        let mw = max_weight(dests) - (di - 1);
        Wrr { cl: None, cw: mw, mw, di }
    }

    /// `(cw, mw, di)`: the current weight, the adjusted maximum weight and the step.
    pub fn weights(&self) -> (i64, i64, i64) {
        (self.cw, self.mw, self.di)
    }

    fn changed(&mut self, dests: &[DestView]) {
        self.cl = None;
        self.di = gcd_weight(dests);
        self.mw = max_weight(dests) - (self.di - 1);
        if self.cw > self.mw || self.cw == 0 {
            self.cw = self.mw;
        } else if self.di > 1 {
            self.cw = (self.cw / self.di) * self.di + 1;
        }
    }
}

impl SchedState for Wrr {
    fn schedule(&mut self, dests: &[DestView], _pkt: &PacketInfo, _ctx: &mut SchedCtx<'_>) -> Option<usize> {
        if self.mw == 0 {
            return None;
        }
        let n = dests.len();
        let last = self.cl.filter(|&c| c < n);
        let mut pos = last;
        let mut stop: Option<usize> = None;
        let mut last_pass = false;
        let mut restarted = false;
        loop {
            let from = pos.map_or(0, |p| p + 1);
            for (i, d) in dests.iter().enumerate().skip(from) {
                if !d.overloaded && i64::from(d.weight) >= self.cw {
                    self.cl = Some(i);
                    return Some(i);
                }
                if stop == Some(i) {
                    self.cl = Some(i);
                    return None;
                }
            }
            pos = None;
            self.cw -= self.di;
            if self.cw <= 0 {
                self.cw = self.mw;
                if last_pass || last.is_none() {
                    self.cl = None;
                    return None;
                }
                restarted = true;
            }
            last_pass = self.cw <= self.di;
            if last_pass && restarted && last.is_some() {
                stop = last;
            }
        }
    }

    fn add_dest(&mut self, dests: &[DestView], _pos: usize) {
        self.changed(dests);
    }

    fn del_dest(&mut self, dests: &[DestView], _pos: usize, _removed: &DestView) {
        self.changed(dests);
    }

    fn upd_dest(&mut self, dests: &[DestView], _pos: usize) {
        self.changed(dests);
    }
}
