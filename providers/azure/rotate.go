package azure

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

// Rotation stages recorded at RotationPath. The record exists from before the new
// password is added until the old one is removed, so an interrupted rotation is finished
// or undone, never leaving the engine without a working secret nor an orphaned password.
const (
	stageCreating = "creating" // addPassword may have run; its secret is unknown
	stageCreated  = "created"  // the new secret is recorded, config still has the old one
	stageStored   = "stored"   // config has the new secret; the old password may still exist
)

// staleRotation is how old a rotation record must be before Periodic takes it over.
const staleRotation = time.Minute

// rootPasswordLifetime is the validity of a rotated root secret (Entra's recommended
// maximum is two years; rotate well before).
const rootPasswordLifetime = 365 * 24 * time.Hour

type rotationRecord struct {
	Stage        string    `json:"stage"`
	AppObjectID  string    `json:"app_object_id"`
	PasswordName string    `json:"password_name"`
	OldKeyID     string    `json:"old_key_id,omitempty"`
	OldHint      string    `json:"old_hint,omitempty"`
	NewKeyID     string    `json:"new_key_id,omitempty"`
	NewSecret    string    `json:"new_secret,omitempty"`
	StartedAt    time.Time `json:"started_at"`
}

// RotationResult reports a root secret rotation.
type RotationResult struct {
	ClientID string
	KeyID    string
	Expires  time.Time
	Warnings []string
}

func loadRotation(ctx context.Context, s logical.Storage) (*rotationRecord, error) {
	r, found, err := providers.LoadJSON(ctx, s, RotationPath, rotationRecord{})
	if err != nil || !found {
		return nil, err
	}
	return &r, nil
}

func saveRotation(ctx context.Context, s logical.Storage, r *rotationRecord) error {
	return providers.SaveJSON(ctx, s, RotationPath, r)
}

// RotationPending reports whether an interrupted rotation awaits completion.
func RotationPending(ctx context.Context, s logical.Storage) (bool, error) {
	r, err := loadRotation(ctx, s)
	return r != nil, err
}

// RotateRoot replaces the root client secret: add a password to the root application,
// wait until it obtains a token, store it, then remove the old password. An interrupted
// earlier rotation is finished (or undone) first.
func (p *Provider) RotateRoot(ctx context.Context, s logical.Storage) (*RotationResult, error) {
	p.rotateMu.Lock()
	defer p.rotateMu.Unlock()
	if pending, err := loadRotation(ctx, s); err != nil {
		return nil, err
	} else if pending != nil {
		res, err := p.resumeRotation(ctx, s, pending, p.rotateWait)
		if err != nil {
			return nil, fmt.Errorf("finishing the interrupted rotation first: %w", err)
		}
		if res != nil {
			return res, nil
		}
	}
	cfg, cl, err := p.clients(ctx, s)
	if err != nil {
		return nil, err
	}
	if cfg.Federated {
		return nil, &providers.FieldError{Field: "federated", Reason: "rotate-root needs a client secret; federated access has no secret to rotate"}
	}
	app, err := cl.Graph.GetApplicationByAppID(ctx, cfg.ClientID)
	if err != nil {
		return nil, fmt.Errorf("reading the root application %s: %w", cfg.ClientID, err)
	}
	now := p.clock().UTC()
	rec := &rotationRecord{
		Stage: stageCreating, AppObjectID: app.ObjectID, OldKeyID: cfg.ClientSecretKeyID,
		PasswordName: fmt.Sprintf("nhi-root-%d", now.UnixNano()), StartedAt: now,
	}
	if len(cfg.ClientSecret) >= 3 {
		rec.OldHint = cfg.ClientSecret[:3]
	}
	if err := saveRotation(ctx, s, rec); err != nil {
		return nil, err
	}
	pw, err := cl.Graph.AddPassword(ctx, app.ObjectID, rec.PasswordName, now.Add(rootPasswordLifetime))
	if err != nil {
		_ = s.Delete(ctx, RotationPath)
		return nil, fmt.Errorf("adding a password to the root application: %w", err)
	}
	rec.Stage, rec.NewKeyID, rec.NewSecret = stageCreated, pw.KeyID, pw.SecretText
	if err := saveRotation(ctx, s, rec); err != nil {
		// The secret would be lost: remove the password again (the "creating" record lets
		// a later attempt find it by name if this fails too).
		_ = cl.Graph.RemovePassword(context.WithoutCancel(ctx), app.ObjectID, pw.KeyID)
		return nil, fmt.Errorf("recording the new secret: %w", err)
	}
	return p.finishRotation(ctx, s, cfg, cl, rec, p.rotateWait)
}

