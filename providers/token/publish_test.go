package token

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

func TestJWKSHasNoPrivateMembers(t *testing.T) {
	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) {
			p, s, clock := setup(t, alg)
			issue(t, p, s, request(clock))
			mustRotate(t, p, s, true, true) // a current and a retired key

			raw, err := p.JWKS(context.Background(), s)
			if err != nil {
				t.Fatal(err)
			}
			var set struct {
				Keys []map[string]any `json:"keys"`
			}
			if err := json.Unmarshal(raw, &set); err != nil {
				t.Fatal(err)
			}
			if len(set.Keys) != 2 {
				t.Fatalf("JWKS has %d keys, want 2", len(set.Keys))
			}
			for _, k := range set.Keys {
				for _, m := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
					if _, ok := k[m]; ok {
						t.Errorf("JWKS key %v has private member %q", k["kid"], m)
					}
				}
				if k["alg"] != alg || k["use"] != "sig" || k["kid"] == "" || k["kty"] == "" {
					t.Errorf("JWKS key lacks kid/alg/use/kty: %v", k)
				}
				// kid is the RFC 7638 thumbprint of the published key.
				one, _ := json.Marshal(k)
				if tp, err := Thumbprint(one); err != nil || tp != k["kid"] {
					t.Errorf("kid %v != thumbprint %q (%v)", k["kid"], tp, err)
				}
			}
		})
	}
}

func TestJWKSEmptyBeforeFirstKey(t *testing.T) {
	p, s, _ := setup(t, AlgES256)
	raw, err := p.JWKS(context.Background(), s)
	if err != nil || string(raw) != `{"keys":[]}` {
		t.Fatalf("JWKS = %s, %v; want {\"keys\":[]}", raw, err)
	}
	if s.count(RingPath) != 0 {
		t.Fatal("JWKS wrote the ring")
	}
}

func TestDiscovery(t *testing.T) {
	ctx := context.Background()
	p, s, clock := setup(t, AlgES256)
	issue(t, p, s, request(clock))

	raw, err := p.Discovery(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"issuer":                                testIssuer,
		"jwks_uri":                              testIssuer + "/jwks",
		"introspection_endpoint":                testIssuer + "/introspect",
		"id_token_signing_alg_values_supported": []any{"ES256"},
		"response_types_supported":              []any{"id_token"},
		"subject_types_supported":               []any{"public"},
		"claims_supported":                      []any{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "nhi", "cnf"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Discovery =\n%v\nwant\n%v", got, want)
	}

	// While an old key of another algorithm is still published, both are listed.
	cfg, _ := LoadConfig(ctx, s)
	cfg.Algorithm = AlgEdDSA
	if err := p.SaveConfig(ctx, s, cfg); err != nil {
		t.Fatal(err)
	}
	mustRotate(t, p, s, false, true)
	raw, _ = p.Discovery(ctx, s)
	got = nil
	_ = json.Unmarshal(raw, &got)
	if algs := got["id_token_signing_alg_values_supported"]; !reflect.DeepEqual(algs, []any{"EdDSA", "ES256"}) {
		t.Fatalf("algs = %v, want [EdDSA ES256]", algs)
	}
}

func TestDiscoveryNeedsIssuer(t *testing.T) {
	_, err := New(nil).Discovery(context.Background(), &logical.InmemStorage{})
	if !errors.Is(err, providers.ErrNotConfigured) {
		t.Fatalf("Discovery without issuer = %v, want ErrNotConfigured", err)
	}
}
