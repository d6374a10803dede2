#!/usr/bin/env bash
# The main job, end to end, on the built-in token provider: no cloud account needed.
# Starts a Vault dev server on loopback (building Vault once if needed), logs in as a
# workload, issues a task-scoped token, verifies it against the JWKS, shows a refusal,
# revokes the lease, shows the token inactive, and prints the audit lines.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export NHI_DEV_PORT="${NHI_DEV_PORT:-8299}"
export NHI_DEV_DIR="${NHI_DEV_DIR:-$root/.dev/demo}"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
show() { printf '    $ %s\n' "$*"; }

step "Starting a Vault dev server with the plugin registered by SHA-256 (first run builds Vault: ~10 min)"
eval "$("$root/scripts/dev-server.sh" --background)"
trap 'kill "$NHI_VAULT_PID" 2>/dev/null || true' EXIT
vault() { "$NHI_VAULT_BIN" "$@"; }
(cd "$root" && go build -o "$NHI_DEV_DIR/demotool" ./scripts/demotool)
demotool() { "$NHI_DEV_DIR/demotool" "$@"; }
vault version
echo "    VAULT_ADDR=$VAULT_ADDR, engine mounted at nhi/, audit log at $NHI_AUDIT_LOG"

step "Operator: a workload identity (userpass login) with entity metadata team=reports"
vault auth enable userpass >/dev/null
vault policy write reports-bot - >/dev/null <<'POLICY'
path "nhi/creds/reports-writer" { capabilities = ["read", "update"] }
POLICY
vault write auth/userpass/users/reports-bot password=demo-only-password policies=reports-bot >/dev/null
workload_token=$(vault login -no-store -field=token -method=userpass username=reports-bot password=demo-only-password 2>/dev/null)
entity_id=$(VAULT_TOKEN=$workload_token vault token lookup -format=json | grep -o '"entity_id": *"[^"]*"' | cut -d'"' -f4)
vault write "identity/entity/id/$entity_id" metadata=team=reports >/dev/null
echo "    entity $entity_id, metadata team=reports"

step "Operator: role reports-writer (what may ever be issued)"
cat >"$NHI_DEV_DIR/grants.json" <<'JSON'
[{"destination": "https://reports.internal/exports/*", "actions": ["write", "list"], "max_sensitivity": "confidential"}]
JSON
show 'vault write nhi/roles/reports-writer allowed_tasks="nightly-*" grants=@grants.json bound_entity_metadata=team=reports bound_cidrs=127.0.0.0/8 ttl=5m max_ttl=1h'
vault write nhi/roles/reports-writer allowed_tasks="nightly-*" grants=@"$NHI_DEV_DIR/grants.json" \
  bound_entity_metadata=team=reports bound_cidrs=127.0.0.0/8 ttl=5m max_ttl=1h >/dev/null

step "Workload: ask for a credential for one task"
show 'vault write nhi/creds/reports-writer task=nightly-export destinations="https://reports.internal/exports/2026/*" actions=write sensitivity=internal ttl=5m'
VAULT_TOKEN=$workload_token vault write -format=json nhi/creds/reports-writer task=nightly-export \
  destinations='https://reports.internal/exports/2026/*' actions=write sensitivity=internal ttl=5m >"$NHI_DEV_DIR/creds.json"
lease_id=$(grep -o '"lease_id": *"[^"]*"' "$NHI_DEV_DIR/creds.json" | cut -d'"' -f4)
jwt=$(grep -o '"token": *"[^"]*"' "$NHI_DEV_DIR/creds.json" | cut -d'"' -f4)
credential_id=$(grep -o '"credential_id": *"[^"]*"' "$NHI_DEV_DIR/creds.json" | cut -d'"' -f4)
echo "    lease_id=$lease_id"
echo "    credential_id=$credential_id token=${jwt:0:24}... (truncated)"

step "Relying party: verify the token against the unauthenticated JWKS"
show "curl $VAULT_ADDR/v1/nhi/jwks"
demotool verify "$VAULT_ADDR/v1/nhi/jwks" "$jwt"

step "Relying party: may this credential write a file under the approved prefix? and elsewhere?"
vault write -format=json nhi/authorize token="$jwt" action=write resource=https://reports.internal/exports/2026/report.csv source_ip=127.0.0.1 |
  grep -E '"allowed"' | sed 's/^/    in intent:  /'
vault write -format=json nhi/authorize token="$jwt" action=write resource=https://reports.internal/payroll/2026.csv source_ip=127.0.0.1 |
  grep -E '"allowed"|reports.internal/payroll' | sed 's/^/    outside:    /'

step "Security engineer: the refused use is a drift finding (vault list nhi/drift)"
finding=$(vault list -format=json nhi/drift | grep -o '"f-[^"]*"' | head -1 | tr -d '"')
vault read -format=json "nhi/drift/$finding" | grep -E '"rule"|"severity"|"credential_id"|"enforcement"' | sed 's/^/    /'

step "Workload: a request outside the role is refused with the check that failed"
show 'vault write nhi/creds/reports-writer task=nightly-export destinations="https://reports.internal/*" actions=write'
VAULT_TOKEN=$workload_token vault write nhi/creds/reports-writer task=nightly-export \
  destinations='https://reports.internal/*' actions=write 2>&1 | grep -E 'Code:|denied|\*' | sed 's/^/    /' || true
show 'vault write nhi/creds/reports-writer task=adhoc-dump destinations="https://reports.internal/exports/2026/*"'
VAULT_TOKEN=$workload_token vault write nhi/creds/reports-writer task=adhoc-dump \
  destinations='https://reports.internal/exports/2026/*' 2>&1 | grep -E 'Code:|denied|\*' | sed 's/^/    /' || true

step "Relying party: introspect while the lease is live"
vault write -format=json nhi/introspect token="$jwt" | grep -E '"active"|"task"|"scope"' | sed 's/^/    /'

step "Operator: revoke the lease"
show "vault lease revoke $lease_id"
vault lease revoke "$lease_id" | sed 's/^/    /'

step "Relying party: introspect again: the credential is dead although its exp is minutes away"
vault write -format=json nhi/introspect token="$jwt" | grep -E '"active"' | sed 's/^/    /'
vault read -format=json "nhi/credentials/$credential_id" | grep -E '"status"|"revoke_reason"' | sed 's/^/    /'

step "Security engineer: the audit log holds the issuance, the refusals and the revocation"
demotool audit "$NHI_AUDIT_LOG" nhi/creds/ nhi/authorize nhi/introspect sys/leases/revoke

step "Done. The server stops now; 'make dev' keeps one running."
