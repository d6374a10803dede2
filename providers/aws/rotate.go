package aws

import (
	"context"
	"fmt"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

// Rotation stages recorded at RotationPath. The record exists from before the new key
// is created until the old key is deleted, so an interrupted rotation is finished or
// undone (never leaving the engine without a working key, nor an orphaned key).
const (
	stageCreating = "creating" // CreateAccessKey may have run; its secret is unknown
	stageCreated  = "created"  // the new key (and secret) is recorded, config still has the old one
	stageStored   = "stored"   // config has the new key; the old key may still exist
)

// staleRotation is how old a rotation record must be before Periodic takes it over.
const staleRotation = time.Minute

type rotationRecord struct {
	Stage          string    `json:"stage"`
	UserName       string    `json:"user_name"`
	OldAccessKeyID string    `json:"old_access_key_id"`
	NewAccessKeyID string    `json:"new_access_key_id,omitempty"`
	NewSecretKey   string    `json:"new_secret_key,omitempty"`
	StartedAt      time.Time `json:"started_at"`
}

// RotationResult reports a root key rotation.
type RotationResult struct {
	AccessKey string
	// Warnings are set when the rotation succeeded but cleanup is left to Periodic.
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

// RotateRoot replaces the static root key: create a new key for the root IAM user,
// wait until it authenticates, store it, then delete the old key. An interrupted earlier
// rotation is finished (or undone) first; if that already produced a new key, it is the
// result.
func (p *Provider) RotateRoot(ctx context.Context, s logical.Storage) (*RotationResult, error) {
	p.rotateMu.Lock()
	defer p.rotateMu.Unlock()
	if pending, err := loadRotation(ctx, s); err != nil {
		return nil, err
	} else if pending != nil {
		res, err := p.resumeRotation(ctx, s, pending)
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
	if cfg.AccessKey == "" {
		return nil, &providers.FieldError{Field: "access_key", Reason: "rotate-root needs static root keys; web identity has no secret to rotate"}
	}
	user, err := cl.IAM.GetUser(ctx, &iam.GetUserInput{})
	if err != nil {
		return nil, wrap("IAM GetUser (the root key's user)", err)
	}
	if user.User == nil || user.User.UserName == nil || strings.HasSuffix(awssdk.ToString(user.User.Arn), ":root") {
		return nil, &providers.FieldError{Field: "access_key", Reason: "belongs to the account root user; configure an IAM user's key to rotate it"}
	}
	rec := &rotationRecord{Stage: stageCreating, UserName: *user.User.UserName, OldAccessKeyID: cfg.AccessKey, StartedAt: p.clock().UTC()}
	if err := saveRotation(ctx, s, rec); err != nil {
		return nil, err
	}
	out, err := cl.IAM.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: awssdk.String(rec.UserName)})
	if err != nil {
		_ = s.Delete(ctx, RotationPath)
		if isCode(err, "LimitExceeded", "LimitExceededException") {
			return nil, fmt.Errorf("aws: user %s already has two access keys; delete the one the engine does not use (%s is in use) and retry", rec.UserName, cfg.AccessKey)
		}
		return nil, wrap("IAM CreateAccessKey for user "+rec.UserName, err)
	}
	if out.AccessKey == nil || out.AccessKey.AccessKeyId == nil || out.AccessKey.SecretAccessKey == nil {
		return nil, fmt.Errorf("aws: IAM CreateAccessKey returned no key")
	}
	rec.Stage, rec.NewAccessKeyID, rec.NewSecretKey = stageCreated, *out.AccessKey.AccessKeyId, *out.AccessKey.SecretAccessKey
	if err := saveRotation(ctx, s, rec); err != nil {
		// The secret would be lost: remove the key again (the "creating" record lets a
		// later attempt find it if this fails too).
		_, _ = cl.IAM.DeleteAccessKey(context.WithoutCancel(ctx), &iam.DeleteAccessKeyInput{UserName: awssdk.String(rec.UserName), AccessKeyId: out.AccessKey.AccessKeyId})
		return nil, fmt.Errorf("recording the new key: %w", err)
	}
	return p.finishRotation(ctx, s, cfg, cl, rec, p.rotateWait)
}

// finishRotation takes a "created" record to the end: verify, store, delete the old key.
func (p *Provider) finishRotation(ctx context.Context, s logical.Storage, cfg Config, cl *Clients, rec *rotationRecord, wait time.Duration) (*RotationResult, error) {
	newCreds := awssdk.Credentials{AccessKeyID: rec.NewAccessKeyID, SecretAccessKey: rec.NewSecretKey}
	if cfg.AccessKey != rec.NewAccessKeyID {
		if err := waitForKey(ctx, cl, newCreds, wait); err != nil {
			// Undo: the old key still works and stays configured.
			_, derr := cl.IAM.DeleteAccessKey(context.WithoutCancel(ctx), &iam.DeleteAccessKeyInput{
				UserName: awssdk.String(rec.UserName), AccessKeyId: awssdk.String(rec.NewAccessKeyID)})
			if derr != nil && !isNoSuchEntity(derr) {
				return nil, fmt.Errorf("%w; deleting the unverified new key failed too (will retry): %v", err, describe(derr))
			}
			if derr := s.Delete(ctx, RotationPath); derr != nil {
				return nil, derr
			}
			return nil, fmt.Errorf("rotation undone, the old key stays in use: %w", err)
		}
		cfg.AccessKey, cfg.SecretKey = rec.NewAccessKeyID, rec.NewSecretKey
		cfg.WebIdentityToken = nil
		if err := p.saveConfig(ctx, s, cfg); err != nil {
			return nil, err
		}
	}
	rec.Stage = stageStored
	if err := saveRotation(ctx, s, rec); err != nil {
		return nil, err
	}
	res := &RotationResult{AccessKey: rec.NewAccessKeyID}
	if err := deleteOldKey(ctx, cl, newCreds, rec); err != nil {
		res.Warnings = append(res.Warnings, fmt.Sprintf("the new key is in use, but deleting the old key %s failed (the engine retries periodically): %v", rec.OldAccessKeyID, err))
		return res, nil
	}
	if err := s.Delete(ctx, RotationPath); err != nil {
		return nil, err
	}
	return res, nil
}

// deleteOldKey deletes the old key, authenticated with the new one.
func deleteOldKey(ctx context.Context, cl *Clients, newCreds awssdk.Credentials, rec *rotationRecord) error {
	client := cl.IAM
	if cl.IAMWith != nil {
		client = cl.IAMWith(newCreds)
	}
	_, err := client.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: awssdk.String(rec.UserName), AccessKeyId: awssdk.String(rec.OldAccessKeyID)})
	if err != nil && !isNoSuchEntity(err) {
		return describe(err)
	}
	return nil
}

