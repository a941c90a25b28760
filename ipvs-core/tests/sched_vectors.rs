//! The test vectors of the kernel reference (§6): hash_32, hsiphash (64-bit kernel), the sh and
//! mh tables, and the wrr sequences of §3.4.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr};

use ipvs_core::sched::{
    fold_addr, hash_32, hsiphash_u32, DestId, DestView, HsiphashKey, Mh, PacketInfo, SchedCtx, SchedState,
    Sh, SplitMix64, SvcParams, Time, Wrr, MH_TAB_SIZE,
};
use ipvs_core::{AddressFamily, ServiceFlags};

fn v4(s: &str) -> u32 {
    u32::from(s.parse::<Ipv4Addr>().unwrap())
}

fn dest(id: u64, addr: &str, port: u16, w: i32) -> DestView {
    DestView::new(DestId(id), addr.parse().unwrap(), port, w)
}

fn pkt(src: &str, sport: u16) -> PacketInfo {
    PacketInfo::tcp(format!("{src}:{sport}").parse().unwrap(), "10.9.9.9:80".parse().unwrap())
}

#[test]
fn hash_32_vectors() {
    let rows = [
        ("10.0.0.1", 39, 182, 159),
        ("10.0.0.2", 137, 24, 550),
        ("192.168.1.10", 248, 135, 995),
        ("192.168.1.11", 90, 233, 362),
    ];
    for (a, b8, b8p80, b10) in rows {
        let x = v4(a);
        assert_eq!(hash_32(x, 8), b8, "{a} bits 8");
        assert_eq!(hash_32(x.wrapping_add(80), 8), b8p80, "{a} port 80");
        assert_eq!(hash_32(x, 10), b10, "{a} bits 10");
    }
    assert_eq!(hash_32(v4("203.0.113.5"), 8), 185);
    assert_eq!(hash_32(v4("203.0.113.5").wrapping_add(80), 8), 71);
    let f = fold_addr(AddressFamily::Inet6, &"2001:db8::1".parse().unwrap());
    assert_eq!(f, 0x2001_0DB9);
    assert_eq!(hash_32(f, 8), 63);
}

#[test]
fn hsiphash_vectors() {
    let k1 = HsiphashKey::MH1;
    let k2 = HsiphashKey::MH2;
    assert_eq!(hsiphash_u32(0, k1), 0x1D5A_77C2);
    assert_eq!(hsiphash_u32(0, k2), 0xF882_433F);
    let a = v4("10.0.0.1");
    assert_eq!(hsiphash_u32(a, k1), 0x0308_0CE4);
    assert_eq!(hsiphash_u32(a, k1) % 4093, 3711);
    assert_eq!(hsiphash_u32(a, k2) % 4092 + 1, 966);
    assert_eq!(hsiphash_u32(v4("10.0.0.2"), k1), 0x41CF_DE13);
    assert_eq!(hsiphash_u32(v4("10.0.0.2"), k1) % 4093, 1884);
    assert_eq!(hsiphash_u32(v4("203.0.113.5"), k1), 0x6736_7EBC);
    assert_eq!(hsiphash_u32(v4("203.0.113.5"), k1) % 4093, 3219);
    let da = v4("192.168.1.10") + 80;
    assert_eq!(hsiphash_u32(da, k1), 0xD752_1195);
    assert_eq!(hsiphash_u32(da, k1) % 4093, 2186);
    assert_eq!(hsiphash_u32(da, k2) % 4092 + 1, 43);
    let db = v4("192.168.1.11") + 80;
    assert_eq!(hsiphash_u32(db, k1), 0x8B94_2875);
    assert_eq!(hsiphash_u32(db, k1) % 4093, 2340);
    assert_eq!(hsiphash_u32(db, k2) % 4092 + 1, 414);
    let c = v4("10.0.0.2") + 8080;
    assert_eq!(hsiphash_u32(c, k1), 0x8B1C_3C90);
    assert_eq!(hsiphash_u32(c, k1) % 4093, 1727);
    assert_eq!(hsiphash_u32(c, k2) % 4092 + 1, 2172);
}

fn names(table: &[Option<usize>], dests: &[DestView], labels: &[(u64, char)]) -> String {
    table
        .iter()
        .map(|s| {
            let id = dests[s.unwrap()].id.0;
            labels.iter().find(|(i, _)| *i == id).unwrap().1
        })
        .collect()
}

