package aws

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/backend/intent"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

// Credential types.
const (
	CredentialTypeAssumedRole = "assumed_role"
	CredentialTypeIAMUser     = "iam_user"
)

// Limits enforced before calling AWS.
const (
	MaxPolicyARNs      = 10 // managed session policies per AssumeRole (and attached per user)
	MaxSessionTags     = 50 // STS session tags per session (and tags per IAM user)
	nhiTagCount        = 3  // nhi:task, nhi:sensitivity, nhi:credential
	MaxRoleSessionTags = MaxSessionTags - nhiTagCount
	MaxTagKeyLen       = 128
	MaxTagValueLen     = 256
	MinSTSTTL          = 900 * time.Second
	MaxSTSTTL          = 43200 * time.Second
	DefaultMaxSTSTTL   = time.Hour
)

var (
	tagCharsRe    = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
	externalIDRe  = regexp.MustCompile(`^[\w+=,.@:/-]+$`)
	tagCharNotOKe = regexp.MustCompile(`[^\p{L}\p{Z}\p{N}_.:/=+\-@]`)
)

// roleSettings are the parsed aws role settings.
type roleSettings struct {
	credentialType         string
	roleARN                string
	policyARNs             []string
	sessionTags            map[string]string
	externalID             string
	bindSourceIP           bool
	permissionsBoundaryARN string
	maxSTSTTL              time.Duration
}

// ValidateRole checks an aws role: credential type, provider settings, and that every
// grant destination is an s3:// or arn:aws… pattern and every action a verb or a native
// service:Action name. Errors are *providers.FieldError naming the field.
//
// Grant destinations may hold wildcards anywhere the engine's patterns allow; issuance
// refuses requested destinations whose wildcards IAM would widen (see
// CompileSessionPolicy), so a grant like s3://b/*/logs/* still serves requests for
// s3://b/2026/logs/*.
func (p *Provider) ValidateRole(r providers.RoleInfo) error {
	if _, err := parseSettings(r.CredentialType, r.Settings); err != nil {
		return err
	}
	for _, d := range r.Destinations {
		pat, err := intent.ParsePattern(d)
		if err != nil {
			return &providers.FieldError{Field: "grants", Reason: err.Error()}
		}
		switch pat.Scheme() {
		case "s3":
		case "arn":
			part := strings.SplitN(pat.String(), ":", 3)[1]
			if part != "aws" && !strings.HasPrefix(part, "aws-") {
				return &providers.FieldError{Field: "grants", Reason: fmt.Sprintf("destination %q: ARN partition %q is not an AWS partition", d, part)}
			}
		default:
			return &providers.FieldError{Field: "grants", Reason: fmt.Sprintf("destination %q: aws roles take s3://bucket/prefix/* or arn:aws:… destinations", d)}
		}
	}
	for _, a := range r.Actions {
		if _, err := intent.ParseGrantAction(a); err != nil {
			return &providers.FieldError{Field: "grants", Reason: err.Error()}
		}
	}
	return nil
}

func checkCredentialType(ct string) (string, error) {
	switch ct {
	case "", CredentialTypeAssumedRole:
		return CredentialTypeAssumedRole, nil
	case CredentialTypeIAMUser:
		return CredentialTypeIAMUser, nil
	}
	return "", &providers.FieldError{Field: "credential_type",
		Reason: fmt.Sprintf("aws roles issue %q (default) or %q credentials, got %q", CredentialTypeAssumedRole, CredentialTypeIAMUser, ct)}
}

