//! Kernel-source-derived behaviours of each scheduler: tie-breaking, weight 0, overload, the
//! effect of adds, deletes and edits on the state.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;

use ipvs_core::sched::{
    random_u32_below, AnySched, DestId, DestView, Dh, Fo, Lblc, Lblcr, Lc, Mh, Nq, Ovf, PacketInfo, Rr,
    SchedCtx, SchedInitError, SchedState, Sed, SplitMix64, SvcParams, Time, Twos, Wlc, Wrr, MH_TAB_SIZE,
};
use ipvs_core::{AddressFamily, Scheduler, ServiceFlags};

fn d(id: u64, w: i32) -> DestView {
    DestView::new(DestId(id), IpAddr::from([192, 168, 1, id as u8]), 80, w)
}

fn p(src: &str) -> PacketInfo {
    PacketInfo::tcp(format!("{src}:5555").parse().unwrap(), "10.0.0.1:80".parse().unwrap())
}

fn p_to(dst: &str) -> PacketInfo {
    PacketInfo::tcp("192.0.2.1:5555".parse().unwrap(), format!("{dst}:80").parse().unwrap())
}

struct Env {
    rng: SplitMix64,
}

impl Env {
    fn new() -> Self {
        Env { rng: SplitMix64::new(7) }
    }
    fn pick<S: SchedState>(&mut self, s: &mut S, dests: &[DestView], pkt: &PacketInfo) -> Option<u64> {
        self.pick_at(s, dests, pkt, Time::ZERO)
    }
    fn pick_at<S: SchedState>(
        &mut self,
        s: &mut S,
        dests: &[DestView],
        pkt: &PacketInfo,
        t: Time,
    ) -> Option<u64> {
        let mut ctx = SchedCtx::new(t, &mut self.rng);
        s.schedule(dests, pkt, &mut ctx).map(|i| dests[i].id.0)
    }
}

// ---- rr ---------------------------------------------------------------------------------

#[test]
fn rr_starts_at_newest_and_wraps() {
    let mut e = Env::new();
    let dests = vec![d(3, 1), d(2, 1), d(1, 1)];
    let mut rr = Rr::new(&dests);
    let seq: Vec<_> = (0..6).map(|_| e.pick(&mut rr, &dests, &p("1.1.1.1")).unwrap()).collect();
    assert_eq!(seq, [3, 2, 1, 3, 2, 1]);
}

#[test]
fn rr_skips_weight0_and_overloaded_and_keeps_cursor_when_none() {
    let mut e = Env::new();
    let mut dests = vec![d(3, 1), d(2, 0), d(1, 1)];
    dests[2].overloaded = true;
    let mut rr = Rr::new(&dests);
    assert_eq!(e.pick(&mut rr, &dests, &p("1.1.1.1")), Some(3));
    assert_eq!(e.pick(&mut rr, &dests, &p("1.1.1.1")), Some(3));
    dests[0].weight = 0;
    assert_eq!(e.pick(&mut rr, &dests, &p("1.1.1.1")), None);
    assert_eq!(rr.cursor(), Some(0));
    dests[0].weight = 1;
    dests[2].overloaded = false;
    assert_eq!(e.pick(&mut rr, &dests, &p("1.1.1.1")), Some(1));
}

#[test]
fn rr_add_goes_to_head_and_is_reached_after_wrap() {
    let mut e = Env::new();
    let mut dests = vec![d(2, 1), d(1, 1)];
    let mut rr = Rr::new(&dests);
    assert_eq!(e.pick(&mut rr, &dests, &p("x.0.0.0".replace('x', "1").as_str())), Some(2));
    dests.insert(0, d(3, 1));
    rr.add_dest(&dests, 0);
    // cursor stays on 2; next are 1, then wrap to 3.
    let seq: Vec<_> = (0..4).map(|_| e.pick(&mut rr, &dests, &p("1.1.1.1")).unwrap()).collect();
    assert_eq!(seq, [1, 3, 2, 1]);
}

#[test]
fn rr_delete_of_cursor_moves_to_predecessor() {
    let mut e = Env::new();
    let mut dests = vec![d(3, 1), d(2, 1), d(1, 1)];
    let mut rr = Rr::new(&dests);
    assert_eq!(e.pick(&mut rr, &dests, &p("1.1.1.1")), Some(3));
    assert_eq!(e.pick(&mut rr, &dests, &p("1.1.1.1")), Some(2));
    let removed = dests.remove(1);
    rr.del_dest(&dests, 1, &removed);
    assert_eq!(e.pick(&mut rr, &dests, &p("1.1.1.1")), Some(1)); // what followed 2
                                                                 // Deleting the first dest while the cursor is on it puts the cursor at the head.
    let mut dests = vec![d(3, 1), d(2, 1)];
    let mut rr = Rr::new(&dests);
    assert_eq!(e.pick(&mut rr, &dests, &p("1.1.1.1")), Some(3));
    let removed = dests.remove(0);
    rr.del_dest(&dests, 0, &removed);
    assert_eq!(rr.cursor(), None);
    assert_eq!(e.pick(&mut rr, &dests, &p("1.1.1.1")), Some(2));
}

