#!/usr/bin/env bash
# Credential issuance through a real Vault dev server, measured in the same run as a
# kv-v2 read on the same server: 8 concurrent clients, 10 s per phase, then the ratio.
# Issued leases (ttl 1m) are revoked with `vault lease revoke -prefix` at the end.
# Then TestAWSIssueThroughput: AWS assumed_role issuance and revocation, nhi vs Vault's
# builtin aws engine, both against tests/awssim in the same run (see below).
# Then TestAzureIssueThroughput: Azure service principals, nhi vs HashiCorp's
# vault-plugin-secrets-azure v0.23.0, both against tests/azuresim in the same run.
#
# Environment: NHI_VAULT_BIN or VAULT_BIN (vault binary; otherwise scripts/get-vault.sh
# builds the pinned release once), NHI_BENCH_DURATION (per phase, default 10s),
# NHI_BENCH_CLIENTS (default 8), NHI_BENCH_COUNT (fixed operations per phase instead),
# NHI_AZURE_PLUGIN_BIN (a prebuilt vault-plugin-secrets-azure v0.23.0 instead of the cached build).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
NHI_VAULT_BIN="${NHI_VAULT_BIN:-$("$root/scripts/get-vault.sh")}"
export NHI_VAULT_BIN
echo "bench-issue: vault $NHI_VAULT_BIN, $(nproc) CPUs" >&2
NHI_BENCH=1 go test -count=1 -timeout 20m -run '^TestIssueThroughput$' -v ./tests/bench/
# A fresh dev server against the offline AWS simulator, side by side with Vault's builtin AWS
# engine (credential_type=assumed_role) on the same simulator: issuance (8 clients, 10 s
# per engine), then revocation of every lease each engine issued via sys/leases/revoke
# (bounded by the same duration), with the ratio nhi/builtin and the simulator's per-call
# counts. The builtin engine's STS revoke is a no-op; nhi's writes a deny policy.
NHI_BENCH=1 go test -count=1 -timeout 20m -run '^TestAWSIssueThroughput$' -v ./tests/bench/
# Drift: observe batches of 1,000 events through the real server (8 clients, one role
# each), then one collector run over 1,000 active AWS credentials (each used once)
# against the simulator's CloudTrail, and a second run with nothing new.
NHI_BENCH=1 go test -count=1 -timeout 20m -run '^TestDriftThroughput$' -v ./tests/bench/
# Azure: a fresh dev server against the offline Azure simulator (tests/azuresim), side by side
# with HashiCorp's vault-plugin-secrets-azure v0.23.0 (built once from the Go module proxy in a
# temporary module and cached under ~/.cache/vault-plugin-secrets-nhi/, or
# NHI_AZURE_PLUGIN_BIN), registered by SHA-256 on the same server. That plugin has no endpoint
# overrides, so the server's environment sends its public-cloud hosts through a CONNECT proxy
# in the test to the same simulator. Issuance (8 clients, 10 s per engine), then revocation of
# every lease each engine issued via sys/leases/revoke, with the ratio nhi/hashicorp and the
# simulator's Graph/ARM/token calls per credential.
NHI_BENCH=1 go test -count=1 -timeout 30m -run '^TestAzureIssueThroughput$' -v ./tests/bench/