// parseSettings reads the aws role settings. Values may be the Go types field parsing
// produces or what JSON decoding of a stored role produces.
func parseSettings(credentialType string, m map[string]any) (roleSettings, error) {
	ct, err := checkCredentialType(credentialType)
	if err != nil {
		return roleSettings{}, err
	}
	rs := roleSettings{credentialType: ct, maxSTSTTL: DefaultMaxSTSTTL}
	assumed := ct == CredentialTypeAssumedRole
	onlyFor := func(field, forType string) error {
		return &providers.FieldError{Field: field, Reason: fmt.Sprintf("applies only to %s credentials, this role issues %s", forType, ct)}
	}

	if rs.roleARN, err = providers.StringSetting(m, "role_arn"); err != nil {
		return rs, err
	}
	switch {
	case assumed && rs.roleARN == "":
		return rs, &providers.FieldError{Field: "role_arn", Reason: "is required for assumed_role credentials"}
	case assumed && !roleARNRe.MatchString(rs.roleARN):
		return rs, &providers.FieldError{Field: "role_arn", Reason: fmt.Sprintf("must be an IAM role ARN (arn:aws:iam::123456789012:role/name), got %q", rs.roleARN)}
	case !assumed && rs.roleARN != "":
		return rs, onlyFor("role_arn", CredentialTypeAssumedRole)
	}

	if rs.policyARNs, err = providers.StringListSetting(m, "policy_arns"); err != nil {
		return rs, err
	}
	if len(rs.policyARNs) > MaxPolicyARNs {
		return rs, &providers.FieldError{Field: "policy_arns", Reason: fmt.Sprintf("at most %d managed policy ARNs are allowed, got %d", MaxPolicyARNs, len(rs.policyARNs))}
	}
	seen := map[string]bool{}
	for _, a := range rs.policyARNs {
		if !policyARNRe.MatchString(a) {
			return rs, &providers.FieldError{Field: "policy_arns", Reason: fmt.Sprintf("%q is not a managed policy ARN (arn:aws:iam::123456789012:policy/name)", a)}
		}
		if seen[a] {
			return rs, &providers.FieldError{Field: "policy_arns", Reason: fmt.Sprintf("%q is listed twice", a)}
		}
		seen[a] = true
	}

	if rs.sessionTags, err = tagsSetting(m, "session_tags"); err != nil {
		return rs, err
	}

	if rs.externalID, err = providers.StringSetting(m, "external_id"); err != nil {
		return rs, err
	}
	if rs.externalID != "" {
		if !assumed {
			return rs, onlyFor("external_id", CredentialTypeAssumedRole)
		}
		if len(rs.externalID) < 2 || len(rs.externalID) > 1224 || !externalIDRe.MatchString(rs.externalID) {
			return rs, &providers.FieldError{Field: "external_id", Reason: "must be 2-1224 characters of letters, digits and +=,.@:/-_"}
		}
	}

	if rs.bindSourceIP, err = boolSetting(m, "bind_source_ip"); err != nil {
		return rs, err
	}

	if rs.permissionsBoundaryARN, err = providers.StringSetting(m, "permissions_boundary_arn"); err != nil {
		return rs, err
	}
	if rs.permissionsBoundaryARN != "" {
		if assumed {
			return rs, onlyFor("permissions_boundary_arn", CredentialTypeIAMUser)
		}
		if !policyARNRe.MatchString(rs.permissionsBoundaryARN) {
			return rs, &providers.FieldError{Field: "permissions_boundary_arn", Reason: fmt.Sprintf("%q is not a managed policy ARN", rs.permissionsBoundaryARN)}
		}
	}

	secs, set, err := secondsSetting(m, "max_sts_ttl")
	if err != nil {
		return rs, err
	}
	if set && secs != 0 {
		if !assumed {
			return rs, onlyFor("max_sts_ttl", CredentialTypeAssumedRole)
		}
		d := time.Duration(secs) * time.Second
		if d < MinSTSTTL || d > MaxSTSTTL {
			return rs, &providers.FieldError{Field: "max_sts_ttl", Reason: fmt.Sprintf("must be between 900 and 43200 seconds (STS limits), got %d", secs)}
		}
		rs.maxSTSTTL = d
	}
	return rs, nil
}

func boolSetting(m map[string]any, name string) (bool, error) {
	v, ok := m[name]
	if !ok || v == nil {
		return false, nil
	}
	switch t := v.(type) {
	case bool:
		return t, nil
	case string:
		b, err := strconv.ParseBool(t)
		if err == nil {
			return b, nil
		}
	}
	return false, &providers.FieldError{Field: name, Reason: fmt.Sprintf("must be a boolean, got %v", v)}
}

