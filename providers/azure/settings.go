package azure

import (
	"fmt"
	"strings"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/backend/intent"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

// CredentialTypeServicePrincipal is the only (and default) credential type: an
// application + service principal + password per credential.
const CredentialTypeServicePrincipal = "service_principal"

// Role settings (role fields of azure roles).
const (
	// SettingResourceGroup is the default resource group of the storage accounts and key
	// vaults the role's destinations name.
	SettingResourceGroup = "resource_group"
	// SettingResourceGroups maps a storage account or key vault name to its resource
	// group (overrides resource_group).
	SettingResourceGroups = "resource_groups"
	// SettingAllowedPrivilegedRoles lists role definition names a grant's azure_role may
	// name although they can escalate (Owner, Contributor, Key Vault Contributor, User
	// Access Administrator, custom roles with such permissions). Both the grant and this
	// list must name the role.
	SettingAllowedPrivilegedRoles = "allowed_privileged_roles"
)

type roleSettings struct {
	resourceGroup  string
	resourceGroups map[string]string
	allowed        []string
}

func checkCredentialType(ct string) error {
	switch ct {
	case "", CredentialTypeServicePrincipal:
		return nil
	}
	return &providers.FieldError{Field: "credential_type", Reason: fmt.Sprintf("azure roles issue %q credentials, got %q", CredentialTypeServicePrincipal, ct)}
}

func parseSettings(credentialType string, m map[string]any) (roleSettings, error) {
	var rs roleSettings
	if err := checkCredentialType(credentialType); err != nil {
		return rs, err
	}
	var err error
	if rs.resourceGroup, err = providers.StringSetting(m, SettingResourceGroup); err != nil {
		return rs, err
	}
	if rs.resourceGroup != "" && (!resourceGroupRe.MatchString(rs.resourceGroup) || strings.HasSuffix(rs.resourceGroup, ".")) {
		return rs, &providers.FieldError{Field: SettingResourceGroup, Reason: fmt.Sprintf("%q is not a resource group name", rs.resourceGroup)}
	}
	if rs.resourceGroups, err = providers.StringMapSetting(m, SettingResourceGroups); err != nil {
		return rs, err
	}
	for name, rg := range rs.resourceGroups {
		if !resourceGroupRe.MatchString(rg) || strings.HasSuffix(rg, ".") {
			return rs, &providers.FieldError{Field: SettingResourceGroups, Reason: fmt.Sprintf("%q (for %q) is not a resource group name", rg, name)}
		}
	}
	if rs.allowed, err = providers.StringListSetting(m, SettingAllowedPrivilegedRoles); err != nil {
		return rs, err
	}
	return rs, nil
}

// ValidateRole checks an azure role: credential type, settings, and every grant:
// destinations must be azure://account/container/..., azure-keyvault://vault/secrets/...
// or /subscriptions/<configured subscription>/...; actions verbs or Azure data actions;
// a grant's azure_role must not be a privileged built-in role (see Escalations) unless
// allowed_privileged_roles names it. Custom roles are resolved and checked at issuance.
//
// Grant destinations may use wildcards; issuance refuses requested destinations that
// cannot be scoped exactly (CompileAssignments).
func (p *Provider) ValidateRole(r providers.RoleInfo) error {
	rs, err := parseSettings(r.CredentialType, r.Settings)
	if err != nil {
		return err
	}
	sub := p.knownSubscription()
	for _, g := range grantsOf(r) {
		if err := validateGrant(g, rs, sub); err != nil {
			return err
		}
	}
	for _, a := range r.Actions {
		if _, err := intent.ParseGrantAction(a); err != nil {
			return &providers.FieldError{Field: "grants", Reason: err.Error()}
		}
		if !isVerb(strings.ToLower(a)) && !strings.HasPrefix(strings.ToLower(a), "microsoft.") {
			return &providers.FieldError{Field: "grants", Reason: fmt.Sprintf("action %q: azure roles take verbs (read, write, list, delete) or Azure data actions (Microsoft.Storage/...)", a)}
		}
	}
	return nil
}

func validateGrant(g Grant, rs roleSettings, subscription string) error {
	pat, err := intent.ParsePattern(g.Destination)
	if err != nil {
		return &providers.FieldError{Field: "grants", Reason: err.Error()}
	}
	bad := func(format string, args ...any) error {
		return &providers.FieldError{Field: "grants", Reason: fmt.Sprintf("destination %q: ", g.Destination) + fmt.Sprintf(format, args...)}
	}
	segs := strings.Split(pat.String(), "/")
	switch pat.Scheme() {
	case "azure":
		// azure://account/container[/...]: segs = ["azure:", "", account, container, ...]
		if len(segs) < 4 || segs[3] == "" {
			return bad("unknown storage path form; use azure://account/container/prefix/* (blobs)")
		}
		if !pat.HasWildcard() {
			if _, _, _, err := splitBlob(pat.String()); err != nil {
				return bad("%v", err)
			}
		}
		if !strings.Contains(segs[2], "*") && rs.resourceGroup == "" && lookupFold(rs.resourceGroups, segs[2]) == "" {
			return &providers.FieldError{Field: SettingResourceGroups, Reason: fmt.Sprintf("no resource group is known for storage account %q; set resource_groups (%s=<group>) or resource_group", segs[2], segs[2])}
		}
	case "azure-keyvault":
		if len(segs) != 5 || (segs[3] != "secrets" && segs[3] != "*") {
			return bad("use azure-keyvault://vault/secrets/<name>; only secrets are supported (keys and certificates are not)")
		}
		if !strings.Contains(segs[2], "*") && rs.resourceGroup == "" && lookupFold(rs.resourceGroups, segs[2]) == "" {
			return &providers.FieldError{Field: SettingResourceGroups, Reason: fmt.Sprintf("no resource group is known for key vault %q; set resource_groups (%s=<group>) or resource_group", segs[2], segs[2])}
		}
	case "azure-resource":
		sub := strings.Split(strings.TrimPrefix(pat.String(), "/subscriptions/"), "/")[0]
		if subscription != "" && !strings.EqualFold(sub, subscription) {
			return bad("is outside the configured subscription %s", subscription)
		}
		if g.AzureRole == "" {
			for _, a := range g.Actions {
				if v, err := actionVerbs([]string{a}); err == nil && v.mutates() {
					return bad("Azure resource ids need an azure_role for write or delete")
				}
			}
		}
	default:
		return bad("azure roles take azure://account/container/prefix/*, azure-keyvault://vault/secrets/name or /subscriptions/... destinations")
	}
	if g.AzureRole != "" {
		if err := checkRole(g.AzureRole, rs.allowed); err != nil {
			return err
		}
	}
	return nil
}

func lookupFold(m map[string]string, k string) string {
	for name, v := range m {
		if strings.EqualFold(name, k) {
			return v
		}
	}
	return ""
}

// grantsOf returns the role's grants. providers.RoleInfo carries destinations and
// actions flattened, without the grants' azure_role: until RoleInfo carries the grants
// (see the integration note in the package documentation), every destination is paired
// with all the role's actions and no azure_role.
func grantsOf(r providers.RoleInfo) []Grant {
	if len(r.Grants) > 0 {
		out := make([]Grant, 0, len(r.Grants))
		for _, g := range r.Grants {
			out = append(out, Grant{Destination: g.Destination, Actions: g.Actions, AzureRole: g.AzureRole})
		}
		return out
	}
	out := make([]Grant, 0, len(r.Destinations))
	for _, d := range r.Destinations {
		out = append(out, Grant{Destination: d, Actions: r.Actions})
	}
	return out
}
