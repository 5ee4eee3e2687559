#!/usr/bin/env bash
# Runs every Fuzz function in the module for a bounded time each
# (FUZZTIME, default 10s). Corpora found go to testdata/fuzz/ as usual.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10s}
status=0
while IFS= read -r file; do
	dir=./$(dirname "$file")
	for fn in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)' "$file" | awk '{print $2}'); do
		echo "-- $dir $fn ($fuzztime)"
		if ! go test -run='^$' -fuzz="^${fn}\$" -fuzztime="$fuzztime" "$dir"; then
			status=1
		fi
	done
done < <(git ls-files '*_test.go' | xargs grep -l '^func Fuzz' | sort)
exit $status
