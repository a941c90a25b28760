//! ipvsadm's listings and save format. Each expected string is worked out from the printf
//! formats in ipvsadm.c 1.31 (`print_title`, `print_service_entry`, `print_largenum`,
//! `list_all`, `list_timeout`, `list_daemon`); the comments show the arithmetic. The same
//! outputs were checked byte for byte against the reference build (`ipvsadm_differential.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, SocketAddr};

use ipvs_core::ipvsadm::cmdline::ListFormat;
use ipvs_core::ipvsadm::list::{self, compare_services, largenum, sort_services};
use ipvs_core::ipvsadm::{NumericResolver, Resolver};
use ipvs_core::{
    AddressFamily, Destination, DestinationStatus, ForwardMethod, Info, Netmask, PeName, Protocol, Scheduler,
    Service, ServiceFlags, ServiceKey, ServiceStatus, Stats, SyncDaemon, SyncRole, Timeouts, Tunnel,
    TunnelFlags,
};

const INFO: Info = Info::new(0x010201, 4096);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn dest(
    addr: &str,
    port: u16,
    fwd: ForwardMethod,
    weight: u32,
    active: u32,
    inactive: u32,
) -> DestinationStatus {
    let mut d = DestinationStatus::new(
        Destination::new(SocketAddr::new(ip(addr), port)).with_forward(fwd).with_weight(weight),
    );
    d.active_conns = active;
    d.inactive_conns = inactive;
    d
}

fn status(s: Service) -> ServiceStatus {
    ServiceStatus::new(s)
}

/// The example table: a persistent TCP service with two real servers (kernel order: newest
/// first, so .11 before .10), a one-packet UDP service and an sh fwmark service with a GUE
/// tunnel.
fn table() -> Vec<(ServiceStatus, Vec<DestinationStatus>)> {
    let tcp = Service::new(ServiceKey::tcp(ip("10.0.0.1"), 80))
        .with_persistence(360, Some(Netmask::V4("255.255.255.0".parse().unwrap())));
    let udp = Service::new(ServiceKey::udp(ip("10.0.0.1"), 53))
        .with_scheduler(Scheduler::Rr)
        .with_flags(ServiceFlags::ONEPACKET);
    let fwm = Service::new(ServiceKey::fwmark(5, AddressFamily::Inet))
        .with_scheduler(Scheduler::Sh)
        .with_flags(ServiceFlags::SH_FALLBACK | ServiceFlags::SH_PORT);
    let mut tun = dest("192.168.1.12", 0, ForwardMethod::Tunnel, 1, 0, 0);
    tun.dest.tunnel = Tunnel::gue(6080).with_flags(TunnelFlags::CSUM);
    vec![
        (status(fwm), vec![tun]),
        (
            status(tcp),
            vec![
                dest("192.168.1.11", 80, ForwardMethod::Masquerade, 2, 3, 10),
                dest("192.168.1.10", 80, ForwardMethod::DirectRoute, 1, 0, 0),
            ],
        ),
        (status(udp), vec![]),
    ]
}

#[test]
fn default_listing() {
    // Sorted by fwmark first (0 for address services, so they come first), then family,
    // protocol (TCP 6 < UDP 17), address, port. Dest lines: "  -> %-28s %-7s %-6d %-10u %-10u"
    // keep their trailing blanks.
    let want = "\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.0.0.1:80 wlc persistent 360 mask 255.255.255.0
  -> 192.168.1.10:80              Route   1      0          0         
  -> 192.168.1.11:80              Masq    2      3          10        
UDP  10.0.0.1:53 rr ops
FWM  5 sh (sh-fallback,sh-port)
  -> 192.168.1.12:0               Tunnel  1      0          0         
";
    assert_eq!(list::list_all(&INFO, &table(), &ListFormat::numeric(), &NumericResolver), want);
}

