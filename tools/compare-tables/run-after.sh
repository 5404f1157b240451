#!/usr/bin/env bash
# run-after.sh LAUNCHER OUTDIR [BEFORE]
# Runs exactly the runs that made BEFORE (default: ./before, made by runs.sh with the older launcher) with another embedpipe launcher into OUTDIR
# (runs.sh: local, remote, remote-budget), then compares each pair with compare.sh and the exit codes.
# Prints (and writes to OUTDIR/compare.txt) one line per table per case; exit 0 iff everything is identical.
# COMPARE_ARGS (env) is passed to compare.sh, e.g. COMPARE_ARGS="--vector-tolerance 1e-6 --show 10".
# Example: tools/compare-tables/runs.sh OLD_CHECKOUT/jobs/bin/embedpipe before && tools/compare-tables/run-after.sh jobs/bin/embedpipe after before
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAUNCHER=$1; OUTDIR=$(realpath -m "$2"); BEFORE=$(realpath "${3:-$HERE/before}")
CASES=(local remote remote-budget)

"$HERE/runs.sh" "$LAUNCHER" "$OUTDIR" "${CASES[@]}"

rc=0
{
  for c in "${CASES[@]}"; do
    echo "=== $c: $BEFORE/$c vs $OUTDIR/$c"
    b=$(awk -v c="$c" '$1 == c {print $2}' "$BEFORE/logs/exit-codes.txt")
    a=$(awk -v c="$c" '$1 == c {print $2}' "$OUTDIR/logs/exit-codes.txt")
    echo "exit code: before $b, after $a, identical $([[ $b == "$a" ]] && echo yes || echo no)"
    [[ $b == "$a" ]] || rc=1
    # shellcheck disable=SC2086  # COMPARE_ARGS: extra compare.sh options, e.g. "--vector-tolerance 1e-6"
    "$HERE/compare.sh" "$BEFORE/$c" "$OUTDIR/$c" ${COMPARE_ARGS:-} || rc=1
  done
  echo "=== run-after: $([[ $rc == 0 ]] && echo 'ALL IDENTICAL' || echo 'DIFFERENCES FOUND')"
  exit "$rc"
} 2>&1 | tee "$OUTDIR/compare.txt"   # with pipefail, the script's exit status is the group's
