package paths

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/backend/intent"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/store"
)

// compiledRole is a stored role with its compiled policy, cached for issuance.
type compiledRole struct {
	role   *store.Role
	policy *intent.Policy
}

// compiledRoleFor returns the role and its compiled policy, from memory after the first
// use. Issuance is forwarded to the active node and every role write on that node goes
// through rolePut/roleDelete, which forget the entry; Invalidate covers writes Vault
// replicates from elsewhere. The returned values are shared: callers must not modify them.
func (d *Deps) compiledRoleFor(ctx context.Context, s logical.Storage, name string) (*store.Role, *intent.Policy, error) {
	c, found, err := d.roles.Get(name, func() (compiledRole, bool, error) {
		role, err := store.GetRole(ctx, s, name)
		if err != nil || role == nil {
			return compiledRole{}, false, err
		}
		policy, err := intent.CompilePolicy(role.Spec())
		if err != nil {
			return compiledRole{}, false, fmt.Errorf("stored role %q no longer compiles: %w", role.Name, err)
		}
		return compiledRole{role: role, policy: policy}, true, nil
	})
	if err != nil || !found {
		return nil, nil, err
	}
	return c.role, c.policy, nil
}

// rolePut stores a role and drops its cached copy.
func (d *Deps) rolePut(ctx context.Context, s logical.Storage, role *store.Role) error {
	defer d.roles.Forget(role.Name)
	return store.PutRole(ctx, s, role)
}

// roleDelete deletes a role and drops its cached copy.
func (d *Deps) roleDelete(ctx context.Context, s logical.Storage, name string) error {
	defer d.roles.Forget(name)
	return store.DeleteRole(ctx, s, name)
}

// Invalidate drops what this node caches for a storage key another node changed (Vault
// calls it on performance standbys and replication secondaries).
func (d *Deps) Invalidate(key string) {
	if name, ok := strings.CutPrefix(key, store.RolePrefix); ok {
		d.roles.Forget(name)
	}
}
