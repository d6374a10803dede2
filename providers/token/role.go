package token

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

// CredentialTypeJWT is the only credential type of the token provider ("" means it).
const CredentialTypeJWT = "jwt"

// Audience modes (role setting audience_mode).
const (
	AudienceDestinations = "destinations" // aud = the request's destinations (default)
	AudienceHosts        = "hosts"        // aud = the distinct scheme://host of each destination
)

// Limits on a role's extra_claims.
const (
	MaxExtraClaims          = 20
	maxExtraClaimNameBytes  = 128
	maxExtraClaimValueBytes = 1024
)

// roleSettings are the parsed token-specific role settings.
type roleSettings struct {
	audienceMode string
	extraClaims  map[string]string
}

// ValidateRole checks a role for the token provider: credential type, destination schemes
// (https, http, svc), actions (read, write, list, delete or svc:Name), audience_mode and
// extra_claims. Errors are *providers.FieldError naming "credential_type", "grants",
// "audience_mode" or "extra_claims".
func (p *Provider) ValidateRole(r providers.RoleInfo) error {
	if err := checkCredentialType(r.CredentialType); err != nil {
		return err
	}
	for _, d := range r.Destinations {
		if err := checkDestination(d); err != nil {
			return &providers.FieldError{Field: "grants", Reason: fmt.Sprintf("destination %q: %v", d, err)}
		}
	}
	for _, a := range r.Actions {
		if err := checkAction(a); err != nil {
			return &providers.FieldError{Field: "grants", Reason: fmt.Sprintf("action %q: %v", a, err)}
		}
	}
	_, err := parseSettings(r.Settings)
	return err
}

func checkCredentialType(ct string) error {
	if ct != "" && ct != CredentialTypeJWT {
		return &providers.FieldError{Field: "credential_type",
			Reason: fmt.Sprintf("token roles issue %q credentials, got %q", CredentialTypeJWT, ct)}
	}
	return nil
}

// parseSettings reads the token provider's role settings. Values may arrive as decoded
// JSON (map[string]any, []any, string) or as the Go types a handler built.
func parseSettings(m map[string]any) (roleSettings, error) {
	rs := roleSettings{audienceMode: AudienceDestinations}
	if v, ok := m["credential_type"]; ok && v != nil {
		s, isStr := v.(string)
		if !isStr {
			return rs, &providers.FieldError{Field: "credential_type", Reason: "must be a string"}
		}
		if err := checkCredentialType(s); err != nil {
			return rs, err
		}
	}
	if v, ok := m["audience_mode"]; ok && v != nil {
		s, isStr := v.(string)
		switch {
		case !isStr:
			return rs, &providers.FieldError{Field: "audience_mode", Reason: "must be a string"}
		case s == "" || s == AudienceDestinations:
		case s == AudienceHosts:
			rs.audienceMode = AudienceHosts
		default:
			return rs, &providers.FieldError{Field: "audience_mode",
				Reason: fmt.Sprintf("must be %q or %q, got %q", AudienceDestinations, AudienceHosts, s)}
		}
	}
	if v, ok := m["extra_claims"]; ok && v != nil {
		claims, err := parseExtraClaims(v)
		if err != nil {
			return rs, &providers.FieldError{Field: "extra_claims", Reason: err.Error()}
		}
		rs.extraClaims = claims
	}
	return rs, nil
}

