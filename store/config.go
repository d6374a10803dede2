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
	// CollectorInterval is how often collectors read cloud logs; 0 turns them off.
	CollectorInterval time.Duration `json:"collector_interval"`
	// CollectorMaxCredentials bounds the credentials one run reads.
	CollectorMaxCredentials int `json:"collector_max_credentials"`
	// CollectorMaxPages bounds the log pages read per credential per run.
	CollectorMaxPages int `json:"collector_max_pages"`
}

// Collector defaults: a minute between runs (Vault's periodic tick), at most 1,000
// credentials and 4 pages of 50 events each per credential per run.
const (
	DefaultCollectorInterval       = time.Minute
	DefaultCollectorMaxCredentials = 1000
	DefaultCollectorMaxPages       = 4
)

func GetDriftConfig(ctx context.Context, s logical.Storage) (DriftConfig, error) {
	cfg := DriftConfig{
		Retention:               DefaultRetention,
		CollectorInterval:       DefaultCollectorInterval,
		CollectorMaxCredentials: DefaultCollectorMaxCredentials,
		CollectorMaxPages:       DefaultCollectorMaxPages,
	}
	_, err := getJSON(ctx, s, driftConfigKey, &cfg)
	return cfg, err
}

func PutDriftConfig(ctx context.Context, s logical.Storage, cfg DriftConfig) error {
	return putJSON(ctx, s, driftConfigKey, cfg)
}
