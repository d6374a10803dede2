package paths

import (
	"context"
	"net/http"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

const jwksHelpSyn = `Public keys and discovery metadata for verifying workload tokens.`

const jwksHelpDesc = `
jwks serves the RFC 7517 key set (current and still-published retired keys) and
.well-known/openid-configuration the OpenID Provider Metadata for the configured
issuer. Both are unauthenticated so relying parties can verify tokens offline.
`

// UnauthenticatedPaths lists the paths relying parties read without a Vault token.
// ingest authenticates its caller by the mount's own signature instead of a token.
var UnauthenticatedPaths = []string{"jwks", ".well-known/openid-configuration", "ingest"}

func jwksPaths(d *Deps) []*framework.Path {
	h := &jwksHandler{deps: d}
	return []*framework.Path{
		{
			Pattern: "jwks",
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ReadOperation: &framework.PathOperation{Callback: h.jwks, Summary: "Read the token verification keys (JWKS)."},
			},
			HelpSynopsis:    jwksHelpSyn,
			HelpDescription: jwksHelpDesc,
		},
		{
			Pattern: `\.well-known/openid-configuration`,
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ReadOperation: &framework.PathOperation{Callback: h.discovery, Summary: "Read the OpenID Provider Metadata."},
			},
			HelpSynopsis:    jwksHelpSyn,
			HelpDescription: jwksHelpDesc,
		},
	}
}

type jwksHandler struct{ deps *Deps }

func (h *jwksHandler) jwks(ctx context.Context, req *logical.Request, data *framework.FieldData) (*logical.Response, error) {
	body, err := h.deps.Token.JWKS(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return rawJSON(body, "application/jwk-set+json"), nil
}

func (h *jwksHandler) discovery(ctx context.Context, req *logical.Request, data *framework.FieldData) (*logical.Response, error) {
	body, err := h.deps.Token.Discovery(ctx, req.Storage)
	if err != nil {
		return errorResponse(err)
	}
	return rawJSON(body, "application/json"), nil
}

// rawJSON answers with a plain JSON document instead of Vault's response envelope, as
// JOSE and OIDC clients expect.
func rawJSON(body []byte, contentType string) *logical.Response {
	return &logical.Response{Data: map[string]any{
		logical.HTTPContentType: contentType,
		logical.HTTPRawBody:     body,
		logical.HTTPStatusCode:  http.StatusOK,
	}}
}
