package aws_test

// Integration tests: the provider with real aws-sdk-go-v2 clients (DefaultClients)
// against the offline AWS simulator in tests/awssim, which verifies SigV4 and evaluates
// identity ∩ session policies as AWS does for the operations used here.

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers/aws"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers/conformance"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/tests/awssim"
)

const (
	simTrust    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}]}`
	simAllowAll = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
)

type simEnv struct {
	sim     *awssim.Sim
	p       *aws.Provider
	s       logical.Storage
	roleARN string
}

func newSimEnv(t *testing.T, o awssim.Options) *simEnv {
	t.Helper()
	o.Buckets = append(o.Buckets, "a", "c")
	o.TrustSourceIPHeader = true
	sim := awssim.New(o).Start()
	t.Cleanup(sim.Close)
	// The role itself may do anything: what a credential can do is decided by the
	// engine's session policy and guards.
	arn, err := sim.CreateRole("etl", simTrust, map[string]string{"all": simAllowAll}, 43200)
	if err != nil {
		t.Fatal(err)
	}
	sim.PutObject("a", "b/seed.txt", []byte("seed"))
	sim.PutObject("a", "c/other.txt", []byte("other"))
	sim.PutObject("c", "x.txt", []byte("x"))
	id, secret := sim.RootCredentials()
	cfg := aws.DefaultConfig()
	cfg.AccessKey, cfg.SecretKey = id, secret
	cfg.STSEndpoint, cfg.IAMEndpoint, cfg.S3Endpoint, cfg.CloudTrailEndpoint = sim.URL(), sim.URL(), sim.URL(), sim.URL()
	cfg.MaxRetries = 3
	s := &logical.InmemStorage{}
	if err := aws.SaveConfig(context.Background(), s, cfg); err != nil {
		t.Fatal(err)
	}
	return &simEnv{sim: sim, p: aws.New(time.Now, aws.DefaultClients, aws.WithKeyWait(10*time.Second, 10*time.Second)), s: s, roleARN: arn}
}

func (e *simEnv) request(id string) providers.IssueRequest {
	return providers.IssueRequest{
		CredentialID: id,
		Role: providers.RoleInfo{Name: "etl", Settings: map[string]any{
			"role_arn": e.roleARN, "session_tags": map[string]any{"team": "data"}, "max_sts_ttl": 3600}},
		Subject: "entity-1", Task: "nightly-etl", Sensitivity: "confidential",
		Destinations: []string{"s3://a/b/*"}, Actions: []string{"read", "write", "list"},
		TTL: 10 * time.Minute, Now: time.Now(),
	}
}

type headerRT struct {
	hdr  map[string]string
	next http.RoundTripper
}

func (h headerRT) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h.hdr {
		r.Header.Set(k, v)
	}
	return h.next.RoundTrip(r)
}

type simClient struct {
	s3  *s3.Client
	iam *iam.Client
	sts *sts.Client
	lam *lambda.Client
}

// clientFor builds SDK clients with an issued credential, calling from sourceIP.
func (e *simEnv) clientFor(got *providers.Issued, sourceIP string) *simClient {
	token, _ := got.Secret["session_token"].(string)
	cp := credentials.NewStaticCredentialsProvider(got.Public["access_key"].(string), got.Secret["secret_key"].(string), token)
	hc := &http.Client{Transport: headerRT{map[string]string{"X-Sim-Source-Ip": sourceIP}, http.DefaultTransport}}
	ep := awssdk.String(e.sim.URL())
	return &simClient{
		s3:  s3.New(s3.Options{Region: "us-east-1", Credentials: cp, BaseEndpoint: ep, UsePathStyle: true, RetryMaxAttempts: 1, HTTPClient: hc}),
		iam: iam.New(iam.Options{Region: "us-east-1", Credentials: cp, BaseEndpoint: ep, RetryMaxAttempts: 1, HTTPClient: hc}),
		sts: sts.New(sts.Options{Region: "us-east-1", Credentials: cp, BaseEndpoint: ep, RetryMaxAttempts: 1, HTTPClient: hc}),
		lam: lambda.New(lambda.Options{Region: "us-east-1", Credentials: cp, BaseEndpoint: ep, RetryMaxAttempts: 1, HTTPClient: hc}),
	}
}

func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err != nil {
		return "non-API error: " + err.Error()
	}
	return ""
}

func expect(t *testing.T, what string, err error, wantDenied bool) {
	t.Helper()
	switch {
	case wantDenied && !strings.Contains(errCode(err), "AccessDenied"):
		t.Errorf("%s: got %v, want AccessDenied", what, err)
	case !wantDenied && err != nil:
		t.Errorf("%s: %v", what, err)
	}
}

func (c *simClient) get(b, k string) error {
	_, err := c.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: awssdk.String(b), Key: awssdk.String(k)})
	return err
}

func (c *simClient) put(b, k string, opts ...func(*s3.PutObjectInput)) error {
	in := &s3.PutObjectInput{Bucket: awssdk.String(b), Key: awssdk.String(k), Body: strings.NewReader("data")}
	for _, o := range opts {
		o(in)
	}
	_, err := c.s3.PutObject(context.Background(), in)
	return err
}

func (c *simClient) list(b, prefix string) error {
	in := &s3.ListObjectsV2Input{Bucket: awssdk.String(b)}
	if prefix != "" {
		in.Prefix = awssdk.String(prefix)
	}
	_, err := c.s3.ListObjectsV2(context.Background(), in)
	return err
}

func sseC(in *s3.PutObjectInput) {
	key := strings.Repeat("k", 32)
	sum := md5.Sum([]byte(key))
	in.SSECustomerAlgorithm = awssdk.String("AES256")
	in.SSECustomerKey = awssdk.String(base64.StdEncoding.EncodeToString([]byte(key)))
	in.SSECustomerKeyMD5 = awssdk.String(base64.StdEncoding.EncodeToString(sum[:]))
}

func TestSimSessionScenario(t *testing.T) {
	e := newSimEnv(t, awssim.Options{})
	ctx := context.Background()
	req := e.request("c-scenario")
	req.Role.Settings["bind_source_ip"] = true
	req.SourceAddr = "10.0.0.5"
	got, err := e.p.Issue(ctx, e.s, req)
	if err != nil {
		t.Fatal(err)
	}
	c := e.clientFor(got, "10.0.0.5")
	expect(t, "get a/b/seed.txt", c.get("a", "b/seed.txt"), false)
	expect(t, "put a/b/new.txt", c.put("a", "b/new.txt"), false)
	expect(t, "list a prefix b/", c.list("a", "b/"), false)
	expect(t, "put a/b with SSE-C", c.put("a", "b/ssec.txt", sseC), true)
	_, err = c.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: awssdk.String("a"), Key: awssdk.String("b/copy.txt"),
		CopySource: awssdk.String("a/b/seed.txt"), SSECustomerAlgorithm: awssdk.String("AES256"),
		SSECustomerKey: awssdk.String(base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))),
		SSECustomerKeyMD5: awssdk.String(func() string {
			s := md5.Sum([]byte(strings.Repeat("k", 32)))
			return base64.StdEncoding.EncodeToString(s[:])
		}())})
	expect(t, "copy into a/b with SSE-C", err, true)
	expect(t, "get a/c/other.txt", c.get("a", "c/other.txt"), true)
	expect(t, "put a/c/x", c.put("a", "c/x"), true)
	expect(t, "get c/x.txt", c.get("c", "x.txt"), true)
	expect(t, "list a prefix c/", c.list("a", "c/"), true)
	expect(t, "list a without prefix", c.list("a", ""), true)
	_, err = c.s3.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: awssdk.String("a"),
		LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: []s3types.LifecycleRule{{
			ID: awssdk.String("expire"), Status: s3types.ExpirationStatusEnabled, Filter: &s3types.LifecycleRuleFilter{Prefix: awssdk.String("b/")},
			Expiration: &s3types.LifecycleExpiration{Days: awssdk.Int32(1)}}}}})
	expect(t, "put lifecycle", err, true)
	_, err = c.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: awssdk.String("escalate"), AssumeRolePolicyDocument: awssdk.String(simTrust)})
	expect(t, "iam:CreateRole", err, true)
	_, err = c.lam.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: awssdk.String("f"), Role: awssdk.String(e.roleARN),
		Runtime: lambdatypes.RuntimePython312, Handler: awssdk.String("x.h"), Code: &lambdatypes.FunctionCode{ZipFile: []byte("PK")}})
	expect(t, "lambda:CreateFunction", err, true)
	_, err = c.s3.ListBuckets(ctx, &s3.ListBucketsInput{})
	expect(t, "s3:ListAllMyBuckets", err, true)
	// From another address nothing works.
	expect(t, "get from another address", e.clientFor(got, "10.0.0.6").get("a", "b/seed.txt"), true)

	// After revocation every call fails, although STS would accept the session for 15 min.
	if err := e.p.Revoke(ctx, e.s, providers.RevokeRequest{CredentialID: "c-scenario", Ref: got.Ref, IssuedAt: req.Now, ExpiresAt: req.Now.Add(req.TTL), Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	expect(t, "get after revoke", c.get("a", "b/seed.txt"), true)
	expect(t, "put after revoke", c.put("a", "b/after.txt"), true)
	// Another session of the role is unaffected.
	other, err := e.p.Issue(ctx, e.s, e.request("c-other"))
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "get with a fresh session", e.clientFor(other, "10.0.0.5").get("a", "b/seed.txt"), false)
	if err := e.p.Periodic(ctx, e.s); err != nil {
		t.Fatal(err)
	}
}

func TestSimRevocationBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("300 revocations")
	}
	e := newSimEnv(t, awssim.Options{})
	ctx := context.Background()
	var first *providers.Issued
	for i := 0; i < 300; i++ {
		req := e.request(fmt.Sprintf("c-budget-%03d-%s", i, strings.Repeat("z", 14)))
		got, err := e.p.Issue(ctx, e.s, req)
		if err != nil {
			t.Fatalf("issue #%d: %v", i, err)
		}
		if first == nil {
			first = got
		}
		if err := e.p.Revoke(ctx, e.s, providers.RevokeRequest{CredentialID: req.CredentialID, Ref: got.Ref, IssuedAt: req.Now, Now: time.Now()}); err != nil {
			t.Fatalf("revoke #%d: %v", i, err)
		}
		if n := e.sim.RoleInlinePolicySize("etl"); n > aws.RoleInlinePolicyBudget {
			t.Fatalf("after %d revocations the role's inline policies hold %d characters", i+1, n)
		}
	}
	expect(t, "first revoked session", e.clientFor(first, "10.0.0.5").get("a", "b/seed.txt"), true)
	st, err := e.p.Revocations(ctx, e.s)
	if err != nil || len(st) != 1 || st[0].FallbackBefore.IsZero() {
		t.Errorf("Revocations = %+v, %v; want the fallback recorded", st, err)
	}
	// Sessions issued after the fallback work (past its clock-skew margin).
	time.Sleep(time.Until(st[0].FallbackBefore) + 10*time.Millisecond)
	fresh, err := e.p.Issue(ctx, e.s, e.request("c-fresh"))
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "session issued after the fallback", e.clientFor(fresh, "10.0.0.5").get("a", "b/seed.txt"), false)
}

func simUsers(sim *awssim.Sim, prefix string) []string {
	var out []string
	for _, u := range sim.Users() {
		if strings.HasPrefix(u.Name, prefix) {
			out = append(out, u.Name)
		}
	}
	return out
}

func TestSimIAMUser(t *testing.T) {
	e := newSimEnv(t, awssim.Options{KeyPropagationDelay: 1500 * time.Millisecond})
	ctx := context.Background()
	req := e.request("c-user")
	req.Role.CredentialType = aws.CredentialTypeIAMUser
	// policy_arns are attached as they are: AWS adds their permissions to the intent's, so
	// a narrow customer policy is used here (the guards still cap them).
	pol, err := e.sim.CreateManagedPolicy("describe-only", "/", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetBucketLocation","Resource":"*"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	req.Role.Settings = map[string]any{"policy_arns": []string{pol}}
	got, err := e.p.Issue(ctx, e.s, req)
	if err != nil {
		t.Fatal(err)
	}
	// The key works as soon as it is returned, despite IAM's propagation delay.
	c := e.clientFor(got, "10.0.0.5")
	if _, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("fresh key: %v", err)
	}
	expect(t, "user get a/b", c.get("a", "b/seed.txt"), false)
	if u := e.sim.Users(); true {
		found := false
		for _, x := range u {
			if x.Name == "nhi-c-user" {
				found = x.Path == aws.UserPath && len(x.AttachedPolicies) == 1 && len(x.InlinePolicies) == 1
			}
		}
		if !found {
			t.Errorf("user nhi-c-user under %s with one inline and one attached policy not found: %+v", aws.UserPath, u)
		}
	}
	expect(t, "user get c (outside the intent)", c.get("c", "x.txt"), true)
	expect(t, "user iam:CreateRole", func() error {
		_, err := c.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: awssdk.String("x"), AssumeRolePolicyDocument: awssdk.String(simTrust)})
		return err
	}(), true)
	if err := e.p.Revoke(ctx, e.s, providers.RevokeRequest{CredentialID: "c-user", Ref: got.Ref, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if u := simUsers(e.sim, "nhi-c-"); len(u) != 0 {
		t.Errorf("users left after revoke: %v", u)
	}
}

func TestSimIAMUserCrash(t *testing.T) {
	e := newSimEnv(t, awssim.Options{})
	ctx := context.Background()
	req := e.request("c-crash")
	req.Role.CredentialType = aws.CredentialTypeIAMUser
	req.Role.Settings = map[string]any{}
	// CreateAccessKey keeps failing (500s, retried) and the cleanup's DeleteUser too.
	f1 := e.sim.InjectFault(awssim.FaultSpec{Service: "iam", Operation: "CreateAccessKey", Kind: awssim.FaultInternal})
	f2 := e.sim.InjectFault(awssim.FaultSpec{Service: "iam", Operation: "DeleteUser", Kind: awssim.FaultInternal})
	if _, err := e.p.Issue(ctx, e.s, req); err == nil {
		t.Fatal("Issue succeeded")
	}
	if e.sim.FaultsFired(f1) != 4 {
		t.Errorf("CreateAccessKey attempts = %d, want 4 (1 + max_retries 3)", e.sim.FaultsFired(f1))
	}
	if u := simUsers(e.sim, "nhi-c-"); len(u) != 1 {
		t.Fatalf("users = %v, want the half-created one", u)
	}
	e.sim.RemoveFault(f1)
	e.sim.RemoveFault(f2)
	// WAL rollback: only the credential id.
	if err := e.p.Revoke(ctx, e.s, providers.RevokeRequest{CredentialID: "c-crash", Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if u := simUsers(e.sim, "nhi-c-"); len(u) != 0 {
		t.Errorf("users left after rollback: %v", u)
	}
}

func TestSimThrottlingAndErrors(t *testing.T) {
	e := newSimEnv(t, awssim.Options{})
	ctx := context.Background()
	id := e.sim.InjectFault(awssim.FaultSpec{Service: "sts", Operation: "AssumeRole", Kind: awssim.FaultThrottle, Count: 2})
	if _, err := e.p.Issue(ctx, e.s, e.request("c-throttled")); err != nil {
		t.Fatalf("throttled twice then fine: %v", err)
	}
	if n := e.sim.FaultsFired(id); n != 2 {
		t.Errorf("faults fired = %d", n)
	}
	e.sim.InjectFault(awssim.FaultSpec{Service: "sts", Operation: "AssumeRole", Kind: awssim.FaultThrottle})
	_, err := e.p.Issue(ctx, e.s, e.request("c-throttled-2"))
	var ae *aws.AWSError
	if !errors.As(err, &ae) || !strings.Contains(err.Error(), "Throttling") {
		t.Errorf("persistent throttling: %v", err)
	}
	e.sim.ClearFaults()
	// Bad root credentials: a clear error without the secret.
	const wrongSecret = "wrong-secret-wrong-secret-000"
	if _, err := e.p.UpdateConfig(ctx, e.s, func(cfg *aws.Config, _ bool) error { cfg.SecretKey = wrongSecret; return nil }); err != nil {
		t.Fatal(err)
	}
	_, err = e.p.Issue(ctx, e.s, e.request("c-badroot"))
	if err == nil || strings.Contains(err.Error(), wrongSecret) || !strings.Contains(err.Error(), "root credentials") {
		t.Errorf("bad root key: %v", err)
	}
}

func TestSimRotateRoot(t *testing.T) {
	e := newSimEnv(t, awssim.Options{KeyPropagationDelay: time.Second})
	ctx := context.Background()
	oldID, _ := e.sim.RootCredentials()
	res, err := e.p.RotateRoot(ctx, e.s)
	if err != nil {
		t.Fatal(err)
	}
	if res.AccessKey == oldID || len(res.Warnings) != 0 {
		t.Fatalf("rotation = %+v", res)
	}
	var keys []string
	for _, k := range e.sim.AccessKeys() {
		if k.UserName == "nhi-root" {
			keys = append(keys, k.AccessKeyID)
		}
	}
	if len(keys) != 1 || keys[0] != res.AccessKey {
		t.Errorf("root keys = %v, want only %s", keys, res.AccessKey)
	}
	if _, err := e.p.Issue(ctx, e.s, e.request("c-after-rotation")); err != nil {
		t.Fatalf("issue with the rotated key: %v", err)
	}
}

func TestSimConformance(t *testing.T) {
	// Every simulator has account 123456789012 and the role etl: the same role ARN.
	sample := (&simEnv{roleARN: "arn:aws:iam::123456789012:role/etl"}).request("c-simconf")
	sample.Now = time.Time{}
	conformance.Run(t, func(t *testing.T) (providers.Provider, logical.Storage) {
		e := newSimEnv(t, awssim.Options{})
		return e.p, e.s
	}, sample, conformance.WithTTLFloor(aws.MinSTSTTL), conformance.WithExpiryLeeway(2*time.Second))
}
