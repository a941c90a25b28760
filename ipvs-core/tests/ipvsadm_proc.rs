//! The /proc files (`ip_vs`, `ip_vs_conn`, `ip_vs_conn_sync`), whose formats are the
//! `seq_printf` calls of the kernel's ip_vs_ctl.c and ip_vs_conn.c (6.1), and `ipvsadm -L -c`,
//! whose format is `list_conn`/`print_conn` of ipvsadm.c.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipvs_core::ipvsadm::cmdline::ListFormat;
use ipvs_core::ipvsadm::conn::{
    self, conn_sync_text, conn_text, parse_conn, parse_conn_sync, ConnListError, ConnProtocol, Connection,
    Origin, PeData, SyncConnection,
};
use ipvs_core::ipvsadm::proc::{parse_ip_vs, ProcServiceKey};
use ipvs_core::ipvsadm::{NumericResolver, Resolver};
use ipvs_core::{ForwardMethod, Netmask, Protocol, Scheduler};
use proptest::prelude::*;

const V6_CONN: &str = "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n\
TCP 2001:0db8:0000:0000:0000:0000:0000:0005 C738 2001:0db8:0000:0000:0000:0000:0000:0001 0050 2001:0db8:0000:0000:0000:0000:0000:000a 0050 ESTABLISHED     899\n\
IP  0A000001 0000 00000005 0000 C0A8010B 0000 NONE            358\n\
UDP 0A000002 13C4 0A000001 13C4 C0A8010B 13C4 UDP              59 sip abc@host with space\n";

#[test]
fn conn_parses_ipv6_templates_and_pe_data() {
    let c = parse_conn(V6_CONN).unwrap();
    assert_eq!(c.len(), 3);
    assert_eq!(c[0].client_addr, "2001:db8::5".parse::<IpAddr>().unwrap());
    assert_eq!((c[0].client_port, c[0].virtual_port, c[0].expires), (0xC738, 80, 899));
    assert_eq!(c[1].protocol, ConnProtocol::Ip);
    assert_eq!(c[1].fwmark(), Some(5));
    assert_eq!(c[2].pe, Some(PeData { name: "sip".into(), data: "abc@host with space".into() }));
    // Written back byte for byte.
    assert_eq!(conn_text(&c), V6_CONN);
    assert!(parse_conn("Pro\n").is_err());
    assert_eq!(parse_conn(&format!("{}TCP 0A000001 0050\n", conn::CONN_HEADER)).unwrap_err().line, 2);
}

#[test]
fn conn_sync() {
    let text = format!(
        "{}TCP 0A000001 0050 0A000002 0050 C0A8010B 0050 ESTABLISHED LOCAL      899\n\
         UDP 0A000001 0035 0A000002 0035 C0A8010B 0035 UDP         SYNC        59\n",
        conn::CONN_SYNC_HEADER
    );
    let c = parse_conn_sync(&text).unwrap();
    assert_eq!((c[0].origin, c[1].origin), (Origin::Local, Origin::Sync));
    assert_eq!(conn_sync_text(&c), text);
}

#[test]
fn conn_listing() {
    // "%-3s %-6s %-11s %-18s %-18s %s": expiry as %02d:%02d of minutes and seconds; IPv6
    // compressed in brackets; fwmark templates (protocol IP) show the mark as an IPv4 address.
    let out = conn::list_connections(V6_CONN.as_bytes(), &ListFormat::numeric(), &NumericResolver).unwrap();
    assert_eq!(
        out,
        "IPVS connection entries\n\
         pro expire state       source             virtual            destination\n\
         TCP 14:59  ESTABLISHED [2001:db8::5]:51000 [2001:db8::1]:80   [2001:db8::a]:80\n\
         IP  05:58  NONE        10.0.0.1:0         0.0.0.5:0          192.168.1.11:0\n\
         UDP 00:59  UDP         10.0.0.2:5060      10.0.0.1:5060      192.168.1.11:5060\n"
    );
    // --persistent-conn adds the engine columns for lines with all eleven fields; sscanf's %s
    // keeps only the first word of the data.
    let f = ListFormat { persistent_conn: true, ..ListFormat::numeric() };
    let out = conn::list_connections(V6_CONN.as_bytes(), &f, &NumericResolver).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[1], "pro expire state       source             virtual            destination        pe name          pe_data");
    assert_eq!(lines[4], "UDP 00:59  UDP         10.0.0.2:5060      10.0.0.1:5060      192.168.1.11:5060 sip                abc@host");
    assert_eq!(conn::list_connections(b"", &f, &NumericResolver), Err(ConnListError::UnexpectedInput));
    // A blank piece ends the listing (ipvsadm exits 1).
    let text = format!("{}\n", conn::CONN_HEADER);
    assert!(matches!(
        conn::list_connections(text.as_bytes(), &f, &NumericResolver),
        Err(ConnListError::Aborted { .. })
    ));
}