// ---- wrr --------------------------------------------------------------------------------

fn wrr_run(wrr: &mut Wrr, dests: &[DestView], n: usize, e: &mut Env) -> Vec<u64> {
    (0..n).map(|_| e.pick(wrr, dests, &p("1.1.1.1")).unwrap()).collect()
}

#[test]
fn wrr_change_resets_to_head_and_adjusts_cw() {
    let mut e = Env::new();
    let mut dests = vec![d(1, 4), d(2, 3), d(3, 2)];
    let mut wrr = Wrr::new(&dests);
    assert_eq!(wrr_run(&mut wrr, &dests, 3, &mut e), [1, 1, 2]); // cw is now 3
    assert_eq!(wrr.weights().0, 3);
    dests[2].weight = 2; // an edit that changes nothing still runs the hook
    wrr.upd_dest(&dests, 2);
    assert_eq!(wrr.weights(), (3, 4, 1)); // di == 1 keeps cw
                                          // restart from the head with cw 3: A(4) then B(3)
    assert_eq!(wrr_run(&mut wrr, &dests, 2, &mut e), [1, 2]);
    // weights 4,2 -> di 2; cw 3 -> (3/2)*2+1 = 3; mw = 4-1 = 3
    dests.remove(1);
    dests[1].weight = 2;
    let removed = d(2, 3);
    wrr.del_dest(&dests, 1, &removed);
    assert_eq!(wrr.weights(), (3, 3, 2));
}

#[test]
fn wrr_all_weights_zero_and_all_overloaded() {
    let mut e = Env::new();
    let mut dests = vec![d(1, 0), d(2, 0)];
    let mut wrr = Wrr::new(&dests);
    assert_eq!(e.pick(&mut wrr, &dests, &p("1.1.1.1")), None);
    dests[0].weight = 2;
    dests[1].weight = 1;
    wrr.upd_dest(&dests, 0);
    assert_eq!(wrr.weights(), (2, 2, 1));
    assert_eq!(wrr_run(&mut wrr, &dests, 3, &mut e), [1, 1, 2]);
    dests[0].overloaded = true;
    dests[1].overloaded = true;
    assert_eq!(e.pick(&mut wrr, &dests, &p("1.1.1.1")), None);
    dests[1].overloaded = false;
    assert_eq!(e.pick(&mut wrr, &dests, &p("1.1.1.1")), Some(2));
}

#[test]
fn wrr_skips_overloaded_but_counts_its_weight() {
    let mut e = Env::new();
    let mut dests = vec![d(1, 3), d(2, 1)];
    dests[0].overloaded = true;
    let mut wrr = Wrr::new(&dests);
    assert_eq!(wrr.weights(), (3, 3, 1));
    assert_eq!(wrr_run(&mut wrr, &dests, 3, &mut e), [2, 2, 2]);
}

// ---- lc / wlc / sed / nq / fo / ovf ----------------------------------------------------

#[test]
fn lc_overhead_totalconns_variant_and_ties() {
    let mut e = Env::new();
    // overhead = active*256 + total: A: 1 active (total 1) = 257; B: 0 active, 256 total = 256.
    let dests = vec![d(1, 1).with_conns(1, 1), d(2, 1).with_conns(0, 256)];
    assert_eq!(e.pick(&mut Lc, &dests, &p("1.1.1.1")), Some(2));
    // With 257 inactive B ties A at 257: the earlier (A) wins.
    let dests = vec![d(1, 1).with_conns(1, 1), d(2, 1).with_conns(0, 257)];
    assert_eq!(e.pick(&mut Lc, &dests, &p("1.1.1.1")), Some(1));
    // Weight only matters as zero / non-zero; overloaded skipped.
    let mut dests = vec![d(1, 0), d(2, 100).with_conns(5, 5), d(3, 1).with_conns(1, 1)];
    assert_eq!(e.pick(&mut Lc, &dests, &p("1.1.1.1")), Some(3));
    dests[2].overloaded = true;
    assert_eq!(e.pick(&mut Lc, &dests, &p("1.1.1.1")), Some(2));
    assert_eq!(e.pick(&mut Lc, &[d(1, 0)], &p("1.1.1.1")), None);
}