// finishRotation takes a "created" record to the end: verify, store, remove the old one.
func (p *Provider) finishRotation(ctx context.Context, s logical.Storage, cfg Config, cl *Clients, rec *rotationRecord, wait time.Duration) (*RotationResult, error) {
	if cfg.ClientSecret != rec.NewSecret {
		err := p.retry(ctx, wait, func() (bool, error) {
			err := cl.Tokens.CheckSecret(ctx, cfg.ClientID, rec.NewSecret)
			return transientToken(err), err
		})
		if err != nil {
			// Undo: the old secret still works and stays configured.
			if derr := cl.Graph.RemovePassword(context.WithoutCancel(ctx), rec.AppObjectID, rec.NewKeyID); derr != nil && !IsNotFound(derr) {
				return nil, fmt.Errorf("the new secret did not obtain a token: %w; removing it failed too (will retry): %v", err, derr)
			}
			if derr := s.Delete(ctx, RotationPath); derr != nil {
				return nil, derr
			}
			return nil, fmt.Errorf("rotation undone, the old secret stays in use: %w", err)
		}
		cfg.ClientSecret, cfg.ClientSecretKeyID = rec.NewSecret, rec.NewKeyID
		cfg.ClientAssertion = nil
		if err := SaveConfig(ctx, s, cfg); err != nil {
			return nil, err
		}
		p.noteConfig(cfg)
	}
	rec.Stage = stageStored
	rec.NewSecret = "" // config holds it now
	if err := saveRotation(ctx, s, rec); err != nil {
		return nil, err
	}
	res := &RotationResult{ClientID: cfg.ClientID, KeyID: rec.NewKeyID}
	if err := p.removeOldPassword(ctx, cl, rec); err != nil {
		res.Warnings = append(res.Warnings, fmt.Sprintf("the new secret is in use, but removing the old password failed (the engine retries periodically): %v", err))
		return res, nil
	}
	if err := s.Delete(ctx, RotationPath); err != nil {
		return nil, err
	}
	return res, nil
}

// removeOldPassword removes the previous root password: by key id when the engine
// created it, otherwise the one password (other than the new one) whose hint matches the
// old secret's first characters. Ambiguity is reported, not guessed.
func (p *Provider) removeOldPassword(ctx context.Context, cl *Clients, rec *rotationRecord) error {
	keyID := rec.OldKeyID
	if keyID == "" {
		app, err := cl.Graph.GetApplication(ctx, rec.AppObjectID)
		if err != nil {
			return err
		}
		var matches []string
		for _, pw := range app.Passwords {
			if pw.KeyID != rec.NewKeyID && rec.OldHint != "" && pw.Hint == rec.OldHint {
				matches = append(matches, pw.KeyID)
			}
		}
		switch len(matches) {
		case 0:
			return nil // already gone
		case 1:
			keyID = matches[0]
		default:
			return fmt.Errorf("%d passwords of the root application match the old secret's hint; remove the old one by hand", len(matches))
		}
	}
	if err := cl.Graph.RemovePassword(ctx, rec.AppObjectID, keyID); err != nil && !IsNotFound(err) {
		return err
	}
	return nil
}

