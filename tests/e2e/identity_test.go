package e2e

import (
	"net/http"
	"testing"
)

// TestIdentityBindingsGroupsAndAliases checks bound_group_names against Vault's identity
// groups and bound_entity_aliases against the userpass mount accessor and user name:
// the member and the named user pass; the other user is refused by the identity check.
func TestIdentityBindingsGroupsAndAliases(t *testing.T) {
	t.Run("group member passes, non-member refused", func(t *testing.T) {
		role := writeRole(t, "group", map[string]any{"bound_entity_metadata": nil, "bound_group_names": env.group})
		s := mustIssue(t, env.workload.Client, role, intent(nil))
		if sub := str(introspect(t, str(s.Data, "token")), "sub"); sub != env.workload.EntityID {
			t.Errorf("sub = %q", sub)
		}
		_, err := issue(env.other.Client, role, intent(nil))
		expectError(t, err, http.StatusForbidden, "denied by identity check")
	})

	t.Run("group that does not exist refuses everyone", func(t *testing.T) {
		role := writeRole(t, "group-none", map[string]any{"bound_entity_metadata": nil, "bound_group_names": "no-such-group"})
		_, err := issue(env.workload.Client, role, intent(nil))
		expectError(t, err, http.StatusForbidden, "denied by identity check")
	})

	t.Run("alias accessor:name passes for that user, refused for another", func(t *testing.T) {
		role := writeRole(t, "alias", map[string]any{
			"bound_entity_metadata": nil,
			"bound_entity_aliases":  env.userpassAccessor + ":" + env.other.Name,
		})
		s := mustIssue(t, env.other.Client, role, intent(nil))
		if sub := str(introspect(t, str(s.Data, "token")), "sub"); sub != env.other.EntityID {
			t.Errorf("sub = %q, want %q", sub, env.other.EntityID)
		}
		_, err := issue(env.workload.Client, role, intent(nil))
		expectError(t, err, http.StatusForbidden, "denied by identity check")
	})

	t.Run("alias with another mount accessor refused", func(t *testing.T) {
		role := writeRole(t, "alias-wrong", map[string]any{
			"bound_entity_metadata": nil,
			"bound_entity_aliases":  "auth_userpass_00000000:" + env.workload.Name,
		})
		_, err := issue(env.workload.Client, role, intent(nil))
		expectError(t, err, http.StatusForbidden, "denied by identity check")
	})

	t.Run("entity id binding", func(t *testing.T) {
		role := writeRole(t, "entity", map[string]any{"bound_entity_metadata": nil, "bound_entity_ids": env.workload.EntityID})
		mustIssue(t, env.workload.Client, role, intent(nil))
		_, err := issue(env.other.Client, role, intent(nil))
		expectError(t, err, http.StatusForbidden, "denied by identity check")
	})
}
