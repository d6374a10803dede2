// Command ceilingplugin is the least an external Vault secrets plugin can do to issue an
// STS credential: one AssumeRole per read and a lease, with no call back into Vault (no
// storage, no identity look-up, no lease limit) and a revoke that does nothing, as the
// builtin aws engine's. The AWS benchmark registers it beside nhi and runs it against the
// same simulator, to measure what the plugin boundary alone costs on the machine: no
// external plugin can issue faster than this one.
//
// It is configured from the environment, which Vault passes to its plugin processes:
// NHI_CEILING_STS_ENDPOINT, NHI_CEILING_ACCESS_KEY, NHI_CEILING_SECRET_KEY,
// NHI_CEILING_ROLE_ARN and NHI_CEILING_POLICY (the session policy).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/hashicorp/vault/sdk/plugin"
)

const secretType = "ceiling_sts"

func main() {
	meta := &api.PluginAPIClientMeta{}
	if err := meta.FlagSet().Parse(os.Args[1:]); err != nil {
		fatal(err)
	}
	if err := plugin.ServeMultiplex(&plugin.ServeOpts{
		BackendFactoryFunc: factory,
		TLSProviderFunc:    api.VaultPluginTLSProvider(meta.GetTLSConfig()),
	}); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	hclog.New(&hclog.LoggerOptions{}).Error("plugin shutting down", "error", err)
	os.Exit(1)
}

type backend struct {
	*framework.Backend
	sts     *sts.Client
	roleARN string
	policy  string
}

func factory(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	b := &backend{
		sts: sts.New(sts.Options{
			Region:       "us-east-1",
			BaseEndpoint: awssdk.String(os.Getenv("NHI_CEILING_STS_ENDPOINT")),
			Credentials: awssdk.NewCredentialsCache(credentials.NewStaticCredentialsProvider(
				os.Getenv("NHI_CEILING_ACCESS_KEY"), os.Getenv("NHI_CEILING_SECRET_KEY"), "")),
		}),
		roleARN: os.Getenv("NHI_CEILING_ROLE_ARN"),
		policy:  os.Getenv("NHI_CEILING_POLICY"),
	}
	b.Backend = &framework.Backend{
		Help:        "Issues STS credentials with nothing but one AssumeRole (benchmark ceiling).",
		BackendType: logical.TypeLogical,
		Paths: []*framework.Path{{
			Pattern: "creds",
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ReadOperation: &framework.PathOperation{Callback: b.issue, Summary: "Issue an STS credential."},
			},
			HelpSynopsis: "Issue an STS credential.",
		}},
		Secrets: []*framework.Secret{{
			Type:   secretType,
			Fields: map[string]*framework.FieldSchema{},
			Revoke: func(context.Context, *logical.Request, *framework.FieldData) (*logical.Response, error) {
				return nil, nil
			},
		}},
	}
	if err := b.Setup(ctx, conf); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *backend) issue(ctx context.Context, _ *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	out, err := b.sts.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn:         awssdk.String(b.roleARN),
		RoleSessionName: awssdk.String("ceiling-" + hex.EncodeToString(id[:])),
		DurationSeconds: awssdk.Int32(900),
		Policy:          awssdk.String(b.policy),
	})
	if err != nil {
		return nil, fmt.Errorf("AssumeRole: %w", err)
	}
	resp := b.Secret(secretType).Response(map[string]any{
		"access_key":    awssdk.ToString(out.Credentials.AccessKeyId),
		"secret_key":    awssdk.ToString(out.Credentials.SecretAccessKey),
		"session_token": awssdk.ToString(out.Credentials.SessionToken),
	}, nil)
	resp.Secret.TTL = 15 * time.Minute
	return resp, nil
}
