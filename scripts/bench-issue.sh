#!/usr/bin/env bash
# Credential issuance through a real Vault dev server, measured in the same run as a
# kv-v2 read on the same server: 8 concurrent clients, 10 s per phase, then the ratio.
# Issued leases (ttl 1m) are revoked with `vault lease revoke -prefix` at the end.
#
# Environment: NHI_VAULT_BIN or VAULT_BIN (vault binary; otherwise scripts/get-vault.sh
# builds the pinned release once), NHI_BENCH_DURATION (per phase, default 10s),
# NHI_BENCH_CLIENTS (default 8), NHI_BENCH_COUNT (fixed operations per phase instead).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
NHI_VAULT_BIN="${NHI_VAULT_BIN:-$("$root/scripts/get-vault.sh")}"
export NHI_VAULT_BIN
echo "bench-issue: vault $NHI_VAULT_BIN, $(nproc) CPUs" >&2
NHI_BENCH=1 go test -count=1 -timeout 20m -run '^TestIssueThroughput$' -v ./tests/bench/
