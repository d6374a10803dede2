package paths

import (
	"context"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/store"
)

const credentialsHelpSyn = `Read the approved intent and live status of issued credentials.`

const credentialsHelpDesc = `
Operators list credential ids (paged with after and limit) and read one record: the
approved intent, who asked, from where, when, the provider reference and the status
(active, revoked, expired, rolled_back). Records never hold secret material. They are
kept for the retention period after expiry (config/drift retention, default 7 days).
`

func credentialPaths(d *Deps) []*framework.Path {
	h := &credentialsHandler{deps: d}
	return []*framework.Path{
		{
			Pattern: "credentials/" + framework.GenericNameRegex("id"),
			Fields: map[string]*framework.FieldSchema{
				"id": {Type: framework.TypeString, Required: true, Description: "Credential id."},
			},
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ReadOperation: &framework.PathOperation{Callback: h.read, Summary: "Read one credential record."},
			},
			HelpSynopsis:    credentialsHelpSyn,
			HelpDescription: credentialsHelpDesc,
		},
		{
			Pattern: "credentials/?$",
			Fields: map[string]*framework.FieldSchema{
				"after": {Type: framework.TypeString, Query: true, Description: "List ids after this one."},
				"limit": {Type: framework.TypeInt, Query: true, Default: 1000, Description: "At most this many ids (1-10000)."},
			},
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ListOperation: &framework.PathOperation{Callback: h.list, Summary: "List credential ids."},
			},
			HelpSynopsis:    credentialsHelpSyn,
			HelpDescription: credentialsHelpDesc,
		},
	}
}

type credentialsHandler struct{ deps *Deps }

func (h *credentialsHandler) read(ctx context.Context, req *logical.Request, data *framework.FieldData) (*logical.Response, error) {
	record, err := store.GetRecord(ctx, req.Storage, data.Get("id").(string))
	if err != nil || record == nil {
		return nil, err
	}
	return &logical.Response{Data: recordData(record, h.deps.now())}, nil
}

func (h *credentialsHandler) list(ctx context.Context, req *logical.Request, data *framework.FieldData) (*logical.Response, error) {
	limit := data.Get("limit").(int)
	if limit < 1 || limit > 10000 {
		return badRequest("limit: must be between 1 and 10000")
	}
	ids, err := store.ListRecords(ctx, req.Storage, data.Get("after").(string), limit)
	if err != nil {
		return nil, err
	}
	return logical.ListResponse(ids), nil
}

func recordData(r *store.Record, now time.Time) map[string]any {
	out := map[string]any{
		"credential_id":   r.ID,
		"role":            r.Role,
		"role_revision":   r.RoleRevision,
		"provider":        r.Provider,
		"credential_type": r.CredentialType,
		"task":            r.Task,
		"destinations":    r.Destinations,
		"actions":         r.Actions,
		"sensitivity":     r.Sensitivity,
		"justification":   r.Justification,
		"entity_id":       r.EntityID,
		"entity_name":     r.EntityName,
		"display_name":    r.DisplayName,
		"source_address":  r.SourceAddr,
		"issued_at":       r.IssuedAt.Format(time.RFC3339),
		"expires_at":      r.ExpiresAt.Format(time.RFC3339),
		"provider_ref":    r.Ref,
		"status":          r.StatusAt(now),
		"drift_action":    r.DriftAction,
	}
	if !r.RevokedAt.IsZero() {
		out["revoked_at"] = r.RevokedAt.Format(time.RFC3339)
		out["revoke_reason"] = r.RevokeReason
	}
	return out
}
