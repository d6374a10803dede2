package token

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/hashicorp/vault/sdk/logical"
)

// maxTokenBytes bounds what Verify will parse. The largest token Issue can produce (20
// extra claims of 1 KiB, RS256) is far smaller.
const maxTokenBytes = 64 << 10

// NotBeforeLeeway tolerates clock differences between the node that issued a token and the
// node verifying it for nbf only. Expiry is enforced without leeway.
const NotBeforeLeeway = 30 * time.Second

// supportedAlgs are the only algorithms a token may name; anything else ("none", HS256,
// ...) is refused before any key is looked at.
var supportedAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA, jose.RS256}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidToken, fmt.Sprintf(format, args...))
}

// Verify checks a token issued by this provider: compact JWS, typ JWT, a kid naming a key in
// the ring that is current or retired-but-published, the header alg equal to that key's alg,
// a valid signature, and iss equal to the configured issuer. It then checks time: on
// ErrExpired (now >= exp) or ErrNotYetValid (now < nbf - NotBeforeLeeway) the parsed claims
// are returned with the error. Every other failure is ErrInvalidToken wrapped with a reason
// for logs (match it with errors.Is; do not show the reason to the token's presenter). Storage failures are returned as they are. Revocation is
// not checked here: that is the credential record's job.
func (p *Provider) Verify(ctx context.Context, s logical.Storage, token string) (*Claims, error) {
	if len(token) == 0 {
		return nil, invalid("empty token")
	}
	if len(token) > maxTokenBytes {
		return nil, invalid("token is longer than %d bytes", maxTokenBytes)
	}
	for i := 0; i < len(token); i++ {
		c := token[i]
		// The decoder skips CR/LF; refuse them so a token has one spelling.
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return nil, invalid("not a compact JWS")
		}
	}
	jws, err := jose.ParseSignedCompact(token, supportedAlgs)
	if err != nil {
		return nil, invalid("%v", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, invalid("expected exactly one signature")
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "JWT" {
		return nil, invalid(`header typ must be "JWT"`)
	}
	if h.KeyID == "" {
		return nil, invalid("header has no kid")
	}

	cfg, err := p.loadConfig(ctx, s)
	if err != nil {
		return nil, err
	}
	r, err := p.loadRing(ctx, s)
	if err != nil {
		return nil, err
	}
	now := p.clock()
	k := r.find(h.KeyID)
	if k == nil || !r.published(k, now) {
		return nil, invalid("unknown signing key %q", h.KeyID)
	}
	if h.Algorithm != k.Alg {
		return nil, invalid("header alg %q does not match key %s (%s)", h.Algorithm, k.KID, k.Alg)
	}
	pk, err := p.parsed(k)
	if err != nil {
		return nil, err
	}
	payload, err := jws.Verify(&pk.public)
	if err != nil {
		return nil, invalid("signature does not verify")
	}
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, invalid("malformed claims: %v", err)
	}
	if cfg.Issuer == "" || c.Issuer != cfg.Issuer {
		return nil, invalid("issuer %q is not this engine's (%q)", c.Issuer, cfg.Issuer)
	}
	if c.Expiry == 0 || c.ID == "" {
		return nil, invalid("exp and jti are required")
	}
	// The time errors are the bare sentinels (== and errors.Is both work); the claims
	// returned with them carry exp and nbf.
	if now.Unix() >= c.Expiry {
		return &c, ErrExpired
	}
	if now.Add(NotBeforeLeeway).Unix() < c.NotBefore {
		return &c, ErrNotYetValid
	}
	return &c, nil
}
