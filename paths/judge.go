package paths

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/backend/drift"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/store"
)

// judgedUse is one event matched to the credential it used.
type judgedUse struct {
	event  drift.Event
	record *store.Record
}

// verdict is what judging a set of uses produced and did.
type verdict struct {
	findings []*store.FindingRecord
	max      drift.Severity
}

// judgeAndRecord runs the drift rules on each use, stores one finding per credential
// and rule (the most severe occurrence, with a count), and enforces drift_action=revoke.
// Uses are judged under their role's lock so the role's volume baseline stays consistent.
func (d *Deps) judgeAndRecord(ctx context.Context, s logical.Storage, uses []judgedUse) (*verdict, error) {
	byRole := map[string][]judgedUse{}
	var roles []string
	for _, u := range uses {
		if _, seen := byRole[u.record.Role]; !seen {
			roles = append(roles, u.record.Role)
		}
		byRole[u.record.Role] = append(byRole[u.record.Role], u)
	}
	sort.Strings(roles)
	v := &verdict{}
	for _, role := range roles {
		if err := d.judgeRole(ctx, s, role, byRole[role], v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func (d *Deps) judgeRole(ctx context.Context, s logical.Storage, role string, uses []judgedUse, v *verdict) error {
	lock := d.roleLock(role)
	lock.Lock()
	defer lock.Unlock()

	baseline := drift.NewBaseline()
	if _, err := store.GetBaseline(ctx, s, role, baseline); err != nil {
		return err
	}
	current, err := store.GetRole(ctx, s, role)
	if err != nil {
		return err
	}
	postureCache := map[string]string{}
	postureNow := func(r *store.Record) (string, error) {
		ref := r.Ref["role_arn"]
		if ref == "" {
			return "", nil
		}
		if hash, ok := postureCache[ref]; ok {
			return hash, nil
		}
		hash, err := store.PostureHash(ctx, s, ref)
		postureCache[ref] = hash
		return hash, err
	}
	type key struct{ credential, rule string }
	merged := map[key]*store.FindingRecord{}
	var order []key
	now := d.now()
	for _, u := range uses {
		subject, err := driftSubject(u.record, current)
		if err != nil {
			return err
		}
		if subject.CloudPolicyHashNow, err = postureNow(u.record); err != nil {
			return err
		}
		baseline.Observe(u.record.ID, u.event.Time)
		for _, f := range drift.Judge(subject, u.event, *baseline) {
			k := key{u.record.ID, f.Rule}
			existing, ok := merged[k]
			if !ok {
				order = append(order, k)
				merged[k] = newFindingRecord(f, u, now)
				continue
			}
			existing.Count++
			if int(f.Severity) > existing.Level {
				count := existing.Count
				*existing = *newFindingRecord(f, u, now)
				existing.Count = count
			}
		}
	}
	baseline.Prune(now.Add(-time.Hour))
	if err := store.PutBaseline(ctx, s, role, baseline); err != nil {
		return err
	}

	recordsByID := make(map[string]*store.Record, len(uses))
	for _, u := range uses {
		recordsByID[u.record.ID] = u.record
	}
	byCredential := map[string][]*store.FindingRecord{}
	var credentials []*store.Record
	for _, k := range order {
		if _, seen := byCredential[k.credential]; !seen {
			credentials = append(credentials, recordsByID[k.credential])
		}
		byCredential[k.credential] = append(byCredential[k.credential], merged[k])
	}
	for _, record := range credentials {
		fs := byCredential[record.ID]
		d.enforce(ctx, s, record, fs)
		for _, f := range fs {
			id, err := store.NewFindingID(now)
			if err != nil {
				return err
			}
			f.ID = id
			if err := store.PutFinding(ctx, s, f); err != nil {
				return err
			}
			v.findings = append(v.findings, f)
			if drift.Severity(f.Level) > v.max {
				v.max = drift.Severity(f.Level)
			}
		}
	}
	return nil
}

// enforce revokes the credential when its role says so and a finding is high or critical,
// and notes on each finding what was done. A failed revocation is recorded, not hidden:
// the finding still has to reach the audit log.
func (d *Deps) enforce(ctx context.Context, s logical.Storage, record *store.Record, fs []*store.FindingRecord) {
	outcome := store.EnforcementRecorded
	worst := drift.None
	for _, f := range fs {
		if drift.Severity(f.Level) > worst {
			worst = drift.Severity(f.Level)
		}
	}
	if record.DriftAction == store.DriftActionRevoke && worst >= drift.High && record.Status == store.StatusActive {
		reason := fmt.Sprintf("drift: %s finding %s", worst, fs[0].Rule)
		if err := d.Revoke(ctx, s, record, reason); err != nil {
			outcome = store.EnforcementRevokeFailed
		} else {
			outcome = store.EnforcementRevoked
		}
	}
	for _, f := range fs {
		f.Enforcement = outcome
	}
}

func newFindingRecord(f drift.Finding, u judgedUse, now time.Time) *store.FindingRecord {
	rec := &store.FindingRecord{
		Rule:         f.Rule,
		Severity:     f.Severity.String(),
		Level:        int(f.Severity),
		Summary:      f.Summary,
		Evidence:     f.Evidence,
		Count:        1,
		CredentialID: u.record.ID,
		Role:         u.record.Role,
		Task:         u.record.Task,
		EntityID:     u.record.EntityID,
		Source:       u.event.Source,
		Action:       u.event.Action,
		Resource:     u.event.Resource,
		EventTime:    u.event.Time,
		RecordedAt:   now,
	}
	if u.event.SourceIP.IsValid() {
		rec.SourceIP = u.event.SourceIP.String()
	}
	return rec
}

// driftSubject is the drift rules' view of a credential and its role as it is now.
func driftSubject(r *store.Record, current *store.Role) (drift.Subject, error) {
	in, err := recordIntent(r)
	if err != nil {
		return drift.Subject{}, fmt.Errorf("credential %s: %w", r.ID, err)
	}
	subject := drift.Subject{
		CredentialID:        r.ID,
		Role:                r.Role,
		Task:                r.Task,
		EntityID:            r.EntityID,
		Provider:            r.Provider,
		Intent:              in,
		IssuedAt:            r.IssuedAt,
		RevokedAt:           r.RevokedAt,
		RoleRevisionAtIssue: r.RoleRevision,
		RoleDeleted:         current == nil,
		// The cloud role's policy digest when issued (aws); compared with the
		// collectors' latest reading.
		CloudPolicyHashAtIssue: r.Ref["role_policy_hash"],
	}
	if current != nil {
		subject.RoleRevisionNow = current.Revision
	}
	if addr, err := netip.ParseAddr(r.SourceAddr); err == nil {
		subject.IssuedFrom = addr
	}
	return subject, nil
}

// findingData is a finding as API responses show it.
func findingData(f *store.FindingRecord) map[string]any {
	return map[string]any{
		"finding_id":     f.ID,
		"rule":           f.Rule,
		"severity":       f.Severity,
		"severity_level": f.Level,
		"summary":        f.Summary,
		"evidence":       f.Evidence,
		"count":          f.Count,
		"credential_id":  f.CredentialID,
		"role":           f.Role,
		"task":           f.Task,
		"entity_id":      f.EntityID,
		"source":         f.Source,
		"action":         f.Action,
		"resource":       f.Resource,
		"source_ip":      f.SourceIP,
		"event_time":     f.EventTime.Format(time.RFC3339),
		"recorded_at":    f.RecordedAt.Format(time.RFC3339),
		"enforcement":    f.Enforcement,
	}
}

// addFindingWarnings puts a one-line summary of each finding in the response's warnings,
// which audit devices never HMAC, so the audit log carries every verdict readably.
func addFindingWarnings(resp *logical.Response, fs []*store.FindingRecord) {
	for _, f := range fs {
		resp.AddWarning(fmt.Sprintf("drift finding %s: rule=%s severity=%s credential=%s role=%s task=%s enforcement=%s: %s",
			f.ID, f.Rule, f.Severity, f.CredentialID, f.Role, f.Task, f.Enforcement, oneLine(f.Summary)))
	}
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