#[test]
fn mh_tables() {
    let labels = [(1, 'A'), (2, 'B'), (3, 'C')];
    let a = dest(1, "192.168.1.10", 80, 1);
    let b = dest(2, "192.168.1.11", 80, 1);
    let dests = [b, a];
    let mh = Mh::new(SvcParams::v4(), &dests).unwrap();
    let table: Vec<_> = mh.table().collect();
    assert_eq!(table.len(), MH_TAB_SIZE);
    let s = names(&table, &dests, &labels);
    assert_eq!(s.chars().filter(|&c| c == 'A').count(), 2046);
    assert_eq!(s.chars().filter(|&c| c == 'B').count(), 2047);
    assert_eq!(&s[..16], "BBBBAABAABABABBB");
    let mut mh = mh;
    let mut rng = SplitMix64::new(0);
    let mut ctx = SchedCtx::new(Time::ZERO, &mut rng);
    assert_eq!(mh.schedule(&dests, &pkt("10.0.0.1", 1), &mut ctx), Some(1)); // A
    assert_eq!(mh.schedule(&dests, &pkt("10.0.0.2", 1), &mut ctx), Some(0)); // B

    let c = dest(3, "192.168.1.12", 80, 2);
    let dests = [c, b, a];
    let mut mh = Mh::new(SvcParams::v4(), &dests).unwrap();
    let table: Vec<_> = mh.table().collect();
    let s = names(&table, &dests, &labels);
    assert_eq!(s.chars().filter(|&c| c == 'C').count(), 2047);
    assert_eq!(s.chars().filter(|&c| c == 'B').count(), 1023);
    assert_eq!(s.chars().filter(|&c| c == 'A').count(), 1023);
    assert_eq!(&s[..16], "CCCBACBCCCACABCB");
    assert_eq!(mh.schedule(&dests, &pkt("10.0.0.1", 1), &mut ctx), Some(0)); // C
    assert_eq!(mh.schedule(&dests, &pkt("10.0.0.2", 1), &mut ctx), Some(1)); // B
}

#[test]
fn sh_tables() {
    let a = dest(1, "192.168.1.10", 80, 1);
    let b = dest(2, "192.168.1.11", 80, 1);
    let mut rng = SplitMix64::new(0);
    let mut ctx = SchedCtx::new(Time::ZERO, &mut rng);

    let dests = [b, a];
    let mut sh = Sh::new(SvcParams::v4(), &dests);
    for (i, s) in sh.table().enumerate() {
        assert_eq!(s, Some(i % 2), "bucket {i}");
    }
    assert_eq!(sh.schedule(&dests, &pkt("10.0.0.1", 80), &mut ctx), Some(1)); // A
    let port = SvcParams { family: AddressFamily::Inet, flags: ServiceFlags::SH_PORT };
    let mut shp = Sh::new(port, &dests);
    assert_eq!(shp.bucket_of(&pkt("10.0.0.1", 80)), 182);
    assert_eq!(shp.schedule(&dests, &pkt("10.0.0.1", 80), &mut ctx), Some(0)); // B

    let dests = [dest(2, "192.168.1.11", 80, 2), a];
    let mut sh = Sh::new(SvcParams::v4(), &dests);
    for (i, s) in sh.table().enumerate() {
        assert_eq!(s, Some(usize::from(i % 3 == 2)), "bucket {i}");
    }
    assert_eq!(sh.schedule(&dests, &pkt("10.0.0.1", 1), &mut ctx), Some(0)); // B
    assert_eq!(sh.schedule(&dests, &pkt("10.0.0.2", 1), &mut ctx), Some(1)); // A

    // sh-fallback with A quiesced: bucket 39 holds A; the first probe is bucket 78 = B.
    let dests = [b, dest(1, "192.168.1.10", 80, 0)];
    let fb = SvcParams { family: AddressFamily::Inet, flags: ServiceFlags::SH_FALLBACK };
    let mut sh = Sh::new(fb, &dests);
    assert_eq!(sh.table().nth(39), Some(Some(1)));
    assert_eq!(sh.table().nth(78), Some(Some(0)));
    assert_eq!(sh.schedule(&dests, &pkt("10.0.0.1", 1), &mut ctx), Some(0));
    let mut nofb = Sh::new(SvcParams::v4(), &dests);
    assert_eq!(nofb.schedule(&dests, &pkt("10.0.0.1", 1), &mut ctx), None);
}

fn wrr_seq(weights: &[i32], n: usize) -> String {
    let dests: Vec<_> = weights
        .iter()
        .enumerate()
        .map(|(i, &w)| {
            DestView::new(DestId(i as u64), IpAddr::V4(Ipv4Addr::new(10, 0, 0, i as u8 + 1)), 80, w)
        })
        .collect();
    let mut wrr = Wrr::new(&dests);
    let mut rng = SplitMix64::new(0);
    let mut ctx = SchedCtx::new(Time::ZERO, &mut rng);
    let p = pkt("1.2.3.4", 1);
    (0..n).map(|_| (b'A' + wrr.schedule(&dests, &p, &mut ctx).unwrap() as u8) as char).collect()
}

#[test]
fn wrr_sequences() {
    assert_eq!(wrr_seq(&[4, 3, 2], 18), "AABABCABCAABABCABC");
    assert_eq!(wrr_seq(&[4, 2], 6), "AABAAB");
    assert_eq!(wrr_seq(&[100, 60, 20], 18), "AAABABABCAAABABABC");
    let wrr = Wrr::new(&[dest(1, "10.0.0.1", 80, 4), dest(2, "10.0.0.2", 80, 2)]);
    assert_eq!(wrr.weights(), (3, 3, 2));
    let wrr =
        Wrr::new(&[dest(1, "10.0.0.1", 80, 100), dest(2, "10.0.0.2", 80, 60), dest(3, "10.0.0.3", 80, 20)]);
    assert_eq!(wrr.weights(), (81, 81, 20));
}
