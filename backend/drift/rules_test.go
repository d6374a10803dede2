package drift

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/backend/intent"
)

type want struct {
	rule string
	sev  Severity
}

func ruleList(fs []Finding) []want {
	out := []want{}
	for _, f := range fs {
		out = append(out, want{f.Rule, f.Severity})
	}
	return out
}

func TestJudgeRules(t *testing.T) {
	saturday := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		subject func(*Subject)
		event   func(*Event)
		want    []want
		summary string // substring of the first finding's summary
	}{
		// In intent: no findings.
		{name: "in intent, ARN form"},
		{name: "in intent, s3 form and verb", event: func(e *Event) {
			e.Action, e.Resource, e.Source = "read", "s3://analytics-raw/2026/12/x.csv", SourceGateway
		}},
		{name: "in intent, ListBucket on the bucket ARN", event: func(e *Event) {
			e.Action, e.Resource = "s3:ListBucket", "arn:aws:s3:::analytics-raw"
		}},
		{name: "in intent, list prefix inside", event: func(e *Event) {
			e.Action, e.Resource = "s3:ListObjectsV2", "arn:aws:s3:::analytics-raw/2026/12/"
		}},
		{name: "in intent, write", event: func(e *Event) { e.Action = "s3:PutObject"; e.Encryption = EncryptionSSEKMS }},
		{name: "in intent, ipv4-mapped issuing address", subject: func(s *Subject) {
			s.IssuedFrom = netip.MustParseAddr("::ffff:10.1.2.3")
		}},
		{name: "no source address is not judged", event: func(e *Event) { e.SourceIP = netip.Addr{} }},

		// action-outside-intent
		{name: "action outside", event: func(e *Event) { e.Action = "s3:DeleteObject" },
			want: []want{{RuleActionOutsideIntent, High}}, summary: `used "s3:DeleteObject"`},
		{name: "action outside, denied is attempted", event: func(e *Event) { e.Action, e.Outcome = "s3:DeleteObject", OutcomeDenied },
			want: []want{{RuleActionOutsideIntent, High}}, summary: `attempted (denied) "s3:DeleteObject"`},
		{name: "action outside, unknown native action", event: func(e *Event) { e.Action = "s3:GetObjectAcl" },
			want: []want{{RuleActionOutsideIntent, High}}},
		{name: "action inside by native name", subject: func(s *Subject) {
			s.Intent.Actions = []intent.Action{"s3:GetObject"}
		}},
		{name: "native intent does not grant another native", subject: func(s *Subject) {
			s.Intent.Actions = []intent.Action{"s3:GetObject"}
		}, event: func(e *Event) { e.Action = "s3:PutObject" }, want: []want{{RuleActionOutsideIntent, High}}},
		{name: "introspection is low and has no destination", event: func(e *Event) {
			e.Action, e.Resource = "sts:GetCallerIdentity", "arn:aws:iam::123456789012:root"
		}, want: []want{{RuleActionOutsideIntent, Low}}},
		{name: "iam read is outside but not escalation", event: func(e *Event) {
			e.Action, e.Resource = "iam:GetRole", "arn:aws:iam::123456789012:role/etl"
		}, want: []want{{RuleActionOutsideIntent, High}, {RuleDestinationOutsideIntent, High}}},

		// destination-outside-intent
		{name: "destination outside", event: func(e *Event) { e.Resource = "arn:aws:s3:::finance/payroll.csv" },
			want: []want{{RuleDestinationOutsideIntent, High}}, summary: `"arn:aws:s3:::finance/payroll.csv", outside every destination`},
		{name: "destination outside, sibling prefix", event: func(e *Event) { e.Resource = "s3://analytics-raw/2026/11/a" },
			want: []want{{RuleDestinationOutsideIntent, High}}},
		{name: "destination outside, listing a wider prefix", event: func(e *Event) {
			e.Action, e.Resource = "s3:ListObjectsV2", "arn:aws:s3:::analytics-raw/2026/"
		}, want: []want{{RuleDestinationOutsideIntent, High}}},
		{name: "destination outside, listing another bucket", event: func(e *Event) {
			e.Action, e.Resource = "s3:ListBucket", "arn:aws:s3:::finance"
		}, want: []want{{RuleDestinationOutsideIntent, High}}},
		{name: "action and destination outside", event: func(e *Event) {
			e.Action, e.Resource = "s3:DeleteObject", "arn:aws:s3:::finance/payroll.csv"
		}, want: []want{{RuleActionOutsideIntent, High}, {RuleDestinationOutsideIntent, High}}},

		// unexpected-source-address
		{name: "other address, no CIDRs", event: func(e *Event) { e.SourceIP = netip.MustParseAddr("192.0.2.7") },
			want: []want{{RuleUnexpectedSourceAddress, Medium}}, summary: "from 192.0.2.7, not from the issuing address 10.1.2.3"},
		{name: "outside bound CIDRs", subject: func(s *Subject) {
			s.Intent.CIDRs = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		}, event: func(e *Event) { e.SourceIP = netip.MustParseAddr("192.0.2.7") },
			want: []want{{RuleUnexpectedSourceAddress, High}}, summary: "outside the bound CIDRs 10.0.0.0/8"},
		{name: "inside bound CIDRs, other address", subject: func(s *Subject) {
			s.Intent.CIDRs = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		}, event: func(e *Event) { e.SourceIP = netip.MustParseAddr("10.9.9.9") },
			want: []want{{RuleUnexpectedSourceAddress, Low}}},
		{name: "outside bound CIDRs, unknown issuing address", subject: func(s *Subject) {
			s.Intent.CIDRs = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
			s.IssuedFrom = netip.Addr{}
		}, event: func(e *Event) { e.SourceIP = netip.MustParseAddr("2001:db8::1") },
			want: []want{{RuleUnexpectedSourceAddress, High}}},
		{name: "unknown issuing address, no CIDRs", subject: func(s *Subject) { s.IssuedFrom = netip.Addr{} },
			event: func(e *Event) { e.SourceIP = netip.MustParseAddr("192.0.2.7") }},

		// outside-time-window (Mon-Fri 06:00-20:00 Europe/Berlin)
		{name: "Saturday", event: func(e *Event) { e.Time = saturday },
			subject: func(s *Subject) { s.Intent.ExpiresAt = saturday.Add(time.Hour) },
			want:    []want{{RuleOutsideTimeWindow, Medium}}, summary: "at 2026-12-05T10:00:00+01:00"},
		{name: "Friday 20:30 Berlin is 19:30 UTC", event: func(e *Event) { e.Time = time.Date(2026, 12, 4, 19, 30, 0, 0, time.UTC) },
			subject: func(s *Subject) { s.Intent.ExpiresAt = testNow.Add(24 * time.Hour) },
			want:    []want{{RuleOutsideTimeWindow, Medium}}},
		{name: "Friday 19:59 Berlin is inside", event: func(e *Event) { e.Time = time.Date(2026, 12, 4, 18, 59, 0, 0, time.UTC) },
			subject: func(s *Subject) { s.Intent.ExpiresAt = testNow.Add(24 * time.Hour) }},
		{name: "winter 05:30 Berlin (04:30 UTC) is outside", event: func(e *Event) { e.Time = time.Date(2026, 12, 4, 4, 30, 0, 0, time.UTC) },
			want: []want{{RuleOutsideTimeWindow, Medium}}},
		{name: "summer 06:30 Berlin (04:30 UTC) is inside", event: func(e *Event) { e.Time = time.Date(2026, 7, 3, 4, 30, 0, 0, time.UTC) },
			subject: func(s *Subject) { s.Intent.ExpiresAt = time.Date(2026, 7, 3, 5, 0, 0, 0, time.UTC) }},
		{name: "after not_after", subject: func(s *Subject) { s.Intent.Schedule.NotAfter = testNow.Add(-time.Second) },
			want: []want{{RuleOutsideTimeWindow, Medium}}},

		// use-after-revocation / use-after-expiry
		{name: "after revocation", subject: func(s *Subject) { s.Intent.Revoked, s.RevokedAt = true, testNow.Add(-5*time.Minute) },
			want: []want{{RuleUseAfterRevocation, Critical}}, summary: "after it was revoked at 2026-12-04T08:55:00Z"},
		{name: "attempt after revocation", subject: func(s *Subject) { s.Intent.Revoked, s.RevokedAt = true, testNow.Add(-5*time.Minute) },
			event: func(e *Event) { e.Outcome = OutcomeDenied },
			want:  []want{{RuleUseAfterRevocation, Critical}}, summary: "attempted (denied)"},
		{name: "late event from before revocation", subject: func(s *Subject) { s.Intent.Revoked, s.RevokedAt = true, testNow.Add(time.Minute) }},
		{name: "revoked at an unknown time", subject: func(s *Subject) { s.Intent.Revoked = true },
			want: []want{{RuleUseAfterRevocation, Critical}}},
		{name: "after expiry", subject: func(s *Subject) { s.Intent.ExpiresAt = testNow.Add(-time.Minute) },
			want: []want{{RuleUseAfterExpiry, High}}, summary: "after it expired at 2026-12-04T08:59:00Z"},
		{name: "just before expiry", subject: func(s *Subject) { s.Intent.ExpiresAt = testNow.Add(time.Nanosecond) }},
		{name: "revoked before expiry, used after both: revocation", subject: func(s *Subject) {
			s.Intent.Revoked, s.RevokedAt, s.Intent.ExpiresAt = true, testNow.Add(-30*time.Minute), testNow.Add(-10*time.Minute)
		}, want: []want{{RuleUseAfterRevocation, Critical}}},
		{name: "revoked by lease expiry, used after both: expiry", subject: func(s *Subject) {
			s.Intent.ExpiresAt = testNow.Add(-10 * time.Minute)
			s.Intent.Revoked, s.RevokedAt = true, s.Intent.ExpiresAt.Add(2*time.Second)
		}, want: []want{{RuleUseAfterExpiry, High}}},
		{name: "used between revocation and expiry: revocation", subject: func(s *Subject) {
			s.Intent.Revoked, s.RevokedAt = true, testNow.Add(-time.Minute)
		}, want: []want{{RuleUseAfterRevocation, Critical}}},

		// escalation-attempt supersedes action (and destination) outside intent
		{name: "escalation iam write", event: func(e *Event) {
			e.Action, e.Resource = "iam:CreateAccessKey", "arn:aws:iam::123456789012:user/admin"
		}, want: []want{{RuleEscalationAttempt, Critical}}, summary: "escalation (IAM write)"},
		{name: "escalation iam attach policy denied", event: func(e *Event) {
			e.Action, e.Resource, e.Outcome = "iam:AttachRolePolicy", "arn:aws:iam::123456789012:role/etl", OutcomeDenied
		}, want: []want{{RuleEscalationAttempt, Critical}}, summary: "attempted (denied)"},
		{name: "escalation role chaining", event: func(e *Event) {
			e.Action, e.Resource = "sts:AssumeRole", "arn:aws:iam::123456789012:role/admin"
		}, want: []want{{RuleEscalationAttempt, Critical}}, summary: "role chaining"},
		{name: "escalation web identity chaining", event: func(e *Event) {
			e.Action, e.Resource = "sts:AssumeRoleWithWebIdentity", "arn:aws:iam::123456789012:role/admin"
		}, want: []want{{RuleEscalationAttempt, Critical}}},
		{name: "escalation organizations", event: func(e *Event) {
			e.Action, e.Resource = "organizations:ListAccounts", "arn:aws:organizations::123456789012:root/o-1/r-1"
		}, want: []want{{RuleEscalationAttempt, Critical}}},
		{name: "escalation lambda create (CloudTrail versioned name)", event: func(e *Event) {
			e.Action, e.Resource = "lambda:CreateFunction20150331", "arn:aws:lambda:eu-central-1:123456789012:function:x"
		}, want: []want{{RuleEscalationAttempt, Critical}}},
		{name: "escalation lambda update code", event: func(e *Event) {
			e.Action, e.Resource = "lambda:UpdateFunctionCode20150331v2", "arn:aws:lambda:eu-central-1:123456789012:function:x"
		}, want: []want{{RuleEscalationAttempt, Critical}}},
		{name: "escalation SSE-C write inside the destination", event: func(e *Event) {
			e.Action, e.Encryption = "s3:PutObject", EncryptionSSEC
		}, want: []want{{RuleEscalationAttempt, Critical}}, summary: "SSE-C"},
		{name: "escalation SSE-C copy", event: func(e *Event) {
			e.Action, e.Encryption = "s3:CopyObject", EncryptionSSEC
		}, want: []want{{RuleEscalationAttempt, Critical}}},
		{name: "SSE-C read is not an escalation", event: func(e *Event) { e.Encryption = EncryptionSSEC }},
		{name: "escalation bucket policy", event: func(e *Event) {
			e.Action, e.Resource = "s3:PutBucketPolicy", "arn:aws:s3:::analytics-raw"
		}, want: []want{{RuleEscalationAttempt, Critical}}},
		{name: "escalation delete bucket policy", event: func(e *Event) {
			e.Action, e.Resource = "s3:DeleteBucketPolicy", "arn:aws:s3:::analytics-raw"
		}, want: []want{{RuleEscalationAttempt, Critical}}},
		{name: "escalation lifecycle", event: func(e *Event) {
			e.Action, e.Resource = "s3:PutBucketLifecycleConfiguration", "arn:aws:s3:::analytics-raw"
		}, want: []want{{RuleEscalationAttempt, Critical}}},
		{name: "escalation lifecycle IAM name", event: func(e *Event) {
			e.Action, e.Resource = "s3:PutLifecycleConfiguration", "arn:aws:s3:::analytics-raw"
		}, want: []want{{RuleEscalationAttempt, Critical}}},
		{name: "escalation key vault access policy", subject: func(s *Subject) { s.Provider = "azure" }, event: func(e *Event) {
			e.Action = "Microsoft.KeyVault/vaults/accessPolicies/write"
			e.Resource = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv/accessPolicies/add"
		}, want: []want{{RuleEscalationAttempt, Critical}}},
		{name: "escalation azure role assignment", event: func(e *Event) {
			e.Action = "Microsoft.Authorization/roleAssignments/write"
			e.Resource = "/subscriptions/0000/providers/Microsoft.Authorization/roleAssignments/1111"
		}, want: []want{{RuleEscalationAttempt, Critical}}},
		{name: "exactly named in the intent is not an escalation", subject: func(s *Subject) {
			s.Intent.Actions = append(s.Intent.Actions, "sts:AssumeRole")
			s.Intent.Destinations = append(s.Intent.Destinations, mustPattern(t, "arn:aws:iam::123456789012:role/reader"))
		}, event: func(e *Event) { e.Action, e.Resource = "sts:AssumeRole", "arn:aws:iam::123456789012:role/reader" }},
		{name: "a wildcard grant does not approve an escalation", subject: func(s *Subject) {
			s.Intent.Actions = append(s.Intent.Actions, "s3:*")
		}, event: func(e *Event) { e.Action, e.Resource = "s3:PutBucketPolicy", "arn:aws:s3:::analytics-raw" },
			want: []want{{RuleEscalationAttempt, Critical}}},
		{name: "escalation plus another address: both", event: func(e *Event) {
			e.Action, e.Resource, e.SourceIP = "iam:CreateUser", "arn:aws:iam::123456789012:user/x", netip.MustParseAddr("198.51.100.1")
		}, want: []want{{RuleEscalationAttempt, Critical}, {RuleUnexpectedSourceAddress, Medium}}},

		// posture-drift
		{name: "role changed", subject: func(s *Subject) { s.RoleRevisionNow = 4 },
			want: []want{{RulePostureDrift, Medium}}, summary: "revision 3 -> 4"},
		{name: "role deleted", subject: func(s *Subject) { s.RoleDeleted, s.RoleRevisionNow = true, 0 },
			want: []want{{RulePostureDrift, Medium}}, summary: "was deleted"},
		{name: "cloud policy hash differs", subject: func(s *Subject) {
			s.CloudPolicyHashAtIssue, s.CloudPolicyHashNow = "sha256:aa", "sha256:bb"
		}, want: []want{{RulePostureDrift, Medium}}},
		{name: "cloud policy hash unknown now", subject: func(s *Subject) { s.CloudPolicyHashAtIssue = "sha256:aa" }},
		{name: "cloud policy hash unchanged", subject: func(s *Subject) {
			s.CloudPolicyHashAtIssue, s.CloudPolicyHashNow = "sha256:aa", "sha256:aa"
		}},

		// everything at once, in rule order
		{name: "many rules", subject: func(s *Subject) {
			s.Intent.Revoked, s.RevokedAt = true, testNow.Add(-time.Minute)
			s.RoleRevisionNow = 9
		}, event: func(e *Event) {
			e.Action, e.Resource, e.SourceIP, e.Time = "s3:DeleteObject", "arn:aws:s3:::finance/a", netip.MustParseAddr("192.0.2.9"), saturday
		}, want: []want{
			{RuleUseAfterRevocation, Critical}, {RuleActionOutsideIntent, High}, {RuleDestinationOutsideIntent, High},
			{RuleUnexpectedSourceAddress, Medium}, {RuleOutsideTimeWindow, Medium}, {RulePostureDrift, Medium},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ev := baseSubject(t), baseEvent()
			if tt.subject != nil {
				tt.subject(&s)
			}
			if tt.event != nil {
				tt.event(&ev)
			}
			fs := Judge(s, ev, Baseline{})
			got := ruleList(fs)
			wantList := tt.want
			if wantList == nil {
				wantList = []want{}
			}
			if !reflect.DeepEqual(got, wantList) {
				t.Fatalf("findings = %v, want %v\n%s", got, wantList, summaries(fs))
			}
			if tt.summary != "" && !strings.Contains(fs[0].Summary, tt.summary) {
				t.Errorf("summary %q does not contain %q", fs[0].Summary, tt.summary)
			}
			for _, f := range fs {
				checkFinding(t, f)
			}
		})
	}
}

