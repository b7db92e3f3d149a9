# shellcheck shell=bash
# Shared by scripts/*.sh: versions, cache locations, logging.
# The versions of the Go-built tools are read from the wrapper modules under
# hack/tools/ (their go.mod + go.sum are the single source of truth), so a
# version bump is one `go get` there and nothing else.

SGT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SGT_TOOLS_SRC="$SGT_ROOT/hack/tools"
SGT_CACHE="${SGT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sg-tightener}"
SGT_BIN_CACHE="$SGT_CACHE/bin"

# moto is pinned in hack/moto/requirements.txt; this must match its moto line.
MOTO_VERSION="5.2.5"

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() {
  printf '[%s] error: %s\n' "$(basename "$0")" "$*" >&2
  exit 1
}

# module_version DIR MODULE -> the version DIR/go.mod requires for MODULE.
module_version() {
  local dir=$1 mod=$2 v
  v=$(sed -nE "s#^(require)?[[:space:]]*${mod//./\\.} (v[^[:space:]]+).*#\\2#p" "$dir/go.mod" | head -n1)
  [[ -n $v ]] || die "no 'require $mod' in $dir/go.mod"
  printf '%s\n' "$v"
}

KUBE_VERSION="$(module_version "$SGT_TOOLS_SRC/kubernetes" k8s.io/kubernetes)"
ETCD_VERSION="$(module_version "$SGT_TOOLS_SRC/etcd" go.etcd.io/etcd/server/v3)"
HELM_VERSION="$(module_version "$SGT_TOOLS_SRC/helm" helm.sh/helm/v3)"

# tool_version NAME -> version of a cached tool.
tool_version() {
  case $1 in
    kube-apiserver | kubectl) printf '%s\n' "$KUBE_VERSION" ;;
    etcd) printf '%s\n' "$ETCD_VERSION" ;;
    helm) printf '%s\n' "$HELM_VERSION" ;;
    *) die "unknown tool: $1" ;;
  esac
}

# tool_path NAME -> where the cached binary lives (it may not exist yet).
tool_path() {
  local v
  v=$(tool_version "$1")
  printf '%s\n' "$SGT_BIN_CACHE/$1-$v/$1"
}

# Venv for moto_server, keyed by a hash of the pinned requirements so that a
# change to the pins gives a new venv instead of mutating an old one.
moto_venv_dir() {
  local h
  h=$(sha256sum "$SGT_ROOT/hack/moto/requirements.txt" | cut -c1-12)
  printf '%s\n' "$SGT_CACHE/venv/moto-$MOTO_VERSION-$h"
}
