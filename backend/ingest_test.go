package backend

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/paths"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/store"
)

func TestIngestAcceptsOnlyFreshSignedSubmissions(t *testing.T) {
	e := newEnv(t)
	e.mustOK(e.write("roles/r", reportsRole(nil)))
	id := e.mustOK(e.write("creds/r", issueData(nil))).Data["credential_id"].(string)
	e.clock.Advance(2 * time.Minute)
	key, err := store.IngestKey(t0ctx(), e.storage, true)
	if err != nil {
		t.Fatal(err)
	}
	event := useEvent(id, map[string]any{"resource": "https://finance.internal/payroll.csv", "source": "cloudtrail"})
	sign := func(k []byte, nonce string, at time.Time) map[string]any {
		payload, sig, err := paths.SignIngest(k, paths.IngestEnvelope{Nonce: nonce, IssuedAt: at.Unix(), Events: []map[string]any{event}})
		if err != nil {
			t.Fatal(err)
		}
		return map[string]any{"payload": payload, "signature": sig}
	}
	good := sign(key, "nonce-0000000000000001", e.clock.Now())
	resp := e.mustOK(e.write("ingest", good))
	if resp.Data["drift"] != true || len(resp.Warnings) == 0 {
		t.Fatalf("ingest = %v", resp.Data)
	}
	found := len(e.findingIDs(nil))

	forgedKey := make([]byte, 32)
	cases := map[string]struct {
		body   map[string]any
		status int
		reason string
	}{
		"replayed":         {good, http.StatusForbidden, "replay"},
		"forged signature": {sign(forgedKey, "nonce-0000000000000002", e.clock.Now()), http.StatusForbidden, "signature"},
		"stale":            {sign(key, "nonce-0000000000000003", e.clock.Now().Add(-10*time.Minute)), http.StatusForbidden, "issued_at"},
		"from the future":  {sign(key, "nonce-0000000000000004", e.clock.Now().Add(10*time.Minute)), http.StatusForbidden, "issued_at"},
		"short nonce":      {sign(key, "n", e.clock.Now()), http.StatusBadRequest, "nonce"},
		"tampered payload": {map[string]any{"payload": good["payload"].(string) + "x", "signature": good["signature"]}, http.StatusForbidden, "signature"},
		"missing":          {map[string]any{}, http.StatusBadRequest, "payload"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := e.write("ingest", tc.body)
			if r.status != tc.status || !strings.Contains(r.errorText(), tc.reason) {
				t.Errorf("status %d %q, want %d naming %q", r.status, r.errorText(), tc.status, tc.reason)
			}
		})
	}
	if got := len(e.findingIDs(nil)); got != found {
		t.Errorf("refused submissions stored findings (%d -> %d)", found, got)
	}
	for _, p := range e.b.PathsSpecial.Unauthenticated {
		if p == "ingest" {
			return
		}
	}
	t.Error("ingest is not reachable without a token")
}
