package backend

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

// gateProvider holds every Issue call until the test releases it, and reports each call
// as it enters, so a test can see several issuances inside the provider at once. It is
// rollback-free, like an STS session, and its references carry a provider key id.
type gateProvider struct {
	entered chan struct{}
	release chan struct{}
}

func newGate() *gateProvider {
	return &gateProvider{entered: make(chan struct{}, 16), release: make(chan struct{})}
}

// opened returns a gate that never holds a call.
func opened() *gateProvider {
	g := newGate()
	close(g.release)
	return g
}

// waitInside waits until n calls have entered Issue. The timeout is not a speed limit:
// without it an engine that serialises issuance would hang the test instead of failing it.
func (g *gateProvider) waitInside(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-g.entered:
		case <-time.After(30 * time.Second):
			t.Fatalf("only %d of %d issuances entered the provider: issuance from one role is serialised", i, n)
		}
	}
}

func (g *gateProvider) Name() string                          { return "gate" }
func (g *gateProvider) ValidateRole(providers.RoleInfo) error { return nil }
func (g *gateProvider) RollbackFree(providers.RoleInfo) bool  { return true }
func (g *gateProvider) Revoke(context.Context, logical.Storage, providers.RevokeRequest) error {
	return nil
}

func (g *gateProvider) Issue(ctx context.Context, _ logical.Storage, req providers.IssueRequest) (*providers.Issued, error) {
	g.entered <- struct{}{}
	<-g.release
	return &providers.Issued{
		Secret:    map[string]any{"secret": "s3cr3t"},
		Ref:       map[string]string{"access_key_id": "AKIA" + strings.ToUpper(req.CredentialID[2:18])},
		ExpiresAt: req.Now.Add(req.TTL),
	}, nil
}

// issueInBackground starts n issuances from role r and returns a wait for their results.
func (e *env) issueInBackground(n int) func() []result {
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() { defer wg.Done(); results[i] = e.write("creds/r", issueData(nil)) }()
	}
	return func() []result { wg.Wait(); return results }
}

func TestIssuanceFromOneRoleIsNotSerialised(t *testing.T) {
	for _, quota := range []int{0, 2} {
		t.Run(fmt.Sprintf("max_active_per_task=%d", quota), func(t *testing.T) {
			gate := newGate()
			e := newEnvWith(t, gate)
			e.mustOK(e.write("roles/r", reportsRole(map[string]any{"provider": "gate", "max_active_per_task": quota})))
			wait := e.issueInBackground(2)
			gate.waitInside(t, 2)
			close(gate.release)
			for i, r := range wait() {
				if r.status != http.StatusOK {
					t.Errorf("issuance %d: status %d: %s", i, r.status, r.errorText())
				}
			}
		})
	}
}

// Two issuances inside the provider hold both places of a quota before either has a
// record: a third is refused while they are still in flight.
func TestQuotaCountsIssuancesStillInFlight(t *testing.T) {
	gate := newGate()
	e := newEnvWith(t, gate)
	e.mustOK(e.write("roles/r", reportsRole(map[string]any{"provider": "gate", "max_active_per_task": 2})))
	wait := e.issueInBackground(2)
	gate.waitInside(t, 2)
	third := e.write("creds/r", issueData(nil))
	close(gate.release)
	for i, r := range wait() {
		if r.status != http.StatusOK {
			t.Errorf("issuance %d: status %d: %s", i, r.status, r.errorText())
		}
	}
	if third.status != http.StatusForbidden || !strings.Contains(third.errorText(), "quota") {
		t.Errorf("third issuance: status %d %q, want a 403 naming the quota", third.status, third.errorText())
	}
}

func TestQuotaReservationIsReleasedWhenIssuanceFails(t *testing.T) {
	e := newEnv(t)
	e.mustOK(e.write("roles/r", reportsRole(map[string]any{"provider": "fake", "max_active_per_task": 1})))
	e.fake.failIssue = true
	if r := e.write("creds/r", issueData(nil)); r.err == nil {
		t.Fatal("issuance with a failing provider succeeded")
	}
	e.fake.failIssue = false
	if r := e.write("creds/r", issueData(nil)); r.status != http.StatusOK {
		t.Fatalf("after a failed issuance the quota's only place is still taken: %d %s", r.status, r.errorText())
	}
}