#[test]
fn wlc_cross_multiplication_and_ties() {
    let mut e = Env::new();
    // A: w1, oh 257; B: w2, oh 514 -> equal ratio, A (earlier) kept.
    let dests = vec![d(1, 1).with_conns(1, 1), d(2, 2).with_conns(2, 2)];
    assert_eq!(e.pick(&mut Wlc, &dests, &p("1.1.1.1")), Some(1));
    let dests = vec![d(1, 1).with_conns(1, 1), d(2, 2).with_conns(1, 2)];
    assert_eq!(e.pick(&mut Wlc, &dests, &p("1.1.1.1")), Some(2));
    // The first dest with weight 0 is skipped as a start; a later one cannot win.
    let dests = vec![d(1, 0), d(2, 1).with_conns(3, 3), d(3, 0)];
    assert_eq!(e.pick(&mut Wlc, &dests, &p("1.1.1.1")), Some(2));
    // All idle: the newest (first) wins.
    let dests = vec![d(5, 1), d(4, 1)];
    assert_eq!(e.pick(&mut Wlc, &dests, &p("1.1.1.1")), Some(5));
}

#[test]
fn sed_ignores_inactive() {
    let mut e = Env::new();
    let dests = vec![d(1, 1).with_conns(0, 1000), d(2, 1).with_conns(1, 1)];
    assert_eq!(e.pick(&mut Sed, &dests, &p("1.1.1.1")), Some(1));
    assert_eq!(e.pick(&mut Wlc, &dests, &p("1.1.1.1")), Some(2));
    // (1+1)*3 > (2+1)*1? 6 > 3 -> B(w3, active 2) beats A(w1, active 1).
    let dests = vec![d(1, 1).with_conns(1, 1), d(2, 3).with_conns(2, 2)];
    assert_eq!(e.pick(&mut Sed, &dests, &p("1.1.1.1")), Some(2));
}

#[test]
fn nq_first_idle_wins() {
    let mut e = Env::new();
    let dests = vec![d(1, 100).with_conns(1, 1), d(2, 1), d(3, 1)];
    assert_eq!(e.pick(&mut Nq, &dests, &p("1.1.1.1")), Some(2));
    let dests = vec![d(1, 1).with_conns(3, 3), d(2, 2).with_conns(3, 3)];
    assert_eq!(e.pick(&mut Nq, &dests, &p("1.1.1.1")), Some(2));
    let dests = vec![d(1, 0), d(2, 1).with_conns(1, 1)];
    assert_eq!(e.pick(&mut Nq, &dests, &p("1.1.1.1")), Some(2));
}

#[test]
fn fo_and_ovf() {
    let mut e = Env::new();
    let mut dests = vec![d(1, 5), d(2, 9), d(3, 9)];
    assert_eq!(e.pick(&mut Fo, &dests, &p("1.1.1.1")), Some(2));
    dests[1].overloaded = true;
    assert_eq!(e.pick(&mut Fo, &dests, &p("1.1.1.1")), Some(3));
    // ovf: active == weight still eligible, active > weight not.
    let dests = vec![d(1, 2).with_conns(2, 2), d(2, 3).with_conns(4, 4)];
    assert_eq!(e.pick(&mut Ovf, &dests, &p("1.1.1.1")), Some(1));
    let dests = vec![d(1, 2).with_conns(3, 3), d(2, 3).with_conns(4, 4)];
    assert_eq!(e.pick(&mut Ovf, &dests, &p("1.1.1.1")), None);
}

// ---- dh ---------------------------------------------------------------------------------

#[test]
fn dh_no_fallback_and_no_rebuild_on_edit() {
    let mut e = Env::new();
    let mut dests = vec![d(2, 1), d(1, 1)];
    let mut dh = Dh::new(SvcParams::v4(), &dests);
    // 10.0.0.1 -> bucket 39 -> position 1; 10.0.0.2 -> bucket 137 -> position 1.
    assert_eq!(dh.bucket_of(&"10.0.0.1".parse().unwrap()), 39);
    assert_eq!(e.pick(&mut dh, &dests, &p_to("10.0.0.1")), Some(1));
    dests[1].weight = 0;
    dh.upd_dest(&dests, 1);
    assert_eq!(e.pick(&mut dh, &dests, &p_to("10.0.0.1")), None);
    assert_eq!(dh.table().filter(|b| *b == Some(1)).count(), 128);
    dests[1].available = false;
    dests[1].weight = 1;
    assert_eq!(e.pick(&mut dh, &dests, &p_to("10.0.0.1")), None);
}

