package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/backend/intent"
)

// RolePrefix is where roles are stored (roles/<name>).
const RolePrefix = "roles/"

// Drift actions a role may take on serious drift.
const (
	DriftActionRecord = "record"
	DriftActionRevoke = "revoke"
)

// Role is a role definition as stored. Constraint fields are kept as written so that
// reads return exactly what the operator sent; intent.CompilePolicy validates them.
type Role struct {
	Name           string `json:"name"`
	Provider       string `json:"provider"`
	CredentialType string `json:"credential_type"`
	Description    string `json:"description,omitempty"`
	Disabled       bool   `json:"disabled"`

	AllowedTasks []string           `json:"allowed_tasks"`
	Grants       []intent.GrantSpec `json:"grants"`
	TimeWindows  []string           `json:"time_windows"`
	NotBefore    string             `json:"not_before,omitempty"`
	NotAfter     string             `json:"not_after,omitempty"`

	BoundEntityIDs      []string          `json:"bound_entity_ids"`
	BoundEntityAliases  []string          `json:"bound_entity_aliases"`
	BoundEntityMetadata map[string]string `json:"bound_entity_metadata"`
	BoundGroupNames     []string          `json:"bound_group_names"`
	BoundCIDRs          []string          `json:"bound_cidrs"`

	TTL                time.Duration `json:"ttl"`
	MaxTTL             time.Duration `json:"max_ttl"`
	MaxActivePerTask   int           `json:"max_active_per_task"`
	MaxActivePerEntity int           `json:"max_active_per_entity"`
	DriftAction        string        `json:"drift_action"`

	// Settings holds provider-specific fields (token: audience_mode, extra_claims).
	Settings map[string]any `json:"settings,omitempty"`

	// Revision increases on every write so records can tell whether their role changed.
	Revision  uint64    `json:"revision"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Spec is the role's constraint part in the domain's terms.
func (r *Role) Spec() intent.RoleSpec {
	return intent.RoleSpec{
		Name:                r.Name,
		Disabled:            r.Disabled,
		AllowedTasks:        r.AllowedTasks,
		Grants:              r.Grants,
		TimeWindows:         r.TimeWindows,
		NotBefore:           r.NotBefore,
		NotAfter:            r.NotAfter,
		BoundEntityIDs:      r.BoundEntityIDs,
		BoundEntityAliases:  r.BoundEntityAliases,
		BoundEntityMetadata: r.BoundEntityMetadata,
		BoundGroupNames:     r.BoundGroupNames,
		BoundCIDRs:          r.BoundCIDRs,
		TTL:                 r.TTL,
		MaxTTL:              r.MaxTTL,
		MaxActivePerTask:    r.MaxActivePerTask,
		MaxActivePerEntity:  r.MaxActivePerEntity,
	}
}

// ValidRoleName reports whether name can be a role name: it becomes a storage key and a
// path segment, so only a conservative character set is accepted.
func ValidRoleName(name string) error {
	if name == "" || len(name) > 128 {
		return fmt.Errorf("must be 1 to 128 characters")
	}
	for _, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.", c)
		if !ok {
			return fmt.Errorf("may contain only letters, digits, '-', '_' and '.'")
		}
	}
	return nil
}

func GetRole(ctx context.Context, s logical.Storage, name string) (*Role, error) {
	var r Role
	found, err := getJSON(ctx, s, RolePrefix+name, &r)
	if err != nil || !found {
		return nil, err
	}
	return &r, nil
}

func PutRole(ctx context.Context, s logical.Storage, r *Role) error {
	return putJSON(ctx, s, RolePrefix+r.Name, r)
}

func DeleteRole(ctx context.Context, s logical.Storage, name string) error {
	return s.Delete(ctx, RolePrefix+name)
}

func ListRoles(ctx context.Context, s logical.Storage) ([]string, error) {
	return s.List(ctx, RolePrefix)
}
