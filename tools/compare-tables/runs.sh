#!/usr/bin/env bash
# The three runs the before/after comparison is made of, with any embedpipe launcher:
#   OUTDIR/local          the README's run on datasets-sample (default local ONNX model)
#   OUTDIR/remote         openai provider against fake_openai.py on 127.0.0.1 (one input per request; inputs with the
#                         marker word get HTTP 400 -> errors/)
#   OUTDIR/remote-budget  the same with budget.max_total_tokens=$BUDGET (-> budget_exhausted errors, exit 3)
# OUTDIR/logs/ holds each run's stdout/stderr, the server's request log, and exit-codes.txt.
# Usage: runs.sh LAUNCHER OUTDIR [local|remote|remote-budget ...]   (default: all three)
set -euo pipefail
LAUNCHER=$(realpath "$1"); OUTDIR=$(realpath -m "$2"); shift 2
CASES=("$@"); [[ ${#CASES[@]} -gt 0 ]] || CASES=(local remote remote-budget)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Fixed on purpose so source_file is the same string before and after, whichever checkout the launcher lives in.
INPUT=${EMBEDPIPE_COMPARE_INPUT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/datasets-sample}
# The sample has no bad lines, so the remote runs also read this file: 6 rejects (invalid JSON, no text, duplicate id,
# not an object, blank text, trailing garbage), 1 blank line, 1 filtered, 2 documents (one with the marker).
BAD_INPUT=$HERE/inputs/bad-lines.jsonl
MARKER=dollars          # in the text of 8 of the 200 gsm8k documents, none of the WordNet glosses
BUDGET=9000             # budget.max_total_tokens for remote-budget (the remote run needs ~16,600)
REMOTE_SETS=(--set embedder.provider=openai --set embedder.model=fake-embed-16 --set embedder.dimensions=16
  --set chunk.max_tokens=512 --set limits.max_inputs_per_request=1 --set cost.usd_per_million_tokens=0.02)

export OPT_OUT_TRACKING=true
mkdir -p "$OUTDIR/logs"
for c in "${CASES[@]}"; do
  if [[ -e $OUTDIR/$c ]]; then echo "runs.sh: $OUTDIR/$c exists; choose a new OUTDIR (a previous table would act as cache)" >&2; exit 2; fi
done

SERVER_PID=""
stop_server() { if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; fi; }
trap stop_server EXIT
start_server() {  # $1: request log
  local portfile; portfile=$(mktemp -u "$OUTDIR/logs/port.XXXX")
  python3 "$HERE/fake_openai.py" --port-file "$portfile" --marker "$MARKER" --dims 16 --log "$1" &
  SERVER_PID=$!
  for _ in $(seq 100); do [[ -s $portfile ]] && break; sleep 0.1; done
  [[ -s $portfile ]] || { echo "runs.sh: fake_openai.py did not start" >&2; exit 1; }
  PORT=$(cat "$portfile"); rm -f "$portfile"
}

run() {  # $1: case name, rest: launcher arguments
  local name=$1; shift
  local rc=0
  echo "== $name: $LAUNCHER embed --output $OUTDIR/$name $*" >&2
  flock /tmp/build.lock "$LAUNCHER" embed --output "$OUTDIR/$name" "$@" \
    >"$OUTDIR/logs/$name.out" 2>"$OUTDIR/logs/$name.err" || rc=$?
  echo "$name $rc" >>"$OUTDIR/logs/exit-codes.txt"
  echo "   exit $rc; $(tail -n 1 "$OUTDIR/logs/$name.err")" >&2
}

for c in "${CASES[@]}"; do
  case $c in
    local) run local --input "$INPUT" ;;
    remote|remote-budget)
      start_server "$OUTDIR/logs/$c.requests.jsonl"
      extra=(); [[ $c == remote-budget ]] && extra=(--set budget.max_total_tokens=$BUDGET)
      OPENAI_API_KEY=sk-fake-compare-0000 run "$c" --input "$INPUT" --input "$BAD_INPUT" "${REMOTE_SETS[@]}" --set "embedder.base_url=http://127.0.0.1:$PORT/v1" "${extra[@]}"
      stop_server ;;
    *) echo "runs.sh: unknown case $c" >&2; exit 2 ;;
  esac
done
