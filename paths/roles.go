package paths

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/backend/intent"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/store"
)

const rolesHelpSyn = `Define what credentials a role may ever issue.`

const rolesHelpDesc = `
A role says which provider issues its credentials, which tasks may ask for them, which
destinations and actions they may cover (grants), up to which data sensitivity, when
(time windows, not_before/not_after), to whom (entity, alias, metadata and group
bindings, bound CIDRs), for how long (ttl, max_ttl) and how many at once (quotas).
A role that could never issue anything is refused with the field at fault.

grants is a JSON list of {"destination": "<pattern>", "actions": [...],
"max_sensitivity": "<level>"}; time_windows entries look like
"Mon-Fri 06:00-20:00 Europe/Berlin".
`

// providerRoleField is a role field that belongs to one provider; it is stored in the
// role's settings and validated by that provider.
type providerRoleField struct {
	provider string
	schema   *framework.FieldSchema
}

var providerRoleFields = map[string]providerRoleField{
	"audience_mode":            {"token", &framework.FieldSchema{Type: framework.TypeString, Description: "token: 'destinations' (aud = the destinations) or 'hosts' (aud = their scheme://host)."}},
	"extra_claims":             {"token", &framework.FieldSchema{Type: framework.TypeKVPairs, Description: "token: extra string claims added to every token."}},
	"role_arn":                 {"aws", &framework.FieldSchema{Type: framework.TypeString, Description: "aws: the IAM role assumed for assumed_role credentials."}},
	"policy_arns":              {"aws", &framework.FieldSchema{Type: framework.TypeCommaStringSlice, Description: "aws: managed policy ARNs passed as session policies (at most 10) or attached to iam_user users."}},
	"session_tags":             {"aws", &framework.FieldSchema{Type: framework.TypeKVPairs, Description: "aws: session tags added to every session (besides the nhi:* tags)."}},
	"external_id":              {"aws", &framework.FieldSchema{Type: framework.TypeString, Description: "aws: ExternalId for AssumeRole."}},
	"bind_source_ip":           {"aws", &framework.FieldSchema{Type: framework.TypeBool, Description: "aws: restrict the session to the caller's address (aws:SourceIp)."}},
	"permissions_boundary_arn": {"aws", &framework.FieldSchema{Type: framework.TypeString, Description: "aws: permissions boundary for iam_user users."}},
	"max_sts_ttl":              {"aws", &framework.FieldSchema{Type: framework.TypeDurationSecond, Description: "aws: longest STS session the role's MaxSessionDuration allows."}},
	"resource_group":           {"azure", &framework.FieldSchema{Type: framework.TypeString, Description: "azure: resource group of the storage accounts and key vaults the grants name (default for resource_groups)."}},
	"resource_groups":          {"azure", &framework.FieldSchema{Type: framework.TypeKVPairs, Description: "azure: resource group per storage account or key vault name (name=group)."}},
	"allowed_privileged_roles": {"azure", &framework.FieldSchema{Type: framework.TypeCommaStringSlice, Description: "azure: role definitions a grant's azure_role may name although they can escalate (Owner, Contributor, Key Vault Contributor, ...)."}},
}

func roleFields() map[string]*framework.FieldSchema {
	fields := map[string]*framework.FieldSchema{
		"name":                  {Type: framework.TypeString, Required: true, Description: "Role name."},
		"provider":              {Type: framework.TypeString, Description: "token, aws or azure."},
		"credential_type":       {Type: framework.TypeString, Description: "token: jwt; aws: assumed_role or iam_user; azure: service_principal."},
		"description":           {Type: framework.TypeString, Description: "Free text for operators."},
		"disabled":              {Type: framework.TypeBool, Description: "A disabled role issues nothing."},
		"allowed_tasks":         {Type: framework.TypeCommaStringSlice, Description: "Task names (globs) this role may issue for. Required."},
		"grants":                {Type: framework.TypeSlice, Description: "JSON list of grants. Required."},
		"time_windows":          {Type: framework.TypeStringSlice, Description: "When issuance is allowed, e.g. 'Mon-Fri 06:00-20:00 Europe/Berlin'. Empty means always."},
		"not_before":            {Type: framework.TypeString, Description: "RFC 3339 time before which nothing is issued."},
		"not_after":             {Type: framework.TypeString, Description: "RFC 3339 time after which nothing is issued."},
		"bound_entity_ids":      {Type: framework.TypeCommaStringSlice, Description: "Entity ids allowed to ask."},
		"bound_entity_aliases":  {Type: framework.TypeCommaStringSlice, Description: "'<mount_accessor>:<alias name>' entries allowed to ask."},
		"bound_entity_metadata": {Type: framework.TypeKVPairs, Description: "Entity metadata that must match."},
		"bound_group_names":     {Type: framework.TypeCommaStringSlice, Description: "Identity groups, any of which may ask."},
		"bound_cidrs":           {Type: framework.TypeCommaStringSlice, Description: "Networks requests must come from."},
		"ttl":                   {Type: framework.TypeDurationSecond, Description: "Default credential lifetime (default 5m)."},
		"max_ttl":               {Type: framework.TypeDurationSecond, Description: "Longest credential lifetime (default 1h)."},
		"max_active_per_task":   {Type: framework.TypeInt, Description: "Most active credentials per task; 0 means unlimited. Counts credentials issued while the role has a quota."},
		"max_active_per_entity": {Type: framework.TypeInt, Description: "Most active credentials per entity; 0 means unlimited. Counts credentials issued while the role has a quota."},
		"drift_action":          {Type: framework.TypeString, Description: "record (default) or revoke on a high or critical drift finding."},
	}
	for name, field := range providerRoleFields {
		fields[name] = field.schema
	}
	return fields
}

