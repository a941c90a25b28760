//! rr — round robin (`net/netfilter/ipvs/ip_vs_rr.c`).

use super::{DestView, PacketInfo, SchedCtx, SchedState};

/// Round robin, as `ip_vs_rr.c` of 6.1 (no version differences).
///
/// * State: a cursor that is either the list head or a dest (`svc->sched_data`); binding puts it
///   at the head.
/// * `schedule`: walk the list circularly starting **after** the cursor and ending **at** the
///   cursor itself (only once round from the head when the cursor is the head); take the first
///   dest that is not overloaded and has weight > 0, and move the cursor to it. If none
///   qualifies, return `None` and leave the cursor alone.
/// * `del_dest`: when the cursor is the removed dest it moves to the removed dest's predecessor
///   (the head when it was first), so the next pick is the dest that followed it.
/// * Adds and edits do not touch the cursor; a new dest is inserted at the head, so the walk
///   reaches it only after wrapping round the end of the list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rr {
    /// `None` = the list head; `Some(i)` = the dest at index `i`.
    cursor: Option<usize>,
}

impl Rr {
    /// Binds rr (`ip_vs_rr_init_svc`): the cursor at the list head.
    pub fn new(_dests: &[DestView]) -> Self {
        Rr { cursor: None }
    }

    /// The cursor: `None` for the list head, or the index of the last dest picked.
    pub fn cursor(&self) -> Option<usize> {
        self.cursor
    }
}

impl SchedState for Rr {
    #[inline]
    fn schedule(&mut self, dests: &[DestView], _pkt: &PacketInfo, _ctx: &mut SchedCtx<'_>) -> Option<usize> {
        let n = dests.len();
        let (start, count) = match self.cursor {
            None => (0, n),
            Some(c) if c < n => (c + 1, n),
            Some(_) => (0, n),
        };
        let mut i = start;
        for _ in 0..count {
            if i >= n {
                i = 0;
            }
            if let Some(d) = dests.get(i) {
                if !d.overloaded && d.weight > 0 {
                    self.cursor = Some(i);
                    return Some(i);
                }
            }
            i += 1;
        }
        None
    }

    fn add_dest(&mut self, _dests: &[DestView], pos: usize) {
        if let Some(c) = self.cursor {
            if c >= pos {
                self.cursor = Some(c + 1);
            }
        }
    }

    fn del_dest(&mut self, _dests: &[DestView], pos: usize, _removed: &DestView) {
        self.cursor = match self.cursor {
            Some(c) if c == pos => pos.checked_sub(1),
            Some(c) if c > pos => Some(c - 1),
            other => other,
        };
    }
}
