//! `ldirectord.cf` into the director's model: the seeds' configuration, Debian's sample,
//! every directive mapped to its value, every error with its `file:line`, warnings for what
//! is accepted without effect, and (when Debian's ldirectord is installed) the same verdict
//! as ldirectord itself on good and bad files.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipvs_core::director::config::{
    ConfigError, Dialect, DirectorConfig, HttpMethod, LogTarget, MemorySource, NameResolver, NumericNames,
    OnFailure, OnStop, Probe, Quorum, StartState, StatusRange, Transport,
};
use ipvs_core::director::ldirectord;
use ipvs_core::{AddressFamily, ForwardMethod, Netmask, Protocol, Scheduler, ServiceFlags, ServiceKey};

const FILE: &str = "/etc/ha.d/ldirectord.cf";

/// A resolver with a few names, as /etc/hosts and /etc/services would have them.
struct Hosts;

impl NameResolver for Hosts {
    fn host(&self, name: &str, family: AddressFamily) -> Option<IpAddr> {
        let a = match (name, family) {
            ("www", AddressFamily::Inet) => "192.0.2.80",
            ("www", AddressFamily::Inet6) => "2001:db8::80",
            ("sql01", AddressFamily::Inet) => "10.0.0.1",
            ("sql03", AddressFamily::Inet) => "10.0.0.3",
            ("localhost", AddressFamily::Inet) => "127.0.0.1",
            ("rs1", AddressFamily::Inet) => "10.0.0.11",
            _ => return None,
        };
        a.parse().ok()
    }
    fn service(&self, name: &str, protocol: Option<Protocol>) -> Option<u16> {
        match (name, protocol) {
            ("http", _) => Some(80),
            ("https", _) => Some(443),
            ("domain", _) => Some(53),
            ("smtp", Some(Protocol::Tcp) | None) => Some(25),
            _ => None,
        }
    }
}

fn parse(text: &str) -> DirectorConfig {
    match ldirectord::parse_str(FILE.as_ref(), text, &Hosts) {
        Ok(c) => c,
        Err(e) => panic!("{e}\n--- in ---\n{text}"),
    }
}

fn error(text: &str) -> ConfigError {
    match ldirectord::parse_str(FILE.as_ref(), text, &Hosts) {
        Ok(c) => panic!("parsed, expected an error:\n{text}\n{c:#?}"),
        Err(e) => e,
    }
}

/// The error's line and message, after checking it names the file.
fn error_at(text: &str) -> (u32, String) {
    let e = error(text);
    assert_eq!(e.origin.file, Path::new(FILE), "{e}");
    assert!(e.to_string().starts_with(&format!("{FILE}:{}: ", e.origin.line)), "{e}");
    (e.origin.line, e.message)
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/director/ldirectord").join(name)
}

fn warnings(c: &DirectorConfig) -> Vec<(u32, String)> {
    c.warnings.iter().map(|w| (w.origin.line, w.message.clone())).collect()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

// ---------------------------------------------------------------------------------------
// The seeds' configuration and Debian's sample.

#[test]
fn seed_003_walkthrough() {
    let path = data("seed-003.cf");
    let text = std::fs::read_to_string(&path).unwrap();
    let src = MemorySource::new().with(path.clone(), text);
    let cfg = ldirectord::parse(&path, &src, &NumericNames).unwrap();
    assert_eq!(cfg.dialect, Dialect::Ldirectord);
    assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
    assert!(cfg.options.autoreload);
    assert_eq!(cfg.options.on_stop, OnStop::Remove);
    assert_eq!(cfg.options.log, LogTarget::File(PathBuf::from("/var/log/ldirectord.log")));
    assert_eq!(cfg.virtuals.len(), 1);
    let v = &cfg.virtuals[0];
    assert_eq!(v.origin.line, 9);
    assert_eq!(v.service.key, ServiceKey::tcp("10.0.0.100".parse().unwrap(), 80));
    assert_eq!(v.service.scheduler, Scheduler::Rr);
    assert!(!v.service.is_persistent());
    assert_eq!(v.on_failure, OnFailure::Quiesce, "quiescent=yes");
    assert_eq!(v.quorum, Quorum::AnyUp);
    assert_eq!(v.start, StartState::FromTable);
    assert!(!v.sorry_inhibit);
    let sorry = v.sorry.as_ref().unwrap();
    assert_eq!(
        (sorry.addr, sorry.port, sorry.forward, sorry.weight),
        ("127.0.0.1".parse().unwrap(), 80, ForwardMethod::DirectRoute, 1)
    );
    assert_eq!(v.reals.len(), 2);
    for (r, (ip, line)) in v.reals.iter().zip([("192.168.37.19", 10), ("192.168.37.20", 11)]) {
        assert_eq!(r.origin.line, line);
        assert_eq!((r.dest.addr, r.dest.port), (ip.parse().unwrap(), 80));
        assert_eq!(
            (r.dest.forward, r.dest.weight, r.dest.upper_threshold, r.dest.lower_threshold),
            (ForwardMethod::DirectRoute, 1, 0, 0)
        );
        assert_eq!(r.checks.len(), 1);
        let c = &r.checks[0];
        assert_eq!(c.target, format!("{ip}:80").parse().unwrap());
        assert_eq!((c.interval, c.timeout, c.failures_to_down), (secs(1), secs(3), 1));
        assert_eq!((c.retry_delay, c.warmup, c.bind, c.fwmark), (None, None, None, None));
        let Probe::Http { tls, sni, method, host, urls } = &c.probe else { panic!("{:?}", c.probe) };
        assert_eq!((*tls, sni, *method, host.as_deref()), (false, &None, HttpMethod::Get, Some(ip)));
        assert_eq!(urls.len(), 1);
        assert_eq!(urls[0].path, "/index.html");
        assert_eq!(urls[0].status, [StatusRange { low: 200, high: 299 }]);
        assert_eq!((urls[0].regex.as_deref(), urls[0].digest.as_deref()), (None, None));
    }
}

/// The sample Debian ships, as it is (one web service) and with each of its commented-out
/// examples switched on in turn.
#[test]
fn debian_sample_parses() {
    let path = Path::new("/usr/share/doc/ldirectord/examples/ldirectord.cf");
    let Ok(text) = std::fs::read_to_string(path) else {
        eprintln!(
            "SKIPPED: {} is absent (apt-get install ldirectord; scripts/suites/director-config.prepare does)",
            path.display()
        );
        return;
    };
    let src = MemorySource::new().with(path, text.clone());
    let cfg = ldirectord::parse(path, &src, &Hosts).unwrap();
    assert_eq!(cfg.virtuals.len(), 1);
    assert!(cfg.options.autoreload);
    let v = &cfg.virtuals[0];
    assert_eq!(v.service.key, ServiceKey::tcp("192.168.6.240".parse().unwrap(), 80));
    assert_eq!(v.service.scheduler, Scheduler::Rr);
    assert_eq!(v.on_failure, OnFailure::Remove, "quiescent=no");
    assert_eq!(v.reals.len(), 3);
    assert_eq!(v.sorry.as_ref().unwrap().addr, "127.0.0.1".parse::<IpAddr>().unwrap());
    let c = &v.reals[2].checks[0];
    assert_eq!(c.target, "192.168.6.6:80".parse().unwrap());
    assert_eq!((c.interval, c.timeout), (secs(1), secs(3)));
    let Probe::Http { host, urls, .. } = &c.probe else { panic!() };
    assert_eq!(host.as_deref(), Some("www.x.y.z"));
    assert_eq!((urls[0].path.as_str(), urls[0].regex.as_deref()), ("/index.html", Some("Test Page")));

    // Each commented block: its lines uncommented (one '#'), in place of the active one.
    let lines: Vec<&str> = text.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].starts_with("#virtual") {
            let start = i;
            i += 1;
            while i < lines.len() && lines[i].starts_with("#\t") {
                i += 1;
            }
            blocks.push((start, i));
        } else {
            i += 1;
        }
    }
    assert!(blocks.len() >= 15, "{} blocks", blocks.len());
    let globals: String =
        lines.iter().take_while(|l| !l.starts_with("virtual")).map(|l| format!("{l}\n")).collect();
    let mut sip = 0;
    for (start, end) in blocks {
        let block: String = lines[start..end].iter().map(|l| format!("{}\n", &l[1..])).collect();
        let text = format!("{globals}{block}");
        let first_line = u32::try_from(globals.lines().count() + 1).unwrap();
        match ldirectord::parse_str(path, &text, &Hosts) {
            Ok(cfg) => {
                assert_eq!(cfg.virtuals.len(), 1, "{block}");
                assert!(!cfg.virtuals[0].reals.is_empty(), "{block}");
            }
            // The SIP example writes its real servers `192.168.6.2::5060` (a typo ldirectord
            // misreads as host 5060); this parser refuses it, at the first real server.
            Err(e) if block.contains("::5060") => {
                sip += 1;
                assert_eq!(e.origin.line, first_line + 1, "{e}");
                assert!(e.message.contains("invalid address for real server"), "{e}");
            }
            Err(e) => panic!("{e}\n{text}"),
        }
    }
    assert_eq!(sip, 1);
}

