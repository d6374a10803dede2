package paths

import (
	"context"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers/azure"
)

const configAzureHelpSyn = `Configure the engine's root access to Azure.`

const configAzureHelpDesc = `
The engine creates applications, service principals and role assignments with this
root access: an application (client_id) in tenant_id with a client_secret, or
secretless federation (federated=true): the engine signs a client assertion with its own
issuer (config/token; subject "nhi-engine", audience api://AzureADTokenExchange) for an
application whose federated identity credential trusts that issuer. The application needs
the Graph permission Application.ReadWrite.OwnedBy and a role on subscription_id that may
create role assignments (Role Based Access Control Administrator, ideally with a condition
limiting the roles it may assign). client_secret is write-only: it is never returned.
authority_host, graph_endpoint and resource_manager_endpoint override the public cloud's
endpoints (sovereign clouds, private endpoints, simulators; https only); ca_cert is a PEM
bundle trusted in addition to the system roots. Fields not sent keep their values.
`

const configAzureRotateHelpSyn = `Rotate the engine's Azure root client secret.`

const configAzureRotateHelpDesc = `
Adds a new password to the root application, waits until it obtains a token, stores it,
then removes the old password. Progress is recorded first, so an interrupted rotation is
finished or undone by the next attempt or by the engine's periodic work; the engine is
never left without a working secret.
`

func configAzurePaths(d *Deps) []*framework.Path {
	h := &configAzureHandler{deps: d}
	return []*framework.Path{
		{
			Pattern: "config/azure",
			Fields: map[string]*framework.FieldSchema{
				"tenant_id":       {Type: framework.TypeString, Description: "Entra tenant id (or verified domain)."},
				"subscription_id": {Type: framework.TypeString, Description: "Subscription the engine assigns roles in; destinations must lie inside it."},
				"client_id":       {Type: framework.TypeString, Description: "Application (client) id of the engine's root application."},
				"client_secret": {Type: framework.TypeString, Description: "Client secret of the root application (write-only).",
					DisplayAttrs: &framework.DisplayAttributes{Sensitive: true}},
				"federated":                 {Type: framework.TypeBool, Description: "Secretless: authenticate with a client assertion signed by this engine's issuer."},
				"authority_host":            {Type: framework.TypeString, Description: "Entra authority host override (default https://login.microsoftonline.com/)."},
				"graph_endpoint":            {Type: framework.TypeString, Description: "Microsoft Graph endpoint override (default https://graph.microsoft.com)."},
				"resource_manager_endpoint": {Type: framework.TypeString, Description: "Azure Resource Manager endpoint override (default https://management.azure.com)."},
				"ca_cert":                   {Type: framework.TypeString, Description: "PEM bundle of CA certificates to trust for these endpoints."},
			},
			ExistenceCheck: h.exists,
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ReadOperation:   &framework.PathOperation{Callback: h.read, Summary: "Read the Azure configuration (without the client secret)."},
				logical.CreateOperation: forwardedOp(h.write, "Configure Azure root access."),
				logical.UpdateOperation: forwardedOp(h.write, "Update the Azure configuration; fields not sent keep their values."),
				logical.DeleteOperation: forwardedOp(h.delete, "Delete the Azure configuration."),
			},
			HelpSynopsis:    configAzureHelpSyn,
			HelpDescription: configAzureHelpDesc,
		},
		{
			Pattern: "config/azure/rotate-root",
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.UpdateOperation: forwardedOp(h.rotate, "Rotate the Azure root client secret."),
			},
			HelpSynopsis:    configAzureRotateHelpSyn,
			HelpDescription: configAzureRotateHelpDesc,
		},
	}
}

type configAzureHandler struct{ deps *Deps }

func (h *configAzureHandler) exists(ctx context.Context, req *logical.Request, _ *framework.FieldData) (bool, error) {
	_, found, err := azure.LoadConfig(ctx, req.Storage)
	return found, err
}

func (h *configAzureHandler) read(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	cfg, found, err := azure.LoadConfig(ctx, req.Storage)
	if err != nil || !found {
		return nil, err
	}
	pending, err := azure.RotationPending(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"tenant_id":                 cfg.TenantID,
		"subscription_id":           cfg.SubscriptionID,
		"client_id":                 cfg.ClientID,
		"client_secret_set":         cfg.ClientSecret != "",
		"federated":                 cfg.Federated,
		"authority_host":            cfg.AuthorityHost,
		"graph_endpoint":            cfg.GraphEndpoint,
		"resource_manager_endpoint": cfg.ResourceManagerEndpoint,
		"ca_cert":                   cfg.CACert,
		"rotation_pending":          pending,
	}}, nil
}

func (h *configAzureHandler) write(ctx context.Context, req *logical.Request, data *framework.FieldData) (*logical.Response, error) {
	return updateRootConfig[azure.Config, *azure.Provider](ctx, h.deps, azure.Name, req.Storage, func(cfg *azure.Config) error {
		oldClient := cfg.ClientID
		setStringFields(data, map[string]*string{
			"tenant_id": &cfg.TenantID, "subscription_id": &cfg.SubscriptionID, "client_id": &cfg.ClientID,
			"authority_host": &cfg.AuthorityHost, "graph_endpoint": &cfg.GraphEndpoint,
			"resource_manager_endpoint": &cfg.ResourceManagerEndpoint, "ca_cert": &cfg.CACert,
		})
		if fed, ok := data.GetOk("federated"); ok {
			cfg.Federated = fed.(bool)
		}
		secret, secretSent := data.GetOk("client_secret")
		if secretSent {
			cfg.ClientSecret = secret.(string)
		}
		if cfg.Federated && !secretSent {
			cfg.ClientSecret = "" // switching to federation drops the stored secret
		}
		if cfg.ClientID != oldClient && oldClient != "" && !secretSent && !cfg.Federated {
			return &providers.FieldError{Field: "client_secret", Reason: "is required when client_id changes"}
		}
		return nil
	})
}

func (h *configAzureHandler) delete(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	return removeRootConfig[azure.Config, *azure.Provider](ctx, h.deps, azure.Name, req.Storage)
}

func (h *configAzureHandler) rotate(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	p, err := cloudProvider[*azure.Provider](h.deps, azure.Name)
	if err != nil {
		return nil, err
	}
	res, err := p.RotateRoot(ctx, req.Storage)
	if err != nil {
		return errorResponse(err)
	}
	return withWarnings(map[string]any{"client_id": res.ClientID, "key_id": res.KeyID}, res.Warnings), nil
}
