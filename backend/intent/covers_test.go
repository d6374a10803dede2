package intent

import "testing"

func TestCovers(t *testing.T) {
	tests := []struct {
		p, q string
		want bool
	}{
		// The brief's headline cases: a narrower pattern never covers a wider one.
		{"https://reports.internal/*", "https://reports.internal/exports/*", true},
		{"https://reports.internal/exports/*", "https://reports.internal/*", false},
		{"s3://a/b/*", "s3://a/b/x", true},
		{"s3://a/b/*", "s3://a/b/x/y/z", true},
		{"s3://a/b/*", "s3://a/bc/x", false},
		{"s3://a/b/*", "s3://a/b", false},
		{"s3://a/b/*", "s3://a/b/*", true},
		{"s3://a/b/*", "s3://a/b/c/*", true},
		{"s3://a/b/*", "s3://a/b/x*", true},
		{"s3://a/b/*", "s3://a/b/*/c", true},
		{"s3://a/b/c/*", "s3://a/b/*", false},
		{"s3://a/*", "s3://b/x", false},
		// A '*' inside a segment stays in that segment.
		{"s3://a/b*", "s3://a/bc", true},
		{"s3://a/b*", "s3://a/b", true},
		{"s3://a/b*", "s3://a/bc/x", false},
		{"s3://a/b*", "s3://a/b*/x", false},
		{"s3://a/b*", "s3://a/b/*", false},
		{"s3://a/*/x", "s3://a/y/x", true},
		{"s3://a/*/x", "s3://a/y*/x", true},
		{"s3://a/*/x", "s3://a/y/z/x", false},
		{"s3://a/*/x", "s3://a/*", false},
		{"s3://a/*/x", "s3://a/y/x/z", false},
		// A '*' in q is only absorbed by a '*' in p.
		{"s3://a/b-x", "s3://a/b-*", false},
		{"s3://a/*z", "s3://a/*", false},
		{"s3://a/x*y*z", "s3://a/x1y2z", true},
		{"s3://a/x*y*z", "s3://a/xyz", true},
		{"s3://a/x*y*z", "s3://a/x*y*z", true},
		{"s3://a/x*y*z", "s3://a/xa*y*bz", true},
		{"s3://a/x*y*z", "s3://a/x*z", false},
		{"s3://a/*y*", "s3://a/*", false},
		{"s3://a/a*", "s3://a/*a", false},
		// Hosts: '*' stays within one DNS label and never reaches the port.
		{"https://*.example.com", "https://a.example.com", true},
		{"https://*.example.com", "https://a.b.example.com", false},
		{"https://*.example.com", "https://example.com", false},
		{"https://*.example.com", "https://a.example.com:8443", false},
		{"https://*.example.com/*", "https://x*.example.com/a", true},
		{"https://*.example.com/*", "https://*.*.example.com/a", false},
		{"https://api*.example.com/x", "https://api-1.example.com/x", true},
		{"https://h:*/x", "https://h:8443/x", true},
		{"https://h:*/x", "https://h/x", false},
		{"https://h/x", "https://h:443/x", true},
		// Schemes never mix.
		{"https://a/x", "http://a/x", false},
		{"s3://b/k", "arn:aws:s3:::b/k", false},
		// ARNs.
		{"arn:aws:s3:::b/*", "arn:aws:s3:::b/k", true},
		{"arn:aws:s3:::b/*", "arn:aws:s3:::b", false},
		{"arn:aws:s3:::b/*", "arn:aws:s3:::bb/k", false},
		{"arn:aws:s3:::b*", "arn:aws:s3:::b/k", false},
		{"arn:aws:ec2:*:123:instance/*", "arn:aws:ec2:us-east-1:123:instance/i-1", true},
		{"arn:aws:ec2:*:123:instance/*", "arn:aws:ec2::123:instance/i-1", true},
		{"arn:aws:ec2:us-*:123:instance/*", "arn:aws:ec2:eu-west-1:123:instance/i-1", false},
		{"arn:aws:iam::123:role/*", "arn:aws:iam::123:role/path/name", true},
		{"arn:aws:iam::123:role/*", "arn:aws:iam::124:role/name", false},
		{"arn:aws:sns:us-east-1:123:*", "arn:aws:sns:us-east-1:123:topic", true},
		{"arn:aws:sns:us-east-1:123:*", "arn:aws:sns:us-east-1:123:*", true},
		{"arn:aws:lambda:us-east-1:1:function:*", "arn:aws:lambda:us-east-1:1:function:f", true},
		{"arn:aws:lambda:us-east-1:1:function:*", "arn:aws:lambda:us-east-1:1:function:f/x", false},
		{"arn:aws:s3:::b/k", "arn:aws-cn:s3:::b/k", false},
		// Azure.
		{"azure://acct/c/*", "azure://acct/c/dir/blob", true},
		{"azure://acct/c/*", "azure://acct/c", false},
		{"azure-keyvault://v/secrets/db-*", "azure-keyvault://V/Secrets/DB-password", true},
		{"/subscriptions/s/resourceGroups/RG/*", "/subscriptions/S/resourcegroups/rg/providers/Microsoft.Storage/storageAccounts/x", true},
		{"/subscriptions/s/resourceGroups/rg/*", "/subscriptions/s/resourceGroups/rg2/x", false},
	}
	for _, tt := range tests {
		t.Run(tt.p+" ⊇ "+tt.q, func(t *testing.T) {
			p, q := mustPattern(t, tt.p), mustPattern(t, tt.q)
			if got := p.Covers(q); got != tt.want {
				t.Errorf("Covers = %v, want %v", got, tt.want)
			}
			if !q.HasWildcard() {
				if got := p.Matches(tt.q); got != tt.want {
					t.Errorf("Matches = %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestCoversIsReflexiveAndTransitive(t *testing.T) {
	raw := []string{
		"https://reports.internal/*", "https://reports.internal/exports/*", "https://reports.internal/exports/q1.csv",
		"https://reports.internal/exports/q*", "https://reports.internal/*/q1.csv", "https://*.internal/*",
		"s3://a/*", "s3://a/b/*", "s3://a/b*", "s3://a/b/c", "s3://a/b/c*", "s3://a/*/c", "s3://a/b/*/d",
		"arn:aws:s3:::a/*", "arn:aws:s3:::a/b/*", "arn:aws:s3:::a/b/c", "arn:aws:ec2:*:1:instance/*",
		"arn:aws:ec2:us-*:1:instance/*", "arn:aws:ec2:us-east-1:1:instance/i-*", "arn:aws:ec2:us-east-1:1:instance/i-1",
	}
	ps := make([]Pattern, len(raw))
	for i, s := range raw {
		ps[i] = mustPattern(t, s)
		if !ps[i].Covers(ps[i]) {
			t.Errorf("%s does not cover itself", s)
		}
	}
	for _, a := range ps {
		for _, b := range ps {
			if !a.Covers(b) {
				continue
			}
			for _, c := range ps {
				if b.Covers(c) && !a.Covers(c) {
					t.Errorf("%s ⊇ %s ⊇ %s but not %s ⊇ %s", a, b, c, a, c)
				}
			}
		}
	}
}

func TestMatchesRefusesNonConcreteOrMalformed(t *testing.T) {
	p := mustPattern(t, "s3://a/*")
	for _, r := range []string{"s3://a/*", "s3://a/b*", "s3://a/../x", "s3://a/x?y", "", "s3://a/x/", "S3://A/x/%2e%2e"} {
		if p.Matches(r) {
			t.Errorf("Matches(%q) = true, want false", r)
		}
	}
	if !p.Matches("S3://A/x") {
		t.Error("Matches should normalise scheme and host of the resource")
	}
	var zero Pattern
	if zero.Matches("s3://a/x") || zero.Covers(p) || p.Covers(zero) {
		t.Error("the zero pattern must match and cover nothing")
	}
}
