package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

const testRoleARN = "arn:aws:iam::123456789012:role/etl"

func role(ct string, settings map[string]any) providers.RoleInfo {
	return providers.RoleInfo{Name: "r", CredentialType: ct, Actions: []string{"read", "s3:GetObject", "sqs:Send*"},
		Destinations: []string{"s3://a/b/*", "arn:aws:sqs:*:123456789012:q", "s3://a/*/logs/*"}, Settings: settings}
}

func manyTags(n int) map[string]any {
	m := map[string]any{}
	for i := 0; i < n; i++ {
		m[fmt.Sprintf("k%d", i)] = "v"
	}
	return m
}

func TestValidateRole(t *testing.T) {
	p := New(nil, nil)
	ok := []providers.RoleInfo{
		role("", map[string]any{"role_arn": testRoleARN}),
		role("assumed_role", map[string]any{"role_arn": "arn:aws:iam::123456789012:role/path/to/etl", "max_sts_ttl": 43200,
			"policy_arns": []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}, "session_tags": map[string]string{"team": "data"},
			"external_id": "abc:def/1", "bind_source_ip": true}),
		role("iam_user", map[string]any{"permissions_boundary_arn": "arn:aws:iam::123456789012:policy/b", "session_tags": manyTags(47)}),
		role("assumed_role", map[string]any{"role_arn": "arn:aws-cn:iam::123456789012:role/x", "max_sts_ttl": float64(900)}),
	}
	for i, r := range ok {
		if err := p.ValidateRole(r); err != nil {
			t.Errorf("#%d: %v", i, err)
		}
	}
	bad := []struct {
		r     providers.RoleInfo
		field string
	}{
		{role("federation_token", map[string]any{"role_arn": testRoleARN}), "credential_type"},
		{role("", nil), "role_arn"},
		{role("", map[string]any{"role_arn": "arn:aws:iam::123456789012:user/x"}), "role_arn"},
		{role("", map[string]any{"role_arn": 5}), "role_arn"},
		{role("iam_user", map[string]any{"role_arn": testRoleARN}), "role_arn"},
		{role("", map[string]any{"role_arn": testRoleARN, "max_sts_ttl": 899}), "max_sts_ttl"},
		{role("", map[string]any{"role_arn": testRoleARN, "max_sts_ttl": 43201}), "max_sts_ttl"},
		{role("", map[string]any{"role_arn": testRoleARN, "max_sts_ttl": 1.5}), "max_sts_ttl"},
		{role("", map[string]any{"role_arn": testRoleARN, "policy_arns": strings.Split(strings.Repeat("arn:aws:iam::aws:policy/P,", 11), ",")[:11]}), "policy_arns"},
		{role("", map[string]any{"role_arn": testRoleARN, "policy_arns": []any{"arn:aws:s3:::bucket"}}), "policy_arns"},
		{role("", map[string]any{"role_arn": testRoleARN, "session_tags": manyTags(48)}), "session_tags"},
		{role("", map[string]any{"role_arn": testRoleARN, "session_tags": map[string]any{"aws:foo": "x"}}), "session_tags"},
		{role("", map[string]any{"role_arn": testRoleARN, "session_tags": map[string]any{"nhi:task": "x"}}), "session_tags"},
		{role("", map[string]any{"role_arn": testRoleARN, "session_tags": map[string]any{strings.Repeat("k", 129): "x"}}), "session_tags"},
		{role("", map[string]any{"role_arn": testRoleARN, "session_tags": map[string]any{"k": strings.Repeat("v", 257)}}), "session_tags"},
		{role("", map[string]any{"role_arn": testRoleARN, "session_tags": map[string]any{"k": "a*b"}}), "session_tags"},
		{role("", map[string]any{"role_arn": testRoleARN, "session_tags": map[string]any{"Team": "a", "team": "b"}}), "session_tags"},
		{role("", map[string]any{"role_arn": testRoleARN, "external_id": "x"}), "external_id"},
		{role("", map[string]any{"role_arn": testRoleARN, "external_id": strings.Repeat("x", 1225)}), "external_id"},
		{role("", map[string]any{"role_arn": testRoleARN, "external_id": "has space"}), "external_id"},
		{role("", map[string]any{"role_arn": testRoleARN, "bind_source_ip": "maybe"}), "bind_source_ip"},
		{role("", map[string]any{"role_arn": testRoleARN, "permissions_boundary_arn": "arn:aws:iam::123456789012:policy/b"}), "permissions_boundary_arn"},
		{role("iam_user", map[string]any{"permissions_boundary_arn": "nope"}), "permissions_boundary_arn"},
		{role("iam_user", map[string]any{"external_id": "abcd"}), "external_id"},
		{role("iam_user", map[string]any{"max_sts_ttl": 1800}), "max_sts_ttl"},
	}
	for i, tc := range bad {
		err := p.ValidateRole(tc.r)
		var fe *providers.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("#%d: ValidateRole = %v, want a FieldError on %s", i, err, tc.field)
		}
	}
	// Destinations and actions.
	for _, d := range []string{"https://example.com/*", "azure://a/b/*", "arn:gcp:x:::y"} {
		r := role("", map[string]any{"role_arn": testRoleARN})
		r.Destinations = []string{d}
		var fe *providers.FieldError
		if err := p.ValidateRole(r); !errors.As(err, &fe) || fe.Field != "grants" {
			t.Errorf("destination %s: %v", d, err)
		}
	}
	r := role("", map[string]any{"role_arn": testRoleARN})
	r.Actions = []string{"fly"}
	if err := p.ValidateRole(r); err == nil {
		t.Error("action fly accepted")
	}
}