func summaries(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "  %s %s: %s\n", f.Severity, f.Rule, f.Summary)
	}
	return b.String()
}

// checkFinding: one-line summary, evidence naming the credential and event, no secrets.
func checkFinding(t *testing.T, f Finding) {
	t.Helper()
	if strings.ContainsAny(f.Summary, "\r\n") {
		t.Errorf("summary spans lines: %q", f.Summary)
	}
	for _, k := range []string{"credential_id", "role", "task", "action", "resource", "time"} {
		if f.Evidence[k] == "" {
			t.Errorf("%s: evidence lacks %s: %v", f.Rule, k, f.Evidence)
		}
	}
	for k, v := range f.Evidence {
		if strings.Contains(strings.ToLower(k), "secret") || strings.Contains(strings.ToLower(k), "token") || v == "" {
			t.Errorf("%s: evidence %s=%q", f.Rule, k, v)
		}
	}
	known := false
	for _, r := range Rules {
		if r.ID == f.Rule {
			known = true
		}
	}
	if !known {
		t.Errorf("rule %q is not listed in Rules", f.Rule)
	}
}

func TestJudgeAzure(t *testing.T) {
	s := baseSubject(t)
	s.Provider = "azure"
	s.Intent.Destinations = []intent.Pattern{
		mustPattern(t, "azure://acct/reports/2026/*"),
		mustPattern(t, "azure-keyvault://kv/secrets/db-password"),
	}
	s.Intent.Actions = []intent.Action{intent.ActionRead}
	ev := baseEvent()
	ev.Source = SourceAzureActivity
	cases := []struct {
		action, resource string
		want             []want
	}{
		{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", "azure://acct/reports/2026/a.csv", []want{}},
		{"microsoft.storage/storageaccounts/blobservices/containers/blobs/read", "azure://acct/reports/2026/a.csv", []want{}},
		{"Microsoft.KeyVault/vaults/secrets/getSecret/action", "azure-keyvault://kv/secrets/db-password", []want{}},
		{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete", "azure://acct/reports/2026/a.csv",
			[]want{{RuleActionOutsideIntent, High}}},
		{"Microsoft.KeyVault/vaults/secrets/getSecret/action", "azure-keyvault://kv/secrets/root-password",
			[]want{{RuleDestinationOutsideIntent, High}}},
	}
	for _, c := range cases {
		ev.Action, ev.Resource = c.action, c.resource
		if got := ruleList(Judge(s, ev, Baseline{})); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s on %s: %v, want %v", c.action, c.resource, got, c.want)
		}
	}
}

