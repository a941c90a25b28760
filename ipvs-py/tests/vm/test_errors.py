"""Every error kind the kernel gives on demand, each leaving the table unchanged."""

import errno
import os
import subprocess
import sys

import pytest
from conftest import ipvsadm_save

import ipvs

VIP = ipvs.ServiceKey.tcp("10.1.2.3", 80)
V6 = ipvs.ServiceKey.tcp("2001:db8::1", 80)
RS = ipvs.Destination("192.168.1.10", 80, "masq")


@pytest.fixture
def client() -> ipvs.Client:
    c = ipvs.Client()
    c.add_service(ipvs.Service(VIP, "wrr"))
    c.add_destination(VIP, RS)
    c.add_service(ipvs.Service(V6, "rr"))
    return c


def test_kernel_errors_leave_the_table_unchanged(client: ipvs.Client) -> None:
    before = ipvsadm_save()
    cases = [
        (lambda: client.add_service(ipvs.Service(VIP)), ipvs.ExistsError, errno.EEXIST),
        (lambda: client.add_destination(VIP, RS), ipvs.ExistsError, errno.EEXIST),
        (lambda: client.delete_service(ipvs.ServiceKey.udp("10.1.2.3", 80)), ipvs.NotFoundError, errno.ESRCH),
        (lambda: client.edit_service(ipvs.Service(ipvs.ServiceKey.udp("10.1.2.3", 80))), ipvs.NotFoundError, errno.ESRCH),
        (lambda: client.service(ipvs.ServiceKey.udp("10.1.2.3", 80)), ipvs.NotFoundError, errno.ESRCH),
        (lambda: client.destinations(ipvs.ServiceKey.udp("10.1.2.3", 80)), ipvs.NotFoundError, errno.ESRCH),
        (lambda: client.delete_destination(VIP, "192.168.1.99", 80), ipvs.NotFoundError, errno.ENOENT),
        (lambda: client.edit_destination(VIP, RS.replace(port=81)), ipvs.NotFoundError, errno.ENOENT),
        (lambda: client.stop_daemon("master"), ipvs.NotFoundError, errno.ESRCH),
        # twos is not built in Debian's kernel; the kernel cannot tell scheduler from engine.
        (lambda: client.add_service(ipvs.Service(ipvs.ServiceKey.tcp("10.1.2.4", 80), "twos")), ipvs.SchedulerNotFoundError, errno.ENOENT),
        (lambda: client.edit_service(ipvs.Service(VIP, "no-such-sched")), ipvs.SchedulerNotFoundError, errno.ENOENT),
        (lambda: client.add_service(ipvs.Service(ipvs.ServiceKey.tcp("10.1.2.4", 80), pe="nope")), ipvs.SchedulerNotFoundError, errno.ENOENT),
        # A link-local IPv6 real server that is not a local address: the kernel's EINVAL.
        (lambda: client.add_destination(V6, ipvs.Destination("fe80::1", 80, "route")), ipvs.InvalidError, errno.EINVAL),
    ]
    for call, cls, code in cases:
        with pytest.raises(cls) as info:
            call()
        assert info.value.errno == code, (cls, info.value)
        assert isinstance(info.value, OSError) and not info.value.may_have_applied
        assert ipvsadm_save() == before, f"{cls.__name__} changed the table"
    results = client.apply([ipvs.Operation.add_service(ipvs.Service(VIP)), ipvs.Operation.delete_destination(VIP, "192.168.1.99", 80)])
    assert [type(r) for r in results] == [ipvs.ExistsError, ipvs.NotFoundError]
    assert ipvsadm_save() == before


def test_validation_errors_send_nothing(client: ipvs.Client) -> None:
    before = ipvsadm_save()
    with pytest.raises(ipvs.ValidationError) as info:
        client.add_destination(VIP, ipvs.Destination("2001:db8::5", 80, "masq"))  # family mismatch
    assert info.value.field == "destination_address"
    with pytest.raises(ipvs.ValidationError):
        client.add_service({"key": {"protocol": "tcp", "address": "10.0.0.1", "port": 0}})  # type: ignore[arg-type]
    assert ipvsadm_save() == before


def test_missing_namespace() -> None:
    with pytest.raises(ipvs.SystemCallError) as info:
        ipvs.Client(netns="no-such-namespace")
    assert info.value.errno == errno.ENOENT and isinstance(info.value, OSError)
    with pytest.raises(ipvs.SystemCallError) as info:
        ipvs.Client(netns="/etc/hostname")
    assert info.value.errno == errno.EINVAL


def test_permission_errors_are_permission_errors() -> None:
    # As nobody (no CAP_NET_ADMIN): IPVS refuses with EPERM, before any change.
    code = (
        "import ipvs\n"
        "try:\n"
        "    ipvs.Client().add_service(ipvs.Service(ipvs.ServiceKey.tcp('10.1.2.5', 80)))\n"
        "except PermissionError as e:\n"
        "    assert isinstance(e, ipvs.PermissionDeniedError), type(e)\n"
        "    print(e.errno, e.needed)\n"
    )
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    r = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", code],
        capture_output=True, text=True, env=env,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1", "net_admin"]
    assert ipvsadm_save() == ""
