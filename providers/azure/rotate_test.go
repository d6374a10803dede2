package azure

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

func rootPasswords(f *fakeAzure) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range f.apps {
		if a.AppID == fakeRootAppID {
			return len(a.secrets)
		}
	}
	return -1
}

func TestRotateRoot(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	res, err := e.p.RotateRoot(ctx, e.s)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, _ := LoadConfig(ctx, e.s)
	if cfg.ClientSecret == fakeRootSecret || cfg.ClientSecretKeyID != res.KeyID || len(res.Warnings) != 0 {
		t.Fatalf("config after rotation: key %s, warnings %v", cfg.ClientSecretKeyID, res.Warnings)
	}
	if e.f.works(fakeRootAppID, fakeRootSecret) || !e.f.works(fakeRootAppID, cfg.ClientSecret) {
		t.Fatal("old secret still works or new one does not")
	}
	if n := rootPasswords(e.f); n != 1 {
		t.Fatalf("root app has %d passwords", n)
	}
	if pending, _ := RotationPending(ctx, e.s); pending {
		t.Fatal("rotation record left")
	}
	// A second rotation removes the first rotated password by key id.
	if _, err := e.p.RotateRoot(ctx, e.s); err != nil {
		t.Fatal(err)
	}
	if n := rootPasswords(e.f); n != 1 {
		t.Fatalf("root app has %d passwords after the second rotation", n)
	}
}

func TestRotateRootUndoneWhenNewSecretFails(t *testing.T) {
	e := newEnv(t)
	e.p.rotateWait = 20 * time.Millisecond
	e.f.tokenDelay = 1 << 30
	_, err := e.p.RotateRoot(context.Background(), e.s)
	if err == nil {
		t.Fatal("rotation succeeded")
	}
	e.f.tokenDelay = 0
	cfg, _, _ := LoadConfig(context.Background(), e.s)
	if cfg.ClientSecret != fakeRootSecret || rootPasswords(e.f) != 1 {
		t.Fatal("undo failed")
	}
	if pending, _ := RotationPending(context.Background(), e.s); pending {
		t.Fatal("rotation record left")
	}
}

func TestRotateRootResumesAfterCrash(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// Crash after the new secret was stored but before the old password was removed.
	e.f.fail["RemovePassword"] = &Error{Op: "remove", StatusCode: http.StatusServiceUnavailable}
	res, err := e.p.RotateRoot(ctx, e.s)
	if err != nil || len(res.Warnings) != 1 {
		t.Fatalf("res=%+v err=%v", res, err)
	}
	if pending, _ := RotationPending(ctx, e.s); !pending {
		t.Fatal("no pending record")
	}
	e.advance(2 * staleRotation)
	if err := e.p.Periodic(ctx, e.s); err != nil {
		t.Fatal(err)
	}
	if pending, _ := RotationPending(ctx, e.s); pending || rootPasswords(e.f) != 1 {
		t.Fatal("Periodic did not finish the rotation")
	}

	// Crash while creating: the password exists, its secret was never recorded.
	e2 := newEnv(t)
	cfg, _, _ := LoadConfig(ctx, e2.s)
	app, _ := e2.f.GetApplicationByAppID(ctx, fakeRootAppID)
	rec := &rotationRecord{Stage: stageCreating, AppObjectID: app.ObjectID, PasswordName: "nhi-root-1", StartedAt: e2.clock()}
	if err := saveRotation(ctx, e2.s, rec); err != nil {
		t.Fatal(err)
	}
	if _, err := e2.f.AddPassword(ctx, app.ObjectID, "nhi-root-1", e2.clock().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := e2.p.RotateRoot(ctx, e2.s); err != nil {
		t.Fatal(err)
	}
	if rootPasswords(e2.f) != 1 {
		t.Fatalf("orphaned password left: %d", rootPasswords(e2.f))
	}
	_ = cfg
}

func TestRotateRootFederated(t *testing.T) {
	e := newEnv(t)
	_, err := e.p.UpdateConfig(context.Background(), e.s, func(c *Config, _ bool) error {
		c.ClientSecret, c.Federated = "", true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.p.signer = signerFunc(func(string) {})
	_, err = e.p.RotateRoot(context.Background(), e.s)
	var fe *providers.FieldError
	if !errors.As(err, &fe) || fe.Field != "federated" {
		t.Fatalf("err = %v", err)
	}
}

func TestUpdateConfigAbandonsRotation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := saveRotation(ctx, e.s, &rotationRecord{Stage: stageCreated, NewKeyID: "k1", AppObjectID: "a1", StartedAt: e.clock()}); err != nil {
		t.Fatal(err)
	}
	warnings, err := e.p.UpdateConfig(ctx, e.s, func(c *Config, _ bool) error {
		c.ClientSecret = "another~secret~value"
		return nil
	})
	if err != nil || len(warnings) != 1 {
		t.Fatalf("warnings=%v err=%v", warnings, err)
	}
	if pending, _ := RotationPending(ctx, e.s); pending {
		t.Fatal("rotation record kept")
	}
}
