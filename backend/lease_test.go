package backend

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

func TestRevokeMakesTokenInactiveAndAuthorizeDeny(t *testing.T) {
	e := newEnv(t)
	e.mustOK(e.write("roles/r", reportsRole(nil)))
	resp := e.mustOK(e.write("creds/r", issueData(nil)))
	token := resp.Data["token"].(string)
	resource := "https://reports.internal/exports/2026/a.csv"

	allowed := e.mustOK(e.write("authorize", map[string]any{"token": token, "action": "write", "resource": resource}))
	if allowed.Data["allowed"] != true {
		t.Fatalf("before revoke: %v", allowed.Data)
	}
	if err := e.revokeLease(resp); err != nil {
		t.Fatal(err)
	}
	if got := e.mustOK(e.write("introspect", map[string]any{"token": token})); got.Data["active"] != false || len(got.Data) != 1 {
		t.Errorf("introspect after revoke = %v, want only active=false", got.Data)
	}
	denied := e.mustOK(e.write("authorize", map[string]any{"token": token, "action": "write", "resource": resource}))
	if denied.Data["allowed"] != false || !strings.Contains(strings.Join(denied.Data["reasons"].([]string), ";"), "revoked") {
		t.Errorf("authorize after revoke = %v", denied.Data)
	}
	if len(denied.Warnings) == 0 {
		t.Error("a refusal adds no warning for the audit log")
	}
	record := e.mustOK(e.read("credentials/" + resp.Data["credential_id"].(string)))
	if record.Data["status"] != "revoked" {
		t.Errorf("status = %v", record.Data["status"])
	}
	// Vault retries revocations: a second one must succeed quietly.
	if err := e.revokeLease(resp); err != nil {
		t.Errorf("second revoke: %v", err)
	}
}

func TestExpiredTokenIsInactiveWithoutRevoke(t *testing.T) {
	e := newEnv(t)
	e.mustOK(e.write("roles/r", reportsRole(nil)))
	resp := e.mustOK(e.write("creds/r", issueData(map[string]any{"ttl": "5s"})))
	e.clock.Advance(6 * time.Second)
	if got := e.mustOK(e.write("introspect", map[string]any{"token": resp.Data["token"]})); got.Data["active"] != false {
		t.Errorf("introspect after expiry = %v", got.Data)
	}
	record := e.mustOK(e.read("credentials/" + resp.Data["credential_id"].(string)))
	if record.Data["status"] != "expired" {
		t.Errorf("status = %v", record.Data["status"])
	}
}

func TestDeletingRoleDoesNotStrandCredentials(t *testing.T) {
	e := newEnv(t)
	e.mustOK(e.write("roles/r", reportsRole(map[string]any{"provider": "fake"})))
	resp := e.mustOK(e.write("creds/r", issueData(nil)))
	id := resp.Data["credential_id"].(string)
	e.mustOK(e.request(logical.DeleteOperation, "roles/r", nil))
	if err := e.revokeLease(resp); err != nil {
		t.Fatalf("revoke after role delete: %v", err)
	}
	if e.fake.isLive(id) {
		t.Error("the provider's credential survived revocation")
	}
}

func (e *env) renewLease(resp *logical.Response) result {
	e.t.Helper()
	secret := *resp.Secret
	secret.IssueTime = testStart
	req := &logical.Request{Operation: logical.RenewOperation, Storage: e.storage, Secret: &secret}
	r, err := e.b.HandleRequest(t0ctx(), req)
	status, _ := logical.RespondErrorCommon(req, r, err)
	return result{resp: r, err: err, status: status}
}

func TestRenewRechecksRoleAndWindowAndCapsAtMaxTTL(t *testing.T) {
	e := newEnv(t)
	e.mustOK(e.write("roles/r", reportsRole(map[string]any{
		"provider": "fake", "ttl": "10m", "max_ttl": "15m",
		"time_windows": []string{"Mon-Fri 06:00-20:00 UTC"},
	})))
	resp := e.mustOK(e.write("creds/r", issueData(map[string]any{"ttl": "10m"})))
	if !resp.Secret.Renewable || resp.Secret.MaxTTL != 15*time.Minute {
		t.Fatalf("lease = %+v", resp.Secret)
	}
	e.clock.Advance(8 * time.Minute)
	renewed := e.renewLease(resp)
	if renewed.err != nil {
		t.Fatalf("renew: %v", renewed.err)
	}
	record := e.mustOK(e.read("credentials/" + resp.Data["credential_id"].(string)))
	if want := testStart.Add(15 * time.Minute).Format(time.RFC3339); record.Data["expires_at"] != want {
		t.Errorf("expires_at after renew = %v, want %v (capped by max_ttl)", record.Data["expires_at"], want)
	}

	e.clock.Advance(11 * time.Hour) // 18:08 -> 21:08 is outside the window
	if r := e.renewLease(resp); r.status != http.StatusForbidden || !strings.Contains(r.errorText(), "window") {
		t.Errorf("renew outside window: status %d %q", r.status, r.errorText())
	}
	e.mustOK(e.request(logical.DeleteOperation, "roles/r", nil))
	if r := e.renewLease(resp); r.status != http.StatusForbidden || !strings.Contains(r.errorText(), "deleted") {
		t.Errorf("renew after role delete: status %d %q", r.status, r.errorText())
	}
}

