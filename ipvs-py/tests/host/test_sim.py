"""The scheduler simulator."""

import pytest

import ipvs

VIP = ipvs.ServiceKey.udp("10.0.0.1", 53)


def make(scheduler: str = "rr") -> ipvs.Simulator:
    sim = ipvs.Simulator()
    sim.apply(ipvs.Operation.add_service(ipvs.Service(VIP, scheduler)))
    for last in (1, 2):
        sim.apply(ipvs.Operation.add_destination(VIP, ipvs.Destination(f"192.168.0.{last}", 53, "masq")))
    return sim


def test_round_robin_alternates_and_reuses_connections() -> None:
    sim = make()
    chosen = [sim.flow("udp", f"198.51.100.7:{4000 + i}", "10.0.0.1:53", at=1).destination for i in range(4)]
    assert chosen[0] != chosen[1] and chosen[0] == chosen[2] and chosen[1] == chosen[3]
    again = sim.flow("udp", "198.51.100.7:4000", ("10.0.0.1", 53), at=2)
    assert again.kind == "existing" and again.destination == chosen[0]
    assert sim.tally["new"] == 4 and sim.tally["existing"] == 1
    dist = sim.distribution(VIP)
    assert sum(d.inactive_conns for d in dist) == 4  # UDP never counts as active
    assert len(sim.connections()) == 4
    assert sim.now == 2.0


def test_outcomes() -> None:
    sim = make()
    o = sim.flow("udp", "198.51.100.7:4000", "10.0.0.1:53")
    assert o.kind == "new" and o.service == VIP and o.template == "none" and o.forward_to == o.destination
    assert sim.flow("udp", "198.51.100.7:4000", "10.9.9.9:53").kind == "not_for_ipvs"
    assert sim.flow("tcp", "198.51.100.7:4000", "10.0.0.1:53").kind == "not_for_ipvs"
    sim.apply(ipvs.Operation.edit_destination(VIP, ipvs.Destination("192.168.0.1", 53, "masq", 0)))
    sim.apply(ipvs.Operation.edit_destination(VIP, ipvs.Destination("192.168.0.2", 53, "masq", 0)))
    assert sim.flow("udp", "198.51.100.7:5000", "10.0.0.1:53").kind == "no_destination"


def test_time_passes_and_connections_expire() -> None:
    sim = make()
    sim.flow("udp", "198.51.100.7:4000", "10.0.0.1:53", at=0)
    sim.advance(301)  # the UDP timeout is 300 s
    assert sim.connections() == []
    with pytest.raises(ValueError):
        sim.advance(-1)


def test_configuration_errors_are_the_kernels() -> None:
    sim = make()
    with pytest.raises(ipvs.ExistsError):
        sim.apply(ipvs.Operation.add_service(ipvs.Service(VIP)))
    with pytest.raises(ipvs.SchedulerNotFoundError):
        sim.apply(ipvs.Operation.add_service(ipvs.Service(ipvs.ServiceKey.tcp("10.0.0.1", 80), "twos")))


def test_persistence_templates() -> None:
    sim = ipvs.Simulator()
    key = ipvs.ServiceKey.tcp("10.0.0.1", 80)
    sim.apply(ipvs.Operation.add_service(ipvs.Service(key, "rr", persistent=True)))
    for last in (1, 2):
        sim.apply(ipvs.Operation.add_destination(key, ipvs.Destination(f"192.168.0.{last}", 80, "masq")))
    first = sim.flow("tcp", "198.51.100.7:4000", "10.0.0.1:80")
    second = sim.flow("tcp", "198.51.100.7:4001", "10.0.0.1:80")
    assert (first.template, second.template) == ("created", "reused")
    assert first.destination == second.destination
