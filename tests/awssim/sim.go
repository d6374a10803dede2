// Package awssim is an offline AWS simulator for tests and demos: one http.Handler that
// serves STS, IAM, S3 (path-style), CloudTrail and Lambda over their real wire protocols,
// verifies SigV4 signatures with the secrets it issued, evaluates IAM policies for every
// request, records every call for CloudTrail LookupEvents, and can inject faults.
//
// Point the real aws-sdk-go-v2 clients at Sim.URL() with BaseEndpoint (and UsePathStyle
// for S3); nothing else changes.
package awssim

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/tests/internal/simfault"
)

// Options configure a Sim. Zero values give sensible defaults.
type Options struct {
	// AccountID defaults to 123456789012.
	AccountID string
	// Region is reported in ARNs and CloudTrail; defaults to us-east-1.
	Region string
	// RootUserName is the IAM user that owns the seeded root keys; it gets
	// AdministratorAccess. Defaults to "nhi-root".
	RootUserName string
	// RootAccessKeyID / RootSecretAccessKey are the seeded root keys; generated if empty.
	RootAccessKeyID     string
	RootSecretAccessKey string
	// Users, Roles, Policies, Buckets and OIDCProviders are seeded at start.
	Users         []SeedUser
	Roles         []SeedRole
	Policies      []SeedPolicy
	Buckets       []string
	OIDCProviders []OIDCProvider
	// KeyPropagationDelay makes a new IAM access key unusable (InvalidClientTokenId) for
	// this long after CreateAccessKey, like IAM's eventual consistency. Default 0.
	KeyPropagationDelay time.Duration
	// ClockSkew is the accepted difference between X-Amz-Date and now; default 5 min.
	ClockSkew time.Duration
	// TrustSourceIPHeader lets a request override aws:SourceIp with the X-Sim-Source-Ip
	// header (tests from loopback). Off by default.
	TrustSourceIPHeader bool
	// LookupManagementEventsOnly makes LookupEvents return only management events, as the
	// real service does (data events such as s3:GetObject then appear only in Events()).
	// Default false: LookupEvents returns data events too, so drift collectors can be
	// exercised offline.
	LookupManagementEventsOnly bool
	// EventDelay delays visibility of events in LookupEvents (CloudTrail delivers events
	// within about 5 minutes). Default 0.
	EventDelay time.Duration
	// MaxEvents bounds the recorded CloudTrail events (oldest dropped); default 200,000.
	MaxEvents int
	// Now overrides the clock.
	Now func() time.Time
	// HTTPClient is used to fetch JWKS documents; default http.DefaultClient.
	HTTPClient *http.Client
}

// SeedUser is an IAM user created at start.
type SeedUser struct {
	Name            string            `json:"name"`
	Path            string            `json:"path,omitempty"`
	InlinePolicies  map[string]string `json:"inline_policies,omitempty"`
	ManagedPolicies []string          `json:"managed_policies,omitempty"`
	Boundary        string            `json:"permissions_boundary,omitempty"`
	Tags            map[string]string `json:"tags,omitempty"`
	Keys            []SeedKey         `json:"keys,omitempty"`
}

// SeedKey is an access key pair for a seeded user. Empty fields are generated.
type SeedKey struct {
	AccessKeyID     string `json:"access_key_id,omitempty"`
	SecretAccessKey string `json:"secret_access_key,omitempty"`
}

// SeedRole is an IAM role created at start.
type SeedRole struct {
	Name               string            `json:"name"`
	Path               string            `json:"path,omitempty"`
	TrustPolicy        string            `json:"trust_policy"`
	InlinePolicies     map[string]string `json:"inline_policies,omitempty"`
	ManagedPolicies    []string          `json:"managed_policies,omitempty"`
	MaxSessionDuration int               `json:"max_session_duration,omitempty"`
	Tags               map[string]string `json:"tags,omitempty"`
}

// SeedPolicy is a customer managed policy created at start.
type SeedPolicy struct {
	Name     string `json:"name"`
	Path     string `json:"path,omitempty"`
	Document string `json:"document"`
}

