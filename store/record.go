package store

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
)

const (
	recordPrefix = "credentials/"
	activePrefix = "active/"
	expiryPrefix = "expiry/"
	expiryBucket = "2006010215"
)

// Credential statuses.
const (
	StatusActive     = "active"
	StatusRevoked    = "revoked"
	StatusExpired    = "expired"
	StatusRolledBack = "rolled_back"
)

// Record is the approved intent of one credential plus who got it, from where, when, and
// the provider's reference. It never holds secret material, so operators may read it.
type Record struct {
	ID             string   `json:"credential_id"`
	Role           string   `json:"role"`
	RoleRevision   uint64   `json:"role_revision"`
	Provider       string   `json:"provider"`
	CredentialType string   `json:"credential_type"`
	Task           string   `json:"task"`
	Destinations   []string `json:"destinations"`
	Actions        []string `json:"actions"`
	Sensitivity    string   `json:"sensitivity"`
	Justification  string   `json:"justification,omitempty"`

	EntityID    string `json:"entity_id,omitempty"`
	EntityName  string `json:"entity_name,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
	SourceAddr  string `json:"source_address,omitempty"`

	// Constraints in force at issuance, so runtime checks do not depend on the role
	// still existing or being unchanged.
	TimeWindows []string `json:"time_windows,omitempty"`
	NotBefore   string   `json:"not_before,omitempty"`
	NotAfter    string   `json:"not_after,omitempty"`
	BoundCIDRs  []string `json:"bound_cidrs,omitempty"`
	DriftAction string   `json:"drift_action,omitempty"`

	IssuedAt  time.Time         `json:"issued_at"`
	ExpiresAt time.Time         `json:"expires_at"`
	Ref       map[string]string `json:"provider_ref"`

	Status       string    `json:"status"`
	RevokedAt    time.Time `json:"revoked_at,omitempty"`
	RevokeReason string    `json:"revoke_reason,omitempty"`

	// QuotaCounted is set when the credential holds a place in its role's quota index
	// (the role had a quota when it was issued); only then is there an entry to keep.
	QuotaCounted bool `json:"quota_counted,omitempty"`
	// Format is RecordFormat for records written by this version; 0 marks records from
	// before QuotaCounted existed, when every active credential had a quota index entry.
	Format int `json:"format,omitempty"`
}

// RecordFormat is the Format of new records.
const RecordFormat = 1

// holdsQuotaEntry reports whether the record may have a quota index entry to keep.
func (r *Record) holdsQuotaEntry() bool { return r.QuotaCounted || r.Format == 0 }

// StatusAt is the status as of now: an active record past its expiry is expired even
// before the lease machinery has caught up with it.
func (r *Record) StatusAt(now time.Time) string {
	if r.Status == StatusActive && !now.Before(r.ExpiresAt) {
		return StatusExpired
	}
	return r.Status
}

// ActiveEntry is the quota index entry of an active credential.
type ActiveEntry struct {
	Task      string    `json:"task"`
	EntityID  string    `json:"entity_id"`
	ExpiresAt time.Time `json:"expires_at"`
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewCredentialID returns a random, path-safe credential id ("c-" + 26 base32 chars).
func NewCredentialID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generating credential id: %w", err)
	}
	return "c-" + strings.ToLower(idEncoding.EncodeToString(b[:])), nil
}

// ValidCredentialID reports whether id has the shape NewCredentialID produces, so that
// user input never reaches storage as an arbitrary key.
func ValidCredentialID(id string) bool {
	if len(id) != 28 || !strings.HasPrefix(id, "c-") {
		return false
	}
	for _, c := range id[2:] {
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

func GetRecord(ctx context.Context, s logical.Storage, id string) (*Record, error) {
	if !ValidCredentialID(id) {
		return nil, nil
	}
	var r Record
	found, err := getJSON(ctx, s, recordPrefix+id, &r)
	if err != nil || !found {
		return nil, err
	}
	return &r, nil
}

// PutRecord writes a record whose status or expiry changed and keeps its indexes in step:
// a credential counted by a quota stays in the quota index while active; one that ended
// leaves it and enters the retention index, which the sweep reads. The record is written
// last, so it never exists without the index its status calls for.
func PutRecord(ctx context.Context, s logical.Storage, r *Record) error {
	activeKey := activePrefix + r.Role + "/" + r.ID
	if r.Status == StatusActive {
		if r.holdsQuotaEntry() {
			entry := ActiveEntry{Task: r.Task, EntityID: r.EntityID, ExpiresAt: r.ExpiresAt}
			if err := putJSON(ctx, s, activeKey, entry); err != nil {
				return err
			}
		}
	} else {
		if r.holdsQuotaEntry() {
			if err := s.Delete(ctx, activeKey); err != nil {
				return fmt.Errorf("removing %s: %w", activeKey, err)
			}
		}
		if err := s.Put(ctx, &logical.StorageEntry{Key: expiryKey(r.ExpiresAt, r.ID)}); err != nil {
			return fmt.Errorf("indexing expiry of %s: %w", r.ID, err)
		}
	}
	return putJSON(ctx, s, recordPrefix+r.ID, r)
}

// PutIssued writes the record of a credential just issued with everything that finds
// it: its provider key ids and, for credentials with a provider key, its collection
// target (a quota's place was reserved before issuance, by ReserveActive). The writes are
// independent and go to Vault concurrently: until PutIssued returns the credential has
// not been delivered, and if any write fails the caller marks the record rolled back
// (or the WAL rollback does), so a record briefly without its indexes is never one that
// someone holds. An active record needs no retention entry: the sweep keeps active
// records anyway, and revocation (PutRecord) adds it when the credential ends.
func PutIssued(ctx context.Context, s logical.Storage, r *Record) error {
	writes := []func() error{
		func() error { return putKeyIndex(ctx, s, r) },
		func() error { return RegisterCollectTarget(ctx, s, r) },
		func() error { return putJSON(ctx, s, recordPrefix+r.ID, r) },
	}
	errs := make([]error, len(writes))
	var wg sync.WaitGroup
	for i, write := range writes {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = write() }()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// ReserveActive writes the quota index entry of a credential about to be issued, so that
// a concurrent issuance counts it before its record exists, and marks the record counted.
func ReserveActive(ctx context.Context, s logical.Storage, r *Record) error {
	r.QuotaCounted = true
	entry := ActiveEntry{Task: r.Task, EntityID: r.EntityID, ExpiresAt: r.ExpiresAt}
	return putJSON(ctx, s, activePrefix+r.Role+"/"+r.ID, entry)
}

// ReleaseActive removes the quota index entry of a credential that was not issued.
func ReleaseActive(ctx context.Context, s logical.Storage, r *Record) error {
	key := activePrefix + r.Role + "/" + r.ID
	if err := s.Delete(ctx, key); err != nil {
		return fmt.Errorf("removing %s: %w", key, err)
	}
	return nil
}

// DeleteRecord removes a record and its indexes.
func DeleteRecord(ctx context.Context, s logical.Storage, r *Record) error {
	for _, key := range []string{recordPrefix + r.ID, activePrefix + r.Role + "/" + r.ID, expiryKey(r.ExpiresAt, r.ID)} {
		if err := s.Delete(ctx, key); err != nil {
			return fmt.Errorf("deleting %s: %w", key, err)
		}
	}
	return deleteKeyIndex(ctx, s, r)
}

// ListRecords lists credential ids in order, after the given id, at most limit of them.
func ListRecords(ctx context.Context, s logical.Storage, after string, limit int) ([]string, error) {
	ids, err := s.List(ctx, recordPrefix)
	if err != nil {
		return nil, fmt.Errorf("listing credentials: %w", err)
	}
	sort.Strings(ids)
	start := sort.SearchStrings(ids, after)
	if start < len(ids) && ids[start] == after {
		start++
	}
	ids = ids[start:]
	if len(ids) > limit {
		ids = ids[:limit]
	}
	return ids, nil
}

// ActiveEntries returns the quota index of a role, skipping entries already past expiry
// (their lease revocation may simply not have run yet).
func ActiveEntries(ctx context.Context, s logical.Storage, role string, now time.Time) ([]ActiveEntry, error) {
	ids, err := s.List(ctx, activePrefix+role+"/")
	if err != nil {
		return nil, fmt.Errorf("listing active credentials of %s: %w", role, err)
	}
	entries := make([]ActiveEntry, 0, len(ids))
	for _, id := range ids {
		var e ActiveEntry
		found, err := getJSON(ctx, s, activePrefix+role+"/"+id, &e)
		if err != nil {
			return nil, err
		}
		if found && now.Before(e.ExpiresAt) {
			entries = append(entries, e)
		}
	}
	return entries, nil
}

func expiryKey(t time.Time, id string) string {
	return expiryPrefix + t.UTC().Format(expiryBucket) + "/" + id
}

// SweepExpired deletes records that expired before cutoff, bucket by bucket, at most
// limit records per call so one periodic run stays bounded. It returns how many it removed.
func SweepExpired(ctx context.Context, s logical.Storage, cutoff time.Time, limit int) (int, error) {
	buckets, err := closedBuckets(ctx, s, expiryPrefix, cutoff)
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, bucket := range buckets {
		ids, err := s.List(ctx, expiryPrefix+bucket+"/")
		if err != nil {
			return removed, fmt.Errorf("listing expiry bucket %s: %w", bucket, err)
		}
		for _, id := range ids {
			if removed >= limit {
				return removed, nil
			}
			if err := removeExpired(ctx, s, bucket, id, cutoff); err != nil {
				return removed, err
			}
			removed++
		}
	}
	return removed, nil
}

// closedBuckets lists the hour buckets under prefix whose hour ended by cutoff, oldest
// first.
func closedBuckets(ctx context.Context, s logical.Storage, prefix string, cutoff time.Time) ([]string, error) {
	buckets, err := s.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", prefix, err)
	}
	sort.Strings(buckets)
	var closed []string
	for _, bucket := range buckets {
		bucket = strings.TrimSuffix(bucket, "/")
		start, err := time.Parse(expiryBucket, bucket)
		if err == nil && !start.Add(time.Hour).After(cutoff) {
			closed = append(closed, bucket)
		}
	}
	return closed, nil
}

func removeExpired(ctx context.Context, s logical.Storage, bucket, id string, cutoff time.Time) error {
	r, err := GetRecord(ctx, s, id)
	if err != nil {
		return err
	}
	if r != nil && r.ExpiresAt.Before(cutoff) && r.Status != StatusActive {
		return DeleteRecord(ctx, s, r)
	}
	if r != nil && r.Status == StatusActive {
		// The lease has not been revoked yet: keep the record until it has been.
		return nil
	}
	return s.Delete(ctx, expiryPrefix+bucket+"/"+id)
}
