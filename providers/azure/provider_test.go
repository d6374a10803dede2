package azure

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers/conformance"
)

type env struct {
	f   *fakeAzure
	p   *Provider
	s   logical.Storage
	mu  sync.Mutex
	now time.Time
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

func testConfig() Config {
	return Config{TenantID: fakeTenant, SubscriptionID: fakeSubscription, ClientID: fakeRootAppID, ClientSecret: fakeRootSecret}
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{f: newFakeAzure(), s: &logical.InmemStorage{}, now: time.Now().UTC()}
	e.p = New(e.clock, e.f.factory(), WithWaits(2*time.Second, 2*time.Second, 2*time.Second), WithBackoff(time.Millisecond))
	if err := SaveConfig(context.Background(), e.s, testConfig()); err != nil {
		t.Fatal(err)
	}
	return e
}

func sampleRole() providers.RoleInfo {
	return providers.RoleInfo{
		Name: "exporter", CredentialType: CredentialTypeServicePrincipal,
		Destinations: []string{"azure://stexports/exports/*", "azure-keyvault://kv-prod/secrets/db-password"},
		Actions:      []string{"read", "write"},
		Settings:     map[string]any{"resource_group": "rg-data"},
	}
}

func (e *env) request(id string) providers.IssueRequest {
	return providers.IssueRequest{
		CredentialID: id, Role: sampleRole(), Subject: "entity-1", Task: "nightly-export",
		Destinations: []string{"azure://stexports/exports/2026/12/*"}, Actions: []string{"write"},
		Sensitivity: "internal", TTL: 10 * time.Minute, Now: e.clock(),
	}
}

func TestConformance(t *testing.T) {
	var sample providers.IssueRequest
	conformance.Run(t, func(t *testing.T) (providers.Provider, logical.Storage) {
		e := newEnv(t)
		e.now = time.Time{}
		e.p.clock = time.Now
		sample = e.request("cred")
		return e.p, e.s
	}, func() providers.IssueRequest {
		e := &env{now: time.Now()}
		r := e.request("cred")
		r.Now = time.Time{}
		return r
	}())
	_ = sample
}

func TestIssueAndRevoke(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	req := e.request("c-1")
	req.Destinations = []string{"azure://stexports/exports/2026/12/*", "azure-keyvault://kv-prod/secrets/db-password"}
	req.Actions = []string{"read"}
	got, err := e.p.Issue(ctx, e.s, req)
	if err != nil {
		t.Fatal(err)
	}
	secret := got.Secret["client_secret"].(string)
	clientID := got.Public["client_id"].(string)
	if got.Public["tenant_id"] != fakeTenant || clientID == "" || secret == "" {
		t.Fatalf("public = %v", got.Public)
	}
	if _, ok := got.Public["ready_after_ms"].(int64); !ok {
		t.Errorf("ready_after_ms missing: %v", got.Public)
	}
	if !got.Renewable || !got.ExpiresAt.Equal(req.Now.Add(req.TTL)) {
		t.Errorf("renewable=%v expires=%s", got.Renewable, got.ExpiresAt)
	}
	if pe, err := time.Parse(time.RFC3339, got.Ref[RefPasswordExpiresAt]); err != nil || pe.Before(got.ExpiresAt) || pe.After(got.ExpiresAt.Add(PasswordSkew+time.Second)) {
		t.Errorf("password_expires_at = %q (lease end %s)", got.Ref[RefPasswordExpiresAt], got.ExpiresAt)
	}
	apps, sps, _, assignments := e.f.counts()
	if apps != 1 || sps != 1 || assignments != 2 {
		t.Fatalf("apps=%d sps=%d assignments=%d, want 1 1 2", apps, sps, assignments)
	}
	e.f.mu.Lock()
	var blob, kv RoleAssignment
	for _, a := range e.f.assignments {
		if strings.Contains(a.Scope, "Microsoft.Storage") {
			blob = a
		} else {
			kv = a
		}
	}
	app := e.f.apps[got.Ref[RefApplicationID]]
	e.f.mu.Unlock()
	wantBlobScope := "/subscriptions/" + fakeSubscription + "/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/stexports/blobServices/default/containers/exports"
	if blob.Scope != wantBlobScope || !strings.HasSuffix(blob.RoleDefinitionID, "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1") {
		t.Errorf("blob assignment = %+v", blob)
	}
	if !strings.Contains(blob.Condition, "StringStartsWith '2026/12/'") || blob.ConditionVersion != "2.0" {
		t.Errorf("blob condition = %q (%s)", blob.Condition, blob.ConditionVersion)
	}
	if !strings.HasSuffix(kv.Scope, "/providers/Microsoft.KeyVault/vaults/kv-prod/secrets/db-password") || !strings.HasSuffix(kv.RoleDefinitionID, "4633458b-17de-408a-b874-0445c86b69e6") || kv.Condition != "" {
		t.Errorf("kv assignment = %+v", kv)
	}
	if blob.Name != AssignmentName("c-1", 0) && blob.Name != AssignmentName("c-1", 1) {
		t.Errorf("assignment name %s is not derived from the credential id", blob.Name)
	}
	if app.DisplayName != "nhi-c-1" || !contains(app.Tags, "nhi:credential=c-1") || !contains(app.Tags, "nhi:task=nightly-export") || !contains(app.Tags, "nhi:role=exporter") {
		t.Errorf("app = %+v", app.Application)
	}
	if !e.f.works(clientID, secret) {
		t.Fatal("issued secret does not work")
	}

	rr := providers.RevokeRequest{CredentialID: "c-1", Ref: got.Ref, Now: e.clock()}
	for i := 0; i < 2; i++ {
		if err := e.p.Revoke(ctx, e.s, rr); err != nil {
			t.Fatalf("revoke #%d: %v", i+1, err)
		}
	}
	if e.f.works(clientID, secret) {
		t.Error("secret works after revoke")
	}
	if apps, sps, deleted, assignments := e.f.counts(); apps+sps+deleted+assignments != 0 {
		t.Errorf("left behind: apps=%d sps=%d deleted=%d assignments=%d", apps, sps, deleted, assignments)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestIssueRetriesReplication(t *testing.T) {
	e := newEnv(t)
	e.f.notReplicated = 3
	e.f.tokenDelay = 2
	got, err := e.p.Issue(context.Background(), e.s, e.request("c-rep"))
	if err != nil {
		t.Fatal(err)
	}
	if e.f.calls["CreateRoleAssignment"] != 4 || e.f.calls["CheckSecret"] != 3 {
		t.Errorf("calls = %v", e.f.calls)
	}
	if got.Ref[RefAssignmentIDs] == "" {
		t.Error("no assignment ids in ref")
	}
}

func TestIssueDoesNotRetryOtherErrors(t *testing.T) {
	e := newEnv(t)
	e.f.fail["CreateRoleAssignment"] = &Error{Op: "create", StatusCode: http.StatusForbidden, Code: "AuthorizationFailed"}
	_, err := e.p.Issue(context.Background(), e.s, e.request("c-denied"))
	var ae *Error
	if !errors.As(err, &ae) || ae.Code != "AuthorizationFailed" {
		t.Fatalf("err = %v", err)
	}
	if e.f.calls["CreateRoleAssignment"] != 1 {
		t.Errorf("retried a terminal error: %v", e.f.calls)
	}
	// The failed issuance cleaned up after itself.
	if apps, sps, deleted, assignments := e.f.counts(); apps+sps+deleted+assignments != 0 {
		t.Errorf("left behind: apps=%d sps=%d deleted=%d assignments=%d", apps, sps, deleted, assignments)
	}
}

func TestIssueGivesUpWhenSecretNeverWorks(t *testing.T) {
	e := newEnv(t)
	e.p.readyWait = 50 * time.Millisecond
	e.f.tokenDelay = 1 << 30
	_, err := e.p.Issue(context.Background(), e.s, e.request("c-never"))
	var te *TokenError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want a TokenError", err)
	}
	if apps, _, _, assignments := e.f.counts(); apps+assignments != 0 {
		t.Errorf("left behind apps=%d assignments=%d", apps, assignments)
	}
}

// A crash after any step leaves objects only the WAL knows about: rollback revokes by
// the credential id alone.
func TestRollbackByCredentialIDAlone(t *testing.T) {
	for _, step := range []string{"CreateServicePrincipal", "AddPassword", "CreateRoleAssignment", "CheckSecret"} {
		t.Run(step, func(t *testing.T) {
			e := newEnv(t)
			// Simulate a crash: the step fails and the provider's own cleanup fails too.
			crash := &Error{Op: "crash", StatusCode: http.StatusInternalServerError, Code: "Crash"}
			if step == "CheckSecret" {
				e.p.readyWait = 10 * time.Millisecond
				e.f.tokenDelay = 1 << 30
			} else {
				e.f.fail[step] = crash
			}
			e.f.fail["DeleteRoleAssignment"] = crash
			e.f.fail["FindApplications"] = crash
			e.f.fail["GetApplication"] = crash
			req := e.request("c-crash")
			req.Destinations = []string{"azure://stexports/exports/a/*", "azure://stexports/exports/b/*"}
			if _, err := e.p.Issue(context.Background(), e.s, req); err == nil {
				t.Fatal("issue succeeded")
			}
			e.f.tokenDelay = 0
			e.f.mu.Lock()
			e.f.fail = map[string]error{}
			e.f.mu.Unlock()
			if apps, _, _, _ := e.f.counts(); apps == 0 {
				t.Fatal("the crash left nothing to roll back; the test is not testing anything")
			}
			if err := e.p.Revoke(context.Background(), e.s, providers.RevokeRequest{CredentialID: "c-crash", Now: e.clock()}); err != nil {
				t.Fatal(err)
			}
			if apps, sps, deleted, assignments := e.f.counts(); apps+sps+deleted+assignments != 0 {
				t.Errorf("left behind: apps=%d sps=%d deleted=%d assignments=%d", apps, sps, deleted, assignments)
			}
		})
	}
}

func TestRevokeRefusesForeignApplication(t *testing.T) {
	e := newEnv(t)
	var rootObj string
	for id := range e.f.apps {
		rootObj = id
	}
	err := e.p.Revoke(context.Background(), e.s, providers.RevokeRequest{
		CredentialID: "c-x", Ref: map[string]string{RefApplicationID: rootObj}, Now: e.clock(),
	})
	var fe *providers.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want a FieldError", err)
	}
	if e.f.appCount() != 0 || len(e.f.apps) != 1 {
		t.Fatal("root application deleted")
	}
}

func TestRevokeFinishesRecycleBin(t *testing.T) {
	e := newEnv(t)
	got, err := e.p.Issue(context.Background(), e.s, e.request("c-bin"))
	if err != nil {
		t.Fatal(err)
	}
	e.f.fail["PermanentlyDelete"] = &Error{Op: "x", StatusCode: 503}
	if err := e.p.Revoke(context.Background(), e.s, providers.RevokeRequest{CredentialID: "c-bin", Ref: got.Ref}); err == nil {
		t.Fatal("revoke hid a failure")
	}
	if err := e.p.Revoke(context.Background(), e.s, providers.RevokeRequest{CredentialID: "c-bin", Ref: got.Ref}); err != nil {
		t.Fatal(err)
	}
	if _, _, deleted, _ := e.f.counts(); deleted != 0 {
		t.Errorf("recycle bin holds %d", deleted)
	}
	// Periodic sweeps what a failed last step left.
	got, _ = e.p.Issue(context.Background(), e.s, e.request("c-bin2"))
	e.f.fail["PermanentlyDelete"] = &Error{Op: "x", StatusCode: 503}
	_ = e.p.Revoke(context.Background(), e.s, providers.RevokeRequest{CredentialID: "c-bin2", Ref: got.Ref})
	if err := e.p.Periodic(context.Background(), e.s); err != nil {
		t.Fatal(err)
	}
	if _, _, deleted, _ := e.f.counts(); deleted != 0 {
		t.Errorf("recycle bin holds %d after Periodic", deleted)
	}
}

func TestIssueCustomRoles(t *testing.T) {
	e := newEnv(t)
	e.f.addCustomRole("Blob Appender", nil, []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action"})
	e.f.addCustomRole("Sneaky", []string{"Microsoft.Authorization/roleAssignments/write"}, nil)
	res := "/subscriptions/" + fakeSubscription + "/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/stexports"
	req := e.request("c-custom")
	req.Destinations = []string{res}
	req.Actions = []string{"write"}

	// Without a grant naming a role, write on a resource id is refused.
	_, err := e.p.Issue(context.Background(), e.s, req)
	var fe *providers.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v", err)
	}

	in := ScopeInput{SubscriptionID: fakeSubscription, Destinations: []string{res}, Actions: []string{"write"},
		Grants: []Grant{{Destination: res, Actions: []string{"write"}, AzureRole: "Sneaky"}}}
	as, err := CompileAssignments(in)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cl, _ := e.f.factory()(context.Background(), cfg)
	if err := e.p.resolveRoles(context.Background(), cl, cfg, as, nil); !errors.As(err, &fe) {
		t.Fatalf("escalating custom role: err = %v, want FieldError", err)
	}
	if err := e.p.resolveRoles(context.Background(), cl, cfg, as, []string{"sneaky"}); err != nil {
		t.Fatalf("explicitly allowed: %v", err)
	}
	in.Grants[0].AzureRole = "Blob Appender"
	as, _ = CompileAssignments(in)
	if err := e.p.resolveRoles(context.Background(), cl, cfg, as, nil); err != nil || as[0].RoleDefinitionID == "" {
		t.Fatalf("benign custom role: %v %+v", err, as)
	}
	in.Grants[0].AzureRole = "No Such Role"
	as, _ = CompileAssignments(in)
	if err := e.p.resolveRoles(context.Background(), cl, cfg, as, nil); !errors.As(err, &fe) {
		t.Fatalf("unknown role: %v", err)
	}
}

func TestNotConfigured(t *testing.T) {
	p := New(nil, newFakeAzure().factory())
	_, err := p.Issue(context.Background(), &logical.InmemStorage{}, (&env{now: time.Now()}).request("c"))
	if !errors.Is(err, providers.ErrNotConfigured) {
		t.Fatalf("err = %v", err)
	}
}

func TestFederatedNeedsSigner(t *testing.T) {
	s := &logical.InmemStorage{}
	cfg := testConfig()
	cfg.ClientSecret, cfg.Federated = "", true
	if err := SaveConfig(context.Background(), s, cfg); err != nil {
		t.Fatal(err)
	}
	p := New(nil, newFakeAzure().factory())
	if _, _, err := p.clients(context.Background(), s); !errors.Is(err, providers.ErrNotConfigured) {
		t.Fatalf("err = %v", err)
	}
	var gotAud string
	p = New(nil, func(ctx context.Context, c Config) (*Clients, error) {
		if c.ClientAssertion == nil {
			t.Fatal("no assertion source")
		}
		if _, err := c.ClientAssertion(ctx); err != nil {
			t.Fatal(err)
		}
		return &Clients{}, nil
	}, WithAssertionSignerOf(signerFunc(func(aud string) { gotAud = aud })))
	if _, _, err := p.clients(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if gotAud != FederatedAudience {
		t.Errorf("assertion audience %q", gotAud)
	}
}

type signerFunc func(aud string)

func (f signerFunc) SignWebIdentity(ctx context.Context, s logical.Storage, audience string, ttl time.Duration) (string, error) {
	f(audience)
	return "header.payload.sig", nil
}

func TestValidateRole(t *testing.T) {
	p := New(nil, newFakeAzure().factory())
	p.noteConfig(testConfig())
	base := sampleRole()
	if err := p.ValidateRole(base); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		mut   func(r *providers.RoleInfo)
		field string
	}{
		"credential type": {func(r *providers.RoleInfo) { r.CredentialType = "iam_user" }, "credential_type"},
		"s3 destination":  {func(r *providers.RoleInfo) { r.Destinations = []string{"s3://b/*"} }, "grants"},
		"no container":    {func(r *providers.RoleInfo) { r.Destinations = []string{"azure://stexports"} }, "grants"},
		"kv keys":         {func(r *providers.RoleInfo) { r.Destinations = []string{"azure-keyvault://kv-prod/keys/k1"} }, "grants"},
		"other sub": {func(r *providers.RoleInfo) {
			r.Destinations = []string{"/subscriptions/99999999-2222-2222-2222-222222222222/resourceGroups/rg"}
		}, "grants"},
		"resource write": {func(r *providers.RoleInfo) {
			r.Destinations = []string{"/subscriptions/" + fakeSubscription + "/resourceGroups/rg"}
		}, "grants"},
		"no resource group": {func(r *providers.RoleInfo) { r.Settings = nil }, "resource_groups"},
		"aws action":        {func(r *providers.RoleInfo) { r.Actions = []string{"s3:GetObject"} }, "grants"},
		"bad rg":            {func(r *providers.RoleInfo) { r.Settings = map[string]any{"resource_group": "bad/rg"} }, "resource_group"},
		"bad rg map":        {func(r *providers.RoleInfo) { r.Settings = map[string]any{"resource_groups": 7} }, "resource_groups"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r := sampleRole()
			c.mut(&r)
			err := p.ValidateRole(r)
			var fe *providers.FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("err = %v, want FieldError on %s", err, c.field)
			}
		})
	}
	// Per-account resource groups satisfy the check.
	r := sampleRole()
	r.Settings = map[string]any{"resource_groups": map[string]any{"stexports": "rg-a", "kv-prod": "rg-b"}}
	if err := p.ValidateRole(r); err != nil {
		t.Fatal(err)
	}
	r.Settings = map[string]any{"resource_groups": []any{"stexports=rg-a", "kv-prod=rg-b"}}
	if err := p.ValidateRole(r); err != nil {
		t.Fatal(err)
	}
}

