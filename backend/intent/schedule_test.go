package intent

import (
	"testing"
	"time"
)

func TestScheduleAllows(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	weekdays := mustWindow(t, "Mon-Fri 06:00-20:00 Europe/Berlin")
	saturday := mustWindow(t, "Sat 10:00-12:00")
	nb := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	na := time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
	satMorning := time.Date(2026, 12, 5, 10, 0, 0, 0, berlin) // 09:00 UTC
	tests := []struct {
		name   string
		s      Schedule
		t      time.Time
		ok     bool
		reason string
	}{
		{"empty schedule is always", Schedule{}, satMorning, true, ""},
		{"outside windows", Schedule{Windows: []TimeWindow{weekdays}}, satMorning, false,
			"outside the role's time windows (Mon-Fri 06:00-20:00 Europe/Berlin) at 2026-12-05T10:00:00+01:00"},
		{"any window suffices", Schedule{Windows: []TimeWindow{weekdays, saturday}}, time.Date(2026, 12, 5, 10, 30, 0, 0, time.UTC), true, ""},
		{"lists every window", Schedule{Windows: []TimeWindow{weekdays, saturday}}, satMorning, false,
			"outside the role's time windows (Mon-Fri 06:00-20:00 Europe/Berlin; Sat 10:00-12:00 UTC) at 2026-12-05T10:00:00+01:00"},
		{"before not_before", Schedule{NotBefore: nb}, nb.Add(-time.Second), false,
			"before not_before 2026-01-01T00:00:00Z at 2025-12-31T23:59:59Z"},
		{"at not_before", Schedule{NotBefore: nb}, nb, true, ""},
		{"at not_after", Schedule{NotAfter: na}, na, true, ""},
		{"after not_after", Schedule{NotAfter: na}, na.Add(time.Second), false,
			"after not_after 2026-12-31T00:00:00Z at 2026-12-31T00:00:01Z"},
		{"bounds before windows", Schedule{Windows: []TimeWindow{weekdays}, NotAfter: na}, na.Add(time.Hour), false,
			"after not_after 2026-12-31T00:00:00Z at 2026-12-31T01:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, reason := tt.s.Allows(tt.t)
			if ok != tt.ok || reason != tt.reason {
				t.Errorf("Allows = %v, %q; want %v, %q", ok, reason, tt.ok, tt.reason)
			}
		})
	}
}
