// Package aws is the AWS credential provider. It issues
//
//   - assumed_role (default): an STS session of the role's role_arn, scoped by a
//     session policy compiled from the intent (CompileSessionPolicy), tagged with the
//     task, sensitivity and credential id, and revocable before STS would expire it:
//     Revoke adds the session to a Deny in an inline policy on the role
//     (RevocationPolicyName), which Periodic trims once sessions have expired;
//   - iam_user: a user nhi-<credential id> under /nhi/ with the compiled policy inline,
//     the role's permissions boundary and managed policies, and one access key, deleted
//     on Revoke.
//
// The provider talks to AWS through the narrow STSAPI and IAMAPI interfaces built by a
// ClientFactory (DefaultClients: aws-sdk-go-v2). Root access is static keys (rotated by
// RotateRoot) or secretless web identity signed by the engine's own token issuer.
package aws

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/internal/gencache"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

// Name is the role field `provider` value that selects this adapter.
const Name = "aws"

// WebIdentitySigner signs the JWT the engine presents to AssumeRoleWithWebIdentity in
// secretless mode: iss = the engine's issuer (config/token), aud = audience, a short
// exp. The token provider implements it.
type WebIdentitySigner interface {
	SignWebIdentity(ctx context.Context, s logical.Storage, audience string, ttl time.Duration) (string, error)
}

// webIdentityTokenTTL is the lifetime of the engine's own web-identity tokens.
const webIdentityTokenTTL = 5 * time.Minute

// Provider issues and revokes AWS credentials. It is safe for concurrent use; durable
// state lives in the storage passed to each call.
type Provider struct {
	clock   func() time.Time
	factory ClientFactory
	signer  WebIdentitySigner
	cache   clientCache
	// keyWait bounds the wait for a new access key to authenticate (IAM is eventually
	// consistent); rotateWait is the same for the root key.
	keyWait    time.Duration
	rotateWait time.Duration

	roleLocksMu       sync.Mutex
	roleLocks         map[string]*sync.Mutex
	revocationBatches revocationBatches
	rotateMu          sync.Mutex

	posture postureCache
	// config caches config/aws: every write goes through this provider (UpdateConfig,
	// RemoveConfig, rotation), which forgets it; Invalidate covers replicated writes.
	config gencache.Cache[struct{}, loadedConfig]
}

var (
	_ providers.Provider     = (*Provider)(nil)
	_ providers.Periodic     = (*Provider)(nil)
	_ providers.Invalidator  = (*Provider)(nil)
	_ providers.RollbackFree = (*Provider)(nil)
)

// Option configures a Provider.
type Option func(*Provider)

// WithWebIdentitySigner enables secretless root access (web_identity_role_arn).
func WithWebIdentitySigner(s WebIdentitySigner) Option {
	return func(p *Provider) { p.signer = s }
}

// WithWebIdentitySignerOf enables secretless root access when v implements
// WebIdentitySigner, and does nothing otherwise; it lets the backend pass its token
// provider whatever that provider's version.
func WithWebIdentitySignerOf(v any) Option {
	return func(p *Provider) {
		if s, ok := v.(WebIdentitySigner); ok {
			p.signer = s
		}
	}
}

// WithKeyWait sets how long Issue (iam_user) and RotateRoot wait for a new access key to
// authenticate (defaults 10s and 30s).
func WithKeyWait(issue, rotate time.Duration) Option {
	return func(p *Provider) { p.keyWait, p.rotateWait = issue, rotate }
}

