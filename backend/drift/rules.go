package drift

import (
	"fmt"
	"maps"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/backend/intent"
)

// Rule ids. They are stable: stored findings, filters and alerts refer to them.
const (
	RuleActionOutsideIntent      = "action-outside-intent"
	RuleDestinationOutsideIntent = "destination-outside-intent"
	RuleUnexpectedSourceAddress  = "unexpected-source-address"
	RuleOutsideTimeWindow        = "outside-time-window"
	RuleUseAfterRevocation       = "use-after-revocation"
	RuleUseAfterExpiry           = "use-after-expiry"
	RuleEscalationAttempt        = "escalation-attempt"
	RuleVolumeAnomaly            = "volume-anomaly"
	RulePostureDrift             = "posture-drift"
)

// RuleInfo describes one rule for help texts and documentation.
type RuleInfo struct {
	ID          string
	Severity    Severity // the usual severity; see Description for variations
	Description string
}

// Rules lists every rule Judge applies, in the order it applies them.
var Rules = []RuleInfo{
	{RuleUseAfterRevocation, Critical, "used at or after the credential was revoked (before it would have expired)"},
	{RuleUseAfterExpiry, High, "used at or after the credential expired"},
	{RuleEscalationAttempt, Critical, "IAM writes, role chaining, organizations, Lambda code changes, bucket policy/ACL/lifecycle/versioning changes, SSE-C writes, Key Vault access-policy or Azure role-assignment writes, unless the intent names that exact action; supersedes action- and destination-outside-intent"},
	{RuleActionOutsideIntent, High, "action neither among the intent's actions nor performing one of its verbs (VerbTable); low for identity introspection (sts:GetCallerIdentity)"},
	{RuleDestinationOutsideIntent, High, "resource outside every destination of the intent (ResourceMatches)"},
	{RuleUnexpectedSourceAddress, Medium, "source outside the bound CIDRs (high); else, without bound CIDRs, another address than the issuing request's (medium); inside bound CIDRs but another address (low)"},
	{RuleOutsideTimeWindow, Medium, "used outside the schedule (time windows, not_before/not_after) in force at issuance"},
	{RuleVolumeAnomaly, Medium, "the credential's rate in the last minute exceeds max(floor, factor × the role's norm); at most about once per credential-minute"},
	{RulePostureDrift, Medium, "the role was changed or deleted since issuance, or the cloud role's policy hash differs from the one at issuance"},
}

// Finding is one drift observation about one event.
type Finding struct {
	Rule     string            `json:"rule"`
	Severity Severity          `json:"severity"`
	Summary  string            `json:"summary"` // one line, no secrets
	Evidence map[string]string `json:"evidence"`
}

// Subject is what an event is judged against: the credential record as issued and the
// role and cloud posture as they are now.
type Subject struct {
	CredentialID string
	Role         string
	Task         string
	EntityID     string
	Provider     string

	// Intent carries destinations, actions, schedule, bound CIDRs, ExpiresAt and Revoked.
	Intent intent.Intent

	IssuedFrom netip.Addr
	IssuedAt   time.Time
	RevokedAt  time.Time // zero with Intent.Revoked: revoked at an unknown time

	RoleRevisionAtIssue, RoleRevisionNow       uint64
	RoleDeleted                                bool
	CloudPolicyHashAtIssue, CloudPolicyHashNow string // empty: unknown, not compared
}

// Judge applies every rule to one event of the subject's credential and returns the
// findings, nil when there are none. b is the role's baseline with this event already
// observed (Baseline.Observe); a zero Baseline never reports volume.
//
// A denied or failed event still counts, since an attempt is evidence; its summary says
// "attempted". An escalation supersedes action- and destination-outside-intent for the
// same event, so one event gives one finding there, not three.
func Judge(s Subject, ev Event, b Baseline) []Finding {
	j := judgement{s: s, ev: ev, b: b}
	ruleLifecycle(&j)
	ruleEscalation(&j)
	ruleAction(&j)
	ruleDestination(&j)
	ruleSourceAddress(&j)
	ruleTimeWindow(&j)
	ruleVolume(&j)
	rulePosture(&j)
	return j.findings
}

