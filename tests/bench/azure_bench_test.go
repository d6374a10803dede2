package bench

// Azure service-principal credentials, side by side in one run: this engine (nhi/) and
// HashiCorp's vault-plugin-secrets-azure (azure/, v0.23.0 built from the Go module proxy
// and registered by SHA-256 like this plugin), both on one real Vault dev server and both
// against the same in-process Azure simulator (tests/azuresim).
//
// Phases, each with NHI_BENCH_CLIENTS clients (default 8), each bounded by
// NHI_BENCH_DURATION (default 10s) or NHI_BENCH_COUNT operations:
//  1. HashiCorp issuance: read azure/creds/<role> (Storage Blob Data Contributor at the
//     exports container);
//  2. nhi issuance: write nhi/creds/<role> for azure://stexports/exports/2026/12/* write;
//  3. revocation of the leases each engine issued (warm-up included), one
//     sys/leases/revoke call per lease: HashiCorp first, then nhi.
//
// Pointing the HashiCorp plugin at the simulator: its config has only `environment`
// (AzurePublicCloud, AzureChinaCloud, AzureUSGovernmentCloud) and no endpoint or CA
// settings, so it talks to login.microsoftonline.com, graph.microsoft.com and
// management.azure.com. The Vault process (and so every plugin process, which inherits its
// environment) gets HTTPS_PROXY pointing at azureGateway below, a CONNECT proxy in this
// test that accepts only those three hosts, terminates TLS with a certificate from its own
// CA (SSL_CERT_FILE) and hands each request to the simulator's http.Handler. The nhi
// engine is configured with the simulator's URL and CA directly (loopback is never
// proxied). One simulator gap is bridged in the gateway: the plugin sets its secret with
// POST /servicePrincipals/{id}/addPassword, which the simulator does not implement; the
// gateway sends it to POST /applications/{app object id}/addPassword of the same
// application (ids learnt from the create responses it relayed), so the password works at
// the simulator's token endpoint as a service-principal password does in Entra.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/hashicorp/vault/api"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/tests/azuresim"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/tests/internal/vaulttest"
)

const (
	azBenchRole   = "bench-export" // nhi role
	azHCRole      = "export"       // HashiCorp plugin role
	azHCPlugin    = "vault-plugin-secrets-azure"
	azHCModule    = "github.com/hashicorp/vault-plugin-secrets-azure"
	azHCVersion   = "v0.23.0"
	azNHIGrants   = `[{"destination": "azure://stexports/exports/2026/*", "actions": ["write"], "max_sensitivity": "internal"}]`
	azDestination = "azure://stexports/exports/2026/12/*"
)

// azPublicHosts are the public-cloud hosts the HashiCorp plugin calls (environment
// AzurePublicCloud); the gateway accepts CONNECT to these only.
var azPublicHosts = map[string]bool{
	"login.microsoftonline.com": true, "graph.microsoft.com": true, "management.azure.com": true,
}

// azSimOps are the simulator operations whose counts are reported (non-zero ones only).
var azSimOps = func() []string {
	ops := []string{"entra:Token"}
	for _, op := range strings.Fields(`CreateApplication GetApplication ListApplications UpdateApplication
		DeleteApplication AddPassword RemovePassword CreateFederatedIdentityCredential
		ListFederatedIdentityCredentials DeleteFederatedIdentityCredential CreateServicePrincipal
		GetServicePrincipal ListServicePrincipals DeleteServicePrincipal GetDeletedItem ListDeletedItems
		PermanentlyDeleteItem`) {
		ops = append(ops, "graph:"+op)
	}
	for _, op := range strings.Fields(`PutRoleAssignment GetRoleAssignment DeleteRoleAssignment
		ListRoleAssignments GetRoleDefinition ListRoleDefinitions GetStorageAccount ListKeys`) {
		ops = append(ops, "arm:"+op)
	}
	return ops
}()

type azSnapshot struct {
	ops    map[string]int
	counts azuresim.Counts
}

