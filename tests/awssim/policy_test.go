package awssim

import (
	"testing"
)

func mustPolicy(t *testing.T, doc string) *Policy {
	t.Helper()
	p, err := ParsePolicy(doc)
	if err != nil {
		t.Fatalf("parse %s: %v", doc, err)
	}
	return p
}

func TestParsePolicyErrors(t *testing.T) {
	bad := []string{
		``,
		`{}`,
		`{"Version":"2012-10-17"}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"s3:*","Resource":"*"}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Resource":"*"}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"GetObject","Resource":"*"}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringFoo":{"a":"b"}}}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Bogus":1}]}`,
		`{"Version":"2013-01-01","Statement":[]}`,
	}
	for _, d := range bad {
		if _, err := ParsePolicy(d); err == nil {
			t.Errorf("ParsePolicy(%s) accepted", d)
		}
	}
	// single statement object, string/list forms, numbers and bools in conditions
	mustPolicy(t, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":10},"Bool":{"aws:SecureTransport":false}}}}`)
}

func TestGlobAndArnMatch(t *testing.T) {
	cases := []struct {
		pat, s string
		want   bool
	}{
		{"*", "", true},
		{"a*", "a/b/c", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"a*c*e", "abcde", true},
		{"a*c*e", "abcdf", false},
		{"*b*", "abc", true},
	}
	for _, c := range cases {
		if got := globMatch(c.pat, c.s); got != c.want {
			t.Errorf("globMatch(%q,%q)=%v", c.pat, c.s, got)
		}
	}
	arns := []struct {
		pat, arn string
		want     bool
	}{
		{"arn:aws:s3:::a/b/*", "arn:aws:s3:::a/b/c/d.txt", true},
		{"arn:aws:s3:::a/b/*", "arn:aws:s3:::a/c/x", false},
		{"arn:aws:s3:::a/b/*", "arn:aws:s3:::a", false},
		{"arn:aws:s3:::*", "arn:aws:s3:::anything/x", true},
		{"arn:aws:iam::*:role/nhi-*", "arn:aws:iam::123456789012:role/nhi-etl", true},
		{"arn:aws:iam::*:role/nhi-*", "arn:aws:iam::123456789012:user/nhi-etl", false},
		{"arn:aws:lambda:*:*:function:*", "arn:aws:lambda:us-east-1:123456789012:function:f", true},
		{"arn:aws:s3:::a?b", "arn:aws:s3:::a/b", true}, // ? crosses "/" in the resource part
		{"*", "arn:aws:s3:::x", true},
	}
	for _, c := range arns {
		if got := arnMatch(c.pat, c.arn); got != c.want {
			t.Errorf("arnMatch(%q,%q)=%v", c.pat, c.arn, got)
		}
	}
}

const allowS3 = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`

func TestAuthorizeCombination(t *testing.T) {
	identity := mustPolicy(t, allowS3)
	denyPut := mustPolicy(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:PutObject","Resource":"*"}]}`)
	sessAB := mustPolicy(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::a/b/*"}]}`)
	sessList := mustPolicy(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::a"}]}`)
	boundaryGet := mustPolicy(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]}`)
	get := func(res string) *RequestContext { return &RequestContext{Action: "s3:GetObject", Resource: res} }
	put := func(res string) *RequestContext { return &RequestContext{Action: "s3:PutObject", Resource: res} }
	cases := []struct {
		name string
		in   AuthzInput
		rc   *RequestContext
		want bool
	}{
		{"identity allows", AuthzInput{Identity: []*Policy{identity}}, get("arn:aws:s3:::x/y"), true},
		{"no identity policy", AuthzInput{}, get("arn:aws:s3:::x/y"), false},
		{"explicit deny wins over allow", AuthzInput{Identity: []*Policy{identity, denyPut}}, put("arn:aws:s3:::x/y"), false},
		{"deny in session policy wins", AuthzInput{Identity: []*Policy{identity}, HasSession: true, Session: []*Policy{sessAB, denyPut}}, put("arn:aws:s3:::a/b/k"), false},
		{"deny in boundary wins", AuthzInput{Identity: []*Policy{identity}, Boundary: denyPut}, put("arn:aws:s3:::a/b/k"), false},
		{"session intersection inside", AuthzInput{Identity: []*Policy{identity}, HasSession: true, Session: []*Policy{sessAB}}, put("arn:aws:s3:::a/b/k"), true},
		{"session intersection outside", AuthzInput{Identity: []*Policy{identity}, HasSession: true, Session: []*Policy{sessAB}}, put("arn:aws:s3:::a/c/k"), false},
		{"session union of inline and managed", AuthzInput{Identity: []*Policy{identity}, HasSession: true, Session: []*Policy{sessAB, sessList}}, &RequestContext{Action: "s3:ListBucket", Resource: "arn:aws:s3:::a"}, true},
		{"session cannot widen identity", AuthzInput{Identity: []*Policy{boundaryGet}, HasSession: true, Session: []*Policy{sessAB}}, put("arn:aws:s3:::a/b/k"), false},
		{"empty session policy set denies", AuthzInput{Identity: []*Policy{identity}, HasSession: true}, get("arn:aws:s3:::a/b/k"), false},
		{"boundary intersection allows", AuthzInput{Identity: []*Policy{identity}, Boundary: boundaryGet}, get("arn:aws:s3:::a/b/k"), true},
		{"boundary intersection denies", AuthzInput{Identity: []*Policy{identity}, Boundary: boundaryGet}, put("arn:aws:s3:::a/b/k"), false},
		{"boundary does not grant", AuthzInput{Boundary: boundaryGet}, get("arn:aws:s3:::a/b/k"), false},
		{"deny-only resource policy", AuthzInput{Identity: []*Policy{identity}, DenyOnly: []*Policy{denyPut}}, put("arn:aws:s3:::a/b/k"), false},
	}
	for _, c := range cases {
		if got := Authorize(c.in, c.rc); got.Allowed != c.want {
			t.Errorf("%s: allowed=%v (%s), want %v", c.name, got.Allowed, got.Reason, c.want)
		}
	}
	r := Authorize(AuthzInput{Identity: []*Policy{identity}, HasSession: true, Session: []*Policy{sessAB}}, put("arn:aws:s3:::a/c/k"))
	if r.Reason != "because no session policy allows the s3:PutObject action" {
		t.Errorf("reason %q", r.Reason)
	}
}

func TestActionAndResourceElements(t *testing.T) {
	cases := []struct {
		name, stmt, action, res string
		want                    Decision
	}{
		{"action case-insensitive", `"Action":"S3:getobject","Resource":"*"`, "s3:GetObject", "arn:aws:s3:::a/b", Allowed},
		{"action wildcard", `"Action":"s3:Get*","Resource":"*"`, "s3:GetObject", "x", Allowed},
		{"action ? wildcard", `"Action":"s3:?etObject","Resource":"*"`, "s3:GetObject", "x", Allowed},
		{"action mismatch", `"Action":"s3:Get*","Resource":"*"`, "s3:PutObject", "x", NotApplicable},
		{"NotAction excludes", `"NotAction":"iam:*","Resource":"*"`, "iam:CreateRole", "x", NotApplicable},
		{"NotAction includes others", `"NotAction":"iam:*","Resource":"*"`, "s3:PutObject", "x", Allowed},
		{"NotResource", `"Action":"*","NotResource":"arn:aws:s3:::a/*"`, "s3:GetObject", "arn:aws:s3:::a/x", NotApplicable},
		{"NotResource other", `"Action":"*","NotResource":"arn:aws:s3:::a/*"`, "s3:GetObject", "arn:aws:s3:::b/x", Allowed},
		{"resource list", `"Action":"*","Resource":["arn:aws:s3:::x/*","arn:aws:s3:::a/b/*"]`, "s3:GetObject", "arn:aws:s3:::a/b/c", Allowed},
		{"variable in resource", `"Action":"*","Resource":"arn:aws:s3:::home/${aws:username}/*"`, "s3:GetObject", "arn:aws:s3:::home/alice/f", Allowed},
		{"variable mismatch", `"Action":"*","Resource":"arn:aws:s3:::home/${aws:username}/*"`, "s3:GetObject", "arn:aws:s3:::home/bob/f", NotApplicable},
	}
	for _, c := range cases {
		p := mustPolicy(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",`+c.stmt+`}]}`)
		rc := &RequestContext{Action: c.action, Resource: c.res, Keys: map[string][]string{"aws:username": {"alice"}}}
		if got := p.Evaluate(rc); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestConditionOperators(t *testing.T) {
	keys := map[string][]string{
		"aws:SourceIp":          {"10.1.2.3"},
		"aws:userid":            {"AROAEXAMPLE:sess-1"},
		"aws:PrincipalArn":      {"arn:aws:iam::123456789012:role/etl"},
		"aws:CurrentTime":       {"2026-12-04T12:00:00Z"},
		"aws:TokenIssueTime":    {"2026-12-04T11:00:00Z"},
		"aws:SecureTransport":   {"false"},
		"s3:max-keys":           {"100"},
		"aws:PrincipalTag/team": {"Data"},
		"aws:TagKeys":           {"team", "env"},
		"s3:prefix":             {"2026/12/x"},
	}
	cases := []struct {
		name, cond string
		want       bool
	}{
		{"StringEquals hit", `{"StringEquals":{"aws:userid":"AROAEXAMPLE:sess-1"}}`, true},
		{"StringEquals key case-insensitive", `{"StringEquals":{"AWS:UserId":"AROAEXAMPLE:sess-1"}}`, true},
		{"StringEquals values OR", `{"StringEquals":{"aws:userid":["x","AROAEXAMPLE:sess-1"]}}`, true},
		{"StringEquals miss", `{"StringEquals":{"aws:userid":"AROAEXAMPLE:sess-2"}}`, false},
		{"StringEquals missing key", `{"StringEquals":{"aws:SourceIdentity":"x"}}`, false},
		{"StringNotEquals", `{"StringNotEquals":{"aws:userid":["a","b"]}}`, true},
		{"StringNotEquals hit", `{"StringNotEquals":{"aws:userid":["a","AROAEXAMPLE:sess-1"]}}`, false},
		{"StringNotEquals missing key is true", `{"StringNotEquals":{"aws:SourceIdentity":"x"}}`, true},
		{"StringEqualsIgnoreCase", `{"StringEqualsIgnoreCase":{"aws:PrincipalTag/team":"data"}}`, true},
		{"StringLike", `{"StringLike":{"s3:prefix":"2026/12/*"}}`, true},
		{"StringLike miss", `{"StringLike":{"s3:prefix":"2026/11/*"}}`, false},
		{"StringNotLike", `{"StringNotLike":{"s3:prefix":"2026/11/*"}}`, true},
		{"ArnLike", `{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/e*"}}`, true},
		{"ArnEquals", `{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::123456789012:role/etl"}}`, true},
		{"ArnNotLike", `{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/e*"}}`, false},
		{"IpAddress cidr", `{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, true},
		{"IpAddress single", `{"IpAddress":{"aws:SourceIp":"10.1.2.3"}}`, true},
		{"IpAddress miss", `{"IpAddress":{"aws:SourceIp":"192.168.0.0/16"}}`, false},
		{"NotIpAddress", `{"NotIpAddress":{"aws:SourceIp":"192.168.0.0/16"}}`, true},
		{"NotIpAddress inside", `{"NotIpAddress":{"aws:SourceIp":["192.168.0.0/16","10.1.0.0/16"]}}`, false},
		{"DateLessThan", `{"DateLessThan":{"aws:TokenIssueTime":"2026-12-04T11:30:00Z"}}`, true},
		{"DateLessThan miss", `{"DateLessThan":{"aws:TokenIssueTime":"2026-12-04T10:30:00Z"}}`, false},
		{"DateGreaterThan", `{"DateGreaterThan":{"aws:CurrentTime":"2026-12-04T11:59:59Z"}}`, true},
		{"DateGreaterThan epoch", `{"DateGreaterThan":{"aws:CurrentTime":"1700000000"}}`, true},
		{"Bool", `{"Bool":{"aws:SecureTransport":"false"}}`, true},
		{"Bool json bool", `{"Bool":{"aws:SecureTransport":true}}`, false},
		{"Null true on missing", `{"Null":{"aws:SourceIdentity":"true"}}`, true},
		{"Null false on missing", `{"Null":{"aws:SourceIdentity":"false"}}`, false},
		{"Null false on present", `{"Null":{"aws:userid":"false"}}`, true},
		{"NumericLessThan", `{"NumericLessThan":{"s3:max-keys":"101"}}`, true},
		{"NumericLessThan miss", `{"NumericLessThan":{"s3:max-keys":100}}`, false},
		{"IfExists missing", `{"StringEqualsIfExists":{"aws:SourceIdentity":"x"}}`, true},
		{"IfExists present mismatch", `{"StringEqualsIfExists":{"aws:userid":"x"}}`, false},
		{"IpAddressIfExists present", `{"IpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"}}`, true},
		{"ForAnyValue hit", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["env","x"]}}`, true},
		{"ForAnyValue miss", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["x"]}}`, false},
		{"ForAnyValue missing key", `{"ForAnyValue:StringEquals":{"aws:RequestTag/x":["x"]}}`, false},
		{"ForAllValues subset", `{"ForAllValues:StringEquals":{"aws:TagKeys":["team","env","other"]}}`, true},
		{"ForAllValues not subset", `{"ForAllValues:StringEquals":{"aws:TagKeys":["team"]}}`, false},
		{"ForAllValues missing key is true", `{"ForAllValues:StringEquals":{"aws:NoSuch":["team"]}}`, true},
		{"ForAllValues:StringLike", `{"ForAllValues:StringLike":{"aws:TagKeys":["t*","e*"]}}`, true},
		{"ForAnyValue:StringNotEquals", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["team"]}}`, true},
		{"multiple keys AND", `{"StringEquals":{"aws:userid":"AROAEXAMPLE:sess-1","aws:PrincipalTag/team":"Other"}}`, false},
		{"multiple operators AND", `{"StringEquals":{"aws:userid":"AROAEXAMPLE:sess-1"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, true},
		{"variable in condition value", `{"StringEquals":{"s3:prefix":"${aws:PrincipalTag/team}"}}`, false},
		{"variable default", `{"StringLike":{"s3:prefix":"${aws:NoSuch, '2026'}/*"}}`, true},
	}
	for _, c := range cases {
		p := mustPolicy(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":`+c.cond+`}]}`)
		got := p.Evaluate(&RequestContext{Action: "s3:GetObject", Resource: "arn:aws:s3:::a/b", Keys: keys}) == Allowed
		if got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestTrustPolicyPrincipals(t *testing.T) {
	p := mustPolicy(t, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/engine"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"ext-1"}}},
		{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/vault/v1/nhi"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`)
	cases := []struct {
		name, typ, action string
		vals              []string
		ext               string
		want              Decision
	}{
		{"user with external id", "AWS", "sts:AssumeRole", []string{"arn:aws:iam::123456789012:user/engine"}, "ext-1", Allowed},
		{"user wrong external id", "AWS", "sts:AssumeRole", []string{"arn:aws:iam::123456789012:user/engine"}, "ext-2", NotApplicable},
		{"other user", "AWS", "sts:AssumeRole", []string{"arn:aws:iam::123456789012:user/other"}, "ext-1", NotApplicable},
		{"federated", "Federated", "sts:AssumeRoleWithWebIdentity", []string{"arn:aws:iam::123456789012:oidc-provider/vault/v1/nhi"}, "", Allowed},
		{"federated wrong action", "Federated", "sts:AssumeRole", []string{"arn:aws:iam::123456789012:oidc-provider/vault/v1/nhi"}, "", NotApplicable},
	}
	for _, c := range cases {
		keys := map[string][]string{}
		if c.ext != "" {
			keys["sts:ExternalId"] = []string{c.ext}
		}
		rc := &RequestContext{Action: c.action, Resource: "arn:aws:iam::123456789012:role/r", Keys: keys, PrincipalType: c.typ, PrincipalValues: c.vals}
		if got := p.Evaluate(rc); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestPolicySizeCountsNonWhitespace(t *testing.T) {
	if n := policySize("{ \"a\" :\n\t1 }"); n != 7 {
		t.Fatalf("policySize=%d", n)
	}
}
