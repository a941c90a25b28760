#!/usr/bin/env python3
"""The Python side of scripts/bench-python: one step, timed inside the process.

    bench.py ours-add N D        ipvs: build the operations, one Client.apply (pipelined)
    bench.py ours-add-calls N D  ipvs: one add_service/add_destination call per object
    bench.py ours-list           ipvs: Client.services_with_destinations() (with statistics)
    bench.py pyroute2-add N D    pyroute2 0.9.7: IPVS().service("add")/dest("add") per object
    bench.py pyroute2-list       pyroute2: service("dump"), then dest("dump") per service,
                                 each message turned into IPVSService/IPVSDest, statistics read

Prints "STEP SECONDS SERVICES DESTINATIONS". The table is bench-client's (same addresses).
"""

import socket
import sys
import time
from typing import Any, List, Tuple


def vip(i: int) -> str:
    return f"10.{1 + i // 62500}.{i // 250 % 250}.{i % 250 + 1}"


def rip(i: int) -> str:
    return f"172.{16 + i // 62500}.{i // 250 % 250}.{i % 250 + 1}"


def ours_add(n: int, d: int, batch: bool) -> Tuple[float, int, int]:
    import ipvs

    client = ipvs.Client()
    t0 = time.perf_counter()
    if batch:
        ops: List[ipvs.Operation] = []
        for i in range(n):
            key = ipvs.ServiceKey.tcp(vip(i), 80)
            ops.append(ipvs.Operation.add_service(ipvs.Service(key, "wrr")))
            for k in range(d):
                ops.append(ipvs.Operation.add_destination(key, ipvs.Destination(rip(i), 8000 + k, "masq", k + 1)))
        failed = [r for r in client.apply(ops) if r is not None]
        if failed:
            raise SystemExit(f"{len(failed)} operations failed: {failed[0]}")
    else:
        for i in range(n):
            key = ipvs.ServiceKey.tcp(vip(i), 80)
            client.add_service(ipvs.Service(key, "wrr"))
            for k in range(d):
                client.add_destination(key, ipvs.Destination(rip(i), 8000 + k, "masq", k + 1))
    return time.perf_counter() - t0, n, n * d


def ours_list() -> Tuple[float, int, int]:
    import ipvs

    client = ipvs.Client()
    t0 = time.perf_counter()
    table = client.services_with_destinations()
    conns = sum(s.stats.conns for s, _ in table) + sum(d.stats.conns for _, ds in table for d in ds)
    secs = time.perf_counter() - t0
    assert conns >= 0
    return secs, len(table), sum(len(ds) for _, ds in table)


def pyroute2_add(n: int, d: int) -> Tuple[float, int, int]:
    from pyroute2 import IPVS, IPVSDest, IPVSService

    client = IPVS()
    t0 = time.perf_counter()
    for i in range(n):
        svc = IPVSService(addr=vip(i), port=80, protocol=socket.IPPROTO_TCP, sched_name="wrr")
        client.service("add", service=svc)
        for k in range(d):
            client.dest("add", service=svc, dest=IPVSDest(addr=rip(i), port=8000 + k, fwd_method=0, weight=k + 1))
    secs = time.perf_counter() - t0
    client.close()
    return secs, n, n * d


def pyroute2_list() -> Tuple[float, int, int]:
    from pyroute2 import IPVS, IPVSDest, IPVSService

    client = IPVS()
    t0 = time.perf_counter()
    services = 0
    dests = 0
    stats: List[Any] = []
    for msg in client.service("dump"):
        svc = IPVSService.from_message(msg)
        stats.append(msg.get("IPVS_CMD_ATTR_SERVICE").get("IPVS_SVC_ATTR_STATS64"))
        services += 1
        for dmsg in client.dest("dump", service=svc):
            IPVSDest.from_message(dmsg)
            stats.append(dmsg.get("IPVS_CMD_ATTR_DEST").get("IPVS_DEST_ATTR_STATS64"))
            dests += 1
    secs = time.perf_counter() - t0
    client.close()
    assert all(s is not None for s in stats), "statistics read"
    return secs, services, dests


def main(argv: List[str]) -> None:
    step = argv[0]
    if step == "ours-add":
        r = ours_add(int(argv[1]), int(argv[2]), True)
    elif step == "ours-add-calls":
        r = ours_add(int(argv[1]), int(argv[2]), False)
    elif step == "ours-list":
        r = ours_list()
    elif step == "pyroute2-add":
        r = pyroute2_add(int(argv[1]), int(argv[2]))
    elif step == "pyroute2-list":
        r = pyroute2_list()
    else:
        raise SystemExit(__doc__)
    print(f"{step} {r[0]:.6f} {r[1]} {r[2]}")


if __name__ == "__main__":
    main(sys.argv[1:])
