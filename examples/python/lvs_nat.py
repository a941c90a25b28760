#!/usr/bin/env python3
"""The classic LVS-NAT cluster: VIP 192.168.0.200:80 scheduled with wrr over two real servers
reached by masquerading, 172.16.100.10 (weight 1) and 172.16.100.11 (weight 2).

Run as root on a director (or in scripts/ipvs-vm). Running it twice is harmless: what exists
already is left as it is. Prints the table as `ipvsadm -Ln` does.
"""

import ipvs

VIP = ipvs.ServiceKey.tcp("192.168.0.200", 80)
REAL_SERVERS = [("172.16.100.10", 1), ("172.16.100.11", 2)]


def main() -> None:
    with ipvs.Client() as client:
        try:
            client.add_service(ipvs.Service(VIP, "wrr"))
        except ipvs.ExistsError:
            pass
        ops = [
            ipvs.Operation.add_destination(VIP, ipvs.Destination(rip, 80, "masq", weight))
            for rip, weight in REAL_SERVERS
        ]
        # One system call for the whole batch, one result per operation.
        for op, error in zip(ops, client.apply(ops)):
            if error is not None and not isinstance(error, ipvs.ExistsError):
                raise error
        print(client.listing(numeric=True), end="")


if __name__ == "__main__":
    main()
