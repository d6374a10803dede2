package drift_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/backend/drift"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/backend/intent"
)

// The issue's story: a credential for nightly-etl reads a payroll file from another
// address. One destination finding (high) and one address finding (medium): revoke.
func ExampleJudge() {
	dest, _ := intent.ParsePattern("s3://analytics-raw/2026/12/*")
	s := drift.Subject{
		CredentialID: "c-abcdefghijklmnopqrstuvwxyz", Role: "etl", Task: "nightly-etl", EntityID: "etl-runner",
		Provider: "aws",
		Intent: intent.Intent{
			Destinations: []intent.Pattern{dest},
			Actions:      []intent.Action{intent.ActionRead, intent.ActionWrite},
			ExpiresAt:    time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC),
		},
		IssuedFrom: netip.MustParseAddr("10.1.2.3"),
	}
	events, err := drift.DecodeBatchAt(map[string]any{"events": []any{map[string]any{
		"access_key_id": "ASIAEXAMPLE", "action": "s3:GetObject", "resource": "arn:aws:s3:::finance/payroll.csv",
		"source_ip": "203.0.113.9", "time": "2026-12-04T09:00:00Z", "source": "cloudtrail",
	}}}, time.Date(2026, 12, 4, 9, 1, 0, 0, time.UTC))
	if err != nil {
		panic(err)
	}
	fs := drift.Judge(s, events[0], drift.Baseline{})
	for _, f := range fs {
		fmt.Println(f.Severity, f.Rule+":", f.Summary)
	}
	fmt.Println("max:", drift.MaxSeverity(fs), "revoke:", drift.ShouldRevoke(fs))
	// Output:
	// high destination-outside-intent: credential c-abcdefghijklmnopqrstuvwxyz used "s3:GetObject" on "arn:aws:s3:::finance/payroll.csv", outside every destination of the intent
	// medium unexpected-source-address: credential c-abcdefghijklmnopqrstuvwxyz used "s3:GetObject" on "arn:aws:s3:::finance/payroll.csv" from 203.0.113.9, not from the issuing address 10.1.2.3
	// max: high revoke: true
}
