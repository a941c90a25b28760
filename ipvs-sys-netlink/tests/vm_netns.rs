//! Clients opened in other network namespaces ([`Client::in_netns`] with a [`NetNs`]) against
//! the real kernel (`#[ignore]`d: `scripts/test` runs them inside `scripts/ipvs-vm` with
//! `--run-ignored only`).
//!
//! Each test moves its thread into a fresh namespace (`common::kernel()`), then creates two
//! named namespaces with `ip netns add` (names made unique with the process id and the test's
//! name, since tests run in parallel, in threads and in processes) and gives them different
//! IPVS tables with Debian's `ipvsadm` run by `ip netns exec`. `ipvsadm` in each namespace is
//! the judge: a client opened in a namespace must read exactly that namespace's table, its
//! changes must land there and nowhere else, and the test thread's own namespace (where the
//! clients are opened from) must stay empty.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::io::Write as _;
use std::net::IpAddr;
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};

use ipvs_core::ipvsadm::{list, NumericResolver};
use ipvs_core::{Backend, Destination, Error, ForwardMethod, Scheduler, Service, ServiceKey};
use ipvs_sys_netlink::{Client, ClientOptions, NetNs};

/// A namespace made with `ip netns add`, set up like the test's own (lo up, a dummy interface
/// `d0` routing the test ranges, a source address 10.9.0.1), deleted on drop.
struct Named {
    name: String,
}

impl Named {
    fn add(test: &str, tag: &str) -> Named {
        let name = format!("ipvs-{}-{test}-{tag}", std::process::id());
        common::sh(&format!("ip netns add {name}"));
        let named = Named { name };
        named.ip_batch(
            "link set lo up\n\
             link add d0 type dummy\n\
             link set d0 up\n\
             addr add 10.9.0.1/32 dev d0\n\
             route add 10.0.0.0/8 dev d0\n\
             route add 192.168.0.0/16 dev d0\n",
        );
        named
    }

    fn path(&self) -> String {
        format!("/run/netns/{}", self.name)
    }

    fn ip_batch(&self, cmds: &str) {
        pipe(&["ip", "-n", &self.name, "-batch", "-"], cmds);
    }

    /// `ipvsadm -R` inside the namespace.
    fn restore(&self, rules: &str) {
        pipe(&["ip", "netns", "exec", &self.name, "ipvsadm", "-R"], rules);
    }

    /// `ipvsadm -Sn` inside the namespace.
    fn save(&self) -> String {
        dedup(&common::sh(&format!("ip netns exec {} ipvsadm -Sn", self.name)))
    }

    fn exec(&self, cmd: &str) -> String {
        common::sh(&format!("ip netns exec {} {cmd}", self.name))
    }
}

impl Drop for Named {
    fn drop(&mut self) {
        let (rc, _, err) = common::sh_status(&format!("ip netns del {}", self.name));
        if rc != 0 && !std::thread::panicking() {
            panic!("ip netns del {} failed: {err}", self.name);
        }
    }
}