// New returns an AWS provider. clock may be nil (time.Now); clients builds the AWS
// clients for a configuration (DefaultClients in production).
func New(clock func() time.Time, clients ClientFactory, opts ...Option) *Provider {
	if clock == nil {
		clock = time.Now
	}
	if clients == nil {
		clients = DefaultClients
	}
	p := &Provider{
		clock: clock, factory: clients,
		keyWait: 10 * time.Second, rotateWait: 30 * time.Second,
		roleLocks: map[string]*sync.Mutex{},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Name returns "aws".
func (p *Provider) Name() string { return Name }

// loadedConfig is config/aws with its revision, computed once per read rather than per
// credential.
type loadedConfig struct {
	Config
	revision string
}

// loadConfig returns config/aws, from memory after the first read.
func (p *Provider) loadConfig(ctx context.Context, s logical.Storage) (loadedConfig, bool, error) {
	return p.config.Get(struct{}{}, func() (loadedConfig, bool, error) {
		c, found, err := LoadConfig(ctx, s)
		return loadedConfig{Config: c, revision: providers.Revision(c)}, found, err
	})
}

// RollbackFree reports that assumed_role credentials need no WAL: AssumeRole creates the
// session atomically, and keys the engine drops undelivered are usable by no one (the
// builtin aws engine writes none for STS either). iam_user credentials keep the WAL: a
// crash can leave a user behind.
func (p *Provider) RollbackFree(role providers.RoleInfo) bool {
	ct, err := checkCredentialType(role.CredentialType)
	return err == nil && ct == CredentialTypeAssumedRole
}

// Invalidate forgets the cached configuration when Vault reports config/aws changed.
func (p *Provider) Invalidate(key string) {
	if key == ConfigPath {
		p.config.Reset()
	}
}

// clients loads config/aws and returns it with the clients of its revision.
func (p *Provider) clients(ctx context.Context, s logical.Storage) (Config, *Clients, error) {
	loaded, found, err := p.loadConfig(ctx, s)
	cfg := loaded.Config
	if err != nil {
		return cfg, nil, err
	}
	if !found || !cfg.Configured() {
		return cfg, nil, fmt.Errorf("%w: write config/aws with access_key and secret_key, or web_identity_role_arn", providers.ErrNotConfigured)
	}
	if cfg.UsesWebIdentity() {
		if p.signer == nil {
			return cfg, nil, fmt.Errorf("%w: web_identity_role_arn is set but this engine's token issuer cannot sign web identity tokens", providers.ErrNotConfigured)
		}
		audience := cfg.WebIdentityAudience
		if audience == "" {
			audience = DefaultWebIdentityAudience
		}
		signer := p.signer
		cfg.WebIdentityToken = func(ctx context.Context) (string, error) {
			return signer.SignWebIdentity(ctx, s, audience, webIdentityTokenTTL)
		}
	}
	cl, err := p.cache.get(ctx, cfg, loaded.revision, p.factory)
	if err != nil {
		return cfg, nil, err
	}
	return cfg, cl, nil
}

// Issue creates a credential for an approved intent: an STS session (assumed_role) or
// an IAM user with an access key (iam_user). Limits are checked before calling AWS.
func (p *Provider) Issue(ctx context.Context, s logical.Storage, req providers.IssueRequest) (*providers.Issued, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rs, err := parseSettings(req.Role.CredentialType, req.Role.Settings)
	if err != nil {
		return nil, err
	}
	if err := req.CheckIdentity("names the session or user"); err != nil {
		return nil, err
	}
	if req.Now.IsZero() {
		req.Now = p.clock()
	}
	cfg, cl, err := p.clients(ctx, s)
	if err != nil {
		return nil, err
	}
	policy, err := compileFor(req, rs, cfg)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if rs.credentialType == CredentialTypeIAMUser {
		return p.issueUser(ctx, cl, req, rs, policy)
	}
	return p.issueSession(ctx, cl, req, rs, policy)
}

func compileFor(req providers.IssueRequest, rs roleSettings, cfg Config) (string, error) {
	in := PolicyInput{Partition: cfg.Partition(), Destinations: req.Destinations, Actions: req.Actions}
	if rs.bindSourceIP {
		if req.SourceAddr == "" {
			return "", &providers.FieldError{Field: "bind_source_ip", Reason: "the role binds credentials to the caller's address, but the request's address is unknown"}
		}
		in.SourceIP = req.SourceAddr
	}
	return CompileSessionPolicy(in)
}

// Ref keys.
const (
	refCredentialType = "credential_type"
	refAccessKeyID    = "access_key_id"
	refSessionName    = "session_name"
	refRoleARN        = "role_arn"
	refAssumedRoleID  = "assumed_role_id"
	refSTSExpiration  = "sts_expiration"
	refUserName       = "user_name"
)

// Revoke makes the credential unusable. assumed_role: the session is denied by the
// role's revocation policy until STS would have expired it. iam_user: the user, its keys
// and policies are deleted. With no reference (WAL rollback) the user a crashed iam_user
// issuance may have left is deleted; an STS session never handed out needs nothing.
// Revoking twice, or something never issued, returns nil.
func (p *Provider) Revoke(ctx context.Context, s logical.Storage, req providers.RevokeRequest) error {
	if req.Now.IsZero() {
		req.Now = p.clock()
	}
	switch req.Ref[refCredentialType] {
	case CredentialTypeAssumedRole:
		return p.revokeSession(ctx, s, req)
	case CredentialTypeIAMUser:
		name := req.Ref[refUserName]
		if name == "" {
			name = userNameFor(req.CredentialID)
		}
		return p.revokeUser(ctx, s, name)
	case "":
		if req.CredentialID == "" {
			return nil
		}
		return p.revokeUser(ctx, s, userNameFor(req.CredentialID))
	}
	return &providers.FieldError{Field: "credential_type", Reason: fmt.Sprintf("reference names unknown credential type %q", req.Ref[refCredentialType])}
}

// Periodic removes revocation entries of sessions STS has expired (rewriting or
// deleting the roles' revocation policies) and finishes or undoes an interrupted root
// key rotation.
func (p *Provider) Periodic(ctx context.Context, s logical.Storage) error {
	cfg, found, err := p.loadConfig(ctx, s)
	if err != nil {
		return err
	}
	if !found || !cfg.Configured() {
		return nil
	}
	var errs []error
	if err := p.resumeRotationIfStale(ctx, s); err != nil {
		errs = append(errs, err)
	}
	if err := p.pruneRevocations(ctx, s); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ClientsFor returns the configuration and the clients of its revision, authenticated as
// the engine's root access (for drift collectors: Clients.CloudTrail). It returns an
// error wrapping providers.ErrNotConfigured before config/aws is written.
func (p *Provider) ClientsFor(ctx context.Context, s logical.Storage) (Config, *Clients, error) {
	return p.clients(ctx, s)
}

func (p *Provider) roleLock(key string) *sync.Mutex {
	p.roleLocksMu.Lock()
	defer p.roleLocksMu.Unlock()
	m := p.roleLocks[key]
	if m == nil {
		m = &sync.Mutex{}
		p.roleLocks[key] = m
	}
	return m
}
