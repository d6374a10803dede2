package intent

import (
	"fmt"
	"time"
)

// GrantMatch records which grant approved which actions on one destination, so a
// provider can compile the narrowest credential (and pick the grant's azure_role).
// A destination whose actions come from several grants has one GrantMatch per grant.
type GrantMatch struct {
	Destination Pattern
	Grant       int // index into Policy.Grants
	Actions     []Action
}

// Decision is an approved intent.
type Decision struct {
	Task         string
	Destinations []Pattern
	Actions      []Action
	Sensitivity  Sensitivity
	TTL          time.Duration
	Matches      []GrantMatch
}

// Evaluate checks req against p for caller at now and returns the approved intent or
// the first failed check as *Denial. The order is fixed so that a caller probing a role
// learns nothing about later checks before passing earlier ones:
// role enabled, identity, source CIDR, schedule, task, destinations, actions,
// sensitivity, TTL. maxLeaseTTL is the mount's cap; 0 means none.
func Evaluate(p *Policy, req Request, caller Caller, now time.Time, maxLeaseTTL time.Duration) (Decision, error) {
	if err := checkCaller(p, caller, now); err != nil {
		return Decision{}, err
	}
	if !p.taskAllowed(req.Task) {
		return Decision{}, deny(CheckTask, fmt.Sprintf("task %s is not in allowed_tasks of role %s", quote(req.Task), quote(p.Name)))
	}
	covering, err := p.coveringGrants(req.Destinations)
	if err != nil {
		return Decision{}, err
	}
	actions := req.Actions
	if len(actions) == 0 {
		if actions, err = p.defaultActions(req.Destinations, covering); err != nil {
			return Decision{}, err
		}
	} else if err := p.checkActions(req.Destinations, covering, actions); err != nil {
		return Decision{}, err
	}
	sensitivity := req.Sensitivity
	if sensitivity == 0 {
		sensitivity = Internal
	}
	if !sensitivity.Valid() {
		return Decision{}, deny(CheckSensitivity, fmt.Sprintf("unknown sensitivity %s", sensitivity))
	}
	matches, err := p.matchGrants(req.Destinations, covering, actions, sensitivity)
	if err != nil {
		return Decision{}, err
	}
	ttl, err := p.effectiveTTL(req.TTL, maxLeaseTTL)
	if err != nil {
		return Decision{}, err
	}
	return Decision{
		Task:         req.Task,
		Destinations: req.Destinations,
		Actions:      actions,
		Sensitivity:  sensitivity,
		TTL:          ttl,
		Matches:      matches,
	}, nil
}

// checkCaller runs the checks that depend only on who asks, from where and when.
func checkCaller(p *Policy, caller Caller, now time.Time) error {
	if p == nil {
		return deny(CheckRole, "role does not exist")
	}
	if !p.Enabled {
		return deny(CheckRole, fmt.Sprintf("role %s is disabled", quote(p.Name)))
	}
	if err := p.Identity.check(p.Name, caller); err != nil {
		return deny(CheckIdentity, err.Error())
	}
	if len(p.CIDRs) > 0 && !inAnyPrefix(caller.RemoteAddr, p.CIDRs) {
		if !caller.RemoteAddr.IsValid() {
			return deny(CheckCIDR, fmt.Sprintf("source address is unknown and role %s has bound_cidrs", quote(p.Name)))
		}
		return deny(CheckCIDR, fmt.Sprintf("source address %s is not in bound_cidrs of role %s", caller.RemoteAddr.Unmap(), quote(p.Name)))
	}
	if ok, why := p.Schedule.Allows(now); !ok {
		return deny(CheckTimeWindow, why)
	}
	return nil
}

func (p *Policy) taskAllowed(task string) bool {
	if task == "" {
		return false
	}
	for _, glob := range p.AllowedTasks {
		if taskGlobMatch(glob, task) {
			return true
		}
	}
	return false
}

// coveringGrants lists, per destination, the indexes of grants whose pattern covers it.
func (p *Policy) coveringGrants(dests []Pattern) ([][]int, error) {
	if len(dests) == 0 {
		return nil, deny(CheckDestination, "the request names no destination")
	}
	covering := make([][]int, len(dests))
	backing := make([]int, 0, len(dests)*2)
	for di, d := range dests {
		start := len(backing)
		for gi := range p.Grants {
			if p.Grants[gi].Destination.Covers(d) {
				backing = append(backing, gi)
			}
		}
		if len(backing) == start {
			return nil, deny(CheckDestination, fmt.Sprintf("destination %s is not covered by any grant of role %s", quote(d.text), quote(p.Name)))
		}
		covering[di] = backing[start:len(backing):len(backing)]
	}
	return covering, nil
}

func (g *Grant) grants(a Action) bool {
	for _, ga := range g.Actions {
		if a.CoveredBy(ga) {
			return true
		}
	}
	return false
}

func (p *Policy) grantedOn(gis []int, a Action) bool {
	for _, gi := range gis {
		if p.Grants[gi].grants(a) {
			return true
		}
	}
	return false
}

