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
			deadline := time.Now().Add(30 * time.Second) // a hang guard, not a speed limit
			for time.Now().Before(deadline) {
				e.p.revocationBatches.mu.Lock()
				joined := 0
				if b := e.p.revocationBatches.open[key]; b != nil {
					joined = len(b.members)
				}
				e.p.revocationBatches.mu.Unlock()
				if joined == n-1 {
					return
				}
				time.Sleep(time.Millisecond)
			}
			t.Error("the other revocations never joined a batch")
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
