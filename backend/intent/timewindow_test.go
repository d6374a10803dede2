package intent

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParseTimeWindow(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Mon-Fri 06:00-20:00 Europe/Berlin", "Mon-Fri 06:00-20:00 Europe/Berlin"},
		{"mon-fri 06:00-20:00", "Mon-Fri 06:00-20:00 UTC"},
		{"Fri-Mon 00:00-24:00 UTC", "Fri-Mon 00:00-24:00 UTC"},
		{"Mon,Wed,Fri 09:30-10:00 America/New_York", "Mon,Wed,Fri 09:30-10:00 America/New_York"},
		{"Mon-Tue,Thu 09:00-17:00", "Mon-Tue,Thu 09:00-17:00 UTC"},
		{"* 22:00-06:00", "daily 22:00-06:00 UTC"},
		{"Daily 00:00-01:00 Asia/Tokyo", "daily 00:00-01:00 Asia/Tokyo"},
		{"Saturday 10:00-12:00", "Sat 10:00-12:00 UTC"},
		{"  Mon   08:00-09:00  ", "Mon 08:00-09:00 UTC"},
	}
	for _, tt := range tests {
		w, err := ParseTimeWindow(tt.in)
		if err != nil {
			t.Errorf("ParseTimeWindow(%q): %v", tt.in, err)
			continue
		}
		if w.String() != tt.want {
			t.Errorf("ParseTimeWindow(%q).String() = %q, want %q", tt.in, w.String(), tt.want)
		}
		again, err := ParseTimeWindow(w.String())
		if err != nil || again.String() != w.String() || again.days != w.days {
			t.Errorf("canonical form %q does not reparse to itself: %v", w.String(), err)
		}
	}
}

