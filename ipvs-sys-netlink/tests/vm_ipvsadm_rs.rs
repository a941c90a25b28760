//! `ipvsadm-rs` against Debian's ipvsadm 1.31 on the real kernel: for the same kernel table,
//! every listing variant, `-S`, `-R` and every error path must give the same standard output,
//! standard error and exit status, byte for byte, and a failing command must change nothing.
//!
//! Needs `target/release/ipvsadm-rs` (built by `scripts/test` before the VM run).

mod common;

use std::path::PathBuf;

fn ipvsadm_rs() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/ipvsadm-rs");
    assert!(p.exists(), "{} is missing: run `cargo build --release --bins` first", p.display());
    p
}

/// A broad rule set: every service kind, IPv6, fwmark (v4 and v6), persistence with a netmask
/// and a prefix, pe sip, one-packet, sh and mh flags, every forwarding method and tunnel type,
/// thresholds and weight 0.
const RULES: &str = "\
-A -t 10.0.0.1:80 -s wlc -p 360 -M 255.255.255.0
-a -t 10.0.0.1:80 -r 192.168.1.10:80 -g -w 1
-a -t 10.0.0.1:80 -r 192.168.1.11:80 -m -w 2 -x 100 -y 50
-a -t 10.0.0.1:80 -r 192.168.1.9:80 -m -w 0 -x 7
-A -u 10.0.0.1:53 -s sh -o -b sh-fallback,sh-port
-a -u 10.0.0.1:53 -r 192.168.1.12:53 -m -w 0
-a -u 10.0.0.1:53 -r 192.168.1.16:5353 -m -w 4
-A -f 5 -s mh -b mh-port,mh-fallback
-a -f 5 -r 192.168.1.13:0 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum
-a -f 5 -r 192.168.1.17:0 -i -w 1 --tun-type gue --tun-port 6081 --tun-remcsum
-a -f 5 -r 192.168.1.14:0 -i -w 3 --tun-type gre --tun-nocsum
-a -f 5 -r 192.168.1.18:0 -i -w 3 --tun-type gre --tun-csum
-a -f 5 -r 192.168.1.15:0 -i -w 3 --tun-type ipip
-A -t [2001:db8::1]:443 -s rr -p 600 -M 64
-a -t [2001:db8::1]:443 -r [2001:db8::10]:443 -m -w 5
-a -t [2001:db8::1]:443 -r [2001:db8::11]:443 -g -w 6
-A -f 7 -6 -s lblcr
-a -f 7 -6 -r [fd00::7]:0 -m -w 2
-A --sctp-service 10.0.0.2:5060 -s nq -p 30 --pe sip
-A -u 10.0.0.3:5060 -s lc -p 60 --pe sip
-A -t 10.0.0.4:0 -s fo -p
-a -t 10.0.0.4:0 -r 10.5.5.5:0 -g -w 9
-A -t 10.0.0.5:8080 -s ovf
-a -t 10.0.0.5:8080 -r 172.16.3.3:80 -m -w 1 -x 3 -y 2
-A -u 10.0.0.6:123 -s dh
-A -t 10.0.0.7:25 -s lblc
-A -t 10.0.0.8:110 -s sed
-A -t 10.0.0.9:143 -s wrr
-a -t 10.0.0.9:143 -r 127.0.0.1:143 -g -w 1
-A -u 10.0.0.10:514 -s rr
-a -u 10.0.0.10:514 -r 192.168.2.1:514 -m -w 1
-a -u 10.0.0.10:514 -r 192.168.2.2:514 -m -w 1
-A -u 10.0.0.11:514 -s wlc -p 120 -M 255.255.255.0
-a -u 10.0.0.11:514 -r 192.168.2.3:514 -m -w 1
";

struct Run {
    code: i32,
    out: String,
    err: String,
}

