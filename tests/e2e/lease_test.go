package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

// authorizeAsRoot asks nhi/authorize about a token used from loopback (inside the
// roles' bound_cidrs).
func authorizeAsRoot(t *testing.T, token, action, resource string) map[string]any {
	t.Helper()
	s, err := env.root.Logical().Write("nhi/authorize", map[string]any{
		"token": token, "action": action, "resource": resource, "source_ip": "127.0.0.1",
	})
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	return s.Data
}

// TestLeaseRevokeCLIKillsCredential revokes one lease with `vault lease revoke <lease_id>`
// and then checks introspect says active=false, authorize refuses with a reason naming
// the revocation, and the record says revoked.
func TestLeaseRevokeCLIKillsCredential(t *testing.T) {
	role := writeRole(t, "revoke", nil)
	s := mustIssue(t, env.workload.Client, role, intent(nil))
	token, id := str(s.Data, "token"), str(s.Data, "credential_id")
	resource := "https://reports.internal/exports/2026/a.csv"
	if !isActive(t, token) {
		t.Fatal("fresh credential is not active")
	}
	if got := authorizeAsRoot(t, token, "write", resource); got["allowed"] != true {
		t.Fatalf("authorize before revocation = %v", got)
	}

	out, err := env.srv.CLI(context.Background(), "root", "lease", "revoke", s.LeaseID)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("vault lease revoke: %s", strings.TrimSpace(out))
	// The CLI revokes asynchronously unless -sync; give Vault a moment.
	eventually(t, 15*time.Second, "introspect still says active after vault lease revoke", func() bool {
		return !isActive(t, token)
	})
	got := authorizeAsRoot(t, token, "write", resource)
	if got["allowed"] != false {
		t.Fatalf("authorize after revocation = %v", got)
	}
	reasons := strs(got["reasons"])
	found := false
	for _, r := range reasons {
		if strings.Contains(r, "revoked") {
			found = true
		}
	}
	if !found {
		t.Errorf("authorize reasons %q do not mention the revocation", reasons)
	}
	// The same answer by credential_id.
	byID, err := env.root.Logical().Write("nhi/authorize", map[string]any{
		"credential_id": id, "action": "write", "resource": resource, "source_ip": "127.0.0.1",
	})
	if err != nil {
		t.Fatalf("authorize by credential_id: %v", err)
	}
	if byID.Data["allowed"] != false {
		t.Errorf("authorize by credential_id after revocation = %v", byID.Data)
	}
	rec := readRecord(t, id)
	if str(rec, "status") != "revoked" || str(rec, "revoked_at") == "" {
		t.Errorf("record after revocation: status=%q revoked_at=%q", rec["status"], rec["revoked_at"])
	}
	if _, err := env.root.Sys().Lookup(s.LeaseID); err == nil {
		t.Error("lease still exists after vault lease revoke")
	}
}

// TestLeaseRevokePrefixRevokesRole revokes every credential of one role with
// `vault lease revoke -prefix nhi/creds/<role>` and leaves another role's alone.
func TestLeaseRevokePrefixRevokesRole(t *testing.T) {
	role := writeRole(t, "prefix", nil)
	bystanderRole := writeRole(t, "bystander", nil)
	var tokens, ids []string
	for _, task := range []string{"nightly-a", "nightly-b", "nightly-c"} {
		s := mustIssue(t, env.workload.Client, role, intent(map[string]any{"task": task}))
		tokens = append(tokens, str(s.Data, "token"))
		ids = append(ids, str(s.Data, "credential_id"))
	}
	bystander := mustIssue(t, env.workload.Client, bystanderRole, intent(nil))

	if _, err := env.srv.CLI(context.Background(), "root", "lease", "revoke", "-prefix", "nhi/creds/"+role); err != nil {
		t.Fatal(err)
	}
	for i, token := range tokens {
		eventually(t, 15*time.Second, "credential "+ids[i]+" still active after revoke -prefix", func() bool {
			return !isActive(t, token)
		})
		if st := str(readRecord(t, ids[i]), "status"); st != "revoked" {
			t.Errorf("credential %s status = %q, want revoked", ids[i], st)
		}
	}
	if !isActive(t, str(bystander.Data, "token")) {
		t.Error("a credential of another role was revoked by the prefix")
	}
}

// TestLeaseExpiryRevokesWithoutCaller issues a 5-second credential and waits: Vault's
// expiration manager calls the engine's revoke, so introspect turns inactive, the record
// says expired and carries the revocation, and the lease is gone, without anyone
// calling revoke.
func TestLeaseExpiryRevokesWithoutCaller(t *testing.T) {
	role := writeRole(t, "expiry", nil)
	s := mustIssue(t, env.workload.Client, role, intent(map[string]any{"ttl": "5s"}))
	token, id := str(s.Data, "token"), str(s.Data, "credential_id")
	if s.LeaseDuration != 5 {
		t.Errorf("lease_duration = %d, want 5", s.LeaseDuration)
	}
	if !isActive(t, token) {
		t.Fatal("fresh 5s credential is not active")
	}
	issued := time.Now()
	eventually(t, 25*time.Second, "introspect still active after the 5s ttl", func() bool {
		return !isActive(t, token)
	})
	if time.Since(issued) < 4*time.Second {
		t.Errorf("credential went inactive after %s, before its 5s ttl", time.Since(issued))
	}
	// The expiry manager's revoke marks the record (revoked_at and its reason).
	var rec map[string]any
	eventually(t, 20*time.Second, "record never shows the engine's revoke after lease expiry", func() bool {
		rec = readRecord(t, id)
		return str(rec, "revoked_at") != ""
	})
	if st := str(rec, "status"); st != "expired" {
		t.Errorf("record status = %q, want expired", st)
	}
	t.Logf("record after expiry: status=%v revoked_at=%v revoke_reason=%v", rec["status"], rec["revoked_at"], rec["revoke_reason"])
	eventually(t, 10*time.Second, "lease still exists after expiry", func() bool {
		_, err := env.root.Sys().Lookup(s.LeaseID)
		return err != nil
	})
	if got := authorizeAsRoot(t, token, "write", "https://reports.internal/exports/2026/a.csv"); got["allowed"] != false {
		t.Errorf("authorize after expiry = %v", got)
	}
}

