#!/usr/bin/env python3
"""Prints the demo's JSON results (evidence, plan, findings, a resource's status) for a person."""
import json
import sys


def evidence(doc):
    w, s, c = doc["window"], doc["stats"], doc["coverage"]
    gaps = ", ".join(c.get("daysWithoutData", [])) or "none"
    print(f"window {w['start']} → {w['end']}: {s['records']} records, "
          f"{len(doc['flows'])} distinct flows, days without data: {gaps}")


def plan(doc):
    for group in doc["groups"]:
        if group["revoke"] or group["authorise"]:
            print(group["groupId"])
            for rule in group["revoke"]:
                print("  - revoke   ", rule)
            for rule in group["authorise"]:
                print("  + authorise", rule)
        for warning in group.get("warnings", []):
            print("  ! ", warning)
    s = doc["summary"]
    print(f"trusted addresses {s['addressesBefore']:,} → {s['addressesAfter']:,} "
          f"({s['reductionPercent']}% fewer); plan hash {doc['hash'][:12]}…")


def findings(doc):
    print("counts:", json.dumps(doc.get("counts", {})))
    for finding in doc.get("findings", [])[:8]:
        print("  ", " ".join(str(v) for k, v in finding.items() if k in ("severity", "resourceId", "protocol", "ports", "cidr")))


if __name__ == "__main__":
    kind, path = sys.argv[1], sys.argv[2]
    with open(path) as handle:
        {"evidence": evidence, "plan": plan, "findings": findings}[kind](json.load(handle))
