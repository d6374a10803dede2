package e2e

// Azure credentials through the real Vault server and the offline Azure simulator: the
// plugin's real azidentity/azcore clients talk HTTPS to tests/azuresim, which authorizes
// data-plane and ARM calls by role assignments and their conditions.

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/hashicorp/vault/api"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/tests/azuresim"
)

var (
	azureOnce sync.Once
	azureSim  *azuresim.Sim
)

func azureSetup(t *testing.T) *azuresim.Sim {
	t.Helper()
	azureOnce.Do(func() {
		sim := azuresim.New(azuresim.Options{}).Start()
		id, secret := sim.RootCredentials()
		if _, err := env.root.Logical().Write("nhi/config/azure", map[string]any{
			"tenant_id": sim.TenantID(), "subscription_id": sim.SubscriptionID(), "client_id": id, "client_secret": secret,
			"authority_host": sim.AuthorityHost(), "graph_endpoint": sim.GraphEndpoint(), "resource_manager_endpoint": sim.URL(),
			"ca_cert": string(sim.CACertPEM()),
		}); err != nil {
			t.Fatalf("config/azure: %v", err)
		}
		azureSim = sim
	})
	if azureSim == nil {
		t.Fatal("Azure simulator setup failed earlier")
	}
	return azureSim
}

func writeAzureRole(t *testing.T, prefix string, grants string, overrides map[string]any) string {
	t.Helper()
	azureSetup(t)
	role := map[string]any{"provider": "azure", "resource_group": "rg-nhi", "grants": grants,
		"bound_cidrs": nil, "bound_entity_metadata": nil}
	for k, v := range overrides {
		role[k] = v
	}
	return writeRole(t, prefix, role)
}

func azureOptions(sim *azuresim.Sim) azcore.ClientOptions {
	c := cloud.AzurePublic
	c.ActiveDirectoryAuthorityHost = sim.AuthorityHost()
	return azcore.ClientOptions{Cloud: c, Transport: sim.Client(), Retry: policy.RetryOptions{MaxRetries: -1}}
}

