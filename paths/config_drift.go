package paths

import (
	"context"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/store"
)

const configDriftHelpSyn = `Configure evidence handling and retention.`

const configDriftHelpDesc = `
retention is how long credential records (and drift findings) are kept after the
credential expires or is revoked; default 168h (7 days), at least 1h.

collector_interval is how often the collectors read cloud logs (AWS CloudTrail) for
active and recently ended credentials on the active node (default 1m; 0 turns them
off; Vault's periodic tick is about a minute, so shorter values act as 1m).
collector_max_credentials and collector_max_pages bound one run. Collectors submit
what they read to this mount's ingest path through Vault's API (the URL comes from
config/token issuer), so every finding passes through the audit devices.
`

const minRetention = time.Hour

func configDriftPath(d *Deps) *framework.Path {
	h := &configDriftHandler{deps: d}
	return &framework.Path{
		Pattern: "config/drift",
		Fields: map[string]*framework.FieldSchema{
			"retention":                 {Type: framework.TypeDurationSecond, Description: "How long records and findings outlive their credential (default 168h)."},
			"collector_interval":        {Type: framework.TypeDurationSecond, Description: "How often collectors read cloud logs (default 1m; 0 = off)."},
			"collector_max_credentials": {Type: framework.TypeInt, Description: "Most credentials one collector run reads (default 1000)."},
			"collector_max_pages":       {Type: framework.TypeInt, Description: "Most log pages per credential per run (default 4, 50 events each)."},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation:   &framework.PathOperation{Callback: h.read, Summary: "Read the drift and retention configuration."},
			logical.UpdateOperation: &framework.PathOperation{Callback: h.write, Summary: "Update the drift and retention configuration."},
		},
		HelpSynopsis:    configDriftHelpSyn,
		HelpDescription: configDriftHelpDesc,
	}
}

type configDriftHandler struct{ deps *Deps }

func (h *configDriftHandler) read(ctx context.Context, req *logical.Request, data *framework.FieldData) (*logical.Response, error) {
	cfg, err := store.GetDriftConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"retention":                 int64(cfg.Retention.Seconds()),
		"collector_interval":        int64(cfg.CollectorInterval.Seconds()),
		"collector_max_credentials": cfg.CollectorMaxCredentials,
		"collector_max_pages":       cfg.CollectorMaxPages,
	}}, nil
}

func (h *configDriftHandler) write(ctx context.Context, req *logical.Request, data *framework.FieldData) (*logical.Response, error) {
	cfg, err := store.GetDriftConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if v, ok := data.GetOk("retention"); ok {
		cfg.Retention = time.Duration(v.(int)) * time.Second
	}
	if v, ok := data.GetOk("collector_interval"); ok {
		cfg.CollectorInterval = time.Duration(v.(int)) * time.Second
	}
	if v, ok := data.GetOk("collector_max_credentials"); ok {
		cfg.CollectorMaxCredentials = v.(int)
	}
	if v, ok := data.GetOk("collector_max_pages"); ok {
		cfg.CollectorMaxPages = v.(int)
	}
	switch {
	case cfg.Retention < minRetention:
		return badRequest("retention: must be at least %s", minRetention)
	case cfg.CollectorInterval < 0:
		return badRequest("collector_interval: must be 0 (off) or positive")
	case cfg.CollectorMaxCredentials < 1 || cfg.CollectorMaxCredentials > 100000:
		return badRequest("collector_max_credentials: must be between 1 and 100000")
	case cfg.CollectorMaxPages < 1 || cfg.CollectorMaxPages > 100:
		return badRequest("collector_max_pages: must be between 1 and 100")
	}
	return nil, store.PutDriftConfig(ctx, req.Storage, cfg)
}
