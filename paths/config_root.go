package paths

import (
	"context"
	"fmt"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// The cloud providers' root configurations (config/aws, config/azure) are handled alike:
// fields not sent keep their values, the provider applies the update under its rotation
// lock, and deletion and root rotation go through the provider.

// rootConfigProvider is what config/<cloud> needs of a cloud provider whose configuration
// has type C.
type rootConfigProvider[C any] interface {
	UpdateConfig(ctx context.Context, s logical.Storage, update func(cfg *C, exists bool) error) ([]string, error)
	RemoveConfig(ctx context.Context, s logical.Storage) error
}

// cloudProvider returns the engine's provider of the given name as type P.
func cloudProvider[P any](d *Deps, name string) (P, error) {
	p, ok := d.Providers[name].(P)
	if !ok {
		return p, fmt.Errorf("this engine was built without the %s provider", name)
	}
	return p, nil
}

// setStringFields copies the string fields present in the request to their destinations.
func setStringFields(data *framework.FieldData, fields map[string]*string) {
	for name, dst := range fields {
		if v, ok := data.GetOk(name); ok {
			*dst = v.(string)
		}
	}
}

// updateRootConfig applies update to provider P's configuration and answers with the
// provider's warnings, if any.
func updateRootConfig[C any, P rootConfigProvider[C]](ctx context.Context, d *Deps, name string, s logical.Storage, update func(cfg *C) error) (*logical.Response, error) {
	p, err := cloudProvider[P](d, name)
	if err != nil {
		return nil, err
	}
	warnings, err := p.UpdateConfig(ctx, s, func(cfg *C, _ bool) error { return update(cfg) })
	if err != nil {
		return errorResponse(err)
	}
	return withWarnings(nil, warnings), nil
}

// removeRootConfig deletes provider P's configuration.
func removeRootConfig[C any, P rootConfigProvider[C]](ctx context.Context, d *Deps, name string, s logical.Storage) (*logical.Response, error) {
	p, err := cloudProvider[P](d, name)
	if err != nil {
		return nil, err
	}
	return nil, p.RemoveConfig(ctx, s)
}

// withWarnings is a response with data and warnings, or nil when it has neither.
func withWarnings(data map[string]any, warnings []string) *logical.Response {
	if data == nil && len(warnings) == 0 {
		return nil
	}
	resp := &logical.Response{Data: data}
	for _, w := range warnings {
		resp.AddWarning(w)
	}
	return resp
}
