package aws

import (
	"sync"
	"time"
)

// revocationBatches groups concurrent revocations of one role's sessions so that a group
// costs one read of the revocation state and at most one IAM policy write. IAM allows
// only a few writes per second per account: revoking hundreds of sessions at once (a
// `vault lease revoke -prefix`, a wave of expiring leases) must not mean hundreds of
// PutRolePolicy calls queued behind each other.
//
// A revocation joins the batch still open for its role, then takes the role's lock. The
// first member to get the lock seals the batch (later revocations open the next one) and
// writes it; the other members take the lock in turn, find the batch written and return
// its outcome. While one batch is being written, the next one fills up.
type revocationBatches struct {
	mu   sync.Mutex
	open map[string]*revocationBatch // role key → batch still accepting members
}

type revocationBatch struct {
	members []revokedSession // appended under revocationBatches.mu until sealed
	latest  time.Time        // the latest revocation time of a member, likewise
	// written and err are guarded by the role's lock.
	written bool
	err     error
}

// join adds a session, revoked at `at`, to the role's open batch and returns that batch.
func (b *revocationBatches) join(key string, session revokedSession, at time.Time) *revocationBatch {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open == nil {
		b.open = map[string]*revocationBatch{}
	}
	batch := b.open[key]
	if batch == nil {
		batch = &revocationBatch{}
		b.open[key] = batch
	}
	batch.members = append(batch.members, session)
	if at.After(batch.latest) {
		batch.latest = at
	}
	return batch
}

// seal stops the batch from accepting members, if it still does.
func (b *revocationBatches) seal(key string, batch *revocationBatch) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open[key] == batch {
		delete(b.open, key)
	}
}
