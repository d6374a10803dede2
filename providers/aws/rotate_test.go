package aws

import (
	"context"
	"testing"
	"time"
)

func userKeys(f *fakeAWS, user string) []string {
	var out []string
	for id, k := range f.keys {
		if k.user == user {
			out = append(out, id)
		}
	}
	return out
}

func TestRotateRoot(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	res, err := e.p.RotateRoot(ctx, e.s)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, _ := LoadConfig(ctx, e.s)
	if cfg.AccessKey != res.AccessKey || cfg.AccessKey == rootKey || cfg.SecretKey == rootSecret {
		t.Fatalf("config not switched: %s", cfg.AccessKey)
	}
	if keys := userKeys(e.f, rootUser); len(keys) != 1 || keys[0] != res.AccessKey {
		t.Errorf("root user keys = %v, want only the new one", keys)
	}
	if pending, _ := RotationPending(ctx, e.s); pending {
		t.Error("rotation record left behind")
	}
	// The engine keeps working with the new key.
	if _, err := e.p.Issue(ctx, e.s, e.sessionRequest("c-after")); err != nil {
		t.Fatal(err)
	}
}

func TestRotateRootNewKeyNeverWorks(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.f.failNext("GetCallerIdentity", 1000, apiErr("InvalidClientTokenId", "not yet"))
	if _, err := e.p.RotateRoot(ctx, e.s); err == nil {
		t.Fatal("rotation succeeded with a key that never authenticated")
	}
	cfg, _, _ := LoadConfig(ctx, e.s)
	if cfg.AccessKey != rootKey {
		t.Error("config switched to an unverified key")
	}
	if keys := userKeys(e.f, rootUser); len(keys) != 1 || keys[0] != rootKey {
		t.Errorf("root user keys = %v, want only the old one", keys)
	}
}

// A crash after the new key was recorded but before config was switched: the next
// attempt (or Periodic) finishes the rotation.
func TestRotateRootResumeAfterCrash(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	bs := &badStorage{Storage: e.s, failPut: ConfigPath}
	if _, err := e.p.RotateRoot(ctx, bs); err == nil {
		t.Fatal("rotation succeeded although config could not be stored")
	}
	if keys := userKeys(e.f, rootUser); len(keys) != 2 {
		t.Fatalf("keys = %v, want old and new while the rotation is pending", keys)
	}
	cfg, _, _ := LoadConfig(ctx, e.s)
	if cfg.AccessKey != rootKey {
		t.Fatal("config changed")
	}
	// The old key still works: issuing is unaffected.
	if _, err := e.p.Issue(ctx, e.s, e.sessionRequest("c-during")); err != nil {
		t.Fatal(err)
	}
	// Periodic takes over once the record is stale.
	e.now = e.now.Add(2 * staleRotation)
	if err := e.p.Periodic(ctx, e.s); err != nil {
		t.Fatal(err)
	}
	cfg, _, _ = LoadConfig(ctx, e.s)
	if keys := userKeys(e.f, rootUser); len(keys) != 1 || keys[0] != cfg.AccessKey || cfg.AccessKey == rootKey {
		t.Errorf("after resume keys = %v, config key %s", keys, cfg.AccessKey)
	}
	if pending, _ := RotationPending(ctx, e.s); pending {
		t.Error("rotation record left behind")
	}
}

// A crash between CreateAccessKey and recording its secret: the orphaned key is removed.
func TestRotateRootOrphanedKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := saveRotation(ctx, e.s, &rotationRecord{Stage: stageCreating, UserName: rootUser, OldAccessKeyID: rootKey, StartedAt: e.now}); err != nil {
		t.Fatal(err)
	}
	e.f.mu.Lock()
	orphan, _ := e.f.newKey(rootUser)
	e.f.mu.Unlock()
	res, err := e.p.RotateRoot(ctx, e.s)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := e.f.keys[orphan]; ok {
		t.Error("orphaned key survived")
	}
	if keys := userKeys(e.f, rootUser); len(keys) != 1 || keys[0] != res.AccessKey {
		t.Errorf("keys = %v, want the rotated key only", keys)
	}
}

// The old key cannot be deleted: the rotation stands, a warning says so, Periodic retries.
func TestRotateRootOldKeyDeleteFails(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.f.failNext("DeleteAccessKey", 1, apiErr("ServiceFailure", "try later"))
	res, err := e.p.RotateRoot(ctx, e.s)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) == 0 {
		t.Error("no warning")
	}
	e.now = e.now.Add(time.Hour)
	if err := e.p.Periodic(ctx, e.s); err != nil {
		t.Fatal(err)
	}
	if keys := userKeys(e.f, rootUser); len(keys) != 1 || keys[0] != res.AccessKey {
		t.Errorf("keys = %v", keys)
	}
}