func TestWALRollbackRemovesWhatAFailedIssuanceCreated(t *testing.T) {
	e := newEnv(t)
	e.mustOK(e.write("roles/r", reportsRole(map[string]any{"provider": "fake"})))
	e.fake.failIssue = true
	if r := e.write("creds/r", issueData(nil)); r.err == nil {
		t.Fatal("issuance with a failing provider succeeded")
	}
	ids, err := framework.ListWAL(t0ctx(), e.storage)
	if err != nil || len(ids) != 1 {
		t.Fatalf("WAL entries = %v (%v), want exactly one", ids, err)
	}
	entry, err := framework.GetWAL(t0ctx(), e.storage, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	var issued struct {
		CredentialID string `json:"credential_id"`
	}
	raw, _ := json.Marshal(entry.Data)
	_ = json.Unmarshal(raw, &issued)
	if !e.fake.isLive(issued.CredentialID) {
		t.Fatalf("the injected failure did not leave an object behind")
	}
	if err := e.b.walRollback(t0ctx(), &logical.Request{Storage: e.storage}, entry.Kind, entry.Data); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if e.fake.isLive(issued.CredentialID) {
		t.Error("rollback left the provider's object alive")
	}
	if e.credentialCount() != 0 {
		t.Error("a failed issuance left a record")
	}
}

func TestRetentionSweepRemovesOldRecordsOnly(t *testing.T) {
	e := newEnv(t)
	e.mustOK(e.write("config/drift", map[string]any{"retention": "2h"}))
	e.mustOK(e.write("roles/r", reportsRole(nil)))
	old := e.mustOK(e.write("creds/r", issueData(map[string]any{"ttl": "1m"})))
	if err := e.revokeLease(old); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(3 * time.Hour)
	fresh := e.mustOK(e.write("creds/r", issueData(map[string]any{"ttl": "5m"})))
	if err := e.b.periodic(t0ctx(), &logical.Request{Storage: e.storage}); err != nil {
		t.Fatal(err)
	}
	if r := e.read("credentials/" + old.Data["credential_id"].(string)); r.resp != nil {
		t.Error("a record past retention survived the sweep")
	}
	e.mustOK(e.read("credentials/" + fresh.Data["credential_id"].(string)))
}

func TestConfigDriftValidatesRetention(t *testing.T) {
	e := newEnv(t)
	if r := e.write("config/drift", map[string]any{"retention": "10m"}); r.status != http.StatusBadRequest || !strings.HasPrefix(r.errorText(), "retention") {
		t.Errorf("status %d %q", r.status, r.errorText())
	}
	if got := e.mustOK(e.read("config/drift")).Data["retention"]; got != int64(7*24*3600) {
		t.Errorf("default retention = %v", got)
	}
}

func TestRenewNeverPassesTheProvidersFixedExpiry(t *testing.T) {
	e := newEnv(t)
	e.fake.hardExpiry = 12 * time.Minute
	e.mustOK(e.write("roles/r", reportsRole(map[string]any{"provider": "fake", "ttl": "10m", "max_ttl": "1h"})))
	resp := e.mustOK(e.write("creds/r", issueData(map[string]any{"ttl": "10m"})))
	e.clock.Advance(8 * time.Minute)
	renewed := e.renewLease(resp)
	if renewed.err != nil {
		t.Fatalf("renew: %v", renewed.err)
	}
	if got := renewed.resp.Secret.TTL; got != 4*time.Minute {
		t.Errorf("renewed ttl = %v, want 4m (the provider's expiry at 12m)", got)
	}
	e.clock.Advance(5 * time.Minute)
	if r := e.renewLease(resp); r.status != http.StatusForbidden {
		t.Errorf("renew past the provider's expiry: status %d %q", r.status, r.errorText())
	}
}
