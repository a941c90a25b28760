"""Every client operation on the real kernel, with Debian's ipvsadm as the witness."""

from typing import List, Optional

import pytest
from conftest import ipvsadm_restore, ipvsadm_save, sh

import ipvs

VIP = ipvs.ServiceKey.tcp("10.1.2.3", 80)
V6 = ipvs.ServiceKey.udp("2001:db8::1", 53)
MARK = ipvs.ServiceKey.fwmark(7, ipv6=False)


def test_services_and_real_servers() -> None:
    with ipvs.Client() as c:
        c.add_service(ipvs.Service(VIP, "wrr"))
        c.add_service(ipvs.Service(V6, "sh", persistent=True, netmask=64, flags=ipvs.ServiceFlags.SH_PORT))
        c.add_service(ipvs.Service(MARK, "rr", persistent=True, timeout=600, netmask="255.255.255.0"))
        c.add_destination(VIP, ipvs.Destination("192.168.1.10", 80, "masq", 1))
        c.add_destination(VIP, ipvs.Destination("192.168.1.11", 8080, "masq", 2, upper_threshold=100, lower_threshold=50))
        c.add_destination(V6, ipvs.Destination("2001:db8::10", 53, "route", 3))
        c.add_destination(MARK, ipvs.Destination("192.168.2.1", 0, "tunnel", 1, tunnel_type="gue", tunnel_port=6080,
                                                 tunnel_flags=ipvs.TunnelFlags.CSUM))
        c.add_destination(MARK, ipvs.Destination("192.168.2.2", 0, "tunnel", 1, tunnel_type="gre"))
        assert c.save() == ipvsadm_save()
        assert c.listing() == sh("ipvsadm -Ln")
        assert c.listing(thresholds=True) == sh("ipvsadm -Ln --thresholds")
        assert c.listing(tun_info=True) == sh("ipvsadm -Ln --tun-info")
        assert c.listing(stats=True) == sh("ipvsadm -Ln --stats")
        assert str(c.info()) == sh("ipvsadm -Ln").splitlines()[0]

        svc = c.service(V6)
        assert svc.service == ipvs.Service(V6, "sh", persistent=True, netmask=64, flags=ipvs.ServiceFlags.SH_PORT)
        assert svc.stats == ipvs.Stats()
        dests = c.destinations(VIP)
        assert {d.destination.address: d.destination.upper_threshold for d in dests} == {"192.168.1.10": 0, "192.168.1.11": 100}
        assert all(d.active_conns == d.inactive_conns == d.persist_conns == 0 for d in dests)
        table = c.services_with_destinations()
        assert sorted(len(ds) for _, ds in table) == [1, 2, 2]

        c.edit_service(ipvs.Service(VIP, "rr", persistent=True))
        c.edit_destination(VIP, ipvs.Destination("192.168.1.10", 80, "masq", 9))
        assert "-A -t 10.1.2.3:80 -s rr -p 360" in ipvsadm_save().splitlines()
        assert "-a -t 10.1.2.3:80 -r 192.168.1.10:80 -m -w 9" in ipvsadm_save().splitlines()
        c.delete_destination(VIP, "192.168.1.11", 8080)
        c.delete_service(V6)
        assert c.save() == ipvsadm_save()
        assert len(c.services()) == 2
        c.zero(VIP)
        c.zero()
        c.flush()
        assert ipvsadm_save() == "" and c.services() == []


def test_timeouts_daemons_connections() -> None:
    with ipvs.Client() as c:
        c.set_timeouts(ipvs.Timeouts(tcp=1000, udp=200))
        assert c.timeouts() == ipvs.Timeouts(1000, 120, 200)
        assert ipvs.list_timeout(c.timeouts()) == sh("ipvsadm -L --timeout")
        c.start_daemon(ipvs.SyncDaemon("master", "dummy0", 9))
        c.start_daemon(ipvs.SyncDaemon("backup", "dummy0", 9))
        daemons = c.daemons()
        assert [d.role for d in daemons] == ["master", "backup"]
        assert ipvs.list_daemons(daemons) == sh("ipvsadm -L --daemon")
        with pytest.raises(ipvs.ExistsError) as info:
            c.start_daemon(ipvs.SyncDaemon("master", "dummy0", 9))
        assert info.value.object == "sync_daemon"
        c.stop_daemon("master")
        c.stop_daemon("backup")
        assert c.daemons() == [] and sh("ipvsadm -L --daemon") == ""
        assert c.connections() == []
        assert c.connections_text().startswith("Pro FromIP")


def test_apply_pipelines_with_one_result_per_operation() -> None:
    with ipvs.Client() as c:
        ops: List[ipvs.Operation] = []
        for i in range(200):
            key = ipvs.ServiceKey.tcp(f"10.9.{i // 250}.{i % 250 + 1}", 80)
            ops.append(ipvs.Operation.add_service(ipvs.Service(key, "rr")))
            ops.append(ipvs.Operation.add_destination(key, ipvs.Destination("192.168.1.1", 80, "masq")))
            if i % 50 == 0:
                ops.append(ipvs.Operation.add_service(ipvs.Service(key)))  # exists
        results = c.apply(ops)
        assert len(results) == len(ops)
        failed = [i for i, r in enumerate(results) if r is not None]
        assert len(failed) == 4 and all(isinstance(results[i], ipvs.ExistsError) for i in failed)
        assert len(ipvsadm_save().splitlines()) == 400
        stopped = c.apply([ipvs.Operation.delete_service(ipvs.ServiceKey.tcp("10.8.0.1", 1))] + ops[:2], stop_on_error=True)
        assert len(stopped) == 1 and isinstance(stopped[0], ipvs.NotFoundError)
        assert c.window > 1


def test_large_tables_stream() -> None:
    rules = "".join(
        f"-A -t 10.3.{i // 250}.{i % 250 + 1}:80 -s wlc\n"
        + "".join(f"-a -t 10.3.{i // 250}.{i % 250 + 1}:80 -r 172.16.{i // 250}.{i % 250 + 1}:{8000 + k} -m -w 1\n" for k in range(4))
        for i in range(300)
    )
    ipvsadm_restore(rules)
    with ipvs.Client() as c:
        seen = []

        def visit(svc: ipvs.ServiceStatus, dests: List[ipvs.DestinationStatus]) -> Optional[bool]:
            seen.append((svc.key, len(dests)))
            return None

        c.for_each_service_with_destinations(visit)
        assert len(seen) == 300 and all(n == 4 for _, n in seen)
        assert {s.key for s, _ in c} == {k for k, _ in seen}
        stop: List[int] = []
        c.for_each_service_with_destinations(lambda s, d: stop.append(1) is None and len(stop) < 10)
        assert len(stop) == 10
        assert c.save() == ipvsadm_save()


def test_client_options_and_close() -> None:
    c = ipvs.Client(timeout=5.0, verify_dumps=False, max_in_flight=8)
    assert c.timeout == 5.0 and c.window == 8
    c.set_timeout(None)
    assert c.timeout is None
    with pytest.raises(ValueError):
        c.set_timeout(-1)
    assert c.netns_inode is not None
    c.close()
    assert c.closed
    with pytest.raises(ValueError, match="closed"):
        c.services()
