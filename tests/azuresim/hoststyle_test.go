package azuresim

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

// TestPublicCloudHostnames drives the SDKs with their default public-cloud endpoints
// (instance discovery on, Key Vault challenge verification on), dialling every host to the
// simulator: what a client pointed at the real Azure would do.
func TestPublicCloudHostnames(t *testing.T) {
	s := startSim(t, Options{})
	addr := strings.TrimPrefix(s.URL(), "https://")
	hc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: s.CertPool(), MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	copts := policy.ClientOptions{Cloud: cloud.AzurePublic, Transport: hc}
	id, sec := s.RootCredentials()
	root, err := azidentity.NewClientSecretCredential(s.TenantID(), id, sec, &azidentity.ClientSecretCredentialOptions{ClientOptions: copts})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p := s.CreatePrincipal("public", time.Hour)
	ra, _ := armauthorization.NewRoleAssignmentsClient(s.SubscriptionID(), root, &arm.ClientOptions{ClientOptions: copts})
	if err := assign(t, ra, s.ContainerScope("stexports", "exports"), newGUID(), roleDefID(s, RoleStorageBlobDataContributor), p.ObjectID, pathCond); err != nil {
		t.Fatal(err)
	}
	if err := assign(t, ra, s.SecretScope("kv-prod", "api-key"), newGUID(), roleDefID(s, RoleKeyVaultSecretsUser), p.ObjectID, ""); err != nil {
		t.Fatal(err)
	}
	cred, _ := azidentity.NewClientSecretCredential(s.TenantID(), p.ClientID, p.ClientSecret, &azidentity.ClientSecretCredentialOptions{ClientOptions: copts})
	bc, _ := azblob.NewClient("https://stexports.blob.core.windows.net/", cred, &azblob.ClientOptions{ClientOptions: copts})
	if _, err := bc.UploadBuffer(ctx, "exports", "2026/12/x.csv", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Blob("stexports", "exports", "2026/12/x.csv"); !ok {
		t.Fatal("blob not stored")
	}
	kc, _ := azsecrets.NewClient("https://kv-prod.vault.azure.net/", cred, &azsecrets.ClientOptions{ClientOptions: copts})
	got, err := kc.GetSecret(ctx, "api-key", "", nil)
	if err != nil || *got.Value != "s3cr3t-api" {
		t.Fatalf("secret: %v", err)
	}
	g := &restClient{pl: runtime.NewPipeline("azuresimtest", "v0", runtime.PipelineOptions{
		PerRetry: []policy.Policy{runtime.NewBearerTokenPolicy(root, []string{ResourceGraph + "/.default"}, nil)},
	}, &copts)}
	st, body, _ := g.do(t, "GET", "https://graph.microsoft.com/v1.0/applications?$top=1", nil)
	mustStatus(t, "graph", st, 200, body)
	if next, _ := body["@odata.nextLink"].(string); !strings.HasPrefix(next, "https://graph.microsoft.com/v1.0/applications?") {
		t.Fatalf("nextLink %q", next)
	}
}
