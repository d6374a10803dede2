package token

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
)

// jwksKids returns the kids and algs in the provider's JWKS, in order.
func jwksKids(t *testing.T, p *Provider, s logical.Storage) (kids, algs []string) {
	t.Helper()
	raw, err := p.JWKS(context.Background(), s)
	if err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
			Alg string `json:"alg"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatal(err)
	}
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
		algs = append(algs, k.Alg)
	}
	return kids, algs
}

func mustRotate(t *testing.T, p *Provider, s logical.Storage, force, want bool) {
	t.Helper()
	got, err := p.Rotate(context.Background(), s, force)
	if err != nil {
		t.Fatalf("Rotate(force=%v): %v", force, err)
	}
	if got != want {
		t.Fatalf("Rotate(force=%v) = %v, want %v", force, got, want)
	}
}

func TestRotationKeepsOldKeyUntilVerifyUntil(t *testing.T) {
	ctx := context.Background()
	p, s, clock := setup(t, AlgES256) // overlap 1h
	req := request(clock)
	req.TTL = 2 * time.Hour
	tok, got := issue(t, p, s, req)
	oldKid := got.Ref["kid"]

	clock.Advance(10 * time.Minute)
	mustRotate(t, p, s, true, true)
	ring := loadRingForTest(t, p, s)
	if ring.Current == oldKid {
		t.Fatal("forced rotation kept the same current key")
	}
	old := ring.find(oldKid)
	// max_exp = exp + 1h = t0+3h dominates now+overlap = t0+1h10m.
	if wantUntil := t0.Add(3 * time.Hour); !old.VerifyUntil.Equal(wantUntil) || !old.RetiredAt.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("retired key: retired_at %s verify_until %s, want %s and %s",
			old.RetiredAt, old.VerifyUntil, t0.Add(10*time.Minute), wantUntil)
	}

	kids, _ := jwksKids(t, p, s)
	if len(kids) != 2 || kids[0] != ring.Current || kids[1] != oldKid {
		t.Fatalf("JWKS kids = %v, want [new %s, old %s]", kids, ring.Current, oldKid)
	}
	// A token signed before the rotation still verifies, until it expires.
	if _, err := p.Verify(ctx, s, tok); err != nil {
		t.Fatalf("Verify(pre-rotation token) = %v", err)
	}
	// New tokens use the new key.
	_, got2 := issue(t, p, s, request(clock))
	if got2.Ref["kid"] != ring.Current {
		t.Fatalf("issued with %s after rotation, want %s", got2.Ref["kid"], ring.Current)
	}

	clock.Advance(2*time.Hour - 10*time.Minute - time.Second) // 1s before the token's exp
	if _, err := p.Verify(ctx, s, tok); err != nil {
		t.Fatalf("Verify(pre-rotation token, 1s before exp) = %v", err)
	}
	mustRotate(t, p, s, false, false)
	if kids, _ := jwksKids(t, p, s); len(kids) != 2 {
		t.Fatalf("JWKS before verify_until has %d keys, want 2", len(kids))
	}

	clock.Advance(time.Hour) // t0+3h-1s
	if kids, _ := jwksKids(t, p, s); len(kids) != 2 {
		t.Fatalf("JWKS 1s before verify_until has %d keys, want 2", len(kids))
	}
	if _, err := p.Verify(ctx, s, tok); !errors.Is(err, ErrExpired) {
		t.Fatalf("Verify(expired, key still published) = %v, want ErrExpired", err)
	}
}

func TestPruneAfterVerifyUntil(t *testing.T) {
	ctx := context.Background()
	p, s, clock := setup(t, AlgES256)
	req := request(clock)
	req.TTL = 2 * time.Hour
	tok, got := issue(t, p, s, req)
	oldKid := got.Ref["kid"]
	mustRotate(t, p, s, true, true) // verify_until = t0+3h

	clock.Advance(3 * time.Hour)
	// Past verify_until the key is unpublished even before the periodic prune runs...
	if kids, _ := jwksKids(t, p, s); len(kids) != 1 || kids[0] == oldKid {
		t.Fatalf("JWKS at verify_until = %v, want only the current key", kids)
	}
	if _, err := p.Verify(ctx, s, tok); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("Verify(token of an unpublished key) = %v, want ErrInvalidToken", err)
	}
	// ...and Rotate drops it from storage without rotating.
	mustRotate(t, p, s, false, false)
	ring := loadRingForTest(t, p, s)
	if len(ring.Keys) != 1 || ring.find(oldKid) != nil {
		t.Fatalf("ring after prune has %d keys (old present: %v)", len(ring.Keys), ring.find(oldKid) != nil)
	}
	if _, ok := p.keys[oldKid]; ok {
		t.Error("pruned key is still in the parsed-key cache")
	}
}

func TestVerifyUntilOverlapDominates(t *testing.T) {
	p, s, clock := setup(t, AlgES256, func(c *Config) { c.VerificationOverlap = 3 * time.Hour })
	req := request(clock)
	req.TTL = time.Minute // max_exp = t0+1m+1h
	_, got := issue(t, p, s, req)
	clock.Advance(time.Minute)
	mustRotate(t, p, s, true, true)
	old := loadRingForTest(t, p, s).find(got.Ref["kid"])
	if want := t0.Add(time.Minute + 3*time.Hour); !old.VerifyUntil.Equal(want) {
		t.Fatalf("verify_until = %s, want now+overlap %s", old.VerifyUntil, want)
	}
}

func TestRotateByAge(t *testing.T) {
	p, s, clock := setup(t, AlgES256, func(c *Config) { c.RotationPeriod = 24 * time.Hour })
	issue(t, p, s, request(clock))
	first := loadRingForTest(t, p, s).Current

	clock.Advance(24*time.Hour - time.Second)
	mustRotate(t, p, s, false, false)
	clock.Advance(time.Second)
	mustRotate(t, p, s, false, true)
	mustRotate(t, p, s, false, false) // the new key is young
	if cur := loadRingForTest(t, p, s).Current; cur == first {
		t.Fatal("age rotation kept the old key current")
	}
}

func TestIssueRotatesOverdueKey(t *testing.T) {
	// If periodic rotation is late, Issue does not keep signing with an overdue key.
	p, s, clock := setup(t, AlgES256, func(c *Config) { c.RotationPeriod = time.Hour })
	_, a := issue(t, p, s, request(clock))
	clock.Advance(time.Hour)
	_, b := issue(t, p, s, request(clock))
	if a.Ref["kid"] == b.Ref["kid"] {
		t.Fatal("Issue signed with a key past its rotation period")
	}
}

func TestRotateFirstKey(t *testing.T) {
	ctx := context.Background()
	// Unconfigured: periodic work creates nothing; force does.
	s := &logical.InmemStorage{}
	p := New(newClock().Now)
	mustRotate(t, p, s, false, false)
	if e, _ := s.Get(ctx, RingPath); e != nil {
		t.Fatal("Rotate on an unconfigured mount created a ring")
	}
	mustRotate(t, p, s, true, true)
	if kids, _ := jwksKids(t, p, s); len(kids) != 1 {
		t.Fatalf("JWKS after forced first rotation has %v", kids)
	}

	// Configured: the first periodic run publishes a key before any issuance.
	p2, s2, _ := setup(t, AlgEdDSA)
	mustRotate(t, p2, s2, false, true)
	if _, algs := jwksKids(t, p2, s2); len(algs) != 1 || algs[0] != AlgEdDSA {
		t.Fatalf("JWKS algs = %v, want [EdDSA]", algs)
	}
}

func TestAlgorithmChangeRotates(t *testing.T) {
	ctx := context.Background()
	p, s, clock := setup(t, AlgES256)
	oldTok, _ := issue(t, p, s, request(clock))

	cfg, _ := LoadConfig(ctx, s)
	cfg.Algorithm = AlgEdDSA
	if err := p.SaveConfig(ctx, s, cfg); err != nil {
		t.Fatal(err)
	}
	mustRotate(t, p, s, false, true)
	mustRotate(t, p, s, false, false)
	if _, algs := jwksKids(t, p, s); len(algs) != 2 || algs[0] != AlgEdDSA || algs[1] != AlgES256 {
		t.Fatalf("JWKS algs = %v, want [EdDSA ES256]", algs)
	}
	tok, _ := issue(t, p, s, request(clock))
	if h, _ := parts(t, tok); h["alg"] != AlgEdDSA {
		t.Fatalf("issued alg %v after switching to EdDSA", h["alg"])
	}
	if _, err := p.Verify(ctx, s, oldTok); err != nil {
		t.Fatalf("ES256 token after switch: %v", err)
	}

	// Without a Rotate in between, the next Issue switches by itself.
	cfg.Algorithm = AlgRS256
	if err := p.SaveConfig(ctx, s, cfg); err != nil {
		t.Fatal(err)
	}
	tok, _ = issue(t, p, s, request(clock))
	if h, _ := parts(t, tok); h["alg"] != AlgRS256 {
		t.Fatalf("issued alg %v after switching to RS256", h["alg"])
	}
	if _, algs := jwksKids(t, p, s); len(algs) != 3 {
		t.Fatalf("JWKS algs = %v, want all three published", algs)
	}
}

func TestMaxExpWritesAreAmortized(t *testing.T) {
	p, s, clock := setup(t, AlgES256, func(c *Config) { c.RotationPeriod = 48 * time.Hour })
	// 600 issuances over 10 hours, one a minute, 15-minute tokens.
	for i := 0; i < 600; i++ {
		issue(t, p, s, request(clock))
		clock.Advance(time.Minute)
	}
	// One write creates the key (with max_exp = exp+1h); after that at most one per hour.
	if n := s.count(RingPath); n > 11 {
		t.Fatalf("ring written %d times for 600 issuances over 10h, want <= 11", n)
	}
	ring := loadRingForTest(t, p, s)
	last := clock.Now().Add(-time.Minute).Add(15 * time.Minute)
	if ring.current().MaxExp.Before(last) {
		t.Fatalf("max_exp %s is before the last issued exp %s", ring.current().MaxExp, last)
	}
}

func TestRingWrittenBeforeTokenOutlivesIt(t *testing.T) {
	// A token longer than the current max_exp slack raises max_exp before it is returned,
	// so a rotation right after keeps the key for the whole token lifetime.
	p, s, clock := setup(t, AlgES256)
	issue(t, p, s, request(clock)) // max_exp = t0+15m+1h
	long := request(clock)
	long.TTL = 12 * time.Hour
	tok, got := issue(t, p, s, long)
	mustRotate(t, p, s, true, true)
	old := loadRingForTest(t, p, s).find(got.Ref["kid"])
	if old.VerifyUntil.Before(got.ExpiresAt) {
		t.Fatalf("verify_until %s is before the token's exp %s", old.VerifyUntil, got.ExpiresAt)
	}
	clock.Advance(12*time.Hour - time.Second)
	mustRotate(t, p, s, false, false)
	if _, err := p.Verify(context.Background(), s, tok); err != nil {
		t.Fatalf("Verify 1s before exp = %v", err)
	}
}

// A rotation written by another node reaches this one as a storage change Vault reports
// through Invalidate (performance standbys, replication); the next token is signed with
// the new key.
func TestRotationByAnotherNodeIsSeen(t *testing.T) {
	p1, s, clock := setup(t, AlgES256)
	_, a := issue(t, p1, s, request(clock))
	p2 := New(clock.Now) // another node, same storage
	mustRotate(t, p2, s, true, true)
	p1.Invalidate(RingPath)
	_, b := issue(t, p1, s, request(clock))
	if a.Ref["kid"] == b.Ref["kid"] {
		t.Fatal("p1 kept signing with the key p2 retired")
	}
	if b.Ref["kid"] != loadRingForTest(t, p2, s).Current {
		t.Fatal("p1 did not sign with the ring's current key")
	}
}

func TestConcurrentIssueAndRotate(t *testing.T) {
	ctx := context.Background()
	p, s, clock := setup(t, AlgES256)
	issue(t, p, s, request(clock)) // the first key exists before the race starts
	var wg sync.WaitGroup
	tokens := make(chan string, 200)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				got, err := p.Issue(ctx, s, request(clock))
				if err != nil {
					t.Error(err)
					return
				}
				tokens <- got.Secret["token"].(string)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 5; i++ {
			if _, err := p.Rotate(ctx, s, true); err != nil {
				t.Error(err)
			}
		}
	}()
	wg.Wait()
	close(tokens)
	for tok := range tokens {
		if _, err := p.Verify(ctx, s, tok); err != nil {
			t.Fatalf("token issued during rotations does not verify: %v", err)
		}
	}
	if n := len(loadRingForTest(t, p, s).Keys); n != 6 {
		t.Fatalf("ring has %d keys after 1 creation + 5 rotations, want 6", n)
	}
}
