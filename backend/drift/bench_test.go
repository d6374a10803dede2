package drift

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// BenchmarkJudge measures rule evaluation per event, the in-process target being
// ≥ 200,000 events/s per core (≤ 5 µs/op):
//
//	go test -run='^$' -bench=Judge -benchmem ./backend/drift
//
// in-intent is the common case (CloudTrail ARNs and s3:// resources, schedule, baseline);
// drift is an event that breaks four rules and so builds four findings.
func BenchmarkJudge(b *testing.B) {
	s := baseSubject(b)
	s.Intent.ExpiresAt = testNow.Add(24 * time.Hour)
	rng := rand.New(rand.NewPCG(3, 4))
	events, _ := generateInIntent(rng, 1024, []string{"s3:GetObject", "s3:PutObject", "s3:HeadObject", "s3:ListObjectsV2", "read"})
	base := NewBaseline()
	for _, ev := range events {
		base.Observe(testCred, ev.Time)
	}
	b.Run("in-intent", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for i := 0; b.Loop(); i++ {
			n += len(Judge(s, events[i%len(events)], *base))
		}
		if n != 0 {
			b.Fatalf("%d findings", n)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("drift", func(b *testing.B) {
		b.ReportAllocs()
		ev := baseEvent()
		ev.Action, ev.Resource = "s3:DeleteObject", "arn:aws:s3:::finance/payroll.csv"
		ev.SourceIP = netip.MustParseAddr("203.0.113.9")
		ev.Time = time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
		for b.Loop() {
			if len(Judge(s, ev, *base)) != 4 {
				b.Fatal("want 4 findings")
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}

// BenchmarkDecodeBatch: decoding a full batch of 1,000 events.
func BenchmarkDecodeBatch(b *testing.B) {
	list := make([]any, MaxBatchEvents)
	for i := range list {
		list[i] = validEventMap()
	}
	body := map[string]any{"events": list}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeBatchAt(body, testNow); err != nil {
			b.Fatal(err)
		}
	}
}
