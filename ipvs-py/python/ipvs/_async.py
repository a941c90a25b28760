"""``AsyncClient``: the kernel client's methods as coroutines.

Each call runs the blocking client method in a worker thread (``asyncio.to_thread``), so the
event loop never waits on the kernel; the extension releases the GIL during the system calls,
so the loop keeps running Python meanwhile. Calls on one client are serialised by the client
itself (they queue for its lock, off the loop).
"""

from __future__ import annotations

import asyncio
import os
from types import TracebackType
from typing import AsyncIterator, Callable, Iterable, List, Optional, Sequence, Tuple, Type, Union

from ipvs.errors import IpvsError
from ipvs._ipvs import (
    Client,
    Connection,
    Destination,
    DestinationStatus,
    Info,
    Operation,
    Service,
    ServiceKey,
    ServiceStatus,
    SyncDaemon,
    Timeouts,
)

__all__ = ["AsyncClient"]

_Entry = Tuple[ServiceStatus, List[DestinationStatus]]


class AsyncClient:
    """The kernel's IPVS table with every method a coroutine.

    ``AsyncClient(netns=None, *, timeout=30.0, ...)`` takes ``Client``'s arguments (the sockets
    are opened at once, which takes microseconds); ``await AsyncClient.open(...)`` opens them
    off the event loop. ``AsyncClient(client=existing)`` wraps a ``Client``.

    >>> async def main() -> None:
    ...     async with AsyncClient() as ipvs:
    ...         for svc, dests in await ipvs.services_with_destinations():
    ...             print(svc.key, len(dests))
    """

    def __init__(
        self,
        netns: Union[str, "os.PathLike[str]", int, None] = None,
        *,
        timeout: Optional[float] = 30.0,
        verify_dumps: bool = True,
        receive_buffer: Optional[int] = None,
        max_in_flight: Optional[int] = None,
        client: Optional[Client] = None,
    ) -> None:
        if client is None:
            client = Client(
                netns,
                timeout=timeout,
                verify_dumps=verify_dumps,
                receive_buffer=receive_buffer,
                max_in_flight=max_in_flight,
            )
        self._client = client

    @classmethod
    async def open(
        cls,
        netns: Union[str, "os.PathLike[str]", int, None] = None,
        *,
        timeout: Optional[float] = 30.0,
        verify_dumps: bool = True,
        receive_buffer: Optional[int] = None,
        max_in_flight: Optional[int] = None,
    ) -> "AsyncClient":
        """Opens the client in a worker thread."""
        client = await asyncio.to_thread(
            Client,
            netns,
            timeout=timeout,
            verify_dumps=verify_dumps,
            receive_buffer=receive_buffer,
            max_in_flight=max_in_flight,
        )
        return cls(client=client)

    @property
    def client(self) -> Client:
        """The blocking client underneath."""
        return self._client

    async def info(self) -> Info:
        return await asyncio.to_thread(self._client.info)

    async def services(self) -> List[ServiceStatus]:
        return await asyncio.to_thread(self._client.services)

    async def service(self, key: ServiceKey) -> ServiceStatus:
        return await asyncio.to_thread(self._client.service, key)

    async def destinations(self, key: ServiceKey) -> List[DestinationStatus]:
        return await asyncio.to_thread(self._client.destinations, key)

    async def services_with_destinations(self) -> List[_Entry]:
        return await asyncio.to_thread(self._client.services_with_destinations)

    async def for_each_service_with_destinations(
        self, callback: Callable[[ServiceStatus, List[DestinationStatus]], Optional[bool]]
    ) -> None:
        """Walks the table; ``callback`` runs in the worker thread."""
        await asyncio.to_thread(self._client.for_each_service_with_destinations, callback)

    async def iter_services_with_destinations(self) -> AsyncIterator[_Entry]:
        """``async for svc, dests in ipvs.iter_services_with_destinations()``: one service's real
        servers read at a time, each read off the loop."""
        it = await asyncio.to_thread(self._client.iter_services_with_destinations)
        done = object()
        while True:
            item = await asyncio.to_thread(next, it, done)
            if item is done:
                return
            yield item  # type: ignore[misc]

    async def timeouts(self) -> Timeouts:
        return await asyncio.to_thread(self._client.timeouts)

    async def daemons(self) -> List[SyncDaemon]:
        return await asyncio.to_thread(self._client.daemons)

    async def add_service(self, service: Service) -> None:
        await asyncio.to_thread(self._client.add_service, service)

    async def edit_service(self, service: Service) -> None:
        await asyncio.to_thread(self._client.edit_service, service)

    async def delete_service(self, key: ServiceKey) -> None:
        await asyncio.to_thread(self._client.delete_service, key)

    async def add_destination(self, key: ServiceKey, destination: Destination) -> None:
        await asyncio.to_thread(self._client.add_destination, key, destination)

    async def edit_destination(self, key: ServiceKey, destination: Destination) -> None:
        await asyncio.to_thread(self._client.edit_destination, key, destination)

    async def delete_destination(self, key: ServiceKey, address: str, port: int) -> None:
        await asyncio.to_thread(self._client.delete_destination, key, address, port)

    async def flush(self) -> None:
        await asyncio.to_thread(self._client.flush)

    async def zero(self, key: Optional[ServiceKey] = None) -> None:
        await asyncio.to_thread(self._client.zero, key)

    async def set_timeouts(self, timeouts: Timeouts) -> None:
        await asyncio.to_thread(self._client.set_timeouts, timeouts)

    async def start_daemon(self, daemon: SyncDaemon) -> None:
        await asyncio.to_thread(self._client.start_daemon, daemon)

    async def stop_daemon(self, role: str) -> None:
        await asyncio.to_thread(self._client.stop_daemon, role)

    async def apply(self, operations: Iterable[Operation], *, stop_on_error: bool = False) -> List[Optional[IpvsError]]:
        ops: Sequence[Operation] = list(operations)
        return await asyncio.to_thread(self._client.apply, ops, stop_on_error=stop_on_error)

    async def save(self, numeric: bool = True) -> str:
        return await asyncio.to_thread(self._client.save, numeric)

    async def listing(
        self,
        *,
        numeric: bool = True,
        stats: bool = False,
        rate: bool = False,
        thresholds: bool = False,
        persistent_conn: bool = False,
        tun_info: bool = False,
        exact: bool = False,
        nosort: bool = False,
    ) -> str:
        return await asyncio.to_thread(
            self._client.listing,
            numeric=numeric,
            stats=stats,
            rate=rate,
            thresholds=thresholds,
            persistent_conn=persistent_conn,
            tun_info=tun_info,
            exact=exact,
            nosort=nosort,
        )

    async def connections(self) -> List[Connection]:
        return await asyncio.to_thread(self._client.connections)

    async def set_timeout(self, timeout: Optional[float]) -> None:
        await asyncio.to_thread(self._client.set_timeout, timeout)

    async def close(self) -> None:
        await asyncio.to_thread(self._client.close)

    @property
    def closed(self) -> bool:
        return self._client.closed

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        await self.close()
