package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

// RevocationPolicyName is the inline policy on an assumed role that denies revoked
// sessions.
const RevocationPolicyName = "nhi-revoked-sessions"

// RoleInlinePolicyBudget is IAM's limit on the aggregate size of a role's inline
// policies (characters, whitespace not counted).
const RoleInlinePolicyBudget = 10240

// revocationPrefix holds one revocationState per role: <account>-<role name>.
const revocationPrefix = "aws/revocations/"

// fallbackMargin separates the fallback's cut-off from the revocation time, so that a
// session issued just before it is covered despite clock skew between Vault and AWS.
const fallbackMargin = 2 * time.Second

// revocationState is what the engine remembers about one role's revocation policy.
type revocationState struct {
	RoleARN string           `json:"role_arn"`
	Entries []revokedSession `json:"entries"`
	// Fallback denies every session of the role issued before Before. It is used when
	// the entries no longer fit IAM's inline policy budget, and dropped at Until, when
	// every session issued before Before has expired (STS sessions last at most 12h).
	Fallback *fallbackDeny `json:"fallback,omitempty"`
}

type revokedSession struct {
	// UserID is aws:userid of the session: "<role id>:<session name>".
	UserID        string    `json:"user_id"`
	CredentialID  string    `json:"credential_id,omitempty"`
	IssuedAt      time.Time `json:"issued_at,omitempty"`
	STSExpiration time.Time `json:"sts_expiration"`
}

type fallbackDeny struct {
	Before time.Time `json:"before"`
	Until  time.Time `json:"until"`
	SetAt  time.Time `json:"set_at"`
	Reason string    `json:"reason"`
}

// RevocationStatus describes one role's revocation policy (operators, tests).
type RevocationStatus struct {
	RoleARN        string
	Sessions       int
	FallbackBefore time.Time // zero when no fallback is active
	FallbackUntil  time.Time
}

func roleParts(roleARN string) (account, name string, err error) {
	if !roleARNRe.MatchString(roleARN) {
		return "", "", &providers.FieldError{Field: refRoleARN, Reason: fmt.Sprintf("reference holds %q, which is not an IAM role ARN", roleARN)}
	}
	fields := strings.SplitN(roleARN, ":", 6)
	res := fields[5]
	return fields[4], res[strings.LastIndex(res, "/")+1:], nil
}

func revocationKey(account, roleName string) string {
	return revocationPrefix + account + "-" + roleName
}

func loadRevocations(ctx context.Context, s logical.Storage, key string) (*revocationState, error) {
	entry, err := s.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	st := &revocationState{}
	if entry == nil {
		return st, nil
	}
	if err := entry.DecodeJSON(st); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", key, err)
	}
	return st, nil
}

func saveRevocations(ctx context.Context, s logical.Storage, key string, st *revocationState) error {
	if len(st.Entries) == 0 && st.Fallback == nil {
		if err := s.Delete(ctx, key); err != nil {
			return fmt.Errorf("deleting %s: %w", key, err)
		}
		return nil
	}
	entry, err := logical.StorageEntryJSON(key, st)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", key, err)
	}
	if err := s.Put(ctx, entry); err != nil {
		return fmt.Errorf("storing %s: %w", key, err)
	}
	return nil
}

// prune drops entries STS has expired and a fallback past its end; it reports changes.
func (st *revocationState) prune(now time.Time) bool {
	changed := false
	kept := st.Entries[:0]
	for _, e := range st.Entries {
		if e.STSExpiration.After(now) {
			kept = append(kept, e)
		} else {
			changed = true
		}
	}
	st.Entries = kept
	if st.Fallback != nil && !st.Fallback.Until.After(now) {
		st.Fallback, changed = nil, true
	}
	return changed
}

// covers reports whether the session is already denied.
func (st *revocationState) covers(userID string, issuedAt time.Time) bool {
	for _, e := range st.Entries {
		if e.UserID == userID {
			return true
		}
	}
	return st.Fallback != nil && !issuedAt.IsZero() && issuedAt.Add(fallbackMargin).Before(st.Fallback.Before)
}

// applyFallback denies every session issued before now (plus a margin) and drops the
// entries it covers: every listed session was issued before its revocation, so before now.
func (st *revocationState) applyFallback(now time.Time, reason string) {
	before := now.Add(fallbackMargin).Truncate(time.Second).Add(time.Second)
	until := before.Add(MaxSTSTTL)
	if st.Fallback != nil && st.Fallback.Until.After(until) {
		until = st.Fallback.Until
	}
	st.Fallback = &fallbackDeny{Before: before.UTC(), Until: until.UTC(), SetAt: now.UTC(), Reason: reason}
	st.Entries = nil
}

