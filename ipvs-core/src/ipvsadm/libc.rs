//! Re-implementations of the few C library routines whose exact behaviour shapes ipvsadm's
//! input and output: `strtol`/`atoi`, `inet_aton`, `inet_pton`, `inet_ntop` (glibc flavour) and
//! the kernel's `%pI6`. Written from the documented behaviour of glibc 2.36 and the kernel, so
//! that every string ipvsadm accepts is accepted here and every number it prints is printed the
//! same way.

use std::net::{Ipv4Addr, Ipv6Addr};

/// C's `isspace` in the C locale.
pub(crate) fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The result of `strtol`: the value (clamped on overflow, as glibc does), the index where
/// parsing stopped (0 when nothing was converted), and whether it overflowed (`ERANGE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StrtolResult {
    pub value: i64,
    pub end: usize,
    pub overflow: bool,
}

/// The start of a C number conversion: leading white space, then an optional sign. Returns the
/// index after them and whether the sign was `-`.
pub(crate) fn skip_space_and_sign(s: &[u8]) -> (usize, bool) {
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    (i, neg)
}

/// `strtol(s, &end, 10)` on a 64-bit `long`.
pub(crate) fn strtol10(s: &[u8]) -> StrtolResult {
    let (mut i, neg) = skip_space_and_sign(s);
    let digits_start = i;
    // Accumulate the magnitude as u128 so that i64::MIN is representable.
    let mut mag: u128 = 0;
    let mut overflow = false;
    while i < s.len() && s[i].is_ascii_digit() {
        if !overflow {
            mag = mag * 10 + u128::from(s[i] - b'0');
            if mag > (i64::MAX as u128) + 1 {
                overflow = true;
            }
        }
        i += 1;
    }
    if i == digits_start {
        return StrtolResult { value: 0, end: 0, overflow: false };
    }
    let value = if neg {
        if mag > (i64::MAX as u128) + 1 {
            overflow = true;
            i64::MIN
        } else {
            (mag as i128).wrapping_neg() as i64
        }
    } else if mag > i64::MAX as u128 {
        overflow = true;
        i64::MAX
    } else {
        mag as i64
    };
    StrtolResult { value, end: i, overflow }
}

/// ipvsadm's `string_to_number`: the whole string must be a base-10 `long` within
/// `min..=max` (leading white space and a sign are allowed, as `strtol` allows them).
pub(crate) fn string_to_number(s: &str, min: i64, max: i64) -> Option<i64> {
    let b = s.as_bytes();
    let r = strtol10(b);
    if r.end == b.len() && r.end != 0 && !r.overflow && min <= r.value && r.value <= max {
        Some(r.value)
    } else {
        None
    }
}

/// glibc's `atoi`: `(int) strtol(s, NULL, 10)`, the conversion to `int` wrapping.
pub(crate) fn atoi(s: &str) -> i32 {
    strtol10(s.as_bytes()).value as i32
}

/// `strtoul(s, &end, 0)` restricted to what `inet_aton` feeds it: `s` starts with a digit.
/// Returns the value (None on overflow of a 64-bit `unsigned long`) and the end index.
fn strtoul0_from_digit(s: &[u8]) -> (Option<u64>, usize) {
    let (base, mut i) = if s.len() >= 2 && s[0] == b'0' && (s[1] == b'x' || s[1] == b'X') {
        if s.len() >= 3 && s[2].is_ascii_hexdigit() {
            (16u32, 2)
        } else {
            // "0x" without a hex digit: only the "0" is converted.
            return (Some(0), 1);
        }
    } else if s[0] == b'0' {
        (8, 0)
    } else {
        (10, 0)
    };
    let mut v: u64 = 0;
    let mut overflow = false;
    while i < s.len() {
        let d = match (s[i] as char).to_digit(base) {
            Some(d) => d,
            None => break,
        };
        match v.checked_mul(u64::from(base)).and_then(|x| x.checked_add(u64::from(d))) {
            Some(x) => v = x,
            None => overflow = true,
        }
        i += 1;
    }
    (if overflow { None } else { Some(v) }, i)
}

/// glibc's `inet_aton`: one to four parts, each decimal, octal (leading 0) or hex (0x), the
/// last part filling the remaining bytes; anything after a white-space character is ignored.
pub(crate) fn inet_aton(s: &str) -> Option<Ipv4Addr> {
    let s = s.as_bytes();
    let mut parts = [0u8; 3];
    let mut n = 0;
    let mut i = 0;
    let val;
    loop {
        if i >= s.len() || !s[i].is_ascii_digit() {
            return None;
        }
        let (v, used) = strtoul0_from_digit(&s[i..]);
        let v = v?;
        if v > 0xffff_ffff {
            return None;
        }
        i += used;
        if i < s.len() && s[i] == b'.' {
            if n > 2 || v > 0xff {
                return None;
            }
            parts[n] = v as u8;
            n += 1;
            i += 1;
        } else {
            val = v as u32;
            break;
        }
    }
    if i < s.len() && !is_c_space(s[i]) {
        return None;
    }
    let max: u32 = match n {
        0 => 0xffff_ffff,
        1 => 0x00ff_ffff,
        2 => 0xffff,
        _ => 0xff,
    };
    if val > max {
        return None;
    }
    let mut word: u32 = 0;
    for (k, p) in parts.iter().take(n).enumerate() {
        word |= u32::from(*p) << (24 - 8 * k);
    }
    Some(Ipv4Addr::from(word | val))
}

