package aws

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

// Storage paths. config/aws holds the root secret key: the engine should seal-wrap
// the "config/aws" prefix (it covers the rotation record too).
const (
	ConfigPath   = "config/aws"
	RotationPath = "config/aws/rotation"
)

// Defaults.
const (
	DefaultRegion              = "us-east-1"
	DefaultWebIdentityAudience = "sts.amazonaws.com"
	// MaxRetriesLimit bounds max_retries; with the SDK's capped exponential backoff
	// (at most maxBackoff per wait) a call gives up within about a minute.
	MaxRetriesLimit = 10
)

// Config is the AWS provider's configuration, stored at config/aws.
type Config struct {
	// AccessKey and SecretKey are the static root credentials. SecretKey is write-only:
	// never returned, logged or put in errors.
	AccessKey string `json:"access_key,omitempty"`
	SecretKey string `json:"secret_key,omitempty"`
	Region    string `json:"region,omitempty"`
	// Endpoint overrides (simulators, VPC endpoints, FIPS endpoints).
	STSEndpoint        string `json:"sts_endpoint,omitempty"`
	IAMEndpoint        string `json:"iam_endpoint,omitempty"`
	CloudTrailEndpoint string `json:"cloudtrail_endpoint,omitempty"`
	S3Endpoint         string `json:"s3_endpoint,omitempty"`
	// MaxRetries is how often a throttled or failed (5xx) call is retried with the SDK's
	// standard backoff; -1 means the SDK default (2 retries, 3 attempts).
	MaxRetries int `json:"max_retries"`
	// WebIdentityRoleARN enables secretless mode: the engine signs a token with its own
	// issuer and calls AssumeRoleWithWebIdentity for this role.
	WebIdentityRoleARN  string `json:"web_identity_role_arn,omitempty"`
	WebIdentityAudience string `json:"web_identity_audience,omitempty"`

	// WebIdentityToken returns a fresh token for AssumeRoleWithWebIdentity. The provider
	// sets it before building clients; it is never stored.
	WebIdentityToken func(ctx context.Context) (string, error) `json:"-"`
}

// DefaultConfig is the configuration before config/aws is written.
func DefaultConfig() Config {
	return Config{Region: DefaultRegion, MaxRetries: -1}
}

// Configured reports whether the config holds root access of either kind.
func (c Config) Configured() bool {
	return (c.AccessKey != "" && c.SecretKey != "") || c.WebIdentityRoleARN != ""
}

// UsesWebIdentity reports whether the root access is secretless.
func (c Config) UsesWebIdentity() bool { return c.WebIdentityRoleARN != "" }

// Partition is the ARN partition of the configured region.
func (c Config) Partition() string { return partitionOf(c.Region) }

func partitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	}
	return "aws"
}

var (
	accessKeyRe = regexp.MustCompile(`^[A-Za-z0-9]{16,128}$`)
	regionRe    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	// IAM role ARN: arn:<partition>:iam::<account>:role/<path/>name
	roleARNRe = regexp.MustCompile(`^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/([\x21-\x7e]*/)?[\w+=,.@-]{1,64}$`)
	// Managed policy ARN: arn:<partition>:iam::<account|aws>:policy/<path/>name
	policyARNRe = regexp.MustCompile(`^arn:aws(-[a-z]+)*:iam::([0-9]{12}|aws):policy/([\x21-\x7e]*/)?[\w+=,.@-]{1,128}$`)
	audienceRe  = regexp.MustCompile(`^[\x21-\x7e]{1,256}$`)
)

// Validate checks every field; errors are *providers.FieldError naming the field and
// never quote the secret key.
func (c Config) Validate() error {
	if c.AccessKey != "" && !accessKeyRe.MatchString(c.AccessKey) {
		return &providers.FieldError{Field: "access_key", Reason: "must be an AWS access key id (16-128 letters and digits)"}
	}
	if (c.AccessKey == "") != (c.SecretKey == "") {
		if c.AccessKey == "" {
			return &providers.FieldError{Field: "access_key", Reason: "is required with secret_key"}
		}
		return &providers.FieldError{Field: "secret_key", Reason: "is required with access_key"}
	}
	if c.SecretKey != "" && (len(c.SecretKey) < 16 || len(c.SecretKey) > 256 || strings.ContainsAny(c.SecretKey, " \t\r\n")) {
		return &providers.FieldError{Field: "secret_key", Reason: "is not a well-formed AWS secret access key"}
	}
	if c.Region == "" || !regionRe.MatchString(c.Region) {
		return &providers.FieldError{Field: "region", Reason: fmt.Sprintf("must be an AWS region such as us-east-1, got %q", c.Region)}
	}
	for _, ep := range []struct{ field, value string }{
		{"sts_endpoint", c.STSEndpoint}, {"iam_endpoint", c.IAMEndpoint},
		{"cloudtrail_endpoint", c.CloudTrailEndpoint}, {"s3_endpoint", c.S3Endpoint},
	} {
		if err := validateEndpoint(ep.value); err != nil {
			return &providers.FieldError{Field: ep.field, Reason: err.Error()}
		}
	}
	if c.MaxRetries < -1 || c.MaxRetries > MaxRetriesLimit {
		return &providers.FieldError{Field: "max_retries", Reason: fmt.Sprintf("must be between -1 (SDK default) and %d, got %d", MaxRetriesLimit, c.MaxRetries)}
	}
	if c.WebIdentityRoleARN != "" {
		if !roleARNRe.MatchString(c.WebIdentityRoleARN) {
			return &providers.FieldError{Field: "web_identity_role_arn", Reason: fmt.Sprintf("must be an IAM role ARN (arn:aws:iam::123456789012:role/name), got %q", c.WebIdentityRoleARN)}
		}
		if c.AccessKey != "" {
			return &providers.FieldError{Field: "web_identity_role_arn", Reason: "set either static keys (access_key, secret_key) or web_identity_role_arn, not both"}
		}
	}
	if c.WebIdentityAudience != "" && !audienceRe.MatchString(c.WebIdentityAudience) {
		return &providers.FieldError{Field: "web_identity_audience", Reason: "must be 1-256 printable characters without spaces"}
	}
	return nil
}

// validateEndpoint accepts "" or an absolute https URL (plain http only for loopback
// hosts, i.e. local simulators).
func validateEndpoint(s string) error {
	return providers.ValidateServiceURL(s, "https://sts.us-east-1.amazonaws.com")
}

// LoadConfig reads config/aws; it returns DefaultConfig and found=false when unset.
func LoadConfig(ctx context.Context, s logical.Storage) (Config, bool, error) {
	return providers.LoadJSON(ctx, s, ConfigPath, DefaultConfig())
}

// SaveConfig validates and stores c.
func SaveConfig(ctx context.Context, s logical.Storage, c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return providers.SaveJSON(ctx, s, ConfigPath, c)
}

// DeleteConfig removes config/aws and any pending rotation record. Credentials already
// issued stay revocable only once the engine is configured again.
func DeleteConfig(ctx context.Context, s logical.Storage) error {
	return providers.DeleteKeys(ctx, s, RotationPath, ConfigPath)
}
