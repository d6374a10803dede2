package backend

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/vault/sdk/helper/consts"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/paths"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/store"
)

// sweepLimit bounds the records one periodic run deletes, so a backlog drains over
// several runs instead of stalling one.
const sweepLimit = 1000

// periodic rotates the token signing key when due and removes records past retention.
func (b *Backend) periodic(ctx context.Context, req *logical.Request) error {
	if !b.writesStorage() {
		return nil
	}
	if !b.periodicMu.TryLock() {
		return nil
	}
	defer b.periodicMu.Unlock()
	var errs []error
	if _, err := b.token.Rotate(ctx, req.Storage, false); err != nil {
		errs = append(errs, err)
	}
	for name, p := range b.providers {
		if housekeeping, ok := p.(providers.Periodic); ok {
			if err := housekeeping.Periodic(ctx, req.Storage); err != nil {
				errs = append(errs, fmt.Errorf("%s provider: %w", name, err))
			}
		}
	}
	if err := b.collectIfDue(ctx, req.Storage); err != nil {
		errs = append(errs, fmt.Errorf("collectors: %w", err))
	}
	cfg, err := store.GetDriftConfig(ctx, req.Storage)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	cutoff := b.clock().Add(-cfg.Retention)
	removed, err := store.SweepExpired(ctx, req.Storage, cutoff, sweepLimit)
	if err != nil {
		errs = append(errs, err)
	}
	if _, err := store.SweepFindings(ctx, req.Storage, cutoff); err != nil {
		errs = append(errs, err)
	}
	if err := store.SweepNonces(ctx, req.Storage, b.clock().Add(-2*paths.IngestMaxSkew)); err != nil {
		errs = append(errs, err)
	}
	if removed > 0 {
		b.Logger().Debug("removed credential records past retention", "count", removed)
	}
	return errors.Join(errs...)
}

// writesStorage reports whether this node may do housekeeping: performance standbys and
// performance secondaries (for replicated mounts) cannot write, and the active node of the
// primary does the work for them.
func (b *Backend) writesStorage() bool {
	state := b.System().ReplicationState()
	if state.HasState(consts.ReplicationPerformanceStandby) {
		return false
	}
	return b.System().LocalMount() || !state.HasState(consts.ReplicationPerformanceSecondary)
}
