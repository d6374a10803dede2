package azure

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/backend/drift"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/backend/intent"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

// The scope compiler turns an approved intent into the narrowest role assignments.
//
// Destination forms and scopes ({sub} is config/azure's subscription_id, {rg} the
// resource group the role's resource_groups / resource_group settings give the account
// or vault):
//
//	azure://account/container[/*]           .../storageAccounts/{account}/blobServices/default/containers/{container}
//	azure://account/container/dir/sub/*     same scope, condition: blob path StringStartsWith 'dir/sub/'
//	azure://account/container/dir/blob.csv  same scope, condition: blob path StringEquals 'dir/blob.csv'
//	azure-keyvault://vault/secrets/name     .../providers/Microsoft.KeyVault/vaults/{vault}/secrets/{name}
//	azure-keyvault://vault/secrets/*        .../providers/Microsoft.KeyVault/vaults/{vault} (every secret)
//	/subscriptions/{sub}/...[/*]            that id (trailing /* = the id and everything below)
//
// Verb table (a grant's azure_role replaces it; native actions map to verbs through
// drift.VerbTable, the table the drift judge uses, so policy and drift agree):
//
//	destination        read, list                 write, delete
//	azure:// (blobs)   Storage Blob Data Reader   Storage Blob Data Contributor
//	azure-keyvault://  Key Vault Secrets User     Key Vault Secrets Officer
//	/subscriptions/…   Reader                     (needs the grant's azure_role)
//
// One assignment per destination: the role covering all its actions. Blob conditions
// (version 2.0) limit every blob data action of the role to the path, and listing to the
// prefix (Blob.List with @Request[...blobs:prefix]). Storage Blob Data Contributor also
// allows delete inside the prefix even for a write-only intent: Azure has no built-in
// write-without-delete blob role; drift flags deletes the intent did not name.
// Other wildcards (account or container names, '*' inside a segment) are refused:
// they cannot be expressed as one scope plus condition without widening.

// MaxAssignments bounds the role assignments of one credential.
const MaxAssignments = 16

// ConditionVersion is the ABAC condition language version Azure accepts.
const ConditionVersion = "2.0"

// Blob data actions used in conditions.
const (
	blobRead   = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
	blobWrite  = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"
	blobAdd    = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action"
	blobMove   = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action"
	blobDelete = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete"
	blobPath   = "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path]"
	blobPrefix = "@Request[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:prefix]"
)

// Grant is a role grant as the scope compiler sees it.
type Grant struct {
	Destination string
	Actions     []string
	AzureRole   string
}

// ScopeInput is what CompileAssignments needs.
type ScopeInput struct {
	SubscriptionID string
	// ResourceGroup is the default resource group of storage accounts and key vaults;
	// ResourceGroups maps an account or vault name to its group (checked first).
	ResourceGroup  string
	ResourceGroups map[string]string
	// Destinations and Actions are the approved intent.
	Destinations []string
	Actions      []string
	// Grants are the role's grants, to find the azure_role of the grant covering a
	// destination.
	Grants []Grant
	// AllowedPrivilegedRoles are role names a grant may name although they escalate.
	AllowedPrivilegedRoles []string
}

// Assignment is one role assignment to create.
type Assignment struct {
	Destination string
	Scope       string
	RoleName    string
	// RoleDefinitionID is the full id for built-in roles; empty for a custom role that
	// must be resolved by name (and checked for escalation) before use.
	RoleDefinitionID string
	Condition        string
	ConditionVersion string
}

var (
	storageAccountRe = regexp.MustCompile(`^[a-z0-9]{3,24}$`)
	containerRe      = regexp.MustCompile(`^(\$root|[a-z0-9](-?[a-z0-9]){2,62})$`)
	vaultRe          = regexp.MustCompile(`^[a-z][a-z0-9-]{1,22}[a-z0-9]$`)
	secretNameRe     = regexp.MustCompile(`^[a-z0-9-]{1,127}$`)
	resourceGroupRe  = regexp.MustCompile(`^[-\w._()]{1,90}$`)
)

type verbs struct{ read, list, write, delete bool }

func (v verbs) mutates() bool { return v.write || v.delete }