func TestValidateGrantPrivilegedRoles(t *testing.T) {
	res := "/subscriptions/" + fakeSubscription + "/resourceGroups/rg"
	for _, role := range []string{"Owner", "Contributor", "key vault contributor", "User Access Administrator", "Storage Account Contributor", "Role Based Access Control Administrator", "Storage Account Key Operator Service Role"} {
		err := validateGrant(Grant{Destination: res, Actions: []string{"write"}, AzureRole: role}, roleSettings{}, fakeSubscription)
		var fe *providers.FieldError
		if !errors.As(err, &fe) || !strings.Contains(fe.Reason, "allowed_privileged_roles") {
			t.Errorf("%s: err = %v", role, err)
		}
		if err := validateGrant(Grant{Destination: res, Actions: []string{"write"}, AzureRole: role}, roleSettings{allowed: []string{role}}, fakeSubscription); err != nil {
			t.Errorf("%s explicitly allowed: %v", role, err)
		}
	}
	for _, role := range []string{"Reader", "Storage Blob Data Contributor", "Key Vault Secrets User", "Key Vault Secrets Officer", "My Custom Role"} {
		if err := validateGrant(Grant{Destination: res, Actions: []string{"read"}, AzureRole: role}, roleSettings{}, fakeSubscription); err != nil {
			t.Errorf("%s: %v", role, err)
		}
	}
}

