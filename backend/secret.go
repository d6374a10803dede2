package backend

import (
	"context"
	"fmt"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/backend/intent"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/store"
)

func (b *Backend) credentialSecret() *framework.Secret {
	return &framework.Secret{
		Type: SecretTypeCredential,
		Fields: map[string]*framework.FieldSchema{
			"credential_id": {Type: framework.TypeString, Description: "Credential id."},
		},
		Revoke: b.revokeLease,
		Renew:  b.renewLease,
	}
}

func credentialIDOf(req *logical.Request) (string, error) {
	id, ok := req.Secret.InternalData["credential_id"].(string)
	if !ok || id == "" {
		return "", fmt.Errorf("lease has no credential_id")
	}
	return id, nil
}

// revokeLease runs on `vault lease revoke` and on lease expiry. The role may be gone:
// the record carries everything revocation needs.
func (b *Backend) revokeLease(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	id, err := credentialIDOf(req)
	if err != nil {
		return nil, err
	}
	record, err := store.GetRecord(ctx, req.Storage, id)
	if err != nil {
		return nil, err
	}
	if record == nil {
		// Already past retention: nothing left that could be used.
		return nil, nil
	}
	return nil, b.revokeRecord(ctx, req.Storage, record, "lease ended")
}

// revokeRecord makes the credential unusable through its provider, then marks the record.
// It is idempotent: Vault retries failed revocations.
func (b *Backend) revokeRecord(ctx context.Context, s logical.Storage, record *store.Record, reason string) error {
	if record.Status != store.StatusActive {
		return nil
	}
	provider, ok := b.providers[record.Provider]
	if !ok {
		return fmt.Errorf("credential %s was issued by provider %q, which this engine no longer has", record.ID, record.Provider)
	}
	now := b.clock().UTC()
	err := provider.Revoke(ctx, s, providers.RevokeRequest{
		CredentialID: record.ID,
		Ref:          record.Ref,
		IssuedAt:     record.IssuedAt,
		ExpiresAt:    record.ExpiresAt,
		Now:          now,
	})
	if err != nil {
		return fmt.Errorf("revoking credential %s: %w", record.ID, err)
	}
	record.Status = store.StatusRevoked
	if !now.Before(record.ExpiresAt) {
		record.Status = store.StatusExpired
	}
	record.RevokedAt = now
	record.RevokeReason = reason
	return store.PutRecord(ctx, s, record)
}

// renewLease re-checks that the role still exists, is enabled and is inside its time
// windows; Vault caps the result at the lease's max_ttl.
func (b *Backend) renewLease(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	id, err := credentialIDOf(req)
	if err != nil {
		return nil, err
	}
	record, err := store.GetRecord(ctx, req.Storage, id)
	if err != nil {
		return nil, err
	}
	if record == nil || record.Status != store.StatusActive {
		return logical.ErrorResponse("credential %s is no longer active", id), logical.ErrPermissionDenied
	}
	role, err := store.GetRole(ctx, req.Storage, record.Role)
	if err != nil {
		return nil, err
	}
	if role == nil {
		return logical.ErrorResponse("role %q was deleted; request a new credential", record.Role), logical.ErrPermissionDenied
	}
	policy, err := intent.CompilePolicy(role.Spec())
	if err != nil {
		return nil, fmt.Errorf("stored role %q no longer compiles: %w", role.Name, err)
	}
	now := b.clock().UTC()
	if !policy.Enabled {
		return logical.ErrorResponse("role %q is disabled", role.Name), logical.ErrPermissionDenied
	}
	if ok, why := policy.Schedule.Allows(now); !ok {
		return logical.ErrorResponse("renewal refused: %s", why), logical.ErrPermissionDenied
	}
	resp := &logical.Response{Secret: req.Secret}
	resp.Secret.TTL = policy.TTL
	resp.Secret.MaxTTL = policy.MaxTTL
	extended := req.Secret.IssueTime.Add(policy.MaxTTL)
	if candidate := now.Add(policy.TTL); candidate.Before(extended) {
		extended = candidate
	}
	if capped, ok := b.providers[record.Provider].(providers.ExpiryCapped); ok {
		if limit, known := capped.MaxExpiry(record.Ref); known && limit.Before(extended) {
			extended = limit
		}
	}
	if !extended.After(now) {
		return logical.ErrorResponse("credential %s cannot be extended past its provider's expiry", id), logical.ErrPermissionDenied
	}
	resp.Secret.TTL = extended.Sub(now)
	record.ExpiresAt = extended
	if err := store.PutRecord(ctx, req.Storage, record); err != nil {
		return nil, err
	}
	return resp, nil
}