/// Runs `argv` with `input` on its stdin; panics with its stderr if it fails.
fn pipe(argv: &[&str], input: &str) {
    let mut child = Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{argv:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Repeated lines dropped: Linux 6.1's service dumps resume by position in a table shared by
/// every namespace, so ipvsadm may print a service twice while other tests change theirs (see
/// vm_netlink.rs). `-S` never has two identical lines.
fn dedup(text: &str) -> String {
    let mut seen = HashSet::new();
    text.lines().filter(|l| seen.insert(*l)).map(|l| format!("{l}\n")).collect()
}

fn sorted_lines(text: &str) -> Vec<&str> {
    let mut v: Vec<&str> = text.lines().collect();
    v.sort();
    v
}

/// The client's table as `ipvsadm -Sn` prints it.
fn client_save(c: &mut Client) -> String {
    list::save(&c.services_with_destinations().unwrap(), true, &NumericResolver)
}

/// `ipvsadm -Sn` of the test thread's own namespace.
fn own_save() -> String {
    dedup(&common::sh("ipvsadm -Sn"))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn masq(addr: &str) -> Destination {
    Destination::new(addr.parse().unwrap()).with_forward(ForwardMethod::Masquerade)
}

const RULES_A: &str = "-A -t 10.1.0.1:80 -s rr\n-a -t 10.1.0.1:80 -r 192.168.1.1:80 -m -w 1\n";
const RULES_B: &str = "-A -u 10.2.0.1:53 -s wlc\n-a -u 10.2.0.1:53 -r 192.168.2.1:53 -m -w 3\n\
                       -a -u 10.2.0.1:53 -r 192.168.2.2:53 -m -w 4\n-A -f 7 -s sh\n";

/// The whole scenario, with the handles opened by `open` (named, by path, by descriptor).
fn two_namespaces(test: &str, open: impl Fn(&Named) -> NetNs) {
    let _ns = common::kernel();
    let mut here = Client::new().unwrap();
    let here_ns = NetNs::current().unwrap();
    let a = Named::add(test, "a");
    let b = Named::add(test, "b");
    a.restore(RULES_A);
    b.restore(RULES_B);
    let (save_a, save_b) = (a.save(), b.save());
    assert!(save_a.contains("-A -t 10.1.0.1:80 -s rr"), "{save_a}");
    assert!(save_b.contains("-A -f 7 -s sh"), "{save_b}");
    assert_eq!(own_save(), "");

    let ns_a = open(&a);
    let ns_b = open(&b);
    assert_ne!(ns_a.inode(), ns_b.inode());
    assert_ne!(ns_a.inode(), here_ns.inode());
    // Same namespace as `ip netns exec` enters: the inode readlink shows there.
    let link = a.exec("readlink /proc/self/ns/net");
    assert_eq!(link.trim(), format!("net:[{}]", ns_a.inode()));

    let mut ca = Client::in_netns(&ns_a, ClientOptions::default()).unwrap();
    let mut cb = Client::in_netns(&ns_b, ClientOptions::default().verify_dumps(false)).unwrap();
    // Opening them left the calling thread where it was.
    assert_eq!(NetNs::current().unwrap().inode(), here_ns.inode());
    assert_eq!(ca.netns().map(NetNs::inode), Some(ns_a.inode()));
    assert_eq!(cb.netns().map(NetNs::inode), Some(ns_b.inode()));
    // A client opened with Client::new() keeps the opening thread's namespace.
    assert_eq!(here.netns().map(NetNs::inode), Some(here_ns.inode()));
    // The handles given to in_netns may go: each client keeps its own.
    drop((ns_a, ns_b));

    // Each client reads exactly its namespace's table.
    assert_eq!(client_save(&mut ca), save_a);
    assert_eq!(client_save(&mut cb), save_b);
    assert!(here.services().unwrap().is_empty());

    // A change through each client lands in its namespace only.
    let new_a = ServiceKey::tcp(ip("10.1.0.2"), 8080);
    ca.add_service(&Service::new(new_a).with_scheduler(Scheduler::Wlc)).unwrap();
    ca.add_destination(&new_a, &masq("192.168.1.7:8080").with_weight(5)).unwrap();
    let dns = ServiceKey::udp(ip("10.2.0.1"), 53);
    cb.delete_destination(&dns, &masq("192.168.2.1:53").key()).unwrap();
    cb.edit_service(&Service::new(dns).with_scheduler(Scheduler::Rr)).unwrap();

    let (after_a, after_b) = (a.save(), b.save());
    assert_eq!(
        sorted_lines(&after_a),
        sorted_lines(
            "-A -t 10.1.0.1:80 -s rr\n-a -t 10.1.0.1:80 -r 192.168.1.1:80 -m -w 1\n\
             -A -t 10.1.0.2:8080 -s wlc\n-a -t 10.1.0.2:8080 -r 192.168.1.7:8080 -m -w 5\n"
        )
    );
    assert_eq!(
        sorted_lines(&after_b),
        sorted_lines("-A -f 7 -s sh\n-A -u 10.2.0.1:53 -s rr\n-a -u 10.2.0.1:53 -r 192.168.2.2:53 -m -w 4\n")
    );
    assert_eq!(client_save(&mut ca), after_a);
    assert_eq!(client_save(&mut cb), after_b);
    assert_eq!(own_save(), "");
    assert!(here.services().unwrap().is_empty());

    // A client moved to another thread still talks to its namespace.
    let moved = std::thread::spawn(move || {
        let s = client_save(&mut ca);
        ca.flush().unwrap();
        s
    })
    .join()
    .unwrap();
    assert_eq!(moved, after_a);
    assert_eq!(a.save(), "");
    assert_eq!(b.save(), after_b);
    assert_eq!(own_save(), "");
}

#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn named_namespaces_have_their_own_tables() {
    two_namespaces("named", |n| NetNs::named(&n.name).unwrap());
}

#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn namespaces_by_path_have_their_own_tables() {
    two_namespaces("path", |n| NetNs::path(n.path()).unwrap());
}

#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn namespaces_by_descriptor_have_their_own_tables() {
    two_namespaces("fd", |n| NetNs::from_fd(OwnedFd::from(std::fs::File::open(n.path()).unwrap())).unwrap());
}

