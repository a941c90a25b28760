"""RuleSet (ipvsadm -R/-S text) and the listing functions."""

import json

import pytest

import ipvs

RULES = """-A -t 10.1.2.3:80 -s wrr -p 300
-a -t 10.1.2.3:80 -r 192.168.1.10:80 -m -w 1
-a -t 10.1.2.3:80 -r 192.168.1.11:80 -m -w 2
-A -u [2001:db8::1]:53 -s sh -b sh-port
-a -u [2001:db8::1]:53 -r [2001:db8::10]:53 -g -w 1
-A -f 7 -s rr
-a -f 7 -r 192.168.2.1:0 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum
"""


def test_rules_read_and_save_as_ipvsadm() -> None:
    rs = ipvs.RuleSet.from_text(RULES)
    assert len(rs) == 3
    svc, dests = rs.services[0]
    assert svc == ipvs.Service(ipvs.ServiceKey.tcp("10.1.2.3", 80), "wrr", persistent=True, timeout=300)
    assert [d.weight for d in dests] == [2, 1]  # the kernel's list order: newest first
    saved = rs.save()
    assert saved == str(rs)
    # -S is sorted as libipvs sorts: by fwmark first (0 for address services), then family.
    assert [line.split()[1] for line in saved.splitlines() if line.startswith("-A")] == ["-t", "-u", "-f"]
    assert ipvs.RuleSet.from_text(saved).sorted() == rs.sorted()
    assert ipvs.save(rs) == saved


def test_rules_errors_name_the_line() -> None:
    with pytest.raises(ipvs.RulesError) as info:
        ipvs.RuleSet.from_text("-A -t 10.0.0.1:80\n-X\n")
    assert info.value.line == 2 and isinstance(info.value, ValueError)
    with pytest.raises(ipvs.RulesError) as info:
        ipvs.RuleSet.from_text("-A -t 10.0.0.1:80\n-a -t 10.0.0.2:80 -r 192.168.1.1\n")
    assert info.value.line == 2
    assert isinstance(info.value.__cause__, ipvs.NotFoundError)
    with pytest.raises(ipvs.RulesError):
        ipvs.RuleSet.from_text("# comment\n-A -t 10.0.0.1:80\n")  # ipvsadm has no comments
    assert len(ipvs.RuleSet.from_text("# comment\n-A -t 10.0.0.1:80\n", comments=True)) == 1


def test_rule_set_round_trips_through_json() -> None:
    rs = ipvs.RuleSet.from_text(RULES)
    d = json.loads(json.dumps(rs.to_dict()))
    assert ipvs.RuleSet.from_dict(d) == rs
    assert ipvs.RuleSet(rs.services) == rs
    with pytest.raises(ipvs.ValidationError):
        ipvs.RuleSet([(ipvs.Service(ipvs.ServiceKey.tcp("10.0.0.1", 80)), [ipvs.Destination("2001:db8::1", 80, "masq")])])


def test_listing_functions() -> None:
    rs = ipvs.RuleSet.from_text("-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 192.168.1.10 -m\n")
    info = ipvs.Info(0x010201, 4096)
    assert ipvs.list_all(info, rs) == (
        "IP Virtual Server version 1.2.1 (size=4096)\n"
        "Prot LocalAddress:Port Scheduler Flags\n"
        "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
        "TCP  10.0.0.1:80 rr\n"
        "  -> 192.168.1.10:80              Masq    1      0          0         \n"
    )
    [(svc, dests)] = rs.services
    one = ipvs.list_service(svc, dests)
    assert one.splitlines()[-2:] == ["TCP  10.0.0.1:80 rr", "  -> 192.168.1.10:80              Masq    1      0          0         "]
    assert ipvs.list_timeout(ipvs.Timeouts(900, 120, 300)) == "Timeout (tcp tcpfin udp): 900 120 300\n"
    assert ipvs.list_daemons([ipvs.SyncDaemon("master", "eth0", 7)]) == "master sync daemon (mcast=eth0, syncid=7)\n"


def test_connections_text() -> None:
    proc = (
        "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n"
        "TCP CB007105 C738 0A000001 0050 C0A8010B 0050 ESTABLISHED     899\n"
    )
    [c] = ipvs.parse_connections(proc)
    assert (c.client_address, c.client_port, c.virtual_address, c.dest_address, c.state, c.expires) == (
        "203.0.113.5", 51000, "10.0.0.1", "192.168.1.11", "ESTABLISHED", 899)
    assert ipvs.list_connections(proc).splitlines()[-1] == (
        "TCP 14:59  ESTABLISHED 203.0.113.5:51000  10.0.0.1:80        192.168.1.11:80")
    with pytest.raises(ValueError):
        ipvs.parse_connections("garbage\n")


def test_sort_table_is_ipvsadms_order() -> None:
    # libipvs compares addresses by subtracting them as 32-bit ints: 10.0.0.1 - 192.168.0.1
    # wraps positive, so 192.168.0.1 is listed first.
    rs = ipvs.RuleSet.from_text("-A -t 10.0.0.1:80\n-A -t 192.168.0.1:80\n-A -t 11.0.0.1:80\n")
    order = [s.key.address for s, _ in ipvs.sort_table(rs)]
    assert order == ["192.168.0.1", "10.0.0.1", "11.0.0.1"]
    assert [line.split()[2] for line in rs.save().splitlines()] == [f"{a}:80" for a in order]


def test_parse_endpoint() -> None:
    assert ipvs.parse_endpoint("10.0.0.1:80") == ("10.0.0.1", 80)
    assert ipvs.parse_endpoint("[2001:db8::1]:443") == ("2001:db8::1", 443)
    assert ipvs.parse_endpoint(("10.0.0.1", 8)) == ("10.0.0.1", 8)
    with pytest.raises(ipvs.ValidationError):
        ipvs.parse_endpoint("10.0.0.1")
