"""The value classes: constructors, repr, ==, hash, replace, to_dict/from_dict, validation."""

import ipaddress
import json
from typing import Any, List

import pytest

import ipvs

VIP = ipvs.ServiceKey.tcp("10.1.2.3", 80)


def samples() -> List[Any]:
    return [
        ipvs.ServiceKey.tcp("10.1.2.3", 80),
        ipvs.ServiceKey.udp("2001:db8::1", 53),
        ipvs.ServiceKey.sctp("10.0.0.9", 9),
        ipvs.ServiceKey.fwmark(7),
        ipvs.ServiceKey.fwmark(8, ipv6=True),
        ipvs.ServiceKey(99, "10.0.0.1", 5),
        ipvs.Service(VIP),
        ipvs.Service(VIP, "wrr", persistent=True, timeout=600, netmask="255.255.255.0", pe="sip"),
        ipvs.Service(ipvs.ServiceKey.udp("2001:db8::1", 53), "sh", persistent=True, netmask=64,
                     flags=ipvs.ServiceFlags.SH_PORT | ipvs.ServiceFlags.ONEPACKET),
        ipvs.Destination("192.168.1.10", 80),
        ipvs.Destination("192.168.1.10", 8080, "masq", 0, upper_threshold=10, lower_threshold=5),
        ipvs.Destination("2001:db8::2", 0, "tunnel", 3, tunnel_type="gue", tunnel_port=6080,
                         tunnel_flags=ipvs.TunnelFlags.REMCSUM),
        ipvs.Stats(conns=1, in_bytes=2**40, out_bps=3),
        ipvs.ServiceStatus(ipvs.Service(VIP, "rr"), ipvs.Stats(conns=4)),
        ipvs.DestinationStatus(ipvs.Destination("192.168.1.10", 80), active_conns=2, inactive_conns=1,
                               persist_conns=3, stats=ipvs.Stats(in_packets=9)),
        ipvs.Timeouts(900, 120, 300),
        ipvs.SyncDaemon("master", "eth0", 7, max_len=1400, group="224.0.0.82", port=8849, ttl=2),
        ipvs.SyncDaemon("backup", "eth1"),
        ipvs.Info(0x010201, 4096),
        ipvs.Connection("TCP", "203.0.113.5", 51000, "10.0.0.1", 80, "192.168.1.11", 80, "ESTABLISHED", 899),
        ipvs.Connection("UDP", "203.0.113.5", 5060, "10.0.0.1", 5060, "192.168.1.11", 5060, "UDP", 30,
                        pe_name="sip", pe_data="call-1"),
    ]


@pytest.mark.parametrize("value", samples(), ids=lambda v: type(v).__name__)
def test_repr_reads_like_the_constructor_call(value: Any) -> None:
    assert eval(repr(value), dict(vars(ipvs))) == value


@pytest.mark.parametrize("value", samples(), ids=lambda v: type(v).__name__)
def test_to_dict_round_trips_through_json(value: Any) -> None:
    d = json.loads(json.dumps(value.to_dict()))
    back = type(value).from_dict(d)
    assert back == value
    assert hash(back) == hash(value)


@pytest.mark.parametrize("value", samples(), ids=lambda v: type(v).__name__)
def test_values_are_frozen(value: Any) -> None:
    name = next(iter(value.to_dict()))
    with pytest.raises(AttributeError):
        setattr(value, name, None)


def test_equality_and_hash_follow_the_fields() -> None:
    a = ipvs.Destination("192.168.1.10", 80, "masq", 2)
    b = ipvs.Destination("192.168.1.10", 80, ipvs.ForwardMethod.MASQ, 2)
    c = ipvs.Destination("192.168.1.10", 80, "masq", 3)
    assert a == b and hash(a) == hash(b)
    assert a != c
    assert len({a, b, c}) == 2


def test_replace_changes_only_what_is_named() -> None:
    d = ipvs.Destination("192.168.1.10", 80, "masq", 2, upper_threshold=100)
    e = d.replace(weight=0)
    assert (e.weight, e.forward, e.upper_threshold, e.address) == (0, "masq", 100, "192.168.1.10")
    assert d.weight == 2
    s = ipvs.Service(VIP, "wrr").replace(scheduler="sh", persistent=True)
    assert (s.scheduler, s.persistent, s.timeout) == ("sh", True, 360)
    assert ipvs.ServiceKey.tcp("10.0.0.1", 80).replace(port=443) == ipvs.ServiceKey.tcp("10.0.0.1", 443)
    with pytest.raises(ValueError, match="unknown key"):
        d.replace(wieght=1)
    with pytest.raises(ipvs.ValidationError):
        d.replace(weight=-1)


