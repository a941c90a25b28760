//! Captures the raw bytes of IPVS requests and the kernel's replies, for the golden fixtures in
//! `tests/fixtures/kernel/` (checked by `tests/golden_kernel.rs`).
//!
//! It needs a kernel with IPVS and CAP_NET_ADMIN, so it runs inside the VM:
//!
//! ```sh
//! cargo build -p ipvs-sys-netlink --example capture
//! mkdir -p /tmp/capture
//! IPVS_VM_RW=/tmp/capture scripts/ipvs-vm 'target/debug/examples/capture /tmp/capture'
//! cp /tmp/capture/*.hex ipvs-sys-netlink/tests/fixtures/kernel/
//! ```
//!
//! The program moves itself into a fresh network namespace (so the table starts empty and the
//! counters are zero), sets it up like the test harness (`lo`, `dummy0` routing the test
//! ranges), then performs each step on one [`Client`] with recording on, and writes one file per
//! step: a header naming the step, then every buffer sent (`>`) and datagram received (`<`) as
//! hex, 16 bytes per line.

#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::process::Command;

use ipvs_core::{
    AddressFamily, Backend, Destination, ForwardMethod, Netmask, OnError, Operation, PeName, Scheduler,
    Service, ServiceFlags, ServiceKey, SyncDaemon, SyncRole, Timeouts, Tunnel, TunnelFlags,
};
use ipvs_sys_netlink::{Client, Direction, WireRecord};

fn sh(cmd: &str) {
    let st = Command::new("sh").arg("-c").arg(cmd).status().expect("spawn sh");
    assert!(st.success(), "`{cmd}` failed");
}

fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease").map(|s| s.trim().to_owned()).unwrap_or_default()
}

fn kernel_version() -> String {
    std::fs::read_to_string("/proc/version").map(|s| s.trim().to_owned()).unwrap_or_default()
}

struct Capture {
    dir: std::path::PathBuf,
    client: Client,
}

impl Capture {
    /// Runs `f` with recording on and writes what crossed the socket to `<name>.hex`.
    fn step<T: std::fmt::Debug>(&mut self, name: &str, what: &str, f: impl FnOnce(&mut Client) -> T) {
        let _ = self.client.take_recording();
        let out = f(&mut self.client);
        let records = self.client.take_recording();
        let mut text = String::new();
        let _ = writeln!(text, "# {what}");
        let _ =
            writeln!(text, "# Captured from the real kernel by ipvs-sys-netlink/examples/capture.rs, run as");
        let _ = writeln!(
            text,
            "#   IPVS_VM_RW=/tmp/capture scripts/ipvs-vm 'target/debug/examples/capture /tmp/capture'"
        );
        let _ = writeln!(text, "# on Linux {} ({})", kernel_release(), kernel_version());
        let _ = writeln!(text, "# family id {} port id {}", self.client.family_id(), self.client.port_id());
        let _ = writeln!(text, "# client result: {out:?}");
        for WireRecord { direction, bytes } in &records {
            let (label, mark) = match direction {
                Direction::Sent => ("sent", '>'),
                Direction::Received => ("received", '<'),
            };
            let _ = writeln!(text, "# {label} {} bytes", bytes.len());
            for chunk in bytes.chunks(16) {
                let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
                let _ = writeln!(text, "{mark} {}", hex.join(" "));
            }
        }
        let path = self.dir.join(format!("{name}.hex"));
        std::fs::write(&path, text).expect("write fixture");
        println!("{}: {} records, {out:?}", path.display(), records.len());
    }
}

