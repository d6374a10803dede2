package backend

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
)

func t0ctx() context.Context { return context.Background() }

func rawBody(t *testing.T, resp *logical.Response) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal(resp.Data[logical.HTTPRawBody].([]byte), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestJWKSAndDiscoveryAreUnauthenticatedJSON(t *testing.T) {
	e := newEnv(t)
	e.mustOK(e.write("roles/r", reportsRole(nil)))
	e.mustOK(e.write("creds/r", issueData(nil)))
	unauth := func(r *logical.Request) { r.ClientToken = ""; r.EntityID = "" }

	jwks := rawBody(t, e.mustOK(e.read("jwks", unauth)))
	keys := jwks["keys"].([]any)
	if len(keys) != 1 {
		t.Fatalf("keys = %v", keys)
	}
	key := keys[0].(map[string]any)
	if key["alg"] != "ES256" || key["kid"] == "" || key["d"] != nil {
		t.Errorf("key = %v", key)
	}
	disc := rawBody(t, e.mustOK(e.read(".well-known/openid-configuration", unauth)))
	if disc["issuer"] != "https://vault.test/v1/nhi" || disc["jwks_uri"] != "https://vault.test/v1/nhi/jwks" {
		t.Errorf("discovery = %v", disc)
	}
	for _, p := range []string{"jwks", ".well-known/openid-configuration"} {
		found := false
		for _, u := range e.b.PathsSpecial.Unauthenticated {
			found = found || u == p
		}
		if !found {
			t.Errorf("%s is not an unauthenticated path", p)
		}
	}
}

func TestKeyRotationKeepsOldKeyPublished(t *testing.T) {
	e := newEnv(t)
	e.mustOK(e.write("config/token", map[string]any{"rotation_period": "1h"}))
	e.mustOK(e.write("roles/r", reportsRole(nil)))
	old := e.mustOK(e.write("creds/r", issueData(map[string]any{"ttl": "30m"})))
	e.clock.Advance(61 * time.Minute)
	if err := e.b.periodic(t0ctx(), &logical.Request{Storage: e.storage}); err != nil {
		t.Fatal(err)
	}
	keys := rawBody(t, e.mustOK(e.read("jwks")))["keys"].([]any)
	if len(keys) != 2 {
		t.Fatalf("after rotation JWKS has %d keys, want 2", len(keys))
	}
	fresh := e.mustOK(e.write("creds/r", issueData(nil)))
	oldClaims, err := e.b.token.Verify(t0ctx(), e.storage, old.Data["token"].(string))
	if err == nil {
		t.Errorf("a 30m token verified after 61m: %+v", oldClaims)
	}
	if _, err := e.b.token.Verify(t0ctx(), e.storage, fresh.Data["token"].(string)); err != nil {
		t.Errorf("fresh token: %v", err)
	}
	if old.Data["key_id"] == fresh.Data["key_id"] {
		t.Error("rotation did not change the signing key")
	}
}

func TestAlgorithmChangeRotatesAtOnce(t *testing.T) {
	e := newEnv(t)
	e.mustOK(e.write("roles/r", reportsRole(nil)))
	e.mustOK(e.write("creds/r", issueData(nil)))
	e.mustOK(e.write("config/token", map[string]any{"algorithm": "EdDSA"}))
	resp := e.mustOK(e.write("creds/r", issueData(nil)))
	claims, err := e.b.token.Verify(t0ctx(), e.storage, resp.Data["token"].(string))
	if err != nil || claims.ID != resp.Data["credential_id"] {
		t.Fatalf("verify: %v %+v", err, claims)
	}
	header := strings.Split(resp.Data["token"].(string), ".")[0]
	if !strings.HasPrefix(header, "eyJhbGciOiJFZERTQSI") {
		t.Errorf("header %s is not EdDSA", header)
	}
}

func TestConfigTokenValidation(t *testing.T) {
	e := newEnv(t)
	cfg := e.mustOK(e.read("config/token"))
	if cfg.Data["algorithm"] != "ES256" || cfg.Data["issuer"] != "https://vault.test/v1/nhi" {
		t.Errorf("config = %v", cfg.Data)
	}
	for field, value := range map[string]any{"algorithm": "HS256", "issuer": "not a url", "rotation_period": "1s"} {
		r := e.write("config/token", map[string]any{field: value})
		if r.status != http.StatusBadRequest || !strings.HasPrefix(r.errorText(), field) {
			t.Errorf("%s=%v: status %d %q", field, value, r.status, r.errorText())
		}
	}
}

func TestIssueWithoutIssuerIsAClearError(t *testing.T) {
	e := newEnv(t)
	if err := e.storage.Delete(t0ctx(), "config/token"); err != nil {
		t.Fatal(err)
	}
	e.b.Invalidate(t0ctx(), "config/token") // as Vault reports a change made elsewhere
	e.mustOK(e.write("roles/r", reportsRole(nil)))
	r := e.write("creds/r", issueData(nil))
	if r.status != http.StatusBadRequest || !strings.Contains(r.errorText(), "config/token") {
		t.Errorf("status %d %q", r.status, r.errorText())
	}
}

func TestIntrospectRefusesForgedTokens(t *testing.T) {
	e := newEnv(t)
	e.mustOK(e.write("roles/r", reportsRole(nil)))
	resp := e.mustOK(e.write("creds/r", issueData(nil)))
	parts := strings.Split(resp.Data["token"].(string), ".")
	tampered := parts[0] + "." + parts[1] + "x." + parts[2]
	for name, tok := range map[string]string{"tampered": tampered, "garbage": "abc", "unsigned": parts[0] + "." + parts[1] + "."} {
		if got := e.mustOK(e.write("introspect", map[string]any{"token": tok})); got.Data["active"] != false {
			t.Errorf("%s: %v", name, got.Data)
		}
	}
	if r := e.write("introspect", map[string]any{"token": ""}); r.status != http.StatusBadRequest {
		t.Errorf("empty token: status %d", r.status)
	}
}

func TestAuthorizeJudgesUseAgainstIntent(t *testing.T) {
	e := newEnv(t)
	e.mustOK(e.write("roles/r", reportsRole(map[string]any{"bound_cidrs": "10.20.0.0/16"})))
	resp := e.mustOK(e.write("creds/r", issueData(nil)))
	id := resp.Data["credential_id"].(string)
	cases := []struct {
		name    string
		data    map[string]any
		allowed bool
		reason  string
	}{
		{"in intent", map[string]any{"credential_id": id, "action": "write", "resource": "https://reports.internal/exports/2026/a.csv", "source_ip": "10.20.3.4"}, true, ""},
		{"other resource", map[string]any{"credential_id": id, "action": "write", "resource": "https://reports.internal/payroll/a.csv"}, false, "payroll"},
		{"other action", map[string]any{"credential_id": id, "action": "delete", "resource": "https://reports.internal/exports/2026/a.csv"}, false, "delete"},
		{"other network", map[string]any{"credential_id": id, "action": "write", "resource": "https://reports.internal/exports/2026/a.csv", "source_ip": "203.0.113.9"}, false, "203.0.113.9"},
		{"unknown credential", map[string]any{"credential_id": "c-aaaaaaaaaaaaaaaaaaaaaaaaaa", "action": "write", "resource": "https://reports.internal/exports/2026/a.csv"}, false, "unknown"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := e.mustOK(e.write("authorize", tc.data))
			if got.Data["allowed"] != tc.allowed {
				t.Fatalf("allowed = %v, reasons %v", got.Data["allowed"], got.Data["reasons"])
			}
			if reasons := strings.Join(got.Data["reasons"].([]string), ";"); !strings.Contains(reasons, tc.reason) {
				t.Errorf("reasons %q lack %q", reasons, tc.reason)
			}
		})
	}
	for name, data := range map[string]map[string]any{
		"neither":      {"action": "write", "resource": "https://a/b"},
		"both":         {"credential_id": id, "token": "x", "action": "write", "resource": "https://a/b"},
		"bad id":       {"credential_id": "../../roles/r", "action": "write", "resource": "https://a/b"},
		"bad ip":       {"credential_id": id, "action": "write", "resource": "https://a/b", "source_ip": "999.1.1.1"},
		"empty action": {"credential_id": id, "resource": "https://a/b"},
	} {
		if r := e.write("authorize", data); r.status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", name, r.status)
		}
	}
}

