package azure

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

func testCAPEM(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sim"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestConfigValidate(t *testing.T) {
	if err := testConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	ca := testCAPEM(t)
	ok := testConfig()
	ok.AuthorityHost, ok.GraphEndpoint, ok.ResourceManagerEndpoint, ok.CACert = "https://127.0.0.1:8443/", "https://127.0.0.1:8443", "https://localhost:9443", ca
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	fed := testConfig()
	fed.ClientSecret, fed.Federated = "", true
	if err := fed.Validate(); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		mut   func(c *Config)
		field string
	}{
		"no tenant":        {func(c *Config) { c.TenantID = "" }, "tenant_id"},
		"bad tenant":       {func(c *Config) { c.TenantID = "not a tenant" }, "tenant_id"},
		"bad subscription": {func(c *Config) { c.SubscriptionID = "sub" }, "subscription_id"},
		"bad client":       {func(c *Config) { c.ClientID = "x" }, "client_id"},
		"no secret":        {func(c *Config) { c.ClientSecret = "" }, "client_secret"},
		"both":             {func(c *Config) { c.Federated = true }, "client_secret"},
		"short secret":     {func(c *Config) { c.ClientSecret = "abc" }, "client_secret"},
		"http authority":   {func(c *Config) { c.AuthorityHost = "http://localhost:8080" }, "authority_host"},
		"graph path":       {func(c *Config) { c.GraphEndpoint = "https://graph.example/v1.0" }, "graph_endpoint"},
		"arm query":        {func(c *Config) { c.ResourceManagerEndpoint = "https://arm.example/?x=1" }, "resource_manager_endpoint"},
		"user info":        {func(c *Config) { c.GraphEndpoint = "https://u:p@graph.example" }, "graph_endpoint"},
		"bad ca":           {func(c *Config) { c.CACert = "not pem" }, "ca_cert"},
		"key in ca":        {func(c *Config) { c.CACert = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" }, "ca_cert"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig()
			c.mut(&cfg)
			err := cfg.Validate()
			var fe *providers.FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("err = %v, want FieldError on %s", err, c.field)
			}
			if strings.Contains(err.Error(), fakeRootSecret) {
				t.Fatal("error quotes the secret")
			}
		})
	}
}

func TestConfigEndpoints(t *testing.T) {
	c := testConfig()
	if c.Authority() != DefaultAuthorityHost || c.Graph() != DefaultGraphEndpoint {
		t.Fatal(c.Authority(), c.Graph())
	}
	if ep, aud := c.ResourceManager(); ep != DefaultResourceManagerEndpoint || aud != DefaultResourceManagerAudience {
		t.Fatal(ep, aud)
	}
	c.AuthorityHost, c.GraphEndpoint, c.ResourceManagerEndpoint = "https://sim:1", "https://sim:2/", "https://sim:3/"
	if c.Authority() != "https://sim:1/" || c.Graph() != "https://sim:2" {
		t.Fatal(c.Authority(), c.Graph())
	}
	if ep, aud := c.ResourceManager(); ep != "https://sim:3" || aud != DefaultResourceManagerAudience {
		t.Fatal(ep, aud)
	}
	if c.GraphScope() != "https://graph.microsoft.com/.default" {
		t.Fatal(c.GraphScope())
	}
	c.GraphEndpoint, c.ResourceManagerEndpoint = "https://graph.microsoft.us", "https://management.usgovcloudapi.net"
	if _, aud := c.ResourceManager(); aud != "https://management.core.usgovcloudapi.net/" || c.GraphScope() != "https://graph.microsoft.us/.default" {
		t.Fatal(aud, c.GraphScope())
	}
}

func TestConfigStorage(t *testing.T) {
	ctx := context.Background()
	s := &logical.InmemStorage{}
	if _, found, err := LoadConfig(ctx, s); err != nil || found {
		t.Fatal(found, err)
	}
	if err := SaveConfig(ctx, s, Config{}); err == nil {
		t.Fatal("saved an invalid config")
	}
	if err := SaveConfig(ctx, s, testConfig()); err != nil {
		t.Fatal(err)
	}
	got, found, err := LoadConfig(ctx, s)
	if err != nil || !found || got.ClientSecret != fakeRootSecret {
		t.Fatal(got, found, err)
	}
	if err := DeleteConfig(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := LoadConfig(ctx, s); found {
		t.Fatal("config survived delete")
	}
}

func TestDefaultClientsBuild(t *testing.T) {
	cfg := testConfig()
	cfg.CACert = testCAPEM(t)
	cfg.AuthorityHost = "https://127.0.0.1:1/"
	cl, err := DefaultClients(context.Background(), cfg)
	if err != nil || cl.Graph == nil || cl.Authz == nil || cl.Tokens == nil {
		t.Fatal(cl, err)
	}
	cfg.Federated, cfg.ClientSecret = true, ""
	if _, err := DefaultClients(context.Background(), cfg); err == nil {
		t.Fatal("federated without an assertion source built")
	}
	cfg.ClientAssertion = func(context.Context) (string, error) { return "a.b.c", nil }
	if _, err := DefaultClients(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
}