fn main() {
    let dir = std::env::args().nth(1).expect("usage: capture OUTPUT_DIR");
    // SAFETY: unshare takes no pointers; it moves this (single-threaded) process into a new
    // network namespace, so the IPVS table starts empty.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "unshare(CLONE_NEWNET): {}", std::io::Error::last_os_error());
    sh("ip link set lo up && ip link add dummy0 type dummy && ip link set dummy0 up");
    sh("ip route add 10.0.0.0/8 dev dummy0 && ip route add 192.168.0.0/16 dev dummy0");
    sh("ip -6 route add 2001:db8::/32 dev dummy0");

    let client = Client::new().expect("open the IPVS client");
    let mut cap = Capture { dir: dir.into(), client };
    cap.client.set_recording(true);

    cap.step("get_info", "GET_INFO and its reply (SET_INFO)", |c| c.info());
    cap.step("get_config", "GET_CONFIG and its reply (SET_CONFIG), default timeouts", |c| c.timeouts());

    let tcp = ServiceKey::tcp("10.1.2.3".parse().unwrap(), 80);
    let fwm6 = ServiceKey::fwmark(7, AddressFamily::Inet6);
    let udp = ServiceKey::udp("10.1.2.4".parse().unwrap(), 53);
    let sip = ServiceKey::udp("10.1.2.5".parse().unwrap(), 5060);
    let persistent = Service::new(tcp)
        .with_scheduler(Scheduler::Wlc)
        .with_persistence(300, Some(Netmask::V4(Ipv4Addr::new(255, 255, 255, 0))));
    let fwmark6 =
        Service::new(fwm6).with_scheduler(Scheduler::Rr).with_persistence(60, Some(Netmask::V6(64)));
    let ops = Service::new(udp)
        .with_scheduler(Scheduler::Sh)
        .with_flags(ServiceFlags::ONEPACKET | ServiceFlags::SH_FALLBACK | ServiceFlags::SH_PORT);
    let pe =
        Service::new(sip).with_scheduler(Scheduler::Rr).with_persistence(60, None).with_pe(PeName::sip());

    cap.step(
        "new_service_tcp_persistent",
        "NEW_SERVICE -A -t 10.1.2.3:80 -s wlc -p 300 -M 255.255.255.0",
        |c| c.add_service(&persistent),
    );
    cap.step("new_service_fwmark6", "NEW_SERVICE -A -f 7 -6 -s rr -p 60 -M 64", |c| c.add_service(&fwmark6));
    cap.step(
        "new_service_udp_ops_sh",
        "NEW_SERVICE -A -u 10.1.2.4:53 -s sh -o -b sh-fallback,sh-port",
        |c| c.add_service(&ops),
    );
    cap.step("new_service_pe_sip", "NEW_SERVICE -A -u 10.1.2.5:5060 -s rr -p 60 --pe sip", |c| {
        c.add_service(&pe)
    });
    cap.step("new_service_exists", "NEW_SERVICE of an existing service: EEXIST", |c| {
        c.add_service(&persistent)
    });

    let masq = Destination::new("192.168.1.10:80".parse().unwrap())
        .with_forward(ForwardMethod::Masquerade)
        .with_weight(2)
        .with_thresholds(100, 50);
    let gue = Destination::new("192.168.1.11:80".parse().unwrap())
        .with_forward(ForwardMethod::Tunnel)
        .with_weight(3)
        .with_tunnel(Tunnel::gue(6080).with_flags(TunnelFlags::CSUM));
    let gre = Destination::new("192.168.1.12:80".parse().unwrap())
        .with_forward(ForwardMethod::Tunnel)
        .with_tunnel(Tunnel::gre().with_flags(TunnelFlags::CSUM));
    let v6 = Destination::new("[2001:db8::10]:0".parse().unwrap())
        .with_forward(ForwardMethod::DirectRoute)
        .with_weight(0);
    cap.step(
        "new_dest_masq_thresholds",
        "NEW_DEST -a -t 10.1.2.3:80 -r 192.168.1.10:80 -m -w 2 -x 100 -y 50",
        |c| c.add_destination(&tcp, &masq),
    );
    cap.step(
        "new_dest_gue_csum",
        "NEW_DEST -a -t 10.1.2.3:80 -r 192.168.1.11:80 -i -w 3 --tun-type gue --tun-port 6080 --tun-csum",
        |c| c.add_destination(&tcp, &gue),
    );
    cap.step(
        "new_dest_gre_csum",
        "NEW_DEST -a -t 10.1.2.3:80 -r 192.168.1.12:80 -i -w 1 --tun-type gre --tun-csum",
        |c| c.add_destination(&tcp, &gre),
    );
    cap.step("new_dest_ipv6", "NEW_DEST -a -f 7 -6 -r [2001:db8::10]:0 -g -w 0", |c| {
        c.add_destination(&fwm6, &v6)
    });
    cap.step("new_dest_exists", "NEW_DEST of an existing real server: EEXIST", |c| {
        c.add_destination(&tcp, &masq)
    });

    cap.step("get_service_dump", "GET_SERVICE dump of the four services (zero counters)", |c| c.services());
    cap.step("get_service", "GET_SERVICE doit for 10.1.2.3:80", |c| c.service(&tcp));
    cap.step("get_service_missing", "GET_SERVICE doit for a missing service: ESRCH", |c| {
        c.service(&ServiceKey::tcp("10.9.9.9".parse().unwrap(), 1))
    });
    cap.step("get_dest_dump", "GET_SERVICE doit + GET_DEST dump for 10.1.2.3:80 in one sendmsg", |c| {
        c.destinations(&tcp)
    });
    cap.step("get_dest_dump_ipv6", "GET_SERVICE doit + GET_DEST dump for -f 7 -6 in one sendmsg", |c| {
        c.destinations(&fwm6)
    });

    let mut master = SyncDaemon::new(SyncRole::Master, "dummy0", 7);
    master.max_len = 1400;
    master.group = Some("239.1.2.3".parse().unwrap());
    master.port = 8850;
    master.ttl = 2;
    let backup = SyncDaemon::new(SyncRole::Backup, "lo", 9);
    cap.step(
        "new_daemon_master",
        "NEW_DAEMON --start-daemon master --mcast-interface dummy0 --syncid 7 --sync-maxlen 1400 --mcast-group 239.1.2.3 --mcast-port 8850 --mcast-ttl 2",
        |c| c.start_daemon(&master),
    );
    cap.step("new_daemon_backup", "NEW_DAEMON --start-daemon backup --mcast-interface lo --syncid 9", |c| {
        c.start_daemon(&backup)
    });
    cap.step("get_daemon_dump", "GET_DAEMON dump with a master and a backup running", |c| c.daemons());
    cap.step("del_daemon", "DEL_DAEMON master and backup (one request each)", |c| {
        (c.stop_daemon(SyncRole::Master), c.stop_daemon(SyncRole::Backup))
    });
    cap.step("del_daemon_missing", "DEL_DAEMON of a daemon that is not running: ESRCH", |c| {
        c.stop_daemon(SyncRole::Master)
    });

    cap.step("set_config", "SET_CONFIG --set 1000 0 200", |c| c.set_timeouts(&Timeouts::new(1000, 0, 200)));
    cap.step("zero_service", "ZERO -Z -t 10.1.2.3:80", |c| c.zero(Some(&tcp)));
    cap.step("zero_all", "ZERO -Z", |c| c.zero(None));
    cap.step("set_dest", "SET_DEST -e -t 10.1.2.3:80 -r 192.168.1.10:80 -m -w 5", |c| {
        c.edit_destination(&tcp, &masq.clone().with_weight(5).with_thresholds(0, 0))
    });
    cap.step("set_service", "SET_SERVICE -E -u 10.1.2.5:5060 -s wrr -p 60 (unbinds pe sip)", |c| {
        c.edit_service(&Service::new(sip).with_scheduler(Scheduler::Wrr).with_persistence(60, None))
    });
    cap.step("del_dest", "DEL_DEST -d -t 10.1.2.3:80 -r 192.168.1.11:80", |c| {
        c.delete_destination(&tcp, &gue.key())
    });
    cap.step("del_dest_missing", "DEL_DEST of a missing real server: ENOENT", |c| {
        c.delete_destination(&tcp, &gue.key())
    });
    cap.step("del_service", "DEL_SERVICE -D -u 10.1.2.4:53", |c| c.delete_service(&udp));
    cap.step(
        "batch",
        "apply_all with OnError::Continue: add, duplicate add, add dest (3 requests, one sendmsg)",
        |c| {
            let svc = Service::new(udp).with_scheduler(Scheduler::Rr);
            let d =
                Destination::new("192.168.3.1:53".parse().unwrap()).with_forward(ForwardMethod::Masquerade);
            c.apply_all(
                &[
                    Operation::AddService(svc.clone()),
                    Operation::AddService(svc),
                    Operation::AddDestination(udp, d),
                ],
                OnError::Continue,
            )
        },
    );
    cap.step("flush", "FLUSH -C", |c| c.flush());
}
