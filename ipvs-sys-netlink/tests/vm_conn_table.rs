//! `Client::connections()` reads `/proc/net/ip_vs_conn` whole while other namespaces have
//! traffic. The file is a `seq_file` over the kernel's one connection table, shared by every
//! namespace, and each `read(2)` starts again by position: connections made and expired in
//! another namespace between two reads make a plain read (`cat`, `read_to_string`, what the
//! client did before) skip or repeat this namespace's entries. The test shows both: the plain
//! reads go wrong at least once (so the test can fail), the client's reads never.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ipvs_sys_netlink::Client;

/// Stable connections in the test's namespace: more than a few pages of the file.
const STABLE: usize = 400;
/// Reads of each kind at most; the plain reads must have gone wrong by then.
const MAX_READS: usize = 400;

/// The identities (protocol, addresses, ports) of the entries of one read, and whether one
/// came twice.
fn identities(text: &str) -> (HashSet<String>, bool) {
    let mut ids = HashSet::new();
    let mut repeated = false;
    for line in text.lines().skip(1) {
        let id = line.split_ascii_whitespace().take(7).collect::<Vec<_>>().join(" ");
        repeated |= !ids.insert(id);
    }
    (ids, repeated)
}

/// Named `manual_` (left out of scripts/test) until a VM run has shown it passing after its last fix. First run: 397 of 400 stable connections (closed sockets' ports reused), fixed since.
#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn manual_connection_reads_are_whole_while_other_namespaces_have_traffic() {
    let _ns = common::kernel();
    common::sh("ipvsadm -A -u 10.0.0.1:53 -s rr && ipvsadm -a -u 10.0.0.1:53 -r 192.168.1.11:53 -m");
    // The sockets stay open until all have sent: a closed one's port could be reused, and
    // the same port makes the same connection.
    let sockets: Vec<UdpSocket> = (0..STABLE).map(|_| UdpSocket::bind("0.0.0.0:0").unwrap()).collect();
    for s in &sockets {
        s.send_to(b"x", "10.0.0.1:53").unwrap();
    }
    drop(sockets);
    let stable = identities(&common::proc_net("ip_vs_conn")).0;
    assert_eq!(stable.len(), STABLE, "the stable connections are not all there");

    // Churn in other namespaces: connections that expire after a second, made as fast as
    // the sockets go, until the reads are done (or a bounded number of datagrams).
    let stop = Arc::new(AtomicBool::new(false));
    let churners: Vec<_> = (0..2)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let _other = common::kernel();
                common::sh("ipvsadm --set 0 0 1");
                common::sh(
                    "ipvsadm -A -u 10.0.0.1:53 -s rr && ipvsadm -a -u 10.0.0.1:53 -r 192.168.1.11:53 -m",
                );
                let mut sent = 0u64;
                while !stop.load(Ordering::Relaxed) && sent < 20_000_000 {
                    let s = UdpSocket::bind("0.0.0.0:0").unwrap();
                    let _ = s.send_to(b"x", "10.0.0.1:53");
                    sent += 1;
                }
                sent
            })
        })
        .collect();
    // Let the churn get going (not a timed check: the loop below decides).
    std::thread::sleep(std::time::Duration::from_secs(1));

    let ipvs = Client::new().unwrap();
    let (mut plain_bad, mut client_bad, mut reads) = (0, 0, 0);
    let mut first_bad = None;
    while reads < MAX_READS && !(plain_bad > 0 && reads >= 50) {
        reads += 1;
        let (ids, repeated) = identities(&common::proc_net("ip_vs_conn"));
        if repeated || ids != stable {
            plain_bad += 1;
        }
        let text = ipvs.connections_text().unwrap();
        let (ids, repeated) = identities(&text);
        if repeated || ids != stable {
            client_bad += 1;
            first_bad.get_or_insert(format!(
                "{} entries, {} repeated, {} missing",
                ids.len(),
                repeated,
                stable.difference(&ids).count()
            ));
        }
        assert_eq!(ipvs.connections().unwrap().len(), STABLE);
    }
    stop.store(true, Ordering::Relaxed);
    let sent: u64 = churners.into_iter().map(|t| t.join().unwrap()).sum();
    println!(
        "{reads} reads of {STABLE} connections while other namespaces made {sent}: plain reads wrong \
         {plain_bad} times, the client's {client_bad}"
    );
    assert_eq!(client_bad, 0, "the client's reads were not whole: first {first_bad:?}");
    assert!(plain_bad > 0, "the churn never disturbed a plain read: the test proves nothing");
}
