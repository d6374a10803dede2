// Package token is the built-in workload-token provider: it issues JWTs that state the
// approved intent (task, actions, sensitivity, destinations) and are signed with a key ring
// held in Vault storage (keys/token-ring, seal-wrapped by the engine). Relying parties
// verify them with the published JWKS or ask the engine (introspect, authorize).
//
// The ring holds the current signing key and retired keys that stay published until every
// token they signed has expired (and at least VerificationOverlap). Keys are rotated by the
// engine's periodic work (Rotate) and, when that is late, by Issue itself.
package token

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/internal/gencache"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

// Name is the role field `provider` value that selects this adapter.
const Name = "token"

// Provider issues token credentials. It is safe for concurrent use. It keeps no state of
// its own besides caches: everything durable is in the storage passed to each call.
type Provider struct {
	clock func() time.Time
	rand  io.Reader

	// mu serializes changes to the ring (read-modify-write of keys/token-ring).
	mu sync.Mutex

	// cacheMu guards the caches below. The ring is read from storage once and then kept:
	// every change on this node goes through storeRing, and Invalidate drops it when
	// Vault reports a change made elsewhere. ringGen increases with every such change,
	// so a read that raced with one is not cached.
	cacheMu   sync.Mutex
	ringValid bool
	ringGen   uint64
	ring      *keyRing              // shared, never modified
	keys      map[string]*parsedKey // parsed keys by kid

	// config caches config/token the same way: SaveConfig and Invalidate forget it.
	config gencache.Cache[struct{}, Config]
}

var (
	_ providers.Provider    = (*Provider)(nil)
	_ providers.Invalidator = (*Provider)(nil)
)

// New returns a token provider. clock may be nil (time.Now).
func New(clock func() time.Time) *Provider {
	if clock == nil {
		clock = time.Now
	}
	return &Provider{clock: clock, rand: rand.Reader, keys: make(map[string]*parsedKey)}
}

// Invalidate forgets what the provider caches of a storage key Vault reports as changed
// by another node.
func (p *Provider) Invalidate(key string) {
	switch key {
	case ConfigPath:
		p.config.Reset()
	case RingPath:
		p.cacheMu.Lock()
		p.ringGen++
		p.ringValid, p.ring = false, nil
		p.cacheMu.Unlock()
	}
}

// RollbackFree reports that a token needs no WAL: it creates nothing outside Vault storage.
func (p *Provider) RollbackFree(providers.RoleInfo) bool { return true }

// Name returns "token".
func (p *Provider) Name() string { return Name }