def test_service_key_fields() -> None:
    k = ipvs.ServiceKey.udp(ipaddress.ip_address("2001:db8::1"), 53)
    assert (k.protocol, k.address, k.port, k.mark, k.family) == ("udp", "2001:db8::1", 53, None, 6)
    assert str(k) == "-u [2001:db8::1]:53"
    f = ipvs.ServiceKey.fwmark(5, ipv6=True)
    assert (f.protocol, f.address, f.port, f.mark, f.family) == (None, None, 0, 5, 6)
    assert str(f) == "-f 5 -6"
    assert ipvs.ServiceKey("TCP", "10.0.0.1", 80) == ipvs.ServiceKey.tcp("10.0.0.1", 80)
    assert ipvs.ServiceKey(ipvs.Protocol.SCTP, "10.0.0.1", 80).protocol == "sctp"


def test_ipv6_addresses_are_written_as_ipvsadm_writes_them() -> None:
    # glibc's inet_ntop: the IPv4-compatible form in dotted notation, unlike Rust's Display.
    assert ipvs.Destination("::1.2.3.4", 80, "tunnel").address == "::1.2.3.4"
    assert ipvs.Destination("2001:db8:0:0:1:0:0:1", 80, "tunnel").address == "2001:db8::1:0:0:1"


def test_service_fields_and_ipvsadm_text() -> None:
    s = ipvs.Service(VIP, "wlc", persistent=True, netmask="255.255.255.0")
    assert (s.persistent, s.timeout, s.netmask, s.pe, s.one_packet) == (True, 360, "255.255.255.0", None, False)
    assert s.flags == ipvs.ServiceFlags.PERSISTENT
    assert str(s) == "-A -t 10.1.2.3:80 -s wlc -p 360 -M 255.255.255.0"
    u = ipvs.Service(ipvs.ServiceKey.udp("10.1.2.3", 53), "sh", flags=ipvs.ServiceFlags.SH_FALLBACK | ipvs.ServiceFlags.ONEPACKET)
    assert u.one_packet and u.sched_flags == "sh-fallback"
    assert str(u) == "-A -u 10.1.2.3:53 -s sh -o -b sh-fallback"
    assert ipvs.Service(VIP).netmask is None


def test_destination_spellings() -> None:
    for spelling, name in [("masq", "masq"), ("nat", "masq"), ("m", "masq"), ("gate", "route"), ("dr", "route"),
                           ("route", "route"), ("ipip", "tunnel"), ("i", "tunnel"), ("local", "local")]:
        assert ipvs.Destination("192.168.1.1", 80, spelling).forward == name
    assert ipvs.Destination("192.168.1.1", 80).forward == "route"  # ipvsadm's default
    assert ipvs.Destination("192.168.1.1", 80).weight == 1
    d = ipvs.Destination("192.168.1.1", 80, "tunnel", tunnel_type="gre", tunnel_flags=ipvs.TunnelFlags.CSUM)
    assert str(d) == "-r 192.168.1.1:80 -i -w 1 --tun-type gre --tun-csum"
    assert d.key == ("192.168.1.1", 80)


def test_enumerations_match_the_extension() -> None:
    assert [s.value for s in ipvs.Scheduler if s is not ipvs.Scheduler.NONE] == ipvs.SCHEDULERS
    assert {m.value for m in ipvs.ForwardMethod} == {
        ipvs.Destination("192.168.1.1", 80, m).forward for m in ipvs.ForwardMethod
    }
    assert {t.value for t in ipvs.TunnelType} == {
        ipvs.Destination("192.168.1.1", 80, "tunnel", tunnel_type=t, tunnel_port=1).tunnel_type for t in ipvs.TunnelType
    }
    persistent = ipvs.Service(VIP, persistent=True)
    assert persistent.flags == ipvs.ServiceFlags.PERSISTENT
    assert ipvs.Service(ipvs.ServiceKey.udp("10.0.0.1", 53), flags=ipvs.ServiceFlags.ONEPACKET).one_packet
    assert ipvs.Service(VIP, "mh", flags=ipvs.ServiceFlags.MH_PORT).sched_flags == "mh-port"
    assert ipvs.Service(VIP, "rr", flags=ipvs.ServiceFlags.SCHED3).sched_flags == "flag-3"