func TestJudgeVolume(t *testing.T) {
	s, ev := baseSubject(t), baseEvent()
	b := NewBaseline()
	var reports []int
	start := testNow
	for i := range 120 {
		ev.Time = start.Add(time.Duration(i) * 200 * time.Millisecond) // 300 a minute
		b.Observe(testCred, ev.Time)
		for _, f := range Judge(s, ev, *b) {
			if f.Rule != RuleVolumeAnomaly || f.Severity != Medium {
				t.Fatalf("unexpected finding %v", f)
			}
			if f.Evidence["threshold"] != "50" {
				t.Errorf("threshold evidence %q", f.Evidence["threshold"])
			}
			reports = append(reports, i)
		}
	}
	// The 51st event (index 50) crosses the floor; the burst goes on into the next minute
	// (index 300 would be the next minute; 120 events stay in this one): one report.
	if !reflect.DeepEqual(reports, []int{50}) {
		t.Fatalf("volume reported at %v, want [50]", reports)
	}

	// A sustained burst is reported again in the next minute, once.
	reports = nil
	for i := range 400 {
		ev.Time = start.Add(time.Minute + time.Duration(i)*100*time.Millisecond)
		b.Observe(testCred, ev.Time)
		if len(Judge(s, ev, *b)) > 0 {
			reports = append(reports, i)
		}
	}
	if len(reports) == 0 || len(reports) > 2 || reports[0] != 0 {
		t.Fatalf("sustained burst reported at %v, want the first event of each new minute", reports)
	}
	if ShouldRevoke([]Finding{{Rule: RuleVolumeAnomaly, Severity: Medium}}) {
		t.Error("volume alone must not revoke")
	}
}

