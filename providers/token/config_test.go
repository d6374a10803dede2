package token

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

func TestConfigValidate(t *testing.T) {
	ok := func(mod func(*Config)) Config {
		c := DefaultConfig()
		c.Issuer = testIssuer
		mod(&c)
		return c
	}
	tests := []struct {
		name      string
		cfg       Config
		wantField string // "" = valid
	}{
		{"defaults without issuer", DefaultConfig(), ""},
		{"https issuer", ok(func(c *Config) {}), ""},
		{"https issuer with port", ok(func(c *Config) { c.Issuer = "https://vault.example.com:8200/v1/nhi" }), ""},
		{"http on localhost", ok(func(c *Config) { c.Issuer = "http://127.0.0.1:8200/v1/nhi" }), ""},
		{"http on localhost name", ok(func(c *Config) { c.Issuer = "http://localhost:8200/v1/nhi" }), ""},
		{"http on ipv6 loopback", ok(func(c *Config) { c.Issuer = "http://[::1]:8200/v1/nhi" }), ""},
		{"http elsewhere", ok(func(c *Config) { c.Issuer = "http://vault.example.com/v1/nhi" }), "issuer"},
		{"other scheme", ok(func(c *Config) { c.Issuer = "ftp://vault.example.com/v1/nhi" }), "issuer"},
		{"relative", ok(func(c *Config) { c.Issuer = "/v1/nhi" }), "issuer"},
		{"no host", ok(func(c *Config) { c.Issuer = "https:///v1/nhi" }), "issuer"},
		{"trailing slash", ok(func(c *Config) { c.Issuer = "https://vault.example.com/v1/nhi/" }), "issuer"},
		{"query", ok(func(c *Config) { c.Issuer = "https://vault.example.com/v1/nhi?x=1" }), "issuer"},
		{"empty query", ok(func(c *Config) { c.Issuer = "https://vault.example.com/v1/nhi?" }), "issuer"},
		{"fragment", ok(func(c *Config) { c.Issuer = "https://vault.example.com/v1/nhi#f" }), "issuer"},
		{"userinfo", ok(func(c *Config) { c.Issuer = "https://u:p@vault.example.com/v1/nhi" }), "issuer"},
		{"not a url", ok(func(c *Config) { c.Issuer = "https://exa mple.com\x7f" }), "issuer"},
		{"EdDSA", ok(func(c *Config) { c.Algorithm = AlgEdDSA }), ""},
		{"RS256", ok(func(c *Config) { c.Algorithm = AlgRS256 }), ""},
		{"lower-case alg", ok(func(c *Config) { c.Algorithm = "es256" }), "algorithm"},
		{"HS256", ok(func(c *Config) { c.Algorithm = "HS256" }), "algorithm"},
		{"none", ok(func(c *Config) { c.Algorithm = "none" }), "algorithm"},
		{"empty alg", ok(func(c *Config) { c.Algorithm = "" }), "algorithm"},
		{"rotation 1m", ok(func(c *Config) { c.RotationPeriod = time.Minute }), ""},
		{"rotation 59s", ok(func(c *Config) { c.RotationPeriod = 59 * time.Second }), "rotation_period"},
		{"rotation zero", ok(func(c *Config) { c.RotationPeriod = 0 }), "rotation_period"},
		{"overlap zero", ok(func(c *Config) { c.VerificationOverlap = 0 }), ""},
		{"overlap negative", ok(func(c *Config) { c.VerificationOverlap = -time.Second }), "verification_overlap"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var fe *providers.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate() = %v (%T), want *providers.FieldError", err, err)
			}
			if fe.Field != tc.wantField {
				t.Errorf("Field = %q, want %q (%v)", fe.Field, tc.wantField, err)
			}
		})
	}
}

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	if c.Algorithm != "ES256" || c.RotationPeriod != 24*time.Hour || c.VerificationOverlap != time.Hour || c.Issuer != "" {
		t.Fatalf("DefaultConfig() = %+v", c)
	}
}

func TestLoadSaveConfig(t *testing.T) {
	ctx := context.Background()
	s := &logical.InmemStorage{}

	got, err := LoadConfig(ctx, s)
	if err != nil || got != DefaultConfig() {
		t.Fatalf("LoadConfig(empty) = %+v, %v; want defaults", got, err)
	}

	bad := DefaultConfig()
	bad.Algorithm = "HS256"
	var fe *providers.FieldError
	if err := SaveConfig(ctx, s, bad); !errors.As(err, &fe) || fe.Field != "algorithm" {
		t.Fatalf("SaveConfig(invalid) = %v, want algorithm FieldError", err)
	}
	if e, _ := s.Get(ctx, ConfigPath); e != nil {
		t.Fatal("SaveConfig stored an invalid config")
	}

	want := Config{Issuer: testIssuer, Algorithm: AlgEdDSA, RotationPeriod: 2 * time.Hour, VerificationOverlap: 0}
	if err := SaveConfig(ctx, s, want); err != nil {
		t.Fatal(err)
	}
	got, err = LoadConfig(ctx, s)
	if err != nil || got != want {
		t.Fatalf("LoadConfig = %+v, %v; want %+v (an explicit zero overlap must survive)", got, err, want)
	}

	// A stored config missing members (written by an older version) keeps the defaults.
	if err := s.Put(ctx, &logical.StorageEntry{Key: ConfigPath, Value: []byte(`{"issuer":"` + testIssuer + `"}`)}); err != nil {
		t.Fatal(err)
	}
	got, err = LoadConfig(ctx, s)
	wantPartial := DefaultConfig()
	wantPartial.Issuer = testIssuer
	if err != nil || got != wantPartial {
		t.Fatalf("LoadConfig(partial) = %+v, %v; want %+v", got, err, wantPartial)
	}
}
