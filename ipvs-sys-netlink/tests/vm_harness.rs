//! The real-kernel harness itself: a service created with Debian's ipvsadm is seen by the
//! kernel, in the test's own network namespace.

mod common;

#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn ipvsadm_service_is_in_proc_net_ip_vs() {
    let _ns = common::kernel();
    // A fresh namespace starts with an empty table.
    let empty = common::proc_net("ip_vs");
    assert_eq!(empty.lines().count(), 3, "expected only the three header lines:\n{empty}");
    common::sh("ipvsadm -A -t 10.1.2.3:80 -s wrr");
    common::sh("ipvsadm -a -t 10.1.2.3:80 -r 192.168.1.10:80 -m -w 1");
    common::sh("ipvsadm -a -t 10.1.2.3:80 -r 192.168.1.11:80 -m -w 2");
    let table = common::proc_net("ip_vs");
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("IP Virtual Server version 1.2.1 (size="), "{table}");
    // 10.1.2.3 = 0A010203, port 80 = 0050; real servers newest first.
    assert_eq!(lines[3], "TCP  0A010203:0050 wrr  ");
    assert_eq!(lines[4], "  -> C0A8010B:0050      Masq    2      0          0         ");
    assert_eq!(lines[5], "  -> C0A8010A:0050      Masq    1      0          0         ");
    assert_eq!(common::sh("ipvsadm -Sn"), "-A -t 10.1.2.3:80 -s wrr\n-a -t 10.1.2.3:80 -r 192.168.1.10:80 -m -w 1\n-a -t 10.1.2.3:80 -r 192.168.1.11:80 -m -w 2\n");
}

#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn namespaces_isolate_tables() {
    let _ns = common::kernel();
    // Another test adds 10.1.2.3:80 concurrently in its own namespace; this one must not see it.
    common::sh("ipvsadm -A -u 10.9.9.9:53 -s rr");
    assert_eq!(common::sh("ipvsadm -Sn"), "-A -u 10.9.9.9:53 -s rr\n");
}
