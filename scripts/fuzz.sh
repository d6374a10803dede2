#!/usr/bin/env bash
# Runs every Go fuzz target in the module for FUZZTIME each (default 5s): long enough to
# catch a regression in CI, short enough for a 2-core machine. Seed corpora also run as
# plain tests in `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-5s}"
status=0
while IFS= read -r file; do
  pkg=$(dirname "$file")
  for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)' "$file" | awk '{print $2}'); do
    echo "fuzz $pkg $target ($fuzztime)"
    go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg" >/tmp/nhi-fuzz.log 2>&1 || {
      cat /tmp/nhi-fuzz.log; status=1; }
  done
done < <(grep -rlE '^func Fuzz' --include='*_test.go' . | grep -v '^./tests/' | sort)
exit $status
