//! `keepalived.conf` into the director's model: Debian's sample files, every keyword mapped
//! to its value (defaults per checker, values passed down virtual → real → checker),
//! includes (nested, globbed, missing), conditional lines and parameters, every error with
//! its `file:line`, warnings for what is accepted without effect, and (when Debian's
//! keepalived is installed) the same verdict as `keepalived -t`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipvs_core::director::config::{
    Check, ConfigError, Dialect, DirectorConfig, HttpMethod, MemorySource, OnFailure, OnStop, Probe, Quorum,
    StartState, StatusRange, Transport, UrlCheck,
};
use ipvs_core::director::keepalived::{self, Options};
use ipvs_core::{
    AddressFamily, ForwardMethod, Netmask, Scheduler, ServiceFlags, ServiceKey, SyncRole, Tunnel, TunnelFlags,
};

const FILE: &str = "/etc/keepalived/keepalived.conf";

fn src(text: &str) -> MemorySource {
    MemorySource::new().with(FILE, text)
}

fn parse(text: &str) -> DirectorConfig {
    match keepalived::parse(FILE.as_ref(), &src(text)) {
        Ok(c) => c,
        Err(e) => panic!("{e}\n--- in ---\n{text}"),
    }
}

fn error_at(text: &str) -> (u32, String) {
    match keepalived::parse(FILE.as_ref(), &src(text)) {
        Ok(c) => panic!("parsed, expected an error:\n{text}\n{c:#?}"),
        Err(e) => {
            assert_eq!(e.origin.file, Path::new(FILE), "{e}");
            assert!(e.to_string().starts_with(&format!("{FILE}:{}: ", e.origin.line)), "{e}");
            (e.origin.line, e.message)
        }
    }
}

fn warnings(c: &DirectorConfig) -> Vec<(u32, String)> {
    c.warnings.iter().map(|w| (w.origin.line, w.message.clone())).collect()
}

