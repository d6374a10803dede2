package intent

import (
	"net/netip"
	"time"
)

// Intent is what an issued credential was approved for, as the authorize endpoint and
// drift rules judge later uses against it.
type Intent struct {
	Destinations []Pattern
	Actions      []Action
	Schedule     Schedule
	CIDRs        []netip.Prefix
	ExpiresAt    time.Time // zero = no expiry recorded
	Revoked      bool
}

// Vocabulary judges a cloud's own names for what was done (s3:GetObject,
// arn:aws:s3:::bucket/key) against an intent written in verbs and destination URIs.
type Vocabulary interface {
	ActionAllowed(granted []Action, observed string) bool
	ResourceMatches(dest Pattern, resource string) bool
}

// CheckUse judges one use of a credential. Unlike Evaluate it reports every failed
// aspect, because a drift finding should carry all its evidence, not just the first.
// reasons is empty (not nil) when allowed, so it serialises as [] rather than null.
func CheckUse(in Intent, action, resource string, source netip.Addr, now time.Time) (allowed bool, reasons []string) {
	return CheckUseIn(nil, in, action, resource, source, now)
}

// CheckUseIn is CheckUse with a vocabulary for provider-native actions and resources;
// a nil vocabulary accepts only the intent's own verbs and URI forms.
func CheckUseIn(v Vocabulary, in Intent, action, resource string, source netip.Addr, now time.Time) (allowed bool, reasons []string) {
	reasons = []string{}
	if in.Revoked {
		reasons = append(reasons, "credential is revoked")
	}
	if !in.ExpiresAt.IsZero() && !now.Before(in.ExpiresAt) {
		reasons = append(reasons, "credential expired at "+in.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if v != nil {
		reasons = append(reasons, vocabularyReasons(v, in, action, resource)...)
	} else {
		reasons = append(reasons, ownReasons(in, action, resource)...)
	}
	if len(in.CIDRs) > 0 && !inAnyPrefix(source, in.CIDRs) {
		if source.IsValid() {
			reasons = append(reasons, "source address "+source.Unmap().String()+" is outside the bound CIDRs")
		} else {
			reasons = append(reasons, "source address is unknown and the credential is bound to CIDRs")
		}
	}
	if ok, why := in.Schedule.Allows(now); !ok {
		reasons = append(reasons, why)
	}
	return len(reasons) == 0, reasons
}

func ownReasons(in Intent, action, resource string) []string {
	var reasons []string
	if a, err := ParseAction(action); err != nil {
		reasons = append(reasons, "malformed action: "+err.Error())
	} else if !actionInIntent(a, in.Actions) {
		reasons = append(reasons, "action "+quote(string(a))+" is not in the intent")
	}
	if r, err := parsePattern(resource); err != nil || r.wild {
		reasons = append(reasons, "malformed resource "+quote(resource)+": "+resourceProblem(err))
	} else if !coveredByAny(in.Destinations, r) {
		reasons = append(reasons, "resource "+quote(r.text)+" is outside every destination of the intent")
	}
	return reasons
}

func vocabularyReasons(v Vocabulary, in Intent, action, resource string) []string {
	var reasons []string
	if !v.ActionAllowed(in.Actions, action) {
		reasons = append(reasons, "action "+quote(action)+" is not in the intent")
	}
	matched := false
	for _, d := range in.Destinations {
		if v.ResourceMatches(d, resource) {
			matched = true
			break
		}
	}
	if !matched {
		reasons = append(reasons, "resource "+quote(resource)+" is outside every destination of the intent")
	}
	return reasons
}

func resourceProblem(err error) string {
	if err != nil {
		return err.Error()
	}
	return "a used resource must be concrete, without *"
}

func actionInIntent(a Action, granted []Action) bool {
	for _, g := range granted {
		if a.CoveredBy(g) {
			return true
		}
	}
	return false
}

func coveredByAny(dests []Pattern, r Pattern) bool {
	for _, d := range dests {
		if d.Covers(r) {
			return true
		}
	}
	return false
}
