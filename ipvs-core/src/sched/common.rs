//! Helpers shared by several schedulers: the kernel's `hash_32`, the IPv6 address fold, the
//! 64-bit kernel's `hsiphash` (SipHash-1-3), gcd, and the weighted-least-connection pick.

use std::net::IpAddr;

use super::DestView;
use crate::service::AddressFamily;

/// The golden-ratio multiplier of `include/linux/hash.h` (`GOLDEN_RATIO_32`).
pub const GOLDEN_RATIO_32: u32 = 0x61C8_8647;

/// `hash_32(val, bits)` of `include/linux/hash.h` (the generic version, which x86-64 uses):
/// `(val * 0x61C88647) >> (32 - bits)`, for `bits` in 1..=32 (0 gives 0).
///
/// ```
/// use ipvs_core::sched::hash_32;
/// assert_eq!(hash_32(0x0A00_0001, 8), 39); // 10.0.0.1, the sh/dh bucket
/// assert_eq!(hash_32(0x0A00_0001, 10), 159); // the lblc bucket
/// ```
#[inline]
pub fn hash_32(val: u32, bits: u32) -> u32 {
    if bits == 0 || bits > 32 {
        return 0;
    }
    val.wrapping_mul(GOLDEN_RATIO_32) >> (32 - bits)
}

/// The 32-bit value the schedulers hash an address to, in host order (`ntohl` of the kernel's
/// `addr_fold`), for a service of family `family`:
///
/// * IPv6 service: the XOR of the four 32-bit words of the address;
/// * IPv4 service: the address (or, for an IPv6 address in an IPv4 service, which only mh's
///   table build can see with a mixed-family tunnel dest, its first 32-bit word, since the kernel
///   reads `addr->ip`).
///
/// An IPv4 address in an IPv6 service folds to itself (the other words of the kernel's
/// `nf_inet_addr` are zero).
///
/// ```
/// use ipvs_core::{sched::fold_addr, AddressFamily};
/// assert_eq!(fold_addr(AddressFamily::Inet6, &"2001:db8::1".parse().unwrap()), 0x2001_0DB9);
/// ```
#[inline]
pub fn fold_addr(family: AddressFamily, addr: &IpAddr) -> u32 {
    match addr {
        IpAddr::V4(a) => u32::from(*a),
        IpAddr::V6(a) => {
            let o = a.octets();
            let w = |i: usize| u32::from_be_bytes([o[i], o[i + 1], o[i + 2], o[i + 3]]);
            match family {
                AddressFamily::Inet6 => w(0) ^ w(4) ^ w(8) ^ w(12),
                AddressFamily::Inet => w(0),
            }
        }
    }
}

/// An `hsiphash_key_t` of a 64-bit kernel: two 64-bit words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HsiphashKey(pub u64, pub u64);

impl HsiphashKey {
    /// mh's first key (`hash1`, both words 2654435761).
    pub const MH1: HsiphashKey = HsiphashKey(2_654_435_761, 2_654_435_761);
    /// mh's second key (`hash2`, both words 2654446892).
    pub const MH2: HsiphashKey = HsiphashKey(2_654_446_892, 2_654_446_892);
}

#[inline(always)]
fn sipround(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13);
    v[1] ^= v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16);
    v[3] ^= v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21);
    v[3] ^= v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17);
    v[1] ^= v[2];
    v[2] = v[2].rotate_left(32);
}

/// `hsiphash(&v, 4, key)` of a **64-bit** kernel (`lib/siphash.c`), where hsiphash is
/// SipHash-1-3 with 64-bit key words: one compression round over the single final block
/// `v | 4 << 56` (the 4 message bytes in little-endian memory order, as on x86-64), three
/// finalisation rounds, and the low 32 bits of `v0 ^ v1 ^ v2 ^ v3`.
///
/// (32-bit kernels use HalfSipHash-1-3 and give other values; they are not modelled.)
///
/// ```
/// use ipvs_core::sched::{hsiphash_u32, HsiphashKey};
/// assert_eq!(hsiphash_u32(0, HsiphashKey::MH1), 0x1D5A_77C2);
/// assert_eq!(hsiphash_u32(0x0A00_0001, HsiphashKey::MH1), 0x0308_0CE4);
/// ```
#[inline]
pub fn hsiphash_u32(v: u32, key: HsiphashKey) -> u32 {
    let mut s = [
        0x736f_6d65_7073_6575 ^ key.0,
        0x646f_7261_6e64_6f6d ^ key.1,
        0x6c79_6765_6e65_7261 ^ key.0,
        0x7465_6462_7974_6573 ^ key.1,
    ];
    let b: u64 = (4u64 << 56) | u64::from(v);
    s[3] ^= b;
    sipround(&mut s);
    s[0] ^= b;
    s[2] ^= 0xff;
    sipround(&mut s);
    sipround(&mut s);
    sipround(&mut s);
    (s[0] ^ s[1] ^ s[2] ^ s[3]) as u32
}

/// Euclid's gcd of two positive ints, as `lib/math/gcd.c` computes it.
pub(crate) fn gcd(mut a: i64, mut b: i64) -> i64 {
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    a.abs()
}

/// The weighted least-connection pick shared by wlc, lblc and lblcr (`ip_vs_wlc_schedule`,
/// `__ip_vs_lblc_schedule`, `__ip_vs_lblcr_schedule`): the first dest (list order) that is not
/// overloaded and has weight > 0 starts; every later non-overloaded dest `d` replaces it when
/// `overhead(least) * weight(d) > overhead(d) * weight(least)` in signed 64-bit arithmetic.
/// Ties keep the earlier dest; a later weight-0 dest cannot win (its product is 0).
#[inline]
pub(crate) fn wlc_pick(dests: &[DestView], overhead: impl Fn(&DestView) -> i32) -> Option<usize> {
    let start = dests.iter().position(|d| !d.overloaded && d.weight > 0)?;
    let mut least = start;
    let mut loh = i64::from(overhead(&dests[start]));
    let mut lw = i64::from(dests[start].weight);
    for (i, d) in dests.iter().enumerate().skip(start + 1) {
        if d.overloaded {
            continue;
        }
        let doh = i64::from(overhead(d));
        if loh * i64::from(d.weight) > doh * lw {
            least = i;
            loh = doh;
            lw = i64::from(d.weight);
        }
    }
    Some(least)
}
