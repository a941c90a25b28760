//! ipvsadm's command line: defaults, checks, messages and popt's option syntax. Expected values
//! are read off ipvsadm.c 1.31 (`parse_options`, `process_options`, `generic_opt_check`) and
//! popt 1.19 (`poptGetNextOpt`); each was also checked against the reference build (see
//! `ipvsadm_differential.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr};

use ipvs_core::ipvsadm::cmdline::{parse, CmdError, Command, ListCommand, ListFormat, ListTarget, Parser};
use ipvs_core::ipvsadm::Resolver;
use ipvs_core::{
    AddressFamily, DestinationKey, ForwardMethod, Netmask, Operation, Protocol, Scheduler, ServiceFlags,
    ServiceKey, SyncDaemon, SyncRole, Timeouts, TunnelFlags, TunnelType,
};

fn p(args: &str) -> Result<Command, CmdError> {
    let v: Vec<&str> = if args.is_empty() { vec![] } else { args.split(' ').collect() };
    parse(&v)
}

fn err(args: &str) -> String {
    p(args).expect_err("expected an error").to_string()
}

fn v4(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn add_service_defaults() {
    // No -s: wlc. No -p: not persistent, timeout 0. Netmask 255.255.255.255.
    let Command::AddService(s) = p("-A -t 10.0.0.1:80").unwrap() else { panic!() };
    assert_eq!(s.key, ServiceKey::tcp(v4("10.0.0.1"), 80));
    assert_eq!(s.scheduler, Scheduler::Wlc);
    assert_eq!(s.flags, ServiceFlags::empty());
    assert_eq!(s.timeout, 0);
    assert_eq!(s.netmask, Netmask::V4(Ipv4Addr::BROADCAST));
    assert_eq!(s.pe_name, None);
}

#[test]
fn persistent_timeout_is_optional() {
    // -p takes the next word only if it does not start with '-'; alone it means 360.
    let Command::AddService(s) = p("-A -t 10.0.0.1:0 -p").unwrap() else { panic!() };
    assert_eq!((s.flags, s.timeout), (ServiceFlags::PERSISTENT, 360));
    let Command::AddService(s) = p("-A -t 10.0.0.1:0 -p 90 -s rr").unwrap() else { panic!() };
    assert_eq!((s.timeout, s.scheduler), (90, Scheduler::Rr));
    let Command::AddService(s) = p("-A -t 10.0.0.1:0 -p -s rr").unwrap() else { panic!() };
    assert_eq!((s.timeout, s.scheduler), (360, Scheduler::Rr));
    let Command::AddService(s) = p("-A -t 10.0.0.1:0 -p360").unwrap() else { panic!() };
    assert_eq!(s.timeout, 360);
    let Command::AddService(s) = p("-A -t 10.0.0.1:0 --persistent=7").unwrap() else { panic!() };
    assert_eq!(s.timeout, 7);
    // The next word is taken even when it is not a number.
    assert_eq!(err("-A -t 10.0.0.1:0 -p rr"), "invalid timeout value `rr' specified");
    assert_eq!(err("-A -t 10.0.0.1:0 -p 0"), "invalid timeout value `0' specified");
    assert_eq!(err("-A -t 10.0.0.1:0 -p 2678401"), "invalid timeout value `2678401' specified");
    let Command::AddService(s) = p("-A -t 10.0.0.1:0 -p 2678400").unwrap() else { panic!() };
    assert_eq!((s.flags, s.timeout), (ServiceFlags::PERSISTENT, 2_678_400));
}

#[test]
fn netmask_follows_the_family_known_when_it_is_read() {
    // IPv4 mask via inet_aton (so "64" is 0.0.0.64); IPv6 via atoi, 1..=128.
    let Command::AddService(s) = p("-A -t 10.0.0.1:80 -p -M 255.255.255.0").unwrap() else { panic!() };
    assert_eq!(s.netmask, Netmask::V4("255.255.255.0".parse().unwrap()));
    let Command::AddService(s) = p("-A -t [2001:db8::1]:80 -p -M 64").unwrap() else { panic!() };
    assert_eq!(s.netmask, Netmask::V6(64));
    // -M before the IPv6 address: read as IPv4, then reset to 128 by the address.
    let Command::AddService(s) = p("-A -M 64 -t [2001:db8::1]:80 -p").unwrap() else { panic!() };
    assert_eq!(s.netmask, Netmask::V6(128));
    assert_eq!(err("-A -t [2001:db8::1]:80 -M 129"), "illegal ipv6 netmask specified");
    assert_eq!(err("-A -t [2001:db8::1]:80 -M x"), "illegal ipv6 netmask specified");
    assert_eq!(err("-A -t 10.0.0.1:80 -M x"), "illegal virtual server persistent mask specified");
    // atoi wraps: 4294967360 is 64.
    let Command::AddService(s) = p("-A -t [2001:db8::1]:80 -M 4294967360").unwrap() else { panic!() };
    assert_eq!(s.netmask, Netmask::V6(64));
}

#[test]
fn service_addresses() {
    let key = |a: &str| match p(&format!("-D -t {a}")) {
        Ok(Command::DeleteService(k)) => Ok(k),
        Ok(other) => panic!("{other:?}"),
        Err(e) => Err(e.to_string()),
    };
    assert_eq!(key("[2001:db8::1]:443").unwrap(), ServiceKey::tcp(v4("2001:db8::1"), 443));
    // A bare IPv6 address takes no port: "2001:db8::1:80" is an address.
    assert_eq!(key("2001:db8::1:80").unwrap(), ServiceKey::tcp(v4("2001:db8::1:80"), 0));
    // Brackets around IPv4 lose the port.
    assert_eq!(key("[1.2.3.4]:80").unwrap(), ServiceKey::tcp(v4("1.2.3.4"), 0));
    // inet_aton forms.
    assert_eq!(key("0x7f.1:22").unwrap(), ServiceKey::tcp(v4("127.0.0.1"), 22));
    assert_eq!(key("10.1:8").unwrap(), ServiceKey::tcp(v4("10.0.0.1"), 8));
    for bad in ["80", "", "[::1]", "[::1]80", "1.2.3.4:", "1.2.3.4:65536", "www:80", "1.2.3.4:http"] {
        assert_eq!(key(bad).unwrap_err(), "illegal virtual server address[:port] specified", "{bad}");
    }
    assert_eq!(err("-D -u"), "-u: missing argument");
}

#[test]
fn fwmark_services() {
    let Command::DeleteService(k) = p("-D -f 4294967295 -6").unwrap() else { panic!() };
    assert_eq!(k, ServiceKey::fwmark(u32::MAX, AddressFamily::Inet6));
    assert_eq!(err("-D -f 0"), "invalid fwmark value `0' specified");
    assert_eq!(err("-D -f -1"), "invalid fwmark value `-1' specified");
    assert_eq!(err("-D -f 4294967296"), "invalid fwmark value `4294967296' specified");
    assert_eq!(err("-D -6 -f 5"), "-6 used before -f\n");
    // -6 is no option bit: it may repeat and goes with any command.
    assert_eq!(
        p("-D -f 5 -6 -6").unwrap(),
        Command::DeleteService(ServiceKey::fwmark(5, AddressFamily::Inet6))
    );
    assert_eq!(err("-C -f 1"), "Illegal 'service-address' option with the 'flush' command");
}

#[test]
fn real_server_ports() {
    // -g and -i force the service port on address services; -m keeps the given one; an
    // omitted port is the service port *as known when -r is read*.
    let dest = |args: &str| match p(args).unwrap() {
        Command::AddDest(_, d) => d,
        other => panic!("{other:?}"),
    };
    assert_eq!(dest("-a -t 10.0.0.1:80 -r 192.168.1.10:8080").port, 80);
    assert_eq!(dest("-a -t 10.0.0.1:80 -r 192.168.1.10:8080 -i").port, 80);
    assert_eq!(dest("-a -t 10.0.0.1:80 -r 192.168.1.10:8080 -m").port, 8080);
    assert_eq!(dest("-a -t 10.0.0.1:80 -r 192.168.1.10 -m").port, 80);
    assert_eq!(dest("-a -r 192.168.1.10 -m -t 10.0.0.1:80").port, 0);
    assert_eq!(dest("-a -f 3 -r 192.168.1.10:8080").port, 8080);
    let d = dest("-a -t 10.0.0.1:80 -r 192.168.1.10");
    assert_eq!(
        (d.forward, d.weight, d.upper_threshold, d.lower_threshold),
        (ForwardMethod::DirectRoute, 1, 0, 0)
    );
    // -d does not force the port.
    let Command::DeleteDest(_, d) = p("-d -t 10.0.0.1:80 -r 192.168.1.10:8080").unwrap() else { panic!() };
    assert_eq!(d, DestinationKey { addr: v4("192.168.1.10"), port: 8080 });
}

#[test]
fn weights_and_thresholds() {
    // Debian's ipvsadm (the reference) accepts weights up to INT_MAX (Debian bug #814348).
    let weight = |args: &str| match p(args).unwrap() {
        Command::AddDest(_, d) => d.weight,
        other => panic!("{other:?}"),
    };
    assert_eq!(weight("-a -t 10.0.0.1:80 -r 10.1.1.1 -w 65536"), 65_536);
    assert_eq!(weight("-a -t 10.0.0.1:80 -r 10.1.1.1 -w 2147483647"), 2_147_483_647);
    assert_eq!(err("-a -t 10.0.0.1:80 -r 10.1.1.1 -w 2147483648"), "illegal weight specified");
    assert_eq!(err("-a -t 10.0.0.1:80 -r 10.1.1.1 -w -1"), "illegal weight specified");
    assert_eq!(err("-a -t 10.0.0.1:80 -r 10.1.1.1 -x 2147483648"), "illegal u_threshold specified");
    assert_eq!(err("-a -t 10.0.0.1:80 -r 10.1.1.1 -y x"), "illegal l_threshold specified");
    // strtol: leading blanks and a sign are fine.
    let Command::EditDest(_, d) =
        parse(&["-e", "-t", "10.0.0.1:80", "-r", "10.1.1.1", "-w", " +0", "-x", "2147483647"]).unwrap()
    else {
        panic!()
    };
    assert_eq!((d.weight, d.upper_threshold), (0, 2_147_483_647));
}

#[test]
fn mixed_families_and_tunnels() {
    assert_eq!(
        err("-a -t 10.0.0.1:80 -r [2001:db8::1]:80 -m"),
        "Different address family is allowed only for tunneling servers"
    );
    let Command::AddDest(_, d) =
        p("-a -t 10.0.0.1:80 -r [2001:db8::1]:80 -i --tun-type gue --tun-port 6080 --tun-csum").unwrap()
    else {
        panic!()
    };
    assert_eq!((d.addr, d.port, d.forward), (v4("2001:db8::1"), 80, ForwardMethod::Tunnel));
    assert_eq!((d.tunnel.kind, d.tunnel.port, d.tunnel.flags), (TunnelType::Gue, 6080, TunnelFlags::CSUM));
    assert_eq!(
        err("-a -t 10.0.0.1:80 -r 10.1.1.1 --tun-type gre"),
        "Tunnel options conflict with forward method"
    );
    assert_eq!(
        err("-a -t 10.0.0.1:80 -r 10.1.1.1 -i --tun-type gue"),
        "You need to supply the 'tun-port' option for the 'gue' tunnel type"
    );
    assert_eq!(
        err("-a -t 10.0.0.1:80 -r 10.1.1.1 -i --tun-port 5"),
        "Illegal 'tun-port' option with the 'ipip' tunnel type"
    );
    assert_eq!(
        err("-a -t 10.0.0.1:80 -r 10.1.1.1 -i --tun-type gue --tun-port 5 --tun-remcsum --tun-csum"),
        "The option 'tun-remcsum' conflicts with the 'tun-csum' option in the 'gue' tunnel type"
    );
    assert_eq!(
        err("-a -t 10.0.0.1:80 -r 10.1.1.1 -i --tun-type gre --tun-remcsum"),
        "Illegal 'tun-remcsum' option with the 'gre' tunnel type"
    );
    assert_eq!(err("-a -t 10.0.0.1:80 -r 10.1.1.1 -i --tun-type vxlan"), "illegal tunnel type specified");
    assert_eq!(
        err("-a -t 10.0.0.1:80 -r 10.1.1.1 -i --tun-type gue --tun-port 0"),
        "illegal tunnel port specified"
    );
}

#[test]
fn service_rules() {
    assert_eq!(err("-A -t 10.0.0.1:0"), "Zero port specified for non-persistent service");
    let Command::AddService(s) = p("-A -f 1").unwrap() else { panic!() };
    assert_eq!((s.key, s.flags), (ServiceKey::fwmark(1, AddressFamily::Inet), ServiceFlags::empty()));
    assert_eq!(err("-A -t 10.0.0.1:53 -o"), "One-Packet Scheduling is only for UDP virtual services");
    // -o sets the one-packet flag (and nothing else) on UDP and firewall-mark services.
    let Command::AddService(s) = p("-A -u 10.0.0.1:53 -o").unwrap() else { panic!() };
    assert_eq!((s.key, s.flags), (ServiceKey::udp(v4("10.0.0.1"), 53), ServiceFlags::ONEPACKET));
    let Command::AddService(s) = p("-A -f 2 -o").unwrap() else { panic!() };
    assert_eq!((s.key, s.flags), (ServiceKey::fwmark(2, AddressFamily::Inet), ServiceFlags::ONEPACKET));
    // Scheduler flags are checked against -s wherever it is, and wlc when absent.
    let Command::AddService(s) = p("-A -t 10.0.0.1:80 -b sh-port,sh-fallback -s sh").unwrap() else {
        panic!()
    };
    assert_eq!(s.flags, ServiceFlags::SH_PORT | ServiceFlags::SH_FALLBACK);
    assert_eq!(err("-A -t 10.0.0.1:80 -b sh-port"), "incompatible scheduler flag `sh-port'");
    assert_eq!(err("-A -t 10.0.0.1:80 -b flag-1,bogus"), "invalid scheduler flag `bogus'");
    assert_eq!(err("-A -t 10.0.0.1:80 -b ,"), "invalid scheduler flag `'");
    // strtok: empty pieces are skipped; an empty -b is no -b at all.
    let Command::AddService(s) = p("-A -t 10.0.0.1:80 -b ,flag-2,,").unwrap() else { panic!() };
    assert_eq!(s.flags, ServiceFlags::SCHED2);
    let Command::AddService(s) = parse(&["-A", "-t", "10.0.0.1:80", "-b", ""]).unwrap() else { panic!() };
    assert_eq!(s.flags, ServiceFlags::empty());
    // The scheduler name is cut to 15 bytes, the engine name to 16.
    let Command::AddService(s) =
        p("-A -t 10.0.0.1:80 -s abcdefghijklmnopqrstuvwxyz --pe 0123456789abcdefXYZ").unwrap()
    else {
        panic!()
    };
    assert_eq!(s.scheduler.name(), "abcdefghijklmno");
    assert_eq!(s.pe_name.unwrap().as_str(), "0123456789abcdef");
    // -E resets what is not given: the scheduler to wlc, persistence off.
    let Command::EditService(s) = p("-E -t 10.0.0.1:80").unwrap() else { panic!() };
    assert_eq!((s.scheduler, s.flags), (Scheduler::Wlc, ServiceFlags::empty()));
}

#[test]
fn option_table_messages() {
    assert_eq!(err("-A"), "You need to supply the 'service-address' option for the 'add-service' command");
    assert_eq!(
        err("-a -t 10.0.0.1:80"),
        "You need to supply the 'real-server' option for the 'add-server' command"
    );
    assert_eq!(err("-A -t 10.0.0.1:80 -w 3"), "Illegal 'weight' option with the 'add-service' command");
    assert_eq!(err("-S -c"), "Illegal 'connection' option with the 'save' command");
    assert_eq!(
        err("-L --daemon -c"),
        "The option 'daemon' conflicts with the 'connection' option in the 'list' command"
    );
    assert_eq!(err("-L -c --stats"), "options conflicts in the list command");
    assert_eq!(err("-L --timeout --persistent-conn"), "options conflicts in the list command");
    assert_eq!(err("-L -n -n"), "multiple 'numeric' options specified");
    assert_eq!(err("-L -t 1.2.3.4:80 -u 1.2.3.4:80"), "multiple 'service-address' options specified");
    assert_eq!(err("-L -g -m"), "multiple 'forwarding-method' options specified");
    // The table is checked in ipvsadm's option order, not the command line's.
    assert_eq!(
        err("-D -t 1.2.3.4:80 -w 1 -s rr"),
        "Illegal 'scheduler' option with the 'delete-service' command"
    );
    assert_eq!(
        err("-D -w 1 -s rr"),
        "You need to supply the 'service-address' option for the 'delete-service' command"
    );
}

#[test]
fn command_must_come_first() {
    let try_help = "Try `ipvsadm -h' or 'ipvsadm --help' for more information.";
    for args in ["-n -L", "", "--bogus", "-t 1.2.3.4:80", "foo", "--", "-"] {
        let v: Vec<&str> = if args.is_empty() { vec!["x"] } else { args.split(' ').collect() };
        let e = parse(&v).unwrap_err();
        assert_eq!(e.to_string(), try_help, "{args}");
        assert_eq!(e.exit_code(), 255);
    }
    let e = Parser::new().program("/sbin/ipvsadm").parse(&["-n"]).unwrap_err();
    assert_eq!(e.to_string(), "Try `/sbin/ipvsadm -h' or '/sbin/ipvsadm --help' for more information.");
    // Later commands, -h and -v are "invalid options", named by the word popt last read.
    assert_eq!(err("-L -A"), "invalid option `-A'");
    assert_eq!(err("-L -nh"), "invalid option `-nh'");
    assert_eq!(err("-L --start-daemon master"), "invalid option `master'");
    assert_eq!(err("-A -L"), "invalid option `-L'");
}

#[test]
fn popt_errors_after_the_command() {
    let e = p("-L --bogus").unwrap_err();
    assert_eq!(
        (e.to_string(), e.exit_code(), e.ends_restore()),
        ("--bogus: unknown option".into(), 255, false)
    );
    assert_eq!(err("-L -q"), "-q: unknown option");
    assert_eq!(err("-Lq"), "-Lq: unknown option");
    assert_eq!(err("-L --stats=1"), "--stats=1: option does not take an argument");
    assert_eq!(err("-L -n=1"), "-n=1: option does not take an argument");
    assert_eq!(err("-A -t"), "-t: missing argument");
    // No abbreviations of long options.
    assert_eq!(err("-L --numer"), "--numer: unknown option");
    // One-dash long names are short-option bundles: -n, then -u taking "meric".
    assert_eq!(err("-L -numeric"), "illegal virtual server address[:port] specified");
    assert_eq!(err("-L -nq"), "-nq: unknown option");
}

#[test]
fn popt_syntax() {
    // Bundles, an argument glued to its short option (one '=' skipped), --name=value.
    let Command::List(l) = p("-Ln").unwrap() else { panic!() };
    assert!(l.format.numeric);
    let Command::AddService(s) = p("-At10.0.0.1:80 -s=rr").unwrap() else { panic!() };
    assert_eq!((s.key.port(), s.scheduler), (80, Scheduler::Rr));
    let Command::AddService(s) = p("--add-service --tcp-service=10.0.0.1:81 --scheduler=sh").unwrap() else {
        panic!()
    };
    assert_eq!((s.key.port(), s.scheduler), (81, Scheduler::Sh));
    // A required argument is the next word even if it looks like an option.
    assert_eq!(err("-A -s -t 10.0.0.1:80"), "unexpected argument 10.0.0.1:80");
    // Plain words are left over: --set takes three, others none.
    assert_eq!(p("--set 900 120 300").unwrap(), Command::SetTimeouts(Timeouts::new(900, 120, 300)));
    assert_eq!(p("900 --set 120 300").unwrap(), Command::SetTimeouts(Timeouts::new(900, 120, 300)));
    assert_eq!(err("--set 1 2"), "--set option requires 3 timeout values");
    assert_eq!(err("--set 1 2 3 4"), "unexpected argument 4");
    assert_eq!(err("--set 1 2 2678401"), "invalid timeout value `2678401' specified");
    assert_eq!(err("-L foo"), "unexpected argument foo");
    // After "--" everything is a plain word.
    assert_eq!(err("-A -t 10.0.0.1:80 -- -p"), "unexpected argument -p");
    // popt's "!#:+" takes the next plain word and removes it from the words still to read...
    let Command::AddService(s) = p("-A -t 10.0.0.1:80 -s !#:+ rr").unwrap() else { panic!() };
    assert_eq!(s.scheduler, Scheduler::Rr);
    // ...but an option argument read later still takes it (popt does not check).
    assert_eq!(err("-A -s !#:+ -t 10.0.0.1:80 rr"), "unexpected argument rr");
    assert_eq!(p("-A -t !#:+ --").unwrap_err(), CmdError::ExpansionLoops);
    // POSIXLY_CORRECT: the first plain word ends the options.
    let posix = Parser::new().posixly_correct(true);
    assert_eq!(posix.parse(&["-L", "x", "-n"]).unwrap_err().to_string(), "unexpected argument x");
}

#[test]
fn help_version_and_bare_invocation() {
    assert_eq!(p("-h --bogus").unwrap(), Command::Help);
    assert_eq!(p("--version").unwrap(), Command::Version);
    assert_eq!(p("").unwrap(), Command::List(ListCommand::default()));
    let u = ipvs_core::ipvsadm::cmdline::usage("ipvsadm");
    assert!(u.starts_with(
        "ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\nUsage:\n  ipvsadm -A|-E SERVICE"
    ));
    // Every long option the parser knows is mentioned in the help.
    for opt in ["--tun-remcsum", "--mcast-ttl", "--sched-flags", "--persistent-conn", "--nosort"] {
        assert!(u.contains(opt), "help lacks {opt}");
    }
}

#[test]
fn list_targets() {
    let l = |a: &str| match p(a).unwrap() {
        Command::List(l) => l,
        other => panic!("{other:?}"),
    };
    assert_eq!(l("-L -c -n").target, ListTarget::Connections);
    assert_eq!(l("-l --timeout").target, ListTarget::Timeout);
    assert_eq!(l("--list --daemon").target, ListTarget::Daemon);
    assert_eq!(l("-L -f 3").target, ListTarget::Service(ServiceKey::fwmark(3, AddressFamily::Inet)));
    assert_eq!(
        l("-L --stats -X --nosort --sort --sort").format,
        ListFormat { stats: true, exact: true, nosort: true, ..ListFormat::default() }
    );
    assert_eq!(err("-L --exact -X"), "multiple 'exact' options specified");
    assert_eq!(p("-S -n").unwrap(), Command::Save { numeric: true });
}

#[test]
fn daemons() {
    let Command::StartDaemon(d) = p("--start-daemon backup").unwrap() else { panic!() };
    assert_eq!((d.role, d.interface.as_bytes(), d.sync_id), (SyncRole::Backup, &b"eth0"[..], 0));
    // Nothing else given: the kernel's defaults (0 and None) are left for it to fill in.
    assert_eq!(d, SyncDaemon::new(SyncRole::Backup, "eth0", 0));
    let Command::StartDaemon(d) = p(
        "--start-daemon master --mcast-interface averyveryverylongname --syncid 255 --sync-maxlen 65507 --mcast-group ff02::1 --mcast-port 1 --mcast-ttl 255",
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(d.interface, "averyveryverylo");
    assert_eq!((d.sync_id, d.max_len, d.port, d.ttl), (255, 65507, 1, 255));
    assert_eq!(d.group, Some("ff02::1".parse().unwrap()));
    assert_eq!(
        d,
        SyncDaemon::new(SyncRole::Master, "averyveryverylo", 255)
            .with_max_len(65507)
            .with_group("ff02::1".parse().unwrap())
            .with_port(1)
            .with_ttl(255)
    );
    assert_eq!(err("--start-daemon master --syncid 256"), "illegal syncid specified");
    assert_eq!(err("--start-daemon master --sync-maxlen 65508"), "illegal sync-maxlen specified");
    assert_eq!(err("--start-daemon master --mcast-ttl 0"), "illegal mcast-ttl specified");
    assert_eq!(err("--start-daemon master --mcast-port 65536"), "illegal mcast-port specified");
    assert_eq!(err("--start-daemon master --mcast-group 10.0.0.1"), "invalid IPv4 mcast-group `10.0.0.1'");
    assert_eq!(err("--start-daemon master --mcast-group 2001::1"), "invalid IPv6 mcast-group `2001::1'");
    assert_eq!(err("--start-daemon slave"), "illegal start-daemon parameter specified");
    assert_eq!(err("--stop-daemon slave"), "illegal start_daemon specified");
    assert_eq!(p("--stop-daemon master --syncid 3").unwrap(), Command::StopDaemon(SyncRole::Master));
    assert_eq!(
        err("--stop-daemon master --mcast-ttl 3"),
        "Illegal 'mcast-ttl' option with the 'stop-daemon' command"
    );
}

#[test]
fn operations() {
    let op = |a: &str| p(a).unwrap().to_operation();
    assert_eq!(op("-C"), Some(Operation::Flush));
    assert_eq!(op("-Z"), Some(Operation::Zero(None)));
    assert_eq!(op("-Z -t 0.0.0.0:0"), Some(Operation::Zero(None)));
    assert_eq!(op("-Z -u 10.0.0.1:53"), Some(Operation::Zero(Some(ServiceKey::udp(v4("10.0.0.1"), 53)))));
    assert_eq!(op("-L"), None);
    assert_eq!(op("-R"), None);
    // The operation's Display is an ipvsadm line that parses back to the same operation.
    for line in [
        "-A -t 10.0.0.1:80 -s wrr -p 60 -M 255.255.255.0 --pe sip",
        "-A -u [2001:db8::1]:53 -s sh -o -b sh-port",
        "-a -f 5 -6 -r [2001:db8::10]:0 -i -w 3 --tun-type gre --tun-csum",
        "-e --sctp-service 10.0.0.1:5060 -r 10.1.1.1:5060 -m -w 0 -x 10 -y 5",
        "-d -t 10.0.0.1:80 -r 10.1.1.1:80",
        "--start-daemon master --mcast-interface eth1 --syncid 4 --sync-maxlen 1400 --mcast-group 224.0.0.82",
    ] {
        let o = op(line).unwrap();
        assert_eq!(op(&o.to_string()), Some(o.clone()), "{line}");
    }
}

#[test]
fn names_through_a_resolver() {
    struct Hosts;
    impl Resolver for Hosts {
        fn host_addr(&self, name: &str) -> Option<Ipv4Addr> {
            (name == "www").then(|| Ipv4Addr::new(10, 0, 0, 80))
        }
        fn service_port(&self, name: &str, protocol: Protocol) -> Option<u16> {
            (name == "http" && protocol == Protocol::Tcp).then_some(80)
        }
    }
    let parser = Parser::new().with_resolver(&Hosts);
    let Command::DeleteService(k) = parser.parse(&["-D", "-t", "www:http"]).unwrap() else { panic!() };
    assert_eq!(k, ServiceKey::tcp(v4("10.0.0.80"), 80));
    // Ports are looked up for the protocol of the service; UDP has no "http" here.
    let bad_address = "illegal virtual server address[:port] specified";
    assert_eq!(parser.parse(&["-D", "-u", "www:http"]).unwrap_err().to_string(), bad_address);
    // Without a resolver, names fail like unknown names.
    assert_eq!(parse(&["-D", "-t", "www:http"]).unwrap_err().to_string(), bad_address);
}

#[test]
fn nul_cuts_an_argument() {
    let Command::AddService(s) = parse(&["-A", "-t", "10.0.0.1:80\0junk"]).unwrap() else { panic!() };
    assert_eq!(s.key, ServiceKey::tcp(v4("10.0.0.1"), 80));
}
