package simfault

import (
	"strings"
	"testing"
	"time"
)

func TestDecodeSpec(t *testing.T) {
	for _, c := range []struct {
		body    string
		latency time.Duration
		wantErr bool
	}{
		{`{"service":"sts","kind":"latency","latency":"50ms"}`, 50 * time.Millisecond, false},
		{`{"service":"sts","kind":"latency","latency":2000000}`, 2 * time.Millisecond, false},
		{`{"service":"sts","kind":"throttle"}`, 0, false},
		{`{"kind":"latency","latency":"fast"}`, 0, true},
		{`{"kind":`, 0, true},
	} {
		spec, err := DecodeSpec(strings.NewReader(c.body))
		if (err != nil) != c.wantErr {
			t.Fatalf("%s: err = %v, want error %v", c.body, err, c.wantErr)
		}
		if !c.wantErr && spec.Latency != c.latency {
			t.Fatalf("%s: latency = %v, want %v", c.body, spec.Latency, c.latency)
		}
	}
}
