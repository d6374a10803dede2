package store

import (
	"context"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
)

const driftConfigKey = "config/drift"

// DefaultRetention is how long records and findings are kept after a credential expires.
const DefaultRetention = 7 * 24 * time.Hour

// DriftConfig holds the engine's evidence settings; Retention also governs how long
// credential records outlive their credentials, since drift is judged against them.
type DriftConfig struct {
	Retention time.Duration `json:"retention"`
}

func GetDriftConfig(ctx context.Context, s logical.Storage) (DriftConfig, error) {
	cfg := DriftConfig{Retention: DefaultRetention}
	_, err := getJSON(ctx, s, driftConfigKey, &cfg)
	return cfg, err
}

func PutDriftConfig(ctx context.Context, s logical.Storage, cfg DriftConfig) error {
	return putJSON(ctx, s, driftConfigKey, cfg)
}