fn run(program: &str, args: &str, stdin: Option<&str>) -> Run {
    let cmd = match stdin {
        Some(path) => format!("{program} {args} < {path}"),
        None => format!("{program} {args}"),
    };
    let out = std::process::Command::new("bash").arg("-c").arg(&cmd).output().expect("spawn bash");
    Run {
        code: out.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs the same arguments through both programs and requires identical results.
fn same(args: &str, stdin: Option<&str>) -> Run {
    let ours = ipvsadm_rs();
    let a = run("ipvsadm", args, stdin);
    // Messages name the program as it was called (argv[0]): call ours `ipvsadm` too.
    let b = run(&format!("exec -a ipvsadm {}", ours.display()), args, stdin);
    assert_eq!(b.out, a.out, "stdout differs for `{args}`");
    assert_eq!(b.err, a.err, "stderr differs for `{args}`");
    assert_eq!(b.code, a.code, "exit status differs for `{args}`");
    a
}

fn write_rules(text: &str) -> String {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = format!("/tmp/ipvsadm-rs-rules-{}-{n}", std::process::id());
    std::fs::write(&path, text).expect("write rules");
    path
}

/// Sends UDP datagrams from this namespace to the UDP services, so the counters, the
/// connection table and persistence templates are not empty. (Locally sent packets are
/// scheduled by IPVS's LOCAL_OUT hook.)
fn traffic() {
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    for port in 40000..40006u16 {
        let s = std::net::UdpSocket::bind(("0.0.0.0", port)).expect("bind");
        s.send_to(b"hello", "10.0.0.1:53").expect("send");
        s.send_to(b"hello", "10.0.0.10:514").expect("send");
        s.send_to(b"hello", "10.0.0.11:514").expect("send");
    }
    drop(sock);
}

/// After [`traffic`], waits until the kernel's estimator (which runs every 2 s) has published
/// the counters, then stops it (`run_estimation=0`), so counters and rates hold still while the
/// two programs read them.
fn traffic_then_freeze() {
    traffic();
    let published = (0..100).any(|_| {
        let stats = run("ipvsadm", "-Ln --stats -u 10.0.0.10:514", None).out;
        let conns = stats.lines().nth(2).and_then(|l| l.split_whitespace().nth(2)).unwrap_or("0");
        if conns != "0" {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        false
    });
    assert!(published, "the estimator never published the counters");
    common::sh("sysctl -qw net.ipv4.vs.run_estimation=0");
}

#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn every_listing_variant_is_identical() {
    let _ns = common::kernel();
    let rules = write_rules(RULES);
    let r = run("ipvsadm", "-R", Some(&rules));
    assert_eq!((r.code, r.err.as_str()), (0, ""), "ipvsadm -R failed");
    traffic_then_freeze();
    for args in [
        "-Ln",
        "-L -n",
        "-l -n",
        "-Ln --stats",
        "-Ln --rate",
        "-Ln --stats --exact",
        "-Ln --rate --exact",
        "-Ln --thresholds",
        "-Ln --persistent-conn",
        "-Ln --tun-info",
        "-Ln --nosort",
        "-Ln --sort",
        "-Sn",
        "-Ln -t 10.0.0.1:80",
        "-Ln -u 10.0.0.1:53 --stats",
        "-Ln -f 5 --tun-info",
        "-Ln -f 7 -6",
        "-Ln -t [2001:db8::1]:443 --thresholds",
        "-Ln --sctp-service 10.0.0.2:5060",
        "-L --timeout",
        "-L --daemon",
        "-Ln -t 10.99.0.1:80",
        "-Ln --stats --rate",
        "-L -c --timeout",
        "-nL",
    ] {
        same(args, None);
    }
    // The help is in our own words (ipvsadm's text is not copied); its first line and the exit
    // status are ipvsadm's.
    let ours = run(&format!("exec -a ipvsadm {}", ipvsadm_rs().display()), "-h", None);
    let theirs = run("ipvsadm", "-h", None);
    assert_eq!(ours.code, theirs.code);
    assert_eq!(ours.out.lines().next(), theirs.out.lines().next());
}

/// Without `-n`, both programs look names up through the C library. Only addresses that
/// `/etc/hosts` names are used: the VM has no name server, so any other lookup waits for a
/// time-out.
#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn name_lookups_are_identical() {
    let _ns = common::kernel();
    for line in [
        "-A -t 127.0.0.1:80 -s rr",
        "-a -t 127.0.0.1:80 -r 127.0.0.1:8080 -m -w 3",
        "-A -u 127.0.0.1:53 -s sh -b sh-port",
        "-a -u 127.0.0.1:53 -r 127.0.0.1:5353 -m",
        "-A -t 127.0.0.1:443 -s wlc -p 60",
    ] {
        common::sh(&format!("ipvsadm {line}"));
    }
    for args in
        ["-L", "-S", "-L --stats", "-l -t 127.0.0.1:http", "-L -u localhost:domain", "-Lt 127.0.0.1:https"]
    {
        same(args, None);
    }
    assert!(run("ipvsadm", "-S", None).out.contains("-A -t localhost:http -s rr"));
}

/// A connection listing with each entry's expiry (`mm:ss`, the second column) taken out: the
/// listing with the expiries blanked, and the expiries in seconds, in order.
fn expiry_split(listing: &str) -> (String, Vec<u32>) {
    let mut text = String::new();
    let mut expiries = Vec::new();
    for line in listing.lines() {
        let mut fields = line.splitn(3, ' ');
        let (proto, expire, rest) = (fields.next(), fields.next(), fields.next());
        let secs = expire
            .and_then(|e| e.split_once(':'))
            .and_then(|(m, s)| Some(m.parse::<u32>().ok()? * 60 + s.parse::<u32>().ok()?));
        match (proto, secs, rest) {
            (Some(p), Some(secs), Some(rest)) => {
                expiries.push(secs);
                text.push_str(&format!("{p} --:-- {rest}\n"));
            }
            _ => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    (text, expiries)
}

#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn connection_listing_is_identical() {
    let _ns = common::kernel();
    let rules = write_rules(RULES);
    run("ipvsadm", "-R", Some(&rules));
    traffic();
    // The expiry column counts down each second, so two programs read one after the other may
    // see different values (under load, process starts in the VM take more than a second).
    // Our listing is read between two of ipvsadm's: every byte must be the same except the
    // expiry, which must lie between the two ipvsadm reads' (and be byte-identical when they
    // agree). (Only numeric forms: without -n every client address is looked up, and the VM
    // has no name server to answer.)
    for args in ["-Lnc", "-Lnc --persistent-conn", "-L -c -n --persistent-conn"] {
        let ours = ipvsadm_rs().display().to_string();
        let before = run("ipvsadm", args, None);
        let mine = run(&ours, args, None);
        let after = run("ipvsadm", args, None);
        assert_eq!((mine.err.as_str(), mine.code), (before.err.as_str(), before.code), "`{args}`");
        let (b, m, a) = (expiry_split(&before.out), expiry_split(&mine.out), expiry_split(&after.out));
        assert_eq!(
            m.0, b.0,
            "`{args}`: the listings differ beyond the expiry column:\n{}\n{}",
            before.out, mine.out
        );
        assert_eq!(m.0, a.0, "`{args}`: the table changed between the reads");
        for (i, ((hi, x), lo)) in b.1.iter().zip(&m.1).zip(&a.1).enumerate() {
            assert!(lo <= x && x <= hi, "`{args}` line {i}: expiry {x} s not within ipvsadm's {lo}..={hi} s");
        }
        if before.out == after.out {
            assert_eq!(mine.out, before.out, "`{args}`");
        }
        assert!(run(&ours, args, None).out.lines().count() > 2, "`{args}`: expected connections");
    }
}

#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn restore_is_identical_both_ways() {
    let _ns = common::kernel();
    let rules = write_rules(RULES);
    let r = run(&ipvsadm_rs().display().to_string(), "-R", Some(&rules));
    assert_eq!((r.code, r.err.as_str()), (0, ""), "ipvsadm-rs -R failed");
    let ours = run("ipvsadm", "-Sn", None).out;
    run("ipvsadm", "-C", None);
    run("ipvsadm", "-R", Some(&rules));
    let theirs = run("ipvsadm", "-Sn", None).out;
    assert_eq!(ours, theirs);
    assert_eq!(ours.lines().count(), RULES.lines().count());
    // A restore into a table that already holds every rule: each line fails in the kernel, the
    // restore goes on, and both print the same messages and exit the same way.
    let saved = write_rules(&theirs);
    let r = same("-R", Some(&saved));
    assert_eq!(r.err.lines().count(), theirs.lines().count(), "{}", r.err);
    assert_eq!(run("ipvsadm", "-Sn", None).out, theirs);
}

#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn errors_are_identical_and_change_nothing() {
    let _ns = common::kernel();
    let rules = write_rules(RULES);
    run("ipvsadm", "-R", Some(&rules));
    let before = run("ipvsadm", "-Sn", None).out;
    for args in [
        "-A -t 10.0.0.1:80 -s rr",                         // duplicate service
        "-E -t 10.0.0.200:80 -s rr",                       // missing service
        "-D -u 10.0.0.200:80",                             // missing service
        "-a -t 10.0.0.200:80 -r 192.168.1.10",             // dest of a missing service
        "-a -t 10.0.0.1:80 -r 192.168.1.10",               // duplicate dest
        "-e -t 10.0.0.1:80 -r 192.168.1.99 -w 3",          // missing dest
        "-d -t 10.0.0.1:80 -r 192.168.1.99",               // missing dest
        "-A -t 10.0.0.50:80 -s nosuch",                    // unknown scheduler
        "-A -t 10.0.0.50:80 -s twos",                      // not built in this kernel
        "-A -t 10.0.0.50:80 -s abcdefghijklmnopq",         // oversize scheduler name
        "-A -t 10.0.0.50:80 -p 60 --pe nosuch",            // unknown persistence engine
        "-a -t 10.0.0.1:80 -r 192.168.1.50 -w 2147483648", // weight out of range
        "-a -t 10.0.0.1:80 -r 192.168.1.50 -w -1",         // negative weight
        "-a -t 10.0.0.1:80 -r 192.168.1.50 -x 5 -y 6",     // lower above upper
        "-a -t 10.0.0.1:80 -r 0.0.0.0",                    // not unicast
        "-a -t 10.0.0.1:80 -r 224.0.0.1",                  // multicast
        "-A -t 10.0.0.300:80",                             // bad address
        "-A -t 10.0.0.50:99999",                           // bad port
        "-A -t 10.0.0.50:0 -s rr",                         // port 0, not persistent
        "-A -t 10.0.0.50:80 -o",                           // one-packet on TCP
        "-A -f 0",                                         // fwmark 0
        "-a -f 5 -r 192.168.1.60 -i --tun-type gue",       // GUE without a port
        "-a -t 10.0.0.1:80 -r [2001:db8::5]:80 -m",        // mixed family, not tunnel
        "-A -t 10.0.0.50:80 -b sh-port",                   // sh flag without sh
        "--stop-daemon master",                            // no daemon
        "--start-daemon master --mcast-interface nosuch0", // unknown interface
        "--set 1 2 2678401",                               // timeout out of range
        "-Z -t 10.0.0.200:80",                             // zero a missing service
        "-X",                                              // unknown option
        "-A",                                              // no service
    ] {
        let r = same(args, None);
        assert_ne!(r.code, 0, "`{args}` should fail");
        assert_eq!(run("ipvsadm", "-Sn", None).out, before, "`{args}` changed the table");
    }
}

