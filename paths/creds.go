package paths

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/backend/intent"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers/token"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/store"
)

const credsHelpSyn = `Issue a credential for one task's stated intent.`

const credsHelpDesc = `
The caller states its intent: task, destinations, actions, sensitivity, justification
and ttl. The engine checks, in order, that the role exists and is enabled, the caller's
identity bindings, the source CIDR, the time window, the task, that every destination
and action is granted, the sensitivity, the ttl and the quotas, and answers the first
failed check with its reason (403 for policy denials, 400 for malformed input).
Otherwise it issues a credential scoped to exactly that intent, with a lease; revoking
the lease makes the credential unusable.

Use query parameters with read, or a body with write.
`

func credsPath(d *Deps) *framework.Path {
	h := &credsHandler{deps: d}
	return &framework.Path{
		Pattern: "creds/" + framework.GenericNameRegex("role"),
		Fields: map[string]*framework.FieldSchema{
			"role":          {Type: framework.TypeString, Required: true, Description: "Role to issue from."},
			"task":          {Type: framework.TypeString, Query: true, Description: "The task this credential is for. Required."},
			"destinations":  {Type: framework.TypeCommaStringSlice, Query: true, Description: "Destination URIs or patterns. Required."},
			"actions":       {Type: framework.TypeCommaStringSlice, Query: true, Description: "Actions; default: every action granted on all destinations."},
			"sensitivity":   {Type: framework.TypeString, Query: true, Description: "public, internal (default), confidential or restricted."},
			"justification": {Type: framework.TypeString, Query: true, Description: "Why; recorded with the credential."},
			"ttl":           {Type: framework.TypeString, Query: true, Description: "Lifetime (e.g. 5m or 300); default: the role's ttl."},
			"public_key":    {Type: framework.TypeString, Query: true, Description: "token: a public JWK to bind the token to (cnf.jkt)."},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation:   forwardedOp(h.issue, "Issue a credential (intent in query parameters)."),
			logical.UpdateOperation: forwardedOp(h.issue, "Issue a credential (intent in the body)."),
		},
		HelpSynopsis:    credsHelpSyn,
		HelpDescription: credsHelpDesc,
	}
}

type credsHandler struct{ deps *Deps }

func (h *credsHandler) issue(ctx context.Context, req *logical.Request, data *framework.FieldData) (*logical.Response, error) {
	roleName := data.Get("role").(string)
	role, policy, err := h.deps.compiledRoleFor(ctx, req.Storage, roleName)
	if err != nil {
		return nil, err
	}
	if role == nil {
		return badRequest("role: unknown role %q", roleName)
	}
	provider, ok := h.deps.Providers[role.Provider]
	if !ok {
		return nil, fmt.Errorf("role %q uses provider %q, which this engine does not have", role.Name, role.Provider)
	}
	intentReq, err := intent.ParseRequest(intent.RawRequest{
		Task:          data.Get("task").(string),
		Destinations:  data.Get("destinations").([]string),
		Actions:       optionalStrings(data, "actions"),
		Sensitivity:   data.Get("sensitivity").(string),
		Justification: data.Get("justification").(string),
		TTL:           data.Get("ttl").(string),
	})
	if err != nil {
		return errorResponse(err)
	}
	publicKey := data.Get("public_key").(string)
	if publicKey != "" {
		if role.Provider != token.Name {
			return badRequest("public_key: only token credentials can be bound to a key")
		}
		if _, err := token.Thumbprint([]byte(publicKey)); err != nil {
			return errorResponse(err)
		}
	}
	// The mount's lease limit and the caller's identity are two calls into Vault; they
	// need not wait for each other.
	maxLeaseTTLs := make(chan time.Duration, 1)
	go func() { maxLeaseTTLs <- h.deps.System().MaxLeaseTTL() }()
	caller, entityName, err := h.deps.callerOf(req, len(role.BoundGroupNames) > 0)
	maxLeaseTTL := <-maxLeaseTTLs
	if err != nil {
		return nil, err
	}

	now := h.deps.now()
	decision, err := intent.Evaluate(policy, intentReq, caller, now, maxLeaseTTL)
	if err != nil {
		return errorResponse(err)
	}
	record := newRecord(role, decision, caller, entityName, req, now)
	record.Justification = intentReq.Justification
	if record.ID, err = store.NewCredentialID(); err != nil {
		return nil, err
	}
	// Only roles with a quota keep a quota index: a quota added later counts the
	// credentials issued from then on (the earlier ones end within the role's max_ttl).
	if hasQuotas(policy) {
		if err := h.reserveQuota(ctx, req.Storage, policy, decision, caller, record); err != nil {
			h.releaseQuota(ctx, req.Storage, record) // a reservation write may land and still fail
			return errorResponse(err)
		}
	}
	issued, err := h.issueWithWAL(ctx, req, provider, role, record, caller, publicKey, maxLeaseTTL)
	if err != nil {
		h.releaseQuota(ctx, req.Storage, record)
		return errorResponse(err)
	}
	return h.response(record, issued, decision, policy.MaxTTL), nil
}

