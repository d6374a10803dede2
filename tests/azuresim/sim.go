// Package azuresim is an offline Azure simulator for tests and demos: one HTTPS listener
// (self-signed CA) that serves the Entra ID token endpoint (client credentials with a secret
// or a federated client assertion), Microsoft Graph v1.0 (applications, service principals,
// passwords, federated identity credentials, deleted items), Azure Resource Manager (role
// assignments with ABAC conditions, role definitions, the activity log, a few storage and
// key vault management operations, all authorized by role assignments), and a Blob and Key
// Vault data-plane subset authorized by role assignments' dataActions and conditions.
//
// Point the real Azure SDK for Go clients at it: azidentity with
// cloud.Configuration{ActiveDirectoryAuthorityHost: sim.URL() + "/"} and
// DisableInstanceDiscovery, ARM clients with the ResourceManager service endpoint set to
// sim.URL(), Graph REST calls at sim.URL()+"/v1.0", azblob at sim.BlobServiceURL(account),
// azsecrets at sim.VaultURL(name) with DisableChallengeResourceVerification; trust
// sim.CACertPEM() (or use sim.Client()).
package azuresim

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/tests/internal/simfault"
)

// Well-known resource (audience) identifiers accepted at the token endpoint.
const (
	ResourceGraph      = "https://graph.microsoft.com"
	ResourceARM        = "https://management.azure.com"
	ResourceARMClassic = "https://management.core.windows.net"
	ResourceStorage    = "https://storage.azure.com"
	ResourceKeyVault   = "https://vault.azure.net"
)

// Options configure a Sim. Zero values give sensible defaults.
type Options struct {
	// TenantID defaults to a fixed GUID; SubscriptionID likewise.
	TenantID       string
	SubscriptionID string
	// RootClientID / RootClientSecret are the seeded tenant admin application's credentials
	// (generated if empty). Its service principal has Owner at subscription scope and the
	// Graph application permission Application.ReadWrite.All.
	RootClientID     string
	RootClientSecret string
	// StorageAccounts and KeyVaults are seeded. When both are nil a default set is seeded:
	// storage account "stexports" (containers "exports", "private") and key vault "kv-prod"
	// (secrets "db-password", "api-key") in resource group "rg-nhi".
	StorageAccounts []StorageAccount
	KeyVaults       []KeyVault
	// ReplicationDelay: a new service principal is unknown to ARM (PrincipalNotFound on role
	// assignment create) for this long, as Entra → ARM replication in Azure. Setting
	// principalType on the assignment bypasses the check, as Azure documents, unless
	// StrictReplication is set.
	ReplicationDelay  time.Duration
	StrictReplication bool
	// CredentialPropagationDelay: a new password is refused at the token endpoint
	// (AADSTS7000215) for this long after addPassword.
	CredentialPropagationDelay time.Duration
	// GraphReplicationDelay: a new application is invisible (404 on Graph reads and writes
	// addressed to it, 400 on servicePrincipal create by appId, AADSTS700016 at the token
	// endpoint) for this long, as Entra's eventual consistency between replicas.
	GraphReplicationDelay time.Duration
	// AssignmentPropagationDelay: a new role assignment takes effect only after this long.
	AssignmentPropagationDelay time.Duration
	// AudienceAliases lets the token endpoint accept extra resource identifiers, mapped to
	// one of the Resource* constants (e.g. a private cloud's ARM audience). A token requested
	// for an alias carries the alias as aud and is accepted where the canonical one is.
	AudienceAliases map[string]string
	// TokenLifetime of issued access tokens; default 1h (expires_in 3599).
	TokenLifetime time.Duration
	// Now overrides the clock.
	Now func() time.Time
	// HTTPClient fetches federated issuers' OIDC discovery and JWKS; default http.DefaultClient.
	HTTPClient *http.Client
	// MaxEvents bounds recorded activity-log and data events; default 100,000.
	MaxEvents int
}

// StorageAccount is a seeded storage account.
type StorageAccount struct {
	Name          string   `json:"name"`
	ResourceGroup string   `json:"resource_group,omitempty"`
	Containers    []string `json:"containers,omitempty"`
}

// KeyVault is a seeded RBAC-mode key vault.
type KeyVault struct {
	Name          string            `json:"name"`
	ResourceGroup string            `json:"resource_group,omitempty"`
	Secrets       map[string]string `json:"secrets,omitempty"`
}

// Sim is the simulator. Safe for concurrent use.
type Sim struct {
	opts Options
	mu   sync.Mutex

	apps        map[string]*application      // by object id (live and soft-deleted)
	sps         map[string]*servicePrincipal // by object id (live and soft-deleted)
	assignments map[string]*roleAssignment   // by lower-case full id
	roleDefs    map[string]*roleDefinition   // by lower-case GUID
	accounts    map[string]*storageAccount   // by name
	vaults      map[string]*keyVault         // by name

	activity []*ActivityEvent
	data     []*DataEvent
	signIns  []*SignIn

	simfault.Set // fault injection and per-operation call counts

	signKey *rsa.PrivateKey
	kid     string

	rootAppID, rootSecret, rootSPID string

	caPEM []byte
	cert  tls.Certificate
	srv   *httptest.Server
}

