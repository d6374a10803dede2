package azure_test

// Integration tests: the provider with its real clients (DefaultClients: azidentity, the
// ARM authorization SDK, Graph REST over azcore) against the offline Azure simulator in
// tests/azuresim, which authorizes Blob and Key Vault data-plane calls by the role
// assignments and their ABAC conditions, as Azure does.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers/azure"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers/conformance"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/tests/azuresim"
)

type simEnv struct {
	sim *azuresim.Sim
	p   *azure.Provider
	s   logical.Storage
}

func newSimEnv(t *testing.T, opts azuresim.Options) *simEnv {
	t.Helper()
	sim := azuresim.New(opts).Start()
	t.Cleanup(sim.Close)
	id, secret := sim.RootCredentials()
	cfg := azure.Config{
		TenantID: sim.TenantID(), SubscriptionID: sim.SubscriptionID(), ClientID: id, ClientSecret: secret,
		AuthorityHost: sim.AuthorityHost(), GraphEndpoint: sim.GraphEndpoint(), ResourceManagerEndpoint: sim.URL(),
		CACert: string(sim.CACertPEM()),
	}
	s := &logical.InmemStorage{}
	if err := azure.SaveConfig(context.Background(), s, cfg); err != nil {
		t.Fatal(err)
	}
	p := azure.New(nil, azure.DefaultClients, azure.WithWaits(20*time.Second, 20*time.Second, 20*time.Second), azure.WithBackoff(50*time.Millisecond))
	return &simEnv{sim: sim, p: p, s: s}
}

func simRole() providers.RoleInfo {
	return providers.RoleInfo{
		Name: "exporter", CredentialType: azure.CredentialTypeServicePrincipal,
		Destinations: []string{"azure://stexports/exports/*", "azure-keyvault://kv-prod/secrets/*"},
		Actions:      []string{"read", "write"},
		Settings:     map[string]any{"resource_group": "rg-nhi"},
	}
}

func (e *simEnv) issue(t *testing.T, id string, dests []string, actions ...string) *providers.Issued {
	t.Helper()
	got, err := e.p.Issue(context.Background(), e.s, providers.IssueRequest{
		CredentialID: id, Role: simRole(), Task: "nightly-export", Destinations: dests, Actions: actions,
		TTL: 10 * time.Minute, Now: time.Now(),
	})
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return got
}

