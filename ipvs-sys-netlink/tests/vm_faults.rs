//! Faults on the real kernel, for the library and `ipvsadm-rs`:
//!
//! * without `CAP_NET_ADMIN` (`setpriv --inh-caps=-net_admin --bounding-set=-net_admin`, run
//!   as a child process) every IPVS call is `ErrorKind::PermissionDenied(Privilege::NetAdmin)`,
//!   and ipvsadm-rs prints what Debian's ipvsadm prints, with its exit status;
//! * a network namespace whose name goes away under an open client: the client's handle keeps
//!   the namespace alive, and the client keeps working in it;
//! * a reply that never comes (not working yet, see
//!   [`manual_a_reply_that_never_comes_is_a_timeout_not_a_hang`]): the client's socket has its
//!   receive buffer filled by another socket and `NETLINK_NO_ENOBUFS` set, so that the kernel
//!   drops its replies without a word; every call should end in `ErrorKind::Timeout`.
//!
//! The IPVS module missing (`ErrorKind::ModuleMissing`) needs the module unloaded, which only
//! works when no other test holds it: `scripts/suites/faults.vm` does that after the kernel
//! tests, through [`manual_child_module_missing`].
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::fd::{AsRawFd, FromRawFd};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use ipvs_core::{
    Backend, Destination, ErrorKind, ForwardMethod, OnError, Operation, Privilege, Service, ServiceKey,
    SyncDaemon, SyncRole, Timeouts,
};
use ipvs_sys_netlink::{Client, ClientOptions, NetNs};

fn ipvsadm_rs() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/ipvsadm-rs");
    assert!(p.exists(), "{} is missing: run `cargo build --release --bins` first", p.display());
    p
}

fn vip() -> ServiceKey {
    ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80)
}

/// Every call of the API that talks to IPVS, with a name, and its error kind (`None`: it
/// succeeded).
fn every_call(ipvs: &mut Client) -> Vec<(&'static str, Option<ErrorKind>)> {
    let k = vip();
    let d = Destination::new("192.168.1.10:80".parse().unwrap()).with_forward(ForwardMethod::Masquerade);
    let kind = |r: Result<(), ipvs_core::Error>| r.err().map(|e| e.kind());
    let ops = [
        Operation::AddService(Service::new(k)),
        Operation::EditService(Service::new(k)),
        Operation::AddDestination(k, d.clone()),
        Operation::EditDestination(k, d.clone()),
        Operation::DeleteDestination(k, d.key()),
        Operation::Zero(Some(k)),
        Operation::Zero(None),
        Operation::SetTimeouts(Timeouts::new(900, 120, 300)),
        Operation::StartDaemon(SyncDaemon::new(SyncRole::Master, "lo", 1)),
        Operation::StopDaemon(SyncRole::Master),
        Operation::DeleteService(k),
        Operation::Flush,
    ];
    let mut out = vec![
        ("info", kind(ipvs.info().map(drop))),
        ("services", kind(ipvs.services().map(drop))),
        ("service", kind(ipvs.service(&k).map(drop))),
        ("destinations", kind(ipvs.destinations(&k).map(drop))),
        ("services_with_destinations", kind(ipvs.services_with_destinations().map(drop))),
        ("service_with_destinations", kind(ipvs.service_with_destinations(&k).map(drop))),
        ("timeouts", kind(ipvs.timeouts().map(drop))),
        ("daemons", kind(ipvs.daemons().map(drop))),
    ];
    for (i, op) in ops.iter().enumerate() {
        let name: &'static str = Box::leak(format!("apply #{i} ({op})").into_boxed_str());
        out.push((name, kind(ipvs.apply(op))));
    }
    for (i, r) in ipvs.apply_all(&ops, OnError::Continue).into_iter().enumerate() {
        let name: &'static str = Box::leak(format!("apply_all #{i}").into_boxed_str());
        out.push((name, kind(r)));
    }
    out
}

/// Runs this test binary's test `name` in a child process under `wrapper` (a command line
/// prefix), with `IPVS_FAULT_CHILD=1`; returns its exit status and output.
fn child(wrapper: &str, name: &str) -> (i32, String) {
    let exe = std::env::current_exe().unwrap();
    let cmd = format!("{wrapper} {} {name} --exact --ignored --nocapture --test-threads=1", exe.display());
    let out = Command::new("sh").arg("-c").arg(&cmd).env("IPVS_FAULT_CHILD", "1").output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

const NO_NET_ADMIN: &str = "setpriv --inh-caps=-net_admin --bounding-set=-net_admin";

#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn without_net_admin_every_call_is_a_permission_error() {
    let _ns = common::kernel();
    common::sh("ipvsadm -A -t 10.0.0.1:80 -s rr && ipvsadm -a -t 10.0.0.1:80 -r 192.168.1.10:80 -m");
    let before = common::sh("ipvsadm -Sn");
    // The child runs in this thread's namespace: sh is spawned from this thread.
    let (code, out) = child(NO_NET_ADMIN, "manual_child_without_net_admin");
    assert_eq!(code, 0, "the child failed:\n{out}");
    assert!(out.contains("calls refused with PermissionDenied(NetAdmin)"), "{out}");
    println!("{}", out.lines().filter(|l| l.contains("calls refused")).collect::<Vec<_>>().join("\n"));
    assert_eq!(common::sh("ipvsadm -Sn"), before, "a call without CAP_NET_ADMIN changed the table");
}