func takeAzSnapshot(sim *azuresim.Sim) azSnapshot {
	s := azSnapshot{ops: map[string]int{}, counts: sim.Counts()}
	for _, op := range azSimOps {
		svc, name, _ := strings.Cut(op, ":")
		s.ops[op] = sim.OperationCount(svc, name)
	}
	return s
}

// describeAzCalls renders the calls between two snapshots, per credential when perCred > 0.
func describeAzCalls(before, after azSnapshot, perCred int64) string {
	var parts []string
	total := 0
	for _, op := range azSimOps {
		if d := after.ops[op] - before.ops[op]; d > 0 {
			total += d
			if perCred > 0 {
				parts = append(parts, fmt.Sprintf("%s %d (%.2f/cred)", op, d, float64(d)/float64(perCred)))
			} else {
				parts = append(parts, fmt.Sprintf("%s %d", op, d))
			}
		}
	}
	if len(parts) == 0 {
		return "no Azure calls"
	}
	s := strings.Join(parts, ", ")
	if perCred > 0 {
		s += fmt.Sprintf("; all %d (%.2f/cred)", total, float64(total)/float64(perCred))
	}
	return s
}

func describeCounts(c azuresim.Counts) string {
	return fmt.Sprintf("applications %d, service principals %d, role assignments %d, passwords %d, recycle bin apps %d / SPs %d",
		c.Applications, c.ServicePrincipals, c.RoleAssignments, c.Passwords, c.DeletedApplications, c.DeletedSPs)
}

