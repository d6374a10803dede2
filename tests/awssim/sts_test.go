package awssim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

const trustAccount = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}]}`

// fixture: buckets a and c, role "etl" with s3:* trusted by the account.
func fixture(t *testing.T, o Options) (*Sim, *client, string) {
	t.Helper()
	o.Buckets = append(o.Buckets, "a", "c")
	s := newSim(t, o)
	arn, err := s.CreateRole("etl", trustAccount, map[string]string{"s3": allowS3}, 43200)
	mustOK(t, "CreateRole", err)
	return s, rootClient(s), arn
}

func assume(t *testing.T, c *client, in *sts.AssumeRoleInput) *sts.AssumeRoleOutput {
	t.Helper()
	out, err := c.sts.AssumeRole(ctx, in)
	mustOK(t, "AssumeRole", err)
	return out
}

func TestSTSAssumeRoleRoundTrip(t *testing.T) {
	s, root, roleArn := fixture(t, Options{})
	id, err := root.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	mustOK(t, "GetCallerIdentity", err)
	if aws.ToString(id.Arn) != "arn:aws:iam::123456789012:user/nhi-root" || aws.ToString(id.Account) != "123456789012" || !strings.HasPrefix(aws.ToString(id.UserId), "AIDA") {
		t.Fatalf("caller identity %+v", id)
	}
	out := assume(t, root, &sts.AssumeRoleInput{
		RoleArn: aws.String(roleArn), RoleSessionName: aws.String("cred-1"), DurationSeconds: aws.Int32(900),
		Tags:              []ststypes.Tag{{Key: aws.String("nhi:task"), Value: aws.String("etl")}},
		TransitiveTagKeys: []string{"nhi:task"},
		SourceIdentity:    aws.String("workload-1"),
		Policy:            aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::a/*"}]}`),
		PolicyArns:        []ststypes.PolicyDescriptorType{{Arn: aws.String("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")}},
	})
	if !strings.HasPrefix(aws.ToString(out.Credentials.AccessKeyId), "ASIA") || aws.ToString(out.Credentials.SessionToken) == "" {
		t.Fatalf("credentials %+v", out.Credentials)
	}
	if got := aws.ToString(out.AssumedRoleUser.Arn); got != "arn:aws:sts::123456789012:assumed-role/etl/cred-1" {
		t.Fatalf("assumed role arn %s", got)
	}
	if got := aws.ToString(out.AssumedRoleUser.AssumedRoleId); !strings.HasPrefix(got, "AROA") || !strings.HasSuffix(got, ":cred-1") {
		t.Fatalf("assumed role id %s", got)
	}
	if d := time.Until(aws.ToTime(out.Credentials.Expiration)); d < 890*time.Second || d > 905*time.Second {
		t.Fatalf("expiration in %v", d)
	}
	if out.PackedPolicySize == nil || *out.PackedPolicySize <= 0 || *out.PackedPolicySize > 100 {
		t.Fatalf("packed policy size %v", out.PackedPolicySize)
	}
	if aws.ToString(out.SourceIdentity) != "workload-1" {
		t.Fatalf("source identity %v", out.SourceIdentity)
	}
	sess := newClient(s, sessCreds(out.Credentials), nil)
	id, err = sess.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	mustOK(t, "session GetCallerIdentity", err)
	if aws.ToString(id.Arn) != "arn:aws:sts::123456789012:assumed-role/etl/cred-1" || aws.ToString(id.UserId) != aws.ToString(out.AssumedRoleUser.AssumedRoleId) {
		t.Fatalf("session identity %+v", id)
	}
	// Role chaining: the session of etl may assume etl again (trust names the account,
	// identity policy is s3 only → denied); with sts allowed it works, capped at 1 hour.
	_, err = sess.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleArn), RoleSessionName: aws.String("chain")})
	wantCode(t, "chained AssumeRole without sts permission", err, "AccessDenied")
	if got := s.Sessions(); len(got) != 1 || got[0].SourceIdentity != "workload-1" || got[0].Tags[0].Key != "nhi:task" {
		t.Fatalf("sessions %+v", got)
	}
}

