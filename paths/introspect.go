package paths

import (
	"context"
	"strings"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/store"
)

const introspectHelpSyn = `Check whether a workload token is active (RFC 7662 style).`

const introspectHelpDesc = `
Send token. The answer has active=false for a token that is malformed, not signed by
this engine, expired, or whose credential was revoked; otherwise active=true with the
RFC 7662 members (iss, sub, aud, exp, iat, nbf, jti, scope) plus task, sensitivity,
role and destinations.
`

func introspectPath(d *Deps) *framework.Path {
	h := &introspectHandler{deps: d}
	return &framework.Path{
		Pattern: "introspect",
		Fields: map[string]*framework.FieldSchema{
			"token": {Type: framework.TypeString, Required: true, Description: "The token to check."},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: &framework.PathOperation{Callback: h.introspect, Summary: "Introspect a workload token."},
		},
		HelpSynopsis:    introspectHelpSyn,
		HelpDescription: introspectHelpDesc,
	}
}

type introspectHandler struct{ deps *Deps }

func (h *introspectHandler) introspect(ctx context.Context, req *logical.Request, data *framework.FieldData) (*logical.Response, error) {
	raw := strings.TrimSpace(data.Get("token").(string))
	if raw == "" {
		return badRequest("token: required")
	}
	inactive := &logical.Response{Data: map[string]any{"active": false}}
	claims, err := h.deps.Token.Verify(ctx, req.Storage, raw)
	if err != nil {
		return inactive, nil
	}
	record, err := store.GetRecord(ctx, req.Storage, claims.ID)
	if err != nil {
		return nil, err
	}
	if record == nil || record.StatusAt(h.deps.now()) != store.StatusActive {
		return inactive, nil
	}
	return &logical.Response{Data: map[string]any{
		"active":       true,
		"token_type":   "Bearer",
		"iss":          claims.Issuer,
		"sub":          claims.Subject,
		"aud":          claims.Audience,
		"exp":          claims.Expiry,
		"iat":          claims.IssuedAt,
		"nbf":          claims.NotBefore,
		"jti":          claims.ID,
		"scope":        strings.Join(claims.NHI.Actions, " "),
		"task":         claims.NHI.Task,
		"sensitivity":  claims.NHI.Sensitivity,
		"role":         claims.NHI.Role,
		"destinations": claims.NHI.Destinations,
	}}, nil
}