/// The child of [`without_net_admin_every_call_is_a_permission_error`]: does nothing unless
/// run as that child.
#[test]
#[ignore = "run as a child process by without_net_admin_every_call_is_a_permission_error"]
fn manual_child_without_net_admin() {
    if std::env::var_os("IPVS_FAULT_CHILD").is_none() {
        return;
    }
    // Opening works (resolving the family needs no privilege); every IPVS command is refused.
    let mut ipvs = Client::new().expect("open without CAP_NET_ADMIN");
    let calls = every_call(&mut ipvs);
    let want = Some(ErrorKind::PermissionDenied(Privilege::NetAdmin));
    let wrong: Vec<_> = calls.iter().filter(|(_, k)| *k != want).collect();
    assert!(wrong.is_empty(), "calls not refused with PermissionDenied(NetAdmin): {wrong:?}");
    println!("{} calls refused with PermissionDenied(NetAdmin)", calls.len());
}

/// Named `manual_` (left out of scripts/test) until a VM run has shown it passing after its last fix. First run: failed in the harness (dash has no `exec -a`), fixed since.
#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn manual_without_net_admin_ipvsadm_rs_answers_as_ipvsadm() {
    let _ns = common::kernel();
    common::sh("ipvsadm -A -t 10.0.0.1:80 -s rr && ipvsadm -a -t 10.0.0.1:80 -r 192.168.1.10:80 -m");
    let before = common::sh("ipvsadm -Sn");
    let rules = "/tmp/vm-faults-rules";
    std::fs::write(rules, "-A -t 10.0.0.2:80 -s rr\n").unwrap();
    let ours = ipvsadm_rs();
    let mut compared = 0;
    for args in [
        "-Ln",
        "-Sn",
        "-L --timeout",
        "-L --daemon",
        "-A -t 10.0.0.3:80 -s wrr",
        "-a -t 10.0.0.1:80 -r 192.168.1.11:80 -m",
        "-E -t 10.0.0.1:80 -s wlc",
        "-D -t 10.0.0.1:80",
        "-C",
        "-Z",
        "--set 900 120 300",
        "--start-daemon master --mcast-interface lo",
        "-R",
        "-A -t 10.0.0.300:80",
    ] {
        let stdin = if args == "-R" { format!(" < {rules}") } else { String::new() };
        let theirs = common::sh_status(&format!("{NO_NET_ADMIN} ipvsadm {args}{stdin}"));
        let mine = common::sh_status(&format!(
            "{NO_NET_ADMIN} bash -c 'exec -a ipvsadm {} {args}{stdin}'",
            ours.display()
        ));
        assert_eq!(mine, theirs, "`{args}` without CAP_NET_ADMIN: (status, stdout, stderr) differ");
        assert_ne!(theirs.0, 0, "`{args}` succeeded without CAP_NET_ADMIN: {theirs:?}");
        compared += 1;
    }
    println!("{compared} commands without CAP_NET_ADMIN: same output and status as Debian's ipvsadm");
    assert_eq!(common::sh("ipvsadm -Sn"), before);
}

/// Run by `scripts/suites/faults.vm` after every other kernel test, with the IPVS modules
/// unloaded and `/proc/sys/kernel/modprobe` pointing at `/bin/false`.
#[test]
#[ignore = "run by scripts/suites/faults.vm with the IPVS module unloaded"]
fn manual_child_module_missing() {
    if std::env::var_os("IPVS_FAULT_CHILD").is_none() {
        return;
    }
    assert!(!std::path::Path::new("/proc/net/ip_vs").exists(), "ip_vs is loaded");
    let e = Client::new().expect_err("a client without the IPVS module");
    assert_eq!(e.kind(), ErrorKind::ModuleMissing, "{e}");
    println!("Client::new: {:?}: {e}", e.kind());
    let e = Client::in_netns(&NetNs::current().unwrap(), ClientOptions::default()).expect_err("in_netns");
    assert_eq!(e.kind(), ErrorKind::ModuleMissing, "{e}");
    assert!(!std::path::Path::new("/proc/net/ip_vs").exists(), "ip_vs got loaded");
}

