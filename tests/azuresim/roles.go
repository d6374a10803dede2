package azuresim

import (
	"regexp"
	"strings"
	"sync"
	"time"
)

// Built-in role definition GUIDs (as in every Azure tenant).
const (
	RoleOwner                      = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	RoleContributor                = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	RoleReader                     = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	RoleUserAccessAdministrator    = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
	RoleStorageBlobDataReader      = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
	RoleStorageBlobDataContributor = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
	RoleStorageBlobDataOwner       = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
	RoleStorageAccountContributor  = "17d1049b-9a84-46fb-8f53-869881c3d3ab"
	RoleKeyVaultSecretsUser        = "4633458b-17de-408a-b874-0445c86b69e6"
	RoleKeyVaultSecretsOfficer     = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
	RoleKeyVaultAdministrator      = "00482a5a-887f-4fb3-b363-3b7fe8e74483"
	RoleKeyVaultContributor        = "f25e0fa2-a7c8-4377-a976-54943a77a395"
)

const roleOwner = RoleOwner

type permission struct {
	Actions        []string `json:"actions"`
	NotActions     []string `json:"notActions"`
	DataActions    []string `json:"dataActions"`
	NotDataActions []string `json:"notDataActions"`
}

type roleDefinition struct {
	ID, Name, Description string
	Perm                  permission
}

func (s *Sim) seedRoleDefinitions() {
	add := func(id, name, desc string, p permission) {
		for _, l := range []*[]string{&p.Actions, &p.NotActions, &p.DataActions, &p.NotDataActions} {
			if *l == nil {
				*l = []string{}
			}
		}
		s.roleDefs[id] = &roleDefinition{ID: id, Name: name, Description: desc, Perm: p}
	}
	add(RoleOwner, "Owner", "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
		permission{Actions: []string{"*"}})
	add(RoleContributor, "Contributor", "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
		permission{Actions: []string{"*"}, NotActions: []string{"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write",
			"Microsoft.Authorization/elevateAccess/Action", "Microsoft.Blueprint/blueprintAssignments/write",
			"Microsoft.Blueprint/blueprintAssignments/delete", "Microsoft.Compute/galleries/share/action",
			"Microsoft.Purview/consents/write", "Microsoft.Purview/consents/delete",
			"Microsoft.Resources/deploymentStacks/manageDenySetting/action", "Microsoft.Subscription/cancel/action",
			"Microsoft.Subscription/enable/action"}})
	add(RoleReader, "Reader", "View all resources, but does not allow you to make any changes.",
		permission{Actions: []string{"*/read"}})
	add(RoleUserAccessAdministrator, "User Access Administrator", "Lets you manage user access to Azure resources.",
		permission{Actions: []string{"*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"}})
	add(RoleStorageBlobDataReader, "Storage Blob Data Reader", "Allows for read access to Azure Storage blob containers and data",
		permission{Actions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/read",
			"Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"},
			DataActions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"}})
	add(RoleStorageBlobDataContributor, "Storage Blob Data Contributor", "Allows for read, write and delete access to Azure Storage blob containers and data",
		permission{Actions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/delete",
			"Microsoft.Storage/storageAccounts/blobServices/containers/read",
			"Microsoft.Storage/storageAccounts/blobServices/containers/write",
			"Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"},
			DataActions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
				"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
				"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
				"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action",
				"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action"}})
	add(RoleStorageBlobDataOwner, "Storage Blob Data Owner", "Allows for full access to Azure Storage blob containers and data, including assigning POSIX access control.",
		permission{Actions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/*",
			"Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"},
			DataActions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"}})
	add(RoleStorageAccountContributor, "Storage Account Contributor", "Lets you manage storage accounts, including accessing storage account keys which provide full access to storage account data.",
		permission{Actions: []string{"Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*",
			"Microsoft.Insights/diagnosticSettings/*", "Microsoft.Network/virtualNetworks/subnets/joinViaServiceEndpoint/action",
			"Microsoft.ResourceHealth/availabilityStatuses/read", "Microsoft.Resources/deployments/*",
			"Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Storage/storageAccounts/*", "Microsoft.Support/*"}})
	add(RoleKeyVaultSecretsUser, "Key Vault Secrets User", "Read secret contents. Only works for key vaults that use the 'Azure role-based access control' permission model.",
		permission{DataActions: []string{"Microsoft.KeyVault/vaults/secrets/getSecret/action", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"}})
	add(RoleKeyVaultSecretsOfficer, "Key Vault Secrets Officer", "Perform any action on the secrets of a key vault, except manage permissions. Only works for key vaults that use the 'Azure role-based access control' permission model.",
		permission{Actions: []string{"Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*",
			"Microsoft.Resources/deployments/*", "Microsoft.Resources/subscriptions/resourceGroups/read",
			"Microsoft.Support/*", "Microsoft.KeyVault/checkNameAvailability/read", "Microsoft.KeyVault/deletedVaults/read",
			"Microsoft.KeyVault/locations/*/read", "Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/operations/read"},
			DataActions: []string{"Microsoft.KeyVault/vaults/secrets/*"}})
	add(RoleKeyVaultAdministrator, "Key Vault Administrator", "Perform all data plane operations on a key vault and all objects in it, including certificates, keys, and secrets. Cannot manage key vault resources or manage role assignments. Only works for key vaults that use the 'Azure role-based access control' permission model.",
		permission{Actions: []string{"Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*",
			"Microsoft.Resources/deployments/*", "Microsoft.Resources/subscriptions/resourceGroups/read",
			"Microsoft.Support/*", "Microsoft.KeyVault/checkNameAvailability/read", "Microsoft.KeyVault/deletedVaults/read",
			"Microsoft.KeyVault/locations/*/read", "Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/operations/read"},
			DataActions: []string{"Microsoft.KeyVault/vaults/*"}})
	add(RoleKeyVaultContributor, "Key Vault Contributor", "Lets you manage key vaults, but not access to them.",
		permission{Actions: []string{"Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*", "Microsoft.KeyVault/*",
			"Microsoft.Resources/deployments/*", "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*"},
			NotActions: []string{"Microsoft.KeyVault/locations/deletedVaults/purge/action", "Microsoft.KeyVault/hsmPools/*",
				"Microsoft.KeyVault/managedHsms/*"}})
}