// MaxSeverity is the highest severity among fs, None when fs is empty.
func MaxSeverity(fs []Finding) Severity {
	max := None
	for _, f := range fs {
		if f.Severity > max {
			max = f.Severity
		}
	}
	return max
}

// ShouldRevoke reports whether drift_action=revoke should revoke the credential: any High
// or Critical finding.
func ShouldRevoke(fs []Finding) bool { return MaxSeverity(fs) >= High }

type judgement struct {
	// Judge's arguments, held by value: pointers to the arguments would move them to
	// the heap on every call.
	s        Subject
	ev       Event
	b        Baseline
	common   map[string]string // evidence every finding of this event carries
	findings []Finding

	escalated bool
	benign    bool // identity introspection: no destination to judge
}

func (j *judgement) credentialID() string {
	if j.s.CredentialID != "" {
		return j.s.CredentialID
	}
	return j.ev.CredentialID
}

// subject names the credential for a summary.
func (j *judgement) subject() string {
	if id := j.credentialID(); id != "" {
		return "credential " + clean(id)
	}
	return "access key " + clean(j.ev.AccessKeyID)
}

// did is "used" for a successful event and "attempted" (with the outcome) otherwise.
func (j *judgement) did() string {
	switch j.ev.Outcome {
	case "", OutcomeSuccess:
		return "used"
	default:
		return "attempted (" + j.ev.Outcome + ")"
	}
}

// use renders "credential c-x used s3:GetObject on "s3://b/k"" for summaries.
func (j *judgement) use() string {
	return j.subject() + " " + j.did() + " " + quote(j.ev.Action) + " on " + quote(j.ev.Resource)
}

func (j *judgement) add(rule string, sev Severity, summary string, extra ...string) {
	if j.common == nil {
		j.common = j.evidence()
	}
	ev := maps.Clone(j.common)
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] != "" {
			ev[extra[i]] = extra[i+1]
		}
	}
	j.findings = append(j.findings, Finding{Rule: rule, Severity: sev, Summary: summary, Evidence: ev})
}

// evidence is what every finding of this event carries. No secret material: key ids,
// session names and addresses are identifiers that cloud logs carry in the clear.
func (j *judgement) evidence() map[string]string {
	s, ev := &j.s, &j.ev
	m := make(map[string]string, 24)
	put := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	put("credential_id", j.credentialID())
	put("role", s.Role)
	put("task", s.Task)
	put("entity_id", s.EntityID)
	put("provider", s.Provider)
	put("access_key_id", ev.AccessKeyID)
	put("session_name", ev.SessionName)
	put("action", ev.Action)
	put("resource", ev.Resource)
	if ev.SourceIP.IsValid() {
		m["source_ip"] = ev.SourceIP.String()
	}
	m["time"] = ev.Time.UTC().Format(time.RFC3339Nano)
	put("outcome", ev.Outcome)
	put("source", ev.Source)
	put("event_id", ev.EventID)
	put("encryption", ev.Encryption)
	return m
}