func (e *simEnv) credential(t *testing.T, got *providers.Issued) azcore.TokenCredential {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential(got.Public["tenant_id"].(string), got.Public["client_id"].(string), got.Secret["client_secret"].(string),
		&azidentity.ClientSecretCredentialOptions{ClientOptions: e.clientOptions(), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func (e *simEnv) clientOptions() azcore.ClientOptions {
	c := cloud.AzurePublic
	c.ActiveDirectoryAuthorityHost = e.sim.AuthorityHost()
	c.Services = map[cloud.ServiceName]cloud.ServiceConfiguration{cloud.ResourceManager: {Endpoint: e.sim.URL(), Audience: "https://management.azure.com"}}
	return azcore.ClientOptions{Cloud: c, Transport: e.sim.Client(), Retry: policy.RetryOptions{MaxRetries: -1}}
}

func status(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

func TestSimConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T) (providers.Provider, logical.Storage) {
		e := newSimEnv(t, azuresim.Options{})
		return e.p, e.s
	}, providers.IssueRequest{
		CredentialID: "sim", Role: simRole(), Task: "t", Destinations: []string{"azure://stexports/exports/in/*"},
		Actions: []string{"write"}, TTL: 10 * time.Minute,
	}, conformance.WithConcurrency(4), conformance.WithExpiryLeeway(2*time.Second))
}

func TestSimBlobPrefixScoping(t *testing.T) {
	e := newSimEnv(t, azuresim.Options{})
	got := e.issue(t, "blob-1", []string{"azure://stexports/exports/2026/12/*"}, "write")
	if ms, _ := got.Public["ready_after_ms"].(int64); ms < 0 {
		t.Errorf("ready_after_ms = %v", got.Public["ready_after_ms"])
	}
	cred := e.credential(t, got)
	blobs, err := azblob.NewClient(e.sim.BlobServiceURL("stexports"), cred, &azblob.ClientOptions{ClientOptions: e.clientOptions()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := blobs.UploadBuffer(ctx, "exports", "2026/12/report.csv", []byte("a,b\n"), nil); err != nil {
		t.Fatalf("write under the prefix: %v", err)
	}
	if b, ok := e.sim.Blob("stexports", "exports", "2026/12/report.csv"); !ok || string(b) != "a,b\n" {
		t.Fatalf("blob not stored: %q %v", b, ok)
	}
	for _, c := range []struct{ ctr, name string }{{"exports", "2026/11/report.csv"}, {"exports", "2026/12x"}, {"private", "2026/12/report.csv"}} {
		if _, err := blobs.UploadBuffer(ctx, c.ctr, c.name, []byte("x"), nil); status(err) != http.StatusForbidden {
			t.Errorf("write %s/%s: err = %v, want 403", c.ctr, c.name, err)
		}
	}

	// Management plane: no account keys, no role assignments.
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, e.sim.URL()+e.sim.StorageAccountID("stexports")+"/listKeys?api-version=2023-05-01", nil)
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	resp, err := e.sim.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("listKeys: HTTP %d, want 403", resp.StatusCode)
	}
	ra, err := armauthorization.NewRoleAssignmentsClient(e.sim.SubscriptionID(), cred, &arm.ClientOptions{ClientOptions: e.clientOptions()})
	if err != nil {
		t.Fatal(err)
	}
	rdID := azure.RoleDefinitionID(e.sim.SubscriptionID(), "8e3af657-a8ff-443c-a75c-2fe8c4bcb635")
	pid := "00000000-0000-0000-0000-000000000001"
	_, err = ra.Create(ctx, e.sim.ContainerScope("stexports", "exports"), "11111111-2222-4333-8444-555555555555",
		armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{PrincipalID: &pid, RoleDefinitionID: &rdID}}, nil)
	if status(err) != http.StatusForbidden {
		t.Errorf("role assignment create: err = %v, want 403", err)
	}

	// Revocation: the secret no longer obtains a token and nothing is left.
	if err := e.p.Revoke(ctx, e.s, providers.RevokeRequest{CredentialID: "blob-1", Ref: got.Ref}); err != nil {
		t.Fatal(err)
	}
	fresh := e.credential(t, got)
	if _, err := fresh.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://storage.azure.com/.default"}}); err == nil {
		t.Error("revoked secret still obtains a token")
	}
	assertClean(t, e)
}

func assertClean(t *testing.T, e *simEnv) {
	t.Helper()
	c := e.sim.Counts()
	// The seeded root application, its principal and its Owner assignment remain.
	if c.Applications != 1 || c.ServicePrincipals != 1 || c.DeletedApplications != 0 || c.RoleAssignments != 1 {
		t.Errorf("left behind: %+v", c)
	}
}