/// What Debian's ipvsadm makes of `lines` (each run as one command) in a namespace of its own:
/// its `-Sn` output.
fn reference(lines: &[&str]) -> String {
    let script = write_rules(
        &std::iter::once("ip link set lo up".to_owned())
            .chain(lines.iter().map(|l| format!("ipvsadm {l} 2>/dev/null")))
            .chain(std::iter::once("ipvsadm -Sn".to_owned()))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let (code, out, err) = common::sh_status(&format!("unshare -n sh {script}"));
    assert_eq!(code, 0, "reference run failed: {err}");
    out
}

#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn changes_made_by_ipvsadm_rs_read_back_through_ipvsadm() {
    let _ns = common::kernel();
    let ours = ipvsadm_rs().display().to_string();
    let mut lines: Vec<&str> = RULES.lines().collect();
    for line in &lines {
        let r = run(&ours, line, None);
        assert_eq!((r.code, r.err.as_str()), (0, ""), "`{line}` failed");
    }
    assert_eq!(run("ipvsadm", "-Sn", None).out, reference(&lines));
    same("-Ln --thresholds", None);
    // Edits and deletions, each compared with what ipvsadm makes of the same lines.
    for line in [
        "-E -t 10.0.0.1:80 -s rr",
        "-E -u 10.0.0.1:53 -s mh -b mh-port",
        "-e -t 10.0.0.1:80 -r 192.168.1.11:80 -m -w 7",
        "-e -f 5 -r 192.168.1.13:0 -i -w 2 --tun-type gre --tun-csum",
        "-e -t [2001:db8::1]:443 -r [2001:db8::10]:443 -m -w 0 -x 9 -y 3",
        "-d -u 10.0.0.1:53 -r 192.168.1.12:53",
        "-D -t 10.0.0.8:110",
    ] {
        let r = run(&ours, line, None);
        assert_eq!((r.code, r.err.as_str()), (0, ""), "`{line}` failed");
        lines.push(line);
    }
    assert_eq!(run("ipvsadm", "-Sn", None).out, reference(&lines), "after the edits");
    same("-Ln --thresholds", None);
    same("-Ln --tun-info", None);
    let r = run(&ours, "--set 100 20 30", None);
    assert_eq!(r.code, 0);
    assert_eq!(run("ipvsadm", "-L --timeout", None).out, "Timeout (tcp tcpfin udp): 100 20 30\n");
    let r = run(
        &ours,
        "--start-daemon master --mcast-interface lo --syncid 9 --mcast-port 9000 --mcast-ttl 3",
        None,
    );
    assert_eq!((r.code, r.err.as_str()), (0, ""));
    same("-L --daemon", None);
    let r = run(&ours, "--stop-daemon master", None);
    assert_eq!(r.code, 0);
    assert_eq!(run("ipvsadm", "-L --daemon", None).out, "");
    assert_eq!(run(&ours, "-Z", None).code, 0);
    assert_eq!(run(&ours, "-C", None).code, 0);
    assert_eq!(run("ipvsadm", "-Sn", None).out, "");
}

