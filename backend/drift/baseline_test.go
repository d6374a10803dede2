package drift

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

func observeN(b *Baseline, cred string, start time.Time, n int, spacing time.Duration) time.Time {
	t := start
	for i := 0; i < n; i++ {
		t = start.Add(time.Duration(i) * spacing)
		b.Observe(cred, t)
	}
	return t
}

func TestBaselineDefaults(t *testing.T) {
	var zero Baseline
	if zero.Threshold() != 50 || NewBaseline().Threshold() != 50 {
		t.Fatal("default threshold is max(50, 10 × 0)")
	}
	b := &Baseline{Floor: 5, Factor: 3, Norm: 4}
	if b.Threshold() != 12 {
		t.Fatalf("threshold %v", b.Threshold())
	}
	if ok, _ := zero.Anomalous("nobody", testNow); ok {
		t.Fatal("unknown credential is anomalous")
	}
}

func TestBaselineFloor(t *testing.T) {
	b := NewBaseline()
	minute := testNow // 09:00:00, the start of a minute
	last := observeN(b, "c1", minute, 50, time.Second/2)
	if ok, why := b.Anomalous("c1", last); ok {
		t.Fatalf("50 events are not above the floor: %s", why)
	}
	b.Observe("c1", last)
	ok, why := b.Anomalous("c1", last)
	if !ok || !strings.Contains(why, "51 events in the last minute, above 50 = max(50, 10 × role norm 0)") {
		t.Fatalf("51 events: %v %q", ok, why)
	}
	// Another credential of the role is unaffected.
	b.Observe("c2", last)
	if ok, _ := b.Anomalous("c2", last); ok {
		t.Fatal("c2")
	}
}

func TestBaselineSlidingMinute(t *testing.T) {
	// The completed minute of 40 becomes the norm; factor 1 keeps the threshold at 50.
	b := &Baseline{Factor: 1}
	observeN(b, "c1", testNow.Add(30*time.Second), 40, 500*time.Millisecond) // 40 in 09:00
	observeN(b, "c1", testNow.Add(time.Minute), 20, 50*time.Millisecond)     // 20 early in 09:01
	if r := b.Rate("c1", testNow.Add(61*time.Second)); math.Abs(r-(20+40*59.0/60)) > 1e-9 {
		t.Fatalf("rate %v", r)
	}
	if ok, _ := b.Anomalous("c1", testNow.Add(61*time.Second)); !ok {
		t.Fatal("59 in the last minute should be anomalous")
	}
	if ok, _ := b.Anomalous("c1", testNow.Add(110*time.Second)); ok {
		t.Fatal("27 in the last minute should not be")
	}
	if r := b.Rate("c1", testNow.Add(3*time.Minute)); r != 0 {
		t.Fatalf("stale rate %v", r)
	}
	// A late event from the previous minute still counts; older ones are ignored.
	b.Observe("c1", testNow.Add(59*time.Second))
	b.Observe("c1", testNow.Add(-time.Hour))
	if w := b.Credentials["c1"]; w.Prev != 41 || w.Count != 20 {
		t.Fatalf("window %+v", *w)
	}
}

func TestBaselineLearnsNorm(t *testing.T) {
	b := NewBaseline()
	// Ten credentials, 20 events a minute each, for 30 minutes.
	for m := 0; m < 30; m++ {
		for c := 0; c < 10; c++ {
			observeN(b, fmt.Sprintf("c%d", c), testNow.Add(time.Duration(m)*time.Minute), 20, time.Second)
		}
	}
	if math.Abs(b.Norm-20) > 1e-9 || b.Threshold() != 200 {
		t.Fatalf("norm %v threshold %v", b.Norm, b.Threshold())
	}
	next := testNow.Add(31 * time.Minute)
	last := observeN(b, "c0", next, 150, 100*time.Millisecond)
	if ok, _ := b.Anomalous("c0", last); ok {
		t.Fatal("150 < 200 is normal for this role")
	}
	last = observeN(b, "c1", next, 250, 100*time.Millisecond)
	if ok, _ := b.Anomalous("c1", last); !ok {
		t.Fatal("250 > 200 is anomalous")
	}
	// The anomalous minute is not folded into the norm when it completes.
	before := b.Norm
	b.Observe("c1", next.Add(time.Minute))
	if b.Norm != before {
		t.Fatalf("anomalous minute folded: %v -> %v", before, b.Norm)
	}
}

