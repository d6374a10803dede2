package awssim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
)

var ctx = context.Background()

type creds struct{ id, secret, token string }

// client bundles SDK clients for one set of credentials.
type client struct {
	sts *sts.Client
	iam *iam.Client
	s3  *s3.Client
	ct  *cloudtrail.Client
	lam *lambda.Client
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

// newClient builds real SDK clients against the simulator. extraHeaders are added after
// signing (like a proxy would), e.g. X-Sim-Source-Ip.
func newClient(s *Sim, c creds, extraHeaders map[string]string) *client {
	cp := credentials.NewStaticCredentialsProvider(c.id, c.secret, c.token)
	// a private transport per client bundle: httptest.Server.Close closes idle
	// connections of http.DefaultTransport, which must not disturb other clients.
	var rt http.RoundTripper = http.DefaultTransport.(*http.Transport).Clone()
	if len(extraHeaders) > 0 {
		rt = headerRT{extraHeaders, rt}
	}
	hc := &http.Client{Transport: rt}
	ep := aws.String(s.URL())
	region := "us-east-1"
	rt1 := netClosedRetryer()
	out := &client{
		sts: sts.New(sts.Options{Region: region, Credentials: cp, BaseEndpoint: ep, Retryer: rt1, HTTPClient: httpClientOrNil(hc)}),
		iam: iam.New(iam.Options{Region: region, Credentials: cp, BaseEndpoint: ep, Retryer: rt1, HTTPClient: httpClientOrNil(hc)}),
		s3:  s3.New(s3.Options{Region: region, Credentials: cp, BaseEndpoint: ep, Retryer: rt1, UsePathStyle: true, HTTPClient: httpClientOrNil(hc)}),
		ct:  cloudtrail.New(cloudtrail.Options{Region: region, Credentials: cp, BaseEndpoint: ep, Retryer: rt1, HTTPClient: httpClientOrNil(hc)}),
		lam: lambda.New(lambda.Options{Region: region, Credentials: cp, BaseEndpoint: ep, Retryer: rt1, HTTPClient: httpClientOrNil(hc)}),
	}
	return out
}

// httpClientOrNil avoids storing a typed nil in the SDK's HTTPClient interface.
func httpClientOrNil(hc *http.Client) interface {
	Do(*http.Request) (*http.Response, error)
} {
	if hc == nil {
		return &http.Client{}
	}
	return hc
}

// netClosedRetryer retries nothing but net.ErrClosed: the SDK's smithy HTTP client can
// close a request body while net/http's write loop still owns the connection, which
// surfaces as "use of closed network connection" on a 200 response (aws-sdk-go-v2#2737;
// the SDK's default retryer retries it since #2949). Tests want every AWS error on the
// first attempt, so only that transport race is retried.
func netClosedRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 3
		o.Retryables = []retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			if errors.Is(err, net.ErrClosed) {
				return aws.TrueTernary
			}
			return aws.FalseTernary
		})}
	})
}

func rootClient(s *Sim) *client {
	id, secret := s.RootCredentials()
	return newClient(s, creds{id: id, secret: secret}, nil)
}

func sessCreds(c *ststypes.Credentials) creds {
	return creds{aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)}
}

// code returns the AWS error code of err ("" for nil).
func code(err error) string {
	if err == nil {
		return ""
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return "non-API error: " + err.Error()
}

func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func wantCode(t *testing.T, what string, err error, want string) {
	t.Helper()
	if got := code(err); got != want {
		t.Fatalf("%s: got error code %q (%v), want %q", what, got, err, want)
	}
}

func mustOK(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func newSim(t *testing.T, o Options) *Sim {
	t.Helper()
	s := New(o).Start()
	t.Cleanup(s.Close)
	return s
}

func putObj(c *client, b, k, body string, opt ...func(*s3.PutObjectInput)) error {
	in := &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(k), Body: strings.NewReader(body)}
	for _, o := range opt {
		o(in)
	}
	_, err := c.s3.PutObject(ctx, in)
	return err
}

func getObj(c *client, b, k string) (string, error) {
	out, err := c.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(k)})
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	return string(data), err
}

var _ = bytes.NewReader