func rolePaths(d *Deps) []*framework.Path {
	h := &roleHandler{deps: d}
	return []*framework.Path{
		{
			Pattern:        "roles/" + framework.GenericNameRegex("name"),
			Fields:         roleFields(),
			ExistenceCheck: h.exists,
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.CreateOperation: &framework.PathOperation{Callback: h.write, Summary: "Create a role."},
				logical.UpdateOperation: &framework.PathOperation{Callback: h.write, Summary: "Update a role; fields not sent keep their values."},
				logical.ReadOperation:   &framework.PathOperation{Callback: h.read, Summary: "Read a role."},
				logical.DeleteOperation: &framework.PathOperation{Callback: h.delete, Summary: "Delete a role; its credentials still revoke cleanly."},
			},
			HelpSynopsis:    rolesHelpSyn,
			HelpDescription: rolesHelpDesc,
		},
		{
			Pattern: "roles/?$",
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ListOperation: &framework.PathOperation{Callback: h.list, Summary: "List roles."},
			},
			HelpSynopsis:    rolesHelpSyn,
			HelpDescription: rolesHelpDesc,
		},
	}
}

type roleHandler struct{ deps *Deps }

func (h *roleHandler) exists(ctx context.Context, req *logical.Request, data *framework.FieldData) (bool, error) {
	role, err := store.GetRole(ctx, req.Storage, data.Get("name").(string))
	return role != nil, err
}

func (h *roleHandler) write(ctx context.Context, req *logical.Request, data *framework.FieldData) (*logical.Response, error) {
	name := data.Get("name").(string)
	if err := store.ValidRoleName(name); err != nil {
		return badRequest("name: %s", err)
	}
	lock := h.deps.roleLock(name)
	lock.Lock()
	defer lock.Unlock()

	role, err := store.GetRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	existed := role != nil
	if role == nil {
		role = &store.Role{Name: name, Provider: "token", DriftAction: store.DriftActionRecord}
	}
	// Work on a copy so a refused update leaves nothing half-written.
	updated := *role
	if err := applyRoleFields(&updated, data); err != nil {
		return errorResponse(err)
	}
	provider, ok := h.deps.Providers[updated.Provider]
	if !ok {
		return badRequest("provider: unknown provider %q (this engine has %s)", updated.Provider, providerNames(h.deps.Providers))
	}
	if _, err := intent.CompilePolicy(updated.Spec()); err != nil {
		return errorResponse(err)
	}
	if err := provider.ValidateRole(roleInfo(&updated)); err != nil {
		return errorResponse(err)
	}
	updated.Revision++
	updated.UpdatedAt = h.deps.now()
	if err := h.deps.rolePut(ctx, req.Storage, &updated); err != nil {
		return nil, err
	}
	if existed && !roleHasQuotas(role) && roleHasQuotas(&updated) {
		resp := &logical.Response{}
		resp.AddWarning(fmt.Sprintf("the quota counts credentials issued from now on; those issued earlier end within the role's max_ttl (%s)", updated.MaxTTL))
		return resp, nil
	}
	return nil, nil
}

func roleHasQuotas(r *store.Role) bool { return r.MaxActivePerTask > 0 || r.MaxActivePerEntity > 0 }

