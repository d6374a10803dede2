package token

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

func TestIssueRequiresIssuer(t *testing.T) {
	s := &logical.InmemStorage{}
	p := New(newClock().Now)
	_, err := p.Issue(context.Background(), s, request(newClock()))
	if !errors.Is(err, providers.ErrNotConfigured) {
		t.Fatalf("Issue without issuer = %v, want ErrNotConfigured", err)
	}
	if !strings.Contains(err.Error(), "config/token issuer=") {
		t.Errorf("error %q does not tell the operator to write config/token issuer=...", err)
	}
	if e, _ := s.Get(context.Background(), RingPath); e != nil {
		t.Error("Issue without issuer created a key ring")
	}
}

func TestIssueClaimsAndHeader(t *testing.T) {
	p, s, clock := setup(t, AlgES256)
	req := request(clock)
	req.Now = t0.Add(500 * time.Millisecond) // sub-second: exp is whole seconds
	req.Destinations = []string{"https://api.example.com/billing/invoices"}
	tok, got := issue(t, p, s, req)

	header, payload := parts(t, tok)
	kid, _ := header["kid"].(string)
	if header["alg"] != "ES256" || header["typ"] != "JWT" || kid == "" {
		t.Errorf("header = %v, want alg ES256, typ JWT and a kid", header)
	}
	ring := loadRingForTest(t, p, s)
	if kid != ring.Current {
		t.Errorf("kid %q is not the current key %q", kid, ring.Current)
	}

	wantPayload := map[string]any{
		"iss": testIssuer,
		"sub": "entity-1234",
		"aud": []any{"https://api.example.com/billing/invoices"}, // an array even with one entry
		"iat": float64(t0.Unix()),
		"nbf": float64(t0.Unix()),
		"exp": float64(t0.Add(15 * time.Minute).Unix()),
		"jti": req.CredentialID,
		"nhi": map[string]any{
			"task":         "nightly-invoice-export",
			"actions":      []any{"read", "list"},
			"sensitivity":  "confidential",
			"role":         "billing-reader",
			"destinations": []any{"https://api.example.com/billing/invoices"},
		},
	}
	if !reflect.DeepEqual(payload, wantPayload) {
		t.Errorf("payload =\n%v\nwant\n%v", payload, wantPayload)
	}

	if got.Public["token_type"] != "Bearer" || got.Public["key_id"] != kid {
		t.Errorf("Public = %v", got.Public)
	}
	if !reflect.DeepEqual(got.Ref, map[string]string{"jti": req.CredentialID, "kid": kid}) {
		t.Errorf("Ref = %v", got.Ref)
	}
	if !got.ExpiresAt.Equal(t0.Add(15 * time.Minute)) {
		t.Errorf("ExpiresAt = %s, want %s", got.ExpiresAt, t0.Add(15*time.Minute))
	}
	if len(got.Secret) != 1 {
		t.Errorf("Secret = %v, want only token", got.Secret)
	}
}

func TestIssueEmptyListsAreArrays(t *testing.T) {
	p, s, clock := setup(t, AlgES256)
	req := request(clock)
	req.Destinations, req.Actions = nil, nil
	tok, _ := issue(t, p, s, req)
	_, payload := parts(t, tok)
	if !reflect.DeepEqual(payload["aud"], []any{}) {
		t.Errorf("aud = %#v, want []", payload["aud"])
	}
	nhi := payload["nhi"].(map[string]any)
	if !reflect.DeepEqual(nhi["actions"], []any{}) || !reflect.DeepEqual(nhi["destinations"], []any{}) {
		t.Errorf("nhi = %#v, want empty arrays", nhi)
	}
}

func TestIssueRejectsBadRequests(t *testing.T) {
	p, s, clock := setup(t, AlgES256)
	tests := []struct {
		name  string
		mod   func(*providers.IssueRequest)
		field string
	}{
		{"zero ttl", func(r *providers.IssueRequest) { r.TTL = 0 }, "ttl"},
		{"sub-second ttl", func(r *providers.IssueRequest) { r.TTL = 300 * time.Millisecond }, "ttl"},
		{"no credential id", func(r *providers.IssueRequest) { r.CredentialID = "" }, "credential_id"},
		{"no subject", func(r *providers.IssueRequest) { r.Subject = "" }, "subject"},
		{"s3 destination", func(r *providers.IssueRequest) { r.Destinations = []string{"s3://b/k"} }, "destinations"},
		{"wrong credential type", func(r *providers.IssueRequest) { r.Role.CredentialType = "iam_user" }, "credential_type"},
		{"bad pop key", func(r *providers.IssueRequest) { r.PublicKeyJWK = []byte(`{"kty":"oct","k":"AAAA"}`) }, "public_key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := request(clock)
			tc.mod(&req)
			got, err := p.Issue(context.Background(), s, req)
			var fe *providers.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("Issue = %v, %v; want FieldError %q", got, err, tc.field)
			}
		})
	}
}

func TestIssueCancelledContext(t *testing.T) {
	p, s, clock := setup(t, AlgES256)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got, err := p.Issue(ctx, s, request(clock)); err == nil || got != nil {
		t.Fatalf("Issue(cancelled) = %v, %v; want nil, error", got, err)
	}
	if s.count(RingPath) != 0 {
		t.Error("Issue(cancelled) wrote the key ring")
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) {
			p, s, clock := setup(t, alg)
			req := request(clock)
			tok, got := issue(t, p, s, req)
			header, _ := parts(t, tok)
			if header["alg"] != alg {
				t.Fatalf("header alg = %v, want %s", header["alg"], alg)
			}
			clock.Advance(time.Minute)
			c, err := p.Verify(context.Background(), s, tok)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.ID != req.CredentialID || c.Subject != req.Subject || c.Issuer != testIssuer ||
				c.NHI.Task != req.Task || c.NHI.Sensitivity != req.Sensitivity || c.NHI.Role != req.Role.Name ||
				!reflect.DeepEqual(c.NHI.Actions, req.Actions) || c.Expiry != got.ExpiresAt.Unix() {
				t.Errorf("claims = %+v", c)
			}
			if c.Confirmation != nil {
				t.Errorf("cnf = %+v without a proof-of-possession key", c.Confirmation)
			}
			// A fresh provider (another node, empty caches) verifies it too.
			other := New(clock.Now)
			if _, err := other.Verify(context.Background(), s, tok); err != nil {
				t.Errorf("Verify on a fresh provider: %v", err)
			}
		})
	}
}

func TestRevokeIsNoOp(t *testing.T) {
	p, s, clock := setup(t, AlgES256)
	_, got := issue(t, p, s, request(clock))
	for i := 0; i < 2; i++ {
		if err := p.Revoke(context.Background(), s, providers.RevokeRequest{Ref: got.Ref}); err != nil {
			t.Fatalf("Revoke = %v", err)
		}
	}
	if err := p.Revoke(context.Background(), s, providers.RevokeRequest{}); err != nil {
		t.Fatalf("Revoke(empty) = %v", err)
	}
}

func TestName(t *testing.T) {
	if New(nil).Name() != "token" || Name != "token" {
		t.Fatal("Name must be token")
	}
}
