package token_test

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers/conformance"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers/token"
)

func TestConformance(t *testing.T) {
	sample := providers.IssueRequest{
		CredentialID: "cred-conformance",
		Role: providers.RoleInfo{
			Name:           "orders-reader",
			CredentialType: "jwt",
			Actions:        []string{"read", "svc:ListOrders"},
			Destinations:   []string{"https://orders.example.com/v1/*", "svc://orders/*"},
			Settings: map[string]any{
				"audience_mode": "hosts",
				"extra_claims":  map[string]any{"team": "fulfilment"},
			},
		},
		Subject:      "entity-5678",
		Task:         "reconcile-orders",
		Destinations: []string{"https://orders.example.com/v1/orders"},
		Actions:      []string{"read"},
		Sensitivity:  "internal",
		TTL:          10 * time.Minute,
	}
	for _, alg := range []string{token.AlgES256, token.AlgEdDSA, token.AlgRS256} {
		t.Run(alg, func(t *testing.T) {
			conformance.Run(t, func(t *testing.T) (providers.Provider, logical.Storage) {
				s := &logical.InmemStorage{}
				cfg := token.DefaultConfig()
				cfg.Issuer = "https://vault.example.com/v1/nhi"
				cfg.Algorithm = alg
				if err := token.SaveConfig(context.Background(), s, cfg); err != nil {
					t.Fatal(err)
				}
				return token.New(nil), s
			}, sample)
		})
	}
}
