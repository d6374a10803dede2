package e2e

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/tests/internal/vaulttest"
)

// TestPluginReloadKeepsRecordsAndKeys reloads the plugin with
// `vault plugin reload -plugin=vault-plugin-secrets-nhi` and checks an earlier record is
// still readable, an earlier token still introspects active and verifies, and the JWKS
// publishes the same key ids.
func TestPluginReloadKeepsRecordsAndKeys(t *testing.T) {
	role := writeRole(t, "reload", nil)
	s := mustIssue(t, env.workload.Client, role, intent(nil))
	token, id := str(s.Data, "token"), str(s.Data, "credential_id")
	kidsBefore := kids(fetchJWKS(t))
	sort.Strings(kidsBefore)
	pidsBefore := env.srv.PluginPIDs()

	out, err := env.srv.CLI(context.Background(), "root", "plugin", "reload", "-plugin="+vaulttest.PluginName)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("vault plugin reload: %s", strings.TrimSpace(out))

	// The mount answers again once the backend is set up.
	var rec map[string]any
	eventually(t, 30*time.Second, "credential record unreadable after reload", func() bool {
		got, err := env.root.Logical().Read("nhi/credentials/" + id)
		if err != nil || got == nil {
			return false
		}
		rec = got.Data
		return true
	})
	if str(rec, "status") != "active" || str(rec, "task") != "nightly-export" || str(rec, "entity_id") != env.workload.EntityID {
		t.Errorf("record after reload = %v", rec)
	}
	if !isActive(t, token) {
		t.Error("a token issued before the reload is inactive after it")
	}
	set := fetchJWKS(t)
	kidsAfter := kids(set)
	sort.Strings(kidsAfter)
	if !equalStrings(kidsBefore, kidsAfter) {
		t.Errorf("JWKS kids changed across reload: %v -> %v", kidsBefore, kidsAfter)
	}
	verifyToken(t, set, token)
	pidsAfter := env.srv.PluginPIDs()
	t.Logf("plugin processes: before %v, after %v", pidsBefore, pidsAfter)
	if len(pidsBefore) > 0 && len(pidsAfter) > 0 && equalInts(pidsBefore, pidsAfter) {
		t.Errorf("plugin process %v was not restarted by the reload", pidsAfter)
	}

	// The lease issued before the reload still revokes through the reloaded engine.
	if err := env.root.Sys().Revoke(s.LeaseID); err != nil {
		t.Fatalf("revoking a pre-reload lease: %v", err)
	}
	if isActive(t, token) {
		t.Error("pre-reload token still active after its lease was revoked")
	}
	if st := str(readRecord(t, id), "status"); st != "revoked" {
		t.Errorf("pre-reload record status after revocation = %q", st)
	}

	// Issuance works after the reload with the same keys.
	s2 := mustIssue(t, env.workload.Client, role, intent(map[string]any{"task": "nightly-after-reload"}))
	header, _ := verifyToken(t, fetchJWKS(t), str(s2.Data, "token"))
	found := false
	for _, k := range kidsBefore {
		found = found || k == header.KeyID
	}
	if !found {
		t.Errorf("token after reload signed with kid %s, not one of %v", header.KeyID, kidsBefore)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	sort.Ints(a)
	sort.Ints(b)
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
