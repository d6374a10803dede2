package token

import (
	"context"
	"encoding/json"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/hashicorp/vault/sdk/logical"
)

// JWKS returns the RFC 7517 key set relying parties verify tokens with: the public part of
// the current key and of every retired key still within its verify_until, newest first,
// each with kid, alg and use "sig". It never creates a key and never writes; before the
// first issuance it returns {"keys":[]}.
func (p *Provider) JWKS(ctx context.Context, s logical.Storage) ([]byte, error) {
	r, err := p.loadRing(ctx, s)
	if err != nil {
		return nil, err
	}
	now := p.clock()
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for i := range r.Keys {
		k := &r.Keys[i]
		if !r.published(k, now) {
			continue
		}
		pk, err := p.parsed(k)
		if err != nil {
			return nil, err
		}
		set.Keys = append(set.Keys, pk.public)
	}
	return json.Marshal(set)
}

// claimsSupported lists the claims a token may carry besides a role's extra claims.
var claimsSupported = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "nhi", "cnf"}

// discovery is the OpenID Provider Metadata this engine can honestly state.
type discovery struct {
	Issuer                           string   `json:"issuer"`
	JWKSURI                          string   `json:"jwks_uri"`
	IntrospectionEndpoint            string   `json:"introspection_endpoint"`
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
	ResponseTypesSupported           []string `json:"response_types_supported"`
	SubjectTypesSupported            []string `json:"subject_types_supported"`
	ClaimsSupported                  []string `json:"claims_supported"`
}

// Discovery returns OpenID Provider Metadata for the configured issuer. The signing
// algorithms are the configured one followed by those of other published keys (after an
// algorithm change both are in use until the old key retires). It returns an error wrapping
// providers.ErrNotConfigured when no issuer is set.
func (p *Provider) Discovery(ctx context.Context, s logical.Storage) ([]byte, error) {
	cfg, err := p.loadConfig(ctx, s)
	if err != nil {
		return nil, err
	}
	if err := requireIssuer(cfg); err != nil {
		return nil, err
	}
	r, err := p.loadRing(ctx, s)
	if err != nil {
		return nil, err
	}
	now := p.clock()
	algs := []string{cfg.Algorithm}
	for i := range r.Keys {
		k := &r.Keys[i]
		if r.published(k, now) && !contains(algs, k.Alg) {
			algs = append(algs, k.Alg)
		}
	}
	return json.Marshal(discovery{
		Issuer:                           cfg.Issuer,
		JWKSURI:                          cfg.Issuer + "/jwks",
		IntrospectionEndpoint:            cfg.Issuer + "/introspect",
		IDTokenSigningAlgValuesSupported: algs,
		ResponseTypesSupported:           []string{"id_token"},
		SubjectTypesSupported:            []string{"public"},
		ClaimsSupported:                  claimsSupported,
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
