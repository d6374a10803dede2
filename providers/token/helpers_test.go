package token

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

const testIssuer = "https://vault.example.com/v1/nhi"

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is a settable clock shared by a provider and its test.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// countingStorage counts writes per key.
type countingStorage struct {
	logical.Storage
	mu   sync.Mutex
	puts map[string]int
}

func newCountingStorage() *countingStorage {
	return &countingStorage{Storage: &logical.InmemStorage{}, puts: map[string]int{}}
}

func (s *countingStorage) Put(ctx context.Context, e *logical.StorageEntry) error {
	s.mu.Lock()
	s.puts[e.Key]++
	s.mu.Unlock()
	return s.Storage.Put(ctx, e)
}

func (s *countingStorage) count(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.puts[key]
}

// setup returns a provider on a fake clock and storage configured with testIssuer and alg.
func setup(t testing.TB, alg string, mod ...func(*Config)) (*Provider, *countingStorage, *fakeClock) {
	t.Helper()
	clock := newClock()
	s := newCountingStorage()
	cfg := DefaultConfig()
	cfg.Issuer = testIssuer
	cfg.Algorithm = alg
	for _, m := range mod {
		m(&cfg)
	}
	if err := SaveConfig(context.Background(), s, cfg); err != nil {
		t.Fatalf("SaveConfig: %v", err)
	}
	return New(clock.Now), s, clock
}

func sampleRole() providers.RoleInfo {
	return providers.RoleInfo{
		Name:           "billing-reader",
		CredentialType: "jwt",
		Actions:        []string{"read", "list", "svc:Refund"},
		Destinations:   []string{"https://api.example.com/billing/*", "svc://ledger/*"},
		Settings:       map[string]any{},
	}
}

var reqSeq atomic.Int64

// request is an approved intent at the clock's time with a fresh credential id.
func request(clock *fakeClock) providers.IssueRequest {
	return providers.IssueRequest{
		CredentialID: fmt.Sprintf("cred-%06d", reqSeq.Add(1)),
		Role:         sampleRole(),
		Subject:      "entity-1234",
		Task:         "nightly-invoice-export",
		Destinations: []string{"https://api.example.com/billing/invoices", "svc://ledger/entries"},
		Actions:      []string{"read", "list"},
		Sensitivity:  "confidential",
		TTL:          15 * time.Minute,
		Now:          clock.Now(),
	}
}

func issue(t testing.TB, p *Provider, s logical.Storage, req providers.IssueRequest) (string, *providers.Issued) {
	t.Helper()
	got, err := p.Issue(context.Background(), s, req)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	tok, ok := got.Secret["token"].(string)
	if !ok || tok == "" {
		t.Fatalf("Issue returned no token: %+v", got.Secret)
	}
	return tok, got
}

// parts decodes a compact JWS's header and payload without verifying it.
func parts(t testing.TB, tok string) (header, payload map[string]any) {
	t.Helper()
	seg := strings.Split(tok, ".")
	if len(seg) != 3 {
		t.Fatalf("token has %d segments", len(seg))
	}
	for i, dst := range []*map[string]any{&header, &payload} {
		b, err := base64.RawURLEncoding.DecodeString(seg[i])
		if err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
	}
	return header, payload
}

// segments splits a compact JWS.
func segments(tok string) []string { return strings.Split(tok, ".") }

func b64(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func loadRingForTest(t testing.TB, p *Provider, s logical.Storage) *keyRing {
	t.Helper()
	r, err := p.loadRing(context.Background(), s)
	if err != nil {
		t.Fatalf("loadRing: %v", err)
	}
	return r
}

var allAlgs = []string{AlgES256, AlgEdDSA, AlgRS256}
