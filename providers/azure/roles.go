package azure

import (
	"strings"
)

// Built-in role names the verb table uses.
const (
	RoleStorageBlobDataReader      = "Storage Blob Data Reader"
	RoleStorageBlobDataContributor = "Storage Blob Data Contributor"
	RoleKeyVaultSecretsUser        = "Key Vault Secrets User"
	RoleKeyVaultSecretsOfficer     = "Key Vault Secrets Officer"
	RoleReader                     = "Reader"
)

// BuiltinRole is an Azure built-in role definition: its GUID is the same in every
// tenant. Actions and DataActions are the definition's permissions as Azure publishes
// them (NotActions are left out on purpose: escalation checks ignore them, so a role
// like Contributor, '*' minus Microsoft.Authorization writes, still counts as '*').
type BuiltinRole struct {
	Name        string
	ID          string
	Actions     []string
	DataActions []string
}

// builtinRoles are the roles the provider knows without asking ARM: the data-plane
// roles of the verb table, and the privileged roles that must be refused at role write
// unless explicitly allowed.
var builtinRoles = []BuiltinRole{
	{RoleStorageBlobDataReader, "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
		[]string{"Microsoft.Storage/storageAccounts/blobServices/containers/read", "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"},
		[]string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"}},
	{RoleStorageBlobDataContributor, "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
		[]string{"Microsoft.Storage/storageAccounts/blobServices/containers/delete", "Microsoft.Storage/storageAccounts/blobServices/containers/read", "Microsoft.Storage/storageAccounts/blobServices/containers/write", "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"},
		[]string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete", "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write", "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action", "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action"}},
	{"Storage Blob Data Owner", "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
		[]string{"Microsoft.Storage/storageAccounts/blobServices/containers/*", "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"},
		[]string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"}},
	{RoleKeyVaultSecretsUser, "4633458b-17de-408a-b874-0445c86b69e6", nil,
		[]string{"Microsoft.KeyVault/vaults/secrets/getSecret/action", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"}},
	{RoleKeyVaultSecretsOfficer, "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
		[]string{"Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*", "Microsoft.Resources/deployments/*", "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*", "Microsoft.KeyVault/checkNameAvailability/read", "Microsoft.KeyVault/deletedVaults/read", "Microsoft.KeyVault/locations/*/read", "Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/operations/read"},
		[]string{"Microsoft.KeyVault/vaults/secrets/*"}},
	{RoleReader, "acdd72a7-3385-48ef-bd42-f606fba81ae7", []string{"*/read"}, nil},
	{"Owner", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", []string{"*"}, nil},
	{"Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c", []string{"*"}, nil},
	{"User Access Administrator", "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", []string{"*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"}, nil},
	{"Role Based Access Control Administrator", "f58310d9-a9f6-439a-9e8d-f62e7b41a168", []string{"Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete", "*/read", "Microsoft.Support/*"}, nil},
	{"Key Vault Contributor", "f25e0fa2-a7c8-4377-a976-54943a77a395", []string{"Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*", "Microsoft.KeyVault/*", "Microsoft.Resources/deployments/*", "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*"}, nil},
	{"Key Vault Administrator", "00482a5a-887f-4fb3-b363-3b7fe8e74483", []string{"Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*", "Microsoft.Resources/deployments/*", "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*", "Microsoft.KeyVault/checkNameAvailability/read", "Microsoft.KeyVault/deletedVaults/read", "Microsoft.KeyVault/locations/*/read", "Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/operations/read"}, []string{"Microsoft.KeyVault/vaults/*"}},
	{"Storage Account Contributor", "17d1049b-9a84-46fb-8f53-869881c3d3ab", []string{"Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*", "Microsoft.Network/virtualNetworks/subnets/joinViaServiceEndpoint/action", "Microsoft.ResourceHealth/availabilityStatuses/read", "Microsoft.Resources/deployments/*", "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Storage/storageAccounts/*", "Microsoft.Support/*"}, nil},
	{"Storage Account Key Operator Service Role", "81a9662b-bebf-436f-a333-f67b29880f12", []string{"Microsoft.Storage/storageAccounts/listkeys/action", "Microsoft.Storage/storageAccounts/regeneratekey/action"}, nil},
}

var builtinByName = func() map[string]BuiltinRole {
	m := make(map[string]BuiltinRole, len(builtinRoles))
	for _, r := range builtinRoles {
		m[strings.ToLower(r.Name)] = r
	}
	return m
}()

// LookupBuiltinRole returns the built-in role with this name (ignoring case).
func LookupBuiltinRole(name string) (BuiltinRole, bool) {
	r, ok := builtinByName[strings.ToLower(strings.TrimSpace(name))]
	return r, ok
}

// RoleDefinitionID is the subscription-scoped id of a role definition GUID.
func RoleDefinitionID(subscriptionID, guid string) string {
	return "/subscriptions/" + subscriptionID + "/providers/Microsoft.Authorization/roleDefinitions/" + guid
}

// escalationTargets are the permissions that let a principal widen its own or anyone's
// access, reach data around RBAC (account keys, access policies), or reconfigure a
// vault. A role definition granting any of them (directly or through a wildcard) is
// privileged.
var escalationTargets = []string{
	"Microsoft.Authorization/roleAssignments/write",
	"Microsoft.Authorization/roleDefinitions/write",
	"Microsoft.Authorization/elevateAccess/action",
	"Microsoft.Authorization/policyAssignments/write",
	"Microsoft.Authorization/denyAssignments/write",
	"Microsoft.Authorization/locks/write",
	"Microsoft.KeyVault/vaults/write",
	"Microsoft.KeyVault/vaults/accessPolicies/write",
	"Microsoft.Storage/storageAccounts/listKeys/action",
	"Microsoft.Storage/storageAccounts/regenerateKey/action",
	"Microsoft.Storage/storageAccounts/write",
}

// escalationPatterns are the forbidden shapes as the issue names them; an action that
// these match is privileged even if no concrete target above is matched.
var escalationPatterns = []string{
	"Microsoft.Authorization/*/write",
	"*/accessPolicies/*",
}

// Escalations returns the permissions of a role definition (actions and data actions)
// that make it privileged, in order: '*', Microsoft.Authorization/*/write,
// Microsoft.KeyVault/vaults/write, */accessPolicies/*,
// Microsoft.Storage/storageAccounts/listKeys/action and what else escalationTargets
// lists, directly or through a wildcard. NotActions are ignored on purpose.
func Escalations(actions, dataActions []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, a := range append(append([]string(nil), actions...), dataActions...) {
		a = strings.TrimSpace(a)
		if a == "" || seen[strings.ToLower(a)] {
			continue
		}
		if privileged(a) {
			seen[strings.ToLower(a)] = true
			out = append(out, a)
		}
	}
	return out
}

func privileged(action string) bool {
	if action == "*" {
		return true
	}
	for _, t := range escalationTargets {
		if globMatch(action, t) {
			return true
		}
	}
	for _, p := range escalationPatterns {
		if globMatch(p, action) {
			return true
		}
	}
	return false
}

// globMatch reports whether name matches pattern, where '*' matches any run of
// characters (including '/'), ignoring case, as Azure's permission wildcards do.
func globMatch(pattern, name string) bool {
	p, n := strings.ToLower(pattern), strings.ToLower(name)
	// Iterative wildcard matching with backtracking on the last star.
	pi, ni, star, mark := 0, 0, -1, 0
	for ni < len(n) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ni
			pi++
		case pi < len(p) && p[pi] == n[ni]:
			pi++
			ni++
		case star >= 0:
			pi = star + 1
			mark++
			ni = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