// ---------------------------------------------------------------------------------------
// Every directive, mapped.

#[test]
fn every_directive_maps_to_the_model() {
    let path = data("every-directive.cf");
    let text = std::fs::read_to_string(&path).unwrap();
    let cfg = ldirectord::parse_str(&path, &text, &Hosts).unwrap();
    let o = &cfg.options;
    assert_eq!(o.on_stop, OnStop::Keep, "cleanstop = no");
    assert!(o.readd_quiescent && o.autoreload && !o.supervised);
    assert_eq!(o.maintenance_dir, Some(PathBuf::from("/etc/ha.d/maintenance")));
    assert_eq!(o.log, LogTarget::Syslog("local0".into()));
    let cb = o.callback.as_ref().unwrap();
    assert_eq!((cb.line.as_str(), cb.origin.line), ("/usr/local/sbin/ldirectord-changed", 11));

    let w = warnings(&cfg);
    for (line, what) in [
        (5, "checkcount option is deprecated"),
        (13, "execute"),
        (18, "emailalert has no effect"),
        (19, "emailalertfreq has no effect"),
        (20, "emailalertstatus has no effect"),
        (21, "emailalertfrom has no effect"),
        (23, "smtp has no effect"),
        (50, "emailalert has no effect"),
        (51, "emailalertfreq has no effect"),
        (52, "emailalertstatus has no effect"),
        (53, "smtp has no effect"),
        (54, "monitorfile has no effect"),
        (64, "checkcount option is deprecated"),
        (83, "service = mysql is not implemented: a TCP connect"),
        (88, "load has no effect"),
        (93, "service = radius is not implemented: a ping"),
    ] {
        assert!(
            w.iter().any(|(l, m)| *l == line && m.contains(what)),
            "no warning {what:?} at {line}: {w:#?}"
        );
    }
    assert_eq!(cfg.virtuals.len(), 6);

    // The HTTPS service: per-virtual values override the global ones.
    let v = &cfg.virtuals[0];
    assert_eq!(v.service.key, ServiceKey::tcp("192.0.2.10".parse().unwrap(), 443));
    assert_eq!(v.service.scheduler, Scheduler::Sh);
    assert_eq!(v.service.flags, ServiceFlags::PERSISTENT | ServiceFlags::SH_FALLBACK | ServiceFlags::SH_PORT);
    assert_eq!((v.service.timeout, v.service.netmask), (600, Netmask::V4("255.255.255.0".parse().unwrap())));
    assert_eq!(v.on_failure, OnFailure::Remove, "the virtual's quiescent = no");
    assert_eq!(v.on_stop, Some(OnStop::Remove), "the virtual's cleanstop = yes");
    let fb = v.hooks.fallback_command.as_ref().unwrap();
    assert_eq!((fb.line.as_str(), fb.origin.line), ("/usr/local/sbin/web-fallback.sh", 49));
    let sorry = v.sorry.as_ref().unwrap();
    assert_eq!(
        (sorry.addr.to_string(), sorry.port, sorry.forward),
        ("127.0.0.1".into(), 443, ForwardMethod::Masquerade)
    );
    // real = 10.1.0.1:443 masq 5 l:10 u:100; 10.1.0.2:8443 masq 2 "req", "recv"; a range of 3.
    assert_eq!(v.reals.len(), 5);
    let r0 = &v.reals[0].dest;
    assert_eq!(
        (r0.port, r0.forward, r0.weight, r0.lower_threshold, r0.upper_threshold),
        (443, ForwardMethod::Masquerade, 5, 10, 100)
    );
    let r1 = &v.reals[1].dest;
    assert_eq!((r1.port, r1.weight), (8443, 2), "masq keeps its port");
    let range: Vec<String> = v.reals[2..].iter().map(|r| r.dest.key().to_string()).collect();
    assert_eq!(range, ["10.1.0.3:443", "10.1.0.4:443", "10.1.0.5:443"]);
    assert!(v.reals[2..].iter().all(|r| r.origin.line == 29 && r.dest.forward == ForwardMethod::DirectRoute));
    for (i, r) in v.reals.iter().enumerate() {
        let c = &r.checks[0];
        // checktype = 4: four connects, then the negotiate check; fork = yes, so the
        // virtual's checkinterval counts; one timeout, the longer of checktimeout and
        // negotiatetimeout.
        assert_eq!((c.interval, c.timeout, c.failures_to_down), (secs(3), secs(9), 2), "real {i}");
        assert_eq!(c.target.port(), 443, "checkport");
        let Probe::Alternate { connects: 4, then } = &c.probe else { panic!("{:?}", c.probe) };
        let Probe::Http { tls: true, method: HttpMethod::Head, host, urls, .. } = then.as_ref() else {
            panic!("{then:?}")
        };
        assert_eq!(host.as_deref(), Some("www.example.com"));
        let (path, regex) = if i == 1 { ("/health", "^OK$") } else { ("/status.html", "up and running") };
        assert_eq!((urls[0].path.as_str(), urls[0].regex.as_deref()), (path, Some(regex)), "real {i}");
    }

    // DNS on port 53: UDP by default, ops, the global fallback's masq with its own port.
    let v = &cfg.virtuals[1];
    assert_eq!(v.service.key, ServiceKey::udp("192.0.2.10".parse().unwrap(), 53));
    assert_eq!(v.service.scheduler, Scheduler::Wrr, "ldirectord's default");
    assert!(v.service.flags.contains(ServiceFlags::ONEPACKET));
    assert_eq!(v.on_failure, OnFailure::Quiesce, "the global quiescent = yes");
    assert_eq!(v.on_stop, None);
    let sorry = v.sorry.as_ref().unwrap();
    assert_eq!((sorry.port, sorry.forward), (8080, ForwardMethod::Masquerade));
    assert_eq!(v.hooks.fallback_command.as_ref().unwrap().line, "/usr/local/sbin/fallback.sh");
    let c = &v.reals[0].checks[0];
    assert_eq!(
        c.probe,
        Probe::Dns {
            name: "www.example.com".into(),
            qtype: "A".into(),
            expect: Some("192\\.0\\.2\\.".into())
        }
    );
    assert_eq!((c.timeout, c.interval, c.failures_to_down), (secs(20), secs(7), 3), "global values");

    // A firewall mark with an external check; the global fallback does not apply to it.
    let v = &cfg.virtuals[2];
    assert_eq!(v.service.key, ServiceKey::fwmark(7, AddressFamily::Inet));
    assert_eq!(v.sorry, None);
    assert!(
        w.iter().any(|(l, m)| *l == 66 && m.contains("global fallback (line 7) does not apply")),
        "{w:#?}"
    );
    let r = &v.reals[0];
    assert_eq!((r.dest.port, r.dest.weight), (0, 3), "no port: 0, for a firewall mark");
    let Probe::Command { command, ldirectord_args: true, dynamic_weight: false } = &r.checks[0].probe else {
        panic!()
    };
    assert_eq!((command.line.as_str(), command.origin.line), ("'/usr/local/bin/check web'", 69));
    assert_eq!(r.checks[0].timeout, secs(4), "checktimeout for external checks");

    // IPv6: virtual6 / real6, a prefix length as netmask, nntp's greeting.
    let v = &cfg.virtuals[3];
    assert_eq!(v.service.key, ServiceKey::tcp("2001:db8::10".parse().unwrap(), 119));
    assert_eq!(
        (v.service.scheduler.clone(), v.service.timeout, v.service.netmask),
        (Scheduler::Wlc, 300, Netmask::V6(64))
    );
    assert_eq!(v.sorry.as_ref().unwrap().addr, "::1".parse::<IpAddr>().unwrap(), "fallback6");
    assert_eq!(v.sorry.as_ref().unwrap().port, 119, "fallback6 [::1]:80 gate: the virtual's port");
    assert_eq!(v.reals[1].dest.key().to_string(), "[2001:db8:1::6]:119");
    assert_eq!(
        v.reals[0].checks[0].probe,
        Probe::SimpleTcp { send: String::new(), expect: Some("^2".into()) }
    );

    // Not implemented: what checktype = connect would do.
    assert_eq!(cfg.virtuals[4].reals[0].checks[0].probe, Probe::Connect(Transport::Tcp));
    assert_eq!(cfg.virtuals[5].reals[0].checks[0].probe, Probe::Ping);
}

