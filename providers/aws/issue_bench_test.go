package aws_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/backend"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers/aws"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/tests/awssim"
)

// BenchmarkEngineIssueAgainstSim is one assumed_role issuance through the engine (in
// memory storage, no Vault process) with the real SDK client against the simulator:
// the engine's own cost per credential, for profiling.
func BenchmarkEngineIssueAgainstSim(b *testing.B) {
	sim := awssim.New(awssim.Options{Buckets: []string{"a"}}).Start()
	defer sim.Close()
	arn, err := sim.CreateRole("etl", simTrust, map[string]string{"all": simAllowAll}, 43200)
	if err != nil {
		b.Fatal(err)
	}
	storage := &logical.InmemStorage{}
	eng := backend.New(backend.Options{Providers: []providers.Provider{aws.New(time.Now, aws.DefaultClients)}})
	conf := logical.TestBackendConfig()
	conf.System = &logical.StaticSystemView{DefaultLeaseTTLVal: 24 * time.Hour, MaxLeaseTTLVal: 32 * 24 * time.Hour}
	conf.StorageView = storage
	if err := eng.Setup(context.Background(), conf); err != nil {
		b.Fatal(err)
	}
	id, secret := sim.RootCredentials()
	do := func(path string, data map[string]any) *logical.Response {
		req := &logical.Request{Operation: logical.UpdateOperation, Path: path, Data: data, Storage: storage,
			EntityID: "entity-1", MountPoint: "nhi/", Connection: &logical.Connection{RemoteAddr: "10.20.1.5"}}
		resp, err := eng.HandleRequest(context.Background(), req)
		if status, _ := logical.RespondErrorCommon(req, resp, err); status != 0 && status != http.StatusNoContent {
			b.Fatalf("%s: %d %v %v", path, status, resp, err)
		}
		return resp
	}
	do("config/token", map[string]any{"issuer": "https://vault.test/v1/nhi"})
	do("config/aws", map[string]any{"access_key": id, "secret_key": secret, "region": "us-east-1",
		"sts_endpoint": sim.URL(), "iam_endpoint": sim.URL(), "s3_endpoint": sim.URL(), "cloudtrail_endpoint": sim.URL()})
	do("roles/etl", map[string]any{"provider": "aws", "role_arn": arn, "allowed_tasks": "nightly-*", "max_sts_ttl": 3600,
		"grants": `[{"destination":"s3://a/b/*","actions":["read","write","list"],"max_sensitivity":"confidential"}]`})
	intent := map[string]any{"task": "nightly-etl", "destinations": "s3://a/b/*", "actions": "read,write", "ttl": "10m"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		do("creds/etl", intent)
	}
}