#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn a_namespace_that_goes_away_under_an_open_client_stays_alive_for_it() {
    let _ns = common::kernel();
    let name = format!("vmfaults{}", std::process::id());
    common::sh(&format!("ip netns add {name}"));
    let ns = NetNs::named(&name).unwrap();
    let mut ipvs = Client::in_netns(&ns, ClientOptions::default()).unwrap();
    drop(ns);
    ipvs.add_service(&Service::new(vip())).unwrap();
    // The name goes; the namespace lives on through the client's handle and sockets.
    common::sh(&format!("ip netns delete {name}"));
    assert!(NetNs::named(&name).is_err(), "the name should be gone");
    assert_eq!(ipvs.services().unwrap().len(), 1, "the client lost its table");
    ipvs.add_destination(
        &vip(),
        &Destination::new("192.168.1.10:80".parse().unwrap()).with_forward(ForwardMethod::Masquerade),
    )
    .unwrap_or_else(|e| {
        // An IPv4 real server needs a local IPv4 address in the namespace: the new one has
        // none, which is the kernel's EINVAL, not a lost namespace.
        assert_eq!(e.kind(), ErrorKind::Invalid, "{e}");
    });
    assert_eq!(ipvs.service(&vip()).unwrap().service.key, vip());
    assert!(ipvs.connections().unwrap().is_empty());
    // A namespace made by a thread that has ended: the same.
    let mut orphan = std::thread::spawn(|| {
        // SAFETY: unshare takes no pointers; it moves this thread into a new namespace.
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0);
        Client::new().unwrap()
    })
    .join()
    .unwrap();
    orphan.add_service(&Service::new(vip())).unwrap();
    assert_eq!(orphan.services().unwrap().len(), 1);
    assert_eq!(ipvs.services().unwrap().len(), 1, "the two namespaces are distinct");
}

/// The descriptor of the client's main socket, found by its netlink port id.
fn socket_fd_of(port: u32) -> i32 {
    for entry in std::fs::read_dir("/proc/self/fd").unwrap() {
        let Ok(fd) = entry.unwrap().file_name().to_string_lossy().parse::<i32>() else { continue };
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        // SAFETY: addr is a writable sockaddr_nl of `len` bytes.
        let rc = unsafe { libc::getsockname(fd, (&mut addr as *mut libc::sockaddr_nl).cast(), &mut len) };
        if rc == 0 && addr.nl_family == libc::AF_NETLINK as u16 && addr.nl_pid == port {
            return fd;
        }
    }
    panic!("no socket with port id {port}");
}

/// Fills the receive buffer of the socket with port id `port` with junk datagrams from another
/// netlink socket, until the kernel refuses more. Returns how many went in.
fn fill_receive_buffer(port: u32) -> usize {
    // SAFETY: plain socket call.
    let fd =
        unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::NETLINK_GENERIC) };
    assert!(fd >= 0);
    // SAFETY: fd was just opened and is owned by nobody else.
    let sock = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    let mut dst: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    dst.nl_family = libc::AF_NETLINK as u16;
    dst.nl_pid = port;
    // A NOOP message: 16 bytes.
    let msg: [u8; 16] = [16, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let mut n = 0;
    for _ in 0..1_000_000 {
        // SAFETY: msg and dst are valid for the lengths passed.
        let rc = unsafe {
            libc::sendto(
                sock.as_raw_fd(),
                msg.as_ptr().cast(),
                msg.len(),
                libc::MSG_DONTWAIT,
                (&dst as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            break;
        }
        n += 1;
    }
    n
}

/// Not yet working: in the first VM run the client still got its reply (`info()` succeeded)
/// after the receive buffer was filled, so the way the reply is made to vanish is wrong. Named
/// `manual_` so that `scripts/test` leaves it out until it is.
#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn manual_a_reply_that_never_comes_is_a_timeout_not_a_hang() {
    let _ns = common::kernel();
    let mut ipvs = Client::with_options(
        ClientOptions::default().timeout(Some(Duration::from_millis(300))).receive_buffer(256 << 10),
    )
    .unwrap();
    ipvs.add_service(&Service::new(vip())).unwrap();
    let fd = socket_fd_of(ipvs.port_id());
    let one: libc::c_int = 1;
    // SAFETY: a valid int option for the client's own socket.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_NETLINK,
            libc::NETLINK_NO_ENOBUFS,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "NETLINK_NO_ENOBUFS: {}", std::io::Error::last_os_error());
    let mut rounds = Vec::new();
    for round in 0..3 {
        let junk = fill_receive_buffer(ipvs.port_id());
        assert!(junk > 100, "only {junk} junk datagrams fit");
        let r = match round {
            0 => ipvs.timeouts().map(drop),
            1 => ipvs.services().map(drop),
            _ => ipvs.apply(&Operation::EditService(Service::new(vip()))),
        };
        let e = r.expect_err("the reply was dropped");
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
        rounds.push(junk);
        // The client read the junk, waited its timeout, and works again.
        assert_eq!(ipvs.services().unwrap().len(), 1);
    }
    // A batch whose acknowledgements are dropped: each unanswered operation times out and may
    // have been applied.
    fill_receive_buffer(ipvs.port_id());
    let ops = [Operation::Zero(Some(vip())), Operation::Zero(None)];
    for r in ipvs.apply_all(&ops, OnError::Continue) {
        let e = r.expect_err("dropped acknowledgement");
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
        assert!(e.may_have_applied());
    }
    println!("receive buffer filled with {rounds:?} junk datagrams: every call a Timeout after 300 ms");
}
