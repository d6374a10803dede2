package awssim

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

type testIssuer struct {
	url     string
	signers map[jose.SignatureAlgorithm]jose.Signer
}

func newIssuer(t *testing.T) *testIssuer {
	t.Helper()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	keys := map[jose.SignatureAlgorithm]any{jose.ES256: ec, jose.EdDSA: ed, jose.RS256: rk}
	set := jose.JSONWebKeySet{}
	is := &testIssuer{signers: map[jose.SignatureAlgorithm]jose.Signer{}}
	for alg, k := range keys {
		kid := "kid-" + string(alg)
		sg, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: k}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
		mustOK(t, "signer", err)
		is.signers[alg] = sg
		var pub any
		switch kk := k.(type) {
		case *ecdsa.PrivateKey:
			pub = &kk.PublicKey
		case ed25519.PrivateKey:
			pub = kk.Public()
		case *rsa.PrivateKey:
			pub = &kk.PublicKey
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: string(alg), Use: "sig"})
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(srv.Close)
	is.url = srv.URL
	return is
}

func (is *testIssuer) token(t *testing.T, alg jose.SignatureAlgorithm, iss, sub, aud string, exp time.Time, extra map[string]any) string {
	t.Helper()
	b := jwt.Signed(is.signers[alg]).Claims(jwt.Claims{Issuer: iss, Subject: sub, Audience: jwt.Audience{aud}, Expiry: jwt.NewNumericDate(exp), IssuedAt: jwt.NewNumericDate(time.Now())})
	if extra != nil {
		b = b.Claims(extra)
	}
	tok, err := b.Serialize()
	mustOK(t, "sign jwt", err)
	return tok
}