#[test]
fn nosort_keeps_kernel_order() {
    let f = ListFormat { nosort: true, ..ListFormat::numeric() };
    // Services and real servers both in the kernel's order: .11 (the newest) before .10.
    let want = "\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
FWM  5 sh (sh-fallback,sh-port)
  -> 192.168.1.12:0               Tunnel  1      0          0         
TCP  10.0.0.1:80 wlc persistent 360 mask 255.255.255.0
  -> 192.168.1.11:80              Masq    2      3          10        
  -> 192.168.1.10:80              Route   1      0          0         
UDP  10.0.0.1:53 rr ops
";
    assert_eq!(list::list_all(&INFO, &table(), &f, &NumericResolver), want);
}

#[test]
fn save_format() {
    // "-A %s -s %s" [-p %u [-M mask]] [--pe] [-o] [-b flags]; "-a %s -r %s %s -w %d";
    // GUE tunnels add "--tun-type gue --tun-port %d <flag option>".
    let want = "\
-A -t 10.0.0.1:80 -s wlc -p 360 -M 255.255.255.0
-a -t 10.0.0.1:80 -r 192.168.1.10:80 -g -w 1
-a -t 10.0.0.1:80 -r 192.168.1.11:80 -m -w 2
-A -u 10.0.0.1:53 -s rr -o
-A -f 5 -s sh -b sh-fallback,sh-port
-a -f 5 -r 192.168.1.12:0 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum
";
    assert_eq!(list::save(&table(), true, &NumericResolver), want);
}

#[test]
fn stats_and_rate() {
    let mut t = table();
    t.truncate(2);
    let mut svc_stats = Stats::default();
    svc_stats.conns = 12;
    svc_stats.in_packets = 345;
    svc_stats.out_packets = 0;
    svc_stats.in_bytes = 20700;
    svc_stats.out_bytes = 123_456_789_012;
    t[1].0.stats = svc_stats;
    let mut dest_stats = Stats::default();
    dest_stats.cps = 1;
    dest_stats.in_pps = 123_456_789;
    dest_stats.out_pps = 0;
    dest_stats.in_bps = 1500;
    dest_stats.out_bps = 999_999_999;
    t[1].1[1].stats = dest_stats;
    // Title: "%-33s %8s %8s %8s %8s %8s". Counters: <1e8 in %9llu; 123456789012 < 1e14 is
    // 123456789012/1e9 = 123 in "%8lluG". The service line is "%-33s" then the five numbers.
    let f = ListFormat { stats: true, ..ListFormat::numeric() };
    let out = list::list_all(&INFO, &t, &f, &NumericResolver);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[1], "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes");
    assert_eq!(lines[2], "  -> RemoteAddress:Port");
    assert_eq!(lines[3], "TCP  10.0.0.1:80                        12      345        0    20700     123G");
    assert_eq!(lines[4], "  -> 192.168.1.10:80                     0        0        0        0        0");
    // --exact: a 12-digit number in 13 columns.
    let f = ListFormat { stats: true, exact: true, ..ListFormat::numeric() };
    let out = list::list_all(&INFO, &t, &f, &NumericResolver);
    assert_eq!(
        out.lines().nth(3).unwrap(),
        "TCP  10.0.0.1:80                        12      345        0    20700 123456789012"
    );
    // --rate: the dest line prints CPS, InPPS, OutPPS as plain " %8llu" (no scaling), then
    // two scaled numbers: 999999999 < 1e9 is 999999 in "%8lluK".
    let f = ListFormat { rate: true, ..ListFormat::numeric() };
    let out = list::list_all(&INFO, &t, &f, &NumericResolver);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[1], "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS");
    assert_eq!(lines[4], "  -> 192.168.1.10:80                     1 123456789        0     1500  999999K");
}

#[test]
fn largenum_edges() {
    assert_eq!(largenum(99_999_999, false), " 99999999");
    assert_eq!(largenum(100_000_000, false), "  100000K");
    assert_eq!(largenum(999_999_999, false), "  999999K");
    assert_eq!(largenum(1_000_000_000, false), "    1000M");
    assert_eq!(largenum(99_999_999_999, false), "   99999M");
    assert_eq!(largenum(100_000_000_000, false), "     100G");
    assert_eq!(largenum(99_999_999_999_999, false), "   99999G");
    assert_eq!(largenum(100_000_000_000_000, false), "     100T");
    assert_eq!(largenum(u64::MAX, false), "18446744T");
    assert_eq!(largenum(12_345_678, true), " 12345678");
    assert_eq!(largenum(123_456_789, true), " 123456789");
    assert_eq!(largenum(u64::MAX, true), " 18446744073709551615");
}

