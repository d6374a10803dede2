package intent

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
)

// Alias is one of an entity's logins: the auth mount's accessor and the alias name.
type Alias struct {
	MountAccessor string
	Name          string
}

// Caller is who is asking, as Vault's identity store and the connection describe them.
type Caller struct {
	EntityID   string
	Aliases    []Alias
	Metadata   map[string]string
	Groups     []string   // group names
	RemoteAddr netip.Addr // the zero Addr when unknown; fails any bound_cidrs
}

// IdentityBinding restricts a role to certain entities. Each non-empty category must be
// satisfied (AND); within a list any one entry suffices (OR).
type IdentityBinding struct {
	EntityIDs []string
	Aliases   []Alias
	Metadata  map[string]string
	Groups    []string
}

// ParseAliasBinding reads "<mount_accessor>:<alias name>". It splits at the first colon
// because accessors never contain one while alias names often do (Kubernetes service
// accounts are "system:serviceaccount:ns:name").
func ParseAliasBinding(s string) (Alias, error) {
	accessor, name, ok := strings.Cut(s, ":")
	if !ok || accessor == "" || name == "" {
		return Alias{}, fmt.Errorf("alias binding %s must be <mount_accessor>:<alias name>", quote(s))
	}
	if strings.ContainsAny(accessor, " \t") || hasControlOrInvalid(s) {
		return Alias{}, fmt.Errorf("alias binding %s contains whitespace or control characters", quote(s))
	}
	return Alias{MountAccessor: accessor, Name: name}, nil
}

// IsZero reports whether no binding is configured, i.e. any caller passes.
func (b IdentityBinding) IsZero() bool {
	return len(b.EntityIDs) == 0 && len(b.Aliases) == 0 && len(b.Metadata) == 0 && len(b.Groups) == 0
}

// check returns why c does not satisfy b, or nil. Reasons name the category that failed
// but not the configured values, so a denied caller learns what to fix without learning
// the role's whole allow-list.
func (b IdentityBinding) check(role string, c Caller) error {
	if b.IsZero() {
		return nil
	}
	if c.EntityID == "" {
		return fmt.Errorf("role %s is bound to identities but the caller has no identity entity", quote(role))
	}
	if len(b.EntityIDs) > 0 && !slices.Contains(b.EntityIDs, c.EntityID) {
		return fmt.Errorf("entity %s is not in bound_entity_ids of role %s", quote(c.EntityID), quote(role))
	}
	if len(b.Aliases) > 0 && !hasAnyAlias(c.Aliases, b.Aliases) {
		return fmt.Errorf("none of the entity's aliases is in bound_entity_aliases of role %s", quote(role))
	}
	if len(b.Metadata) > 0 {
		keys := make([]string, 0, len(b.Metadata))
		for k := range b.Metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if v, ok := c.Metadata[k]; !ok || v != b.Metadata[k] {
				return fmt.Errorf("entity metadata %s does not match bound_entity_metadata of role %s", quote(k), quote(role))
			}
		}
	}
	if len(b.Groups) > 0 && !inAnyGroup(c.Groups, b.Groups) {
		return fmt.Errorf("entity is not a member of any group in bound_group_names of role %s", quote(role))
	}
	return nil
}

func hasAnyAlias(have, want []Alias) bool {
	for _, h := range have {
		if slices.Contains(want, h) {
			return true
		}
	}
	return false
}

// inAnyGroup compares names case-insensitively because Vault's identity store treats
// group names that way by default.
func inAnyGroup(have, want []string) bool {
	for _, h := range have {
		for _, w := range want {
			if strings.EqualFold(h, w) {
				return true
			}
		}
	}
	return false
}