// resumeRotation finishes or undoes an interrupted rotation. It returns a result when
// the rotation completed with a new secret, nil when it was undone.
func (p *Provider) resumeRotation(ctx context.Context, s logical.Storage, rec *rotationRecord, wait time.Duration) (*RotationResult, error) {
	cfg, cl, err := p.clients(ctx, s)
	if err != nil {
		return nil, err
	}
	switch rec.Stage {
	case stageCreating:
		// A password may exist whose secret was never recorded: remove passwords with
		// this rotation's display name.
		app, err := cl.Graph.GetApplication(ctx, rec.AppObjectID)
		if err != nil && !IsNotFound(err) {
			return nil, err
		}
		for _, pw := range app.Passwords {
			if pw.DisplayName == rec.PasswordName && pw.KeyID != cfg.ClientSecretKeyID {
				if err := cl.Graph.RemovePassword(ctx, rec.AppObjectID, pw.KeyID); err != nil && !IsNotFound(err) {
					return nil, err
				}
			}
		}
		return nil, s.Delete(ctx, RotationPath)
	case stageCreated:
		return p.finishRotation(ctx, s, cfg, cl, rec, wait)
	case stageStored:
		if err := p.removeOldPassword(ctx, cl, rec); err != nil {
			return nil, err
		}
		return &RotationResult{ClientID: cfg.ClientID, KeyID: rec.NewKeyID}, s.Delete(ctx, RotationPath)
	}
	return nil, fmt.Errorf("%s has unknown stage %q", RotationPath, rec.Stage)
}

// resumeRotationIfStale is Periodic's part: take over a rotation record nobody is
// working on (older than staleRotation, and no rotation running in this process).
func (p *Provider) resumeRotationIfStale(ctx context.Context, s logical.Storage) error {
	if !p.rotateMu.TryLock() {
		return nil
	}
	defer p.rotateMu.Unlock()
	rec, err := loadRotation(ctx, s)
	if err != nil || rec == nil {
		return err
	}
	if p.clock().Sub(rec.StartedAt) < staleRotation {
		return nil
	}
	_, err = p.resumeRotation(ctx, s, rec, p.rotateWait)
	return err
}

// UpdateConfig applies update to the stored configuration and stores the result if it
// validates, serialized with root rotation. Replacing the client id or secret abandons
// a pending rotation; the warning names the password it may have left.
func (p *Provider) UpdateConfig(ctx context.Context, s logical.Storage, update func(cfg *Config, exists bool) error) ([]string, error) {
	p.rotateMu.Lock()
	defer p.rotateMu.Unlock()
	cfg, exists, err := LoadConfig(ctx, s)
	if err != nil {
		return nil, err
	}
	oldID, oldSecret := cfg.ClientID, cfg.ClientSecret
	if err := update(&cfg, exists); err != nil {
		return nil, err
	}
	if cfg.ClientSecret != oldSecret || cfg.ClientID != oldID {
		cfg.ClientSecretKeyID = "" // unknown for a secret written by hand
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var warnings []string
	if cfg.ClientSecret != oldSecret || cfg.ClientID != oldID {
		rec, err := loadRotation(ctx, s)
		if err != nil {
			return nil, err
		}
		if rec != nil {
			if err := s.Delete(ctx, RotationPath); err != nil {
				return nil, err
			}
			if rec.NewKeyID != "" {
				warnings = append(warnings, fmt.Sprintf("an interrupted root rotation was abandoned; password %s of application object %s may still exist and should be removed", rec.NewKeyID, rec.AppObjectID))
			}
		}
	}
	if err := SaveConfig(ctx, s, cfg); err != nil {
		return nil, err
	}
	p.noteConfig(cfg)
	return warnings, nil
}

// RemoveConfig deletes the configuration, serialized with root rotation.
func (p *Provider) RemoveConfig(ctx context.Context, s logical.Storage) error {
	p.rotateMu.Lock()
	defer p.rotateMu.Unlock()
	return DeleteConfig(ctx, s)
}