// OIDCProvider is an IAM OIDC identity provider for AssumeRoleWithWebIdentity.
type OIDCProvider struct {
	// IssuerURL is the token issuer (the `iss` claim), e.g. https://vault:8200/v1/nhi.
	IssuerURL string `json:"issuer_url"`
	// Audiences are the accepted `aud` values (IAM "client IDs").
	Audiences []string `json:"audiences"`
	// JWKSURL is where the verification keys are fetched; required here because the
	// simulator does not perform OIDC discovery.
	JWKSURL string `json:"jwks_url"`
}

// Tag is an IAM / STS tag.
type Tag struct{ Key, Value string }

// Sim is the simulator. Safe for concurrent use.
type Sim struct {
	opts Options
	mu   sync.Mutex

	users    map[string]*user          // by name
	keys     map[string]*accessKey     // by access key id
	roles    map[string]*role          // by name
	policies map[string]*managedPolicy // by ARN
	sessions map[string]*session       // by access key id
	buckets  map[string]*bucket
	oidc     map[string]*oidcProvider // by provider ARN
	funcs    map[string]*lambdaFunc

	events       []*Event
	simfault.Set // fault injection and per-operation call counts

	policyCache map[string]*Policy
	jwksCache   map[string]jwksEntry

	rootKeyID, rootSecret string

	srv *httptest.Server
}

