package backend

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
)

func (e *env) findingIDs(query map[string]any) []string {
	e.t.Helper()
	r := e.request(logical.ListOperation, "drift/", query)
	if r.resp == nil || r.resp.Data["keys"] == nil {
		return nil
	}
	return r.resp.Data["keys"].([]string)
}

func useEvent(id string, overrides map[string]any) map[string]any {
	ev := map[string]any{
		"credential_id": id,
		"action":        "write",
		"resource":      "https://reports.internal/exports/2026/a.csv",
		"source_ip":     "10.20.1.5",
		"time":          testStart.Add(time.Minute).Format(time.RFC3339),
		"source":        "gateway",
	}
	for k, v := range overrides {
		ev[k] = v
	}
	return ev
}

func TestObserveInIntentUseHasNoDrift(t *testing.T) {
	e := newEnv(t)
	e.mustOK(e.write("roles/r", reportsRole(nil)))
	id := e.mustOK(e.write("creds/r", issueData(map[string]any{"ttl": "10m"}))).Data["credential_id"].(string)
	e.clock.Advance(8 * time.Minute)
	// 200 uses at a steady 30 per minute: below the volume floor of 50 per minute.
	events := make([]any, 200)
	for i := range events {
		at := testStart.Add(time.Duration(2*i) * time.Second)
		events[i] = useEvent(id, map[string]any{"time": at.Format(time.RFC3339)})
	}
	resp := e.mustOK(e.write("observe", map[string]any{"events": events}))
	if resp.Data["drift"] != false || resp.Data["max_severity_level"] != 0 || len(resp.Warnings) != 0 {
		t.Errorf("in-intent batch: drift=%v level=%v warnings=%v", resp.Data["drift"], resp.Data["max_severity_level"], resp.Warnings)
	}
	if ids := e.findingIDs(nil); len(ids) != 0 {
		t.Errorf("findings stored for in-intent use: %v", ids)
	}
}

func TestObserveOutsideIntentRecordsFindingAndWarning(t *testing.T) {
	e := newEnv(t)
	e.mustOK(e.write("roles/r", reportsRole(nil)))
	id := e.mustOK(e.write("creds/r", issueData(nil))).Data["credential_id"].(string)
	e.clock.Advance(2 * time.Minute)
	resp := e.mustOK(e.write("observe", useEvent(id, map[string]any{"resource": "https://finance.internal/payroll.csv", "action": "read"})))
	if resp.Data["drift"] != true || resp.Data["max_severity"] != "high" {
		t.Fatalf("drift=%v max=%v findings=%v", resp.Data["drift"], resp.Data["max_severity"], resp.Data["findings"])
	}
	var rules []string
	for _, f := range resp.Data["findings"].([]map[string]any) {
		rules = append(rules, f["rule"].(string))
		if f["enforcement"] != "recorded" {
			t.Errorf("enforcement = %v with drift_action=record", f["enforcement"])
		}
	}
	if !strings.Contains(strings.Join(rules, ","), "destination-outside-intent") {
		t.Errorf("rules = %v", rules)
	}
	if len(resp.Warnings) != len(rules) || !strings.Contains(resp.Warnings[0], id) {
		t.Errorf("warnings = %v", resp.Warnings)
	}
	ids := e.findingIDs(map[string]any{"credential_id": id})
	if len(ids) != len(rules) {
		t.Fatalf("drift/ lists %v", ids)
	}
	got := e.mustOK(e.read("drift/" + ids[0]))
	if got.Data["credential_id"] != id || got.Data["role"] != "r" || got.Data["task"] != "nightly-export" {
		t.Errorf("finding = %v", got.Data)
	}
	if ids := e.findingIDs(map[string]any{"role": "other"}); len(ids) != 0 {
		t.Errorf("role filter leaked %v", ids)
	}
	if ids := e.findingIDs(map[string]any{"severity": "critical"}); len(ids) != 0 {
		t.Errorf("severity filter leaked %v", ids)
	}
	// The credential is untouched with drift_action=record.
	if e.mustOK(e.read("credentials/" + id)).Data["status"] != "active" {
		t.Error("drift_action=record revoked the credential")
	}
}

func TestDriftActionRevokeKillsCredentialOnHighFinding(t *testing.T) {
	e := newEnv(t)
	e.mustOK(e.write("roles/r", reportsRole(map[string]any{"drift_action": "revoke"})))
	creds := e.mustOK(e.write("creds/r", issueData(nil)))
	id := creds.Data["credential_id"].(string)
	e.clock.Advance(2 * time.Minute)
	resp := e.mustOK(e.write("observe", useEvent(id, map[string]any{"resource": "https://finance.internal/payroll.csv"})))
	f := resp.Data["findings"].([]map[string]any)[0]
	if f["enforcement"] != "revoked" {
		t.Fatalf("enforcement = %v", f["enforcement"])
	}
	record := e.mustOK(e.read("credentials/" + id))
	if record.Data["status"] != "revoked" || !strings.Contains(record.Data["revoke_reason"].(string), "drift") {
		t.Errorf("record = %v", record.Data)
	}
	if got := e.mustOK(e.write("introspect", map[string]any{"token": creds.Data["token"]})); got.Data["active"] != false {
		t.Error("token still active after drift revocation")
	}
	// Using it afterwards is a critical finding.
	e.clock.Advance(time.Minute)
	after := e.mustOK(e.write("observe", useEvent(id, map[string]any{"time": e.clock.Now().Format(time.RFC3339)})))
	if after.Data["max_severity"] != "critical" {
		t.Errorf("use after revocation: %v", after.Data["findings"])
	}
}

