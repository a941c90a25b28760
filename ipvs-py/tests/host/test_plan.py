"""Declarative planning on the in-memory table."""

import pytest

import ipvs

VIP = ipvs.ServiceKey.tcp("10.0.0.1", 80)


def rs(last: int, weight: int = 1) -> ipvs.Destination:
    return ipvs.Destination(f"192.168.1.{last}", 80, "masq", weight)


@pytest.fixture
def table() -> ipvs.MemoryTable:
    t = ipvs.MemoryTable()
    t.add_service(ipvs.Service(VIP, "rr"))
    t.add_destination(VIP, rs(1))
    t.add_destination(VIP, rs(2))
    t.add_service(ipvs.Service(ipvs.ServiceKey.udp("10.0.0.1", 53)))
    return t


DESIRED = ipvs.RuleSet([(ipvs.Service(VIP, "wrr"), [rs(1, 3), rs(3)])])


def test_minimal_plan_edits_in_place(table: ipvs.MemoryTable) -> None:
    p = ipvs.plan_for(table, DESIRED)
    assert str(p) == (
        "-D -u 10.0.0.1:53\n"
        "-E -t 10.0.0.1:80 -s wrr\n"
        "-d -t 10.0.0.1:80 -r 192.168.1.2:80\n"
        "-e -t 10.0.0.1:80 -r 192.168.1.1:80 -m -w 3\n"
        "-a -t 10.0.0.1:80 -r 192.168.1.3:80 -m -w 1\n"
    )
    assert len(p) == 5 and [o.kind for o in p.operations][:2] == ["delete_service", "edit_service"]
    assert p.summary["destinations_edited"] == 1
    assert all(undo for _, undo in p.steps)
    report = p.apply(table)
    assert report.ok and report.succeeded == 5 and report.results == [None] * 5
    assert table.save() == DESIRED.save()
    assert len(ipvs.plan_for(table, DESIRED)) == 0
    assert len(ipvs.plan(table.services_with_destinations(), DESIRED)) == 0


def test_rollback_restores_the_table(table: ipvs.MemoryTable) -> None:
    before = table.save()
    bad = ipvs.RuleSet([(ipvs.Service(VIP, "wrr"), [rs(1, 3)]),
                        (ipvs.Service(ipvs.ServiceKey.tcp("10.0.0.2", 80), "twos"), [])])
    p = ipvs.plan_for(table, bad)
    report = p.apply(table)
    assert not report.ok
    [(index, error)] = report.failures
    assert p.operations[index].kind == "add_service" and isinstance(error, ipvs.SchedulerNotFoundError)
    assert len(p.undo_operations(report)) > 0
    assert all(r is None for r in p.rollback(table, report))
    assert table.save() == before


def test_stop_on_error_stops(table: ipvs.MemoryTable) -> None:
    p = ipvs.plan(table.services_with_destinations(), [(ipvs.Service(ipvs.ServiceKey.tcp("10.0.0.2", 80), "twos"), [rs(9)])])
    assert [o.kind for o in p.operations] == ["delete_service", "delete_service", "add_service", "add_destination"]
    report = p.apply(table, stop_on_error=True)
    assert len(report) == 3, "nothing after the failure is attempted"
    assert report.results[:2] == [None, None] and isinstance(report.results[2], ipvs.SchedulerNotFoundError)


def test_bad_desired_tables_are_refused_before_anything(table: ipvs.MemoryTable) -> None:
    before = table.save()
    with pytest.raises(ipvs.ExistsError, match="listed twice"):
        ipvs.plan_for(table, [(ipvs.Service(VIP), []), (ipvs.Service(VIP), [])])
    with pytest.raises(ipvs.ExistsError, match="listed twice"):
        ipvs.plan([], [(ipvs.Service(VIP), [rs(1), rs(1)])])
    assert table.save() == before


def test_plan_from_empty_is_the_rules(table: ipvs.MemoryTable) -> None:
    p = ipvs.plan([], DESIRED)
    assert str(p) == "-A -t 10.0.0.1:80 -s wrr\n-a -t 10.0.0.1:80 -r 192.168.1.1:80 -m -w 3\n-a -t 10.0.0.1:80 -r 192.168.1.3:80 -m -w 1\n"
    fresh = ipvs.MemoryTable()
    assert fresh.apply(p.operations) == [None, None, None]
    assert ipvs.plan(fresh.services_with_destinations(), DESIRED).operations == []