func TestAzureIssueThroughput(t *testing.T) {
	duration, nClients, count := benchSettings(t, "Azure issuance benchmark: set NHI_BENCH=1 (scripts/bench-issue.sh)")

	ctx := context.Background()
	hcBin, err := hashicorpAzurePlugin(ctx)
	if err != nil {
		t.Fatalf("HashiCorp's Azure plugin: %v", err)
	}

	// The simulator and the gateway, closed after the server has stopped.
	sim := azuresim.New(azuresim.Options{}).Start()
	t.Cleanup(sim.Close)
	gw, err := startAzureGateway(sim, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Close)
	clientID, clientSecret := sim.RootCredentials()

	srv, err := vaulttest.Start(ctx, vaulttest.Options{
		Dir: t.TempDir(), LogLevel: "warn",
		Plugins: []vaulttest.ExtraPlugin{{Name: azHCPlugin, Path: hcBin}},
		Env: []string{"HTTPS_PROXY=" + gw.ProxyURL(), "https_proxy=" + gw.ProxyURL(),
			"NO_PROXY=127.0.0.1,localhost,::1", "no_proxy=127.0.0.1,localhost,::1", "SSL_CERT_FILE=" + gw.caPath},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last lines of the vault log:\n%s", srv.LogTail(40))
		}
		srv.Stop()
	})
	root, err := srv.Client(vaulttest.RootToken)
	if err != nil {
		t.Fatal(err)
	}

	// Both engines on the same simulator with the same root application.
	if _, err := root.Logical().Write("nhi/config/azure", map[string]any{
		"tenant_id": sim.TenantID(), "subscription_id": sim.SubscriptionID(), "client_id": clientID, "client_secret": clientSecret,
		"authority_host": sim.AuthorityHost(), "graph_endpoint": sim.GraphEndpoint(), "resource_manager_endpoint": sim.URL(),
		"ca_cert": string(sim.CACertPEM()),
	}); err != nil {
		t.Fatalf("nhi/config/azure: %v", err)
	}
	if err := root.Sys().Mount("azure", &api.MountInput{Type: azHCPlugin}); err != nil {
		t.Fatalf("enabling HashiCorp's azure engine: %v", err)
	}
	if _, err := root.Logical().Write("azure/config", map[string]any{
		"tenant_id": sim.TenantID(), "subscription_id": sim.SubscriptionID(), "client_id": clientID, "client_secret": clientSecret,
		"environment": "AzurePublicCloud",
	}); err != nil {
		t.Fatalf("azure/config: %v", err)
	}
	containerScope := sim.ContainerScope("stexports", "exports")
	roleDefID := "/subscriptions/" + sim.SubscriptionID() + "/providers/Microsoft.Authorization/roleDefinitions/" + azuresim.RoleStorageBlobDataContributor
	hcRoles, _ := json.Marshal([]map[string]string{{"role_id": roleDefID, "scope": containerScope}})
	if _, err := root.Logical().Write("azure/roles/"+azHCRole, map[string]any{
		"azure_roles":        string(hcRoles),
		"ttl":                "15m",
		"max_ttl":            "1h",
		"permanently_delete": true, // as nhi: purge from the recycle bin on revoke
	}); err != nil {
		t.Fatalf("azure/roles/%s: %v", azHCRole, err)
	}

	// The workload: the same userpass token calls both engines.
	w := benchWorkload(ctx, t, srv, root, "export-bot", "analytics", `
path "azure/creds/`+azHCRole+`" { capabilities = ["read"] }
`)
	if _, err := root.Logical().Write("nhi/roles/"+azBenchRole, map[string]any{
		"provider":              "azure",
		"resource_group":        "rg-nhi",
		"grants":                azNHIGrants,
		"allowed_tasks":         "nightly-*",
		"bound_entity_metadata": map[string]string{"team": "analytics"},
		"bound_cidrs":           "127.0.0.0/8",
		"ttl":                   "15m",
		"max_ttl":               "1h",
	}); err != nil {
		t.Fatalf("nhi/roles/%s: %v", azBenchRole, err)
	}

	clients := benchClients(t, srv, w.Token, nClients)
	rootClients := benchClients(t, srv, vaulttest.RootToken, nClients)

	var hcLeases, nhiLeases leaseLog
	var firstHC, firstNHI atomic.Pointer[api.Secret]
	var readyN, readySumMS, readyMaxMS atomic.Int64
	hcOp := func(c *api.Client) error {
		s, err := c.Logical().Read("azure/creds/" + azHCRole)
		if err != nil {
			return err
		}
		if s == nil || s.LeaseID == "" || s.Data["client_id"] == nil || s.Data["client_secret"] == nil {
			return fmt.Errorf("HashiCorp issuance returned no service principal")
		}
		hcLeases.add(s.LeaseID)
		firstHC.CompareAndSwap(nil, s)
		return nil
	}
	intent := map[string]any{
		"task":         "nightly-export",
		"destinations": []string{azDestination},
		"actions":      []string{"write"},
		"sensitivity":  "internal",
		"ttl":          "15m",
	}
	nhiOp := func(c *api.Client) error {
		s, err := c.Logical().Write("nhi/creds/"+azBenchRole, intent)
		if err != nil {
			return err
		}
		if s == nil || s.LeaseID == "" || s.Data["client_id"] == nil || s.Data["client_secret"] == nil {
			return fmt.Errorf("nhi issuance returned no service principal")
		}
		nhiLeases.add(s.LeaseID)
		firstNHI.CompareAndSwap(nil, s)
		if v, ok := s.Data["ready_after_ms"].(json.Number); ok {
			if ms, err := v.Int64(); err == nil {
				readyN.Add(1)
				readySumMS.Add(ms)
				for {
					cur := readyMaxMS.Load()
					if ms <= cur || readyMaxMS.CompareAndSwap(cur, ms) {
						break
					}
				}
			}
		}
		return nil
	}
	// Warm up connections, both engines' clients and token caches, the plugins.
	for _, c := range clients {
		if err := hcOp(c); err != nil {
			t.Fatalf("HashiCorp issuance warm-up: %v", err)
		}
		if err := nhiOp(c); err != nil {
			t.Fatalf("nhi issuance warm-up: %v", err)
		}
	}
	warmHC, warmNHI := len(hcLeases.all()), len(nhiLeases.all())
	readyN.Store(0)
	readySumMS.Store(0)
	readyMaxMS.Store(0)

	snap0 := takeAzSnapshot(sim)
	rw0, tun0 := gw.rewrites.Load(), gw.tunnels.Load()
	hIssue := runPhase(srv, "hashicorp issue", clients, duration, count, hcOp)
	snap1 := takeAzSnapshot(sim)
	rw1, tun1 := gw.rewrites.Load(), gw.tunnels.Load()
	nIssue := runPhase(srv, "nhi issue", clients, duration, count, nhiOp)
	snap2 := takeAzSnapshot(sim)

	revokeOp := func(ids []string) func(c *api.Client) error {
		var next atomic.Int64
		return func(c *api.Client) error {
			i := next.Add(1) - 1
			if i >= int64(len(ids)) {
				return fmt.Errorf("no lease left") // not reached: the phase's count is len(ids)
			}
			return c.Sys().Revoke(ids[i])
		}
	}
	probeBefore := fmt.Sprintf("hashicorp %s, nhi %s", blobProbe(sim, firstHC.Load(), "before"), blobProbe(sim, firstNHI.Load(), "before"))
	snap2p := takeAzSnapshot(sim) // after the probes
	hIDs, nIDs := hcLeases.all(), nhiLeases.all()
	tun2 := gw.tunnels.Load()
	hRevoke := runPhase(srv, "hashicorp revoke", rootClients, duration, int64(len(hIDs)), revokeOp(hIDs))
	snap3 := takeAzSnapshot(sim)
	tun3 := gw.tunnels.Load()
	nRevoke := runPhase(srv, "nhi revoke", rootClients, duration, int64(len(nIDs)), revokeOp(nIDs))
	snap4 := takeAzSnapshot(sim)

	hcAfter, nhiAfter := blobProbe(sim, firstHC.Load(), "after"), blobProbe(sim, firstNHI.Load(), "after")
	if nRevoke.ops == int64(len(nIDs)) && nhiAfter == "allowed" {
		t.Errorf("a revoked nhi credential can still write the blob")
	}

	version, _ := srv.CLI(ctx, "", "version")
	var b strings.Builder
	fmt.Fprintf(&b, "\n=== Azure service principal benchmark: nhi vs HashiCorp vault-plugin-secrets-azure %s, same server, same simulator\n", azHCVersion)
	fmt.Fprintf(&b, "=== (%s, %d clients, %s, GOMAXPROCS=%d, NumCPU=%d)\n",
		strings.TrimSpace(version), nClients, phaseSpec(duration, count), runtime.GOMAXPROCS(0), runtime.NumCPU())
	fmt.Fprintln(&b, hIssue)
	fmt.Fprintln(&b, nIssue)
	if hIssue.rate() > 0 {
		fmt.Fprintf(&b, "ratio nhi/hashicorp issuance   = %.3f\n", nIssue.rate()/hIssue.rate())
	}
	fmt.Fprintln(&b, hRevoke)
	fmt.Fprintln(&b, nRevoke)
	if hRevoke.rate() > 0 {
		fmt.Fprintf(&b, "ratio nhi/hashicorp revocation = %.3f\n", nRevoke.rate()/hRevoke.rate())
	}
	fmt.Fprintf(&b, "revocation: hashicorp %d of %d leases, nhi %d of %d (warm-up leases included: %d/%d)",
		hRevoke.ops, len(hIDs), nRevoke.ops, len(nIDs), warmHC, warmNHI)
	if hRevoke.ops < int64(len(hIDs)) || nRevoke.ops < int64(len(nIDs)) {
		fmt.Fprint(&b, "; the phase's time ran out, the rest end with the server")
	}
	fmt.Fprintln(&b)
	if n := readyN.Load(); n > 0 {
		fmt.Fprintf(&b, "nhi readiness (the new secret obtained a token before the response): ready_after_ms mean %.1f, max %d over %d credentials\n",
			float64(readySumMS.Load())/float64(n), readyMaxMS.Load(), n)
	}
	fmt.Fprintln(&b, "note: HashiCorp's plugin returns without checking the secret; it assigns the role without")
	fmt.Fprintln(&b, "      principalType and retries PrincipalNotFound every 2-7 s. The simulator runs with its")
	fmt.Fprintln(&b, "      defaults here: no replication or propagation delay, so neither engine waits.")
	fmt.Fprintf(&b, "first warm-up credential of each engine, Put Blob exports/2026/12/probe-*.txt: before revocation: %s; after: hashicorp %s, nhi %s\n",
		probeBefore, hcAfter, nhiAfter)
	fmt.Fprintln(&b, "simulator calls (sim.OperationCount deltas, probes excluded):")
	fmt.Fprintf(&b, "  hashicorp issue:  %s\n", describeAzCalls(snap0, snap1, hIssue.ops))
	fmt.Fprintf(&b, "  nhi issue:        %s\n", describeAzCalls(snap1, snap2, nIssue.ops))
	fmt.Fprintf(&b, "  hashicorp revoke: %s\n", describeAzCalls(snap2p, snap3, hRevoke.ops))
	fmt.Fprintf(&b, "  nhi revoke:       %s\n", describeAzCalls(snap3, snap4, nRevoke.ops))
	fmt.Fprintf(&b, "gateway (HashiCorp plugin only): %d servicePrincipals/addPassword sent to applications/addPassword (%d in its issue phase),\n",
		gw.rewrites.Load(), rw1-rw0)
	fmt.Fprintf(&b, "  %d gzip request bodies decoded (its Graph SDK compresses bodies; the simulator reads them plain),\n", gw.gunzipped.Load())
	fmt.Fprintf(&b, "  new TLS connections: issue %d (%.2f/cred), revoke %d (%.2f/lease), %d in all; its ARM client\n",
		tun1-tun0, perOp(tun1-tun0, hIssue.ops), tun3-tun2, perOp(tun3-tun2, hRevoke.ops), gw.tunnels.Load())
	fmt.Fprintln(&b, "  (go-cleanhttp DefaultClient) disables keep-alives, so each ARM call opens one; here each also")
	fmt.Fprintln(&b, "  pays a CONNECT round trip on loopback. nhi talks to the simulator directly.")
	fmt.Fprintf(&b, "tenant after issuance: %s\n", describeCounts(snap2.counts))
	fmt.Fprintf(&b, "tenant after revocation: %s\n", describeCounts(snap4.counts))
	fmt.Print(b.String())

	for _, r := range []phaseResult{hIssue, nIssue, hRevoke, nRevoke} {
		if r.errors > 0 {
			t.Errorf("%s: %d errors, first: %v", r.name, r.errors, r.firstErr)
		}
		if r.ops == 0 {
			t.Errorf("%s: no successful operation", r.name)
		}
	}
}

