package aws

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

// Revocations of one role's sessions that arrive while a policy write is in flight are
// written together: 1 + 49 concurrent revocations cost two PutRolePolicy calls, and every
// session ends up denied.
func TestConcurrentRevocationsShareOnePolicyWrite(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const n = 50
	issued := make([]*providers.Issued, n)
	for i := range issued {
		got, err := e.p.Issue(ctx, e.s, e.sessionRequest(fmt.Sprintf("c-batch-%02d", i)))
		if err != nil {
			t.Fatal(err)
		}
		issued[i] = got
	}
	key := revocationKey(fakeAccount, "etl")
	var once sync.Once
	first := make(chan struct{}) // closed once the first revocation's batch is being written
	e.f.beforePutRolePolicy = func() {
		// Hold the first write until the other 49 revocations have joined the next batch.
		once.Do(func() {
			close(first)
			if !e.batchReaches(key, n-1) {
				t.Error("the other revocations never joined a batch")
			}
		})
	}
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range issued {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i > 0 {
				<-first // the first revocation's batch holds it alone
			}
			errs <- e.p.Revoke(ctx, e.s, revokeReq(fmt.Sprintf("c-batch-%02d", i), issued[i], e.now, e.now))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("revoke: %v", err)
		}
	}
	if puts := e.f.calls["PutRolePolicy"]; puts != 2 {
		t.Errorf("PutRolePolicy calls = %d for %d concurrent revocations, want 2 (one per batch)", puts, n)
	}
	doc := e.f.roles["etl"].inline[RevocationPolicyName]
	for i, got := range issued {
		if id := got.Ref[refAssumedRoleID]; !strings.Contains(doc, id) {
			t.Errorf("session %d (%s) is not denied by the revocation policy", i, id)
		}
	}
}

// When a batch overflows the inline policy budget, the fallback cut-off must cover every
// member's session, including one issued and revoked while the batch waited for the lock.
func TestBatchedFallbackCoversEveryMember(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	t0 := e.now
	a, err := e.p.Issue(ctx, e.s, e.sessionRequest("c-fallback-a"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.p.Issue(ctx, e.s, e.sessionRequest("c-fallback-b"))
	if err != nil {
		t.Fatal(err)
	}
	// Leave the role room for one denied session, not two.
	one := &revocationState{Entries: []revokedSession{{UserID: a.Ref[refAssumedRoleID]}}}
	doc, err := one.policyDocument()
	if err != nil {
		t.Fatal(err)
	}
	filler := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::"}]}`
	pad := RoleInlinePolicyBudget - len(doc) - 10 - len(filler)
	e.f.mu.Lock()
	e.f.roles["etl"].inline["other"] = strings.Replace(filler, ":::", ":::"+strings.Repeat("x", pad), 1)
	e.f.mu.Unlock()

	key := revocationKey(fakeAccount, "etl")
	lock := e.p.roleLock(key)
	lock.Lock() // a previous batch's write is in flight
	errs := make(chan error, 2)
	go func() { errs <- e.p.Revoke(ctx, e.s, revokeReq("c-fallback-a", a, t0, t0.Add(time.Second))) }()
	e.waitBatchMembers(t, key, 1)
	// Issued 20 s later, while the batch still waits, and revoked at once.
	go func() {
		errs <- e.p.Revoke(ctx, e.s, revokeReq("c-fallback-b", b, t0.Add(20*time.Second), t0.Add(21*time.Second)))
	}()
	e.waitBatchMembers(t, key, 2)
	lock.Unlock()
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			t.Fatalf("revoke: %v", err)
		}
	}
	st, err := loadRevocations(ctx, e.s, key)
	if err != nil {
		t.Fatal(err)
	}
	if st.Fallback == nil {
		t.Fatalf("two sessions fit a budget meant for one: %+v", st)
	}
	if !st.covers(b.Ref[refAssumedRoleID], t0.Add(20*time.Second)) {
		t.Errorf("the fallback denies sessions issued before %s; the session issued at %s stays usable",
			st.Fallback.Before, t0.Add(20*time.Second))
	}
}

// A member whose own request was cancelled must not fail the batch for the others.
func TestACancelledMemberDoesNotFailItsBatch(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, err := e.p.Issue(ctx, e.s, e.sessionRequest("c-cancelled-a"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.p.Issue(ctx, e.s, e.sessionRequest("c-cancelled-b"))
	if err != nil {
		t.Fatal(err)
	}
	key := revocationKey(fakeAccount, "etl")
	gone, cancel := context.WithCancel(ctx)
	cancel()
	lock := e.p.roleLock(key)
	lock.Lock()
	errA, errB := make(chan error, 1), make(chan error, 1)
	go func() { errA <- e.p.Revoke(gone, e.s, revokeReq("c-cancelled-a", a, e.now, e.now)) }()
	e.waitBatchMembers(t, key, 1)
	go func() { errB <- e.p.Revoke(ctx, e.s, revokeReq("c-cancelled-b", b, e.now, e.now)) }()
	e.waitBatchMembers(t, key, 2)
	lock.Unlock()
	<-errA // either error (its context is gone) or nil (the other member wrote the batch)
	if err := <-errB; err != nil {
		t.Fatalf("a live revocation failed with its batch-mate's cancelled context: %v", err)
	}
	if doc := e.f.roles["etl"].inline[RevocationPolicyName]; !strings.Contains(doc, b.Ref[refAssumedRoleID]) {
		t.Errorf("session b is not denied: %s", doc)
	}
}

// waitBatchMembers waits until the role's open revocation batch has n members.
func (e *env) waitBatchMembers(t *testing.T, key string, n int) {
	t.Helper()
	if !e.batchReaches(key, n) {
		t.Fatalf("%d revocations never joined one batch", n)
	}
}

// batchReaches waits until the role's open revocation batch has n members, and reports
// whether it got there. The limit is a hang guard, not a speed limit.
func (e *env) batchReaches(key string, n int) bool {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		e.p.revocationBatches.mu.Lock()
		joined := 0
		if batch := e.p.revocationBatches.open[key]; batch != nil {
			joined = len(batch.members)
		}
		e.p.revocationBatches.mu.Unlock()
		if joined == n {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return false
}
