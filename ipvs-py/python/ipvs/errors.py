"""The exceptions of ``ipvs``.

Every error the library reports is an :class:`IpvsError`. They subclass the built-ins a Python
user already catches:

* :class:`ValidationError` is a ``ValueError``: a bad value, refused before anything reached
  the kernel (``.field`` names the field, ``.value``/``.min``/``.max`` the limit broken).
* :class:`KernelError` is an ``OSError`` with ``errno`` set to the kernel's own errno (and
  ``.message`` to its extended-ack text when it sent one); one subclass per kind of failure.
  :class:`PermissionDeniedError` is also a ``PermissionError``, :class:`IpvsTimeoutError` also a
  ``TimeoutError`` and :class:`ExistsError` also a ``FileExistsError``, so that
  ``except PermissionError:`` works as expected.

The extension module builds these from the Rust error in one place (``ipvs-py/src/error.rs``).

>>> import ipvs
>>> t = ipvs.MemoryTable()
>>> try:
...     t.delete_service(ipvs.ServiceKey.tcp("10.0.0.1", 80))
... except ipvs.NotFoundError as e:
...     print(e.errno, e.object)
3 service
"""

from __future__ import annotations

import builtins
from typing import Optional

__all__ = [
    "IpvsError",
    "ValidationError",
    "RulesError",
    "KernelError",
    "ExistsError",
    "NotFoundError",
    "SchedulerNotFoundError",
    "PermissionDeniedError",
    "ModuleMissingError",
    "InvalidError",
    "AddressFamilyNotSupportedError",
    "NotSupportedError",
    "IpvsTimeoutError",
    "NotSentError",
    "DumpInterruptedError",
    "DecodeError",
    "SystemCallError",
]


class IpvsError(Exception):
    """The base of every ``ipvs`` error.

    ``kind`` is the Rust error kind in snake case (``"exists"``, ``"not_found"``, ...);
    ``message`` the kernel's extended-ack text, if it sent one; ``may_have_applied`` whether the
    operation may have changed the table anyway (its request was sent and the answer was lost).
    """

    kind: str = ""
    message: Optional[str] = None
    may_have_applied: bool = False


class ValidationError(IpvsError, ValueError):
    """A value the kernel (or ipvsadm) would refuse, found before anything was sent.

    ``field`` names the field (``"weight"``, ``"service_port"``, ...); for a number out of range
    ``value``, ``min`` and ``max`` give it and its limits (``max`` alone for a name too long);
    ``errno`` is what the kernel would have answered (``EINVAL`` or ``ERANGE``).
    """

    field: str = ""
    value: Optional[int] = None
    min: Optional[int] = None
    max: Optional[int] = None
    errno: int = 22


class RulesError(IpvsError, ValueError):
    """Rules text (``ipvsadm -R`` input) that does not parse, or whose change would fail.

    ``line`` is the line number, from 1. For a change that would fail, ``__cause__`` holds the
    error the kernel would have given.
    """

    line: int = 0


class KernelError(IpvsError, OSError):
    """A failure reported by the kernel or the operating system. ``errno`` is the kernel's."""


class ExistsError(KernelError, FileExistsError):
    """The object already exists (``EEXIST``). ``object`` says which kind: ``"service"``,
    ``"destination"``, ``"sync_daemon"``."""

    object: str = ""


class NotFoundError(KernelError):
    """The object does not exist (``ESRCH``, ``ENOENT`` or ``ENODEV``). ``object`` says which
    kind: ``"service"``, ``"destination"``, ``"sync_daemon"``, ``"interface"``, ..."""

    object: str = ""


class SchedulerNotFoundError(KernelError):
    """The scheduler or the persistence engine of a service could not be found or loaded
    (``ENOENT`` on an add or edit of a service: the kernel does not say which)."""


class PermissionDeniedError(KernelError, builtins.PermissionError):
    """A privilege was missing: ``needed`` names it (``"net_admin"``: ``CAP_NET_ADMIN``,
    ``"sys_admin"``: ``CAP_SYS_ADMIN`` to enter a namespace, ``"file_access"``), ``context``
    says what was refused."""

    needed: str = ""
    context: str = ""


class ModuleMissingError(KernelError):
    """The kernel has no IPVS (the ``ip_vs`` module is not loaded and could not be)."""


class InvalidError(KernelError):
    """The kernel rejected the request as invalid (``EINVAL``, ``ERANGE``)."""


class AddressFamilyNotSupportedError(KernelError):
    """The address family is not supported (``EAFNOSUPPORT``, IPv6 disabled)."""


class NotSupportedError(KernelError):
    """The operation is not supported by this kernel or this backend (``EOPNOTSUPP``)."""


class IpvsTimeoutError(KernelError, builtins.TimeoutError):
    """No answer came in time (``ETIMEDOUT``); the request was sent, so its effect is unknown
    (``may_have_applied`` is true)."""


class NotSentError(KernelError):
    """A request of a batch that was never sent, because the exchange had already failed:
    it changed nothing. ``reason`` is the failure that stopped the batch."""

    reason: Optional[IpvsError] = None


class DumpInterruptedError(KernelError):
    """A listing kept being interrupted by concurrent changes (``EINTR``). ``attempts`` says
    how many reads were tried."""

    attempts: int = 0


class DecodeError(KernelError):
    """The kernel's reply could not be decoded (``errno`` is ``None``)."""


class SystemCallError(KernelError):
    """Any other operating-system error (a socket error, a namespace file that does not
    exist, ...), with its errno."""
