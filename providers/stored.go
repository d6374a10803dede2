package providers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/vault/sdk/logical"
)

// LoadJSON reads the JSON document stored at key, decoded over def so that members an
// older document lacks keep their defaults. It returns def and found=false when nothing
// is stored there.
func LoadJSON[T any](ctx context.Context, s logical.Storage, key string, def T) (T, bool, error) {
	entry, err := s.Get(ctx, key)
	if err != nil {
		return def, false, fmt.Errorf("reading %s: %w", key, err)
	}
	if entry == nil {
		return def, false, nil
	}
	v := def
	if err := entry.DecodeJSON(&v); err != nil {
		return def, false, fmt.Errorf("decoding %s: %w", key, err)
	}
	return v, true, nil
}

// SaveJSON stores v as JSON at key.
func SaveJSON(ctx context.Context, s logical.Storage, key string, v any) error {
	entry, err := logical.StorageEntryJSON(key, v)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", key, err)
	}
	if err := s.Put(ctx, entry); err != nil {
		return fmt.Errorf("storing %s: %w", key, err)
	}
	return nil
}

// DeleteKeys deletes the keys in order, stopping at the first failure.
func DeleteKeys(ctx context.Context, s logical.Storage, keys ...string) error {
	for _, key := range keys {
		if err := s.Delete(ctx, key); err != nil {
			return fmt.Errorf("deleting %s: %w", key, err)
		}
	}
	return nil
}

// Revision identifies a configuration for caches of clients built from it: a digest, so
// that secrets in it are never kept as map keys.
func Revision(v any) string {
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
