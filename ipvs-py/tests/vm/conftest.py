"""Kernel tests: run inside the VM (scripts/ipvs-vm), against Debian's kernel and ipvsadm.

Every test runs in a network namespace of its own (IPVS tables are per namespace): the
`kernel` fixture moves the main thread, where pytest runs the tests, into a fresh one with
`unshare(CLONE_NEWNET)`, brings `lo` up and routes the test ranges through `dummy0`, as the
Rust kernel tests do. Processes and threads started by the test inherit it. Nothing here
skips: a kernel without IPVS fails every test.
"""

import ctypes
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator, Optional

import pytest

CLONE_NEWNET = 0x40000000
ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples" / "python"

SETUP = """link set lo up
link add dummy0 type dummy
link set dummy0 up
route add 10.0.0.0/8 dev dummy0
route add 172.16.0.0/12 dev dummy0
route add 192.168.0.0/16 dev dummy0
route add 2001:db8::/32 dev dummy0
route add fd00::/8 dev dummy0
"""


def _unshare_net() -> None:
    if hasattr(os, "unshare"):  # Python 3.12+
        os.unshare(CLONE_NEWNET)  # type: ignore[attr-defined]
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"unshare(CLONE_NEWNET): {os.strerror(e)}")


def sh(cmd: str, stdin: Optional[str] = None, check: bool = True) -> str:
    """Runs a shell command in the test's namespace; fails the test with its output if it fails."""
    r = subprocess.run(["sh", "-c", cmd], input=stdin, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError(f"`{cmd}` exited {r.returncode}:\n{r.stdout}{r.stderr}")
    return r.stdout


def ipvsadm_save() -> str:
    """Debian's `ipvsadm -Sn`: the witness."""
    return sh("ipvsadm -Sn")


def ipvsadm_restore(rules: str) -> None:
    sh("ipvsadm -R", stdin=rules)


def example(name: str, *args: str, check: bool = True) -> "subprocess.CompletedProcess[str]":
    r = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError(f"{name} {args} exited {r.returncode}:\n{r.stdout}{r.stderr}")
    return r


@pytest.fixture(autouse=True)
def kernel() -> Iterator[None]:
    if not Path("/proc/net/ip_vs").exists():
        subprocess.run(["modprobe", "-q", "ip_vs"], check=False)
    assert Path("/proc/net/ip_vs").exists(), "this kernel has no IPVS: run the kernel tests through scripts/ipvs-vm"
    _unshare_net()
    sh("ip -batch -", stdin=SETUP)
    assert ipvsadm_save() == "", "a fresh namespace has an empty table"
    yield
