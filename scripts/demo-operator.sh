#!/usr/bin/env bash
# The operator half of `make demo`, run inside scripts/with-testenv.sh (a real kube-apiserver +
# etcd and moto on 127.0.0.1): the article's estate in the AWS emulator, 90 days of flow logs in
# S3, the operator as a process, a SecurityGroupTightening → plan in status → approval by hash →
# apply → revert, checking the group in AWS at each step.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${SGT_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/sg-tightener}
: "${KUBECTL:?run through scripts/with-testenv.sh}" "${AWS_ENDPOINT_URL:?run through scripts/with-testenv.sh}"
PY="$("$ROOT/scripts/moto-venv.sh" --print 2>/dev/null)/bin/python"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sg-tightener-demo.XXXXXX")
OPERATOR=""
cleanup() {
  [[ -z $OPERATOR ]] || { kill "$OPERATOR" 2>/dev/null || true; wait "$OPERATOR" 2>/dev/null || true; }
  rm -rf "$WORK"
}
trap cleanup EXIT
NS=payments
k() { "$KUBECTL" "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# wait_for WHAT JSONPATH EXPECTED: poll the resource until the JSONPath prints EXPECTED (2 min).
wait_for() {
  local what=$1 path=$2 want=$3 got=""
  for _ in $(seq 240); do
    got=$(k -n "$NS" get sgt payments -o "jsonpath=$path" 2>/dev/null || true)
    [[ $got == "$want" ]] && return 0
    sleep 0.5
  done
  echo "timed out waiting for $what (last: '$got'); operator log:" >&2
  tail -20 "$WORK/operator.log" >&2
  k -n "$NS" get sgt payments -o yaml >&2
  exit 1
}

step "1. The article's estate in the AWS emulator, and 90 days of gzip flow logs in S3"
read -r GROUP ENI _ < <("$PY" "$ROOT/scripts/demo/estate.py" create)
python3 "$ROOT/scripts/demo/flowlogs.py" "$WORK/logs" --days 90 --eni "$ENI" --destination 10.100.1.10
"$PY" "$ROOT/scripts/demo/estate.py" upload "$WORK/logs"
echo "group $GROUP (ENI $ENI at 10.100.1.10); its rules now:"
"$PY" "$ROOT/scripts/demo/estate.py" rules "$GROUP"

step "2. CRDs on the API server, the operator running as a process"
"$BIN" crds | k apply --server-side -f - >/dev/null
k wait --for=condition=Established crd --all --timeout=60s >/dev/null
cat > "$WORK/controller.yaml" <<YAML
aws: {endpointUrl: "$AWS_ENDPOINT_URL", maxAttempts: 3}
leaderElection: {enabled: false}
http: {address: "127.0.0.1:0"}
YAML
"$BIN" run --config "$WORK/controller.yaml" >"$WORK/operator.log" 2>&1 &
OPERATOR=$!
echo "operator pid $OPERATOR, log $WORK/operator.log"

step "3. A SecurityGroupTightening: the plan appears in status"
k create namespace "$NS" >/dev/null
k apply -f - >/dev/null <<YAML
apiVersion: sgtightener.io/v1alpha1
kind: SecurityGroupTightening
metadata: {name: payments, namespace: $NS}
spec:
  region: $AWS_REGION
  groups: {ids: [$GROUP]}
  evidence: {days: 90, s3: {bucket: demo-flow-logs, prefix: AWSLogs/}}
YAML
wait_for "a plan" '{.status.phase}' AwaitingApproval
k -n "$NS" get sgt
k -n "$NS" get sgt payments -o jsonpath='{.status.plan}' > "$WORK/plan.json"
python3 "$ROOT/scripts/demo/show.py" plan "$WORK/plan.json"
echo "nothing changed in AWS yet:"; "$PY" "$ROOT/scripts/demo/estate.py" rules "$GROUP"

step "4. Approve exactly this plan (status.plan.approveCommand)"
APPROVE=$(k -n "$NS" get sgt payments -o jsonpath='{.status.plan.approveCommand}')
echo "\$ $APPROVE"
HASH=$(k -n "$NS" get sgt payments -o jsonpath='{.status.plan.hash}')
k -n "$NS" patch sgt payments --type merge -p "{\"spec\":{\"approved\":\"$HASH\"}}" >/dev/null
wait_for "the apply" '{.status.conditions[?(@.type=="Applied")].status}' True
k -n "$NS" get sgt
echo "the group in AWS now:"; "$PY" "$ROOT/scripts/demo/estate.py" rules "$GROUP"
echo "write-ahead manifest: $(k -n "$NS" get sgt payments -o jsonpath='{.status.applied.manifestConfigMap}')"

step "5. Revert: spec.revert=true restores the exact previous rules"
k -n "$NS" patch sgt payments --type merge -p '{"spec":{"revert":true}}' >/dev/null
wait_for "the revert" '{.status.conditions[?(@.type=="Reverted")].status}' True
k -n "$NS" get sgt
echo "the group in AWS after the revert:"; "$PY" "$ROOT/scripts/demo/estate.py" rules "$GROUP"