// Issue signs a token for an approved intent. See the package documentation for the
// claims. It needs Config.Issuer; the first signing key is created on demand.
func (p *Provider) Issue(ctx context.Context, s logical.Storage, req providers.IssueRequest) (*providers.Issued, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg, err := p.loadConfig(ctx, s)
	if err != nil {
		return nil, err
	}
	if err := requireIssuer(cfg); err != nil {
		return nil, err
	}
	if err := checkCredentialType(req.Role.CredentialType); err != nil {
		return nil, err
	}
	settings, err := parseSettings(req.Role.Settings)
	if err != nil {
		return nil, err
	}
	if req.CredentialID == "" {
		return nil, &providers.FieldError{Field: "credential_id", Reason: "is required (it becomes the token's jti)"}
	}
	if req.Subject == "" {
		return nil, &providers.FieldError{Field: "subject", Reason: "is required (it becomes the token's sub)"}
	}
	for _, d := range req.Destinations {
		if err := checkDestination(d); err != nil {
			return nil, &providers.FieldError{Field: "destinations", Reason: fmt.Sprintf("%q: %v", d, err)}
		}
	}
	var cnf *Confirmation
	if len(req.PublicKeyJWK) > 0 {
		jkt, err := Thumbprint(req.PublicKeyJWK)
		if err != nil {
			return nil, err
		}
		cnf = &Confirmation{JKT: jkt}
	}
	now := req.Now
	if now.IsZero() {
		now = p.clock()
	}
	iat := now.Unix()
	exp := now.Add(req.TTL).Unix()
	if req.TTL <= 0 || exp <= iat {
		return nil, &providers.FieldError{Field: "ttl", Reason: fmt.Sprintf("must be at least 1s, got %s", req.TTL)}
	}
	expiresAt := time.Unix(exp, 0).UTC()

	key, err := p.signingKey(ctx, s, cfg, now, expiresAt)
	if err != nil {
		return nil, err
	}

	claims := Claims{
		Issuer:    cfg.Issuer,
		Subject:   req.Subject,
		Audience:  audience(settings.audienceMode, req.Destinations),
		IssuedAt:  iat,
		NotBefore: iat,
		Expiry:    exp,
		ID:        req.CredentialID,
		NHI: NHIClaim{
			Task:         req.Task,
			Actions:      nonNil(req.Actions),
			Sensitivity:  req.Sensitivity,
			Role:         req.Role.Name,
			Destinations: nonNil(req.Destinations),
		},
		Confirmation: cnf,
	}
	if len(settings.extraClaims) > 0 {
		claims.Extra = make(map[string]any, len(settings.extraClaims))
		for k, v := range settings.extraClaims {
			claims.Extra[k] = v
		}
	}
	payload, err := claims.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encoding claims: %w", err)
	}
	jws, err := key.signer.Sign(payload)
	if err != nil {
		return nil, fmt.Errorf("signing token with key %s: %w", key.kid, err)
	}
	jwt, err := jws.CompactSerialize()
	if err != nil {
		return nil, fmt.Errorf("serializing token: %w", err)
	}
	return &providers.Issued{
		Secret:    map[string]any{"token": jwt},
		Public:    map[string]any{"token_type": "Bearer", "key_id": key.kid},
		Ref:       map[string]string{"jti": req.CredentialID, "kid": key.kid},
		ExpiresAt: expiresAt,
	}, nil
}

// Revoke returns nil. A signed token cannot be recalled, and the provider keeps nothing
// per token to delete: the engine revokes a token credential by marking its credential
// record revoked, and introspect and authorize consult that record (by jti) before
// trusting a token. Returning nil keeps revocation idempotent, including for references
// that were never issued (WAL rollback).
func (p *Provider) Revoke(ctx context.Context, s logical.Storage, req providers.RevokeRequest) error {
	return nil
}

// Rotate is the engine's periodic key maintenance (active node only). It replaces the
// current key when force is set, when the configured algorithm differs from the current
// key's, or when the key is older than RotationPeriod; it creates the first key when none
// exists and the issuer is configured (or force); and it drops retired keys whose
// VerifyUntil has passed. rotated reports whether a new signing key was made.
func (p *Provider) Rotate(ctx context.Context, s logical.Storage, force bool) (rotated bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	cfg, err := p.loadConfig(ctx, s)
	if err != nil {
		return false, err
	}
	r, err := p.loadRing(ctx, s)
	if err != nil {
		return false, err
	}
	r = r.clone()
	now := p.clock()
	var fresh *parsedKey
	cur := r.current()
	if force || (cur == nil && cfg.Issuer != "") || (cur != nil && needsRotation(cur, cfg, now)) {
		nk, pk, err := p.generateKey(cfg.Algorithm, now)
		if err != nil {
			return false, err
		}
		r.rotate(nk, now, cfg.VerificationOverlap)
		fresh = pk
	}
	pruned := r.prune(now)
	if fresh == nil && !pruned {
		return false, nil
	}
	if err := p.storeRing(ctx, s, r); err != nil {
		return false, err
	}
	if fresh != nil {
		p.cacheMu.Lock()
		p.keys[fresh.kid] = fresh
		p.cacheMu.Unlock()
	}
	return fresh != nil, nil
}
