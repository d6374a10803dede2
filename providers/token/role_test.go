package token

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

func TestValidateRole(t *testing.T) {
	with := func(mod func(r *providers.RoleInfo)) providers.RoleInfo {
		r := sampleRole()
		mod(&r)
		return r
	}
	setting := func(k string, v any) providers.RoleInfo {
		return with(func(r *providers.RoleInfo) { r.Settings = map[string]any{k: v} })
	}
	manyClaims := map[string]any{}
	for i := 0; i < MaxExtraClaims; i++ {
		manyClaims[fmt.Sprintf("c%02d", i)] = "v"
	}
	tooMany := map[string]any{"one-more": "v"}
	for k, v := range manyClaims {
		tooMany[k] = v
	}
	tests := []struct {
		name      string
		role      providers.RoleInfo
		wantField string
	}{
		{"sample", sampleRole(), ""},
		{"nil settings", with(func(r *providers.RoleInfo) { r.Settings = nil }), ""},
		{"empty credential type", with(func(r *providers.RoleInfo) { r.CredentialType = "" }), ""},
		{"unknown credential type", with(func(r *providers.RoleInfo) { r.CredentialType = "assumed_role" }), "credential_type"},
		{"credential type in settings", setting("credential_type", "jwt"), ""},
		{"bad credential type in settings", setting("credential_type", "iam_user"), "credential_type"},
		{"non-string credential type in settings", setting("credential_type", 3), "credential_type"},

		{"http destination", with(func(r *providers.RoleInfo) { r.Destinations = []string{"http://internal.example/x/*"} }), ""},
		{"svc destination", with(func(r *providers.RoleInfo) { r.Destinations = []string{"svc://billing/*"} }), ""},
		{"wildcard host", with(func(r *providers.RoleInfo) { r.Destinations = []string{"https://*.example.com/*"} }), ""},
		{"s3 destination", with(func(r *providers.RoleInfo) { r.Destinations = []string{"s3://bucket/prefix/*"} }), "grants"},
		{"arn destination", with(func(r *providers.RoleInfo) { r.Destinations = []string{"arn:aws:s3:::bucket/*"} }), "grants"},
		{"azure destination", with(func(r *providers.RoleInfo) { r.Destinations = []string{"azure://acct/container/*"} }), "grants"},
		{"upper-case scheme", with(func(r *providers.RoleInfo) { r.Destinations = []string{"HTTPS://api.example.com/*"} }), "grants"},
		{"no host", with(func(r *providers.RoleInfo) { r.Destinations = []string{"https:///x"} }), "grants"},
		{"userinfo", with(func(r *providers.RoleInfo) { r.Destinations = []string{"https://u@api.example.com/x"} }), "grants"},
		{"space", with(func(r *providers.RoleInfo) { r.Destinations = []string{"https://api.example.com/a b"} }), "grants"},

		{"all verbs", with(func(r *providers.RoleInfo) { r.Actions = []string{"read", "write", "list", "delete"} }), ""},
		{"svc action", with(func(r *providers.RoleInfo) { r.Actions = []string{"svc:Refund", "svc:invoice.export", "svc:*"} }), ""},
		{"s3 action", with(func(r *providers.RoleInfo) { r.Actions = []string{"s3:GetObject"} }), "grants"},
		{"azure action", with(func(r *providers.RoleInfo) {
			r.Actions = []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"}
		}), "grants"},
		{"empty svc action", with(func(r *providers.RoleInfo) { r.Actions = []string{"svc:"} }), "grants"},
		{"svc action with space", with(func(r *providers.RoleInfo) { r.Actions = []string{"svc:Re fund"} }), "grants"},
		{"unknown verb", with(func(r *providers.RoleInfo) { r.Actions = []string{"admin"} }), "grants"},
		{"upper-case verb", with(func(r *providers.RoleInfo) { r.Actions = []string{"READ"} }), "grants"},

		{"audience destinations", setting("audience_mode", "destinations"), ""},
		{"audience hosts", setting("audience_mode", "hosts"), ""},
		{"audience empty", setting("audience_mode", ""), ""},
		{"audience unknown", setting("audience_mode", "host"), "audience_mode"},
		{"audience non-string", setting("audience_mode", []any{"hosts"}), "audience_mode"},

		{"extra map[string]string", setting("extra_claims", map[string]string{"team": "payments"}), ""},
		{"extra map[string]any", setting("extra_claims", map[string]any{"team": "payments", "env": "prod"}), ""},
		{"extra JSON string", setting("extra_claims", `{"team":"payments"}`), ""},
		{"extra empty string", setting("extra_claims", ""), ""},
		{"extra kv list", setting("extra_claims", []any{"team=payments", "env=prod"}), ""},
		{"extra kv []string", setting("extra_claims", []string{"team=payments"}), ""},
		{"extra 20 entries", setting("extra_claims", manyClaims), ""},
		{"extra 21 entries", setting("extra_claims", tooMany), "extra_claims"},
		{"extra non-string value", setting("extra_claims", map[string]any{"n": 3.0}), "extra_claims"},
		{"extra nested value", setting("extra_claims", map[string]any{"n": map[string]any{"a": "b"}}), "extra_claims"},
		{"extra bad JSON", setting("extra_claims", `{"team":`), "extra_claims"},
		{"extra JSON array", setting("extra_claims", `["a"]`), "extra_claims"},
		{"extra kv without =", setting("extra_claims", []any{"team"}), "extra_claims"},
		{"extra kv duplicate", setting("extra_claims", []any{"a=1", "a=2"}), "extra_claims"},
		{"extra wrong type", setting("extra_claims", 42), "extra_claims"},
		{"extra empty name", setting("extra_claims", map[string]any{"": "x"}), "extra_claims"},
		{"extra long value", setting("extra_claims", map[string]any{"a": string(make([]byte, 2000))}), "extra_claims"},
	}
	for _, reserved := range []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "nhi", "cnf", "ISS", "Aud", "ſub"} {
		tests = append(tests, struct {
			name      string
			role      providers.RoleInfo
			wantField string
		}{"extra reserved " + reserved, setting("extra_claims", map[string]any{reserved: "x"}), "extra_claims"})
	}

	p := New(nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := p.ValidateRole(tc.role)
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("ValidateRole() = %v, want nil", err)
				}
				return
			}
			var fe *providers.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("ValidateRole() = %v (%T), want *providers.FieldError", err, err)
			}
			if fe.Field != tc.wantField {
				t.Errorf("Field = %q, want %q (%v)", fe.Field, tc.wantField, err)
			}
		})
	}
}

