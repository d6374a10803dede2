package drift

import (
	"net/netip"
	"testing"
	"time"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/backend/intent"
)

// testNow is Friday 2026-12-04 09:00 UTC, 10:00 in Berlin.
var testNow = time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)

const testCred = "c-abcdefghijklmnopqrstuvwxyz"

func mustPattern(t testing.TB, s string) intent.Pattern {
	t.Helper()
	p, err := intent.ParsePattern(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustWindow(t testing.TB, s string) intent.TimeWindow {
	t.Helper()
	w, err := intent.ParseTimeWindow(s)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// baseSubject is the issue's example: nightly-etl may read, write and list
// s3://analytics-raw/2026/12/*, Mon-Fri 06:00-20:00 Berlin, issued from 10.1.2.3.
func baseSubject(t testing.TB) Subject {
	return Subject{
		CredentialID: testCred,
		Role:         "etl",
		Task:         "nightly-etl",
		EntityID:     "ent-etl-runner",
		Provider:     "aws",
		Intent: intent.Intent{
			Destinations: []intent.Pattern{mustPattern(t, "s3://analytics-raw/2026/12/*")},
			Actions:      []intent.Action{intent.ActionRead, intent.ActionWrite, intent.ActionList},
			Schedule:     intent.Schedule{Windows: []intent.TimeWindow{mustWindow(t, "Mon-Fri 06:00-20:00 Europe/Berlin")}},
			ExpiresAt:    testNow.Add(time.Hour),
		},
		IssuedFrom:          netip.MustParseAddr("10.1.2.3"),
		IssuedAt:            testNow.Add(-10 * time.Minute),
		RoleRevisionAtIssue: 3,
		RoleRevisionNow:     3,
	}
}

func baseEvent() Event {
	return Event{
		AccessKeyID: "ASIAEXAMPLEKEY000001",
		SessionName: "nhi-c-abcdefghijklmnopqrstuvwxyz",
		Action:      "s3:GetObject",
		Resource:    "arn:aws:s3:::analytics-raw/2026/12/part-0001.parquet",
		SourceIP:    netip.MustParseAddr("10.1.2.3"),
		Time:        testNow,
		Outcome:     OutcomeSuccess,
		Source:      SourceCloudTrail,
		EventID:     "0d3c5a1e-0000-4000-8000-000000000001",
	}
}