func perOp(n, ops int64) float64 {
	if ops == 0 {
		return 0
	}
	return float64(n) / float64(ops)
}

var aadstsCode = regexp.MustCompile(`AADSTS\d+`)

// blobProbe uses an issued credential as a workload would: Put Blob under the prefix, with
// a fresh token (no cache), straight to the simulator.
func blobProbe(sim *azuresim.Sim, s *api.Secret, tag string) string {
	if s == nil {
		return "no credential"
	}
	str := func(k string) string { v, _ := s.Data[k].(string); return v }
	c := cloud.AzurePublic
	c.ActiveDirectoryAuthorityHost = sim.AuthorityHost()
	opts := azcore.ClientOptions{Cloud: c, Transport: sim.Client(), Retry: policy.RetryOptions{MaxRetries: -1}}
	cred, err := azidentity.NewClientSecretCredential(sim.TenantID(), str("client_id"), str("client_secret"),
		&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
	if err != nil {
		return "error: " + err.Error()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://storage.azure.com/.default"}}); err != nil {
		if m := aadstsCode.FindString(err.Error()); m != "" {
			return "token refused (" + m + ")"
		}
		return "token error: " + err.Error()
	}
	blobs, err := azblob.NewClient(sim.BlobServiceURL("stexports"), cred, &azblob.ClientOptions{ClientOptions: opts})
	if err != nil {
		return "error: " + err.Error()
	}
	_, err = blobs.UploadBuffer(ctx, "exports", "2026/12/probe-"+tag+"-"+str("client_id")+".txt", []byte("probe"), nil)
	var re *azcore.ResponseError
	switch {
	case err == nil:
		return "allowed"
	case errors.As(err, &re):
		return re.ErrorCode
	default:
		return "error: " + err.Error()
	}
}

// hashicorpAzurePlugin returns $NHI_AZURE_PLUGIN_BIN, or HashiCorp's plugin built once
// from the Go module proxy in a temporary module directory (its own go.mod, nothing of it
// in this repository) and cached beside the Vault build of scripts/get-vault.sh.
func hashicorpAzurePlugin(ctx context.Context) (string, error) {
	if bin := os.Getenv("NHI_AZURE_PLUGIN_BIN"); bin != "" {
		return bin, nil
	}
	cache := os.Getenv("NHI_CACHE_DIR")
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", err
			}
			base = filepath.Join(home, ".cache")
		}
		cache = filepath.Join(base, "vault-plugin-secrets-nhi")
	}
	dir := filepath.Join(cache, azHCPlugin+"-"+azHCVersion)
	bin := filepath.Join(dir, azHCPlugin)
	if st, err := os.Stat(bin); err == nil && st.Mode()&0o111 != 0 {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".build.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	if st, err := os.Stat(bin); err == nil && st.Mode()&0o111 != 0 {
		return bin, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	work, err := os.MkdirTemp("", "hc-azure-plugin-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	env := append(os.Environ(), "GOWORK=off", "GOFLAGS=-buildvcs=false")
	run := func(dir string, name string, args ...string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir, cmd.Env = dir, env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
		}
		return out, nil
	}
	out, err := run(work, "go", "mod", "download", "-json", azHCModule+"@"+azHCVersion)
	if err != nil {
		return "", err
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		return "", fmt.Errorf("go mod download: no module directory in %s", out)
	}
	src := filepath.Join(work, "src")
	if _, err := run(work, "cp", "-r", mod.Dir, src); err != nil {
		return "", err
	}
	if _, err := run(work, "chmod", "-R", "u+w", src); err != nil {
		return "", err
	}
	tmp := bin + ".tmp"
	if _, err := run(src, "go", "build", "-o", tmp, "./cmd/"+azHCPlugin); err != nil {
		return "", err
	}
	return bin, os.Rename(tmp, bin)
}

