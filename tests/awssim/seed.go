package awssim

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// Seed is the JSON seed file format of the standalone simulator (cmd/awssim):
//
//	{
//	  "account_id": "123456789012",
//	  "region": "us-east-1",
//	  "root_user": "nhi-root",
//	  "root_access_key_id": "AKIA...", "root_secret_access_key": "...",
//	  "users":    [{"name": "svc", "inline_policies": {"p": "{...}"}, "keys": [{}]}],
//	  "roles":    [{"name": "etl", "trust_policy": "{...}", "inline_policies": {...}, "max_session_duration": 43200}],
//	  "policies": [{"name": "boundary", "path": "/nhi/", "document": "{...}"}],
//	  "buckets":  ["analytics-raw"],
//	  "oidc_providers": [{"issuer_url": "https://...", "audiences": ["sts.amazonaws.com"], "jwks_url": "https://.../jwks"}],
//	  "key_propagation_delay": "2s",
//	  "trust_source_ip_header": true,
//	  "lookup_management_events_only": false
//	}
type Seed struct {
	AccountID                  string         `json:"account_id,omitempty"`
	Region                     string         `json:"region,omitempty"`
	RootUser                   string         `json:"root_user,omitempty"`
	RootAccessKeyID            string         `json:"root_access_key_id,omitempty"`
	RootSecretAccessKey        string         `json:"root_secret_access_key,omitempty"`
	Users                      []SeedUser     `json:"users,omitempty"`
	Roles                      []SeedRole     `json:"roles,omitempty"`
	Policies                   []SeedPolicy   `json:"policies,omitempty"`
	Buckets                    []string       `json:"buckets,omitempty"`
	OIDCProviders              []OIDCProvider `json:"oidc_providers,omitempty"`
	KeyPropagationDelay        string         `json:"key_propagation_delay,omitempty"`
	TrustSourceIPHeader        bool           `json:"trust_source_ip_header,omitempty"`
	LookupManagementEventsOnly bool           `json:"lookup_management_events_only,omitempty"`
}

// LoadSeed reads a seed file into Options.
func LoadSeed(path string) (Options, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Options{}, err
	}
	var sd Seed
	if err := json.Unmarshal(b, &sd); err != nil {
		return Options{}, fmt.Errorf("%s: %w", path, err)
	}
	return sd.Options()
}

// Options converts a seed into simulator options.
func (sd Seed) Options() (Options, error) {
	o := Options{
		AccountID: sd.AccountID, Region: sd.Region, RootUserName: sd.RootUser,
		RootAccessKeyID: sd.RootAccessKeyID, RootSecretAccessKey: sd.RootSecretAccessKey,
		Users: sd.Users, Roles: sd.Roles, Policies: sd.Policies, Buckets: sd.Buckets, OIDCProviders: sd.OIDCProviders,
		TrustSourceIPHeader: sd.TrustSourceIPHeader, LookupManagementEventsOnly: sd.LookupManagementEventsOnly,
	}
	if sd.KeyPropagationDelay != "" {
		d, err := time.ParseDuration(sd.KeyPropagationDelay)
		if err != nil {
			return o, fmt.Errorf("key_propagation_delay: %w", err)
		}
		o.KeyPropagationDelay = d
	}
	return o, nil
}

// Banner is what cmd/awssim prints on stdout once listening.
type Banner struct {
	URL                 string           `json:"url"`
	AccountID           string           `json:"account_id"`
	Region              string           `json:"region"`
	RootAccessKeyID     string           `json:"root_access_key_id"`
	RootSecretAccessKey string           `json:"root_secret_access_key"`
	Users               []map[string]any `json:"users,omitempty"`
}

// Banner describes a started simulator: URL, account, root keys and seeded users' keys.
func (s *Sim) Banner() Banner {
	id, secret := s.RootCredentials()
	b := Banner{URL: s.URL(), AccountID: s.opts.AccountID, Region: s.opts.Region, RootAccessKeyID: id, RootSecretAccessKey: secret}
	for _, u := range s.opts.Users {
		b.Users = append(b.Users, s.userInfo(u.Name))
	}
	return b
}