func TestMaxSeverityShouldRevoke(t *testing.T) {
	if MaxSeverity(nil) != None || ShouldRevoke(nil) {
		t.Fatal("empty list")
	}
	fs := []Finding{{Severity: Medium}, {Severity: Low}}
	if MaxSeverity(fs) != Medium || ShouldRevoke(fs) {
		t.Fatal("medium must not revoke")
	}
	fs = append(fs, Finding{Severity: High})
	if MaxSeverity(fs) != High || !ShouldRevoke(fs) {
		t.Fatal("high must revoke")
	}
	if !ShouldRevoke([]Finding{{Severity: Critical}}) {
		t.Fatal("critical must revoke")
	}
}

func TestSeverityText(t *testing.T) {
	for s := None; s <= Critical; s++ {
		got, err := ParseSeverity(strings.ToUpper(s.String()))
		if err != nil || got != s {
			t.Errorf("round trip of %v: %v, %v", s, got, err)
		}
	}
	if _, err := ParseSeverity("severe"); err == nil {
		t.Error("accepted an unknown severity")
	}
	b, _ := json.Marshal(Finding{Rule: "x", Severity: High})
	if !strings.Contains(string(b), `"severity":"high"`) {
		t.Errorf("json %s", b)
	}
	var f Finding
	if err := json.Unmarshal(b, &f); err != nil || f.Severity != High {
		t.Errorf("unmarshal: %v %v", f, err)
	}
	if Severity(42).String() != "unknown" {
		t.Error("out of range")
	}
}