#[test]
fn global_defaults() {
    let c = parse("virtual=10.0.0.1:8080\n\treal=10.0.0.2:8080 gate\n");
    let o = &c.options;
    assert_eq!(
        (o.on_stop, o.readd_quiescent, o.supervised, o.autoreload),
        (OnStop::Remove, false, false, false)
    );
    assert_eq!((o.maintenance_dir.clone(), o.callback.clone()), (None, None));
    assert_eq!(o.log, LogTarget::File(ldirectord::DEFAULT_LOGFILE.into()));
    let v = &c.virtuals[0];
    assert_eq!(v.service.scheduler, Scheduler::Wrr);
    assert_eq!(v.on_failure, OnFailure::Remove, "ldirectord's code: quiescent = no (its manual says yes)");
    // No service for port 8080: negotiate with service none always passes.
    let ch = &v.reals[0].checks[0];
    assert_eq!(ch.probe, Probe::Fixed(true));
    assert_eq!((ch.interval, ch.timeout, ch.failures_to_down), (secs(10), secs(30), 1));
}

#[test]
fn timeouts_fall_back_on_each_other() {
    let check = |globals: &str, virt: &str, checktype: &str| {
        let c = parse(&format!(
            "{globals}virtual=10.0.0.1:80\n\treal=10.0.0.2:80 gate\n\tchecktype={checktype}\n{virt}"
        ));
        c.virtuals[0].reals[0].checks[0].timeout.as_secs()
    };
    // (global, virtual) -> connect timeout, negotiate timeout
    for (g, v, connect, negotiate) in [
        ("", "", 5, 30),
        ("checktimeout=4\n", "", 4, 4),
        ("negotiatetimeout=8\n", "", 8, 8),
        ("checktimeout=4\nnegotiatetimeout=8\n", "", 4, 8),
        ("checktimeout=4\n", "\tnegotiatetimeout=9\n", 9, 9),
        ("negotiatetimeout=8\n", "\tchecktimeout=2\n", 2, 2),
        ("checktimeout=4\nnegotiatetimeout=8\n", "\tchecktimeout=2\n", 2, 2),
    ] {
        assert_eq!(check(g, v, "connect"), connect, "{g:?} {v:?}");
        assert_eq!(check(g, v, "negotiate"), negotiate, "{g:?} {v:?}");
    }
    assert_eq!(check("checktimeout=2\ncheckcount=3\n", "", "ping"), 6, "checkcount pings");
}

