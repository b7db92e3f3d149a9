#!/usr/bin/env python3
"""Writes synthetic VPC flow logs (v2 default format, gzip, S3 key layout) for the demo.

The estate is the article's: sources in 10.0.10.0/27 and 10.0.20.10-11 reach tcp/443, 10.4.8.0/29
reaches tcp/5432, 10.8.2.0/28 and 10.8.16.0/28 reach tcp/8443 -- all on the payments-app ENI.
The addresses are only data: nothing here sends traffic anywhere.

usage: flowlogs.py OUT_DIR [--days N] [--end YYYY-MM-DD] [--gap-days A-B] [--eni ID] [--destination IP]
"""
import argparse
import datetime as dt
import gzip
import ipaddress
import os

ACCOUNT = "123456789012"
REGION = "af-south-1"
ENI = "eni-0app0000000000001"
DESTINATION = "10.100.1.10"
SOURCES = [
    ("10.0.10.0/27", 443),
    ("10.0.20.10/31", 443),
    ("10.4.8.0/29", 5432),
    ("10.8.2.0/28", 8443),
    ("10.8.16.0/28", 8443),
]


def records_for_day(day, eni, destination):
    start = int(dt.datetime.combine(day, dt.time(9), dt.timezone.utc).timestamp())
    for cidr, port in SOURCES:
        for n, source in enumerate(ipaddress.ip_network(cidr)):
            t = start + n * 60
            yield (f"2 {ACCOUNT} {eni} {source} {destination} {40000 + n} {port} 6 10 840 "
                   f"{t} {t + 60} ACCEPT OK")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--end", default=None, help="last day (UTC), default yesterday")
    parser.add_argument("--gap-days", default=None, help="e.g. 20-29: days (counted back from the end) with no logs")
    parser.add_argument("--eni", default=ENI, help="interface-id written into every record")
    parser.add_argument("--destination", default=DESTINATION, help="dstaddr written into every record")
    args = parser.parse_args()
    end = dt.date.fromisoformat(args.end) if args.end else dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=1)
    gap = range(0)
    if args.gap_days:
        a, b = (int(x) for x in args.gap_days.split("-"))
        gap = range(a, b + 1)
    header = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
    for back in range(args.days):
        if back in gap:
            continue
        day = end - dt.timedelta(days=back)
        folder = os.path.join(args.out, "AWSLogs", ACCOUNT, "vpcflowlogs", REGION, f"{day:%Y/%m/%d}")
        os.makedirs(folder, exist_ok=True)
        name = f"{ACCOUNT}_vpcflowlogs_{REGION}_fl-demo_{day:%Y%m%dT0000Z}_demo.log.gz"
        with gzip.open(os.path.join(folder, name), "wt") as out:
            out.write(header + "\n")
            for line in records_for_day(day, args.eni, args.destination):
                out.write(line + "\n")


if __name__ == "__main__":
    main()
