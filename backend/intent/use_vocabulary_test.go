package intent

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// upperVocabulary accepts an action spelled in upper case for a granted verb and a
// resource "id:<destination>" for that destination: enough to see CheckUseIn defer
// the action and resource checks to it and keep every other check.
type upperVocabulary struct{}

func (upperVocabulary) ActionAllowed(granted []Action, observed string) bool {
	for _, g := range granted {
		if strings.ToUpper(string(g)) == observed {
			return true
		}
	}
	return false
}

func (upperVocabulary) ResourceMatches(dest Pattern, resource string) bool {
	return resource == "id:"+dest.String()
}

func TestCheckUseInDefersNamesToTheVocabulary(t *testing.T) {
	dest, err := ParsePattern("s3://a/b/*")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	in := Intent{Destinations: []Pattern{dest}, Actions: []Action{"read"}, ExpiresAt: now.Add(time.Hour)}
	cases := []struct {
		name, action, resource string
		revoked, allowed       bool
		reason                 string
	}{
		{"native names", "READ", "id:s3://a/b/*", false, true, ""},
		{"unknown action", "WRITE", "id:s3://a/b/*", false, false, "action"},
		{"other resource", "READ", "id:s3://a/c/*", false, false, "resource"},
		{"revoked still denied", "READ", "id:s3://a/b/*", true, false, "revoked"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := in
			in.Revoked = tc.revoked
			allowed, reasons := CheckUseIn(upperVocabulary{}, in, tc.action, tc.resource, netip.Addr{}, now)
			if allowed != tc.allowed || (tc.reason != "" && !strings.Contains(strings.Join(reasons, ";"), tc.reason)) {
				t.Errorf("allowed=%v reasons=%v, want %v naming %q", allowed, reasons, tc.allowed, tc.reason)
			}
		})
	}
}
