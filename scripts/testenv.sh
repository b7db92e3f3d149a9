#!/usr/bin/env bash
# The end-to-end test environment: etcd + kube-apiserver + moto_server, all on
# 127.0.0.1 on free ports, with a throwaway CA and an admin kubeconfig.
#
#   scripts/testenv.sh up     [--dir DIR]   start (or reuse a healthy one); prints the env file path
#   scripts/testenv.sh down   [--dir DIR]   stop every server it started; keeps DIR/logs
#   scripts/testenv.sh env    [--dir DIR]   print `export K=V` lines (eval "$(scripts/testenv.sh env)")
#   scripts/testenv.sh status [--dir DIR]   exit 0 when all three answer
#
# DIR defaults to $SGT_TESTENV_DIR, else <repo>/.cache/testenv/default. Each
# DIR is one independent environment (own ports, data, certificates); several
# test processes may share one by reading DIR/env, a KEY=VALUE file:
#   SGT_TESTENV_DIR SGT_TESTENV_FILE KUBECONFIG SGT_KUBE_APISERVER_URL SGT_ETCD_URL
#   AWS_ENDPOINT_URL SGT_MOTO_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION
#   AWS_DEFAULT_REGION AWS_EC2_METADATA_DISABLED AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE
#   NO_PROXY KUBECTL HELM SGT_ETCD_PID SGT_KUBE_APISERVER_PID SGT_MOTO_PID SGT_AUDIT_LOG
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

READY_TIMEOUT="${SGT_TESTENV_READY_TIMEOUT:-120}" # seconds, per server
AWS_TEST_REGION="af-south-1"
SERVERS=(etcd kube-apiserver moto)

DIR=""

# ---------------------------------------------------------------- helpers

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# alive PID: running (a zombie waiting for init to reap it counts as gone; on
# this machine's init that takes up to ~2 s).
alive() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]]
}

# pid_is NAME PID: PID is alive and is the server we started (not a reused pid).
pid_is() {
  local name=$1 pid=$2 cmd environ
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
  # start() marks every server with SGT_TESTENV_DIR=$DIR in its environment.
  environ=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null) || return 1
  grep -qxF "SGT_TESTENV_DIR=$DIR" <<<"$environ" || return 1
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  case $name in
    etcd) [[ $cmd == *etcd* ]] ;;
    kube-apiserver) [[ $cmd == *kube-apiserver* ]] ;;
    moto) [[ $cmd == *moto_server* ]] ;;
  esac
}

pidfile() { printf '%s\n' "$DIR/run/$1.pid"; }

tail_log() {
  local f="$DIR/logs/$1.log"
  [[ -f $f ]] || return 0
  printf -- '----- last lines of %s -----\n' "$f" >&2
  tail -n 40 "$f" >&2
  printf -- '-----\n' >&2
}

# start NAME CMD...: run CMD detached (own session, so a Ctrl-C aimed at the
# test does not hit the servers before `down` can stop them in order).
start() {
  local name=$1
  shift
  # 8>&-: the server must not inherit (and so hold) DIR's lock.
  setsid env SGT_TESTENV_DIR="$DIR" "$@" >"$DIR/logs/$name.log" 2>&1 </dev/null 8>&- &
  printf '%s\n' "$!" >"$(pidfile "$name")"
}

# wait_for NAME CHECK...: poll CHECK until it succeeds, the server dies or time runs out.
wait_for() {
  local name=$1 pid deadline=$((SECONDS + READY_TIMEOUT))
  shift
  pid=$(<"$(pidfile "$name")")
  until "$@" >/dev/null 2>&1; do
    if ! alive "$pid"; then
      tail_log "$name"
      die "$name exited during startup (log: $DIR/logs/$name.log)"
    fi
    if ((SECONDS >= deadline)); then
      tail_log "$name"
      die "$name not ready after ${READY_TIMEOUT}s (log: $DIR/logs/$name.log)"
    fi
    sleep 0.2
  done
  log "${WAIT_LABEL:-$name} ready"
}

# ---------------------------------------------------------------- pki