// resumeRotation finishes or undoes an interrupted rotation. It returns a result when
// the rotation completed with a new key, nil when it was undone.
func (p *Provider) resumeRotation(ctx context.Context, s logical.Storage, rec *rotationRecord) (*RotationResult, error) {
	cfg, cl, err := p.clients(ctx, s)
	if err != nil {
		return nil, err
	}
	switch rec.Stage {
	case stageCreating:
		// A key may have been created whose secret was never recorded: delete keys of the
		// user that are neither configured nor older than the rotation.
		out, err := cl.IAM.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: awssdk.String(rec.UserName)})
		if err != nil {
			return nil, wrap("IAM ListAccessKeys for user "+rec.UserName, err)
		}
		for _, k := range out.AccessKeyMetadata {
			id := awssdk.ToString(k.AccessKeyId)
			if id == cfg.AccessKey || id == rec.OldAccessKeyID || k.CreateDate == nil || k.CreateDate.Before(rec.StartedAt.Add(-staleRotation)) {
				continue
			}
			if _, err := cl.IAM.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: awssdk.String(rec.UserName), AccessKeyId: k.AccessKeyId}); err != nil && !isNoSuchEntity(err) {
				return nil, wrap("IAM DeleteAccessKey (orphaned rotation key) for user "+rec.UserName, err)
			}
		}
		return nil, s.Delete(ctx, RotationPath)
	case stageCreated:
		return p.finishRotation(ctx, s, cfg, cl, rec, p.keyWait)
	case stageStored:
		newCreds := awssdk.Credentials{AccessKeyID: cfg.AccessKey, SecretAccessKey: cfg.SecretKey}
		if err := deleteOldKey(ctx, cl, newCreds, rec); err != nil {
			return nil, err
		}
		return &RotationResult{AccessKey: cfg.AccessKey}, s.Delete(ctx, RotationPath)
	}
	return nil, fmt.Errorf("%s has unknown stage %q", RotationPath, rec.Stage)
}

// resumeRotationIfStale is Periodic's part: take over a rotation record nobody is working
// on (older than staleRotation, and no rotation running in this process).
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
	_, err = p.resumeRotation(ctx, s, rec)
	return err
}

// UpdateConfig applies update to the stored configuration (DefaultConfig when none) and
// stores the result if it validates, serialized with root key rotation. Replacing the
// access key abandons a pending rotation; the warning names the key it may have left.
func (p *Provider) UpdateConfig(ctx context.Context, s logical.Storage, update func(cfg *Config, exists bool) error) ([]string, error) {
	p.rotateMu.Lock()
	defer p.rotateMu.Unlock()
	cfg, exists, err := LoadConfig(ctx, s)
	if err != nil {
		return nil, err
	}
	oldKey := cfg.AccessKey
	if err := update(&cfg, exists); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var warnings []string
	if cfg.AccessKey != oldKey {
		rec, err := loadRotation(ctx, s)
		if err != nil {
			return nil, err
		}
		if rec != nil {
			if err := s.Delete(ctx, RotationPath); err != nil {
				return nil, err
			}
			if rec.NewAccessKeyID != "" && rec.NewAccessKeyID != cfg.AccessKey {
				warnings = append(warnings, fmt.Sprintf("an interrupted root rotation was abandoned; access key %s of user %s may still exist and should be deleted", rec.NewAccessKeyID, rec.UserName))
			}
		}
	}
	if err := p.saveConfig(ctx, s, cfg); err != nil {
		return nil, err
	}
	return warnings, nil
}

// RemoveConfig deletes the configuration, serialized with root key rotation.
func (p *Provider) RemoveConfig(ctx context.Context, s logical.Storage) error {
	p.rotateMu.Lock()
	defer p.rotateMu.Unlock()
	defer p.config.Reset()
	return DeleteConfig(ctx, s)
}

// saveConfig stores the configuration and forgets the cached copy.
func (p *Provider) saveConfig(ctx context.Context, s logical.Storage, cfg Config) error {
	defer p.config.Reset()
	return SaveConfig(ctx, s, cfg)
}