func TestSimKeyVaultOneSecret(t *testing.T) {
	e := newSimEnv(t, azuresim.Options{})
	got := e.issue(t, "kv-1", []string{"azure-keyvault://kv-prod/secrets/db-password"}, "read")
	cred := e.credential(t, got)
	kv, err := azsecrets.NewClient(e.sim.VaultURL("kv-prod"), cred, &azsecrets.ClientOptions{ClientOptions: e.clientOptions(), DisableChallengeResourceVerification: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := kv.GetSecret(ctx, "db-password", "", nil)
	if err != nil || s.Value == nil || *s.Value != "s3cr3t-db" {
		t.Fatalf("GetSecret(db-password) = %v, %v", s.Value, err)
	}
	if _, err := kv.GetSecret(ctx, "api-key", "", nil); status(err) != http.StatusForbidden {
		t.Errorf("GetSecret(api-key): err = %v, want 403", err)
	}
	if err := e.p.Revoke(ctx, e.s, providers.RevokeRequest{CredentialID: "kv-1", Ref: got.Ref}); err != nil {
		t.Fatal(err)
	}
	assertClean(t, e)
}

func TestSimReplicationDelays(t *testing.T) {
	e := newSimEnv(t, azuresim.Options{ReplicationDelay: 1500 * time.Millisecond, StrictReplication: true, CredentialPropagationDelay: time.Second})
	start := time.Now()
	got := e.issue(t, "rep-1", []string{"azure://stexports/exports/in/*"}, "read")
	if time.Since(start) < time.Second {
		t.Errorf("issued in %s despite the delays", time.Since(start))
	}
	if ms := got.Public["ready_after_ms"].(int64); ms < 900 {
		t.Errorf("ready_after_ms = %d", ms)
	}
	if err := e.p.Revoke(context.Background(), e.s, providers.RevokeRequest{CredentialID: "rep-1", Ref: got.Ref}); err != nil {
		t.Fatal(err)
	}
	assertClean(t, e)
}

// A crash after the application exists: rollback by the credential id alone removes
// everything.
func TestSimRollbackByCredentialID(t *testing.T) {
	e := newSimEnv(t, azuresim.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	// Cancel the issuance as soon as the first role assignment exists.
	go func() {
		for i := 0; i < 2000; i++ {
			if e.sim.Counts().RoleAssignments > 1 {
				cancel()
				return
			}
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, _ = e.p.Issue(ctx, e.s, providers.IssueRequest{
		CredentialID: "crash-1", Role: simRole(), Task: "t", TTL: time.Minute, Now: time.Now(),
		Destinations: []string{"azure://stexports/exports/a/*", "azure://stexports/exports/b/*", "azure-keyvault://kv-prod/secrets/api-key"},
		Actions:      []string{"read"},
	})
	if err := e.p.Revoke(context.Background(), e.s, providers.RevokeRequest{CredentialID: "crash-1"}); err != nil {
		t.Fatal(err)
	}
	assertClean(t, e)
}

func TestSimManyCycles(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	e := newSimEnv(t, azuresim.Options{})
	for i := 0; i < 1000; i++ {
		id := fmt.Sprintf("cycle-%d", i)
		got := e.issue(t, id, []string{"azure://stexports/exports/in/*"}, "read")
		if err := e.p.Revoke(context.Background(), e.s, providers.RevokeRequest{CredentialID: id, Ref: got.Ref}); err != nil {
			t.Fatal(err)
		}
	}
	assertClean(t, e)
}

func TestSimRotateRoot(t *testing.T) {
	e := newSimEnv(t, azuresim.Options{})
	_, oldSecret := e.sim.RootCredentials()
	res, err := e.p.RotateRoot(context.Background(), e.s)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 0 {
		t.Errorf("warnings: %v", res.Warnings)
	}
	cfg, _, _ := azure.LoadConfig(context.Background(), e.s)
	if cfg.ClientSecret == oldSecret {
		t.Fatal("secret unchanged")
	}
	cl, err := azure.DefaultClients(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Tokens.CheckSecret(context.Background(), cfg.ClientID, oldSecret); err == nil {
		t.Error("old root secret still works")
	}
	// The engine keeps working with the new secret.
	got := e.issue(t, "after-rotate", []string{"azure://stexports/exports/in/*"}, "read")
	if err := e.p.Revoke(context.Background(), e.s, providers.RevokeRequest{CredentialID: "after-rotate", Ref: got.Ref}); err != nil {
		t.Fatal(err)
	}
	if c := e.sim.Counts(); c.Passwords != 1 {
		t.Errorf("root passwords: %+v", c)
	}
}

func TestSimPeriodic(t *testing.T) {
	e := newSimEnv(t, azuresim.Options{})
	if err := e.p.Periodic(context.Background(), e.s); err != nil {
		t.Fatalf("Periodic: %v", err)
	}
}

func TestSimGraphReplication(t *testing.T) {
	e := newSimEnv(t, azuresim.Options{GraphReplicationDelay: 800 * time.Millisecond})
	got := e.issue(t, "graph-rep", []string{"azure://stexports/exports/in/*"}, "read")
	if err := e.p.Revoke(context.Background(), e.s, providers.RevokeRequest{CredentialID: "graph-rep", Ref: got.Ref}); err != nil {
		t.Fatal(err)
	}
	assertClean(t, e)
}
