package intent

import (
	"strings"
	"time"
)

// Schedule is when a role (or an issued intent) may be used. Zero NotBefore/NotAfter
// leave that side open; no windows means any time of day.
type Schedule struct {
	Windows   []TimeWindow
	NotBefore time.Time
	NotAfter  time.Time
}

// Allows reports whether t is inside the schedule and, when not, which bound or windows
// refused it. Both bounds are inclusive: they name the first and last allowed instant.
func (s Schedule) Allows(t time.Time) (bool, string) {
	if !s.NotBefore.IsZero() && t.Before(s.NotBefore) {
		return false, "before not_before " + s.NotBefore.Format(time.RFC3339) + " at " + t.Format(time.RFC3339)
	}
	if !s.NotAfter.IsZero() && t.After(s.NotAfter) {
		return false, "after not_after " + s.NotAfter.Format(time.RFC3339) + " at " + t.Format(time.RFC3339)
	}
	if len(s.Windows) == 0 {
		return true, ""
	}
	for _, w := range s.Windows {
		if w.Contains(t) {
			return true, ""
		}
	}
	return false, "outside the role's time windows (" + s.describeWindows() + ") at " + t.In(s.firstLocation()).Format(time.RFC3339)
}

func (s Schedule) describeWindows() string {
	texts := make([]string, len(s.Windows))
	for i, w := range s.Windows {
		texts[i] = w.String()
	}
	return strings.Join(texts, "; ")
}

// firstLocation shows the refused instant on the clock of the first window, so the
// reason can be checked against the window at a glance.
func (s Schedule) firstLocation() *time.Location {
	if loc := s.Windows[0].loc; loc != nil {
		return loc
	}
	return time.UTC
}