// ---- sh / mh ----------------------------------------------------------------------------

#[test]
fn sh_weight0_takes_one_bucket_and_ipv6_folds() {
    let dests = vec![d(2, 3), d(1, 0)];
    let sh = ipvs_core::sched::Sh::new(SvcParams::v4(), &dests);
    let t: Vec<_> = sh.table().take(8).map(|x| x.unwrap()).collect();
    assert_eq!(t, [0, 0, 0, 1, 0, 0, 0, 1]);
    let v6 = SvcParams { family: AddressFamily::Inet6, flags: ServiceFlags::empty() };
    let sh6 = ipvs_core::sched::Sh::new(v6, &dests);
    let pkt = PacketInfo::tcp("[2001:db8::1]:1".parse().unwrap(), "[2001:db8::80]:80".parse().unwrap());
    assert_eq!(sh6.bucket_of(&pkt), 63);
}

#[test]
fn mh_quiesce_keeps_table_and_fallback_probes() {
    let mut e = Env::new();
    let mut dests = vec![d(2, 1), d(1, 1)];
    let mut mh = Mh::new(SvcParams::v4(), &dests).unwrap();
    let before: Vec<_> = mh.table().collect();
    dests[0].weight = 0; // last_weight stays 1
    mh.upd_dest(&dests, 0);
    assert_eq!(mh.table().collect::<Vec<_>>(), before);
    // a client whose slot holds dest 2 now gets None without fallback
    let client =
        (0..255u8).map(|i| format!("10.1.0.{i}")).find(|c| before[mh.slot_of(&p(c))] == Some(0)).unwrap();
    assert_eq!(e.pick(&mut mh, &dests, &p(&client)), None);
    mh.set_flags(ServiceFlags::MH_FALLBACK);
    assert_eq!(e.pick(&mut mh, &dests, &p(&client)), Some(1));
    // A dest added with weight 0 has last_weight 0: no slots.
    let dests = vec![d(3, 0), d(2, 1), d(1, 1)];
    let mh = Mh::new(SvcParams::v4(), &dests).unwrap();
    assert!(mh.table().all(|s| s != Some(0)));
    // All last weights zero: empty table.
    let dests = vec![d(3, 0)];
    let mh = Mh::new(SvcParams::v4(), &dests).unwrap();
    assert!(mh.table().all(|s| s.is_none()));
}

#[test]
fn mh_too_many_dests() {
    let dests: Vec<_> = (0..=MH_TAB_SIZE as u64)
        .map(|i| {
            DestView::new(DestId(i), IpAddr::from([10, (i >> 16) as u8, (i >> 8) as u8, i as u8]), 80, 1)
        })
        .collect();
    assert_eq!(Mh::new(SvcParams::v4(), &dests).unwrap_err(), SchedInitError::TooManyDests);
    assert!(Mh::new(SvcParams::v4(), &dests[..MH_TAB_SIZE]).is_ok());
}

#[test]
fn mh_rshift_for_large_weights() {
    // weights 1000 and 1: gcd 1, fls(1000) = 10, rshift 4: turns 62 and 1.
    let dests = vec![d(1, 1000), d(2, 1)];
    let mh = Mh::new(SvcParams::v4(), &dests).unwrap();
    let n0 = mh.table().filter(|s| *s == Some(0)).count();
    assert!(n0 > 3900, "heavy dest should own most slots, got {n0}");
}

// ---- lblc / lblcr -----------------------------------------------------------------------

#[test]
fn lblc_caches_by_destination_address() {
    let mut e = Env::new();
    let mut dests = vec![d(2, 1), d(1, 1)];
    let mut l = Lblc::new(SvcParams::v4(), Time::ZERO);
    assert_eq!(e.pick(&mut l, &dests, &p_to("10.0.0.9")), Some(2));
    dests[0].active_conns = 1;
    dests[0].total_conns = 1;
    // wlc would now pick 1, but the cache keeps 10.0.0.9 on 2.
    assert_eq!(e.pick(&mut l, &dests, &p_to("10.0.0.9")), Some(2));
    assert_eq!(e.pick(&mut l, &dests, &p_to("10.0.0.10")), Some(1));
    assert_eq!(l.len(), 2);
    // lblc-overloaded: active (2) > weight (1) while dest 1 has 2*0 < 1 -> re-pick and replace.
    dests[0].active_conns = 2;
    dests[0].total_conns = 2;
    dests[1].active_conns = 0;
    dests[1].total_conns = 0;
    assert_eq!(e.pick(&mut l, &dests, &p_to("10.0.0.9")), Some(1));
    assert_eq!(l.cached(&"10.0.0.9".parse().unwrap()), Some(DestId(1)));
    // The OVERLOAD bit of the cached dest is not checked.
    dests[1].overloaded = true;
    assert_eq!(e.pick(&mut l, &dests, &p_to("10.0.0.9")), Some(1));
}