// TestDeletedRoleDoesNotStrandCredentials issues, deletes the role, then revokes the
// lease: the revocation succeeds and the credential is dead.
func TestDeletedRoleDoesNotStrandCredentials(t *testing.T) {
	role := writeRole(t, "deleted", nil)
	s := mustIssue(t, env.workload.Client, role, intent(nil))
	token, id := str(s.Data, "token"), str(s.Data, "credential_id")
	if _, err := env.root.Logical().Delete("nhi/roles/" + role); err != nil {
		t.Fatalf("deleting role: %v", err)
	}
	if got, err := env.root.Logical().Read("nhi/roles/" + role); err != nil || got != nil {
		t.Fatalf("role still readable after delete: %v %v", got, err)
	}
	// A credential of a deleted role is still judged by its record until revoked.
	if !isActive(t, token) {
		t.Error("credential went inactive when its role was deleted, before revocation")
	}
	if _, err := env.srv.CLI(context.Background(), "root", "lease", "revoke", "-sync", s.LeaseID); err != nil {
		t.Fatalf("revoking the lease of a deleted role's credential: %v", err)
	}
	if isActive(t, token) {
		t.Error("introspect active after revoking the lease of a deleted role")
	}
	if st := str(readRecord(t, id), "status"); st != "revoked" {
		t.Errorf("record status = %q, want revoked", st)
	}
	if _, err := env.root.Sys().Lookup(s.LeaseID); err == nil {
		t.Error("lease still exists after revocation")
	}
}

// TestRevocationFreesQuota checks quotas count only live credentials: with
// max_active_per_task=1 a second issuance is refused until the first lease is revoked.
func TestRevocationFreesQuota(t *testing.T) {
	role := writeRole(t, "quota-free", map[string]any{"max_active_per_task": 1})
	first := mustIssue(t, env.workload.Client, role, intent(nil))
	_, err := issue(env.workload.Client, role, intent(nil))
	expectError(t, err, http.StatusForbidden, "denied by quota check")
	if err := env.root.Sys().Revoke(first.LeaseID); err != nil {
		t.Fatalf("revoking: %v", err)
	}
	mustIssue(t, env.workload.Client, role, intent(nil))

	perEntity := writeRole(t, "quota-entity", map[string]any{"max_active_per_entity": 1})
	mustIssue(t, env.workload.Client, perEntity, intent(map[string]any{"task": "nightly-a"}))
	_, err = issue(env.workload.Client, perEntity, intent(map[string]any{"task": "nightly-b"}))
	expectError(t, err, http.StatusForbidden, "denied by quota check")
}

// TestQuotaHoldsUnderConcurrency sends 8 simultaneous issuances to a role with
// max_active_per_task=2: exactly two succeed, the rest are quota refusals.
func TestQuotaHoldsUnderConcurrency(t *testing.T) {
	role := writeRole(t, "quota-race", map[string]any{"max_active_per_task": 2})
	const n = 8
	errs := make(chan error, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		c, err := env.srv.Client(env.workload.Token)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			<-start
			_, err := issue(c, role, intent(nil))
			errs <- err
		}()
	}
	close(start)
	ok := 0
	for i := 0; i < n; i++ {
		err := <-errs
		if err == nil {
			ok++
			continue
		}
		expectError(t, err, http.StatusForbidden, "denied by quota check")
	}
	if ok != 2 {
		t.Errorf("%d of %d concurrent issuances succeeded, want exactly max_active_per_task=2", ok, n)
	}
}

// TestMountMaxLeaseTTLCapsCredentials tunes the mount's max_lease_ttl below the role's
// max_ttl: a longer ttl is refused naming the mount's limit, the default ttl is capped
// to it, and the token's exp matches the lease.
func TestMountMaxLeaseTTLCapsCredentials(t *testing.T) {
	role := writeRole(t, "mount-cap", map[string]any{"ttl": "30m", "max_ttl": "1h"})
	if err := env.root.Sys().TuneMount("nhi", api.MountConfigInput{MaxLeaseTTL: "10m"}); err != nil {
		t.Fatalf("tuning nhi/: %v", err)
	}
	t.Cleanup(func() {
		if err := env.root.Sys().TuneMount("nhi", api.MountConfigInput{MaxLeaseTTL: "system"}); err != nil {
			t.Errorf("restoring nhi/ max_lease_ttl: %v", err)
		}
	})
	_, err := issue(env.workload.Client, role, intent(map[string]any{"ttl": "20m"}))
	expectError(t, err, http.StatusForbidden, "denied by ttl check")

	s := mustIssue(t, env.workload.Client, role, intent(nil))
	_, claims := verifyToken(t, fetchJWKS(t), str(s.Data, "token"))
	if s.LeaseDuration != 600 || claims.Expiry-claims.IssuedAt != 600 {
		t.Errorf("default ttl under a 10m mount cap: lease %ds, token exp-iat %ds, want 600 and 600",
			s.LeaseDuration, claims.Expiry-claims.IssuedAt)
	}
}
