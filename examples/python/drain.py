#!/usr/bin/env python3
"""Drains a real server, the everyday operator task:

    drain.py VIP:PORT RIP:PORT [--timeout S] [--udp]

sets the real server's weight to 0 (no new connections), waits until its active connections
reach 0 (or the timeout passes), then removes it. Prints what it did. Exit status 0 when the
real server was removed, 1 when the timeout passed first (it is left with weight 0), 2 for bad
arguments or a missing service or real server.
"""

import argparse
import sys
import time

import ipvs


def find(client: ipvs.Client, key: ipvs.ServiceKey, address: str, port: int) -> ipvs.DestinationStatus:
    for d in client.destinations(key):
        if d.destination.key == (address, port):
            return d
    raise ipvs.NotFoundError(2, f"no real server {address}:{port} in service {key}")


def main(argv: "list[str]") -> int:
    parser = argparse.ArgumentParser(description="Drain a real server, then remove it.")
    parser.add_argument("vip", help="VIP:PORT of the virtual service ([ADDR]:PORT for IPv6)")
    parser.add_argument("rip", help="RIP:PORT of the real server")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait (default 300)")
    parser.add_argument("--udp", action="store_true", help="the service is UDP (default TCP)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between checks")
    args = parser.parse_args(argv)
    try:
        vip, vport = ipvs.parse_endpoint(args.vip)
        rip, rport = ipvs.parse_endpoint(args.rip)
        key = ipvs.ServiceKey("udp" if args.udp else "tcp", vip, vport)
    except ipvs.ValidationError as e:
        print(f"drain: {e}", file=sys.stderr)
        return 2
    with ipvs.Client() as client:
        try:
            current = find(client, key, rip, rport)
        except ipvs.NotFoundError as e:
            print(f"drain: {e}", file=sys.stderr)
            return 2
        if current.destination.weight != 0:
            client.edit_destination(key, current.destination.replace(weight=0))
            print(f"{args.rip}: weight {current.destination.weight} -> 0 (no new connections)")
        deadline = time.monotonic() + args.timeout
        active = current.active_conns
        while True:
            active = find(client, key, rip, rport).active_conns
            if active == 0:
                break
            if time.monotonic() >= deadline:
                print(f"{args.rip}: still {active} active connections after {args.timeout:g} s; left with weight 0")
                return 1
            print(f"{args.rip}: {active} active connections, waiting")
            time.sleep(args.interval)
        client.delete_destination(key, rip, rport)
        print(f"{args.rip}: no active connections; removed from {key}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
