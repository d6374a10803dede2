package intent

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// TimeWindow is a weekly recurring interval of wall-clock time in one zone, e.g.
// "Mon-Fri 06:00-20:00 Europe/Berlin". Wall clock is what operators mean, so across a DST
// change the window keeps its local hours rather than a fixed UTC offset.
type TimeWindow struct {
	days  [7]bool // indexed by time.Weekday: the days on which the window starts
	start int     // minutes after local midnight
	end   int     // minutes after local midnight; end < start crosses midnight
	loc   *time.Location
	text  string
}

var dayNames = [7]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}

var fullDayNames = [7]string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}

const maxTimeWindowLength = 256

// ParseTimeWindow reads "<days> <HH:MM>-<HH:MM> [zone]". Days are "*" or "daily", a day
// ("Mon"), a range that may wrap ("Fri-Mon"), or a comma list of those ("Mon,Wed-Fri").
// The end may be 24:00; an end before the start crosses midnight and the window belongs
// to the day it starts on. The zone is an IANA name, default UTC.
func ParseTimeWindow(s string) (TimeWindow, error) {
	w, err := parseTimeWindow(s)
	if err != nil {
		return TimeWindow{}, fmt.Errorf("invalid time window %s: %w", quote(s), err)
	}
	return w, nil
}

func parseTimeWindow(s string) (TimeWindow, error) {
	if len(s) > maxTimeWindowLength {
		return TimeWindow{}, fmt.Errorf("is longer than %d characters", maxTimeWindowLength)
	}
	fields := strings.Fields(s)
	if len(fields) < 2 || len(fields) > 3 {
		return TimeWindow{}, errors.New(`must look like "Mon-Fri 06:00-20:00 Europe/Berlin" (days, hours, optional zone)`)
	}
	var w TimeWindow
	dayText, err := w.parseDays(fields[0])
	if err != nil {
		return TimeWindow{}, err
	}
	if err := w.parseHours(fields[1]); err != nil {
		return TimeWindow{}, err
	}
	w.loc = time.UTC
	if len(fields) == 3 {
		if w.loc, err = loadLocation(fields[2]); err != nil {
			return TimeWindow{}, err
		}
	}
	w.text = dayText + " " + formatClock(w.start) + "-" + formatClock(w.end) + " " + w.loc.String()
	return w, nil
}

// parseDays fills w.days and returns the canonical spelling of the day spec.
func (w *TimeWindow) parseDays(spec string) (string, error) {
	if spec == "*" || strings.EqualFold(spec, "daily") {
		w.days = [7]bool{true, true, true, true, true, true, true}
		return "daily", nil
	}
	items := strings.Split(spec, ",")
	canon := make([]string, 0, len(items))
	for _, item := range items {
		from, to, isRange := strings.Cut(item, "-")
		first, err := parseDay(from)
		if err != nil {
			return "", err
		}
		last := first
		if isRange {
			if last, err = parseDay(to); err != nil {
				return "", err
			}
		}
		for d := first; ; d = (d + 1) % 7 {
			if w.days[d] {
				return "", fmt.Errorf("day %s is listed twice", dayNames[d])
			}
			w.days[d] = true
			if d == last {
				break
			}
		}
		if isRange {
			canon = append(canon, dayNames[first]+"-"+dayNames[last])
		} else {
			canon = append(canon, dayNames[first])
		}
	}
	return strings.Join(canon, ","), nil
}

func parseDay(s string) (time.Weekday, error) {
	for d := range dayNames {
		if strings.EqualFold(s, dayNames[d]) || strings.EqualFold(s, fullDayNames[d]) {
			return time.Weekday(d), nil
		}
	}
	return 0, fmt.Errorf("unknown day %s; use Mon, Tue, Wed, Thu, Fri, Sat, Sun, * or daily", quote(s))
}

func (w *TimeWindow) parseHours(spec string) error {
	from, to, ok := strings.Cut(spec, "-")
	if !ok {
		return fmt.Errorf("hours %s must be HH:MM-HH:MM", quote(spec))
	}
	var err error
	if w.start, err = parseClock(from); err != nil {
		return err
	}
	if w.start == 24*60 {
		return errors.New("a window cannot start at 24:00; use 00:00")
	}
	if w.end, err = parseClock(to); err != nil {
		return err
	}
	if w.end == w.start {
		return fmt.Errorf("start and end are both %s; a window must have a length", formatClock(w.start))
	}
	return nil
}

// parseClock reads HH:MM on a 24-hour clock; 24:00 is accepted as the end of a day.
func parseClock(s string) (int, error) {
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("time %s must be HH:MM", quote(s))
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || s[0] == '+' || s[0] == '-' || s[3] == '+' || s[3] == '-' ||
		h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("time %s must be HH:MM between 00:00 and 24:00", quote(s))
	}
	return h*60 + m, nil
}

func formatClock(min int) string { return fmt.Sprintf("%02d:%02d", min/60, min%60) }

// locations caches successful zone loads. Only names that exist are stored, so the cache
// is bounded by the zone database, and role compilation on every request stays cheap.
var locations sync.Map // string -> *time.Location

func loadLocation(name string) (*time.Location, error) {
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location), nil
	}
	if name == "Local" || name == "" || len(name) > 64 {
		// "Local" would make a role mean different hours on different Vault nodes.
		return nil, fmt.Errorf("unknown time zone %s; use an IANA name such as Europe/Berlin or UTC", quote(name))
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isAlnum(c) && c != '/' && c != '_' && c != '-' && c != '+' {
			return nil, fmt.Errorf("unknown time zone %s; use an IANA name such as Europe/Berlin or UTC", quote(name))
		}
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %s; use an IANA name such as Europe/Berlin or UTC", quote(name))
	}
	locations.Store(name, loc)
	return loc, nil
}

// Contains reports whether t falls inside the window, judged on the window's own clock.
// The start minute is inside, the end minute is not.
func (w TimeWindow) Contains(t time.Time) bool {
	if w.loc == nil {
		return false
	}
	local := t.In(w.loc)
	day := local.Weekday()
	sec := local.Hour()*3600 + local.Minute()*60 + local.Second()
	start, end := w.start*60, w.end*60
	if start < end {
		return w.days[day] && sec >= start && sec < end
	}
	// Crosses midnight: the evening part is on a listed day, the morning part on the
	// day after a listed day.
	return (w.days[day] && sec >= start) || (w.days[(day+6)%7] && sec < end)
}

// String returns the canonical form, e.g. "Mon-Fri 06:00-20:00 Europe/Berlin".
func (w TimeWindow) String() string { return w.text }

// Location is the zone the window is evaluated in.
func (w TimeWindow) Location() *time.Location { return w.loc }

// MarshalText lets credential records keep their windows through JSON storage; losing
// them would silently turn a bounded intent into an always-valid one.
func (w TimeWindow) MarshalText() ([]byte, error) { return []byte(w.text), nil }

// UnmarshalText parses the canonical form; empty text gives the zero TimeWindow, which
// contains no time at all.
func (w *TimeWindow) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*w = TimeWindow{}
		return nil
	}
	v, err := ParseTimeWindow(string(b))
	if err != nil {
		return err
	}
	*w = v
	return nil
}