#[test]
fn checktypes_and_services() {
    let probe = |lines: &str| {
        let c = parse(&format!("virtual=10.0.0.1:80\n\treal=10.0.0.2:80 gate\n{lines}"));
        c.virtuals[0].reals[0].checks[0].probe.clone()
    };
    assert_eq!(probe("\tchecktype=connect\n"), Probe::Connect(Transport::Tcp));
    assert_eq!(probe("\tchecktype=ping\n"), Probe::Ping);
    assert_eq!(probe("\tchecktype=on\n"), Probe::Fixed(true));
    assert_eq!(probe("\tchecktype=off\n"), Probe::Fixed(false));
    let Probe::Command { command, .. } = probe("\tchecktype=external\n") else { panic!() };
    assert_eq!(command.line, "/bin/true", "the default checkcommand");
    let Probe::Alternate { connects: 0, then } = probe("\tchecktype=0\n") else { panic!() };
    assert!(matches!(*then, Probe::Http { .. }));
    // A connect check on UDP is a ping.
    let c = parse("virtual=10.0.0.1:9999\n\treal=10.0.0.2:9999 gate\n\tprotocol=udp\n\tchecktype=connect\n");
    assert_eq!(c.virtuals[0].reals[0].checks[0].probe, Probe::Ping);

    assert!(matches!(probe("\tservice=https\n"), Probe::Http { tls: true, .. }));
    assert_eq!(probe("\tservice=smtp\n"), Probe::Smtp { helo: None });
    assert_eq!(probe("\tservice=submission\n"), Probe::Smtp { helo: None });
    assert_eq!(
        probe("\tservice=simpletcp\n\trequest=\"PING\\n\"\n\treceive=\"PONG\"\n"),
        Probe::SimpleTcp { send: "PING\n".into(), expect: Some("PONG".into()) }
    );
    assert_eq!(
        probe("\tservice=pop\n"),
        Probe::SimpleTcp { send: String::new(), expect: Some("^\\+OK".into()) }
    );
    assert_eq!(
        probe("\tservice=imap\n"),
        Probe::SimpleTcp { send: String::new(), expect: Some("^\\* (OK|PREAUTH)".into()) }
    );
    assert_eq!(
        probe("\tservice=pop\n\tlogin=\"u\"\n"),
        Probe::Connect(Transport::Tcp),
        "POP with a login: not implemented"
    );
    assert_eq!(probe("\tservice=none\n"), Probe::Fixed(true));
    assert_eq!(
        probe("\tservice=dns\n\trequest=\"192.0.2.1\"\n\treceive=\"www\"\n"),
        Probe::Dns { name: "1.2.0.192.in-addr.arpa".into(), qtype: "PTR".into(), expect: Some("www".into()) }
    );
    let Probe::Http { tls: false, host, urls, .. } =
        probe("\tservice=http_proxy\n\trequest=\"http://www.example.com/x\"\n\treceive=\"ok\"\n")
    else {
        panic!()
    };
    assert_eq!(host.as_deref(), Some("www.example.com"));
    assert_eq!(urls[0].path, "http://www.example.com/x", "the absolute form, to the proxy");

    // A real server's own "request", "receive" is enough for a DNS check.
    let c = parse("virtual=10.0.0.1:53\n\treal=10.0.0.2:53 gate 1 \"www.example.com\", \"192\\.0\"\n");
    assert_eq!(
        c.virtuals[0].reals[0].checks[0].probe,
        Probe::Dns { name: "www.example.com".into(), qtype: "A".into(), expect: Some("192\\.0".into()) }
    );

    // Defaults by port.
    for (port, want) in
        [(443, "https"), (25, "smtp"), (119, "nntp"), (110, "pop"), (143, "imap"), (3306, "mysql")]
    {
        let c = parse(&format!("virtual=10.0.0.1:{port}\n\treal=10.0.0.2:{port} gate\n\tlogin=\"x\"\n"));
        let p = &c.virtuals[0].reals[0].checks[0].probe;
        let ok = match want {
            "https" => matches!(p, Probe::Http { tls: true, .. }),
            "smtp" => matches!(p, Probe::Smtp { .. }),
            "nntp" => matches!(p, Probe::SimpleTcp { expect: Some(e), .. } if e == "^2"),
            _ => *p == Probe::Connect(Transport::Tcp),
        };
        assert!(ok, "port {port}: {p:?}");
        assert_eq!(c.virtuals[0].reals[0].checks[0].target.port(), port);
    }
}

