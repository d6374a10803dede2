package token

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

// Storage paths. The engine seal-wraps the "keys/" prefix.
const (
	ConfigPath = "config/token"
	RingPath   = "keys/token-ring"
)

// Supported signing algorithms.
const (
	AlgES256 = "ES256" // ECDSA P-256, the default
	AlgEdDSA = "EdDSA" // Ed25519
	AlgRS256 = "RS256" // RSA 2048, PKCS #1 v1.5
)

// Defaults and bounds for Config.
const (
	DefaultRotationPeriod      = 24 * time.Hour
	MinRotationPeriod          = time.Minute
	DefaultVerificationOverlap = time.Hour
)

// Config is the token provider's configuration, stored at config/token.
type Config struct {
	// Issuer is the "iss" of every token and the base of jwks_uri and
	// introspection_endpoint: the mount's API address, e.g. https://vault.example.com/v1/nhi.
	// Required before issuing.
	Issuer string `json:"issuer"`
	// Algorithm signs new tokens: ES256 (default), EdDSA or RS256.
	Algorithm string `json:"algorithm"`
	// RotationPeriod is the age at which the signing key is replaced (default 24h, min 1m).
	RotationPeriod time.Duration `json:"rotation_period"`
	// VerificationOverlap is the minimum time a retired key stays published (default 1h).
	// A retired key stays longer if tokens it signed are still unexpired.
	VerificationOverlap time.Duration `json:"verification_overlap"`
}

// DefaultConfig returns the configuration used before config/token is written.
func DefaultConfig() Config {
	return Config{
		Algorithm:           AlgES256,
		RotationPeriod:      DefaultRotationPeriod,
		VerificationOverlap: DefaultVerificationOverlap,
	}
}

// Validate checks every field and returns a *providers.FieldError naming the first bad one.
// An empty Issuer is valid (the engine may be configured in steps); Issue refuses to run
// without it.
func (c Config) Validate() error {
	if err := validateIssuer(c.Issuer); err != nil {
		return &providers.FieldError{Field: "issuer", Reason: err.Error()}
	}
	switch c.Algorithm {
	case AlgES256, AlgEdDSA, AlgRS256:
	default:
		return &providers.FieldError{Field: "algorithm",
			Reason: fmt.Sprintf("unsupported algorithm %q; use ES256, EdDSA or RS256", c.Algorithm)}
	}
	if c.RotationPeriod < MinRotationPeriod {
		return &providers.FieldError{Field: "rotation_period",
			Reason: fmt.Sprintf("must be at least %s, got %s", MinRotationPeriod, c.RotationPeriod)}
	}
	if c.VerificationOverlap < 0 {
		return &providers.FieldError{Field: "verification_overlap",
			Reason: fmt.Sprintf("must not be negative, got %s", c.VerificationOverlap)}
	}
	return nil
}

// validateIssuer accepts "" or an absolute https URL (plain http only for loopback dev
// servers) without trailing slash, since jwks_uri is <issuer>/jwks.
func validateIssuer(s string) error {
	if err := providers.ValidateServiceURL(s, "https://vault.example.com/v1/nhi"); err != nil {
		return err
	}
	if strings.HasSuffix(s, "/") {
		return fmt.Errorf("must not end with '/' (jwks_uri is <issuer>/jwks)")
	}
	return nil
}

// LoadConfig reads config/token, returning DefaultConfig when it was never written.
func LoadConfig(ctx context.Context, s logical.Storage) (Config, error) {
	c, _, err := readConfig(ctx, s)
	return c, err
}

func readConfig(ctx context.Context, s logical.Storage) (Config, bool, error) {
	// Decoded over the defaults: members missing from an older stored config keep them.
	return providers.LoadJSON(ctx, s, ConfigPath, DefaultConfig())
}

// loadConfig is LoadConfig from memory after the first read of a stored config.
func (p *Provider) loadConfig(ctx context.Context, s logical.Storage) (Config, error) {
	c, _, err := p.config.Get(struct{}{}, func() (Config, bool, error) { return readConfig(ctx, s) })
	return c, err
}

// SaveConfig stores c (see the package function) and forgets the cached copy.
func (p *Provider) SaveConfig(ctx context.Context, s logical.Storage, c Config) error {
	defer p.config.Reset()
	return SaveConfig(ctx, s, c)
}

// SaveConfig validates and stores c. Changing Algorithm needs nothing else: the next Issue
// or Rotate sees that the current key's algorithm differs and rotates to a new key of the
// configured algorithm (the old key stays published as usual).
func SaveConfig(ctx context.Context, s logical.Storage, c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return providers.SaveJSON(ctx, s, ConfigPath, c)
}

// requireIssuer refuses to issue or publish discovery metadata before the operator has
// said under which URL relying parties reach this engine.
func requireIssuer(cfg Config) error {
	if cfg.Issuer == "" {
		return fmt.Errorf("%w: the token issuer is not set; write config/token issuer=https://<vault-address>/v1/<mount>",
			providers.ErrNotConfigured)
	}
	return nil
}
