#!/usr/bin/env bash
# The offline half of `make demo`: the article's estate, 90 days of synthetic gzip flow logs,
# analyse → plan → classify with the same binary the operator runs. No Kubernetes, no AWS.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${SGT_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/sg-tightener}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sg-tightener-demo.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
FIX=$ROOT/tests/fixtures

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { python3 "$ROOT/scripts/demo/show.py" "$@"; }

step "1. Ninety days of VPC flow logs (gzip, S3 key layout) for the article's estate"
python3 "$ROOT/scripts/demo/flowlogs.py" "$WORK/logs" --days 90
echo "$(find "$WORK/logs" -name '*.gz' | wc -l) objects under $WORK/logs/AWSLogs/…"

step "2. sg-tightener analyse: flow logs → evidence (distinct flows, coverage)"
"$BIN" analyse --flow-logs "$WORK/logs" --days 90 > "$WORK/evidence.json"
show evidence "$WORK/evidence.json"

step "3. sg-tightener plan: describe-security-groups + ENIs + evidence → the plan"
"$BIN" plan --groups "$FIX/article-groups.json" --interfaces "$FIX/article-interfaces.json" \
  --evidence "$WORK/evidence.json" > "$WORK/plan.json"
show plan "$WORK/plan.json"

step "4. sg-tightener classify: what an org risk scan would flag in the same groups"
"$BIN" classify --groups "$FIX/article-groups.json" > "$WORK/findings.json"
show findings "$WORK/findings.json"
