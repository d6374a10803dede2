package awssim

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

func TestS3Operations(t *testing.T) {
	s, root, _ := fixture(t, Options{})
	mustOK(t, "put", putObj(root, "a", "b/1.txt", "one", func(in *s3.PutObjectInput) {
		in.ContentType = aws.String("text/plain")
		in.Metadata = map[string]string{"task": "etl"}
	}))
	mustOK(t, "put", putObj(root, "a", "b/2.txt", "two"))
	mustOK(t, "put", putObj(root, "a", "c/3.txt", "three"))
	mustOK(t, "put", putObj(root, "a", "top.txt", "top"))
	got, err := getObj(root, "a", "b/1.txt")
	mustOK(t, "get", err)
	if got != "one" {
		t.Fatalf("get %q", got)
	}
	ho, err := root.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("a"), Key: aws.String("b/1.txt")})
	mustOK(t, "head", err)
	if aws.ToString(ho.ContentType) != "text/plain" || ho.Metadata["task"] != "etl" || aws.ToInt64(ho.ContentLength) != 3 {
		t.Fatalf("head %+v", ho)
	}
	_, err = root.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("c"), Key: aws.String("copy.txt"), CopySource: aws.String("a/b/2.txt")})
	mustOK(t, "copy", err)
	if b, _ := s.Object("c", "copy.txt"); string(b) != "two" {
		t.Fatalf("copied %q", b)
	}
	lo, err := root.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("a"), Delimiter: aws.String("/")})
	mustOK(t, "list", err)
	if len(lo.Contents) != 1 || aws.ToString(lo.Contents[0].Key) != "top.txt" || len(lo.CommonPrefixes) != 2 || aws.ToString(lo.CommonPrefixes[0].Prefix) != "b/" {
		t.Fatalf("list delimiter: %+v %+v", lo.Contents, lo.CommonPrefixes)
	}
	lo, err = root.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("a"), Prefix: aws.String("b/")})
	mustOK(t, "list prefix", err)
	if aws.ToInt32(lo.KeyCount) != 2 {
		t.Fatalf("list prefix: %d", aws.ToInt32(lo.KeyCount))
	}
	// paging
	var keys []string
	p := s3.NewListObjectsV2Paginator(root.s3, &s3.ListObjectsV2Input{Bucket: aws.String("a"), MaxKeys: aws.Int32(1)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		mustOK(t, "page", err)
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	if strings.Join(keys, ",") != "b/1.txt,b/2.txt,c/3.txt,top.txt" {
		t.Fatalf("paged keys %v", keys)
	}
	// keys and prefixes that need escaping in the path and the query (signature canonical forms)
	odd := "odd/with space+plus~tilde*star=eq&amp/ü.txt"
	mustOK(t, "put odd key", putObj(root, "a", odd, "odd"))
	got, err = getObj(root, "a", odd)
	mustOK(t, "get odd key", err)
	lo, err = root.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("a"), Prefix: aws.String("odd/with space+plus~tilde*")})
	mustOK(t, "list odd prefix", err)
	if len(lo.Contents) != 1 || aws.ToString(lo.Contents[0].Key) != odd || got != "odd" {
		t.Fatalf("odd key listing %+v", lo.Contents)
	}
	_, err = root.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("c"), Key: aws.String("odd copy"), CopySource: aws.String("a/" + url.PathEscape(odd))})
	mustOK(t, "copy odd key (URL-encoded copy source)", err)
	_, err = root.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("a"), Key: aws.String(odd)})
	mustOK(t, "delete odd", err)
	_, err = root.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("a"), Key: aws.String("top.txt")})
	mustOK(t, "delete", err)
	_, err = getObj(root, "a", "top.txt")
	wantCode(t, "get deleted", err, "NoSuchKey")
	_, err = getObj(root, "nosuchbucket", "x")
	wantCode(t, "no bucket", err, "NoSuchBucket")
	lb, err := root.s3.ListBuckets(ctx, &s3.ListBucketsInput{})
	mustOK(t, "ListBuckets", err)
	if len(lb.Buckets) != 2 || aws.ToString(lb.Buckets[0].Name) != "a" {
		t.Fatalf("buckets %+v", lb.Buckets)
	}
	_, err = root.s3.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{
		Bucket: aws.String("a"),
		LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: []s3types.LifecycleRule{{
			ID: aws.String("expire"), Status: s3types.ExpirationStatusEnabled,
			Filter:     &s3types.LifecycleRuleFilter{Prefix: aws.String("b/")},
			Expiration: &s3types.LifecycleExpiration{Days: aws.Int32(1)},
		}}},
	})
	mustOK(t, "PutBucketLifecycleConfiguration", err)
	// bucket policy: explicit deny on c/* applies to everyone
	_, err = root.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("a"), Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::a/c/*"}]}`)})
	mustOK(t, "PutBucketPolicy", err)
	_, err = getObj(root, "a", "c/3.txt")
	wantCode(t, "bucket policy deny", err, "AccessDenied")
	_, err = root.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("a"), Policy: aws.String(`not json`)})
	wantCode(t, "malformed bucket policy", err, "MalformedPolicy")
}

// sessionFor assumes role etl with a session policy and returns a client for it.
func sessionFor(t *testing.T, s *Sim, root *client, name, policy string, tags map[string]string, hdr map[string]string) (*client, *sts.AssumeRoleOutput) {
	t.Helper()
	in := &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/etl"), RoleSessionName: aws.String(name), DurationSeconds: aws.Int32(900)}
	if policy != "" {
		in.Policy = aws.String(policy)
	}
	for k, v := range tags {
		in.Tags = append(in.Tags, ststypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	out := assume(t, root, in)
	return newClient(s, sessCreds(out.Credentials), hdr), out
}

const abSessionPolicy = `{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::a/b/*"},
 {"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::a","Condition":{"StringLike":{"s3:prefix":"b/*"}}},
 {"Effect":"Deny","Action":["s3:PutObject"],"Resource":"*","Condition":{"Null":{"s3:x-amz-server-side-encryption-customer-algorithm":"false"}}},
 {"Effect":"Deny","Action":["iam:*","sts:*","lambda:CreateFunction","s3:PutLifecycleConfiguration","s3:PutBucketPolicy"],"Resource":"*"}]}`

func ssecKey() (string, string) {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return base64.StdEncoding.EncodeToString(k), "AES256"
}

func TestSessionPolicyIntersection(t *testing.T) {
	s, root, _ := fixture(t, Options{})
	// give the role more than s3 so the session policy is what narrows it
	_, err := root.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("etl"), PolicyName: aws.String("admin"), PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","lambda:*"],"Resource":"*"}]}`)})
	mustOK(t, "PutRolePolicy", err)
	s.PutObject("a", "c/secret.txt", []byte("secret"))
	s.PutObject("c", "x.txt", []byte("x"))
	sess, _ := sessionFor(t, s, root, "cred-ab", abSessionPolicy, nil, nil)

	mustOK(t, "put a/b", putObj(sess, "a", "b/file.txt", "data"))
	got, err := getObj(sess, "a", "b/file.txt")
	mustOK(t, "get a/b", err)
	if got != "data" {
		t.Fatalf("got %q", got)
	}
	_, err = getObj(sess, "a", "b/missing.txt")
	wantCode(t, "missing key with ListBucket on prefix", err, "NoSuchKey")
	_, err = sess.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("a"), Prefix: aws.String("b/")})
	mustOK(t, "list a/b/", err)
	_, err = sess.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("a"), Prefix: aws.String("c/")})
	wantCode(t, "list a/c/", err, "AccessDenied")
	_, err = sess.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("a")})
	wantCode(t, "list a without prefix", err, "AccessDenied")
	_, err = getObj(sess, "a", "c/secret.txt")
	wantCode(t, "get a/c", err, "AccessDenied")
	wantCode(t, "put a/c", putObj(sess, "a", "c/new.txt", "x"), "AccessDenied")
	_, err = getObj(sess, "c", "x.txt")
	wantCode(t, "get bucket c", err, "AccessDenied")
	wantCode(t, "put bucket c", putObj(sess, "c", "b/x.txt", "x"), "AccessDenied")
	_, err = sess.s3.ListBuckets(ctx, &s3.ListBucketsInput{})
	wantCode(t, "ListAllMyBuckets", err, "AccessDenied")
	_, err = sess.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("a"), Key: aws.String("b/file.txt")})
	wantCode(t, "delete not granted", err, "AccessDenied")
	_, err = sess.s3.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String("a"), LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: []s3types.LifecycleRule{{ID: aws.String("x"), Status: s3types.ExpirationStatusEnabled, Filter: &s3types.LifecycleRuleFilter{Prefix: aws.String("")}, Expiration: &s3types.LifecycleExpiration{Days: aws.Int32(1)}}}}})
	wantCode(t, "lifecycle", err, "AccessDenied")
	_, err = sess.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("evil"), AssumeRolePolicyDocument: aws.String(trustAccount)})
	wantCode(t, "iam:CreateRole", err, "AccessDenied")
	if !strings.Contains(err.Error(), "explicit deny in a session policy") {
		t.Fatalf("message %v", err)
	}
	_, err = sess.lam.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("evil"), Role: aws.String("arn:aws:iam::123456789012:role/etl"), Runtime: lambdatypes.RuntimePython312, Handler: aws.String("h"), Code: &lambdatypes.FunctionCode{ZipFile: []byte("zip")}})
	wantCode(t, "lambda:CreateFunction", err, "AccessDeniedException")
	if httpStatus(err) != 403 {
		t.Fatalf("lambda status %d", httpStatus(err))
	}

	// SSE-C writes are denied, for Put and for Copy
	key, alg := ssecKey()
	err = putObj(sess, "a", "b/enc.txt", "x", func(in *s3.PutObjectInput) {
		in.SSECustomerAlgorithm, in.SSECustomerKey = aws.String(alg), aws.String(key)
	})
	wantCode(t, "put with SSE-C", err, "AccessDenied")
	_, err = sess.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("a"), Key: aws.String("b/copy.txt"), CopySource: aws.String("a/b/file.txt"), SSECustomerAlgorithm: aws.String(alg), SSECustomerKey: aws.String(key)})
	wantCode(t, "copy with SSE-C", err, "AccessDenied")
	_, err = sess.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("a"), Key: aws.String("b/copy.txt"), CopySource: aws.String("a/b/file.txt")})
	mustOK(t, "copy inside a/b without SSE-C", err)
	_, err = sess.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("a"), Key: aws.String("b/leak.txt"), CopySource: aws.String("a/c/secret.txt")})
	wantCode(t, "copy from a/c", err, "AccessDenied")
	if _, ok := s.Object("a", "b/enc.txt"); ok {
		t.Fatal("denied SSE-C put stored an object")
	}

	// the role itself (no session policy) may use SSE-C; reading needs the key
	full, _ := sessionFor(t, s, root, "full", "", nil, nil)
	mustOK(t, "SSE-C put without session policy", putObj(full, "a", "enc/x", "secret", func(in *s3.PutObjectInput) {
		in.SSECustomerAlgorithm, in.SSECustomerKey = aws.String(alg), aws.String(key)
	}))
	_, err = getObj(full, "a", "enc/x")
	wantCode(t, "get SSE-C object without key", err, "InvalidRequest")
	out, err := full.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("a"), Key: aws.String("enc/x"), SSECustomerAlgorithm: aws.String(alg), SSECustomerKey: aws.String(key)})
	mustOK(t, "get SSE-C with key", err)
	out.Body.Close()
}

func TestRoleInlineDenyBySession(t *testing.T) {
	s, root, _ := fixture(t, Options{})
	s1, o1 := sessionFor(t, s, root, "cred-1", "", map[string]string{"nhi:credential": "c1"}, nil)
	s2, _ := sessionFor(t, s, root, "cred-2", "", map[string]string{"nhi:credential": "c2"}, nil)
	s3c, _ := sessionFor(t, s, root, "cred-3", "", map[string]string{"nhi:credential": "c3"}, nil)
	cutoff := time.Now().UTC().Add(time.Second).Format(time.RFC3339)
	all := []*client{s1, s2, s3c}
	check := func(step string, want ...bool) {
		t.Helper()
		for i, c := range all {
			err := putObj(c, "a", "k", "v")
			if (err == nil) != want[i] {
				t.Fatalf("%s: session %d allowed=%v want %v (%v)", step, i+1, err == nil, want[i], err)
			}
		}
	}
	check("before", true, true, true)
	put := func(doc string) {
		_, err := root.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("etl"), PolicyName: aws.String("nhi-revoked"), PolicyDocument: aws.String(doc)})
		mustOK(t, "PutRolePolicy", err)
	}
	put(fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:userid":[%q]}}}]}`, aws.ToString(o1.AssumedRoleUser.AssumedRoleId)))
	check("deny by aws:userid", false, true, true)
	put(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/nhi:credential":["c2"]}}}]}`)
	check("deny by principal tag", true, false, true)
	put(fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":%q}}}]}`, cutoff))
	check("deny by token issue time", false, false, false)
	time.Sleep(1100 * time.Millisecond)
	s4, _ := sessionFor(t, s, root, "cred-4", "", nil, nil)
	mustOK(t, "session issued after the cutoff", putObj(s4, "a", "k", "v"))
	_, err := root.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("etl"), PolicyName: aws.String("nhi-revoked")})
	mustOK(t, "DeleteRolePolicy", err)
	check("after removal", true, true, true)
}

func TestSourceIPBinding(t *testing.T) {
	s, root, _ := fixture(t, Options{TrustSourceIPHeader: true})
	pol := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.5/32"}}}]}`
	in := &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/etl"), RoleSessionName: aws.String("ip"), Policy: aws.String(pol)}
	out := assume(t, root, in)
	good := newClient(s, sessCreds(out.Credentials), map[string]string{"X-Sim-Source-Ip": "10.0.0.5"})
	bad := newClient(s, sessCreds(out.Credentials), map[string]string{"X-Sim-Source-Ip": "10.0.0.6"})
	loop := newClient(s, sessCreds(out.Credentials), nil)
	mustOK(t, "from bound address", putObj(good, "a", "k", "v"))
	wantCode(t, "from other address", putObj(bad, "a", "k", "v"), "AccessDenied")
	wantCode(t, "from loopback", putObj(loop, "a", "k", "v"), "AccessDenied")
	// without the option the header is ignored
	s2, root2, _ := fixture(t, Options{})
	out2 := assume(t, root2, in)
	spoof := newClient(s2, sessCreds(out2.Credentials), map[string]string{"X-Sim-Source-Ip": "10.0.0.5"})
	wantCode(t, "header ignored unless enabled", putObj(spoof, "a", "k", "v"), "AccessDenied")
	ev := s.Events()
	if last := ev[len(ev)-1]; last.SourceIPAddress != "127.0.0.1" || last.ErrorCode != "AccessDenied" {
		t.Fatalf("last event %+v", last)
	}
}

func TestLambdaCreateFunction(t *testing.T) {
	s, root, roleArn := fixture(t, Options{})
	in := &lambda.CreateFunctionInput{FunctionName: aws.String("fn"), Role: aws.String(roleArn), Runtime: lambdatypes.RuntimePython312, Handler: aws.String("app.handler"), Code: &lambdatypes.FunctionCode{ZipFile: []byte("PK-zip")}}
	out, err := root.lam.CreateFunction(ctx, in)
	mustOK(t, "CreateFunction", err)
	if aws.ToString(out.FunctionArn) != "arn:aws:lambda:us-east-1:123456789012:function:fn" || out.State != lambdatypes.StatePending {
		t.Fatalf("function %+v", out)
	}
	_, err = root.lam.CreateFunction(ctx, in)
	wantCode(t, "duplicate", err, "ResourceConflictException")
	sess, _ := sessionFor(t, s, root, "nolambda", "", nil, nil)
	in.FunctionName = aws.String("fn2")
	_, err = sess.lam.CreateFunction(ctx, in)
	wantCode(t, "session without lambda permission", err, "AccessDeniedException")
	if got := s.Functions(); len(got) != 1 {
		t.Fatalf("functions %v", got)
	}
}

func TestTLSAndAWSChunked(t *testing.T) {
	s := New(Options{Buckets: []string{"a"}}).StartTLS()
	t.Cleanup(s.Close)
	if !strings.HasPrefix(s.URL(), "https://") {
		t.Fatalf("url %s", s.URL())
	}
	id, secret := s.RootCredentials()
	cl := s3.New(s3.Options{Region: "us-east-1", Credentials: newClient(s, creds{id: id, secret: secret}, nil).s3.Options().Credentials, BaseEndpoint: aws.String(s.URL()), UsePathStyle: true, Retryer: netClosedRetryer(), HTTPClient: s.TLSClient()})
	body := strings.Repeat("chunked payload ", 5000)
	_, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("a"), Key: aws.String("seekable.txt"), Body: strings.NewReader(body)})
	mustOK(t, "PutObject over TLS (UNSIGNED-PAYLOAD)", err)
	if got, _ := s.Object("a", "seekable.txt"); string(got) != body {
		t.Fatalf("stored %d bytes, want %d", len(got), len(body))
	}
	// over TLS the SDK does not sign the payload
	var seen string
	for _, e := range s.Events() {
		if e.EventName == "PutObject" {
			seen, _ = e.RequestParameters["x-amz-content-sha256"].(string)
		}
	}
	if seen != "UNSIGNED-PAYLOAD" {
		t.Fatalf("payload mode %q", seen)
	}
	// aws:SecureTransport is true over TLS
	mustOK(t, "CreateRole", func() error {
		_, err := s.CreateRole("tls", trustAccount, map[string]string{"p": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}`}, 0)
		return err
	}())
	st := sts.New(sts.Options{Region: "us-east-1", Credentials: cl.Options().Credentials, BaseEndpoint: aws.String(s.URL()), Retryer: netClosedRetryer(), HTTPClient: s.TLSClient()})
	out, err := st.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/tls"), RoleSessionName: aws.String("tls")})
	mustOK(t, "AssumeRole", err)
	sc := sessCreds(out.Credentials)
	sess := s3.New(s3.Options{Region: "us-east-1", Credentials: newClient(s, sc, nil).s3.Options().Credentials, BaseEndpoint: aws.String(s.URL()), UsePathStyle: true, Retryer: netClosedRetryer(), HTTPClient: s.TLSClient()})
	_, err = sess.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("a"), Key: aws.String("secure.txt"), Body: strings.NewReader("x")})
	mustOK(t, "secure-transport-only policy over TLS", err)
}

func TestAWSChunkedUpload(t *testing.T) {
	s := newSim(t, Options{Buckets: []string{"a"}})
	id, secret := s.RootCredentials()
	payload := strings.Repeat("0123456789", 1000)
	var b strings.Builder
	for i := 0; i < len(payload); i += 4096 {
		end := i + 4096
		if end > len(payload) {
			end = len(payload)
		}
		fmt.Fprintf(&b, "%x\r\n%s\r\n", end-i, payload[i:end])
	}
	crc := make([]byte, 4)
	binary.BigEndian.PutUint32(crc, crc32.ChecksumIEEE([]byte(payload)))
	good := base64.StdEncoding.EncodeToString(crc)
	send := func(key, checksum string) int {
		body := b.String() + "0\r\nx-amz-checksum-crc32:" + checksum + "\r\n\r\n"
		req, _ := http.NewRequest("PUT", s.URL()+"/a/"+key, strings.NewReader(body))
		req.Header.Set("Content-Encoding", "aws-chunked")
		req.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(len(payload)))
		req.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
		req.Header.Set("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
		err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(ctx, aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, req, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "s3", "us-east-1", time.Now())
		mustOK(t, "sign", err)
		resp, err := http.DefaultClient.Do(req)
		mustOK(t, "send", err)
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := send("chunked.txt", good); st != 200 {
		t.Fatalf("aws-chunked upload: %d", st)
	}
	if got, _ := s.Object("a", "chunked.txt"); string(got) != payload {
		t.Fatalf("decoded %d bytes", len(got))
	}
	if st := send("bad.txt", "AAAAAA=="); st != 400 {
		t.Fatalf("bad trailing checksum accepted: %d", st)
	}
}

func TestPrincipalTagsIncludeRoleTags(t *testing.T) {
	s := newSim(t, Options{Buckets: []string{"a"}, Roles: []SeedRole{{
		Name: "tagged", TrustPolicy: trustAccount, Tags: map[string]string{"team": "data", "env": "prod"},
		InlinePolicies: map[string]string{"p": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"data","aws:PrincipalTag/env":"dev"}}}]}`},
	}}})
	root := rootClient(s)
	in := &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/tagged"), RoleSessionName: aws.String("t1")}
	plain := newClient(s, sessCreds(assume(t, root, in).Credentials), nil)
	wantCode(t, "role tag env=prod", putObj(plain, "a", "k", "v"), "AccessDenied")
	in.RoleSessionName = aws.String("t2")
	in.Tags = []ststypes.Tag{{Key: aws.String("env"), Value: aws.String("dev")}}
	over := newClient(s, sessCreds(assume(t, root, in).Credentials), nil)
	mustOK(t, "session tag overrides role tag", putObj(over, "a", "k", "v"))
}