// parseExtraClaims accepts a map of string values (map[string]string or map[string]any),
// a JSON object as a string, or a list of "name=value" strings (Vault's key-value pairs).
func parseExtraClaims(v any) (map[string]string, error) {
	out := map[string]string{}
	switch t := v.(type) {
	case map[string]string:
		for k, s := range t {
			out[k] = s
		}
	case map[string]any:
		for k, x := range t {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("claim %q must have a string value, got %T", k, x)
			}
			out[k] = s
		}
	case string:
		if strings.TrimSpace(t) == "" {
			return nil, nil
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(t), &m); err != nil || m == nil {
			return nil, fmt.Errorf("must be a JSON object of string values")
		}
		return parseExtraClaims(m)
	case []string:
		return parseExtraClaims(toAnySlice(t))
	case []any:
		for _, x := range t {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("list entries must be \"name=value\" strings")
			}
			k, val, found := strings.Cut(s, "=")
			if !found {
				return nil, fmt.Errorf("list entry %q must be \"name=value\"", s)
			}
			if _, dup := out[k]; dup {
				return nil, fmt.Errorf("claim %q is given twice", k)
			}
			out[k] = val
		}
	default:
		return nil, fmt.Errorf("must be a map of claim names to string values, got %T", v)
	}
	if len(out) > MaxExtraClaims {
		return nil, fmt.Errorf("at most %d extra claims are allowed, got %d", MaxExtraClaims, len(out))
	}
	names := make([]string, 0, len(out))
	for k := range out {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		switch {
		case k == "":
			return nil, fmt.Errorf("claim names must not be empty")
		case isReservedClaim(k):
			return nil, fmt.Errorf("claim %q is reserved (iss, sub, aud, exp, nbf, iat, jti, nhi, cnf are set by the engine)", k)
		case len(k) > maxExtraClaimNameBytes:
			return nil, fmt.Errorf("claim name %q is longer than %d bytes", k, maxExtraClaimNameBytes)
		case strings.IndexFunc(k, unicode.IsControl) >= 0:
			return nil, fmt.Errorf("claim name %q contains control characters", k)
		case len(out[k]) > maxExtraClaimValueBytes:
			return nil, fmt.Errorf("claim %q value is longer than %d bytes", k, maxExtraClaimValueBytes)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func toAnySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// splitDestination returns the scheme and authority (host[:port]) of a destination URI or
// pattern such as https://api.example.com/v1/* or svc://billing/*.
func splitDestination(d string) (scheme, host string, err error) {
	scheme, rest, ok := strings.Cut(d, "://")
	if !ok || scheme == "" {
		return "", "", fmt.Errorf("must be a URI such as https://host/path/* or svc://name/*")
	}
	if strings.IndexFunc(d, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return "", "", fmt.Errorf("must not contain spaces or control characters")
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host = rest[:i]
	} else {
		host = rest
	}
	if host == "" {
		return "", "", fmt.Errorf("must name a host")
	}
	if strings.Contains(host, "@") {
		return "", "", fmt.Errorf("must not contain user information")
	}
	return scheme, host, nil
}

func checkDestination(d string) error {
	scheme, _, err := splitDestination(d)
	if err != nil {
		return err
	}
	switch scheme {
	case "https", "http", "svc":
		return nil
	}
	return fmt.Errorf("token roles take https://, http:// or svc:// destinations, not %s://", scheme)
}

// checkAction accepts the verbs and svc:Name native actions. Cloud-native names
// (s3:GetObject, Microsoft.Storage/...) belong to the aws and azure providers.
func checkAction(a string) error {
	switch a {
	case "read", "write", "list", "delete":
		return nil
	}
	name, ok := strings.CutPrefix(a, "svc:")
	if !ok {
		return fmt.Errorf("token roles take read, write, list, delete or svc:Name actions")
	}
	if name == "" {
		return fmt.Errorf("svc: action needs a name, e.g. svc:Refund")
	}
	for _, r := range name {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("._-*", r)) {
			return fmt.Errorf("svc: action names use letters, digits, '.', '_', '-' and '*'")
		}
	}
	return nil
}

// audience computes aud for the request's destinations under the role's audience mode.
func audience(mode string, destinations []string) []string {
	if mode != AudienceHosts {
		return append([]string{}, destinations...)
	}
	out := make([]string, 0, len(destinations))
	seen := make(map[string]bool, len(destinations))
	for _, d := range destinations {
		scheme, host, err := splitDestination(d)
		if err != nil {
			continue
		}
		a := strings.ToLower(scheme) + "://" + strings.ToLower(host)
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}
