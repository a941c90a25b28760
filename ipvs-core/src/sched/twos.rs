//! twos — power of two choices (`net/netfilter/ipvs/ip_vs_twos.c`).

use super::{random_u32_below, DestView, PacketInfo, SchedCtx, SchedState};

/// Weighted power of two choices, as `ip_vs_twos.c` of the 6.1 tree. **Not built in Debian's
/// kernel** (`# CONFIG_IP_VS_TWOS is not set`), so the in-memory table does not offer it by
/// default.
///
/// 1. Sum the weights of the dests that are not overloaded and have weight > 0; `choice1` starts
///    as the **last** of them. None → `None`.
/// 2. Draw `r1` and `r2` with [`random_u32_below`]`(sum + 1)` (two draws, in that order).
/// 3. Walk the eligible dests in list order subtracting each weight from `r1` and `r2`; the first
///    dest at which `r1 <= 0` becomes choice 1, the first at which `r2 <= 0` choice 2.
/// 4. Return choice 2 when `w2 * oh1 > w1 * oh2` (32-bit `int` products), else choice 1.
///
/// So the first eligible dest is drawn with probability (w+1)/(sum+1), the others w/(sum+1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Twos;

impl SchedState for Twos {
    fn schedule(&mut self, dests: &[DestView], _pkt: &PacketInfo, ctx: &mut SchedCtx<'_>) -> Option<usize> {
        let mut total: i32 = 0;
        let mut choice1 = None;
        for (i, d) in dests.iter().enumerate() {
            if !d.overloaded && d.weight > 0 {
                total = total.wrapping_add(d.weight);
                choice1 = Some(i);
            }
        }
        let mut choice1 = choice1?;
        let total = total.wrapping_add(1);
        let mut r1 = random_u32_below(ctx.rng, total as u32) as i32;
        let mut r2 = random_u32_below(ctx.rng, total as u32) as i32;
        let (mut w1, mut w2, mut oh1, mut oh2) = (-1i32, -1i32, 0i32, 0i32);
        let mut choice2 = None;
        for (i, d) in dests.iter().enumerate() {
            if d.overloaded || d.weight <= 0 {
                continue;
            }
            let w = d.weight;
            r1 = r1.wrapping_sub(w);
            r2 = r2.wrapping_sub(w);
            if r1 <= 0 && w1 == -1 {
                choice1 = i;
                w1 = w;
                oh1 = d.overhead();
            }
            if r2 <= 0 && w2 == -1 {
                choice2 = Some(i);
                w2 = w;
                oh2 = d.overhead();
            }
            if w1 != -1 && w2 != -1 {
                break;
            }
        }
        match choice2 {
            Some(c2) if w2.wrapping_mul(oh1) > w1.wrapping_mul(oh2) => Some(c2),
            _ => Some(choice1),
        }
    }
}
