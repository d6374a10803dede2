package paths

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/backend/drift"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/backend/intent"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers/token"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/store"
)

const authorizeHelpSyn = `Decide whether a credential may do an action on a resource now.`

const authorizeHelpDesc = `
Workloads and gateways ask before acting: send token (a workload token) or
credential_id, the action, the resource and optionally source_ip. The answer is
allowed (bool) and reasons (every check that failed: revoked, expired, action or
resource outside the approved intent, address outside the role's networks, outside
its time windows). A refusal also adds a warning, which audit devices never hash.
`

func authorizePath(d *Deps) *framework.Path {
	h := &authorizeHandler{deps: d}
	return &framework.Path{
		Pattern: "authorize",
		Fields: map[string]*framework.FieldSchema{
			"token":         {Type: framework.TypeString, Description: "A workload token (or use credential_id)."},
			"credential_id": {Type: framework.TypeString, Description: "A credential id (or use token)."},
			"action":        {Type: framework.TypeString, Required: true, Description: "The action about to be taken (read, write, list, delete or a native name)."},
			"resource":      {Type: framework.TypeString, Required: true, Description: "The concrete resource URI."},
			"source_ip":     {Type: framework.TypeString, Description: "Address the credential is used from."},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: &framework.PathOperation{Callback: h.authorize, Summary: "Authorize one use of a credential."},
		},
		HelpSynopsis:    authorizeHelpSyn,
		HelpDescription: authorizeHelpDesc,
	}
}

type authorizeHandler struct{ deps *Deps }

func (h *authorizeHandler) authorize(ctx context.Context, req *logical.Request, data *framework.FieldData) (*logical.Response, error) {
	rawToken := strings.TrimSpace(data.Get("token").(string))
	id := strings.TrimSpace(data.Get("credential_id").(string))
	action := strings.TrimSpace(data.Get("action").(string))
	resource := strings.TrimSpace(data.Get("resource").(string))
	switch {
	case rawToken == "" && id == "":
		return badRequest("token or credential_id: one is required")
	case rawToken != "" && id != "":
		return badRequest("token and credential_id: send only one")
	case action == "":
		return badRequest("action: required")
	case resource == "":
		return badRequest("resource: required")
	case id != "" && !store.ValidCredentialID(id):
		return badRequest("credential_id: %q is not a credential id", id)
	}
	var source netip.Addr
	if raw := strings.TrimSpace(data.Get("source_ip").(string)); raw != "" {
		addr, err := netip.ParseAddr(raw)
		if err != nil {
			return badRequest("source_ip: %q is not an IP address", raw)
		}
		source = addr.Unmap()
	}

	var reasons []string
	if rawToken != "" {
		claims, err := h.deps.Token.Verify(ctx, req.Storage, rawToken)
		switch {
		case errors.Is(err, token.ErrExpired):
			// Still judged against its record below, which reports the expiry.
		case err != nil:
			return h.deny("", []string{"token is not a valid token of this engine"}), nil
		}
		id = claims.ID
	}
	record, err := store.GetRecord(ctx, req.Storage, id)
	if err != nil {
		return nil, err
	}
	if record == nil {
		return h.deny(id, []string{fmt.Sprintf("credential %q is unknown", id)}), nil
	}
	in, err := recordIntent(record)
	if err != nil {
		return nil, fmt.Errorf("credential %s: %w", record.ID, err)
	}
	now := h.deps.now()
	allowed, useReasons := intent.CheckUseIn(drift.Vocabulary{}, in, action, resource, source, now)
	reasons = append(reasons, useReasons...)
	if !allowed {
		return h.denyAndRecord(ctx, req.Storage, record, reasons, drift.Event{
			CredentialID: record.ID, Action: action, Resource: resource, SourceIP: source,
			Time: now, Outcome: drift.OutcomeDenied, Source: drift.SourceAuthorize,
		})
	}
	return &logical.Response{Data: map[string]any{
		"allowed":       true,
		"reasons":       []string{},
		"credential_id": record.ID,
	}}, nil
}

func (h *authorizeHandler) deny(id string, reasons []string) *logical.Response {
	resp := &logical.Response{Data: map[string]any{
		"allowed":       false,
		"reasons":       reasons,
		"credential_id": id,
	}}
	resp.AddWarning(fmt.Sprintf("authorize refused credential %s: %s", id, strings.Join(reasons, "; ")))
	return resp
}

// denyAndRecord refuses and judges the refused use as drift evidence, so what a gateway
// was stopped from doing is recorded (and enforced) like any other observed use.
func (h *authorizeHandler) denyAndRecord(ctx context.Context, s logical.Storage, record *store.Record, reasons []string, ev drift.Event) (*logical.Response, error) {
	resp := h.deny(record.ID, reasons)
	if drift.CheckResource(ev.Resource) != nil {
		// A resource the rules cannot parse is refused above; there is nothing to judge.
		return resp, nil
	}
	v, err := h.deps.judgeAndRecord(ctx, s, []judgedUse{{event: ev, record: record}})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(v.findings))
	for i, f := range v.findings {
		ids[i] = f.ID
	}
	resp.Data["finding_ids"] = ids
	if len(ids) > 0 {
		resp.Data["finding_id"] = ids[0]
		resp.Data["max_severity_level"] = int(v.max)
	}
	addFindingWarnings(resp, v.findings)
	return resp, nil
}

// recordIntent rebuilds the approved intent from a record, as it stood at issuance.
func recordIntent(r *store.Record) (intent.Intent, error) {
	in := intent.Intent{ExpiresAt: r.ExpiresAt, Revoked: r.Status == store.StatusRevoked || r.Status == store.StatusRolledBack}
	for _, d := range r.Destinations {
		p, err := intent.ParsePattern(d)
		if err != nil {
			return in, err
		}
		in.Destinations = append(in.Destinations, p)
	}
	for _, a := range r.Actions {
		act, err := intent.ParseAction(a)
		if err != nil {
			return in, err
		}
		in.Actions = append(in.Actions, act)
	}
	for _, w := range r.TimeWindows {
		tw, err := intent.ParseTimeWindow(w)
		if err != nil {
			return in, err
		}
		in.Schedule.Windows = append(in.Schedule.Windows, tw)
	}
	var err error
	if in.Schedule.NotBefore, err = parseOptionalTime(r.NotBefore); err != nil {
		return in, err
	}
	if in.Schedule.NotAfter, err = parseOptionalTime(r.NotAfter); err != nil {
		return in, err
	}
	for _, c := range r.BoundCIDRs {
		prefix, err := intent.ParseCIDR(c)
		if err != nil {
			return in, err
		}
		in.CIDRs = append(in.CIDRs, prefix)
	}
	return in, nil
}

func parseOptionalTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339, s)
}
