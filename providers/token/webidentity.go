package token

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
)

// EngineSubject is the sub of the engine's own web-identity tokens: cloud trust policies
// condition on "<issuer>:sub", so it must not change between tokens.
const EngineSubject = "nhi-engine"

// engineClaims are the claims of a token the engine presents for itself (AWS
// AssumeRoleWithWebIdentity, Azure federated credentials): a single-string aud, as those
// services expect, and no intent claims.
type engineClaims struct {
	Issuer    string `json:"iss"`
	Subject   string `json:"sub"`
	Audience  string `json:"aud"`
	IssuedAt  int64  `json:"iat"`
	NotBefore int64  `json:"nbf"`
	Expiry    int64  `json:"exp"`
	ID        string `json:"jti"`
}

// SignWebIdentity signs a short-lived token naming the engine itself, with the current
// ring key, for secretless access to a cloud that trusts this engine's issuer.
func (p *Provider) SignWebIdentity(ctx context.Context, s logical.Storage, audience string, ttl time.Duration) (string, error) {
	if audience == "" || ttl <= 0 {
		return "", fmt.Errorf("web identity token needs an audience and a positive ttl")
	}
	cfg, err := p.loadConfig(ctx, s)
	if err != nil {
		return "", err
	}
	if err := requireIssuer(cfg); err != nil {
		return "", err
	}
	now := p.clock()
	exp := now.Add(ttl)
	key, err := p.signingKey(ctx, s, cfg, now, exp)
	if err != nil {
		return "", err
	}
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return "", err
	}
	jti := base64.RawURLEncoding.EncodeToString(nonce[:])
	payload, err := json.Marshal(engineClaims{
		Issuer: cfg.Issuer, Subject: EngineSubject, Audience: audience,
		IssuedAt: now.Unix(), NotBefore: now.Unix(), Expiry: exp.Unix(), ID: jti,
	})
	if err != nil {
		return "", err
	}
	jws, err := key.signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("signing web identity token with key %s: %w", key.kid, err)
	}
	return jws.CompactSerialize()
}
