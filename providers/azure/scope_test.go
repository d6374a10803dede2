package azure

import (
	"errors"
	"strings"
	"testing"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

const (
	sub       = fakeSubscription
	blobScope = "/subscriptions/" + sub + "/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/stexports/blobServices/default/containers/exports"
	kvScope   = "/subscriptions/" + sub + "/resourceGroups/rg-kv/providers/Microsoft.KeyVault/vaults/kv-prod"
)

func scopeInput(dests []string, actions ...string) ScopeInput {
	return ScopeInput{
		SubscriptionID: sub, ResourceGroup: "rg-data", ResourceGroups: map[string]string{"kv-prod": "rg-kv"},
		Destinations: dests, Actions: actions,
	}
}

func TestCompileAssignments(t *testing.T) {
	readerID := RoleDefinitionID(sub, "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1")
	contribID := RoleDefinitionID(sub, "ba92f5b4-2d11-453d-a403-e96b0029c9fe")
	cases := []struct {
		name    string
		in      ScopeInput
		want    []Assignment
		wantErr string // FieldError field
	}{
		{"prefix write", scopeInput([]string{"azure://stexports/exports/2026/12/*"}, "write"), []Assignment{{
			Scope: blobScope, RoleName: RoleStorageBlobDataContributor, RoleDefinitionID: contribID,
			Condition:        "((!(ActionMatches{'" + blobRead + "'} AND NOT SubOperationMatches{'Blob.List'}) AND !(ActionMatches{'" + blobWrite + "'}) AND !(ActionMatches{'" + blobAdd + "'}) AND !(ActionMatches{'" + blobMove + "'}) AND !(ActionMatches{'" + blobDelete + "'})) OR (" + blobPath + " StringStartsWith '2026/12/')) AND ((!(ActionMatches{'" + blobRead + "'} AND SubOperationMatches{'Blob.List'})) OR (" + blobPrefix + " StringStartsWith '2026/12/'))",
			ConditionVersion: "2.0"}}, ""},
		{"prefix read", scopeInput([]string{"azure://stexports/exports/in/*"}, "read", "list"), []Assignment{{
			Scope: blobScope, RoleName: RoleStorageBlobDataReader, RoleDefinitionID: readerID,
			Condition:        "((!(ActionMatches{'" + blobRead + "'} AND NOT SubOperationMatches{'Blob.List'})) OR (" + blobPath + " StringStartsWith 'in/')) AND ((!(ActionMatches{'" + blobRead + "'} AND SubOperationMatches{'Blob.List'})) OR (" + blobPrefix + " StringStartsWith 'in/'))",
			ConditionVersion: "2.0"}}, ""},
		{"one blob", scopeInput([]string{"azure://stexports/exports/a/b.csv"}, "read"), []Assignment{{
			Scope: blobScope, RoleName: RoleStorageBlobDataReader, RoleDefinitionID: readerID,
			Condition:        "((!(ActionMatches{'" + blobRead + "'} AND NOT SubOperationMatches{'Blob.List'})) OR (" + blobPath + " StringEquals 'a/b.csv')) AND ((!(ActionMatches{'" + blobRead + "'} AND SubOperationMatches{'Blob.List'})) OR (" + blobPrefix + " StringEquals 'a/b.csv'))",
			ConditionVersion: "2.0"}}, ""},
		{"whole container", scopeInput([]string{"azure://stexports/exports/*"}, "read"), []Assignment{{Scope: blobScope, RoleName: RoleStorageBlobDataReader, RoleDefinitionID: readerID}}, ""},
		{"container no slash", scopeInput([]string{"azure://stexports/exports"}, "s3x"), nil, "actions"},
		{"native action", scopeInput([]string{"azure://stexports/exports"}, "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"), []Assignment{{Scope: blobScope, RoleName: RoleStorageBlobDataContributor, RoleDefinitionID: contribID}}, ""},
		{"kv secret", scopeInput([]string{"azure-keyvault://kv-prod/secrets/db-password"}, "read"), []Assignment{{
			Scope: kvScope + "/secrets/db-password", RoleName: RoleKeyVaultSecretsUser, RoleDefinitionID: RoleDefinitionID(sub, "4633458b-17de-408a-b874-0445c86b69e6")}}, ""},
		{"kv write", scopeInput([]string{"azure-keyvault://kv-prod/secrets/db-password"}, "write"), []Assignment{{
			Scope: kvScope + "/secrets/db-password", RoleName: RoleKeyVaultSecretsOfficer, RoleDefinitionID: RoleDefinitionID(sub, "b86a8fe4-44ce-4948-aee5-eccb2c155cd7")}}, ""},
		{"kv all secrets", scopeInput([]string{"azure-keyvault://kv-prod/secrets/*"}, "read"), []Assignment{{
			Scope: kvScope, RoleName: RoleKeyVaultSecretsUser, RoleDefinitionID: RoleDefinitionID(sub, "4633458b-17de-408a-b874-0445c86b69e6")}}, ""},
		{"resource read", scopeInput([]string{"/subscriptions/" + sub + "/resourceGroups/RG-Data"}, "read"), []Assignment{{
			Scope: "/subscriptions/" + sub + "/resourcegroups/rg-data", RoleName: RoleReader, RoleDefinitionID: RoleDefinitionID(sub, "acdd72a7-3385-48ef-bd42-f606fba81ae7")}}, ""},
		{"resource subtree", scopeInput([]string{"/subscriptions/" + sub + "/resourceGroups/rg/*"}, "list"), []Assignment{{
			Scope: "/subscriptions/" + sub + "/resourcegroups/rg", RoleName: RoleReader, RoleDefinitionID: RoleDefinitionID(sub, "acdd72a7-3385-48ef-bd42-f606fba81ae7")}}, ""},
		{"dedupe", scopeInput([]string{"azure://stexports/exports/*", "azure://stexports/exports"}, "read"), []Assignment{{Scope: blobScope, RoleName: RoleStorageBlobDataReader, RoleDefinitionID: readerID}}, ""},

		{"resource write without role", scopeInput([]string{"/subscriptions/" + sub + "/resourceGroups/rg"}, "write"), nil, "destinations"},
		{"other subscription", scopeInput([]string{"/subscriptions/99999999-9999-9999-9999-999999999999/resourceGroups/rg"}, "read"), nil, "destinations"},
		{"resource name ending in a period", scopeInput([]string{"/subscriptions/" + sub + "/resourceGroups/rg."}, "read"), nil, "destinations"},
		{"resource name with dots", scopeInput([]string{"/subscriptions/" + sub + "/0../0"}, "read"), nil, "destinations"},
		{"resource wildcard", scopeInput([]string{"/subscriptions/" + sub + "/resourceGroups/rg-*"}, "read"), nil, "destinations"},
		{"account wildcard", scopeInput([]string{"azure://st*/exports/*"}, "read"), nil, "destinations"},
		{"container wildcard", scopeInput([]string{"azure://stexports/ex*/a/*"}, "read"), nil, "destinations"},
		{"mid-segment wildcard", scopeInput([]string{"azure://stexports/exports/log-*"}, "read"), nil, "destinations"},
		{"inner wildcard", scopeInput([]string{"azure://stexports/exports/*/x/*"}, "read"), nil, "destinations"},
		{"no container", scopeInput([]string{"azure://stexports"}, "read"), nil, "destinations"},
		{"bad account", scopeInput([]string{"azure://st-exports/exports/*"}, "read"), nil, "destinations"},
		{"quote in path", scopeInput([]string{"azure://stexports/exports/it's/*"}, "read"), nil, "destinations"},
		{"kv keys", scopeInput([]string{"azure-keyvault://kv-prod/keys/k1"}, "read"), nil, "destinations"},
		{"kv wildcard name", scopeInput([]string{"azure-keyvault://kv-prod/secrets/db-*"}, "read"), nil, "destinations"},
		{"s3", scopeInput([]string{"s3://bucket/x/*"}, "read"), nil, "destinations"},
		{"no actions", scopeInput([]string{"azure://stexports/exports/*"}), nil, "actions"},
		{"aws action", scopeInput([]string{"azure://stexports/exports/*"}, "s3:GetObject"), nil, "actions"},
		{"no destinations", scopeInput(nil, "read"), nil, "destinations"},
		{"unknown rg", ScopeInput{SubscriptionID: sub, Destinations: []string{"azure://stexports/exports/*"}, Actions: []string{"read"}}, nil, "resource_groups"},
		{"no subscription", ScopeInput{Destinations: []string{"azure://stexports/exports/*"}, Actions: []string{"read"}}, nil, "subscription_id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := CompileAssignments(c.in)
			if c.wantErr != "" {
				var fe *providers.FieldError
				if !errors.As(err, &fe) || fe.Field != c.wantErr {
					t.Fatalf("err = %v (%+v), want FieldError on %s", err, got, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %d assignments %+v, want %d", len(got), got, len(c.want))
			}
			for i := range got {
				got[i].Destination = ""
				if got[i] != c.want[i] {
					t.Errorf("assignment %d\n got %+v\nwant %+v", i, got[i], c.want[i])
				}
			}
		})
	}
}

func TestCompileGrantRole(t *testing.T) {
	res := "/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.Web/sites/app1"
	in := scopeInput([]string{res}, "write")
	in.Grants = []Grant{{Destination: "/subscriptions/" + sub + "/resourceGroups/rg/*", Actions: []string{"write"}, AzureRole: "Website Contributor"}}
	got, err := CompileAssignments(in)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].RoleName != "Website Contributor" || got[0].RoleDefinitionID != "" {
		t.Errorf("got %+v: a custom role must be resolved by name", got[0])
	}
	in.Grants[0].AzureRole = "Contributor"
	if _, err := CompileAssignments(in); err == nil || !strings.Contains(err.Error(), "allowed_privileged_roles") {
		t.Fatalf("Contributor: err = %v", err)
	}
	in.AllowedPrivilegedRoles = []string{"contributor"}
	got, err = CompileAssignments(in)
	if err != nil || got[0].RoleName != "Contributor" || !strings.HasSuffix(got[0].RoleDefinitionID, "b24988ac-6180-42a0-ab88-20f7382dd24c") {
		t.Fatalf("allowed Contributor: %+v %v", got, err)
	}
	// A grant's role applies to blob destinations too, keeping the condition.
	in = scopeInput([]string{"azure://stexports/exports/in/*"}, "write")
	in.Grants = []Grant{{Destination: "azure://stexports/exports/*", AzureRole: "Blob Appender"}}
	got, err = CompileAssignments(in)
	if err != nil || got[0].RoleName != "Blob Appender" || got[0].Condition == "" {
		t.Fatalf("blob with role: %+v %v", got, err)
	}
}

func TestTooManyAssignments(t *testing.T) {
	var dests []string
	for i := 0; i < MaxAssignments+1; i++ {
		dests = append(dests, "azure://stexports/exports/d"+strings.Repeat("x", i)+"/*")
	}
	_, err := CompileAssignments(scopeInput(dests, "read"))
	var fe *providers.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v", err)
	}
}

