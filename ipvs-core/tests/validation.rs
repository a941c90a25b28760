//! Every validation rule of the model, at its edges: the last accepted value and the first
//! refused one, and the field each error names.
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr};

use ipvs_core::{
    AddressFamily, Destination, Field, ForwardMethod, Netmask, Operation, PeName, Protocol, Scheduler,
    Service, ServiceFlags, ServiceKey, SyncDaemon, SyncRole, Timeouts, Tunnel, TunnelFlags, TunnelType,
    ValidationError,
};

fn v4(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn tcp() -> ServiceKey {
    ServiceKey::tcp(v4("10.0.0.1"), 80)
}

fn field_of(r: Result<(), ValidationError>) -> Field {
    r.expect_err("expected a validation error").field()
}

fn out_of_range(r: Result<(), ValidationError>) -> (Field, u64, u64, u64) {
    match r {
        Err(ValidationError::OutOfRange { field, value, min, max }) => (field, value, min, max),
        other => panic!("expected OutOfRange, got {other:?}"),
    }
}

#[test]
fn defaults_are_valid() {
    Service::new(tcp()).validate().unwrap();
    Service::new(ServiceKey::udp(v4("2001:db8::1"), 53)).validate().unwrap();
    Service::new(ServiceKey::sctp(v4("10.0.0.1"), 5060)).validate().unwrap();
    Service::new(ServiceKey::fwmark(1, AddressFamily::Inet)).validate().unwrap();
    Destination::new("192.168.1.10:80".parse().unwrap()).validate_for(&tcp()).unwrap();
    Timeouts::default().validate().unwrap();
    SyncDaemon::new(SyncRole::Backup, "eth0", 0).validate().unwrap();
}

#[test]
fn fwmark_is_1_or_more() {
    let (f, value, min, max) = out_of_range(ServiceKey::fwmark(0, AddressFamily::Inet).validate());
    assert_eq!((f, value, min, max), (Field::Fwmark, 0, 1, u64::from(u32::MAX)));
    ServiceKey::fwmark(u32::MAX, AddressFamily::Inet6).validate().unwrap();
}

#[test]
fn only_tcp_udp_sctp_services_are_created() {
    let gre = Protocol::from_raw(47);
    assert!(matches!(gre, Protocol::Other(o) if o.get() == 47), "{gre:?}");
    let k = ServiceKey::Addr { protocol: gre, addr: v4("10.0.0.1"), port: 80 };
    let refused = ValidationError::Invalid {
        field: Field::Protocol,
        reason: "only TCP (6), UDP (17) and SCTP (132) services can be created",
    };
    assert_eq!(k.validate(), Err(refused.clone()));
    assert_eq!(field_of(Service::new(k).validate()), Field::Protocol);
    // ...but one that another program created can be deleted and zeroed.
    assert_eq!(ipvs_core::Operation::DeleteService(k).validate(), Ok(()));
    assert_eq!(ipvs_core::Operation::Zero(Some(k)).validate(), Ok(()));
    // ...and its real servers managed (the kernel takes any protocol number there).
    let d = ipvs_core::Destination::new("192.168.1.1:80".parse().unwrap());
    assert_eq!(ipvs_core::Operation::AddDestination(k, d.clone()).validate(), Ok(()));
    assert_eq!(ipvs_core::Operation::EditDestination(k, d.clone()).validate(), Ok(()));
    assert_eq!(ipvs_core::Operation::DeleteDestination(k, d.key()).validate(), Ok(()));
    // A bad real server is still refused for such a service.
    let bad = d.clone().with_weight(u32::MAX);
    assert_eq!(field_of(ipvs_core::Operation::AddDestination(k, bad).validate()), Field::Weight);
    assert_eq!(ipvs_core::Operation::AddService(Service::new(k)).validate(), Err(refused.clone()));
    assert_eq!(ipvs_core::Operation::EditService(Service::new(k)).validate(), Err(refused));
    let zero_mark = ServiceKey::fwmark(0, AddressFamily::Inet);
    assert_eq!(
        out_of_range(ipvs_core::Operation::DeleteService(zero_mark).validate()),
        (Field::Fwmark, 0, 1, u64::from(u32::MAX))
    );
}

#[test]
fn raw_numbers_with_a_name_are_the_named_variant() {
    // A number with a variant of its own never becomes Other, so values equal to the kernel
    // are equal here.
    for (raw, p) in [(6, Protocol::Tcp), (17, Protocol::Udp), (132, Protocol::Sctp)] {
        assert_eq!(Protocol::from_raw(raw), p);
        assert_eq!(p.to_raw(), raw);
        let k = ServiceKey::Addr { protocol: Protocol::from_raw(raw), addr: v4("10.0.0.1"), port: 80 };
        k.validate().unwrap();
    }
    for raw in [0u16, 1, 47, 58, 255, 256, u16::MAX] {
        let p = Protocol::from_raw(raw);
        assert!(matches!(p, Protocol::Other(o) if o.get() == raw), "{raw}: {p:?}");
        assert_eq!((p.to_raw(), p.name()), (raw, "?"));
    }
    for raw in 0..=255u8 {
        let t = TunnelType::from_raw(raw);
        assert_eq!(t.to_raw(), raw);
        match raw {
            0 => assert_eq!(t, TunnelType::Ipip),
            1 => assert_eq!(t, TunnelType::Gue),
            2 => assert_eq!(t, TunnelType::Gre),
            _ => assert!(matches!(t, TunnelType::Other(o) if o.get() == raw), "{raw}: {t:?}"),
        }
    }
    for s in Scheduler::KNOWN.iter().chain([&Scheduler::Unbound]) {
        assert_eq!(Scheduler::from(s.name()), *s);
        assert!(!matches!(s, Scheduler::Other(_)), "{s:?}");
    }
    let zz: Scheduler = "zz".parse().unwrap();
    assert!(matches!(&zz, Scheduler::Other(o) if o.as_str() == "zz"), "{zz:?}");
    assert_eq!(zz.name(), "zz");
}

#[test]
fn virtual_address_cannot_be_multicast() {
    let k = ServiceKey::tcp(v4("224.0.0.1"), 80);
    assert_eq!(field_of(k.validate()), Field::ServiceAddress);
    let k = ServiceKey::tcp(v4("ff02::1"), 80);
    assert_eq!(field_of(k.validate()), Field::ServiceAddress);
}

#[test]
fn scheduler_name_limits() {
    // Every name here is unknown, so each is a Scheduler::Other holding the name unchanged.
    let other = |name: &str| {
        let s = Scheduler::from(name);
        assert!(matches!(&s, Scheduler::Other(o) if o.as_str() == name), "{name:?}: {s:?}");
        s
    };
    let ok = other(&"a".repeat(15));
    ok.validate().unwrap();
    match other(&"a".repeat(16)).validate() {
        Err(ValidationError::TooLong { field: Field::Scheduler, len: 16, max: 15 }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(field_of(other("").validate()), Field::Scheduler);
    assert_eq!(field_of(other("w rr").validate()), Field::Scheduler);
    assert_eq!(field_of(other("wrr\0").validate()), Field::Scheduler);
    assert_eq!(field_of(other("wrré").validate()), Field::Scheduler);
    let svc = Service::new(tcp()).with_scheduler(other(&"x".repeat(16)));
    assert_eq!(field_of(svc.validate()), Field::Scheduler);
}

#[test]
fn scheduler_names_round_trip() {
    assert_eq!(Scheduler::KNOWN.len(), 14);
    for s in Scheduler::KNOWN {
        assert_eq!(s.name().parse::<Scheduler>().unwrap(), *s);
        s.validate().unwrap();
    }
    assert_eq!("none".parse::<Scheduler>().unwrap(), Scheduler::Unbound);
    assert_eq!(Scheduler::Unbound.to_string(), "none");
}

#[test]
fn pe_name_limits() {
    assert_eq!(PeName::new("x".repeat(16)).unwrap().as_str(), "x".repeat(16));
    match PeName::new("x".repeat(17)) {
        Err(ValidationError::TooLong { field: Field::PersistenceEngine, len: 17, max: 16 }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(PeName::new("").unwrap_err().field(), Field::PersistenceEngine);
    let svc = Service::new(tcp()).with_persistence(360, None).with_pe(PeName::from_kernel("s i p"));
    assert_eq!(field_of(svc.validate()), Field::PersistenceEngine);
}

#[test]
fn persistence_timeout_limits() {
    Service::new(tcp()).with_persistence(1, None).validate().unwrap();
    Service::new(tcp()).with_persistence(Service::MAX_TIMEOUT, None).validate().unwrap();
    let (f, v, min, max) = out_of_range(Service::new(tcp()).with_persistence(0, None).validate());
    assert_eq!((f, v, min, max), (Field::PersistenceTimeout, 0, 1, 2_678_400));
    let (f, v, ..) = out_of_range(Service::new(tcp()).with_persistence(2_678_401, None).validate());
    assert_eq!((f, v), (Field::PersistenceTimeout, 2_678_401));
    // Without persistence a timeout is only bounded above.
    let mut s = Service::new(tcp());
    s.timeout = 2_678_400;
    s.validate().unwrap();
    s.timeout = 2_678_401;
    assert_eq!(field_of(s.validate()), Field::PersistenceTimeout);
}

#[test]
fn netmask_family_and_prefix() {
    let v6 = ServiceKey::tcp(v4("2001:db8::1"), 80);
    Service::new(v6).with_persistence(60, Some(Netmask::V6(1))).validate().unwrap();
    Service::new(v6).with_persistence(60, Some(Netmask::V6(128))).validate().unwrap();
    let (f, v, min, max) =
        out_of_range(Service::new(v6).with_persistence(60, Some(Netmask::V6(0))).validate());
    assert_eq!((f, v, min, max), (Field::Netmask, 0, 1, 128));
    assert_eq!(
        field_of(Service::new(v6).with_persistence(60, Some(Netmask::V6(129))).validate()),
        Field::Netmask
    );
    // The kernel refuses a bad IPv6 prefix even on a non-persistent service.
    let mut s = Service::new(v6);
    s.netmask = Netmask::V6(0);
    assert_eq!(field_of(s.validate()), Field::Netmask);
    // A mask of the wrong family.
    let m = Netmask::V4(Ipv4Addr::new(255, 255, 255, 0));
    match Service::new(v6).with_persistence(60, Some(m)).validate() {
        Err(ValidationError::FamilyMismatch { field: Field::Netmask, expected, got }) => {
            assert_eq!((expected, got), (AddressFamily::Inet6, AddressFamily::Inet));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        field_of(Service::new(tcp()).with_persistence(60, Some(Netmask::V6(64))).validate()),
        Field::Netmask
    );
    // Any IPv4 mask is accepted, as ipvsadm and the kernel do.
    Service::new(tcp())
        .with_persistence(60, Some(Netmask::V4(Ipv4Addr::new(0, 0, 0, 24))))
        .validate()
        .unwrap();
}

#[test]
fn netmask_parsing() {
    assert_eq!("255.255.0.0".parse::<Netmask>().unwrap(), Netmask::V4(Ipv4Addr::new(255, 255, 0, 0)));
    assert_eq!("64".parse::<Netmask>().unwrap(), Netmask::V6(64));
    assert_eq!("0".parse::<Netmask>().unwrap_err().field(), Field::Netmask);
    assert_eq!("129".parse::<Netmask>().unwrap_err().field(), Field::Netmask);
    assert_eq!("+64".parse::<Netmask>().unwrap_err().field(), Field::Netmask);
    assert_eq!("x".parse::<Netmask>().unwrap_err().field(), Field::Netmask);
    assert_eq!(Netmask::V4(Ipv4Addr::new(255, 255, 255, 0)).prefix_len(), 24);
}

#[test]
fn port_zero_needs_persistence() {
    let k = ServiceKey::tcp(v4("10.0.0.1"), 0);
    assert_eq!(field_of(Service::new(k).validate()), Field::ServicePort);
    Service::new(k).with_persistence(360, None).validate().unwrap();
}

#[test]
fn one_packet_only_for_udp_and_fwmark() {
    Service::new(ServiceKey::udp(v4("10.0.0.1"), 53)).with_flags(ServiceFlags::ONEPACKET).validate().unwrap();
    Service::new(ServiceKey::fwmark(3, AddressFamily::Inet))
        .with_flags(ServiceFlags::ONEPACKET)
        .validate()
        .unwrap();
    assert_eq!(field_of(Service::new(tcp()).with_flags(ServiceFlags::ONEPACKET).validate()), Field::Flags);
}

#[test]
fn flags_unknown_bits_are_refused_and_hashed_ignored() {
    Service::new(tcp()).with_flags(ServiceFlags::HASHED | ServiceFlags::SCHED_MASK).validate().unwrap();
    match Service::new(tcp()).with_flags(ServiceFlags::from_bits_retain(0x40)).validate() {
        Err(ValidationError::UnknownBits { field: Field::Flags, bits: 0x40 }) => {}
        other => panic!("{other:?}"),
    }
    let s = Service::new(tcp()).with_flags(ServiceFlags::HASHED | ServiceFlags::PERSISTENT);
    assert_eq!(s.flags_to_write(), ServiceFlags::PERSISTENT);
}

fn dest() -> Destination {
    Destination::new("192.168.1.10:80".parse().unwrap())
}

#[test]
fn weight_and_threshold_limits() {
    let max = Destination::MAX_WEIGHT;
    assert_eq!(max, 2_147_483_647);
    dest().with_weight(0).validate().unwrap();
    dest().with_weight(max).validate().unwrap();
    let (f, v, min, m) = out_of_range(dest().with_weight(max + 1).validate());
    assert_eq!((f, v, min, m), (Field::Weight, u64::from(max) + 1, 0, u64::from(max)));
    dest().with_thresholds(max, max).validate().unwrap();
    assert_eq!(out_of_range(dest().with_thresholds(max + 1, 0).validate()).0, Field::UpperThreshold);
    let mut d = dest();
    d.lower_threshold = max + 1;
    d.upper_threshold = max + 1;
    assert_eq!(out_of_range(d.validate()).0, Field::UpperThreshold);
}

#[test]
fn lower_threshold_not_above_upper() {
    dest().with_thresholds(10, 10).validate().unwrap();
    let (f, v, _, max) = out_of_range(dest().with_thresholds(10, 11).validate());
    assert_eq!((f, v, max), (Field::LowerThreshold, 11, 10));
    // The kernel compares them even when there is no upper threshold.
    assert_eq!(out_of_range(dest().with_thresholds(0, 1).validate()).0, Field::LowerThreshold);
}

#[test]
fn destination_address_must_be_unicast() {
    for a in ["0.0.0.0:80", "255.255.255.255:80", "224.0.0.5:80", "[::]:80", "[ff02::1]:80"] {
        let d = Destination::new(a.parse().unwrap());
        assert_eq!(field_of(d.validate()), Field::DestinationAddress, "{a}");
    }
    Destination::new("[2001:db8::10]:80".parse().unwrap()).validate().unwrap();
}

#[test]
fn forward_method_raw_values() {
    for raw in 0..8u32 {
        let m = ForwardMethod::from_raw(raw);
        assert_eq!(m.to_raw(), raw);
        let r = dest().with_forward(m).validate();
        if raw <= 4 {
            assert!(!matches!(m, ForwardMethod::Other(_)), "{raw}: {m:?}");
            r.unwrap();
        } else {
            assert!(matches!(m, ForwardMethod::Other(o) if u32::from(o.get()) == raw), "{raw}: {m:?}");
            assert_eq!(out_of_range(r), (Field::ForwardMethod, u64::from(raw), 0, 4));
        }
    }
    assert_eq!(ForwardMethod::from_raw(0x13), ForwardMethod::DirectRoute);
    assert_eq!(ForwardMethod::from_raw(0), ForwardMethod::Masquerade);
    assert_eq!(ForwardMethod::from_raw(1), ForwardMethod::Local);
    assert_eq!(ForwardMethod::from_raw(2), ForwardMethod::Tunnel);
    assert_eq!(ForwardMethod::from_raw(4), ForwardMethod::Bypass);
}

#[test]
fn mixed_family_only_for_tunnels() {
    let d6 = Destination::new("[2001:db8::10]:80".parse().unwrap());
    match d6.clone().with_forward(ForwardMethod::Masquerade).validate_for(&tcp()) {
        Err(ValidationError::FamilyMismatch { field: Field::DestinationAddress, expected, got }) => {
            assert_eq!((expected, got), (AddressFamily::Inet, AddressFamily::Inet6));
        }
        other => panic!("{other:?}"),
    }
    d6.with_forward(ForwardMethod::Tunnel).validate_for(&tcp()).unwrap();
}

#[test]
fn tunnel_rules() {
    let t = |kind, port, flags| {
        let mut tunnel = Tunnel::default();
        (tunnel.kind, tunnel.port, tunnel.flags) = (kind, port, flags);
        dest().with_forward(ForwardMethod::Tunnel).with_tunnel(tunnel)
    };
    t(TunnelType::Ipip, 0, TunnelFlags::empty()).validate().unwrap();
    t(TunnelType::Gue, 1, TunnelFlags::REMCSUM).validate().unwrap();
    t(TunnelType::Gue, 65535, TunnelFlags::CSUM).validate().unwrap();
    t(TunnelType::Gre, 0, TunnelFlags::CSUM).validate().unwrap();
    assert_eq!(field_of(t(TunnelType::Gue, 0, TunnelFlags::empty()).validate()), Field::TunnelPort);
    // The kernel checks the GUE port whatever the forwarding method.
    let mut d = dest();
    d.tunnel.kind = TunnelType::Gue;
    assert_eq!(field_of(d.validate()), Field::TunnelPort);
    assert_eq!(
        out_of_range(t(TunnelType::from_raw(3), 0, TunnelFlags::empty()).validate()),
        (Field::TunnelType, 3, 0, 2)
    );
    assert_eq!(field_of(t(TunnelType::Gre, 0, TunnelFlags::REMCSUM).validate()), Field::TunnelFlags);
    assert_eq!(
        field_of(t(TunnelType::Gue, 9, TunnelFlags::CSUM | TunnelFlags::REMCSUM).validate()),
        Field::TunnelFlags
    );
    match t(TunnelType::Gue, 9, TunnelFlags::from_bits_retain(4)).validate() {
        Err(ValidationError::UnknownBits { field: Field::TunnelFlags, bits: 4 }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn timeouts_limits() {
    Timeouts::new(2_678_400, 2_678_400, 2_678_400).validate().unwrap();
    Timeouts::DEFAULT.validate().unwrap();
    assert_eq!(Timeouts::DEFAULT, Timeouts::new(900, 120, 300));
    for (t, f) in [
        (Timeouts::new(2_678_401, 0, 0), Field::TimeoutTcp),
        (Timeouts::new(0, 2_678_401, 0), Field::TimeoutTcpFin),
        (Timeouts::new(0, 0, u32::MAX), Field::TimeoutUdp),
    ] {
        assert_eq!(out_of_range(t.validate()).0, f);
    }
}

#[test]
fn sync_daemon_limits() {
    let ok = SyncDaemon::new(SyncRole::Master, "x".repeat(15), 255);
    ok.validate().unwrap();
    match SyncDaemon::new(SyncRole::Master, "x".repeat(16), 0).validate() {
        Err(ValidationError::TooLong { field: Field::SyncInterface, len: 16, max: 15 }) => {}
        other => panic!("{other:?}"),
    }
    // Linux's dev_valid_name: 1..=15 bytes, not "." or "..", no '/', ':', white space or NUL.
    for bad in ["", "a b", "a/b", "..", ".", "a:b", "a\tb", "a\nb", "a\x0bb", "a\x0cb", "a\rb", "a\0b"] {
        assert_eq!(
            field_of(SyncDaemon::new(SyncRole::Master, bad, 0).validate()),
            Field::SyncInterface,
            "{bad:?}"
        );
    }
    for good in ["eth0", "...", ".a", "a.b", "br-lan_1", "x@y", "eth0.100"] {
        SyncDaemon::new(SyncRole::Master, good, 0).validate().unwrap();
    }
    // Bytes that are not UTF-8 are allowed, and the limit counts bytes.
    let latin1 = SyncDaemon::new(SyncRole::Master, &b"v\xe9th0"[..], 0);
    latin1.validate().unwrap();
    assert_eq!(latin1.interface.as_bytes(), b"v\xe9th0");
    assert_eq!(latin1.interface.to_string_lossy(), "v\u{fffd}th0");
    SyncDaemon::new(SyncRole::Master, "é".repeat(7), 0).validate().unwrap();
    match SyncDaemon::new(SyncRole::Master, "é".repeat(8), 0).validate() {
        Err(ValidationError::TooLong { field: Field::SyncInterface, len: 16, max: 15 }) => {}
        other => panic!("{other:?}"),
    }
    let (f, v, _, max) = out_of_range(SyncDaemon::new(SyncRole::Master, "eth0", 256).validate());
    assert_eq!((f, v, max), (Field::SyncId, 256, 255));
    let mut d = SyncDaemon::new(SyncRole::Master, "eth0", 1);
    d.max_len = 65_507;
    d.validate().unwrap();
    d.max_len = 65_508;
    assert_eq!(out_of_range(d.validate()).0, Field::SyncMaxlen);
    d.max_len = 0;
    d.group = Some(v4("224.0.0.81"));
    d.validate().unwrap();
    d.group = Some(v4("ff02::81"));
    d.validate().unwrap();
    d.group = Some(v4("10.0.0.1"));
    assert_eq!(field_of(d.validate()), Field::SyncGroup);
}

#[test]
fn operations_validate_their_contents() {
    let bad = dest().with_weight(u32::MAX);
    assert_eq!(field_of(Operation::AddDestination(tcp(), bad.clone()).validate()), Field::Weight);
    assert_eq!(field_of(Operation::EditDestination(tcp(), bad).validate()), Field::Weight);
    let k0 = ServiceKey::fwmark(0, AddressFamily::Inet);
    assert_eq!(field_of(Operation::DeleteService(k0).validate()), Field::Fwmark);
    assert_eq!(field_of(Operation::Zero(Some(k0)).validate()), Field::Fwmark);
    Operation::Zero(None).validate().unwrap();
    Operation::Flush.validate().unwrap();
}

#[test]
fn errors_name_field_and_limit_in_words() {
    let e = dest().with_weight(u32::MAX).validate().unwrap_err();
    assert_eq!(e.to_string(), "weight (-w): 4294967295 is out of range 0..=2147483647");
    let e = Scheduler::from("x".repeat(16).as_str()).validate().unwrap_err();
    assert_eq!(e.to_string(), "scheduler (-s): 16 bytes is longer than the limit of 15");
}

#[test]
fn display_in_ipvsadm_notation() {
    let s = Service::new(ServiceKey::fwmark(5, AddressFamily::Inet))
        .with_scheduler(Scheduler::Sh)
        .with_flags(ServiceFlags::SH_FALLBACK | ServiceFlags::SH_PORT);
    assert_eq!(s.to_string(), "-A -f 5 -s sh -b sh-fallback,sh-port");
    let s = Service::new(ServiceKey::udp(v4("10.0.0.1"), 53))
        .with_scheduler(Scheduler::Rr)
        .with_flags(ServiceFlags::ONEPACKET);
    assert_eq!(s.to_string(), "-A -u 10.0.0.1:53 -s rr -o");
    let s = Service::new(ServiceKey::tcp(v4("2001:db8::1"), 80))
        .with_persistence(300, Some(Netmask::V6(64)))
        .with_pe(PeName::sip());
    assert_eq!(s.to_string(), "-A -t [2001:db8::1]:80 -s wlc -p 300 -M 64 --pe sip");
    let d = dest().with_forward(ForwardMethod::Tunnel).with_tunnel(Tunnel::gre());
    assert_eq!(d.to_string(), "-r 192.168.1.10:80 -i -w 1 --tun-type gre --tun-nocsum");
    let op = Operation::EditDestination(tcp(), dest().with_thresholds(100, 50).with_weight(0));
    assert_eq!(op.to_string(), "-e -t 10.0.0.1:80 -r 192.168.1.10:80 -g -w 0 -x 100 -y 50");
    let op = Operation::EditService(Service::new(tcp()).with_scheduler(Scheduler::Mh));
    assert_eq!(op.to_string(), "-E -t 10.0.0.1:80 -s mh");
    let mut d = SyncDaemon::new(SyncRole::Backup, "eth1", 9);
    d.max_len = 1400;
    d.group = Some(v4("239.1.1.1"));
    d.port = 9000;
    d.ttl = 2;
    assert_eq!(
        d.to_string(),
        "backup sync daemon (mcast=eth1, syncid=9, maxlen=1400, group=239.1.1.1, port=9000, ttl=2)"
    );
    assert_eq!(
        Operation::StartDaemon(d).to_string(),
        "--start-daemon backup --mcast-interface eth1 --syncid 9 --sync-maxlen 1400 --mcast-group 239.1.1.1 --mcast-port 9000 --mcast-ttl 2"
    );
}
