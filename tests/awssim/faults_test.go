package awssim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func TestFaultKinds(t *testing.T) {
	s, root, roleArn := fixture(t, Options{})
	type tc struct {
		name   string
		spec   FaultSpec
		call   func() error
		code   string
		status int
	}
	gci := func() error { _, err := root.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); return err }
	getUser := func() error { _, err := root.iam.GetUser(ctx, &iam.GetUserInput{}); return err }
	list := func() error { _, err := root.s3.ListBuckets(ctx, &s3.ListBucketsInput{}); return err }
	lookup := func() error { _, err := root.ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{}); return err }
	createFn := func() error {
		_, err := root.lam.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("f"), Role: aws.String(roleArn), Runtime: lambdatypes.RuntimePython312, Handler: aws.String("h"), Code: &lambdatypes.FunctionCode{ZipFile: []byte("z")}})
		return err
	}
	cases := []tc{
		{"sts throttling", FaultSpec{Service: "sts", Kind: FaultThrottle}, gci, "Throttling", 400},
		{"iam throttling", FaultSpec{Service: "iam", Operation: "GetUser", Kind: FaultThrottle}, getUser, "Throttling", 400},
		{"s3 slowdown", FaultSpec{Service: "s3", Kind: FaultThrottle}, list, "SlowDown", 503},
		{"cloudtrail throttling", FaultSpec{Service: "cloudtrail", Kind: FaultThrottle}, lookup, "ThrottlingException", 400},
		{"lambda throttling", FaultSpec{Service: "lambda", Kind: FaultThrottle}, createFn, "TooManyRequestsException", 429},
		{"iam unavailable", FaultSpec{Service: "iam", Kind: FaultUnavailable}, getUser, "ServiceUnavailable", 503},
		{"sts internal", FaultSpec{Service: "sts", Kind: FaultInternal}, gci, "InternalFailure", 500},
		{"s3 internal", FaultSpec{Service: "s3", Kind: FaultInternal}, list, "InternalError", 500},
		{"cloudtrail unavailable", FaultSpec{Service: "cloudtrail", Kind: FaultUnavailable}, lookup, "ServiceUnavailableException", 503},
		{"custom error", FaultSpec{Service: "iam", Kind: FaultError, Status: 409, Code: "ConcurrentModification", Message: "busy"}, getUser, "ConcurrentModification", 409},
	}
	for _, c := range cases {
		id := s.InjectFault(c.spec)
		err := c.call()
		wantCode(t, c.name, err, c.code)
		if st := httpStatus(err); st != c.status {
			t.Fatalf("%s: status %d want %d", c.name, st, c.status)
		}
		if s.FaultsFired(id) != 1 {
			t.Fatalf("%s: fired %d", c.name, s.FaultsFired(id))
		}
		s.RemoveFault(id)
		mustOK(t, c.name+" after removal", c.call())
	}

	// Count limits firings; the SDK's own retryer then succeeds
	retrying := iam.New(iam.Options{Region: "us-east-1", Credentials: root.iam.Options().Credentials, BaseEndpoint: aws.String(s.URL()), RetryMaxAttempts: 3})
	s.InjectFault(FaultSpec{Service: "iam", Operation: "GetUser", Kind: FaultThrottle, Count: 2})
	_, err := retrying.GetUser(ctx, &iam.GetUserInput{})
	mustOK(t, "SDK retries through 2 throttles", err)
	s.ClearFaults()

	// latency
	s.InjectFault(FaultSpec{Service: "sts", Kind: FaultLatency, Latency: 300 * time.Millisecond, Count: 1})
	start := time.Now()
	mustOK(t, "latency call", gci())
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("latency not applied: %v", d)
	}
	start = time.Now()
	mustOK(t, "second call", gci())
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Fatalf("latency applied beyond Count: %v", d)
	}
}