func TestAssumeRoleLimits(t *testing.T) {
	s, root, roleArn := fixture(t, Options{})
	short, err := s.CreateRole("short", trustAccount, nil, 3600)
	mustOK(t, "CreateRole", err)
	base := func() *sts.AssumeRoleInput {
		return &sts.AssumeRoleInput{RoleArn: aws.String(roleArn), RoleSessionName: aws.String("sess")}
	}
	tags := func(n int) []ststypes.Tag {
		var out []ststypes.Tag
		for i := 0; i < n; i++ {
			out = append(out, ststypes.Tag{Key: aws.String(fmt.Sprintf("k%d", i)), Value: aws.String("v")})
		}
		return out
	}
	bigPolicy := func(n int) string {
		p := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::a/`
		tail := `"}]}`
		return p + strings.Repeat("x", n-len(p)-len(tail)) + tail
	}
	cases := []struct {
		name string
		mod  func(*sts.AssumeRoleInput)
		want string
	}{
		{"899 seconds", func(in *sts.AssumeRoleInput) { in.DurationSeconds = aws.Int32(899) }, "ValidationError"},
		{"43201 seconds", func(in *sts.AssumeRoleInput) { in.DurationSeconds = aws.Int32(43201) }, "ValidationError"},
		{"above role max", func(in *sts.AssumeRoleInput) { in.RoleArn = aws.String(short); in.DurationSeconds = aws.Int32(3601) }, "ValidationError"},
		{"2049-char policy", func(in *sts.AssumeRoleInput) { in.Policy = aws.String(bigPolicy(2049)) }, "ValidationError"},
		{"malformed policy", func(in *sts.AssumeRoleInput) { in.Policy = aws.String(`{"Statement":"x"}`) }, "MalformedPolicyDocument"},
		{"51 tags", func(in *sts.AssumeRoleInput) { in.Tags = tags(51) }, "ValidationError"},
		{"aws: tag prefix", func(in *sts.AssumeRoleInput) {
			in.Tags = []ststypes.Tag{{Key: aws.String("aws:foo"), Value: aws.String("x")}}
		}, "InvalidParameterValue"},
		{"129-char tag key", func(in *sts.AssumeRoleInput) {
			in.Tags = []ststypes.Tag{{Key: aws.String(strings.Repeat("k", 129)), Value: aws.String("x")}}
		}, "ValidationError"},
		{"257-char tag value", func(in *sts.AssumeRoleInput) {
			in.Tags = []ststypes.Tag{{Key: aws.String("k"), Value: aws.String(strings.Repeat("v", 257))}}
		}, "ValidationError"},
		{"50 long tags exceed the packed budget", func(in *sts.AssumeRoleInput) {
			var ts []ststypes.Tag
			for i := 0; i < 50; i++ {
				ts = append(ts, ststypes.Tag{Key: aws.String(fmt.Sprintf("key-%03d-%s", i, strings.Repeat("k", 100))), Value: aws.String(strings.Repeat(fmt.Sprint(i), 100))})
			}
			in.Tags = ts
		}, "PackedPolicyTooLarge"},
		{"65-char session name", func(in *sts.AssumeRoleInput) { in.RoleSessionName = aws.String(strings.Repeat("s", 65)) }, "ValidationError"},
		{"bad session name chars", func(in *sts.AssumeRoleInput) { in.RoleSessionName = aws.String("a b") }, "ValidationError"},
		{"11 policy ARNs", func(in *sts.AssumeRoleInput) {
			for i := 0; i < 11; i++ {
				in.PolicyArns = append(in.PolicyArns, ststypes.PolicyDescriptorType{Arn: aws.String("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")})
			}
		}, "ValidationError"},
		{"transitive key not in tags", func(in *sts.AssumeRoleInput) { in.TransitiveTagKeys = []string{"x"} }, "InvalidParameterValue"},
		{"unknown role", func(in *sts.AssumeRoleInput) { in.RoleArn = aws.String("arn:aws:iam::123456789012:role/nope") }, "AccessDenied"},
	}
	for _, c := range cases {
		in := base()
		c.mod(in)
		_, err := root.sts.AssumeRole(ctx, in)
		wantCode(t, c.name, err, c.want)
	}
	// the packed-size message names the part that overflowed
	in := base()
	for i := 0; i < 50; i++ {
		in.Tags = append(in.Tags, ststypes.Tag{Key: aws.String(fmt.Sprintf("k%03d%s", i, strings.Repeat("k", 124))), Value: aws.String(strings.Repeat("v", 256))})
	}
	_, err = root.sts.AssumeRole(ctx, in)
	wantCode(t, "50 maximal tags", err, "PackedPolicyTooLarge")
	if !strings.Contains(err.Error(), "Packed size of session tags consumes") {
		t.Fatalf("message %v", err)
	}
	// boundaries that must pass
	for _, d := range []int32{900, 43200} {
		in := base()
		in.DurationSeconds = aws.Int32(d)
		in.Policy = aws.String(bigPolicy(2048))
		in.Tags = tags(50)
		in.RoleSessionName = aws.String(strings.Repeat("s", 64))
		in.PolicyArns = nil
		for i := 0; i < 10; i++ {
			in.PolicyArns = append(in.PolicyArns, ststypes.PolicyDescriptorType{Arn: aws.String("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")})
		}
		_, err := root.sts.AssumeRole(ctx, in)
		mustOK(t, fmt.Sprintf("AssumeRole at limits (%ds)", d), err)
	}
	if n := len(s.Sessions()); n != 2 {
		t.Fatalf("%d sessions, want 2 (refused calls must create nothing)", n)
	}
}

