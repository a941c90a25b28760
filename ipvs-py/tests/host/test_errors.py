"""The exception classes, and the one conversion from the Rust error for every kind."""

import errno
from typing import Tuple, Type

import pytest

import ipvs
from ipvs import _ipvs

KINDS = [
    ("validation", ipvs.ValidationError, (ValueError,), 34),
    ("exists", ipvs.ExistsError, (FileExistsError, OSError), errno.EEXIST),
    ("not_found", ipvs.NotFoundError, (OSError,), errno.ESRCH),
    ("scheduler_or_engine_not_found", ipvs.SchedulerNotFoundError, (OSError,), errno.ENOENT),
    ("permission_denied", ipvs.PermissionDeniedError, (PermissionError, OSError), errno.EPERM),
    ("module_missing", ipvs.ModuleMissingError, (OSError,), errno.ENOENT),
    ("invalid", ipvs.InvalidError, (OSError,), errno.ERANGE),
    ("address_family_not_supported", ipvs.AddressFamilyNotSupportedError, (OSError,), errno.EAFNOSUPPORT),
    ("not_supported", ipvs.NotSupportedError, (OSError,), errno.EOPNOTSUPP),
    ("timeout", ipvs.IpvsTimeoutError, (TimeoutError, OSError), errno.ETIMEDOUT),
    ("not_sent", ipvs.NotSentError, (OSError,), errno.ETIMEDOUT),
    ("interrupted", ipvs.DumpInterruptedError, (OSError,), errno.EINTR),
    ("decode", ipvs.DecodeError, (OSError,), None),
    ("os", ipvs.SystemCallError, (OSError,), errno.ENOMEM),
]


@pytest.mark.parametrize("kind, cls, builtins, code", KINDS, ids=[k[0] for k in KINDS])
def test_every_kind_has_its_class(kind: str, cls: Type[ipvs.IpvsError], builtins: Tuple[type, ...], code: int) -> None:
    e = _ipvs._exception_for(kind)
    assert type(e) is cls
    assert isinstance(e, ipvs.IpvsError)
    for b in builtins:
        assert isinstance(e, b)
    if kind != "validation":
        assert isinstance(e, ipvs.KernelError)
    assert e.kind == kind
    assert getattr(e, "errno") == code
    assert e.may_have_applied == (kind in ("timeout", "decode", "os"))


def test_details_are_kept() -> None:
    e = _ipvs._exception_for("exists")
    assert isinstance(e, ipvs.ExistsError)
    assert (e.object, e.message) == ("destination", "kernel text")
    assert str(e) == "[Errno 17] destination already exists: kernel text"
    p = _ipvs._exception_for("permission_denied")
    assert isinstance(p, ipvs.PermissionDeniedError)
    assert (p.needed, p.context) == ("net_admin", "IPVS")
    n = _ipvs._exception_for("not_sent")
    assert isinstance(n, ipvs.NotSentError)
    assert isinstance(n.reason, ipvs.IpvsTimeoutError)
    i = _ipvs._exception_for("interrupted")
    assert isinstance(i, ipvs.DumpInterruptedError) and i.attempts == 5
    v = _ipvs._exception_for("validation")
    assert isinstance(v, ipvs.ValidationError)
    assert (v.field, v.value, v.min, v.max) == ("weight", 7, 0, 5)


def test_except_clauses_a_python_user_writes_work() -> None:
    table = ipvs.MemoryTable()
    with pytest.raises(OSError) as info:
        table.delete_service(ipvs.ServiceKey.tcp("10.0.0.1", 80))
    assert info.value.errno == errno.ESRCH
    table.add_service(ipvs.Service(ipvs.ServiceKey.tcp("10.0.0.1", 80)))
    with pytest.raises(FileExistsError):
        table.add_service(ipvs.Service(ipvs.ServiceKey.tcp("10.0.0.1", 80)))
    with pytest.raises(ValueError):
        ipvs.Destination("192.168.1.1", 80, weight=-5)


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError):
        _ipvs._exception_for("no such kind")
