package aws

import (
	"context"
	"fmt"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// STSAPI is the part of STS the provider calls (*sts.Client satisfies it).
type STSAPI interface {
	AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleOutput, error)
	AssumeRoleWithWebIdentity(ctx context.Context, in *sts.AssumeRoleWithWebIdentityInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error)
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// IAMAPI is the part of IAM the provider calls (*iam.Client satisfies it).
type IAMAPI interface {
	// Revocation policy on assumed roles.
	PutRolePolicy(ctx context.Context, in *iam.PutRolePolicyInput, optFns ...func(*iam.Options)) (*iam.PutRolePolicyOutput, error)
	GetRolePolicy(ctx context.Context, in *iam.GetRolePolicyInput, optFns ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error)
	ListRolePolicies(ctx context.Context, in *iam.ListRolePoliciesInput, optFns ...func(*iam.Options)) (*iam.ListRolePoliciesOutput, error)
	DeleteRolePolicy(ctx context.Context, in *iam.DeleteRolePolicyInput, optFns ...func(*iam.Options)) (*iam.DeleteRolePolicyOutput, error)
	// Posture of assumed roles (drift).
	ListAttachedRolePolicies(ctx context.Context, in *iam.ListAttachedRolePoliciesInput, optFns ...func(*iam.Options)) (*iam.ListAttachedRolePoliciesOutput, error)
	// iam_user credentials and root key rotation.
	GetUser(ctx context.Context, in *iam.GetUserInput, optFns ...func(*iam.Options)) (*iam.GetUserOutput, error)
	CreateUser(ctx context.Context, in *iam.CreateUserInput, optFns ...func(*iam.Options)) (*iam.CreateUserOutput, error)
	DeleteUser(ctx context.Context, in *iam.DeleteUserInput, optFns ...func(*iam.Options)) (*iam.DeleteUserOutput, error)
	PutUserPolicy(ctx context.Context, in *iam.PutUserPolicyInput, optFns ...func(*iam.Options)) (*iam.PutUserPolicyOutput, error)
	DeleteUserPolicy(ctx context.Context, in *iam.DeleteUserPolicyInput, optFns ...func(*iam.Options)) (*iam.DeleteUserPolicyOutput, error)
	ListUserPolicies(ctx context.Context, in *iam.ListUserPoliciesInput, optFns ...func(*iam.Options)) (*iam.ListUserPoliciesOutput, error)
	AttachUserPolicy(ctx context.Context, in *iam.AttachUserPolicyInput, optFns ...func(*iam.Options)) (*iam.AttachUserPolicyOutput, error)
	DetachUserPolicy(ctx context.Context, in *iam.DetachUserPolicyInput, optFns ...func(*iam.Options)) (*iam.DetachUserPolicyOutput, error)
	ListAttachedUserPolicies(ctx context.Context, in *iam.ListAttachedUserPoliciesInput, optFns ...func(*iam.Options)) (*iam.ListAttachedUserPoliciesOutput, error)
	CreateAccessKey(ctx context.Context, in *iam.CreateAccessKeyInput, optFns ...func(*iam.Options)) (*iam.CreateAccessKeyOutput, error)
	DeleteAccessKey(ctx context.Context, in *iam.DeleteAccessKeyInput, optFns ...func(*iam.Options)) (*iam.DeleteAccessKeyOutput, error)
	ListAccessKeys(ctx context.Context, in *iam.ListAccessKeysInput, optFns ...func(*iam.Options)) (*iam.ListAccessKeysOutput, error)
}

// CloudTrailAPI is what drift collectors need from CloudTrail (*cloudtrail.Client).
type CloudTrailAPI interface {
	LookupEvents(ctx context.Context, in *cloudtrail.LookupEventsInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.LookupEventsOutput, error)
}

// Clients are the AWS clients for one configuration revision, authenticated as the
// engine's root access.
type Clients struct {
	STS        STSAPI
	IAM        IAMAPI
	CloudTrail CloudTrailAPI
	// STSWith returns an STS client authenticated with other credentials (a freshly
	// created key, to wait until it authenticates).
	STSWith func(creds awssdk.Credentials) STSAPI
	// IAMWith returns an IAM client authenticated with other credentials (root key
	// rotation deletes the old key with the new one).
	IAMWith func(creds awssdk.Credentials) IAMAPI
}

// ClientFactory builds the clients for a configuration.
type ClientFactory func(ctx context.Context, cfg Config) (*Clients, error)

// maxBackoff caps the wait between retries of one call.
const maxBackoff = 5 * time.Second

// webIdentitySessionDuration is how long the engine's own web-identity session lasts;
// the SDK's credential cache refreshes it before it expires.
const webIdentitySessionDuration = time.Hour

// DefaultClients builds real aws-sdk-go-v2 clients: static keys or web identity (the
// token from cfg.WebIdentityToken exchanged with AssumeRoleWithWebIdentity), the
// configured region and endpoints, and the SDK's standard retryer (exponential backoff
// with jitter, capped at 5s per wait) making 1+max_retries attempts on throttling, 5xx
// and transient network errors.
func DefaultClients(ctx context.Context, cfg Config) (*Clients, error) {
	if !cfg.Configured() {
		return nil, fmt.Errorf("%w: write config/aws with access_key and secret_key, or web_identity_role_arn", errNotConfigured)
	}
	base := awssdk.Config{
		Region:  cfg.Region,
		Retryer: retryer(cfg.MaxRetries),
	}
	stsOpts := func(o *sts.Options) {
		if cfg.STSEndpoint != "" {
			o.BaseEndpoint = awssdk.String(cfg.STSEndpoint)
		}
	}
	iamOpts := func(o *iam.Options) {
		if cfg.IAMEndpoint != "" {
			o.BaseEndpoint = awssdk.String(cfg.IAMEndpoint)
		}
	}
	ctOpts := func(o *cloudtrail.Options) {
		if cfg.CloudTrailEndpoint != "" {
			o.BaseEndpoint = awssdk.String(cfg.CloudTrailEndpoint)
		}
	}
	withCreds := func(p awssdk.CredentialsProvider) awssdk.Config {
		c := base.Copy()
		c.Credentials = p
		return c
	}
	var root awssdk.CredentialsProvider
	if cfg.UsesWebIdentity() {
		if cfg.WebIdentityToken == nil {
			return nil, fmt.Errorf("%w: web identity needs the engine's token signer, which this build does not provide", errNotConfigured)
		}
		anon := sts.NewFromConfig(withCreds(awssdk.AnonymousCredentials{}), stsOpts)
		root = awssdk.NewCredentialsCache(&webIdentityCredentials{
			sts: anon, roleARN: cfg.WebIdentityRoleARN, token: cfg.WebIdentityToken,
		})
	} else {
		root = awssdk.NewCredentialsCache(credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, ""))
	}
	rootCfg := withCreds(root)
	static := func(c awssdk.Credentials) awssdk.Config {
		return withCreds(credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken))
	}
	return &Clients{
		STS:        sts.NewFromConfig(rootCfg, stsOpts),
		IAM:        iam.NewFromConfig(rootCfg, iamOpts),
		CloudTrail: cloudtrail.NewFromConfig(rootCfg, ctOpts),
		STSWith:    func(c awssdk.Credentials) STSAPI { return sts.NewFromConfig(static(c), stsOpts) },
		IAMWith:    func(c awssdk.Credentials) IAMAPI { return iam.NewFromConfig(static(c), iamOpts) },
	}, nil
}