func TestEscalations(t *testing.T) {
	cases := []struct {
		actions, data []string
		want          int
	}{
		{[]string{"*"}, nil, 1},
		{[]string{"*/read"}, nil, 0},
		{[]string{"Microsoft.Authorization/*/read"}, nil, 0},
		{[]string{"Microsoft.Authorization/*/write"}, nil, 1},
		{[]string{"Microsoft.Authorization/*"}, nil, 1},
		{[]string{"microsoft.authorization/roleassignments/write"}, nil, 1},
		{[]string{"Microsoft.KeyVault/*"}, nil, 1},
		{[]string{"Microsoft.KeyVault/vaults/write"}, nil, 1},
		{[]string{"Microsoft.KeyVault/vaults/accessPolicies/write"}, nil, 1},
		{[]string{"Microsoft.Foo/things/accessPolicies/read"}, nil, 1},
		{[]string{"Microsoft.Storage/storageAccounts/listkeys/action"}, nil, 1},
		{[]string{"Microsoft.Storage/*"}, nil, 1},
		{[]string{"Microsoft.Storage/storageAccounts/blobServices/containers/read"}, nil, 0},
		{nil, []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"}, 0},
		{nil, []string{"Microsoft.KeyVault/vaults/secrets/*"}, 0},
		{nil, []string{"*"}, 1},
	}
	for _, c := range cases {
		if got := Escalations(c.actions, c.data); len(got) != c.want {
			t.Errorf("Escalations(%v, %v) = %v, want %d", c.actions, c.data, got, c.want)
		}
	}
	for _, r := range builtinRoles {
		esc := len(Escalations(r.Actions, r.DataActions)) > 0
		wantEsc := map[string]bool{"Owner": true, "Contributor": true, "User Access Administrator": true,
			"Role Based Access Control Administrator": true, "Key Vault Contributor": true, "Key Vault Administrator": true,
			"Storage Account Contributor": true, "Storage Account Key Operator Service Role": true}[r.Name]
		if esc != wantEsc {
			t.Errorf("%s: privileged = %v, want %v", r.Name, esc, wantEsc)
		}
	}
}

func TestGlobMatch(t *testing.T) {
	for _, c := range []struct {
		p, n string
		want bool
	}{
		{"*", "anything/at/all", true},
		{"a/*/c", "a/b/x/c", true},
		{"a/*/c", "a/c", false},
		{"A/B", "a/b", true},
		{"*/read", "x/write", false},
		{"a*", "", false},
		{"", "", true},
	} {
		if got := globMatch(c.p, c.n); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v", c.p, c.n, got)
		}
	}
}