/// Debian's ipvsadm 1:1.31-1 carries a patch (Debian bug #814348) that raises the weight limit
/// from upstream's 65535 to INT_MAX; ipvsadm-rs follows the installed binary.
#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn weights_up_to_int_max_as_debian_ipvsadm() {
    let _ns = common::kernel();
    let ours = format!("exec -a ipvsadm {}", ipvsadm_rs().display());
    assert_eq!(run("ipvsadm", "-A -t 10.0.0.1:80", None).code, 0);
    for (i, w) in ["65536", "2147483647"].iter().enumerate() {
        let theirs = run("ipvsadm", &format!("-a -t 10.0.0.1:80 -r 192.168.7.{}:80 -w {w}", 2 * i + 1), None);
        let mine = run(&ours, &format!("-a -t 10.0.0.1:80 -r 192.168.7.{}:80 -w {w}", 2 * i + 2), None);
        assert_eq!((theirs.code, theirs.err.as_str()), (0, ""), "Debian's ipvsadm refused -w {w}");
        assert_eq!((mine.code, mine.err.as_str()), (0, ""), "ipvsadm-rs refused -w {w}");
    }
    same("-Ln", None);
    same("-a -t 10.0.0.1:80 -r 192.168.7.9:80 -w 2147483648", None);
}

