#!/usr/bin/env bash
# compare.sh BEFORE_RUN AFTER_RUN [--show N] [--ignore TABLE.COLUMN]...
# Two embedpipe output folders (each with manifest.json) compared by DuckDB: see compare.mjs. Exit 0 iff identical.
# DuckDB comes from npm (@duckdb/node-api, the version .ci/run uses), installed into this folder only.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ ! -d $HERE/node_modules/@duckdb/node-api ]]; then
  (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi
exec node "$HERE/compare.mjs" "$@"