// policyDocument renders the revocation policy; "" when nothing is denied.
func (st *revocationState) policyDocument() (string, error) {
	var stmts []statement
	if len(st.Entries) > 0 {
		ids := make([]string, 0, len(st.Entries))
		for _, e := range st.Entries {
			ids = append(ids, e.UserID)
		}
		sort.Strings(ids)
		stmts = append(stmts, statement{Effect: "Deny", Action: "*", Resource: "*",
			Condition: map[string]map[string]any{"StringEquals": {"aws:userid": oneOrList(ids)}}})
	}
	if st.Fallback != nil {
		stmts = append(stmts, statement{Effect: "Deny", Action: "*", Resource: "*",
			Condition: map[string]map[string]any{"DateLessThan": {"aws:TokenIssueTime": st.Fallback.Before.UTC().Format(time.RFC3339)}}})
	}
	if len(stmts) == 0 {
		return "", nil
	}
	return marshalPolicy(document{Version: policyVersion, Statement: stmts})
}

// revokeSession denies one STS session until it expires.
func (p *Provider) revokeSession(ctx context.Context, s logical.Storage, req providers.RevokeRequest) error {
	ref := req.Ref
	stsExp, err := time.Parse(time.RFC3339, ref[refSTSExpiration])
	if err != nil {
		// No usable expiry in the reference: the session cannot outlive STS's maximum.
		issued := req.IssuedAt
		if issued.IsZero() {
			issued = req.Now
		}
		stsExp = issued.Add(MaxSTSTTL)
	}
	if !stsExp.After(req.Now) {
		return nil // STS has expired it already
	}
	userID := ref[refAssumedRoleID]
	if roleID, session, ok := strings.Cut(userID, ":"); !ok || roleID == "" || session == "" {
		return &providers.FieldError{Field: refAssumedRoleID, Reason: fmt.Sprintf("reference holds %q, not <role id>:<session name>", userID)}
	}
	account, roleName, err := roleParts(ref[refRoleARN])
	if err != nil {
		return err
	}
	_, cl, err := p.clients(ctx, s)
	if err != nil {
		return err
	}
	key := revocationKey(account, roleName)
	batch := p.revocationBatches.join(key, revokedSession{
		UserID: userID, CredentialID: req.CredentialID, IssuedAt: req.IssuedAt.UTC(), STSExpiration: stsExp.UTC(),
	}, req.Now)
	lock := p.roleLock(key)
	lock.Lock()
	defer lock.Unlock()
	// The first member of the batch to get the role's lock writes the whole batch; the
	// others find it written and share its outcome.
	p.revocationBatches.seal(key, batch)
	if batch.written {
		return batch.err
	}
	// The batch is sealed: every member's session was issued before it asked for
	// revocation, so before the latest of their times and before now. A fallback cut-off
	// taken from this moment covers all of them, however long the batch waited.
	now := p.clock()
	if batch.latest.After(now) {
		now = batch.latest
	}
	err = p.denySessions(ctx, s, cl, key, ref[refRoleARN], roleName, batch.members, now)
	if err != nil && ctx.Err() != nil {
		// This member's own deadline ran out: the next member writes the batch instead
		// of every member failing with this one's context error.
		return err
	}
	batch.err, batch.written = err, true
	return err
}

// denySessions adds the sessions not yet denied to the role's revocation policy: one
// read of the stored state, at most one IAM policy write.
func (p *Provider) denySessions(ctx context.Context, s logical.Storage, cl *Clients, key, roleARN, roleName string, sessions []revokedSession, now time.Time) error {
	st, err := loadRevocations(ctx, s, key)
	if err != nil {
		return err
	}
	st.RoleARN = roleARN
	st.prune(now)
	added := false
	for _, session := range sessions {
		if !st.covers(session.UserID, session.IssuedAt) {
			st.Entries = append(st.Entries, session)
			added = true
		}
	}
	if !added {
		return nil
	}
	if err := p.writeRevocationPolicy(ctx, cl.IAM, roleName, st, now); err != nil {
		if isNoSuchEntity(err) {
			// The role is gone, and with it every session of it: nothing left to deny.
			return s.Delete(ctx, key)
		}
		return err
	}
	return saveRevocations(ctx, s, key, st)
}