#[test]
fn thresholds_persistent_conn_and_tunnel_info() {
    let mut t = table();
    t[1].1[1].dest.upper_threshold = 100;
    t[1].1[1].dest.lower_threshold = 75;
    t[1].1[1].persist_conns = 4;
    // "%-33s %-10s %-10s %-10s %-10s": "InActConn" padded to 10 leaves a trailing blank.
    let f = ListFormat { thresholds: true, ..ListFormat::numeric() };
    let out = list::list_all(&INFO, &t, &f, &NumericResolver);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[1], "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn ");
    assert_eq!(lines[3], "TCP  10.0.0.1:80 wlc persistent 360 mask 255.255.255.0");
    assert_eq!(lines[4], "  -> 192.168.1.10:80              100        75         0          0         ");
    let f = ListFormat { persistent_conn: true, ..ListFormat::numeric() };
    let out = list::list_all(&INFO, &t, &f, &NumericResolver);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[1], "Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn ");
    assert_eq!(lines[4], "  -> 192.168.1.10:80              1         4           0          0         ");
    // --tun-info: "%-7s %-13s %-6d"; gue:<port>:<+c>, n/a for non-tunnels.
    let f = ListFormat { tun_info: true, ..ListFormat::numeric() };
    let out = list::list_all(&INFO, &t, &f, &NumericResolver);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[2],
        "  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn"
    );
    assert_eq!(
        lines[4],
        "  -> 192.168.1.10:80              Route   n/a           1      0          0         "
    );
    assert_eq!(
        lines[8],
        "  -> 192.168.1.12:0               Tunnel  gue:6080:+c   1      0          0         "
    );
}

#[test]
fn single_service_has_no_version_line() {
    let t = table();
    let out = list::list_service(&t[2].0, &t[2].1, &ListFormat::numeric(), &NumericResolver);
    assert_eq!(
        out,
        "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\nUDP  10.0.0.1:53 rr ops\n"
    );
}

#[test]
fn ipv6_labels_are_not_cut_and_fwmarks_are_signed() {
    let v6 = Service::new(ServiceKey::tcp(ip("2001:db8:1234:5678:9abc:def0:1234:5678"), 443))
        .with_persistence(60, Some(Netmask::V6(64)))
        .with_pe(PeName::sip());
    let big =
        Service::new(ServiceKey::fwmark(0x8000_0000, AddressFamily::Inet6)).with_flags(ServiceFlags::SCHED3);
    let sh3 = Service::new(ServiceKey::fwmark(7, AddressFamily::Inet))
        .with_scheduler(Scheduler::Sh)
        .with_flags(ServiceFlags::SCHED3);
    let mut d = dest("2001:db8::10", 443, ForwardMethod::Masquerade, 1, 0, 0);
    d.dest.weight = 3_000_000_000; // printed with %d in the default listing
    let t = vec![(status(v6), vec![d]), (status(big), vec![]), (status(sh3), vec![])];
    let out = list::list_all(&INFO, &t, &ListFormat::numeric(), &NumericResolver);
    let lines: Vec<&str> = out.lines().collect();
    // Sorting (glibc's merge sort over [v6, big, sh3]): big vs sh3 is 0x80000000 - 7, a
    // positive int, so sh3 < big; then v6 vs sh3 is 0 - 7 < 0. Result: v6, sh3, big (although
    // big - 0 as an int is negative: the comparator is not a total order).
    assert_eq!(
        lines[3],
        "TCP  [2001:db8:1234:5678:9abc:def0:1234:5678]:443 wlc persistent 60 mask 64 pe sip"
    );
    assert_eq!(lines[4], "  -> [2001:db8::10]:443           Masq    -1294967296 0          0         ");
    // sh shows only sh-fallback and sh-port: flag-3 alone prints empty parentheses.
    assert_eq!(lines[5], "FWM  7 sh ()");
    assert_eq!(lines[6], "FWM  -2147483648 IPv6 wlc (flag-3)");
    // The save format sorts the same way and prints the same signed numbers; sh with flag-3
    // alone writes an empty -b argument.
    assert_eq!(
        list::save(&t, true, &NumericResolver),
        "-A -t [2001:db8:1234:5678:9abc:def0:1234:5678]:443 -s wlc -p 60 -M 64 --pe sip\n\
         -a -t [2001:db8:1234:5678:9abc:def0:1234:5678]:443 -r [2001:db8::10]:443 -m -w -1294967296\n\
         -A -f 7 -s sh -b \n\
         -A -f -2147483648 -6 -s wlc -b flag-3\n"
    );
}