// Cloud credentials are asked about in the cloud's own names: s3:GetObject on an ARN is
// judged against an intent of read on s3://.
func TestAuthorizeUnderstandsNativeActionsAndARNs(t *testing.T) {
	e := newEnv(t)
	e.mustOK(e.write("roles/s3", reportsRole(map[string]any{
		"provider": "fake",
		"grants":   `[{"destination": "s3://a/b/*", "actions": ["read", "list"], "max_sensitivity": "internal"}]`,
	})))
	id := e.mustOK(e.write("creds/s3", issueData(map[string]any{"destinations": "s3://a/b/*", "actions": "read"}))).Data["credential_id"].(string)
	cases := []struct {
		action, resource string
		allowed          bool
	}{
		{"s3:GetObject", "arn:aws:s3:::a/b/2026/x.csv", true},
		{"read", "s3://a/b/2026/x.csv", true},
		{"s3:GetObject", "arn:aws:s3:::a/c/x.csv", false},
		{"s3:PutObject", "arn:aws:s3:::a/b/x.csv", false},
		{"s3:DeleteObject", "arn:aws:s3:::a/b/x.csv", false},
	}
	for _, tc := range cases {
		got := e.mustOK(e.write("authorize", map[string]any{"credential_id": id, "action": tc.action, "resource": tc.resource}))
		if got.Data["allowed"] != tc.allowed {
			t.Errorf("%s on %s: allowed=%v reasons=%v, want %v", tc.action, tc.resource, got.Data["allowed"], got.Data["reasons"], tc.allowed)
		}
	}
}