func TestAssignmentName(t *testing.T) {
	a, b := AssignmentName("cred-1", 0), AssignmentName("cred-1", 0)
	if a != b || !isGUID(a) || a[14] != '5' || !strings.ContainsRune("89ab", rune(a[19])) {
		t.Fatalf("AssignmentName = %s / %s: want a stable UUIDv5", a, b)
	}
	if AssignmentName("cred-1", 1) == a || AssignmentName("cred-2", 0) == a {
		t.Fatal("names collide")
	}
}

// FuzzCompileAssignments: whatever the destination, the compiler either refuses with a
// FieldError or returns assignments inside the configured subscription, with conditions
// whose quoted literals cannot be escaped.
func FuzzCompileAssignments(f *testing.F) {
	for _, s := range []string{
		"azure://stexports/exports/2026/12/*", "azure://a/b", "azure-keyvault://kv-prod/secrets/x",
		"/subscriptions/" + sub + "/resourceGroups/rg", "/subscriptions/" + sub + "/../x",
		"azure://stexports/exports/a'b/*", "azure://stexports/exports/%27/*", "azure://stexports/exports/a\\b",
	} {
		f.Add(s, "read")
		f.Add(s, "write")
	}
	f.Fuzz(func(t *testing.T, dest, action string) {
		got, err := CompileAssignments(scopeInput([]string{dest}, action))
		if err != nil {
			var fe *providers.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("non-field error %T: %v", err, err)
			}
			return
		}
		for _, a := range got {
			if !strings.HasPrefix(a.Scope, "/subscriptions/"+sub) {
				t.Fatalf("scope %q outside the subscription", a.Scope)
			}
			if strings.Contains(a.Scope, "..") || strings.Contains(a.Scope, "//") || strings.Contains(a.Scope, "*") {
				t.Fatalf("scope %q is not a plain resource id", a.Scope)
			}
			if a.RoleName == "" || a.RoleDefinitionID == "" {
				t.Fatalf("assignment without a role: %+v", a)
			}
			if len(Escalations(mustBuiltin(t, a.RoleName))) > 0 {
				t.Fatalf("verb table produced privileged role %s", a.RoleName)
			}
			if a.Condition != "" && (strings.Count(a.Condition, "'")%2 != 0 || strings.Contains(a.Condition, "\\")) {
				t.Fatalf("condition quoting broken: %s", a.Condition)
			}
		}
	})
}

func mustBuiltin(t *testing.T, name string) ([]string, []string) {
	b, ok := LookupBuiltinRole(name)
	if !ok {
		t.Fatalf("not a built-in role: %s", name)
	}
	return b.Actions, b.DataActions
}
