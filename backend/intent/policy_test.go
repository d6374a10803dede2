package intent

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func validSpec() RoleSpec {
	return RoleSpec{
		Name:         "exporter",
		AllowedTasks: []string{"nightly-export", "adhoc-*"},
		Grants: []GrantSpec{
			{Destination: "https://reports.internal/exports/*", Actions: []string{"read", "write"}, MaxSensitivity: "confidential"},
			{Destination: "s3://reports/*", Actions: []string{"read", "s3:Get*"}},
		},
	}
}

func TestCompilePolicyDefaults(t *testing.T) {
	p, err := CompilePolicy(validSpec())
	if err != nil {
		t.Fatal(err)
	}
	if !p.Enabled || p.TTL != DefaultTTL || p.MaxTTL != DefaultMaxTTL {
		t.Errorf("defaults: enabled=%v ttl=%v max_ttl=%v", p.Enabled, p.TTL, p.MaxTTL)
	}
	if p.Grants[1].MaxSensitivity != Internal {
		t.Errorf("grant without max_sensitivity = %v, want internal", p.Grants[1].MaxSensitivity)
	}
	if got := p.Grants[0].Destination.String(); got != "https://reports.internal/exports/*" {
		t.Errorf("grant destination = %q", got)
	}
	if !p.Identity.IsZero() || len(p.CIDRs) != 0 || len(p.Schedule.Windows) != 0 {
		t.Error("unset bindings should compile to nothing")
	}
}

func TestCompilePolicyFull(t *testing.T) {
	spec := validSpec()
	spec.Disabled = true
	spec.TimeWindows = []string{"Mon-Fri 06:00-20:00 Europe/Berlin"}
	spec.NotBefore, spec.NotAfter = "2026-01-01T00:00:00Z", "2027-01-01T00:00:00+01:00"
	spec.BoundEntityIDs = []string{"ent-1"}
	spec.BoundEntityAliases = []string{"auth_k8s:system:serviceaccount:jobs:exporter"}
	spec.BoundEntityMetadata = map[string]string{"team": "payments"}
	spec.BoundGroupNames = []string{"exporters"}
	spec.BoundCIDRs = []string{"10.0.0.0/8", "192.168.1.7"}
	spec.TTL, spec.MaxTTL = 10*time.Minute, 2*time.Hour
	spec.MaxActivePerTask, spec.MaxActivePerEntity = 2, 5
	p, err := CompilePolicy(spec)
	if err != nil {
		t.Fatal(err)
	}
	if p.Enabled || p.TTL != 10*time.Minute || p.MaxTTL != 2*time.Hour || p.MaxActivePerTask != 2 || p.MaxActivePerEntity != 5 {
		t.Errorf("scalar fields wrong: %+v", p)
	}
	if p.Schedule.NotBefore.IsZero() || p.Schedule.NotAfter.IsZero() || len(p.Schedule.Windows) != 1 {
		t.Errorf("schedule = %+v", p.Schedule)
	}
	if p.Identity.Aliases[0] != (Alias{"auth_k8s", "system:serviceaccount:jobs:exporter"}) || p.Identity.Metadata["team"] != "payments" {
		t.Errorf("identity = %+v", p.Identity)
	}
	if p.CIDRs[1] != netip.MustParsePrefix("192.168.1.7/32") {
		t.Errorf("cidrs = %v", p.CIDRs)
	}
}

func TestCompilePolicyMaxTTLBelowDefault(t *testing.T) {
	spec := validSpec()
	spec.MaxTTL = 2 * time.Minute
	p, err := CompilePolicy(spec)
	if err != nil || p.TTL != 2*time.Minute {
		t.Fatalf("ttl = %v, %v; want the default to follow a smaller max_ttl", p, err)
	}
}

