// Package backend assembles the engine: the Factory Vault calls, the framework.Backend
// with its paths, the credential secret type, WAL rollback and periodic work.
package backend

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/paths"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers/aws"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers/azure"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers/token"
)

// Version is reported to Vault as the plugin's running version; set by the build.
var Version = "v0.1.0"

const (
	// SecretTypeCredential is the lease type of every issued credential.
	SecretTypeCredential = "nhi_credential"
	walKindIssue         = "issue"
	backendHelp          = `
The nhi secrets engine issues per-task, short-lived credentials to non-human identities.
A workload states its intent (task, destinations, actions, sensitivity); the engine
checks it against the role, the caller's identity, its network and the clock, issues a
credential scoped to exactly that intent with a lease, and revokes it when the lease
ends.
`
)

// Options lets tests and the plugin main choose the clock and providers.
type Options struct {
	Clock func() time.Time
	// Providers add to or replace the built-in ones (token, aws, azure) by Name();
	// tests use it for providers that record what they were asked.
	Providers []providers.Provider
}

// Backend is the engine.
type Backend struct {
	*framework.Backend
	clock     func() time.Time
	token     *token.Provider
	providers map[string]providers.Provider

	// periodicMu keeps one periodic run at a time; Vault may call again before a slow one ends.
	periodicMu sync.Mutex

	collectMu    sync.Mutex // guards lastCollect
	lastCollect  time.Time
	collectRunMu sync.Mutex
	httpClient   *http.Client
}

// Factory is what the plugin main serves.
func Factory(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	return New(Options{}).setup(ctx, conf)
}

// New builds an engine that is not yet set up with a Vault backend config.
func New(opts Options) *Backend {
	clock := opts.Clock
	if clock == nil {
		clock = time.Now
	}
	b := &Backend{
		clock:      clock,
		token:      token.New(clock),
		providers:  map[string]providers.Provider{},
		httpClient: &http.Client{Timeout: 30 * time.Second},
	}
	b.providers[token.Name] = b.token
	b.providers[aws.Name] = aws.New(clock, aws.DefaultClients, aws.WithWebIdentitySignerOf(b.token))
	b.providers[azure.Name] = azure.New(clock, azure.DefaultClients, azure.WithAssertionSignerOf(b.token))
	for _, p := range opts.Providers {
		b.providers[p.Name()] = p
	}
	deps := &paths.Deps{
		Providers:    b.providers,
		Token:        b.token,
		Clock:        clock,
		WALKindIssue: walKindIssue,
	}
	b.Backend = &framework.Backend{
		Help:        strings.TrimSpace(backendHelp),
		BackendType: logical.TypeLogical,
		PathsSpecial: &logical.Paths{
			Unauthenticated: paths.UnauthenticatedPaths,
			// Signing keys and cloud root secrets are seal-wrapped where Vault supports it.
			SealWrapStorage: []string{"keys/", "config/aws", "config/azure"},
		},
		Paths:          paths.All(deps),
		Secrets:        []*framework.Secret{b.credentialSecret()},
		WALRollback:    b.walRollback,
		Invalidate:     b.invalidate(deps),
		PeriodicFunc:   b.periodic,
		RunningVersion: Version,
	}
	deps.System = b.System
	deps.Logger = b.Logger
	deps.Revoke = b.revokeRecord
	deps.Collect = func(ctx context.Context, s logical.Storage) (map[string]any, error) {
		r, err := b.Collect(ctx, s)
		return map[string]any{
			"credentials": r.Credentials, "events": r.Events, "findings": r.Findings, "submissions": r.Submissions,
		}, err
	}
	deps.NewSecret = func(data, internal map[string]any) *logical.Response {
		return b.Secret(SecretTypeCredential).Response(data, internal)
	}
	return b
}

// invalidate drops what this node caches for a storage key changed elsewhere (Vault
// calls it on performance standbys and replication secondaries).
func (b *Backend) invalidate(deps *paths.Deps) func(ctx context.Context, key string) {
	return func(_ context.Context, key string) {
		deps.Invalidate(key)
		for _, p := range b.providers {
			if inv, ok := p.(providers.Invalidator); ok {
				inv.Invalidate(key)
			}
		}
	}
}

func (b *Backend) setup(ctx context.Context, conf *logical.BackendConfig) (*Backend, error) {
	if err := b.Setup(ctx, conf); err != nil {
		return nil, err
	}
	return b, nil
}