// TestNoFalsePositives: 1,000 in-intent events from the issuing address inside the window,
// with the baseline fed as the engine would, produce no finding at all.
func TestNoFalsePositives(t *testing.T) {
	s := baseSubject(t)
	s.Intent.ExpiresAt = testNow.Add(2 * time.Hour)
	b := NewBaseline()
	rng := rand.New(rand.NewPCG(1, 2))
	actions := []string{"s3:GetObject", "s3:HeadObject", "s3:PutObject", "s3:CreateMultipartUpload", "s3:UploadPart",
		"s3:CompleteMultipartUpload", "s3:GetObjectTagging", "read", "write", "s3:ListObjectsV2", "s3:ListBucket"}
	events, _ := generateInIntent(rng, 1000, actions)
	total := 0
	for _, ev := range events {
		b.Observe(testCred, ev.Time)
		fs := Judge(s, ev, *b)
		if len(fs) > 0 {
			t.Fatalf("false positive for %+v:\n%s", ev, summaries(fs))
		}
		total++
	}
	if total != 1000 {
		t.Fatal(total)
	}
}

// generateInIntent makes in-intent events, about 30 a minute, in both S3 spellings.
func generateInIntent(rng *rand.Rand, n int, actions []string) ([]Event, time.Duration) {
	out := make([]Event, 0, n)
	t := testNow
	for i := range n {
		ev := baseEvent()
		ev.Action = actions[rng.IntN(len(actions))]
		ev.EventID = fmt.Sprintf("ev-%d", i)
		key := fmt.Sprintf("day-%02d/part-%05d.parquet", rng.IntN(31)+1, rng.IntN(100000))
		switch v, _ := VerbOf(ev.Action); {
		case v == "list" && rng.IntN(2) == 0:
			ev.Resource = "arn:aws:s3:::analytics-raw"
		case v == "list":
			ev.Resource = "arn:aws:s3:::analytics-raw/2026/12/day-05/"
		case rng.IntN(2) == 0:
			ev.Resource = "arn:aws:s3:::analytics-raw/2026/12/" + key
		default:
			ev.Resource = "s3://analytics-raw/2026/12/" + key
		}
		if rng.IntN(10) == 0 {
			ev.Outcome = OutcomeError // e.g. NoSuchKey: still in intent
		}
		t = t.Add(time.Duration(1000+rng.IntN(2000)) * time.Millisecond)
		ev.Time = t
		out = append(out, ev)
	}
	return out, t.Sub(testNow)
}

func TestJudgeDoesNotMutateBaseline(t *testing.T) {
	b := NewBaseline()
	b.Observe(testCred, testNow)
	before, _ := json.Marshal(b)
	Judge(baseSubject(t), baseEvent(), *b)
	after, _ := json.Marshal(b)
	if string(before) != string(after) {
		t.Fatal("Judge changed the baseline")
	}
}