// applyRoleFields copies the fields present in the request onto role.
func applyRoleFields(role *store.Role, data *framework.FieldData) error {
	setString := func(field string, dst *string) {
		if v, ok := data.GetOk(field); ok {
			*dst = v.(string)
		}
	}
	setStrings := func(field string, dst *[]string) {
		if v, ok := data.GetOk(field); ok {
			*dst = v.([]string)
		}
	}
	setInt := func(field string, dst *int) {
		if v, ok := data.GetOk(field); ok {
			*dst = v.(int)
		}
	}
	setDuration := func(field string, dst *time.Duration) {
		if v, ok := data.GetOk(field); ok {
			*dst = time.Duration(v.(int)) * time.Second
		}
	}
	setString("provider", &role.Provider)
	setString("credential_type", &role.CredentialType)
	setString("description", &role.Description)
	if v, ok := data.GetOk("disabled"); ok {
		role.Disabled = v.(bool)
	}
	setStrings("allowed_tasks", &role.AllowedTasks)
	if v, ok := data.GetOk("grants"); ok {
		grants, err := decodeGrants(v.([]any))
		if err != nil {
			return err
		}
		role.Grants = grants
	}
	setStrings("time_windows", &role.TimeWindows)
	setString("not_before", &role.NotBefore)
	setString("not_after", &role.NotAfter)
	setStrings("bound_entity_ids", &role.BoundEntityIDs)
	setStrings("bound_entity_aliases", &role.BoundEntityAliases)
	if v, ok := data.GetOk("bound_entity_metadata"); ok {
		role.BoundEntityMetadata = v.(map[string]string)
	}
	setStrings("bound_group_names", &role.BoundGroupNames)
	setStrings("bound_cidrs", &role.BoundCIDRs)
	setDuration("ttl", &role.TTL)
	setDuration("max_ttl", &role.MaxTTL)
	setInt("max_active_per_task", &role.MaxActivePerTask)
	setInt("max_active_per_entity", &role.MaxActivePerEntity)
	setString("drift_action", &role.DriftAction)
	switch role.DriftAction {
	case store.DriftActionRecord, store.DriftActionRevoke:
	default:
		return &intent.FieldError{Field: "drift_action", Reason: fmt.Sprintf("must be %q or %q, not %q", store.DriftActionRecord, store.DriftActionRevoke, role.DriftAction)}
	}
	settings := make(map[string]any, len(role.Settings))
	for k, v := range role.Settings {
		settings[k] = v
	}
	for name, field := range providerRoleFields {
		v, ok := data.GetOk(name)
		if !ok {
			continue
		}
		if field.provider != role.Provider {
			return &intent.FieldError{Field: name, Reason: fmt.Sprintf("applies to %s roles, not %s roles", field.provider, role.Provider)}
		}
		settings[name] = v
	}
	for name := range settings {
		if field, known := providerRoleFields[name]; known && field.provider != role.Provider {
			// The provider changed: its predecessor's settings no longer apply.
			delete(settings, name)
		}
	}
	role.Settings = settings
	return nil
}

func (h *roleHandler) read(ctx context.Context, req *logical.Request, data *framework.FieldData) (*logical.Response, error) {
	role, err := store.GetRole(ctx, req.Storage, data.Get("name").(string))
	if err != nil || role == nil {
		return nil, err
	}
	out := map[string]any{
		"name":                  role.Name,
		"provider":              role.Provider,
		"credential_type":       role.CredentialType,
		"description":           role.Description,
		"disabled":              role.Disabled,
		"allowed_tasks":         role.AllowedTasks,
		"grants":                role.Grants,
		"time_windows":          role.TimeWindows,
		"not_before":            role.NotBefore,
		"not_after":             role.NotAfter,
		"bound_entity_ids":      role.BoundEntityIDs,
		"bound_entity_aliases":  role.BoundEntityAliases,
		"bound_entity_metadata": role.BoundEntityMetadata,
		"bound_group_names":     role.BoundGroupNames,
		"bound_cidrs":           role.BoundCIDRs,
		"ttl":                   int64(role.TTL.Seconds()),
		"max_ttl":               int64(role.MaxTTL.Seconds()),
		"max_active_per_task":   role.MaxActivePerTask,
		"max_active_per_entity": role.MaxActivePerEntity,
		"drift_action":          role.DriftAction,
		"revision":              role.Revision,
		"updated_at":            role.UpdatedAt.Format(time.RFC3339),
	}
	for k, v := range role.Settings {
		out[k] = v
	}
	return &logical.Response{Data: out}, nil
}

func (h *roleHandler) delete(ctx context.Context, req *logical.Request, data *framework.FieldData) (*logical.Response, error) {
	name := data.Get("name").(string)
	lock := h.deps.roleLock(name)
	lock.Lock()
	defer lock.Unlock()
	return nil, h.deps.roleDelete(ctx, req.Storage, name)
}

func (h *roleHandler) list(ctx context.Context, req *logical.Request, data *framework.FieldData) (*logical.Response, error) {
	names, err := store.ListRoles(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return logical.ListResponse(names), nil
}

// roleInfo is the provider's view of a role.
func roleInfo(role *store.Role) providers.RoleInfo {
	info := providers.RoleInfo{Name: role.Name, CredentialType: role.CredentialType, Settings: role.Settings}
	for _, g := range role.Grants {
		info.Destinations = append(info.Destinations, g.Destination)
		info.Actions = append(info.Actions, g.Actions...)
		info.Grants = append(info.Grants, providers.GrantInfo{Destination: g.Destination, Actions: g.Actions, AzureRole: g.AzureRole})
	}
	return info
}