func retryer(maxRetries int) func() awssdk.Retryer {
	return func() awssdk.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			if maxRetries >= 0 {
				o.MaxAttempts = maxRetries + 1
			}
			o.MaxBackoff = maxBackoff
		})
	}
}

// webIdentityCredentials exchanges a token signed by the engine's own issuer for the
// root role's credentials.
type webIdentityCredentials struct {
	sts     STSAPI
	roleARN string
	token   func(ctx context.Context) (string, error)
}

func (w *webIdentityCredentials) Retrieve(ctx context.Context) (awssdk.Credentials, error) {
	tok, err := w.token(ctx)
	if err != nil {
		return awssdk.Credentials{}, fmt.Errorf("signing the web identity token: %w", err)
	}
	out, err := w.sts.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          awssdk.String(w.roleARN),
		RoleSessionName:  awssdk.String("vault-nhi-engine"),
		WebIdentityToken: awssdk.String(tok),
		DurationSeconds:  awssdk.Int32(int32(webIdentitySessionDuration / time.Second)),
	})
	if err != nil {
		return awssdk.Credentials{}, fmt.Errorf("AssumeRoleWithWebIdentity on %s: %w", w.roleARN, describe(err))
	}
	if out.Credentials == nil || out.Credentials.AccessKeyId == nil {
		return awssdk.Credentials{}, fmt.Errorf("AssumeRoleWithWebIdentity on %s returned no credentials", w.roleARN)
	}
	c := awssdk.Credentials{
		AccessKeyID:     awssdk.ToString(out.Credentials.AccessKeyId),
		SecretAccessKey: awssdk.ToString(out.Credentials.SecretAccessKey),
		SessionToken:    awssdk.ToString(out.Credentials.SessionToken),
		Source:          "nhi-web-identity",
	}
	if out.Credentials.Expiration != nil {
		c.CanExpire, c.Expires = true, *out.Credentials.Expiration
	}
	return c, nil
}

// clientCache keeps the clients of the latest configuration revision.
type clientCache struct {
	mu       sync.Mutex
	revision string
	clients  *Clients
}

func (c *clientCache) get(ctx context.Context, cfg Config, rev string, factory ClientFactory) (*Clients, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.clients != nil && c.revision == rev {
		return c.clients, nil
	}
	cl, err := factory(ctx, cfg)
	if err != nil {
		return nil, err
	}
	c.revision, c.clients = rev, cl
	return cl, nil
}
