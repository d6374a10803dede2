package intent

import (
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// Request limits. They bound the work one request can cause and the size of the
// credential record and audit entries it produces.
const (
	MaxDestinations       = 64
	MaxRequestActions     = 32
	MaxJustificationRunes = 1024
)

// RawRequest is an intent as it arrives over the API, before validation.
type RawRequest struct {
	Task          string
	Destinations  []string
	Actions       []string
	Sensitivity   string
	Justification string
	TTL           string
}

// Request is a validated intent.
type Request struct {
	Task          string
	Destinations  []Pattern // canonical, duplicates removed, in request order
	Actions       []Action  // nil = every action the role grants on all destinations
	Sensitivity   Sensitivity
	Justification string
	TTL           time.Duration // 0 = role default
}

// ParseRequest validates every field of an intent. Duplicate destinations and actions
// (after canonicalisation) are dropped rather than refused: asking twice for the same
// thing is harmless, and the approved intent lists each once. Errors are *FieldError
// with Field one of task, destinations, actions, sensitivity, justification, ttl.
func ParseRequest(raw RawRequest) (Request, error) {
	var req Request
	var err error
	if raw.Task == "" {
		return Request{}, fieldErr("task", "is required")
	}
	if err := ValidateTask(raw.Task); err != nil {
		return Request{}, fieldErr("task", err.Error())
	}
	req.Task = raw.Task
	if req.Destinations, err = parseDestinations(raw.Destinations); err != nil {
		return Request{}, err
	}
	if req.Actions, err = parseRequestActions(raw.Actions); err != nil {
		return Request{}, err
	}
	req.Sensitivity = Internal
	if raw.Sensitivity != "" {
		if req.Sensitivity, err = ParseSensitivity(raw.Sensitivity); err != nil {
			return Request{}, fieldErr("sensitivity", err.Error())
		}
	}
	if err := checkJustification(raw.Justification); err != nil {
		return Request{}, err
	}
	req.Justification = raw.Justification
	if req.TTL, err = ParseTTL(raw.TTL); err != nil {
		return Request{}, fieldErr("ttl", err.Error())
	}
	return req, nil
}

func parseDestinations(raw []string) ([]Pattern, error) {
	if len(raw) == 0 {
		return nil, fieldErr("destinations", "is required; name at least one destination")
	}
	if len(raw) > MaxDestinations {
		return nil, fieldErr("destinations", fmt.Sprintf("has %d entries; at most %d are allowed", len(raw), MaxDestinations))
	}
	out := make([]Pattern, 0, len(raw))
	for i, s := range raw {
		p, err := ParsePattern(s)
		if err != nil {
			return nil, fieldErr("destinations", fmt.Sprintf("entry %d: %v", i, err))
		}
		if !containsPattern(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

func containsPattern(ps []Pattern, p Pattern) bool {
	for _, q := range ps {
		if q.text == p.text {
			return true
		}
	}
	return false
}

func parseRequestActions(raw []string) ([]Action, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	if len(raw) > MaxRequestActions {
		return nil, fieldErr("actions", fmt.Sprintf("has %d entries; at most %d are allowed", len(raw), MaxRequestActions))
	}
	out := make([]Action, 0, len(raw))
	for i, s := range raw {
		a, err := ParseAction(s)
		if err != nil {
			return nil, fieldErr("actions", fmt.Sprintf("entry %d: %v", i, err))
		}
		out = appendUniqueAction(out, a)
	}
	return out, nil
}

func appendUniqueAction(list []Action, a Action) []Action {
	for _, b := range list {
		if sameAction(a, b) {
			return list
		}
	}
	return append(list, a)
}

func checkJustification(s string) error {
	if !utf8.ValidString(s) {
		return fieldErr("justification", "is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > MaxJustificationRunes {
		return fieldErr("justification", fmt.Sprintf("is %d characters long; at most %d are allowed", n, MaxJustificationRunes))
	}
	if hasControlOrInvalid(s) {
		// Justifications land in audit logs and tickets; a newline could forge a line.
		return fieldErr("justification", "must not contain control characters such as newlines")
	}
	return nil
}

// ParseTTL reads a requested TTL: "" is 0 (the role default); otherwise a Go duration
// ("5m", "90s") or whole seconds ("300"), which must be at least one second.
func ParseTTL(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	var d time.Duration
	if allDigits(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n > int64(math.MaxInt64/time.Second) {
			return 0, fmt.Errorf("%s is too large", quote(s))
		}
		d = time.Duration(n) * time.Second
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%s must be a positive duration such as 5m, 90s or 300 (seconds)", quote(s))
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("%s must be a positive duration such as 5m, 90s or 300 (seconds)", quote(s))
	}
	if d < time.Second {
		return 0, fmt.Errorf("%s is shorter than the 1s minimum", quote(s))
	}
	return d, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
