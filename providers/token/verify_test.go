package token

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// signWith signs payload with key under alg, adding the given protected headers.
func signWith(t *testing.T, alg jose.SignatureAlgorithm, key any, payload []byte, headers map[jose.HeaderKey]any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	for k, v := range headers {
		opts.WithHeader(k, v)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatalf("NewSigner(%s): %v", alg, err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVerifyRejects(t *testing.T) {
	ctx := context.Background()
	p, s, clock := setup(t, AlgES256)
	tok, _ := issue(t, p, s, request(clock))
	seg := segments(tok)
	header, payload := parts(t, tok)
	kid := header["kid"].(string)
	rawPayload := []byte(b64Decode(t, seg[1]))

	ring := loadRingForTest(t, p, s)
	pk, err := p.parsed(ring.current())
	if err != nil {
		t.Fatal(err)
	}
	pubJSON, err := pk.public.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pk.public.Key)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	var ringPriv jose.JSONWebKey
	if err := ringPriv.UnmarshalJSON(ring.current().PrivateJWK); err != nil {
		t.Fatal(err)
	}

	// A token from another engine with its own ring, same issuer.
	p2, s2, clock2 := setup(t, AlgES256)
	foreign, _ := issue(t, p2, s2, request(clock2))

	// A key that is not in the ring, claiming the ring's kid.
	stranger, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	tampered := payload
	tampered["sub"] = "someone-else"

	tests := map[string]string{
		"empty":                  "",
		"garbage":                "not-a-token",
		"two segments":           seg[0] + "." + seg[1],
		"four segments":          tok + ".x",
		"newline inserted":       seg[0] + "." + seg[1][:10] + "\n" + seg[1][10:] + "." + seg[2],
		"too long":               tok + strings.Repeat("A", maxTokenBytes),
		"signed by another ring": foreign,
		"unknown key with ring kid": signWith(t, jose.ES256, stranger, rawPayload,
			map[jose.HeaderKey]any{"kid": kid, "typ": "JWT"}),
		"tampered payload":  seg[0] + "." + b64(tampered) + "." + seg[2],
		"tampered header":   b64(map[string]any{"alg": "ES256", "kid": kid, "typ": "JWT", "x": 1}) + "." + seg[1] + "." + seg[2],
		"signature removed": seg[0] + "." + seg[1] + ".",
		"alg none":          b64(map[string]any{"alg": "none", "kid": kid, "typ": "JWT"}) + "." + seg[1] + ".",
		"alg None":          b64(map[string]any{"alg": "None", "kid": kid, "typ": "JWT"}) + "." + seg[1] + ".",
		"HS256 with public JWK as secret": signWith(t, jose.HS256, pubJSON, rawPayload,
			map[jose.HeaderKey]any{"kid": kid, "typ": "JWT"}),
		"HS256 with public PEM as secret": signWith(t, jose.HS256, pubPEM, rawPayload,
			map[jose.HeaderKey]any{"kid": kid, "typ": "JWT"}),
		"alg RS256 on an ES256 key": b64(map[string]any{"alg": "RS256", "kid": kid, "typ": "JWT"}) + "." + seg[1] + "." + seg[2],
		"alg EdDSA on an ES256 key": b64(map[string]any{"alg": "EdDSA", "kid": kid, "typ": "JWT"}) + "." + seg[1] + "." + seg[2],
		"no kid": signWith(t, jose.ES256, ringPriv.Key, rawPayload,
			map[jose.HeaderKey]any{"typ": "JWT"}),
		"typ not JWT": signWith(t, jose.ES256, ringPriv.Key, rawPayload,
			map[jose.HeaderKey]any{"kid": kid, "typ": "at+jwt"}),
		"no typ": signWith(t, jose.ES256, ringPriv.Key, rawPayload,
			map[jose.HeaderKey]any{"kid": kid}),
		"no exp": signWith(t, jose.ES256, ringPriv.Key, []byte(`{"iss":"`+testIssuer+`","jti":"x","sub":"s"}`),
			map[jose.HeaderKey]any{"kid": kid, "typ": "JWT"}),
		"claims not an object": signWith(t, jose.ES256, ringPriv.Key, []byte(`[1,2]`),
			map[jose.HeaderKey]any{"kid": kid, "typ": "JWT"}),
		"exp not a number": signWith(t, jose.ES256, ringPriv.Key,
			[]byte(`{"iss":"`+testIssuer+`","jti":"x","exp":"soon"}`), map[jose.HeaderKey]any{"kid": kid, "typ": "JWT"}),
	}
	for name, bad := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := p.Verify(ctx, s, bad)
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Verify = %v, want ErrInvalidToken", err)
			}
			if c != nil {
				t.Errorf("Verify returned claims with ErrInvalidToken: %+v", c)
			}
		})
	}

	// The untouched token still verifies: the failures above are the tampering.
	if _, err := p.Verify(ctx, s, tok); err != nil {
		t.Fatalf("Verify(original) = %v", err)
	}
}

func b64Decode(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestVerifyTime(t *testing.T) {
	ctx := context.Background()
	p, s, clock := setup(t, AlgES256)
	req := request(clock)
	req.TTL = 10 * time.Minute
	tok, _ := issue(t, p, s, req)

	clock.Advance(10*time.Minute - time.Second)
	if _, err := p.Verify(ctx, s, tok); err != nil {
		t.Fatalf("Verify 1s before exp = %v", err)
	}
	clock.Advance(time.Second) // now == exp
	c, err := p.Verify(ctx, s, tok)
	if err != ErrExpired { //nolint:errorlint // the sentinel itself is documented
		t.Fatalf("Verify at exp = %v, want ErrExpired", err)
	}
	if c == nil || c.ID != req.CredentialID {
		t.Fatalf("ErrExpired must come with the parsed claims, got %+v", c)
	}

	// Issued for a time ahead of this node's clock.
	early := request(clock)
	early.Now = clock.Now().Add(10 * time.Minute)
	tok, _ = issue(t, p, s, early)
	c, err = p.Verify(ctx, s, tok)
	if !errors.Is(err, ErrNotYetValid) {
		t.Fatalf("Verify before nbf = %v, want ErrNotYetValid", err)
	}
	if c == nil || c.ID != early.CredentialID {
		t.Fatalf("ErrNotYetValid must come with the parsed claims, got %+v", c)
	}

	// Small clock differences between nodes are tolerated for nbf.
	skewed := request(clock)
	skewed.Now = clock.Now().Add(NotBeforeLeeway - time.Second)
	tok, _ = issue(t, p, s, skewed)
	if _, err := p.Verify(ctx, s, tok); err != nil {
		t.Fatalf("Verify within nbf leeway = %v", err)
	}
}

func TestVerifyIssuerMustMatch(t *testing.T) {
	ctx := context.Background()
	p, s, clock := setup(t, AlgES256)
	tok, _ := issue(t, p, s, request(clock))
	cfg, _ := LoadConfig(ctx, s)
	cfg.Issuer = "https://other.example.com/v1/nhi"
	if err := p.SaveConfig(ctx, s, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Verify(ctx, s, tok); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("Verify after issuer change = %v, want ErrInvalidToken", err)
	}
}
