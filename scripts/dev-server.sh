#!/usr/bin/env bash
# Starts a Vault dev server on loopback with this plugin registered by its SHA-256, a
# file audit device, and the engine mounted at nhi/.
#
#   scripts/dev-server.sh            run in the foreground until Ctrl-C (make dev)
#   scripts/dev-server.sh --background   start, wait until ready, print `export` lines
#
# Environment: VAULT_BIN (use this vault), NHI_DEV_PORT (default 8200), NHI_DEV_DIR
# (state folder, default .dev/).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
port="${NHI_DEV_PORT:-8200}"
dir="${NHI_DEV_DIR:-$root/.dev}"
mode="${1:-}"

vault_bin=$("$root/scripts/get-vault.sh")
mkdir -p "$dir/plugins"
(cd "$root" && go build -o "$dir/plugins/vault-plugin-secrets-nhi" ./cmd/vault-plugin-secrets-nhi)
sha=$(sha256sum "$dir/plugins/vault-plugin-secrets-nhi" | cut -d' ' -f1)

export VAULT_ADDR="http://127.0.0.1:$port"
export VAULT_TOKEN=root
if [ -f "$dir/vault.pid" ] && kill -0 "$(cat "$dir/vault.pid")" 2>/dev/null; then
  kill "$(cat "$dir/vault.pid")" && sleep 1
fi
rm -f "$dir/audit.log"
"$vault_bin" server -dev -dev-root-token-id=root -dev-listen-address="127.0.0.1:$port" \
  -dev-plugin-dir="$dir/plugins" -log-level=info >"$dir/vault.log" 2>&1 &
echo $! >"$dir/vault.pid"
for _ in $(seq 1 100); do
  "$vault_bin" status >/dev/null 2>&1 && break
  sleep 0.2
done
"$vault_bin" status >/dev/null || { echo "vault did not start; see $dir/vault.log" >&2; exit 1; }

"$vault_bin" plugin register -sha256="$sha" -command=vault-plugin-secrets-nhi secret vault-plugin-secrets-nhi >/dev/null
"$vault_bin" audit enable file file_path="$dir/audit.log" >/dev/null
# Verdict fields and refusal reasons stay readable in the audit log; everything else
# (tokens, secrets, justifications) keeps Vault's HMAC.
"$vault_bin" secrets enable -path=nhi \
  -audit-non-hmac-response-keys=error \
  -audit-non-hmac-response-keys=credential_id \
  -audit-non-hmac-response-keys=task \
  -audit-non-hmac-response-keys=reasons \
  -audit-non-hmac-response-keys=sensitivity \
  -audit-non-hmac-response-keys=max_severity \
  -audit-non-hmac-response-keys=findings \
  -audit-non-hmac-response-keys=finding_id \
  -audit-non-hmac-response-keys=finding_ids \
  -audit-non-hmac-request-keys=task \
  -audit-non-hmac-request-keys=destinations \
  -audit-non-hmac-request-keys=actions \
  -audit-non-hmac-request-keys=sensitivity \
  vault-plugin-secrets-nhi >/dev/null
"$vault_bin" write nhi/config/token issuer="$VAULT_ADDR/v1/nhi" >/dev/null

if [ "$mode" = "--background" ]; then
  echo "export VAULT_ADDR=$VAULT_ADDR VAULT_TOKEN=root NHI_VAULT_BIN=$vault_bin NHI_VAULT_PID=$(cat "$dir/vault.pid") NHI_AUDIT_LOG=$dir/audit.log"
  exit 0
fi
echo "Vault dev server at $VAULT_ADDR (token: root), engine at nhi/, audit log $dir/audit.log. Ctrl-C stops it."
trap 'kill $(cat "$dir/vault.pid") 2>/dev/null' INT TERM EXIT
wait "$(cat "$dir/vault.pid")"
