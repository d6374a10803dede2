package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers/conformance"
)

const (
	rootKey    = "AKIAROOTKEY000000001"
	rootSecret = "root-secret-0000000000000001"
)

type env struct {
	f       *fakeAWS
	p       *Provider
	s       logical.Storage
	roleARN string
	now     time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	f := newFakeAWS()
	e := &env{f: f, s: &logical.InmemStorage{}, now: time.Now().UTC()}
	e.roleARN = f.addRole("etl")
	e.p = New(func() time.Time { return e.now }, f.factory(nil), WithKeyWait(time.Second, time.Second))
	cfg := DefaultConfig()
	cfg.AccessKey, cfg.SecretKey = rootKey, rootSecret
	if err := SaveConfig(context.Background(), e.s, cfg); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) sessionRequest(id string) providers.IssueRequest {
	return providers.IssueRequest{
		CredentialID: id,
		Role: providers.RoleInfo{
			Name: "etl", CredentialType: CredentialTypeAssumedRole,
			Actions: []string{"read", "write", "list"}, Destinations: []string{"s3://analytics-raw/*"},
			Settings: map[string]any{
				"role_arn":     e.roleARN,
				"session_tags": map[string]string{"team": "data"},
				"external_id":  "ext-123",
				"max_sts_ttl":  3600,
			},
		},
		Subject: "entity-1234", Task: "nightly-etl",
		Destinations: []string{"s3://analytics-raw/2026/12/*"}, Actions: []string{"read", "write"},
		Sensitivity: "confidential", TTL: 10 * time.Minute, Now: e.now,
	}
}

func (e *env) userRequest(id string) providers.IssueRequest {
	req := e.sessionRequest(id)
	req.Role.CredentialType = CredentialTypeIAMUser
	req.Role.Settings = map[string]any{
		"permissions_boundary_arn": "arn:aws:iam::123456789012:policy/nhi-boundary",
		"policy_arns":              []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"},
	}
	return req
}

func TestConformanceAssumedRole(t *testing.T) {
	sample := newEnv(t).sessionRequest("c-conformance")
	sample.Now = time.Time{}
	conformance.Run(t, func(t *testing.T) (providers.Provider, logical.Storage) {
		e := newEnv(t) // the same role ARN, a fresh fake account
		e.p.clock = time.Now
		return e.p, e.s
	}, sample, conformance.WithTTLFloor(MinSTSTTL))
}

func TestConformanceIAMUser(t *testing.T) {
	e0 := newEnv(t)
	sample := e0.userRequest("c-conformance")
	sample.Now = time.Time{}
	conformance.Run(t, func(t *testing.T) (providers.Provider, logical.Storage) {
		e := newEnv(t)
		e.p.clock = time.Now
		return e.p, e.s
	}, sample)
}

