package bench

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/vault/api"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/tests/awssim"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/tests/internal/vaulttest"
)

// TestDriftThroughput measures the drift issue's two numbers through a real Vault:
// observe batches of 1,000 events (events judged per second, 8 clients, one role each),
// and the cost of one collector run over 1,000 active AWS credentials read from the
// simulator's CloudTrail and submitted through the signed ingest path.
func TestDriftThroughput(t *testing.T) {
	duration, nClients, _ := benchSettings(t, "drift benchmark: set NHI_BENCH=1 (scripts/bench-issue.sh)")
	nCreds := envInt("NHI_BENCH_COLLECT_CREDENTIALS", 1000)
	ctx := context.Background()
	srv, err := vaulttest.Start(ctx, vaulttest.Options{Dir: t.TempDir(), LogLevel: "warn"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	root, err := srv.Client(vaulttest.RootToken)
	if err != nil {
		t.Fatal(err)
	}

	// Phase 1: observe. One role and credential per client, so roles are judged in parallel.
	ids := make([]string, nClients)
	for i := range ids {
		role := fmt.Sprintf("observe-%d", i)
		if _, err := root.Logical().Write("nhi/roles/"+role, map[string]any{
			"allowed_tasks": "nightly-*", "ttl": "1h", "max_ttl": "2h",
			"grants": `[{"destination": "https://reports.internal/exports/*", "actions": ["write", "list"], "max_sensitivity": "confidential"}]`,
		}); err != nil {
			t.Fatal(err)
		}
		s, err := root.Logical().Write("nhi/creds/"+role, map[string]any{"task": "nightly-export", "destinations": "https://reports.internal/exports/*"})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = s.Data["credential_id"].(string)
	}
	batch := func(id string, outOfIntent int) []map[string]any {
		now := time.Now().UTC()
		events := make([]map[string]any, 1000)
		for i := range events {
			resource := "https://reports.internal/exports/2026/part-" + strconv.Itoa(i) + ".csv"
			if i < outOfIntent {
				resource = "https://finance.internal/payroll-" + strconv.Itoa(i) + ".csv"
			}
			events[i] = map[string]any{
				"credential_id": id, "action": "write", "resource": resource, "source_ip": "127.0.0.1",
				"time": now.Add(-time.Duration(1000-i) * 1500 * time.Millisecond).Format(time.RFC3339), "source": "gateway",
			}
		}
		return events
	}
	clients := benchClients(t, srv, vaulttest.RootToken, nClients)
	var batches, failures atomic.Int64
	var latencies sync.Map
	deadline := time.Now().Add(duration)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) {
				// 1% of each batch drifts, so findings are stored and warned about too.
				body := map[string]any{"events": batch(ids[i], 10)}
				t0 := time.Now()
				if _, err := clients[i].Logical().Write("nhi/observe", body); err != nil {
					failures.Add(1)
					continue
				}
				mine = append(mine, time.Since(t0))
				batches.Add(1)
			}
			latencies.Store(i, mine)
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	latencies.Range(func(_, v any) bool { all = append(all, v.([]time.Duration)...); return true })
	p50 := phaseResult{latencies: all}.percentile(0.5)
	fmt.Printf("observe          %5d batches of 1,000 events, %d errors in %6.2fs = %9.0f events/s   p50 %v per batch\n",
		batches.Load(), failures.Load(), elapsed.Seconds(), float64(batches.Load()*1000)/elapsed.Seconds(), p50.Round(time.Millisecond))

	// Phase 2: one collector run over nCreds active AWS credentials, each used once.
	sim := awssim.New(awssim.Options{Buckets: []string{"a"}}).Start()
	t.Cleanup(sim.Close)
	arn, err := sim.CreateRole(awsSimRoleName, awsSimTrust, map[string]string{"all": awsSimAllowAll}, 43200)
	if err != nil {
		t.Fatal(err)
	}
	sim.PutObject("a", "b/seed.txt", []byte("seed"))
	rootKey, rootSecret := sim.RootCredentials()
	if _, err := root.Logical().Write("nhi/config/aws", map[string]any{
		"access_key": rootKey, "secret_key": rootSecret, "region": "us-east-1",
		"sts_endpoint": sim.URL(), "iam_endpoint": sim.URL(), "s3_endpoint": sim.URL(), "cloudtrail_endpoint": sim.URL(),
	}); err != nil {
		t.Fatal(err)
	}
	// Periodic collection off: the run measured is the one started below.
	if _, err := root.Logical().Write("nhi/config/drift", map[string]any{"collector_interval": 0}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("nhi/roles/collect", map[string]any{
		"provider": "aws", "role_arn": arn, "allowed_tasks": "nightly-*", "ttl": "30m", "max_ttl": "1h", "max_sts_ttl": 3600,
		"grants": `[{"destination": "s3://a/b/*", "actions": ["read"], "max_sensitivity": "internal"}]`,
	}); err != nil {
		t.Fatal(err)
	}
	var next atomic.Int64
	wg = sync.WaitGroup{}
	issueStart := time.Now()
	for i := 0; i < nClients; i++ {
		wg.Add(1)
		go func(c *api.Client) {
			defer wg.Done()
			for next.Add(1) <= int64(nCreds) {
				s, err := c.Logical().Write("nhi/creds/collect", map[string]any{"task": "nightly-etl", "destinations": "s3://a/b/*", "actions": "read"})
				if err != nil {
					failures.Add(1)
					continue
				}
				cp := credentials.NewStaticCredentialsProvider(s.Data["access_key"].(string), s.Data["secret_key"].(string), s.Data["session_token"].(string))
				s3c := s3.New(s3.Options{Region: "us-east-1", Credentials: cp, BaseEndpoint: awssdk.String(sim.URL()), UsePathStyle: true})
				_, _ = s3c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: awssdk.String("a"), Key: awssdk.String("b/seed.txt")})
			}
		}(clients[i])
	}
	wg.Wait()
	fmt.Printf("setup            %d AWS credentials issued and used once in %.1fs\n", nCreds, time.Since(issueStart).Seconds())
	for run := 1; run <= 2; run++ {
		lookups := sim.OperationCount("cloudtrail", "LookupEvents")
		t0 := time.Now()
		resp, err := root.Logical().Write("nhi/drift/collect", nil)
		if err != nil {
			t.Fatalf("collector run %d: %v", run, err)
		}
		took := time.Since(t0)
		fmt.Printf("collector run %d  %v credentials, %v events, %v findings, %v signed submissions, %d LookupEvents calls in %v (%.2f ms per credential)\n",
			run, resp.Data["credentials"], resp.Data["events"], resp.Data["findings"], resp.Data["submissions"],
			sim.OperationCount("cloudtrail", "LookupEvents")-lookups, took.Round(time.Millisecond), float64(took.Microseconds())/1000/float64(nCreds))
	}
}