/// `-R` sends runs of changes pipelined; the messages (kernel errors, lines ipvsadm skips,
/// listings in the middle) must still come out as ipvsadm prints them, in line order, with the
/// same final status, and the table must end the same.
#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn restore_with_errors_in_the_middle_is_identical() {
    let _ns = common::kernel();
    let text = "\
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 192.168.1.1:80 -m
-a -t 10.0.0.1:80 -r 192.168.1.1:80 -m
-a -t 10.0.0.99:80 -r 192.168.1.2:80 -m
-A -t 10.0.0.2:80 -s nosuch
-A -t 10.0.0.5:80 -s
-A -t 10.0.0.3:80 -s wrr
-Ln
-a -t 10.0.0.3:80 -r 192.168.1.3:80 -g -w 4
-A -t 10.0.0.1:80 -s rr
-d -t 10.0.0.3:80 -r 192.168.1.9:80
-D -t 10.0.0.7:80
-e -t 10.0.0.1:80 -r 192.168.1.1:80 -m -w 2147483648
-A -t 10.0.0.8:80
";
    let rules = write_rules(text);
    let theirs = run("ipvsadm", "-R", Some(&rules));
    // 3 kernel errors, a line skipped, 3 kernel errors, then the line that ends the restore.
    assert_eq!(theirs.err.lines().count(), 8, "{}", theirs.err);
    assert_ne!(theirs.code, 0);
    let table = run("ipvsadm", "-Sn", None).out;
    // The same restore from an empty table with ipvsadm-rs, called `ipvsadm` for the messages.
    run("ipvsadm", "-C", None);
    let ours = format!("exec -a ipvsadm {}", ipvsadm_rs().display());
    let mine = run(&ours, "-R", Some(&rules));
    assert_eq!(
        (mine.out.as_str(), mine.err.as_str(), mine.code),
        (theirs.out.as_str(), theirs.err.as_str(), theirs.code)
    );
    assert_eq!(run("ipvsadm", "-Sn", None).out, table);
    assert_eq!(table.lines().count(), 4, "{table}");
}

