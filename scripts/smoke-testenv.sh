#!/usr/bin/env bash
# Proves the end-to-end test environment does what the e2e tests rely on:
# a CRD with a CEL rule becomes Established and the API server enforces the
# rule; server-side apply works; RBAC has our admin as system:masters; a helm
# chart renders and passes a server-side dry run; moto answers EC2 calls.
#
#   scripts/smoke-testenv.sh        # starts a private environment, tears it down after
#   SGT_TESTENV_DIR=DIR scripts/smoke-testenv.sh   # uses the one already up in DIR
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

if [[ -z ${SGT_TESTENV_FILE:-} ]]; then
  exec "$SGT_ROOT/scripts/with-testenv.sh" "$0" "$@"
fi

PASSED=0
FAILED=0
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

pass() {
  PASSED=$((PASSED + 1))
  printf 'ok   %s\n' "$1"
}
fail() {
  FAILED=$((FAILED + 1))
  printf 'FAIL %s\n' "$1"
  [[ ! -s $WORK/out ]] || sed 's/^/     | /' "$WORK/out"
}
# check NAME CMD...: one named check; its output is shown only when it fails.
check() {
  local name=$1
  shift
  if "$@" >"$WORK/out" 2>&1; then pass "$name"; else fail "$name"; fi
}

k() { "$KUBECTL" "$@"; }

# ---------------------------------------------------------------- kubernetes

crd() {
  cat <<'EOF'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.smoke.sg-tightener.test
spec:
  group: smoke.sg-tightener.test
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [minPort, maxPort]
            properties:
              minPort: {type: integer, minimum: 0, maximum: 65535}
              maxPort: {type: integer, minimum: 0, maximum: 65535}
            x-kubernetes-validations:
            - rule: self.minPort <= self.maxPort
              message: minPort must not exceed maxPort
EOF
}

widget() { # widget NAME MIN MAX
  printf 'apiVersion: smoke.sg-tightener.test/v1\nkind: Widget\nmetadata: {name: %s, namespace: default}\nspec: {minPort: %s, maxPort: %s}\n' "$@"
}

# (Output is captured before grep: `… | tee | grep -q` can fail on SIGPIPE.)
server_version_matches() {
  local out
  out=$(k version -o json) && echo "$out" && grep -q "\"gitVersion\": \"$KUBE_VERSION\"" <<<"$out"
}

crd_established() {
  crd | k apply -f - &&
    k wait --for=condition=Established --timeout=60s crd/widgets.smoke.sg-tightener.test
}

# Discovery of a new CRD can trail its Established condition by a moment:
# poll (bounded) rather than sleep.
valid_widget_accepted() {
  local i
  for ((i = 0; i < 50; i++)); do
    widget ok 80 443 | k apply -f - && return 0
    sleep 0.2
  done
  return 1
}

invalid_widget_rejected_by_cel() {
  if widget bad 443 80 | k apply -f - 2>"$WORK/err"; then
    echo "the API server accepted minPort > maxPort"
    return 1
  fi
  cat "$WORK/err"
  grep -q 'minPort must not exceed maxPort' "$WORK/err"
}

server_side_apply() {
  local managers out
  widget ssa 1 2 | k apply --server-side --field-manager=smoke -f - || return 1
  managers=$(k get widget ssa -o jsonpath='{.metadata.managedFields[*].manager}')
  echo "managers: $managers"
  grep -qw smoke <<<"$managers" || return 1
  # A second manager changing a field the first owns must get a conflict.
  if out=$(widget ssa 1 3 | k apply --server-side --field-manager=other -f - 2>&1); then
    echo "$out"
    echo "expected a field-manager conflict"
    return 1
  fi
  echo "$out"
  grep -qi conflict <<<"$out"
}

admin_is_cluster_admin() {
  [[ $(k auth can-i '*' '*' --all-namespaces) == yes ]] && k auth whoami
}

helm_renders_and_dry_runs() {
  export HELM_CACHE_HOME="$WORK/helm/cache" HELM_CONFIG_HOME="$WORK/helm/config" HELM_DATA_HOME="$WORK/helm/data"
  "$HELM" version &&
    (cd "$WORK" && "$HELM" create demo >/dev/null) &&
    "$HELM" lint "$WORK/demo" &&
    "$HELM" template demo "$WORK/demo" --namespace default >"$WORK/rendered.yaml" &&
    k apply --dry-run=server -f "$WORK/rendered.yaml"
}

# ---------------------------------------------------------------- aws (moto)

moto_answers_ec2() {
  "$(moto_venv_dir)/bin/python" - <<'EOF'
import os, boto3
ec2 = boto3.client("ec2")  # endpoint, region and credentials from the environment
assert ec2.meta.endpoint_url == os.environ["AWS_ENDPOINT_URL"], ec2.meta.endpoint_url
regions = [r["RegionName"] for r in ec2.describe_regions()["Regions"]]
assert os.environ["AWS_REGION"] in regions, regions
vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
sg = ec2.create_security_group(GroupName="smoke", Description="smoke", VpcId=vpc)["GroupId"]
perm = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
        "IpRanges": [{"CidrIp": "10.1.2.0/24", "Description": "smoke"}]}
ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[perm])
got = ec2.describe_security_groups(GroupIds=[sg])["SecurityGroups"][0]["IpPermissions"]
assert got[0]["IpRanges"] == perm["IpRanges"], got
try:
    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[perm])
    raise SystemExit("duplicate rule was accepted")
except ec2.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "InvalidPermission.Duplicate", e.response
print(f"{len(regions)} regions; {sg} in {vpc} holds {got}")
EOF
}

moto_answers_raw_query() {
  # The same API without any SDK: a signed Query request from curl.
  local out
  out=$(curl -fsS --aws-sigv4 "aws:amz:$AWS_REGION:ec2" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    "$AWS_ENDPOINT_URL/?Action=DescribeRegions&Version=2016-11-15") || return 1
  echo "$out"
  grep -q "<regionName>$AWS_REGION</regionName>" <<<"$out"
}

moto_resets() {
  curl -fsS -X POST "$SGT_MOTO_URL/moto-api/reset" &&
    [[ $("$(moto_venv_dir)/bin/python" -c 'import boto3; print(len(boto3.client("ec2").describe_security_groups(Filters=[{"Name":"group-name","Values":["smoke"]}])["SecurityGroups"]))') == 0 ]]
}

main() {
  echo "smoke test of the environment in $SGT_TESTENV_DIR"
  check "kube-apiserver reports $KUBE_VERSION" server_version_matches
  check "admin user is system:masters under RBAC" admin_is_cluster_admin
  check "CRD with a CEL rule becomes Established" crd_established
  check "valid custom resource is accepted" valid_widget_accepted
  check "invalid custom resource is rejected with the CEL message" invalid_widget_rejected_by_cel
  check "server-side apply records managers and detects conflicts" server_side_apply
  check "helm $HELM_VERSION: create, lint, template, server-side dry run" helm_renders_and_dry_runs
  check "moto answers EC2 through boto3 (regions, SG rules, duplicate error)" moto_answers_ec2
  check "moto answers a SigV4-signed EC2 Query request from curl" moto_answers_raw_query
  check "moto state resets between tests" moto_resets
  echo
  echo "smoke: $PASSED passed, $FAILED failed"
  ((FAILED == 0))
}

main "$@"
