package aws_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/backend"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers/aws"
)

type engine struct {
	t       *testing.T
	b       *backend.Backend
	storage logical.Storage
	fake    *aws.FakeAWSForTest
	roleARN string
}

func newEngine(t *testing.T) *engine {
	t.Helper()
	fake := aws.NewFakeAWSForTest()
	e := &engine{t: t, fake: fake, roleARN: fake.AddRole("etl"), storage: &logical.InmemStorage{}}
	p := aws.New(time.Now, fake.Factory(), aws.FastKeyWait())
	e.b = backend.New(backend.Options{Providers: []providers.Provider{p}})
	conf := logical.TestBackendConfig()
	conf.System = &logical.StaticSystemView{DefaultLeaseTTLVal: 24 * time.Hour, MaxLeaseTTLVal: 32 * 24 * time.Hour}
	conf.StorageView = e.storage
	if err := e.b.Setup(context.Background(), conf); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *engine) do(op logical.Operation, path string, data map[string]any) (*logical.Response, int) {
	e.t.Helper()
	req := &logical.Request{Operation: op, Path: path, Data: data, Storage: e.storage,
		EntityID: "entity-1", DisplayName: "etl-bot", MountPoint: "nhi/",
		Connection: &logical.Connection{RemoteAddr: "10.20.1.5"}}
	resp, err := e.b.HandleRequest(context.Background(), req)
	status, _ := logical.RespondErrorCommon(req, resp, err)
	if status == 0 {
		status = http.StatusOK
	}
	return resp, status
}

func (e *engine) ok(op logical.Operation, path string, data map[string]any) *logical.Response {
	e.t.Helper()
	resp, status := e.do(op, path, data)
	if status != http.StatusOK && status != http.StatusNoContent {
		e.t.Fatalf("%s %s: status %d: %v", op, path, status, resp)
	}
	return resp
}

func TestEngineConfigAWS(t *testing.T) {
	e := newEngine(t)
	if resp, _ := e.do(logical.ReadOperation, "config/aws", nil); resp != nil && len(resp.Data) > 0 {
		t.Fatalf("unset config read = %v", resp.Data)
	}
	e.ok(logical.UpdateOperation, "config/aws", map[string]any{
		"access_key": aws.RootKeyForTest, "secret_key": aws.RootSecretForTest,
		"region": "eu-west-1", "sts_endpoint": "http://127.0.0.1:4566", "max_retries": 4,
	})
	resp := e.ok(logical.ReadOperation, "config/aws", nil)
	if resp.Data["access_key"] != aws.RootKeyForTest || resp.Data["secret_key_set"] != true || resp.Data["region"] != "eu-west-1" || resp.Data["max_retries"] != 4 {
		t.Errorf("read = %v", resp.Data)
	}
	for k, v := range resp.Data {
		if v == aws.RootSecretForTest || k == "secret_key" {
			t.Fatalf("read returned the secret key in %q", k)
		}
	}
	// Partial update keeps other fields; a changed access key needs its secret.
	e.ok(logical.UpdateOperation, "config/aws", map[string]any{"iam_endpoint": "http://localhost:4566"})
	if resp := e.ok(logical.ReadOperation, "config/aws", nil); resp.Data["region"] != "eu-west-1" || resp.Data["secret_key_set"] != true {
		t.Errorf("partial update lost fields: %v", resp.Data)
	}
	for _, bad := range []map[string]any{
		{"access_key": "AKIAOTHERKEY00000001"},
		{"sts_endpoint": "http://sts.example.com"},
		{"region": "moon-1"},
		{"web_identity_role_arn": "arn:aws:iam::123456789012:role/x"},
		{"max_retries": 99},
	} {
		resp, status := e.do(logical.UpdateOperation, "config/aws", bad)
		if status != http.StatusBadRequest {
			t.Errorf("%v: status %d (%v), want 400", bad, status, resp)
		}
		if resp != nil && strings.Contains(resp.Error().Error(), aws.RootSecretForTest) {
			t.Errorf("error quotes the secret")
		}
	}
	e.ok(logical.DeleteOperation, "config/aws", nil)
	if resp, _ := e.do(logical.ReadOperation, "config/aws", nil); resp != nil && len(resp.Data) > 0 {
		t.Errorf("config survives delete: %v", resp.Data)
	}
}

