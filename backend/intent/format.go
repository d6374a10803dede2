package intent

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// maxQuoted keeps reasons readable and bounded when they echo caller input.
const maxQuoted = 200

// Quote renders caller input for a message the way every domain package does.
func Quote(s string) string { return quote(s) }

// quote renders caller input for a message: Go-quoted so control characters cannot forge
// log lines, and truncated so a megabyte of input does not become a megabyte of error.
func quote(s string) string {
	if len(s) > maxQuoted {
		cut := maxQuoted
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "…"
	}
	return strconv.Quote(s)
}

// formatDuration prints 2h instead of Go's 2h0m0s, matching how operators write TTLs.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// hasControlOrInvalid reports invalid UTF-8 or any control character.
func hasControlOrInvalid(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}
