package drift

import (
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/backend/intent"
)

// Event is one observed use (or attempted use) of a credential, from a collector, a
// workload or gateway calling observe, or the engine's own authorize endpoint.
type Event struct {
	CredentialID string // the engine's credential id; or
	AccessKeyID  string // the provider's key id (AWS access key id, Azure client id)
	SessionName  string // AWS role session name, when known
	Action       string // verb (read) or provider-native action (s3:GetObject, Microsoft.…/read)
	Resource     string // destination URI or ARN, concrete (see DecodeEvent for s3 prefixes)
	SourceIP     netip.Addr
	Time         time.Time // UTC
	Outcome      string    // success | denied | error
	Source       string    // cloudtrail | workload | gateway | authorize | azure-activity | azure-signin
	EventID      string    // the provider's id, for de-duplication
	// Encryption is the server-side encryption a write asked for, when the log says:
	// "", sse-s3, sse-kms, dsse-kms or sse-c. SSE-C writes are an escalation: objects
	// encrypted with a key only the caller holds are lost to their owner (ransomware).
	// An optional extension of the observe contract (field "encryption").
	Encryption string
}

// Outcomes.
const (
	OutcomeSuccess = "success"
	OutcomeDenied  = "denied"
	OutcomeError   = "error"
)

// Sources of evidence.
const (
	SourceCloudTrail    = "cloudtrail"
	SourceWorkload      = "workload"
	SourceGateway       = "gateway"
	SourceAuthorize     = "authorize"
	SourceAzureActivity = "azure-activity"
	SourceAzureSignIn   = "azure-signin"
)

// Server-side encryption modes of an S3 write.
const (
	EncryptionSSES3   = "sse-s3"
	EncryptionSSEKMS  = "sse-kms"
	EncryptionDSSEKMS = "dsse-kms"
	EncryptionSSEC    = "sse-c"
)

// Decoder limits. Real events are a few hundred bytes, so a full batch is well under a
// megabyte; MaxBatchBytes refuses bodies (such as 10 MB ones) that each field's own
// limit would let through (1,000 × 11 × 2 KiB ≈ 22 MiB).
const (
	MaxBatchEvents  = 1000
	MaxStringLength = 2048
	MaxBatchBytes   = 4 << 20             // sum of the lengths of every string in a batch
	MaxFutureSkew   = 5 * time.Minute     // clocks of collectors and clouds drift a little
	MaxEventAge     = 30 * 24 * time.Hour // longer than credential retention: nothing to judge against
)

// Field names as the observe API spells them.
const (
	fieldCredentialID = "credential_id"
	fieldAccessKeyID  = "access_key_id"
	fieldSessionName  = "session_name"
	fieldAction       = "action"
	fieldResource     = "resource"
	fieldSourceIP     = "source_ip"
	fieldTime         = "time"
	fieldOutcome      = "outcome"
	fieldSource       = "source"
	fieldEventID      = "event_id"
	fieldEncryption   = "encryption"
	fieldEvents       = "events"
)

var knownFields = map[string]bool{
	fieldCredentialID: true, fieldAccessKeyID: true, fieldSessionName: true, fieldAction: true,
	fieldResource: true, fieldSourceIP: true, fieldTime: true, fieldOutcome: true,
	fieldSource: true, fieldEventID: true, fieldEncryption: true,
}

var validOutcomes = map[string]bool{OutcomeSuccess: true, OutcomeDenied: true, OutcomeError: true}

var validSources = map[string]bool{
	SourceCloudTrail: true, SourceWorkload: true, SourceGateway: true, SourceAuthorize: true,
	SourceAzureActivity: true, SourceAzureSignIn: true,
}

var validEncryption = map[string]bool{
	EncryptionSSES3: true, EncryptionSSEKMS: true, EncryptionDSSEKMS: true, EncryptionSSEC: true,
}

// DecodeEvent validates one event's fields as the observe API receives them, judging its
// time against the current clock. See DecodeEventAt.
func DecodeEvent(m map[string]any) (Event, error) { return DecodeEventAt(m, time.Now()) }

// DecodeBatch validates an observe body: either "events": [ {...}, ... ] or one event's
// fields at top level. See DecodeBatchAt.
func DecodeBatch(body map[string]any) ([]Event, error) { return DecodeBatchAt(body, time.Now()) }

