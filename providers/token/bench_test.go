package token

import (
	"context"
	"testing"
)

// BenchmarkIssue measures one ES256 issuance against in-memory storage with a warm key
// cache: config and ring reads, claim encoding, signing. Run with -benchmem.
func BenchmarkIssue(b *testing.B) {
	p, s, clock := setup(b, AlgES256)
	req := request(clock)
	req.Role.Settings = map[string]any{"audience_mode": "hosts", "extra_claims": map[string]any{"team": "payments"}}
	ctx := context.Background()
	if _, err := p.Issue(ctx, s, req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.Issue(ctx, s, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify measures verifying an ES256 token with a warm key cache.
func BenchmarkVerify(b *testing.B) {
	p, s, clock := setup(b, AlgES256)
	tok, _ := issue(b, p, s, request(clock))
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.Verify(ctx, s, tok); err != nil {
			b.Fatal(err)
		}
	}
}
