//! Support for tests that need a real IPVS kernel (the `vm_*` test files).
//!
//! Such tests run inside the VM started by `scripts/ipvs-vm` (see `scripts/test`). Each test
//! moves its thread into a fresh network namespace first: IPVS tables are per namespace, so
//! tests running in parallel never see each other's services. The namespace gets `lo` up (an
//! IPv4 real server is refused with EINVAL while the namespace has no local IPv4 address at
//! all) and a dummy interface routing the test address ranges, for tests that send traffic.
//!
//! Every such test is `#[ignore]`d, so a plain `cargo test` on a host without IPVS reports it
//! as ignored, never as passed; `scripts/test` runs them inside the VM with
//! `--run-ignored only`. There a kernel without IPVS fails the test: [`kernel`] never skips.
#![allow(dead_code)]

use std::process::Command;

/// A test's private network namespace with IPVS. Dropping it leaves the namespace to die with
/// the thread.
pub struct KernelNs {
    _private: (),
}

/// Address ranges routed through the dummy interface, for tests that send traffic to them.
const ROUTES: &[&str] = &["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "198.18.0.0/15"];
const ROUTES6: &[&str] = &["2001:db8::/32", "fd00::/8"];

/// Enters a fresh network namespace with IPVS. Panics when this kernel has no IPVS: the test
/// is then being run outside the VM (`cargo test -- --ignored` on the host).
pub fn kernel() -> KernelNs {
    let present = || std::path::Path::new("/proc/net/ip_vs").exists();
    if !present() {
        // The module loads on first use; load it now so the check below is meaningful.
        let _ = Command::new("modprobe").arg("-q").arg("ip_vs").status();
    }
    assert!(
        present(),
        "this kernel has no IPVS (/proc/net/ip_vs missing): run the kernel tests through scripts/ipvs-vm"
    );
    // SAFETY: unshare takes no pointers; it moves this thread into a new network namespace.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "unshare(CLONE_NEWNET) failed: {}", std::io::Error::last_os_error());
    sh("ip link set lo up");
    sh("ip link add dummy0 type dummy");
    sh("ip link set dummy0 up");
    for r in ROUTES {
        sh(&format!("ip route add {r} dev dummy0"));
    }
    for r in ROUTES6 {
        sh(&format!("ip -6 route add {r} dev dummy0"));
    }
    KernelNs { _private: () }
}

/// Runs a shell command line in this thread's namespace; panics with its output if it fails.
pub fn sh(cmd: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(cmd).output().expect("spawn sh");
    assert!(
        out.status.success(),
        "`{cmd}` failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a shell command line and returns (exit code, stdout, stderr) without judging it.
pub fn sh_status(cmd: &str) -> (i32, String, String) {
    let out = Command::new("sh").arg("-c").arg(cmd).output().expect("spawn sh");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Reads a file of this thread's network namespace under `/proc/thread-self/net/`.
/// (`/proc/net` follows the process's main thread, not the test's thread.)
pub fn proc_net(name: &str) -> String {
    std::fs::read_to_string(format!("/proc/thread-self/net/{name}")).expect("read /proc/thread-self/net")
}
