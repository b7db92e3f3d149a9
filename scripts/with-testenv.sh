#!/usr/bin/env bash
# with-testenv.sh CMD [ARGS...]: run CMD inside the end-to-end test environment
# (etcd + kube-apiserver + moto_server, see scripts/testenv.sh) and exit with
# CMD's exit code.
#
# - SGT_TESTENV_DIR set and that environment already up: CMD shares it; this
#   script neither starts nor stops anything (its owner does).
# - otherwise: a private environment is started (in SGT_TESTENV_DIR if set, else a
#   fresh directory under .cache/testenv/), CMD runs, and the environment is
#   always torn down — on success, failure, Ctrl-C or SIGTERM. Its logs are
#   kept when CMD failed, and removed with the directory when it passed.
#
# CMD sees every variable of the env file exported (KUBECONFIG, AWS_ENDPOINT_URL,
# AWS_REGION, ..., SGT_TESTENV_FILE): see scripts/testenv.sh.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

TESTENV="$SGT_ROOT/scripts/testenv.sh"
DIR=""
OWNED=0     # 1 when this script started the environment and must stop it
PRIVATE=0   # 1 when DIR was made here and may be deleted
CHILD=""
RC=1

teardown() {
  if [[ -n $CHILD ]] && kill -0 "$CHILD" 2>/dev/null; then
    kill -TERM "$CHILD" 2>/dev/null || true
    wait "$CHILD" 2>/dev/null || true
  fi
  if ((OWNED)); then
    "$TESTENV" down --dir "$DIR" || true
    if ((PRIVATE)) && ((RC == 0)); then
      rm -rf "$DIR"
    else
      log "server logs: $DIR/logs"
    fi
  fi
}

# A background command of a non-interactive shell ignores SIGINT, so Ctrl-C
# (INT) is passed on to CMD as TERM.
forward() {
  [[ -z $CHILD ]] || kill -TERM "$CHILD" 2>/dev/null || true
}

main() {
  (($#)) || die "usage: with-testenv.sh CMD [ARGS...]"
  trap teardown EXIT
  trap forward INT TERM
  if [[ -n ${SGT_TESTENV_DIR:-} ]] && "$TESTENV" status --dir "$SGT_TESTENV_DIR" 2>/dev/null; then
    DIR=$SGT_TESTENV_DIR
    log "sharing the environment in $DIR"
  else
    if [[ -n ${SGT_TESTENV_DIR:-} ]]; then
      DIR=$SGT_TESTENV_DIR
    else
      mkdir -p "$SGT_ROOT/.cache/testenv"
      DIR=$(mktemp -d "$SGT_ROOT/.cache/testenv/run.XXXXXX")
      PRIVATE=1
    fi
    OWNED=1
    "$TESTENV" up --dir "$DIR" >/dev/null
  fi

  set -a
  # shellcheck source=/dev/null
  source "$DIR/env"
  set +a

  # CMD runs in the background so that a signal to this script reaches the
  # traps at once; its stdin stays this script's stdin.
  "$@" <&0 &
  CHILD=$!
  while :; do
    if wait "$CHILD"; then RC=0; else RC=$?; fi
    kill -0 "$CHILD" 2>/dev/null || break # else wait was cut short by a trapped signal
  done
  CHILD=""
  return "$RC"
}

main "$@"