// issueWithWAL follows the WAL pattern: the WAL entry exists before the provider creates
// anything, and is removed only once the record that lets the lease revoke it is stored.
// If anything fails in between, the entry stays and rollback revokes what was created.
// Credentials the provider reports as rollback-free (nothing to undo if they are never
// delivered) skip the entry; a failure after their record is stored marks it rolled back.
func (h *credsHandler) issueWithWAL(ctx context.Context, req *logical.Request, provider providers.Provider, role *store.Role, record *store.Record, caller intent.Caller, publicKey string, maxLeaseTTL time.Duration) (*providers.Issued, error) {
	info := roleInfo(role)
	rf, ok := provider.(providers.RollbackFree)
	rollbackFree := ok && rf.RollbackFree(info)
	var walID string
	if !rollbackFree {
		var err error
		walID, err = framework.PutWAL(ctx, req.Storage, h.deps.WALKindIssue, &WALIssue{
			CredentialID: record.ID, Role: role.Name, Provider: role.Provider, CreatedAt: record.IssuedAt,
		})
		if err != nil {
			return nil, fmt.Errorf("writing WAL entry: %w", err)
		}
	}
	issued, err := provider.Issue(ctx, req.Storage, providers.IssueRequest{
		CredentialID:  record.ID,
		Role:          info,
		Subject:       subjectOf(caller, req),
		Task:          record.Task,
		Destinations:  record.Destinations,
		Actions:       record.Actions,
		Sensitivity:   record.Sensitivity,
		Justification: record.Justification,
		TTL:           record.ExpiresAt.Sub(record.IssuedAt),
		Now:           record.IssuedAt,
		SourceAddr:    record.SourceAddr,
		PublicKeyJWK:  []byte(publicKey),
		MountPoint:    req.MountPoint,
		MaxLeaseTTL:   maxLeaseTTL,
	})
	if err != nil {
		return nil, err
	}
	record.Ref = issued.Ref
	if err := store.PutIssued(ctx, req.Storage, record); err != nil {
		if rollbackFree {
			h.markUndelivered(ctx, req.Storage, record)
		}
		return nil, err
	}
	if rollbackFree {
		return issued, nil
	}
	if err := framework.DeleteWAL(ctx, req.Storage, walID); err != nil {
		// The caller gets an error and no lease; rollback will revoke the credential.
		return nil, fmt.Errorf("removing WAL entry: %w", err)
	}
	return issued, nil
}

// markUndelivered records that a rollback-free credential never reached its caller, so it
// neither counts against quotas nor reads as active, and is swept after retention. If
// storage fails here too, the record (if it was stored at all) reads as active until its
// expiry and, having no lease to end it, stays: a few hundred bytes, logged below.
func (h *credsHandler) markUndelivered(ctx context.Context, s logical.Storage, record *store.Record) {
	ctx, cancel := cleanupContext(ctx)
	defer cancel()
	record.Status = store.StatusRolledBack
	record.RevokedAt = h.deps.now()
	record.RevokeReason = "issuance did not complete; the credential was never delivered"
	if err := store.PutRecord(ctx, s, record); err != nil {
		h.deps.Logger().Warn("marking an undelivered credential rolled back failed", "credential_id", record.ID, "error", err)
	}
}

