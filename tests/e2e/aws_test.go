package e2e

// AWS credentials through the real Vault server and the offline AWS simulator: the
// plugin's real aws-sdk-go-v2 clients talk SigV4 to tests/awssim, which evaluates role
// policy ∩ session policy as AWS does for the calls used here.

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/hashicorp/vault/api"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/tests/awssim"
)

const (
	simTrust    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}]}`
	simAllowAll = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	s3Grants    = `[{"destination": "s3://a/b/*", "actions": ["read", "write", "list"], "max_sensitivity": "confidential"}]`
)

var (
	awsOnce sync.Once
	awsSim  *awssim.Sim
	awsRole string
)

// awsSetup starts one simulator for the package and points nhi/config/aws at it.
func awsSetup(t *testing.T) *awssim.Sim {
	t.Helper()
	awsOnce.Do(func() {
		sim := awssim.New(awssim.Options{Buckets: []string{"a", "c"}, TrustSourceIPHeader: true}).Start()
		arn, err := sim.CreateRole("etl", simTrust, map[string]string{"all": simAllowAll}, 43200)
		if err != nil {
			t.Fatalf("seeding role: %v", err)
		}
		sim.PutObject("a", "b/seed.txt", []byte("seed"))
		sim.PutObject("a", "c/other.txt", []byte("other"))
		id, secret := sim.RootCredentials()
		if _, err := env.root.Logical().Write("nhi/config/aws", map[string]any{
			"access_key": id, "secret_key": secret, "region": "us-east-1",
			"sts_endpoint": sim.URL(), "iam_endpoint": sim.URL(), "s3_endpoint": sim.URL(),
			"cloudtrail_endpoint": sim.URL(), "max_retries": 2,
		}); err != nil {
			t.Fatalf("config/aws: %v", err)
		}
		awsSim, awsRole = sim, arn
	})
	if awsSim == nil {
		t.Fatal("AWS simulator setup failed earlier")
	}
	return awsSim
}

func writeAWSRole(t *testing.T, prefix string, overrides map[string]any) string {
	t.Helper()
	awsSetup(t)
	role := map[string]any{"provider": "aws", "role_arn": awsRole, "grants": s3Grants, "max_sts_ttl": 3600}
	for k, v := range overrides {
		role[k] = v
	}
	return writeRole(t, prefix, role)
}

func mustIssueAWS(t *testing.T, role string, data map[string]any) *api.Secret {
	t.Helper()
	s, err := issue(env.workload.Client, role, data)
	if err != nil || s == nil || str(s.Data, "access_key") == "" {
		t.Fatalf("issuing from %s: %v", role, err)
	}
	return s
}

func s3Intent(overrides map[string]any) map[string]any {
	in := map[string]any{"task": "nightly-etl", "destinations": "s3://a/b/*", "actions": "read,write,list", "sensitivity": "confidential", "ttl": "10m"}
	for k, v := range overrides {
		in[k] = v
	}
	return in
}

type sourceIPTransport struct{ ip string }

func (s sourceIPTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if s.ip != "" {
		r.Header.Set("X-Sim-Source-Ip", s.ip)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// awsClients uses an issued credential as a workload would, from sourceIP ("" = loopback).
func awsClients(sim *awssim.Sim, s *api.Secret, sourceIP string) (*s3.Client, *iam.Client) {
	cp := credentials.NewStaticCredentialsProvider(str(s.Data, "access_key"), str(s.Data, "secret_key"), str(s.Data, "session_token"))
	hc := &http.Client{Transport: sourceIPTransport{sourceIP}}
	ep := awssdk.String(sim.URL())
	return s3.New(s3.Options{Region: "us-east-1", Credentials: cp, BaseEndpoint: ep, UsePathStyle: true, RetryMaxAttempts: 1, HTTPClient: hc}),
		iam.New(iam.Options{Region: "us-east-1", Credentials: cp, BaseEndpoint: ep, RetryMaxAttempts: 1, HTTPClient: hc})
}

func s3Get(c *s3.Client, bucket, key string) error {
	_, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: awssdk.String(bucket), Key: awssdk.String(key)})
	return err
}

func s3Put(c *s3.Client, bucket, key string) error {
	_, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: awssdk.String(bucket), Key: awssdk.String(key), Body: strings.NewReader("data")})
	return err
}

func isAccessDenied(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && strings.Contains(ae.ErrorCode(), "AccessDenied")
}

func TestAWSSessionIsScopedToIntentAndDiesOnRevoke(t *testing.T) {
	sim := awsSetup(t)
	role := writeAWSRole(t, "aws-etl", map[string]any{"bind_source_ip": true})
	s := mustIssueAWS(t, role, s3Intent(nil))
	for _, f := range []string{"access_key", "secret_key", "session_token", "expiration", "credential_id", "expires_at"} {
		if str(s.Data, f) == "" {
			t.Errorf("creds response lacks %s", f)
		}
	}
	if s.LeaseDuration != 600 {
		t.Errorf("lease = %d s, want 600 (STS session is longer, the lease is the ttl)", s.LeaseDuration)
	}
	c, iamc := awsClients(sim, s, "")
	if err := s3Get(c, "a", "b/seed.txt"); err != nil {
		t.Errorf("get under a/b/: %v", err)
	}
	if err := s3Put(c, "a", "b/new.txt"); err != nil {
		t.Errorf("put under a/b/: %v", err)
	}
	for what, err := range map[string]error{
		"get a/c/":     s3Get(c, "a", "c/other.txt"),
		"put bucket c": s3Put(c, "c", "x.txt"),
		"iam:CreateRole": func() error {
			_, e := iamc.CreateRole(context.Background(), &iam.CreateRoleInput{RoleName: awssdk.String("x"), AssumeRolePolicyDocument: awssdk.String(simTrust)})
			return e
		}(),
		"list buckets":    func() error { _, e := c.ListBuckets(context.Background(), &s3.ListBucketsInput{}); return e }(),
		"another address": func() error { other, _ := awsClients(sim, s, "203.0.113.7"); return s3Get(other, "a", "b/seed.txt") }(),
	} {
		if !isAccessDenied(err) {
			t.Errorf("%s: got %v, want AccessDenied", what, err)
		}
	}

	if out, err := env.srv.CLI(context.Background(), "root", "lease", "revoke", "-sync", s.LeaseID); err != nil {
		t.Fatalf("vault lease revoke: %v\n%s", err, out)
	}
	eventually(t, 10*time.Second, "session still works after lease revoke", func() bool {
		return isAccessDenied(s3Get(c, "a", "b/seed.txt"))
	})
	if rec := readRecord(t, str(s.Data, "credential_id")); str(rec, "status") != "revoked" {
		t.Errorf("record status = %v", rec["status"])
	}
}

func TestAWSShortTTLSessionDiesAtLeaseEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("waits a minute for the lease to end")
	}
	t.Parallel()
	sim := awsSetup(t)
	role := writeAWSRole(t, "aws-short", nil)
	s := mustIssueAWS(t, role, s3Intent(map[string]any{"ttl": "60s"}))
	c, _ := awsClients(sim, s, "")
	issued := time.Now()
	if err := s3Get(c, "a", "b/seed.txt"); err != nil {
		t.Fatalf("fresh 60s credential: %v", err)
	}
	eventually(t, 90*time.Second, "60s credential still works", func() bool {
		return isAccessDenied(s3Get(c, "a", "b/seed.txt"))
	})
	if d := time.Since(issued); d < 55*time.Second {
		t.Errorf("died after %s, before its 60s lease", d)
	}
	t.Logf("60s credential refused after %s (STS itself would accept it for 900s)", time.Since(issued).Round(time.Second))
}

func TestAWSIAMUserRevokeLeavesNothing(t *testing.T) {
	sim := awsSetup(t)
	role := writeAWSRole(t, "aws-user", map[string]any{"credential_type": "iam_user", "role_arn": nil, "max_sts_ttl": nil})
	s := mustIssueAWS(t, role, s3Intent(nil))
	c, _ := awsClients(sim, s, "")
	if err := s3Get(c, "a", "b/seed.txt"); err != nil {
		t.Errorf("iam_user key under a/b/: %v", err)
	}
	if err := s3Get(c, "a", "c/other.txt"); !isAccessDenied(err) {
		t.Errorf("iam_user key outside intent: %v", err)
	}
	user := str(s.Data, "user_name")
	if out, err := env.srv.CLI(context.Background(), "root", "lease", "revoke", "-sync", s.LeaseID); err != nil {
		t.Fatalf("vault lease revoke: %v\n%s", err, out)
	}
	for _, u := range sim.Users() {
		if u.Name == user {
			t.Errorf("user %s survived revocation", user)
		}
	}
	if err := s3Get(c, "a", "b/seed.txt"); err == nil {
		t.Error("deleted key still works")
	}
}

func TestAWSConfigNeverReturnsSecret(t *testing.T) {
	awsSetup(t)
	cfg, err := env.root.Logical().Read("nhi/config/aws")
	if err != nil || cfg == nil {
		t.Fatalf("read config/aws: %v", err)
	}
	if _, ok := cfg.Data["secret_key"]; ok {
		t.Errorf("config/aws returned secret_key: %v", cfg.Data)
	}
	_, secret := awsSim.RootCredentials()
	_, raw := readAudit(t)
	if strings.Contains(string(raw), secret) {
		t.Error("the root secret appears in the audit log")
	}
}

func TestAWSGuardsHoldThroughVault(t *testing.T) {
	sim := awsSetup(t)
	role := writeAWSRole(t, "aws-guards", nil)
	s := mustIssueAWS(t, role, s3Intent(nil))
	c, _ := awsClients(sim, s, "")
	ctx := context.Background()
	key := strings.Repeat("k", 32)
	sum := md5.Sum([]byte(key))
	alg, b64key, b64md5 := awssdk.String("AES256"), awssdk.String(base64.StdEncoding.EncodeToString([]byte(key))), awssdk.String(base64.StdEncoding.EncodeToString(sum[:]))
	checks := map[string]error{
		"put with SSE-C": func() error {
			_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: awssdk.String("a"), Key: awssdk.String("b/ssec.txt"), Body: strings.NewReader("x"),
				SSECustomerAlgorithm: alg, SSECustomerKey: b64key, SSECustomerKeyMD5: b64md5})
			return err
		}(),
		"copy with SSE-C": func() error {
			_, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: awssdk.String("a"), Key: awssdk.String("b/copy.txt"), CopySource: awssdk.String("a/b/seed.txt"),
				SSECustomerAlgorithm: alg, SSECustomerKey: b64key, SSECustomerKeyMD5: b64md5})
			return err
		}(),
		"lifecycle change": func() error {
			_, err := c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: awssdk.String("a"),
				LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: []s3types.LifecycleRule{{
					ID: awssdk.String("expire"), Status: s3types.ExpirationStatusEnabled, Filter: &s3types.LifecycleRuleFilter{Prefix: awssdk.String("b/")},
					Expiration: &s3types.LifecycleExpiration{Days: awssdk.Int32(1)}}}}})
			return err
		}(),
		"lambda:CreateFunction": func() error {
			cp := credentials.NewStaticCredentialsProvider(str(s.Data, "access_key"), str(s.Data, "secret_key"), str(s.Data, "session_token"))
			lam := lambda.New(lambda.Options{Region: "us-east-1", Credentials: cp, BaseEndpoint: awssdk.String(sim.URL()), RetryMaxAttempts: 1})
			_, err := lam.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: awssdk.String("f"), Role: awssdk.String(awsRole),
				Runtime: lambdatypes.RuntimePython312, Handler: awssdk.String("x.h"), Code: &lambdatypes.FunctionCode{ZipFile: []byte("PK")}})
			return err
		}(),
	}
	for what, err := range checks {
		if !isAccessDenied(err) {
			t.Errorf("%s: got %v, want AccessDenied", what, err)
		}
	}
	// A plain copy inside the prefix is in the intent.
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: awssdk.String("a"), Key: awssdk.String("b/copy.txt"), CopySource: awssdk.String("a/b/seed.txt")}); err != nil {
		t.Errorf("copy inside a/b/: %v", err)
	}
}

func TestAWSBadInputIs400AndCreatesNothing(t *testing.T) {
	sim := awsSetup(t)
	role := writeAWSRole(t, "aws-bad", nil)
	many := make([]string, 60)
	for i := range many {
		many[i] = fmt.Sprintf("s3://a/b/%02d-some-fairly-long-folder-name-for-the-policy/*", i)
	}
	before := sim.OperationCount("sts", "AssumeRole")
	limited := writeAWSRole(t, "aws-bad", map[string]any{"max_ttl": "2h", "max_sts_ttl": 1800})
	for name, tc := range map[string]struct {
		data     map[string]any
		fragment string
	}{
		"policy over 2048 chars": {s3Intent(map[string]any{"destinations": strings.Join(many, ",")}), "2048"},
		"ttl above max_sts_ttl":  {s3Intent(map[string]any{"ttl": "50m"}), "max_sts_ttl"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := issue(env.workload.Client, limited, tc.data)
			expectError(t, err, http.StatusBadRequest, tc.fragment)
		})
	}
	if after := sim.OperationCount("sts", "AssumeRole"); after != before {
		t.Errorf("refused requests called AssumeRole %d times", after-before)
	}
	tags := map[string]any{}
	for i := 0; i < 51; i++ {
		tags[fmt.Sprintf("k%02d", i)] = "v"
	}
	for name, tc := range map[string]struct {
		settings map[string]any
		field    string
	}{
		"51 tags":           {map[string]any{"session_tags": tags}, "session_tags"},
		"aws: tag":          {map[string]any{"session_tags": map[string]any{"aws:owner": "x"}}, "session_tags"},
		"user as role":      {map[string]any{"role_arn": "arn:aws:iam::123456789012:user/not-a-role"}, "role_arn"},
		"11 policy ARNs":    {map[string]any{"policy_arns": strings.TrimSuffix(strings.Repeat("arn:aws:iam::aws:policy/ReadOnlyAccess,", 11), ",")}, "policy_arns"},
		"max_sts_ttl < 900": {map[string]any{"max_sts_ttl": 899}, "max_sts_ttl"},
	} {
		t.Run(name, func(t *testing.T) {
			tc.settings["provider"] = "aws"
			_, err := env.root.Logical().Write("nhi/roles/"+role, tc.settings)
			expectError(t, err, http.StatusBadRequest, tc.field)
		})
	}
}

func TestAWSIAMUserFailedKeyLeavesNothing(t *testing.T) {
	sim := awsSetup(t)
	role := writeAWSRole(t, "aws-crash", map[string]any{"credential_type": "iam_user", "role_arn": nil, "max_sts_ttl": nil})
	users := len(sim.Users())
	fault := sim.InjectFault(awssim.FaultSpec{Service: "iam", Operation: "CreateAccessKey", Kind: awssim.FaultInternal})
	defer sim.RemoveFault(fault)
	if _, err := issue(env.workload.Client, role, s3Intent(nil)); err == nil {
		t.Fatal("issuance succeeded although CreateAccessKey always fails")
	}
	if sim.FaultsFired(fault) == 0 {
		t.Fatal("the injected fault never fired")
	}
	if got := len(sim.Users()); got != users {
		t.Errorf("users %d -> %d: the failed issuance left a user behind", users, got)
	}
}

func TestAWSManyRevocationsStayInsideInlinePolicyBudget(t *testing.T) {
	sim := awsSetup(t)
	// Its own cloud role: filling the revocation budget switches that role to the
	// issued-before cut-off, which must not touch the other tests' sessions.
	arn, err := sim.CreateRole("etl-many", simTrust, map[string]string{"all": simAllowAll}, 43200)
	if err != nil {
		t.Fatal(err)
	}
	role := writeAWSRole(t, "aws-many", map[string]any{"role_arn": arn})
	const n = 300
	var leases []string
	var clients []*s3.Client
	for i := 0; i < n; i++ {
		s := mustIssueAWS(t, role, s3Intent(map[string]any{"task": fmt.Sprintf("nightly-%03d", i)}))
		leases = append(leases, s.LeaseID)
		if i%50 == 0 {
			c, _ := awsClients(sim, s, "")
			clients = append(clients, c)
		}
	}
	maxSize := 0
	for i, lease := range leases {
		if err := env.root.Sys().Revoke(lease); err != nil {
			t.Fatalf("revoke %d: %v", i, err)
		}
		if size := sim.RoleInlinePolicySize("etl-many"); size > maxSize {
			maxSize = size
		}
	}
	eventually(t, 30*time.Second, "a revoked session still works", func() bool {
		for _, c := range clients {
			if !isAccessDenied(s3Get(c, "a", "b/seed.txt")) {
				return false
			}
		}
		return true
	})
	if maxSize > 10240 {
		t.Errorf("role inline policies reached %d characters, over IAM's 10,240", maxSize)
	}
	t.Logf("%d revocations: largest role inline policy total %d characters", n, maxSize)
}