func TestBaselineSustainedBurstIsNotLearnt(t *testing.T) {
	b := NewBaseline()
	for m := 0; m < 60; m++ {
		observeN(b, "attacker", testNow.Add(time.Duration(m)*time.Minute), 500, 100*time.Millisecond)
	}
	if b.Norm != 0 || b.Threshold() != 50 {
		t.Fatalf("a burst taught the baseline: norm %v", b.Norm)
	}
}

func TestBaselineJSONRoundTrip(t *testing.T) {
	b := NewBaseline()
	observeN(b, "c1", testNow, 10, time.Second)
	observeN(b, "c1", testNow.Add(time.Minute), 60, time.Second/2)
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var back Baseline
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	at := testNow.Add(time.Minute + 30*time.Second)
	r1, r2 := b.Rate("c1", at), back.Rate("c1", at)
	a1, _ := b.Anomalous("c1", at)
	a2, _ := back.Anomalous("c1", at)
	if r1 != r2 || a1 != a2 || back.Norm != b.Norm || back.Samples != b.Samples || back.Floor != DefaultFloor {
		t.Fatalf("round trip changed the baseline: %s", data)
	}
}

func TestBaselineMerge(t *testing.T) {
	a := &Baseline{Norm: 10, Samples: 10}
	b := &Baseline{Norm: 30, Samples: 30, Floor: 80}
	a.Observe("c1", testNow)
	b.Observe("c1", testNow.Add(time.Second))
	b.Observe("c1", testNow.Add(-time.Second)) // previous minute
	b.Observe("c2", testNow)
	a.Merge(b)
	if a.Norm != 25 || a.Samples != 40 || a.Floor != 80 {
		t.Fatalf("merged %+v", a)
	}
	if w := a.Credentials["c1"]; w.Count != 2 || w.Prev != 1 {
		t.Fatalf("c1 %+v", *w)
	}
	if a.Credentials["c2"] == b.Credentials["c2"] {
		t.Fatal("merge shares windows")
	}
	a.Merge(nil)
	var empty Baseline
	empty.Merge(&Baseline{})
	if empty.Norm != 0 || math.IsNaN(empty.Norm) {
		t.Fatal("merging empties")
	}
	// Windows a minute apart: the newer keeps the older's count as its previous minute.
	x := &Baseline{Credentials: map[string]*Window{"c": {Minute: 10, Count: 3, Prev: 1}}}
	x.Merge(&Baseline{Credentials: map[string]*Window{"c": {Minute: 11, Count: 5}}})
	if w := *x.Credentials["c"]; w != (Window{Minute: 11, Count: 5, Prev: 3}) {
		t.Fatalf("%+v", w)
	}
}

func TestBaselinePruneAndBound(t *testing.T) {
	b := NewBaseline()
	b.MaxCredentials = 100
	for i := 0; i < 1000; i++ {
		b.Observe(fmt.Sprintf("c%d", i), testNow.Add(time.Duration(i)*time.Second))
	}
	if len(b.Credentials) > 100 {
		t.Fatalf("%d windows kept", len(b.Credentials))
	}
	if _, ok := b.Credentials["c999"]; !ok {
		t.Fatal("the newest credential was evicted")
	}
	b.Prune(testNow.Add(2 * time.Hour))
	if len(b.Credentials) != 0 || b.Samples == 0 {
		t.Fatalf("prune left %d windows, %d samples", len(b.Credentials), b.Samples)
	}
}
