package backend

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
)

func issueData(overrides map[string]any) map[string]any {
	data := map[string]any{
		"task":         "nightly-export",
		"destinations": "https://reports.internal/exports/2026/*",
		"actions":      "write",
		"sensitivity":  "internal",
		"ttl":          "5m",
	}
	for k, v := range overrides {
		if v == nil {
			delete(data, k)
			continue
		}
		data[k] = v
	}
	return data
}

func (e *env) credentialCount() int {
	e.t.Helper()
	r := e.request(logical.ListOperation, "credentials/", map[string]any{})
	if r.resp == nil || r.resp.Data["keys"] == nil {
		return 0
	}
	return len(r.resp.Data["keys"].([]string))
}

func TestIssueReturnsScopedTokenWithLease(t *testing.T) {
	e := newEnv(t)
	e.mustOK(e.write("roles/reports-writer", reportsRole(nil)))
	resp := e.mustOK(e.write("creds/reports-writer", issueData(nil)))

	for _, field := range []string{"credential_id", "task", "destinations", "actions", "sensitivity", "expires_at", "token"} {
		if _, ok := resp.Data[field]; !ok {
			t.Errorf("response lacks %q", field)
		}
	}
	if resp.Secret == nil || resp.Secret.TTL != 5*time.Minute || resp.Secret.Renewable {
		t.Fatalf("lease = %+v, want a 5m non-renewable lease", resp.Secret)
	}
	if got := resp.Data["expires_at"]; got != testStart.Add(5*time.Minute).Format(time.RFC3339) {
		t.Errorf("expires_at = %v", got)
	}
	if got := resp.Data["actions"].([]string); len(got) != 1 || got[0] != "write" {
		t.Errorf("actions = %v", got)
	}

	id := resp.Data["credential_id"].(string)
	record := e.mustOK(e.read("credentials/" + id))
	if record.Data["status"] != "active" || record.Data["entity_id"] != "entity-1" || record.Data["source_address"] != "10.20.1.5" {
		t.Errorf("record = %v", record.Data)
	}
	for k, v := range record.Data {
		if s, ok := v.(string); ok && s == resp.Data["token"] {
			t.Errorf("record field %q holds the token", k)
		}
	}
	introspect := e.mustOK(e.write("introspect", map[string]any{"token": resp.Data["token"]}))
	if introspect.Data["active"] != true || introspect.Data["jti"] != id || introspect.Data["sub"] != "entity-1" {
		t.Errorf("introspect = %v", introspect.Data)
	}
}

func TestIssueOnReadWithQueryParameters(t *testing.T) {
	e := newEnv(t)
	e.mustOK(e.write("roles/reports-writer", reportsRole(nil)))
	resp := e.mustOK(e.request(logical.ReadOperation, "creds/reports-writer", issueData(map[string]any{"actions": nil})))
	// Without actions the default is every action granted on the destination.
	if got := fmt.Sprint(resp.Data["actions"]); got != "[write list]" && got != "[list write]" {
		t.Errorf("default actions = %v", got)
	}
}

func TestIssueRefusalsNameTheFailedCheck(t *testing.T) {
	cases := []struct {
		name   string
		role   map[string]any
		data   map[string]any
		setup  func(e *env)
		mutate func(*logical.Request)
		check  string
	}{
		{name: "disabled role", role: map[string]any{"disabled": true}, check: "role"},
		{name: "entity metadata", role: map[string]any{"bound_entity_metadata": map[string]any{"team": "finance"}}, check: "identity"},
		{name: "entity id", role: map[string]any{"bound_entity_ids": "entity-2"}, check: "identity"},
		{name: "alias", role: map[string]any{"bound_entity_aliases": "auth_userpass_1:someone-else"}, check: "identity"},
		{name: "group", role: map[string]any{"bound_group_names": "admins"}, check: "identity"},
		{name: "no entity", role: map[string]any{"bound_group_names": "exporters"}, mutate: func(r *logical.Request) { r.EntityID = "" }, check: "identity"},
		{name: "cidr", role: map[string]any{"bound_cidrs": "192.168.0.0/16"}, check: "cidr"},
		{name: "time window", role: map[string]any{"time_windows": []string{"Sat,Sun 00:00-24:00 UTC"}}, check: "time_window"},
		{name: "not_after", role: map[string]any{"not_after": "2026-12-01T00:00:00Z"}, check: "time_window"},
		{name: "task", data: map[string]any{"task": "adhoc-dump"}, check: "task"},
		{name: "destination", data: map[string]any{"destinations": "https://finance.internal/payroll/*"}, check: "destination"},
		{name: "wider pattern", data: map[string]any{"destinations": "https://reports.internal/*"}, check: "destination"},
		{name: "action", data: map[string]any{"actions": "delete"}, check: "action"},
		{name: "sensitivity", data: map[string]any{"sensitivity": "restricted"}, check: "sensitivity"},
		{name: "ttl above max_ttl", data: map[string]any{"ttl": "2h"}, check: "ttl"},
		{name: "quota per task", role: map[string]any{"max_active_per_task": 1}, setup: func(e *env) { e.mustOK(e.write("creds/r", issueData(nil))) }, check: "quota"},
		{name: "quota per entity", role: map[string]any{"max_active_per_entity": 1}, setup: func(e *env) { e.mustOK(e.write("creds/r", issueData(map[string]any{"task": "nightly-other"}))) }, check: "quota"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.mustOK(e.write("roles/r", reportsRole(tc.role)))
			if tc.setup != nil {
				tc.setup(e)
			}
			before := e.credentialCount()
			var mutate []func(*logical.Request)
			if tc.mutate != nil {
				mutate = append(mutate, tc.mutate)
			}
			r := e.write("creds/r", issueData(tc.data), mutate...)
			if r.status != http.StatusForbidden {
				t.Fatalf("status = %d (%s), want 403", r.status, r.errorText())
			}
			if want := "denied by " + tc.check + " check"; !strings.HasPrefix(r.errorText(), want) {
				t.Errorf("error %q, want prefix %q", r.errorText(), want)
			}
			if after := e.credentialCount(); after != before {
				t.Errorf("a refused request stored a record (%d -> %d)", before, after)
			}
		})
	}
}