/// glibc's `inet_pton(AF_INET, ...)`: exactly four decimal parts, no leading zeros.
pub(crate) fn inet_pton4(s: &[u8]) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut octets = 0usize;
    let mut saw_digit = false;
    let mut cur: u32 = 0;
    for &ch in s {
        if ch.is_ascii_digit() {
            if saw_digit && cur == 0 {
                return None;
            }
            cur = cur * 10 + u32::from(ch - b'0');
            if cur > 255 {
                return None;
            }
            if !saw_digit {
                octets += 1;
                if octets > 4 {
                    return None;
                }
                saw_digit = true;
            }
            out[octets - 1] = cur as u8;
        } else if ch == b'.' && saw_digit {
            if octets == 4 {
                return None;
            }
            cur = 0;
            saw_digit = false;
        } else {
            return None;
        }
    }
    if octets < 4 {
        return None;
    }
    Some(out)
}

/// glibc's `inet_pton(AF_INET6, ...)`.
pub(crate) fn inet_pton6(src: &[u8]) -> Option<Ipv6Addr> {
    let mut tmp = [0u8; 16];
    let mut tp = 0usize;
    let mut colonp: Option<usize> = None;
    let mut i = 0usize;
    if src.is_empty() {
        return None;
    }
    if src[0] == b':' {
        i = 1;
        if i >= src.len() || src[i] != b':' {
            return None;
        }
    }
    let mut curtok = i;
    let mut xdigits = 0usize;
    let mut val: u32 = 0;
    while i < src.len() {
        let ch = src[i];
        i += 1;
        if let Some(d) = (ch as char).to_digit(16) {
            if xdigits == 4 {
                return None;
            }
            val = (val << 4) | d;
            xdigits += 1;
            continue;
        }
        if ch == b':' {
            curtok = i;
            if xdigits == 0 {
                if colonp.is_some() {
                    return None;
                }
                colonp = Some(tp);
                continue;
            } else if i == src.len() {
                return None;
            }
            if tp + 2 > 16 {
                return None;
            }
            tmp[tp] = (val >> 8) as u8;
            tmp[tp + 1] = val as u8;
            tp += 2;
            xdigits = 0;
            val = 0;
            continue;
        }
        if ch == b'.' && tp + 4 <= 16 {
            if let Some(v4) = inet_pton4(&src[curtok..]) {
                tmp[tp..tp + 4].copy_from_slice(&v4);
                tp += 4;
                xdigits = 0;
                break;
            }
        }
        return None;
    }
    if xdigits > 0 {
        if tp + 2 > 16 {
            return None;
        }
        tmp[tp] = (val >> 8) as u8;
        tmp[tp + 1] = val as u8;
        tp += 2;
    }
    if let Some(c) = colonp {
        if tp == 16 {
            return None;
        }
        let n = tp - c;
        tmp.copy_within(c..tp, 16 - n);
        for b in &mut tmp[c..16 - n] {
            *b = 0;
        }
        tp = 16;
    }
    if tp != 16 {
        return None;
    }
    Some(Ipv6Addr::from(tmp))
}

/// glibc's `inet_ntop(AF_INET6, ...)`: the longest run (first on ties) of two or more zero
/// groups becomes `::`, and IPv4-compatible (`::a.b.c.d`) and IPv4-mapped (`::ffff:a.b.c.d`)
/// addresses end in dotted form.
pub(crate) fn inet_ntop6(a: &Ipv6Addr) -> String {
    let w = a.segments();
    let (mut best_base, mut best_len) = (None::<usize>, 0usize);
    let (mut cur_base, mut cur_len) = (None::<usize>, 0usize);
    for (i, &word) in w.iter().enumerate() {
        if word == 0 {
            if cur_base.is_none() {
                cur_base = Some(i);
                cur_len = 1;
            } else {
                cur_len += 1;
            }
        } else if let Some(cb) = cur_base {
            if best_base.is_none() || cur_len > best_len {
                best_base = Some(cb);
                best_len = cur_len;
            }
            cur_base = None;
        }
    }
    if let Some(cb) = cur_base {
        if best_base.is_none() || cur_len > best_len {
            best_base = Some(cb);
            best_len = cur_len;
        }
    }
    if best_base.is_some() && best_len < 2 {
        best_base = None;
    }
    let mut out = String::with_capacity(40);
    let in_best = |i: usize| best_base.is_some_and(|b| i >= b && i < b + best_len);
    for i in 0..8 {
        if in_best(i) {
            if best_base == Some(i) {
                out.push(':');
            }
            continue;
        }
        if i != 0 {
            out.push(':');
        }
        if i == 6 && best_base == Some(0) && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)) {
            let o = a.octets();
            out.push_str(&format!("{}.{}.{}.{}", o[12], o[13], o[14], o[15]));
            return out;
        }
        out.push_str(&format!("{:x}", w[i]));
    }
    if let Some(b) = best_base {
        if b + best_len == 8 {
            out.push(':');
        }
    }
    out
}

