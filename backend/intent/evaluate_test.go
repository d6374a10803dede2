package intent

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

// friday10 is inside "Mon-Fri 06:00-20:00 Europe/Berlin".
var friday10 = time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)

func evalPolicy(t testing.TB, mutate func(*RoleSpec)) *Policy {
	t.Helper()
	spec := RoleSpec{
		Name:         "r",
		AllowedTasks: []string{"nightly-export", "adhoc-*"},
		Grants: []GrantSpec{
			{Destination: "https://reports.internal/exports/*", Actions: []string{"read", "list"}, MaxSensitivity: "confidential"},
			{Destination: "https://reports.internal/exports/tmp/*", Actions: []string{"write", "delete"}},
			{Destination: "s3://reports/*", Actions: []string{"read", "s3:GetObject", "s3:List*"}, MaxSensitivity: "restricted"},
			{Destination: "s3://reports/public/*", Actions: []string{"write"}, MaxSensitivity: "public"},
		},
		TimeWindows:         []string{"Mon-Fri 06:00-20:00 Europe/Berlin"},
		BoundEntityIDs:      []string{"ent-1"},
		BoundEntityMetadata: map[string]string{"team": "payments"},
		BoundCIDRs:          []string{"10.0.0.0/8"},
		TTL:                 10 * time.Minute,
		MaxTTL:              time.Hour,
	}
	if mutate != nil {
		mutate(&spec)
	}
	p, err := CompilePolicy(spec)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func goodCaller() Caller {
	return Caller{EntityID: "ent-1", Metadata: map[string]string{"team": "payments"}, RemoteAddr: netip.MustParseAddr("10.1.2.3")}
}

func evalRequest(t testing.TB, raw RawRequest) Request {
	t.Helper()
	if raw.Task == "" {
		raw.Task = "nightly-export"
	}
	req, err := ParseRequest(raw)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestEvaluateApproves(t *testing.T) {
	p := evalPolicy(t, nil)
	req := evalRequest(t, RawRequest{
		Destinations: []string{"https://reports.internal/exports/tmp/x.csv"},
		Actions:      []string{"read", "write"},
	})
	d, err := Evaluate(p, req, goodCaller(), friday10, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := Decision{
		Task:         "nightly-export",
		Destinations: req.Destinations,
		Actions:      []Action{"read", "write"},
		Sensitivity:  Internal,
		TTL:          10 * time.Minute,
		Matches: []GrantMatch{
			{Destination: req.Destinations[0], Grant: 0, Actions: []Action{"read"}},
			{Destination: req.Destinations[0], Grant: 1, Actions: []Action{"write"}},
		},
	}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("decision = %+v\nwant       %+v", d, want)
	}
}

func TestEvaluateDenials(t *testing.T) {
	saturday := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		policy func(*RoleSpec)
		raw    RawRequest
		caller func(*Caller)
		now    time.Time
		mount  time.Duration
		check  Check
		reason string
	}{
		{name: "disabled", policy: func(s *RoleSpec) { s.Disabled = true },
			check: CheckRole, reason: `role "r" is disabled`},
		{name: "entity", caller: func(c *Caller) { c.EntityID = "ent-2" },
			check: CheckIdentity, reason: `entity "ent-2" is not in bound_entity_ids of role "r"`},
		{name: "no entity", caller: func(c *Caller) { c.EntityID = "" },
			check: CheckIdentity, reason: "has no identity entity"},
		{name: "metadata", caller: func(c *Caller) { c.Metadata = map[string]string{"team": "growth"} },
			check: CheckIdentity, reason: `entity metadata "team" does not match bound_entity_metadata of role "r"`},
		{name: "cidr", caller: func(c *Caller) { c.RemoteAddr = netip.MustParseAddr("192.0.2.1") },
			check: CheckCIDR, reason: `source address 192.0.2.1 is not in bound_cidrs of role "r"`},
		{name: "cidr unknown", caller: func(c *Caller) { c.RemoteAddr = netip.Addr{} },
			check: CheckCIDR, reason: `source address is unknown and role "r" has bound_cidrs`},
		{name: "time window", now: saturday,
			check: CheckTimeWindow, reason: "outside the role's time windows (Mon-Fri 06:00-20:00 Europe/Berlin) at 2026-12-05T10:00:00+01:00"},
		{name: "not_after", policy: func(s *RoleSpec) { s.NotAfter = "2026-12-01T00:00:00Z" },
			check: CheckTimeWindow, reason: "after not_after 2026-12-01T00:00:00Z"},
		{name: "task", raw: RawRequest{Task: "x"},
			check: CheckTask, reason: `task "x" is not in allowed_tasks of role "r"`},
		{name: "destination wider than grant", raw: RawRequest{Destinations: []string{"https://reports.internal/*"}},
			check: CheckDestination, reason: `destination "https://reports.internal/*" is not covered by any grant of role "r"`},
		{name: "second destination", raw: RawRequest{Destinations: []string{"s3://reports/a", "s3://other/a"}},
			check: CheckDestination, reason: `destination "s3://other/a" is not covered by any grant of role "r"`},
		{name: "action", raw: RawRequest{Destinations: []string{"https://reports.internal/exports/a.csv"}, Actions: []string{"delete"}},
			check: CheckAction, reason: `action "delete" is not granted on "https://reports.internal/exports/a.csv"`},
		{name: "native action outside wildcard", raw: RawRequest{Destinations: []string{"s3://reports/a"}, Actions: []string{"s3:PutObject"}},
			check: CheckAction, reason: `action "s3:PutObject" is not granted on "s3://reports/a"`},
		{name: "no common default", policy: func(s *RoleSpec) {
			s.Grants = append(s.Grants, GrantSpec{Destination: "svc://audit/*", Actions: []string{"delete"}})
		}, raw: RawRequest{Destinations: []string{"https://reports.internal/exports/a", "svc://audit/x"}},
			check: CheckAction, reason: "no action is granted on every requested destination"},
		{name: "sensitivity", raw: RawRequest{Destinations: []string{"https://reports.internal/exports/a.csv"}, Sensitivity: "restricted"},
			check: CheckSensitivity, reason: `sensitivity "restricted" exceeds max_sensitivity "confidential" of the grant for "https://reports.internal/exports/a.csv"`},
		{name: "sensitivity picks granting grant", raw: RawRequest{Destinations: []string{"s3://reports/public/a"}, Actions: []string{"write"}, Sensitivity: "internal"},
			check: CheckSensitivity, reason: `sensitivity "internal" exceeds max_sensitivity "public" of the grant for "s3://reports/public/a"`},
		{name: "ttl", raw: RawRequest{TTL: "2h"},
			check: CheckTTL, reason: "ttl 2h exceeds max_ttl 1h"},
		{name: "ttl mount cap", raw: RawRequest{TTL: "45m"}, mount: 30 * time.Minute,
			check: CheckTTL, reason: "ttl 45m exceeds the mount's max lease ttl 30m"},
		// Order: with everything wrong, the earliest check is reported.
		{name: "order role first", policy: func(s *RoleSpec) { s.Disabled = true }, raw: RawRequest{Task: "x", TTL: "9h"},
			caller: func(c *Caller) { *c = Caller{} }, now: saturday, check: CheckRole},
		{name: "order identity before cidr", raw: RawRequest{Task: "x"},
			caller: func(c *Caller) { c.EntityID, c.RemoteAddr = "ent-9", netip.Addr{} }, now: saturday, check: CheckIdentity},
		{name: "order cidr before time", raw: RawRequest{Task: "x"},
			caller: func(c *Caller) { c.RemoteAddr = netip.MustParseAddr("192.0.2.1") }, now: saturday, check: CheckCIDR},
		{name: "order time before task", raw: RawRequest{Task: "x"}, now: saturday, check: CheckTimeWindow},
		{name: "order task before destination", raw: RawRequest{Task: "x", Destinations: []string{"s3://nope/x"}}, check: CheckTask},
		{name: "order destination before action", raw: RawRequest{Destinations: []string{"s3://nope/x"}, Actions: []string{"delete"}}, check: CheckDestination},
		{name: "order action before sensitivity", raw: RawRequest{Destinations: []string{"s3://reports/a"}, Actions: []string{"delete"}, Sensitivity: "restricted"}, check: CheckAction},
		{name: "order sensitivity before ttl", raw: RawRequest{Sensitivity: "restricted", TTL: "9h"}, check: CheckSensitivity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := evalPolicy(t, tt.policy)
			if len(tt.raw.Destinations) == 0 {
				tt.raw.Destinations = []string{"https://reports.internal/exports/a.csv"}
			}
			req := evalRequest(t, tt.raw)
			caller := goodCaller()
			if tt.caller != nil {
				tt.caller(&caller)
			}
			now := tt.now
			if now.IsZero() {
				now = friday10
			}
			d, err := Evaluate(p, req, caller, now, tt.mount)
			var denial *Denial
			if !errors.As(err, &denial) {
				t.Fatalf("Evaluate = %+v, %v; want *Denial", d, err)
			}
			if denial.Check != tt.check || !strings.Contains(denial.Reason, tt.reason) {
				t.Errorf("denial = {%s, %q}; want {%s, %q}", denial.Check, denial.Reason, tt.check, tt.reason)
			}
		})
	}
}