func TestFailNthCall(t *testing.T) {
	s, root, _ := fixture(t, Options{})
	// a crash between CreateUser and CreateAccessKey: the first CreateAccessKey fails
	s.InjectFault(FaultSpec{Service: "iam", Operation: "CreateAccessKey", Nth: 2, Kind: FaultInternal})
	for _, u := range []string{"u1", "u2", "u3"} {
		_, err := root.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(u)})
		mustOK(t, "CreateUser", err)
	}
	_, err := root.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("u1")})
	mustOK(t, "1st CreateAccessKey", err)
	_, err = root.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("u2")})
	wantCode(t, "2nd CreateAccessKey", err, "InternalFailure")
	_, err = root.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("u3")})
	mustOK(t, "3rd CreateAccessKey", err)
	keysOf := func(u string) int {
		for _, ui := range s.Users() {
			if ui.Name == u {
				return len(ui.AccessKeys)
			}
		}
		return -1
	}
	if keysOf("u2") != 0 {
		t.Fatalf("failed call created a key")
	}
	// AfterEffect: the key is created but the response is lost
	s.InjectFault(FaultSpec{Service: "iam", Operation: "CreateAccessKey", Nth: 1, Kind: FaultUnavailable, AfterEffect: true})
	_, err = root.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("u2")})
	wantCode(t, "after-effect failure", err, "ServiceUnavailable")
	if keysOf("u2") != 1 {
		t.Fatalf("after-effect fault must still create the key")
	}
	if n := s.OperationCount("iam", "CreateAccessKey"); n != 4 {
		t.Fatalf("operation count %d", n)
	}
	// failed calls are in CloudTrail with their error code
	var codes []string
	for _, e := range s.Events() {
		if e.EventName == "CreateAccessKey" {
			codes = append(codes, e.ErrorCode)
		}
	}
	if strings.Join(codes, ",") != ",InternalFailure,,ServiceUnavailable" {
		t.Fatalf("event error codes %q", codes)
	}
}

func TestAdminEndpoint(t *testing.T) {
	s, root, _ := fixture(t, Options{})
	post := func(path, body string) (int, string) {
		resp, err := http.Post(s.URL()+path, "application/json", bytes.NewBufferString(body))
		mustOK(t, "post", err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	st, body := post("/_sim/faults", `{"service":"iam","operation":"GetUser","kind":"throttle","count":1,"latency":"10ms"}`)
	if st != 200 || !strings.Contains(body, `"id"`) {
		t.Fatalf("inject: %d %s", st, body)
	}
	_, err := root.iam.GetUser(ctx, &iam.GetUserInput{})
	wantCode(t, "fault from admin endpoint", err, "Throttling")
	st, body = post("/_sim/roles", `{"name":"demo","trust_policy":`+jsonString(trustAccount)+`,"inline_policies":{"s3":`+jsonString(allowS3)+`}}`)
	if st != 200 || !strings.Contains(body, "arn:aws:iam::123456789012:role/demo") {
		t.Fatalf("role: %d %s", st, body)
	}
	st, body = post("/_sim/users", `{"name":"svc","inline_policies":{"s3":`+jsonString(allowS3)+`},"keys":[{}]}`)
	if st != 200 || !strings.Contains(body, "AKIA") {
		t.Fatalf("user: %d %s", st, body)
	}
	resp, err := http.Get(s.URL() + "/_sim/state")
	mustOK(t, "state", err)
	var state map[string]any
	mustOK(t, "decode state", json.NewDecoder(resp.Body).Decode(&state))
	resp.Body.Close()
	if state["account_id"] != "123456789012" || state["root_access_key_id"] == "" {
		t.Fatalf("state %v", state)
	}
	req, _ := http.NewRequest(http.MethodDelete, s.URL()+"/_sim/faults", nil)
	resp, err = http.DefaultClient.Do(req)
	mustOK(t, "clear", err)
	resp.Body.Close()
	resp, err = http.Get(s.URL() + "/_sim/events")
	mustOK(t, "events", err)
	var evs []map[string]any
	mustOK(t, "decode events", json.NewDecoder(resp.Body).Decode(&evs))
	resp.Body.Close()
	if len(evs) == 0 || evs[0]["eventTime"] == nil {
		t.Fatalf("events %v", evs)
	}
	// non-loopback callers are refused
	rec := &recorder{h: http.Header{}}
	r, _ := http.NewRequest("GET", "/_sim/state", nil)
	r.RemoteAddr = "10.0.0.1:1234"
	s.Handler().ServeHTTP(rec, r)
	if rec.status != http.StatusForbidden {
		t.Fatalf("non-loopback admin: %d", rec.status)
	}
}

type recorder struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(s int)           { r.status = s }

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