func TestAssumeRoleWithWebIdentity(t *testing.T) {
	is := newIssuer(t)
	issuer := "https://vault.example:8200/v1/nhi"
	s, _, _ := fixture(t, Options{OIDCProviders: []OIDCProvider{{IssuerURL: issuer, Audiences: []string{"sts.amazonaws.com"}, JWKSURL: is.url}}})
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/vault.example:8200/v1/nhi"},"Action":["sts:AssumeRoleWithWebIdentity","sts:TagSession"],"Condition":{"StringEquals":{"vault.example:8200/v1/nhi:aud":"sts.amazonaws.com","vault.example:8200/v1/nhi:sub":"engine"}}}]}`
	roleArn, err := s.CreateRole("engine-root", trust, map[string]string{"all": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`}, 0)
	mustOK(t, "CreateRole", err)
	// AssumeRoleWithWebIdentity is unsigned: anonymous credentials
	anon := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.URL()), Retryer: netClosedRetryer()})
	call := func(tok string) (*sts.AssumeRoleWithWebIdentityOutput, error) {
		return anon.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(roleArn), RoleSessionName: aws.String("engine"), WebIdentityToken: aws.String(tok)})
	}
	exp := time.Now().Add(5 * time.Minute)
	for _, alg := range []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA, jose.RS256} {
		out, err := call(is.token(t, alg, issuer, "engine", "sts.amazonaws.com", exp, nil))
		mustOK(t, "web identity "+string(alg), err)
		if aws.ToString(out.SubjectFromWebIdentityToken) != "engine" || aws.ToString(out.Audience) != "sts.amazonaws.com" || aws.ToString(out.AssumedRoleUser.Arn) != "arn:aws:sts::123456789012:assumed-role/engine-root/engine" {
			t.Fatalf("%s: %+v", alg, out)
		}
		c := newClient(s, sessCreds(out.Credentials), nil)
		_, err = c.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("etl")})
		mustOK(t, "use web identity session", err)
	}
	tags := map[string]any{"https://aws.amazon.com/tags": map[string]any{"principal_tags": map[string][]string{"team": {"nhi"}}}}
	_, err = call(is.token(t, jose.ES256, issuer, "engine", "sts.amazonaws.com", exp, tags))
	mustOK(t, "session tags from the token", err)

	_, err = call(is.token(t, jose.ES256, issuer, "engine", "other-aud", exp, nil))
	wantCode(t, "wrong audience", err, "InvalidIdentityToken")
	_, err = call(is.token(t, jose.ES256, issuer, "engine", "sts.amazonaws.com", time.Now().Add(-time.Minute), nil))
	wantCode(t, "expired token", err, "ExpiredTokenException")
	_, err = call(is.token(t, jose.ES256, "https://evil.example", "engine", "sts.amazonaws.com", exp, nil))
	wantCode(t, "unknown issuer", err, "InvalidIdentityToken")
	_, err = call(is.token(t, jose.ES256, issuer, "someone-else", "sts.amazonaws.com", exp, nil))
	wantCode(t, "trust policy sub condition", err, "AccessDenied")
	other := newIssuer(t) // same kids, different keys: signature must fail
	_, err = call(other.token(t, jose.ES256, issuer, "engine", "sts.amazonaws.com", exp, nil))
	wantCode(t, "forged signature", err, "InvalidIdentityToken")
	_, err = call("not-a-jwt")
	wantCode(t, "garbage token", err, "InvalidIdentityToken")
}

func TestCloudTrailLookupEvents(t *testing.T) {
	s, root, _ := fixture(t, Options{})
	sess, out := sessionFor(t, s, root, "audit-me", abSessionPolicy, nil, nil)
	// the provider tags SourceIdentity; use AssumeRole with it to check sessionContext
	out2, err := root.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/etl"), RoleSessionName: aws.String("with-si"), SourceIdentity: aws.String("workload-7")})
	mustOK(t, "AssumeRole", err)
	si := newClient(s, sessCreds(out2.Credentials), nil)
	mustOK(t, "si put", putObj(si, "a", "x/y", "z"))

	mustOK(t, "put", putObj(sess, "a", "b/ok.txt", "v"))
	wantCode(t, "denied put", putObj(sess, "a", "c/denied.txt", "v"), "AccessDenied")
	akid := aws.ToString(out.Credentials.AccessKeyId)

	le, err := root.ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyAccessKeyId, AttributeValue: aws.String(akid)}}})
	mustOK(t, "LookupEvents", err)
	if len(le.Events) != 2 {
		t.Fatalf("events for session: %d", len(le.Events))
	}
	denied := le.Events[0] // newest first
	if aws.ToString(denied.EventName) != "PutObject" || aws.ToString(denied.EventSource) != "s3.amazonaws.com" || aws.ToString(denied.ReadOnly) != "false" {
		t.Fatalf("denied event %+v", denied)
	}
	var rec map[string]any
	mustOK(t, "CloudTrailEvent JSON", json.Unmarshal([]byte(aws.ToString(denied.CloudTrailEvent)), &rec))
	if rec["errorCode"] != "AccessDenied" || rec["eventCategory"] != "Data" || rec["sourceIPAddress"] != "127.0.0.1" {
		t.Fatalf("record %v", rec)
	}
	ui := rec["userIdentity"].(map[string]any)
	if ui["type"] != "AssumedRole" || ui["accessKeyId"] != akid || ui["arn"] != "arn:aws:sts::123456789012:assumed-role/etl/audit-me" {
		t.Fatalf("userIdentity %v", ui)
	}
	rp := rec["requestParameters"].(map[string]any)
	if rp["bucketName"] != "a" || rp["key"] != "c/denied.txt" {
		t.Fatalf("requestParameters %v", rp)
	}
	if len(denied.Resources) == 0 || aws.ToString(denied.Resources[0].ResourceName) != "arn:aws:s3:::a/c/denied.txt" {
		t.Fatalf("resources %+v", denied.Resources)
	}
	// sourceIdentity in the session context
	le, err = root.ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyUsername, AttributeValue: aws.String("with-si")}}})
	mustOK(t, "LookupEvents by username", err)
	if len(le.Events) != 1 || !strings.Contains(aws.ToString(le.Events[0].CloudTrailEvent), `"sourceIdentity":"workload-7"`) {
		t.Fatalf("source identity events %+v", le.Events)
	}
	// by event name and resource name
	le, err = root.ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("AssumeRole")}}})
	mustOK(t, "by event name", err)
	if len(le.Events) != 2 || aws.ToString(le.Events[0].Username) != "nhi-root" {
		t.Fatalf("AssumeRole events %+v", le.Events)
	}
	le, err = root.ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyResourceName, AttributeValue: aws.String("arn:aws:s3:::a/b/ok.txt")}}})
	mustOK(t, "by resource name", err)
	if len(le.Events) != 1 {
		t.Fatalf("resource events %d", len(le.Events))
	}
	// paging: 60 more calls, then walk with MaxResults 7
	for i := 0; i < 60; i++ {
		_, _ = sess.sts.GetCallerIdentity(ctx, nil)
	}
	total := len(s.Events())
	seen := map[string]bool{}
	var last time.Time
	p := cloudtrail.NewLookupEventsPaginator(root.ct, &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(7), StartTime: aws.Time(time.Now().Add(-time.Hour)), EndTime: aws.Time(time.Now().Add(time.Minute))})
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		pages++
		for _, e := range page.Events {
			if seen[aws.ToString(e.EventId)] {
				t.Fatalf("duplicate event across pages")
			}
			seen[aws.ToString(e.EventId)] = true
			if !last.IsZero() && e.EventTime.After(last) {
				t.Fatalf("not newest first")
			}
			last = aws.ToTime(e.EventTime)
		}
	}
	// the lookups themselves are recorded too, but after the first page was computed
	if len(seen) < total || pages < total/7 {
		t.Fatalf("paged %d events in %d pages, recorded %d before paging", len(seen), pages, total)
	}
	_, err = root.ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(51)})
	wantCode(t, "MaxResults 51", err, "InvalidMaxResultsException")
	_, err = root.ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{
		{AttributeKey: cttypes.LookupAttributeKeyUsername, AttributeValue: aws.String("a")},
		{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("b")}}})
	wantCode(t, "two lookup attributes", err, "InvalidLookupAttributesException")
	// time window
	le, err = root.ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{StartTime: aws.Time(time.Now().Add(time.Hour)), EndTime: aws.Time(time.Now().Add(2 * time.Hour))})
	mustOK(t, "future window", err)
	if len(le.Events) != 0 {
		t.Fatalf("future window returned %d", len(le.Events))
	}
	// a session without cloudtrail permission
	_, err = sess.ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{})
	wantCode(t, "LookupEvents denied", err, "AccessDeniedException")
}
