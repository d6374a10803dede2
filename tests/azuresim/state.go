package azuresim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net"
	"sort"
	"strings"
	"time"
)

type password struct {
	KeyID       string
	DisplayName string
	Secret      string
	Start, End  time.Time
	Created     time.Time
}

type federatedCredential struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Issuer      string   `json:"issuer"`
	Subject     string   `json:"subject"`
	Audiences   []string `json:"audiences"`
	Description string   `json:"description"`
}

type application struct {
	ID, AppID, DisplayName string
	Tags                   []string
	Passwords              []*password
	FICs                   []*federatedCredential
	Created                time.Time
	Deleted                *time.Time
}

type servicePrincipal struct {
	ID, AppID, DisplayName string
	Tags                   []string
	GraphRoles             []string // application permissions on Microsoft Graph
	Created                time.Time
	Deleted                *time.Time
}

type storageAccount struct {
	Name, ResourceGroup string
	Keys                [2]string
	Containers          map[string]*container
}

type container struct {
	Name        string
	Blobs       map[string]*blob
	Uncommitted map[string]map[string][]byte // blob name → block id → data
}

type blob struct {
	Data        []byte
	ContentType string
	ETag        string
	Modified    time.Time
	Created     time.Time
}

type keyVault struct {
	Name, ResourceGroup string
	Secrets             map[string]*secret
	AccessPolicies      []map[string]any
}

type secret struct {
	Value, Version string
	Created        time.Time
}

// Counts are object counts for tests.
type Counts struct {
	Applications        int `json:"applications"`
	ServicePrincipals   int `json:"service_principals"`
	DeletedApplications int `json:"deleted_applications"`
	DeletedSPs          int `json:"deleted_service_principals"`
	RoleAssignments     int `json:"role_assignments"`
	Passwords           int `json:"passwords"`
}

// Counts returns live and soft-deleted object counts.
func (s *Sim) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	var c Counts
	for _, a := range s.apps {
		if a.Deleted != nil {
			c.DeletedApplications++
		} else {
			c.Applications++
			c.Passwords += len(a.Passwords)
		}
	}
	for _, sp := range s.sps {
		if sp.Deleted != nil {
			c.DeletedSPs++
		} else {
			c.ServicePrincipals++
		}
	}
	c.RoleAssignments = len(s.assignments)
	return c
}

// Principal is a created application + service principal with one secret.
type Principal struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	ObjectID     string `json:"object_id"` // service principal object id
	AppObjectID  string `json:"app_object_id"`
}

// CreatePrincipal creates an application, its service principal and a password valid for
// validFor (default 1 year), bypassing Graph, replication and propagation delays.
func (s *Sim) CreatePrincipal(displayName string, validFor time.Duration) Principal {
	if validFor == 0 {
		validFor = 365 * 24 * time.Hour
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().Add(-time.Hour)
	a := &application{ID: newGUID(), AppID: newGUID(), DisplayName: displayName, Created: now, Tags: []string{}}
	pw := &password{KeyID: newGUID(), Secret: newSecret(), Start: now, End: s.now().Add(validFor), Created: now}
	a.Passwords = append(a.Passwords, pw)
	s.apps[a.ID] = a
	sp := &servicePrincipal{ID: newGUID(), AppID: a.AppID, DisplayName: displayName, Created: now, Tags: []string{}}
	s.sps[sp.ID] = sp
	return Principal{ClientID: a.AppID, ClientSecret: pw.Secret, ObjectID: sp.ID, AppObjectID: a.ID}
}

// GrantGraphAppRole gives a service principal a Microsoft Graph application permission
// (e.g. "Application.ReadWrite.All"), as an admin-consented app role assignment.
func (s *Sim) GrantGraphAppRole(spObjectID, role string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sp := s.sps[spObjectID]; sp != nil {
		sp.GraphRoles = append(sp.GraphRoles, role)
	}
}

// SetReplicationDelay changes Options.ReplicationDelay at run time.
func (s *Sim) SetReplicationDelay(d time.Duration) {
	s.mu.Lock()
	s.opts.ReplicationDelay = d
	s.mu.Unlock()
}

// SetCredentialPropagationDelay changes Options.CredentialPropagationDelay at run time.
func (s *Sim) SetCredentialPropagationDelay(d time.Duration) {
	s.mu.Lock()
	s.opts.CredentialPropagationDelay = d
	s.mu.Unlock()
}

// ResourceGroupID returns the ARM id of a resource group.
func (s *Sim) ResourceGroupID(rg string) string {
	return "/subscriptions/" + s.opts.SubscriptionID + "/resourceGroups/" + rg
}

// StorageAccountID returns the ARM id of a seeded storage account ("" if unknown).
func (s *Sim) StorageAccountID(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[name]
	if a == nil {
		return ""
	}
	return s.ResourceGroupID(a.ResourceGroup) + "/providers/Microsoft.Storage/storageAccounts/" + name
}

// ContainerScope returns the role-assignment scope of a blob container.
func (s *Sim) ContainerScope(account, ctr string) string {
	return s.StorageAccountID(account) + "/blobServices/default/containers/" + ctr
}

// VaultID returns the ARM id of a seeded key vault ("" if unknown).
func (s *Sim) VaultID(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.vaults[name]
	if v == nil {
		return ""
	}
	return s.ResourceGroupID(v.ResourceGroup) + "/providers/Microsoft.KeyVault/vaults/" + name
}

// SecretScope returns the role-assignment scope of one key vault secret.
func (s *Sim) SecretScope(vault, name string) string { return s.VaultID(vault) + "/secrets/" + name }

// Blob returns a blob's content (test introspection, no authorization).
func (s *Sim) Blob(account, ctr, name string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.accounts[account]; a != nil {
		if c := a.Containers[ctr]; c != nil {
			if b := c.Blobs[name]; b != nil {
				return append([]byte(nil), b.Data...), true
			}
		}
	}
	return nil, false
}

// Applications returns the appIds of live applications, sorted.
func (s *Sim) Applications() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, a := range s.apps {
		if a.Deleted == nil {
			out = append(out, a.AppID)
		}
	}
	sort.Strings(out)
	return out
}

