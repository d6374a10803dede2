package drift

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/backend/intent"
)

func validEventMap() map[string]any {
	return map[string]any{
		"credential_id": testCred,
		"access_key_id": "ASIAEXAMPLEKEY000001",
		"session_name":  "nhi-session",
		"action":        "s3:GetObject",
		"resource":      "arn:aws:s3:::analytics-raw/2026/12/a.csv",
		"source_ip":     "10.1.2.3",
		"time":          "2026-12-04T08:59:30Z",
		"outcome":       "success",
		"source":        "cloudtrail",
		"event_id":      "e-1",
	}
}

func TestDecodeValid(t *testing.T) {
	evs, err := DecodeBatchAt(validEventMap(), testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := Event{
		CredentialID: testCred, AccessKeyID: "ASIAEXAMPLEKEY000001", SessionName: "nhi-session",
		Action: "s3:GetObject", Resource: "arn:aws:s3:::analytics-raw/2026/12/a.csv",
		SourceIP: netip.MustParseAddr("10.1.2.3"), Time: testNow.Add(-30 * time.Second),
		Outcome: "success", Source: "cloudtrail", EventID: "e-1",
	}
	if len(evs) != 1 || evs[0] != want {
		t.Fatalf("got %+v\nwant %+v", evs, want)
	}

	// Batch form, minimal fields, defaults, normalisations.
	body := map[string]any{"events": []any{
		map[string]any{"access_key_id": "AKIA1", "action": "read", "resource": "s3://b/k"},
		map[string]any{"credential_id": testCred, "action": "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
			"resource": "azure://acct/c/blob", "source_ip": "::ffff:192.0.2.1", "outcome": "DENIED", "source": "Azure-Activity",
			"time": "2026-12-04T10:04:00+01:00", "encryption": "SSE-C"},
		map[string]any{"credential_id": testCred, "action": "s3:ListObjectsV2", "resource": "arn:aws:s3:::b/2026/12/", "session_name": nil},
	}}
	evs, err = DecodeBatchAt(body, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 {
		t.Fatal(len(evs))
	}
	if evs[0].Outcome != OutcomeSuccess || !evs[0].Time.Equal(testNow) || evs[0].SourceIP.IsValid() {
		t.Errorf("defaults: %+v", evs[0])
	}
	e := evs[1]
	if e.SourceIP != netip.MustParseAddr("192.0.2.1") || e.Outcome != OutcomeDenied || e.Source != SourceAzureActivity ||
		e.Encryption != EncryptionSSEC || !e.Time.Equal(testNow.Add(4*time.Minute)) || e.Time.Location() != time.UTC {
		t.Errorf("normalised: %+v", e)
	}
}

func TestDecodeErrors(t *testing.T) {
	with := func(k string, v any) map[string]any {
		m := validEventMap()
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	batch := func(ms ...map[string]any) map[string]any {
		l := make([]any, len(ms))
		for i, m := range ms {
			l[i] = m
		}
		return map[string]any{"events": l}
	}
	tooMany := make([]any, MaxBatchEvents+1)
	for i := range tooMany {
		tooMany[i] = validEventMap()
	}
	huge := make([]any, MaxBatchEvents) // ≈ 10 MB, every field within its own limit
	for i := range huge {
		m := validEventMap()
		for _, k := range []string{"credential_id", "access_key_id", "session_name", "event_id"} {
			m[k] = strings.Repeat("x", MaxStringLength)
		}
		m["resource"] = "s3://b/" + strings.Repeat("k", 1000)
		huge[i] = m
	}
	noCred := validEventMap()
	delete(noCred, "credential_id")
	delete(noCred, "access_key_id")
	tests := []struct {
		name  string
		body  map[string]any
		field string
		msg   string
	}{
		{"credential missing", noCred, "credential_id", "is required (or access_key_id)"},
		{"credential missing in batch", batch(validEventMap(), noCred), "events[1].credential_id", "is required"},
		{"malformed time", with("time", "04/12/2026 09:00"), "time", "is not an RFC 3339 time"},
		{"malformed time in batch", batch(validEventMap(), validEventMap(), validEventMap(), with("time", "yesterday")), "events[3].time", "RFC 3339"},
		{"time without zone", with("time", "2026-12-04T09:00:00"), "time", "RFC 3339"},
		{"future time", with("time", "2026-12-04T09:05:01Z"), "time", "in the future"},
		{"old time", with("time", "2026-11-04T08:59:59Z"), "time", "more than 30 days old"},
		{"huge string", with("resource", "s3://b/"+strings.Repeat("a", MaxStringLength)), "resource", "at most 2048"},
		{"huge event id", with("event_id", strings.Repeat("x", MaxStringLength+1)), "event_id", "at most 2048"},
		{"1,001 events", map[string]any{"events": tooMany}, "events", "holds 1001 events; at most 1000"},
		{"10 MB batch", map[string]any{"events": huge}, "events", "more than 4 MiB of event text (at events["},
		{"unknown field", with("bucket", "x"), "bucket", "is not a known event field"},
		{"empty field name", with("", "x"), `""`, "not a known event field"},
		{"unknown field in batch", batch(validEventMap(), with("Action", "x")), "events[1].Action", "not a known event field"},
		{"unknown top-level field beside events", map[string]any{"events": []any{validEventMap()}, "dry_run": true}, "dry_run", "not be given together"},
		{"bad IP", with("source_ip", "10.1.2.300"), "source_ip", "is not an IP address"},
		{"IP with zone", with("source_ip", "fe80::1%eth0"), "source_ip", "is not an IP address"},
		{"service name as IP", with("source_ip", "s3.amazonaws.com"), "source_ip", "not an IP"},
		{"number instead of string", with("time", 1733302800), "time", "must be a string"},
		{"events not a list", map[string]any{"events": "x"}, "events", "must be a list"},
		{"events empty", map[string]any{"events": []any{}}, "events", "is empty"},
		{"event not an object", map[string]any{"events": []any{validEventMap(), "x"}}, "events[1]", "must be an object"},
		{"action missing", with("action", nil), "action", "is required"},
		{"action wildcard", with("action", "s3:Get*"), "action", "without wildcards"},
		{"resource missing", with("resource", nil), "resource", "is required"},
		{"resource wildcard", with("resource", "s3://b/logs/*"), "resource", "must be concrete"},
		{"resource unknown scheme", with("resource", "ftp://h/x"), "resource", "unknown scheme"},
		{"resource traversal", with("resource", "s3://b/a/../x"), "resource", `".."`},
		{"resource list prefix traversal", with("resource", "arn:aws:s3:::b/../"), "resource", `".."`},
		{"outcome", with("outcome", "maybe"), "outcome", "success, denied, error"},
		{"source", with("source", "syslog"), "source", "cloudtrail"},
		{"encryption", with("encryption", "rot13"), "encryption", "sse-c"},
		{"control character", with("session_name", "a\nb"), "session_name", "control"},
		{"invisible character", with("event_id", "a\u200bb"), "event_id", "invisible"},
		{"whitespace", with("credential_id", "c-1 c-2"), "credential_id", "whitespace"},
		{"invalid UTF-8", with("event_id", "\xff"), "event_id", "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := DecodeBatchAt(tt.body, testNow)
			if err == nil {
				t.Fatalf("accepted: %+v", evs)
			}
			var fe *intent.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T %v is not a *intent.FieldError", err, err)
			}
			if fe.Field != tt.field || !strings.Contains(fe.Reason, tt.msg) {
				t.Fatalf("got %q: %q, want %q: ...%q...", fe.Field, fe.Reason, tt.field, tt.msg)
			}
			if strings.ContainsAny(err.Error(), "\n\r") || len(err.Error()) > 600 {
				t.Errorf("error not one bounded line: %q", err.Error())
			}
		})
	}
}

func TestDecodeEventUsesClock(t *testing.T) {
	m := validEventMap()
	m["time"] = time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	if _, err := DecodeEvent(m); err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeBatch(m); err != nil {
		t.Fatal(err)
	}
	m["time"] = time.Now().UTC().Add(time.Hour).Format(time.RFC3339)
	if _, err := DecodeEvent(m); err == nil {
		t.Fatal("future time accepted")
	}
}

func TestCheckResource(t *testing.T) {
	for _, ok := range []string{"s3://b", "s3://b/k", "arn:aws:s3:::b", "arn:aws:s3:::b/p/", "s3://b/p/q/",
		"https://api.example.com/v1/x", "/subscriptions/0/resourceGroups/rg", "azure-keyvault://kv/secrets/s"} {
		if err := CheckResource(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "b/k", "s3://b/*", "s3://b//", "arn:aws:s3:::b//", "s3:///k", "arn:aws:s3:::*"} {
		if err := CheckResource(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
