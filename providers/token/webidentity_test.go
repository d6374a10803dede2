package token

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

func TestSignWebIdentityVerifiesAgainstJWKS(t *testing.T) {
	p, s, _ := setup(t, AlgES256)
	ctx := context.Background()
	tok, err := p.SignWebIdentity(ctx, s, "sts.amazonaws.com", 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	header, claims := parts(t, tok)
	if claims["iss"] != testIssuer || claims["sub"] != EngineSubject || claims["aud"] != "sts.amazonaws.com" {
		t.Errorf("claims = %v", claims)
	}
	if exp, iat := claims["exp"].(float64), claims["iat"].(float64); exp-iat != 300 {
		t.Errorf("lifetime = %v s, want 300", exp-iat)
	}
	if _, ok := claims["nhi"]; ok {
		t.Error("engine token carries an intent claim")
	}
	raw, err := p.JWKS(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatal(err)
	}
	keys := set.Key(header["kid"].(string))
	if len(keys) != 1 {
		t.Fatalf("kid %v not in JWKS", header["kid"])
	}
	sig, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sig.Verify(keys[0]); err != nil {
		t.Errorf("signature: %v", err)
	}
	other, _ := p.SignWebIdentity(ctx, s, "sts.amazonaws.com", 5*time.Minute)
	if _, c2 := parts(t, other); c2["jti"] == claims["jti"] {
		t.Error("two engine tokens share a jti")
	}
}

func TestSignWebIdentityNeedsIssuerAudienceAndTTL(t *testing.T) {
	p, s, _ := setup(t, AlgES256, func(c *Config) { c.Issuer = "" })
	if _, err := p.SignWebIdentity(context.Background(), s, "sts.amazonaws.com", time.Minute); err == nil {
		t.Error("signed without an issuer")
	}
	p2, s2, _ := setup(t, AlgES256)
	if _, err := p2.SignWebIdentity(context.Background(), s2, "", time.Minute); err == nil {
		t.Error("signed without an audience")
	}
	if _, err := p2.SignWebIdentity(context.Background(), s2, "a", 0); err == nil {
		t.Error("signed with a zero ttl")
	}
}
