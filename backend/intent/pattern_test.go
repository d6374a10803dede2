package intent

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParsePatternCanonical(t *testing.T) {
	tests := []struct {
		in, want, scheme string
		wild             bool
	}{
		{"https://reports.internal/exports/*", "https://reports.internal/exports/*", "https", true},
		{"HTTPS://Reports.Internal/Exports/Q1.csv", "https://reports.internal/Exports/Q1.csv", "https", false},
		{"https://h:443/a", "https://h/a", "https", false},
		{"http://h:80", "http://h", "http", false},
		{"http://h:0080/x", "http://h/x", "http", false},
		{"https://h:8443/a", "https://h:8443/a", "https", false},
		{"https://h:*/a", "https://h:*/a", "https", true},
		{"https://h/", "https://h", "https", false},
		{"https://[::1]:8443/x", "https://[::1]:8443/x", "https", false},
		{"https://[2001:DB8:0::1]/x", "https://[2001:db8::1]/x", "https", false},
		{"https://10.0.0.1/x", "https://10.0.0.1/x", "https", false},
		{"https://*.example.com/api/*", "https://*.example.com/api/*", "https", true},
		{"https://h/a%20b", "https://h/a%20b", "https", false},
		{"svc://Billing/v1/*", "svc://billing/v1/*", "svc", true},
		{"s3://My-Bucket/Key/Path", "s3://my-bucket/Key/Path", "s3", false},
		{"s3://bucket", "s3://bucket", "s3", false},
		{"s3://bucket/*", "s3://bucket/*", "s3", true},
		{"arn:aws:s3:::bucket/prefix/*", "arn:aws:s3:::bucket/prefix/*", "arn", true},
		{"ARN:AWS:IAM::123456789012:role/Path/Name", "arn:aws:iam::123456789012:role/Path/Name", "arn", false},
		{"arn:aws:sns:us-east-1:123456789012:*", "arn:aws:sns:us-east-1:123456789012:*", "arn", true},
		{"arn:aws:lambda:us-east-1:123456789012:function:my-func", "arn:aws:lambda:us-east-1:123456789012:function:my-func", "arn", false},
		{"arn:aws:ec2:*:123456789012:instance/*", "arn:aws:ec2:*:123456789012:instance/*", "arn", true},
		{"arn:aws-us-gov:s3:::b/k", "arn:aws-us-gov:s3:::b/k", "arn", false},
		{"azure://acct/container/dir/*", "azure://acct/container/dir/*", "azure", true},
		{"azure://Acct/Container/Blob", "azure://acct/Container/Blob", "azure", false},
		{"azure-keyvault://Vault/Secrets/DB-Password", "azure-keyvault://vault/secrets/db-password", "azure-keyvault", false},
		{"azure-keyvault://vault/*", "azure-keyvault://vault/*", "azure-keyvault", true},
		{"/subscriptions/ABC-1/resourceGroups/RG/*", "/subscriptions/abc-1/resourcegroups/rg/*", "azure-resource", true},
		{"/SUBSCRIPTIONS/abc", "/subscriptions/abc", "azure-resource", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := ParsePattern(tt.in)
			if err != nil {
				t.Fatalf("ParsePattern(%q): %v", tt.in, err)
			}
			if p.String() != tt.want || p.Scheme() != tt.scheme || p.HasWildcard() != tt.wild {
				t.Errorf("got (%q, %q, wild=%v), want (%q, %q, wild=%v)", p.String(), p.Scheme(), p.HasWildcard(), tt.want, tt.scheme, tt.wild)
			}
			again, err := ParsePattern(p.String())
			if err != nil || again.String() != p.String() {
				t.Errorf("canonical form does not reparse to itself: %q -> %q, %v", p.String(), again.String(), err)
			}
		})
	}
}