// clean keeps an identifier readable and on one line: as is when short and printable,
// Go-quoted and truncated otherwise.
func clean(s string) string {
	if len(s) > 128 || hasControlOrInvalid(s) || strings.ContainsAny(s, " \"") {
		return quote(s)
	}
	return s
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// ruleLifecycle: use-after-revocation (critical) and use-after-expiry (high). When an
// event is after both, whichever ended the credential first decides: a revocation at or
// after expiry is the lease machinery catching up, so that use is "after expiry".
// Events from before the end (CloudTrail delivers minutes late) are not findings.
func ruleLifecycle(j *judgement) {
	s, t := &j.s, j.ev.Time
	revoked := s.Intent.Revoked || !s.RevokedAt.IsZero()
	afterRevocation := revoked && (s.RevokedAt.IsZero() || !t.Before(s.RevokedAt))
	exp := s.Intent.ExpiresAt
	afterExpiry := !exp.IsZero() && !t.Before(exp)
	if afterRevocation && afterExpiry && !s.RevokedAt.IsZero() && !s.RevokedAt.Before(exp) {
		afterRevocation = false
	}
	switch {
	case afterRevocation:
		when := "at an unrecorded time"
		if !s.RevokedAt.IsZero() {
			when = "at " + formatTime(s.RevokedAt)
		}
		j.add(RuleUseAfterRevocation, Critical, j.use()+" after it was revoked "+when,
			"revoked_at", formatTime(s.RevokedAt))
	case afterExpiry:
		j.add(RuleUseAfterExpiry, High, j.use()+" after it expired at "+formatTime(exp),
			"expires_at", formatTime(exp))
	}
}

// ruleEscalation: escalation-attempt (critical), unless the intent names that exact
// native action (an explicit approval; a wildcard grant is not one). SSE-C writes are
// never approved by an intent.
func ruleEscalation(j *judgement) {
	esc, why := EscalationOf(j.ev.Action, j.ev.Encryption)
	if !esc {
		return
	}
	if j.ev.Encryption != EncryptionSSEC && intentNamesAction(j.s.Intent.Actions, j.ev.Action) {
		return
	}
	j.escalated = true
	inDest := strconv.FormatBool(destinationMatches(j.s.Intent.Destinations, j.ev.Resource))
	j.add(RuleEscalationAttempt, Critical, j.use()+": escalation ("+why+")",
		"escalation", why, "destination_in_intent", inDest)
}

func intentNamesAction(granted []intent.Action, action string) bool {
	for _, g := range granted {
		if !g.IsVerb() && !g.HasWildcard() && strings.EqualFold(string(g), action) {
			return true
		}
	}
	return false
}

// introspection actions say who the caller is and touch no data: outside an intent they
// are worth a low finding (reconnaissance) but not a revocation.
var introspection = map[string]bool{"sts:getcalleridentity": true}

// ruleAction: action-outside-intent (high; low for identity introspection).
func ruleAction(j *judgement) {
	if j.escalated || ActionAllowed(j.s.Intent.Actions, j.ev.Action) {
		return
	}
	sev := High
	if introspection[strings.ToLower(j.ev.Action)] {
		sev, j.benign = Low, true
	}
	j.add(RuleActionOutsideIntent, sev, j.use()+", an action outside the intent ("+joinActions(j.s.Intent.Actions)+")",
		"intent_actions", joinActions(j.s.Intent.Actions))
}

// ActionAllowed reports whether an observed action is within the intent's actions: named
// by one of them (intent.Action.CoveredBy, native names fold case) or performing one of
// its verbs according to VerbTable (s3:GetObject performs read).
func ActionAllowed(granted []intent.Action, observed string) bool {
	if verb, ok := VerbOf(observed); ok {
		for _, g := range granted {
			if string(g) == verb {
				return true
			}
		}
	}
	a, err := intent.ParseAction(observed)
	if err != nil {
		return false
	}
	for _, g := range granted {
		if a.CoveredBy(g) {
			return true
		}
	}
	return false
}

func joinActions(as []intent.Action) string {
	var b strings.Builder
	for i, a := range as {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(string(a))
	}
	return b.String()
}

// ruleDestination: destination-outside-intent (high).
func ruleDestination(j *judgement) {
	if j.escalated || j.benign || destinationMatches(j.s.Intent.Destinations, j.ev.Resource) {
		return
	}
	j.add(RuleDestinationOutsideIntent, High, j.use()+", outside every destination of the intent",
		"intent_destinations", joinStrings(j.s.Intent.Destinations))
}

func destinationMatches(dests []intent.Pattern, resource string) bool {
	if len(dests) == 0 {
		return false
	}
	r := compileResource(resource)
	for _, d := range dests {
		if r.matches(d) {
			return true
		}
	}
	return false
}

// joinStrings renders values comma-separated, as finding details show lists.
func joinStrings[T fmt.Stringer](values []T) string {
	var b strings.Builder
	for i, v := range values {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(v.String())
	}
	return b.String()
}

// ruleSourceAddress: unexpected-source-address. Outside the bound CIDRs: high. Without
// bound CIDRs, another address than the issuing request's: medium. Inside bound CIDRs
// but another address: low — the operator declared that network, and workloads move
// between its addresses (rescheduled pods, NAT pools), so this is context, not alarm.
// An event without a source address is not judged here.
func ruleSourceAddress(j *judgement) {
	src := j.ev.SourceIP.Unmap().WithZone("")
	if !src.IsValid() {
		return
	}
	issued := j.s.IssuedFrom.Unmap().WithZone("")
	cidrs := j.s.Intent.CIDRs
	switch {
	case len(cidrs) > 0 && !inAnyPrefix(src, cidrs):
		j.add(RuleUnexpectedSourceAddress, High, j.use()+" from "+src.String()+", outside the bound CIDRs "+joinStrings(cidrs),
			"bound_cidrs", joinStrings(cidrs), "issued_from", addrString(issued))
	case !issued.IsValid() || src == issued:
	case len(cidrs) > 0:
		j.add(RuleUnexpectedSourceAddress, Low, j.use()+" from "+src.String()+" (inside the bound CIDRs), not from the issuing address "+issued.String(),
			"bound_cidrs", joinStrings(cidrs), "issued_from", issued.String())
	default:
		j.add(RuleUnexpectedSourceAddress, Medium, j.use()+" from "+src.String()+", not from the issuing address "+issued.String(),
			"issued_from", issued.String())
	}
}

func inAnyPrefix(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// ruleTimeWindow: outside-time-window (medium), judged by the schedule at issuance.
func ruleTimeWindow(j *judgement) {
	ok, why := j.s.Intent.Schedule.Allows(j.ev.Time)
	if ok {
		return
	}
	j.add(RuleOutsideTimeWindow, Medium, j.use()+": "+why, "schedule", why)
}

// ruleVolume: volume-anomaly (medium); see Baseline.
func ruleVolume(j *judgement) {
	id := j.credentialID()
	if id == "" || j.b.Credentials == nil {
		return
	}
	report, why := j.b.volumeReport(id, j.ev.Time)
	if !report {
		return
	}
	j.add(RuleVolumeAnomaly, Medium, j.subject()+" volume anomaly: "+why,
		"rate", formatFloat(j.b.Rate(id, j.ev.Time)), "threshold", formatFloat(j.b.Threshold()),
		"role_norm", formatFloat(j.b.Norm))
}

// rulePosture: posture-drift (medium): what the credential was issued under has changed.
func rulePosture(j *judgement) {
	s := &j.s
	var reasons []string
	switch {
	case s.RoleDeleted:
		reasons = append(reasons, "role "+quote(s.Role)+" was deleted since issuance")
	case s.RoleRevisionNow != s.RoleRevisionAtIssue:
		reasons = append(reasons, "role "+quote(s.Role)+" changed since issuance (revision "+
			strconv.FormatUint(s.RoleRevisionAtIssue, 10)+" -> "+strconv.FormatUint(s.RoleRevisionNow, 10)+")")
	}
	if s.CloudPolicyHashAtIssue != "" && s.CloudPolicyHashNow != "" && s.CloudPolicyHashAtIssue != s.CloudPolicyHashNow {
		reasons = append(reasons, "the cloud role's policies differ from their hash at issuance")
	}
	if len(reasons) == 0 {
		return
	}
	j.add(RulePostureDrift, Medium, j.subject()+" posture drift: "+strings.Join(reasons, "; "),
		"role_deleted", strconv.FormatBool(s.RoleDeleted),
		"role_revision_at_issue", strconv.FormatUint(s.RoleRevisionAtIssue, 10),
		"role_revision_now", strconv.FormatUint(s.RoleRevisionNow, 10),
		"cloud_policy_hash_at_issue", s.CloudPolicyHashAtIssue,
		"cloud_policy_hash_now", s.CloudPolicyHashNow)
}