func TestRoleChangesApplyToTheNextIssuance(t *testing.T) {
	e := newEnv(t)
	e.mustOK(e.write("roles/r", reportsRole(nil)))
	e.mustOK(e.write("creds/r", issueData(nil)))
	e.mustOK(e.write("roles/r", map[string]any{"disabled": true}))
	if r := e.write("creds/r", issueData(nil)); r.status != http.StatusForbidden {
		t.Fatalf("issuance from a role just disabled: status %d, want 403", r.status)
	}
	e.mustOK(e.write("roles/r", map[string]any{"disabled": false}))
	e.mustOK(e.write("creds/r", issueData(nil)))
	e.mustOK(e.request(logical.DeleteOperation, "roles/r", nil))
	if r := e.write("creds/r", issueData(nil)); r.status != http.StatusBadRequest || !strings.Contains(r.errorText(), "unknown role") {
		t.Fatalf("issuance from a role just deleted: status %d %q", r.status, r.errorText())
	}
}

// A role changed by another node (replication) reaches this node's storage without
// passing its handlers; Vault then calls Invalidate with the key.
func TestInvalidateDropsAReplicatedRoleChange(t *testing.T) {
	e := newEnv(t)
	e.mustOK(e.write("roles/r", reportsRole(nil)))
	e.mustOK(e.write("creds/r", issueData(nil)))
	entry, err := e.storage.Get(t0ctx(), "roles/r")
	if err != nil || entry == nil {
		t.Fatalf("stored role: %v %v", entry, err)
	}
	disabled := strings.Replace(string(entry.Value), `"disabled":false`, `"disabled":true`, 1)
	if disabled == string(entry.Value) {
		t.Fatalf("stored role has no disabled field: %s", entry.Value)
	}
	if err := e.storage.Put(t0ctx(), &logical.StorageEntry{Key: "roles/r", Value: []byte(disabled)}); err != nil {
		t.Fatal(err)
	}
	e.b.Invalidate(t0ctx(), "roles/r")
	if r := e.write("creds/r", issueData(nil)); r.status != http.StatusForbidden {
		t.Fatalf("issuance after a replicated disable: status %d, want 403", r.status)
	}
}

// failingPuts fails every storage write under prefix.
type failingPuts struct {
	logical.Storage
	prefix string
}

func (f failingPuts) Put(ctx context.Context, e *logical.StorageEntry) error {
	if strings.HasPrefix(e.Key, f.prefix) {
		return errors.New("injected storage failure")
	}
	return f.Storage.Put(ctx, e)
}

func TestRollbackFreeIssuanceSkipsTheWALAndMarksUndeliveredCredentials(t *testing.T) {
	e := newEnvWith(t, opened())
	e.mustOK(e.write("roles/r", reportsRole(map[string]any{"provider": "gate", "max_active_per_task": 1})))
	issued := e.mustOK(e.write("creds/r", issueData(nil)))
	if ids, err := framework.ListWAL(t0ctx(), e.storage); err != nil || len(ids) != 0 {
		t.Fatalf("WAL entries after a rollback-free issuance: %v (%v)", ids, err)
	}
	if err := e.revokeLease(issued); err != nil {
		t.Fatal(err)
	}
	// The record is stored, then registering it for collection fails: the caller gets an
	// error, and the record must neither read as active nor hold the quota's place.
	r := e.write("creds/r", issueData(nil), func(req *logical.Request) {
		req.Storage = failingPuts{Storage: e.storage, prefix: "collect/"}
	})
	if r.err == nil {
		t.Fatal("issuance whose bookkeeping failed succeeded")
	}
	list := e.mustOK(e.request(logical.ListOperation, "credentials/", map[string]any{}))
	var rolledBack int
	for _, id := range list.Data["keys"].([]string) {
		rec := e.mustOK(e.read("credentials/" + id))
		if rec.Data["status"] == "rolled_back" {
			rolledBack++
		}
	}
	if rolledBack != 1 {
		t.Errorf("rolled-back records = %d, want the undelivered credential's", rolledBack)
	}
	e.mustOK(e.write("creds/r", issueData(nil)))
}

// Roles without a quota keep no quota index; a quota added later counts what is issued
// from then on and says so.
func TestQuotaAddedLaterCountsCredentialsIssuedFromThenOn(t *testing.T) {
	e := newEnv(t)
	e.mustOK(e.write("roles/r", reportsRole(nil)))
	e.mustOK(e.write("creds/r", issueData(nil)))
	if keys, err := e.storage.List(t0ctx(), "active/"); err != nil || len(keys) != 0 {
		t.Fatalf("quota index of a role without a quota: %v (%v)", keys, err)
	}
	resp := e.mustOK(e.write("roles/r", map[string]any{"max_active_per_task": 1}))
	if resp == nil || len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "from now on") {
		t.Fatalf("adding a quota: warnings %v, want one saying what it counts", resp)
	}
	first := e.mustOK(e.write("creds/r", issueData(nil)))
	if r := e.write("creds/r", issueData(nil)); r.status != http.StatusForbidden {
		t.Fatalf("second credential under max_active_per_task=1: status %d", r.status)
	}
	if err := e.revokeLease(first); err != nil {
		t.Fatal(err)
	}
	if keys, _ := e.storage.List(t0ctx(), "active/r/"); len(keys) != 0 {
		t.Errorf("quota index after revocation: %v", keys)
	}
	e.mustOK(e.write("creds/r", issueData(nil)))
}

