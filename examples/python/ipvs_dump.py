#!/usr/bin/env python3
"""Prints the kernel's IPVS table exactly as `ipvsadm -Sn` prints it, built from the objects'
attributes: it shows how to read every field of a service and a real server. (`Client.save()`
prints the same text in one call.)
"""

import ipvs

OPTION = {"tcp": "-t", "udp": "-u", "sctp": "--sctp-service"}
SWITCH = {"masq": "-m", "tunnel": "-i", "route": "-g", "local": "-g"}
CSUM = {0: "--tun-nocsum", 1: "--tun-csum", 2: "--tun-remcsum"}


def signed(n: int) -> int:
    """ipvsadm prints marks and weights with %d: 2**31 and more are negative."""
    return n - 2**32 if n >= 2**31 else n


def endpoint(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def service_key_text(key: ipvs.ServiceKey) -> str:
    if key.mark is not None:
        return f"-f {signed(key.mark)}" + (" -6" if key.family == 6 else "")
    assert key.protocol is not None and key.address is not None
    return f"{OPTION.get(key.protocol, '--xxx-service')} {endpoint(key.address, key.port)}"


def service_line(svc: ipvs.Service) -> str:
    line = f"-A {service_key_text(svc.key)} -s {svc.scheduler}"
    if svc.persistent:
        line += f" -p {svc.timeout}"
        if svc.netmask is not None:
            line += f" -M {svc.netmask}"
    if svc.pe is not None:
        line += f" --pe {svc.pe}"
    if svc.one_packet:
        line += " -o"
    if svc.sched_flags:
        line += f" -b {svc.sched_flags}"
    return line


def destination_line(key: ipvs.ServiceKey, d: ipvs.Destination) -> str:
    # ipvsadm -S saves neither thresholds nor the tunnel settings of non-tunnel servers.
    line = f"-a {service_key_text(key)} -r {endpoint(d.address, d.port)}"
    line += f" {SWITCH.get(d.forward, '(null)')} -w {signed(d.weight)}"
    if d.forward == "tunnel":
        csum = CSUM.get(d.tunnel_flags, "(null)")
        if d.tunnel_type == "ipip":
            line += " --tun-type ipip"
        elif d.tunnel_type == "gue":
            line += f" --tun-type gue --tun-port {d.tunnel_port} {csum}"
        elif d.tunnel_type == "gre":
            line += f" --tun-type gre {csum}"
    return line


def main() -> None:
    with ipvs.Client() as client:
        table = client.services_with_destinations()
    # ipvsadm's own order (its comparators wrap for addresses 2^31 apart, so a plain sort by
    # address would differ): services, and each service's real servers.
    for status, dests in ipvs.sort_table(table):
        print(service_line(status.service))
        for d in dests:
            print(destination_line(status.key, d.destination))


if __name__ == "__main__":
    main()
