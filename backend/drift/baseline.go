package drift

import (
	"math"
	"strconv"
	"time"
)

// Defaults of a Baseline; a zero field means its default.
const (
	// DefaultFloor: below 50 events in a minute a credential is never anomalous. A batch
	// job listing and reading a folder easily makes dozens of calls a minute, and a norm
	// learnt from quiet credentials would otherwise flag the first busy one.
	DefaultFloor = 50
	// DefaultFactor: anomalous above 10 × the role's norm. Ordinary load varies by 2–3×
	// between runs; an order of magnitude is what bulk exfiltration or a runaway loop
	// looks like.
	DefaultFactor = 10
	// DefaultAlpha: weight of each new credential-minute in the moving average; 0.05
	// gives a memory of roughly the last 20 active credential-minutes (1/α).
	DefaultAlpha = 0.05
	// DefaultMaxCredentials bounds the per-credential windows kept for one role.
	DefaultMaxCredentials = 10000
)

// Baseline is a role's recent norm of events per credential per active minute, plus a
// two-minute sliding window per credential to measure the current rate. It is plain data
// (JSON-serialisable, so the engine can store one per role) and mergeable (Merge), so
// baselines built from separate batches or nodes can be combined.
//
// The norm is an exponentially weighted moving average over completed minutes in which a
// credential made at least one call (idle minutes would only drag the norm towards zero
// and the threshold to its floor). Minutes that were themselves anomalous are not folded
// in, so a sustained burst cannot teach the baseline that bursts are normal; an operator
// who expects bursts raises Floor or Factor.
//
// A Baseline is not safe for concurrent use.
type Baseline struct {
	Norm    float64 `json:"norm"`    // events per credential per active minute
	Samples uint64  `json:"samples"` // credential-minutes folded into Norm

	Floor          float64 `json:"floor,omitempty"`           // default DefaultFloor
	Factor         float64 `json:"factor,omitempty"`          // default DefaultFactor
	Alpha          float64 `json:"alpha,omitempty"`           // default DefaultAlpha
	MaxCredentials int     `json:"max_credentials,omitempty"` // default DefaultMaxCredentials

	Credentials map[string]*Window `json:"credentials,omitempty"`
}

// Window counts one credential's events in its latest minute and the one before.
type Window struct {
	Minute int64  `json:"minute"` // Unix time / 60 of the latest minute seen
	Count  uint32 `json:"count"`  // events in Minute
	Prev   uint32 `json:"prev"`   // events in Minute-1
}

// NewBaseline returns an empty baseline with the defaults written out.
func NewBaseline() *Baseline {
	return &Baseline{Floor: DefaultFloor, Factor: DefaultFactor, Alpha: DefaultAlpha, MaxCredentials: DefaultMaxCredentials}
}

func (b *Baseline) floor() float64  { return orDefault(b.Floor, DefaultFloor) }
func (b *Baseline) factor() float64 { return orDefault(b.Factor, DefaultFactor) }

func (b *Baseline) alpha() float64 {
	if a := b.Alpha; a > 0 && a <= 1 {
		return a
	}
	return DefaultAlpha
}

func (b *Baseline) maxCredentials() int {
	if b.MaxCredentials > 0 {
		return b.MaxCredentials
	}
	return DefaultMaxCredentials
}

func orDefault(v, def float64) float64 {
	if v > 0 && !math.IsInf(v, 0) {
		return v
	}
	return def
}

// Threshold is the rate above which a credential is anomalous: max(Floor, Factor × Norm).
func (b *Baseline) Threshold() float64 {
	return math.Max(b.floor(), b.factor()*b.Norm)
}

func minuteOf(t time.Time) int64 {
	s := t.Unix()
	if s < 0 {
		return (s - 59) / 60
	}
	return s / 60
}

// Observe counts one event of the credential at t. Events are expected roughly in time
// order; one from the minute before the latest still counts towards the rate, older ones
// are ignored.
func (b *Baseline) Observe(credentialID string, t time.Time) {
	m := minuteOf(t)
	w := b.Credentials[credentialID]
	if w == nil {
		if b.Credentials == nil {
			b.Credentials = make(map[string]*Window)
		}
		if len(b.Credentials) >= b.maxCredentials() {
			b.Prune(t.Add(-2 * time.Minute))
			b.evictOne()
		}
		w = &Window{Minute: m}
		b.Credentials[credentialID] = w
	}
	switch {
	case m == w.Minute:
		w.Count = inc(w.Count)
	case m == w.Minute+1:
		b.fold(w.Count)
		w.Minute, w.Prev, w.Count = m, w.Count, 1
	case m > w.Minute+1:
		b.fold(w.Count)
		w.Minute, w.Prev, w.Count = m, 0, 1
	case m == w.Minute-1:
		w.Prev = inc(w.Prev)
	}
}

func inc(n uint32) uint32 {
	if n == math.MaxUint32 {
		return n
	}
	return n + 1
}

