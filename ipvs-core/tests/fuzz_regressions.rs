//! Inputs the fuzz targets (`fuzz/`) found, each kept as a test with the input as found.
#![allow(clippy::unwrap_used)]

use ipvs_core::ipvsadm::conn::{conn_text, parse_conn, CONN_HEADER};

/// `proc_conn`: an entry whose client address is IPv6 and whose virtual address is IPv4. The
/// kernel never writes one (client and virtual addresses are in the connection's family), and
/// it could not be written back as read (the virtual address came back IPv4-mapped).
#[test]
fn conn_entry_mixing_client_and_virtual_families_is_refused() {
    let line =
        "TCP 2001:0db8:0000:0000:0000:0000:0000:0001 0000 00000005 0000 C0A8010B 0000 NONE            358\n";
    let e = parse_conn(&format!("{CONN_HEADER}{line}")).unwrap_err();
    assert_eq!(e.line, 2);
    // A mixed real server (an IPv4 destination of an IPv6 connection, tunnelling) is the
    // kernel's, and reads back as written.
    let mixed = "TCP 2001:0db8:0000:0000:0000:0000:0000:0005 C738 2001:0db8:0000:0000:0000:0000:0000:0001 0050 C0A8010B 0050 ESTABLISHED     899\n";
    let text = format!("{CONN_HEADER}{mixed}");
    let c = parse_conn(&text).unwrap();
    assert_eq!(conn_text(&c), text);
}

/// `proc_ip_vs`: an IPv6 service line with `ops`. The kernel never writes one (IPv6 services
/// show no flags), and it could not be written back as read (the `ops` was lost).
#[test]
fn ip_vs_ipv6_service_with_ops_is_refused() {
    let head = "IP Virtual Server version 1.2.1 (size=4096)\n\
                Prot LocalAddress:Port Scheduler Flags\n  \
                -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n";
    let v6 = "TCP  [4002:0db8:0000:0000:0000:0000:0000:0001]:0005 rr ops  \n";
    let e = ipvs_core::ipvsadm::proc::parse_ip_vs(&format!("{head}{v6}")).unwrap_err();
    assert_eq!(e.line, 4);
    let v4 = "UDP  0A000001:0035 rr ops  \n";
    let t = ipvs_core::ipvsadm::proc::parse_ip_vs(&format!("{head}{v4}")).unwrap();
    assert!(t.services[0].onepacket);
    assert_eq!(t.to_text(), format!("{head}{v4}"));
}
