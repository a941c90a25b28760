"""MemoryTable: the Backend interface and the kernel's errors, no kernel needed."""

from typing import List, Optional

import pytest

import ipvs

VIP = ipvs.ServiceKey.tcp("10.1.2.3", 80)
RS1 = ipvs.Destination("192.168.1.10", 80, "masq", 1)
RS2 = ipvs.Destination("192.168.1.11", 80, "masq", 2)


@pytest.fixture
def table() -> ipvs.MemoryTable:
    t = ipvs.MemoryTable()
    t.add_service(ipvs.Service(VIP, "wrr"))
    t.add_destination(VIP, RS1)
    t.add_destination(VIP, RS2)
    return t


def test_reads(table: ipvs.MemoryTable) -> None:
    assert table.info() == ipvs.Info(0x010201, 4096)
    [svc] = table.services()
    assert svc.service == ipvs.Service(VIP, "wrr") and svc.key == VIP
    assert table.service(VIP) == svc
    assert [d.destination for d in table.destinations(VIP)] == [RS2, RS1]  # newest first
    [(s, ds)] = table.services_with_destinations()
    assert s == svc and [d.destination for d in ds] == [RS2, RS1]
    assert table.timeouts() == ipvs.Timeouts(900, 120, 300)
    assert table.daemons() == []


def test_edits(table: ipvs.MemoryTable) -> None:
    table.edit_service(ipvs.Service(VIP, "rr", persistent=True))
    assert table.service(VIP).service == ipvs.Service(VIP, "rr", persistent=True, timeout=360)
    table.edit_destination(VIP, RS1.replace(weight=7))
    assert [d.destination.weight for d in table.destinations(VIP)] == [2, 7]
    table.delete_destination(VIP, "192.168.1.11", 80)
    assert [d.destination for d in table.destinations(VIP)] == [RS1.replace(weight=7)]
    table.set_timeouts(ipvs.Timeouts(tcp=60))
    assert table.timeouts() == ipvs.Timeouts(60, 120, 300)
    table.start_daemon(ipvs.SyncDaemon("master", "eth0", 3))
    [d] = table.daemons()
    assert (d.role, d.interface, d.sync_id, d.port, d.ttl) == ("master", "eth0", 3, 8848, 1)
    table.stop_daemon("master")
    assert table.daemons() == []
    table.zero()
    table.zero(VIP)
    table.delete_service(VIP)
    assert table.services() == []
    table.add_service(ipvs.Service(VIP))
    table.flush()
    assert table.services() == []


def test_errors_leave_the_table_unchanged(table: ipvs.MemoryTable) -> None:
    before = table.save()
    cases = [
        (lambda: table.add_service(ipvs.Service(VIP)), ipvs.ExistsError, "service"),
        (lambda: table.add_destination(VIP, RS1), ipvs.ExistsError, "destination"),
        (lambda: table.delete_service(ipvs.ServiceKey.udp("10.1.2.3", 80)), ipvs.NotFoundError, "service"),
        (lambda: table.delete_destination(VIP, "192.168.1.99", 80), ipvs.NotFoundError, "destination"),
        (lambda: table.edit_destination(VIP, RS1.replace(address="192.168.1.99")), ipvs.NotFoundError, "destination"),
        (lambda: table.service(ipvs.ServiceKey.tcp("10.9.9.9", 1)), ipvs.NotFoundError, "service"),
        (lambda: table.stop_daemon("backup"), ipvs.NotFoundError, "sync_daemon"),
    ]
    for call, cls, obj in cases:
        with pytest.raises(cls) as info:
            call()
        assert getattr(info.value, "object") == obj
        assert table.save() == before
    with pytest.raises(ipvs.SchedulerNotFoundError):
        table.add_service(ipvs.Service(ipvs.ServiceKey.tcp("10.1.2.4", 80), "twos"))  # not in Debian's kernel
    with pytest.raises(ipvs.InvalidError) as inv:
        table.add_destination(VIP, ipvs.Destination("fe80::1", 80, "tunnel"))  # link-local
    assert inv.value.errno == 22
    assert table.save() == before


def test_schedulers_can_be_chosen() -> None:
    t = ipvs.MemoryTable(schedulers=["twos"])
    t.add_service(ipvs.Service(VIP, "twos"))
    with pytest.raises(ipvs.SchedulerNotFoundError):
        t.add_service(ipvs.Service(ipvs.ServiceKey.tcp("10.1.2.4", 80), "rr"))


