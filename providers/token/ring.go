package token

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/hashicorp/vault/sdk/logical"
)

// maxExpSlack is added to max_exp when an issued token's exp passes it, so that the ring
// is written at most about once per hour of issuance rather than once per token.
const maxExpSlack = time.Hour

// ringKey is one signing key as stored in the ring. Keys are immutable once created except
// for the bookkeeping times.
type ringKey struct {
	KID       string    `json:"kid"`
	Alg       string    `json:"alg"`
	CreatedAt time.Time `json:"created_at"`
	// RetiredAt is when the key stopped signing; zero for the current key.
	RetiredAt time.Time `json:"retired_at,omitzero"`
	// VerifyUntil is when a retired key stops being published and accepted.
	VerifyUntil time.Time `json:"verify_until,omitzero"`
	// MaxExp bounds the exp of every token this key may have signed.
	MaxExp time.Time `json:"max_exp,omitzero"`
	// PrivateJWK is the private key as JWK JSON (with kid, alg, use).
	PrivateJWK json.RawMessage `json:"private_jwk"`
}

// keyRing is the stored ring. Current names the signing key; Keys is newest first.
// A *keyRing obtained from loadRing is shared and must not be modified; use clone.
type keyRing struct {
	Current string    `json:"current"`
	Keys    []ringKey `json:"keys"`
}

func (r *keyRing) clone() *keyRing {
	c := &keyRing{Current: r.Current, Keys: make([]ringKey, len(r.Keys))}
	copy(c.Keys, r.Keys)
	return c
}

// current returns the signing key, or nil when the ring is empty.
func (r *keyRing) current() *ringKey {
	return r.find(r.Current)
}

func (r *keyRing) find(kid string) *ringKey {
	if kid == "" {
		return nil
	}
	for i := range r.Keys {
		if r.Keys[i].KID == kid {
			return &r.Keys[i]
		}
	}
	return nil
}

// published reports whether k is in the JWKS and accepted by Verify at now: the current
// key always, a retired key until its VerifyUntil.
func (r *keyRing) published(k *ringKey, now time.Time) bool {
	return k.KID == r.Current || now.Before(k.VerifyUntil)
}

// needsRotation reports whether the current key must be replaced under cfg at now.
func needsRotation(cur *ringKey, cfg Config, now time.Time) bool {
	return cur.Alg != cfg.Algorithm || !now.Before(cur.CreatedAt.Add(cfg.RotationPeriod))
}

// rotate makes nk the current key. The previous key stays verifiable for the overlap, and
// in any case until every token it signed has expired.
func (r *keyRing) rotate(nk ringKey, now time.Time, overlap time.Duration) {
	if old := r.current(); old != nil {
		old.RetiredAt = now
		old.VerifyUntil = now.Add(overlap)
		if old.MaxExp.After(old.VerifyUntil) {
			old.VerifyUntil = old.MaxExp
		}
	}
	r.Keys = append([]ringKey{nk}, r.Keys...)
	r.Current = nk.KID
}

// prune drops retired keys whose VerifyUntil has passed and reports whether any were.
func (r *keyRing) prune(now time.Time) bool {
	kept := r.Keys[:0:0]
	for _, k := range r.Keys {
		if k.KID != r.Current && !now.Before(k.VerifyUntil) {
			continue
		}
		kept = append(kept, k)
	}
	pruned := len(kept) != len(r.Keys)
	r.Keys = kept
	return pruned
}

// parsedKey is a ring key ready to sign and verify. Cached by kid: a kid is the thumbprint
// of the key material, so an entry can never go stale.
type parsedKey struct {
	kid    string
	alg    string
	signer jose.Signer
	// public is the verification key with kid, alg and use set, as published in the JWKS.
	public jose.JSONWebKey
}

// generateKey creates a new signing key for alg.
func (p *Provider) generateKey(alg string, now time.Time) (ringKey, *parsedKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case AlgES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), p.rand)
	case AlgEdDSA:
		_, priv, err = ed25519.GenerateKey(p.rand)
	case AlgRS256:
		priv, err = rsa.GenerateKey(p.rand, 2048)
	default:
		return ringKey{}, nil, fmt.Errorf("unsupported algorithm %q", alg)
	}
	if err != nil {
		return ringKey{}, nil, fmt.Errorf("generating %s key: %w", alg, err)
	}
	jwk := jose.JSONWebKey{Key: priv, Algorithm: alg, Use: "sig"}
	kid, err := jwkThumbprint(jwk.Public())
	if err != nil {
		return ringKey{}, nil, err
	}
	jwk.KeyID = kid
	privJSON, err := jwk.MarshalJSON()
	if err != nil {
		return ringKey{}, nil, fmt.Errorf("encoding %s key: %w", alg, err)
	}
	pk, err := newParsedKey(jwk, alg)
	if err != nil {
		return ringKey{}, nil, err
	}
	return ringKey{KID: kid, Alg: alg, CreatedAt: now.UTC(), PrivateJWK: privJSON}, pk, nil
}

// jwkThumbprint is the kid of a public key: its RFC 7638 thumbprint, computed by the same
// code that checks callers' proof-of-possession keys.
func jwkThumbprint(pub jose.JSONWebKey) (string, error) {
	pubJSON, err := pub.MarshalJSON()
	if err != nil {
		return "", fmt.Errorf("encoding public key: %w", err)
	}
	return Thumbprint(pubJSON)
}

