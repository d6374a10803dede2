package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestObservedDriftReachesDriftListAndAuditLog reports a use outside the intent through
// the real server: the finding is listed under drift/, and the audit log's observe
// response carries it readably (non-HMAC findings and a plain warning line).
func TestObservedDriftReachesDriftListAndAuditLog(t *testing.T) {
	role := writeRole(t, "drift", nil)
	s := mustIssue(t, env.workload.Client, role, intent(nil))
	id := str(s.Data, "credential_id")

	resp, err := env.root.Logical().Write("nhi/observe", map[string]any{
		"credential_id": id,
		"action":        "read",
		"resource":      "https://finance.internal/payroll.csv",
		"source_ip":     "127.0.0.1",
		"time":          time.Now().UTC().Format(time.RFC3339),
		"source":        "gateway",
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Data["drift"] != true || resp.Data["max_severity"] != "high" {
		t.Fatalf("observe = %v", resp.Data)
	}
	list, err := env.root.Logical().ReadWithData("nhi/drift/", map[string][]string{"list": {"true"}, "credential_id": {id}})
	if err != nil || list == nil {
		t.Fatalf("list drift: %v %v", list, err)
	}
	ids := strs(list.Data["keys"])
	if len(ids) == 0 {
		t.Fatal("drift/ lists no finding for the credential")
	}
	finding, err := env.root.Logical().Read("nhi/drift/" + ids[0])
	if err != nil || finding == nil || finding.Data["credential_id"] != id || finding.Data["role"] != role {
		t.Fatalf("finding = %v (%v)", finding, err)
	}

	entries, _ := readAudit(t)
	var seen bool
	for _, e := range entries {
		if e.Type != "response" || e.Request.Path != "nhi/observe" {
			continue
		}
		for _, w := range e.Response.Warnings {
			if strings.Contains(w, id) && strings.Contains(w, "destination-outside-intent") && strings.Contains(w, "severity=high") {
				seen = true
			}
		}
	}
	if !seen {
		t.Error("no readable audit line for the finding")
	}
}

func TestDriftActionRevokeStopsCredential(t *testing.T) {
	role := writeRole(t, "driftrevoke", map[string]any{"drift_action": "revoke"})
	s := mustIssue(t, env.workload.Client, role, intent(nil))
	id, token := str(s.Data, "credential_id"), str(s.Data, "token")
	if !isActive(t, token) {
		t.Fatal("fresh credential inactive")
	}
	resp, err := env.root.Logical().Write("nhi/observe", map[string]any{
		"credential_id": id, "action": "write", "resource": "https://finance.internal/payroll.csv",
		"source_ip": "127.0.0.1", "source": "gateway",
	})
	if err != nil {
		t.Fatal(err)
	}
	findings, _ := resp.Data["findings"].([]any)
	if len(findings) == 0 || findings[0].(map[string]any)["enforcement"] != "revoked" {
		t.Fatalf("findings = %v", resp.Data["findings"])
	}
	if isActive(t, token) {
		t.Error("credential still active after a high finding with drift_action=revoke")
	}
	if rec := readRecord(t, id); str(rec, "status") != "revoked" {
		t.Errorf("record status = %v", rec["status"])
	}
	// Using it afterwards is critical.
	after, err := env.root.Logical().Write("nhi/observe", map[string]any{
		"credential_id": id, "action": "write", "resource": "https://reports.internal/exports/2026/a.csv",
		"source_ip": "127.0.0.1", "source": "gateway",
	})
	if err != nil || after.Data["max_severity"] != "critical" {
		t.Errorf("use after revocation: %v %v", after, err)
	}
}

func TestObserveRefusesUnknownCredential(t *testing.T) {
	_, err := env.root.Logical().Write("nhi/observe", map[string]any{
		"credential_id": "c-aaaaaaaaaaaaaaaaaaaaaaaaaa", "action": "read", "resource": "https://a.internal/x",
	})
	expectError(t, err, http.StatusBadRequest, "credential_id")
}
