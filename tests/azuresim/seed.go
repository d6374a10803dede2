package azuresim

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// Seed is the JSON form of Options for cmd/azuresim -seed.
type Seed struct {
	TenantID                   string            `json:"tenant_id,omitempty"`
	SubscriptionID             string            `json:"subscription_id,omitempty"`
	RootClientID               string            `json:"root_client_id,omitempty"`
	RootClientSecret           string            `json:"root_client_secret,omitempty"`
	StorageAccounts            []StorageAccount  `json:"storage_accounts,omitempty"`
	KeyVaults                  []KeyVault        `json:"key_vaults,omitempty"`
	ReplicationDelay           string            `json:"replication_delay,omitempty"`
	StrictReplication          bool              `json:"strict_replication,omitempty"`
	CredentialPropagationDelay string            `json:"credential_propagation_delay,omitempty"`
	AssignmentPropagationDelay string            `json:"assignment_propagation_delay,omitempty"`
	TokenLifetime              string            `json:"token_lifetime,omitempty"`
	AudienceAliases            map[string]string `json:"audience_aliases,omitempty"`
}

// Options converts a Seed.
func (sd Seed) Options() (Options, error) {
	o := Options{TenantID: sd.TenantID, SubscriptionID: sd.SubscriptionID, RootClientID: sd.RootClientID,
		RootClientSecret: sd.RootClientSecret, StorageAccounts: sd.StorageAccounts, KeyVaults: sd.KeyVaults,
		StrictReplication: sd.StrictReplication, AudienceAliases: sd.AudienceAliases}
	for _, x := range []struct {
		v   string
		dst *time.Duration
	}{{sd.ReplicationDelay, &o.ReplicationDelay}, {sd.CredentialPropagationDelay, &o.CredentialPropagationDelay},
		{sd.AssignmentPropagationDelay, &o.AssignmentPropagationDelay}, {sd.TokenLifetime, &o.TokenLifetime}} {
		if x.v == "" {
			continue
		}
		d, err := time.ParseDuration(x.v)
		if err != nil {
			return o, fmt.Errorf("seed: %w", err)
		}
		*x.dst = d
	}
	return o, nil
}

// LoadSeed reads a Seed JSON file.
func LoadSeed(path string) (Options, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Options{}, err
	}
	var sd Seed
	if err := json.Unmarshal(b, &sd); err != nil {
		return Options{}, fmt.Errorf("seed %s: %w", path, err)
	}
	return sd.Options()
}