func newParsedKey(jwk jose.JSONWebKey, alg string) (*parsedKey, error) {
	ok := false
	switch jwk.Key.(type) {
	case *ecdsa.PrivateKey:
		ok = alg == AlgES256
	case ed25519.PrivateKey:
		ok = alg == AlgEdDSA
	case *rsa.PrivateKey:
		ok = alg == AlgRS256
	}
	if !ok {
		return nil, fmt.Errorf("key %s does not match algorithm %s", jwk.KeyID, alg)
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: jwk}, // kid header from jwk.KeyID
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return nil, fmt.Errorf("preparing signer for key %s: %w", jwk.KeyID, err)
	}
	pub := jwk.Public()
	pub.KeyID, pub.Algorithm, pub.Use = jwk.KeyID, alg, "sig"
	return &parsedKey{kid: jwk.KeyID, alg: alg, signer: signer, public: pub}, nil
}

// parsed returns the cached parsed form of k, parsing and checking it on first use.
func (p *Provider) parsed(k *ringKey) (*parsedKey, error) {
	p.cacheMu.Lock()
	pk := p.keys[k.KID]
	p.cacheMu.Unlock()
	if pk != nil && pk.alg == k.Alg {
		return pk, nil
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(k.PrivateJWK); err != nil {
		return nil, fmt.Errorf("decoding key %s: %w", k.KID, err)
	}
	if jwk.IsPublic() || !jwk.Valid() {
		return nil, fmt.Errorf("key %s in the ring is not a private key", k.KID)
	}
	kid, err := jwkThumbprint(jwk.Public())
	if err != nil {
		return nil, err
	}
	if kid != k.KID {
		return nil, fmt.Errorf("key %s in the ring does not match its kid", k.KID)
	}
	jwk.KeyID = kid
	pk, err = newParsedKey(jwk, k.Alg)
	if err != nil {
		return nil, err
	}
	p.cacheMu.Lock()
	p.keys[kid] = pk
	p.cacheMu.Unlock()
	return pk, nil
}

// loadRing returns the ring, from storage on first use and from memory after that (see
// Provider.cacheMu for why that is current). The result is shared: do not modify it (use
// clone).
func (p *Provider) loadRing(ctx context.Context, s logical.Storage) (*keyRing, error) {
	p.cacheMu.Lock()
	if p.ringValid {
		r := p.ring
		p.cacheMu.Unlock()
		return r, nil
	}
	generation := p.ringGen
	p.cacheMu.Unlock()

	entry, err := s.Get(ctx, RingPath)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", RingPath, err)
	}
	r := &keyRing{}
	if entry != nil && len(entry.Value) > 0 {
		if err := json.Unmarshal(entry.Value, r); err != nil {
			return nil, fmt.Errorf("decoding %s: %w", RingPath, err)
		}
		if r.Current != "" && r.current() == nil {
			return nil, fmt.Errorf("%s: current key %s is missing from the ring", RingPath, r.Current)
		}
	}
	p.cacheMu.Lock()
	defer p.cacheMu.Unlock()
	if p.ringGen == generation {
		p.remember(r)
	}
	return r, nil
}

// remember caches a ring and forgets parsed keys that left it. Caller holds cacheMu.
func (p *Provider) remember(r *keyRing) {
	p.ring, p.ringValid = r, true
	for kid := range p.keys {
		if r.find(kid) == nil {
			delete(p.keys, kid)
		}
	}
}

// storeRing writes r and caches it.
func (p *Provider) storeRing(ctx context.Context, s logical.Storage, r *keyRing) error {
	raw, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", RingPath, err)
	}
	p.cacheMu.Lock()
	p.ringGen++ // reads in flight may hold the ring this write replaces
	p.ringValid = false
	p.cacheMu.Unlock()
	if err := s.Put(ctx, &logical.StorageEntry{Key: RingPath, Value: raw, SealWrap: true}); err != nil {
		return fmt.Errorf("writing %s: %w", RingPath, err)
	}
	p.cacheMu.Lock()
	p.ringGen++
	p.remember(r)
	p.cacheMu.Unlock()
	return nil
}

// signingKey returns the key to sign a token expiring at exp, creating or rotating the
// current key when it is missing, of another algorithm, or past its rotation period, and
// raising its max_exp before the token exists so that no rotation can retire the key too
// early. The common case touches no storage.
func (p *Provider) signingKey(ctx context.Context, s logical.Storage, cfg Config, now, exp time.Time) (*parsedKey, error) {
	r, err := p.loadRing(ctx, s)
	if err != nil {
		return nil, err
	}
	if cur := r.current(); cur != nil && !needsRotation(cur, cfg, now) && !exp.After(cur.MaxExp) {
		return p.parsed(cur)
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	r, err = p.loadRing(ctx, s) // again, under the lock
	if err != nil {
		return nil, err
	}
	r = r.clone()
	var fresh *parsedKey
	if cur := r.current(); cur == nil || needsRotation(cur, cfg, now) {
		nk, pk, err := p.generateKey(cfg.Algorithm, now)
		if err != nil {
			return nil, err
		}
		r.rotate(nk, now, cfg.VerificationOverlap)
		fresh = pk
	}
	cur := r.current()
	changed := fresh != nil
	if exp.After(cur.MaxExp) {
		cur.MaxExp = exp.Add(maxExpSlack).UTC()
		changed = true
	}
	if changed {
		r.prune(now)
		if err := p.storeRing(ctx, s, r); err != nil {
			return nil, err
		}
	}
	if fresh != nil {
		p.cacheMu.Lock()
		p.keys[fresh.kid] = fresh
		p.cacheMu.Unlock()
		return fresh, nil
	}
	return p.parsed(cur)
}
