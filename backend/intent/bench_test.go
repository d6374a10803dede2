package intent

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// benchPolicy is a large but realistic role: 50 grants across schemes and 10 time
// windows, with the request matching late grants and the last window (the slow paths).
func benchPolicy(b *testing.B) *Policy {
	b.Helper()
	spec := RoleSpec{
		Name:                "bench",
		AllowedTasks:        []string{"etl-*", "report-*", "nightly-export"},
		BoundEntityIDs:      []string{"ent-1", "ent-2"},
		BoundEntityMetadata: map[string]string{"team": "payments"},
		BoundCIDRs:          []string{"192.168.0.0/16", "10.0.0.0/8"},
	}
	for i := range 50 {
		var d string
		switch i % 5 {
		case 0:
			d = fmt.Sprintf("s3://bucket-%d/data/*", i)
		case 1:
			d = fmt.Sprintf("https://svc-%d.internal/api/v*/items/*", i)
		case 2:
			d = fmt.Sprintf("arn:aws:dynamodb:*:123456789012:table/t%d*", i)
		case 3:
			d = fmt.Sprintf("azure://acct%d/container/*", i)
		case 4:
			d = fmt.Sprintf("/subscriptions/sub-%d/resourceGroups/rg/*", i)
		}
		spec.Grants = append(spec.Grants, GrantSpec{Destination: d, Actions: []string{"read", "list", "s3:Get*"}, MaxSensitivity: "confidential"})
	}
	spec.Grants[49] = GrantSpec{Destination: "s3://reports/exports/*", Actions: []string{"read", "write", "s3:GetObject"}, MaxSensitivity: "restricted"}
	spec.Grants[48] = GrantSpec{Destination: "https://reports.internal/exports/*", Actions: []string{"read", "write"}, MaxSensitivity: "restricted"}
	days := []string{"Mon", "Tue", "Wed", "Thu", "Sat", "Sun", "Mon-Tue", "Sat,Sun", "Wed-Thu", "Mon-Fri"}
	for _, d := range days {
		spec.TimeWindows = append(spec.TimeWindows, d+" 06:00-20:00 Europe/Berlin")
	}
	p, err := CompilePolicy(spec)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func BenchmarkEvaluate(b *testing.B) {
	p := benchPolicy(b)
	caller := Caller{EntityID: "ent-2", Metadata: map[string]string{"team": "payments"}, RemoteAddr: netip.MustParseAddr("10.1.2.3")}
	now := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC) // Friday: only the last window matches
	cases := map[string]RawRequest{
		"explicit_actions": {Task: "nightly-export", Destinations: []string{"s3://reports/exports/2026/q4.csv", "https://reports.internal/exports/*"},
			Actions: []string{"read", "write"}, Sensitivity: "confidential"},
		"default_actions": {Task: "nightly-export", Destinations: []string{"s3://reports/exports/2026/q4.csv", "https://reports.internal/exports/*"}},
	}
	for name, raw := range cases {
		req, err := ParseRequest(raw)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Evaluate(p, req, caller, now, 0); err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Evaluate(p, req, caller, now, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseAndEvaluate includes request parsing, which the creds endpoint also pays.
func BenchmarkParseAndEvaluate(b *testing.B) {
	p := benchPolicy(b)
	caller := Caller{EntityID: "ent-2", Metadata: map[string]string{"team": "payments"}, RemoteAddr: netip.MustParseAddr("10.1.2.3")}
	now := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	raw := RawRequest{Task: "nightly-export", Destinations: []string{"s3://reports/exports/2026/q4.csv"}, Actions: []string{"read"}, TTL: "10m"}
	b.ReportAllocs()
	for b.Loop() {
		req, err := ParseRequest(raw)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Evaluate(p, req, caller, now, 0); err != nil {
			b.Fatal(err)
		}
	}
}