func TestIssueSession(t *testing.T) {
	e := newEnv(t)
	req := e.sessionRequest("c-abc")
	req.SourceAddr = "203.0.113.7"
	req.Role.Settings["bind_source_ip"] = true
	req.Role.Settings["policy_arns"] = []any{"arn:aws:iam::aws:policy/ReadOnlyAccess"}
	got, err := e.p.Issue(context.Background(), e.s, req)
	if err != nil {
		t.Fatal(err)
	}
	in := e.f.lastAssume
	if awssdk.ToInt32(in.DurationSeconds) != 900 {
		t.Errorf("DurationSeconds = %d, want 900 (the floor)", awssdk.ToInt32(in.DurationSeconds))
	}
	if awssdk.ToString(in.RoleSessionName) != "c-abc" || awssdk.ToString(in.SourceIdentity) != "entity-1234" || awssdk.ToString(in.ExternalId) != "ext-123" {
		t.Errorf("session name %q, source identity %q, external id %q", awssdk.ToString(in.RoleSessionName), awssdk.ToString(in.SourceIdentity), awssdk.ToString(in.ExternalId))
	}
	tags := map[string]string{}
	for _, tg := range in.Tags {
		tags[*tg.Key] = *tg.Value
	}
	want := map[string]string{"nhi:task": "nightly-etl", "nhi:sensitivity": "confidential", "nhi:credential": "c-abc", "team": "data"}
	for k, v := range want {
		if tags[k] != v {
			t.Errorf("tag %s = %q, want %q", k, tags[k], v)
		}
	}
	if len(in.PolicyArns) != 1 {
		t.Errorf("PolicyArns = %v", in.PolicyArns)
	}
	pol := awssdk.ToString(in.Policy)
	for _, s := range []string{`"arn:aws:s3:::analytics-raw/2026/12/*"`, `"s3:PutObject"`, `"aws:SourceIp":"203.0.113.7/32"`, `"iam:*"`} {
		if !strings.Contains(pol, s) {
			t.Errorf("policy lacks %s: %s", s, pol)
		}
	}
	if got.Secret["secret_key"] == "" || got.Secret["session_token"] == "" || got.Public["access_key"] == "" {
		t.Errorf("missing credential fields: %+v %+v", got.Secret, got.Public)
	}
	if got.Renewable {
		t.Error("STS sessions must not be renewable")
	}
	if exp := got.Public["expiration"].(string); exp != e.now.Add(10*time.Minute).UTC().Format(time.RFC3339) {
		t.Errorf("expiration = %s, want the lease end", exp)
	}
	for _, k := range []string{refAccessKeyID, refSessionName, refRoleARN, refAssumedRoleID, refSTSExpiration} {
		if got.Ref[k] == "" {
			t.Errorf("Ref[%s] is empty", k)
		}
	}
}

func TestIssueSessionLimits(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	fieldOf := func(err error) string {
		var fe *providers.FieldError
		if errors.As(err, &fe) {
			return fe.Field
		}
		return ""
	}
	// TTL above max_sts_ttl.
	req := e.sessionRequest("c-1")
	req.TTL = 2 * time.Hour
	if _, err := e.p.Issue(ctx, e.s, req); fieldOf(err) != "ttl" {
		t.Errorf("ttl above max_sts_ttl: %v", err)
	}
	// Bind source IP without an address.
	req = e.sessionRequest("c-2")
	req.Role.Settings["bind_source_ip"] = true
	if _, err := e.p.Issue(ctx, e.s, req); fieldOf(err) != "bind_source_ip" {
		t.Errorf("bind without address: %v", err)
	}
	// Too large a policy.
	req = e.sessionRequest("c-3")
	req.Destinations = nil
	for i := 0; i < 60; i++ {
		req.Destinations = append(req.Destinations, "s3://analytics-raw/partition-"+strings.Repeat("x", 10)+"/"+string(rune('a'+i%26))+"/"+time.Duration(i).String()+"/*")
	}
	if _, err := e.p.Issue(ctx, e.s, req); fieldOf(err) != "destinations" || !strings.Contains(err.Error(), "too large") {
		t.Errorf("oversized policy: %v", err)
	}
	// PackedPolicyTooLarge from AWS.
	e.f.packedLimit = 100
	if _, err := e.p.Issue(ctx, e.s, e.sessionRequest("c-4")); fieldOf(err) != "destinations" || !strings.Contains(err.Error(), "PackedPolicyTooLarge") {
		t.Errorf("packed policy: %v", err)
	}
	e.f.packedLimit = 0
	if n := e.f.calls["AssumeRole"]; n != 1 {
		t.Errorf("AssumeRole called %d times; limits must be checked before calling AWS", n)
	}
	// Not configured.
	empty := &logical.InmemStorage{}
	if _, err := New(e.p.clock, e.p.factory).Issue(ctx, empty, e.sessionRequest("c-5")); !errors.Is(err, providers.ErrNotConfigured) {
		t.Errorf("unconfigured: %v", err)
	}
	// AWS errors are described without secrets.
	e.f.failNext("AssumeRole", 1, apiErr("AccessDenied", "User is not authorized to perform sts:AssumeRole"))
	_, err := e.p.Issue(ctx, e.s, e.sessionRequest("c-6"))
	var ae *AWSError
	if !errors.As(err, &ae) || ae.Code != "AccessDenied" || strings.Contains(err.Error(), rootSecret) {
		t.Errorf("AccessDenied: %v", err)
	}
}