# Throwaway CA, apiserver serving cert (127.0.0.1/localhost), a system:masters
# client cert, and the service-account signing key pair.
make_pki() {
  local p="$DIR/pki"
  mkdir -p "$p"
  (
    cd "$p"
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=sg-tightener-testenv-ca" \
      -keyout ca.key -out ca.crt 2>/dev/null
    issue serving "/CN=kube-apiserver" \
      "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc
extendedKeyUsage=serverAuth"
    issue admin "/O=system:masters/CN=sgt-admin" "extendedKeyUsage=clientAuth"
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    chmod 600 ./*.key
  )
}

# issue NAME SUBJECT EXTENSIONS (run inside the pki dir)
issue() {
  local name=$1 subj=$2 ext=$3
  openssl req -newkey rsa:2048 -nodes -subj "$subj" -keyout "$name.key" -out "$name.csr" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n%s\n' "$ext" >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
    -extfile "$name.ext" -out "$name.crt" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

write_kubeconfig() {
  local url=$1 p="$DIR/pki"
  cat >"$DIR/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: testenv
  cluster:
    server: $url
    certificate-authority-data: $(base64 -w0 <"$p/ca.crt")
users:
- name: sgt-admin
  user:
    client-certificate-data: $(base64 -w0 <"$p/admin.crt")
    client-key-data: $(base64 -w0 <"$p/admin.key")
contexts:
- name: testenv
  context:
    cluster: testenv
    user: sgt-admin
    namespace: default
current-context: testenv
EOF
  chmod 600 "$DIR/kubeconfig"
}

# ---------------------------------------------------------------- servers

start_etcd() {
  local client=$1 peer=$2
  mkdir -p "$DIR/etcd-data"
  start etcd "$(tool_path etcd)" \
    --name=default \
    --data-dir="$DIR/etcd-data" \
    --listen-client-urls="http://127.0.0.1:$client" \
    --advertise-client-urls="http://127.0.0.1:$client" \
    --listen-peer-urls="http://127.0.0.1:$peer" \
    --initial-advertise-peer-urls="http://127.0.0.1:$peer" \
    --initial-cluster="default=http://127.0.0.1:$peer" \
    --unsafe-no-fsync=true
  wait_for etcd curl -fsS --max-time 2 "http://127.0.0.1:$client/health"
}

# The audit policy: metadata of every request on the kinds and resources the operator touches, so
# e2e/chart_access.rs can compare what the operator (acting as the chart's ServiceAccount) called
# with what the chart grants. Written to logs/audit.log.
write_audit_policy() {
  cat >"$DIR/audit-policy.yaml" <<'EOF'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    resources:
      - group: sgtightener.io
      - group: events.k8s.io
        resources: [events]
      - group: ""
        resources: [configmaps, events, secrets, pods]
      - group: coordination.k8s.io
        resources: [leases]
  - level: None
EOF
}

start_apiserver() {
  local port=$1 etcd=$2 p="$DIR/pki"
  local url="https://127.0.0.1:$port"
  write_audit_policy
  start kube-apiserver "$(tool_path kube-apiserver)" \
    --audit-policy-file="$DIR/audit-policy.yaml" \
    --audit-log-path="$DIR/logs/audit.log" \
    --audit-log-mode=blocking \
    --etcd-servers="http://127.0.0.1:$etcd" \
    --bind-address=127.0.0.1 \
    --advertise-address=127.0.0.1 \
    --secure-port="$port" \
    --cert-dir="$DIR/apiserver-certs" \
    --tls-cert-file="$p/serving.crt" \
    --tls-private-key-file="$p/serving.key" \
    --client-ca-file="$p/ca.crt" \
    --authorization-mode=RBAC \
    --service-account-issuer="$url" \
    --service-account-key-file="$p/sa.pub" \
    --service-account-signing-key-file="$p/sa.key" \
    --service-cluster-ip-range=10.0.0.0/24 \
    --allow-privileged=true \
    --disable-admission-plugins=ServiceAccount \
    --profiling=false
  write_kubeconfig "$url"
  # /readyz covers etcd, RBAC bootstrap roles and CRD informers; the default
  # namespace is made by a loop that /readyz does not wait for.
  wait_for kube-apiserver api_get "$url/readyz"
  WAIT_LABEL="default namespace" wait_for kube-apiserver api_get "$url/api/v1/namespaces/default"
}

api_get() {
  local p="$DIR/pki"
  curl -fsS --max-time 5 --cacert "$p/ca.crt" --cert "$p/admin.crt" --key "$p/admin.key" "$1"
}

start_moto() {
  local port=$1 venv
  venv=$(moto_venv_dir)
  # moto reads its own settings from the environment; keep it on loopback and
  # never let it look for real credentials or instance metadata.
  start moto env -u AWS_PROFILE AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
    AWS_EC2_METADATA_DISABLED=true \
    "$venv/bin/moto_server" -H 127.0.0.1 -p "$port"
  wait_for moto curl -fsS --max-time 2 "http://127.0.0.1:$port/moto-api/data.json"
}

write_env() {
  local api=$1 etcd=$2 moto=$3 tmp
  tmp="$DIR/env.tmp"
  cat >"$tmp" <<EOF
SGT_TESTENV_DIR=$DIR
SGT_TESTENV_FILE=$DIR/env
KUBECONFIG=$DIR/kubeconfig
SGT_KUBE_APISERVER_URL=https://127.0.0.1:$api
SGT_ETCD_URL=http://127.0.0.1:$etcd
AWS_ENDPOINT_URL=http://127.0.0.1:$moto
SGT_MOTO_URL=http://127.0.0.1:$moto
SGT_PYTHON=$(moto_venv_dir)/bin/python
AWS_ACCESS_KEY_ID=testing
AWS_SECRET_ACCESS_KEY=testing
AWS_REGION=$AWS_TEST_REGION
AWS_DEFAULT_REGION=$AWS_TEST_REGION
AWS_EC2_METADATA_DISABLED=true
AWS_CONFIG_FILE=/dev/null
AWS_SHARED_CREDENTIALS_FILE=/dev/null
NO_PROXY=127.0.0.1,localhost
KUBECTL=$(tool_path kubectl)
HELM=$(tool_path helm)
SGT_ETCD_PID=$(<"$(pidfile etcd)")
SGT_KUBE_APISERVER_PID=$(<"$(pidfile kube-apiserver)")
SGT_MOTO_PID=$(<"$(pidfile moto)")
SGT_AUDIT_LOG=$DIR/logs/audit.log
EOF
  mv "$tmp" "$DIR/env"
}

# ---------------------------------------------------------------- commands

healthy() {
  [[ -f $DIR/env ]] || return 1
  local name api moto
  for name in "${SERVERS[@]}"; do
    pid_is "$name" "$(cat "$(pidfile "$name")" 2>/dev/null)" || return 1
  done
  api=$(sed -n 's/^SGT_KUBE_APISERVER_URL=//p' "$DIR/env")
  moto=$(sed -n 's/^SGT_MOTO_URL=//p' "$DIR/env")
  api_get "$api/readyz" >/dev/null 2>&1 &&
    curl -fsS --max-time 2 "$moto/moto-api/data.json" >/dev/null 2>&1
}

cmd_up() {
  if healthy; then
    log "already up: $DIR/env"
    printf '%s\n' "$DIR/env"
    return 0
  fi
  cmd_down >/dev/null 2>&1 || true # leftovers of a crashed run in this DIR
  command -v openssl >/dev/null || die "'openssl' not found (Debian package openssl)"
  command -v curl >/dev/null || die "'curl' not found (Debian package curl)"
  "$SGT_ROOT/scripts/build-control-plane.sh" kube-apiserver etcd kubectl helm
  "$SGT_ROOT/scripts/moto-venv.sh"

  local start=$SECONDS etcd_port peer_port api_port moto_port
  rm -rf "$DIR/etcd-data" "$DIR/pki" "$DIR/apiserver-certs" "$DIR/env"
  mkdir -p "$DIR/logs" "$DIR/run"
  trap up_failed EXIT
  make_pki
  # Free now; a clash with another process grabbing one before the server
  # binds shows up as a startup failure with "address already in use".
  etcd_port=$(free_port)
  peer_port=$(free_port)
  api_port=$(free_port)
  moto_port=$(free_port)
  start_etcd "$etcd_port" "$peer_port"
  start_moto "$moto_port"
  start_apiserver "$api_port" "$etcd_port"
  write_env "$api_port" "$etcd_port" "$moto_port"
  trap - EXIT
  log "up in $((SECONDS - start)) s: source $DIR/env"
  printf '%s\n' "$DIR/env"
}

up_failed() {
  log "startup failed; stopping what had started (logs in $DIR/logs)"
  cmd_down >/dev/null 2>&1 || true
}

# stop NAME: SIGTERM, wait up to 15 s, then SIGKILL; only our own process.
stop() {
  local name=$1 f pid i
  f=$(pidfile "$name")
  [[ -f $f ]] || return 0
  pid=$(<"$f")
  if pid_is "$name" "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
      alive "$pid" || break
      sleep 0.1
    done
    if alive "$pid"; then
      log "$name (pid $pid) ignored SIGTERM for 15 s; killing"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    log "stopped $name (pid $pid)"
  fi
  rm -f "$f"
}

cmd_down() {
  [[ -d $DIR ]] || return 0
  rm -f "$DIR/env" # nobody may pick up a half-stopped environment
  local name
  # apiserver first (it holds etcd connections), then etcd and moto.
  for name in kube-apiserver etcd moto; do
    stop "$name"
  done
  rm -rf "$DIR/etcd-data" "$DIR/apiserver-certs" "$DIR/run" "$DIR/pki" "$DIR/kubeconfig"
  log "down ($DIR; logs kept in $DIR/logs)"
}

cmd_env() {
  [[ -f $DIR/env ]] || die "no environment at $DIR (run: scripts/testenv.sh up${DIR:+ --dir $DIR})"
  sed 's/^/export /' "$DIR/env"
}

cmd_status() {
  if healthy; then
    log "up: $DIR/env"
  else
    log "not up: $DIR"
    return 1
  fi
}

main() {
  local cmd=${1:-}
  [[ -n $cmd ]] || die "usage: testenv.sh up|down|env|status [--dir DIR]"
  shift
  DIR=${SGT_TESTENV_DIR:-$SGT_ROOT/.cache/testenv/default}
  while (($#)); do
    case $1 in
      --dir)
        DIR=${2:?--dir needs a value}
        shift 2
        ;;
      *) die "unknown argument '$1'" ;;
    esac
  done
  [[ $DIR != *[[:space:]]* ]] || die "state dir must not contain whitespace: '$DIR'"
  mkdir -p "$DIR"
  DIR=$(cd "$DIR" && pwd)
  # One up/down at a time per DIR: test processes racing to `up` one shared
  # environment get one environment.
  exec 8>"$DIR/.lock"
  flock 8
  case $cmd in
    up) cmd_up ;;
    down) cmd_down ;;
    env) cmd_env ;;
    status) cmd_status ;;
    -h | --help) sed -n '2,19p' "$0" ;;
    *) die "unknown command '$cmd' (up|down|env|status)" ;;
  esac
}

main "$@"
