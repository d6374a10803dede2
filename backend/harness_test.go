package backend

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

// testClock is a settable clock shared by the engine and the test.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testSystem lets a test choose the caller's entity and groups.
type testSystem struct {
	logical.StaticSystemView
	mu     sync.Mutex
	entity *logical.Entity
	groups []*logical.Group
}

func (s *testSystem) EntityInfo(string) (*logical.Entity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.entity, nil
}

func (s *testSystem) GroupsForEntity(string) ([]*logical.Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.groups, nil
}

type env struct {
	t       *testing.T
	b       *Backend
	storage logical.Storage
	clock   *testClock
	sys     *testSystem
	fake    *fakeProvider
}

// A Wednesday, 10:00 UTC: inside ordinary office-hour windows.
var testStart = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t)
}

// newEnvWith is newEnv with more test providers beside "fake".
func newEnvWith(t *testing.T, extra ...providers.Provider) *env {
	t.Helper()
	clock := &testClock{now: testStart}
	fake := &fakeProvider{}
	b := New(Options{Clock: clock.Now, Providers: append([]providers.Provider{fake}, extra...)})
	sys := &testSystem{StaticSystemView: logical.StaticSystemView{
		DefaultLeaseTTLVal: 24 * time.Hour,
		MaxLeaseTTLVal:     32 * 24 * time.Hour,
	}}
	sys.entity = &logical.Entity{
		ID:       "entity-1",
		Name:     "reports-bot",
		Metadata: map[string]string{"team": "reports"},
		Aliases:  []*logical.Alias{{MountAccessor: "auth_userpass_1", Name: "reports-bot"}},
	}
	sys.groups = []*logical.Group{{ID: "g1", Name: "exporters"}}
	conf := logical.TestBackendConfig()
	conf.System = sys
	conf.StorageView = &logical.InmemStorage{}
	if err := b.Setup(context.Background(), conf); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, b: b, storage: conf.StorageView, clock: clock, sys: sys, fake: fake}
	e.mustOK(e.write("config/token", map[string]any{"issuer": "https://vault.test/v1/nhi"}))
	return e
}

type result struct {
	resp   *logical.Response
	err    error
	status int
}

func (e *env) request(op logical.Operation, path string, data map[string]any, mutate ...func(*logical.Request)) result {
	e.t.Helper()
	req := &logical.Request{
		Operation:   op,
		Path:        path,
		Data:        data,
		Storage:     e.storage,
		EntityID:    "entity-1",
		DisplayName: "userpass-reports-bot",
		MountPoint:  "nhi/",
		Connection:  &logical.Connection{RemoteAddr: "10.20.1.5"},
	}
	for _, m := range mutate {
		m(req)
	}
	resp, err := e.b.HandleRequest(context.Background(), req)
	status, _ := logical.RespondErrorCommon(req, resp, err)
	if status == 0 {
		status = http.StatusOK
	}
	return result{resp: resp, err: err, status: status}
}

func (e *env) write(path string, data map[string]any, mutate ...func(*logical.Request)) result {
	e.t.Helper()
	return e.request(logical.UpdateOperation, path, data, mutate...)
}

func (e *env) read(path string, mutate ...func(*logical.Request)) result {
	e.t.Helper()
	return e.request(logical.ReadOperation, path, nil, mutate...)
}

func (e *env) mustOK(r result) *logical.Response {
	e.t.Helper()
	if r.err != nil || (r.resp != nil && r.resp.IsError()) {
		e.t.Fatalf("unexpected failure (status %d): err=%v resp=%v", r.status, r.err, r.resp)
	}
	return r.resp
}

// errorText is the message a client would see.
func (r result) errorText() string {
	if r.resp != nil && r.resp.IsError() {
		return r.resp.Error().Error()
	}
	if r.err != nil {
		return r.err.Error()
	}
	return ""
}

func (e *env) revokeLease(resp *logical.Response) error {
	e.t.Helper()
	req := &logical.Request{
		Operation: logical.RevokeOperation,
		Storage:   e.storage,
		Secret:    resp.Secret,
	}
	_, err := e.b.HandleRequest(context.Background(), req)
	return err
}

// fakeProvider stands in for a cloud: it records what exists, can fail on demand and
// issues renewable credentials, so the engine's lease and WAL handling can be observed.
type fakeProvider struct {
	mu        sync.Mutex
	live      map[string]bool
	failIssue bool
	revokes   int
	// hardExpiry, when set, is how long after issuance a credential stops working no
	// matter how its lease is renewed (as an Azure password's end date).
	hardExpiry time.Duration
}

func (f *fakeProvider) MaxExpiry(ref map[string]string) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	issued, err := time.Parse(time.RFC3339, ref["issued_at"])
	if f.hardExpiry == 0 || err != nil {
		return time.Time{}, false
	}
	return issued.Add(f.hardExpiry), true
}

func (f *fakeProvider) Name() string { return "fake" }

func (f *fakeProvider) ValidateRole(providers.RoleInfo) error { return nil }

func (f *fakeProvider) Issue(_ context.Context, _ logical.Storage, req providers.IssueRequest) (*providers.Issued, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.live == nil {
		f.live = map[string]bool{}
	}
	// The cloud object exists before the failure, as when a crash follows creation.
	f.live[req.CredentialID] = true
	if f.failIssue {
		return nil, errors.New("injected failure after creation")
	}
	return &providers.Issued{
		Secret:    map[string]any{"secret": "s3cr3t-" + req.CredentialID},
		Ref:       map[string]string{"object": req.CredentialID, "issued_at": req.Now.Format(time.RFC3339)},
		ExpiresAt: req.Now.Add(req.TTL),
		Renewable: true,
	}, nil
}

func (f *fakeProvider) Revoke(_ context.Context, _ logical.Storage, req providers.RevokeRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revokes++
	delete(f.live, req.CredentialID)
	return nil
}

func (f *fakeProvider) isLive(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.live[id]
}
