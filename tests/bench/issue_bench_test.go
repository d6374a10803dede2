// Package bench measures credential issuance through a real Vault dev server against a
// kv-v2 read on the same server. It runs only with NHI_BENCH=1 (scripts/bench-issue.sh),
// so `make test` skips it.
//
// Settings: NHI_BENCH_DURATION (per phase, default 10s), NHI_BENCH_CLIENTS (default 8),
// NHI_BENCH_COUNT (a fixed number of operations per phase instead of a duration).
package bench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/tests/internal/vaulttest"
)

const benchRole = "bench-writer"

type phaseResult struct {
	name      string
	ops       int64
	errors    int64
	firstErr  error
	elapsed   time.Duration
	latencies []time.Duration
	cpu       cpuUse
}

func (r phaseResult) rate() float64 { return float64(r.ops) / r.elapsed.Seconds() }

func (r phaseResult) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(p * float64(len(r.latencies)-1))
	return r.latencies[i]
}

func (r phaseResult) String() string {
	return fmt.Sprintf("%-16s %7d ok %4d errors in %6.2fs = %8.1f/s   p50 %6.2fms  p99 %6.2fms",
		r.name, r.ops, r.errors, r.elapsed.Seconds(), r.rate(),
		float64(r.percentile(0.50).Microseconds())/1000, float64(r.percentile(0.99).Microseconds())/1000) +
		r.cpuLine()
}

func (r phaseResult) cpuLine() string {
	if line := r.cpu.perOp(r.ops); line != "" {
		return "\n" + strings.Repeat(" ", 17) + line
	}
	return ""
}

// runPhase runs op from `clients` goroutines, each with its own API client (and so its
// own connections), for duration or until count operations in total have been started,
// whichever comes first.
func runPhase(srv *vaulttest.Server, name string, clients []*api.Client, duration time.Duration, count int64, op func(c *api.Client) error) phaseResult {
	cpuBefore := sampleCPU(srv)
	var ops, errs, started atomic.Int64
	var firstErr atomic.Value
	lat := make([][]time.Duration, len(clients))
	deadline := time.Now().Add(duration)
	begin := time.Now()
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func(i int, c *api.Client) {
			defer wg.Done()
			for {
				// count bounds the phase when set; the deadline always does (with a
				// count it is the safety stop).
				if count > 0 && started.Add(1) > count {
					return
				}
				if !time.Now().Before(deadline) {
					return
				}
				t0 := time.Now()
				if err := op(c); err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				lat[i] = append(lat[i], time.Since(t0))
				ops.Add(1)
			}
		}(i, c)
	}
	wg.Wait()
	r := phaseResult{name: name, ops: ops.Load(), errors: errs.Load(), elapsed: time.Since(begin)}
	r.cpu = sampleCPU(srv).sub(cpuBefore)
	if v := firstErr.Load(); v != nil {
		r.firstErr = v.(error)
	}
	for _, l := range lat {
		r.latencies = append(r.latencies, l...)
	}
	sort.Slice(r.latencies, func(a, b int) bool { return r.latencies[a] < r.latencies[b] })
	return r
}

// benchSettings skips unless NHI_BENCH=1 and reads the phase duration, client count and
// optional fixed operation count shared by every benchmark here.
func benchSettings(t *testing.T, skipReason string) (duration time.Duration, clients int, count int64) {
	t.Helper()
	if os.Getenv("NHI_BENCH") != "1" {
		t.Skip(skipReason)
	}
	duration = 10 * time.Second
	if v := os.Getenv("NHI_BENCH_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > 5*time.Minute {
			t.Fatalf("NHI_BENCH_DURATION=%q: want a duration up to 5m", v)
		}
		duration = d
	}
	clients = envInt("NHI_BENCH_CLIENTS", 8)
	count = int64(envInt("NHI_BENCH_COUNT", 0))
	if count > 0 {
		duration = 10 * time.Minute // bounded by count; this is only a safety stop
	}
	return duration, clients, count
}

func envInt(name string, def int) int {
	if v := os.Getenv(name); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return n
		}
	}
	return def
}

