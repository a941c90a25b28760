//! `/proc/net/ip_vs` (`ipvs_core::ipvsadm::proc::parse_ip_vs`) on any text. Never panics; a
//! file that parses, written again (`to_text`), parses to the same value.
#![no_main]

use ipvs_core::ipvsadm::proc::parse_ip_vs;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(p) = parse_ip_vs(text) else { return };
    let again = p.to_text();
    let q = parse_ip_vs(&again).unwrap_or_else(|e| panic!("to_text does not parse: {e:?}\n{again}"));
    assert_eq!(q, p, "parse(to_text(p)) != p");
});