func secondsSetting(m map[string]any, name string) (int64, bool, error) {
	v, ok := m[name]
	if !ok || v == nil {
		return 0, false, nil
	}
	bad := &providers.FieldError{Field: name, Reason: fmt.Sprintf("must be a whole number of seconds, got %v", v)}
	switch t := v.(type) {
	case int:
		return int64(t), true, nil
	case int32:
		return int64(t), true, nil
	case int64:
		return t, true, nil
	case float64:
		if t != math.Trunc(t) || math.IsInf(t, 0) || math.Abs(t) > 1e12 {
			return 0, false, bad
		}
		return int64(t), true, nil
	case json.Number:
		n, err := t.Int64()
		if err != nil {
			return 0, false, bad
		}
		return n, true, nil
	case time.Duration:
		return int64(t / time.Second), true, nil
	case string:
		if t == "" {
			return 0, false, nil
		}
		if n, err := strconv.ParseInt(t, 10, 64); err == nil {
			return n, true, nil
		}
		if d, err := time.ParseDuration(t); err == nil {
			return int64(d / time.Second), true, nil
		}
	}
	return 0, false, bad
}

// tagsSetting reads session_tags: a map (Go or JSON-decoded), a JSON object string or a
// list of "key=value" entries; keys and values are checked against STS's rules.
func tagsSetting(m map[string]any, name string) (map[string]string, error) {
	out, err := providers.StringMapSetting(m, name)
	if err != nil || out == nil {
		return nil, err
	}
	bad := func(format string, args ...any) error {
		return &providers.FieldError{Field: name, Reason: fmt.Sprintf(format, args...)}
	}
	if len(out) > MaxRoleSessionTags {
		return nil, bad("at most %d tags are allowed (STS allows %d per session and the engine adds %d nhi:* tags), got %d",
			MaxRoleSessionTags, MaxSessionTags, nhiTagCount, len(out))
	}
	keys := make([]string, 0, len(out))
	for k := range out {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	folded := map[string]string{}
	for _, k := range keys {
		val := out[k]
		lk := strings.ToLower(k)
		switch {
		case k == "":
			return nil, bad("tag keys must not be empty")
		case utf8.RuneCountInString(k) > MaxTagKeyLen:
			return nil, bad("tag key %q is longer than %d characters", k, MaxTagKeyLen)
		case utf8.RuneCountInString(val) > MaxTagValueLen:
			return nil, bad("tag %q value is longer than %d characters", k, MaxTagValueLen)
		case strings.HasPrefix(lk, "aws:"):
			return nil, bad("tag key %q uses the reserved aws: prefix", k)
		case strings.HasPrefix(lk, "nhi:"):
			return nil, bad("tag key %q uses the nhi: prefix, which the engine sets itself", k)
		case !tagCharsRe.MatchString(k):
			return nil, bad("tag key %q may only contain letters, digits, spaces and _.:/=+-@", k)
		case !tagCharsRe.MatchString(val):
			return nil, bad("tag %q value may only contain letters, digits, spaces and _.:/=+-@", k)
		}
		if other, dup := folded[lk]; dup {
			return nil, bad("tag keys %q and %q differ only in case; AWS treats them as one", other, k)
		}
		folded[lk] = k
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// sanitizeTagValue maps s into STS's tag value charset and length.
func sanitizeTagValue(s string) string {
	s = tagCharNotOKe.ReplaceAllString(s, "_")
	if utf8.RuneCountInString(s) > MaxTagValueLen {
		r := []rune(s)
		s = string(r[:MaxTagValueLen])
	}
	return s
}

// sanitizeIdentifier maps s into [\w+=,.@-] (RoleSessionName, SourceIdentity, IAM user
// names), truncated to max runes; too-short results are padded with '_'.
func sanitizeIdentifier(s string, min, max int) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= max {
			break
		}
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_+=,.@-", r)) {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	out := b.String()
	for len(out) < min {
		out += "_"
	}
	return out
}
