package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/hashicorp/vault/api"
)

const (
	exportsGrant = "https://reports.internal/exports/*"
	exportsDest  = "https://reports.internal/exports/2026/*"
)

// defaultGrants is the grant list of most roles, as the CLI's grants=@file.json sends it.
const defaultGrants = `[{"destination": "https://reports.internal/exports/*", "actions": ["write", "list"], "max_sensitivity": "confidential"}]`

var roleSeq atomic.Int64

// roleName returns a role name no other test uses.
func roleName(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1_000_000, roleSeq.Add(1))
}

// baseRole is the README's reports-writer role, bound to the workload's metadata and to
// loopback (the tests' source address).
func baseRole() map[string]any {
	return map[string]any{
		"allowed_tasks":         "nightly-*",
		"grants":                defaultGrants,
		"bound_entity_metadata": map[string]string{"team": workloadTeam},
		"bound_cidrs":           "127.0.0.0/8",
		"ttl":                   "5m",
		"max_ttl":               "1h",
	}
}

// writeRole creates role name from baseRole with overrides applied (a nil value deletes
// a field) and returns the name.
func writeRole(t *testing.T, prefix string, overrides map[string]any) string {
	t.Helper()
	name := roleName(prefix)
	data := baseRole()
	for k, v := range overrides {
		if v == nil {
			delete(data, k)
			continue
		}
		data[k] = v
	}
	if _, err := env.root.Logical().Write("nhi/roles/"+name, data); err != nil {
		t.Fatalf("writing role %s: %v", name, err)
	}
	return name
}

// intent is the README's example request.
func intent(overrides map[string]any) map[string]any {
	data := map[string]any{
		"task":         "nightly-export",
		"destinations": []string{exportsDest},
		"actions":      []string{"write"},
		"sensitivity":  "internal",
	}
	for k, v := range overrides {
		if v == nil {
			delete(data, k)
			continue
		}
		data[k] = v
	}
	return data
}

func issue(c *api.Client, role string, data map[string]any) (*api.Secret, error) {
	return c.Logical().Write("nhi/creds/"+role, data)
}

// mustIssue issues as c and checks the response has a lease and a credential.
func mustIssue(t *testing.T, c *api.Client, role string, data map[string]any) *api.Secret {
	t.Helper()
	s, err := issue(c, role, data)
	if err != nil {
		t.Fatalf("issuing from %s: %v", role, err)
	}
	if s == nil || s.Data == nil {
		t.Fatalf("issuing from %s: empty response", role)
	}
	if s.LeaseID == "" {
		t.Fatalf("issuing from %s: no lease_id in %+v", role, s)
	}
	if str(s.Data, "credential_id") == "" || str(s.Data, "token") == "" {
		t.Fatalf("issuing from %s: no credential_id or token in %v", role, s.Data)
	}
	return s
}

func str(m map[string]any, k string) string {
	v, _ := m[k].(string)
	return v
}

func strs(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// expectError checks err is a Vault response error with the status and that one of its
// messages contains every fragment.
func expectError(t *testing.T, err error, status int, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("expected HTTP %d containing %q, got success", status, fragments)
	}
	var re *api.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("expected HTTP %d, got a non-HTTP error: %v", status, err)
	}
	if re.StatusCode != status {
		t.Fatalf("expected HTTP %d containing %q, got %d: %v", status, fragments, re.StatusCode, re.Errors)
	}
	for _, msg := range re.Errors {
		ok := true
		for _, f := range fragments {
			if !strings.Contains(msg, f) {
				ok = false
				break
			}
		}
		if ok {
			return
		}
	}
	t.Fatalf("HTTP %d as expected, but no error message contains %q: %q", status, fragments, re.Errors)
}

// introspect asks nhi/introspect as root.
func introspect(t *testing.T, token string) map[string]any {
	t.Helper()
	s, err := env.root.Logical().Write("nhi/introspect", map[string]any{"token": token})
	if err != nil {
		t.Fatalf("introspect: %v", err)
	}
	if s == nil || s.Data == nil {
		t.Fatal("introspect: empty response")
	}
	return s.Data
}

