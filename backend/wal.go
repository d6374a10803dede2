package backend

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/paths"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/store"
)

// walRollback undoes an issuance whose WAL entry outlived it: the caller never got a
// lease, so whatever the provider created must not stay usable.
func (b *Backend) walRollback(ctx context.Context, req *logical.Request, kind string, data any) error {
	if kind != walKindIssue {
		return fmt.Errorf("unknown WAL kind %q", kind)
	}
	// WAL data comes back from storage as generic JSON; a JSON round trip restores it.
	var entry paths.WALIssue
	encoded, err := json.Marshal(data)
	if err == nil {
		err = json.Unmarshal(encoded, &entry)
	}
	if err != nil || entry.CredentialID == "" {
		return fmt.Errorf("decoding WAL entry: %v", err)
	}
	provider, ok := b.providers[entry.Provider]
	if !ok {
		return fmt.Errorf("WAL entry for credential %s names provider %q, which this engine does not have", entry.CredentialID, entry.Provider)
	}
	record, err := store.GetRecord(ctx, req.Storage, entry.CredentialID)
	if err != nil {
		return err
	}
	revoke := providers.RevokeRequest{CredentialID: entry.CredentialID, Now: b.clock().UTC()}
	if record != nil {
		revoke.Ref, revoke.IssuedAt, revoke.ExpiresAt = record.Ref, record.IssuedAt, record.ExpiresAt
	}
	if err := provider.Revoke(ctx, req.Storage, revoke); err != nil {
		return fmt.Errorf("rolling back credential %s: %w", entry.CredentialID, err)
	}
	if record != nil && record.Status == store.StatusActive {
		record.Status = store.StatusRolledBack
		record.RevokedAt = revoke.Now
		record.RevokeReason = "issuance did not complete; rolled back"
		return store.PutRecord(ctx, req.Storage, record)
	}
	return nil
}