// actionVerbs maps intent actions to verbs: verbs as they are, Azure native actions
// through drift.VerbOf. Anything else is refused.
func actionVerbs(actions []string) (verbs, error) {
	var v verbs
	for _, a := range actions {
		verb := strings.ToLower(strings.TrimSpace(a))
		if !isVerb(verb) {
			native, ok := drift.VerbOf(a)
			if !ok || !strings.HasPrefix(strings.ToLower(a), "microsoft.") {
				return v, &providers.FieldError{Field: "actions", Reason: fmt.Sprintf("%q is neither a verb (read, write, list, delete) nor an Azure data action the engine knows", a)}
			}
			verb = native
		}
		switch verb {
		case "read":
			v.read = true
		case "list":
			v.list = true
		case "write":
			v.write = true
		case "delete":
			v.delete = true
		}
	}
	return v, nil
}

func isVerb(s string) bool { return s == "read" || s == "write" || s == "list" || s == "delete" }

// CompileAssignments returns the role assignments for an approved intent, or a
// *providers.FieldError naming what cannot be scoped exactly.
func CompileAssignments(in ScopeInput) ([]Assignment, error) {
	if !isGUID(in.SubscriptionID) {
		return nil, &providers.FieldError{Field: "subscription_id", Reason: "config/azure needs a subscription_id"}
	}
	if len(in.Destinations) == 0 {
		return nil, &providers.FieldError{Field: "destinations", Reason: "at least one destination is required"}
	}
	v, err := actionVerbs(in.Actions)
	if err != nil {
		return nil, err
	}
	if v == (verbs{}) {
		return nil, &providers.FieldError{Field: "actions", Reason: "at least one action is required"}
	}
	var out []Assignment
	seen := map[string]bool{}
	for _, d := range in.Destinations {
		a, err := compileOne(in, d, v)
		if err != nil {
			return nil, err
		}
		key := a.Scope + "\x00" + strings.ToLower(a.RoleName) + "\x00" + a.Condition
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, a)
	}
	if len(out) > MaxAssignments {
		return nil, &providers.FieldError{Field: "destinations", Reason: fmt.Sprintf("needs %d role assignments; at most %d per credential", len(out), MaxAssignments)}
	}
	return out, nil
}

func compileOne(in ScopeInput, dest string, v verbs) (Assignment, error) {
	pat, err := intent.ParsePattern(dest)
	if err != nil {
		return Assignment{}, &providers.FieldError{Field: "destinations", Reason: fmt.Sprintf("%q: %v", dest, err)}
	}
	bad := func(format string, args ...any) error {
		return &providers.FieldError{Field: "destinations", Reason: fmt.Sprintf("%q: ", dest) + fmt.Sprintf(format, args...)}
	}
	azureRole := grantRole(in.Grants, pat)
	a := Assignment{Destination: pat.String()}
	switch pat.Scheme() {
	case "azure":
		account, container, path, err := splitBlob(pat.String())
		if err != nil {
			return a, bad("%v", err)
		}
		rg, err := resourceGroupFor(in, account, "storage account")
		if err != nil {
			return a, err
		}
		a.Scope = fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Storage/storageAccounts/%s/blobServices/default/containers/%s",
			in.SubscriptionID, rg, account, container)
		a.RoleName = RoleStorageBlobDataReader
		if v.mutates() {
			a.RoleName = RoleStorageBlobDataContributor
		}
		if path.set {
			a.Condition = blobCondition(path, v.mutates())
			a.ConditionVersion = ConditionVersion
		}
	case "azure-keyvault":
		vault, secret, err := splitKeyVault(pat.String())
		if err != nil {
			return a, bad("%v", err)
		}
		rg, err := resourceGroupFor(in, vault, "key vault")
		if err != nil {
			return a, err
		}
		a.Scope = fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.KeyVault/vaults/%s", in.SubscriptionID, rg, vault)
		if secret != "" {
			a.Scope += "/secrets/" + secret
		}
		a.RoleName = RoleKeyVaultSecretsUser
		if v.mutates() {
			a.RoleName = RoleKeyVaultSecretsOfficer
		}
	case "azure-resource":
		scope, err := resourceScope(pat.String(), in.SubscriptionID)
		if err != nil {
			return a, bad("%v", err)
		}
		a.Scope = scope
		switch {
		case azureRole != "":
		case v.mutates():
			return a, bad("Azure resource ids need the grant's azure_role for write or delete; the verb table maps only read and list (Reader)")
		default:
			a.RoleName = RoleReader
		}
	default:
		return a, bad("azure roles take azure://account/container/prefix/*, azure-keyvault://vault/secrets/name or /subscriptions/... destinations")
	}
	if azureRole != "" {
		a.RoleName = azureRole
	}
	if err := checkRole(a.RoleName, in.AllowedPrivilegedRoles); err != nil {
		return a, err
	}
	if b, ok := LookupBuiltinRole(a.RoleName); ok {
		a.RoleName = b.Name
		a.RoleDefinitionID = RoleDefinitionID(in.SubscriptionID, b.ID)
	}
	return a, nil
}

