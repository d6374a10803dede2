package azure_test

// Acceptance tests against a real Entra tenant and subscription. They run only with
// NHI_ACC_AZURE=1 and need:
//
//	AZURE_TENANT_ID, AZURE_SUBSCRIPTION_ID     the tenant and subscription
//	AZURE_CLIENT_ID, AZURE_CLIENT_SECRET       the engine's root application: Graph
//	                                           Application.ReadWrite.OwnedBy (admin-consented)
//	                                           and Role Based Access Control Administrator
//	                                           (or User Access Administrator) on the
//	                                           storage account below
//	NHI_ACC_AZURE_RESOURCE_GROUP               resource group of the storage account
//	NHI_ACC_AZURE_STORAGE_ACCOUNT              a storage account with RBAC data access
//	NHI_ACC_AZURE_CONTAINER                    an existing container in it
//	NHI_ACC_AZURE_KEY_VAULT, NHI_ACC_AZURE_SECRET  optional: an RBAC-mode key vault (same
//	                                           resource group) and a secret in it
//
// Role assignments take effect in Azure after minutes rather than seconds; the data-plane
// checks retry for up to NHI_ACC_AZURE_PROPAGATION (default 5m).

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers/azure"
)

func accEnv(t *testing.T, names ...string) map[string]string {
	t.Helper()
	if os.Getenv("NHI_ACC_AZURE") != "1" {
		t.Skip("set NHI_ACC_AZURE=1 (and credentials) to run acceptance tests against Azure")
	}
	out := map[string]string{}
	for _, n := range names {
		v := os.Getenv(n)
		if v == "" {
			t.Fatalf("NHI_ACC_AZURE=1 needs %s", n)
		}
		out[n] = v
	}
	return out
}

func eventually(t *testing.T, within time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after %s: %v", what, within, err)
		}
		time.Sleep(10 * time.Second)
	}
}

func TestAccAzure(t *testing.T) {
	env := accEnv(t, "AZURE_TENANT_ID", "AZURE_SUBSCRIPTION_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET",
		"NHI_ACC_AZURE_RESOURCE_GROUP", "NHI_ACC_AZURE_STORAGE_ACCOUNT", "NHI_ACC_AZURE_CONTAINER")
	propagation := 5 * time.Minute
	if d, err := time.ParseDuration(os.Getenv("NHI_ACC_AZURE_PROPAGATION")); err == nil {
		propagation = d
	}
	ctx := context.Background()
	s := &logical.InmemStorage{}
	cfg := azure.Config{TenantID: env["AZURE_TENANT_ID"], SubscriptionID: env["AZURE_SUBSCRIPTION_ID"],
		ClientID: env["AZURE_CLIENT_ID"], ClientSecret: env["AZURE_CLIENT_SECRET"]}
	if err := azure.SaveConfig(ctx, s, cfg); err != nil {
		t.Fatal(err)
	}
	p := azure.New(nil, azure.DefaultClients, azure.WithWaits(55*time.Second, 2*time.Minute, time.Minute))
	account, ctr := env["NHI_ACC_AZURE_STORAGE_ACCOUNT"], env["NHI_ACC_AZURE_CONTAINER"]
	prefix := fmt.Sprintf("nhi-acc/%d", time.Now().UnixNano())
	dests := []string{fmt.Sprintf("azure://%s/%s/%s/*", account, ctr, prefix)}
	vault, secretName := os.Getenv("NHI_ACC_AZURE_KEY_VAULT"), os.Getenv("NHI_ACC_AZURE_SECRET")
	if vault != "" && secretName != "" {
		dests = append(dests, fmt.Sprintf("azure-keyvault://%s/secrets/%s", vault, secretName))
	}
	role := providers.RoleInfo{Name: "acc", CredentialType: azure.CredentialTypeServicePrincipal, Destinations: dests,
		Actions: []string{"read", "write"}, Settings: map[string]any{"resource_group": env["NHI_ACC_AZURE_RESOURCE_GROUP"]}}
	if err := p.ValidateRole(role); err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("acc-%d", time.Now().UnixNano())
	got, err := p.Issue(ctx, s, providers.IssueRequest{CredentialID: id, Role: role, Task: "acceptance",
		Destinations: dests, Actions: []string{"read", "write"}, TTL: 15 * time.Minute, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("issued %s, ready after %vms", got.Public["client_id"], got.Public["ready_after_ms"])
	defer func() {
		if err := p.Revoke(context.Background(), s, providers.RevokeRequest{CredentialID: id, Ref: got.Ref}); err != nil {
			t.Errorf("revoke: %v", err)
		}
	}()
	cred, err := azidentity.NewClientSecretCredential(cfg.TenantID, got.Public["client_id"].(string), got.Secret["client_secret"].(string), nil)
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := azblob.NewClient(fmt.Sprintf("https://%s.blob.core.windows.net/", account), cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, propagation, "write under the prefix", func() error {
		_, err := blobs.UploadBuffer(ctx, ctr, prefix+"/ok.txt", []byte("ok"), nil)
		return err
	})
	if _, err := blobs.UploadBuffer(ctx, ctr, "nhi-acc-outside.txt", []byte("no"), nil); err == nil {
		t.Error("write outside the prefix succeeded")
	}
	_, _ = blobs.DeleteBlob(ctx, ctr, prefix+"/ok.txt", nil)
	if len(dests) > 1 {
		kv, err := azsecrets.NewClient(fmt.Sprintf("https://%s.vault.azure.net/", vault), cred, nil)
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, propagation, "read the key vault secret", func() error {
			_, err := kv.GetSecret(ctx, secretName, "", nil)
			return err
		})
	}
	if err := p.Revoke(ctx, s, providers.RevokeRequest{CredentialID: id, Ref: got.Ref}); err != nil {
		t.Fatal(err)
	}
	eventually(t, propagation, "revoked secret refused", func() error {
		fresh, _ := azidentity.NewClientSecretCredential(cfg.TenantID, got.Public["client_id"].(string), got.Secret["client_secret"].(string), nil)
		if _, err := fresh.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://storage.azure.com/.default"}}); err == nil {
			return fmt.Errorf("the revoked secret still obtains tokens")
		}
		return nil
	})
}
