package backend

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
)

const reportsGrants = `[{"destination": "https://reports.internal/exports/*", "actions": ["write", "list"], "max_sensitivity": "confidential"}]`

func reportsRole(overrides map[string]any) map[string]any {
	role := map[string]any{
		"allowed_tasks": "nightly-*",
		"grants":        reportsGrants,
		"ttl":           "5m",
		"max_ttl":       "1h",
	}
	for k, v := range overrides {
		role[k] = v
	}
	return role
}

func TestRoleCreateReadListDelete(t *testing.T) {
	e := newEnv(t)
	e.mustOK(e.write("roles/reports-writer", reportsRole(map[string]any{
		"time_windows":          []string{"Mon-Fri 06:00-20:00 Europe/Berlin"},
		"bound_entity_metadata": map[string]any{"team": "reports"},
		"bound_cidrs":           "10.20.0.0/16",
		"max_active_per_task":   2,
		"extra_claims":          map[string]any{"env": "prod"},
	})))
	resp := e.mustOK(e.read("roles/reports-writer"))
	checks := map[string]any{
		"provider":     "token",
		"ttl":          int64(300),
		"max_ttl":      int64(3600),
		"drift_action": "record",
	}
	for k, want := range checks {
		if got := resp.Data[k]; got != want {
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}
	if got := resp.Data["time_windows"].([]string); len(got) != 1 || got[0] != "Mon-Fri 06:00-20:00 Europe/Berlin" {
		t.Errorf("time_windows = %v", got)
	}
	if got := fmt.Sprint(resp.Data["extra_claims"]); got != "map[env:prod]" {
		t.Errorf("extra_claims.env = %q", got)
	}

	list := e.mustOK(e.request(logical.ListOperation, "roles/", nil))
	if keys := list.Data["keys"].([]string); len(keys) != 1 || keys[0] != "reports-writer" {
		t.Errorf("list = %v", keys)
	}
	e.mustOK(e.request(logical.DeleteOperation, "roles/reports-writer", nil))
	if r := e.read("roles/reports-writer"); r.resp != nil {
		t.Errorf("role still readable after delete: %v", r.resp.Data)
	}
}

func TestRoleUpdateKeepsUnsentFields(t *testing.T) {
	e := newEnv(t)
	e.mustOK(e.write("roles/r", reportsRole(map[string]any{"max_active_per_task": 3})))
	e.mustOK(e.write("roles/r", map[string]any{"ttl": "10m"}))
	resp := e.mustOK(e.read("roles/r"))
	if resp.Data["ttl"] != int64(600) || resp.Data["max_active_per_task"] != 3 || resp.Data["revision"] != uint64(2) {
		t.Errorf("after partial update: ttl=%v max_active_per_task=%v revision=%v", resp.Data["ttl"], resp.Data["max_active_per_task"], resp.Data["revision"])
	}
}

func TestRoleInvalidFieldsAreRefusedNamingTheField(t *testing.T) {
	cases := []struct {
		name      string
		role      map[string]any
		wantField string
	}{
		{"no grants", map[string]any{"allowed_tasks": "t", "grants": "[]"}, "grants"},
		{"missing grants", map[string]any{"allowed_tasks": "t"}, "grants"},
		{"no tasks", reportsRole(map[string]any{"allowed_tasks": ""}), "allowed_tasks"},
		{"unknown provider", reportsRole(map[string]any{"provider": "gcp"}), "provider"},
		{"bad pattern", reportsRole(map[string]any{"grants": `[{"destination": "https://reports.internal/../x", "actions": ["read"], "max_sensitivity": "internal"}]`}), "grants[0].destination"},
		{"unknown grant key", reportsRole(map[string]any{"grants": `[{"destination": "https://a.b/*", "actions": ["read"], "max_sensitivity": "internal", "extra": 1}]`}), "grants[0]"},
		{"grant not JSON", reportsRole(map[string]any{"grants": `[{"destination": `}), "grants"},
		{"unknown sensitivity", reportsRole(map[string]any{"grants": `[{"destination": "https://a.b/*", "actions": ["read"], "max_sensitivity": "secret"}]`}), "grants[0].max_sensitivity"},
		{"unknown action", reportsRole(map[string]any{"grants": `[{"destination": "https://a.b/*", "actions": ["frobnicate"], "max_sensitivity": "internal"}]`}), "grants[0].actions"},
		{"unknown time zone", reportsRole(map[string]any{"time_windows": []string{"Mon-Fri 06:00-20:00 Mars/Olympus"}}), "time_windows[0]"},
		{"bad window", reportsRole(map[string]any{"time_windows": []string{"Funday 06:00-20:00"}}), "time_windows[0]"},
		{"ttl above max_ttl", reportsRole(map[string]any{"ttl": "2h", "max_ttl": "1h"}), "ttl"},
		{"bad cidr", reportsRole(map[string]any{"bound_cidrs": "10.0.0.0/33"}), "bound_cidrs"},
		{"bad alias binding", reportsRole(map[string]any{"bound_entity_aliases": "no-accessor"}), "bound_entity_aliases"},
		{"bad drift action", reportsRole(map[string]any{"drift_action": "explode"}), "drift_action"},
		{"negative quota", reportsRole(map[string]any{"max_active_per_task": -1}), "max_active_per_task"},
		{"bad not_after", reportsRole(map[string]any{"not_after": "tomorrow"}), "not_after"},
		{"bad audience mode", reportsRole(map[string]any{"audience_mode": "everyone"}), "audience_mode"},
		{"reserved extra claim", reportsRole(map[string]any{"extra_claims": map[string]any{"sub": "x"}}), "extra_claims"},
		{"field of another provider", reportsRole(map[string]any{"role_arn": "arn:aws:iam::123456789012:role/x"}), "role_arn"},
		{"wrong credential type", reportsRole(map[string]any{"credential_type": "iam_user"}), "credential_type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			r := e.write("roles/r", tc.role)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status = %d (%s), want 400", r.status, r.errorText())
			}
			if !strings.HasPrefix(r.errorText(), tc.wantField) {
				t.Errorf("error %q does not start with the field %q", r.errorText(), tc.wantField)
			}
			if got := e.read("roles/r"); got.resp != nil {
				t.Errorf("a refused role was stored: %v", got.resp.Data)
			}
		})
	}
}

func TestRefusedUpdateLeavesRoleUnchanged(t *testing.T) {
	e := newEnv(t)
	e.mustOK(e.write("roles/r", reportsRole(nil)))
	r := e.write("roles/r", map[string]any{"ttl": "1m", "time_windows": []string{"Mon-Fri 06:00-20:00 Nowhere/City"}})
	if r.status != http.StatusBadRequest {
		t.Fatalf("status = %d, want 400", r.status)
	}
	resp := e.mustOK(e.read("roles/r"))
	if resp.Data["ttl"] != int64(300) || len(resp.Data["time_windows"].([]string)) != 0 {
		t.Errorf("refused update changed the role: ttl=%v windows=%v", resp.Data["ttl"], resp.Data["time_windows"])
	}
}

func TestRoleNameIsValidated(t *testing.T) {
	e := newEnv(t)
	r := e.write("roles/"+strings.Repeat("a", 200), reportsRole(nil))
	if r.status != http.StatusBadRequest || !strings.HasPrefix(r.errorText(), "name") {
		t.Errorf("status %d, error %q", r.status, r.errorText())
	}
}