// DecodeBatchAt is DecodeBatch with an explicit clock. An "events" list may not be mixed
// with top-level event fields, must hold 1..MaxBatchEvents objects, and one bad event
// refuses the whole batch (nothing is half-stored), with the error naming the field as
// "events[3].time".
func DecodeBatchAt(body map[string]any, now time.Time) ([]Event, error) {
	raw, isBatch := body[fieldEvents]
	if !isBatch {
		ev, err := decodeEvent(body, "", now)
		if err != nil {
			return nil, err
		}
		return []Event{ev}, nil
	}
	if len(body) > 1 {
		others := make([]string, 0, len(body)-1)
		for k := range body {
			if k != fieldEvents {
				others = append(others, k)
			}
		}
		sort.Strings(others)
		return nil, fieldErr(others[0], "must not be given together with events; send a list or one event, not both")
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, fieldErr(fieldEvents, "must be a list of event objects")
	}
	if len(list) == 0 {
		return nil, fieldErr(fieldEvents, "is empty; send at least one event")
	}
	if len(list) > MaxBatchEvents {
		return nil, fieldErr(fieldEvents, "holds "+strconv.Itoa(len(list))+" events; at most "+strconv.Itoa(MaxBatchEvents)+" are allowed per batch")
	}
	events := make([]Event, 0, len(list))
	total := 0
	for i, item := range list {
		prefix := fieldEvents + "[" + strconv.Itoa(i) + "]"
		m, ok := item.(map[string]any)
		if !ok {
			return nil, fieldErr(prefix, "must be an object")
		}
		ev, err := decodeEvent(m, prefix+".", now)
		if err != nil {
			return nil, err
		}
		if total += ev.textSize(); total > MaxBatchBytes {
			return nil, fieldErr(fieldEvents, "holds more than "+strconv.Itoa(MaxBatchBytes>>20)+" MiB of event text (at "+prefix+"); split it into smaller batches")
		}
		events = append(events, ev)
	}
	return events, nil
}

// textSize is roughly what the event's fields took in the request.
func (ev *Event) textSize() int {
	return len(ev.CredentialID) + len(ev.AccessKeyID) + len(ev.SessionName) + len(ev.Action) +
		len(ev.Resource) + len(ev.Source) + len(ev.EventID) + len(ev.Outcome) + len(ev.Encryption) + 64
}

// DecodeEventAt validates one event strictly: unknown fields are refused; credential_id
// or access_key_id, action and resource are required; every string is at most
// MaxStringLength bytes of UTF-8 without control or invisible characters; time is RFC
// 3339, at most MaxFutureSkew ahead of now and at most MaxEventAge old (default now);
// source_ip is optional but must be an address if present; outcome defaults to success.
//
// The resource must be concrete (no '*') and parse as a destination (intent.ParsePattern).
// One extension: an S3 list prefix may end in '/' ("arn:aws:s3:::bucket/2026/12/" or
// "s3://bucket/2026/12/"), meaning "the keys under this prefix"; see S3ListResource.
// Collectors must map non-address CloudTrail sources such as "s3.amazonaws.com" or
// "AWS Internal" to an empty source_ip.
func DecodeEventAt(m map[string]any, now time.Time) (Event, error) { return decodeEvent(m, "", now) }

func decodeEvent(m map[string]any, prefix string, now time.Time) (Event, error) {
	if err := checkUnknown(m, prefix); err != nil {
		return Event{}, err
	}
	var ev Event
	var err error
	str := func(name string, dst *string, token bool) {
		if err != nil {
			return
		}
		*dst, err = stringField(m, prefix, name, token)
	}
	str(fieldCredentialID, &ev.CredentialID, true)
	str(fieldAccessKeyID, &ev.AccessKeyID, true)
	str(fieldSessionName, &ev.SessionName, true)
	str(fieldAction, &ev.Action, true)
	str(fieldResource, &ev.Resource, true)
	var ip, ts string
	str(fieldSourceIP, &ip, true)
	str(fieldTime, &ts, false)
	str(fieldOutcome, &ev.Outcome, true)
	str(fieldSource, &ev.Source, true)
	str(fieldEventID, &ev.EventID, true)
	str(fieldEncryption, &ev.Encryption, true)
	if err != nil {
		return Event{}, err
	}
	if ev.CredentialID == "" && ev.AccessKeyID == "" {
		return Event{}, fieldErr(prefix+fieldCredentialID, "is required (or access_key_id): an event must name the credential it was made with")
	}
	if ev.Action == "" {
		return Event{}, fieldErr(prefix+fieldAction, "is required")
	}
	if err := checkAction(ev.Action); err != nil {
		return Event{}, fieldErr(prefix+fieldAction, err.Error())
	}
	if ev.Resource == "" {
		return Event{}, fieldErr(prefix+fieldResource, "is required")
	}
	if err := CheckResource(ev.Resource); err != nil {
		return Event{}, fieldErr(prefix+fieldResource, err.Error())
	}
	if ip != "" {
		a, perr := netip.ParseAddr(ip)
		if perr != nil || a.Zone() != "" {
			return Event{}, fieldErr(prefix+fieldSourceIP, quote(ip)+" is not an IP address")
		}
		ev.SourceIP = a.Unmap()
	}
	if ev.Time, err = decodeTime(ts, now); err != nil {
		return Event{}, fieldErr(prefix+fieldTime, err.Error())
	}
	if ev.Outcome == "" {
		ev.Outcome = OutcomeSuccess
	} else if ev.Outcome = strings.ToLower(ev.Outcome); !validOutcomes[ev.Outcome] {
		return Event{}, fieldErr(prefix+fieldOutcome, quote(ev.Outcome)+" is not one of success, denied, error")
	}
	if ev.Source != "" {
		if ev.Source = strings.ToLower(ev.Source); !validSources[ev.Source] {
			return Event{}, fieldErr(prefix+fieldSource, quote(ev.Source)+" is not one of cloudtrail, workload, gateway, authorize, azure-activity, azure-signin")
		}
	}
	if ev.Encryption != "" {
		if ev.Encryption = strings.ToLower(ev.Encryption); !validEncryption[ev.Encryption] {
			return Event{}, fieldErr(prefix+fieldEncryption, quote(ev.Encryption)+" is not one of sse-s3, sse-kms, dsse-kms, sse-c")
		}
	}
	return ev, nil
}