#[test]
fn lblc_full_expiry_after_a_day() {
    let mut e = Env::new();
    let dests = vec![d(1, 1)];
    let mut l = Lblc::new(SvcParams::v4(), Time::ZERO);
    e.pick_at(&mut l, &dests, &p_to("10.0.0.9"), Time::from_secs(10));
    l.advance(Time::from_secs(86_400), 86_400_000);
    assert_eq!(l.len(), 1); // the full check runs every 30 minutes; entry not yet a day old
    l.advance(Time::from_secs(86_400 + 1800), 86_400_000);
    assert_eq!(l.len(), 0);
    // A very long jump does not hang.
    l.advance(Time::from_secs(u64::MAX / 2000), 86_400_000);
}

#[test]
fn lblcr_grows_set_and_sheds_most_loaded() {
    let mut e = Env::new();
    let mut dests = vec![d(2, 1), d(1, 1)];
    let mut l = Lblcr::new(SvcParams::v4(), Time::ZERO);
    let dst = "10.0.0.9";
    assert_eq!(e.pick(&mut l, &dests, &p_to(dst)), Some(2));
    // Make 2 lblc-overloaded: re-pick 1 and add it to the set (front).
    dests[0].active_conns = 2;
    dests[0].total_conns = 2;
    assert_eq!(e.pick(&mut l, &dests, &p_to(dst)), Some(1));
    assert_eq!(l.cached(&dst.parse().unwrap()), Some(vec![DestId(1), DestId(2)]));
    // After the expiration since the last change, the most loaded member (2) is removed.
    let later = Time::from_secs(86_400 + 1);
    e.pick_at(&mut l, &dests, &p_to(dst), later);
    assert_eq!(l.cached(&dst.parse().unwrap()), Some(vec![DestId(1)]));
}

// ---- twos -------------------------------------------------------------------------------

#[test]
fn twos_draws_two_and_prefers_lower_load() {
    let dests = vec![d(1, 1).with_conns(1, 1), d(2, 1)];
    // Draws giving r1 = 0 (first dest) and r2 = 2 (second dest): the second is idle, so it wins.
    // (A raw 0 would be rejected by get_random_u32_below's rejection step.)
    let mut draws = [1u32, 0xFFFF_FFFF].into_iter();
    let mut rng = move || draws.next().unwrap_or(1);
    let mut ctx = SchedCtx::new(Time::ZERO, &mut rng);
    assert_eq!(Twos.schedule(&dests, &p("1.1.1.1"), &mut ctx), Some(1));
    // All idle: choice 1 always wins, so picks follow r1: the first eligible dest gets
    // (w+1)/(sum+1), the others w/(sum+1).
    let dests = vec![d(1, 1), d(2, 1), d(3, 2)];
    let mut rng = SplitMix64::new(3);
    let mut ctx = SchedCtx::new(Time::ZERO, &mut rng);
    let mut counts = [0usize; 3];
    for _ in 0..40_000 {
        counts[Twos.schedule(&dests, &p("1.1.1.1"), &mut ctx).unwrap()] += 1;
    }
    let f: Vec<f64> = counts.iter().map(|&c| c as f64 / 40_000.0).collect();
    assert!((f[0] - 0.4).abs() < 0.02 && (f[1] - 0.2).abs() < 0.02 && (f[2] - 0.4).abs() < 0.02, "{f:?}");
    let mut rng = SplitMix64::new(9);
    assert!((0..1000).all(|_| random_u32_below(&mut rng, 7) < 7));
}

#[test]
fn any_sched_names_and_unknown() {
    let dests = vec![d(1, 1)];
    for s in Scheduler::KNOWN.iter() {
        let a = AnySched::new(s, SvcParams::v4(), &dests, Time::ZERO).unwrap();
        assert_eq!(a.name(), s.name());
    }
    assert!(AnySched::new(&Scheduler::Unbound, SvcParams::v4(), &dests, Time::ZERO).is_err());
    assert!(AnySched::new(&"foo".into(), SvcParams::v4(), &dests, Time::ZERO).is_err());
}
