#!/usr/bin/env bash
# Makes the previous release's vectors for DefaultModelMatchesPreviousReleaseTest: the default model's table as
# embedpipe wrote it before the model catalog (issue 14), from commit 582947b (the models branch's base, the last
# commit of jobs/src/main/java/dev/embedpipe/embed/onnx before it), on input.jsonl: 40 gsm8k_test texts (lines
# 1001-1040) and the first 12 WordNet glosses over 150 characters, all from datasets-test/.
# Usage (from the project folder, nothing else running): jobs/src/test/resources/previous-release/make-fixture.sh
set -euo pipefail
HOME_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../../.." && pwd)
HERE="$HOME_DIR/jobs/src/test/resources/previous-release"
OLD=${OLD_TREE:-/tmp/pre14-582947b}
cd "$HOME_DIR"
{ sed -n 1001,1040p datasets-test/gsm8k_test.jsonl
  zcat datasets-test/wordnet31_glosses.jsonl.gz | python3 -c '
import json, sys
n = 0
for line in sys.stdin:
    if len(json.loads(line)["text"]) > 150 and n < 12:
        sys.stdout.write(line); n += 1' ; } > "$HERE/input.jsonl"
[[ -d $OLD ]] || git worktree add --detach "$OLD" 582947b
(cd "$OLD" && mvn -B -q -o -DskipTests package)
OUT=$(mktemp -d)/out
"$OLD/jobs/bin/embedpipe" embed --input "$HERE/input.jsonl" --output "$OUT"
rm -rf "$HERE/minilm-582947b" && mkdir -p "$HERE/minilm-582947b"
cp "$OUT"/embeddings/*.parquet "$HERE/minilm-582947b/"
cp "$OUT/manifest.json" "$HERE/minilm-582947b/"
echo "wrote $HERE/minilm-582947b (remove the worktree with: git worktree remove $OLD)"