func TestEngineIssueAndRevokeSession(t *testing.T) {
	e := newEngine(t)
	e.ok(logical.UpdateOperation, "config/aws", map[string]any{"access_key": aws.RootKeyForTest, "secret_key": aws.RootSecretForTest})
	e.ok(logical.UpdateOperation, "roles/etl", map[string]any{
		"provider": "aws", "allowed_tasks": "nightly-*", "role_arn": e.roleARN,
		"grants":       `[{"destination": "s3://analytics-raw/*", "actions": ["read", "write", "list"], "max_sensitivity": "confidential"}]`,
		"session_tags": map[string]any{"team": "data"}, "bind_source_ip": true, "ttl": "10m", "max_ttl": "1h",
	})
	resp := e.ok(logical.UpdateOperation, "creds/etl", map[string]any{
		"task": "nightly-etl", "destinations": "s3://analytics-raw/2026/12/*", "actions": "read,write",
		"sensitivity": "confidential", "ttl": "10m",
	})
	for _, k := range []string{"access_key", "secret_key", "session_token", "expiration", "credential_id", "expires_at"} {
		if v, _ := resp.Data[k].(string); v == "" {
			t.Errorf("creds response lacks %s: %v", k, resp.Data)
		}
	}
	pol := e.fake.LastSessionPolicy()
	if !strings.Contains(pol, "arn:aws:s3:::analytics-raw/2026/12/*") || !strings.Contains(pol, `"10.20.1.5/32"`) {
		t.Errorf("session policy = %s", pol)
	}
	if resp.Secret == nil || resp.Secret.Renewable {
		t.Fatalf("lease = %+v, want a non-renewable lease", resp.Secret)
	}
	// Lease revocation denies the session on the role.
	req := &logical.Request{Operation: logical.RevokeOperation, Storage: e.storage, Secret: resp.Secret}
	if _, err := e.b.HandleRequest(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	doc, ok := e.fake.RolePolicy("etl", aws.RevocationPolicyName)
	if !ok || !strings.Contains(doc, ":"+resp.Data["credential_id"].(string)) {
		t.Errorf("revocation policy = %q", doc)
	}
	// A TTL above the role's STS maximum is a 400 naming the limit, before calling AWS.
	e.ok(logical.UpdateOperation, "roles/etl", map[string]any{"max_sts_ttl": 1800})
	r2, status := e.do(logical.UpdateOperation, "creds/etl", map[string]any{
		"task": "nightly-etl", "destinations": "s3://analytics-raw/x/*", "actions": "read", "ttl": "59m"})
	if status != http.StatusBadRequest || !strings.Contains(r2.Error().Error(), "max_sts_ttl") {
		t.Errorf("ttl above max_sts_ttl: status %d %v", status, r2)
	}
	// 51 tags (48 of the role's + 3 nhi:*) are refused when the role is written.
	tags := map[string]any{}
	for i := 0; i < 48; i++ {
		tags[fmt.Sprintf("k%d", i)] = "v"
	}
	if r3, status := e.do(logical.UpdateOperation, "roles/etl", map[string]any{"session_tags": tags}); status != http.StatusBadRequest {
		t.Errorf("48 session tags: status %d %v", status, r3)
	}
	if r4, status := e.do(logical.UpdateOperation, "roles/etl", map[string]any{"session_tags": map[string]any{"aws:x": "y"}}); status != http.StatusBadRequest {
		t.Errorf("aws: tag: status %d %v", status, r4)
	}
}

func TestEngineRotateRoot(t *testing.T) {
	e := newEngine(t)
	e.ok(logical.UpdateOperation, "config/aws", map[string]any{"access_key": aws.RootKeyForTest, "secret_key": aws.RootSecretForTest})
	resp := e.ok(logical.UpdateOperation, "config/aws/rotate-root", nil)
	newKey, _ := resp.Data["access_key"].(string)
	if newKey == "" || newKey == aws.RootKeyForTest {
		t.Fatalf("rotate-root = %v", resp.Data)
	}
	if r := e.ok(logical.ReadOperation, "config/aws", nil); r.Data["access_key"] != newKey || r.Data["rotation_pending"] != false {
		t.Errorf("after rotation: %v", r.Data)
	}
}

func TestEngineIAMUserRollback(t *testing.T) {
	e := newEngine(t)
	e.ok(logical.UpdateOperation, "config/aws", map[string]any{"access_key": aws.RootKeyForTest, "secret_key": aws.RootSecretForTest})
	e.ok(logical.UpdateOperation, "roles/u", map[string]any{
		"provider": "aws", "credential_type": "iam_user", "allowed_tasks": "*",
		"grants": `[{"destination": "s3://a/*", "actions": ["read"], "max_sensitivity": "internal"}]`,
	})
	resp := e.ok(logical.UpdateOperation, "creds/u", map[string]any{"task": "t", "destinations": "s3://a/x/*"})
	user, _ := resp.Data["user_name"].(string)
	if !e.fake.UserExists(user) {
		t.Fatalf("user %q not created: %v", user, resp.Data)
	}
	req := &logical.Request{Operation: logical.RevokeOperation, Storage: e.storage, Secret: resp.Secret}
	if _, err := e.b.HandleRequest(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if e.fake.UserExists(user) {
		t.Error("user survives lease revocation")
	}
}
