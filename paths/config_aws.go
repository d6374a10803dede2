package paths

import (
	"context"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers/aws"
)

const configAWSHelpSyn = `Configure the engine's root access to AWS.`

const configAWSHelpDesc = `
The engine calls STS and IAM with this root access: static keys (access_key and
secret_key of an IAM user), or secretless web identity (web_identity_role_arn): the
engine signs a token with its own issuer (config/token) for web_identity_audience and
exchanges it with AssumeRoleWithWebIdentity. secret_key is write-only: it is never
returned. region sets the signing region and the ARN partition; the *_endpoint fields
override service endpoints (simulators, VPC or FIPS endpoints; plain http only for
localhost). max_retries is how often a throttled or failing (5xx) call is retried with
bounded exponential backoff (-1: the SDK default).
Fields not sent keep their values.
`

const configAWSRotateHelpSyn = `Rotate the engine's static AWS root key.`

const configAWSRotateHelpDesc = `
Creates a new access key for the root IAM user, waits until it authenticates, stores it,
then deletes the old key. Progress is recorded first, so an interrupted rotation is
finished or undone by the next attempt or by the engine's periodic work; the engine is
never left without a working key. The user may hold at most two keys: delete any key
the engine does not use before rotating.
`

func configAWSPaths(d *Deps) []*framework.Path {
	h := &configAWSHandler{deps: d}
	return []*framework.Path{
		{
			Pattern: "config/aws",
			Fields: map[string]*framework.FieldSchema{
				"access_key": {Type: framework.TypeString, Description: "Access key id of the root IAM user."},
				"secret_key": {Type: framework.TypeString, Description: "Secret access key (write-only).",
					DisplayAttrs: &framework.DisplayAttributes{Sensitive: true}},
				"region":                {Type: framework.TypeString, Description: "AWS region (default us-east-1)."},
				"sts_endpoint":          {Type: framework.TypeString, Description: "STS endpoint override."},
				"iam_endpoint":          {Type: framework.TypeString, Description: "IAM endpoint override."},
				"cloudtrail_endpoint":   {Type: framework.TypeString, Description: "CloudTrail endpoint override."},
				"s3_endpoint":           {Type: framework.TypeString, Description: "S3 endpoint override."},
				"max_retries":           {Type: framework.TypeInt, Description: "Retries of throttled or failing calls (-1: SDK default)."},
				"web_identity_role_arn": {Type: framework.TypeString, Description: "Role assumed with the engine's own web identity token (secretless)."},
				"web_identity_audience": {Type: framework.TypeString, Description: "Audience of that token (default sts.amazonaws.com)."},
			},
			ExistenceCheck: h.exists,
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ReadOperation:   &framework.PathOperation{Callback: h.read, Summary: "Read the AWS configuration (without the secret key)."},
				logical.CreateOperation: forwardedOp(h.write, "Configure AWS root access."),
				logical.UpdateOperation: forwardedOp(h.write, "Update the AWS configuration; fields not sent keep their values."),
				logical.DeleteOperation: forwardedOp(h.delete, "Delete the AWS configuration."),
			},
			HelpSynopsis:    configAWSHelpSyn,
			HelpDescription: configAWSHelpDesc,
		},
		{
			Pattern: "config/aws/rotate-root",
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.UpdateOperation: forwardedOp(h.rotate, "Rotate the static AWS root key."),
			},
			HelpSynopsis:    configAWSRotateHelpSyn,
			HelpDescription: configAWSRotateHelpDesc,
		},
	}
}

type configAWSHandler struct{ deps *Deps }

func (h *configAWSHandler) exists(ctx context.Context, req *logical.Request, _ *framework.FieldData) (bool, error) {
	_, found, err := aws.LoadConfig(ctx, req.Storage)
	return found, err
}

func (h *configAWSHandler) read(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	cfg, found, err := aws.LoadConfig(ctx, req.Storage)
	if err != nil || !found {
		return nil, err
	}
	pending, err := aws.RotationPending(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	audience := cfg.WebIdentityAudience
	if cfg.UsesWebIdentity() && audience == "" {
		audience = aws.DefaultWebIdentityAudience
	}
	return &logical.Response{Data: map[string]any{
		"access_key":            cfg.AccessKey,
		"secret_key_set":        cfg.SecretKey != "",
		"region":                cfg.Region,
		"sts_endpoint":          cfg.STSEndpoint,
		"iam_endpoint":          cfg.IAMEndpoint,
		"cloudtrail_endpoint":   cfg.CloudTrailEndpoint,
		"s3_endpoint":           cfg.S3Endpoint,
		"max_retries":           cfg.MaxRetries,
		"web_identity_role_arn": cfg.WebIdentityRoleARN,
		"web_identity_audience": audience,
		"rotation_pending":      pending,
	}}, nil
}

func (h *configAWSHandler) write(ctx context.Context, req *logical.Request, data *framework.FieldData) (*logical.Response, error) {
	return updateRootConfig[aws.Config, *aws.Provider](ctx, h.deps, aws.Name, req.Storage, func(cfg *aws.Config) error {
		oldKey := cfg.AccessKey
		setStringFields(data, map[string]*string{
			"access_key": &cfg.AccessKey, "region": &cfg.Region, "sts_endpoint": &cfg.STSEndpoint,
			"iam_endpoint": &cfg.IAMEndpoint, "cloudtrail_endpoint": &cfg.CloudTrailEndpoint,
			"s3_endpoint": &cfg.S3Endpoint, "web_identity_role_arn": &cfg.WebIdentityRoleARN,
			"web_identity_audience": &cfg.WebIdentityAudience,
		})
		if cfg.Region == "" {
			cfg.Region = aws.DefaultRegion
		}
		secret, secretSent := data.GetOk("secret_key")
		if secretSent {
			cfg.SecretKey = secret.(string)
		}
		if cfg.AccessKey != oldKey && !secretSent && cfg.AccessKey != "" {
			return &providers.FieldError{Field: "secret_key", Reason: "is required when access_key changes"}
		}
		if cfg.AccessKey == "" && !secretSent {
			cfg.SecretKey = "" // clearing the key clears its secret
		}
		if v, ok := data.GetOk("max_retries"); ok {
			cfg.MaxRetries = v.(int)
		}
		return nil
	})
}

func (h *configAWSHandler) delete(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	return removeRootConfig[aws.Config, *aws.Provider](ctx, h.deps, aws.Name, req.Storage)
}

func (h *configAWSHandler) rotate(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	p, err := cloudProvider[*aws.Provider](h.deps, aws.Name)
	if err != nil {
		return nil, err
	}
	res, err := p.RotateRoot(ctx, req.Storage)
	if err != nil {
		return errorResponse(err)
	}
	return withWarnings(map[string]any{"access_key": res.AccessKey}, res.Warnings), nil
}