func TestParseTimeWindowRejects(t *testing.T) {
	tests := []struct{ in, wantErr string }{
		{"", "must look like"},
		{"Mon-Fri", "must look like"},
		{"Mon-Fri 06:00-20:00 Europe/Berlin extra", "must look like"},
		{"Mon-Fri 06:00-06:00", "must have a length"},
		{"Mon-Fri 6:00-20:00", "HH:MM"},
		{"Mon-Fri 06:00-20:60", "between 00:00 and 24:00"},
		{"Mon-Fri 06:00-24:01", "between 00:00 and 24:00"},
		{"Mon-Fri 25:00-26:00", "between 00:00 and 24:00"},
		{"Mon-Fri 24:00-06:00", "cannot start at 24:00"},
		{"Mon-Fri 06:00", "HH:MM-HH:MM"},
		{"Mon-Fri +6:00-20:00", "HH:MM"},
		{"Mon-Fri 06:-1-20:00", "HH:MM"},
		{"Mon-Fry 06:00-20:00", `unknown day "Fry"`},
		{"Mon,,Fri 06:00-20:00", "unknown day"},
		{"Mon,Mon 06:00-20:00", "listed twice"},
		{"Mon-Wed,Tue 06:00-20:00", "listed twice"},
		{"Mon-Fri 06:00-20:00 Mars/Olympus", `unknown time zone "Mars/Olympus"`},
		{"Mon-Fri 06:00-20:00 Local", `unknown time zone "Local"`},
		{"Mon-Fri 06:00-20:00 ../../etc/passwd", "unknown time zone"},
		{"Mon " + strings.Repeat("x", 300), "longer than"},
	}
	for _, tt := range tests {
		_, err := ParseTimeWindow(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ParseTimeWindow(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
		}
	}
}

func TestTimeWindowContains(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	at := func(loc *time.Location, y int, m time.Month, d, hh, mm, ss int) time.Time {
		return time.Date(y, m, d, hh, mm, ss, 0, loc)
	}
	// 2026-12-04 is a Friday, 2026-12-05 a Saturday.
	tests := []struct {
		window string
		t      time.Time
		want   bool
	}{
		{"Mon-Fri 06:00-20:00 Europe/Berlin", at(berlin, 2026, 12, 4, 10, 0, 0), true},
		{"Mon-Fri 06:00-20:00 Europe/Berlin", at(berlin, 2026, 12, 5, 10, 0, 0), false},
		{"Mon-Fri 06:00-20:00 Europe/Berlin", at(berlin, 2026, 12, 4, 6, 0, 0), true},
		{"Mon-Fri 06:00-20:00 Europe/Berlin", at(berlin, 2026, 12, 4, 5, 59, 59), false},
		{"Mon-Fri 06:00-20:00 Europe/Berlin", at(berlin, 2026, 12, 4, 19, 59, 59), true},
		{"Mon-Fri 06:00-20:00 Europe/Berlin", at(berlin, 2026, 12, 4, 20, 0, 0), false},
		// Same instant seen from UTC: 05:30 UTC is 06:30 in Berlin in winter.
		{"Mon-Fri 06:00-20:00 Europe/Berlin", at(time.UTC, 2026, 12, 4, 5, 30, 0), true},
		{"Mon-Fri 06:00-20:00 UTC", at(time.UTC, 2026, 12, 4, 5, 30, 0), false},
		// Summer time: 05:30 UTC is 07:30 in Berlin.
		{"Mon-Fri 07:00-08:00 Europe/Berlin", at(time.UTC, 2026, 7, 1, 5, 30, 0), true},
		// Crossing midnight belongs to the start day.
		{"Fri 22:00-06:00", at(time.UTC, 2026, 12, 4, 23, 0, 0), true},
		{"Fri 22:00-06:00", at(time.UTC, 2026, 12, 5, 5, 59, 0), true},
		{"Fri 22:00-06:00", at(time.UTC, 2026, 12, 5, 6, 0, 0), false},
		{"Fri 22:00-06:00", at(time.UTC, 2026, 12, 4, 5, 0, 0), false},
		{"Fri 22:00-06:00", at(time.UTC, 2026, 12, 5, 23, 0, 0), false},
		{"Sat 22:00-06:00", at(time.UTC, 2026, 12, 4, 5, 0, 0), false},
		{"Thu 22:00-06:00", at(time.UTC, 2026, 12, 4, 5, 0, 0), true},
		// Wrapping day range Fri-Mon covers Fri, Sat, Sun, Mon.
		{"Fri-Mon 00:00-24:00", at(time.UTC, 2026, 12, 6, 12, 0, 0), true},
		{"Fri-Mon 00:00-24:00", at(time.UTC, 2026, 12, 7, 23, 59, 59), true},
		{"Fri-Mon 00:00-24:00", at(time.UTC, 2026, 12, 8, 0, 0, 0), false},
		{"Mon,Wed,Fri 09:00-10:00", at(time.UTC, 2026, 12, 2, 9, 15, 0), true},
		{"Mon,Wed,Fri 09:00-10:00", at(time.UTC, 2026, 12, 3, 9, 15, 0), false},
		{"daily 00:00-24:00", at(time.UTC, 2026, 12, 3, 0, 0, 0), true},
	}
	for _, tt := range tests {
		w, err := ParseTimeWindow(tt.window)
		if err != nil {
			t.Fatal(err)
		}
		if got := w.Contains(tt.t); got != tt.want {
			t.Errorf("%q.Contains(%s) = %v, want %v", tt.window, tt.t.Format(time.RFC3339), got, tt.want)
		}
	}
	var zero TimeWindow
	if zero.Contains(time.Now()) {
		t.Error("the zero window must contain nothing")
	}
}

func TestTimeWindowTextRoundTrip(t *testing.T) {
	s := Schedule{Windows: []TimeWindow{mustWindow(t, "Mon-Fri 06:00-20:00 Europe/Berlin")}}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Schedule
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Windows) != 1 || back.Windows[0].String() != s.Windows[0].String() {
		t.Fatalf("round trip = %+v from %s", back, b)
	}
	sat := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	if ok, _ := back.Allows(sat); ok {
		t.Error("a window lost in storage turned the schedule into always-allowed")
	}
}

func mustWindow(t testing.TB, s string) TimeWindow {
	t.Helper()
	w, err := ParseTimeWindow(s)
	if err != nil {
		t.Fatal(err)
	}
	return w
}
