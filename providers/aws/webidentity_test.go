package aws_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers/aws"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/tests/awssim"
)

// testSigner stands in for the token provider's SignWebIdentity.
type testSigner struct {
	issuer string
	signer jose.Signer
	mu     sync.Mutex
	calls  int
	aud    string
}

func (s *testSigner) SignWebIdentity(ctx context.Context, _ logical.Storage, audience string, ttl time.Duration) (string, error) {
	s.mu.Lock()
	s.calls++
	s.aud = audience
	s.mu.Unlock()
	now := time.Now()
	return jwt.Signed(s.signer).Claims(jwt.Claims{Issuer: s.issuer, Subject: "vault-nhi-engine", Audience: jwt.Audience{audience},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(ttl))}).Serialize()
}

func TestSimWebIdentityRoot(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sg, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	}))
	t.Cleanup(jwks.Close)
	issuer := "https://vault.example:8200/v1/nhi"
	e := newSimEnv(t, awssim.Options{OIDCProviders: []awssim.OIDCProvider{{IssuerURL: issuer, Audiences: []string{"sts.amazonaws.com"}, JWKSURL: jwks.URL}}})
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/vault.example:8200/v1/nhi"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"vault.example:8200/v1/nhi:aud":"sts.amazonaws.com"}}}]}`
	rootRole, err := e.sim.CreateRole("engine-root", trust, map[string]string{"all": simAllowAll}, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cfg, _, _ := aws.LoadConfig(ctx, e.s)
	cfg.AccessKey, cfg.SecretKey, cfg.WebIdentityRoleARN = "", "", rootRole
	if err := aws.SaveConfig(ctx, e.s, cfg); err != nil {
		t.Fatal(err)
	}
	// Without a signer, web identity is "not configured".
	if _, err := e.p.Issue(ctx, e.s, e.request("c-nosigner")); err == nil {
		t.Fatal("issued without a web identity signer")
	}
	signer := &testSigner{issuer: issuer, signer: sg}
	p := aws.New(time.Now, aws.DefaultClients, aws.WithWebIdentitySigner(signer))
	for i := 0; i < 3; i++ {
		got, err := p.Issue(ctx, e.s, e.request("c-webid"))
		if err != nil {
			t.Fatal(err)
		}
		expect(t, "get with a session issued via web identity", e.clientFor(got, "10.0.0.5").get("a", "b/seed.txt"), false)
	}
	if signer.calls != 1 || signer.aud != aws.DefaultWebIdentityAudience {
		t.Errorf("signer calls = %d (the root session should be cached), audience %q", signer.calls, signer.aud)
	}
	if _, err := p.RotateRoot(ctx, e.s); err == nil {
		t.Error("rotate-root with web identity succeeded")
	}
}
