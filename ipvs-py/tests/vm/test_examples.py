"""The Python examples on the real kernel, each checked against Debian's ipvsadm."""

import json
import random
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, List

import pytest
from conftest import EXAMPLES, example, ipvsadm_restore, ipvsadm_save, sh

import ipvs

TABLES = {
    "mixed": """-A -t 10.1.2.3:80 -s wrr -p 300 -M 255.255.255.0
-a -t 10.1.2.3:80 -r 192.168.1.10:80 -m -w 1
-a -t 10.1.2.3:80 -r 192.168.1.11:8080 -m -w 0 -x 100 -y 50
-A -t 192.168.0.200:443 -s lc
-a -t 192.168.0.200:443 -r 172.16.0.5:443 -g -w 5
-A -u 10.1.2.3:53 -s sh -o -b sh-fallback,sh-port
-a -u 10.1.2.3:53 -r 192.168.1.20:53 -m -w 1
-A --sctp-service 10.1.2.9:5000 -s rr
-a --sctp-service 10.1.2.9:5000 -r 192.168.1.30:5000 -m -w 1
-A -u 10.1.2.7:5060 -s rr -p 60 --pe sip
-a -u 10.1.2.7:5060 -r 192.168.1.40:5060 -g -w 1
-A -f 7 -s mh -b mh-fallback
-a -f 7 -r 192.168.2.1:0 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum
-a -f 7 -r 192.168.2.2:0 -i -w 1 --tun-type gre --tun-nocsum
-a -f 7 -r 192.168.2.3:0 -i -w 2 --tun-type gue --tun-port 6081 --tun-remcsum
-A -f 8 -6 -s wlc -p 120 -M 64
-a -f 8 -6 -r [2001:db8::10]:0 -i -w 1
-A -t [2001:db8::1]:80 -s nq
-a -t [2001:db8::1]:80 -r [2001:db8::20]:80 -m -w 3
-a -t [2001:db8::1]:80 -r 192.168.3.1:80 -i -w 1 --tun-type ipip
-A -t 10.200.0.1:0 -s sed -p 10
-a -t 10.200.0.1:0 -r 192.168.4.1:0 -g -w 1
-A -t 10.1.2.3:8000 -s none
""",
}


def random_rules(seed: int, services: int = 60) -> str:
    rnd = random.Random(seed)
    out: List[str] = []
    scheds = ["rr", "wrr", "lc", "wlc", "sh", "dh", "sed", "nq", "fo", "ovf", "mh", "lblc", "lblcr"]
    for i in range(services):
        kind = rnd.choice(["t", "u", "f", "t6"])
        if kind == "f":
            key = f"-f {rnd.randint(1, 2**31 - 1)}"
        elif kind == "t6":
            key = f"-t [2001:db8::{i:x}]:{rnd.randint(1, 65535)}"
        else:
            key = f"-{kind} {rnd.randint(1, 254)}.{rnd.randint(0, 255)}.{rnd.randint(0, 255)}.{i % 250 + 1}:{rnd.randint(1, 65535)}"
        line = f"-A {key} -s {rnd.choice(scheds)}"
        if rnd.random() < 0.3:
            line += f" -p {rnd.randint(1, 3600)}"
        out.append(line)
        v6 = kind == "t6"
        for k in range(rnd.randint(0, 5)):
            addr = f"[2001:db8:1::{i:x}:{k:x}]" if v6 else f"172.{16 + k}.{i // 250}.{i % 250 + 1}"
            fwd = rnd.choice(["-m", "-g", "-i"])
            port = rnd.randint(1, 65535) if fwd == "-m" else 0 if kind == "f" else rnd.randint(1, 65535)
            out.append(f"-a {key} -r {addr}:{port} {fwd} -w {rnd.randint(0, 65535)}")
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("rules", [TABLES["mixed"], random_rules(1), random_rules(2), random_rules(3)],
                         ids=["mixed", "random1", "random2", "random3"])
def test_ipvs_dump_prints_what_ipvsadm_saves(rules: str) -> None:
    ipvsadm_restore(rules)
    want = ipvsadm_save()
    assert want.count("\n") >= rules.count("-A ")
    assert example("ipvs_dump.py").stdout == want


def test_lvs_nat_builds_the_cluster() -> None:
    out = example("lvs_nat.py").stdout
    assert out == sh("ipvsadm -Ln")
    assert ipvsadm_save() == (
        "-A -t 192.168.0.200:80 -s wrr\n"
        "-a -t 192.168.0.200:80 -r 172.16.100.10:80 -m -w 1\n"
        "-a -t 192.168.0.200:80 -r 172.16.100.11:80 -m -w 2\n"
    )
    assert example("lvs_nat.py").stdout == out, "running it again changes nothing"


CURRENT = """-A -t 10.1.2.3:80 -s rr
-a -t 10.1.2.3:80 -r 192.168.1.10:80 -m -w 1
-a -t 10.1.2.3:80 -r 192.168.1.11:80 -m -w 1
-A -u 10.1.2.3:53 -s rr
-a -u 10.1.2.3:53 -r 192.168.1.20:53 -m -w 1
"""
DESIRED = """-A -t 10.1.2.3:80 -s wrr
-a -t 10.1.2.3:80 -r 192.168.1.10:80 -m -w 3
-a -t 10.1.2.3:80 -r 192.168.1.12:80 -m -w 1
-A -t 10.1.2.4:443 -s wlc -p 600
-a -t 10.1.2.4:443 -r 192.168.1.30:443 -g -w 1
"""