#[test]
fn long_names_are_cut() {
    struct Long;
    impl Resolver for Long {
        fn host_name(&self, _: IpAddr) -> Option<String> {
            Some("a-very-long-host-name.with.many.labels.example.org".into())
        }
        fn service_name(&self, port: u16, p: Protocol) -> Option<String> {
            (port == 80 && p == Protocol::Tcp).then(|| "http".into())
        }
    }
    let t = table();
    let out = list::list_all(&INFO, &t[1..2], &ListFormat::default(), &Long);
    let lines: Vec<&str> = out.lines().collect();
    // The service label "TCP  <name>:http" is cut to 33 bytes, the dest label to 28.
    assert_eq!(lines[3], "TCP  a-very-long-host-name.with.m wlc persistent 360 mask 255.255.255.0");
    assert_eq!(lines[4], "  -> a-very-long-host-name.with.m Route   1      0          0         ");
    // Rule format cuts nothing but the 59-byte name buffer.
    let name = "a-very-long-host-name.with.many.labels.example.org:http";
    assert_eq!(
        list::save(&t[1..2], false, &Long),
        format!(
            "-A -t {name} -s wlc -p 360 -M 255.255.255.0\n\
             -a -t {name} -r {name} -g -w 1\n\
             -a -t {name} -r {name} -m -w 2\n"
        )
    );
    // Numeric output ignores the resolver.
    assert_eq!(
        list::save(&t[1..2], true, &Long),
        "-A -t 10.0.0.1:80 -s wlc -p 360 -M 255.255.255.0\n\
         -a -t 10.0.0.1:80 -r 192.168.1.10:80 -g -w 1\n\
         -a -t 10.0.0.1:80 -r 192.168.1.11:80 -m -w 2\n"
    );
}

#[test]
fn timeouts_and_daemons() {
    assert_eq!(list::list_timeout(&Timeouts::new(900, 120, 300)), "Timeout (tcp tcpfin udp): 900 120 300\n");
    let mut m = SyncDaemon::new(SyncRole::Master, "eth0", 7);
    m.max_len = 1472;
    m.group = Some("224.0.0.81".parse().unwrap());
    m.port = 8848;
    m.ttl = 1;
    let mut b = SyncDaemon::new(SyncRole::Backup, "eth1", 0);
    b.group = Some("ff02::1:0:0".parse().unwrap());
    assert_eq!(
        list::list_daemons(&[m, b]),
        "master sync daemon (mcast=eth0, syncid=7, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n\
         backup sync daemon (mcast=eth1, syncid=0, group=ff02::1:0:0)\n"
    );
}

#[test]
fn comparator_quirks() {
    let a = ServiceKey::tcp(ip("10.0.0.1"), 80);
    let b = ServiceKey::tcp(ip("192.168.0.1"), 80);
    let c = ServiceKey::tcp(ip("100.0.0.1"), 80);
    // 0x0A000001 - 0xC0A80001 = 0x4957FFFF00000000-ish wraps to a positive int: a > b.
    assert!(compare_services(&a, &b) > 0);
    assert!(compare_services(&a, &c) < 0);
    assert!(compare_services(&c, &b) < 0);
    // Not a total order (a < c < b < a): the result is what glibc's merge sort makes of it.
    let mut v = vec![b, a, c];
    sort_services(&mut v, |k| *k);
    assert_eq!(v, vec![b, a, c]);
    let mut v = vec![a, b, c];
    sort_services(&mut v, |k| *k);
    assert_eq!(v, vec![a, c, b]);
}
