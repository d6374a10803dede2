package paths

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/backend/drift"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/backend/intent"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/store"
)

const observeHelpSyn = `Report evidence of how credentials were actually used; get drift verdicts.`

const observeHelpDesc = `
Send one event's fields at the top level, or a batch as events (a list of objects, or
a JSON string of one). Each event names the credential (credential_id, or the cloud's
access_key_id / client id), the action, the concrete resource, and optionally
source_ip, time (RFC 3339), outcome (success, denied, error), source (cloudtrail,
workload, gateway, ...), event_id and encryption. The whole batch is refused with the
field at fault when any event is malformed or names an unknown credential; nothing is
stored then.

Each event is judged against the intent approved at issuance: action or resource
outside it, an unexpected source address, use outside the role's time windows, use
after revocation or expiry, escalation attempts, volume far above the role's norm,
and posture drift. The answer has drift (bool), max_severity, max_severity_level
(0 none .. 5 critical) and the findings; each finding is stored (drift/) and adds a
one-line warning, so it reaches the audit log. With drift_action=revoke on the role,
a high or critical finding revokes the credential at once.
`

func observePath(d *Deps) *framework.Path {
	h := &observeHandler{deps: d}
	fields := map[string]*framework.FieldSchema{
		"events": {Type: framework.TypeSlice, Description: "Batch of events (objects with the fields below)."},
	}
	for name, desc := range map[string]string{
		"credential_id": "Credential id.", "access_key_id": "Cloud key id (AWS access key id, Azure client id).",
		"session_name": "AWS role session name.", "action": "Action taken.", "resource": "Concrete resource.",
		"source_ip": "Address the credential was used from.", "time": "When (RFC 3339).",
		"outcome": "success, denied or error.", "source": "Who reports: cloudtrail, workload, gateway, ...",
		"event_id": "The reporter's event id.", "encryption": "Server-side encryption a write asked for (e.g. sse-c).",
	} {
		fields[name] = &framework.FieldSchema{Type: framework.TypeString, Description: desc}
	}
	return &framework.Path{
		Pattern: "observe",
		Fields:  fields,
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: forwardedOp(h.observe, "Ingest evidence of credential use and return drift verdicts."),
		},
		HelpSynopsis:    observeHelpSyn,
		HelpDescription: observeHelpDesc,
	}
}

type observeHandler struct{ deps *Deps }

func (h *observeHandler) observe(ctx context.Context, req *logical.Request, data *framework.FieldData) (*logical.Response, error) {
	body, err := observeBody(req.Data)
	if err != nil {
		return errorResponse(err)
	}
	return h.deps.judgeBatch(ctx, req.Storage, body)
}

// judgeBatch decodes a batch of evidence, matches it to credentials, judges it and
// answers with the verdicts: observe and the collectors' ingest share it.
func (d *Deps) judgeBatch(ctx context.Context, s logical.Storage, body map[string]any) (*logical.Response, error) {
	events, err := drift.DecodeBatchAt(body, d.now())
	if err != nil {
		return errorResponse(err)
	}
	uses, err := resolveUses(ctx, s, events)
	if err != nil {
		return errorResponse(err)
	}
	v, err := d.judgeAndRecord(ctx, s, uses)
	if err != nil {
		return nil, err
	}
	findings := make([]map[string]any, len(v.findings))
	for i, f := range v.findings {
		findings[i] = findingData(f)
	}
	resp := &logical.Response{Data: map[string]any{
		"drift":              len(v.findings) > 0,
		"events":             len(events),
		"max_severity":       v.max.String(),
		"max_severity_level": int(v.max),
		"findings":           findings,
	}}
	addFindingWarnings(resp, v.findings)
	return resp, nil
}

// observeBody accepts events as Vault clients send them: a list (API) or a JSON string
// (CLI `events=@batch.json`).
func observeBody(raw map[string]any) (map[string]any, error) {
	text, ok := raw["events"].(string)
	if !ok {
		return raw, nil
	}
	var events []any
	if err := json.Unmarshal([]byte(strings.TrimSpace(text)), &events); err != nil {
		return nil, &intent.FieldError{Field: "events", Reason: "must be a list of event objects: " + err.Error()}
	}
	body := make(map[string]any, len(raw))
	for k, v := range raw {
		body[k] = v
	}
	body["events"] = events
	return body, nil
}

// resolve matches every event to its credential record; one unknown credential refuses
// the whole batch, so a caller never gets a partial verdict it might take for complete.
func resolveUses(ctx context.Context, s logical.Storage, events []drift.Event) ([]judgedUse, error) {
	cache := map[string]*store.Record{}
	uses := make([]judgedUse, len(events))
	for i, ev := range events {
		field := "credential_id"
		id := ev.CredentialID
		if id == "" {
			field = "access_key_id"
			var err error
			if id, err = store.CredentialIDForKey(ctx, s, ev.AccessKeyID); err != nil {
				return nil, err
			}
		}
		field = fmt.Sprintf("events[%d].%s", i, field)
		record, ok := cache[id]
		if !ok && id != "" {
			var err error
			if record, err = store.GetRecord(ctx, s, id); err != nil {
				return nil, err
			}
			cache[id] = record
		}
		if record == nil {
			return nil, &intent.FieldError{Field: field, Reason: "names no credential of this engine"}
		}
		uses[i] = judgedUse{event: ev, record: record}
	}
	return uses, nil
}