#[test]
fn real_server_ports_and_checks() {
    let c = parse(
        "virtual=10.0.0.1:80\n\
         \treal=10.0.0.2:8080 gate\n\
         \treal=10.0.0.3:8080 ipip\n\
         \treal=10.0.0.4:8080 masq\n\
         \treal=10.0.0.5 masq\n\
         \treal=10.0.0.6 gate\n\
         \tservice=http\n",
    );
    let v = &c.virtuals[0];
    let got: Vec<(String, u16)> =
        v.reals.iter().map(|r| (r.dest.key().to_string(), r.checks[0].target.port())).collect();
    assert_eq!(
        got,
        [
            // ipvsadm forces gate and ipip to the virtual's port; the check goes where written.
            ("10.0.0.2:80".to_string(), 8080),
            ("10.0.0.3:80".to_string(), 8080),
            ("10.0.0.4:8080".to_string(), 8080),
            // No port: 0, which masq keeps (as ldirectord passes it to ipvsadm); the check
            // then goes to the service's port.
            ("10.0.0.5:0".to_string(), 80),
            ("10.0.0.6:80".to_string(), 80),
        ]
    );
    assert_eq!(v.reals[1].dest.forward, ForwardMethod::Tunnel);
    let Probe::Http { host, .. } = &v.reals[0].checks[0].probe else { panic!() };
    assert_eq!(host.as_deref(), Some("10.0.0.2"), "the Host header: the real server's address");

    // A real server's own absolute request names where the check connects.
    let c = parse("virtual=10.0.0.1:80\n\treal=10.0.0.2:80 gate 1 \"http://10.9.9.9:81/probe\", \"ok\"\n");
    let ch = &c.virtuals[0].reals[0].checks[0];
    assert_eq!(ch.target, "10.9.9.9:81".parse().unwrap());
    let Probe::Http { urls, .. } = &ch.probe else { panic!() };
    assert_eq!((urls[0].path.as_str(), urls[0].regex.as_deref()), ("/probe", Some("ok")));
}

#[test]
fn names_are_resolved() {
    let c = parse(
        "fallback=localhost:http\n\
         virtual=www:http\n\
         \treal=rs1:http gate\n\
         \treal=sql01->sql03:http masq\n\
         virtual6=www:https\n\
         \treal6=[2001:db8::1]:https gate\n",
    );
    let v = &c.virtuals[0];
    assert_eq!(v.service.key, ServiceKey::tcp("192.0.2.80".parse().unwrap(), 80));
    assert_eq!(v.sorry.as_ref().unwrap().key().to_string(), "127.0.0.1:80");
    let reals: Vec<String> = v.reals.iter().map(|r| r.dest.key().to_string()).collect();
    assert_eq!(reals, ["10.0.0.11:80", "10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"]);
    assert_eq!(c.virtuals[1].service.key, ServiceKey::tcp("2001:db8::80".parse().unwrap(), 443));
    // domain means UDP.
    let c = parse("virtual=10.0.0.1:domain\n\treal=10.0.0.2:domain gate\n\tchecktype=ping\n");
    assert_eq!(c.virtuals[0].service.key, ServiceKey::udp("10.0.0.1".parse().unwrap(), 53));
    // Without a resolver, names do not resolve.
    let e = ldirectord::parse_str(FILE.as_ref(), "virtual=www:80\n\treal=10.0.0.2 gate\n", &NumericNames)
        .unwrap_err();
    assert_eq!(e.origin.line, 1);
    assert!(e.message.contains("could not resolve for virtual service: www"), "{e}");
}

#[test]
fn sections_and_comments() {
    // Tabs and four spaces indent; comments anywhere; a comment line does not end a section.
    let c = parse(
        "# header\n\
         virtual=10.0.0.1:80 # the web\n\
         \x20   real=10.0.0.2:80 gate # first\n\
         # a comment inside\n\
         \t\treal=10.0.0.3:80 gate\n\
         \x20 \tscheduler=lc\n\
         virtual=10.0.0.1:81\n\
         \treal=10.0.0.2:81 gate\n",
    );
    assert_eq!(c.virtuals.len(), 2);
    assert_eq!(c.virtuals[0].reals.len(), 2);
    assert_eq!(c.virtuals[0].service.scheduler, Scheduler::Lc);
    assert_eq!(c.virtuals[1].origin.line, 7);
    // A bare `supervised` is yes, with ldirectord's warning; supervised logs to stderr.
    let c = parse("supervised\nlogfile=\"/var/log/x.log\"\n");
    assert!(c.options.supervised);
    assert_eq!(c.options.log, LogTarget::Stderr);
    assert_eq!(
        warnings(&c),
        [(1, "please update your config not to use a bare supervised directive".to_string())]
    );
    // Per-virtual checkinterval counts only with fork = yes.
    let c = parse("virtual=10.0.0.1:80\n\treal=10.0.0.2:80 gate\n\tcheckinterval=2\n");
    assert_eq!(c.virtuals[0].reals[0].checks[0].interval, secs(10));
    assert_eq!(
        warnings(&c),
        [(3, "checkinterval in virtual service -t 10.0.0.1:80 ignored when fork=no".to_string())]
    );
    // An empty file is a director with nothing to do.
    assert!(parse("").virtuals.is_empty());
}

