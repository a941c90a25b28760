#!/usr/bin/env python3
"""Makes the kernel's table exactly the one a JSON file describes, with the fewest operations:

    apply_json.py FILE [--dry-run]

FILE holds `RuleSet.to_dict()`'s shape:

    {"services": [{"service": {"key": {"protocol": "tcp", "address": "10.1.2.3", "port": 80},
                               "scheduler": "wrr"},
                   "destinations": [{"address": "192.168.1.10", "port": 80,
                                     "forward": "masq", "weight": 1}]}]}

Prints the plan as `ipvsadm -R` lines (settings that changed are edited in place, so live
connections survive), then applies it unless --dry-run. Exit status 1 if any operation failed
(what succeeded is rolled back), 2 if the file is not a valid table.
"""

import argparse
import json
import sys

import ipvs


def main(argv: "list[str]") -> int:
    parser = argparse.ArgumentParser(description="Apply a desired IPVS table from JSON.")
    parser.add_argument("file", help="the desired table (RuleSet.to_dict() shape)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    args = parser.parse_args(argv)
    try:
        with open(args.file, encoding="utf-8") as f:
            desired = ipvs.RuleSet.from_dict(json.load(f))
    except (OSError, ValueError, TypeError) as e:
        print(f"apply_json: {args.file}: {e}", file=sys.stderr)
        return 2
    with ipvs.Client() as client:
        try:
            plan = ipvs.plan_for(client, desired)
        except ipvs.IpvsError as e:
            print(f"apply_json: {e}", file=sys.stderr)
            return 2
        print(plan, end="")
        if args.dry_run:
            return 0
        report = plan.apply(client)
        if report.ok:
            return 0
        for index, error in report.failures:
            print(f"apply_json: {plan.operations[index]}: {error}", file=sys.stderr)
        plan.rollback(client, report)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
