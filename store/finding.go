package store

import (
	"context"
	"crypto/rand"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
)

const (
	findingPrefix  = "findings/"
	baselinePrefix = "baselines/"
	keyIDPrefix    = "keyids/"
)

// Finding enforcement outcomes.
const (
	EnforcementRecorded     = "recorded"
	EnforcementRevoked      = "revoked"
	EnforcementRevokeFailed = "revoke_failed"
)

// FindingRecord is a stored drift finding: what rule fired on which use of which
// credential, and what the engine did about it. It never holds secret material.
type FindingRecord struct {
	ID           string            `json:"finding_id"`
	Rule         string            `json:"rule"`
	Severity     string            `json:"severity"`
	Level        int               `json:"severity_level"`
	Summary      string            `json:"summary"`
	Evidence     map[string]string `json:"evidence"`
	Count        int               `json:"count"`
	CredentialID string            `json:"credential_id"`
	Role         string            `json:"role"`
	Task         string            `json:"task"`
	EntityID     string            `json:"entity_id"`
	Source       string            `json:"source"`
	Action       string            `json:"action"`
	Resource     string            `json:"resource"`
	SourceIP     string            `json:"source_ip,omitempty"`
	EventTime    time.Time         `json:"event_time"`
	RecordedAt   time.Time         `json:"recorded_at"`
	Enforcement  string            `json:"enforcement"`
}

// NewFindingID returns an id that embeds its storage bucket (the hour it was recorded),
// so a read needs no index and retention can drop whole hours.
func NewFindingID(now time.Time) (string, error) {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generating finding id: %w", err)
	}
	return "f-" + now.UTC().Format(expiryBucket) + "-" + strings.ToLower(idEncoding.EncodeToString(b[:])), nil
}

func findingKey(id string) (string, bool) {
	parts := strings.Split(id, "-")
	if len(parts) != 3 || parts[0] != "f" || len(parts[1]) != len(expiryBucket) || len(parts[2]) != 16 {
		return "", false
	}
	if _, err := time.Parse(expiryBucket, parts[1]); err != nil {
		return "", false
	}
	for _, c := range parts[2] {
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return "", false
		}
	}
	return findingPrefix + parts[1] + "/" + id, true
}

func PutFinding(ctx context.Context, s logical.Storage, f *FindingRecord) error {
	key, ok := findingKey(f.ID)
	if !ok {
		return fmt.Errorf("malformed finding id %q", f.ID)
	}
	return putJSON(ctx, s, key, f)
}

func GetFinding(ctx context.Context, s logical.Storage, id string) (*FindingRecord, error) {
	key, ok := findingKey(id)
	if !ok {
		return nil, nil
	}
	var f FindingRecord
	found, err := getJSON(ctx, s, key, &f)
	if err != nil || !found {
		return nil, err
	}
	return &f, nil
}

// ListFindings returns findings recorded at or after since, newest first, that keep
// returns true for, at most limit of them.
func ListFindings(ctx context.Context, s logical.Storage, since time.Time, keep func(*FindingRecord) bool, limit int) ([]*FindingRecord, error) {
	buckets, err := s.List(ctx, findingPrefix)
	if err != nil {
		return nil, fmt.Errorf("listing finding buckets: %w", err)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(buckets)))
	var out []*FindingRecord
	for _, bucket := range buckets {
		bucket = strings.TrimSuffix(bucket, "/")
		start, err := time.Parse(expiryBucket, bucket)
		if err != nil || start.Add(time.Hour).Before(since) {
			continue
		}
		ids, err := s.List(ctx, findingPrefix+bucket+"/")
		if err != nil {
			return nil, fmt.Errorf("listing findings of %s: %w", bucket, err)
		}
		var page []*FindingRecord
		for _, id := range ids {
			f, err := GetFinding(ctx, s, id)
			if err != nil {
				return nil, err
			}
			if f != nil && !f.RecordedAt.Before(since) && keep(f) {
				page = append(page, f)
			}
		}
		sort.Slice(page, func(i, j int) bool { return page[i].RecordedAt.After(page[j].RecordedAt) })
		out = append(out, page...)
		if len(out) >= limit {
			return out[:limit], nil
		}
	}
	return out, nil
}

// SweepFindings deletes whole hours of findings recorded before cutoff.
func SweepFindings(ctx context.Context, s logical.Storage, cutoff time.Time) (int, error) {
	buckets, err := closedBuckets(ctx, s, findingPrefix, cutoff)
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, bucket := range buckets {
		ids, err := s.List(ctx, findingPrefix+bucket+"/")
		if err != nil {
			return removed, err
		}
		for _, id := range ids {
			if err := s.Delete(ctx, findingPrefix+bucket+"/"+id); err != nil {
				return removed, err
			}
			removed++
		}
	}
	return removed, nil
}

// GetBaseline loads a role's stored volume baseline into into; false when none exists.
func GetBaseline(ctx context.Context, s logical.Storage, role string, into any) (bool, error) {
	return getJSON(ctx, s, baselinePrefix+role, into)
}

func PutBaseline(ctx context.Context, s logical.Storage, role string, baseline any) error {
	return putJSON(ctx, s, baselinePrefix+role, baseline)
}

// CredentialIDForKey resolves a provider key id (AWS access key id, Azure client id)
// reported in evidence to the credential it belongs to.
func CredentialIDForKey(ctx context.Context, s logical.Storage, keyID string) (string, error) {
	if keyID == "" || strings.ContainsAny(keyID, "/.") || len(keyID) > 128 {
		return "", nil
	}
	entry, err := s.Get(ctx, keyIDPrefix+keyID)
	if err != nil || entry == nil {
		return "", err
	}
	return string(entry.Value), nil
}

// providerKeyIDs are the Ref members that name a key evidence may report.
var providerKeyIDs = []string{"access_key_id", "client_id"}

func putKeyIndex(ctx context.Context, s logical.Storage, r *Record) error {
	for _, name := range providerKeyIDs {
		if id := r.Ref[name]; id != "" && !strings.ContainsAny(id, "/.") {
			if err := s.Put(ctx, &logical.StorageEntry{Key: keyIDPrefix + id, Value: []byte(r.ID)}); err != nil {
				return fmt.Errorf("indexing key id of %s: %w", r.ID, err)
			}
		}
	}
	return nil
}

func deleteKeyIndex(ctx context.Context, s logical.Storage, r *Record) error {
	for _, name := range providerKeyIDs {
		if id := r.Ref[name]; id != "" && !strings.ContainsAny(id, "/.") {
			if err := s.Delete(ctx, keyIDPrefix+id); err != nil {
				return err
			}
		}
	}
	return nil
}