func azureCredential(t *testing.T, sim *azuresim.Sim, s *api.Secret) azcore.TokenCredential {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential(str(s.Data, "tenant_id"), str(s.Data, "client_id"), str(s.Data, "client_secret"),
		&azidentity.ClientSecretCredentialOptions{ClientOptions: azureOptions(sim), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func httpStatus(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

func TestAzureBlobCredentialIsScopedAndDiesOnRevoke(t *testing.T) {
	sim := azureSetup(t)
	role := writeAzureRole(t, "az-export", `[{"destination": "azure://stexports/exports/*", "actions": ["write"], "max_sensitivity": "internal"}]`, nil)
	before := sim.Counts()
	s, err := issue(env.workload.Client, role, map[string]any{"task": "nightly-export", "destinations": "azure://stexports/exports/2026/12/*", "actions": "write", "ttl": "10m"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"client_id", "client_secret", "tenant_id", "credential_id", "expires_at"} {
		if str(s.Data, f) == "" {
			t.Errorf("creds response lacks %s", f)
		}
	}
	cred := azureCredential(t, sim, s)
	blobs, err := azblob.NewClient(sim.BlobServiceURL("stexports"), cred, &azblob.ClientOptions{ClientOptions: azureOptions(sim)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := blobs.UploadBuffer(ctx, "exports", "2026/12/report.csv", []byte("a,b\n"), nil); err != nil {
		t.Fatalf("write under the prefix: %v", err)
	}
	for _, c := range []struct{ container, name string }{{"exports", "2026/11/report.csv"}, {"private", "2026/12/report.csv"}} {
		if _, err := blobs.UploadBuffer(ctx, c.container, c.name, []byte("x"), nil); httpStatus(err) != http.StatusForbidden {
			t.Errorf("write %s/%s: %v, want 403", c.container, c.name, err)
		}
	}
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	for what, path := range map[string]string{
		"listKeys":         sim.StorageAccountID("stexports") + "/listKeys?api-version=2023-05-01",
		"role assignment":  sim.ContainerScope("stexports", "exports") + "/providers/Microsoft.Authorization/roleAssignments/11111111-2222-4333-8444-555555555555?api-version=2022-04-01",
		"KV access policy": sim.VaultID("kv-prod") + "/accessPolicies/add?api-version=2023-07-01",
	} {
		method := http.MethodPost
		if what == "role assignment" || what == "KV access policy" {
			method = http.MethodPut
		}
		body := `{"properties": {"roleDefinitionId": "/subscriptions/` + sim.SubscriptionID() + `/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "principalId": "00000000-0000-0000-0000-000000000001", "accessPolicies": []}}`
		req, _ := http.NewRequest(method, sim.URL()+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		resp, err := sim.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: HTTP %d, want 403", what, resp.StatusCode)
		}
	}

	if out, err := env.srv.CLI(context.Background(), "root", "lease", "revoke", "-sync", s.LeaseID); err != nil {
		t.Fatalf("vault lease revoke: %v\n%s", err, out)
	}
	fresh := azureCredential(t, sim, s)
	if _, err := fresh.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://storage.azure.com/.default"}}); err == nil {
		t.Error("the revoked secret still obtains a token")
	}
	if c := sim.Counts(); c.Applications != before.Applications || c.ServicePrincipals != before.ServicePrincipals ||
		c.RoleAssignments != before.RoleAssignments || c.DeletedApplications != 0 {
		t.Errorf("left behind after revoke: %+v (before issuance: %+v)", c, before)
	}
}

func TestAzureKeyVaultCredentialReadsOneSecret(t *testing.T) {
	sim := azureSetup(t)
	role := writeAzureRole(t, "az-kv", `[{"destination": "azure-keyvault://kv-prod/secrets/db-password", "actions": ["read"], "max_sensitivity": "confidential"}]`, nil)
	s, err := issue(env.workload.Client, role, map[string]any{"task": "nightly-export", "destinations": "azure-keyvault://kv-prod/secrets/db-password", "actions": "read"})
	if err != nil {
		t.Fatal(err)
	}
	kv, err := azsecrets.NewClient(sim.VaultURL("kv-prod"), azureCredential(t, sim, s), &azsecrets.ClientOptions{ClientOptions: azureOptions(sim), DisableChallengeResourceVerification: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := kv.GetSecret(context.Background(), "db-password", "", nil); err != nil || got.Value == nil {
		t.Errorf("its one secret: %v", err)
	}
	if _, err := kv.GetSecret(context.Background(), "api-key", "", nil); httpStatus(err) != http.StatusForbidden {
		t.Errorf("another secret: %v, want 403", err)
	}
	if out, err := env.srv.CLI(context.Background(), "root", "lease", "revoke", "-sync", s.LeaseID); err != nil {
		t.Fatalf("vault lease revoke: %v\n%s", err, out)
	}
}

func TestAzureBadInputIs400AndCreatesNothing(t *testing.T) {
	sim := azureSetup(t)
	before := sim.Counts()
	for name, grants := range map[string]string{
		"Contributor without explicit allowance": `[{"destination": "` + sim.StorageAccountID("stexports") + `", "actions": ["write"], "azure_role": "Contributor"}]`,
		"Key Vault Contributor":                  `[{"destination": "` + sim.VaultID("kv-prod") + `", "actions": ["write"], "azure_role": "Key Vault Contributor"}]`,
		"outside the subscription":               `[{"destination": "/subscriptions/99999999-9999-4999-8999-999999999999/resourceGroups/x", "actions": ["read"]}]`,
		"unknown storage path form":              `[{"destination": "azure://stexports", "actions": ["read"]}]`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := env.root.Logical().Write("nhi/roles/"+roleName("az-bad"), map[string]any{
				"provider": "azure", "allowed_tasks": "nightly-*", "resource_group": "rg-nhi", "grants": grants,
			})
			expectError(t, err, http.StatusBadRequest, "grants")
		})
	}
	if after := sim.Counts(); after != before {
		t.Errorf("refused roles changed the tenant: %+v -> %+v", before, after)
	}
}