// writeRevocationPolicy puts (or deletes, when empty) the role's revocation policy,
// switching to the fallback when the entries would break the inline policy budget.
func (p *Provider) writeRevocationPolicy(ctx context.Context, client IAMAPI, roleName string, st *revocationState, now time.Time) error {
	others, err := otherInlinePolicyChars(ctx, client, roleName)
	if err != nil {
		return err
	}
	budget := RoleInlinePolicyBudget - others
	doc, err := st.policyDocument()
	if err != nil {
		return err
	}
	if utf8.RuneCountInString(doc) > budget {
		st.applyFallback(now, fmt.Sprintf("%d revoked sessions no longer fit the role's inline policy budget", len(st.Entries)))
		if doc, err = st.policyDocument(); err != nil {
			return err
		}
		if utf8.RuneCountInString(doc) > budget {
			return fmt.Errorf("aws: cannot revoke sessions of role %s: its other inline policies use %d of IAM's %d characters, leaving no room for %s",
				roleName, others, RoleInlinePolicyBudget, RevocationPolicyName)
		}
	}
	if doc == "" {
		_, err := client.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: awssdk.String(roleName), PolicyName: awssdk.String(RevocationPolicyName)})
		if err != nil && !isNoSuchEntity(err) {
			return wrap("IAM DeleteRolePolicy on role "+roleName, err)
		}
		return nil
	}
	put := func(doc string) error {
		_, err := client.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
			RoleName: awssdk.String(roleName), PolicyName: awssdk.String(RevocationPolicyName), PolicyDocument: awssdk.String(doc),
		})
		return err
	}
	err = put(doc)
	if err != nil && isCode(err, "LimitExceeded", "LimitExceededException") && len(st.Entries) > 0 {
		// Another inline policy grew since we measured: fall back and try once more.
		st.applyFallback(now, "IAM refused the revocation list as over the inline policy budget")
		if doc, err = st.policyDocument(); err != nil {
			return err
		}
		err = put(doc)
	}
	if err != nil {
		return wrap("IAM PutRolePolicy "+RevocationPolicyName+" on role "+roleName, err)
	}
	return nil
}

// otherInlinePolicyChars measures the role's inline policies besides the revocation
// policy, as IAM counts them (no whitespace).
func otherInlinePolicyChars(ctx context.Context, client IAMAPI, roleName string) (int, error) {
	total := 0
	err := eachIAMPage(func(marker *string) ([]string, *string, error) {
		out, err := client.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: awssdk.String(roleName), Marker: marker})
		if err != nil {
			return nil, nil, wrap("IAM ListRolePolicies on role "+roleName, err)
		}
		return out.PolicyNames, nextMarker(out.IsTruncated, out.Marker), nil
	}, func(name string) error {
		if name == RevocationPolicyName {
			return nil
		}
		got, err := client.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: awssdk.String(roleName), PolicyName: awssdk.String(name)})
		if err != nil {
			if isNoSuchEntity(err) {
				return nil
			}
			return wrap("IAM GetRolePolicy "+name+" on role "+roleName, err)
		}
		total += policyChars(awssdk.ToString(got.PolicyDocument))
		return nil
	})
	return total, err
}

// policyChars counts a policy document as IAM does: URL-decoded (IAM returns documents
// URL-encoded), without whitespace.
func policyChars(doc string) int {
	if dec, err := url.QueryUnescape(doc); err == nil && json.Valid([]byte(dec)) {
		doc = dec
	}
	n := 0
	for _, r := range doc {
		switch r {
		case ' ', '\t', '\n', '\r':
		default:
			n++
		}
	}
	return n
}

// pruneRevocations trims every role's revocation policy of sessions STS has expired.
func (p *Provider) pruneRevocations(ctx context.Context, s logical.Storage) error {
	keys, err := s.List(ctx, revocationPrefix)
	if err != nil {
		return fmt.Errorf("listing %s: %w", revocationPrefix, err)
	}
	if len(keys) == 0 {
		return nil
	}
	_, cl, err := p.clients(ctx, s)
	if err != nil {
		return err
	}
	var errs []error
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := p.pruneRole(ctx, s, cl, revocationPrefix+k); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (p *Provider) pruneRole(ctx context.Context, s logical.Storage, cl *Clients, key string) error {
	lock := p.roleLock(key)
	lock.Lock()
	defer lock.Unlock()
	st, err := loadRevocations(ctx, s, key)
	if err != nil {
		return err
	}
	now := p.clock()
	if !st.prune(now) {
		return nil
	}
	_, roleName, err := roleParts(st.RoleARN)
	if err != nil {
		return err
	}
	if err := p.writeRevocationPolicy(ctx, cl.IAM, roleName, st, now); err != nil {
		if isNoSuchEntity(err) {
			return s.Delete(ctx, key)
		}
		return err
	}
	return saveRevocations(ctx, s, key, st)
}

// Revocations reports the revocation state of every role the engine has revoked
// sessions of.
func (p *Provider) Revocations(ctx context.Context, s logical.Storage) ([]RevocationStatus, error) {
	keys, err := s.List(ctx, revocationPrefix)
	if err != nil {
		return nil, err
	}
	var out []RevocationStatus
	for _, k := range keys {
		st, err := loadRevocations(ctx, s, revocationPrefix+k)
		if err != nil {
			return nil, err
		}
		rs := RevocationStatus{RoleARN: st.RoleARN, Sessions: len(st.Entries)}
		if st.Fallback != nil {
			rs.FallbackBefore, rs.FallbackUntil = st.Fallback.Before, st.Fallback.Until
		}
		out = append(out, rs)
	}
	return out, nil
}