// checkRole refuses a built-in privileged role unless the role allows it by name.
// Custom roles are checked once resolved (Provider.Issue).
func checkRole(name string, allowed []string) error {
	b, ok := LookupBuiltinRole(name)
	if !ok {
		return nil
	}
	return checkEscalation(b.Name, Escalations(b.Actions, b.DataActions), allowed)
}

func checkEscalation(name string, esc []string, allowed []string) error {
	if len(esc) == 0 {
		return nil
	}
	for _, a := range allowed {
		if strings.EqualFold(strings.TrimSpace(a), name) {
			return nil
		}
	}
	return &providers.FieldError{Field: "grants", Reason: fmt.Sprintf(
		"azure_role %q carries %s, which lets a credential widen access beyond its destination (role assignments, access policies, account keys or vault configuration); name it in allowed_privileged_roles to allow it explicitly",
		name, strings.Join(esc, ", "))}
}

// grantRole returns the azure_role of the first grant covering pat that names one.
func grantRole(grants []Grant, pat intent.Pattern) string {
	for _, g := range grants {
		if g.AzureRole == "" {
			continue
		}
		gp, err := intent.ParsePattern(g.Destination)
		if err != nil {
			continue
		}
		if gp.Covers(pat) {
			return strings.TrimSpace(g.AzureRole)
		}
	}
	return ""
}

func resourceGroupFor(in ScopeInput, name, kind string) (string, error) {
	rg := ""
	for k, g := range in.ResourceGroups {
		if strings.EqualFold(k, name) {
			rg = g
			break
		}
	}
	if rg == "" {
		rg = in.ResourceGroup
	}
	if rg == "" {
		return "", &providers.FieldError{Field: "resource_groups", Reason: fmt.Sprintf("no resource group is known for %s %q; set the role's resource_groups (%s=<group>) or resource_group", kind, name, name)}
	}
	if !resourceGroupRe.MatchString(rg) || strings.HasSuffix(rg, ".") {
		return "", &providers.FieldError{Field: "resource_groups", Reason: fmt.Sprintf("%q is not a resource group name", rg)}
	}
	return rg, nil
}

// blobPathSpec is the blob part of a destination: a prefix (subtree) or one blob.
type blobPathSpec struct {
	set    bool
	prefix bool
	value  string
}

// splitBlob splits a canonical azure:// pattern into account, container and path.
func splitBlob(s string) (account, container string, path blobPathSpec, err error) {
	rest := strings.TrimPrefix(s, "azure://")
	segs := strings.Split(rest, "/")
	account = segs[0]
	if !storageAccountRe.MatchString(account) {
		return "", "", path, fmt.Errorf("storage account %q must be 3-24 lowercase letters and digits, without wildcards", account)
	}
	if len(segs) < 2 || segs[1] == "" {
		return "", "", path, fmt.Errorf("name a container: azure://%s/<container>/<prefix>/*", account)
	}
	container = segs[1]
	if !containerRe.MatchString(container) {
		return "", "", path, fmt.Errorf("container %q must be 3-63 lowercase letters, digits and single hyphens, without wildcards", container)
	}
	tail := segs[2:]
	if len(tail) == 0 || (len(tail) == 1 && tail[0] == "*") {
		return account, container, path, nil // the whole container
	}
	for i, seg := range tail {
		last := i == len(tail)-1
		switch {
		case seg == "*" && last:
			path = blobPathSpec{set: true, prefix: true, value: strings.Join(tail[:i], "/") + "/"}
			return account, container, path, checkBlobPath(path.value)
		case strings.Contains(seg, "*"):
			return "", "", path, fmt.Errorf("a wildcard is only allowed as the whole last segment (prefix/*)")
		case seg == "":
			return "", "", path, fmt.Errorf("empty path segment")
		}
	}
	path = blobPathSpec{set: true, value: strings.Join(tail, "/")}
	return account, container, path, checkBlobPath(path.value)
}