/// The "done when" case of declarative apply, on the kernel: the desired table differs from
/// the current one in scheduler, weights, tunnel settings, netmask, thresholds, added and
/// removed services and real servers. The dry run prints a minimal plan that Debian's ipvsadm
/// accepts and that turns the current table into the desired one, changing nothing itself;
/// `--apply` makes the table exactly the desired one (as Debian's ipvsadm builds it from the
/// same text), in place: a real server that is only edited keeps its connections.
#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn apply_makes_the_table_exactly_the_rules_with_a_minimal_plan() {
    let _ns = common::kernel();
    let ours = ipvsadm_rs().display().to_string();
    let current = write_rules(RULES);
    assert_eq!(run("ipvsadm", "-R", Some(&current)).code, 0);
    traffic();
    let conns_before = common::proc_net("ip_vs_conn");
    let desired_text = RULES
        .replace("-A -t 10.0.0.1:80 -s wlc -p 360 -M 255.255.255.0", "-A -t 10.0.0.1:80 -s wlc -p 360 -M 255.255.0.0")
        .replace("-r 192.168.1.11:80 -m -w 2 -x 100 -y 50", "-r 192.168.1.11:80 -m -w 5 -x 100 -y 50")
        .replace("-a -t 10.0.0.1:80 -r 192.168.1.9:80 -m -w 0 -x 7\n", "")
        .replace("--tun-port 6080 --tun-csum", "--tun-port 7000 --tun-remcsum")
        .replace("-r 192.168.1.14:0 -i -w 3 --tun-type gre --tun-nocsum", "-r 192.168.1.14:0 -i -w 3 --tun-type ipip")
        .replace("-A -u 10.0.0.6:123 -s dh", "-A -u 10.0.0.6:123 -s sh")
        .replace("-A -t 10.0.0.7:25 -s lblc\n", "")
        .replace("-a -u 10.0.0.11:514 -r 192.168.2.3:514 -m -w 1", "-a -u 10.0.0.11:514 -r 192.168.2.3:514 -m -w 9")
        .replace(
            "-A -u 10.0.0.10:514 -s rr\n-a -u 10.0.0.10:514 -r 192.168.2.1:514 -m -w 1\n-a -u 10.0.0.10:514 -r 192.168.2.2:514 -m -w 1\n",
            "",
        )
        + "-A -t 10.0.0.20:80 -s wrr\n-a -t 10.0.0.20:80 -r 192.168.3.1:80 -m -w 1\n\
           -a -t 10.0.0.20:80 -r 192.168.3.2:80 -m -w 2\n-a -t 10.0.0.5:8080 -r 172.16.3.4:80 -m -w 2\n";
    let desired = write_rules(&desired_text);
    let before = run("ipvsadm", "-Sn", None).out;

    let dry = run(&ours, "--apply --dry-run", Some(&desired));
    assert_eq!((dry.code, dry.err.as_str()), (0, ""));
    assert_eq!(run("ipvsadm", "-Sn", None).out, before, "the dry run changed the table");
    let plan: Vec<&str> = dry.out.lines().collect();
    let count = |p: &str| plan.iter().filter(|l| l.starts_with(&format!("{p} "))).count();
    // 2 services deleted, 2 edited (netmask, scheduler), 1 added; 1 real server removed,
    // 4 edited (weight twice, tunnel twice), 3 added.
    assert_eq!(
        [count("-D"), count("-E"), count("-A"), count("-d"), count("-e"), count("-a")],
        [2, 2, 1, 1, 4, 3],
        "{}",
        dry.out
    );
    assert!(plan.iter().take(2).all(|l| l.starts_with("-D ")), "deletions come first:\n{}", dry.out);
    // Debian's ipvsadm, running the plan on the current table, gets the desired table.
    let rules_lines: Vec<&str> = RULES.lines().collect();
    let desired_lines: Vec<&str> = desired_text.lines().collect();
    let want = reference(&desired_lines);
    assert_eq!(reference(&[rules_lines.as_slice(), plan.as_slice()].concat()), want);

    let r = run(&ours, "--apply", Some(&desired));
    assert_eq!((r.code, r.out.as_str(), r.err.as_str()), (0, "", ""));
    assert_eq!(run("ipvsadm", "-Sn", None).out, want);
    assert_eq!(run(&ours, "--apply --dry-run", Some(&desired)).out, "", "a second plan is not empty");
    // 10.0.0.11:514's real server was edited in place (weight 1 -> 9): its connections live on.
    let conns_after = common::proc_net("ip_vs_conn");
    let to_rs = |t: &str| t.lines().filter(|l| l.contains("C0A80203")).count();
    assert!(to_rs(&conns_before) > 0, "{conns_before}");
    assert_eq!(to_rs(&conns_after), to_rs(&conns_before), "{conns_after}");
    let listed = run("ipvsadm", "-Ln -u 10.0.0.11:514", None).out;
    assert!(
        listed.lines().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.get(1) == Some(&"192.168.2.3:514") && f.get(3) == Some(&"9") && (f[4] != "0" || f[5] != "0")
        }),
        "{listed}"
    );

    // Back to the first table, and to an empty one.
    assert_eq!(run(&ours, "--apply", Some(&current)).code, 0);
    assert_eq!(run("ipvsadm", "-Sn", None).out, reference(&rules_lines));
    let empty = write_rules("");
    assert_eq!(run(&ours, "--apply --dry-run", Some(&empty)).out.lines().count(), 15);
    assert_eq!(run(&ours, "--apply", Some(&empty)).code, 0);
    assert_eq!(run("ipvsadm", "-Sn", None).out, "");
}

