package drift

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/backend/intent"
)

// FuzzDecodeBatch feeds JSON bodies to the observe decoder. Whatever it accepts must meet
// every documented limit and be judgeable without panicking; whatever it refuses must be
// refused with a bounded *intent.FieldError.
func FuzzDecodeBatch(f *testing.F) {
	seeds := []string{
		`{"credential_id":"c-abcdefghijklmnopqrstuvwxyz","action":"s3:GetObject","resource":"arn:aws:s3:::raw/2026/12/a","source_ip":"10.1.2.3","time":"2026-12-04T08:59:00Z","outcome":"success","source":"cloudtrail","event_id":"e1"}`,
		`{"events":[{"access_key_id":"AKIA1","action":"read","resource":"s3://raw/2026/12/a"},{"credential_id":"c-1","action":"s3:ListObjectsV2","resource":"arn:aws:s3:::raw/2026/"}]}`,
		`{"events":[{"credential_id":"c-1","action":"Microsoft.KeyVault/vaults/secrets/getSecret/action","resource":"azure-keyvault://kv/secrets/x","outcome":"DENIED","source":"azure-activity"}]}`,
		`{"events":[{"credential_id":"c-1","action":"s3:PutObject","resource":"s3://raw/2026/12/a","encryption":"sse-c","source_ip":"::ffff:10.0.0.1"}]}`,
		`{"events":[]}`,
		`{"events":"x"}`,
		`{"events":[1]}`,
		`{"events":[{}],"x":1}`,
		`{"credential_id":"c-1","action":"s3:Get*","resource":"s3://raw/*"}`,
		`{"credential_id":"c-1","action":"read","resource":"s3://raw/a/../b"}`,
		`{"credential_id":"c-1","action":"read","resource":"arn:aws:s3:::raw//"}`,
		`{"credential_id":"c-1","action":"read","resource":"s3://raw/a","time":"2026-12-04T09:06:00Z"}`,
		`{"credential_id":"c-1","action":"read","resource":"s3://raw/a","time":"2025-12-04T09:00:00Z"}`,
		`{"credential_id":"c-1","action":"read","resource":"s3://raw/a","source_ip":"s3.amazonaws.com"}`,
		`{"credential_id":"c-1\u202e","action":"read","resource":"s3://raw/a"}`,
		`{"credential_id":null,"access_key_id":"AKIA","action":"read","resource":"https://api.example.com/v1/x"}`,
		`{"unknown":true}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	subject := baseSubject(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var body map[string]any
		if json.Unmarshal(data, &body) != nil || body == nil {
			return
		}
		evs, err := DecodeBatchAt(body, testNow)
		if err != nil {
			var fe *intent.FieldError
			if !errors.As(err, &fe) || fe.Field == "" {
				t.Fatalf("error %T %v is not a *intent.FieldError naming a field", err, err)
			}
			if len(err.Error()) > 1000 || strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("error is not one bounded line: %q", err.Error())
			}
			return
		}
		if len(evs) == 0 || len(evs) > MaxBatchEvents {
			t.Fatalf("%d events accepted", len(evs))
		}
		b := NewBaseline()
		for _, ev := range evs {
			if ev.CredentialID == "" && ev.AccessKeyID == "" || ev.Action == "" || ev.Resource == "" {
				t.Fatalf("required field missing: %+v", ev)
			}
			if err := CheckResource(ev.Resource); err != nil {
				t.Fatalf("accepted resource %q: %v", ev.Resource, err)
			}
			if ev.Time.After(testNow.Add(MaxFutureSkew)) || ev.Time.Before(testNow.Add(-MaxEventAge)) {
				t.Fatalf("time %v out of bounds", ev.Time)
			}
			if !validOutcomes[ev.Outcome] || (ev.Source != "" && !validSources[ev.Source]) {
				t.Fatalf("outcome/source %q/%q", ev.Outcome, ev.Source)
			}
			for _, s := range []string{ev.CredentialID, ev.AccessKeyID, ev.SessionName, ev.Action, ev.Resource, ev.EventID} {
				if len(s) > MaxStringLength || hasControlOrInvalid(s) {
					t.Fatalf("accepted string %q", s)
				}
			}
			b.Observe(subject.CredentialID, ev.Time)
			for _, fd := range Judge(subject, ev, *b) {
				if strings.ContainsAny(fd.Summary, "\r\n") {
					t.Fatalf("summary spans lines: %q", fd.Summary)
				}
			}
		}
	})
}
