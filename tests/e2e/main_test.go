// Package e2e tests the engine end to end against a real `vault server -dev`: one server
// for the package, started in TestMain, with the plugin registered by SHA-256, a file
// audit device, the engine at nhi/, userpass workloads with identity entities, and an
// identity group. Tests use their own role names so they do not disturb one another.
package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/tests/internal/vaulttest"
)

// env is the shared server and the identities the tests act as.
var env struct {
	srv  *vaulttest.Server
	root *api.Client

	// workload: entity metadata team=reports, member of group.
	workload *vaulttest.Workload
	// other: a second userpass user, no metadata, in no group.
	other *vaulttest.Workload

	userpassAccessor string
	group            string
}

const workloadTeam = "reports"

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "nhi-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	srv, err := vaulttest.Start(ctx, vaulttest.Options{Dir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: starting vault:", err)
		os.RemoveAll(dir)
		return 1
	}
	env.srv = srv
	code := 1
	if err := setupIdentities(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: setting up identities:", err)
	} else {
		code = m.Run()
	}
	if code != 0 {
		fmt.Fprintf(os.Stderr, "\n--- last lines of the vault log (%s):\n%s\n", srv.LogPath, srv.LogTail(60))
	}
	srv.Stop()
	if code != 0 && os.Getenv("NHI_E2E_KEEP") != "" {
		fmt.Fprintln(os.Stderr, "e2e: kept", dir)
	} else {
		os.RemoveAll(dir)
	}
	return code
}

func setupIdentities(ctx context.Context) error {
	root, err := env.srv.Client(vaulttest.RootToken)
	if err != nil {
		return err
	}
	env.root = root
	if env.userpassAccessor, err = vaulttest.EnableUserpass(ctx, root, "userpass"); err != nil {
		return err
	}
	if err := root.Sys().PutPolicyWithContext(ctx, "nhi-workload", vaulttest.WorkloadPolicy); err != nil {
		return err
	}
	if env.workload, err = env.srv.NewWorkload(ctx, root, "userpass", "reports-bot", "nhi-workload"); err != nil {
		return err
	}
	if env.other, err = env.srv.NewWorkload(ctx, root, "userpass", "intruder-bot", "nhi-workload"); err != nil {
		return err
	}
	if _, err := root.Logical().WriteWithContext(ctx, "identity/entity/id/"+env.workload.EntityID, map[string]any{
		"metadata": map[string]string{"team": workloadTeam, "env": "e2e"},
	}); err != nil {
		return fmt.Errorf("setting entity metadata: %w", err)
	}
	env.group = "nhi-e2e-workloads"
	if _, err := root.Logical().WriteWithContext(ctx, "identity/group", map[string]any{
		"name":              env.group,
		"type":              "internal",
		"member_entity_ids": []string{env.workload.EntityID},
	}); err != nil {
		return fmt.Errorf("creating identity group: %w", err)
	}
	return nil
}
