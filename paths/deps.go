// Package paths holds the engine's HTTP API: one file per endpoint family with its field
// schema, thin handlers and help text. Handlers parse fields, call the domain, call the
// provider and map typed errors to HTTP statuses; they never import the backend package.
package paths

import (
	"context"
	"errors"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/helper/locksutil"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/backend/intent"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/internal/gencache"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers/token"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/store"
)

// Deps is what the handlers need from the assembled backend.
type Deps struct {
	Providers map[string]providers.Provider
	Token     *token.Provider
	Clock     func() time.Time
	// System returns the backend's system view (identity, lease limits).
	System func() logical.SystemView
	// Logger returns the backend's logger.
	Logger func() hclog.Logger
	// NewSecret wraps response data in the engine's credential secret type.
	NewSecret func(data, internal map[string]any) *logical.Response
	// Revoke makes a credential unusable through its provider and marks its record.
	Revoke func(ctx context.Context, s logical.Storage, r *store.Record, reason string) error
	// Collect runs the collectors now (drift/collect) and says what they did.
	Collect func(ctx context.Context, s logical.Storage) (map[string]any, error)
	// WALKindIssue names the WAL entries written before a provider creates anything.
	WALKindIssue string

	roleLocks []*locksutil.LockEntry
	roles     gencache.Cache[string, compiledRole]
}

// WALIssue is the WAL entry written before a provider is asked to create a credential.
type WALIssue struct {
	CredentialID string    `json:"credential_id"`
	Role         string    `json:"role"`
	Provider     string    `json:"provider"`
	CreatedAt    time.Time `json:"created_at"`
}

// All returns every path of the engine.
func All(d *Deps) []*framework.Path {
	d.roleLocks = locksutil.CreateLocks()
	var ps []*framework.Path
	ps = append(ps, rolePaths(d)...)
	ps = append(ps, credsPath(d))
	ps = append(ps, credentialPaths(d)...)
	ps = append(ps, configTokenPath(d), configDriftPath(d))
	ps = append(ps, jwksPaths(d)...)
	ps = append(ps, introspectPath(d), authorizePath(d), observePath(d), ingestPath(d))
	ps = append(ps, driftPaths(d)...)
	ps = append(ps, configAWSPaths(d)...)
	ps = append(ps, configAzurePaths(d)...)
	return ps
}

// errorResponse maps typed domain and provider errors to Vault's HTTP statuses:
// malformed input is a 400, a policy denial a 403, anything else an internal error.
func errorResponse(err error) (*logical.Response, error) {
	var fieldErr *intent.FieldError
	var providerFieldErr *providers.FieldError
	var denial *intent.Denial
	switch {
	case errors.As(err, &fieldErr), errors.As(err, &providerFieldErr), errors.Is(err, providers.ErrNotConfigured):
		return logical.ErrorResponse(err.Error()), logical.ErrInvalidRequest
	case errors.As(err, &denial):
		return logical.ErrorResponse(err.Error()), logical.ErrPermissionDenied
	default:
		return nil, err
	}
}

func badRequest(format string, args ...any) (*logical.Response, error) {
	return logical.ErrorResponse(format, args...), logical.ErrInvalidRequest
}

func (d *Deps) now() time.Time { return d.Clock().UTC() }
