package paths

import (
	"fmt"
	"net/netip"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/backend/intent"
)

// callerOf builds the caller's verified identity from Vault's identity store: the
// entity behind the request token, its aliases, metadata and (when a role binds groups)
// groups, and the remote address Vault saw. Nothing here comes from request fields the
// caller controls.
func (d *Deps) callerOf(req *logical.Request, withGroups bool) (intent.Caller, string, error) {
	var caller intent.Caller
	if req.Connection != nil {
		if addr, err := netip.ParseAddr(req.Connection.RemoteAddr); err == nil {
			caller.RemoteAddr = addr.Unmap()
		}
	}
	if req.EntityID == "" {
		return caller, "", nil
	}
	sys := d.System()
	entity, err := sys.EntityInfo(req.EntityID)
	if err != nil {
		return caller, "", fmt.Errorf("looking up the caller's entity: %w", err)
	}
	if entity == nil {
		return caller, "", nil
	}
	caller.EntityID = entity.ID
	caller.Metadata = entity.Metadata
	for _, a := range entity.Aliases {
		caller.Aliases = append(caller.Aliases, intent.Alias{MountAccessor: a.MountAccessor, Name: a.Name})
	}
	if !withGroups {
		return caller, entity.Name, nil
	}
	groups, err := sys.GroupsForEntity(req.EntityID)
	if err != nil {
		return caller, "", fmt.Errorf("looking up the caller's groups: %w", err)
	}
	for _, g := range groups {
		caller.Groups = append(caller.Groups, g.Name)
	}
	return caller, entity.Name, nil
}

// subjectOf names the caller in a credential: its entity id, or for entity-less tokens
// (root, tokens created without an entity) the token's display name.
func subjectOf(caller intent.Caller, req *logical.Request) string {
	if caller.EntityID != "" {
		return caller.EntityID
	}
	return "vault-token:" + req.DisplayName
}