// azureGateway is a CONNECT proxy for the HashiCorp plugin: it accepts tunnels to the
// public-cloud hosts only, terminates TLS with its own CA's certificate and serves each
// request with the simulator's handler.
type azureGateway struct {
	sim     *azuresim.Sim
	ln      net.Listener
	srv     *http.Server
	conns   chan net.Conn
	closed  chan struct{}
	tlsCfg  *tls.Config
	caPath  string
	handler http.Handler

	mu          sync.Mutex
	appObjByApp map[string]string // appId → application object id
	appBySP     map[string]string // service principal object id → appId

	tunnels, rewrites, gunzipped atomic.Int64
}

var reSPAddPassword = regexp.MustCompile(`^/v1\.0/servicePrincipals/([^/]+)/addPassword$`)

func startAzureGateway(sim *azuresim.Sim, dir string) (*azureGateway, error) {
	caPEM, cert, err := gatewayCerts()
	if err != nil {
		return nil, err
	}
	g := &azureGateway{
		sim: sim, conns: make(chan net.Conn), closed: make(chan struct{}),
		caPath:      filepath.Join(dir, "gateway-ca.pem"),
		handler:     sim.Handler(),
		appObjByApp: map[string]string{}, appBySP: map[string]string{},
	}
	if err := os.WriteFile(g.caPath, caPEM, 0o644); err != nil {
		return nil, err
	}
	g.tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
	if g.ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return nil, err
	}
	g.srv = &http.Server{Handler: g, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = g.srv.Serve(&chanListener{g: g}) }()
	go g.acceptLoop()
	return g, nil
}