// New creates a simulator seeded from opts.
func New(opts Options) *Sim {
	if opts.TenantID == "" {
		opts.TenantID = "72f988bf-0000-4000-8000-00000000a1b2"
	}
	if opts.SubscriptionID == "" {
		opts.SubscriptionID = "00000000-1111-4222-8333-444444444444"
	}
	if opts.TokenLifetime == 0 {
		opts.TokenLifetime = time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = http.DefaultClient
	}
	if opts.MaxEvents == 0 {
		opts.MaxEvents = 100000
	}
	if opts.StorageAccounts == nil && opts.KeyVaults == nil {
		opts.StorageAccounts = []StorageAccount{{Name: "stexports", Containers: []string{"exports", "private"}}}
		opts.KeyVaults = []KeyVault{{Name: "kv-prod", Secrets: map[string]string{"db-password": "s3cr3t-db", "api-key": "s3cr3t-api"}}}
	}
	s := &Sim{
		opts:        opts,
		apps:        map[string]*application{},
		sps:         map[string]*servicePrincipal{},
		assignments: map[string]*roleAssignment{},
		roleDefs:    map[string]*roleDefinition{},
		accounts:    map[string]*storageAccount{},
		vaults:      map[string]*keyVault{},
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	s.signKey, s.kid = k, randHex(16)
	s.seedRoleDefinitions()
	s.seed()
	return s
}

func (s *Sim) now() time.Time { return s.opts.Now().UTC() }

// TenantID returns the simulated tenant id.
func (s *Sim) TenantID() string { return s.opts.TenantID }

// SubscriptionID returns the simulated subscription id.
func (s *Sim) SubscriptionID() string { return s.opts.SubscriptionID }

// RootCredentials returns the seeded admin application's client id and secret.
func (s *Sim) RootCredentials() (clientID, clientSecret string) { return s.rootAppID, s.rootSecret }

// RootObjectID returns the object id of the seeded admin service principal.
func (s *Sim) RootObjectID() string { return s.rootSPID }

// Handler returns the simulator as an http.Handler (TLS is the caller's business).
func (s *Sim) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Start serves on a random 127.0.0.1 port over HTTPS.
func (s *Sim) Start() *Sim {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("azuresim: " + err.Error())
	}
	return s.StartOn(l)
}

// StartOn serves HTTPS on l.
func (s *Sim) StartOn(l net.Listener) *Sim {
	s.makeCerts(l.Addr())
	srv := httptest.NewUnstartedServer(s.Handler())
	srv.Listener.Close()
	srv.Listener = l
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{s.cert}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	s.srv = srv
	return s
}

// URL is the base URL (https://127.0.0.1:port) of every endpoint.
func (s *Sim) URL() string {
	if s.srv == nil {
		return ""
	}
	return s.srv.URL
}

// AuthorityHost is the value for cloud.Configuration.ActiveDirectoryAuthorityHost.
func (s *Sim) AuthorityHost() string { return s.URL() + "/" }

// GraphEndpoint is the Graph base URL, the counterpart of https://graph.microsoft.com
// (versioned paths live under it: GraphEndpoint()+"/v1.0/applications").
func (s *Sim) GraphEndpoint() string { return s.URL() }

// GraphV1 is GraphEndpoint()+"/v1.0".
func (s *Sim) GraphV1() string { return s.URL() + "/v1.0" }

// BlobServiceURL is the path-style blob service URL of an account (azblob treats an IP host
// as "IP endpoint style": the first path segment is the account).
func (s *Sim) BlobServiceURL(account string) string { return s.URL() + "/" + account }

// VaultURL is a path-style vault URL for azsecrets (use DisableChallengeResourceVerification).
func (s *Sim) VaultURL(name string) string { return s.URL() + "/keyvault/" + name }

// CACertPEM returns the PEM of the self-signed CA that issued the server certificate.
func (s *Sim) CACertPEM() []byte { return append([]byte(nil), s.caPEM...) }

// CertPool returns a pool holding the simulator's CA.
func (s *Sim) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(s.caPEM)
	return p
}

// Client returns an *http.Client that trusts the simulator's CA.
func (s *Sim) Client() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.CertPool(), MinVersion: tls.VersionTLS12}}, Timeout: 30 * time.Second}
}

// Close stops the server.
func (s *Sim) Close() {
	if s.srv != nil {
		s.srv.Close()
	}
}

func (s *Sim) issuerV1() string { return "https://sts.windows.net/" + s.opts.TenantID + "/" }

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newGUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
	}
	return true
}

func hostOnly(h string) string {
	if x, _, err := net.SplitHostPort(h); err == nil {
		return x
	}
	return h
}

func (s *Sim) serveHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	host := strings.ToLower(hostOnly(r.Host))
	switch {
	case strings.HasPrefix(p, "/_sim/"):
		s.serveAdmin(w, r)
	case strings.HasSuffix(host, ".blob.core.windows.net"):
		s.serveBlob(w, r, strings.SplitN(host, ".", 2)[0], p)
	case strings.HasSuffix(host, ".vault.azure.net"):
		s.serveVault(w, r, strings.SplitN(host, ".", 2)[0], p)
	case strings.HasPrefix(p, "/v1.0/") || strings.HasPrefix(p, "/beta/"):
		s.serveGraph(w, r)
	case strings.HasPrefix(p, "/subscriptions/") || strings.HasPrefix(p, "/providers/"):
		s.serveARM(w, r)
	case strings.HasPrefix(p, "/keyvault/"):
		rest := strings.TrimPrefix(p, "/keyvault/")
		name, sub, _ := strings.Cut(rest, "/")
		s.serveVault(w, r, name, "/"+sub)
	default:
		seg := strings.Split(strings.TrimPrefix(p, "/"), "/")
		s.mu.Lock()
		_, isAccount := s.accounts[seg[0]]
		s.mu.Unlock()
		if isAccount {
			s.serveBlob(w, r, seg[0], "/"+strings.Join(seg[1:], "/"))
			return
		}
		if seg[0] == "common" || len(seg) > 1 && (seg[1] == "oauth2" || seg[1] == "v2.0" || seg[1] == "discovery") {
			s.serveEntra(w, r, seg)
			return
		}
		http.NotFound(w, r)
	}
}