func TestAssumeRoleAuthorization(t *testing.T) {
	s, root, _ := fixture(t, Options{})
	// role trusting one user with an external id, without sts:TagSession
	ext, err := s.CreateRole("ext", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/nhi-root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"secret-ext"}}}]}`, nil, 0)
	mustOK(t, "CreateRole", err)
	in := func(e string) *sts.AssumeRoleInput {
		i := &sts.AssumeRoleInput{RoleArn: aws.String(ext), RoleSessionName: aws.String("sess")}
		if e != "" {
			i.ExternalId = aws.String(e)
		}
		return i
	}
	_, err = root.sts.AssumeRole(ctx, in(""))
	wantCode(t, "missing external id", err, "AccessDenied")
	_, err = root.sts.AssumeRole(ctx, in("wrong-ext"))
	wantCode(t, "wrong external id", err, "AccessDenied")
	_, err = root.sts.AssumeRole(ctx, in("secret-ext"))
	mustOK(t, "right external id", err)
	tagged := in("secret-ext")
	tagged.Tags = []ststypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}}
	_, err = root.sts.AssumeRole(ctx, tagged)
	wantCode(t, "tags without sts:TagSession in trust", err, "AccessDenied")

	// a user whose identity policy does not allow sts:AssumeRole
	mustOK(t, "CreateUser", s.CreateUser(SeedUser{Name: "weak", InlinePolicies: map[string]string{"p": allowS3}}))
	kid, ksec, err := s.AddAccessKey("weak")
	mustOK(t, "AddAccessKey", err)
	weak := newClient(s, creds{id: kid, secret: ksec}, nil)
	_, err = weak.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/etl"), RoleSessionName: aws.String("sess")})
	wantCode(t, "identity policy lacks sts:AssumeRole", err, "AccessDenied")
	if !strings.Contains(err.Error(), "is not authorized to perform: sts:AssumeRole") {
		t.Fatalf("message: %v", err)
	}
}

// rawSigned sends a Query-protocol request signed with the SDK's signer, letting the test
// tamper with it after signing.
func rawSigned(t *testing.T, s *Sim, c creds, service, body string, at time.Time, tamper func(*http.Request)) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL()+"/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if c.token != "" {
		req.Header.Set("X-Amz-Security-Token", c.token)
	}
	sum := sha256.Sum256([]byte(body))
	err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: c.id, SecretAccessKey: c.secret, SessionToken: c.token}, req, hex.EncodeToString(sum[:]), service, "us-east-1", at)
	mustOK(t, "sign", err)
	if tamper != nil {
		tamper(req)
	}
	resp, err := http.DefaultClient.Do(req)
	mustOK(t, "send", err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) Now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeClock) Add(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

func TestSignatureFailures(t *testing.T) {
	s, root, roleArn := fixture(t, Options{})
	id, secret := s.RootCredentials()
	gci := "Action=GetCallerIdentity&Version=2011-06-15"

	st, body := rawSigned(t, s, creds{id: id, secret: secret}, "sts", gci, time.Now(), nil)
	if st != 200 || !strings.Contains(body, "<GetCallerIdentityResult>") {
		t.Fatalf("baseline: %d %s", st, body)
	}
	st, body = rawSigned(t, s, creds{id: id, secret: secret}, "sts", gci, time.Now(), func(r *http.Request) {
		b := "Action=GetCallerIdentity&Version=2011-06-15&X=1"
		r.Body = io.NopCloser(strings.NewReader(b))
		r.ContentLength = int64(len(b))
	})
	if st != 403 || !strings.Contains(body, "<Code>SignatureDoesNotMatch</Code>") {
		t.Fatalf("tampered body: %d %s", st, body)
	}
	st, body = rawSigned(t, s, creds{id: id, secret: secret}, "sts", gci, time.Now().Add(-6*time.Minute), nil)
	if st != 403 || !strings.Contains(body, "Signature expired") {
		t.Fatalf("skewed clock: %d %s", st, body)
	}
	st, _ = rawSigned(t, s, creds{id: id, secret: secret}, "sts", gci, time.Now().Add(-4*time.Minute), nil)
	if st != 200 {
		t.Fatalf("4 minutes of skew must be accepted: %d", st)
	}
	st, body = rawSigned(t, s, creds{id: id, secret: secret}, "iam", "Action=GetUser&Version=2010-05-08", time.Now(), func(r *http.Request) {
		r.Header.Set("X-Amz-Date", time.Now().Add(time.Second).UTC().Format("20060102T150405Z"))
	})
	if st != 403 || !strings.Contains(body, "SignatureDoesNotMatch") || !strings.Contains(body, "<Type>Sender</Type>") {
		t.Fatalf("tampered header: %d %s", st, body)
	}

	// through the SDK
	bad := newClient(s, creds{id: id, secret: secret + "x"}, nil)
	_, err := bad.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantCode(t, "wrong secret", err, "SignatureDoesNotMatch")
	_, err = bad.s3.ListBuckets(ctx, nil)
	wantCode(t, "wrong secret s3", err, "SignatureDoesNotMatch")
	unknown := newClient(s, creds{id: "AKIAUNKNOWNUNKNOWN12", secret: secret}, nil)
	_, err = unknown.iam.GetUser(ctx, &iam.GetUserInput{})
	wantCode(t, "unknown key", err, "InvalidClientTokenId")
	_, err = unknown.s3.ListBuckets(ctx, nil)
	wantCode(t, "unknown key s3", err, "InvalidAccessKeyId")

	out := assume(t, root, &sts.AssumeRoleInput{RoleArn: aws.String(roleArn), RoleSessionName: aws.String("sess"), DurationSeconds: aws.Int32(900)})
	sc := sessCreds(out.Credentials)
	noToken := newClient(s, creds{id: sc.id, secret: sc.secret}, nil)
	_, err = noToken.sts.GetCallerIdentity(ctx, nil)
	wantCode(t, "session without token", err, "InvalidClientTokenId")
	badToken := newClient(s, creds{id: sc.id, secret: sc.secret, token: sc.token + "x"}, nil)
	_, err = badToken.sts.GetCallerIdentity(ctx, nil)
	wantCode(t, "session with wrong token", err, "InvalidClientTokenId")
	// deleted key
	mustOK(t, "CreateUser", s.CreateUser(SeedUser{Name: "u", InlinePolicies: map[string]string{"p": allowS3}}))
	kid, ksec, _ := s.AddAccessKey("u")
	u := newClient(s, creds{id: kid, secret: ksec}, nil)
	mustOK(t, "fresh key", putObj(u, "a", "x", "y"))
	_, err = root.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("u"), AccessKeyId: aws.String(kid)})
	mustOK(t, "DeleteAccessKey", err)
	_, err = u.sts.GetCallerIdentity(ctx, nil)
	wantCode(t, "deleted key", err, "InvalidClientTokenId")

	// unsigned request to a signed operation
	resp, err := http.Post(s.URL()+"/", "application/x-www-form-urlencoded", bytes.NewReader([]byte(url.Values{"Action": {"GetUser"}, "Version": {"2010-05-08"}}.Encode())))
	mustOK(t, "unsigned", err)
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("unsigned request: %d", resp.StatusCode)
	}
}

func TestExpiredSession(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	// a wide skew window so the simulated clock can run ahead of the signing clock
	s, root, roleArn := fixture(t, Options{Now: clock.Now, ClockSkew: 2 * time.Hour})
	out := assume(t, root, &sts.AssumeRoleInput{RoleArn: aws.String(roleArn), RoleSessionName: aws.String("sess"), DurationSeconds: aws.Int32(900)})
	sess := newClient(s, sessCreds(out.Credentials), nil)
	mustOK(t, "session put", putObj(sess, "a", "k", "v"))
	clock.Add(899 * time.Second)
	_, err := sess.sts.GetCallerIdentity(ctx, nil)
	mustOK(t, "session valid before expiry", err)
	clock.Add(2 * time.Second)
	_, err = sess.sts.GetCallerIdentity(ctx, nil)
	wantCode(t, "expired session", err, "ExpiredToken")
	_, err = sess.s3.ListBuckets(ctx, nil)
	wantCode(t, "expired session s3", err, "ExpiredToken")
	if n := s.Counts().ActiveSessions; n != 0 {
		t.Fatalf("active sessions %d", n)
	}
}