func newSecret() string {
	b := make([]byte, 30)
	_, _ = rand.Read(b)
	s := base64.RawURLEncoding.EncodeToString(b)
	s = strings.NewReplacer("-", "~", "_", ".").Replace(s)
	return s[:3] + "8Q~" + s[3:37]
}

func (s *Sim) seed() {
	s.rootAppID, s.rootSecret = s.opts.RootClientID, s.opts.RootClientSecret
	if s.rootAppID == "" {
		s.rootAppID = newGUID()
	}
	if s.rootSecret == "" {
		s.rootSecret = newSecret()
	}
	now := s.now().Add(-24 * time.Hour)
	a := &application{ID: newGUID(), AppID: s.rootAppID, DisplayName: "nhi-root", Created: now, Tags: []string{}}
	a.Passwords = []*password{{KeyID: newGUID(), DisplayName: "root", Secret: s.rootSecret, Start: now, End: now.Add(2 * 365 * 24 * time.Hour), Created: now}}
	s.apps[a.ID] = a
	sp := &servicePrincipal{ID: newGUID(), AppID: a.AppID, DisplayName: "nhi-root", Created: now, Tags: []string{},
		GraphRoles: []string{"Application.ReadWrite.All", "AuditLog.Read.All"}}
	s.sps[sp.ID] = sp
	s.rootSPID = sp.ID
	subScope := "/subscriptions/" + s.opts.SubscriptionID
	ra := &roleAssignment{Name: newGUID(), Scope: subScope, RoleDefID: roleOwner, PrincipalID: sp.ID, PrincipalType: "ServicePrincipal", Created: now, CreatedBy: sp.ID}
	s.assignments[strings.ToLower(ra.id())] = ra
	for _, sa := range s.opts.StorageAccounts {
		rg := sa.ResourceGroup
		if rg == "" {
			rg = "rg-nhi"
		}
		acct := &storageAccount{Name: sa.Name, ResourceGroup: rg, Containers: map[string]*container{}}
		acct.Keys = [2]string{base64.StdEncoding.EncodeToString([]byte(randHex(32))), base64.StdEncoding.EncodeToString([]byte(randHex(32)))}
		for _, c := range sa.Containers {
			acct.Containers[c] = &container{Name: c, Blobs: map[string]*blob{}, Uncommitted: map[string]map[string][]byte{}}
		}
		s.accounts[sa.Name] = acct
	}
	for _, kv := range s.opts.KeyVaults {
		rg := kv.ResourceGroup
		if rg == "" {
			rg = "rg-nhi"
		}
		v := &keyVault{Name: kv.Name, ResourceGroup: rg, Secrets: map[string]*secret{}}
		for k, val := range kv.Secrets {
			v.Secrets[k] = &secret{Value: val, Version: randHex(16), Created: now}
		}
		s.vaults[kv.Name] = v
	}
}

func (s *Sim) makeCerts(addr net.Addr) {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "azuresim test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(10 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		panic(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ips := []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}
	if ta, ok := addr.(*net.TCPAddr); ok && !ta.IP.IsUnspecified() {
		ips = append(ips, ta.IP)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "azuresim"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(5 * 365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: ips,
		DNSNames: []string{"localhost", "login.microsoftonline.com", "graph.microsoft.com", "management.azure.com",
			"*.blob.core.windows.net", "*.vault.azure.net"},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		panic(err)
	}
	s.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	s.cert = tls.Certificate{Certificate: [][]byte{leafDER, caDER}, PrivateKey: leafKey}
}