func TestCompilePolicyFieldErrors(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*RoleSpec)
		field  string
		reason string
	}{
		{"name", func(s *RoleSpec) { s.Name = "" }, "name", "required"},
		{"no tasks", func(s *RoleSpec) { s.AllowedTasks = nil }, "allowed_tasks", "required"},
		{"bad task glob", func(s *RoleSpec) { s.AllowedTasks = []string{"ok", "not ok"} }, "allowed_tasks[1]", "contains"},
		{"too many tasks", func(s *RoleSpec) { s.AllowedTasks = make([]string, MaxAllowedTasks+1) }, "allowed_tasks", "at most"},
		{"no grants", func(s *RoleSpec) { s.Grants = nil }, "grants", "required"},
		{"too many grants", func(s *RoleSpec) { s.Grants = make([]GrantSpec, MaxGrants+1) }, "grants", "at most"},
		{"grant destination empty", func(s *RoleSpec) { s.Grants[1].Destination = "" }, "grants[1].destination", "required"},
		{"grant destination bad", func(s *RoleSpec) { s.Grants[1].Destination = "ftp://x" }, "grants[1].destination", "unknown scheme"},
		{"grant actions empty", func(s *RoleSpec) { s.Grants[0].Actions = nil }, "grants[0].actions", "required"},
		{"grant action bare star", func(s *RoleSpec) { s.Grants[0].Actions = []string{"read", "*"} }, "grants[0].actions[1]", "too wide"},
		{"grant action unknown", func(s *RoleSpec) { s.Grants[0].Actions = []string{"frobnicate"} }, "grants[0].actions[0]", "not a verb"},
		{"grant too many actions", func(s *RoleSpec) { s.Grants[0].Actions = make([]string, MaxActionsPerGrant+1) }, "grants[0].actions", "at most"},
		{"grant sensitivity", func(s *RoleSpec) { s.Grants[0].MaxSensitivity = "secret" }, "grants[0].max_sensitivity", "unknown sensitivity"},
		{"grant azure role", func(s *RoleSpec) { s.Grants[0].AzureRole = "a\nb" }, "grants[0].azure_role", "printable"},
		{"time window", func(s *RoleSpec) { s.TimeWindows = []string{"Mon-Fri 06:00-20:00", "Mon 9-5"} }, "time_windows[1]", "HH:MM"},
		{"time zone", func(s *RoleSpec) { s.TimeWindows = []string{"Mon-Fri 06:00-20:00 Nowhere/City"} }, "time_windows[0]", `unknown time zone "Nowhere/City"`},
		{"too many windows", func(s *RoleSpec) { s.TimeWindows = make([]string, MaxTimeWindows+1) }, "time_windows", "at most"},
		{"not_before", func(s *RoleSpec) { s.NotBefore = "tomorrow" }, "not_before", "RFC 3339"},
		{"not_after", func(s *RoleSpec) { s.NotAfter = "2026-13-01T00:00:00Z" }, "not_after", "RFC 3339"},
		{"not_after before not_before", func(s *RoleSpec) {
			s.NotBefore, s.NotAfter = "2026-02-01T00:00:00Z", "2026-01-01T00:00:00Z"
		}, "not_after", "not after not_before"},
		{"entity id", func(s *RoleSpec) { s.BoundEntityIDs = []string{""} }, "bound_entity_ids[0]", "non-empty"},
		{"alias", func(s *RoleSpec) { s.BoundEntityAliases = []string{"no-colon"} }, "bound_entity_aliases[0]", "<mount_accessor>:<alias name>"},
		{"metadata key", func(s *RoleSpec) { s.BoundEntityMetadata = map[string]string{"": "x"} }, "bound_entity_metadata", "empty key"},
		{"group", func(s *RoleSpec) { s.BoundGroupNames = []string{"ok", ""} }, "bound_group_names[1]", "non-empty"},
		{"cidr", func(s *RoleSpec) { s.BoundCIDRs = []string{"10.0.0.0/8", "10.0.0.0/99"} }, "bound_cidrs[1]", "invalid CIDR"},
		{"ttl negative", func(s *RoleSpec) { s.TTL = -time.Second }, "ttl", "negative"},
		{"max_ttl negative", func(s *RoleSpec) { s.MaxTTL = -time.Second }, "max_ttl", "negative"},
		{"ttl above max_ttl", func(s *RoleSpec) { s.TTL, s.MaxTTL = 2*time.Hour, time.Hour }, "ttl", "2h exceeds max_ttl 1h"},
		{"ttl above default max_ttl", func(s *RoleSpec) { s.TTL = 2 * time.Hour }, "ttl", "2h exceeds max_ttl 1h"},
		{"task quota", func(s *RoleSpec) { s.MaxActivePerTask = -1 }, "max_active_per_task", "negative"},
		{"entity quota", func(s *RoleSpec) { s.MaxActivePerEntity = -1 }, "max_active_per_entity", "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := validSpec()
			tt.mutate(&spec)
			p, err := CompilePolicy(spec)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("CompilePolicy = %v, %v; want *FieldError", p, err)
			}
			if fe.Field != tt.field || !strings.Contains(fe.Reason, tt.reason) {
				t.Errorf("FieldError = {%q, %q}; want field %q with %q", fe.Field, fe.Reason, tt.field, tt.reason)
			}
			if p != nil {
				t.Error("a failed compile returned a policy")
			}
		})
	}
}

func TestErrorStrings(t *testing.T) {
	d := &Denial{Check: CheckTask, Reason: `task "x" is not in allowed_tasks of role "r"`}
	if got := d.Error(); got != `denied by task check: task "x" is not in allowed_tasks of role "r"` {
		t.Errorf("Denial.Error = %q", got)
	}
	fe := &FieldError{Field: "ttl", Reason: "must be a positive duration"}
	if got := fe.Error(); got != "ttl: must be a positive duration" {
		t.Errorf("FieldError.Error = %q", got)
	}
}