func TestAudienceModes(t *testing.T) {
	p, s, clock := setup(t, AlgES256)
	dests := []string{
		"https://api.example.com/billing/invoices",
		"https://API.example.com/billing/credits",
		"https://api.example.com:8443/x",
		"svc://ledger/entries",
		"svc://ledger/balances",
	}
	tests := []struct {
		mode any
		want []string
	}{
		{nil, dests},
		{"destinations", dests},
		{"hosts", []string{"https://api.example.com", "https://api.example.com:8443", "svc://ledger"}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.mode), func(t *testing.T) {
			req := request(clock)
			req.Destinations = dests
			if tc.mode != nil {
				req.Role.Settings = map[string]any{"audience_mode": tc.mode}
			}
			tok, _ := issue(t, p, s, req)
			c, err := p.Verify(context.Background(), s, tok)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Audience, tc.want) {
				t.Errorf("aud = %q, want %q", c.Audience, tc.want)
			}
			if !reflect.DeepEqual(c.NHI.Destinations, dests) {
				t.Errorf("nhi.destinations = %q, want the request's %q", c.NHI.Destinations, dests)
			}
		})
	}
}

func TestExtraClaimsInToken(t *testing.T) {
	p, s, clock := setup(t, AlgES256)
	req := request(clock)
	req.Role.Settings = map[string]any{"extra_claims": map[string]any{"team": "payments", "env": "prod"}}
	tok, _ := issue(t, p, s, req)

	_, payload := parts(t, tok)
	if payload["team"] != "payments" || payload["env"] != "prod" {
		t.Errorf("payload lacks extra claims: %v", payload)
	}
	c, err := p.Verify(context.Background(), s, tok)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"team": "payments", "env": "prod"}
	if !reflect.DeepEqual(c.Extra, want) {
		t.Errorf("Claims.Extra = %v, want %v", c.Extra, want)
	}

	// An invalid role setting at issue time is refused, not silently dropped.
	req = request(clock)
	req.Role.Settings = map[string]any{"extra_claims": map[string]any{"sub": "admin"}}
	var fe *providers.FieldError
	if _, err := p.Issue(context.Background(), s, req); !errors.As(err, &fe) || fe.Field != "extra_claims" {
		t.Fatalf("Issue(reserved extra claim) = %v, want extra_claims FieldError", err)
	}
}

func TestClaimsJSONExactNames(t *testing.T) {
	// A member differing from a registered claim only by case must not overwrite it.
	var c Claims
	if err := c.UnmarshalJSON([]byte(`{"iss":"a","ISS":"b","ſub":"x","sub":"s","exp":5,"jti":"j"}`)); err != nil {
		t.Fatal(err)
	}
	if c.Issuer != "a" || c.Subject != "s" {
		t.Fatalf("iss=%q sub=%q; case-folded members overwrote registered claims", c.Issuer, c.Subject)
	}
	if c.Extra["ISS"] != "b" || c.Extra["ſub"] != "x" {
		t.Fatalf("Extra = %v", c.Extra)
	}
	if _, err := (Claims{Extra: map[string]any{"Exp": "1"}}).MarshalJSON(); err == nil {
		t.Fatal("MarshalJSON accepted an extra claim colliding with exp")
	}
}