// Settings stored in a role come back JSON-decoded: the same role must still validate.
func TestSettingsSurviveStorageRoundTrip(t *testing.T) {
	settings := map[string]any{
		"role_arn": testRoleARN, "policy_arns": []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"},
		"session_tags": map[string]string{"team": "data"}, "external_id": "ext-1", "bind_source_ip": true, "max_sts_ttl": 7200,
	}
	b, _ := json.Marshal(settings)
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var roundTrip map[string]any
	if err := dec.Decode(&roundTrip); err != nil {
		t.Fatal(err)
	}
	var plain map[string]any
	_ = json.Unmarshal(b, &plain)
	for _, m := range []map[string]any{settings, roundTrip, plain} {
		rs, err := parseSettings("", m)
		if err != nil {
			t.Fatal(err)
		}
		if rs.maxSTSTTL.Seconds() != 7200 || !rs.bindSourceIP || rs.sessionTags["team"] != "data" || len(rs.policyARNs) != 1 || rs.externalID != "ext-1" {
			t.Errorf("parsed %+v from %#v", rs, m)
		}
	}
	// Key-value pairs as Vault's TypeKVPairs delivers them, and "k=v" lists.
	for _, tags := range []any{map[string]string{"a": "1"}, []any{"a=1"}, `{"a":"1"}`} {
		rs, err := parseSettings("", map[string]any{"role_arn": testRoleARN, "session_tags": tags})
		if err != nil || rs.sessionTags["a"] != "1" {
			t.Errorf("tags %#v: %+v %v", tags, rs.sessionTags, err)
		}
	}
}

func TestSanitizers(t *testing.T) {
	if got := sanitizeIdentifier("vault-token:ci runner/1", 2, 64); got != "vault-token-ci-runner-1" {
		t.Errorf("sanitizeIdentifier = %q", got)
	}
	if got := sanitizeIdentifier("x", 2, 64); got != "x_" {
		t.Errorf("short = %q", got)
	}
	if got := sanitizeIdentifier(strings.Repeat("a", 100), 2, 64); len(got) != 64 {
		t.Errorf("long = %d", len(got))
	}
	if got := sanitizeTagValue("etl*{nightly}"); got != "etl__nightly_" {
		t.Errorf("sanitizeTagValue = %q", got)
	}
	if got := userNameFor("c-abcdefghijklmnopqrstuvwxyz"); got != "nhi-c-abcdefghijklmnopqrstuvwxyz" {
		t.Errorf("userNameFor = %q", got)
	}
}

func TestConfigValidate(t *testing.T) {
	good := DefaultConfig()
	good.AccessKey, good.SecretKey = rootKey, rootSecret
	good.STSEndpoint = "http://127.0.0.1:4566"
	good.IAMEndpoint = "https://iam.amazonaws.com"
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	wi := DefaultConfig()
	wi.WebIdentityRoleARN = testRoleARN
	if err := wi.Validate(); err != nil {
		t.Fatal(err)
	}
	mut := func(f func(*Config)) Config { c := good; f(&c); return c }
	for field, c := range map[string]Config{
		"access_key":            mut(func(c *Config) { c.AccessKey = "short" }),
		"secret_key":            mut(func(c *Config) { c.SecretKey = "" }),
		"region":                mut(func(c *Config) { c.Region = "mars" }),
		"sts_endpoint":          mut(func(c *Config) { c.STSEndpoint = "http://sts.example.com" }),
		"iam_endpoint":          mut(func(c *Config) { c.IAMEndpoint = "ftp://x" }),
		"cloudtrail_endpoint":   mut(func(c *Config) { c.CloudTrailEndpoint = "https://u:p@x" }),
		"s3_endpoint":           mut(func(c *Config) { c.S3Endpoint = "https://x/?a=b" }),
		"max_retries":           mut(func(c *Config) { c.MaxRetries = 11 }),
		"web_identity_role_arn": mut(func(c *Config) { c.WebIdentityRoleARN = testRoleARN }),
		"web_identity_audience": mut(func(c *Config) { c.WebIdentityAudience = "has space" }),
	} {
		err := c.Validate()
		var fe *providers.FieldError
		if !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("%s: %v", field, err)
			continue
		}
		if strings.Contains(err.Error(), rootSecret) {
			t.Errorf("%s: error quotes the secret", field)
		}
	}
	if got := (Config{Region: "cn-north-1"}).Partition(); got != "aws-cn" {
		t.Errorf("partition = %s", got)
	}
}

// badStorage fails writes to one key.
type badStorage struct {
	logical.Storage
	failPut string
}

func (b *badStorage) Put(ctx context.Context, e *logical.StorageEntry) error {
	if e.Key == b.failPut {
		return errors.New("storage unavailable")
	}
	return b.Storage.Put(ctx, e)
}
