package azure

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

// Storage paths. config/azure holds the root client secret: the engine seal-wraps the
// "config/azure" prefix (it covers the rotation record too).
const (
	ConfigPath   = "config/azure"
	RotationPath = "config/azure/rotation"
)

// Defaults (Azure public cloud).
const (
	DefaultAuthorityHost           = "https://login.microsoftonline.com/"
	DefaultGraphEndpoint           = "https://graph.microsoft.com"
	DefaultResourceManagerEndpoint = "https://management.azure.com"
	// DefaultResourceManagerAudience is ARM's token audience in the public cloud; with a
	// resource_manager_endpoint override the endpoint itself is the audience.
	DefaultResourceManagerAudience = "https://management.core.windows.net/"
	// FederatedAudience is the audience Entra expects in a client assertion presented
	// for a federated identity credential.
	FederatedAudience = "api://AzureADTokenExchange"
)

// Config is the Azure provider's configuration, stored at config/azure.
type Config struct {
	TenantID       string `json:"tenant_id"`
	SubscriptionID string `json:"subscription_id"`
	ClientID       string `json:"client_id"`
	// ClientSecret is write-only: never returned, logged or put in errors.
	ClientSecret string `json:"client_secret,omitempty"`
	// ClientSecretKeyID is the Graph keyId of ClientSecret when the engine created it
	// (rotate-root); it lets the next rotation remove exactly that password.
	ClientSecretKeyID string `json:"client_secret_key_id,omitempty"`
	// Federated selects secretless access: the engine signs a client assertion with its
	// own issuer (config/token) for an application whose federated identity credential
	// trusts that issuer (subject "nhi-engine", audience api://AzureADTokenExchange).
	Federated bool `json:"federated,omitempty"`

	AuthorityHost           string `json:"authority_host,omitempty"`
	GraphEndpoint           string `json:"graph_endpoint,omitempty"`
	ResourceManagerEndpoint string `json:"resource_manager_endpoint,omitempty"`
	// CACert is a PEM bundle trusted in addition to the system roots (private or test
	// endpoints).
	CACert string `json:"ca_cert,omitempty"`

	// ClientAssertion returns a fresh client assertion in federated mode. The provider
	// sets it before building clients; it is never stored.
	ClientAssertion func(ctx context.Context) (string, error) `json:"-"`
}

// Configured reports whether the config holds root access of either kind.
func (c Config) Configured() bool {
	return c.TenantID != "" && c.SubscriptionID != "" && c.ClientID != "" && (c.ClientSecret != "" || c.Federated)
}

// Authority returns the authority host (with a trailing slash).
func (c Config) Authority() string {
	if c.AuthorityHost == "" {
		return DefaultAuthorityHost
	}
	return strings.TrimRight(c.AuthorityHost, "/") + "/"
}

// Graph returns the Microsoft Graph endpoint without a trailing slash.
func (c Config) Graph() string {
	if c.GraphEndpoint == "" {
		return DefaultGraphEndpoint
	}
	return strings.TrimRight(c.GraphEndpoint, "/")
}

// Token audiences of the national clouds' endpoints; any other endpoint (a private
// endpoint, a proxy, a simulator) is taken to front the public cloud's services and
// gets the public audience.
var (
	graphAudiences = map[string]string{
		"graph.microsoft.com":             "https://graph.microsoft.com",
		"graph.microsoft.us":              "https://graph.microsoft.us",
		"dod-graph.microsoft.us":          "https://dod-graph.microsoft.us",
		"microsoftgraph.chinacloudapi.cn": "https://microsoftgraph.chinacloudapi.cn",
	}
	armAudiences = map[string]string{
		"management.azure.com":         DefaultResourceManagerAudience,
		"management.usgovcloudapi.net": "https://management.core.usgovcloudapi.net/",
		"management.chinacloudapi.cn":  "https://management.core.chinacloudapi.cn/",
	}
)

