"""Namespaces, threads and asyncio on the real kernel."""

import asyncio
import itertools
import os
import pathlib
import threading
from typing import Iterator, List

import pytest
from conftest import ipvsadm_save, sh

import ipvs

_names = itertools.count()


@pytest.fixture
def netns() -> Iterator[str]:
    name = f"pyt{os.getpid()}x{next(_names)}"
    sh(f"ip netns add {name} && ip -n {name} link set lo up")
    yield name
    sh(f"ip netns del {name}", check=False)


def test_namespaces_by_name_path_and_fd(netns: str) -> None:
    here = ipvs.Client()
    blue = ipvs.Client(netns=netns)
    assert blue.netns_inode != here.netns_inode
    key = ipvs.ServiceKey.tcp("10.7.0.1", 80)
    blue.add_service(ipvs.Service(key, "rr"))
    assert here.services() == [] and ipvsadm_save() == ""
    assert sh(f"ip netns exec {netns} ipvsadm -Sn") == "-A -t 10.7.0.1:80 -s rr\n"
    by_path = ipvs.Client(netns=f"/run/netns/{netns}")
    by_pathlike = ipvs.Client(netns=pathlib.Path("/run/netns") / netns)
    fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
    try:
        by_fd = ipvs.Client(netns=fd)
    finally:
        os.close(fd)  # the client holds its own descriptor
    for c in (by_path, by_pathlike, by_fd):
        assert c.netns_inode == blue.netns_inode
        assert [s.key for s in c.services()] == [key]
    by_fd.delete_service(key)
    assert sh(f"ip netns exec {netns} ipvsadm -Sn") == ""
    for c in (here, blue, by_path, by_pathlike, by_fd):
        c.close()


def test_threads_share_a_client() -> None:
    client = ipvs.Client()
    errors: List[BaseException] = []

    def work(t: int) -> None:
        try:
            for i in range(40):
                key = ipvs.ServiceKey.tcp(f"10.{t + 1}.0.{i + 1}", 80)
                client.add_service(ipvs.Service(key, "rr"))
                client.add_destination(key, ipvs.Destination("192.168.1.1", 80, "masq"))
                assert client.service(key).key == key
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=300)
    assert not errors and not any(th.is_alive() for th in threads)
    assert len(client.services()) == 160
    assert client.save() == ipvsadm_save()


def test_one_client_per_thread() -> None:
    results: List[int] = []

    def work(t: int) -> None:
        with ipvs.Client() as c:  # opened in this thread, which shares the test's namespace
            c.add_service(ipvs.Service(ipvs.ServiceKey.udp(f"10.5.0.{t + 1}", 53)))
            results.append(len(c.services()))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert len(results) == 3 and len(ipvsadm_save().splitlines()) == 3


def test_waiting_for_the_client_releases_the_gil() -> None:
    # The walk holds the client's lock while its callback runs. The callback starts a thread
    # that calls the same client: that thread waits for the lock. If it waited holding the GIL,
    # the callback could never go on (a deadlock); with the GIL released (py.detach around
    # every call), the callback returns, the walk ends, the lock is free and the thread's call
    # completes.
    client = ipvs.Client()
    client.add_service(ipvs.Service(ipvs.ServiceKey.tcp("10.1.0.1", 80)))
    started = threading.Event()
    got: List[int] = []

    def other() -> None:
        started.set()
        got.append(len(client.services()))

    worker = threading.Thread(target=other)

    def callback(svc: ipvs.ServiceStatus, dests: List[ipvs.DestinationStatus]) -> None:
        worker.start()
        assert started.wait(timeout=60)

    client.for_each_service_with_destinations(callback)
    worker.join(timeout=60)
    assert not worker.is_alive() and got == [1]


def test_asyncio() -> None:
    async def main() -> None:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        t = asyncio.ensure_future(ticker())
        async with await ipvs.AsyncClient.open() as c:
            keys = [ipvs.ServiceKey.tcp(f"10.6.0.{i + 1}", 80) for i in range(20)]
            await asyncio.gather(*(c.add_service(ipvs.Service(k, "rr")) for k in keys))
            results = await c.apply([ipvs.Operation.add_destination(k, ipvs.Destination("192.168.1.1", 80, "masq")) for k in keys])
            assert results == [None] * 20
            before = ticks
            table = await c.services_with_destinations()
            assert ticks > before, "the event loop ran while the kernel was read"
            assert {s.key for s, _ in table} == set(keys)
            seen = [s.key async for s, _ in c.iter_services_with_destinations()]
            assert set(seen) == set(keys) and len(seen) == 20
            assert await c.save() == ipvsadm_save()
            with pytest.raises(ipvs.ExistsError):
                await c.add_service(ipvs.Service(keys[0]))
            await c.delete_service(keys[0])
            assert len(await c.services()) == 19
            assert (await c.info()).version_tuple[0] == 1
        assert c.closed
        t.cancel()

    asyncio.run(main())