// Records written before quota_counted existed (format 0) each had a quota index entry:
// revoking one still removes it.
func TestRevokingALegacyRecordRemovesItsQuotaEntry(t *testing.T) {
	e := newEnv(t)
	e.mustOK(e.write("roles/r", reportsRole(nil)))
	issued := e.mustOK(e.write("creds/r", issueData(nil)))
	id := issued.Data["credential_id"].(string)
	entry, err := e.storage.Get(t0ctx(), "credentials/"+id)
	if err != nil || entry == nil {
		t.Fatalf("record: %v %v", entry, err)
	}
	legacy := strings.Replace(string(entry.Value), `,"format":1`, "", 1)
	if legacy == string(entry.Value) {
		t.Fatalf("new record has no format field: %s", entry.Value)
	}
	for _, put := range []*logical.StorageEntry{
		{Key: "credentials/" + id, Value: []byte(legacy)},
		{Key: "active/r/" + id, Value: []byte(`{"task":"nightly-export","expires_at":"2030-01-01T00:00:00Z"}`)},
	} {
		if err := e.storage.Put(t0ctx(), put); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.revokeLease(issued); err != nil {
		t.Fatal(err)
	}
	if keys, _ := e.storage.List(t0ctx(), "active/r/"); len(keys) != 0 {
		t.Errorf("a legacy record's quota entry survived its revocation: %v", keys)
	}
}

// cancellingProvider issues, but the caller's request is cancelled meanwhile (a client
// gone, a request deadline passed), so the engine's bookkeeping after it fails.
type cancellingProvider struct{ cancel context.CancelFunc }

func (c *cancellingProvider) Name() string                          { return "cancelling" }
func (c *cancellingProvider) ValidateRole(providers.RoleInfo) error { return nil }
func (c *cancellingProvider) RollbackFree(providers.RoleInfo) bool  { return true }
func (c *cancellingProvider) Revoke(context.Context, logical.Storage, providers.RevokeRequest) error {
	return nil
}

func (c *cancellingProvider) Issue(_ context.Context, _ logical.Storage, req providers.IssueRequest) (*providers.Issued, error) {
	if c.cancel != nil {
		c.cancel()
	}
	return &providers.Issued{Secret: map[string]any{"secret": "s3cr3t"}, Ref: map[string]string{}, ExpiresAt: req.Now.Add(req.TTL)}, nil
}

// contextStorage refuses calls whose context is done, as Vault's gRPC storage does.
type contextStorage struct{ logical.Storage }

func (c contextStorage) Get(ctx context.Context, key string) (*logical.StorageEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.Storage.Get(ctx, key)
}

func (c contextStorage) Put(ctx context.Context, e *logical.StorageEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return c.Storage.Put(ctx, e)
}

func (c contextStorage) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return c.Storage.Delete(ctx, key)
}

func TestCancelledIssuanceReleasesItsQuotaAndMarksItsRecord(t *testing.T) {
	prov := &cancellingProvider{}
	e := newEnvWith(t, prov)
	e.mustOK(e.write("roles/r", reportsRole(map[string]any{"provider": "cancelling", "max_active_per_task": 1})))
	ctx, cancel := context.WithCancel(context.Background())
	prov.cancel = cancel
	req := &logical.Request{
		Operation: logical.UpdateOperation, Path: "creds/r", Data: issueData(nil),
		Storage: contextStorage{e.storage}, EntityID: "entity-1", MountPoint: "nhi/",
		Connection: &logical.Connection{RemoteAddr: "10.20.1.5"},
	}
	if resp, err := e.b.HandleRequest(ctx, req); err == nil && (resp == nil || !resp.IsError()) {
		t.Fatal("issuance whose request was cancelled succeeded")
	}
	prov.cancel = nil
	if r := e.write("creds/r", issueData(nil)); r.status != http.StatusOK {
		t.Fatalf("after a cancelled issuance the quota's only place is still taken: %d %s", r.status, r.errorText())
	}
	list := e.mustOK(e.request(logical.ListOperation, "credentials/", map[string]any{}))
	statuses := map[any]int{}
	for _, id := range list.Data["keys"].([]string) {
		statuses[e.mustOK(e.read("credentials/" + id)).Data["status"]]++
	}
	if statuses["rolled_back"] > 1 || statuses["active"] != 1 {
		t.Errorf("record statuses %v: the cancelled credential must not read as active", statuses)
	}
}
