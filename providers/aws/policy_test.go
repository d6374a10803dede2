package aws

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

const guardsJSON = `{"Effect":"Deny","Action":"s3:PutObject","Resource":"*","Condition":{"Null":{"s3:x-amz-server-side-encryption-customer-algorithm":"false"}}},` +
	`{"Effect":"Deny","Action":["iam:*","sts:*","organizations:*","lambda:Create*","lambda:Update*","lambda:Add*","s3:PutBucketPolicy","s3:DeleteBucketPolicy","s3:PutLifecycleConfiguration"],"Resource":"*"}`

func wrapDoc(allows string) string {
	if allows != "" {
		allows += ","
	}
	return `{"Version":"2012-10-17","Statement":[` + allows + guardsJSON + `]}`
}

func TestCompileSessionPolicyExact(t *testing.T) {
	cases := []struct {
		name string
		in   PolicyInput
		want string
	}{
		{
			name: "s3 prefix read write list",
			in:   PolicyInput{Destinations: []string{"s3://analytics-raw/2026/12/*"}, Actions: []string{"read", "write", "list"}},
			want: wrapDoc(`{"Effect":"Allow","Action":["s3:AbortMultipartUpload","s3:GetObject","s3:GetObjectVersion","s3:ListMultipartUploadParts","s3:PutObject"],"Resource":"arn:aws:s3:::analytics-raw/2026/12/*"},` +
				`{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::analytics-raw","Condition":{"StringLike":{"s3:prefix":"2026/12/*"}}}`),
		},
		{
			name: "whole bucket list has no prefix condition",
			in:   PolicyInput{Destinations: []string{"s3://a/*"}, Actions: []string{"list", "delete"}},
			want: wrapDoc(`{"Effect":"Allow","Action":["s3:DeleteObject","s3:DeleteObjectVersion"],"Resource":"arn:aws:s3:::a/*"},` +
				`{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::a"}`),
		},
		{
			name: "bucket alone with list",
			in:   PolicyInput{Destinations: []string{"s3://a"}, Actions: []string{"list"}},
			want: wrapDoc(`{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::a"}`),
		},
		{
			name: "concrete object",
			in:   PolicyInput{Destinations: []string{"s3://a/reports/q4.csv"}, Actions: []string{"read", "list"}},
			want: wrapDoc(`{"Effect":"Allow","Action":["s3:GetObject","s3:GetObjectVersion"],"Resource":"arn:aws:s3:::a/reports/q4.csv"},` +
				`{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::a","Condition":{"StringLike":{"s3:prefix":"reports/q4.csv"}}}`),
		},
		{
			name: "two prefixes one bucket merge",
			in:   PolicyInput{Destinations: []string{"s3://a/x/*", "s3://a/y/*"}, Actions: []string{"read", "list"}},
			want: wrapDoc(`{"Effect":"Allow","Action":["s3:GetObject","s3:GetObjectVersion"],"Resource":["arn:aws:s3:::a/x/*","arn:aws:s3:::a/y/*"]},` +
				`{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::a","Condition":{"StringLike":{"s3:prefix":["x/*","y/*"]}}}`),
		},
		{
			name: "two buckets keep separate prefix conditions",
			in:   PolicyInput{Destinations: []string{"s3://a/x/*", "s3://b/y/*"}, Actions: []string{"list"}},
			want: wrapDoc(`{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::a","Condition":{"StringLike":{"s3:prefix":"x/*"}}},` +
				`{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringLike":{"s3:prefix":"y/*"}}}`),
		},
		{
			name: "native s3 actions: object and bucket level",
			in:   PolicyInput{Destinations: []string{"s3://a/p/*"}, Actions: []string{"s3:GetObject", "s3:GetBucketLocation", "s3:ListBucketVersions"}},
			want: wrapDoc(`{"Effect":"Allow","Action":"s3:GetBucketLocation","Resource":"arn:aws:s3:::a"},` +
				`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::a/p/*"},` +
				`{"Effect":"Allow","Action":"s3:ListBucketVersions","Resource":"arn:aws:s3:::a","Condition":{"StringLike":{"s3:prefix":"p/*"}}}`),
		},
		{
			name: "wildcard native action covering listing",
			in:   PolicyInput{Destinations: []string{"s3://a/p/*"}, Actions: []string{"s3:*"}},
			want: wrapDoc(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::a/p/*"},` +
				`{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::a","Condition":{"StringLike":{"s3:prefix":"p/*"}}}`),
		},
		{
			name: "other ARNs take their service's actions; region wildcard allowed",
			in: PolicyInput{Destinations: []string{"s3://a/p/*", "arn:aws:sqs:*:123456789012:jobs"},
				Actions: []string{"read", "sqs:SendMessage"}},
			want: wrapDoc(`{"Effect":"Allow","Action":["s3:GetObject","s3:GetObjectVersion"],"Resource":"arn:aws:s3:::a/p/*"},` +
				`{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:*:123456789012:jobs"}`),
		},
		{
			name: "s3 ARN destination is treated like s3://",
			in:   PolicyInput{Destinations: []string{"arn:aws:s3:::a/p/*"}, Actions: []string{"list"}},
			want: wrapDoc(`{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::a","Condition":{"StringLike":{"s3:prefix":"p/*"}}}`),
		},
		{
			name: "partition from region",
			in:   PolicyInput{Partition: "aws-cn", Destinations: []string{"s3://a/p/*"}, Actions: []string{"read"}},
			want: wrapDoc(`{"Effect":"Allow","Action":["s3:GetObject","s3:GetObjectVersion"],"Resource":"arn:aws-cn:s3:::a/p/*"}`),
		},
		{
			name: "policy variables and wildcards in keys are escaped",
			in:   PolicyInput{Destinations: []string{"s3://a/cost$/x%2Ay/my%20dir/*"}, Actions: []string{"read"}},
			want: wrapDoc(`{"Effect":"Allow","Action":["s3:GetObject","s3:GetObjectVersion"],"Resource":"arn:aws:s3:::a/cost${$}/x${*}y/my dir/*"}`),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CompileSessionPolicy(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
			if !json.Valid([]byte(got)) {
				t.Error("invalid JSON")
			}
		})
	}
}

func TestCompileSessionPolicyGuards(t *testing.T) {
	// Naming a guarded action explicitly lifts that guard only.
	got, err := CompileSessionPolicy(PolicyInput{
		Destinations: []string{"arn:aws:iam::123456789012:role/app/*"}, Actions: []string{"iam:PassRole"}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, `"iam:*"`) || !strings.Contains(got, `"sts:*"`) || !strings.Contains(got, sseCKey) {
		t.Errorf("iam:PassRole request: %s", got)
	}
	// A wildcard is not an explicit name: s3:* keeps the bucket-policy guards.
	got, err = CompileSessionPolicy(PolicyInput{Destinations: []string{"s3://a/*"}, Actions: []string{"s3:*"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutLifecycleConfiguration"} {
		if !strings.Contains(got, `"`+g+`"`) {
			t.Errorf("s3:* lifted guard %s: %s", g, got)
		}
	}
	// Explicit bucket-level action lifts its guard.
	got, err = CompileSessionPolicy(PolicyInput{Destinations: []string{"s3://a/*"}, Actions: []string{"s3:PutLifecycleConfiguration"}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, `"Deny","Action":["iam:*","sts:*","organizations:*","lambda:Create*","lambda:Update*","lambda:Add*","s3:PutBucketPolicy","s3:DeleteBucketPolicy","s3:PutLifecycleConfiguration"]`) {
		t.Errorf("explicit s3:PutLifecycleConfiguration kept its guard: %s", got)
	}
	// lambda:CreateFunction lies inside lambda:Create*.
	got, err = CompileSessionPolicy(PolicyInput{Destinations: []string{"arn:aws:lambda:us-east-1:123456789012:function:f"}, Actions: []string{"lambda:CreateFunction"}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, `"lambda:Create*"`) || !strings.Contains(got, `"lambda:Update*"`) {
		t.Errorf("lambda:CreateFunction request: %s", got)
	}
}

func TestCompileSessionPolicySourceIP(t *testing.T) {
	for addr, want := range map[string]string{
		"203.0.113.9":        "203.0.113.9/32",
		"203.0.113.9:5555":   "203.0.113.9/32",
		"::ffff:203.0.113.9": "203.0.113.9/32",
		"2001:db8::1":        "2001:db8::1/128",
		"[2001:db8::1]:8200": "2001:db8::1/128",
	} {
		got, err := CompileSessionPolicy(PolicyInput{Destinations: []string{"s3://a/*"}, Actions: []string{"read"}, SourceIP: addr})
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		if !strings.Contains(got, `{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"`+want+`"}}}`) {
			t.Errorf("%s: %s", addr, got)
		}
	}
	_, err := CompileSessionPolicy(PolicyInput{Destinations: []string{"s3://a/*"}, Actions: []string{"read"}, SourceIP: "nope"})
	assertField(t, err, "bind_source_ip")
}

func assertField(t *testing.T, err error, field string) {
	t.Helper()
	var fe *providers.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v (%T), want *providers.FieldError on %q", err, err, field)
	}
	if fe.Field != field {
		t.Fatalf("FieldError.Field = %q (%s), want %q", fe.Field, fe.Reason, field)
	}
}

func TestCompileSessionPolicyRefusals(t *testing.T) {
	cases := []struct {
		name  string
		dests []string
		acts  []string
		field string
	}{
		{"wildcard in a middle segment", []string{"s3://a/*/logs/*"}, []string{"read"}, "destinations"},
		{"wildcard inside the last segment", []string{"s3://a/logs/2026-*"}, []string{"read"}, "destinations"},
		{"wildcard inside a segment", []string{"s3://a/lo*gs/x"}, []string{"read"}, "destinations"},
		{"wildcard in the bucket", []string{"s3://data-*/x/*"}, []string{"read"}, "destinations"},
		{"wildcard in an s3 ARN key", []string{"arn:aws:s3:::a/b*/c"}, []string{"read"}, "destinations"},
		{"wildcard in an ARN resource", []string{"arn:aws:dynamodb:us-east-1:123456789012:table/t*"}, []string{"dynamodb:GetItem"}, "destinations"},
		{"non-AWS destination", []string{"https://example.com/*"}, []string{"read"}, "destinations"},
		{"azure destination", []string{"azure://acct/c/*"}, []string{"read"}, "destinations"},
		{"non-AWS partition", []string{"arn:gcp:s3:::a/*"}, []string{"read"}, "destinations"},
		{"verb on a non-S3 ARN", []string{"arn:aws:sqs:us-east-1:123456789012:q"}, []string{"read"}, "destinations"},
		{"object verb on a bucket", []string{"s3://a"}, []string{"read"}, "actions"},
		{"object action on a bucket", []string{"s3://a"}, []string{"s3:GetObject"}, "actions"},
		{"action applying to nothing", []string{"s3://a/*"}, []string{"read", "sqs:SendMessage"}, "actions"},
		{"malformed action", []string{"s3://a/*"}, []string{"*"}, "actions"},
		{"no destinations", nil, []string{"read"}, "destinations"},
		{"no actions", []string{"s3://a/*"}, nil, "actions"},
		{"character IAM cannot hold", []string{"s3://a/日本/*"}, []string{"read"}, "destinations"},
		{"escaped control character", []string{"s3://a/x%01y/*"}, []string{"read"}, "destinations"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CompileSessionPolicy(PolicyInput{Destinations: tc.dests, Actions: tc.acts})
			if err == nil {
				t.Fatalf("compiled to %s", got)
			}
			assertField(t, err, tc.field)
		})
	}
}

func TestCompileSessionPolicyTooLarge(t *testing.T) {
	var dests []string
	for i := 0; len(dests) < 40; i++ {
		dests = append(dests, "s3://bucket-with-a-long-name/prefix-number-"+strings.Repeat("x", 20)+string(rune('a'+i%26))+"/y"+strings.Repeat("y", i)+"/*")
	}
	_, err := CompileSessionPolicy(PolicyInput{Destinations: dests, Actions: []string{"read", "write", "list"}})
	assertField(t, err, "destinations")
	if !strings.Contains(err.Error(), "too large for one STS session policy") || !strings.Contains(err.Error(), "2048") {
		t.Errorf("message does not name the limit: %v", err)
	}
}

func TestCompileSessionPolicyDeterministic(t *testing.T) {
	a, err := CompileSessionPolicy(PolicyInput{Destinations: []string{"s3://b/y/*", "s3://a/x/*", "arn:aws:sqs:us-east-1:123456789012:q"}, Actions: []string{"list", "read", "sqs:SendMessage"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := CompileSessionPolicy(PolicyInput{Destinations: []string{"arn:aws:sqs:us-east-1:123456789012:q", "s3://a/x/*", "s3://b/y/*"}, Actions: []string{"sqs:SendMessage", "read", "list"}})
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Errorf("order changed the policy:\n%s\n%s", a, b)
	}
}

// checkPolicy asserts the invariants of every compiled policy.
func checkPolicy(t *testing.T, doc string) {
	t.Helper()
	if n := len([]rune(doc)); n > MaxSessionPolicyChars {
		t.Fatalf("policy has %d characters", n)
	}
	var d struct {
		Version   string
		Statement []struct {
			Effect    string
			Action    any
			Resource  any
			Condition map[string]map[string]any
		}
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		t.Fatalf("invalid JSON %q: %v", doc, err)
	}
	if d.Version != policyVersion {
		t.Fatalf("version %q", d.Version)
	}
	sawSSEC, sawIAMGuard := false, false
	for _, s := range d.Statement {
		if s.Effect == "Deny" {
			if _, ok := s.Condition["Null"][sseCKey]; ok {
				sawSSEC = true
			}
			if strings.Contains(strings.Join(asList(s.Action), ","), "sts:*") {
				sawIAMGuard = true
			}
			continue
		}
		for _, r := range asList(s.Resource) {
			if r == "*" {
				t.Fatalf("Allow on Resource * in %s", doc)
			}
			fields := strings.SplitN(r, ":", 6)
			if len(fields) != 6 {
				t.Fatalf("resource %q is not an ARN", r)
			}
			res := strings.ReplaceAll(fields[5], "${*}", "")
			if res != "*" && strings.Contains(strings.TrimSuffix(res, "/*"), "*") {
				t.Fatalf("resource %q has a wildcard IAM would widen", r)
			}
		}
		for _, a := range asList(s.Action) {
			if a == "*" {
				t.Fatalf("Allow of every action in %s", doc)
			}
		}
	}
	if !sawSSEC || !sawIAMGuard {
		t.Fatalf("guards missing in %s", doc)
	}
}

func asList(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		out := make([]string, 0, len(t))
		for _, x := range t {
			s, _ := x.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}

func FuzzCompileSessionPolicy(f *testing.F) {
	f.Add("s3://a/b/*", "read,write,list", "")
	f.Add("s3://a/*/c/*", "read", "10.0.0.1")
	f.Add("arn:aws:sqs:*:123456789012:q", "sqs:SendMessage", "")
	f.Add("arn:aws:s3:::a/b%2A/*", "s3:Get*", "::1")
	f.Add("s3://a/$x/${aws:username}/*", "delete,list", "")
	f.Add("arn:aws:iam::123456789012:role/x", "iam:PassRole,sts:AssumeRole", "")
	f.Fuzz(func(t *testing.T, dests, actions, ip string) {
		in := PolicyInput{Destinations: strings.Split(dests, " "), Actions: strings.Split(actions, ","), SourceIP: ip}
		doc, err := CompileSessionPolicy(in)
		if err != nil {
			var fe *providers.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a FieldError", err)
			}
			return
		}
		checkPolicy(t, doc)
		if ip != "" && !strings.Contains(doc, "NotIpAddress") {
			t.Fatalf("source IP binding missing: %s", doc)
		}
	})
}

func TestCompiledPoliciesKeepInvariants(t *testing.T) {
	for _, in := range []PolicyInput{
		{Destinations: []string{"s3://a/b/*"}, Actions: []string{"read", "write", "list", "delete"}},
		{Destinations: []string{"s3://a/*", "arn:aws:sqs:us-east-1:123456789012:*"}, Actions: []string{"read", "sqs:*"}},
		{Destinations: []string{"arn:aws:s3:::a/b/c"}, Actions: []string{"s3:GetObject", "s3:ListBucket"}, SourceIP: "1.2.3.4"},
	} {
		doc, err := CompileSessionPolicy(in)
		if err != nil {
			t.Fatal(err)
		}
		checkPolicy(t, doc)
	}
}