/// What must not change when opening a namespace fails: this test's entries in /run/netns
/// (other tests add and delete theirs meanwhile), the test's own IPVS table and namespace.
fn snapshot(prefix: &str) -> (String, String, u64) {
    let listing = std::fs::read_dir("/run/netns")
        .map(|d| {
            let mut v: Vec<String> = d
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(prefix))
                .collect();
            v.sort();
            v.join(" ")
        })
        .unwrap_or_default();
    (listing, own_save(), NetNs::current().unwrap().inode())
}

#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn missing_and_non_namespaces_are_typed_errors() {
    let _ns = common::kernel();
    // One real namespace, so that /run/netns exists and holds something.
    let a = Named::add("errors", "a");
    a.restore(RULES_A);
    let prefix = format!("ipvs-{}-errors-", std::process::id());
    let before = snapshot(&prefix);
    assert_eq!(before.0, a.name);
    let save_a = a.save();

    let missing = format!("{prefix}missing");
    match NetNs::named(&missing) {
        Err(e @ Error::Os(_)) if e.errno() == Some(libc::ENOENT) => {
            let text = e.to_string();
            assert!(text.contains(&format!("no network namespace named {missing:?}")), "{text}");
            assert_eq!(e.errno(), Some(libc::ENOENT));
        }
        other => panic!("{other:?}"),
    }
    match NetNs::path(format!("/run/netns/{missing}")) {
        Err(Error::Os(e)) if e.errno() == libc::ENOENT => {}
        other => panic!("{other:?}"),
    }
    for bad in ["", ".", "..", "../run", "a/b"] {
        match NetNs::named(bad) {
            Err(Error::Os(e)) if e.errno() == libc::EINVAL => {
                let message = e.message().unwrap_or_default();
                assert!(message.contains("not a valid network namespace name"), "{bad:?}: {message}")
            }
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    assert!(std::path::Path::new("/etc/hostname").is_file());
    match NetNs::path("/etc/hostname") {
        Err(Error::Os(e)) if e.errno() == libc::EINVAL => {
            assert_eq!(e.message(), Some("/etc/hostname is not a network namespace (a regular file)"))
        }
        other => panic!("{other:?}"),
    }
    let file = std::fs::File::open("/etc/hostname").unwrap();
    assert!(matches!(NetNs::from_fd(OwnedFd::from(file)), Err(Error::Os(e)) if e.errno() == libc::EINVAL));
    match NetNs::path("/run/netns") {
        Err(Error::Os(e)) if e.errno() == libc::EINVAL => {
            assert_eq!(e.message(), Some("/run/netns is not a network namespace (a directory)"))
        }
        other => panic!("{other:?}"),
    }
    // Another kind of namespace: the kernel (6.1) answers NS_GET_NSTYPE.
    match NetNs::path("/proc/self/ns/mnt") {
        Err(Error::Os(e)) if e.errno() == libc::EINVAL => {
            assert_eq!(e.message(), Some("/proc/self/ns/mnt is not a network namespace (a mount namespace)"))
        }
        other => panic!("{other:?}"),
    }
    // A stale name: the file exists but nothing is mounted on it (as after a failed
    // `ip netns add`).
    let stale = format!("/run/netns/{prefix}stale");
    std::fs::File::create(&stale).unwrap();
    let stale_result = NetNs::path(&stale);
    std::fs::remove_file(&stale).unwrap();
    assert!(matches!(&stale_result, Err(Error::Os(e)) if e.errno() == libc::EINVAL), "{stale_result:?}");

    assert_eq!(snapshot(&prefix), before);
    assert_eq!(a.save(), save_a);
}

/// Connections made in one namespace show in the client opened there, and only there:
/// `connections()` reads `/proc/thread-self/net/ip_vs_conn` on a thread that entered the
/// client's namespace, whichever thread calls it.
#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn connections_are_read_in_the_client_namespace() {
    let _ns = common::kernel();
    let a = Named::add("conns", "a");
    let b = Named::add("conns", "b");
    // The same virtual service in both, with different real servers.
    a.restore("-A -u 10.1.2.50:9999 -s rr\n-a -u 10.1.2.50:9999 -r 192.168.50.1:9999 -m\n");
    b.restore("-A -u 10.1.2.50:9999 -s rr\n-a -u 10.1.2.50:9999 -r 192.168.60.1:9999 -m\n");
    let here = Client::new().unwrap();
    let ca = Client::in_netns(&NetNs::named(&a.name).unwrap(), ClientOptions::default()).unwrap();
    let cb = Client::in_netns(&NetNs::path(b.path()).unwrap(), ClientOptions::default()).unwrap();
    assert!(ca.connections().unwrap().is_empty());

    // One datagram from inside `a` (locally generated traffic is scheduled at LOCAL_OUT).
    a.exec("bash -c 'echo hello >/dev/udp/10.1.2.50/9999'");

    let conns = ca.connections().unwrap();
    assert_eq!(conns.len(), 1, "{conns:?}");
    let e = &conns[0];
    assert_eq!((e.client_addr, e.virtual_addr, e.virtual_port), (ip("10.9.0.1"), ip("10.1.2.50"), 9999));
    assert_eq!((e.dest_addr, e.dest_port, e.state.as_str()), (ip("192.168.50.1"), 9999, "UDP"));
    let sync = ca.sync_connections().unwrap();
    assert_eq!(sync.len(), 1, "{sync:?}");
    assert_eq!(sync[0].conn.dest_addr, ip("192.168.50.1"));
    assert!(cb.connections().unwrap().is_empty());
    assert!(cb.sync_connections().unwrap().is_empty());
    assert!(here.connections().unwrap().is_empty());

    // The text is that namespace's /proc/net/ip_vs_conn (Expires counts down: compared
    // without it).
    let without_expiry = |text: &str| -> Vec<String> {
        text.lines()
            .map(|l| {
                let mut f: Vec<&str> = l.split_whitespace().collect();
                if f.len() > 8 && !l.starts_with("Pro ") {
                    f.remove(8);
                }
                f.join(" ")
            })
            .collect()
    };
    let text = ca.connections_text().unwrap();
    let proc_a = a.exec("cat /proc/net/ip_vs_conn");
    assert_eq!(without_expiry(&text), without_expiry(&proc_a));
    assert_eq!(text.lines().count(), 2, "{text}");
    assert_eq!(cb.connections_text().unwrap(), b.exec("cat /proc/net/ip_vs_conn"));
    assert_eq!(cb.connections_text().unwrap().lines().count(), 1);

    // From another thread (in the test's namespace, which has no connections) as well.
    let from_thread =
        std::thread::spawn(move || (ca.connections().unwrap(), cb.connections().unwrap())).join().unwrap();
    assert_eq!(from_thread.0.len(), 1);
    assert_eq!(from_thread.0[0].dest_addr, ip("192.168.50.1"));
    assert!(from_thread.1.is_empty());
}

