// Package conformance is the behaviour every providers.Provider must show, as a reusable
// test suite. A provider's tests call Run with a constructor and a sample request its
// configuration can satisfy:
//
//	func TestConformance(t *testing.T) {
//		conformance.Run(t, func(t *testing.T) (providers.Provider, logical.Storage) {
//			s := &logical.InmemStorage{}
//			// write the provider's config into s, start simulators, ...
//			return myprovider.New(...), s
//		}, sampleRequest)
//	}
package conformance

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

// Option adjusts the suite for a provider's documented limits.
type Option func(*options)

type options struct {
	ttlFloor     time.Duration
	noCancel     bool
	revokeErrs   []error
	concurrency  int
	expiryLeeway time.Duration
}

// unknownCredentialType is a credential_type no provider supports.
const unknownCredentialType = "no-such-credential-type"

// WithTTLFloor says the provider cannot issue credentials shorter than floor (AWS STS:
// 900s); ExpiresAt is then expected at now+max(TTL, floor).
func WithTTLFloor(floor time.Duration) Option {
	return func(o *options) { o.ttlFloor = floor }
}

// WithoutCancellation skips the context-cancellation check for providers whose Issue has
// nothing to cancel. Use sparingly: any provider that calls out over the network must
// honour ctx.
func WithoutCancellation() Option {
	return func(o *options) { o.noCancel = true }
}

// WithRevokeErrors lists sentinel errors (matched with errors.Is) that Revoke may return
// for a reference that was never issued, besides nil and *providers.FieldError.
func WithRevokeErrors(errs ...error) Option {
	return func(o *options) { o.revokeErrs = append(o.revokeErrs, errs...) }
}

// WithConcurrency sets how many Issue calls run at once in the concurrency check
// (default 8; 0 or 1 skips it).
func WithConcurrency(n int) Option {
	return func(o *options) { o.concurrency = n }
}

// WithExpiryLeeway widens the accepted ExpiresAt window (default 1s either side) for
// providers whose expiry is set by a remote clock.
func WithExpiryLeeway(d time.Duration) Option {
	return func(o *options) { o.expiryLeeway = d }
}

