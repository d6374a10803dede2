// Package providers defines the small interface every credential provider implements and
// the types that cross it. Adapters live in sub-packages (token, aws, azure); each takes a
// narrow client interface in its constructor and passes the conformance suite in
// providers/conformance.
package providers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
)

// Provider issues and revokes credentials for one kind of target (token, aws, azure).
// Implementations must be safe for concurrent use and Revoke must be idempotent: Vault
// retries revocation, and WAL rollback may revoke what was never handed out.
type Provider interface {
	// Name is the value of the role field `provider` that selects this adapter.
	Name() string
	// ValidateRole checks the provider-specific parts of a role before it is stored.
	// It returns a *FieldError naming the offending field.
	ValidateRole(role RoleInfo) error
	// Issue creates one credential for an approved intent.
	Issue(ctx context.Context, s logical.Storage, req IssueRequest) (*Issued, error)
	// Revoke makes the credential unusable. Ref is what Issue returned in Issued.Ref.
	Revoke(ctx context.Context, s logical.Storage, req RevokeRequest) error
}

// Periodic is implemented by providers with housekeeping to do on the active node
// (garbage-collecting revocation entries, retrying cleanup). The backend calls it from
// its periodic function.
type Periodic interface {
	Periodic(ctx context.Context, s logical.Storage) error
}

// RollbackFree is implemented by providers some of whose credentials leave nothing to
// undo when issuance fails before the caller receives them: a signed token exists only
// in the engine's storage, and an STS session is created atomically by AssumeRole and
// cannot be used by anyone once its keys are dropped undelivered. For those roles the
// engine skips the WAL entry it otherwise writes before Issue (and the two storage
// writes that costs per credential); everything that creates a cloud object someone
// must delete (users, service principals, role assignments) keeps it.
type RollbackFree interface {
	RollbackFree(role RoleInfo) bool
}

// Invalidator is implemented by providers that cache what they keep in storage; the
// engine passes on every storage key Vault reports as changed by another node.
type Invalidator interface {
	Invalidate(key string)
}

// RoleInfo is the provider-relevant view of a role.
type RoleInfo struct {
	Name           string
	CredentialType string
	// Actions lists every action named by the role's grants, as written.
	Actions []string
	// Destinations lists every grant destination pattern, as written.
	Destinations []string
	// Grants are the role's grants as written, for providers that compile per grant
	// (a grant's azure_role).
	Grants []GrantInfo
	// Settings holds provider-specific role fields (e.g. audience_mode, extra_claims).
	Settings map[string]any
}

// ExpiryCapped is implemented by providers whose renewable credentials stop working at
// a fixed time (an Azure password's end date): renewal never extends a lease past it.
type ExpiryCapped interface {
	MaxExpiry(ref map[string]string) (time.Time, bool)
}

// GrantInfo is one grant of a role.
type GrantInfo struct {
	Destination string
	Actions     []string
	AzureRole   string
}

// IssueRequest is an approved intent plus who asked for it.
type IssueRequest struct {
	CredentialID  string
	Role          RoleInfo
	Subject       string // the caller's entity id (or a stable token-derived name)
	Task          string
	Destinations  []string
	Actions       []string
	Sensitivity   string
	Justification string
	TTL           time.Duration
	Now           time.Time
	SourceAddr    string
	PublicKeyJWK  []byte // optional proof-of-possession key (token provider)
	MountPoint    string
	MaxLeaseTTL   time.Duration
}

// CheckIdentity refuses a request that names no credential or asks for no lifetime;
// idUse says what the credential id becomes in the cloud, for the message.
func (r IssueRequest) CheckIdentity(idUse string) error {
	if r.CredentialID == "" {
		return &FieldError{Field: "credential_id", Reason: "is required (it " + idUse + ")"}
	}
	if r.TTL <= 0 {
		return &FieldError{Field: "ttl", Reason: fmt.Sprintf("must be positive, got %s", r.TTL)}
	}
	return nil
}

// Issued is what a provider returns for a new credential.
type Issued struct {
	// Secret holds the response fields with secret material (e.g. token, secret_key).
	Secret map[string]any
	// Public holds response fields without secret material that the caller should see.
	Public map[string]any
	// Ref is the provider reference stored in the credential record and passed back on
	// Revoke (key id, session name, jti). Never secret material.
	Ref map[string]string
	// ExpiresAt is when the credential stops working on its own.
	ExpiresAt time.Time
	// Renewable says whether the lease may be extended: a credential whose expiry is
	// fixed at issuance (a signed token, an STS session) must not be.
	Renewable bool
}

// RevokeRequest identifies a credential to revoke.
type RevokeRequest struct {
	CredentialID string
	Ref          map[string]string
	IssuedAt     time.Time
	ExpiresAt    time.Time
	Now          time.Time
}

// FieldError is a malformed role or request field (HTTP 400).
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// ErrNotConfigured means the provider needs configuration before it can issue.
var ErrNotConfigured = errors.New("provider is not configured")
