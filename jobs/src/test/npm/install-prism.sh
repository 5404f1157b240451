#!/bin/sh
# Installs Stoplight Prism (PrismContractTest's OpenAI mock) from this folder's package-lock.json into the folder
# given, with the machine's own npm. Run by the Maven build (exec-maven-plugin, process-test-resources). Without npm
# it says so and succeeds: the test then skips, naming the reason. An install whose lock file is unchanged is kept.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
into=$1
if ! command -v npm >/dev/null 2>&1; then
  echo "embedpipe: npm is not on the PATH: Prism is not installed and PrismContractTest will be skipped"
  exit 0
fi
if [ -x "$into/node_modules/.bin/prism" ] && cmp -s "$here/package-lock.json" "$into/package-lock.json"; then
  exit 0
fi
mkdir -p "$into"
cp "$here/package.json" "$here/package-lock.json" "$into/"
cd "$into"
echo "embedpipe: installing Prism with npm ci into $into"
npm ci --no-audit --no-fund --loglevel=error
