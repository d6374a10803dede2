#!/usr/bin/env bash
# Prints the path of a usable `vault` binary, building the pinned release once if needed.
#
# Order: $VAULT_BIN if set; a cached build of the pinned version; otherwise build it from
# the Go module proxy (about 10 minutes and 5 GB of memory on 2 cores) and cache it.
# The pinned release's go.mod points its nested modules at ./api and ./sdk, which the
# module zip does not contain, so the build needs the adjustments below.
set -euo pipefail

VAULT_VERSION="${VAULT_VERSION:-v1.21.4}"
VAULT_SDK_FOR_BUILD="v0.21.0"
CACHE_DIR="${NHI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vault-plugin-secrets-nhi}"
CACHED_BIN="$CACHE_DIR/vault-$VAULT_VERSION/vault"

log() { echo "get-vault: $*" >&2; }

if [ -n "${VAULT_BIN:-}" ]; then
  if [ ! -x "$VAULT_BIN" ]; then
    log "VAULT_BIN=$VAULT_BIN is not an executable file"
    exit 1
  fi
  echo "$VAULT_BIN"
  exit 0
fi

if [ -x "$CACHED_BIN" ] && "$CACHED_BIN" version >/dev/null 2>&1; then
  echo "$CACHED_BIN"
  exit 0
fi

mkdir -p "$CACHE_DIR"
# One builder at a time: parallel test packages may all ask for the binary.
exec 9>"$CACHE_DIR/.build.lock"
flock 9
if [ -x "$CACHED_BIN" ] && "$CACHED_BIN" version >/dev/null 2>&1; then
  echo "$CACHED_BIN"
  exit 0
fi

log "building Vault $VAULT_VERSION from the Go module proxy (first time only; ~10 min)"
src_ro=$(go mod download -json "github.com/hashicorp/vault@$VAULT_VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$src_ro" ] || { log "module download failed"; exit 1; }

work="$CACHE_DIR/src-$VAULT_VERSION"
rm -rf "$work"
cp -r "$src_ro" "$work"
chmod -R u+w "$work"
cd "$work"

# Nested modules are not in the zip: take them from the proxy instead.
sed -i -E '/^replace github\.com\/hashicorp\/vault\/(api|sdk)(\/[^ ]*)? => \.\//d' go.mod
go mod edit -require="github.com/hashicorp/vault/sdk@$VAULT_SDK_FOR_BUILD"

# Call sites where the release's tree differs from the published sdk it must build against.
sed -i 's/func (i \*IdentityStore) activateDeduplication(ctx context.Context, req \*logical.Request) error {/func (i *IdentityStore) activateDeduplication(ctx context.Context, req *logical.Request, _ string) error {/' \
  vault/identity_store_util.go
sed -i 's/b.idStoreBackend.ActivationFunc(ctx, nil)/b.idStoreBackend.ActivationFunc(ctx, nil, "")/' \
  vault/logical_system_activation_flags.go
sed -i 's/restoredKeyName, err := b.lm.RestorePolicy(ctx, req.Storage, keyName, backupB64, force)/restoredKeyName, err := keyName, b.lm.RestorePolicy(ctx, req.Storage, keyName, backupB64, force)/' \
  builtin/logical/transit/path_restore.go

mkdir -p "$(dirname "$CACHED_BIN")"
GOFLAGS=-mod=mod go build -mod=mod -ldflags "-s -w" -o "$CACHED_BIN.tmp" .
mv "$CACHED_BIN.tmp" "$CACHED_BIN"
cd /
rm -rf "$work"
log "cached $("$CACHED_BIN" version)"
echo "$CACHED_BIN"