func TestAuthorizeRefusalIsRecordedAsFinding(t *testing.T) {
	e := newEnv(t)
	e.mustOK(e.write("roles/r", reportsRole(nil)))
	id := e.mustOK(e.write("creds/r", issueData(nil))).Data["credential_id"].(string)
	resp := e.mustOK(e.write("authorize", map[string]any{"credential_id": id, "action": "delete", "resource": "https://reports.internal/exports/2026/a.csv", "source_ip": "10.20.1.5"}))
	fid, _ := resp.Data["finding_id"].(string)
	if resp.Data["allowed"] != false || fid == "" {
		t.Fatalf("authorize = %v", resp.Data)
	}
	if got := e.mustOK(e.read("drift/" + fid)); got.Data["rule"] != "action-outside-intent" || got.Data["source"] != "authorize" {
		t.Errorf("finding = %v", got.Data)
	}
}

func TestObserveBadInputIsRefusedAndStoresNothing(t *testing.T) {
	e := newEnv(t)
	e.mustOK(e.write("roles/r", reportsRole(nil)))
	id := e.mustOK(e.write("creds/r", issueData(nil))).Data["credential_id"].(string)
	many := make([]any, 1001)
	for i := range many {
		many[i] = useEvent(id, nil)
	}
	// A 10 MB batch: every field within its own limit, the whole far above the batch cap.
	huge := make([]any, 1000)
	size := 0
	for i := range huge {
		ev := useEvent(id, map[string]any{
			"resource":      "https://finance.internal/" + strings.Repeat("x", 2000),
			"event_id":      strings.Repeat("e", 2040),
			"session_name":  strings.Repeat("s", 2040),
			"access_key_id": strings.Repeat("A", 2040),
			"action":        "s3:" + strings.Repeat("G", 2030),
		})
		for _, v := range ev {
			size += len(v.(string))
		}
		huge[i] = ev
	}
	if size < 10_000_000 {
		t.Fatalf("the oversized batch is only %d bytes", size)
	}
	cases := map[string]struct {
		body  map[string]any
		field string
	}{
		"unknown credential": {useEvent("c-aaaaaaaaaaaaaaaaaaaaaaaaaa", nil), "events[0].credential_id"},
		"unknown key id":     {map[string]any{"access_key_id": "ASIAUNKNOWN", "action": "read", "resource": "s3://a/b"}, "events[0].access_key_id"},
		"malformed time":     {useEvent(id, map[string]any{"time": "yesterday"}), "time"},
		"1001 events":        {map[string]any{"events": many}, "events"},
		"10 MB batch":        {map[string]any{"events": huge}, "events"},
		"unknown field":      {useEvent(id, map[string]any{"secret": "x"}), "secret"},
		"bad source ip":      {useEvent(id, map[string]any{"source_ip": "999.0.0.1"}), "source_ip"},
		"events not JSON":    {map[string]any{"events": "[{"}, "events"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := e.write("observe", tc.body)
			if r.status != http.StatusBadRequest || !strings.Contains(r.errorText(), tc.field) {
				t.Fatalf("status %d, error %q (want 400 naming %q)", r.status, r.errorText(), tc.field)
			}
			if ids := e.findingIDs(nil); len(ids) != 0 {
				t.Errorf("findings stored: %v", ids)
			}
		})
	}
}

func TestFindingsAreSweptAfterRetention(t *testing.T) {
	e := newEnv(t)
	e.mustOK(e.write("config/drift", map[string]any{"retention": "2h"}))
	e.mustOK(e.write("roles/r", reportsRole(nil)))
	id := e.mustOK(e.write("creds/r", issueData(nil))).Data["credential_id"].(string)
	e.clock.Advance(2 * time.Minute)
	e.mustOK(e.write("observe", useEvent(id, map[string]any{"resource": "https://finance.internal/payroll.csv"})))
	if len(e.findingIDs(nil)) == 0 {
		t.Fatal("no finding recorded")
	}
	e.clock.Advance(4 * time.Hour)
	if err := e.b.periodic(t0ctx(), &logical.Request{Storage: e.storage}); err != nil {
		t.Fatal(err)
	}
	if ids := e.findingIDs(map[string]any{"since": "48h"}); len(ids) != 0 {
		t.Errorf("findings past retention survived: %v", ids)
	}
}
