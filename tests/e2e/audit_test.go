package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
)

// auditEntry is the part of a file audit device line the tests read.
type auditEntry struct {
	Type    string `json:"type"`
	Error   string `json:"error"`
	Request struct {
		Operation string         `json:"operation"`
		Path      string         `json:"path"`
		Data      map[string]any `json:"data"`
	} `json:"request"`
	Response struct {
		Data     map[string]any `json:"data"`
		Warnings []string       `json:"warnings"`
		Secret   *struct {
			LeaseID string `json:"lease_id"`
		} `json:"secret"`
	} `json:"response"`
}

func readAudit(t *testing.T) ([]auditEntry, []byte) {
	t.Helper()
	raw, err := os.ReadFile(env.srv.AuditLog)
	if err != nil {
		t.Fatalf("reading the audit log: %v", err)
	}
	var entries []auditEntry
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var e auditEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit line is not JSON: %v\n%s", err, sc.Bytes())
		}
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return entries, raw
}

// TestAuditLogHasIssuanceAndRefusals checks the file audit device: the creds/ issuance
// response carries the credential_id in clear (a non-HMAC key) while the token is
// HMAC'd, and refusals appear with an error naming the failed check ("denied by ...")
// readable without the HMAC key, with the task readable (a non-HMAC request key).
func TestAuditLogHasIssuanceAndRefusals(t *testing.T) {
	role := writeRole(t, "audit", nil)
	task := "nightly-audit-" + strings.ReplaceAll(roleName("t"), "-", "")
	s := mustIssue(t, env.workload.Client, role, intent(map[string]any{"task": task}))
	id, token := str(s.Data, "credential_id"), str(s.Data, "token")

	refusedTask := "adhoc-audit-" + strings.ReplaceAll(roleName("t"), "-", "")
	_, err := issue(env.workload.Client, role, intent(map[string]any{"task": refusedTask}))
	expectError(t, err, http.StatusForbidden, "denied by task check")
	_, err = issue(env.workload.Client, role, intent(map[string]any{"task": task, "destinations": []string{"https://reports.internal/*"}}))
	expectError(t, err, http.StatusForbidden, "denied by destination check")

	entries, raw := readAudit(t)
	credsPath := "nhi/creds/" + role

	var issuance *auditEntry
	var requestSeen bool
	var refusals []auditEntry
	for i := range entries {
		e := &entries[i]
		if e.Request.Path != credsPath {
			continue
		}
		if e.Type == "request" && e.Request.Data["task"] == task {
			requestSeen = true
		}
		if e.Type != "response" {
			continue
		}
		if e.Response.Data["credential_id"] == id {
			issuance = e
		}
		if e.Error != "" || e.Response.Data["error"] != nil || len(e.Response.Warnings) > 0 {
			refusals = append(refusals, *e)
		}
	}
	if !requestSeen {
		t.Errorf("no audit request entry for %s with task %q in clear", credsPath, task)
	}
	if issuance == nil {
		t.Fatalf("no audit response entry for %s with credential_id %s in clear", credsPath, id)
	}
	if issuance.Response.Secret == nil || issuance.Response.Secret.LeaseID != s.LeaseID {
		t.Errorf("issuance audit entry lease = %+v, want %s", issuance.Response.Secret, s.LeaseID)
	}
	if got := str(issuance.Response.Data, "task"); got != task {
		t.Errorf("issuance audit entry task = %q, want it in clear", got)
	}
	if got := str(issuance.Response.Data, "sensitivity"); got != "internal" {
		t.Errorf("issuance audit entry sensitivity = %q, want it in clear", got)
	}
	if tok := str(issuance.Response.Data, "token"); !strings.HasPrefix(tok, "hmac-sha256:") {
		t.Errorf("issuance audit entry token = %q, want it HMAC'd", tok)
	}
	if bytes.Contains(raw, []byte(token)) {
		t.Error("the workload token appears in clear in the audit log")
	}

	wantRefusals := map[string]string{refusedTask: "denied by task check", task: "denied by destination check"}
	for _, e := range refusals {
		reqTask, _ := e.Request.Data["task"].(string)
		want, ok := wantRefusals[reqTask]
		if !ok {
			continue
		}
		// The reason may be in Vault's top-level error, in the response's error field
		// when the mount does not HMAC it, or in a warning (never HMAC'd).
		msg := e.Error + "\n" + str(e.Response.Data, "error") + "\n" + strings.Join(e.Response.Warnings, "\n")
		if strings.Contains(msg, want) {
			delete(wantRefusals, reqTask)
		} else {
			t.Logf("refusal entry for task %s: error=%q response.data.error=%q warnings=%q",
				reqTask, e.Error, e.Response.Data["error"], e.Response.Warnings)
		}
	}
	for task, want := range wantRefusals {
		t.Errorf("no audit response entry for the refusal of task %s with an error containing %q in clear "+
			"(response.data.error is HMAC'd under the mount's audit settings and the engine adds no warning)", task, want)
	}
}
