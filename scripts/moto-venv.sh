#!/usr/bin/env bash
# Creates (once) the Python venv with moto_server — the AWS endpoint of the
# end-to-end tests — and DuckDB (the SQL engine that runs the Athena reader's
# queries in e2e/athena.rs), from the pins in hack/moto/requirements.txt, under
# ${XDG_CACHE_HOME:-~/.cache}/sg-tightener/venv/moto-<version>-<hash of pins>/.
# Skips everything when that venv is already complete.
#
#   scripts/moto-venv.sh           # ensure it exists
#   scripts/moto-venv.sh --print   # ensure, then print its directory
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

REQUIREMENTS="$SGT_ROOT/hack/moto/requirements.txt"
PYTHON="${PYTHON:-python3}"

venv_complete() {
  local venv=$1
  [[ -f $venv/.complete && -x $venv/bin/moto_server ]] &&
    "$venv/bin/python" -c 'import moto, boto3, duckdb' >/dev/null 2>&1
}

create_venv() {
  local venv=$1 tmp start=$SECONDS
  command -v "$PYTHON" >/dev/null 2>&1 || die "'$PYTHON' not found: install Python >= 3.9 (or set PYTHON=...)"
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 9))' ||
    die "$PYTHON is $("$PYTHON" -V 2>&1); moto $MOTO_VERSION needs Python >= 3.9"
  log "creating moto $MOTO_VERSION venv at $venv (about 2 min cold)…"
  mkdir -p "$(dirname "$venv")"
  # Venvs are not relocatable, so it is made in place; .complete is written
  # last, so an interrupted install is redone from scratch next time.
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv"
  if ! "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input \
    -r "$REQUIREMENTS"; then
    rm -rf "$venv"
    die "pip could not install $REQUIREMENTS (is PyPI reachable?)"
  fi
  tmp=$("$venv/bin/python" -c 'import moto; print(moto.__version__)')
  [[ $tmp == "$MOTO_VERSION" ]] || die "installed moto $tmp, expected $MOTO_VERSION (fix MOTO_VERSION in scripts/lib/common.sh)"
  touch "$venv/.complete"
  log "moto venv ready in $((SECONDS - start)) s"
}

main() {
  local venv
  venv=$(moto_venv_dir)
  mkdir -p "$SGT_CACHE"
  exec 9>"$SGT_CACHE/.moto-venv.lock"
  flock 9
  if venv_complete "$venv"; then
    log "moto $MOTO_VERSION: cached at $venv"
  else
    create_venv "$venv"
  fi
  [[ ${1:-} != --print ]] || printf '%s\n' "$venv"
}

main "$@"
