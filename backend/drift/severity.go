package drift

import "strings"

// Severity orders findings. The zero value None means "no finding", which is what
// MaxSeverity returns for an empty list.
type Severity int

const (
	None Severity = iota
	Info
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"none", "info", "low", "medium", "high", "critical"}

// String is the lowercase name: none, info, low, medium, high, critical.
func (s Severity) String() string {
	if s < None || s > Critical {
		return "unknown"
	}
	return severityNames[s]
}

// ParseSeverity reads a name as String writes it, ignoring case.
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(name, n) {
			return Severity(i), nil
		}
	}
	return None, errorf("invalid severity " + quote(name) + "; expected info, low, medium, high or critical")
}

// MarshalText stores severities by name, so stored findings stay readable.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