func hostOf(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

// GraphScope is the OAuth scope of Graph tokens: {audience}/.default.
func (c Config) GraphScope() string {
	aud, ok := graphAudiences[hostOf(c.Graph())]
	if !ok {
		aud = DefaultGraphEndpoint
	}
	return aud + "/.default"
}

// ResourceManager returns the ARM endpoint and token audience.
func (c Config) ResourceManager() (endpoint, audience string) {
	if c.ResourceManagerEndpoint == "" {
		return DefaultResourceManagerEndpoint, DefaultResourceManagerAudience
	}
	ep := strings.TrimRight(c.ResourceManagerEndpoint, "/")
	aud, ok := armAudiences[hostOf(ep)]
	if !ok {
		aud = DefaultResourceManagerAudience
	}
	return ep, aud
}

var (
	guidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	// A tenant may also be named by a verified domain (contoso.onmicrosoft.com).
	tenantDomainRe = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$`)
)

func isGUID(s string) bool { return guidRe.MatchString(s) }

// Validate checks every field; errors are *providers.FieldError naming the field and
// never quote the client secret.
func (c Config) Validate() error {
	if c.TenantID == "" {
		return &providers.FieldError{Field: "tenant_id", Reason: "is required"}
	}
	if !isGUID(c.TenantID) && !tenantDomainRe.MatchString(c.TenantID) {
		return &providers.FieldError{Field: "tenant_id", Reason: fmt.Sprintf("must be a tenant GUID or verified domain, got %q", c.TenantID)}
	}
	if !isGUID(c.SubscriptionID) {
		return &providers.FieldError{Field: "subscription_id", Reason: fmt.Sprintf("must be a subscription GUID, got %q", c.SubscriptionID)}
	}
	if !isGUID(c.ClientID) {
		return &providers.FieldError{Field: "client_id", Reason: fmt.Sprintf("must be the application (client) id GUID, got %q", c.ClientID)}
	}
	switch {
	case c.Federated && c.ClientSecret != "":
		return &providers.FieldError{Field: "client_secret", Reason: "set either client_secret or federated=true (secretless), not both"}
	case !c.Federated && c.ClientSecret == "":
		return &providers.FieldError{Field: "client_secret", Reason: "is required unless federated=true"}
	case c.ClientSecret != "" && (len(c.ClientSecret) < 8 || len(c.ClientSecret) > 1024 || strings.ContainsAny(c.ClientSecret, " \t\r\n")):
		return &providers.FieldError{Field: "client_secret", Reason: "is not a well-formed client secret"}
	}
	for _, ep := range []struct{ field, value string }{
		{"authority_host", c.AuthorityHost}, {"graph_endpoint", c.GraphEndpoint},
		{"resource_manager_endpoint", c.ResourceManagerEndpoint},
	} {
		if err := validateEndpoint(ep.value); err != nil {
			return &providers.FieldError{Field: ep.field, Reason: err.Error()}
		}
	}
	if c.CACert != "" {
		if _, err := certPool(c.CACert); err != nil {
			return &providers.FieldError{Field: "ca_cert", Reason: err.Error()}
		}
	}
	return nil
}

// certPool parses a PEM bundle (at least one certificate, nothing else).
func certPool(bundle string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	rest := []byte(bundle)
	n := 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("must hold only PEM CERTIFICATE blocks, found %q", block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d does not parse: %v", n+1, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 || strings.TrimSpace(string(rest)) != "" {
		return nil, fmt.Errorf("must be a PEM bundle of one or more certificates")
	}
	return pool, nil
}

// validateEndpoint accepts "" or an absolute https URL without user info, query or
// fragment. Azure SDKs send bearer tokens only over https, so plain http is refused
// even for localhost (simulators use TLS with ca_cert).
func validateEndpoint(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("is not a URL")
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("must be an absolute URL such as https://graph.microsoft.com")
	}
	if u.Scheme != "https" {
		return fmt.Errorf("must use https, got scheme %q", u.Scheme)
	}
	if u.User != nil {
		return fmt.Errorf("must not contain user information")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(s, "?#") {
		return fmt.Errorf("must not contain a query or fragment")
	}
	if strings.Trim(u.Path, "/") != "" {
		return fmt.Errorf("must not contain a path")
	}
	return nil
}

// LoadConfig reads config/azure; found is false when it is unset.
func LoadConfig(ctx context.Context, s logical.Storage) (Config, bool, error) {
	return providers.LoadJSON(ctx, s, ConfigPath, Config{})
}

// SaveConfig validates and stores c.
func SaveConfig(ctx context.Context, s logical.Storage, c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return providers.SaveJSON(ctx, s, ConfigPath, c)
}

// DeleteConfig removes config/azure and any pending rotation record.
func DeleteConfig(ctx context.Context, s logical.Storage) error {
	return providers.DeleteKeys(ctx, s, RotationPath, ConfigPath)
}