def test_apply_gives_one_result_per_operation(table: ipvs.MemoryTable) -> None:
    k2 = ipvs.ServiceKey.udp("10.1.2.3", 53)
    ops = [
        ipvs.Operation.add_service(ipvs.Service(k2, "rr")),
        ipvs.Operation.add_service(ipvs.Service(k2, "rr")),  # exists
        ipvs.Operation.add_destination(k2, ipvs.Destination("192.168.1.20", 53, "masq")),
    ]
    results = table.apply(ops)
    assert len(results) == 3
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], ipvs.ExistsError)
    stopped = table.apply([ipvs.Operation.delete_service(ipvs.ServiceKey.tcp("10.9.9.9", 9))] + ops, stop_on_error=True)
    assert len(stopped) == 1 and isinstance(stopped[0], ipvs.NotFoundError)
    assert table.apply([]) == []
    with pytest.raises(TypeError):
        table.apply(["-A -t 10.0.0.1:80"])  # type: ignore[list-item]


def test_walks(table: ipvs.MemoryTable) -> None:
    for port in range(1, 6):
        table.add_service(ipvs.Service(ipvs.ServiceKey.tcp("10.2.0.1", port)))
    seen: List[ipvs.ServiceKey] = []

    def visit(svc: ipvs.ServiceStatus, dests: List[ipvs.DestinationStatus]) -> Optional[bool]:
        seen.append(svc.key)
        return None

    table.for_each_service_with_destinations(visit)
    assert seen == [s.key for s in table.services()]
    assert [s.key for s, _ in table] == seen
    assert [s.key for s, _ in table.iter_services_with_destinations()] == seen

    seen.clear()
    table.for_each_service_with_destinations(lambda s, d: seen.append(s.key) is not None or len(seen) < 3)
    assert len(seen) == 3, "returning False stops the walk"

    class Boom(Exception):
        pass

    calls = []

    def fail(svc: ipvs.ServiceStatus, dests: List[ipvs.DestinationStatus]) -> None:
        calls.append(svc)
        if len(calls) == 2:
            raise Boom("stop here")

    with pytest.raises(Boom, match="stop here"):
        table.for_each_service_with_destinations(fail)
    assert len(calls) == 2, "the exception stopped the walk"
    with pytest.raises(TypeError):
        table.for_each_service_with_destinations(42)  # type: ignore[arg-type]


def test_iterator_reads_real_servers_as_it_goes(table: ipvs.MemoryTable) -> None:
    k2 = ipvs.ServiceKey.tcp("10.1.2.4", 80)
    table.add_service(ipvs.Service(k2))
    it = table.iter_services_with_destinations()
    table.add_destination(VIP, ipvs.Destination("192.168.1.12", 80))
    table.add_destination(k2, ipvs.Destination("192.168.1.13", 80))
    table.delete_service(k2)
    got = {s.key: [d.destination.address for d in ds] for s, ds in it}
    assert got[VIP][0] == "192.168.1.12", "read when the iterator reached it"
    # The in-memory table lists a deleted service's real servers as empty (as the kernel's
    # dump does); the kernel client leaves the service out (its GET_SERVICE fails).
    assert got.get(k2, []) == []


def test_context_manager_closes() -> None:
    with ipvs.MemoryTable() as t:
        t.add_service(ipvs.Service(VIP))
        assert not t.closed
    assert t.closed
    with pytest.raises(ValueError, match="closed"):
        t.services()


def test_save_and_listing(table: ipvs.MemoryTable) -> None:
    assert table.save() == (
        "-A -t 10.1.2.3:80 -s wrr\n"
        "-a -t 10.1.2.3:80 -r 192.168.1.10:80 -m -w 1\n"
        "-a -t 10.1.2.3:80 -r 192.168.1.11:80 -m -w 2\n"
    )
    text = table.listing()
    assert text.startswith("IP Virtual Server version 1.2.1 (size=4096)\n")
    assert "TCP  10.1.2.3:80 wrr\n" in text
    assert "  -> 192.168.1.11:80              Masq    2      0          0         \n" in text
    assert "Conns   InPkts  OutPkts  InBytes OutBytes" in table.listing(stats=True)