func (g *azureGateway) ProxyURL() string { return "http://" + g.ln.Addr().String() }

func (g *azureGateway) Close() {
	select {
	case <-g.closed:
		return
	default:
	}
	close(g.closed)
	g.ln.Close()
	_ = g.srv.Close()
}

func (g *azureGateway) acceptLoop() {
	for {
		c, err := g.ln.Accept()
		if err != nil {
			return
		}
		go g.tunnel(c)
	}
}

func (g *azureGateway) tunnel(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		c.Close()
		return
	}
	host, _, _ := net.SplitHostPort(req.Host)
	if req.Method != http.MethodConnect || !azPublicHosts[strings.ToLower(host)] {
		_, _ = io.WriteString(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		c.Close()
		return
	}
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection Established\r\n\r\n"); err != nil {
		c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	var raw net.Conn = c
	if br.Buffered() > 0 {
		raw = &bufferedConn{Conn: c, r: br}
	}
	g.tunnels.Add(1)
	select {
	case g.conns <- tls.Server(raw, g.tlsCfg):
	case <-g.closed:
		c.Close()
	}
}

func (g *azureGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, "bad gzip body", http.StatusBadRequest)
			return
		}
		body, err := io.ReadAll(zr)
		if err != nil {
			http.Error(w, "bad gzip body", http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
		r.Header.Del("Content-Encoding")
		g.gunzipped.Add(1)
	}
	if r.Method == http.MethodPost {
		if m := reSPAddPassword.FindStringSubmatch(r.URL.Path); m != nil {
			g.mu.Lock()
			obj := g.appObjByApp[g.appBySP[m[1]]]
			g.mu.Unlock()
			if obj != "" {
				r.URL.Path = "/v1.0/applications/" + obj + "/addPassword"
				r.URL.RawPath = ""
				r.RequestURI = r.URL.RequestURI()
				g.rewrites.Add(1)
			}
		}
		if r.URL.Path == "/v1.0/applications" || r.URL.Path == "/v1.0/servicePrincipals" {
			rec := &teeWriter{ResponseWriter: w}
			g.handler.ServeHTTP(rec, r)
			var obj struct {
				ID    string `json:"id"`
				AppID string `json:"appId"`
			}
			if rec.status/100 == 2 && json.Unmarshal(rec.buf.Bytes(), &obj) == nil && obj.ID != "" {
				g.mu.Lock()
				if r.URL.Path == "/v1.0/applications" {
					g.appObjByApp[obj.AppID] = obj.ID
				} else {
					g.appBySP[obj.ID] = obj.AppID
				}
				g.mu.Unlock()
			}
			return
		}
	}
	g.handler.ServeHTTP(w, r)
}