@pytest.mark.parametrize(
    "make, field",
    [
        (lambda: ipvs.Destination("192.168.1.1", 80, weight=2**31), "weight"),
        (lambda: ipvs.Destination("192.168.1.1", 80, weight=-1), "weight"),
        (lambda: ipvs.Destination("192.168.1.1", 70000), "destination_port"),
        (lambda: ipvs.Destination("not an address", 80), "destination_address"),
        (lambda: ipvs.Destination("224.0.0.1", 80), "destination_address"),
        (lambda: ipvs.Destination("192.168.1.1", 80, "carrier pigeon"), "forward_method"),
        (lambda: ipvs.Destination("192.168.1.1", 80, upper_threshold=5, lower_threshold=6), "lower_threshold"),
        (lambda: ipvs.Destination("192.168.1.1", 80, "tunnel", tunnel_type="gue"), "tunnel_port"),
        (lambda: ipvs.Destination("192.168.1.1", 80, "tunnel", tunnel_flags=3), "tunnel_flags"),
        (lambda: ipvs.ServiceKey.fwmark(0), "fwmark"),
        (lambda: ipvs.ServiceKey.tcp("10.0.0.1", -1), "service_port"),
        (lambda: ipvs.Service(ipvs.ServiceKey.tcp("10.0.0.1", 0)), "service_port"),
        (lambda: ipvs.Service(VIP, "a-scheduler-name-too-long"), "scheduler"),
        (lambda: ipvs.Service(VIP, persistent=True, timeout=2_678_401), "persistence_timeout"),
        (lambda: ipvs.Service(VIP, netmask=64), "netmask"),
        (lambda: ipvs.Service(VIP, flags=ipvs.ServiceFlags.ONEPACKET), "flags"),
        (lambda: ipvs.Service(ipvs.ServiceKey(99, "10.0.0.1", 5)), "protocol"),
        (lambda: ipvs.Timeouts(tcp=2_678_401), "timeout_tcp"),
        (lambda: ipvs.SyncDaemon("master", "eth 0"), "sync_interface"),
        (lambda: ipvs.SyncDaemon("master", "eth0", 256), "sync_id"),
        (lambda: ipvs.SyncDaemon("master", "eth0", group="10.0.0.1"), "sync_group"),
    ],
)
def test_bad_values_raise_validation_errors_naming_the_field(make: Any, field: str) -> None:
    with pytest.raises(ipvs.ValidationError) as info:
        make()
    e = info.value
    assert isinstance(e, ValueError) and isinstance(e, ipvs.IpvsError)
    assert e.field == field
    assert e.kind == "validation"
    assert e.errno in (22, 34)
    assert not e.may_have_applied


def test_out_of_range_errors_carry_the_limits() -> None:
    with pytest.raises(ipvs.ValidationError) as info:
        ipvs.Destination("192.168.1.1", 80, weight=2**31)
    assert (info.value.value, info.value.min, info.value.max, info.value.errno) == (2**31, 0, 2**31 - 1, 34)


def test_operations_are_checked_and_print_as_ipvsadm_lines() -> None:
    d = ipvs.Destination("192.168.1.10", 80, "masq", 2)
    op = ipvs.Operation.add_destination(VIP, d)
    assert str(op) == "-a -t 10.1.2.3:80 -r 192.168.1.10:80 -m -w 2"
    assert (op.kind, op.key, op.destination, op.destination_key) == ("add_destination", VIP, d, ("192.168.1.10", 80))
    assert eval(repr(op), dict(vars(ipvs))) == op
    assert str(ipvs.Operation.delete_destination(VIP, "192.168.1.10", 80)) == "-d -t 10.1.2.3:80 -r 192.168.1.10:80"
    assert str(ipvs.Operation.zero()) == "-Z"
    assert str(ipvs.Operation.stop_daemon("backup")) == "--stop-daemon backup"
    # An IPv6 real server of an IPv4 service is only allowed for tunnels: refused when built.
    with pytest.raises(ipvs.ValidationError) as info:
        ipvs.Operation.add_destination(VIP, ipvs.Destination("2001:db8::1", 80, "masq"))
    assert info.value.field == "destination_address"
    ipvs.Operation.add_destination(VIP, ipvs.Destination("2001:db8::1", 80, "tunnel"))
    assert len({op, ipvs.Operation.add_destination(VIP, d)}) == 1