func (p *Policy) checkActions(dests []Pattern, covering [][]int, actions []Action) error {
	for di, d := range dests {
		for _, a := range actions {
			if !p.grantedOn(covering[di], a) {
				return deny(CheckAction, fmt.Sprintf("action %s is not granted on %s", quote(string(a)), quote(d.text)))
			}
		}
	}
	return nil
}

// defaultActions is every concrete action that covering grants allow on all requested
// destinations. Wildcard grant actions (s3:Get*) admit a concrete action named by another
// grant but never expand into defaults themselves: "everything s3:Get*" is not a
// list a provider can issue.
func (p *Policy) defaultActions(dests []Pattern, covering [][]int) ([]Action, error) {
	var out []Action
	for di := range dests {
		for _, gi := range covering[di] {
			for _, a := range p.Grants[gi].Actions {
				if a.HasWildcard() || containsAction(out, a) {
					continue
				}
				if p.grantedOnAll(covering, a) {
					out = append(out, a)
				}
			}
		}
	}
	if len(out) == 0 {
		if len(dests) == 1 {
			return nil, deny(CheckAction, fmt.Sprintf("no concrete action is granted on %s; request actions explicitly", quote(dests[0].text)))
		}
		return nil, deny(CheckAction, "no action is granted on every requested destination; request actions explicitly or split the request")
	}
	return out, nil
}

func (p *Policy) grantedOnAll(covering [][]int, a Action) bool {
	for _, gis := range covering {
		if !p.grantedOn(gis, a) {
			return false
		}
	}
	return true
}

func containsAction(list []Action, a Action) bool {
	for _, b := range list {
		if sameAction(a, b) {
			return true
		}
	}
	return false
}

// matchGrants checks sensitivity and records, for each destination and action, the
// first grant (in role order) that allows the action at the requested level.
func (p *Policy) matchGrants(dests []Pattern, covering [][]int, actions []Action, s Sensitivity) ([]GrantMatch, error) {
	matches := make([]GrantMatch, 0, len(dests))
	for di, d := range dests {
		first := len(matches)
		for _, a := range actions {
			chosen, highest := -1, Sensitivity(0)
			for _, gi := range covering[di] {
				g := &p.Grants[gi]
				if !g.grants(a) {
					continue
				}
				if g.MaxSensitivity >= s {
					chosen = gi
					break
				}
				highest = max(highest, g.MaxSensitivity)
			}
			if chosen < 0 {
				return nil, deny(CheckSensitivity, fmt.Sprintf("sensitivity %s exceeds max_sensitivity %s of the grant for %s",
					quote(s.String()), quote(highest.String()), quote(d.text)))
			}
			matches = addMatch(matches, first, d, chosen, a)
		}
	}
	return matches, nil
}

func addMatch(matches []GrantMatch, first int, d Pattern, gi int, a Action) []GrantMatch {
	for i := first; i < len(matches); i++ {
		if matches[i].Grant == gi {
			matches[i].Actions = append(matches[i].Actions, a)
			return matches
		}
	}
	return append(matches, GrantMatch{Destination: d, Grant: gi, Actions: []Action{a}})
}

// effectiveTTL applies the role default and the tighter of max_ttl and the mount cap.
// A requested TTL above the cap is refused rather than shortened: the caller planned
// its task around the TTL it asked for.
func (p *Policy) effectiveTTL(requested, maxLeaseTTL time.Duration) (time.Duration, error) {
	limit, limitName := p.MaxTTL, "max_ttl"
	if limit <= 0 {
		limit = DefaultMaxTTL
	}
	if maxLeaseTTL > 0 && maxLeaseTTL < limit {
		limit, limitName = maxLeaseTTL, "the mount's max lease ttl"
	}
	switch {
	case requested < 0:
		return 0, deny(CheckTTL, fmt.Sprintf("ttl %s is negative", formatDuration(requested)))
	case requested == 0:
		ttl := p.TTL
		if ttl <= 0 {
			ttl = DefaultTTL
		}
		return min(ttl, limit), nil
	case requested > limit:
		return 0, deny(CheckTTL, fmt.Sprintf("ttl %s exceeds %s %s", formatDuration(requested), limitName, formatDuration(limit)))
	}
	return requested, nil
}

// Usage is how many unexpired credentials the role already has outstanding.
type Usage struct {
	ActiveForTask   int
	ActiveForEntity int
}

// CheckQuotas refuses when issuing one more credential would exceed a quota. It is
// separate from Evaluate because counting needs storage, and counting is only worth
// doing for a request that passed every other check.
func CheckQuotas(p *Policy, d Decision, u Usage) error {
	if p == nil {
		return deny(CheckRole, "role does not exist")
	}
	if n := p.MaxActivePerTask; n > 0 && u.ActiveForTask >= n {
		return deny(CheckQuota, fmt.Sprintf("role %s allows at most %d active credentials per task; task %s has %d",
			quote(p.Name), n, quote(d.Task), u.ActiveForTask))
	}
	if n := p.MaxActivePerEntity; n > 0 && u.ActiveForEntity >= n {
		return deny(CheckQuota, fmt.Sprintf("role %s allows at most %d active credentials per entity; this entity has %d",
			quote(p.Name), n, u.ActiveForEntity))
	}
	return nil
}