// releaseQuota gives back the quota place of a credential that was not issued.
func (h *credsHandler) releaseQuota(ctx context.Context, s logical.Storage, record *store.Record) {
	if !record.QuotaCounted {
		return
	}
	ctx, cancel := cleanupContext(ctx)
	defer cancel()
	if err := store.ReleaseActive(ctx, s, record); err != nil {
		h.deps.Logger().Warn("releasing a quota reservation failed; it lapses at the credential's expiry",
			"credential_id", record.ID, "error", err)
	}
}

// cleanupContext is for undoing a failed issuance: it outlives the request, because the
// request failing (a caller gone, a request deadline passed) is often why there is
// something to undo.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}

func hasQuotas(policy *intent.Policy) bool {
	return policy.MaxActivePerTask > 0 || policy.MaxActivePerEntity > 0
}

// reserveQuota counts the role's active credentials and, if the new one fits, writes its
// quota index entry before anything is created. Only this check-and-write is serialised
// per role, so concurrent issuance from one role never waits on a cloud call.
func (h *credsHandler) reserveQuota(ctx context.Context, s logical.Storage, policy *intent.Policy, decision intent.Decision, caller intent.Caller, record *store.Record) error {
	lock := h.deps.roleLock(policy.Name)
	lock.Lock()
	defer lock.Unlock()
	entries, err := store.ActiveEntries(ctx, s, policy.Name, record.IssuedAt)
	if err != nil {
		return err
	}
	var usage intent.Usage
	for _, e := range entries {
		if e.Task == decision.Task {
			usage.ActiveForTask++
		}
		if e.EntityID == caller.EntityID {
			usage.ActiveForEntity++
		}
	}
	if err := intent.CheckQuotas(policy, decision, usage); err != nil {
		return err
	}
	return store.ReserveActive(ctx, s, record)
}

func newRecord(role *store.Role, decision intent.Decision, caller intent.Caller, entityName string, req *logical.Request, now time.Time) *store.Record {
	record := &store.Record{
		Role:           role.Name,
		RoleRevision:   role.Revision,
		Provider:       role.Provider,
		CredentialType: role.CredentialType,
		Task:           decision.Task,
		Destinations:   patternStrings(decision.Destinations),
		Actions:        actionStrings(decision.Actions),
		Sensitivity:    decision.Sensitivity.String(),
		EntityID:       caller.EntityID,
		EntityName:     entityName,
		DisplayName:    req.DisplayName,
		TimeWindows:    role.TimeWindows,
		NotBefore:      role.NotBefore,
		NotAfter:       role.NotAfter,
		BoundCIDRs:     role.BoundCIDRs,
		DriftAction:    role.DriftAction,
		IssuedAt:       now,
		ExpiresAt:      now.Add(decision.TTL),
		Status:         store.StatusActive,
		Format:         store.RecordFormat,
	}
	if caller.RemoteAddr.IsValid() {
		record.SourceAddr = caller.RemoteAddr.String()
	}
	return record
}

func (h *credsHandler) response(record *store.Record, issued *providers.Issued, decision intent.Decision, maxTTL time.Duration) *logical.Response {
	data := map[string]any{
		"credential_id": record.ID,
		"task":          record.Task,
		"destinations":  record.Destinations,
		"actions":       record.Actions,
		"sensitivity":   record.Sensitivity,
		"expires_at":    record.ExpiresAt.Format(time.RFC3339),
	}
	for k, v := range issued.Public {
		data[k] = v
	}
	for k, v := range issued.Secret {
		data[k] = v
	}
	resp := h.deps.NewSecret(data, map[string]any{
		"credential_id": record.ID,
		"role":          record.Role,
		"provider":      record.Provider,
	})
	resp.Secret.TTL = decision.TTL
	// A credential whose expiry is fixed at issuance cannot outlive its first lease.
	resp.Secret.MaxTTL = decision.TTL
	resp.Secret.Renewable = issued.Renewable
	if issued.Renewable {
		resp.Secret.MaxTTL = maxTTL
	}
	return resp
}

func optionalStrings(data *framework.FieldData, field string) []string {
	if v, ok := data.GetOk(field); ok && len(v.([]string)) > 0 {
		return v.([]string)
	}
	return nil
}

func patternStrings(ps []intent.Pattern) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

func actionStrings(as []intent.Action) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = string(a)
	}
	return out
}
