//! `/proc/net/ip_vs_conn` and `ip_vs_conn_sync` (`ipvs_core::ipvsadm::conn`) on any text.
//! Never panics; a table that parses, written again (`conn_text` / `conn_sync_text`), parses
//! to the same entries.
#![no_main]

use ipvs_core::ipvsadm::conn::{conn_sync_text, conn_text, parse_conn, parse_conn_sync};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(conns) = parse_conn(text) {
        let again = conn_text(&conns);
        let back = parse_conn(&again).unwrap_or_else(|e| panic!("conn_text does not parse: {e:?}\n{again}"));
        assert_eq!(back, conns, "parse(conn_text(c)) != c");
    }
    if let Ok(conns) = parse_conn_sync(text) {
        let again = conn_sync_text(&conns);
        let back = parse_conn_sync(&again)
            .unwrap_or_else(|e| panic!("conn_sync_text does not parse: {e:?}\n{again}"));
        assert_eq!(back, conns, "parse(conn_sync_text(c)) != c");
    }
});
