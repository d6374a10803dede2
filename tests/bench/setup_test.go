package bench

import (
	"context"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/tests/internal/vaulttest"
)

// benchWorkload logs a workload in through userpass with the engine's workload policy
// plus extraPolicy, and gives its entity the metadata team=<team>, which the benchmark
// roles bind: every issuance pays Vault's ACL and entity look-ups as in production.
func benchWorkload(ctx context.Context, t *testing.T, srv *vaulttest.Server, root *api.Client, name, team, extraPolicy string) *vaulttest.Workload {
	t.Helper()
	if _, err := vaulttest.EnableUserpass(ctx, root, "userpass"); err != nil {
		t.Fatal(err)
	}
	if err := root.Sys().PutPolicy("nhi-workload", vaulttest.WorkloadPolicy+extraPolicy); err != nil {
		t.Fatal(err)
	}
	w, err := srv.NewWorkload(ctx, root, "userpass", name, "nhi-workload")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("identity/entity/id/"+w.EntityID, map[string]any{
		"metadata": map[string]string{"team": team},
	}); err != nil {
		t.Fatal(err)
	}
	return w
}

// benchClients returns n API clients for token, each with its own connections.
func benchClients(t *testing.T, srv *vaulttest.Server, token string, n int) []*api.Client {
	t.Helper()
	clients := make([]*api.Client, n)
	for i := range clients {
		c, err := srv.Client(token)
		if err != nil {
			t.Fatal(err)
		}
		clients[i] = c
	}
	return clients
}
