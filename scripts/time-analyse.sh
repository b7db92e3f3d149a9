#!/usr/bin/env bash
# Times `zcat FILE > /dev/null` beside `sg-tightener analyse --flow-logs FILE > out.json` (and
# `--format ndjson`) on any gzip flow-log file, with the release binary (`make release`), and
# prints the ratios — issue 13's target is analyse within 2× of zcat. `make bench-cli` runs the
# same comparison on generated data; this script is for a real file.
#   usage: scripts/time-analyse.sh FILE.gz [ANALYSE FLAGS...]   (SGT_BIN=path to use another binary)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${SGT_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/sg-tightener}
[ $# -ge 1 ] || { echo "usage: $0 FILE.gz [ANALYSE FLAGS...]" >&2; exit 2; }
FILE=$1; shift
[ -x "$BIN" ] || { echo "no binary at $BIN: run \`make release\` or set SGT_BIN" >&2; exit 2; }
OUT=$(mktemp -d "${TMPDIR:-/tmp}/sgt-time.XXXXXX")
trap 'rm -rf "$OUT"' EXIT

# runs a command with its stdout into $1; its seconds and peak RSS (KiB) land in $OUT/time
measure() {
  local stdout=$1; shift
  if ! /usr/bin/time -f '%e %M' -o "$OUT/time" "$@" > "$stdout" 2> "$OUT/stderr"; then
    cat "$OUT/stderr" >&2
    exit 1
  fi
}

measure /dev/null zcat "$FILE"
read -r zcat zcat_rss < "$OUT/time"
printf '%-40s %7ss %8s KiB\n' "zcat > /dev/null" "$zcat" "$zcat_rss"
for flags in "" "--format ndjson" "--pretty"; do
  # shellcheck disable=SC2086 # $flags is a list of flags
  measure "$OUT/out" "$BIN" analyse --flow-logs "$FILE" $flags "$@"
  read -r t rss < "$OUT/time"
  printf '%-40s %7ss %8s KiB  %5s× zcat  %s MB out\n' "analyse ${flags:-(json)} > file" "$t" "$rss" \
    "$(awk -v a="$t" -v z="$zcat" 'BEGIN { printf "%.2f", (z > 0 ? a / z : 0) }')" \
    "$(( $(stat -c %s "$OUT/out") / 1000000 ))"
done