func TestMaxExpiry(t *testing.T) {
	e := newEnv(t)
	got, err := e.p.Issue(context.Background(), e.s, e.request("c-max"))
	if err != nil {
		t.Fatal(err)
	}
	max, ok := e.p.MaxExpiry(got.Ref)
	if !ok || max.Before(got.ExpiresAt) || max.After(got.ExpiresAt.Add(PasswordSkew+time.Second)) {
		t.Fatalf("MaxExpiry = %s %v (lease end %s)", max, ok, got.ExpiresAt)
	}
	if _, ok := e.p.MaxExpiry(nil); ok {
		t.Fatal("MaxExpiry(nil) ok")
	}
}

func TestPeriodicSweepsOrphans(t *testing.T) {
	e := newEnv(t)
	e.f.clock = e.clock
	ctx := context.Background()
	orphan, err := e.p.Issue(ctx, e.s, e.request("c-orphan"))
	if err != nil {
		t.Fatal(err)
	}
	e.advance(5 * time.Minute)
	live, err := e.p.Issue(ctx, e.s, e.request("c-live"))
	if err != nil {
		t.Fatal(err)
	}
	// Before the grace period nothing is touched.
	e.advance(10 * time.Minute)
	if err := e.p.Periodic(ctx, e.s); err != nil {
		t.Fatal(err)
	}
	if e.f.appCount() != 2 {
		t.Fatalf("apps = %d, want 2", e.f.appCount())
	}
	// c-orphan's password ended at +10m30s; 15m later it is swept, c-live is not yet.
	e.advance(11 * time.Minute)
	if err := e.p.Periodic(ctx, e.s); err != nil {
		t.Fatal(err)
	}
	if e.f.works(orphan.Public["client_id"].(string), orphan.Secret["client_secret"].(string)) {
		t.Fatal("orphan still present")
	}
	if !e.f.works(live.Public["client_id"].(string), live.Secret["client_secret"].(string)) || e.f.appCount() != 1 {
		t.Fatalf("live credential swept: apps=%d", e.f.appCount())
	}
	if _, _, deleted, assignments := e.f.counts(); deleted != 0 || assignments != 1 {
		t.Fatalf("deleted=%d assignments=%d", deleted, assignments)
	}
}

func TestRevokeFindsDuplicateApplication(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	got, err := e.p.Issue(ctx, e.s, e.request("c-dup"))
	if err != nil {
		t.Fatal(err)
	}
	// A POST the pipeline retried after a lost answer: a second application, same name.
	if _, err := e.f.CreateApplication(ctx, DisplayName("c-dup"), []string{TagManaged, TagCredential + "c-dup"}); err != nil {
		t.Fatal(err)
	}
	if err := e.p.Revoke(ctx, e.s, providers.RevokeRequest{CredentialID: "c-dup", Ref: got.Ref}); err != nil {
		t.Fatal(err)
	}
	if apps, sps, deleted, assignments := e.f.counts(); apps+sps+deleted+assignments != 0 {
		t.Errorf("left behind: apps=%d sps=%d deleted=%d assignments=%d", apps, sps, deleted, assignments)
	}
}