// checkUnknown refuses fields the API does not define, naming the first in sorted order so
// the error does not depend on map iteration.
func checkUnknown(m map[string]any, prefix string) error {
	var unknown []string
	for k := range m {
		if !knownFields[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	name := unknown[0]
	if !plainName(name) {
		return fieldErr(prefix+quote(name), "is not a known event field")
	}
	return fieldErr(prefix+name, "is not a known event field; known are credential_id, access_key_id, session_name, action, resource, source_ip, time, outcome, source, event_id, encryption")
}

// plainName reports whether an unknown field's name can be echoed as a field path as is.
func plainName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// stringField reads an optional string; absent and null are "". token refuses whitespace.
func stringField(m map[string]any, prefix, name string, token bool) (string, error) {
	v, ok := m[name]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fieldErr(prefix+name, "must be a string")
	}
	if len(s) > MaxStringLength {
		return "", fieldErr(prefix+name, "is "+strconv.Itoa(len(s))+" bytes long; at most "+strconv.Itoa(MaxStringLength)+" are allowed")
	}
	if hasControlOrInvalid(s) {
		return "", fieldErr(prefix+name, "must be UTF-8 without control or invisible characters")
	}
	if token && strings.IndexFunc(s, unicode.IsSpace) >= 0 {
		return "", fieldErr(prefix+name, "must not contain whitespace")
	}
	return s, nil
}

func decodeTime(ts string, now time.Time) (time.Time, error) {
	if ts == "" {
		return now.UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return time.Time{}, errorf(quote(ts) + " is not an RFC 3339 time such as 2026-12-04T09:30:00Z")
	}
	if t.After(now.Add(MaxFutureSkew)) {
		return time.Time{}, errorf(ts + " is more than " + MaxFutureSkew.String() + " in the future")
	}
	if t.Before(now.Add(-MaxEventAge)) {
		return time.Time{}, errorf(ts + " is more than 30 days old")
	}
	return t.UTC(), nil
}

// checkAction accepts a verb, an AWS action (service:Name) or an Azure operation
// (Provider.Namespace/type/.../operation): one concrete operation, no wildcards.
func checkAction(a string) error {
	if len(a) > 256 {
		return errorf("is longer than 256 characters")
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(":/._-", c) >= 0 {
			continue
		}
		return errorf(quote(a) + " contains " + quote(string(rune(c))) + "; an action is a verb, service:Action or an Azure operation, without wildcards")
	}
	return nil
}

// CheckResource reports whether r is a concrete resource an event may name: a
// destination URI, ARN or Azure resource id without '*', or an S3 list prefix ending in
// '/'. Collectors can use it to drop what the decoder would refuse.
func CheckResource(r string) error {
	if sr, ok := splitS3(r); ok && sr.prefix {
		_, err := intent.ParsePattern(sr.objectURI())
		return err
	}
	p, err := intent.ParsePattern(r)
	if err != nil {
		return err
	}
	if p.HasWildcard() {
		return errorf("a used resource must be concrete, without *")
	}
	return nil
}

func fieldErr(field, reason string) *intent.FieldError {
	return &intent.FieldError{Field: field, Reason: reason}
}

type textError string

func (e textError) Error() string { return string(e) }

func errorf(s string) error { return textError(s) }

// quote renders input for a message as the intent package does: Go-quoted (control
// characters cannot forge log lines) and truncated.
func quote(s string) string { return intent.Quote(s) }

// hasControlOrInvalid reports invalid UTF-8, control characters, and format characters
// (zero-width, bidi overrides) that would make two values look alike in an audit line.
func hasControlOrInvalid(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return true
		} else if c >= utf8.RuneSelf {
			return slowHasControl(s[i:])
		}
	}
	return false
}

func slowHasControl(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return true
		}
	}
	return false
}