// fold adds one completed credential-minute to the norm unless it was anomalous.
func (b *Baseline) fold(count uint32) {
	x := float64(count)
	if count == 0 || x > b.Threshold() {
		return
	}
	if b.Samples == 0 {
		b.Norm = x
	} else {
		b.Norm += b.alpha() * (x - b.Norm)
	}
	b.Samples++
}

// Prune folds and drops the windows of credentials with no event since before, so a
// stored baseline stays small. The engine calls it before storing a baseline.
func (b *Baseline) Prune(before time.Time) {
	m := minuteOf(before)
	for id, w := range b.Credentials {
		if w.Minute < m {
			b.fold(w.Count)
			delete(b.Credentials, id)
		}
	}
}

// evictOne makes room when every tracked credential is recent: the one idle longest goes.
func (b *Baseline) evictOne() {
	if len(b.Credentials) < b.maxCredentials() {
		return
	}
	var oldest string
	var min int64 = math.MaxInt64
	for id, w := range b.Credentials {
		if w.Minute < min || (w.Minute == min && id < oldest) {
			oldest, min = id, w.Minute
		}
	}
	b.fold(b.Credentials[oldest].Count)
	delete(b.Credentials, oldest)
}

// Rate estimates the credential's events in the 60 seconds up to t: this minute's count
// plus the previous minute's weighted by how much of it the sliding minute still covers.
func (b *Baseline) Rate(credentialID string, t time.Time) float64 {
	w := b.Credentials[credentialID]
	if w == nil {
		return 0
	}
	m := minuteOf(t)
	var cur, prev float64
	switch w.Minute {
	case m:
		cur, prev = float64(w.Count), float64(w.Prev)
	case m - 1:
		prev = float64(w.Count)
	default:
		return 0
	}
	elapsed := float64(t.Unix()-m*60) + float64(t.Nanosecond())/1e9
	return cur + prev*(1-elapsed/60)
}

// Anomalous reports whether the credential's rate in the last minute up to t exceeds
// max(Floor, Factor × Norm), i.e. by default max(50, 10 × the role norm), and if so a
// one-line explanation. Observe the event first: the rate includes what was observed.
func (b *Baseline) Anomalous(credentialID string, t time.Time) (bool, string) {
	rate, thr := b.Rate(credentialID, t), b.Threshold()
	if rate <= thr {
		return false, ""
	}
	return true, formatFloat(rate) + " events in the last minute, above " + formatFloat(thr) +
		" = max(" + formatFloat(b.floor()) + ", " + formatFloat(b.factor()) + " × role norm " + formatFloat(b.Norm) + ")"
}

// volumeReport decides whether this event should carry a volume finding: it is
// anomalous, and either this event pushed the rate over the threshold or it is the first
// event of a new minute. A sustained burst is so reported about once per minute per
// credential rather than once per event.
func (b *Baseline) volumeReport(credentialID string, t time.Time) (bool, string) {
	anomalous, why := b.Anomalous(credentialID, t)
	if !anomalous {
		return false, ""
	}
	w := b.Credentials[credentialID]
	crossed := b.Rate(credentialID, t)-1 <= b.Threshold()
	firstInMinute := w.Minute == minuteOf(t) && w.Count == 1
	return crossed || firstInMinute, why
}

// Merge adds other's observations into b: norms are averaged weighted by their samples,
// windows of the same credential are added minute by minute. b's settings are kept where
// set, other's taken where b has none.
func (b *Baseline) Merge(other *Baseline) {
	if other == nil {
		return
	}
	if total := b.Samples + other.Samples; total > 0 {
		b.Norm = (b.Norm*float64(b.Samples) + other.Norm*float64(other.Samples)) / float64(total)
		b.Samples = total
	}
	if b.Floor == 0 {
		b.Floor = other.Floor
	}
	if b.Factor == 0 {
		b.Factor = other.Factor
	}
	if b.Alpha == 0 {
		b.Alpha = other.Alpha
	}
	if b.MaxCredentials == 0 {
		b.MaxCredentials = other.MaxCredentials
	}
	for id, ow := range other.Credentials {
		if b.Credentials == nil {
			b.Credentials = make(map[string]*Window, len(other.Credentials))
		}
		w := b.Credentials[id]
		if w == nil {
			c := *ow
			b.Credentials[id] = &c
			continue
		}
		*w = mergeWindows(*w, *ow)
	}
}

func mergeWindows(a, o Window) Window {
	if a.Minute < o.Minute {
		a, o = o, a
	}
	switch o.Minute {
	case a.Minute:
		a.Count, a.Prev = addSat(a.Count, o.Count), addSat(a.Prev, o.Prev)
	case a.Minute - 1:
		a.Prev = addSat(a.Prev, o.Count)
	}
	return a
}

func addSat(x, y uint32) uint32 {
	if s := uint64(x) + uint64(y); s <= math.MaxUint32 {
		return uint32(s)
	}
	return math.MaxUint32
}

func formatFloat(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	return strconv.FormatFloat(f, 'f', 1, 64)
}
