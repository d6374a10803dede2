package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
)

const (
	collectPrefix = "collect/"
	noncePrefix   = "ingest-nonces/"
	ingestKeyPath = "keys/ingest"
	// collectGrace keeps polling a credential after it ended: cloud logs arrive late
	// (CloudTrail typically within 15 minutes), and use after revocation is evidence too.
	collectGrace = 30 * time.Minute
)

// CollectTarget is a credential whose cloud activity the collectors poll, with the
// checkpoint that keeps every event judged exactly once across runs and restarts.
type CollectTarget struct {
	CredentialID string    `json:"credential_id"`
	Provider     string    `json:"provider"`
	KeyID        string    `json:"key_id"`
	Until        time.Time `json:"until"`
	// Checkpoint is the provider collector's reading position (opaque here).
	Checkpoint json.RawMessage `json:"checkpoint,omitempty"`
	// IssuedAt is where reading starts when there is no checkpoint yet.
	IssuedAt time.Time `json:"issued_at"`
	// PostureRef names the cloud object whose policies the credential's posture is
	// judged on (an assumed role's ARN); empty when there is none.
	PostureRef string `json:"posture_ref,omitempty"`
}

// RegisterCollectTarget registers a newly issued credential with a provider key for
// collection; credentials without one (tokens) are not polled.
func RegisterCollectTarget(ctx context.Context, s logical.Storage, r *Record) error {
	keyID := r.Ref["access_key_id"]
	if keyID == "" {
		return nil
	}
	until := r.ExpiresAt
	if sts, err := time.Parse(time.RFC3339, r.Ref["sts_expiration"]); err == nil && sts.After(until) {
		until = sts
	}
	return putJSON(ctx, s, collectPrefix+r.ID, CollectTarget{
		CredentialID: r.ID, Provider: r.Provider, KeyID: keyID,
		IssuedAt: r.IssuedAt, Until: until.Add(collectGrace), PostureRef: r.Ref["role_arn"],
	})
}

// CollectTargets lists the targets still worth polling and removes those past Until.
func CollectTargets(ctx context.Context, s logical.Storage, now time.Time) ([]CollectTarget, error) {
	ids, err := s.List(ctx, collectPrefix)
	if err != nil {
		return nil, fmt.Errorf("listing collection targets: %w", err)
	}
	var out []CollectTarget
	for _, id := range ids {
		var t CollectTarget
		found, err := getJSON(ctx, s, collectPrefix+id, &t)
		if err != nil {
			return nil, err
		}
		if !found {
			continue
		}
		if now.After(t.Until) {
			if err := s.Delete(ctx, collectPrefix+id); err != nil {
				return nil, err
			}
			continue
		}
		out = append(out, t)
	}
	return out, nil
}

// PutCollectTarget stores an advanced checkpoint.
func PutCollectTarget(ctx context.Context, s logical.Storage, t CollectTarget) error {
	return putJSON(ctx, s, collectPrefix+t.CredentialID, t)
}

// IngestKey returns the mount's key for signing collector submissions to its own ingest
// path, creating it when create is set. It lives under keys/, which is seal-wrapped.
func IngestKey(ctx context.Context, s logical.Storage, create bool) ([]byte, error) {
	entry, err := s.Get(ctx, ingestKeyPath)
	if err != nil {
		return nil, fmt.Errorf("reading ingest key: %w", err)
	}
	if entry != nil || !create {
		if entry == nil {
			return nil, nil
		}
		return entry.Value, nil
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generating ingest key: %w", err)
	}
	if err := s.Put(ctx, &logical.StorageEntry{Key: ingestKeyPath, Value: key, SealWrap: true}); err != nil {
		return nil, fmt.Errorf("storing ingest key: %w", err)
	}
	return key, nil
}

// UseNonce records a submission nonce; false means it was used before (a replay).
func UseNonce(ctx context.Context, s logical.Storage, nonce string, at time.Time) (bool, error) {
	key := noncePrefix + nonce
	entry, err := s.Get(ctx, key)
	if err != nil {
		return false, err
	}
	if entry != nil {
		return false, nil
	}
	return true, s.Put(ctx, &logical.StorageEntry{Key: key, Value: []byte(at.UTC().Format(time.RFC3339))})
}

// SweepNonces drops nonces older than cutoff: submissions that old are refused as stale,
// so their nonces need not be remembered.
func SweepNonces(ctx context.Context, s logical.Storage, cutoff time.Time) error {
	nonces, err := s.List(ctx, noncePrefix)
	if err != nil {
		return err
	}
	for _, n := range nonces {
		entry, err := s.Get(ctx, noncePrefix+n)
		if err != nil {
			return err
		}
		if entry == nil {
			continue
		}
		if at, err := time.Parse(time.RFC3339, string(entry.Value)); err != nil || at.Before(cutoff) {
			if err := s.Delete(ctx, noncePrefix+n); err != nil {
				return err
			}
		}
	}
	return nil
}

const posturePrefix = "posture/"

func postureKey(ref string) string {
	sum := sha256.Sum256([]byte(ref))
	return posturePrefix + hex.EncodeToString(sum[:16])
}

// PutPostureHash records the current policy hash of a cloud object (by its reference),
// as the collectors last read it.
func PutPostureHash(ctx context.Context, s logical.Storage, ref, hash string) error {
	return s.Put(ctx, &logical.StorageEntry{Key: postureKey(ref), Value: []byte(hash)})
}

// PostureHash is the last recorded policy hash of a cloud object; "" when unknown.
func PostureHash(ctx context.Context, s logical.Storage, ref string) (string, error) {
	if ref == "" {
		return "", nil
	}
	entry, err := s.Get(ctx, postureKey(ref))
	if err != nil || entry == nil {
		return "", err
	}
	return string(entry.Value), nil
}