/// `NetNs::run` runs its closure in the namespace and leaves the caller where it was.
#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn run_enters_the_namespace_on_another_thread_only() {
    let _ns = common::kernel();
    let a = Named::add("run", "a");
    let here = NetNs::current().unwrap();
    let ns = NetNs::named(&a.name).unwrap();
    let inside = ns.run(|| NetNs::current().map(|n| n.inode())).unwrap().unwrap();
    assert_eq!(inside, ns.inode());
    assert_ne!(inside, here.inode());
    assert_eq!(NetNs::current().unwrap().inode(), here.inode());
    // Interfaces seen from the closure are the namespace's (its dummy `d0`), not the test's
    // (`dummy0`).
    let links = ns.run(|| std::fs::read_to_string("/proc/thread-self/net/dev").unwrap()).unwrap();
    assert!(links.contains(" d0:") && !links.contains("dummy0"), "{links}");
    let clone = ns.try_clone().unwrap();
    assert_eq!(clone.inode(), ns.inode());
}

/// Large listings are checked on a second socket that is replaced by a fresh one every few
/// checks (its chunk size can only grow); the fresh one must be opened in the client's
/// namespace too. A client in a namespace with 400 services lists them six times (more checks
/// than one verifying socket lasts) while the test thread's own namespace holds 400 others.
#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn large_listings_stay_in_the_client_namespace() {
    let _ns = common::kernel();
    let a = Named::add("large", "a");
    let rules: String = (1..=400).map(|p| format!("-A -u 10.7.0.1:{p} -s rr\n")).collect();
    a.restore(&rules);
    let mine: String = (1..=400).map(|p| format!("-A -t 10.8.0.1:{p} -s wlc\n")).collect();
    pipe(&["ipvsadm", "-R"], &mine);
    let mut c = Client::in_netns(&NetNs::named(&a.name).unwrap(), ClientOptions::default()).unwrap();
    for read in 0..6 {
        let services = c.services().unwrap();
        assert_eq!(services.len(), 400, "read {read}");
        assert!(
            services.iter().all(|s| s.service.key.to_string().starts_with("-u 10.7.0.1:")),
            "read {read}: a service of another namespace"
        );
    }
    assert_eq!(sorted_lines(&client_save(&mut c)), sorted_lines(&a.save()));
}

