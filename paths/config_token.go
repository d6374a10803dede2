package paths

import (
	"context"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers/token"
)

const configTokenHelpSyn = `Configure the built-in workload-token issuer.`

const configTokenHelpDesc = `
issuer is the URL relying parties see in iss and under which they find
.well-known/openid-configuration and jwks: normally Vault's API address plus
/v1/<mount>. algorithm is ES256 (default), EdDSA or RS256; changing it rotates to a
new key at once. Keys rotate every rotation_period; a retired key stays published for
verification until every token it signed has expired, and at least
verification_overlap. Signing keys live in seal-wrapped storage and are never returned.
`

func configTokenPath(d *Deps) *framework.Path {
	h := &configTokenHandler{deps: d}
	return &framework.Path{
		Pattern: "config/token",
		Fields: map[string]*framework.FieldSchema{
			"issuer":               {Type: framework.TypeString, Description: "Issuer URL (iss)."},
			"algorithm":            {Type: framework.TypeString, Description: "ES256 (default), EdDSA or RS256."},
			"rotation_period":      {Type: framework.TypeDurationSecond, Description: "How often the signing key rotates (default 24h)."},
			"verification_overlap": {Type: framework.TypeDurationSecond, Description: "Least time a retired key stays published (default 1h)."},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation:   &framework.PathOperation{Callback: h.read, Summary: "Read the token issuer configuration."},
			logical.UpdateOperation: forwardedOp(h.write, "Update the token issuer configuration."),
		},
		HelpSynopsis:    configTokenHelpSyn,
		HelpDescription: configTokenHelpDesc,
	}
}

type configTokenHandler struct{ deps *Deps }

func (h *configTokenHandler) read(ctx context.Context, req *logical.Request, data *framework.FieldData) (*logical.Response, error) {
	cfg, err := token.LoadConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"issuer":               cfg.Issuer,
		"algorithm":            cfg.Algorithm,
		"rotation_period":      int64(cfg.RotationPeriod.Seconds()),
		"verification_overlap": int64(cfg.VerificationOverlap.Seconds()),
	}}, nil
}

func (h *configTokenHandler) write(ctx context.Context, req *logical.Request, data *framework.FieldData) (*logical.Response, error) {
	cfg, err := token.LoadConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if v, ok := data.GetOk("issuer"); ok {
		cfg.Issuer = v.(string)
	}
	if v, ok := data.GetOk("algorithm"); ok {
		cfg.Algorithm = v.(string)
	}
	if v, ok := data.GetOk("rotation_period"); ok {
		cfg.RotationPeriod = time.Duration(v.(int)) * time.Second
	}
	if v, ok := data.GetOk("verification_overlap"); ok {
		cfg.VerificationOverlap = time.Duration(v.(int)) * time.Second
	}
	if err := cfg.Validate(); err != nil {
		return errorResponse(err)
	}
	if err := h.deps.Token.SaveConfig(ctx, req.Storage, cfg); err != nil {
		return errorResponse(err)
	}
	// Brings the key ring in line with the new algorithm now rather than at the next tick.
	if _, err := h.deps.Token.Rotate(ctx, req.Storage, false); err != nil {
		return nil, err
	}
	return nil, nil
}