def test_apply_json_reaches_the_desired_table_minimally(tmp_path: Path) -> None:
    ipvsadm_restore(CURRENT)
    f = tmp_path / "desired.json"
    f.write_text(json.dumps(ipvs.RuleSet.from_text(DESIRED).to_dict()))
    dry = example("apply_json.py", str(f), "--dry-run").stdout
    assert ipvsadm_save() == ipvs.RuleSet.from_text(CURRENT).save(), "--dry-run changes nothing"
    # Minimal: the UDP service goes in one deletion, the TCP one is edited in place (its
    # connections survive), .11 removed, .10 re-weighted, .12 and the new service added.
    assert dry.splitlines() == [
        "-D -u 10.1.2.3:53",
        "-E -t 10.1.2.3:80 -s wrr",
        "-d -t 10.1.2.3:80 -r 192.168.1.11:80",
        "-e -t 10.1.2.3:80 -r 192.168.1.10:80 -m -w 3",
        "-a -t 10.1.2.3:80 -r 192.168.1.12:80 -m -w 1",
        "-A -t 10.1.2.4:443 -s wlc -p 600",
        "-a -t 10.1.2.4:443 -r 192.168.1.30:443 -g -w 1",
    ]
    assert example("apply_json.py", str(f)).stdout == dry
    assert ipvsadm_save() == ipvs.RuleSet.from_text(DESIRED).save()
    assert example("apply_json.py", str(f), "--dry-run").stdout == "", "nothing left to do"
    # Debian's ipvsadm executes the same plan to the same table.
    sh("ipvsadm -C")
    ipvsadm_restore(CURRENT + dry)
    assert ipvsadm_save() == ipvs.RuleSet.from_text(DESIRED).save()


def test_apply_json_fails_and_rolls_back(tmp_path: Path) -> None:
    ipvsadm_restore(CURRENT)
    before = ipvsadm_save()
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(ipvs.RuleSet.from_text(DESIRED.replace("-s wlc", "-s twos")).to_dict()))
    r = example("apply_json.py", str(f), check=False)
    assert r.returncode == 1 and "scheduler" in r.stderr
    assert ipvsadm_save() == before
    (tmp_path / "junk.json").write_text('{"services": [{"service": {"key": {"fwmark": 0}}}]}')
    assert example("apply_json.py", str(tmp_path / "junk.json"), check=False).returncode == 2


# --- traffic for drain.py ----------------------------------------------------------------------
# As the Rust kernel tests' lab does: a veth pair vd/vc in the test's namespace; frames written on
# vc with an AF_PACKET socket arrive on vd as from a remote client (PRE_ROUTING, LOCAL_IN, where
# IPVS schedules); the virtual address is local (a route on lo).
LAB = """link add vd address 02:00:00:00:00:01 type veth peer name vc address 02:00:00:00:00:02
link set vd up
link set vc up
route add local 10.0.0.0/24 dev lo
route add 100.64.0.0/10 dev vd
"""
CLIENT, VIP, RIP = "100.64.0.7", "10.0.0.1", "192.168.1.10"


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def tcp_frame(flags: int, seq: int, ack: int) -> bytes:
    src, dst = socket.inet_aton(CLIENT), socket.inet_aton(VIP)
    tcp = struct.pack("!HHIIBBHHH", 40000, 80, seq, ack, 5 << 4, flags, 65535, 0, 0)
    tcp = tcp[:16] + struct.pack("!H", checksum(src + dst + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return bytes.fromhex("020000000001020000000002") + b"\x08\x00" + ip + tcp


def wait_until(what: str, cond: Callable[[], bool]) -> None:
    for _ in range(400):
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"never: {what}")


def test_drain_removes_the_real_server_only_after_its_connections_are_gone() -> None:
    sh("ip -batch -", stdin=LAB)
    sh("sysctl -qw net.ipv6.conf.vc.disable_ipv6=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.vd.rp_filter=0")
    ipvsadm_restore(f"-A -t {VIP}:80 -s rr\n-a -t {VIP}:80 -r {RIP}:80 -m -w 1\n-a -t {VIP}:80 -r 192.168.1.11:80 -m -w 0\n")
    key = ipvs.ServiceKey.tcp(VIP, 80)
    client = ipvs.Client()

    def active() -> int:
        return sum(d.active_conns for d in client.destinations(key) if d.destination.address == RIP)

    raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    raw.bind(("vc", 0))
    raw.send(tcp_frame(0x02, 1000, 0))  # SYN
    raw.send(tcp_frame(0x10, 1001, 1))  # ACK: ESTABLISHED, active
    wait_until("one active connection", lambda: active() == 1)

    r = example("drain.py", f"{VIP}:80", f"{RIP}:80", "--timeout", "1", "--interval", "0.2", check=False)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "weight 1 -> 0" in r.stdout and "still 1 active" in r.stdout
    assert f"-a -t {VIP}:80 -r {RIP}:80 -m -w 0" in ipvsadm_save().splitlines(), "kept, quiesced"

    p = subprocess.Popen([sys.executable, str(EXAMPLES / "drain.py"), f"{VIP}:80", f"{RIP}:80", "--timeout", "600",
                          "--interval", "0.2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout is not None
    first = p.stdout.readline()
    assert "1 active connections, waiting" in first, first
    assert f"-r {RIP}:80" in ipvsadm_save(), "not removed while a connection is active"
    raw.send(tcp_frame(0x04, 1001, 0))  # RST: the connection closes
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, first + out + err
    assert "removed" in out
    assert ipvsadm_save() == f"-A -t {VIP}:80 -s rr\n-a -t {VIP}:80 -r 192.168.1.11:80 -m -w 0\n"
    raw.close()
