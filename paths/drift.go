package paths

import (
	"context"
	"strings"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/backend/drift"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/store"
)

const driftHelpSyn = `List and read drift findings.`

const driftHelpDesc = `
Findings are what the drift rules observed about the use of a credential, with the
credential, role, task and entity, the evidence, and what the engine did (recorded,
revoked, revoke_failed). List with filters role, task, credential_id, severity (the
least severity shown), since (RFC 3339 time or a duration such as 24h) and limit.
Findings are kept for config/drift retention.
`

func driftPaths(d *Deps) []*framework.Path {
	h := &driftHandler{deps: d}
	return []*framework.Path{
		collectPath(d),
		{
			Pattern: "drift/?$",
			Fields: map[string]*framework.FieldSchema{
				"role":          {Type: framework.TypeString, Query: true, Description: "Only this role's findings."},
				"task":          {Type: framework.TypeString, Query: true, Description: "Only this task's findings."},
				"credential_id": {Type: framework.TypeString, Query: true, Description: "Only this credential's findings."},
				"severity":      {Type: framework.TypeString, Query: true, Description: "Least severity: info, low, medium, high, critical."},
				"since":         {Type: framework.TypeString, Query: true, Description: "RFC 3339 time or a duration back from now (default 24h)."},
				"limit":         {Type: framework.TypeInt, Query: true, Default: 1000, Description: "At most this many (1-10000)."},
			},
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ListOperation: &framework.PathOperation{Callback: h.list, Summary: "List drift findings, newest first."},
			},
			HelpSynopsis:    driftHelpSyn,
			HelpDescription: driftHelpDesc,
		},
		{
			Pattern: "drift/" + framework.GenericNameRegex("id"),
			Fields: map[string]*framework.FieldSchema{
				"id": {Type: framework.TypeString, Required: true, Description: "Finding id."},
			},
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ReadOperation: &framework.PathOperation{Callback: h.read, Summary: "Read one drift finding."},
			},
			HelpSynopsis:    driftHelpSyn,
			HelpDescription: driftHelpDesc,
		},
	}
}

type driftHandler struct{ deps *Deps }

func (h *driftHandler) read(ctx context.Context, req *logical.Request, data *framework.FieldData) (*logical.Response, error) {
	f, err := store.GetFinding(ctx, req.Storage, data.Get("id").(string))
	if err != nil || f == nil {
		return nil, err
	}
	return &logical.Response{Data: findingData(f)}, nil
}

func (h *driftHandler) list(ctx context.Context, req *logical.Request, data *framework.FieldData) (*logical.Response, error) {
	limit := data.Get("limit").(int)
	if limit < 1 || limit > 10000 {
		return badRequest("limit: must be between 1 and 10000")
	}
	since := h.deps.now().Add(-24 * time.Hour)
	if raw := strings.TrimSpace(data.Get("since").(string)); raw != "" {
		if t, err := time.Parse(time.RFC3339, raw); err == nil {
			since = t
		} else if d, err := time.ParseDuration(raw); err == nil && d > 0 {
			since = h.deps.now().Add(-d)
		} else {
			return badRequest("since: %q is neither an RFC 3339 time nor a positive duration", raw)
		}
	}
	least := drift.None
	if raw := strings.TrimSpace(data.Get("severity").(string)); raw != "" {
		sev, err := drift.ParseSeverity(raw)
		if err != nil {
			return badRequest("severity: %s", err)
		}
		least = sev
	}
	role, task, credential := data.Get("role").(string), data.Get("task").(string), data.Get("credential_id").(string)
	keep := func(f *store.FindingRecord) bool {
		return (role == "" || f.Role == role) && (task == "" || f.Task == task) &&
			(credential == "" || f.CredentialID == credential) && f.Level >= int(least)
	}
	found, err := store.ListFindings(ctx, req.Storage, since, keep, limit)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(found))
	info := make(map[string]any, len(found))
	for i, f := range found {
		ids[i] = f.ID
		info[f.ID] = map[string]any{
			"rule": f.Rule, "severity": f.Severity, "credential_id": f.CredentialID,
			"role": f.Role, "task": f.Task, "recorded_at": f.RecordedAt.Format(time.RFC3339),
			"enforcement": f.Enforcement, "summary": f.Summary,
		}
	}
	return logical.ListResponseWithInfo(ids, info), nil
}

const collectHelpSyn = `Run the drift collectors now.`

const collectHelpDesc = `
Reads the cloud logs (AWS CloudTrail) of active and recently ended credentials from
their checkpoints and submits the evidence through this mount's signed ingest path,
as the periodic collectors do every collector_interval. Answers how many credentials,
events, findings and submissions the run had.
`

func collectPath(d *Deps) *framework.Path {
	return &framework.Path{
		Pattern: "drift/collect",
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: forwardedOp(func(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
				result, err := d.Collect(ctx, req.Storage)
				if err != nil {
					return nil, err
				}
				return &logical.Response{Data: result}, nil
			}, "Run the collectors now."),
		},
		HelpSynopsis:    collectHelpSyn,
		HelpDescription: collectHelpDesc,
	}
}