func checkBlobPath(p string) error {
	if len(p) > 1024 {
		return fmt.Errorf("blob path is longer than 1024 characters")
	}
	if strings.ContainsAny(p, `'\`) {
		return fmt.Errorf("blob path must not contain quotes or backslashes (they cannot be expressed in a role assignment condition)")
	}
	return nil
}

// blobCondition limits the role's blob data actions to the path, and listing to the
// prefix.
func blobCondition(p blobPathSpec, mutating bool) string {
	op := "StringEquals"
	if p.prefix {
		op = "StringStartsWith"
	}
	lit := "'" + p.value + "'"
	acts := []string{"!(ActionMatches{'" + blobRead + "'} AND NOT SubOperationMatches{'Blob.List'})"}
	if mutating {
		for _, a := range []string{blobWrite, blobAdd, blobMove, blobDelete} {
			acts = append(acts, "!(ActionMatches{'"+a+"'})")
		}
	}
	data := "((" + strings.Join(acts, " AND ") + ") OR (" + blobPath + " " + op + " " + lit + "))"
	list := "((!(ActionMatches{'" + blobRead + "'} AND SubOperationMatches{'Blob.List'})) OR (" + blobPrefix + " " + op + " " + lit + "))"
	return data + " AND " + list
}

// splitKeyVault splits a canonical azure-keyvault:// pattern into vault and secret
// ("" for every secret of the vault).
func splitKeyVault(s string) (vault, secret string, err error) {
	rest := strings.TrimPrefix(s, "azure-keyvault://")
	segs := strings.Split(rest, "/")
	vault = segs[0]
	if !vaultRe.MatchString(vault) || strings.Contains(vault, "--") {
		return "", "", fmt.Errorf("key vault name %q must be 3-24 letters, digits and hyphens, without wildcards", vault)
	}
	if len(segs) != 3 || segs[1] != "secrets" {
		return "", "", fmt.Errorf("use azure-keyvault://%s/secrets/<name> (only secrets are supported, through the RBAC data-plane roles)", vault)
	}
	if segs[2] == "*" {
		return vault, "", nil
	}
	if !secretNameRe.MatchString(segs[2]) {
		return "", "", fmt.Errorf("secret name %q must be 1-127 letters, digits and hyphens, without wildcards", segs[2])
	}
	return vault, segs[2], nil
}

// resourceScope checks an Azure resource id destination (canonical, lowercase) and
// returns its scope.
func resourceScope(s, subscription string) (string, error) {
	s = strings.TrimSuffix(s, "/*")
	segs := strings.Split(strings.TrimPrefix(s, "/subscriptions/"), "/")
	if !strings.EqualFold(segs[0], subscription) {
		return "", fmt.Errorf("is outside the configured subscription %s", subscription)
	}
	if strings.Contains(s, "*") {
		return "", fmt.Errorf("a wildcard is only allowed as a trailing /* (the id and everything below it)")
	}
	if len(segs)%2 == 0 {
		return "", fmt.Errorf("is not a resource id (segments must come in type/name pairs)")
	}
	for _, seg := range segs {
		if seg == "" {
			return "", fmt.Errorf("has an empty segment")
		}
		// ARM refuses names ending in a period and URL normalisation may drop trailing
		// dots, so such a segment might not address the resource the grant was checked for.
		if strings.HasSuffix(seg, ".") || strings.Contains(seg, "..") {
			return "", fmt.Errorf("segment %q ends with a period or contains \"..\"", seg)
		}
	}
	return "/subscriptions/" + subscription + strings.TrimPrefix(s, "/subscriptions/"+segs[0]), nil
}

// SortAssignments orders assignments by scope then role (stable ids across runs).
func SortAssignments(as []Assignment) {
	sort.SliceStable(as, func(i, j int) bool {
		if as[i].Scope != as[j].Scope {
			return as[i].Scope < as[j].Scope
		}
		return as[i].RoleName < as[j].RoleName
	})
}