fn has_warning(c: &DirectorConfig, line: u32, what: &str) -> bool {
    c.warnings.iter().any(|w| w.origin.line == line && w.message.contains(what))
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

/// A virtual server around `body`, TCP and wrr unless `body` says otherwise.
fn vs(body: &str) -> String {
    format!("virtual_server 10.0.0.1 80 {{\n    lvs_sched wrr\n    protocol TCP\n{body}}}\n")
}

/// The only check of the only real server.
fn only_check(c: &DirectorConfig) -> &Check {
    assert_eq!(c.virtuals.len(), 1);
    assert_eq!(c.virtuals[0].reals.len(), 1);
    assert_eq!(c.virtuals[0].reals[0].checks.len(), 1);
    &c.virtuals[0].reals[0].checks[0]
}

// ---------------------------------------------------------------------------------------
// Debian's sample files.

fn sample(name: &str) -> Option<(PathBuf, DirectorConfig)> {
    let path = Path::new("/usr/share/doc/keepalived/samples").join(name);
    let text = std::fs::read_to_string(&path).ok()?;
    let src = MemorySource::new().with(path.clone(), text);
    match keepalived::parse(&path, &src) {
        Ok(c) => Some((path, c)),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn debian_samples_parse() {
    let dir = Path::new("/usr/share/doc/keepalived/samples");
    let Ok(entries) = std::fs::read_dir(dir) else {
        eprintln!(
            "SKIPPED: {} is absent (apt-get install keepalived; scripts/suites/director-config.prepare does)",
            dir.display()
        );
        return;
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("keepalived.conf."))
        .collect();
    names.sort();
    assert!(names.len() >= 20, "{names:?}");
    for name in &names {
        let (_, cfg) = sample(name).unwrap();
        assert_eq!(cfg.dialect, Dialect::Keepalived);
        for v in &cfg.virtuals {
            assert!(!v.reals.is_empty(), "{name}");
        }
    }

    // keepalived.conf.sample: one HTTP_GET service with a sorry server; VRRP skipped.
    let (_, c) = sample("keepalived.conf.sample").unwrap();
    assert!(has_warning(&c, 13, "vrrp_instance skipped"));
    assert!(has_warning(&c, 4, "notification_email has no effect"));
    let v = &c.virtuals[0];
    assert_eq!(v.service.key, ServiceKey::tcp("10.10.10.2".parse().unwrap(), 1358));
    assert_eq!((v.service.scheduler.clone(), v.service.timeout), (Scheduler::Rr, 50));
    assert!(v.service.is_persistent());
    assert_eq!(v.quorum, Quorum::Weight { quorum: 1, hysteresis: 0 });
    assert_eq!((v.start, v.on_failure), (StartState::Up, OnFailure::Remove));
    let sorry = v.sorry.as_ref().unwrap();
    assert_eq!(
        (sorry.key().to_string(), sorry.forward, sorry.weight),
        ("192.168.200.200:1358".into(), ForwardMethod::Masquerade, 1)
    );
    let r = &v.reals[0];
    assert_eq!(
        (r.dest.key().to_string(), r.dest.forward, r.dest.weight),
        ("192.168.200.2:1358".into(), ForwardMethod::Masquerade, 1)
    );
    let ch = &r.checks[0];
    let mut url = UrlCheck::new("/testurl3/test.jsp");
    url.digest = Some("640205b7b0fc66c1ea91c463fac6334d".into());
    assert_eq!(
        ch.probe,
        Probe::Http { tls: false, sni: None, method: HttpMethod::Get, host: None, urls: vec![url] }
    );
    assert_eq!(
        (ch.interval, ch.timeout, ch.failures_to_down, ch.retry_delay, ch.warmup),
        (secs(6), secs(3), 4, Some(secs(3)), Some(secs(6)))
    );
    assert_eq!(ch.target, "192.168.200.2:1358".parse().unwrap());

    // HTTP_GET.port: SSL_GET to another port.
    let (_, c) = sample("keepalived.conf.HTTP_GET.port").unwrap();
    let ch = only_check(&c);
    assert!(matches!(ch.probe, Probe::Http { tls: true, .. }));
    assert_eq!(ch.target, "192.168.201.100:444".parse().unwrap());

    // quorum: alpha, omega, quorum/hysteresis, the scripts; TCP_CHECK to port 80.
    let (_, c) = sample("keepalived.conf.quorum").unwrap();
    let v = &c.virtuals[0];
    assert_eq!(v.quorum, Quorum::Weight { quorum: 7, hysteresis: 2 });
    assert_eq!(v.start, StartState::Down);
    assert!(v.hooks.notify_on_stop);
    assert_eq!(v.hooks.quorum_up.as_ref().unwrap().line, "/usr/local/sbin/quorum-up.sh");
    assert_eq!(v.hooks.quorum_down.as_ref().unwrap().line, "/usr/local/sbin/quorum-down.sh");
    assert_eq!(v.reals.len(), 10);
    assert!(v
        .reals
        .iter()
        .all(|r| r.dest.port == 8080 && r.start.is_none() && r.checks[0].target.port() == 80));
    assert_eq!(v.reals[0].checks[0].probe, Probe::Connect(Transport::Tcp));
    assert_eq!(v.reals[0].checks[0].timeout, secs(3));

    // virtual_server_group: one service per address and mark, the same real servers.
    let (_, c) = sample("keepalived.conf.virtual_server_group").unwrap();
    let keys: Vec<String> = c.virtuals.iter().map(|v| v.service.key.to_string()).collect();
    let mut want =
        vec!["-t 10.0.0.1:8080".to_string(), "-t 10.0.0.2:80".into(), "-t 192.168.200.1:1358".into()];
    want.extend((3..=10).map(|i| format!("-t 192.168.200.{i}:80")));
    want.extend(["-f 1".to_string(), "-f 2".into()]);
    assert_eq!(keys, want);
    for v in &c.virtuals {
        assert_eq!(v.group.as_deref(), Some("VSG_1"));
        assert_eq!(v.reals.len(), 2);
        assert_eq!(v.reals[0].checks, c.virtuals[0].reals[0].checks, "the checks are alike: run once");
    }
    assert_eq!(c.virtuals[11].reals[0].dest.port, 1358, "NAT keeps the port, for a firewall mark too");

    // SMTP_CHECK: host blocks are checkers of their own.
    let (_, c) = sample("keepalived.conf.SMTP_CHECK").unwrap();
    let reals = &c.virtuals[0].reals;
    // The checker's own connect_timeout makes it a checker of the real server's address too,
    // as keepalived 2.2 does (the sample predates that).
    assert_eq!(reals.iter().map(|r| r.checks.len()).collect::<Vec<_>>(), [1, 4, 4]);
    let r = &reals[2];
    let targets: Vec<SocketAddr> = r.checks.iter().map(|c| c.target).collect();
    let want = ["172.16.1.12:25", "172.16.1.12:25", "192.168.155.11:25", "64.233.167.100:587"];
    assert_eq!(targets, want.map(|t| t.parse::<SocketAddr>().unwrap()));
    let binds: Vec<Option<SocketAddr>> = r.checks.iter().map(|c| c.bind).collect();
    assert_eq!(
        binds,
        [None, Some("172.16.1.2:0".parse().unwrap()), Some("192.168.155.2:0".parse().unwrap()), None]
    );
    assert!(r
        .checks
        .iter()
        .all(|c| c.probe == Probe::Smtp { helo: Some("foo.bar.com".into()) } && c.failures_to_down == 3));
    // The checker's connect_timeout is its own; a host block without one has the default.
    let t: Vec<(Duration, Option<Duration>)> = r.checks.iter().map(|c| (c.timeout, c.retry_delay)).collect();
    assert_eq!(
        t,
        [
            (secs(10), Some(secs(5))),
            (secs(5), Some(secs(5))),
            (secs(5), Some(secs(5))),
            (secs(5), Some(secs(5)))
        ]
    );
    assert_eq!(r.checks.iter().map(|c| c.origin.line).collect::<Vec<_>>(), [89, 95, 101, 107]);

    // fwmark: its family from the real servers; the protocol is ignored, with keepalived's
    // warning; NAT real servers without a port keep 0; TCP_CHECK to connect_port.
    let (_, c) = sample("keepalived.conf.fwmark").unwrap();
    assert!(has_warning(&c, 7, "protocol specified for fwmark - protocol will be ignored"));
    let v = &c.virtuals[0];
    assert_eq!(v.service.key, ServiceKey::fwmark(1, AddressFamily::Inet));
    assert_eq!((v.service.timeout, v.reals[0].dest.port, v.reals[0].checks[0].target.port()), (900, 0, 80));

    // IPv6.
    let (_, c) = sample("keepalived.conf.IPv6").unwrap();
    let v = &c.virtuals[0];
    assert_eq!(v.service.key, ServiceKey::tcp("ae00::1".parse().unwrap(), 80));
    assert_eq!(v.reals[0].dest.key().to_string(), "[ae00::10]:25");
    assert_eq!(v.reals[0].checks[0].probe, Probe::Smtp { helo: Some("foo.bar.com".into()) });

    // status_code: ranges and codes, digest with status.
    let (_, c) = sample("keepalived.conf.status_code").unwrap();
    let Probe::Http { urls, .. } = &only_check(&c).probe else { panic!() };
    let r = |low, high| StatusRange { low, high };
    assert_eq!(urls[0].status, [r(200, 299), r(400, 499), r(503, 503), r(505, 505)]);
    assert_eq!(
        (urls[1].status.as_slice(), urls[1].digest.as_deref()),
        ([r(200, 200)].as_slice(), Some("9b3a0c85a887a256d6939da88aabd8cd"))
    );

    // misc_check_arg: the script and its arguments; MISC_CHECK's retry 0 and timeout.
    let (_, c) = sample("keepalived.conf.misc_check_arg").unwrap();
    let ch = only_check(&c);
    let Probe::Command { command, ldirectord_args: false, dynamic_weight: false } = &ch.probe else {
        panic!()
    };
    assert_eq!(command.line, "/usr/local/bin/script.sh arg1 arg2");
    assert_eq!(
        (ch.failures_to_down, ch.timeout, ch.retry_delay),
        (1, secs(6), None),
        "misc_timeout: the delay_loop"
    );

    // UDP_CHECK and PING_CHECK.
    let (_, c) = sample("keepalived.conf.UDP_CHECK").unwrap();
    let ch = only_check(&c);
    assert_eq!(ch.probe, Probe::Udp { payload: vec![], require_reply: false });
    assert_eq!(
        (c.virtuals[0].service.key.to_string(), ch.failures_to_down),
        ("-u 10.10.10.2:1358".into(), 4)
    );
    let (_, c) = sample("keepalived.conf.PING_CHECK").unwrap();
    let ch = only_check(&c);
    assert_eq!((&ch.probe, ch.failures_to_down), (&Probe::Ping, 5));

    // inhibit: on the real server only.
    let (_, c) = sample("keepalived.conf.inhibit").unwrap();
    assert_eq!(c.virtuals[0].on_failure, OnFailure::Remove);
    assert_eq!(c.virtuals[0].reals[0].on_failure, Some(OnFailure::Quiesce));

    // virtualhost: the virtual's, for the SSL_GET checker.
    let (_, c) = sample("keepalived.conf.virtualhost").unwrap();
    let Probe::Http { host, sni, .. } = &only_check(&c).probe else { panic!() };
    assert_eq!((host.as_deref(), sni), (Some("www.firewall.loc"), &None));

    // vrrp.lvs_syncd: the deprecated lvs_sync_daemon_interface of a vrrp_instance.
    let (_, c) = sample("keepalived.conf.vrrp.lvs_syncd").unwrap();
    let s = c.options.sync_daemon.as_ref().unwrap();
    assert_eq!(
        (s.daemon.interface.to_str(), s.vrrp_instance.as_deref(), s.daemon.sync_id),
        (Some("eth1"), Some("VI_1"), 51)
    );
    assert!(has_warning(&c, 11, "lvs_sync_daemon_interface against a vrrp is deprecated"));

    // Files with VRRP only: no virtual services, warnings for what is skipped.
    let (_, c) = sample("keepalived.conf.vrrp.sync").unwrap();
    assert!(c.virtuals.is_empty());
    assert!(has_warning(&c, 3, "vrrp_sync_group skipped"));
}

// ---------------------------------------------------------------------------------------
// Keywords, mapped.

#[test]
fn virtual_server_keywords() {
    let c = parse(&vs("    delay_loop 2.5\n    lb_algo sh\n    sh-port\n    sh-fallback\n    lb_kind TUN type gue port 6080 csum\n    persistence_timeout\n    persistence_granularity 255.255.255.0\n    persistence_engine sip\n    quorum 3\n    hysteresis 1\n    alpha\n    omega\n    inhibit_on_failure\n    weight 4\n    virtualhost www.example.com\n    sorry_server 10.0.9.9 8080\n    sorry_server_lvs_method NAT\n    sorry_server_inhibit\n    real_server 10.0.0.2 80 {\n        TCP_CHECK {\n        }\n    }\n    real_server 10.0.0.3 80 {\n    }\n"));
    let v = &c.virtuals[0];
    assert!(c.warnings.is_empty(), "{:?}", warnings(&c));
    assert_eq!(v.service.scheduler, Scheduler::Sh);
    assert_eq!(v.service.flags, ServiceFlags::PERSISTENT | ServiceFlags::SH_PORT | ServiceFlags::SH_FALLBACK);
    assert_eq!((v.service.timeout, v.service.netmask), (360, Netmask::V4("255.255.255.0".parse().unwrap())));
    assert_eq!(v.service.pe_name.as_ref().map(|p| p.as_str()), Some("sip"));
    assert_eq!(v.quorum, Quorum::Weight { quorum: 3, hysteresis: 1 });
    assert_eq!(
        (v.start, v.on_failure, v.sorry_inhibit, v.hooks.notify_on_stop),
        (StartState::Down, OnFailure::Quiesce, true, true)
    );
    let sorry = v.sorry.as_ref().unwrap();
    assert_eq!(
        (sorry.key().to_string(), sorry.forward, sorry.weight),
        ("10.0.9.9:8080".into(), ForwardMethod::Masquerade, 1)
    );
    for r in &v.reals {
        assert_eq!((r.dest.forward, r.dest.weight, r.dest.port), (ForwardMethod::Tunnel, 4, 80));
        assert_eq!(r.dest.tunnel, Tunnel::gue(6080).with_flags(TunnelFlags::CSUM));
        assert_eq!(r.on_failure, None, "as the virtual's");
    }
    assert_eq!(v.reals[0].start, None, "its check inherits alpha: down, as the virtual's");
    assert_eq!(v.reals[1].start, Some(StartState::Up), "no check fails: up (keepalived adds it at start)");
    // The real server without checks starts up, unlike its virtual's alpha.
    let ch = &v.reals[0].checks[0];
    assert_eq!((ch.interval, ch.warmup), (ms(2500), Some(ms(2500))));
    assert_eq!(v.reals[1].checks.len(), 0);

    // Defaults: wlc (with keepalived's notice), NAT, no persistence, quorum 1.
    let c = parse("virtual_server 10.0.0.1 80 {\n protocol TCP\n real_server 10.0.0.2 8080 {\n }\n}\n");
    assert!(has_warning(&c, 1, "no scheduler set, setting default 'wlc'"));
    let v = &c.virtuals[0];
    assert_eq!((v.service.scheduler.clone(), v.service.is_persistent()), (Scheduler::Wlc, false));
    assert_eq!((v.reals[0].dest.forward, v.reals[0].dest.port), (ForwardMethod::Masquerade, 8080));
    assert_eq!(v.quorum, Quorum::Weight { quorum: 1, hysteresis: 0 });
    assert_eq!(c.options.on_stop, OnStop::Remove);
    // No protocol: UDP, as keepalived says.
    let c = parse("virtual_server 10.0.0.1 80 {\n lvs_sched rr\n real_server 10.0.0.2 80 {\n }\n}\n");
    assert!(has_warning(&c, 1, "no protocol set - defaulting to UDP"));
    assert_eq!(c.virtuals[0].service.key, ServiceKey::udp("10.0.0.1".parse().unwrap(), 80));
    // Other flags, other methods.
    let c = parse("virtual_server 10.0.0.1 53 {\n lvs_sched mh\n mh-port\n mh-fallback\n ops\n flag-3\n protocol udp\n lvs_method DR\n real_server 10.0.0.2 5353 {\n }\n}\n");
    let v = &c.virtuals[0];
    assert_eq!(
        v.service.flags,
        ServiceFlags::ONEPACKET | ServiceFlags::MH_PORT | ServiceFlags::MH_FALLBACK | ServiceFlags::SCHED3
    );
    assert_eq!(v.reals[0].dest.port, 53, "DR: the virtual's port");
    assert!(has_warning(&c, 9, "ports don't match - resetting"));
    // Port 0 without persistence: keepalived makes it persistent.
    let c =
        parse("virtual_server 10.0.0.1 0 {\n lvs_sched rr\n protocol TCP\n real_server 10.0.0.2 {\n }\n}\n");
    assert!(has_warning(&c, 1, "zero port only valid for persistent services - setting"));
    assert_eq!((c.virtuals[0].service.timeout, c.virtuals[0].service.key.port()), (360, 0));
}

#[test]
fn real_server_keywords() {
    let c = parse(&vs("    inhibit_on_failure\n    real_server 10.0.0.2 80 {\n        weight 0\n        lvs_method TUN type gre\n        uthreshold 100\n        lthreshold 10\n        inhibit_on_failure off\n        alpha\n        notify_up \"/usr/bin/logger -t lvs 'rs up'\"\n        notify_down /usr/local/bin/down.sh root\n        TCP_CHECK {\n        }\n    }\n"));
    let r = &c.virtuals[0].reals[0];
    assert_eq!(
        (r.dest.weight, r.dest.forward, r.dest.upper_threshold, r.dest.lower_threshold),
        (0, ForwardMethod::Tunnel, 100, 10)
    );
    assert_eq!(r.dest.tunnel, Tunnel::gre());
    assert_eq!(r.on_failure, Some(OnFailure::Remove), "its own inhibit_on_failure off");
    assert_eq!(r.start, Some(StartState::Down), "its own alpha");
    assert_eq!(r.notify_up.as_ref().unwrap().line, "/usr/bin/logger -t lvs 'rs up'");
    assert_eq!(
        (r.notify_down.as_ref().unwrap().line.as_str(), r.notify_down.as_ref().unwrap().origin.line),
        ("/usr/local/bin/down.sh", 13)
    );
    assert!(has_warning(&c, 13, "the user and group to run it as have no effect"));
    assert!(has_warning(&c, 1, "quorum 1 for 10.0.0.1:80 exceeds total weight of real servers 0"));
    assert_eq!(c.virtuals[0].quorum, Quorum::Weight { quorum: 0, hysteresis: 0 });
}

#[test]
fn values_pass_down_virtual_real_checker() {
    let c = parse(&vs("    delay_loop 20\n    connect_timeout 7\n    retry 4\n    delay_before_retry 2\n    warmup 5\n    virtualhost vs.example.com\n    real_server 10.0.0.2 80 {\n        TCP_CHECK {\n        }\n        HTTP_GET {\n            url {\n                path /\n            }\n        }\n    }\n    real_server 10.0.0.3 80 {\n        delay_loop 10\n        connect_timeout 6\n        retry 3\n        delay_before_retry 1.5\n        warmup 0\n        virtualhost rs.example.com\n        HTTP_GET {\n            virtualhost ck.example.com\n            url {\n                path /\n                virtualhost url.example.com\n            }\n        }\n        TCP_CHECK {\n            delay_loop 3\n            connect_timeout 0.25\n            retry 0\n            warmup 1\n        }\n        MISC_CHECK {\n            misc_path /bin/true\n        }\n    }\n"));
    let v = &c.virtuals[0];
    let [a, b] = [&v.reals[0], &v.reals[1]];
    let t = |c: &Check| (c.interval, c.timeout, c.failures_to_down, c.retry_delay, c.warmup);
    // From the virtual server.
    assert_eq!(t(&a.checks[0]), (secs(20), secs(7), 5, Some(secs(2)), Some(secs(5))));
    assert_eq!(t(&a.checks[1]), (secs(20), secs(7), 5, Some(secs(2)), Some(secs(5))));
    let Probe::Http { host, .. } = &a.checks[1].probe else { panic!() };
    assert_eq!(host.as_deref(), Some("vs.example.com"));
    // From the real server (warmup 0: none).
    assert_eq!(t(&b.checks[0]), (secs(10), secs(6), 4, Some(ms(1500)), None));
    let Probe::Http { host, urls, .. } = &b.checks[0].probe else { panic!() };
    assert_eq!((host.as_deref(), urls[0].host.as_deref()), (Some("ck.example.com"), Some("url.example.com")));
    // The checker's own.
    assert_eq!(t(&b.checks[1]), (secs(3), ms(250), 1, None, Some(secs(1))));
    // MISC_CHECK: the real server's retry (its default 0 only when nothing is written),
    // and the virtual server's delay_loop as its timeout.
    assert_eq!(t(&b.checks[2]), (secs(10), secs(20), 4, Some(ms(1500)), None));
}

#[test]
fn checker_defaults() {
    let check = |body: &str| {
        let c = parse(&vs(&format!("    real_server 10.0.0.2 80 {{\n{body}    }}\n")));
        only_check(&c).clone()
    };
    let t = |c: &Check| (c.interval, c.timeout, c.failures_to_down, c.retry_delay, c.warmup);
    // delay_loop 60 s, connect_timeout 5 s, retry 1 (DNS 3, MISC 0), delay_before_retry 1 s
    // (HTTP/SSL 3 s, DNS delay_loop), warmup delay_loop.
    let tcp = check("        TCP_CHECK {\n        }\n");
    assert_eq!(t(&tcp), (secs(60), secs(5), 2, Some(secs(1)), Some(secs(60))));
    assert_eq!((tcp.target, tcp.bind, tcp.fwmark), ("10.0.0.2:80".parse().unwrap(), None, None));
    let http =
        check("        HTTP_GET {\n            url {\n                path /\n            }\n        }\n");
    assert_eq!(t(&http), (secs(60), secs(5), 2, Some(secs(3)), Some(secs(60))));
    let Probe::Http { urls, .. } = &http.probe else { panic!() };
    assert_eq!(urls[0], UrlCheck::new("/"));
    let ssl = check("        SSL_GET {\n            enable_sni\n            url {\n                path /\n            }\n        }\n");
    assert_eq!(t(&ssl), (secs(60), secs(5), 2, Some(secs(3)), Some(secs(60))));
    assert!(matches!(&ssl.probe, Probe::Http { tls: true, sni: None, .. }), "SNI needs a virtualhost");
    let dns = check("        DNS_CHECK {\n        }\n");
    assert_eq!(t(&dns), (secs(60), secs(5), 4, Some(secs(60)), Some(secs(60))));
    assert_eq!(dns.probe, Probe::Dns { name: ".".into(), qtype: "SOA".into(), expect: None });
    let misc = check("        MISC_CHECK {\n            misc_path \"/bin/check 'a b'\"\n            misc_timeout 4\n            misc_dynamic\n        }\n");
    assert_eq!(t(&misc), (secs(60), secs(4), 1, None, Some(secs(60))));
    let Probe::Command { command, ldirectord_args: false, dynamic_weight: true } = &misc.probe else {
        panic!()
    };
    assert_eq!(command.line, "/bin/check 'a b'");
    let smtp = check("        SMTP_CHECK {\n        }\n");
    assert_eq!(smtp.probe, Probe::Smtp { helo: Some("smtpchecker.keepalived.org".into()) });
    let ping = check("        PING_CHECK {\n        }\n");
    assert_eq!((&ping.probe, t(&ping).2), (&Probe::Ping, 2));
    let udp = check("        UDP_CHECK {\n            payload Ab12f 3 456 546443123\n            require_reply\n        }\n");
    assert_eq!(
        udp.probe,
        Probe::Udp {
            payload: vec![0xab, 0x12, 0x0f, 0x03, 0x45, 0x06, 0x54, 0x64, 0x43, 0x12, 0x03],
            require_reply: true
        }
    );
}

#[test]
fn checker_keywords() {
    let c = parse(&vs("    real_server 10.0.0.2 80 {\n        HTTP_GET {\n            connect_ip 10.0.5.5\n            connect_port 8080\n            bindto 10.0.0.250\n            bind_port 4000\n            fwmark 77\n            connect_timeout 1.5\n            retry 2\n            delay_before_retry 0.5\n            delay_loop 4\n            warmup 0\n            alpha\n            virtualhost www.example.com\n            enable_sni\n            url {\n                path /a\n                status_code 200-204 301\n                regex \"^(ok|fine)\\\\s\"\n                regex_no_match\n            }\n            url {\n                path /b\n                digest 0123456789ABCDEF0123456789abcdef\n            }\n        }\n    }\n"));
    let ch = only_check(&c);
    assert_eq!(ch.target, "10.0.5.5:8080".parse().unwrap());
    assert_eq!((ch.bind, ch.fwmark), (Some("10.0.0.250:4000".parse().unwrap()), Some(77)));
    assert_eq!(
        (ch.interval, ch.timeout, ch.failures_to_down, ch.retry_delay, ch.warmup),
        (secs(4), ms(1500), 3, Some(ms(500)), None)
    );
    assert_eq!(c.virtuals[0].reals[0].start, Some(StartState::Down), "the checker's alpha");
    let Probe::Http { tls: false, sni, host, urls, method: HttpMethod::Get } = &ch.probe else { panic!() };
    assert_eq!((host.as_deref(), sni.as_deref()), (Some("www.example.com"), Some("www.example.com")));
    assert_eq!(urls[0].status, [StatusRange { low: 200, high: 204 }, StatusRange { low: 301, high: 301 }]);
    assert_eq!((urls[0].regex.as_deref(), urls[0].regex_no_match), (Some("^(ok|fine)\\s"), true));
    assert_eq!(urls[1].digest.as_deref(), Some("0123456789abcdef0123456789abcdef"), "lower case");

    let c = parse(&vs("    real_server 10.0.0.2 {\n        DNS_CHECK {\n            type aaaa\n            name www.example.com\n            retry 1\n        }\n        TCP_CHECK {\n            bind_port 999\n        }\n    }\n"));
    let r = &c.virtuals[0].reals[0];
    assert_eq!(
        r.checks[0].probe,
        Probe::Dns { name: "www.example.com".into(), qtype: "AAAA".into(), expect: None }
    );
    assert_eq!(r.checks[0].target.port(), 0, "the real server's port as written");
    assert_eq!(r.checks[1].bind, Some("0.0.0.0:999".parse().unwrap()));
    assert!(has_warning(&c, 5, "connects to port 0"), "{:?}", warnings(&c));
}

#[test]
fn warnings_for_what_has_no_effect() {
    let c = parse(&vs("    ha_suspend\n    hashed\n    smtp_alert yes\n    snmp_name web\n    real_server 10.0.0.2 80 {\n        smtp_alert\n        HTTP_GET {\n            nb_get_retry 2\n            http_protocol 1.1\n            fast_recovery\n            log_all_failures\n            bind_if eth0\n            url {\n                path /\n                regex_options caseless\n                regex_min_offset 2\n            }\n        }\n        FILE_CHECK {\n            track_file x\n        }\n        BFD_CHECK {\n            name b\n        }\n        UDP_CHECK {\n            require_reply 0a xx\n            min_reply_length 2\n        }\n        MISC_CHECK {\n            misc_path /bin/true\n            user nobody\n        }\n    }\n"));
    for (line, what) in [
        (4, "ha_suspend has no effect"),
        (5, "hashed has no effect"),
        (6, "smtp_alert has no effect"),
        (7, "snmp_name has no effect"),
        (9, "smtp_alert has no effect"),
        (11, "nb_get_retry is deprecated"),
        (12, "http_protocol has no effect"),
        (13, "fast_recovery has no effect"),
        (14, "log_all_failures has no effect"),
        (15, "bind_if has no effect"),
        (18, "regex_options has no effect"),
        (19, "regex_min_offset has no effect"),
        (22, "FILE_CHECK is not implemented"),
        (25, "BFD_CHECK is not implemented"),
        (29, "require_reply's data is not compared"),
        (30, "min_reply_length has no effect"),
        (34, "user has no effect"),
    ] {
        assert!(has_warning(&c, line, what), "no {what:?} at {line}: {:#?}", warnings(&c));
    }
    let r = &c.virtuals[0].reals[0];
    assert_eq!(r.checks.len(), 3, "FILE_CHECK and BFD_CHECK are not checks");
    assert_eq!(r.checks[0].failures_to_down, 3, "nb_get_retry still sets retry");
    let c = parse("SSL {\n password x\n ca /etc/ca.pem\n}\nnet_namespace blue\nbfd_instance b {\n}\ntrack_file f {\n file /x\n}\nstatic_routes {\n 10.0.0.0/8 dev eth0\n}\n");
    for (line, what) in [
        (1, "SSL has no effect"),
        (5, "net_namespace has no effect"),
        (6, "bfd_instance skipped"),
        (8, "track_file skipped"),
        (11, "static_routes skipped"),
    ] {
        assert!(has_warning(&c, line, what), "no {what:?} at {line}: {:#?}", warnings(&c));
    }
}

#[test]
fn global_defs_sync_daemon_and_timeouts() {
    let c = parse("global_defs {\n  router_id lb1\n  notification_email {\n    ops@example.com\n  }\n  lvs_sync_daemon eth1 inst VI_1 id 7 maxlen 1400 port 8850 ttl 3 group 224.0.0.81\n  lvs_timeouts tcp 900 udp 60\n}\n");
    let s = c.options.sync_daemon.as_ref().unwrap();
    assert_eq!(s.origin.line, 6);
    assert_eq!(
        (s.daemon.role, s.daemon.interface.to_str(), s.daemon.sync_id),
        (SyncRole::Backup, Some("eth1"), 7)
    );
    assert_eq!(
        (s.daemon.max_len, s.daemon.port, s.daemon.ttl, s.daemon.group),
        (1400, 8850, 3, Some("224.0.0.81".parse().unwrap()))
    );
    assert_eq!((s.vrrp_instance.as_deref(), s.sync_id_written), (Some("VI_1"), true));
    let t = c.options.timeouts.unwrap();
    assert_eq!((t.tcp, t.tcp_fin, t.udp), (900, 0, 60), "0: left as the kernel has it");
    assert!(has_warning(&c, 2, "router_id has no effect"));
    assert!(has_warning(&c, 3, "notification_email has no effect"));
    // The older form, and the sync id from the VRRP instance's virtual_router_id.
    let c = parse(
        "global_defs {\n  lvs_sync_daemon eth2 VI_2\n}\nvrrp_instance VI_2 {\n  virtual_router_id 33\n}\n",
    );
    let s = c.options.sync_daemon.as_ref().unwrap();
    assert_eq!((s.daemon.sync_id, s.sync_id_written, s.vrrp_instance.as_deref()), (33, false, Some("VI_2")));
    let c = parse("global_defs {\n  lvs_sync_daemon eth2 VI_2 9\n}\n");
    assert_eq!(c.options.sync_daemon.as_ref().unwrap().daemon.sync_id, 9);
    assert!(has_warning(&c, 2, "Please use keyword \"id\""));
    assert!(parse("global_defs {\n}\n").options.sync_daemon.is_none());
}

// ---------------------------------------------------------------------------------------
// Includes, conditions, parameters, the file format.

/// The test's data directory, as a source (the paths as they are on disk).
fn data_dir() -> (PathBuf, MemorySource) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/director/keepalived");
    let mut src = MemorySource::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                src.insert(p.clone(), std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    (root, src)
}

#[test]
fn includes_nested_globbed_relative() {
    let (root, src) = data_dir();
    let main = root.join("keepalived.conf");
    let c = keepalived::parse(&main, &src).unwrap();
    // conf.d/*.conf in name order, then the main file's own service.
    let keys: Vec<String> = c.virtuals.iter().map(|v| v.service.key.to_string()).collect();
    assert_eq!(keys, ["-t 192.0.2.1:25", "-u 192.0.2.1:53", "-t 192.0.2.1:80"]);
    assert_eq!(c.virtuals[0].origin.file, root.join("conf.d/10-smtp.conf"));
    assert_eq!(c.virtuals[0].origin.line, 1);
    // Real servers included inside a block, nested two deep, relative to the includer.
    let v = &c.virtuals[2];
    assert_eq!(v.origin.file, main);
    let reals: Vec<(String, PathBuf, u32)> =
        v.reals.iter().map(|r| (r.dest.key().to_string(), r.origin.file.clone(), r.origin.line)).collect();
    assert_eq!(
        reals,
        [
            ("10.0.2.1:80".to_string(), root.join("services/web-reals.conf"), 1),
            ("10.0.2.2:80".to_string(), root.join("services/more-reals.conf"), 1),
        ]
    );
    assert_eq!(v.reals[1].checks[0].timeout, secs(2));
    let s = c.options.sync_daemon.as_ref().unwrap();
    assert_eq!((s.daemon.sync_id, s.origin.file.clone(), s.origin.line), (42, root.join("global.conf"), 3));
    assert_eq!(c.options.timeouts.unwrap().tcp, 7200);
    // The optional directory matches nothing: a warning, at the include line.
    assert!(c.warnings.iter().any(|w| w.origin.file == main
        && w.origin.line == 6
        && w.message.contains("No config files matched 'optional.d/*.conf'")));
    assert!(c
        .warnings
        .iter()
        .any(|w| w.origin.file == root.join("global.conf") && w.message.contains("vrrp_instance skipped")));
}

#[test]
fn include_errors_name_the_included_file() {
    let base = MemorySource::new().with("/etc/keepalived/keepalived.conf", "include conf.d/web.conf\n").with(
        "/etc/keepalived/conf.d/web.conf",
        "! the web\nvirtual_server 10.0.0.1 80 {\n  lvs_sched nope\n}\n",
    );
    let e = keepalived::parse(FILE.as_ref(), &base).unwrap_err();
    assert_eq!(e.to_string(), "/etc/keepalived/conf.d/web.conf:3: Invalid lvs_scheduler 'nope'");

    let missing = MemorySource::new().with(FILE, "\ninclude /etc/keepalived/nowhere.conf\n");
    let e = keepalived::parse(FILE.as_ref(), &missing).unwrap_err();
    assert_eq!(
        (e.origin.line, e.message.as_str()),
        (2, "Config files missing '/etc/keepalived/nowhere.conf'.")
    );

    let loops = MemorySource::new().with(FILE, "include keepalived.conf\n");
    let e = keepalived::parse(FILE.as_ref(), &loops).unwrap_err();
    assert!(e.message.contains("includes itself"), "{e}");

    let strict = MemorySource::new().with(FILE, "includew /etc/keepalived/conf.d/*.conf\n");
    let e = keepalived::parse(FILE.as_ref(), &strict).unwrap_err();
    assert_eq!(
        (e.origin.line, e.message.as_str()),
        (1, "No config files matched '/etc/keepalived/conf.d/*.conf'.")
    );
    let many = MemorySource::new().with(FILE, format!("include {}\n", "{a,b}".repeat(9)));
    let e = keepalived::parse(FILE.as_ref(), &many).unwrap_err();
    assert!(e.message.contains("expands to more than 256 patterns"), "{e}");
    let lax = MemorySource::new().with(FILE, "includer /etc/keepalived/conf.d/*.conf\n");
    assert!(keepalived::parse(FILE.as_ref(), &lax).unwrap().virtuals.is_empty());

    // Brace alternatives, each sorted, in the order written; a block spanning files.
    let braces = MemorySource::new()
        .with(FILE, "include {b,a}/*.conf\n}\n")
        .with("/etc/keepalived/a/1.conf", "  real_server 10.0.0.3 80 {\n  }\n")
        .with("/etc/keepalived/b/2.conf", "virtual_server 10.0.0.1 80 {\n  lvs_sched rr\n  protocol TCP\n")
        .with("/etc/keepalived/b/1.conf", "! first\n");
    let c = keepalived::parse(FILE.as_ref(), &braces).unwrap();
    assert_eq!(c.virtuals[0].reals[0].origin.file, Path::new("/etc/keepalived/a/1.conf"));
    // Unclosed block: where it opens.
    let e = keepalived::parse(
        FILE.as_ref(),
        &MemorySource::new()
            .with(FILE, "include /x.conf\n")
            .with("/x.conf", "virtual_server 10.0.0.1 80 {\n"),
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "/x.conf:1: this block has no closing '}'");
}

#[test]
fn conditions_and_parameters() {
    let text = "$VIP=10.0.0.1\n$PORT=80\n@main $WEIGHT=5\n@^main $WEIGHT=1\n$RS=real_server ${NET}.2 $PORT {\n$NET=10.0.1\n\
                virtual_server $VIP $PORT {\n  lvs_sched rr\n  protocol TCP\n  $RS\n    weight $WEIGHT\n  }\n\
                @backup   real_server 10.0.1.9 80 {\n  @backup }\n  real_server ${NET}.3 ${PORT} { weight 2 }\n}\n";
    let main = keepalived::parse_with(FILE.as_ref(), &src(text), &Options::default().with_config_id("main"))
        .unwrap();
    let v = &main.virtuals[0];
    assert_eq!(v.service.key, ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80));
    let reals: Vec<(String, u32)> =
        v.reals.iter().map(|r| (r.dest.key().to_string(), r.dest.weight)).collect();
    assert_eq!(reals, [("10.0.1.2:80".to_string(), 5), ("10.0.1.3:80".to_string(), 2)]);
    let backup =
        keepalived::parse_with(FILE.as_ref(), &src(text), &Options::default().with_config_id("backup"))
            .unwrap();
    let reals: Vec<(String, u32)> =
        backup.virtuals[0].reals.iter().map(|r| (r.dest.key().to_string(), r.dest.weight)).collect();
    assert_eq!(
        reals,
        [("10.0.1.2:80".to_string(), 1), ("10.0.1.9:80".to_string(), 1), ("10.0.1.3:80".to_string(), 2)]
    );
    // Predefined parameters; undefined ones stay as written.
    let c = parse(&vs("    real_server 10.0.0.2 80 {\n        MISC_CHECK {\n            misc_path \"${_PWD}/check ${_HASH}1 $UNDEFINED\"\n        }\n    }\n"));
    let Probe::Command { command, .. } = &only_check(&c).probe else { panic!() };
    assert_eq!(command.line, "/etc/keepalived/check '#1' '$UNDEFINED'");
}

#[test]
fn file_format() {
    // Comments with # and !, quoted strings keep them, braces anywhere on a line.
    let c = parse("virtual_server 10.0.0.1 80 { ! the web\n  lvs_sched rr # round robin\n  protocol TCP\n  real_server 10.0.0.2 80 { weight 2 ; }\n  real_server 10.0.0.3 80\n  {\n    HTTP_GET { url { path \"/a#b!c\" } }\n  }\n}\n");
    let v = &c.virtuals[0];
    assert_eq!(v.reals[0].dest.weight, 2, "`;` is an extra word keepalived ignores");
    assert!(has_warning(&c, 4, "extra words ignored: ;"));
    let Probe::Http { urls, .. } = &v.reals[1].checks[0].probe else { panic!() };
    assert_eq!(urls[0].path, "/a#b!c");
    // Escaped comment characters outside quotes.
    let c = parse(&vs("    real_server 10.0.0.2 80 {\n        HTTP_GET {\n            url {\n                path /x\\#y\n            }\n        }\n    }\n"));
    let Probe::Http { urls, .. } = &only_check(&c).probe else { panic!() };
    assert_eq!(urls[0].path, "/x#y");
    // CRLF line ends.
    assert_eq!(parse(&vs("    real_server 10.0.0.2 80 {\n    }\n").replace('\n', "\r\n")).virtuals.len(), 1);
    // A virtual server without real servers is dropped, as keepalived does.
    let c = parse(&vs(""));
    assert!(c.virtuals.is_empty());
    assert!(has_warning(&c, 1, "has no real servers - ignoring"));
    // Duplicate real servers: the second goes.
    let c = parse(&vs("    real_server 10.0.0.2 80 {\n    }\n    real_server 10.0.0.2 80 {\n    }\n"));
    assert_eq!(c.virtuals[0].reals.len(), 1);
    assert!(has_warning(&c, 6, "is duplicated"));
    // Quorum above the total weight, hysteresis above the quorum: repaired, as keepalived.
    let c =
        parse(&vs("    quorum 5\n    hysteresis 9\n    real_server 10.0.0.2 80 {\n      weight 3\n    }\n"));
    assert_eq!(c.virtuals[0].quorum, Quorum::Weight { quorum: 3, hysteresis: 2 });
    // A firewall mark's family from ip_family, and its real servers' ports cleared.
    let c = parse("virtual_server fwmark 9 {\n  ip_family inet6\n  lvs_sched rr\n  lvs_method DR\n  real_server 2001:db8::2 80 {\n  }\n}\n");
    assert_eq!(c.virtuals[0].service.key, ServiceKey::fwmark(9, AddressFamily::Inet6));
    assert_eq!(c.virtuals[0].reals[0].dest.port, 0);
    assert!(has_warning(&c, 5, "has port specified - clearing"));
    // Groups: ranges in both forms, prefixes, IPv6 hexadecimal ranges, marks with family.
    let c = parse("virtual_server_group g {\n  10.0.0.1-3 80\n  10.0.1.254-10.0.2.1 80\n  10.0.3.8/30 80\n  2001:db8::a-c 80\n  fwmark 5 inet6\n}\nvirtual_server group g {\n  lvs_sched rr\n  protocol TCP\n  lvs_method TUN\n  real_server 10.9.0.1 80 {\n  }\n}\n");
    let keys: Vec<String> = c.virtuals.iter().map(|v| v.service.key.to_string()).collect();
    assert_eq!(
        keys,
        [
            "-t 10.0.0.1:80",
            "-t 10.0.0.2:80",
            "-t 10.0.0.3:80",
            "-t 10.0.1.254:80",
            "-t 10.0.1.255:80",
            "-t 10.0.2.0:80",
            "-t 10.0.2.1:80",
            "-t 10.0.3.8:80",
            "-t 10.0.3.9:80",
            "-t 10.0.3.10:80",
            "-t 10.0.3.11:80",
            "-t [2001:db8::a]:80",
            "-t [2001:db8::b]:80",
            "-t [2001:db8::c]:80",
            "-f 5 -6",
        ]
    );
    assert!(c.virtuals.iter().all(|v| v.origin.line > 1 && v.origin.line < 7));
}

#[test]
fn errors_name_file_and_line() {
    let rs = "    real_server 10.0.0.2 80 {\n    }\n";
    for (text, line, what) in [
        ("bogus_keyword\n".to_string(), 1, "Unknown keyword 'bogus_keyword'"),
        ("}\n".into(), 1, "Extra '}' found"),
        ("{\n".into(), 1, "Unexpected '{'"),
        ("virtual_server 10.0.0.1 80 {\n".into(), 1, "this block has no closing '}'"),
        ("virtual_server 10.0.0.1 80\n".into(), 1, "Missing '{'"),
        ("virtual_server 10.0.0.1 80 {\n  protocol TCP\n  lvs_sched rr\n  real_server 10.0.0.2 80\n}\n".into(), 4, "Missing '{'"),
        ("virtual_server 10.0.0.1 80 {\n  protocol TCP {\n  }\n}\n".into(), 2, "`protocol` takes no block"),
        ("virtual_server 300.0.0.1 80 {\n}\n".into(), 1, "Invalid virtual server IP address 300.0.0.1"),
        ("virtual_server 10.0.0.1 70000 {\n}\n".into(), 1, "Invalid virtual server IP address/port"),
        ("virtual_server fwmark x {\n}\n".into(), 1, "virtual server fwmark 'x'"),
        ("virtual_server group nope {\n  real_server 10.0.0.2 {\n  }\n}\n".into(), 1, "group nope specified but not configured"),
        ("virtual_server\n".into(), 1, "missing a parameter"),
        ("virtual_server_group g {\n}\n".into(), 1, "has no entries"),
        ("virtual_server_group g {\n  10.0.0.5-2 80\n}\n".into(), 2, "not greater than address range start"),
        ("virtual_server_group g {\n  10.0.0.1/24 80\n}\n".into(), 2, "Address mask bits not empty"),
        ("virtual_server_group g {\n  fwmark 1 ipx\n}\n".into(), 2, "family ipx unknown"),
        (vs(&format!("    lb_algo rrr\n{rs}")), 4, "Invalid lvs_scheduler 'rrr'"),
        (vs(&format!("    sh-port\n{rs}")), 4, "sh-port only applies to sh scheduler"),
        (vs(&format!("    lb_kind FAST\n{rs}")), 4, "unknown [FAST] routing method"),
        (vs(&format!("    lb_kind TUN type gue\n{rs}")), 4, "gue tunnels require port"),
        (vs(&format!("    lb_kind TUN port 5\n{rs}")), 4, "gue tunnels require port, otherwise cannot have port"),
        (vs(&format!("    lb_kind TUN csum\n{rs}")), 4, "ipip tunnels do not support checksum option"),
        (vs(&format!("    lb_kind TUN type gre remcsum\n{rs}")), 4, "gre tunnels do not support remote checksum"),
        (vs(&format!("    lb_kind TUN type vxlan\n{rs}")), 4, "Unknown tunnel type vxlan"),
        (vs(&format!("    lb_kind DR type gre\n{rs}")), 4, "tunnel options are only for TUN"),
        (vs(&format!("    protocol ICMP\n{rs}")), 4, "Unknown protocol ICMP"),
        (vs(&format!("    persistence_timeout 0\n{rs}")), 4, "persistence_timeout invalid"),
        (vs(&format!("    persistence_granularity 255.255.255.x\n{rs}")), 4, "Invalid IPv4 persistence_granularity"),
        (vs(&format!("    persistence_engine an-engine-name-too-long\n{rs}")), 4, "persistence_engine"),
        (vs(&format!("    delay_loop 0\n{rs}")), 4, "outside range"),
        (vs(&format!("    delay_loop 1.1234567\n{rs}")), 4, "too many decimal places"),
        (vs(&format!("    connect_timeout -1\n{rs}")), 4, "negative number '-1'"),
        (vs(&format!("    retry 0\n{rs}")), 4, "retry value invalid"),
        (vs(&format!("    quorum 0\n{rs}")), 4, "Quorum 0 must be in [1,"),
        (vs(&format!("    hysteresis x\n{rs}")), 4, "Hysteresis x must be in [0,"),
        (vs(&format!("    weight 0\n{rs}")), 4, "Virtual server weight 0 is outside range"),
        (vs(&format!("    ip_family inet6\n{rs}")), 4, "conflicts with server family"),
        (vs(&format!("    sorry_server_inhibit\n{rs}")), 4, "used before or without sorry_server"),
        (vs(&format!("    sorry_server_lvs_method DR\n{rs}")), 4, "used without sorry_server"),
        (vs(&format!("    sorry_server 10.0.0.x\n{rs}")), 4, "Invalid sorry server IP address"),
        (vs(&format!("    quorum_up /a\n    quorum_up /b\n{rs}")), 5, "quorum_up script already specified"),
        (vs(&format!("    quorum_up \"/a\n{rs}")), 4, "Unterminated quote"),
        (vs(&format!("    alien_keyword 1\n{rs}")), 4, "Unknown keyword 'alien_keyword'"),
        (vs("    real_server 10.0.0.2 80 {\n        weight -1\n    }\n"), 5, "Real server weight -1 is outside range"),
        (vs("    real_server 10.0.0.2 80 {\n        weight 2147483648\n    }\n"), 5, "outside range 0-2147483647"),
        (vs("    real_server 10.0.0.2 80 {\n        inhibit_on_failure maybe\n    }\n"), 5, "Invalid inhibit_on_failure parameter maybe"),
        (vs("    real_server 10.0.0.2 80 {\n        lthreshold 10\n    }\n"), 4, "lower threshold"),
        (vs("    real_server 2001:db8::2 80 {\n    }\n"), 4, "address family IPv6 does not match"),
        (vs("    real_server 224.0.0.1 80 {\n    }\n"), 4, "multicast address is not a unicast address"),
        (vs("    real_server 10.0.0.2 80 {\n        notify_up\n    }\n"), 5, "missing its script"),
        (vs("    real_server 10.0.0.2 80 {\n        TCP_CHECK\n    }\n"), 5, "Missing '{'"),
        (vs("    real_server 10.0.0.2 80 {\n        TCP_CHECK {\n            connect_port 0\n        }\n    }\n"), 6, "Invalid checker connect_port '0'"),
        (vs("    real_server 10.0.0.2 80 {\n        TCP_CHECK {\n            connect_ip 10.0.0.2\n            bindto ::1\n        }\n    }\n"), 7, "does not match address family of connect_ip"),
        (vs("    real_server 10.0.0.2 80 {\n        TCP_CHECK {\n            retry -2\n        }\n    }\n"), 6, "Invalid retry connection value"),
        (vs("    real_server 10.0.0.2 80 {\n        TCP_CHECK {\n            helo_name x\n        }\n    }\n"), 6, "Unknown keyword 'helo_name'"),
        (vs("    real_server 10.0.0.2 80 {\n        HTTP_GET {\n        }\n    }\n"), 5, "has no urls specified"),
        (vs("    real_server 10.0.0.2 80 {\n        HTTP_GET {\n            url {\n            }\n        }\n    }\n"), 6, "url has no path"),
        (vs("    real_server 10.0.0.2 80 {\n        HTTP_GET {\n            url {\n                path /\n                status_code 99\n            }\n        }\n    }\n"), 8, "Invalid HTTP_GET status code '99'"),
        (vs("    real_server 10.0.0.2 80 {\n        HTTP_GET {\n            url {\n                path /\n                status_code 300-200\n            }\n        }\n    }\n"), 8, "Invalid HTTP_GET status code '300-200'"),
        (vs("    real_server 10.0.0.2 80 {\n        HTTP_GET {\n            url {\n                path /\n                digest abc\n            }\n        }\n    }\n"), 8, "character length should be 32"),
        (vs("    real_server 10.0.0.2 80 {\n        HTTP_GET {\n            url {\n                path /\n                regex a b\n            }\n        }\n    }\n"), 8, "regex missing or too many fields"),
        (vs("    real_server 10.0.0.2 80 {\n        HTTP_GET {\n            http_protocol 2\n            url {\n                path /\n            }\n        }\n    }\n"), 6, "Invalid http_protocol version 2"),
        (vs("    real_server 10.0.0.2 80 {\n        DNS_CHECK {\n            type PTR\n        }\n    }\n"), 6, "Unknown DNS check type PTR"),
        (vs("    real_server 10.0.0.2 80 {\n        DNS_CHECK {\n            name a..b\n        }\n    }\n"), 6, "has empty label"),
        (vs("    real_server 10.0.0.2 80 {\n        MISC_CHECK {\n        }\n    }\n"), 5, "No script path has been specified"),
        (vs("    real_server 10.0.0.2 80 {\n        MISC_CHECK {\n            misc_path /bin/true\n            connect_timeout 3\n        }\n    }\n"), 7, "Unknown keyword 'connect_timeout'"),
        (vs("    real_server 10.0.0.2 80 {\n        UDP_CHECK {\n            payload zz\n        }\n    }\n"), 6, "Invalid hex string for UDP_CHECK payload"),
        (vs("    real_server 10.0.0.2 80 {\n        SMTP_CHECK {\n            host {\n                helo_name x\n            }\n        }\n    }\n"), 7, "Unknown keyword 'helo_name'"),
        ("global_defs {\n  no_such_thing\n}\n".into(), 2, "Unknown keyword 'no_such_thing'"),
        ("global_defs {\n  lvs_sync_daemon\n}\n".into(), 2, "lvs_sync_daemon requires interface"),
        ("global_defs {\n  lvs_sync_daemon eth0 VI_1 id 256\n}\n".into(), 2, "Invalid syncid (256)"),
        ("global_defs {\n  lvs_sync_daemon eth0 VI_1 group 10.0.0.1\n}\n".into(), 2, "is not multicast"),
        ("global_defs {\n  lvs_sync_daemon eth0 inst VI_1 weird 1\n}\n".into(), 2, "Unknown option weird"),
        ("global_defs {\n  lvs_sync_daemon eth0 VI_1 weird\n}\n".into(), 2, "Invalid syncid (weird)"),
        ("global_defs {\n  lvs_sync_daemon eth0\n  lvs_sync_daemon eth1\n}\n".into(), 3, "has already been specified"),
        ("global_defs {\n  lvs_timeouts tcp\n}\n".into(), 2, "requires at least one option"),
        ("global_defs {\n  lvs_timeouts tcp 1 fin 2\n}\n".into(), 2, "Unknown option fin"),
        ("global_defs {\n  lvs_timeouts udp 99999999\n}\n".into(), 2, "outside range [0, 2678400]"),
        (format!("{}{}", vs(rs), vs(rs)), 7, "duplicate virtual server -t 10.0.0.1:80 (first at /etc/keepalived/keepalived.conf:1)"),
        ("~SEQ(i, 1, 3) virtual_server 10.0.0.$i 80 {\n".into(), 1, "~SEQ and ~LST blocks are not supported"),
        ("$M= \\\n  x\n".into(), 1, "multi-line definition"),
        ("x ${_RANDOM}\n".into(), 1, "${_RANDOM} is not supported"),
        ("$A=$B\n$B=$A\n$A\n".into(), 3, "does not end"),
    ] {
        let (l, m) = error_at(&text);
        assert_eq!(l, line, "{text:?}: {m}");
        assert!(m.contains(what), "{text:?}: {m:?} does not say {what:?}");
    }
    let e: ConfigError = keepalived::parse(FILE.as_ref(), &MemorySource::new()).unwrap_err();
    assert_eq!(e.origin.line, 0);
}

// ---------------------------------------------------------------------------------------
// The same verdict as keepalived -t.

/// `keepalived -t -f FILE`: `Ok` when it finds nothing to report, `Err(line)` otherwise (0
/// when its message names no line); `None` when keepalived is not installed.
fn reference(text: &str, n: usize) -> Option<Result<(), u32>> {
    let prog = Path::new("/usr/sbin/keepalived");
    if !prog.exists() {
        return None;
    }
    let dir = std::env::temp_dir().join(format!("keepalived-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let file = dir.join(format!("case{n}.conf"));
    std::fs::write(&file, text).ok()?;
    let out = std::process::Command::new(prog).args(["-t", "-n", "-l", "-f"]).arg(&file).output().ok()?;
    let _ = std::fs::remove_file(&file);
    if out.status.success() {
        return Some(Ok(()));
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .split("Line ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    Some(Err(line))
}

#[test]
fn same_verdict_as_keepalived() {
    // (VRRP blocks are not compared: keepalived checks them against the host's interfaces,
    // and the director skips them.)
    if !Path::new("/usr/sbin/keepalived").exists() {
        eprintln!(
            "SKIPPED: /usr/sbin/keepalived is absent (scripts/suites/director-config.prepare installs it)"
        );
        return;
    }
    let ok = "virtual_server 10.0.0.1 80 {\n  lvs_sched rr\n  lvs_method NAT\n  protocol TCP\n  real_server 10.0.0.2 80 {\n    weight 2\n    TCP_CHECK {\n      connect_timeout 3\n    }\n  }\n}\n";
    let cases: Vec<String> = vec![
        ok.into(),
        ok.replace("lvs_sched rr", "lvs_sched bogus"),
        ok.replace("weight 2", "weight x"),
        ok.replace("weight 2", "frobnicate"),
        ok.replace("connect_timeout 3", "connect_timeout 3.1234567"),
        ok.replace("connect_timeout 3", "connect_port 0"),
        ok.replace("lvs_method NAT", "lvs_method TUN type gue"),
        ok.replace("protocol TCP", "protocol ICMP"),
        ok.replace("10.0.0.2 80", "10.0.0.300 80"),
        ok.replace(
            "TCP_CHECK {\n      connect_timeout 3\n    }",
            "HTTP_GET {\n      url {\n        path /\n        status_code 99\n      }\n    }",
        ),
        ok.replace("TCP_CHECK {\n      connect_timeout 3\n    }", "DNS_CHECK {\n      type BOGUS\n    }"),
        format!(
            "global_defs {{\n  enable_script_security\n  script_user root\n}}\n{}",
            ok.replace(
                "TCP_CHECK {\n      connect_timeout 3\n    }",
                "MISC_CHECK {\n      misc_path /bin/true\n      misc_timeout 3\n    }"
            )
        ),
        format!("global_defs {{\n  lvs_sync_daemon eth0 VI_1 id 300\n}}\n{ok}"),
        format!("global_defs {{\n  lvs_timeouts tcp 60 udp 30\n}}\n{ok}"),
    ];
    for (n, text) in cases.iter().enumerate() {
        let theirs = reference(text, n).expect("keepalived ran");
        let ours = keepalived::parse(FILE.as_ref(), &src(text)).map(|_| ()).map_err(|e| e.origin.line);
        match (&ours, &theirs) {
            (Ok(()), Ok(())) => {}
            (Err(a), Err(b)) if a == b || *b == 0 => {}
            _ => panic!("{text}\nours {ours:?}, keepalived's {theirs:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Never a panic.

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn fragment() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "virtual_server 10.0.0.1 80 {",
            "virtual_server fwmark 1 {",
            "virtual_server group g {",
            "virtual_server_group g {",
            "10.0.0.1-5 80",
            "fwmark 3 inet6",
            "real_server 10.0.0.2 80 {",
            "real_server 2001:db8::1 {",
            "}",
            "{",
            "} }",
            "lvs_sched rr",
            "lb_kind TUN type gue port 1",
            "protocol UDP",
            "persistence_timeout",
            "persistence_granularity 64",
            "quorum 3",
            "hysteresis 5",
            "weight 0",
            "alpha",
            "inhibit_on_failure",
            "sorry_server 10.0.0.9",
            "sorry_server_inhibit",
            "HTTP_GET {",
            "url {",
            "path /",
            "status_code 200-299",
            "digest 00112233445566778899aabbccddeeff",
            "regex \"a\\\"b\"",
            "TCP_CHECK {",
            "SMTP_CHECK {",
            "host {",
            "DNS_CHECK {",
            "MISC_CHECK {",
            "misc_path \"/bin/x 'a\"",
            "UDP_CHECK {",
            "payload 0a 1",
            "connect_port 8080",
            "connect_ip ::1",
            "bindto 10.0.0.1",
            "retry 0",
            "delay_loop 0.5",
            "global_defs {",
            "lvs_sync_daemon eth0 VI_1 id 3",
            "vrrp_instance VI_1 {",
            "virtual_router_id 9",
            "include x.conf",
            "include *.conf",
            "@main weight 2",
            "$X=1",
            "$X",
            "${X}",
            "! comment",
            "# c",
            "\"",
            "\\",
            "sh-port",
            "ops",
            "~SEQ(a,1,2)",
        ])
        .prop_map(str::to_owned)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..1500)) {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let src = MemorySource::new().with(FILE, text.clone()).with("/etc/keepalived/x.conf", text);
            let _ = keepalived::parse(FILE.as_ref(), &src);
        }

        #[test]
        fn arbitrary_lines(lines in proptest::collection::vec(fragment(), 0..60)) {
            let text = lines.join("\n");
            let src = MemorySource::new().with(FILE, text.clone()).with("/etc/keepalived/x.conf", text);
            let _ = keepalived::parse_with(FILE.as_ref(), &src, &Options::default().with_config_id("main"));
        }
    }

    #[test]
    fn deep_nesting_and_long_lines() {
        let deep = "a {\n".repeat(10_000) + &"}\n".repeat(10_000);
        let _ = keepalived::parse(FILE.as_ref(), &src(&deep));
        let long = format!("virtual_server {} 80 {{\n}}\n", "1".repeat(100_000));
        assert!(keepalived::parse(FILE.as_ref(), &src(&long)).is_err());
        let _ = IpAddr::from([0, 0, 0, 0]);
    }
}