func TestIssueMalformedInputIs400AndStoresNothing(t *testing.T) {
	many := make([]string, 1000)
	for i := range many {
		many[i] = fmt.Sprintf("https://reports.internal/exports/%d/*", i)
	}
	cases := []struct {
		name  string
		role  string
		data  map[string]any
		field string
	}{
		{"unknown role", "nope", issueData(nil), "role"},
		{"empty task", "r", issueData(map[string]any{"task": ""}), "task"},
		{"huge task", "r", issueData(map[string]any{"task": strings.Repeat("x", 10000)}), "task"},
		{"no destinations", "r", issueData(map[string]any{"destinations": nil}), "destinations"},
		{"1000 destinations", "r", issueData(map[string]any{"destinations": many}), "destinations"},
		{"malformed destination", "r", issueData(map[string]any{"destinations": "https://reports.internal/a b"}), "destinations"},
		{"unknown action", "r", issueData(map[string]any{"actions": "frobnicate"}), "actions"},
		{"unknown sensitivity", "r", issueData(map[string]any{"sensitivity": "secret"}), "sensitivity"},
		{"ttl -1", "r", issueData(map[string]any{"ttl": "-1"}), "ttl"},
		{"ttl 0", "r", issueData(map[string]any{"ttl": "0"}), "ttl"},
		{"ttl abc", "r", issueData(map[string]any{"ttl": "abc"}), "ttl"},
		{"malformed JWK", "r", issueData(map[string]any{"public_key": `{"kty":"EC","crv":"P-256","x":"not-a-point"}`}), "public_key"},
		{"private JWK", "r", issueData(map[string]any{"public_key": `{"kty":"oct","k":"c2VjcmV0"}`}), "public_key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.mustOK(e.write("roles/r", reportsRole(nil)))
			r := e.write("creds/"+tc.role, tc.data)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status = %d (%s), want 400", r.status, r.errorText())
			}
			if !strings.HasPrefix(r.errorText(), tc.field) {
				t.Errorf("error %q does not name field %q first", r.errorText(), tc.field)
			}
			if n := e.credentialCount(); n != 0 {
				t.Errorf("%d records stored after a refused request", n)
			}
			wals, _ := e.storage.List(t.Context(), "wal/")
			if len(wals) != 0 {
				t.Errorf("WAL entries left: %v", wals)
			}
		})
	}
}

func TestQuotaFreesUpAfterRevocation(t *testing.T) {
	e := newEnv(t)
	e.mustOK(e.write("roles/r", reportsRole(map[string]any{"max_active_per_task": 1})))
	first := e.mustOK(e.write("creds/r", issueData(nil)))
	if r := e.write("creds/r", issueData(nil)); r.status != http.StatusForbidden {
		t.Fatalf("second issue status %d, want 403", r.status)
	}
	if err := e.revokeLease(first); err != nil {
		t.Fatal(err)
	}
	e.mustOK(e.write("creds/r", issueData(nil)))
}

func TestBoundTokenCarriesThumbprint(t *testing.T) {
	e := newEnv(t)
	e.mustOK(e.write("roles/r", reportsRole(nil)))
	// RFC 7638 section 3.1 example key.
	jwk := `{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB"}`
	resp := e.mustOK(e.write("creds/r", issueData(map[string]any{"public_key": jwk})))
	claims, err := e.b.token.Verify(t.Context(), e.storage, resp.Data["token"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if claims.Confirmation == nil || claims.Confirmation.JKT != "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" {
		t.Errorf("cnf = %+v", claims.Confirmation)
	}
}