/// Bad rules text is refused with a message before anything is read or changed.
#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn apply_refuses_bad_rules_and_changes_nothing() {
    let _ns = common::kernel();
    let ours = ipvsadm_rs().display().to_string();
    let current = write_rules(RULES);
    assert_eq!(run("ipvsadm", "-R", Some(&current)).code, 0);
    let before = run("ipvsadm", "-Sn", None).out;
    for (text, message) in [
        ("-A -t 10.0.0.1:80\n-A -t 10.0.0.1:80\n", "line 2"),
        ("-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 192.168.0.1 -w 2147483648\n", "weight"),
        ("-A -t 10.0.0.300:80\n", "line 1: illegal virtual server"),
        ("-a -t 10.0.0.9:80 -r 192.168.0.1\n", "line 1"),
    ] {
        let bad = write_rules(text);
        for args in ["--apply", "--apply --dry-run"] {
            let r = run(&ours, args, Some(&bad));
            assert_ne!(r.code, 0, "{text}");
            assert_eq!(r.out, "");
            assert!(r.err.contains(message), "{text}: {}", r.err);
            assert_eq!(run("ipvsadm", "-Sn", None).out, before);
        }
    }
    // A scheduler this kernel lacks passes the text checks but fails in the kernel: the
    // status names the refused operation, and what went through (the rr service, before and
    // after it in the plan) is rolled back, so the table is as it was (CHANGELOG: `--apply`
    // rolls back when the kernel refuses part of the plan).
    for text in [
        format!("{RULES}-A -t 10.0.0.30:80 -s twos\n-A -t 10.0.0.31:80 -s rr\n"),
        format!("{RULES}-A -t 10.0.0.31:80 -s rr\n-A -t 10.0.0.30:80 -s twos\n"),
    ] {
        let r = run(&ours, "--apply", Some(&write_rules(&text)));
        assert_ne!(r.code, 0);
        assert!(r.err.contains("-A -t 10.0.0.30:80 -s twos"), "{}", r.err);
        assert_eq!(run("ipvsadm", "-Sn", None).out, before, "{}", r.err);
    }
}