// Run runs the suite as subtests of t. newProvider must return a fresh, configured
// provider and the storage to pass it; it is called once per subtest. sample must be a
// request the provider can issue for (sample.Role must pass ValidateRole). Each Issue in
// the suite gets its own CredentialID derived from sample.CredentialID, as the engine does.
func Run(t *testing.T, newProvider func(t *testing.T) (providers.Provider, logical.Storage), sample providers.IssueRequest, opts ...Option) {
	t.Helper()
	o := options{concurrency: 8, expiryLeeway: time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	if sample.TTL <= 0 {
		t.Fatalf("conformance: sample.TTL must be positive, got %s", sample.TTL)
	}
	var seq int
	var seqMu sync.Mutex
	request := func() providers.IssueRequest {
		seqMu.Lock()
		seq++
		n := seq
		seqMu.Unlock()
		req := sample
		req.CredentialID = fmt.Sprintf("%s-conf-%d", nonEmpty(sample.CredentialID, "cred"), n)
		if req.Now.IsZero() {
			req.Now = time.Now()
		}
		return req
	}

	t.Run("Name", func(t *testing.T) {
		p, _ := newProvider(t)
		if p.Name() == "" {
			t.Fatal("Name() is empty")
		}
	})

	t.Run("ValidateRole", func(t *testing.T) {
		p, _ := newProvider(t)
		if err := p.ValidateRole(sample.Role); err != nil {
			t.Fatalf("ValidateRole(sample role) = %v, want nil", err)
		}
		bad := sample.Role
		bad.CredentialType = unknownCredentialType
		err := p.ValidateRole(bad)
		var fe *providers.FieldError
		if !errors.As(err, &fe) {
			t.Fatalf("ValidateRole(credential_type=%q) = %v (%T), want *providers.FieldError", bad.CredentialType, err, err)
		}
		if fe.Field != "credential_type" {
			t.Errorf("FieldError.Field = %q, want %q", fe.Field, "credential_type")
		}
	})

	t.Run("Issue", func(t *testing.T) {
		p, s := newProvider(t)
		req := request()
		got := mustIssue(t, p, s, req)
		for k, v := range got.Secret {
			if isEmpty(v) {
				t.Errorf("Secret[%q] is empty", k)
			}
		}
		secrets := secretValues(got.Secret)
		for k, v := range got.Ref {
			if secrets[v] {
				t.Errorf("Ref[%q] equals a Secret value: references must never carry secret material", k)
			}
		}
		for k, v := range got.Public {
			if sv, ok := v.(string); ok && secrets[sv] {
				t.Errorf("Public[%q] equals a Secret value", k)
			}
		}
		ttl := req.TTL
		if ttl < o.ttlFloor {
			ttl = o.ttlFloor
		}
		want := req.Now.Add(ttl)
		if got.ExpiresAt.Before(want.Add(-o.expiryLeeway)) || got.ExpiresAt.After(want.Add(o.expiryLeeway)) {
			t.Errorf("ExpiresAt = %s, want within %s of %s (now + %s)", got.ExpiresAt, o.expiryLeeway, want, ttl)
		}
	})

	t.Run("IssueTwiceDistinct", func(t *testing.T) {
		p, s := newProvider(t)
		a := mustIssue(t, p, s, request())
		b := mustIssue(t, p, s, request())
		for k, v := range a.Secret {
			if reflect.DeepEqual(v, b.Secret[k]) {
				t.Errorf("two issuances returned the same Secret[%q]", k)
			}
		}
	})

	t.Run("RevokeIdempotent", func(t *testing.T) {
		p, s := newProvider(t)
		req := request()
		got := mustIssue(t, p, s, req)
		rr := providers.RevokeRequest{
			CredentialID: req.CredentialID, Ref: got.Ref,
			IssuedAt: req.Now, ExpiresAt: got.ExpiresAt, Now: time.Now(),
		}
		for i := 1; i <= 2; i++ {
			if err := safeRevoke(p, s, rr); err != nil {
				t.Fatalf("Revoke #%d = %v, want nil", i, err)
			}
		}
	})

	t.Run("RevokeNeverIssued", func(t *testing.T) {
		p, s := newProvider(t)
		// A reference of the right shape, and an empty one, as WAL rollback may pass.
		ref := map[string]string{}
		if got, err := p.Issue(context.Background(), s, request()); err == nil && got != nil {
			for k := range got.Ref {
				ref[k] = "conformance-never-issued-" + k
			}
		}
		for _, rr := range []providers.RevokeRequest{
			{CredentialID: "conformance-never-issued", Ref: ref, Now: time.Now()},
			{CredentialID: "conformance-never-issued-nil-ref", Now: time.Now()},
		} {
			err := safeRevoke(p, s, rr)
			if err != nil && !o.typed(err) {
				t.Errorf("Revoke(never issued, ref %v) = %v (%T), want nil or a typed error", rr.Ref, err, err)
			}
		}
	})

	if !o.noCancel {
		t.Run("IssueCancelled", func(t *testing.T) {
			p, s := newProvider(t)
			before := storageKeys(t, s)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			got, err := p.Issue(ctx, s, request())
			if err == nil {
				t.Fatalf("Issue(cancelled ctx) = %+v, nil; want an error", got)
			}
			if got != nil {
				t.Errorf("Issue(cancelled ctx) returned a credential with its error")
			}
			if after := storageKeys(t, s); !reflect.DeepEqual(before, after) {
				t.Errorf("Issue(cancelled ctx) changed storage: keys %v -> %v", before, after)
			}
		})
	}

	if o.concurrency > 1 {
		t.Run("IssueConcurrent", func(t *testing.T) {
			p, s := newProvider(t)
			results := make([]*providers.Issued, o.concurrency)
			errs := make([]error, o.concurrency)
			reqs := make([]providers.IssueRequest, o.concurrency)
			for i := range reqs {
				reqs[i] = request()
			}
			var wg sync.WaitGroup
			for i := range reqs {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					results[i], errs[i] = p.Issue(context.Background(), s, reqs[i])
				}(i)
			}
			wg.Wait()
			seen := map[string]int{}
			for i, err := range errs {
				if err != nil {
					t.Fatalf("concurrent Issue #%d: %v", i, err)
				}
				for k, v := range results[i].Secret {
					key := k + "=" + fmt.Sprint(v)
					if j, dup := seen[key]; dup {
						t.Errorf("concurrent Issues #%d and #%d returned the same Secret[%q]", j, i, k)
					}
					seen[key] = i
				}
			}
		})
	}
}

func (o options) typed(err error) bool {
	var fe *providers.FieldError
	if errors.As(err, &fe) || errors.Is(err, providers.ErrNotConfigured) {
		return true
	}
	for _, e := range o.revokeErrs {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func mustIssue(t *testing.T, p providers.Provider, s logical.Storage, req providers.IssueRequest) *providers.Issued {
	t.Helper()
	got, err := p.Issue(context.Background(), s, req)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	if got == nil {
		t.Fatal("Issue returned nil, nil")
	}
	if len(got.Secret) == 0 {
		t.Fatal("Issue returned no Secret")
	}
	return got
}

// safeRevoke turns a panic into an error so that the suite reports it as a failure of
// the check rather than aborting.
func safeRevoke(p providers.Provider, s logical.Storage, rr providers.RevokeRequest) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("Revoke panicked: %v", r)
		}
	}()
	return p.Revoke(context.Background(), s, rr)
}

func secretValues(m map[string]any) map[string]bool {
	out := map[string]bool{}
	for _, v := range m {
		if s, ok := v.(string); ok && s != "" {
			out[s] = true
		} else if v != nil {
			out[fmt.Sprint(v)] = true
		}
	}
	return out
}

func isEmpty(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String, reflect.Slice, reflect.Map:
		return rv.Len() == 0
	}
	return false
}

func storageKeys(t *testing.T, s logical.Storage) []string {
	t.Helper()
	keys, err := logical.CollectKeys(context.Background(), s)
	if err != nil {
		t.Fatalf("listing storage: %v", err)
	}
	sort.Strings(keys)
	return keys
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