#[test]
fn conn_listing_with_names() {
    struct R;
    impl Resolver for R {
        fn host_name(&self, a: IpAddr) -> Option<String> {
            (a == IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))).then(|| "vip".into())
        }
        fn service_name(&self, port: u16, p: Protocol) -> Option<String> {
            (port == 80 && p == Protocol::Tcp).then(|| "http".into())
        }
    }
    let c = Connection {
        protocol: ConnProtocol::Tcp,
        client_addr: "203.0.113.5".parse().unwrap(),
        client_port: 51000,
        virtual_addr: "10.0.0.1".parse().unwrap(),
        virtual_port: 80,
        dest_addr: "192.168.1.11".parse().unwrap(),
        dest_port: 80,
        state: "ESTABLISHED".into(),
        expires: 6000,
        pe: None,
    };
    let out = conn::format_connections(&[c], &ListFormat::default(), &R).unwrap();
    assert_eq!(
        out.lines().nth(2).unwrap(),
        "TCP 100:00 ESTABLISHED 203.0.113.5:51000  vip:http           192.168.1.11:http"
    );
}

#[test]
fn proc_ip_vs() {
    // IPv6 services never show "ops"; fwmark lines have one blank less after the scheduler;
    // an IPv6 netmask of 128 shows byte-swapped.
    let text = "IP Virtual Server version 1.2.1 (size=4096)\n\
Prot LocalAddress:Port Scheduler Flags\n  \
-> RemoteAddress:Port Forward Weight ActiveConn InActConn\n\
UDP  0A000001:0035 rr ops  \n  \
-> C0A8010A:0035      Masq    1      0          12        \n\
TCP  [2001:0db8:0000:0000:0000:0000:0000:0001]:01BB sh persistent 15000 80000000\n  \
-> [2001:0db8:0000:0000:0000:0000:0000:000a]:01BB      Tunnel  -1     3          0         \n\
FWM  00000005 none ops persistent 90000 FFFFFF00\n";
    let t = parse_ip_vs(text).unwrap();
    assert_eq!(t.services.len(), 3);
    assert!(t.services[0].onepacket);
    assert_eq!(t.services[0].dests[0].inactive, 12);
    assert_eq!(t.services[1].scheduler, Scheduler::Sh);
    let p = t.services[1].persistence.unwrap();
    assert_eq!((p.timeout_secs(250), p.netmask(true)), (60, Netmask::V6(128)));
    assert_eq!(t.services[1].dests[0].forward, ForwardMethod::Tunnel);
    assert_eq!(t.services[1].dests[0].weight, -1);
    assert_eq!(t.services[1].dests[0].addr, IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 10)));
    assert_eq!(t.services[2].key, ProcServiceKey::Fwmark(5));
    assert_eq!(t.services[2].scheduler, Scheduler::Unbound);
    assert_eq!(
        t.services[2].persistence.unwrap().netmask(false),
        Netmask::V4("255.255.255.0".parse().unwrap())
    );
    assert_eq!(t.to_text(), text);
    assert!(parse_ip_vs("garbage").is_err());
    assert!(parse_ip_vs(&text.replace("Masq", "Nope")).is_err());
}

fn arb_conn() -> impl Strategy<Value = Connection> {
    let addr = |v6: bool| -> BoxedStrategy<IpAddr> {
        if v6 {
            any::<[u8; 16]>().prop_map(|b| IpAddr::V6(Ipv6Addr::from(b))).boxed()
        } else {
            any::<u32>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))).boxed()
        }
    };
    (any::<bool>(), any::<bool>(), 0usize..7)
        .prop_flat_map(move |(v6, dv6, p)| {
            (
                addr(v6),
                addr(v6),
                addr(dv6),
                any::<(u16, u16, u16)>(),
                "[A-Z_]{1,11}",
                any::<u32>(),
                proptest::option::of(("[a-z]{1,8}", "[ -~]{0,40}")),
                Just(p),
            )
        })
        .prop_map(|(c, v, d, (cp, vp, dp), state, expires, pe, p)| Connection {
            protocol: [
                ConnProtocol::Tcp,
                ConnProtocol::Udp,
                ConnProtocol::Sctp,
                ConnProtocol::Ip,
                ConnProtocol::Icmp,
                ConnProtocol::Icmpv6,
                ConnProtocol::from_raw(47),
            ][p],
            client_addr: c,
            client_port: cp,
            virtual_addr: v,
            virtual_port: vp,
            dest_addr: d,
            dest_port: dp,
            state,
            expires,
            pe: pe.map(|(name, data)| PeData { name, data }),
        })
}

proptest! {
    #[test]
    fn conn_text_round_trips(conns in proptest::collection::vec(arb_conn(), 0..6)) {
        let text = conn_text(&conns);
        prop_assert_eq!(parse_conn(&text).unwrap(), conns.clone());
        let sync: Vec<SyncConnection> = conns
            .iter()
            .map(|c| SyncConnection { conn: Connection { pe: None, ..c.clone() }, origin: Origin::Sync })
            .collect();
        prop_assert_eq!(parse_conn_sync(&conn_sync_text(&sync)).unwrap(), sync);
        // The listing never fails on kernel-made text of lines shorter than 255 bytes.
        if text.lines().all(|l| l.len() < 255) {
            prop_assert!(conn::list_connections(text.as_bytes(), &ListFormat::numeric(), &NumericResolver).is_ok());
        }
    }
}
