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
`

const minRetention = time.Hour

func configDriftPath(d *Deps) *framework.Path {
	h := &configDriftHandler{deps: d}
	return &framework.Path{
		Pattern: "config/drift",
		Fields: map[string]*framework.FieldSchema{
			"retention": {Type: framework.TypeDurationSecond, Description: "How long records and findings outlive their credential (default 168h)."},
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
	return &logical.Response{Data: map[string]any{"retention": int64(cfg.Retention.Seconds())}}, nil
}

func (h *configDriftHandler) write(ctx context.Context, req *logical.Request, data *framework.FieldData) (*logical.Response, error) {
	cfg, err := store.GetDriftConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if v, ok := data.GetOk("retention"); ok {
		cfg.Retention = time.Duration(v.(int)) * time.Second
	}
	if cfg.Retention < minRetention {
		return badRequest("retention: must be at least %s", minRetention)
	}
	return nil, store.PutDriftConfig(ctx, req.Storage, cfg)
}
