package bench

// AWS assumed_role credentials, side by side in one run: this engine (nhi/) and Vault's
// builtin AWS secrets engine (aws/, compiled into the vault binary), both on one real
// Vault dev server and both pointed at the same in-process AWS simulator (tests/awssim).
//
// Phases, each with NHI_BENCH_CLIENTS clients (default 8), each bounded by
// NHI_BENCH_DURATION (default 10s) or NHI_BENCH_COUNT operations:
//  1. builtin issuance: read aws/sts/etl (credential_type=assumed_role), then the ceiling
//     plugin (tests/bench/ceilingplugin: an external plugin doing one AssumeRole and
//     nothing else, the most any external plugin can reach);
//  2. nhi issuance: read nhi/creds/<role> with the intent as query parameters (the verb
//     the builtin engine is read with), then the same intent written as a body;
//  3. revocation of the leases each engine issued (warm-up included), one
//     sys/leases/revoke call per lease: builtin, the ceiling plugin, then nhi;
//  4. issuance by both again with NHI_BENCH_AWS_LATENCY (default 50ms) added to every
//     AssumeRole in the simulator, as a regional STS endpoint answers: the comparison
//     when the cloud rather than this machine's two cores sets the pace.
//
// The issuance phases (1, 2 and 4) are interleaved: NHI_BENCH_ROUNDS rounds (default 3)
// of every engine for its share of the duration, so that a slow spell of the shared
// machine does not land on one engine only.
//
// Vault's builtin engine does not revoke STS credentials (its revoke is a no-op for
// is_sts leases: "STS cleans up after itself"); this engine's revoke denies the session
// in an inline policy on the assumed role. The simulator's per-operation counts show
// what each engine asked of AWS per credential.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/hashicorp/vault/api"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/tests/awssim"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/tests/internal/vaulttest"
)