#[test]
fn warnings_for_what_has_no_effect() {
    let c = parse(
        "virtual=10.0.0.1:80\n\
         \treal=10.0.0.2:80 gate\n\
         \tchecktype=external-perl\n\
         \tnetmask=255.255.0.0\n\
         \tops=yes\n\
         \tservice=ldap\n",
    );
    let w = warnings(&c);
    assert_eq!(w.len(), 3, "{w:#?}");
    assert!(w[0].1.contains("external-perl") && w[0].0 == 3, "{w:?}");
    assert!(w.iter().any(|(l, m)| *l == 4 && m.contains("netmask has no effect without persistent")));
    assert!(w.iter().any(|(l, m)| *l == 5 && m.contains("ops = yes has no effect")));
    // The service matters to negotiate checks only.
    assert!(!w.iter().any(|(_, m)| m.contains("ldap")));
    let c = parse("virtual=10.0.0.1:389\n\treal=10.0.0.2:389 gate\n\tchecktype=3\n");
    let w = warnings(&c);
    assert!(w.iter().any(|(l, m)| *l == 1 && m.contains("service = ldap is not implemented")), "{w:?}");
    let Probe::Alternate { connects: 3, then } = &c.virtuals[0].reals[0].checks[0].probe else { panic!() };
    assert_eq!(**then, Probe::Connect(Transport::Tcp));
    // servicename and comment only feed e-mails: accepted silently.
    assert!(parse("virtual=10.0.0.1:80\n\treal=10.0.0.2:80 gate\n\tservicename=x\n\tcomment=y z\n")
        .warnings
        .is_empty());
}

// ---------------------------------------------------------------------------------------
// Errors, each at its file:line.