func TestClientsCachedPerRevision(t *testing.T) {
	e := newEnv(t)
	var builds int
	e.p.factory = e.f.factory(&builds)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := e.p.Issue(ctx, e.s, e.sessionRequest("c-cache")); err != nil {
			t.Fatal(err)
		}
	}
	if builds != 1 {
		t.Errorf("clients built %d times for one config, want 1", builds)
	}
	if _, err := e.p.UpdateConfig(ctx, e.s, func(cfg *Config, _ bool) error { cfg.MaxRetries = 5; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.Issue(ctx, e.s, e.sessionRequest("c-cache2")); err != nil {
		t.Fatal(err)
	}
	if builds != 2 {
		t.Errorf("clients built %d times after a config change, want 2", builds)
	}
}

func revokeReq(id string, got *providers.Issued, issued, now time.Time) providers.RevokeRequest {
	return providers.RevokeRequest{CredentialID: id, Ref: got.Ref, IssuedAt: issued, ExpiresAt: issued.Add(10 * time.Minute), Now: now}
}

func (e *env) revocationDoc(t *testing.T) map[string]any {
	t.Helper()
	e.f.mu.Lock()
	defer e.f.mu.Unlock()
	doc, ok := e.f.roles["etl"].inline[RevocationPolicyName]
	if !ok {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRevokeSession(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	got, err := e.p.Issue(ctx, e.s, e.sessionRequest("c-rev"))
	if err != nil {
		t.Fatal(err)
	}
	rr := revokeReq("c-rev", got, e.now, e.now.Add(time.Minute))
	for i := 0; i < 2; i++ {
		if err := e.p.Revoke(ctx, e.s, rr); err != nil {
			t.Fatal(err)
		}
	}
	doc := e.revocationDoc(t)
	if doc == nil {
		t.Fatal("no revocation policy on the role")
	}
	b, _ := json.Marshal(doc)
	if !strings.Contains(string(b), got.Ref[refAssumedRoleID]) || !strings.Contains(string(b), `"aws:userid"`) {
		t.Errorf("revocation policy does not deny %s: %s", got.Ref[refAssumedRoleID], b)
	}
	if e.f.calls["PutRolePolicy"] != 1 {
		t.Errorf("PutRolePolicy called %d times, want 1 (second revoke is a no-op)", e.f.calls["PutRolePolicy"])
	}
	// After STS expiry, Periodic removes the entry and the policy.
	e.now = e.now.Add(16 * time.Minute)
	if err := e.p.Periodic(ctx, e.s); err != nil {
		t.Fatal(err)
	}
	if doc := e.revocationDoc(t); doc != nil {
		t.Errorf("revocation policy still present after expiry: %v", doc)
	}
	if keys, _ := e.s.List(ctx, revocationPrefix); len(keys) != 0 {
		t.Errorf("revocation state left: %v", keys)
	}
	// Revoking a session STS already expired does nothing.
	if err := e.p.Revoke(ctx, e.s, revokeReq("c-rev", got, e.now.Add(-16*time.Minute), e.now)); err != nil {
		t.Fatal(err)
	}
	if e.revocationDoc(t) != nil {
		t.Error("expired session was added to the policy")
	}
}

func TestRevokeBudgetFallback(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// Another inline policy uses part of the budget.
	other := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + strings.Repeat("b", 3000) + `/*"}]}`
	e.f.roles["etl"].inline["app"] = other
	start := e.now
	var fellBack bool
	for i := 0; i < 300; i++ {
		e.now = start.Add(time.Duration(i) * time.Second)
		id := "c-" + strings.Repeat("q", 20) + string(rune('a'+i%26)) + time.Duration(i).String()
		req := e.sessionRequest(id)
		req.Now = e.now
		got, err := e.p.Issue(ctx, e.s, req)
		if err != nil {
			t.Fatal(err)
		}
		e.now = e.now.Add(500 * time.Millisecond)
		if err := e.p.Revoke(ctx, e.s, revokeReq(id, got, req.Now, e.now)); err != nil {
			t.Fatalf("revoke #%d: %v", i, err)
		}
		total := 0
		for _, d := range e.f.roles["etl"].inline {
			total += compactLen(d)
		}
		if total > RoleInlinePolicyBudget {
			t.Fatalf("after %d revocations the role's inline policies use %d characters", i+1, total)
		}
		if doc := e.revocationDoc(t); doc != nil {
			b, _ := json.Marshal(doc)
			if strings.Contains(string(b), "aws:TokenIssueTime") {
				fellBack = true
			}
		}
	}
	if !fellBack {
		t.Fatal("300 revocations never needed the aws:TokenIssueTime fallback")
	}
	st, err := e.p.Revocations(ctx, e.s)
	if err != nil || len(st) != 1 || st[0].FallbackBefore.IsZero() {
		t.Fatalf("Revocations = %+v, %v; want one role with a recorded fallback", st, err)
	}
	// The fallback is dropped once every session issued before it has expired.
	e.now = st[0].FallbackUntil.Add(time.Second)
	if err := e.p.Periodic(ctx, e.s); err != nil {
		t.Fatal(err)
	}
	if doc := e.revocationDoc(t); doc != nil {
		t.Errorf("revocation policy still present: %v", doc)
	}
	if e.f.roles["etl"].inline["app"] != other {
		t.Error("the role's other inline policy was changed")
	}
}

func TestRevokeSessionUnconfiguredAndBadRef(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	got, err := e.p.Issue(ctx, e.s, e.sessionRequest("c-x"))
	if err != nil {
		t.Fatal(err)
	}
	// A provider serves one mount's storage; one whose storage has no config/aws cannot revoke.
	unconfigured := New(e.p.clock, e.p.factory)
	if err := unconfigured.Revoke(ctx, &logical.InmemStorage{}, revokeReq("c-x", got, e.now, e.now)); !errors.Is(err, providers.ErrNotConfigured) {
		t.Errorf("revoke without config = %v, want ErrNotConfigured (the session still works)", err)
	}
	bad := map[string]string{}
	for k, v := range got.Ref {
		bad[k] = v
	}
	bad[refAssumedRoleID] = "nonsense"
	var fe *providers.FieldError
	if err := e.p.Revoke(ctx, e.s, providers.RevokeRequest{CredentialID: "c-x", Ref: bad, Now: e.now}); !errors.As(err, &fe) {
		t.Errorf("bad ref = %v, want a FieldError", err)
	}
}

func TestIAMUser(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	got, err := e.p.Issue(ctx, e.s, e.userRequest("c-user1"))
	if err != nil {
		t.Fatal(err)
	}
	u := e.f.users["nhi-c-user1"]
	if u == nil || u.path != UserPath || u.boundary != "arn:aws:iam::123456789012:policy/nhi-boundary" {
		t.Fatalf("user = %+v", u)
	}
	if !u.attached["arn:aws:iam::aws:policy/ReadOnlyAccess"] || !strings.Contains(u.inline[UserPolicyName], "analytics-raw/2026/12/*") {
		t.Errorf("user policies = %v %v", u.attached, u.inline)
	}
	if !got.Renewable || got.Secret["secret_key"] == "" || got.Public["access_key"] == "" {
		t.Errorf("issued = %+v", got)
	}
	if e.f.calls["GetCallerIdentity"] == 0 {
		t.Error("the new key was not checked before returning it")
	}
	rr := providers.RevokeRequest{CredentialID: "c-user1", Ref: got.Ref, Now: e.now}
	for i := 0; i < 2; i++ {
		if err := e.p.Revoke(ctx, e.s, rr); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := e.f.users["nhi-c-user1"]; ok {
		t.Error("user still exists after revoke")
	}
	for id, k := range e.f.keys {
		if k.user == "nhi-c-user1" {
			t.Errorf("key %s survived", id)
		}
	}
}

func TestIAMUserCrashRollback(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// CreateAccessKey fails and so does the immediate cleanup: the user stays behind...
	e.f.failNext("CreateAccessKey", 1, apiErr("ServiceFailure", "internal error"))
	e.f.failNext("GetUser", 1, apiErr("ServiceFailure", "internal error"))
	if _, err := e.p.Issue(ctx, e.s, e.userRequest("c-crash")); err == nil {
		t.Fatal("Issue succeeded")
	}
	if _, ok := e.f.users["nhi-c-crash"]; !ok {
		t.Fatal("test setup: expected the user to survive the failed cleanup")
	}
	// ...until WAL rollback revokes with only the credential id.
	if err := e.p.Revoke(ctx, e.s, providers.RevokeRequest{CredentialID: "c-crash", Now: e.now}); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.f.users["nhi-c-crash"]; ok {
		t.Error("rollback left the user")
	}
	// A failure with working cleanup leaves nothing at once.
	e.f.failNext("CreateAccessKey", 1, apiErr("ServiceFailure", "internal error"))
	if _, err := e.p.Issue(ctx, e.s, e.userRequest("c-crash2")); err == nil {
		t.Fatal("Issue succeeded")
	}
	if _, ok := e.f.users["nhi-c-crash2"]; ok {
		t.Error("failed issuance left the user")
	}
	// A user outside /nhi/ is never deleted.
	e.f.users["nhi-c-foreign"] = &fakeUser{path: "/", inline: map[string]string{}, attached: map[string]bool{}}
	if err := e.p.Revoke(ctx, e.s, providers.RevokeRequest{CredentialID: "c-foreign", Now: e.now}); !errors.Is(err, errNotOurs) {
		t.Errorf("revoke of a foreign user = %v", err)
	}
}

func TestConcurrentRevocationsOneRole(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const n = 20
	issued := make([]*providers.Issued, n)
	for i := range issued {
		got, err := e.p.Issue(ctx, e.s, e.sessionRequest(fmt.Sprintf("c-par-%02d", i)))
		if err != nil {
			t.Fatal(err)
		}
		issued[i] = got
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range issued {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = e.p.Revoke(ctx, e.s, revokeReq(fmt.Sprintf("c-par-%02d", i), issued[i], e.now, e.now.Add(time.Second)))
		}(i)
	}
	wg.Wait()
	doc, _ := json.Marshal(e.revocationDoc(t))
	for i, err := range errs {
		if err != nil {
			t.Fatalf("revoke %d: %v", i, err)
		}
		if !strings.Contains(string(doc), issued[i].Ref[refAssumedRoleID]) {
			t.Errorf("session %d lost by a concurrent revocation", i)
		}
	}
}

func TestRevokeFallsBackWhenIAMRefuses(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	got, err := e.p.Issue(ctx, e.s, e.sessionRequest("c-lim"))
	if err != nil {
		t.Fatal(err)
	}
	// Another policy grew between the measurement and the write.
	e.f.failNext("PutRolePolicy", 1, apiErr("LimitExceeded", "Maximum policy size of 10240 bytes exceeded"))
	if err := e.p.Revoke(ctx, e.s, revokeReq("c-lim", got, e.now, e.now.Add(time.Second))); err != nil {
		t.Fatal(err)
	}
	doc, _ := json.Marshal(e.revocationDoc(t))
	if !strings.Contains(string(doc), "aws:TokenIssueTime") {
		t.Errorf("no fallback after LimitExceeded: %s", doc)
	}
}

func TestRevokeSessionOfDeletedRole(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	got, err := e.p.Issue(ctx, e.s, e.sessionRequest("c-gone"))
	if err != nil {
		t.Fatal(err)
	}
	delete(e.f.roles, "etl") // deleting a role ends its sessions
	if err := e.p.Revoke(ctx, e.s, revokeReq("c-gone", got, e.now, e.now.Add(time.Second))); err != nil {
		t.Fatalf("revoke after the role was deleted: %v", err)
	}
	if keys, _ := e.s.List(ctx, revocationPrefix); len(keys) != 0 {
		t.Errorf("state kept for a deleted role: %v", keys)
	}
}