func TestIssueThroughput(t *testing.T) {
	duration, nClients, count := benchSettings(t, "issuance benchmark: set NHI_BENCH=1 (scripts/bench-issue.sh)")

	ctx := context.Background()
	srv, err := vaulttest.Start(ctx, vaulttest.Options{Dir: t.TempDir(), LogLevel: "warn"})
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

	// The workload: userpass, entity metadata team=reports; the role checks identity,
	// CIDR, task, grants and TTL on every request, as in production.
	w := benchWorkload(ctx, t, srv, root, "bench-bot", "reports", `
path "secret/data/bench" { capabilities = ["read"] }
`)
	if _, err := root.Logical().Write("nhi/roles/"+benchRole, map[string]any{
		"allowed_tasks":         "nightly-*",
		"grants":                `[{"destination": "https://reports.internal/exports/*", "actions": ["write", "list"], "max_sensitivity": "confidential"}]`,
		"bound_entity_metadata": map[string]string{"team": "reports"},
		"bound_cidrs":           "127.0.0.0/8",
		"ttl":                   "1m",
		"max_ttl":               "1h",
	}); err != nil {
		t.Fatal(err)
	}
	// The dev server mounts kv-v2 at secret/.
	if _, err := root.Logical().Write("secret/data/bench", map[string]any{
		"data": map[string]any{"username": "bench", "password": "not-a-real-secret"},
	}); err != nil {
		t.Fatalf("writing the kv-v2 key (dev server's secret/): %v", err)
	}

	clients := benchClients(t, srv, w.Token, nClients)
	intent := map[string]any{
		"task":         "nightly-export",
		"destinations": []string{"https://reports.internal/exports/2026/*"},
		"actions":      []string{"write"},
		"sensitivity":  "internal",
		"ttl":          "1m",
	}
	issueOp := func(c *api.Client) error {
		s, err := c.Logical().Write("nhi/creds/"+benchRole, intent)
		if err != nil {
			return err
		}
		if s == nil || s.LeaseID == "" || s.Data["token"] == nil {
			return fmt.Errorf("issuance returned no credential")
		}
		return nil
	}
	kvOp := func(c *api.Client) error {
		s, err := c.Logical().Read("secret/data/bench")
		if err != nil {
			return err
		}
		if s == nil || s.Data["data"] == nil {
			return fmt.Errorf("kv read returned nothing")
		}
		return nil
	}
	// Warm up connections, the plugin and the token caches.
	for _, c := range clients {
		if err := kvOp(c); err != nil {
			t.Fatalf("kv warm-up: %v", err)
		}
		if err := issueOp(c); err != nil {
			t.Fatalf("issuance warm-up: %v", err)
		}
	}

	kv := runPhase(srv, "kv-v2 read", clients, duration, count, kvOp)
	issued := runPhase(srv, "nhi issue", clients, duration, count, issueOp)

	// Leases: revoke everything the run issued.
	revokeStart := time.Now()
	_, revokeErr := srv.CLI(ctx, vaulttest.RootToken, "lease", "revoke", "-sync", "-prefix", "nhi/creds/"+benchRole)
	revokeTook := time.Since(revokeStart)

	version, _ := srv.CLI(ctx, "", "version")
	var b strings.Builder
	fmt.Fprintf(&b, "\n=== nhi issuance benchmark (%s, %d clients, %s, GOMAXPROCS=%d, NumCPU=%d)\n",
		strings.TrimSpace(version), nClients, phaseSpec(duration, count), runtime.GOMAXPROCS(0), runtime.NumCPU())
	fmt.Fprintln(&b, kv)
	fmt.Fprintln(&b, issued)
	if kv.rate() > 0 {
		fmt.Fprintf(&b, "ratio            issuance/kv-read = %.3f (a kv-v2 read is %.1fx faster)\n",
			issued.rate()/kv.rate(), kv.rate()/issued.rate())
	}
	if revokeErr == nil {
		fmt.Fprintf(&b, "revoke -prefix   %d leases (+%d warm-up) in %.2fs\n", issued.ops, nClients, revokeTook.Seconds())
	} else {
		fmt.Fprintf(&b, "revoke -prefix   failed after %.2fs: %v\n", revokeTook.Seconds(), revokeErr)
	}
	fmt.Print(b.String())

	for _, r := range []phaseResult{kv, issued} {
		if r.errors > 0 {
			t.Errorf("%s: %d errors, first: %v", r.name, r.errors, r.firstErr)
		}
		if r.ops == 0 {
			t.Errorf("%s: no successful operation", r.name)
		}
	}
	if revokeErr != nil {
		t.Errorf("revoking the run's leases: %v", revokeErr)
	}
}

func phaseSpec(d time.Duration, count int64) string {
	if count > 0 {
		return fmt.Sprintf("%d operations per phase", count)
	}
	return fmt.Sprintf("%s per phase", d)
}