func TestParsePatternRejects(t *testing.T) {
	tests := []struct{ in, wantErr string }{
		{"", "is empty"},
		{"https://h/" + strings.Repeat("a", MaxPatternLength), "longer than 1024"},
		{" https://h/a", "whitespace"},
		{"https://h/a b", "whitespace"},
		{"https://h/a\tb", "whitespace"},
		{"https://h/a\x00", "control"},
		{"https://h/a\u200b", "invisible"},
		{"https://h/a\u202eb", "invisible"},
		{"https://h/\xff", "UTF-8"},
		{"https://h/a?x=1", "query"},
		{"https://h/a#frag", "fragment"},
		{"https://h/../b", `".."`},
		{"https://h/a/./b", `"."`},
		{"https://h//b", "empty path segment"},
		{"https://h/a/", "empty path segment"},
		{"https://h/a%2e%2e/b", "percent-encoded"},
		{"https://h/a%2Fb", "percent-encoded"},
		{"https://h/a%5cb", "percent-encoded"},
		{"https://h/a%zz", "malformed percent"},
		{"https://h/a%2", "malformed percent"},
		{`https://h/a\b`, "backslash"},
		{"https://*/x", "* alone"},
		{"https://*:8443/x", "* alone"},
		{"s3://*/x", "* alone"},
		{"https://h/**", "**"},
		{"https://h/a/**/b", "**"},
		{"ftp://h/x", "unknown scheme"},
		{"file:///etc/passwd", "unknown scheme"},
		{"reports.internal/x", "must be a URI"},
		{"https://", "empty host"},
		{"https:///x", "empty host"},
		{"https://h:0/x", "invalid port"},
		{"https://h:99999/x", "invalid port"},
		{"https://h:+80/x", "invalid port"},
		{"https://h:/x", "empty port"},
		{"https://user@h/x", "contains"},
		{"https://a..b/x", "empty label"},
		{"https://h./x", "empty label"},
		{"https://[::1/x", "unterminated"},
		{"https://[1.2.3.4]/x", "invalid IPv6"},
		{"https://[::1]x/y", "invalid host"},
		{"s3://b:80/x", "contains"},
		{"azure-keyvault://v/blobs/x", "object type"},
		{"arn:aws:s3", "arn:partition"},
		{"arn:aws:s3:::", "resource is required"},
		{"arn::s3:::b", "partition is required"},
		{"arn:aws::::b", "service is required"},
		{"arn:aws:s3:::*", "account is fixed"},
		{"arn:aws:sns:us-east-1:*:*", "account is fixed"},
		{"arn:*:s3:::b", "contains"},
		{"arn:aws:*:::b", "contains"},
		{"arn:aws:s3:us_east:1:b", "contains"},
		{"arn:aws:s3:::b//k", "empty path segment"},
		{"/subscriptions/", "subscription id"},
		{"/subscriptions/*/x", "* alone"},
		{"/subscriptions/a_b", "contains"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := ParsePattern(tt.in)
			if err == nil {
				t.Fatalf("ParsePattern(%q) = %q, want error", tt.in, p)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not mention %q", err, tt.wantErr)
			}
			if !p.IsZero() {
				t.Errorf("failed parse returned non-zero pattern %q", p)
			}
		})
	}
}

func TestPatternTextRoundTrip(t *testing.T) {
	type record struct {
		Dests []Pattern `json:"dests"`
	}
	in := record{Dests: []Pattern{mustPattern(t, "s3://b/k/*"), mustPattern(t, "arn:aws:iam::1:role/x")}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"dests":["s3://b/k/*","arn:aws:iam::1:role/x"]}`; string(b) != want {
		t.Fatalf("json = %s, want %s", b, want)
	}
	var out record
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !out.Dests[0].Matches("s3://b/k/file") || out.Dests[1].String() != "arn:aws:iam::1:role/x" {
		t.Errorf("round trip lost meaning: %+v", out)
	}
	if err := json.Unmarshal([]byte(`{"dests":["ftp://x"]}`), &out); err == nil {
		t.Error("unmarshal accepted an invalid pattern")
	}
}

func mustPattern(t testing.TB, s string) Pattern {
	t.Helper()
	p, err := ParsePattern(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