var globCache sync.Map // pattern → *regexp.Regexp

// actionMatch matches an RBAC action pattern (case-insensitive, '*' wildcard) against an action.
func actionMatch(pattern, action string) bool {
	if pattern == "*" {
		return true
	}
	if !strings.Contains(pattern, "*") {
		return strings.EqualFold(pattern, action)
	}
	var re *regexp.Regexp
	if v, ok := globCache.Load(pattern); ok {
		re = v.(*regexp.Regexp)
	} else {
		parts := strings.Split(pattern, "*")
		for i := range parts {
			parts[i] = regexp.QuoteMeta(parts[i])
		}
		re = regexp.MustCompile("(?i)^" + strings.Join(parts, ".*") + "$")
		globCache.Store(pattern, re)
	}
	return re.MatchString(action)
}

func anyMatch(patterns []string, action string) bool {
	for _, p := range patterns {
		if actionMatch(p, action) {
			return true
		}
	}
	return false
}

// allows reports whether the definition grants action (data: a dataAction).
func (d *roleDefinition) allows(action string, data bool) bool {
	if data {
		return anyMatch(d.Perm.DataActions, action) && !anyMatch(d.Perm.NotDataActions, action)
	}
	return anyMatch(d.Perm.Actions, action) && !anyMatch(d.Perm.NotActions, action)
}

// scopeContains reports whether an assignment at scope applies to resource id res.
func scopeContains(scope, res string) bool {
	scope = strings.TrimRight(strings.ToLower(scope), "/")
	res = strings.TrimRight(strings.ToLower(res), "/")
	if scope == "" || scope == "/" {
		return true
	}
	return res == scope || strings.HasPrefix(res, scope+"/")
}

// evalRequest is one authorization question.
type evalRequest struct {
	principal string
	action    string
	data      bool
	resource  string
	attrs     map[string]string // condition attributes
	subOp     string
}

// authorize checks role assignments (s.mu held). It returns whether the action is allowed
// and whether some assignment would have allowed it but its condition failed.
func (s *Sim) authorize(q evalRequest) (allowed, conditionFailed bool) {
	now := s.now()
	for _, ra := range s.assignments {
		if !strings.EqualFold(ra.PrincipalID, q.principal) || !scopeContains(ra.Scope, q.resource) {
			continue
		}
		if now.Before(ra.Created.Add(s.opts.AssignmentPropagationDelay)) {
			continue
		}
		def := s.roleDefs[strings.ToLower(ra.RoleDefID)]
		if def == nil || !def.allows(q.action, q.data) {
			continue
		}
		if ra.Condition != "" {
			ok, err := evalCondition(ra.Condition, q.action, q.subOp, q.attrs)
			if err != nil || !ok {
				conditionFailed = true
				continue
			}
		}
		return true, false
	}
	return false, conditionFailed
}

type roleAssignment struct {
	Name, Scope, RoleDefID, PrincipalID, PrincipalType string
	Condition, ConditionVersion, Description           string
	Created, Updated                                   time.Time
	CreatedBy                                          string
}

func (ra *roleAssignment) id() string {
	return strings.TrimRight(ra.Scope, "/") + "/providers/Microsoft.Authorization/roleAssignments/" + ra.Name
}
