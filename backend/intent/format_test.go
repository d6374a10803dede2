package intent

import (
	"strings"
	"testing"
	"time"
)

func TestFormatDuration(t *testing.T) {
	tests := map[time.Duration]string{
		2 * time.Hour:              "2h",
		time.Hour + 30*time.Minute: "1h30m",
		90 * time.Second:           "1m30s",
		5 * time.Minute:            "5m",
		time.Hour + 5*time.Second:  "1h0m5s",
		1500 * time.Millisecond:    "1.5s",
		24*time.Hour + time.Minute: "24h1m",
	}
	for d, want := range tests {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestQuoteBoundsAndEscapes(t *testing.T) {
	if got := quote("a\nb"); got != `"a\nb"` {
		t.Errorf("quote did not escape a newline: %s", got)
	}
	long := quote(strings.Repeat("é", 1000))
	if len(long) > maxQuoted+10 || !strings.HasSuffix(long, "…") || strings.Contains(long, `\x`) {
		t.Errorf("quote of long input = %d bytes, %q…", len(long), long[:20])
	}
}