/// Bug: a client opened with `Client::new()` recorded no namespace, so when its verifying
/// socket was replaced (every few checks of a large listing) the fresh socket was opened in
/// the namespace of whichever thread called, and listings mixed in that namespace's services.
/// The client is opened in the test's namespace (400 TCP services) and then used from a thread
/// that entered another namespace (400 UDP services): every listing must be the client's own,
/// and so must the connection table it reads.
#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn a_client_used_from_another_namespace_stays_in_its_own() {
    let _ns = common::kernel();
    let other = Named::add("moved", "b");
    let theirs: String = (1..=400).map(|p| format!("-A -u 10.7.0.1:{p} -s rr\n")).collect();
    other.restore(&theirs);
    // A connection in the other namespace only.
    other.restore("-A -u 10.1.2.50:9999 -s rr\n-a -u 10.1.2.50:9999 -r 192.168.60.1:9999 -m\n");
    other.exec("bash -c 'echo hello >/dev/udp/10.1.2.50/9999'");
    let mine: String = (1..=400).map(|p| format!("-A -t 10.8.0.1:{p} -s wlc\n")).collect();
    pipe(&["ipvsadm", "-R"], &mine);
    let mut c = Client::new().unwrap();
    let here = NetNs::current().unwrap();
    assert_eq!(c.netns().map(NetNs::inode), Some(here.inode()), "the opening thread's namespace is kept");
    let elsewhere = NetNs::named(&other.name).unwrap();
    let c = elsewhere
        .run(move || {
            assert_ne!(
                NetNs::current().unwrap().inode(),
                here.inode(),
                "the thread is in the other namespace"
            );
            for read in 0..8 {
                let services = c.services().unwrap();
                assert_eq!(services.len(), 400, "read {read}");
                assert!(
                    services.iter().all(|s| s.service.key.to_string().starts_with("-t 10.8.0.1:")),
                    "read {read}: a service of the calling thread's namespace: {:?}",
                    services.iter().find(|s| !s.service.key.to_string().starts_with("-t 10.8.0.1:"))
                );
            }
            // The connection table is the client's namespace's too: the calling thread's has
            // the connection, the client's has none.
            let thread_table = std::fs::read_to_string("/proc/thread-self/net/ip_vs_conn").unwrap();
            assert_eq!(thread_table.lines().count(), 2, "{thread_table}");
            assert!(c.connections().unwrap().is_empty(), "{:?}", c.connections());
            c
        })
        .unwrap();
    let mut c = c;
    assert_eq!(sorted_lines(&client_save(&mut c)), sorted_lines(&own_save()));
}