#[test]
fn errors_name_file_and_line() {
    let v = "virtual=10.0.0.1:80\n\treal=10.0.0.2:80 gate\n";
    for (text, line, what) in [
        ("bogus=1\n", 1, "Unknown command bogus=1"),
        ("checktimeout\n", 1, "Unknown command \"checktimeout\""),
        ("\nchecktimeout=0\n", 2, "invalid check timeout value"),
        ("checktimeout=5s\n", 1, "invalid check timeout value"),
        ("checkinterval=-1\n", 1, "invalid check interval value"),
        ("failurecount=0\n", 1, "invalid failure count value"),
        ("connecttimeout=3\n", 1, "connecttimeout directive deprecated in favour of negotiatetimeout"),
        ("timeout=3\n", 1, "timeout directive deprecated"),
        ("autoreload=maybe\n", 1, "autoreload must be 'yes' or 'no'"),
        ("quiescent=yes # or no\nreaddquiescent=1\n", 2, "readdquiescent must be 'yes' or 'no'"),
        ("supervised=on\n", 1, "supervised must be 'yes' or 'no'"),
        ("logfile=/var/log/x\n", 1, "the value must be quoted"),
        ("callback=/bin/x\n", 1, "the path must be quoted"),
        ("emailalertstatus=all,none\n", 1, "specified with \"none\""),
        ("emailalertstatus=sometimes\n", 1, "invalid email alert status at: \"sometimes\""),
        ("emailalertfreq=often\n", 1, "invalid email alert frequency"),
        ("smtp=mail server\n", 1, "invalid SMTP server address"),
        ("fallback=127.0.0.1:80 nat\n", 1, "forward method must be gate, masq or ipip"),
        ("fallback=[::1]:80\n", 1, "invalid IPv4 address"),
        ("  checktimeout=3\n", 1, "an indented line outside a virtual section"),
        (
            "virtual=10.0.0.1:80\n\treal=10.0.0.2:80 gate\n\n\treal=10.0.0.3:80 gate\n",
            4,
            "a blank line ends a virtual section",
        ),
        ("virtual=10.0.0.1\n", 1, "invalid address for virtual server"),
        ("virtual=10.0.0.1:80 tcp\n", 1, "invalid address for virtual server"),
        ("virtual=[2001:db8::1]:80\n", 1, "please use \"virtual6\""),
        ("virtual6=[2001:db8::zz]:80\n", 1, "invalid ipv6 address"),
        ("virtual=99999999999\n", 1, "firewall mark"),
        ("virtual=0\n\treal=10.0.0.2 gate\n", 1, "firewall mark (-f): 0 is out of range"),
        ("virtual=10.0.0.1:80\n\tbogus=1\n", 2, "Unknown command \"bogus=1\""),
        ("virtual=10.0.0.1:80\n\treal=10.0.0.2:80 route\n", 2, "forward method must be gate, masq or ipip"),
        ("virtual=10.0.0.1:80\n\treal=10.0.0.2:80\n", 2, "forward method must be gate, masq or ipip"),
        (
            "virtual=10.0.0.1:80\n\treal=10.0.0.2::80 gate\n",
            2,
            "invalid address for real server (wrong format)",
        ),
        (
            "virtual=10.0.0.1:80\n\treal=nowhere:80 gate\n",
            2,
            "invalid address (nowhere) for real server (could not resolve host)",
        ),
        ("virtual=10.0.0.1:80\n\treal=10.0.0.2:nosuch gate\n", 2, "invalid port (nosuch) for real server"),
        ("virtual=10.0.0.1:80\n\treal=10.0.0.2:80 gate 70000\n", 2, "weight 70000 is out of range 0..=65535"),
        ("virtual=10.0.0.1:80\n\treal=10.0.0.2:80 gate 1 x\n", 2, "Invalid real server line, around \"x\""),
        ("virtual=10.0.0.1:80\n\treal=10.0.0.2:80 gate <l:5>\n", 2, "around \"<l:5>\""),
        ("virtual=10.0.0.1:80\n\treal=10.0.0.2:80 gate l:9 u:5\n", 2, "lower threshold"),
        ("virtual=10.0.0.1:80\n\treal=10.0.0.9->10.0.0.2:80 gate\n", 2, "Invalid Range"),
        (
            "virtual6=[2001:db8::1]:80\n\treal6=[2001:db8::2]->[2001:db8::3]:80 gate\n",
            2,
            "Address range for IPv6 is not supported yet",
        ),
        ("virtual=10.0.0.1:80\n\treal=10.0.0.0->10.1.0.1:80 gate\n", 2, "larger than 65536"),
        ("virtual=10.0.0.1:80\n\treal=0.0.0.0:80 gate\n", 2, "0.0.0.0 is not a unicast address"),
        ("virtual=10.0.0.1:80\n\treal6=[2001:db8::2]:80 gate\n", 2, "please use \"real\" instead"),
        ("virtual=10.0.0.1:80\n\tfallback6=[::1]:80\n", 2, "please use \"fallback\" instead"),
        (
            "virtual=10.0.0.1:80\n\tfallback=127.0.0.1:80 nat\n",
            2,
            "forward method must be gate, masq or ipip",
        ),
        ("virtual=10.0.0.1:80\n\trequest=index.html\n", 2, "the request string must be quoted"),
        ("virtual=10.0.0.1:80\n\trequest=\"\"\n", 2, "no request string specified"),
        ("virtual=10.0.0.1:80\n\treceive=\"\"\n", 2, "invalid receive string"),
        ("virtual=10.0.0.1:80\n\tlogin=user\n", 2, "the login must be quoted"),
        ("virtual=10.0.0.1:80\n\tchecktype=sometimes\n", 2, "checktype must be"),
        ("virtual=10.0.0.1:80\n\tchecktype=3x\n", 2, "checktype must be"),
        ("virtual=10.0.0.1:80\n\tconnecttimeout=3\n", 2, "connecttimeout directive deprecated"),
        ("virtual=10.0.0.1:80\n\tcheckport=0\n", 2, "checkport must be in range 1..65535"),
        ("virtual=10.0.0.1:80\n\tcheckport=65536\n", 2, "checkport must be in range 1..65535"),
        ("virtual=10.0.0.1:80\n\tscheduler=WRR\n", 2, "invalid scheduler"),
        ("virtual=10.0.0.1:80\n\tscheduler=averyveryverylongname\n", 2, "longer than the limit of 15"),
        ("virtual=10.0.0.1:80\n\tpersistent=x\n", 2, "invalid persistent timeout"),
        ("virtual=10.0.0.1:80\n\treal=10.0.0.2:80 gate\n\tpersistent=0\n", 3, "persistence timeout"),
        (
            "virtual=10.0.0.1:80\n\treal=10.0.0.2:80 gate\n\tpersistent=99999999\n",
            3,
            "out of range 1..=2678400",
        ),
        (
            "virtual=10.0.0.1:0\n\treal=10.0.0.2 gate\n",
            1,
            "port 0 (all ports) is allowed only for persistent services",
        ),
        ("virtual=10.0.0.1:80\n\tnetmask=24\n", 2, "dotted quad notation is required"),
        ("virtual6=[2001:db8::1]:80\n\tnetmask=255.255.255.0\n", 2, "a prefix length between 1 and 128"),
        ("virtual=10.0.0.1:80\n\tprotocol=sctp\n", 2, "protocol must be tcp or udp"),
        ("virtual=1\n\tprotocol=tcp\n", 2, "protocol must be fwm"),
        ("virtual=10.0.0.1:80\n\tops=1\n", 2, "ops must be 'yes' or 'no'"),
        ("virtual=10.0.0.1:80\n\tservice=gopher\n", 2, "service must be dns, ftp, http"),
        ("virtual=10.0.0.1:80\n\thttpmethod=POST\n", 2, "httpmethod must be GET or HEAD"),
        ("virtual=10.0.0.1:80\n\tquiescent=true\n", 2, "quiescent must be 'yes' or 'no'"),
        ("virtual=10.0.0.1:80\n\tcleanstop=\n", 2, "cleanstop must be 'yes' or 'no'"),
        ("virtual=10.0.0.1:80\n\temailalert=\"\"\n", 2, "no email address specified"),
        ("virtual=10.0.0.1:80\n\temailalertfrom=x@y\n", 2, "Unknown command"),
        ("virtual=10.0.0.1:80\n\tmaintenancedir=/x\n", 2, "Unknown command"),
        ("virtual=10.0.0.1:80\n\tschedflags=sh-port\n", 2, "sched-flag sh-port needs scheduler sh"),
        ("virtual=10.0.0.1:80\n\tschedflags=flag-9\n", 2, "invalid sched-flags"),
        ("virtual=10.0.0.1:53\n\treal=10.0.0.2:53 gate\n", 1, "service = dns needs request"),
        ("virtual=10.0.0.1:53\n\treal=10.0.0.2:53 gate\n\trequest=\"x\"\n", 1, "service = dns needs request"),
        (
            "virtual=10.0.0.1:3128\n\treal=10.0.0.2:3128 gate\n",
            1,
            "service = http_proxy needs an absolute request",
        ),
        (
            "virtual=10.0.0.1:80\n\treal=10.0.0.2:80 gate\nvirtual=10.0.0.1:80\n",
            3,
            "duplicate virtual server -t 10.0.0.1:80 (first at line 1)",
        ),
        ("virtual=10.0.0.1:http\n\treal=10.0.0.2 gate\nvirtual=10.0.0.1:80\n", 3, "duplicate virtual server"),
    ] {
        let (l, m) = error_at(text);
        assert_eq!(l, line, "{text:?}: {m}");
        assert!(m.contains(what), "{text:?}: {m:?} does not say {what:?}");
    }
    // A global directive after a section is global again; a blank line in the middle of
    // the file does not matter outside sections.
    assert!(ldirectord::parse_str(FILE.as_ref(), &format!("{v}\nchecktimeout=3\n\n{v}"), &Hosts).is_err());
    let (l, _) = error_at(&format!("{v}checktimeout=3\nfailurecount=x\n"));
    assert_eq!(l, 4);
    let e = ldirectord::parse(FILE.as_ref(), &MemorySource::new(), &Hosts).unwrap_err();
    assert_eq!(e.origin.line, 0);
    assert!(e.message.contains("can not open file"), "{e}");
}

// ---------------------------------------------------------------------------------------
// The same verdict as ldirectord itself.

