package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

// dayNotToday names a weekday two days from now in UTC, so a window on it cannot contain
// the moment of the request even if the test runs across midnight.
func dayNotToday() string {
	return time.Now().UTC().Add(48 * time.Hour).Weekday().String()[:3]
}

// TestRefusalsThroughRealServer sends requests that must be refused, each through the
// real server as the workload (or a second user): 403 naming the failed check for policy
// denials, 400 naming the field for malformed input. Afterwards no credential record
// exists that a refusal created.
func TestRefusalsThroughRealServer(t *testing.T) {
	before := listCredentials(t)
	issuedOK := map[string]bool{}

	base := writeRole(t, "refuse", nil)
	finance := writeRole(t, "refuse-finance", map[string]any{"bound_entity_metadata": map[string]string{"team": "finance"}})
	tenNet := writeRole(t, "refuse-cidr", map[string]any{"bound_cidrs": "10.0.0.0/8"})
	otherDay := writeRole(t, "refuse-window", map[string]any{"time_windows": dayNotToday() + " 00:00-24:00 UTC"})
	expired := writeRole(t, "refuse-notafter", map[string]any{
		"not_after": time.Now().UTC().Add(-time.Hour).Format(time.RFC3339),
	})
	quota := writeRole(t, "refuse-quota", map[string]any{"max_active_per_task": 1})
	disabled := writeRole(t, "refuse-disabled", map[string]any{"disabled": true})

	denials := []struct {
		name  string
		as    *api.Client
		role  string
		data  map[string]any
		check string
	}{
		{"disabled role", env.workload.Client, disabled, intent(nil), "role"},
		{"wrong task", env.workload.Client, base, intent(map[string]any{"task": "adhoc-dump"}), "task"},
		{"destination not granted", env.workload.Client, base, intent(map[string]any{"destinations": []string{"https://reports.internal/payroll/*"}}), "destination"},
		{"destination on another host", env.workload.Client, base, intent(map[string]any{"destinations": []string{"https://evil.example/exports/*"}}), "destination"},
		{"wider pattern than the grant", env.workload.Client, base, intent(map[string]any{"destinations": []string{"https://reports.internal/*"}}), "destination"},
		{"one of two destinations not granted", env.workload.Client, base, intent(map[string]any{"destinations": []string{exportsDest, "https://reports.internal/payroll/x"}}), "destination"},
		{"action not granted", env.workload.Client, base, intent(map[string]any{"actions": []string{"delete"}}), "action"},
		{"one of two actions not granted", env.workload.Client, base, intent(map[string]any{"actions": []string{"write", "read"}}), "action"},
		{"sensitivity above grant", env.workload.Client, base, intent(map[string]any{"sensitivity": "restricted"}), "sensitivity"},
		{"identity: entity metadata mismatch", env.workload.Client, finance, intent(nil), "identity"},
		{"identity: user without metadata", env.other.Client, base, intent(nil), "identity"},
		{"identity: root token has no entity", env.root, base, intent(nil), "identity"},
		{"source CIDR", env.workload.Client, tenNet, intent(nil), "cidr"},
		{"time window on another day", env.workload.Client, otherDay, intent(nil), "time_window"},
		{"not_after in the past", env.workload.Client, expired, intent(nil), "time_window"},
		{"ttl above max_ttl", env.workload.Client, base, intent(map[string]any{"ttl": "2h"}), "ttl"},
		{"ttl above the role's max_ttl, in seconds", env.workload.Client, base, intent(map[string]any{"ttl": "3601"}), "ttl"},
	}
	for _, tc := range denials {
		t.Run("403 "+tc.name, func(t *testing.T) {
			_, err := issue(tc.as, tc.role, tc.data)
			expectError(t, err, http.StatusForbidden, "denied by "+tc.check+" check")
		})
	}

	t.Run("403 quota: max_active_per_task=1, second issuance", func(t *testing.T) {
		first := mustIssue(t, env.workload.Client, quota, intent(nil))
		issuedOK[str(first.Data, "credential_id")] = true
		_, err := issue(env.workload.Client, quota, intent(nil))
		expectError(t, err, http.StatusForbidden, "denied by quota check")
		// Another task is a separate quota.
		other := mustIssue(t, env.workload.Client, quota, intent(map[string]any{"task": "nightly-other"}))
		issuedOK[str(other.Data, "credential_id")] = true
	})

	longTask := "nightly-" + strings.Repeat("x", 10_000-len("nightly-"))
	thousand := make([]string, 1000)
	for i := range thousand {
		thousand[i] = fmt.Sprintf("https://reports.internal/exports/%d/*", i)
	}
	badRequests := []struct {
		name  string
		role  string
		data  map[string]any
		field string
	}{
		{"unknown role", "no-such-role-" + roleName("x"), intent(nil), "role"},
		{"empty task", base, intent(map[string]any{"task": ""}), "task"},
		{"missing task", base, intent(map[string]any{"task": nil}), "task"},
		{"missing destinations", base, intent(map[string]any{"destinations": nil}), "destinations"},
		{"unknown action", base, intent(map[string]any{"actions": []string{"frobnicate"}}), "actions"},
		{"unknown sensitivity", base, intent(map[string]any{"sensitivity": "top-secret"}), "sensitivity"},
		{"ttl -1", base, intent(map[string]any{"ttl": "-1"}), "ttl"},
		{"ttl 0", base, intent(map[string]any{"ttl": "0"}), "ttl"},
		{"ttl abc", base, intent(map[string]any{"ttl": "abc"}), "ttl"},
		{"malformed JWK public_key", base, intent(map[string]any{"public_key": `{"kty":"EC","crv":"P-256","x":"not-base64!"`}), "public_key"},
		{"symmetric JWK public_key", base, intent(map[string]any{"public_key": `{"kty":"oct","k":"c2VjcmV0"}`}), "public_key"},
		{"10,000-character task", base, intent(map[string]any{"task": longTask}), "task"},
		{"1,000 destinations", base, intent(map[string]any{"destinations": thousand}), "destinations"},
		{"justification with a newline", base, intent(map[string]any{"justification": "ok\nforged audit line"}), "justification"},
	}
	for _, tc := range badRequests {
		t.Run("400 "+tc.name, func(t *testing.T) {
			_, err := issue(env.workload.Client, tc.role, tc.data)
			// Field errors read "<field>: <reason>".
			expectError(t, err, http.StatusBadRequest, tc.field+":")
		})
	}

	// The malformed requests are refused before any check that would reveal the role's
	// contents: a wrong task with a bad ttl is a 400 about the ttl.
	t.Run("400 before 403", func(t *testing.T) {
		_, err := issue(env.workload.Client, base, intent(map[string]any{"task": "adhoc-dump", "ttl": "abc"}))
		expectError(t, err, http.StatusBadRequest, "ttl:")
	})

	after := listCredentials(t)
	for id := range after {
		if !before[id] && !issuedOK[id] {
			t.Errorf("credential %s appeared although only refusals and the quota test's issuances ran", id)
		}
	}
	for id := range issuedOK {
		if !after[id] {
			t.Errorf("successful credential %s is not listed", id)
		}
	}
	if got, want := len(after)-len(before), len(issuedOK); got != want {
		t.Errorf("credentials grew by %d, want %d (the quota test's successful issuances)", got, want)
	}
}