func TestEvaluateDefaultActions(t *testing.T) {
	p := evalPolicy(t, func(s *RoleSpec) {
		s.Grants = append(s.Grants,
			GrantSpec{Destination: "s3://only-wild/*", Actions: []string{"s3:Get*"}},
			GrantSpec{Destination: "s3://mixed/*", Actions: []string{"s3:Get*", "list"}},
			GrantSpec{Destination: "s3://mixed/a/*", Actions: []string{"s3:GetObject", "read"}},
		)
	})
	tests := []struct {
		name  string
		dests []string
		want  []Action
		deny  string
	}{
		{"union of covering grants", []string{"https://reports.internal/exports/tmp/a"}, []Action{"read", "list", "write", "delete"}, ""},
		{"intersection across destinations", []string{"https://reports.internal/exports/tmp/a", "https://reports.internal/exports/b"}, []Action{"read", "list"}, ""},
		{"native and verb", []string{"s3://reports/x"}, []Action{"read", "s3:GetObject"}, ""},
		{"wildcards never become defaults", []string{"s3://only-wild/x"}, nil, `no concrete action is granted on "s3://only-wild/x"`},
		{"wildcard admits a concrete action named elsewhere", []string{"s3://mixed/a/x", "s3://mixed/b"}, []Action{"list", "s3:GetObject"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Evaluate(p, evalRequest(t, RawRequest{Destinations: tt.dests}), goodCaller(), friday10, 0)
			if tt.deny != "" {
				var denial *Denial
				if !errors.As(err, &denial) || denial.Check != CheckAction || !strings.Contains(denial.Reason, tt.deny) {
					t.Fatalf("err = %v; want action denial with %q", err, tt.deny)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(d.Actions, tt.want) {
				t.Errorf("actions = %v, want %v", d.Actions, tt.want)
			}
		})
	}
}

func TestEvaluateTTL(t *testing.T) {
	tests := []struct {
		name      string
		roleTTL   time.Duration
		requested string
		mount     time.Duration
		want      time.Duration
	}{
		{"role default", 10 * time.Minute, "", 0, 10 * time.Minute},
		{"requested", 10 * time.Minute, "30m", 0, 30 * time.Minute},
		{"at max_ttl", 10 * time.Minute, "1h", 0, time.Hour},
		{"default clamped to mount", 10 * time.Minute, "", 5 * time.Minute, 5 * time.Minute},
		{"mount above max_ttl is irrelevant", 10 * time.Minute, "1h", 24 * time.Hour, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := evalPolicy(t, func(s *RoleSpec) { s.TTL = tt.roleTTL })
			d, err := Evaluate(p, evalRequest(t, RawRequest{Destinations: []string{"s3://reports/a"}, TTL: tt.requested}), goodCaller(), friday10, tt.mount)
			if err != nil || d.TTL != tt.want {
				t.Errorf("ttl = %v, %v; want %v", d.TTL, err, tt.want)
			}
		})
	}
}

func TestEvaluateNilAndZeroInputs(t *testing.T) {
	var denial *Denial
	if _, err := Evaluate(nil, Request{}, Caller{}, friday10, 0); !errors.As(err, &denial) || denial.Check != CheckRole {
		t.Errorf("nil policy: %v", err)
	}
	p := evalPolicy(t, func(s *RoleSpec) {
		s.BoundEntityIDs, s.BoundEntityMetadata, s.BoundCIDRs, s.TimeWindows = nil, nil, nil, nil
	})
	if _, err := Evaluate(p, Request{Task: "nightly-export"}, Caller{}, friday10, 0); !errors.As(err, &denial) || denial.Check != CheckDestination {
		t.Errorf("request without destinations: %v", err)
	}
	req := Request{Task: "nightly-export", Destinations: []Pattern{mustPattern(t, "s3://reports/a")}}
	d, err := Evaluate(p, req, Caller{}, friday10, 0)
	if err != nil || d.Sensitivity != Internal {
		t.Errorf("zero sensitivity should mean internal: %+v, %v", d, err)
	}
	req.Sensitivity = 42
	if _, err := Evaluate(p, req, Caller{}, friday10, 0); !errors.As(err, &denial) || denial.Check != CheckSensitivity {
		t.Errorf("invalid sensitivity: %v", err)
	}
}

func TestCheckQuotas(t *testing.T) {
	p := evalPolicy(t, func(s *RoleSpec) { s.MaxActivePerTask, s.MaxActivePerEntity = 2, 3 })
	d := Decision{Task: "t"}
	tests := []struct {
		u      Usage
		reason string
	}{
		{Usage{1, 2}, ""},
		{Usage{2, 0}, `role "r" allows at most 2 active credentials per task; task "t" has 2`},
		{Usage{0, 3}, `role "r" allows at most 3 active credentials per entity; this entity has 3`},
	}
	for _, tt := range tests {
		err := CheckQuotas(p, d, tt.u)
		if tt.reason == "" {
			if err != nil {
				t.Errorf("usage %+v: %v", tt.u, err)
			}
			continue
		}
		var denial *Denial
		if !errors.As(err, &denial) || denial.Check != CheckQuota || denial.Reason != tt.reason {
			t.Errorf("usage %+v: %v; want quota denial %q", tt.u, err, tt.reason)
		}
	}
	unlimited := evalPolicy(t, nil)
	if err := CheckQuotas(unlimited, d, Usage{1000, 1000}); err != nil {
		t.Errorf("0 should mean unlimited: %v", err)
	}
}