// New creates a simulator seeded from opts. It panics on invalid seed documents.
func New(opts Options) *Sim {
	if opts.AccountID == "" {
		opts.AccountID = "123456789012"
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.RootUserName == "" {
		opts.RootUserName = "nhi-root"
	}
	if opts.ClockSkew == 0 {
		opts.ClockSkew = 5 * time.Minute
	}
	if opts.MaxEvents == 0 {
		opts.MaxEvents = 200000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = http.DefaultClient
	}
	s := &Sim{
		opts:     opts,
		users:    map[string]*user{},
		keys:     map[string]*accessKey{},
		roles:    map[string]*role{},
		policies: map[string]*managedPolicy{},
		sessions: map[string]*session{},
		buckets:  map[string]*bucket{},
		oidc:     map[string]*oidcProvider{},
		funcs:    map[string]*lambdaFunc{},
	}
	s.seedAWSManaged()
	if err := s.seed(); err != nil {
		panic("awssim: " + err.Error())
	}
	return s
}

func (s *Sim) now() time.Time { return s.opts.Now().UTC() }

// AccountID returns the simulated account id.
func (s *Sim) AccountID() string { return s.opts.AccountID }

// Region returns the simulated region.
func (s *Sim) Region() string { return s.opts.Region }

// RootCredentials returns the seeded root user's access key pair.
func (s *Sim) RootCredentials() (accessKeyID, secretAccessKey string) {
	return s.rootKeyID, s.rootSecret
}

// Handler returns the simulator as an http.Handler.
func (s *Sim) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Start serves the simulator on a random 127.0.0.1 port.
func (s *Sim) Start() *Sim {
	s.srv = httptest.NewServer(s.Handler())
	return s
}

// StartTLS serves the simulator over HTTPS on a random 127.0.0.1 port with a test
// certificate; use TLSClient (or its transport) in SDK clients. Over TLS the S3 client
// sends aws-chunked bodies with trailing checksums, and aws:SecureTransport is true.
func (s *Sim) StartTLS() *Sim {
	s.srv = httptest.NewTLSServer(s.Handler())
	return s
}

// TLSClient returns an HTTP client trusting the simulator's test certificate (StartTLS).
func (s *Sim) TLSClient() *http.Client {
	if s.srv == nil {
		return nil
	}
	return s.srv.Client()
}

// StartOn serves the simulator on the given listener.
func (s *Sim) StartOn(l net.Listener) *Sim {
	s.srv = httptest.NewUnstartedServer(s.Handler())
	s.srv.Listener.Close()
	s.srv.Listener = l
	s.srv.Start()
	return s
}

// URL is the base URL of a started simulator.
func (s *Sim) URL() string {
	if s.srv == nil {
		return ""
	}
	return s.srv.URL
}

// Close stops a started simulator.
func (s *Sim) Close() {
	if s.srv != nil {
		s.srv.Close()
	}
}

// ---- ids and errors ----

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

func randID(prefix string, n int) string {
	b := make([]byte, n)
	for i := range b {
		x, _ := rand.Int(rand.Reader, big.NewInt(int64(len(idAlphabet))))
		b[i] = idAlphabet[x.Int64()]
	}
	return prefix + string(b)
}

func randSecret(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawStdEncoding.EncodeToString(b)[:n]
}

func requestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// APIError is an AWS error as returned on the wire.
type APIError struct {
	Status  int
	Code    string
	Message string
	// Receiver marks server-side faults (Query protocol <Type>Receiver</Type>).
	Receiver bool
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

func errf(status int, code, format string, args ...any) *APIError {
	return &APIError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func validationErr(format string, args ...any) *APIError {
	return errf(400, "ValidationError", format, args...)
}

// ---- request plumbing ----

// call is the state of one API request while it is being served.
type call struct {
	service   string // sts, iam, s3, cloudtrail, lambda
	op        string // operation name, e.g. AssumeRole
	reqID     string
	time      time.Time
	sourceIP  string
	userAgent string
	r         *http.Request
	body      []byte
	form      url.Values // Query protocol parameters
	principal *principal
	secure    bool

	// for CloudTrail
	readOnly     bool
	dataEvent    bool
	params       map[string]any
	response     map[string]any
	resources    []EventResource
	errCode      string
	errMsg       string
	sessionCreds string // access key id of credentials issued by this call
	region       string // region of the SigV4 credential scope
	eventName    string // CloudTrail eventName when it differs from op
	webIdentity  map[string]any
}

func (s *Sim) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.serveAdmin(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	c := &call{
		reqID:     requestID(),
		time:      s.now(),
		r:         r,
		body:      body,
		userAgent: r.Header.Get("User-Agent"),
		secure:    r.TLS != nil,
		params:    map[string]any{},
	}
	c.sourceIP, _, _ = net.SplitHostPort(r.RemoteAddr)
	if s.opts.TrustSourceIPHeader {
		if ip := r.Header.Get("X-Sim-Source-Ip"); ip != "" {
			c.sourceIP = ip
		}
	}
	c.service = detectService(r, body)
	var apiErr *APIError
	var write func(w http.ResponseWriter)
	switch c.service {
	case "sts", "iam":
		write, apiErr = s.serveQuery(c)
	case "s3":
		write, apiErr = s.serveS3(c)
	case "cloudtrail":
		write, apiErr = s.serveCloudTrail(c)
	case "lambda":
		write, apiErr = s.serveLambda(c)
	default:
		apiErr = errf(400, "UnknownService", "service %q is not simulated", c.service)
	}
	if apiErr != nil {
		c.errCode, c.errMsg = apiErr.Code, apiErr.Message
		s.record(c)
		s.writeError(w, c, apiErr)
		return
	}
	s.record(c)
	write(w)
}

// detectService picks the service from the SigV4 credential scope, falling back to the
// shape of the request for unsigned calls (AssumeRoleWithWebIdentity is unsigned).
func detectService(r *http.Request, body []byte) string {
	if auth := r.Header.Get("Authorization"); auth != "" {
		if sc, err := parseAuthHeader(auth); err == nil {
			return sc.service
		}
	}
	if cred := r.URL.Query().Get("X-Amz-Credential"); cred != "" {
		if parts := strings.Split(cred, "/"); len(parts) == 5 {
			return parts[3]
		}
	}
	if t := r.Header.Get("X-Amz-Target"); strings.Contains(t, "CloudTrail") {
		return "cloudtrail"
	}
	if strings.HasPrefix(r.URL.Path, "/2015-03-31/") {
		return "lambda"
	}
	if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") && bytes.Contains(body, []byte("Action=")) {
		if bytes.Contains(body, []byte("Version=2011-06-15")) {
			return "sts"
		}
		return "iam"
	}
	return "s3"
}

func (s *Sim) writeError(w http.ResponseWriter, c *call, e *APIError) {
	switch c.service {
	case "s3":
		writeS3Error(w, c, e)
	case "cloudtrail":
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-RequestId", c.reqID)
		w.WriteHeader(e.Status)
		fmt.Fprintf(w, `{"__type":%q,"Message":%q}`, e.Code, e.Message)
	case "lambda":
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-RequestId", c.reqID)
		w.Header().Set("X-Amzn-ErrorType", e.Code)
		w.WriteHeader(e.Status)
		typ := "User"
		if e.Receiver {
			typ = "Service"
		}
		fmt.Fprintf(w, `{"Type":%q,"Message":%q,"message":%q}`, typ, e.Message, e.Message)
	default:
		writeQueryError(w, c, e)
	}
}