const (
	awsBenchRole     = "bench-etl" // nhi role
	awsBuiltinRole   = "etl"       // builtin role
	awsSimRoleName   = "etl"       // the IAM role both engines assume
	awsRevocationPol = "nhi-revoked-sessions"
	awsCeilingPlugin = "nhi-bench-ceiling" // tests/bench/ceilingplugin

	awsSimTrust    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}]}`
	awsSimAllowAll = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	// The builtin role's session policy, scoped to the same prefix as the nhi intent.
	awsBuiltinPolicy = `{"Version":"2012-10-17","Statement":[` +
		`{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::a/b/*"},` +
		`{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::a","Condition":{"StringLike":{"s3:prefix":"b/*"}}}]}`
	awsNHIGrants = `[{"destination": "s3://a/b/*", "actions": ["read", "write", "list"], "max_sensitivity": "confidential"}]`
)

// simOps are the simulator operations whose counts are reported (non-zero ones only).
var simOps = func() []string {
	ops := []string{"sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:GetCallerIdentity", "cloudtrail:LookupEvents"}
	for _, op := range strings.Fields(`CreateUser GetUser ListUsers DeleteUser TagUser UntagUser PutUserPolicy
		GetUserPolicy DeleteUserPolicy ListUserPolicies AttachUserPolicy DetachUserPolicy ListAttachedUserPolicies
		PutUserPermissionsBoundary DeleteUserPermissionsBoundary CreateAccessKey DeleteAccessKey UpdateAccessKey
		ListAccessKeys GetAccessKeyLastUsed CreateRole GetRole DeleteRole PutRolePolicy GetRolePolicy DeleteRolePolicy
		ListRolePolicies AttachRolePolicy DetachRolePolicy ListAttachedRolePolicies CreatePolicy GetPolicy
		GetPolicyVersion DeletePolicy`) {
		ops = append(ops, "iam:"+op)
	}
	return ops
}()

// simSnapshot is the simulator's call counts at one moment.
type simSnapshot struct {
	ops    map[string]int
	calls  int // recorded calls (CloudTrail events), every service
	failed int // of which returned an error
}

func takeSimSnapshot(sim *awssim.Sim) simSnapshot {
	s := simSnapshot{ops: map[string]int{}}
	for _, op := range simOps {
		svc, name, _ := strings.Cut(op, ":")
		s.ops[op] = sim.OperationCount(svc, name)
	}
	for _, e := range sim.Events() {
		s.calls++
		if e.ErrorCode != "" {
			s.failed++
		}
	}
	return s
}

// describe renders the calls between two snapshots, per credential when perCred > 0.
func describeSimCalls(before, after simSnapshot, perCred int64) string {
	var parts []string
	for _, op := range simOps {
		if d := after.ops[op] - before.ops[op]; d > 0 {
			if perCred > 0 {
				parts = append(parts, fmt.Sprintf("%s %d (%.2f/cred)", op, d, float64(d)/float64(perCred)))
			} else {
				parts = append(parts, fmt.Sprintf("%s %d", op, d))
			}
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "no AWS calls")
	}
	return fmt.Sprintf("%s; all calls %d, failed %d", strings.Join(parts, ", "), after.calls-before.calls, after.failed-before.failed)
}

// leaseLog collects the lease ids a phase issued.
type leaseLog struct {
	mu  sync.Mutex
	ids []string
}

func (l *leaseLog) add(id string) {
	l.mu.Lock()
	l.ids = append(l.ids, id)
	l.mu.Unlock()
}

func (l *leaseLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.ids...)
}

func TestAWSIssueThroughput(t *testing.T) {
	duration, nClients, count := benchSettings(t, "AWS issuance benchmark: set NHI_BENCH=1 (scripts/bench-issue.sh)")

	ctx := context.Background()

	// The simulator, closed after the server has stopped (cleanups run last-in first-out).
	sim := awssim.New(awssim.Options{Buckets: []string{"a"}}).Start()
	t.Cleanup(sim.Close)
	roleARN, err := sim.CreateRole(awsSimRoleName, awsSimTrust, map[string]string{"all": awsSimAllowAll}, 43200)
	if err != nil {
		t.Fatalf("seeding the simulator's role: %v", err)
	}
	sim.PutObject("a", "b/seed.txt", []byte("seed"))
	keyID, secretKey := sim.RootCredentials()

	ceilingBin, err := buildCeilingPlugin(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := vaulttest.Start(ctx, vaulttest.Options{
		Dir: t.TempDir(), LogLevel: "warn",
		Plugins: []vaulttest.ExtraPlugin{{Name: awsCeilingPlugin, Path: ceilingBin}},
		Env: []string{
			"NHI_CEILING_STS_ENDPOINT=" + sim.URL(), "NHI_CEILING_ACCESS_KEY=" + keyID,
			"NHI_CEILING_SECRET_KEY=" + secretKey, "NHI_CEILING_ROLE_ARN=" + roleARN,
			"NHI_CEILING_POLICY=" + awsBuiltinPolicy,
		},
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

	// Both engines on the same simulator, with the same root keys and retry limit.
	if _, err := root.Logical().Write("nhi/config/aws", map[string]any{
		"access_key": keyID, "secret_key": secretKey, "region": "us-east-1",
		"sts_endpoint": sim.URL(), "iam_endpoint": sim.URL(), "s3_endpoint": sim.URL(),
		"cloudtrail_endpoint": sim.URL(), "max_retries": 2,
	}); err != nil {
		t.Fatalf("nhi/config/aws: %v", err)
	}
	// The CloudTrail collector's cost grows with the number of live credentials, not with
	// the issuance rate; left on, its once-a-minute run over thousands of benchmark
	// credentials lands in whichever phase it happens to hit. TestDriftThroughput
	// measures it on its own.
	if _, err := root.Logical().Write("nhi/config/drift", map[string]any{"collector_interval": 0}); err != nil {
		t.Fatalf("nhi/config/drift: %v", err)
	}
	if err := root.Sys().Mount("ceiling", &api.MountInput{Type: awsCeilingPlugin}); err != nil {
		t.Fatalf("enabling the ceiling plugin: %v", err)
	}
	if err := root.Sys().Mount("aws", &api.MountInput{Type: "aws"}); err != nil {
		t.Fatalf("enabling the builtin aws engine: %v", err)
	}
	if _, err := root.Logical().Write("aws/config/root", map[string]any{
		"access_key": keyID, "secret_key": secretKey, "region": "us-east-1",
		"sts_endpoint": sim.URL(), "sts_region": "us-east-1", "iam_endpoint": sim.URL(),
		"max_retries": 2,
	}); err != nil {
		t.Fatalf("aws/config/root: %v", err)
	}
	if _, err := root.Logical().Write("aws/roles/"+awsBuiltinRole, map[string]any{
		"credential_type": "assumed_role",
		"role_arns":       roleARN,
		"default_sts_ttl": 900,
		"policy_document": awsBuiltinPolicy,
	}); err != nil {
		t.Fatalf("aws/roles/%s: %v", awsBuiltinRole, err)
	}

	// The workload: the same userpass token calls both engines (so both pay the same
	// ACL and entity lookups); the nhi role also checks identity, CIDR, task and grants.
	w := benchWorkload(ctx, t, srv, root, "etl-bot", "analytics", `
path "aws/sts/`+awsBuiltinRole+`" { capabilities = ["read", "update"] }
path "aws/creds/`+awsBuiltinRole+`" { capabilities = ["read", "update"] }
path "ceiling/creds" { capabilities = ["read"] }
`)
	if _, err := root.Logical().Write("nhi/roles/"+awsBenchRole, map[string]any{
		"provider":              "aws",
		"role_arn":              roleARN,
		"grants":                awsNHIGrants,
		"max_sts_ttl":           3600,
		"allowed_tasks":         "nightly-*",
		"bound_entity_metadata": map[string]string{"team": "analytics"},
		"bound_cidrs":           "127.0.0.0/8",
		"ttl":                   "15m",
		"max_ttl":               "1h",
	}); err != nil {
		t.Fatalf("nhi/roles/%s: %v", awsBenchRole, err)
	}

	clients := benchClients(t, srv, w.Token, nClients)
	rootClients := benchClients(t, srv, vaulttest.RootToken, nClients)

	var builtinLeases, ceilingLeases, nhiLeases leaseLog
	var firstBuiltin, firstNHI atomic.Pointer[api.Secret]
	builtinOp := func(c *api.Client) error {
		s, err := c.Logical().Read("aws/sts/" + awsBuiltinRole)
		if err != nil {
			return err
		}
		if s == nil || s.LeaseID == "" || s.Data["access_key"] == nil || s.Data["session_token"] == nil {
			return fmt.Errorf("builtin issuance returned no STS credential")
		}
		builtinLeases.add(s.LeaseID)
		firstBuiltin.CompareAndSwap(nil, s)
		return nil
	}
	intent := map[string]any{
		"task":         "nightly-etl",
		"destinations": []string{"s3://a/b/*"},
		"actions":      []string{"read", "write", "list"},
		"sensitivity":  "internal",
		"ttl":          "15m",
	}
	ceilingOp := func(c *api.Client) error {
		s, err := c.Logical().Read("ceiling/creds")
		if err != nil {
			return err
		}
		if s == nil || s.LeaseID == "" || s.Data["session_token"] == nil {
			return fmt.Errorf("ceiling plugin returned no STS credential")
		}
		ceilingLeases.add(s.LeaseID)
		return nil
	}
	// The same intent as query parameters: `vault read nhi/creds/...`, the HTTP verb the
	// builtin engine is read with.
	intentQuery := map[string][]string{
		"task":         {"nightly-etl"},
		"destinations": {"s3://a/b/*"},
		"actions":      {"read,write,list"},
		"sensitivity":  {"internal"},
		"ttl":          {"15m"},
	}
	checkNHI := func(s *api.Secret, err error) error {
		if err != nil {
			return err
		}
		if s == nil || s.LeaseID == "" || s.Data["access_key"] == nil || s.Data["session_token"] == nil {
			return fmt.Errorf("nhi issuance returned no STS credential")
		}
		nhiLeases.add(s.LeaseID)
		firstNHI.CompareAndSwap(nil, s)
		return nil
	}
	nhiOp := func(c *api.Client) error {
		return checkNHI(c.Logical().ReadWithData("nhi/creds/"+awsBenchRole, intentQuery))
	}
	nhiWriteOp := func(c *api.Client) error {
		return checkNHI(c.Logical().Write("nhi/creds/"+awsBenchRole, intent))
	}
	// Warm up connections, both engines' clients, the plugin and the token caches.
	for _, c := range clients {
		if err := builtinOp(c); err != nil {
			t.Fatalf("builtin issuance warm-up: %v", err)
		}
		if err := nhiOp(c); err != nil {
			t.Fatalf("nhi issuance warm-up: %v", err)
		}
		if err := nhiWriteOp(c); err != nil {
			t.Fatalf("nhi issuance (write) warm-up: %v", err)
		}
		if err := ceilingOp(c); err != nil {
			t.Fatalf("ceiling plugin warm-up: %v", err)
		}
	}
	warmBuiltin, warmNHI := len(builtinLeases.all()), len(nhiLeases.all())

	issued, issueCalls := interleave(srv, sim, duration, count, []engineRun{
		{"builtin issue", clients, builtinOp},
		{"ceiling issue", clients, ceilingOp},
		{"nhi issue", clients, nhiOp},
		{"nhi issue/write", clients, nhiWriteOp},
	})
	bIssue, cIssue, nIssue, nWrite := issued[0], issued[1], issued[2], issued[3]
	zero := simSnapshot{ops: map[string]int{}}

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
	probeBefore := fmt.Sprintf("builtin %s, nhi %s", s3Probe(sim, firstBuiltin.Load()), s3Probe(sim, firstNHI.Load()))
	snap2r := takeSimSnapshot(sim) // after the probes
	bIDs, cIDs, nIDs := builtinLeases.all(), ceilingLeases.all(), nhiLeases.all()
	bRevoke := runPhase(srv, "builtin revoke", rootClients, duration, int64(len(bIDs)), revokeOp(bIDs))
	cRevoke := runPhase(srv, "ceiling revoke", rootClients, duration, int64(len(cIDs)), revokeOp(cIDs))
	snap3 := takeSimSnapshot(sim)
	nRevoke := runPhase(srv, "nhi revoke", rootClients, duration, int64(len(nIDs)), revokeOp(nIDs))
	snap4 := takeSimSnapshot(sim)

	nhiAfter := s3Probe(sim, firstNHI.Load())

	// 4. Issuance again, with a regional STS endpoint's latency added to every AssumeRole
	// in the simulator: the same engines when the cloud, not the CPU, sets the pace.
	latency := awsBenchLatency(t)
	var bLatent, cLatent, nLatent phaseResult
	if latency > 0 {
		sim.InjectFault(awssim.FaultSpec{Service: "sts", Operation: "AssumeRole", Kind: awssim.FaultLatency, Latency: latency})
		latent, _ := interleave(srv, sim, duration, count, []engineRun{
			{"builtin issue", clients, builtinOp},
			{"ceiling issue", clients, ceilingOp},
			{"nhi issue", clients, nhiOp},
		})
		bLatent, cLatent, nLatent = latent[0], latent[1], latent[2]
		sim.ClearFaults()
	}
	probeAfter := fmt.Sprintf("builtin %s, nhi %s", s3Probe(sim, firstBuiltin.Load()), nhiAfter)
	if nRevoke.ops == int64(len(nIDs)) && nhiAfter != "AccessDenied" {
		t.Errorf("a revoked nhi credential still gets %q from S3, want AccessDenied", nhiAfter)
	}

	// What the simulator's role holds now: the nhi revocation policy.
	revPolicy := sim.RolePolicies(awsSimRoleName)[awsRevocationPol]
	revState := "absent"
	if revPolicy != "" {
		revState = fmt.Sprintf("%d chars (role's inline total %d of 10240), aws:TokenIssueTime fallback: %v, aws:userid entries: %d",
			len(revPolicy), sim.RoleInlinePolicySize(awsSimRoleName),
			strings.Contains(revPolicy, "aws:TokenIssueTime"), strings.Count(revPolicy, "AROA"))
	}

	version, _ := srv.CLI(ctx, "", "version")
	var b strings.Builder
	fmt.Fprintf(&b, "\n=== AWS assumed_role benchmark: nhi vs Vault's builtin aws engine, same server, same simulator\n")
	fmt.Fprintf(&b, "=== (%s, %d clients, %s, issuance interleaved in %d rounds, GOMAXPROCS=%d, NumCPU=%d)\n",
		strings.TrimSpace(version), nClients, phaseSpec(duration, count), envInt("NHI_BENCH_ROUNDS", 3), runtime.GOMAXPROCS(0), runtime.NumCPU())
	fmt.Fprintln(&b, bIssue)
	fmt.Fprintln(&b, cIssue)
	fmt.Fprintln(&b, nIssue)
	fmt.Fprintln(&b, nWrite)
	if bIssue.rate() > 0 {
		fmt.Fprintf(&b, "ratio nhi/builtin issuance   = %.3f (both read; nhi with the intent as query parameters)\n", nIssue.rate()/bIssue.rate())
		fmt.Fprintf(&b, "ratio nhi write/builtin read = %.3f (a write costs Vault an extra existence-check call into the plugin)\n", nWrite.rate()/bIssue.rate())
		fmt.Fprintf(&b, "ratio ceiling/builtin        = %.3f (the most any external plugin reaches: one AssumeRole, no call into Vault)\n", cIssue.rate()/bIssue.rate())
		if cIssue.rate() > 0 {
			fmt.Fprintf(&b, "ratio nhi/ceiling            = %.3f (what nhi's checks and records cost beyond the plugin boundary)\n", nIssue.rate()/cIssue.rate())
		}
	}
	fmt.Fprintln(&b, bRevoke)
	fmt.Fprintln(&b, cRevoke)
	fmt.Fprintln(&b, nRevoke)
	if bRevoke.rate() > 0 {
		fmt.Fprintf(&b, "ratio nhi/builtin revocation = %.3f (ceiling/builtin %.3f: both revokes are no-ops)\n",
			nRevoke.rate()/bRevoke.rate(), cRevoke.rate()/bRevoke.rate())
	}
	fmt.Fprintf(&b, "revocation: builtin %d of %d leases, nhi %d of %d (warm-up leases included: %d/%d)",
		bRevoke.ops, len(bIDs), nRevoke.ops, len(nIDs), warmBuiltin, warmNHI)
	if bRevoke.ops < int64(len(bIDs)) || nRevoke.ops < int64(len(nIDs)) {
		fmt.Fprint(&b, "; the phase's time ran out, the rest end with the server")
	}
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "note: Vault's builtin engine does not revoke STS credentials: its revoke is a no-op for")
	fmt.Fprintln(&b, "      assumed_role leases (no AWS call; the session stays valid until STS expiry). nhi's")
	fmt.Fprintln(&b, "      revoke denies the session in an inline policy on the role (IAM calls below).")
	fmt.Fprintf(&b, "first warm-up credential of each engine, GetObject a/b/seed.txt: before revocation: %s; after: %s\n", probeBefore, probeAfter)
	fmt.Fprintln(&b, "simulator calls (sim.OperationCount deltas, probes excluded):")
	fmt.Fprintf(&b, "  builtin issue:  %s\n", describeSimCalls(zero, issueCalls[0], bIssue.ops))
	fmt.Fprintf(&b, "  ceiling issue:  %s\n", describeSimCalls(zero, issueCalls[1], cIssue.ops))
	fmt.Fprintf(&b, "  nhi issue:      %s\n", describeSimCalls(zero, issueCalls[2], nIssue.ops))
	fmt.Fprintf(&b, "  nhi issue/write: %s\n", describeSimCalls(zero, issueCalls[3], nWrite.ops))
	fmt.Fprintf(&b, "  builtin revoke: %s\n", describeSimCalls(snap2r, snap3, bRevoke.ops))
	fmt.Fprintf(&b, "  nhi revoke:     %s\n", describeSimCalls(snap3, snap4, nRevoke.ops))
	fmt.Fprintf(&b, "nhi revocation policy on role %s: %s\n", awsSimRoleName, revState)
	if puts := int64(snap4.ops["iam:PutRolePolicy"] - snap3.ops["iam:PutRolePolicy"]); puts < nRevoke.ops {
		fmt.Fprintf(&b, "note: %d policy writes covered nhi's %d revocations: concurrent revocations of one role share\n", puts, nRevoke.ops)
		fmt.Fprintln(&b, "      one write, and once the per-session list outgrew the inline policy budget the engine")
		fmt.Fprintln(&b, "      switched to denying every session of the role issued before then (aws:TokenIssueTime).")
		fmt.Fprintln(&b, "      The builtin engine assumes the same IAM role here, so that fallback also cut off its sessions.")
	}
	if latency > 0 {
		fmt.Fprintf(&b, "with %s added to every sts:AssumeRole in the simulator (NHI_BENCH_AWS_LATENCY):\n", latency)
		fmt.Fprintln(&b, bLatent)
		fmt.Fprintln(&b, cLatent)
		fmt.Fprintln(&b, nLatent)
		if bLatent.rate() > 0 {
			fmt.Fprintf(&b, "ratio nhi/builtin issuance with STS latency = %.3f (ceiling/builtin %.3f)\n",
				nLatent.rate()/bLatent.rate(), cLatent.rate()/bLatent.rate())
		}
	}
	fmt.Print(b.String())

	checked := []phaseResult{bIssue, cIssue, nIssue, nWrite, bRevoke, cRevoke, nRevoke}
	if latency > 0 {
		checked = append(checked, bLatent, cLatent, nLatent)
	}
	for _, r := range checked {
		if r.errors > 0 {
			t.Errorf("%s: %d errors, first: %v", r.name, r.errors, r.firstErr)
		}
		if r.ops == 0 {
			t.Errorf("%s: no successful operation", r.name)
		}
	}
}

// buildCeilingPlugin builds tests/bench/ceilingplugin into dir.
func buildCeilingPlugin(dir string) (string, error) {
	bin := filepath.Join(dir, awsCeilingPlugin)
	cmd := exec.Command("go", "build", "-o", bin, "./ceilingplugin")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the ceiling plugin: %v\n%s", err, out)
	}
	return bin, nil
}

// awsBenchLatency is NHI_BENCH_AWS_LATENCY (default 50ms, "0" skips those phases): what
// AssumeRole on a regional STS endpoint typically takes.
func awsBenchLatency(t *testing.T) time.Duration {
	v := os.Getenv("NHI_BENCH_AWS_LATENCY")
	if v == "" {
		return 50 * time.Millisecond
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > 10*time.Second {
		t.Fatalf("NHI_BENCH_AWS_LATENCY=%q: want a duration up to 10s", v)
	}
	return d
}

// s3Probe uses an issued credential as a workload would: GetObject a/b/seed.txt.
func s3Probe(sim *awssim.Sim, s *api.Secret) string {
	if s == nil {
		return "no credential"
	}
	str := func(k string) string { v, _ := s.Data[k].(string); return v }
	c := s3.New(s3.Options{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(str("access_key"), str("secret_key"), str("session_token")),
		BaseEndpoint:     awssdk.String(sim.URL()),
		UsePathStyle:     true,
		RetryMaxAttempts: 1,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: awssdk.String("a"), Key: awssdk.String("b/seed.txt")})
	var ae smithy.APIError
	switch {
	case err == nil:
		return "allowed"
	case errors.As(err, &ae):
		return ae.ErrorCode()
	default:
		return "error: " + err.Error()
	}
}