// teeWriter passes a response through and keeps a copy of its body.
type teeWriter struct {
	http.ResponseWriter
	status int
	buf    bytes.Buffer
}

func (t *teeWriter) WriteHeader(code int) {
	if t.status == 0 {
		t.status = code
	}
	t.ResponseWriter.WriteHeader(code)
}

func (t *teeWriter) Write(p []byte) (int, error) {
	if t.status == 0 {
		t.status = http.StatusOK
	}
	t.buf.Write(p)
	return t.ResponseWriter.Write(p)
}

type chanListener struct{ g *azureGateway }

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.g.conns:
		return c, nil
	case <-l.g.closed:
		return nil, net.ErrClosed
	}
}
func (l *chanListener) Close() error   { return nil }
func (l *chanListener) Addr() net.Addr { return l.g.ln.Addr() }

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// gatewayCerts makes a CA and a server certificate for the public-cloud hosts.
func gatewayCerts() (caPEM []byte, cert tls.Certificate, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, cert, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "nhi bench gateway CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, cert, err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, cert, err
	}
	var names []string
	for h := range azPublicHosts {
		names = append(names, h)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "nhi bench gateway"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: names,
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, cert, err
	}
	caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	return caPEM, tls.Certificate{Certificate: [][]byte{leafDER, caDER}, PrivateKey: key}, nil
}