/// The kernel's `%pI6`: eight groups of four lower-case hex digits.
pub(crate) fn pi6(a: &Ipv6Addr) -> String {
    let w = a.segments();
    format!(
        "{:04x}:{:04x}:{:04x}:{:04x}:{:04x}:{:04x}:{:04x}:{:04x}",
        w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]
    )
}

/// Truncates `s` to at most `n` bytes, backing off to a character boundary (C truncates bytes;
/// the two differ only for non-ASCII names, which numeric output never has).
pub(crate) fn truncate_bytes(s: &mut String, n: usize) {
    if s.len() > n {
        let mut k = n;
        while !s.is_char_boundary(k) {
            k -= 1;
        }
        s.truncate(k);
    }
}

/// A C string argument: everything up to the first NUL.
pub(crate) fn c_str(s: &str) -> &str {
    match s.find('\0') {
        Some(i) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn strtol_like_glibc() {
        assert_eq!(string_to_number("  +42", 0, 100), Some(42));
        assert_eq!(string_to_number("42 ", 0, 100), None);
        assert_eq!(string_to_number("", 0, 100), None);
        assert_eq!(string_to_number("-", 0, 100), None);
        assert_eq!(string_to_number("-0", 0, 100), Some(0));
        assert_eq!(string_to_number("99999999999999999999", 0, i64::MAX), None);
        assert_eq!(atoi("4294967360"), 64);
        assert_eq!(atoi("64abc"), 64);
        assert_eq!(atoi("x"), 0);
        assert_eq!(strtol10(b"-9223372036854775808").value, i64::MIN);
        assert!(strtol10(b"-9223372036854775809").overflow);
    }

    #[test]
    fn inet_aton_forms() {
        assert_eq!(inet_aton("1.2.3.4"), Some(Ipv4Addr::new(1, 2, 3, 4)));
        assert_eq!(inet_aton("1.2.3.4 trailing"), Some(Ipv4Addr::new(1, 2, 3, 4)));
        assert_eq!(inet_aton("64"), Some(Ipv4Addr::new(0, 0, 0, 64)));
        assert_eq!(inet_aton("1.2"), Some(Ipv4Addr::new(1, 0, 0, 2)));
        assert_eq!(inet_aton("0x7f.1"), Some(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(inet_aton("010.0.0.1"), Some(Ipv4Addr::new(8, 0, 0, 1)));
        assert_eq!(inet_aton("08.0.0.1"), None);
        assert_eq!(inet_aton("1.2.3.4:80"), None);
        assert_eq!(inet_aton("1.2.3.256"), None);
        assert_eq!(inet_aton("1.2.65536"), None);
        assert_eq!(inet_aton(""), None);
        assert_eq!(inet_aton(" 1.2.3.4"), None);
        assert_eq!(inet_aton("4294967295"), Some(Ipv4Addr::BROADCAST));
        assert_eq!(inet_aton("4294967296"), None);
    }

    #[test]
    fn pton6_and_ntop6() {
        for (s, ok) in [
            ("::", true),
            ("::1", true),
            ("1::", true),
            ("1:", false),
            (":1", false),
            ("1:2:3:4:5:6:7::", true),
            ("1:2:3:4:5:6:7:8::", false),
            ("::1.2.3.4", true),
            ("::01.2.3.4", false),
            ("12345::", false),
            ("1:2:3:4:5:6:1.2.3.4", true),
        ] {
            assert_eq!(inet_pton6(s.as_bytes()).is_some(), ok, "{s}");
        }
        let n = |s: &str| inet_ntop6(&inet_pton6(s.as_bytes()).unwrap());
        assert_eq!(n("::"), "::");
        assert_eq!(n("::1"), "::1");
        assert_eq!(n("::1.2.3.4"), "::1.2.3.4");
        assert_eq!(n("::ffff:1.2.3.4"), "::ffff:1.2.3.4");
        assert_eq!(n("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");
        assert_eq!(n("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1");
        assert_eq!(n("1::"), "1::");
        assert_eq!(pi6(&"2001:db8::1".parse().unwrap()), "2001:0db8:0000:0000:0000:0000:0000:0001");
    }
}
