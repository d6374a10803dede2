package azuresim

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

type testClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

func startSim(t *testing.T, opts Options) *Sim {
	t.Helper()
	s := New(opts).Start()
	t.Cleanup(s.Close)
	return s
}

func (s *Sim) testCloud() cloud.Configuration {
	return cloud.Configuration{
		ActiveDirectoryAuthorityHost: s.AuthorityHost(),
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: s.URL(), Audience: ResourceARM},
		},
	}
}

func (s *Sim) clientOptions() policy.ClientOptions {
	return policy.ClientOptions{
		Cloud:     s.testCloud(),
		Transport: s.Client(),
		Retry:     policy.RetryOptions{MaxRetries: 3, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 2 * time.Second},
	}
}

func secretCred(t *testing.T, s *Sim, clientID, secret string) *azidentity.ClientSecretCredential {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential(s.TenantID(), clientID, secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: s.clientOptions(), DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func rootCred(t *testing.T, s *Sim) *azidentity.ClientSecretCredential {
	id, sec := s.RootCredentials()
	return secretCred(t, s, id, sec)
}

func armOpts(s *Sim) *arm.ClientOptions { return &arm.ClientOptions{ClientOptions: s.clientOptions()} }

func tokenFor(t *testing.T, cred azcore.TokenCredential, resource string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tk, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{resource + "/.default"}})
	return tk.Token, err
}

func jwtClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// restClient is how the provider calls Graph (and ad-hoc ARM operations): azcore's
// pipeline with a bearer token policy.
type restClient struct {
	pl   runtime.Pipeline
	base string
}

func newREST(s *Sim, cred azcore.TokenCredential, resource, base string) *restClient {
	opts := s.clientOptions()
	pl := runtime.NewPipeline("azuresimtest", "v0", runtime.PipelineOptions{
		PerRetry: []policy.Policy{runtime.NewBearerTokenPolicy(cred, []string{resource + "/.default"}, nil)},
	}, &opts)
	return &restClient{pl: pl, base: base}
}

func (c *restClient) do(t *testing.T, method, path string, body any) (int, map[string]any, http.Header) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := runtime.NewRequest(ctx, method, c.base+path)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		if err := runtime.MarshalAsJSON(req, body); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := c.pl.Do(req)
	if err != nil {
		var re *azcore.ResponseError
		if errors.As(err, &re) && re.RawResponse != nil {
			resp = re.RawResponse
		} else {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(bytes.TrimSpace(b)) > 0 {
		_ = json.Unmarshal(b, &m)
	}
	return resp.StatusCode, m, resp.Header
}

func errCode(m map[string]any) string {
	if e, ok := m["error"].(map[string]any); ok {
		c, _ := e["code"].(string)
		return c
	}
	return ""
}

func mustStatus(t *testing.T, what string, got, want int, body map[string]any) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: status %d, want %d; body %v", what, got, want, body)
	}
}