func isActive(t *testing.T, token string) bool {
	t.Helper()
	active, ok := introspect(t, token)["active"].(bool)
	if !ok {
		t.Fatal("introspect: active is not a bool")
	}
	return active
}

// readRecord reads nhi/credentials/<id> as root.
func readRecord(t *testing.T, id string) map[string]any {
	t.Helper()
	s, err := env.root.Logical().Read("nhi/credentials/" + id)
	if err != nil {
		t.Fatalf("reading credential %s: %v", id, err)
	}
	if s == nil || s.Data == nil {
		t.Fatalf("credential %s: no record", id)
	}
	return s.Data
}

// eventually polls cond every 250 ms until it is true or limit passes.
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", limit, what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// listCredentials lists nhi/credentials (one page of up to 10000 ids).
func listCredentials(t *testing.T) map[string]bool {
	t.Helper()
	s, err := env.root.Logical().ReadWithDataWithContext(context.Background(), "nhi/credentials",
		map[string][]string{"list": {"true"}, "limit": {"10000"}})
	if err != nil {
		t.Fatalf("listing credentials: %v", err)
	}
	ids := map[string]bool{}
	if s == nil || s.Data == nil {
		return ids
	}
	for _, k := range strs(s.Data["keys"]) {
		ids[k] = true
	}
	return ids
}

// httpGet fetches a URL of the server without a Vault token.
func httpGet(t *testing.T, path string) (int, http.Header, []byte) {
	t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second}
	req, err := http.NewRequest(http.MethodGet, env.srv.Addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, resp.Header, body
}

// fetchJWKS reads /v1/nhi/jwks without a token.
func fetchJWKS(t *testing.T) jose.JSONWebKeySet {
	t.Helper()
	status, _, body := httpGet(t, "/v1/nhi/jwks")
	if status != http.StatusOK {
		t.Fatalf("GET /v1/nhi/jwks without a token: HTTP %d: %s", status, body)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("JWKS is not a JWK set: %v\n%s", err, body)
	}
	if len(set.Keys) == 0 {
		t.Fatalf("JWKS has no keys: %s", body)
	}
	return set
}

func kids(set jose.JSONWebKeySet) []string {
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KeyID)
	}
	return out
}

// tokenClaims is what the tests read from a verified token.
type tokenClaims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  []string `json:"aud"`
	IssuedAt  int64    `json:"iat"`
	NotBefore int64    `json:"nbf"`
	Expiry    int64    `json:"exp"`
	ID        string   `json:"jti"`
	NHI       struct {
		Task         string   `json:"task"`
		Actions      []string `json:"actions"`
		Sensitivity  string   `json:"sensitivity"`
		Role         string   `json:"role"`
		Destinations []string `json:"destinations"`
	} `json:"nhi"`
	Cnf *struct {
		JKT string `json:"jkt"`
	} `json:"cnf"`
}

// verifyToken checks the token's signature against set and returns its header and claims.
func verifyToken(t *testing.T, set jose.JSONWebKeySet, raw string) (jose.Header, tokenClaims) {
	t.Helper()
	sig, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA, jose.RS256})
	if err != nil {
		t.Fatalf("parsing token: %v", err)
	}
	if len(sig.Signatures) != 1 {
		t.Fatalf("token has %d signatures", len(sig.Signatures))
	}
	header := sig.Signatures[0].Header
	if header.KeyID == "" {
		t.Fatal("token header has no kid")
	}
	keys := set.Key(header.KeyID)
	if len(keys) != 1 {
		t.Fatalf("JWKS has %d keys with kid %q (kids: %v)", len(keys), header.KeyID, kids(set))
	}
	key := keys[0]
	if key.Algorithm != "" && key.Algorithm != header.Algorithm {
		t.Fatalf("token alg %s, but its JWKS key says alg %s", header.Algorithm, key.Algorithm)
	}
	if !key.IsPublic() {
		t.Fatal("JWKS publishes a private key")
	}
	payload, err := sig.Verify(key)
	if err != nil {
		t.Fatalf("signature does not verify against the JWKS key %s: %v", header.KeyID, err)
	}
	var claims tokenClaims
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatalf("claims: %v\n%s", err, payload)
	}
	return header, claims
}