/// Runs Debian's ldirectord on `text` (`ldirectord FILE status` reads the file, then says
/// whether a daemon runs): `Ok` when it accepts the file, `Err(line)` when it reports a
/// configuration error; `None` when ldirectord is not installed.
fn reference(text: &str, n: usize) -> Option<Result<(), u32>> {
    let prog = Path::new("/usr/sbin/ldirectord");
    if !prog.exists() {
        return None;
    }
    let dir = std::env::temp_dir().join(format!("ldirectord-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let file = dir.join(format!("case{n}.cf"));
    std::fs::write(&file, text).ok()?;
    let out = std::process::Command::new(prog).arg(&file).arg("status").output().ok()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let _ = std::fs::remove_file(&file);
    match out.status.code() {
        Some(0 | 3) => Some(Ok(())),
        _ => {
            let line = stderr
                .split(" at line ")
                .nth(1)
                .and_then(|rest| rest.split(':').next())
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or(0);
            Some(Err(line))
        }
    }
}

#[test]
fn same_verdict_as_ldirectord() {
    let cases: &[&str] = &[
        "checktimeout=3\nvirtual=10.0.0.1:80\n\treal=10.0.0.2:80 gate\n\treal=10.0.0.3:80 masq 2\n",
        "virtual=10.0.0.1:80\n\treal=10.0.0.2:80 gate\n\n\treal=10.0.0.3:80 gate\n",
        "virtual=10.0.0.1:80\n\tbogus=1\n",
        "bogus=1\n",
        "  checktimeout=3\n",
        "virtual=10.0.0.1:80\n\treal=10.0.0.2:80 route\n",
        "virtual=10.0.0.1:80\n\tchecktype=sometimes\n",
        "virtual=10.0.0.1:80\n\tservice=gopher\n",
        "virtual=10.0.0.1:80\n\tprotocol=sctp\n",
        "virtual=[2001:db8::1]:80\n",
        "virtual=10.0.0.1:80\n\treal6=[2001:db8::2]:80 gate\n",
        "virtual=10.0.0.1:80\n\trequest=index.html\n",
        "virtual=10.0.0.1:80\n\tcheckport=0\n",
        "virtual=10.0.0.1:80\n\tquiescent=true\n",
        "autoreload=maybe\n",
        "connecttimeout=3\n",
        "virtual=10.0.0.1:80\n\treal=10.0.0.9->10.0.0.2:80 gate\n",
        "virtual=10.0.0.1:80\n\treal=10.0.0.2:80 gate\nvirtual=10.0.0.1:80\n\treal=10.0.0.3:80 gate\n",
        "virtual=1\n\treal=10.0.0.2 gate\n\tprotocol=fwm\n\tchecktype=connect\n\tcheckport=80\n",
        "virtual6=[2001:db8::1]:80\n\treal6=[2001:db8::2]:80 masq\n\tfallback6=[::1]:80\n",
        "virtual=10.0.0.1:80\n\treal=10.0.0.2:80 gate 1 \"/a\", \"b\" l:1 u:5\n\tschedflags=flag-1\n",
    ];
    if !Path::new("/usr/sbin/ldirectord").exists() {
        eprintln!(
            "SKIPPED: /usr/sbin/ldirectord is absent (scripts/suites/director-config.prepare installs it)"
        );
        return;
    }
    // ldirectord takes a few seconds to start (its Perl modules): four at a time.
    let verdicts: Vec<Option<Result<(), u32>>> = std::thread::scope(|s| {
        let chunks: Vec<_> = cases
            .iter()
            .enumerate()
            .collect::<Vec<_>>()
            .chunks(cases.len().div_ceil(4))
            .map(|c| c.to_vec())
            .map(|chunk| s.spawn(move || chunk.into_iter().map(|(n, t)| reference(t, n)).collect::<Vec<_>>()))
            .collect();
        chunks.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let mut ran = 0;
    for (text, theirs) in cases.iter().zip(verdicts) {
        let theirs = theirs.expect("ldirectord ran");
        ran += 1;
        let ours = ldirectord::parse_str(FILE.as_ref(), text, &Hosts).map(|_| ()).map_err(|e| e.origin.line);
        match (&ours, &theirs) {
            (Ok(()), Ok(())) => {}
            // ldirectord reports a duplicate virtual after its section (the line after it).
            (Err(a), Err(b)) if a == b || text.matches("virtual=").count() == 2 => {}
            _ => panic!("{text:?}: ours {ours:?}, ldirectord's {theirs:?}"),
        }
    }
    assert_eq!(ran, cases.len());
}

// ---------------------------------------------------------------------------------------
// Never a panic.

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn line() -> impl Strategy<Value = String> {
        let directive = prop::sample::select(vec![
            "virtual=10.0.0.1:80",
            "virtual=1",
            "virtual6=[::1]:80",
            "virtual=www:http",
            "real=10.0.0.2:80 gate",
            "real=10.0.0.2->10.0.0.9:80 masq 3 \"/a\", \"b\" l:1 u:2",
            "real6=[::2]:80 ipip",
            "real=sql01->sql03 gate",
            "fallback=127.0.0.1:80",
            "fallback6=[::1]",
            "checktype=3",
            "checktype=external",
            "service=dns",
            "service=http_proxy",
            "request=\"x\"",
            "receive=\"y\"",
            "persistent=0",
            "netmask=64",
            "scheduler=sh",
            "schedflags=sh-port",
            "protocol=udp",
            "ops=yes",
            "quiescent=yes",
            "checktimeout=0",
            "fork=yes",
            "checkinterval=2",
            "supervised",
            "logfile=\"local0\"",
            "# c",
            "",
            "=",
            "real=",
            "virtual=",
            "\"",
            "=\"\"",
        ]);
        let indent = prop::sample::select(vec!["", "\t", "    ", "  ", "\t\t"]);
        (indent, directive).prop_map(|(i, d)| format!("{i}{d}"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..1500)) {
            let _ = ldirectord::parse_str(FILE.as_ref(), &String::from_utf8_lossy(&bytes), &Hosts);
        }

        #[test]
        fn arbitrary_lines(lines in proptest::collection::vec(line(), 0..60)) {
            let _ = ldirectord::parse_str(FILE.as_ref(), &lines.join("\n"), &Hosts);
        }
    }
}
